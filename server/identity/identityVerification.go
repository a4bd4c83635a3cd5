package identity

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"math/big"
	"strings"

	"github.com/opencom-go/opencom/server/access"
	"github.com/opencom-go/opencom/server/fn"
	"github.com/opencom-go/opencom/sqlstore"
)

const secretAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// newIdentitySecret is 64 characters of [A-Za-z0-9] from the CSPRNG.
func newIdentitySecret() string {
	var b strings.Builder
	n := big.NewInt(int64(len(secretAlphabet)))
	for range 64 {
		i, err := rand.Int(rand.Reader, n)
		if err != nil {
			panic(err)
		}
		b.WriteByte(secretAlphabet[i.Int64()])
	}
	return b.String()
}

// UserHash is what an integrator's backend computes for a signed-in user:
// lowercase hex HMAC-SHA256 keyed by the workspace secret over the user id.
func UserHash(secret, externalUserID string) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(externalUserID))
	return hex.EncodeToString(mac.Sum(nil))
}

// VerifyUserHash compares in constant time (case-insensitive hex).
func VerifyUserHash(secret, externalUserID, userHash string) bool {
	want := UserHash(secret, externalUserID)
	got := strings.ToLower(strings.TrimSpace(userHash))
	return subtle.ConstantTimeCompare([]byte(want), []byte(got)) == 1
}

// verification is the outcome of checking an identification.
type verification struct {
	Verified bool
	Skipped  bool // verification disabled: allowed, unverified
}

// checkIdentity applies the workspace's identity verification to an
// identification with an external user id. In required mode a missing or
// wrong hash is refused (INVALID_INPUT with Opencom's texts, prefixed by
// prefix); in optional mode the visitor is just unverified.
func checkIdentity(w sqlstore.Doc, externalUserID, userHash, prefix string) (verification, error) {
	if externalUserID == "" || !w.Bool("identityVerificationEnabled") {
		return verification{Skipped: true}, nil
	}
	required := w.Str("identityVerificationMode") == "required"
	if userHash == "" {
		if required {
			return verification{}, fn.Errorf(fn.NotAuthorized, "%s: userHash is required", prefix)
		}
		return verification{}, nil
	}
	secret := w.Str("identitySecret")
	ok := secret != "" && VerifyUserHash(secret, externalUserID, userHash)
	if !ok && required {
		return verification{}, fn.Errorf(fn.NotAuthorized, "%s: invalid userHash", prefix)
	}
	return verification{Verified: ok}, nil
}

func (m *module) registerIdentityVerification(r *fn.Registry) {
	V := fn.V
	ws := fn.Fields{"workspaceId": V.ID("workspaces")}
	load := func(c *fn.Ctx, id string) (sqlstore.Doc, error) {
		w, err := c.DB().Get("workspaces", id)
		if err != nil || w == nil {
			return nil, orNotFound(err, "Workspace")
		}
		return w, nil
	}
	mode := func(w sqlstore.Doc) string {
		if w.Str("identityVerificationMode") == "required" {
			return "required"
		}
		return "optional"
	}

	r.Query("identityVerification:getSettings", "permission:settings.security (null when signed out)", ws, func(c *fn.Ctx, a fn.Args) (any, error) {
		if uid, err := access.UserID(c); err != nil || uid == "" {
			return nil, err
		}
		if _, err := access.RequirePermission(c, a.Str("workspaceId"), access.SettingsSecurity); err != nil {
			return nil, err
		}
		w, err := load(c, a.Str("workspaceId"))
		if err != nil {
			return nil, err
		}
		return map[string]any{"enabled": w.Bool("identityVerificationEnabled"), "mode": mode(w), "hasSecret": w.Str("identitySecret") != ""}, nil
	})

	r.Mutation("identityVerification:enable", "permission:settings.security", fn.Fields{"workspaceId": V.ID("workspaces"), "mode": V.Optional(V.Literal("optional", "required"))}, func(c *fn.Ctx, a fn.Args) (any, error) {
		if _, err := access.RequirePermission(c, a.Str("workspaceId"), access.SettingsSecurity); err != nil {
			return nil, err
		}
		w, err := load(c, a.Str("workspaceId"))
		if err != nil {
			return nil, err
		}
		md := a.Str("mode")
		if md == "" {
			md = "optional"
		}
		secret, isNew := w.Str("identitySecret"), false
		if secret == "" {
			secret, isNew = newIdentitySecret(), true
		}
		if err := c.DB().Patch("workspaces", w.ID(), sqlstore.Doc{"identitySecret": secret, "identityVerificationEnabled": true, "identityVerificationMode": md}); err != nil {
			return nil, err
		}
		Audit(c, w.ID(), "widget.identity.enabled", AuditEvent{ResourceType: "workspace", ResourceID: w.ID(), Metadata: map[string]any{"mode": md, "newSecret": isNew}})
		out := map[string]any{"success": true, "isNewSecret": isNew, "mode": md}
		if isNew {
			out["secret"] = secret
		}
		return out, nil
	})

	r.Mutation("identityVerification:disable", "permission:settings.security", fn.Fields{"workspaceId": V.ID("workspaces"), "confirmDisable": V.Optional(V.Boolean())}, func(c *fn.Ctx, a fn.Args) (any, error) {
		if _, err := access.RequirePermission(c, a.Str("workspaceId"), access.SettingsSecurity); err != nil {
			return nil, err
		}
		if !a.Bool("confirmDisable") {
			return nil, fn.ErrInvalid("Confirmation required to disable identity verification")
		}
		w, err := load(c, a.Str("workspaceId"))
		if err != nil {
			return nil, err
		}
		if err := c.DB().Patch("workspaces", w.ID(), sqlstore.Doc{"identityVerificationEnabled": false}); err != nil {
			return nil, err
		}
		Audit(c, w.ID(), "widget.identity.disabled", AuditEvent{ResourceType: "workspace", ResourceID: w.ID()})
		return map[string]any{"success": true}, nil
	})

	r.Mutation("identityVerification:updateMode", "permission:settings.security", fn.Fields{"workspaceId": V.ID("workspaces"), "mode": V.Literal("optional", "required")}, func(c *fn.Ctx, a fn.Args) (any, error) {
		if _, err := access.RequirePermission(c, a.Str("workspaceId"), access.SettingsSecurity); err != nil {
			return nil, err
		}
		w, err := load(c, a.Str("workspaceId"))
		if err != nil {
			return nil, err
		}
		if !w.Bool("identityVerificationEnabled") {
			return nil, fn.ErrInvalid("Identity verification must be enabled first")
		}
		if err := c.DB().Patch("workspaces", w.ID(), sqlstore.Doc{"identityVerificationMode": a.Str("mode")}); err != nil {
			return nil, err
		}
		Audit(c, w.ID(), "workspace.security.changed", AuditEvent{ResourceType: "workspace", ResourceID: w.ID(), Metadata: map[string]any{"setting": "identityVerificationMode", "oldValue": mode(w), "newValue": a.Str("mode")}})
		return map[string]any{"success": true}, nil
	})

	r.Mutation("identityVerification:rotateSecret", "permission:settings.security", ws, func(c *fn.Ctx, a fn.Args) (any, error) {
		if _, err := access.RequirePermission(c, a.Str("workspaceId"), access.SettingsSecurity); err != nil {
			return nil, err
		}
		w, err := load(c, a.Str("workspaceId"))
		if err != nil {
			return nil, err
		}
		if !w.Bool("identityVerificationEnabled") {
			return nil, fn.ErrInvalid("Identity verification must be enabled first")
		}
		secret := newIdentitySecret()
		if err := c.DB().Patch("workspaces", w.ID(), sqlstore.Doc{"identitySecret": secret}); err != nil {
			return nil, err
		}
		Audit(c, w.ID(), "widget.identity.secret.rotated", AuditEvent{ResourceType: "workspace", ResourceID: w.ID()})
		return map[string]any{"success": true, "secret": secret}, nil
	})

	// getSecret is the owner/admin-only read of the HMAC secret.
	r.Query("identityVerification:getSecret", "permission:settings.security", ws, func(c *fn.Ctx, a fn.Args) (any, error) {
		if _, err := access.RequirePermission(c, a.Str("workspaceId"), access.SettingsSecurity); err != nil {
			return nil, err
		}
		w, err := load(c, a.Str("workspaceId"))
		if err != nil {
			return nil, err
		}
		if w.Str("identitySecret") == "" {
			return nil, nil
		}
		return map[string]any{"secret": w.Str("identitySecret")}, nil
	})

	r.Query("identityVerification:isRequired", "public", ws, func(c *fn.Ctx, a fn.Args) (any, error) {
		w, err := c.DB().Get("workspaces", a.Str("workspaceId"))
		if err != nil || w == nil {
			return map[string]any{"enabled": false, "required": false}, err
		}
		en := w.Bool("identityVerificationEnabled")
		return map[string]any{"enabled": en, "required": en && mode(w) == "required"}, nil
	})

	r.Query("identityVerification:getVisitorStatus", "permission:users.read or visitor session", fn.Fields{"visitorId": V.ID("visitors"), "sessionToken": V.Optional(V.String())}, func(c *fn.Ctx, a fn.Args) (any, error) {
		v, err := c.DB().Get("visitors", a.Str("visitorId"))
		if err != nil || v == nil {
			return nil, orNotFound(err, "Visitor")
		}
		if err := authorizeVisitorRead(c, v, a.Str("sessionToken"), access.UsersRead); err != nil {
			return nil, err
		}
		return map[string]any{"verified": v.Bool("identityVerified"), "verifiedAt": v["identityVerifiedAt"]}, nil
	})
}

// authorizeVisitorRead lets through a visitor whose session token resolves
// to v, or an agent of v's workspace holding perm.
func authorizeVisitorRead(c *fn.Ctx, v sqlstore.Doc, sessionToken, perm string) error {
	if sessionToken != "" {
		vis, err := access.ResolveVisitor(c, sessionToken, v.Str("workspaceId"))
		if err != nil {
			return err
		}
		if vis.ID != v.ID() {
			return fn.Errorf(fn.NotAuthorized, "Not authorized: session does not belong to this visitor")
		}
		return nil
	}
	_, err := access.RequirePermission(c, v.Str("workspaceId"), perm)
	return err
}
