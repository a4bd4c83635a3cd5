package attachments_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/opencom-go/opencom/server"
	"github.com/opencom-go/opencom/server/access"
	"github.com/opencom-go/opencom/server/attachments"
	"github.com/opencom-go/opencom/server/fn"
	"github.com/opencom-go/opencom/server/inbox"
	"github.com/opencom-go/opencom/server/testenv"
	"github.com/opencom-go/opencom/sqlstore"
)

// The storage endpoints are added the way the main package adds them.
func TestMain(m *testing.M) {
	server.Routes = append(server.Routes, attachments.Routes)
	os.Exit(m.Run())
}

type clock = testenv.Clock

// env: a real server (inbox + attachments) over a fresh SQLite file behind
// an httptest server. Workspace A: agent (conversations.reply) and viewer;
// visitors v1, v2 with sessions and a conversation each. Workspace B: its
// owner and visitor vB.
type env struct {
	t     *testing.T
	s     *server.Server
	st    *sqlstore.Store
	http  *httptest.Server
	clock *clock

	wsA, wsB              string
	agent, viewer, ownerB string
	v1, v2, vB            string
	tok1, tok2, tokB      string
	conv1, conv2          string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	s := testenv.Server(t, server.Config{}, nil)
	st := s.Store
	attachments.Module(s)
	inbox.Register(s.Registry, inbox.Deps{FileURL: attachments.FileURL(func() string { return s.Cfg.PublicURL })})
	e := &env{t: t, s: s, st: st, clock: testenv.NewClock()}
	s.Engine.Clock = e.clock.Now
	e.http = httptest.NewServer(s.Handler())
	s.Cfg.PublicURL = e.http.URL
	t.Cleanup(e.http.Close)

	e.tok1, e.tok2, e.tokB = "wst_one", "wst_two", "wst_b"
	now := float64(e.clock.Now().UnixMilli())
	e.write(func(tx *sqlstore.Tx) error {
		ins := func(table string, d sqlstore.Doc) string {
			id, err := tx.Insert(table, d)
			if err != nil {
				t.Fatal(err)
			}
			return id
		}
		e.wsA = ins("workspaces", sqlstore.Doc{"name": "A"})
		e.wsB = ins("workspaces", sqlstore.Doc{"name": "B"})
		member := func(email, ws, role string) string {
			uid := ins("users", sqlstore.Doc{"email": email, "name": strings.Split(email, "@")[0]})
			ins("workspaceMembers", sqlstore.Doc{"userId": uid, "workspaceId": ws, "role": role})
			return uid
		}
		e.agent = member("agent@a.test", e.wsA, access.RoleAgent)
		e.viewer = member("viewer@a.test", e.wsA, access.RoleViewer)
		e.ownerB = member("owner@b.test", e.wsB, access.RoleOwner)
		visitor := func(ws, sid, tok string) string {
			vid := ins("visitors", sqlstore.Doc{"workspaceId": ws, "sessionId": sid})
			ins("widgetSessions", sqlstore.Doc{"tokenHash": access.HashToken(tok), "visitorId": vid, "workspaceId": ws,
				"identityVerified": false, "expiresAt": now + 30*24*3.6e6})
			return vid
		}
		e.v1 = visitor(e.wsA, "s1", e.tok1)
		e.v2 = visitor(e.wsA, "s2", e.tok2)
		e.vB = visitor(e.wsB, "s3", e.tokB)
		conv := func(vid string) string {
			return ins("conversations", sqlstore.Doc{"workspaceId": e.wsA, "visitorId": vid, "status": "open", "channel": "chat",
				"createdAt": now, "updatedAt": now, "aiWorkflowState": "none", "unreadByAgent": 0.0, "unreadByVisitor": 0.0})
		}
		e.conv1, e.conv2 = conv(e.v1), conv(e.v2)
		return nil
	})
	return e
}

func (e *env) write(f func(tx *sqlstore.Tx) error) {
	e.t.Helper()
	if _, err := e.st.Write(context.Background(), f); err != nil {
		e.t.Fatal(err)
	}
}

// who is a caller: an agent user id, or a visitor session token.
type who struct{ user, token string }

func (e *env) agentW() who  { return who{user: e.agent} }
func (e *env) v1W() who     { return who{token: e.tok1} }
func (e *env) v2W() who     { return who{token: e.tok2} }
func (e *env) viewerW() who { return who{user: e.viewer} }

func (e *env) call(w who, name string, args map[string]any) (any, *fn.Error) {
	e.t.Helper()
	if args == nil {
		args = map[string]any{}
	}
	if w.token != "" {
		args["sessionToken"] = w.token
	}
	b, _ := json.Marshal(args)
	var wire map[string]any
	json.Unmarshal(b, &wire)
	call := fn.Call{Path: name, Args: wire, RequestID: -1, AllowInternal: strings.Contains(name, "cleanup")}
	if w.user != "" {
		call.Identity = &fn.Identity{Subject: w.user}
	}
	r := e.s.Engine.Run(context.Background(), call)
	if r.Err != nil {
		return nil, r.Err
	}
	var v any
	json.Unmarshal(r.Value, &v)
	return v, nil
}

func (e *env) must(w who, name string, args map[string]any) any {
	e.t.Helper()
	v, err := e.call(w, name, args)
	if err != nil {
		e.t.Fatalf("%s: %s %s", name, err.Code, err.Message)
	}
	return v
}

func (e *env) wantErr(w who, name string, args map[string]any, code, msg string) {
	e.t.Helper()
	_, err := e.call(w, name, args)
	if err == nil {
		e.t.Fatalf("%s: succeeded, want %s %q", name, code, msg)
	}
	if err.Code != code || err.Message != msg {
		e.t.Fatalf("%s: got %s %q, want %s %q", name, err.Code, err.Message, code, msg)
	}
}

// uploadURL asks for an upload URL as w in workspace ws.
func (e *env) uploadURL(w who, ws string) string {
	e.t.Helper()
	u, _ := e.must(w, "supportAttachments:generateUploadUrl", map[string]any{"workspaceId": ws}).(string)
	if !strings.HasPrefix(u, e.http.URL+"/api/storage/upload?token=") {
		e.t.Fatalf("upload URL %q is not on this server", u)
	}
	return u
}

func post(t *testing.T, url, ctype string, body io.Reader) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", ctype)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out map[string]any
	json.NewDecoder(res.Body).Decode(&out)
	return res.StatusCode, out
}

// upload runs generateUploadUrl + POST and returns the storageId.
func (e *env) upload(w who, ws, ctype string, data []byte) string {
	e.t.Helper()
	code, out := post(e.t, e.uploadURL(w, ws), ctype, bytes.NewReader(data))
	sid, _ := out["storageId"].(string)
	if code != http.StatusOK || sid == "" {
		e.t.Fatalf("upload: %d %v", code, out)
	}
	return sid
}

func (e *env) finalize(w who, ws, sid, name string) map[string]any {
	e.t.Helper()
	return e.must(w, "supportAttachments:finalizeUpload", map[string]any{"workspaceId": ws, "storageId": sid, "fileName": name}).(map[string]any)
}

// stage uploads and finalizes a file, returning the attachment id.
func (e *env) stage(w who, name string, data []byte) string {
	e.t.Helper()
	r := e.finalize(w, e.wsA, e.upload(w, e.wsA, "application/octet-stream", data), name)
	if r["status"] != "staged" {
		e.t.Fatalf("finalize %s: %v", name, r)
	}
	return r["attachmentId"].(string)
}

func (e *env) storageRows() int {
	var n int
	e.st.Read(context.Background(), func(tx *sqlstore.Tx) error { return tx.QueryRow(`SELECT count(*) FROM _storage`).Scan(&n) })
	return n
}

func (e *env) doc(table, id string) sqlstore.Doc {
	var d sqlstore.Doc
	e.st.Read(context.Background(), func(tx *sqlstore.Tx) error {
		var err error
		d, err = tx.Get(table, id)
		return err
	})
	return d
}

var pngBytes = []byte("\x89PNG\r\n\x1a\n fake image bytes")

func TestUploadFinalizeSendAndList(t *testing.T) {
	e := newEnv(t)
	sid := e.upload(e.v1W(), e.wsA, "image/png", pngBytes)
	r := e.finalize(e.v1W(), e.wsA, sid, `C:\Users\me\ screen shot.PNG `)
	if r["status"] != "staged" || r["fileName"] != "screen shot.PNG" || r["mimeType"] != "image/png" || r["size"] != float64(len(pngBytes)) {
		t.Fatalf("finalize: %v", r)
	}
	att := r["attachmentId"].(string)
	row := e.doc("supportAttachments", att)
	if row.Str("status") != "staged" || row.Num("expiresAt") != float64(e.clock.Now().Add(time.Hour).UnixMilli()) ||
		row.Str("uploadedByType") != "visitor" || row.Str("uploadedById") != e.v1 {
		t.Fatalf("staged row: %v", row)
	}
	msg := e.must(e.v1W(), "messages:send", map[string]any{"conversationId": e.conv1, "senderId": e.v1, "senderType": "visitor",
		"content": "see this", "attachmentIds": []string{att, att}}).(string)
	row = e.doc("supportAttachments", att)
	if row.Str("status") != "attached" || row.Str("messageId") != msg || row.Has("expiresAt") || !row.Has("attachedAt") {
		t.Fatalf("attached row: %v", row)
	}

	// An attachment-only message from the agent, with a PDF.
	pdf := e.stage(e.agentW(), "report.pdf", []byte("%PDF-1.4 fake"))
	e.must(e.agentW(), "messages:send", map[string]any{"conversationId": e.conv1, "senderId": e.agent, "senderType": "agent",
		"content": "", "attachmentIds": []string{pdf}})
	if p := e.doc("conversations", e.conv1).Str("lastMessagePreview"); p != "1 attachment" {
		t.Fatalf("preview %q", p)
	}

	for _, w := range []who{e.v1W(), e.agentW()} {
		ms := e.must(w, "messages:list", map[string]any{"conversationId": e.conv1}).([]any)
		if len(ms) != 2 {
			t.Fatalf("messages: %v", ms)
		}
		a0 := ms[0].(map[string]any)["attachments"].([]any)
		a1 := ms[1].(map[string]any)["attachments"].([]any)
		if len(a0) != 1 || len(a1) != 1 {
			t.Fatalf("attachments: %v / %v", a0, a1)
		}
		d := a0[0].(map[string]any)
		if d["_id"] != att || d["fileName"] != "screen shot.PNG" || d["mimeType"] != "image/png" || d["size"] != float64(len(pngBytes)) {
			t.Fatalf("descriptor: %v", d)
		}
		url := d["url"].(string)
		if !strings.HasPrefix(url, e.http.URL+"/api/storage/") || strings.Contains(url, sid) {
			t.Fatalf("url %q (storage id %s)", url, sid)
		}
		res, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 || !bytes.Equal(body, pngBytes) || res.Header.Get("Content-Type") != "image/png" ||
			res.Header.Get("X-Content-Type-Options") != "nosniff" || !strings.HasPrefix(res.Header.Get("Content-Disposition"), "inline") {
			t.Fatalf("GET image: %d %v", res.StatusCode, res.Header)
		}
		pd := a1[0].(map[string]any)
		if pd["mimeType"] != "application/pdf" || pd["fileName"] != "report.pdf" {
			t.Fatalf("pdf descriptor: %v", pd)
		}
	}
}

func TestServedHeaders(t *testing.T) {
	e := newEnv(t)
	// The uploader claims text/html; the extension decides what is served.
	cases := []struct{ name, ctype, wantType, wantDisp string }{
		{"notes.txt", "text/html", "text/plain; charset=utf-8", `attachment; filename=notes.txt`},
		{"data.json", "text/html", "application/json", `attachment; filename=data.json`},
		{"report.pdf", "text/html", "application/pdf", `attachment; filename=report.pdf`},
		{"archive.zip", "text/html", "application/zip", `attachment; filename=archive.zip`},
		{"photo.jpeg", "image/svg+xml", "image/jpeg", `inline; filename=photo.jpeg`},
		{"anim.gif", "text/html", "image/gif", `inline; filename=anim.gif`},
	}
	var ids []string
	for _, c := range cases {
		r := e.finalize(e.agentW(), e.wsA, e.upload(e.agentW(), e.wsA, c.ctype, []byte("<script>alert(1)</script>")), c.name)
		ids = append(ids, r["attachmentId"].(string))
	}
	e.must(e.agentW(), "messages:send", map[string]any{"conversationId": e.conv1, "senderId": e.agent, "senderType": "agent", "content": "files", "attachmentIds": ids[:5]})
	e.must(e.agentW(), "messages:send", map[string]any{"conversationId": e.conv1, "senderId": e.agent, "senderType": "agent", "content": "more", "attachmentIds": ids[5:]})
	ms := e.must(e.agentW(), "messages:list", map[string]any{"conversationId": e.conv1}).([]any)
	var descs []any
	for _, m := range ms {
		descs = append(descs, m.(map[string]any)["attachments"].([]any)...)
	}
	for i, c := range cases {
		d := descs[i].(map[string]any)
		res, err := http.Get(d["url"].(string))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		h := res.Header
		if res.StatusCode != 200 || h.Get("Content-Type") != c.wantType || h.Get("Content-Disposition") != c.wantDisp ||
			h.Get("X-Content-Type-Options") != "nosniff" || !strings.Contains(h.Get("Content-Security-Policy"), "sandbox") {
			t.Errorf("%s: %d %v", c.name, res.StatusCode, h)
		}
	}
	for _, p := range []string{"/api/storage/nope", "/api/storage/" + ids[0]} {
		res, err := http.Get(e.http.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 404 {
			t.Errorf("GET %s: %d, want 404", p, res.StatusCode)
		}
	}
}

func TestFinalizeRejections(t *testing.T) {
	e := newEnv(t)
	for _, name := range []string{"page.html", "image.svg", "noext", "script.js", "a.png.exe", ""} {
		sid := e.upload(e.v1W(), e.wsA, "image/png", pngBytes)
		r := e.finalize(e.v1W(), e.wsA, sid, name)
		if r["status"] != "rejected" || r["message"] != "Unsupported file type. Allowed: PNG, JPEG, GIF, WEBP, PDF, TXT, CSV, JSON, and ZIP." {
			t.Errorf("%q: %v", name, r)
		}
	}
	if n := e.storageRows(); n != 0 {
		t.Fatalf("rejected files kept: %d", n)
	}
	// A file over 10 MiB (only reachable through other writers: the
	// upload endpoint refuses it) is rejected and deleted too.
	sid := e.upload(e.v1W(), e.wsA, "image/png", pngBytes)
	e.write(func(tx *sqlstore.Tx) error {
		_, err := tx.Exec(`UPDATE _storage SET size=? WHERE id=?`, attachments.MaxBytes+1, sid)
		return err
	})
	if r := e.finalize(e.v1W(), e.wsA, sid, "big.png"); r["status"] != "rejected" || r["message"] != "File exceeds 10MB maximum size." {
		t.Fatalf("big: %v", r)
	}
	if n := e.storageRows(); n != 0 {
		t.Fatalf("big file kept")
	}
}

func TestAccessErrors(t *testing.T) {
	e := newEnv(t)
	gen := "supportAttachments:generateUploadUrl"
	e.wantErr(who{}, gen, map[string]any{"workspaceId": e.wsA}, fn.NotAuthenticated, "Authentication required")
	e.wantErr(e.v1W(), gen, map[string]any{"workspaceId": e.wsA, "visitorId": e.v2}, fn.NotAuthorized, "Not authorized to upload files for this visitor")
	e.wantErr(e.agentW(), gen, map[string]any{"workspaceId": sqlstore.NewID()}, fn.NotFound, "Workspace not found")
	if _, err := e.call(e.viewerW(), gen, map[string]any{"workspaceId": e.wsA}); err == nil || err.Code != fn.PermissionDenied {
		t.Fatalf("viewer: %v", err)
	}
	if _, err := e.call(who{token: e.tokB}, gen, map[string]any{"workspaceId": e.wsA}); err == nil {
		t.Fatalf("visitor of B uploading to A succeeded")
	}
	// finalize: only the uploader, once.
	sid := e.upload(e.v1W(), e.wsA, "image/png", pngBytes)
	fin := "supportAttachments:finalizeUpload"
	for _, w := range []who{e.v2W(), e.agentW()} {
		e.wantErr(w, fin, map[string]any{"workspaceId": e.wsA, "storageId": sid, "fileName": "x.png"}, fn.NotFound, "Uploaded file not found")
	}
	e.wantErr(who{user: e.ownerB}, fin, map[string]any{"workspaceId": e.wsB, "storageId": sid, "fileName": "x.png"}, fn.NotFound, "Uploaded file not found")
	e.finalize(e.v1W(), e.wsA, sid, "x.png")
	e.wantErr(e.v1W(), fin, map[string]any{"workspaceId": e.wsA, "storageId": sid, "fileName": "x.png"}, fn.InvalidInput, "Uploaded file has already been finalized")
	e.wantErr(e.v1W(), fin, map[string]any{"workspaceId": e.wsA, "storageId": sqlstore.NewID(), "fileName": "x.png"}, fn.NotFound, "Uploaded file not found")
}

func TestUploadToken(t *testing.T) {
	e := newEnv(t)
	u := e.uploadURL(e.v1W(), e.wsA)
	if code, _ := post(t, u, "image/png", bytes.NewReader(pngBytes)); code != 200 {
		t.Fatalf("first use: %d", code)
	}
	if code, _ := post(t, u, "image/png", bytes.NewReader(pngBytes)); code != http.StatusUnauthorized {
		t.Fatalf("second use: %d", code)
	}
	for _, bad := range []string{e.http.URL + "/api/storage/upload", e.http.URL + "/api/storage/upload?token=guess"} {
		if code, _ := post(t, bad, "image/png", bytes.NewReader(pngBytes)); code != http.StatusUnauthorized {
			t.Fatalf("%s: %d", bad, code)
		}
	}
	// Tokens are stored hashed.
	tok := u[strings.Index(u, "token=")+6:]
	e.st.Read(context.Background(), func(tx *sqlstore.Tx) error {
		var n int
		tx.QueryRow(`SELECT count(*) FROM _upload_tokens WHERE token_hash=?`, tok).Scan(&n)
		if n != 0 {
			t.Errorf("token stored in clear")
		}
		return nil
	})
	// Nor does the mutation log keep it, even for a call that would be
	// answered from the log when re-sent (a WebSocket mutation).
	res := e.s.Engine.Mutation(context.Background(), fn.Call{Path: "supportAttachments:generateUploadUrl",
		Args: map[string]any{"workspaceId": e.wsA, "sessionToken": e.tok1}, SessionID: "ws-session", RequestID: 7})
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	var logged string
	e.st.Read(context.Background(), func(tx *sqlstore.Tx) error {
		tx.QueryRow(`SELECT coalesce(group_concat(result, ' '), '') FROM _mutation_log`).Scan(&logged)
		return nil
	})
	if strings.Contains(logged, "token=") {
		t.Errorf("upload URL kept in the mutation log: %s", logged)
	}
	u2 := e.uploadURL(e.v1W(), e.wsA)
	e.clock.Add(time.Hour + time.Second)
	if code, _ := post(t, u2, "image/png", bytes.NewReader(pngBytes)); code != http.StatusUnauthorized {
		t.Fatalf("expired: %d", code)
	}
	if n := e.storageRows(); n != 1 {
		t.Fatalf("storage rows %d, want 1", n)
	}
}

// chunked hides the length so the limit is enforced while reading.
type chunked struct{ r io.Reader }

func (c chunked) Read(p []byte) (int, error) { return c.r.Read(p) }

func TestSizeLimit(t *testing.T) {
	e := newEnv(t)
	big := bytes.Repeat([]byte{'a'}, attachments.MaxBytes+1)
	if code, _ := post(t, e.uploadURL(e.agentW(), e.wsA), "text/plain", bytes.NewReader(big)); code != http.StatusRequestEntityTooLarge {
		t.Fatalf("declared length: %d", code)
	}
	u := e.uploadURL(e.agentW(), e.wsA)
	if code, _ := post(t, u, "text/plain", chunked{bytes.NewReader(big)}); code != http.StatusRequestEntityTooLarge {
		t.Fatalf("chunked: %d", code)
	}
	if n := e.storageRows(); n != 0 {
		t.Fatalf("oversized file stored")
	}
	// Exactly 10 MiB is fine, and the token refused above still works.
	code, out := post(t, u, "text/plain", chunked{bytes.NewReader(big[:attachments.MaxBytes])})
	if code != 200 {
		t.Fatalf("10 MiB: %d", code)
	}
	r := e.finalize(e.agentW(), e.wsA, out["storageId"].(string), "log.txt")
	if r["status"] != "staged" || r["size"] != float64(attachments.MaxBytes) {
		t.Fatalf("finalize 10 MiB: %v", r)
	}
}

func TestBindingErrors(t *testing.T) {
	e := newEnv(t)
	send := func(w who, sender, conv string, ids ...string) map[string]any {
		st := "visitor"
		if w.user != "" {
			st = "agent"
		}
		return map[string]any{"conversationId": conv, "senderId": sender, "senderType": st, "content": "hi", "attachmentIds": ids}
	}
	v1 := e.stage(e.v1W(), "a.png", pngBytes)
	v2 := e.stage(e.v2W(), "b.png", pngBytes)
	ag := e.stage(e.agentW(), "c.pdf", []byte("%PDF"))
	var six []string
	for i := 0; i < 6; i++ {
		six = append(six, e.stage(e.v1W(), "n.txt", []byte("x")))
	}
	missing := sqlstore.NewID()

	// Attachment of workspace B.
	sidB := e.upload(who{token: e.tokB}, e.wsB, "image/png", pngBytes)
	inB := e.finalize(who{token: e.tokB}, e.wsB, sidB, "b.png")["attachmentId"].(string)

	// One already bound, one expired, one staged but with a parent.
	used := e.stage(e.v1W(), "used.png", pngBytes)
	e.must(e.v1W(), "messages:send", send(e.v1W(), e.v1, e.conv1, used))
	expired := e.stage(e.v1W(), "old.png", pngBytes)
	dangling := e.stage(e.v1W(), "dangling.png", pngBytes)
	e.write(func(tx *sqlstore.Tx) error {
		if err := tx.Patch("supportAttachments", expired, sqlstore.Doc{"expiresAt": float64(e.clock.Now().UnixMilli())}); err != nil {
			return err
		}
		return tx.Patch("supportAttachments", dangling, sqlstore.Doc{"ticketId": sqlstore.NewID()})
	})

	cases := []struct {
		name      string
		w         who
		args      map[string]any
		code, msg string
	}{
		{"six files", e.v1W(), send(e.v1W(), e.v1, e.conv1, six...), fn.InvalidInput, "You can attach up to 5 files at a time."},
		{"missing", e.v1W(), send(e.v1W(), e.v1, e.conv1, missing), fn.NotFound, "Attachment " + missing + " was not found"},
		{"other workspace", e.v1W(), send(e.v1W(), e.v1, e.conv1, inB), fn.NotFound, "Attachment " + inB + " was not found"},
		{"already used", e.v1W(), send(e.v1W(), e.v1, e.conv1, used), fn.InvalidInput, "Attachment has already been used"},
		{"expired", e.v1W(), send(e.v1W(), e.v1, e.conv1, expired), fn.InvalidInput, "Attachment upload expired. Please upload again."},
		{"already attached", e.v1W(), send(e.v1W(), e.v1, e.conv1, dangling), fn.InvalidInput, "Attachment has already been attached"},
		{"visitor binds agent's", e.v1W(), send(e.v1W(), e.v1, e.conv1, ag), fn.NotAuthorized, "Not authorized to use this attachment"},
		{"visitor binds other visitor's", e.v1W(), send(e.v1W(), e.v1, e.conv1, v2), fn.NotAuthorized, "Not authorized to use this attachment"},
		{"agent binds visitor's", e.agentW(), send(e.agentW(), e.agent, e.conv1, v1), fn.NotAuthorized, "Not authorized to use this attachment"},
		{"ticket: visitor binds other visitor's", e.v1W(), map[string]any{"workspaceId": e.wsA, "subject": "s", "attachmentIds": []string{v2}},
			fn.NotAuthorized, "Not authorized to use this attachment"},
		{"comment: agent binds visitor's", e.agentW(), map[string]any{"ticketId": "", "content": "c", "attachmentIds": []string{v1}},
			fn.NotAuthorized, "Not authorized to use this attachment"},
	}
	ticket := e.must(e.v1W(), "tickets:create", map[string]any{"workspaceId": e.wsA, "subject": "help"}).(string)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			name := "messages:send"
			if _, ok := c.args["subject"]; ok {
				name = "tickets:create"
			}
			if _, ok := c.args["ticketId"]; ok {
				name = "tickets:addComment"
				c.args["ticketId"] = ticket
			}
			e.wantErr(c.w, name, c.args, c.code, c.msg)
		})
	}

	// A failed send binds nothing: the good attachment stays staged and no
	// message was written.
	before := len(e.must(e.v1W(), "messages:list", map[string]any{"conversationId": e.conv1}).([]any))
	e.wantErr(e.v1W(), "messages:send", send(e.v1W(), e.v1, e.conv1, v1, v2), fn.NotAuthorized, "Not authorized to use this attachment")
	if d := e.doc("supportAttachments", v1); d.Str("status") != "staged" || d.Has("messageId") {
		t.Fatalf("v1's attachment after a failed send: %v", d)
	}
	if after := len(e.must(e.v1W(), "messages:list", map[string]any{"conversationId": e.conv1}).([]any)); after != before {
		t.Fatalf("messages %d → %d", before, after)
	}
	// A visitor cannot send into another visitor's conversation with its own file either.
	if _, err := e.call(e.v1W(), "messages:send", send(e.v1W(), e.v1, e.conv2, v1)); err == nil {
		t.Fatal("sent into another visitor's conversation")
	}
	if d := e.doc("supportAttachments", v1); d.Str("status") != "staged" {
		t.Fatalf("bound by a refused send: %v", d)
	}
}

func TestTickets(t *testing.T) {
	e := newEnv(t)
	shot := e.stage(e.v1W(), "shot.png", pngBytes)
	ticket := e.must(e.v1W(), "tickets:create", map[string]any{"workspaceId": e.wsA, "subject": "Broken", "attachmentIds": []string{shot}}).(string)
	if d := e.doc("supportAttachments", shot); d.Str("ticketId") != ticket || d.Str("status") != "attached" {
		t.Fatalf("ticket attachment: %v", d)
	}
	pdf := e.stage(e.agentW(), "fix.pdf", []byte("%PDF"))
	comment := e.must(e.agentW(), "tickets:addComment", map[string]any{"ticketId": ticket, "content": "here", "attachmentIds": []string{pdf}}).(string)
	if d := e.doc("supportAttachments", pdf); d.Str("ticketCommentId") != comment {
		t.Fatalf("comment attachment: %v", d)
	}
	for _, w := range []who{e.v1W(), e.agentW()} {
		tk := e.must(w, "tickets:get", map[string]any{"id": ticket}).(map[string]any)
		if a := tk["attachments"].([]any); len(a) != 1 || a[0].(map[string]any)["fileName"] != "shot.png" {
			t.Fatalf("ticket attachments: %v", tk["attachments"])
		}
		cs := tk["comments"].([]any)
		if a := cs[0].(map[string]any)["attachments"].([]any); len(a) != 1 || a[0].(map[string]any)["mimeType"] != "application/pdf" {
			t.Fatalf("comment attachments: %v", cs)
		}
		lv := map[string]any{"workspaceId": e.wsA}
		if w.user != "" {
			lv["visitorId"] = e.v1
		}
		ts := e.must(w, "tickets:listByVisitor", lv).([]any)
		if a := ts[0].(map[string]any)["attachments"].([]any); len(a) != 1 {
			t.Fatalf("listByVisitor: %v", ts)
		}
	}
	list := e.must(e.agentW(), "tickets:list", map[string]any{"workspaceId": e.wsA}).([]any)
	if a := list[0].(map[string]any)["attachments"].([]any); len(a) != 1 {
		t.Fatalf("tickets:list: %v", list)
	}
}

func TestCleanup(t *testing.T) {
	e := newEnv(t)
	staged := e.stage(e.v1W(), "staged.png", pngBytes)
	bound := e.stage(e.v1W(), "bound.png", pngBytes)
	e.must(e.v1W(), "messages:send", map[string]any{"conversationId": e.conv1, "senderId": e.v1, "senderType": "visitor", "content": "x", "attachmentIds": []string{bound}})
	e.upload(e.v1W(), e.wsA, "image/png", pngBytes) // never finalized
	e.uploadURL(e.v1W(), e.wsA)                     // never used
	var jobs int
	e.st.Read(context.Background(), func(tx *sqlstore.Tx) error {
		return tx.QueryRow(`SELECT count(*) FROM _scheduled_jobs WHERE name='supportAttachments:cleanupExpiredStagedUploads' AND state='pending' AND run_at=?`,
			e.clock.Now().Add(time.Hour+time.Second).UnixMilli()).Scan(&jobs)
	})
	if jobs != 2 {
		t.Fatalf("scheduled cleanups: %d, want 2", jobs)
	}
	// Not yet expired: nothing goes.
	if r := e.must(who{}, "supportAttachments:cleanupExpiredStagedUploads", map[string]any{"limit": 100}).(map[string]any); r["deleted"] != 0.0 {
		t.Fatalf("early cleanup: %v", r)
	}
	e.clock.Add(time.Hour + time.Second)
	if r := e.must(who{}, "supportAttachments:cleanupExpiredStagedUploads", map[string]any{"limit": 100}).(map[string]any); r["deleted"] != 1.0 || r["hasMore"] != false {
		t.Fatalf("cleanup: %v", r)
	}
	if e.doc("supportAttachments", staged) != nil || e.doc("supportAttachments", bound) == nil {
		t.Fatal("wrong rows deleted")
	}
	if n := e.storageRows(); n != 2 { // bound + the unfinalized one
		t.Fatalf("storage rows %d, want 2", n)
	}
	// The periodic sweep removes the orphaned upload and the stale token.
	r := e.must(who{}, "supportAttachments:cleanupStorage", nil).(map[string]any)
	if r["orphanedFiles"] != 1.0 || r["expiredTokens"] != 1.0 {
		t.Fatalf("sweep: %v", r)
	}
	if n := e.storageRows(); n != 1 {
		t.Fatalf("storage rows %d, want 1", n)
	}
	ms := e.must(e.v1W(), "messages:list", map[string]any{"conversationId": e.conv1}).([]any)
	if a := ms[0].(map[string]any)["attachments"].([]any); len(a) != 1 {
		t.Fatalf("bound attachment lost: %v", ms)
	}
}

// The scheduler itself runs the job finalize schedules.
func TestScheduledCleanupRuns(t *testing.T) {
	e := newEnv(t)
	staged := e.stage(e.v1W(), "staged.png", pngBytes)
	e.clock.Add(time.Hour + 2*time.Second)
	if err := e.s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for e.doc("supportAttachments", staged) != nil {
		if time.Now().After(deadline) {
			t.Fatal("the scheduled cleanup did not delete the expired upload")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if n := e.storageRows(); n != 0 {
		t.Fatalf("file of the expired upload kept")
	}
}
