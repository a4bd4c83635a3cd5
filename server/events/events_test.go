package events

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/opencom-go/opencom/server/access"
	"github.com/opencom-go/opencom/server/fn"
	"github.com/opencom-go/opencom/server/testenv"
	"github.com/opencom-go/opencom/sqlstore"
)

type clock = testenv.Clock

// world: workspace A with an owner, admin, agent, viewer and a member
// whose explicit permissions lack conversations.read; workspace B with
// its owner. Visitors: v1, v2 of A with live sessions, vExpired of A whose
// only session has expired, vBare of A without any session, vB of B.
type world struct {
	t     *testing.T
	st    *sqlstore.Store
	eng   *fn.Engine
	clock *clock

	wsA, wsB                                        string
	owner, admin, agent, viewer, noRead, otherOwner string
	v1, v2, vExpired, vBare, vB                     string
	tok1, tok2, tokExpired, tokB                    string
}

func newWorld(t *testing.T) *world {
	t.Helper()
	st := testenv.Store(t, nil)
	reg := fn.NewRegistry()
	Register(reg)
	w := &world{t: t, st: st, eng: fn.NewEngine(st, reg, testenv.QuietLog()), clock: testenv.NewClock()}
	w.eng.Clock = w.clock.Now
	w.tok1, w.tok2, w.tokExpired, w.tokB = "wst_one", "wst_two", "wst_expired", "wst_b"
	now := w.clock.Ms()
	w.write(func(tx *sqlstore.Tx) error {
		ins := func(table string, d sqlstore.Doc) string {
			id, err := tx.Insert(table, d)
			if err != nil {
				t.Fatal(err)
			}
			return id
		}
		w.wsA = ins("workspaces", sqlstore.Doc{"name": "A"})
		w.wsB = ins("workspaces", sqlstore.Doc{"name": "B"})
		member := func(email, ws, role string, perms ...string) string {
			uid := ins("users", sqlstore.Doc{"email": email})
			m := sqlstore.Doc{"userId": uid, "workspaceId": ws, "role": role}
			if len(perms) > 0 {
				m["permissions"] = perms
			}
			ins("workspaceMembers", m)
			return uid
		}
		w.owner = member("owner@a.test", w.wsA, access.RoleOwner)
		w.admin = member("admin@a.test", w.wsA, access.RoleAdmin)
		w.agent = member("agent@a.test", w.wsA, access.RoleAgent)
		w.viewer = member("viewer@a.test", w.wsA, access.RoleViewer)
		w.noRead = member("noread@a.test", w.wsA, access.RoleAgent, access.ConversationsReply)
		w.otherOwner = member("owner@b.test", w.wsB, access.RoleOwner)
		visitor := func(ws, sid, tok string, expiresAt float64) string {
			vid := ins("visitors", sqlstore.Doc{"workspaceId": ws, "sessionId": sid})
			if tok != "" {
				ins("widgetSessions", sqlstore.Doc{"tokenHash": access.HashToken(tok), "visitorId": vid, "workspaceId": ws, "identityVerified": false, "expiresAt": expiresAt})
			}
			return vid
		}
		w.v1 = visitor(w.wsA, "s1", w.tok1, now+3.6e6)
		w.v2 = visitor(w.wsA, "s2", w.tok2, now+3.6e6)
		w.vExpired = visitor(w.wsA, "s3", w.tokExpired, now-1)
		w.vBare = visitor(w.wsA, "s4", "", 0)
		w.vB = visitor(w.wsB, "s5", w.tokB, now+3.6e6)
		return nil
	})
	return w
}

func (w *world) write(f func(tx *sqlstore.Tx) error) {
	w.t.Helper()
	if _, err := w.st.Write(context.Background(), f); err != nil {
		w.t.Fatal(err)
	}
}

// call runs a function as user ("" = no agent identity).
func (w *world) call(user, name string, args map[string]any) (any, *fn.Error) {
	w.t.Helper()
	b, _ := json.Marshal(args)
	var wire map[string]any
	json.Unmarshal(b, &wire)
	call := fn.Call{Path: name, Args: wire, RequestID: -1}
	if user != "" {
		call.Identity = &fn.Identity{Subject: user}
	}
	r := w.eng.Run(context.Background(), call)
	if r.Err != nil {
		return nil, r.Err
	}
	var v any
	json.Unmarshal(r.Value, &v)
	return v, nil
}

func (w *world) must(user, name string, args map[string]any) any {
	w.t.Helper()
	v, err := w.call(user, name, args)
	if err != nil {
		w.t.Fatalf("%s: %s %s", name, err.Code, err.Message)
	}
	return v
}

func (w *world) event(id string) sqlstore.Doc {
	w.t.Helper()
	var d sqlstore.Doc
	w.st.Read(context.Background(), func(tx *sqlstore.Tx) error {
		var err error
		d, err = tx.Get("events", id)
		return err
	})
	return d
}

func (w *world) countRows(f func(sqlstore.Doc) bool) int {
	w.t.Helper()
	n := 0
	w.st.Read(context.Background(), func(tx *sqlstore.Tx) error {
		ds, err := tx.Query("events").Collect()
		for _, d := range ds {
			if f(d) {
				n++
			}
		}
		return err
	})
	return n
}

// seedEvent inserts an event directly, at ageMs before the clock.
func (w *world) seedEvent(tx *sqlstore.Tx, ws, vid, name, eventType string, ageMs float64) {
	w.t.Helper()
	if _, err := tx.Insert("events", sqlstore.Doc{"workspaceId": ws, "visitorId": vid, "name": name, "eventType": eventType, "timestamp": w.clock.Ms() - ageMs}); err != nil {
		w.t.Fatal(err)
	}
}

func errCode(e *fn.Error) string {
	if e == nil {
		return ""
	}
	return e.Code
}

func TestTrack(t *testing.T) {
	w := newWorld(t)
	args := func(kv ...any) map[string]any {
		a := map[string]any{"workspaceId": w.wsA, "name": "signup"}
		for i := 0; i < len(kv); i += 2 {
			a[kv[i].(string)] = kv[i+1]
		}
		return a
	}
	cases := []struct {
		name        string
		user        string
		args        map[string]any
		wantCode    string
		wantMsg     string
		wantVisitor string
	}{
		{"session token", "", args("sessionToken", w.tok1), "", "", w.v1},
		{"token with its own visitorId", "", args("sessionToken", w.tok1, "visitorId", w.v1), "", "", w.v1},
		{"token with another visitorId", "", args("sessionToken", w.tok1, "visitorId", w.v2), fn.NotAuthorized, "Session token does not match visitor", ""},
		{"token of another workspace", "", args("sessionToken", w.tokB), fn.NotAuthorized, "Session token does not match workspace", ""},
		{"expired token", "", args("sessionToken", w.tokExpired), fn.SessionExpired, "Session expired", ""},
		{"unknown token", "", args("sessionToken", "wst_nope"), fn.NotAuthenticated, "Invalid session token", ""},
		{"bare visitorId, visitor without sessions", "", args("visitorId", w.vBare), "", "", w.vBare},
		{"bare visitorId, visitor with a session", "", args("visitorId", w.v1), fn.NotAuthenticated, "Session token required", ""},
		{"bare visitorId, visitor with only an expired session", "", args("visitorId", w.vExpired), fn.NotAuthenticated, "Session token required", ""},
		{"bare visitorId as an agent of the workspace", w.owner, args("visitorId", w.v1), fn.NotAuthenticated, "Session token required", ""},
		{"bare visitorId of another workspace", "", args("visitorId", w.vB), fn.NotAuthorized, "Visitor does not belong to this workspace", ""},
		{"neither token nor visitorId", "", args(), fn.InvalidInput, "Visitor ID required", ""},
		{"neither, as an agent", w.owner, args(), fn.InvalidInput, "Visitor ID required", ""},
		{"blank name", "", args("sessionToken", w.tok1, "name", "  "), fn.InvalidInput, "Event name is required", ""},
		{"nested object property", "", args("sessionToken", w.tok1, "properties", map[string]any{"x": map[string]any{"y": 1}}), fn.InvalidInput, "", ""},
		{"too many properties", "", args("sessionToken", w.tok1, "properties", manyProps(51)), fn.InvalidInput, "Too many event properties (max 50)", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v, err := w.call(c.user, "events:track", c.args)
			if errCode(err) != c.wantCode || (c.wantMsg != "" && err.Message != c.wantMsg) {
				t.Fatalf("got %v, %v; want code %q %q", v, err, c.wantCode, c.wantMsg)
			}
			if c.wantCode != "" {
				return
			}
			d := w.event(v.(string))
			if d.Str("visitorId") != c.wantVisitor || d.Str("workspaceId") != w.wsA || d.Str("name") != "signup" || d.Str("eventType") != TypeManual || d.Num("timestamp") != w.clock.Ms() {
				t.Fatalf("event = %v", d)
			}
		})
	}

	// Everything the call carries is stored.
	props := map[string]any{"plan": "pro", "seats": 3.0, "trial": true, "coupon": nil, "tags": []any{"a", 2.0}}
	id := w.must("", "events:track", args("sessionToken", w.tok1, "name", "upgraded", "properties", props, "url", "https://shop.test/p", "sessionId", "session_x")).(string)
	d := w.event(id)
	if !reflect.DeepEqual(d["properties"], props) || d.Str("url") != "https://shop.test/p" || d.Str("sessionId") != "session_x" {
		t.Fatalf("stored %v", d)
	}
	if n := w.countRows(func(d sqlstore.Doc) bool { return true }); n != 4 {
		t.Fatalf("%d events stored, want 4 (3 accepted cases + 1)", n)
	}
}

func manyProps(n int) map[string]any {
	m := map[string]any{}
	for i := 0; i < n; i++ {
		m[fmt.Sprintf("k%d", i)] = i
	}
	return m
}

func TestTrackAutoEvent(t *testing.T) {
	w := newWorld(t)
	auto := func(kv ...any) map[string]any {
		a := map[string]any{"workspaceId": w.wsA, "eventType": "page_view"}
		for i := 0; i < len(kv); i += 2 {
			a[kv[i].(string)] = kv[i+1]
		}
		return a
	}
	cases := []struct {
		name     string
		args     map[string]any
		wantCode string
		wantNull bool
	}{
		{"page view with token", auto("sessionToken", w.tok1, "url", "https://shop.test/", "properties", map[string]any{"title": "Shop", "referrer": nil}), "", false},
		{"session_start", auto("sessionToken", w.tok1, "eventType", "session_start"), "", false},
		{"bare visitorId without sessions", auto("visitorId", w.vBare), "", false},
		{"no visitor → null", auto(), "", true},
		{"unknown visitor → null", auto("visitorId", sqlstore.NewID()), "", true},
		{"bare visitorId with a session", auto("visitorId", w.v1), fn.NotAuthenticated, false},
		{"token of another workspace", auto("sessionToken", w.tokB), fn.NotAuthorized, false},
		{"manual is not an auto type", auto("sessionToken", w.tok1, "eventType", "manual"), fn.InvalidInput, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v, err := w.call("", "events:trackAutoEvent", c.args)
			if errCode(err) != c.wantCode {
				t.Fatalf("got %v, %v; want %q", v, err, c.wantCode)
			}
			if c.wantCode != "" {
				return
			}
			if (v == nil) != c.wantNull {
				t.Fatalf("got %v, want null=%v", v, c.wantNull)
			}
			if v != nil {
				d := w.event(v.(string))
				if d.Str("name") != c.args["eventType"] || d.Str("eventType") != c.args["eventType"] {
					t.Fatalf("event = %v", d)
				}
			}
		})
	}
}

// TestAutoEventRateLimit: 100 auto events per visitor in a sliding 60 s
// window; the 101st returns null and stores nothing; manual events and
// other visitors do not count; old events leave the window.
func TestAutoEventRateLimit(t *testing.T) {
	w := newWorld(t)
	pv := func(tok string) any {
		return w.must("", "events:trackAutoEvent", map[string]any{"workspaceId": w.wsA, "sessionToken": tok, "eventType": "page_view", "url": "https://shop.test/"})
	}
	autoOf := func(vid string) int {
		return w.countRows(func(d sqlstore.Doc) bool { return d.Str("visitorId") == vid && isAuto(d.Str("eventType")) })
	}
	// Manual events in the window do not use up the allowance.
	for i := 0; i < 5; i++ {
		w.must("", "events:track", map[string]any{"workspaceId": w.wsA, "sessionToken": w.tok1, "name": "clicked"})
	}
	steps := []struct {
		name      string
		advance   time.Duration
		calls     int
		wantOK    int // calls returning an id; the rest must be null
		wantTotal int // visitor 1's stored auto events afterwards
	}{
		{"first 50 at t0", 0, 50, 50, 50},
		{"50 more at t0+30s fill the window", 30 * time.Second, 50, 50, 100},
		{"101st within 60 s is dropped", 10 * time.Second, 1, 0, 100},
		{"still dropped just before t0+60s", 19*time.Second + 999*time.Millisecond, 3, 0, 100},
		{"t0 batch leaves the window after 60 s: 50 allowed", time.Millisecond + time.Millisecond, 51, 50, 150},
		{"everything older than 60 s: a full window again", 2 * time.Minute, 101, 100, 250},
	}
	for _, s := range steps {
		w.clock.Add(s.advance)
		ok := 0
		for i := 0; i < s.calls; i++ {
			if pv(w.tok1) != nil {
				ok++
			}
		}
		if ok != s.wantOK {
			t.Fatalf("%s: %d of %d calls recorded, want %d", s.name, ok, s.calls, s.wantOK)
		}
		if n := autoOf(w.v1); n != s.wantTotal {
			t.Fatalf("%s: %d auto events stored, want %d", s.name, n, s.wantTotal)
		}
		// Another visitor has its own allowance.
		if pv(w.tok2) == nil {
			t.Fatalf("%s: visitor 2 limited by visitor 1's events", s.name)
		}
	}
}

func TestReadAccess(t *testing.T) {
	w := newWorld(t)
	w.write(func(tx *sqlstore.Tx) error {
		w.seedEvent(tx, w.wsA, w.v1, "signup", TypeManual, 0)
		w.seedEvent(tx, w.wsA, w.v1, "page_view", TypePageView, 0)
		w.seedEvent(tx, w.wsA, w.v2, "checkout", TypeManual, 0)
		w.seedEvent(tx, w.wsB, w.vB, "b_only", TypeManual, 0)
		return nil
	})
	listArgs := func(vid string, kv ...any) map[string]any {
		a := map[string]any{"visitorId": vid}
		for i := 0; i < len(kv); i += 2 {
			a[kv[i].(string)] = kv[i+1]
		}
		return a
	}
	cases := []struct {
		name     string
		user     string
		args     map[string]any
		wantCode string
		want     []string // names, newest first; nil = the empty result
	}{
		{"owner", w.owner, listArgs(w.v1), "", []string{"page_view", "signup"}},
		{"admin", w.admin, listArgs(w.v1), "", []string{"page_view", "signup"}},
		{"agent", w.agent, listArgs(w.v1), "", []string{"page_view", "signup"}},
		{"viewer (has conversations.read)", w.viewer, listArgs(w.v1), "", []string{"page_view", "signup"}},
		{"limit", w.owner, listArgs(w.v1, "limit", 1), "", []string{"page_view"}},
		{"member without conversations.read", w.noRead, listArgs(w.v1), fn.PermissionDenied, nil},
		{"owner of another workspace", w.otherOwner, listArgs(w.v1), fn.NotWorkspaceMember, nil},
		{"anonymous", "", listArgs(w.v1), "", nil},
		{"visitor with its own session", "", listArgs(w.v1, "sessionToken", w.tok1, "workspaceId", w.wsA), "", []string{"page_view", "signup"}},
		{"visitor's own session, no workspaceId", "", listArgs(w.v1, "sessionToken", w.tok1), "", []string{"page_view", "signup"}},
		{"visitor's session naming another workspace", "", listArgs(w.v1, "sessionToken", w.tok1, "workspaceId", w.wsB), "", nil},
		{"another visitor's session", "", listArgs(w.v1, "sessionToken", w.tok2, "workspaceId", w.wsA), "", nil},
		{"a visitor of another workspace", "", listArgs(w.v1, "sessionToken", w.tokB, "workspaceId", w.wsA), "", nil},
		{"expired session", "", listArgs(w.vExpired, "sessionToken", w.tokExpired), "", nil},
		{"other workspace owner reads its own visitor", w.otherOwner, listArgs(w.vB), "", []string{"b_only"}},
		{"unknown visitor", w.owner, listArgs(sqlstore.NewID()), "", nil},
	}
	for _, c := range cases {
		t.Run("list/"+c.name, func(t *testing.T) {
			v, err := w.call(c.user, "events:list", c.args)
			if errCode(err) != c.wantCode {
				t.Fatalf("got %v, %v; want %q", v, err, c.wantCode)
			}
			if c.wantCode != "" {
				return
			}
			var names []string
			for _, e := range v.([]any) {
				names = append(names, e.(map[string]any)["name"].(string))
			}
			if !reflect.DeepEqual(names, c.want) {
				t.Fatalf("names = %v, want %v", names, c.want)
			}
		})
		t.Run("count/"+c.name, func(t *testing.T) {
			a := map[string]any{"name": "page_view"}
			for k, v := range c.args {
				if k != "limit" {
					a[k] = v
				}
			}
			v, err := w.call(c.user, "events:count", a)
			if errCode(err) != c.wantCode {
				t.Fatalf("got %v, %v; want %q", v, err, c.wantCode)
			}
			want := 0.0
			for _, n := range c.want {
				if n == "page_view" {
					want++
				}
			}
			if c.wantCode == "" && v != want {
				t.Fatalf("count = %v, want %v", v, want)
			}
		})
	}

	// No visitor ever reads another visitor's events, whatever it passes.
	tokens := map[string]string{w.v1: w.tok1, w.v2: w.tok2, w.vB: w.tokB}
	for owner, tok := range tokens {
		for _, target := range []string{w.v1, w.v2, w.vB, w.vBare} {
			if target == owner {
				continue
			}
			for _, ws := range []any{nil, w.wsA, w.wsB} {
				a := map[string]any{"visitorId": target, "sessionToken": tok}
				if ws != nil {
					a["workspaceId"] = ws
				}
				if v := w.must("", "events:list", a); len(v.([]any)) != 0 {
					t.Errorf("visitor %s read %s's events: %v", owner, target, v)
				}
				a["name"] = "signup"
				if v := w.must("", "events:count", a); v != 0.0 {
					t.Errorf("visitor %s counted %s's events: %v", owner, target, v)
				}
			}
		}
	}

	names := []struct {
		name     string
		user     string
		ws       string
		wantCode string
		want     []string
	}{
		{"owner", w.owner, w.wsA, "", []string{"checkout", "page_view", "signup"}},
		{"viewer", w.viewer, w.wsA, "", []string{"checkout", "page_view", "signup"}},
		{"member without conversations.read", w.noRead, w.wsA, fn.PermissionDenied, nil},
		{"owner of another workspace", w.otherOwner, w.wsA, fn.NotWorkspaceMember, nil},
		{"own workspace only", w.otherOwner, w.wsB, "", []string{"b_only"}},
		{"anonymous or visitor", "", w.wsA, "", []string{}},
	}
	for _, c := range names {
		t.Run("getDistinctNames/"+c.name, func(t *testing.T) {
			v, err := w.call(c.user, "events:getDistinctNames", map[string]any{"workspaceId": c.ws})
			if errCode(err) != c.wantCode {
				t.Fatalf("got %v, %v; want %q", v, err, c.wantCode)
			}
			if c.wantCode != "" {
				return
			}
			got := []string{}
			for _, n := range v.([]any) {
				got = append(got, n.(string))
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Fatalf("names = %v, want %v", got, c.want)
			}
		})
	}
}

func TestCountWithinDays(t *testing.T) {
	w := newWorld(t)
	const day = 24 * 3600 * 1000
	w.write(func(tx *sqlstore.Tx) error {
		for _, age := range []float64{0, 1*day - 1, 3 * day, 10 * day, 40 * day} {
			w.seedEvent(tx, w.wsA, w.v1, "signup", TypeManual, age)
		}
		w.seedEvent(tx, w.wsA, w.v1, "login", TypeManual, 0)
		w.seedEvent(tx, w.wsA, w.v2, "signup", TypeManual, 0)
		return nil
	})
	cases := []struct {
		name       string
		event      string
		withinDays any
		want       float64
	}{
		{"all time", "signup", nil, 5},
		{"within 1 day", "signup", 1, 2},
		{"within 5 days", "signup", 5, 3},
		{"within 30 days", "signup", 30, 4},
		{"within 0.5 day", "signup", 0.5, 1},
		{"within 0 days: only events of this instant", "signup", 0, 1},
		{"other name", "login", 1, 1},
		{"unknown name", "nope", nil, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := map[string]any{"visitorId": w.v1, "name": c.event}
			if c.withinDays != nil {
				a["withinDays"] = c.withinDays
			}
			for _, who := range []struct{ user, tok string }{{w.agent, ""}, {"", w.tok1}} {
				if who.tok != "" {
					a["sessionToken"] = who.tok
				}
				if got := w.must(who.user, "events:count", a); got != c.want {
					t.Fatalf("count as %q = %v, want %v", who.user+who.tok, got, c.want)
				}
			}
		})
	}
}

func TestCleanupOldAutoEvents(t *testing.T) {
	w := newWorld(t)
	const day = 24 * 3600 * 1000
	w.write(func(tx *sqlstore.Tx) error {
		for i := 0; i < 1000; i++ {
			w.seedEvent(tx, w.wsA, w.v1, "page_view", TypePageView, 31*day+float64(i))
		}
		for _, et := range []string{TypeScreenView, TypeSessionStart, TypeSessionEnd} {
			w.seedEvent(tx, w.wsA, w.v2, et, et, 60*day)
		}
		for i := 0; i < 5; i++ {
			w.seedEvent(tx, w.wsA, w.v1, "signup", TypeManual, 90*day) // manual: never expire
		}
		if _, err := tx.Insert("events", sqlstore.Doc{"workspaceId": w.wsA, "visitorId": w.v1, "name": "legacy", "timestamp": w.clock.Ms() - 90*day}); err != nil {
			return err // no eventType: manual
		}
		for i := 0; i < 4; i++ {
			w.seedEvent(tx, w.wsA, w.v1, "page_view", TypePageView, 20*day) // younger than 30 days
		}
		w.seedEvent(tx, w.wsB, w.vB, "page_view", TypePageView, 90*day) // other workspace
		return nil
	})
	ws := map[string]any{"workspaceId": w.wsA}

	denied := []struct {
		name, user, code string
	}{
		{"anonymous", "", fn.NotAuthenticated},
		{"agent (no data.delete)", w.agent, fn.PermissionDenied},
		{"viewer", w.viewer, fn.PermissionDenied},
		{"owner of another workspace", w.otherOwner, fn.NotWorkspaceMember},
	}
	for _, c := range denied {
		if _, err := w.call(c.user, "events:cleanupOldAutoEvents", ws); errCode(err) != c.code {
			t.Errorf("%s: got %v, want %s", c.name, err, c.code)
		}
	}
	if _, err := w.call(w.owner, "events:cleanupOldAutoEvents", map[string]any{"workspaceId": w.wsA, "ttlDays": -1}); errCode(err) != fn.InvalidInput {
		t.Errorf("negative ttlDays: %v", err)
	}
	if n := w.countRows(func(sqlstore.Doc) bool { return true }); n != 1000+3+5+1+4+1 {
		t.Fatalf("a refused call deleted events: %d left", n)
	}

	steps := []struct {
		user    string
		ttl     any
		deleted float64
		hasMore bool
	}{
		{w.admin, nil, 1000, true},
		{w.owner, nil, 3, false},
		{w.owner, nil, 0, false},
		{w.admin, 10, 4, false},
	}
	for i, s := range steps {
		a := map[string]any{"workspaceId": w.wsA}
		if s.ttl != nil {
			a["ttlDays"] = s.ttl
		}
		got := w.must(s.user, "events:cleanupOldAutoEvents", a).(map[string]any)
		if got["deleted"] != s.deleted || got["hasMore"] != s.hasMore {
			t.Fatalf("call %d: %v, want deleted %v hasMore %v", i+1, got, s.deleted, s.hasMore)
		}
	}
	left := map[string]int{}
	w.countRows(func(d sqlstore.Doc) bool { left[d.Str("workspaceId")+"/"+d.Str("name")]++; return true })
	want := map[string]int{w.wsA + "/signup": 5, w.wsA + "/legacy": 1, w.wsB + "/page_view": 1}
	if !reflect.DeepEqual(left, want) {
		t.Fatalf("left %v, want %v", left, want)
	}
}
