// Package attachments is Opencom's supportAttachments (supportAttachments.ts)
// and the file storage under it (Convex's _storage): files visitors and
// agents attach to chat messages, tickets and ticket comments.
//
// Upload is Convex-style and takes three steps:
//
//  1. supportAttachments:generateUploadUrl returns an absolute URL on this
//     server carrying a single-use upload token (stored hashed in
//     _upload_tokens, valid for an hour, bound to the caller — an agent
//     user or a widget visitor — and the workspace).
//  2. The client POSTs the raw bytes with their Content-Type to that URL
//     (at most MaxBytes, else 413) and gets {"storageId": "..."}; the
//     bytes go into the _storage table of the same SQLite file.
//  3. supportAttachments:finalizeUpload decides the type by the file
//     name's extension (never by the uploaded Content-Type), rejects what
//     is not allowed (deleting the file) and stages a supportAttachments
//     row that expires an hour later unless messages:send, tickets:create
//     or tickets:addComment bind it through attachmentIds (Bind).
//
// Files are served at /api/storage/<url token>, a capability URL distinct
// from the storageId, with the extension-decided Content-Type, nosniff, a
// sandboxing CSP, and Content-Disposition: attachment for everything that
// is not a raster image, so an upload can never run as a page of our
// origin. Expired staged uploads are deleted (row and file) by a job
// scheduled at finalize and by a periodic cron that also removes expired
// upload tokens and files nobody finalized.
package attachments

import (
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/opencom-go/opencom/server/fn"
	"github.com/opencom-go/opencom/sqlstore"
)

var V = fn.V

const (
	// MaxBytes is the largest file accepted (Opencom's 10 MiB).
	MaxBytes = 10 << 20
	// MaxPerParent is how many files one message, ticket or comment takes.
	MaxPerParent = 5
	// StagedTTL is how long a finalized upload waits to be bound.
	StagedTTL = time.Hour
	// UploadTokenTTL is how long an upload URL stays usable.
	UploadTokenTTL = time.Hour
	// DefaultCleanupLimit and MaxCleanupLimit bound one cleanup run.
	DefaultCleanupLimit = 100
	MaxCleanupLimit     = 500
)

// Table is the document table of attachments.
const Table = "supportAttachments"

// mimeByExt is Opencom's whitelist, keyed by lower-case extension.
var mimeByExt = map[string]string{
	"csv":  "text/csv",
	"json": "application/json",
	"pdf":  "application/pdf",
	"gif":  "image/gif",
	"jpeg": "image/jpeg",
	"jpg":  "image/jpeg",
	"png":  "image/png",
	"txt":  "text/plain",
	"webp": "image/webp",
	"zip":  "application/zip",
}

// Rejection messages of finalizeUpload (status "rejected").
const (
	msgUnsupported = "Unsupported file type. Allowed: PNG, JPEG, GIF, WEBP, PDF, TXT, CSV, JSON, and ZIP."
	msgTooLarge    = "File exceeds 10MB maximum size."
)

// MimeForName returns the whitelisted MIME type of a file name's
// extension, or "" when the extension is not allowed.
func MimeForName(name string) string {
	ext := strings.ToLower(strings.TrimPrefix(path.Ext(name), "."))
	return mimeByExt[ext]
}

// IsImage reports whether a (whitelisted) MIME type is a raster image the
// browser may show inline.
func IsImage(mime string) bool {
	switch mime {
	case "image/png", "image/jpeg", "image/gif", "image/webp":
		return true
	}
	return false
}

// normalizeFileName keeps the last path segment, trimmed; "attachment"
// when nothing is left.
func normalizeFileName(name string) string {
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	name = strings.TrimSpace(name)
	if name == "" {
		return "attachment"
	}
	return name
}

// Actor is who uploads or binds: an agent (user id) or a visitor.
type Actor struct {
	Type string // "agent" or "visitor"
	ID   string
}

// Agent and Visitor build actors.
func Agent(userID string) Actor      { return Actor{"agent", userID} }
func Visitor(visitorID string) Actor { return Actor{"visitor", visitorID} }

// Binding is the parent an attachment is bound to: exactly one field set.
type Binding struct {
	MessageID, TicketID, TicketCommentID string
}

// NormalizeIDs removes duplicates, keeping the first occurrence's order.
func NormalizeIDs(ids []any) []string {
	seen := map[string]bool{}
	out := []string{}
	for _, v := range ids {
		s, _ := v.(string)
		if s == "" || seen[s] {
			continue
		}
		seen[s] = true
		out = append(out, s)
	}
	return out
}

// Check validates attachment ids for binding by actor in a workspace,
// with Opencom's errors, and returns the deduplicated ids. It writes
// nothing; Bind does the binding once the parent exists.
func Check(c *fn.Ctx, workspaceID string, ids []any, actor Actor) ([]string, error) {
	norm := NormalizeIDs(ids)
	if len(norm) == 0 {
		return norm, nil
	}
	if len(norm) > MaxPerParent {
		return nil, fn.ErrInvalid("You can attach up to %d files at a time.", MaxPerParent)
	}
	now := c.NowMs()
	for _, id := range norm {
		var a sqlstore.Doc
		var err error
		if sqlstore.IsID(id) {
			if a, err = c.DB().Get(Table, id); err != nil {
				return nil, err
			}
		}
		if a == nil || a.Str("workspaceId") != workspaceID {
			return nil, fn.Errorf(fn.NotFound, "Attachment %s was not found", id)
		}
		if a.Str("status") != "staged" {
			return nil, fn.ErrInvalid("Attachment has already been used")
		}
		if !a.Has("expiresAt") || a.Num("expiresAt") <= now {
			return nil, fn.ErrInvalid("Attachment upload expired. Please upload again.")
		}
		if a.Has("messageId") || a.Has("ticketId") || a.Has("ticketCommentId") {
			return nil, fn.ErrInvalid("Attachment has already been attached")
		}
		if a.Str("uploadedByType") != actor.Type || a.Str("uploadedById") != actor.ID {
			return nil, fn.Errorf(fn.NotAuthorized, "Not authorized to use this attachment")
		}
	}
	return norm, nil
}

// Bind marks checked attachments (see Check) as attached to the parent.
func Bind(c *fn.Ctx, ids []string, b Binding) error {
	now := c.NowMs()
	for _, id := range ids {
		patch := sqlstore.Doc{"status": "attached", "attachedAt": now, "expiresAt": nil}
		if b.MessageID != "" {
			patch["messageId"] = b.MessageID
		}
		if b.TicketID != "" {
			patch["ticketId"] = b.TicketID
		}
		if b.TicketCommentID != "" {
			patch["ticketCommentId"] = b.TicketCommentID
		}
		if err := c.DB().Patch(Table, id, patch); err != nil {
			return err
		}
	}
	return nil
}

// PreviewLabel is the conversation preview of a message without text.
func PreviewLabel(n int) string {
	if n == 1 {
		return "1 attachment"
	}
	return strconv.Itoa(n) + " attachments"
}

// URLFunc turns a file's URL token into its download URL.
type URLFunc func(urlToken string) string

// FileURL builds download URLs under a server's public URL (read at call
// time). With a nil publicURL the URLs are relative (/api/storage/...).
func FileURL(publicURL func() string) URLFunc {
	return func(tok string) string {
		base := ""
		if publicURL != nil {
			base = strings.TrimRight(publicURL(), "/")
		}
		return base + "/api/storage/" + tok
	}
}

// Descriptors returns Opencom's attachment descriptors {_id, fileName,
// mimeType, size, url?} of the attached rows among ids, in ids' order.
func Descriptors(c *fn.Ctx, ids []any, urlFor URLFunc) ([]any, error) {
	out := []any{}
	for _, id := range NormalizeIDs(ids) {
		if !sqlstore.IsID(id) {
			continue
		}
		a, err := c.DB().Get(Table, id)
		if err != nil {
			return nil, err
		}
		if a == nil || a.Str("status") != "attached" {
			continue
		}
		d := map[string]any{"_id": a.ID(), "fileName": a.Str("fileName"), "mimeType": a.Str("mimeType"), "size": a.Num("size")}
		var tok string
		if err := c.DB().QueryRow(`SELECT url_token FROM _storage WHERE id=?`, a.Str("storageId")).Scan(&tok); err == nil && urlFor != nil {
			d["url"] = urlFor(tok)
		}
		out = append(out, d)
	}
	return out, nil
}
