// Package identity is Opencom's identity and access layer: Convex Auth
// compatible agent sign-in (auth:*), workspaces and their members,
// visitors and widget sessions, HMAC identity verification and audit logs.
//
// Helpers for other modules:
//   - Audit writes an audit log entry (fail-open, like Opencom's logAudit).
//   - CreateUserWithPassword creates a user with a password account (used by
//     the demo seeder and `opencom admin create`).
//   - CreateWorkspace creates a workspace with an owner membership.
//   - NeedsSetup reports whether the server has no users yet (first run).
package identity

import (
	"context"
	"time"

	"github.com/opencom-go/opencom/server"
	"github.com/opencom-go/opencom/server/authtoken"
	"github.com/opencom-go/opencom/server/fn"
	"github.com/opencom-go/opencom/sqlstore"
)

// Deps are what the module needs from the server.
type Deps struct {
	Tokens *authtoken.Keys
	Store  *sqlstore.Store
	// AccessTokenTTL is the agents' JWT lifetime (default 1 h).
	AccessTokenTTL time.Duration
	// TestMode accepts the "testsession" session of _test:mintToken tokens.
	TestMode bool
}

// Module wires the identity module into a server (see server.Modules).
func Module(s *server.Server) {
	Register(s.Registry, Deps{Tokens: s.Tokens, Store: s.Store, AccessTokenTTL: s.Cfg.AccessTokenTTL, TestMode: s.Cfg.TestMode})
}

// Register adds every identity function to r and makes d.Tokens reject
// tokens whose auth session has ended (signed out, revoked, expired).
func Register(r *fn.Registry, d Deps) {
	if d.AccessTokenTTL <= 0 {
		d.AccessTokenTTL = time.Hour
	}
	if d.Tokens != nil && d.Store != nil {
		d.Tokens.SessionValid = func(ctx context.Context, userID, sessionID string) bool {
			if d.TestMode && sessionID == "testsession" {
				return true
			}
			return sessionValid(ctx, d.Store, d.Tokens.Now(), userID, sessionID)
		}
	}
	m := &module{d: d}
	m.registerAuth(r)
	m.registerWorkspaces(r)
	m.registerMembers(r)
	m.registerVisitors(r)
	m.registerWidgetSessions(r)
	m.registerIdentityVerification(r)
	m.registerAuditLogs(r)
}

type module struct{ d Deps }

func sessionValid(ctx context.Context, store *sqlstore.Store, now time.Time, userID, sessionID string) bool {
	if !sqlstore.IsID(sessionID) {
		return false
	}
	ok := false
	store.Read(ctx, func(tx *sqlstore.Tx) error {
		s, err := tx.Get("authSessions", sessionID)
		if err != nil || s == nil {
			return err
		}
		ok = s.Str("userId") == userID && s.Num("expirationTime") > float64(now.UnixMilli())
		return nil
	})
	return ok
}
