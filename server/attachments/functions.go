package attachments

import (
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"errors"
	"strings"
	"time"

	"github.com/opencom-go/opencom/server/access"
	"github.com/opencom-go/opencom/server/fn"
)

// Config is what the functions need from the server.
type Config struct {
	// PublicURL returns the server's public URL (read at call time).
	PublicURL func() string
}

// Register adds the supportAttachments functions and the storage cleanup
// cron to r.
func Register(r *fn.Registry, cfg Config) {
	// The URL's token is stored hashed only: the outcome stays out of the
	// mutation log (SecretResult); asking twice just hands out two tokens.
	r.Mutation("supportAttachments:generateUploadUrl", "permission:conversations.reply or session", fn.Fields{
		"workspaceId":  V.ID("workspaces"),
		"visitorId":    V.Optional(V.ID("visitors")),
		"sessionToken": V.Optional(V.String()),
	}, func(c *fn.Ctx, a fn.Args) (any, error) {
		ws := a.Str("workspaceId")
		actor, err := workspaceActor(c, a)
		if err != nil {
			return nil, err
		}
		tok, err := randomToken()
		if err != nil {
			return nil, err
		}
		now := c.Now.UnixMilli()
		if _, err := c.DB().Exec(`INSERT INTO _upload_tokens(token_hash, workspace_id, actor_type, actor_id, expires_at, created_at) VALUES (?,?,?,?,?,?)`,
			hashToken(tok), ws, actor.Type, actor.ID, now+UploadTokenTTL.Milliseconds(), now); err != nil {
			return nil, err
		}
		base := ""
		if cfg.PublicURL != nil {
			base = strings.TrimRight(cfg.PublicURL(), "/")
		}
		return base + UploadPath + "?token=" + tok, nil
	}).SecretResult = true

	r.Mutation("supportAttachments:finalizeUpload", "permission:conversations.reply or session", fn.Fields{
		"workspaceId":  V.ID("workspaces"),
		"visitorId":    V.Optional(V.ID("visitors")),
		"sessionToken": V.Optional(V.String()),
		"storageId":    V.ID("_storage"),
		"fileName":     V.Optional(V.String()),
	}, func(c *fn.Ctx, a fn.Args) (any, error) {
		ws := a.Str("workspaceId")
		actor, err := workspaceActor(c, a)
		if err != nil {
			return nil, err
		}
		sid := a.Str("storageId")
		var fws, ftype, fid string
		var size int64
		var claimed bool
		err = c.DB().QueryRow(`SELECT workspace_id, uploaded_by_type, uploaded_by_id, size, claimed FROM _storage WHERE id=?`, sid).
			Scan(&fws, &ftype, &fid, &size, &claimed)
		if errors.Is(err, sql.ErrNoRows) || (err == nil && (fws != ws || ftype != actor.Type || fid != actor.ID)) {
			// Beyond Opencom: only the uploader may finalize its file, so a
			// storageId seen elsewhere cannot be taken over.
			return nil, fn.Errorf(fn.NotFound, "Uploaded file not found")
		}
		if err != nil {
			return nil, err
		}
		if claimed {
			return nil, fn.ErrInvalid("Uploaded file has already been finalized")
		}
		name := normalizeFileName(a.Str("fileName"))
		mime := MimeForName(name)
		if mime == "" {
			return rejected(c, sid, msgUnsupported)
		}
		if size > MaxBytes {
			return rejected(c, sid, msgTooLarge)
		}
		if _, err := c.DB().Exec(`UPDATE _storage SET claimed=1 WHERE id=?`, sid); err != nil {
			return nil, err
		}
		now := c.NowMs()
		id, err := c.DB().Insert(Table, map[string]any{
			"workspaceId": ws, "storageId": sid, "fileName": name, "mimeType": mime, "size": float64(size),
			"status": "staged", "uploadedByType": actor.Type, "uploadedById": actor.ID,
			"createdAt": now, "expiresAt": now + float64(StagedTTL.Milliseconds()),
		})
		if err != nil {
			return nil, err
		}
		if _, err := c.RunAfter(StagedTTL+time.Second, "supportAttachments:cleanupExpiredStagedUploads",
			map[string]any{"limit": float64(DefaultCleanupLimit)}); err != nil {
			return nil, err
		}
		return map[string]any{"status": "staged", "attachmentId": id, "fileName": name, "mimeType": mime, "size": float64(size)}, nil
	})

	r.InternalMutation("supportAttachments:cleanupExpiredStagedUploads", fn.Fields{
		"limit": V.Optional(V.Number()),
	}, func(c *fn.Ctx, a fn.Args) (any, error) {
		limit := DefaultCleanupLimit
		if a.Has("limit") {
			limit = int(a.Num("limit"))
		}
		limit = max(1, min(limit, MaxCleanupLimit))
		deleted, hasMore, err := cleanupExpired(c, limit)
		if err != nil {
			return nil, err
		}
		if hasMore {
			if _, err := c.RunAfter(0, "supportAttachments:cleanupExpiredStagedUploads", map[string]any{"limit": float64(limit)}); err != nil {
				return nil, err
			}
		}
		return map[string]any{"deleted": deleted, "hasMore": hasMore}, nil
	})

	// The periodic sweep: expired staged uploads the scheduled job missed,
	// expired upload tokens, and files uploaded but never finalized.
	r.InternalMutation("supportAttachments:cleanupStorage", nil, func(c *fn.Ctx, _ fn.Args) (any, error) {
		deleted, _, err := cleanupExpired(c, MaxCleanupLimit)
		if err != nil {
			return nil, err
		}
		now := c.Now.UnixMilli()
		tokens, err := c.DB().Exec(`DELETE FROM _upload_tokens WHERE expires_at <= ?`, now)
		if err != nil {
			return nil, err
		}
		orphans, err := c.DB().Exec(`DELETE FROM _storage WHERE id IN (SELECT id FROM _storage WHERE claimed=0 AND created_at < ? LIMIT ?)`,
			now-UploadTokenTTL.Milliseconds(), MaxCleanupLimit)
		if err != nil {
			return nil, err
		}
		nt, _ := tokens.RowsAffected()
		no, _ := orphans.RowsAffected()
		return map[string]any{"deleted": deleted, "expiredTokens": nt, "orphanedFiles": no}, nil
	})
	r.AddCron(fn.Cron{Name: "support attachments storage cleanup", Every: 15 * time.Minute, Function: "supportAttachments:cleanupStorage"})
}

// cleanupExpired deletes up to limit expired staged attachments and their
// files, oldest expiry first.
func cleanupExpired(c *fn.Ctx, limit int) (int, bool, error) {
	ds, err := c.DB().Query(Table).Eq("status", "staged").Lt("expiresAt", c.NowMs()).OrderBy("expiresAt").Take(limit)
	if err != nil {
		return 0, false, err
	}
	for _, d := range ds {
		if err := deleteFile(c, d.Str("storageId")); err != nil {
			return 0, false, err
		}
		if err := c.DB().Delete(Table, d.ID()); err != nil {
			return 0, false, err
		}
	}
	return len(ds), len(ds) == limit, nil
}

func rejected(c *fn.Ctx, storageID, msg string) (any, error) {
	if err := deleteFile(c, storageID); err != nil {
		return nil, err
	}
	return map[string]any{"status": "rejected", "message": msg}, nil
}

func deleteFile(c *fn.Ctx, storageID string) error {
	_, err := c.DB().Exec(`DELETE FROM _storage WHERE id=?`, storageID)
	return err
}

// workspaceActor is Opencom's requireSupportAttachmentWorkspaceAccess: a
// signed-in agent needs conversations.reply; otherwise a widget session
// of the workspace (and a visitorId, if given, must be its visitor).
func workspaceActor(c *fn.Ctx, a fn.Args) (Actor, error) {
	ws := a.Str("workspaceId")
	w, err := c.DB().Get("workspaces", ws)
	if err != nil {
		return Actor{}, err
	}
	if w == nil {
		return Actor{}, fn.Errorf(fn.NotFound, "Workspace not found")
	}
	uid, err := access.UserID(c)
	if err != nil {
		return Actor{}, err
	}
	if uid != "" {
		m, err := access.RequirePermission(c, ws, access.ConversationsReply)
		if err != nil {
			return Actor{}, err
		}
		return Agent(m.UserID), nil
	}
	tok := a.Str("sessionToken")
	if tok == "" {
		return Actor{}, fn.Errorf(fn.NotAuthenticated, "Authentication required")
	}
	v, err := access.ResolveVisitor(c, tok, ws)
	if err != nil {
		return Actor{}, err
	}
	if vid := a.Str("visitorId"); vid != "" && vid != v.ID {
		return Actor{}, fn.Errorf(fn.NotAuthorized, "Not authorized to upload files for this visitor")
	}
	return Visitor(v.ID), nil
}

// randomToken is 32 bytes from the OS CSPRNG, base64url without padding.
func randomToken() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}
