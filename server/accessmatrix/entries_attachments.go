package accessmatrix

import (
	"time"

	"github.com/opencom-go/opencom/server/access"
	"github.com/opencom-go/opencom/server/attachments"
	"github.com/opencom-go/opencom/sqlstore"
)

// supportAttachments entries. Seed: one uploaded (not yet finalized) PNG
// in workspace A for every caller that may upload there — each member and
// visitor A — since finalizeUpload only accepts the uploader's own file.
// Denied callers are handed visitor A's file.

func init() {
	// Loaded from here like events (entries_events.go): the same call the
	// main package's modules_attachments.go makes.
	Modules = append(Modules, Module{"github.com/opencom-go/opencom/server/attachments", attachments.Module})

	storageKey := func(who Caller) string { return "attachments.storage." + string(who) }
	AddSeed(func(fx *Fixture, tx *sqlstore.Tx) error {
		now := time.Now().UnixMilli()
		for _, who := range append(append([]Caller{}, MembersA...), VisitorA) {
			typ, id := "agent", fx.UserID(who)
			if who == VisitorA {
				typ, id = "visitor", fx.VisitorIDs[VisitorA]
			}
			sid := sqlstore.NewID()
			if _, err := tx.Exec(`INSERT INTO _storage(id, url_token, blob, content_type, size, sha256, workspace_id, uploaded_by_type, uploaded_by_id, created_at)
				VALUES (?,?,?,?,?,?,?,?,?,?)`, sid, "tok-"+sid, []byte("png"), "image/png", 3, "x", fx.WorkspaceA, typ, id, now); err != nil {
				return err
			}
			fx.IDs[storageKey(who)] = sid
		}
		return nil
	})

	reply := Roles(access.ConversationsReply)
	args := func(fx *Fixture, who Caller) map[string]any {
		a := map[string]any{"workspaceId": fx.WorkspaceA}
		if t := fx.SessionToken(who); t != "" {
			a["sessionToken"] = t
		}
		return a
	}
	for _, e := range []Entry{
		{Func: "supportAttachments:generateUploadUrl", Args: args, Allow: Plus(reply, []Caller{VisitorA})},
		{Func: "supportAttachments:finalizeUpload", Args: func(fx *Fixture, who Caller) map[string]any {
			a := args(fx, who)
			sid := fx.IDs[storageKey(who)]
			if sid == "" {
				sid = fx.IDs[storageKey(VisitorA)]
			}
			a["storageId"], a["fileName"] = sid, "screenshot.png"
			return a
		}, Allow: Plus(reply, []Caller{VisitorA})},
	} {
		add(e)
	}
}
