package attachments

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/opencom-go/opencom/sqlstore"
)

// UploadPath is where clients POST the bytes (with ?token=<upload token>);
// files are served below FilePathPrefix.
const (
	UploadPath     = "/api/storage/upload"
	FilePathPrefix = "/api/storage/"
)

func hashToken(tok string) string {
	sum := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(sum[:])
}

// Storage serves uploads and downloads over the store.
type Storage struct {
	Store *sqlstore.Store
	// Clock is the time source (the engine's, so tests can move it).
	Clock func() time.Time
}

func (st *Storage) now() time.Time {
	if st.Clock != nil {
		return st.Clock()
	}
	return time.Now()
}

// Routes adds the upload and download endpoints to mux.
func (st *Storage) Routes(mux *http.ServeMux) {
	mux.HandleFunc("POST "+UploadPath, st.upload)
	mux.HandleFunc("GET "+FilePathPrefix+"{token}", st.serve)
}

func jsonError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"code": code, "message": msg})
}

type uploadToken struct {
	hash, workspace, actorType, actorID string
	expiresAt                           int64
}

var errTokenUsed = errors.New("upload token already used")

// upload stores the request body as a new file; the upload token is
// consumed by the transaction that stores it.
func (st *Storage) upload(w http.ResponseWriter, r *http.Request) {
	tok := r.URL.Query().Get("token")
	if tok == "" {
		jsonError(w, http.StatusUnauthorized, "InvalidUploadToken", "missing upload token")
		return
	}
	want := hashToken(tok)
	var t uploadToken
	_, err := st.Store.Read(r.Context(), func(tx *sqlstore.Tx) error {
		return tx.QueryRow(`SELECT token_hash, workspace_id, actor_type, actor_id, expires_at FROM _upload_tokens WHERE token_hash=?`, want).
			Scan(&t.hash, &t.workspace, &t.actorType, &t.actorID, &t.expiresAt)
	})
	if errors.Is(err, sql.ErrNoRows) || (err == nil && subtle.ConstantTimeCompare([]byte(t.hash), []byte(want)) != 1) {
		jsonError(w, http.StatusUnauthorized, "InvalidUploadToken", "upload token is invalid or already used")
		return
	}
	if err != nil {
		jsonError(w, http.StatusInternalServerError, "InternalServerError", "could not read the upload token")
		return
	}
	if t.expiresAt <= st.now().UnixMilli() {
		jsonError(w, http.StatusUnauthorized, "InvalidUploadToken", "upload token has expired")
		return
	}
	if r.ContentLength > MaxBytes {
		jsonError(w, http.StatusRequestEntityTooLarge, "FileTooLarge", "file exceeds the 10 MiB limit")
		return
	}
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, MaxBytes)); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			jsonError(w, http.StatusRequestEntityTooLarge, "FileTooLarge", "file exceeds the 10 MiB limit")
			return
		}
		jsonError(w, http.StatusBadRequest, "BadRequest", "could not read the request body")
		return
	}
	body := buf.Bytes()
	ctype := strings.TrimSpace(r.Header.Get("Content-Type"))
	if ctype == "" {
		ctype = "application/octet-stream"
	}
	sum := sha256.Sum256(body)
	id := sqlstore.NewID()
	urlTok, err := randomToken()
	if err != nil {
		jsonError(w, http.StatusInternalServerError, "InternalServerError", "could not store the file")
		return
	}
	now := st.now().UnixMilli()
	_, err = st.Store.Write(r.Context(), func(tx *sqlstore.Tx) error {
		res, err := tx.Exec(`DELETE FROM _upload_tokens WHERE token_hash=? AND expires_at > ?`, t.hash, now)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return errTokenUsed
		}
		_, err = tx.Exec(`INSERT INTO _storage(id, url_token, blob, content_type, size, sha256, workspace_id, uploaded_by_type, uploaded_by_id, created_at)
			VALUES (?,?,?,?,?,?,?,?,?,?)`, id, urlTok, body, ctype, len(body), hex.EncodeToString(sum[:]), t.workspace, t.actorType, t.actorID, now)
		return err
	})
	if errors.Is(err, errTokenUsed) {
		jsonError(w, http.StatusUnauthorized, "InvalidUploadToken", "upload token is invalid or already used")
		return
	}
	if err != nil {
		jsonError(w, http.StatusInternalServerError, "InternalServerError", "could not store the file")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]string{"storageId": id})
}

// serve answers GET /api/storage/{token} with the file's bytes.
func (st *Storage) serve(w http.ResponseWriter, r *http.Request) {
	tok := r.PathValue("token")
	var (
		id, sum string
		blob    []byte
		created int64
		mimeT   sql.NullString
		name    sql.NullString
	)
	_, err := st.Store.Read(r.Context(), func(tx *sqlstore.Tx) error {
		if err := tx.QueryRow(`SELECT id, blob, sha256, created_at FROM _storage WHERE url_token=?`, tok).Scan(&id, &blob, &sum, &created); err != nil {
			return err
		}
		err := tx.QueryRow(`SELECT json_extract(doc, '$.mimeType'), json_extract(doc, '$.fileName') FROM supportAttachments WHERE storageId=? LIMIT 1`, id).
			Scan(&mimeT, &name)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		return err
	})
	if errors.Is(err, sql.ErrNoRows) || errors.Is(err, context.Canceled) {
		http.NotFound(w, r)
		return
	}
	if err != nil {
		http.Error(w, "could not read the file", http.StatusInternalServerError)
		return
	}
	// The type is the one finalizeUpload decided from the extension, never
	// what the uploader claimed; a file no attachment owns is opaque bytes.
	ct := "application/octet-stream"
	if MimeForName(name.String) == mimeT.String && mimeT.String != "" {
		ct = mimeT.String
	}
	fileName := normalizeFileName(name.String)
	if !name.Valid {
		fileName = "file"
	}
	disposition := "attachment"
	if IsImage(ct) {
		disposition = "inline"
	}
	if ct == "text/csv" || ct == "text/plain" {
		ct += "; charset=utf-8"
	}
	h := w.Header()
	h.Set("Content-Type", ct)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Disposition", mime.FormatMediaType(disposition, map[string]string{"filename": fileName}))
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	h.Set("Cross-Origin-Resource-Policy", "cross-origin")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "private, max-age=3600")
	h.Set("ETag", `"`+sum+`"`)
	http.ServeContent(w, r, "", time.UnixMilli(created), bytes.NewReader(blob))
}
