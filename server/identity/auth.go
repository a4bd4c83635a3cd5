package identity

import (
	"crypto/rand"
	"encoding/hex"
	"net/mail"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/opencom-go/opencom/server/access"
	"github.com/opencom-go/opencom/server/fn"
	"github.com/opencom-go/opencom/sqlstore"
)

// Agent sign-in speaks @convex-dev/auth's protocol: the client calls the
// action auth:signIn with {provider, params, verifier} to sign in or up
// and with {refreshToken} to refresh, and auth:signOut; both answer
// {tokens: {token, refreshToken}} or {tokens: null}.
//
// Sessions: an authSessions row per sign-in (30 days), access tokens are
// JWTs of AccessTokenTTL whose sub is "userId|sessionId" and which stop
// verifying as soon as the session row is gone. Refresh tokens are 32
// random bytes, stored as SHA-256, single use: refreshing marks the old
// one used and issues a child; presenting a used one again means it was
// stolen or replayed, so the whole session is revoked.
const (
	sessionLifetime      = 30 * 24 * time.Hour
	bcryptCost           = 11
	minPasswordLength    = 8
	maxPasswordLength    = 72 // bcrypt ignores bytes beyond 72
	accountFailureLimit  = 10 // failed sign-ins per account per window (Convex Auth's default)
	ipFailureLimit       = 30 // failed sign-ins per client IP per window
	rateLimitWindow      = time.Hour
	invalidCredentialMsg = "Invalid email or password"
)

// dummyHash is compared against when the account does not exist, so an
// unknown email costs the same time as a wrong password.
var dummyHash, _ = bcrypt.GenerateFromPassword([]byte("opencom-no-such-account"), bcryptCost)

// NormalizeEmail is how emails are stored and compared.
func NormalizeEmail(e string) string { return strings.ToLower(strings.TrimSpace(e)) }

func validEmail(e string) bool {
	a, err := mail.ParseAddress(e)
	return err == nil && a.Address == e && strings.Contains(e, "@")
}

// ValidatePassword returns an INVALID_INPUT error for unusable passwords.
func ValidatePassword(p string) error {
	if len(p) < minPasswordLength {
		return fn.ErrInvalid("Password must be at least %d characters", minPasswordLength)
	}
	if len(p) > maxPasswordLength {
		return fn.ErrInvalid("Password must be at most %d bytes", maxPasswordLength)
	}
	return nil
}

// HashPassword hashes a password for an authAccounts row.
func HashPassword(p string) (string, error) {
	h, err := bcrypt.GenerateFromPassword([]byte(p), bcryptCost)
	return string(h), err
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // the CSPRNG never fails on supported platforms
	}
	return hex.EncodeToString(b)
}

// NeedsSetup reports whether the server has no users yet: the agent app
// then shows first-run setup, whose sign-up creates the first owner.
func NeedsSetup(tx *sqlstore.Tx) (bool, error) {
	u, err := tx.Query("users").First()
	return u == nil, err
}

// CreateUserWithPassword creates a user with a password account (bcrypt)
// and no workspace. Email is normalised; an existing account is
// ALREADY_EXISTS. Used by the demo seeder and `opencom admin create`.
func CreateUserWithPassword(tx *sqlstore.Tx, email, password, name string) (string, error) {
	if err := ValidatePassword(password); err != nil {
		return "", err
	}
	h, err := HashPassword(password)
	if err != nil {
		return "", err
	}
	return createUserWithHash(tx, email, h, name, float64(time.Now().UnixMilli()))
}

func createUserWithHash(tx *sqlstore.Tx, email, hash, name string, now float64) (string, error) {
	email = NormalizeEmail(email)
	if !validEmail(email) {
		return "", fn.ErrInvalid("Invalid email address")
	}
	if existing, err := tx.Query("users").Eq("email", email).First(); err != nil {
		return "", err
	} else if existing != nil {
		return "", fn.Errorf(fn.AlreadyExists, "A user with this email already exists")
	}
	if name == "" {
		name, _, _ = strings.Cut(email, "@")
	}
	uid, err := tx.Insert("users", sqlstore.Doc{"email": email, "name": name, "role": "admin", "createdAt": now})
	if err != nil {
		return "", err
	}
	_, err = tx.Insert("authAccounts", sqlstore.Doc{"userId": uid, "provider": "password", "providerAccountId": email, "secret": hash})
	return uid, err
}

// CreateWorkspace creates a workspace owned by userID (who must exist) and
// makes it the user's current workspace.
func CreateWorkspace(tx *sqlstore.Tx, name, userID string, now float64) (string, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return "", fn.ErrInvalid("Workspace name is required")
	}
	ws, err := tx.Insert("workspaces", sqlstore.Doc{"name": name, "createdAt": now, "helpCenterAccessPolicy": "public"})
	if err != nil {
		return "", err
	}
	if _, err := tx.Insert("workspaceMembers", sqlstore.Doc{"userId": userID, "workspaceId": ws, "role": access.RoleOwner, "createdAt": now}); err != nil {
		return "", err
	}
	return ws, tx.Patch("users", userID, sqlstore.Doc{"workspaceId": ws})
}

// newSession inserts an auth session and its first refresh token.
func newSession(tx *sqlstore.Tx, userID string, now time.Time) (sessionID, refreshToken string, err error) {
	exp := float64(now.Add(sessionLifetime).UnixMilli())
	sessionID, err = tx.Insert("authSessions", sqlstore.Doc{"userId": userID, "expirationTime": exp})
	if err != nil {
		return "", "", err
	}
	refreshToken, err = newRefreshToken(tx, sessionID, "", exp)
	return sessionID, refreshToken, err
}

func newRefreshToken(tx *sqlstore.Tx, sessionID, parent string, exp float64) (string, error) {
	tok := randomHex(32)
	d := sqlstore.Doc{"sessionId": sessionID, "tokenHash": access.HashToken(tok), "expirationTime": exp}
	if parent != "" {
		d["parentRefreshTokenId"] = parent
	}
	_, err := tx.Insert("authRefreshTokens", d)
	return tok, err
}

// revokeSession deletes a session and all its refresh tokens.
func revokeSession(tx *sqlstore.Tx, sessionID string) error {
	toks, err := tx.Query("authRefreshTokens").Eq("sessionId", sessionID).Collect()
	if err != nil {
		return err
	}
	for _, t := range toks {
		if err := tx.Delete("authRefreshTokens", t.ID()); err != nil {
			return err
		}
	}
	if s, err := tx.Get("authSessions", sessionID); err != nil || s == nil {
		return err
	}
	return tx.Delete("authSessions", sessionID)
}

// Rate limiting: one authRateLimits row per identifier ("account:<email>",
// "ip:<address>") counting failures in a fixed window.
func rateLimited(tx *sqlstore.Tx, identifier string, limit int, now float64) (bool, error) {
	d, err := tx.Query("authRateLimits").Eq("identifier", identifier).First()
	if err != nil || d == nil {
		return false, err
	}
	if now-d.Num("windowStart") >= float64(rateLimitWindow/time.Millisecond) {
		return false, nil
	}
	return d.Num("failures") >= float64(limit), nil
}

func recordFailure(tx *sqlstore.Tx, identifier string, now float64) error {
	d, err := tx.Query("authRateLimits").Eq("identifier", identifier).First()
	if err != nil {
		return err
	}
	if d == nil {
		_, err = tx.Insert("authRateLimits", sqlstore.Doc{"identifier": identifier, "failures": 1.0, "windowStart": now, "lastAttemptTime": now})
		return err
	}
	if now-d.Num("windowStart") >= float64(rateLimitWindow/time.Millisecond) {
		return tx.Patch("authRateLimits", d.ID(), sqlstore.Doc{"failures": 1.0, "windowStart": now, "lastAttemptTime": now})
	}
	return tx.Patch("authRateLimits", d.ID(), sqlstore.Doc{"failures": d.Num("failures") + 1, "lastAttemptTime": now})
}

func clearFailures(tx *sqlstore.Tx, identifier string) error {
	d, err := tx.Query("authRateLimits").Eq("identifier", identifier).First()
	if err != nil || d == nil {
		return err
	}
	return tx.Delete("authRateLimits", d.ID())
}

func ipKey(c *fn.Ctx) string {
	if c.Caller.IP == "" {
		return ""
	}
	return "ip:" + c.Caller.IP
}

func userView(u sqlstore.Doc, role string) map[string]any {
	return map[string]any{"_id": u.ID(), "_creationTime": u["_creationTime"], "email": u["email"], "name": u["name"], "workspaceId": u["workspaceId"], "role": role, "avatarUrl": u["avatarUrl"]}
}

func (m *module) tokensFor(userID, sessionID, refresh string) (map[string]any, error) {
	tok, _, err := m.d.Tokens.Issue(userID, sessionID, m.d.AccessTokenTTL)
	if err != nil {
		return nil, err
	}
	return map[string]any{"tokens": map[string]any{"token": tok, "refreshToken": refresh}}, nil
}

func (m *module) registerAuth(r *fn.Registry) {
	V := fn.V
	r.Action("auth:signIn", "public", fn.Fields{
		"provider":     V.Optional(V.String()),
		"params":       V.Optional(V.Any()),
		"verifier":     V.Optional(V.String()),
		"refreshToken": V.Optional(V.String()),
		"calledBy":     V.Optional(V.String()),
	}, m.signIn)

	r.Action("auth:signOut", "public (ends the caller's session if any)", nil, func(c *fn.Ctx, a fn.Args) (any, error) {
		if c.Identity == nil || !sqlstore.IsID(c.Identity.SessionID) {
			return nil, nil
		}
		_, err := c.RunMutation("auth:endSession", map[string]any{"sessionId": c.Identity.SessionID, "userId": c.Identity.Subject})
		return nil, err
	})

	r.InternalQuery("auth:loginState", fn.Fields{"email": V.String()}, func(c *fn.Ctx, a fn.Args) (any, error) {
		now := c.NowMs()
		limited, err := rateLimited(c.DB(), "account:"+a.Str("email"), accountFailureLimit, now)
		if err != nil {
			return nil, err
		}
		if k := ipKey(c); k != "" && !limited {
			if limited, err = rateLimited(c.DB(), k, ipFailureLimit, now); err != nil {
				return nil, err
			}
		}
		out := map[string]any{"limited": limited}
		acct, err := c.DB().Query("authAccounts").Eq("provider", "password").Eq("providerAccountId", a.Str("email")).First()
		if err != nil {
			return nil, err
		}
		if acct != nil {
			out["userId"] = acct.Str("userId")
			out["hash"] = acct.Str("secret")
		}
		return out, nil
	})

	r.InternalMutation("auth:recordFailure", fn.Fields{"email": V.String()}, func(c *fn.Ctx, a fn.Args) (any, error) {
		now := c.NowMs()
		if err := recordFailure(c.DB(), "account:"+a.Str("email"), now); err != nil {
			return nil, err
		}
		if k := ipKey(c); k != "" {
			if err := recordFailure(c.DB(), k, now); err != nil {
				return nil, err
			}
		}
		// Failures against an existing account are audited in the user's
		// current workspace; unknown emails have nowhere to go (and saying
		// so would enumerate accounts).
		if u, err := c.DB().Query("users").Eq("email", a.Str("email")).First(); err == nil && u != nil && u.Str("workspaceId") != "" {
			Audit(c, u.Str("workspaceId"), "auth.login.failed", AuditEvent{ActorID: u.ID(), ActorType: "user", ResourceType: "user", ResourceID: u.ID(), Metadata: map[string]any{"reason": "invalid_credentials"}})
		}
		return nil, nil
	})

	r.InternalMutation("auth:startSession", fn.Fields{"userId": V.ID("users")}, func(c *fn.Ctx, a fn.Args) (any, error) {
		u, err := c.DB().Get("users", a.Str("userId"))
		if err != nil || u == nil {
			return nil, fn.Errorf(fn.NotAuthenticated, invalidCredentialMsg)
		}
		if err := clearFailures(c.DB(), "account:"+u.Str("email")); err != nil {
			return nil, err
		}
		sid, rt, err := newSession(c.DB(), u.ID(), c.Now)
		if err != nil {
			return nil, err
		}
		if ws := u.Str("workspaceId"); ws != "" {
			Audit(c, ws, "auth.login", AuditEvent{ActorID: u.ID(), ActorType: "user", ResourceType: "authSession", ResourceID: sid})
		}
		return map[string]any{"sessionId": sid, "refreshToken": rt}, nil
	})

	r.InternalMutation("auth:signUp", fn.Fields{"email": V.String(), "hash": V.String(), "name": V.Optional(V.String()), "workspaceName": V.Optional(V.String())}, func(c *fn.Ctx, a fn.Args) (any, error) {
		tx := c.DB()
		now := c.NowMs()
		uid, err := createUserWithHash(tx, a.Str("email"), a.Str("hash"), strings.TrimSpace(a.Str("name")), now)
		if err != nil {
			return nil, err
		}
		email := NormalizeEmail(a.Str("email"))
		// Pending invitations become memberships; an invited person joins
		// those workspaces instead of getting an empty one of their own.
		invs, err := tx.Query("workspaceInvitations").Eq("email", email).Filter(func(d sqlstore.Doc) bool { return d.Str("status") == "pending" }).Collect()
		if err != nil {
			return nil, err
		}
		current := ""
		for _, inv := range invs {
			ws := inv.Str("workspaceId")
			if mem, _ := access.MembershipOf(c, uid, ws); mem == nil {
				if _, err := tx.Insert("workspaceMembers", sqlstore.Doc{"userId": uid, "workspaceId": ws, "role": inv.Str("role"), "createdAt": now}); err != nil {
					return nil, err
				}
			}
			if err := tx.Patch("workspaceInvitations", inv.ID(), sqlstore.Doc{"status": "accepted", "acceptedAt": now}); err != nil {
				return nil, err
			}
			Audit(c, ws, "user.invited", AuditEvent{ActorID: uid, ActorType: "user", ResourceType: "workspaceMember", ResourceID: uid, Metadata: map[string]any{"email": email, "role": inv.Str("role"), "accepted": true}})
			if current == "" {
				current = ws
			}
		}
		if current != "" {
			if err := tx.Patch("users", uid, sqlstore.Doc{"workspaceId": current}); err != nil {
				return nil, err
			}
		} else {
			name := strings.TrimSpace(a.Str("workspaceName"))
			if name == "" {
				u, _ := tx.Get("users", uid)
				name = u.Str("name") + "'s Workspace"
			}
			ws, err := CreateWorkspace(tx, name, uid, now)
			if err != nil {
				return nil, err
			}
			Audit(c, ws, "workspace.settings.changed", AuditEvent{ActorID: uid, ActorType: "user", ResourceType: "workspace", ResourceID: ws, Metadata: map[string]any{"action": "created", "name": name}})
		}
		sid, rt, err := newSession(tx, uid, c.Now)
		if err != nil {
			return nil, err
		}
		return map[string]any{"userId": uid, "sessionId": sid, "refreshToken": rt}, nil
	})

	r.InternalMutation("auth:refreshSession", fn.Fields{"refreshToken": V.String()}, func(c *fn.Ctx, a fn.Args) (any, error) {
		tx := c.DB()
		t, err := tx.Query("authRefreshTokens").Eq("tokenHash", access.HashToken(a.Str("refreshToken"))).First()
		if err != nil || t == nil {
			return nil, err
		}
		sid := t.Str("sessionId")
		if t.Has("firstUsedTime") {
			// A rotated token came back: whoever holds the chain, it is
			// no longer only its owner. End the session for everyone.
			return nil, revokeSession(tx, sid)
		}
		s, err := tx.Get("authSessions", sid)
		if err != nil {
			return nil, err
		}
		now := c.NowMs()
		if s == nil || s.Num("expirationTime") <= now || t.Num("expirationTime") <= now {
			return nil, revokeSession(tx, sid)
		}
		if err := tx.Patch("authRefreshTokens", t.ID(), sqlstore.Doc{"firstUsedTime": now}); err != nil {
			return nil, err
		}
		rt, err := newRefreshToken(tx, sid, t.ID(), s.Num("expirationTime"))
		if err != nil {
			return nil, err
		}
		return map[string]any{"userId": s.Str("userId"), "sessionId": sid, "refreshToken": rt}, nil
	})

	r.InternalMutation("auth:endSession", fn.Fields{"sessionId": V.String(), "userId": V.String()}, func(c *fn.Ctx, a fn.Args) (any, error) {
		s, err := c.DB().Get("authSessions", a.Str("sessionId"))
		if err != nil || s == nil || s.Str("userId") != a.Str("userId") {
			return nil, err
		}
		if err := revokeSession(c.DB(), s.ID()); err != nil {
			return nil, err
		}
		if u, _ := c.DB().Get("users", s.Str("userId")); u != nil && u.Str("workspaceId") != "" {
			Audit(c, u.Str("workspaceId"), "auth.logout", AuditEvent{ResourceType: "authSession", ResourceID: s.ID()})
		}
		return nil, nil
	})

	// setupStatus tells the agent app whether to show first-run setup: on
	// a server without users the first password sign-up (flow "signUp",
	// params workspaceName) creates the owner of a new workspace.
	r.Query("auth:setupStatus", "public", nil, func(c *fn.Ctx, a fn.Args) (any, error) {
		need, err := NeedsSetup(c.DB())
		return map[string]any{"needsSetup": need}, err
	})

	r.Query("auth:currentUser", "authenticated (null otherwise)", nil, func(c *fn.Ctx, a fn.Args) (any, error) {
		uid, err := access.UserID(c)
		if err != nil || uid == "" {
			return nil, err
		}
		u, err := c.DB().Get("users", uid)
		if err != nil || u == nil {
			return nil, err
		}
		wss, err := userWorkspaces(c, uid)
		if err != nil {
			return nil, err
		}
		role := ""
		for _, w := range wss {
			if w["_id"] == u.Str("workspaceId") {
				role, _ = w["role"].(string)
			}
		}
		return map[string]any{"user": userView(u, role), "workspaces": wss}, nil
	})

	r.Query("auth:getUserWorkspaces", "authenticated ([] otherwise)", nil, func(c *fn.Ctx, a fn.Args) (any, error) {
		uid, err := access.UserID(c)
		if err != nil || uid == "" {
			return []any{}, err
		}
		return userWorkspaces(c, uid)
	})

	r.Mutation("auth:switchWorkspace", "member", fn.Fields{"workspaceId": V.ID("workspaces")}, func(c *fn.Ctx, a fn.Args) (any, error) {
		mem, err := access.RequireMember(c, a.Str("workspaceId"))
		if err != nil {
			return nil, err
		}
		if err := c.DB().Patch("users", mem.UserID, sqlstore.Doc{"workspaceId": a.Str("workspaceId")}); err != nil {
			return nil, err
		}
		u, err := c.DB().Get("users", mem.UserID)
		if err != nil {
			return nil, err
		}
		return map[string]any{"user": userView(u, mem.Role)}, nil
	})

	r.Mutation("auth:completeSignupProfile", "authenticated", fn.Fields{"name": V.Optional(V.String()), "workspaceName": V.Optional(V.String())}, func(c *fn.Ctx, a fn.Args) (any, error) {
		uid, err := access.RequireUser(c)
		if err != nil {
			return nil, err
		}
		u, err := c.DB().Get("users", uid)
		if err != nil {
			return nil, err
		}
		nameUpdated, wsUpdated := false, false
		if n := strings.TrimSpace(a.Str("name")); n != "" {
			if err := c.DB().Patch("users", uid, sqlstore.Doc{"name": n}); err != nil {
				return nil, err
			}
			nameUpdated = true
		}
		if wn := strings.TrimSpace(a.Str("workspaceName")); wn != "" && u.Str("workspaceId") != "" {
			mem, err := access.MembershipOf(c, uid, u.Str("workspaceId"))
			if err != nil {
				return nil, err
			}
			w, err := c.DB().Get("workspaces", u.Str("workspaceId"))
			if err != nil {
				return nil, err
			}
			if mem != nil && (mem.Role == access.RoleOwner || mem.Role == access.RoleAdmin) && w != nil && (w.Str("name") == "" || strings.HasSuffix(w.Str("name"), "'s Workspace")) {
				if err := c.DB().Patch("workspaces", w.ID(), sqlstore.Doc{"name": wn}); err != nil {
					return nil, err
				}
				wsUpdated = true
			}
		}
		return map[string]any{"success": true, "userNameUpdated": nameUpdated, "workspaceNameUpdated": wsUpdated}, nil
	})
}

func userWorkspaces(c *fn.Ctx, uid string) ([]map[string]any, error) {
	mems, err := c.DB().Query("workspaceMembers").Eq("userId", uid).Collect()
	if err != nil {
		return nil, err
	}
	out := []map[string]any{}
	for _, mem := range mems {
		w, err := c.DB().Get("workspaces", mem.Str("workspaceId"))
		if err != nil {
			return nil, err
		}
		if w == nil {
			continue
		}
		v := memberWorkspaceView(w, mem.Str("role"))
		v["role"] = mem.Str("role")
		out = append(out, v)
	}
	return out, nil
}

func (m *module) signIn(c *fn.Ctx, a fn.Args) (any, error) {
	if a.Has("refreshToken") {
		res, err := c.RunMutation("auth:refreshSession", map[string]any{"refreshToken": a.Str("refreshToken")})
		if err != nil {
			return nil, err
		}
		r, _ := res.(map[string]any)
		if r == nil {
			return map[string]any{"tokens": nil}, nil
		}
		return m.tokensFor(r["userId"].(string), r["sessionId"].(string), r["refreshToken"].(string))
	}
	provider := a.Str("provider")
	if provider != "password" {
		if provider == "" {
			return nil, fn.ErrInvalid("Provider is required")
		}
		return nil, fn.ErrInvalid("Unsupported sign-in provider %q (only \"password\" is configured)", provider)
	}
	params, _ := a["params"].(map[string]any)
	str := func(k string) string { s, _ := params[k].(string); return s }
	email := NormalizeEmail(str("email"))
	password := str("password")
	flow := str("flow")
	if flow == "" {
		flow = "signIn"
	}
	if flow != "signIn" && flow != "signUp" {
		return nil, fn.ErrInvalid("Unsupported flow %q (use signIn or signUp)", flow)
	}
	if !validEmail(email) {
		return nil, fn.ErrInvalid("Invalid email address")
	}
	if password == "" {
		return nil, fn.ErrInvalid("Password is required")
	}
	stRaw, err := c.RunQuery("auth:loginState", map[string]any{"email": email})
	if err != nil {
		return nil, err
	}
	st, _ := stRaw.(map[string]any)
	if limited, _ := st["limited"].(bool); limited {
		return nil, fn.Errorf(fn.RateLimited, "Too many failed sign-in attempts. Try again later.")
	}
	hash, _ := st["hash"].(string)
	userID, _ := st["userId"].(string)
	if flow == "signUp" && hash == "" {
		if err := ValidatePassword(password); err != nil {
			return nil, err
		}
		h, err := HashPassword(password)
		if err != nil {
			return nil, err
		}
		res, err := c.RunMutation("auth:signUp", map[string]any{"email": email, "hash": h, "name": str("name"), "workspaceName": str("workspaceName")})
		if err != nil {
			return nil, err
		}
		r := res.(map[string]any)
		return m.tokensFor(r["userId"].(string), r["sessionId"].(string), r["refreshToken"].(string))
	}
	// Sign-in, or sign-up for an email that already has an account (which
	// signs in when the password is right, so the answer never reveals
	// whether the account existed).
	check := hash
	if check == "" {
		check = string(dummyHash)
	}
	if bcrypt.CompareHashAndPassword([]byte(check), []byte(password)) != nil || hash == "" {
		if _, err := c.RunMutation("auth:recordFailure", map[string]any{"email": email}); err != nil {
			return nil, err
		}
		return nil, fn.Errorf(fn.NotAuthenticated, invalidCredentialMsg)
	}
	res, err := c.RunMutation("auth:startSession", map[string]any{"userId": userID})
	if err != nil {
		return nil, err
	}
	r := res.(map[string]any)
	return m.tokensFor(userID, r["sessionId"].(string), r["refreshToken"].(string))
}
