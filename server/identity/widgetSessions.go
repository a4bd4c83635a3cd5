package identity

import (
	"time"

	"github.com/opencom-go/opencom/server/access"
	"github.com/opencom-go/opencom/server/fn"
	"github.com/opencom-go/opencom/sqlstore"
)

// Widget session tokens (security.md §3): "wst_" + 64 hex characters from
// the CSPRNG, stored only as SHA-256 (widgetSessions.tokenHash), lifetime
// per workspace (default 24 h, clamped to [1 h, 7 d]).
const (
	DefaultSessionLifetime = 24 * time.Hour
	MinSessionLifetime     = time.Hour
	MaxSessionLifetime     = 7 * 24 * time.Hour
	// RefreshThreshold: widgetSessions:refresh issues a new token only
	// when less than this fraction of the lifetime remains.
	RefreshThreshold = 0.25
)

// NewSessionToken returns a fresh visitor session token.
func NewSessionToken() string { return "wst_" + randomHex(32) }

// ClampSessionLifetime bounds a configured lifetime (0 = default).
func ClampSessionLifetime(d time.Duration) time.Duration {
	if d <= 0 {
		return DefaultSessionLifetime
	}
	return min(max(d, MinSessionLifetime), MaxSessionLifetime)
}

// SessionLifetime is a workspace's widget session lifetime.
func SessionLifetime(w sqlstore.Doc) time.Duration {
	return ClampSessionLifetime(time.Duration(w.Num("sessionLifetimeMs")) * time.Millisecond)
}

// NeedsRefresh reports whether a session expiring at expiresAt should be
// replaced at now: less than RefreshThreshold of its lifetime is left.
func NeedsRefresh(expiresAt, now time.Time, lifetime time.Duration) bool {
	return expiresAt.Sub(now) < time.Duration(float64(lifetime)*RefreshThreshold)
}

// insertWidgetSession stores a new session and returns its token.
func insertWidgetSession(tx *sqlstore.Tx, w sqlstore.Doc, visitorID string, verified bool, now time.Time, extra sqlstore.Doc) (string, float64, error) {
	tok := NewSessionToken()
	exp := float64(now.Add(SessionLifetime(w)).UnixMilli())
	d := sqlstore.Doc{"tokenHash": access.HashToken(tok), "visitorId": visitorID, "workspaceId": w.ID(), "identityVerified": verified, "expiresAt": exp, "createdAt": float64(now.UnixMilli())}
	for k, v := range extra {
		if v != nil && v != "" {
			d[k] = v
		}
	}
	_, err := tx.Insert("widgetSessions", d)
	return tok, exp, err
}

func (m *module) registerWidgetSessions(r *fn.Registry) {
	V := fn.V
	r.Mutation("widgetSessions:boot", "public", withArgs(profileArgs(), fn.Fields{
		"workspaceId":       V.ID("workspaces"),
		"sessionId":         V.String(),
		"existingVisitorId": V.Optional(V.String()),
		"clientType":        V.Optional(V.String()),
		"clientVersion":     V.Optional(V.String()),
		"clientIdentifier":  V.Optional(V.String()),
	}), func(c *fn.Ctx, a fn.Args) (any, error) {
		tx := c.DB()
		w, err := tx.Get("workspaces", a.Str("workspaceId"))
		if err != nil || w == nil {
			return nil, orNotFound(err, "Workspace")
		}
		origin := a.Str("origin")
		if origin == "" {
			origin = c.Caller.Origin
		}
		if ok, reason := validateOrigin(w, origin); !ok {
			return nil, fn.Errorf(fn.NotAuthorized, "Origin validation failed: %s", reason)
		}
		if a.Str("sessionId") == "" {
			return nil, fn.ErrInvalid("sessionId is required")
		}
		ver, err := checkIdentity(w, a.Str("externalUserId"), a.Str("userHash"), "Identity verification failed")
		if err != nil {
			return nil, err
		}
		now := c.NowMs()
		var v sqlstore.Doc
		if id := a.Str("existingVisitorId"); sqlstore.IsID(id) {
			if d, err := tx.Get("visitors", id); err != nil {
				return nil, err
			} else if d != nil && d.Str("workspaceId") == w.ID() {
				v = d
			}
		}
		if v == nil {
			if v, err = tx.Query("visitors").Eq("sessionId", a.Str("sessionId")).Filter(func(d sqlstore.Doc) bool { return d.Str("workspaceId") == w.ID() }).First(); err != nil {
				return nil, err
			}
		}
		email := NormalizeEmail(a.Str("email"))
		if v == nil && email != "" && ver.Verified {
			// Resuming another visitor by email hands over its
			// conversations: only for a caller the site vouches for.
			if v, err = tx.Query("visitors").Eq("email", email).Filter(func(d sqlstore.Doc) bool { return d.Str("workspaceId") == w.ID() }).First(); err != nil {
				return nil, err
			}
			if v != nil && !emailClaimTrusted(ver, a.Str("externalUserId"), v) {
				v = nil
			}
		}
		patch := sqlstore.Doc{"sessionId": a.Str("sessionId"), "lastSeenAt": now}
		for _, k := range []string{"name", "externalUserId", "referrer", "currentUrl"} {
			if s := a.Str(k); s != "" {
				patch[k] = s
			}
		}
		if email != "" {
			patch["email"] = email
		}
		for _, k := range []string{"location", "device", "customAttributes"} {
			if mm := a.Map(k); len(mm) > 0 {
				patch[k] = mm
			}
		}
		if a.Str("externalUserId") != "" && !ver.Skipped {
			patch["identityVerified"] = ver.Verified
			if ver.Verified {
				patch["identityVerifiedAt"] = now
			}
		}
		var vid string
		if v == nil {
			patch["workspaceId"] = w.ID()
			patch["firstSeenAt"], patch["createdAt"] = now, now
			if vid, err = tx.Insert("visitors", patch); err != nil {
				return nil, err
			}
			if err := tx.Patch("visitors", vid, sqlstore.Doc{"readableId": ReadableID(vid)}); err != nil {
				return nil, err
			}
		} else {
			vid = v.ID()
			if !v.Has("readableId") {
				patch["readableId"] = ReadableID(vid)
			}
			if err := tx.Patch("visitors", vid, patch); err != nil {
				return nil, err
			}
		}
		clientType := a.Str("clientType")
		if clientType == "" {
			clientType = "web_widget"
			if p, _ := a.Map("device")["platform"].(string); p == "ios" || p == "android" {
				clientType = "mobile_sdk"
			}
		}
		platform, _ := a.Map("device")["platform"].(string)
		tok, exp, err := insertWidgetSession(tx, w, vid, ver.Verified, c.Now, sqlstore.Doc{"clientType": clientType, "clientVersion": a.Str("clientVersion"), "clientIdentifier": a.Str("clientIdentifier"), "origin": origin, "currentUrl": a.Str("currentUrl"), "devicePlatform": platform})
		if err != nil {
			return nil, err
		}
		Audit(c, w.ID(), "auth.session.created", AuditEvent{ActorType: "api", ResourceType: "widgetSession", ResourceID: vid, Metadata: map[string]any{"source": "widgetSessions.boot", "identityVerified": ver.Verified}})
		visitor, err := tx.Get("visitors", vid)
		if err != nil {
			return nil, err
		}
		return map[string]any{"visitor": visitor, "sessionToken": tok, "expiresAt": exp}, nil
	})

	// refresh returns the same token while more than RefreshThreshold of
	// its lifetime remains, and a new one (the old one deleted) after.
	r.Mutation("widgetSessions:refresh", "public (session token)", fn.Fields{"sessionToken": V.String()}, func(c *fn.Ctx, a fn.Args) (any, error) {
		tx := c.DB()
		s, err := tx.Query("widgetSessions").Eq("tokenHash", access.HashToken(a.Str("sessionToken"))).First()
		if err != nil {
			return nil, err
		}
		if s == nil {
			return nil, fn.Errorf(fn.NotAuthenticated, "Invalid session token")
		}
		if s.Num("expiresAt") < c.NowMs() {
			// Deleting is the point of this branch, so it must commit:
			// the caller learns the outcome from the result.
			if err := tx.Delete("widgetSessions", s.ID()); err != nil {
				return nil, err
			}
			return map[string]any{"expired": true, "sessionToken": nil, "expiresAt": nil, "error": "Session expired: please re-boot"}, nil
		}
		w, err := tx.Get("workspaces", s.Str("workspaceId"))
		if err != nil || w == nil {
			return nil, orNotFound(err, "Workspace")
		}
		if !NeedsRefresh(time.UnixMilli(int64(s.Num("expiresAt"))), c.Now, SessionLifetime(w)) {
			return map[string]any{"sessionToken": a.Str("sessionToken"), "expiresAt": s.Num("expiresAt"), "refreshed": false}, nil
		}
		tok, exp, err := insertWidgetSession(tx, w, s.Str("visitorId"), s.Bool("identityVerified"), c.Now, sqlstore.Doc{"clientType": s["clientType"], "clientVersion": s["clientVersion"], "clientIdentifier": s["clientIdentifier"], "origin": s["origin"], "devicePlatform": s["devicePlatform"]})
		if err != nil {
			return nil, err
		}
		if err := tx.Delete("widgetSessions", s.ID()); err != nil {
			return nil, err
		}
		Audit(c, w.ID(), "auth.session.created", AuditEvent{ActorType: "api", ResourceType: "widgetSession", ResourceID: s.Str("visitorId"), Metadata: map[string]any{"source": "widgetSessions.refresh", "refreshed": true}})
		return map[string]any{"sessionToken": tok, "expiresAt": exp, "refreshed": true}, nil
	})

	r.Mutation("widgetSessions:revoke", "public (session token)", fn.Fields{"sessionToken": V.String()}, func(c *fn.Ctx, a fn.Args) (any, error) {
		s, err := c.DB().Query("widgetSessions").Eq("tokenHash", access.HashToken(a.Str("sessionToken"))).First()
		if err != nil {
			return nil, err
		}
		if s != nil {
			if err := c.DB().Delete("widgetSessions", s.ID()); err != nil {
				return nil, err
			}
			Audit(c, s.Str("workspaceId"), "auth.logout", AuditEvent{ActorType: "api", ResourceType: "widgetSession", ResourceID: s.Str("visitorId")})
		}
		return map[string]any{"success": true}, nil
	})

	r.Query("widgetSessions:validateSessionToken", "public", fn.Fields{"workspaceId": V.ID("workspaces"), "sessionToken": V.String(), "visitorId": V.Optional(V.String())}, func(c *fn.Ctx, a fn.Args) (any, error) {
		vis, err := access.ResolveVisitor(c, a.Str("sessionToken"), a.Str("workspaceId"))
		if err != nil {
			if fe, ok := fn.AsError(err); ok {
				return map[string]any{"valid": false, "reason": fe.Message}, nil
			}
			return nil, err
		}
		if a.Has("visitorId") && a.Str("visitorId") != vis.ID {
			return map[string]any{"valid": false, "reason": "Session token does not match visitor"}, nil
		}
		return map[string]any{"valid": true, "visitorId": vis.ID, "identityVerified": vis.IdentityVerified}, nil
	})

	r.Query("widgetSessions:getSettings", "permission:settings.security", fn.Fields{"workspaceId": V.ID("workspaces")}, func(c *fn.Ctx, a fn.Args) (any, error) {
		if _, err := access.RequirePermission(c, a.Str("workspaceId"), access.SettingsSecurity); err != nil {
			return nil, err
		}
		w, err := c.DB().Get("workspaces", a.Str("workspaceId"))
		if err != nil || w == nil {
			return nil, orNotFound(err, "Workspace")
		}
		return map[string]any{"sessionLifetimeMs": float64(SessionLifetime(w) / time.Millisecond)}, nil
	})

	r.Mutation("widgetSessions:updateSettings", "permission:settings.security", fn.Fields{"workspaceId": V.ID("workspaces"), "sessionLifetimeMs": V.Number()}, func(c *fn.Ctx, a fn.Args) (any, error) {
		ws := a.Str("workspaceId")
		if _, err := access.RequirePermission(c, ws, access.SettingsSecurity); err != nil {
			return nil, err
		}
		d := time.Duration(a.Num("sessionLifetimeMs")) * time.Millisecond
		if d < MinSessionLifetime || d > MaxSessionLifetime {
			return nil, fn.ErrInvalid("Session lifetime must be between 1 hour and 7 days")
		}
		if err := c.DB().Patch("workspaces", ws, sqlstore.Doc{"sessionLifetimeMs": float64(d / time.Millisecond)}); err != nil {
			return nil, err
		}
		Audit(c, ws, "workspace.security.changed", AuditEvent{ResourceType: "workspace", ResourceID: ws, Metadata: map[string]any{"setting": "sessionLifetimeMs", "newValue": float64(d / time.Millisecond)}})
		return map[string]any{"success": true, "sessionLifetimeMs": float64(d / time.Millisecond)}, nil
	})

	r.InternalMutation("widgetSessions:cleanupExpiredSessions", nil, func(c *fn.Ctx, a fn.Args) (any, error) {
		old, err := c.DB().Query("widgetSessions").Lt("expiresAt", c.NowMs()).OrderBy("expiresAt").Take(1001)
		if err != nil {
			return nil, err
		}
		n := min(len(old), 1000)
		for _, s := range old[:n] {
			if err := c.DB().Delete("widgetSessions", s.ID()); err != nil {
				return nil, err
			}
		}
		return map[string]any{"deleted": n, "hasMore": len(old) > 1000}, nil
	})
	r.AddCron(fn.Cron{Name: "delete expired widget sessions", Every: time.Hour, Function: "widgetSessions:cleanupExpiredSessions"})
}

// profileArgs are the visitor profile fields boot and identify both accept.
func profileArgs() fn.Fields {
	V := fn.V
	return fn.Fields{
		"email":            V.Optional(V.String()),
		"name":             V.Optional(V.String()),
		"externalUserId":   V.Optional(V.String()),
		"userHash":         V.Optional(V.String()),
		"location":         V.Optional(locationValidator()),
		"device":           V.Optional(deviceValidator()),
		"referrer":         V.Optional(V.String()),
		"currentUrl":       V.Optional(V.String()),
		"customAttributes": V.Optional(V.Record(V.Any())),
		"origin":           V.Optional(V.String()),
	}
}

func withArgs(base fn.Fields, extra fn.Fields) fn.Fields {
	for k, v := range extra {
		base[k] = v
	}
	return base
}

// locationValidator and deviceValidator keep the documented fields (and
// ignore others, which older widgets may send); an empty validator here
// used to drop everything.
func locationValidator() fn.Validator {
	s := fn.V.Optional(fn.V.String())
	return fn.V.LooseObject(fn.Fields{"city": s, "region": s, "country": s, "countryCode": s})
}

func deviceValidator() fn.Validator {
	s := fn.V.Optional(fn.V.String())
	return fn.V.LooseObject(fn.Fields{"browser": s, "os": s, "deviceType": s, "platform": s})
}
