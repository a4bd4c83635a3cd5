package identity

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/opencom-go/opencom/server"
	"github.com/opencom-go/opencom/server/fn"
	"github.com/opencom-go/opencom/server/testenv"
)

type clock = testenv.Clock

type env struct {
	t     *testing.T
	s     *server.Server
	clock *clock
	ip    string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	s := testenv.Server(t, server.Config{PublicURL: "http://127.0.0.1:1"}, nil)
	Module(s)
	clk := testenv.NewClock()
	s.Engine.Clock = clk.Now
	s.Tokens.Now = clk.Now
	return &env{t: t, s: s, clock: clk, ip: "198.51.100.7"}
}

// call runs a function as the holder of token ("" = anonymous) and
// returns the JSON-decoded value or the function error.
func (e *env) call(token, name string, args map[string]any) (any, *fn.Error) {
	e.t.Helper()
	var id *fn.Identity
	if token != "" {
		var err error
		if id, err = e.s.Tokens.VerifyToken(context.Background(), token); err != nil {
			return nil, &fn.Error{Code: "TOKEN_REJECTED", Message: err.Error()}
		}
	}
	if args == nil {
		args = map[string]any{}
	}
	b, _ := json.Marshal(args)
	var wire map[string]any
	json.Unmarshal(b, &wire)
	res := e.s.Engine.Run(context.Background(), fn.Call{Path: name, Args: wire, Identity: id, Caller: fn.Caller{IP: e.ip, Transport: "http"}, RequestID: -1})
	if res.Err != nil {
		return nil, res.Err
	}
	var v any
	json.Unmarshal(res.Value, &v)
	return v, nil
}

func (e *env) mustCall(token, name string, args map[string]any) any {
	e.t.Helper()
	v, err := e.call(token, name, args)
	if err != nil {
		e.t.Fatalf("%s: %s %s", name, err.Code, err.Message)
	}
	return v
}

func tokens(t *testing.T, v any) (string, string) {
	t.Helper()
	m, _ := v.(map[string]any)
	tk, _ := m["tokens"].(map[string]any)
	if tk == nil {
		t.Fatalf("no tokens in %v", v)
	}
	return tk["token"].(string), tk["refreshToken"].(string)
}

func signUp(e *env, email, pw, ws string) (string, string) {
	return tokens(e.t, e.mustCall("", "auth:signIn", map[string]any{"provider": "password", "params": map[string]any{"email": email, "password": pw, "flow": "signUp", "workspaceName": ws}}))
}

func TestHMACKnownVector(t *testing.T) {
	// RFC 4231 test case 2.
	const want = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
	if got := UserHash("Jefe", "what do ya want for nothing?"); got != want {
		t.Fatalf("UserHash = %s, want %s", got, want)
	}
	cases := []struct {
		hash string
		ok   bool
	}{
		{want, true},
		{strings.ToUpper(want), true},
		{want[:63] + "4", false},
		{"", false},
		{want + "00", false},
	}
	for _, c := range cases {
		if got := VerifyUserHash("Jefe", "what do ya want for nothing?", c.hash); got != c.ok {
			t.Errorf("VerifyUserHash(%q) = %v, want %v", c.hash, got, c.ok)
		}
	}
	s := newIdentitySecret()
	if len(s) != 64 || strings.Trim(s, secretAlphabet) != "" {
		t.Errorf("secret %q is not 64 chars of [A-Za-z0-9]", s)
	}
}

func TestSessionLifetimeBounds(t *testing.T) {
	cases := []struct{ in, want time.Duration }{
		{0, 24 * time.Hour},
		{-time.Hour, 24 * time.Hour},
		{time.Minute, time.Hour},
		{3 * time.Hour, 3 * time.Hour},
		{30 * 24 * time.Hour, 7 * 24 * time.Hour},
	}
	for _, c := range cases {
		if got := ClampSessionLifetime(c.in); got != c.want {
			t.Errorf("ClampSessionLifetime(%v) = %v, want %v", c.in, got, c.want)
		}
	}
	now := time.Unix(1000000, 0)
	life := 24 * time.Hour
	for _, c := range []struct {
		left time.Duration
		want bool
	}{{7 * time.Hour, false}, {6*time.Hour + time.Second, false}, {6*time.Hour - time.Second, true}, {time.Minute, true}} {
		if got := NeedsRefresh(now.Add(c.left), now, life); got != c.want {
			t.Errorf("NeedsRefresh with %v left = %v, want %v", c.left, got, c.want)
		}
	}
}

// TestWidgetSessionLifecycle: token format, refresh threshold and expiry
// with the engine's injected clock.
func TestWidgetSessionLifecycle(t *testing.T) {
	e := newEnv(t)
	tok, _ := signUp(e, "owner@example.com", "correct horse", "Acme")
	cu := e.mustCall(tok, "auth:currentUser", nil).(map[string]any)
	ws := cu["user"].(map[string]any)["workspaceId"].(string)

	boot := e.mustCall("", "widgetSessions:boot", map[string]any{"workspaceId": ws, "sessionId": "s-1", "name": "Ann"}).(map[string]any)
	st := boot["sessionToken"].(string)
	if len(st) != 68 || !strings.HasPrefix(st, "wst_") || strings.Trim(st[4:], "0123456789abcdef") != "" {
		t.Fatalf("session token %q is not wst_ + 64 hex", st)
	}
	if got, want := boot["expiresAt"].(float64), float64(e.clock.Now().Add(24*time.Hour).UnixMilli()); got != want {
		t.Fatalf("expiresAt = %v, want now+24h = %v", got, want)
	}
	valid := func(tok string) map[string]any {
		return e.mustCall("", "widgetSessions:validateSessionToken", map[string]any{"workspaceId": ws, "sessionToken": tok}).(map[string]any)
	}
	if v := valid(st); v["valid"] != true {
		t.Fatalf("fresh token invalid: %v", v)
	}
	// 70 % of the lifetime gone: 30 % left, above the 25 % threshold.
	e.clock.Add(time.Duration(0.70 * float64(24*time.Hour)))
	r := e.mustCall("", "widgetSessions:refresh", map[string]any{"sessionToken": st}).(map[string]any)
	if r["refreshed"] != false || r["sessionToken"] != st {
		t.Fatalf("refresh above threshold replaced the token: %v", r)
	}
	// 80 % gone: refresh issues a new token and retires the old one.
	e.clock.Add(time.Duration(0.10 * float64(24*time.Hour)))
	r = e.mustCall("", "widgetSessions:refresh", map[string]any{"sessionToken": st}).(map[string]any)
	st2, _ := r["sessionToken"].(string)
	if r["refreshed"] != true || st2 == st || st2 == "" {
		t.Fatalf("refresh below threshold: %v", r)
	}
	if v := valid(st); v["valid"] != false || v["reason"] != "Invalid session token" {
		t.Fatalf("old token after refresh: %v", v)
	}
	// Expiry: one ms past the new token's lifetime.
	e.clock.Add(24*time.Hour + time.Millisecond)
	if v := valid(st2); v["valid"] != false || v["reason"] != "Session expired" {
		t.Fatalf("expired token: %v", v)
	}
	if _, err := e.call("", "visitors:identify", map[string]any{"sessionToken": st2, "name": "X"}); err == nil || err.Code != fn.SessionExpired {
		t.Fatalf("identify with expired token: %v", err)
	}

	// A configured lifetime is honoured; out-of-range values are refused.
	tok = e.refreshAccess(t, "owner@example.com", "correct horse")
	if _, err := e.call(tok, "widgetSessions:updateSettings", map[string]any{"workspaceId": ws, "sessionLifetimeMs": 60000}); err == nil || err.Code != fn.InvalidInput {
		t.Fatalf("1-minute lifetime accepted: %v", err)
	}
	e.mustCall(tok, "widgetSessions:updateSettings", map[string]any{"workspaceId": ws, "sessionLifetimeMs": 2 * 3600000})
	boot = e.mustCall("", "widgetSessions:boot", map[string]any{"workspaceId": ws, "sessionId": "s-1"}).(map[string]any)
	if got, want := boot["expiresAt"].(float64), float64(e.clock.Now().Add(2*time.Hour).UnixMilli()); got != want {
		t.Fatalf("expiresAt with 2h lifetime = %v, want %v", got, want)
	}
	if boot["visitor"].(map[string]any)["name"] != "Ann" {
		t.Fatalf("boot with the same sessionId did not resume the visitor: %v", boot["visitor"])
	}
}

// refreshAccess signs in again (the clock may have outrun the 1 h token).
func (e *env) refreshAccess(t *testing.T, email, pw string) string {
	tok, _ := tokens(t, e.mustCall("", "auth:signIn", map[string]any{"provider": "password", "params": map[string]any{"email": email, "password": pw, "flow": "signIn"}}))
	return tok
}

func TestIdentityVerificationModes(t *testing.T) {
	e := newEnv(t)
	tok, _ := signUp(e, "owner@example.com", "correct horse", "Acme")
	ws := e.mustCall(tok, "auth:currentUser", nil).(map[string]any)["user"].(map[string]any)["workspaceId"].(string)
	en := e.mustCall(tok, "identityVerification:enable", map[string]any{"workspaceId": ws}).(map[string]any)
	secret := en["secret"].(string)
	boot := func(extra map[string]any) (map[string]any, *fn.Error) {
		a := map[string]any{"workspaceId": ws, "sessionId": "sess-" + extra["externalUserId"].(string)}
		for k, v := range extra {
			a[k] = v
		}
		v, err := e.call("", "widgetSessions:boot", a)
		m, _ := v.(map[string]any)
		return m, err
	}
	// optional: a wrong hash boots unverified, a right one verified.
	b, err := boot(map[string]any{"externalUserId": "u1", "userHash": "00"})
	if err != nil || b["visitor"].(map[string]any)["identityVerified"] != false {
		t.Fatalf("optional mode, bad hash: %v %v", b, err)
	}
	b, err = boot(map[string]any{"externalUserId": "u2", "userHash": UserHash(secret, "u2")})
	if err != nil || b["visitor"].(map[string]any)["identityVerified"] != true {
		t.Fatalf("optional mode, good hash: %v %v", b, err)
	}
	e.mustCall(tok, "identityVerification:updateMode", map[string]any{"workspaceId": ws, "mode": "required"})
	if _, err := boot(map[string]any{"externalUserId": "u3", "userHash": UserHash("other secret", "u3")}); err == nil || !strings.Contains(err.Message, "invalid userHash") {
		t.Fatalf("required mode accepted a bad hash: %v", err)
	}
	if _, err := boot(map[string]any{"externalUserId": "u4"}); err == nil || !strings.Contains(err.Message, "userHash is required") {
		t.Fatalf("required mode accepted a missing hash: %v", err)
	}
	// A rotated secret invalidates hashes made with the old one.
	rot := e.mustCall(tok, "identityVerification:rotateSecret", map[string]any{"workspaceId": ws}).(map[string]any)
	if _, err := boot(map[string]any{"externalUserId": "u5", "userHash": UserHash(secret, "u5")}); err == nil {
		t.Fatal("old secret still verifies after rotation")
	}
	if b, err := boot(map[string]any{"externalUserId": "u6", "userHash": UserHash(rot["secret"].(string), "u6")}); err != nil || b["visitor"].(map[string]any)["identityVerified"] != true {
		t.Fatalf("new secret: %v %v", b, err)
	}
	// Anonymous visitors always boot.
	if _, err := e.call("", "widgetSessions:boot", map[string]any{"workspaceId": ws, "sessionId": "anon"}); err != nil {
		t.Fatalf("anonymous boot in required mode: %v", err)
	}
	acts := e.mustCall(tok, "auditLogs:getActions", map[string]any{"workspaceId": ws}).([]any)
	for _, want := range []string{"widget.identity.enabled", "widget.identity.secret.rotated", "workspace.security.changed", "auth.session.created"} {
		found := false
		for _, a := range acts {
			found = found || a == want
		}
		if !found {
			t.Errorf("audit action %s missing from %v", want, acts)
		}
	}
}

func TestSignInRateLimit(t *testing.T) {
	e := newEnv(t)
	signUp(e, "owner@example.com", "correct horse", "Acme")
	wrong := map[string]any{"provider": "password", "params": map[string]any{"email": "owner@example.com", "password": "wrong password", "flow": "signIn"}}
	right := map[string]any{"provider": "password", "params": map[string]any{"email": "owner@example.com", "password": "correct horse", "flow": "signIn"}}
	for i := 0; i < accountFailureLimit; i++ {
		if _, err := e.call("", "auth:signIn", wrong); err == nil || err.Code != fn.NotAuthenticated || err.Message != invalidCredentialMsg {
			t.Fatalf("attempt %d: %v", i, err)
		}
	}
	// Even the right password is refused while the account is limited.
	if _, err := e.call("", "auth:signIn", right); err == nil || err.Code != fn.RateLimited {
		t.Fatalf("after %d failures: %v", accountFailureLimit, err)
	}
	e.clock.Add(rateLimitWindow)
	if _, err := e.call("", "auth:signIn", right); err != nil {
		t.Fatalf("after the window: %v", err)
	}
	// Unknown accounts answer exactly like wrong passwords (no enumeration).
	_, err := e.call("", "auth:signIn", map[string]any{"provider": "password", "params": map[string]any{"email": "nobody@example.com", "password": "whatever1", "flow": "signIn"}})
	if err == nil || err.Code != fn.NotAuthenticated || err.Message != invalidCredentialMsg {
		t.Fatalf("unknown account: %v", err)
	}
	// Per IP: many accounts from one address.
	e.clock.Add(rateLimitWindow)
	e.ip = "203.0.113.9"
	for i := 0; i < ipFailureLimit; i++ {
		email := "victim" + string(rune('a'+i%26)) + string(rune('a'+i/26)) + "@example.com"
		if _, err := e.call("", "auth:signIn", map[string]any{"provider": "password", "params": map[string]any{"email": email, "password": "guess1234", "flow": "signIn"}}); err == nil || err.Code != fn.NotAuthenticated {
			t.Fatalf("ip attempt %d: %v", i, err)
		}
	}
	if _, err := e.call("", "auth:signIn", right); err == nil || err.Code != fn.RateLimited {
		t.Fatalf("IP over its limit: %v", err)
	}
	e.ip = "203.0.113.10"
	if _, err := e.call("", "auth:signIn", right); err != nil {
		t.Fatalf("another IP: %v", err)
	}
	// Failed sign-ins against an existing account are audited.
	tok, _ := tokens(t, e.mustCall("", "auth:signIn", right))
	ws := e.mustCall(tok, "auth:currentUser", nil).(map[string]any)["user"].(map[string]any)["workspaceId"].(string)
	logs := e.mustCall(tok, "auditLogs:list", map[string]any{"workspaceId": ws, "action": "auth.login.failed"}).([]any)
	if len(logs) != accountFailureLimit {
		t.Fatalf("%d auth.login.failed entries, want %d", len(logs), accountFailureLimit)
	}
}

func TestRefreshRotationAndReuse(t *testing.T) {
	e := newEnv(t)
	tok, rt := signUp(e, "owner@example.com", "correct horse", "Acme")
	if _, err := e.call("", "auth:signIn", map[string]any{"provider": "password", "params": map[string]any{"email": "x@example.com", "password": "short", "flow": "signUp"}}); err == nil || err.Code != fn.InvalidInput {
		t.Fatalf("short password sign-up: %v", err)
	}
	tok2, rt2 := tokens(t, e.mustCall("", "auth:signIn", map[string]any{"refreshToken": rt}))
	if rt2 == rt || tok2 == "" {
		t.Fatal("refresh did not rotate")
	}
	if v := e.mustCall(tok2, "auth:currentUser", nil); v == nil {
		t.Fatal("refreshed token is not signed in")
	}
	// Replaying the rotated token revokes the session: both the replayed
	// and the current refresh token stop working, and so do access tokens.
	if v := e.mustCall("", "auth:signIn", map[string]any{"refreshToken": rt}).(map[string]any); v["tokens"] != nil {
		t.Fatalf("reused refresh token got %v", v)
	}
	if v := e.mustCall("", "auth:signIn", map[string]any{"refreshToken": rt2}).(map[string]any); v["tokens"] != nil {
		t.Fatalf("refresh token of a revoked session got %v", v)
	}
	for _, at := range []string{tok, tok2} {
		if _, err := e.call(at, "auth:currentUser", nil); err == nil || err.Code != "TOKEN_REJECTED" {
			t.Fatalf("access token of a revoked session still verifies: %v", err)
		}
	}
	// Sign-out ends only that session.
	a, _ := tokens(t, e.mustCall("", "auth:signIn", map[string]any{"provider": "password", "params": map[string]any{"email": "owner@example.com", "password": "correct horse"}}))
	b, _ := tokens(t, e.mustCall("", "auth:signIn", map[string]any{"provider": "password", "params": map[string]any{"email": "owner@example.com", "password": "correct horse"}}))
	e.mustCall(a, "auth:signOut", nil)
	if _, err := e.call(a, "auth:currentUser", nil); err == nil {
		t.Fatal("signed-out token still verifies")
	}
	if e.mustCall(b, "auth:currentUser", nil) == nil {
		t.Fatal("sign-out ended another session")
	}
}

func TestFirstRunAndRoles(t *testing.T) {
	e := newEnv(t)
	if v := e.mustCall("", "auth:setupStatus", nil).(map[string]any); v["needsSetup"] != true {
		t.Fatalf("fresh server: %v", v)
	}
	owner, _ := signUp(e, "owner@example.com", "correct horse", "Acme")
	if v := e.mustCall("", "auth:setupStatus", nil).(map[string]any); v["needsSetup"] != false {
		t.Fatalf("after first sign-up: %v", v)
	}
	cu := e.mustCall(owner, "auth:currentUser", nil).(map[string]any)
	if cu["user"].(map[string]any)["role"] != "owner" {
		t.Fatalf("first user is not owner: %v", cu)
	}
	ws := cu["user"].(map[string]any)["workspaceId"].(string)
	// Invite, then sign up as the invitee: joins Acme as agent.
	e.mustCall(owner, "workspaceMembers:createInvitation", map[string]any{"workspaceId": ws, "email": "Agent@Example.com", "role": "agent"})
	agent, _ := signUp(e, "agent@example.com", "agent password", "")
	if r := e.mustCall(agent, "workspaceMembers:getMemberRole", map[string]any{"workspaceId": ws}); r != "agent" {
		t.Fatalf("invitee role %v", r)
	}
	// Agents cannot manage roles; the owner cannot be demoted or removed.
	members := e.mustCall(owner, "workspaceMembers:listByWorkspace", map[string]any{"workspaceId": ws}).([]any)
	var ownerMem, agentMem, agentUser string
	for _, m := range members {
		mm := m.(map[string]any)
		if mm["role"] == "owner" {
			ownerMem = mm["_id"].(string)
		} else {
			agentMem, agentUser = mm["_id"].(string), mm["userId"].(string)
		}
	}
	if _, err := e.call(agent, "workspaceMembers:updateRole", map[string]any{"membershipId": agentMem, "role": "admin"}); err == nil || err.Code != fn.PermissionDenied {
		t.Fatalf("agent promoted itself: %v", err)
	}
	if _, err := e.call(owner, "workspaceMembers:updateRole", map[string]any{"membershipId": ownerMem, "role": "viewer"}); err == nil {
		t.Fatal("owner demoted without transfer")
	}
	if _, err := e.call(owner, "workspaceMembers:remove", map[string]any{"membershipId": ownerMem}); err == nil {
		t.Fatal("owner removed")
	}
	// Transfer: exactly one owner afterwards.
	e.mustCall(owner, "workspaceMembers:transferOwnership", map[string]any{"workspaceId": ws, "newOwnerId": agentUser})
	owners := 0
	for _, m := range e.mustCall(owner, "workspaceMembers:listByWorkspace", map[string]any{"workspaceId": ws}).([]any) {
		if m.(map[string]any)["role"] == "owner" {
			owners++
		}
	}
	if owners != 1 {
		t.Fatalf("%d owners after transfer", owners)
	}
	if r := e.mustCall(owner, "workspaceMembers:getMemberRole", map[string]any{"workspaceId": ws}); r != "admin" {
		t.Fatalf("previous owner is %v, want admin", r)
	}
	// Public vs member view of a workspace: the secret only for owner/admin.
	e.mustCall(owner, "identityVerification:enable", map[string]any{"workspaceId": ws})
	if w := e.mustCall("", "workspaces:get", map[string]any{"id": ws}).(map[string]any); w["identitySecret"] != nil || w["allowedOrigins"] != nil || len(w) != 4 {
		t.Fatalf("public view leaks fields: %v", w)
	}
	if w := e.mustCall(owner, "workspaces:get", map[string]any{"id": ws}).(map[string]any); w["identitySecret"] == nil {
		t.Fatalf("admin view lacks the secret: %v", w)
	}
}

func TestBootKeepsLocationAndDevice(t *testing.T) {
	e := newEnv(t)
	tok, _ := signUp(e, "owner2@example.com", "correct horse", "Acme")
	ws := e.mustCall(tok, "auth:currentUser", nil).(map[string]any)["user"].(map[string]any)["workspaceId"].(string)
	boot := e.mustCall("", "widgetSessions:boot", map[string]any{
		"workspaceId": ws, "sessionId": "s-loc",
		"location": map[string]any{"city": "Lyon", "country": "France", "extra": "ignored"},
		"device":   map[string]any{"browser": "Firefox", "os": "Linux"},
	}).(map[string]any)
	v := boot["visitor"].(map[string]any)
	loc, _ := v["location"].(map[string]any)
	dev, _ := v["device"].(map[string]any)
	if loc["city"] != "Lyon" || loc["country"] != "France" || loc["extra"] != nil {
		t.Fatalf("location = %v", v["location"])
	}
	if dev["browser"] != "Firefox" || dev["os"] != "Linux" {
		t.Fatalf("device = %v", v["device"])
	}
}
