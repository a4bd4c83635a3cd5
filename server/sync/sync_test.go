package sync_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	ocsync "github.com/opencom-go/opencom/server/sync"
	"github.com/opencom-go/opencom/sqlstore"
)

// A write to list A re-runs the subscription on A and nothing that only
// reads list B, even on the same socket.
func TestPreciseInvalidation(t *testing.T) {
	e := newEnv(t, ocsync.Config{})
	c := e.dial(t)
	c.connect("s1")
	c.modify(0, 1, []add{
		{1, "t:listCounted", map[string]any{"listId": "A"}},
		{2, "t:listCounted", map[string]any{"listId": "B"}},
	})
	tr := c.expect("Transition")
	if got := mods(tr); len(got) != 2 || got[1]["value"] != 0.0 || got[2]["value"] != 0.0 {
		t.Fatalf("initial transition: %v", tr)
	}
	if e.runCount("A") != 1 || e.runCount("B") != 1 {
		t.Fatalf("initial runs A=%d B=%d", e.runCount("A"), e.runCount("B"))
	}
	for i := 0; i < 3; i++ {
		c.mutation(i, "_test:addItem", map[string]any{"listId": "A", "text": "x"})
		c.expect("MutationResponse")
		tr = c.expect("Transition")
		got := mods(tr)
		if len(got) != 1 || got[1]["value"] != float64(i+1) {
			t.Fatalf("after write %d: want only query 1 with %d, got %v", i, i+1, tr)
		}
	}
	// The other socket's and this socket's B subscription were never re-run.
	if e.runCount("A") != 4 || e.runCount("B") != 1 {
		t.Fatalf("runs after 3 writes to A: A=%d (want 4) B=%d (want 1)", e.runCount("A"), e.runCount("B"))
	}
}

// recorder is an Owner that remembers which of its queries the hub woke it for.
type recorder struct{ ids map[int]int }

func (r *recorder) Wake(id int) { r.ids[id]++ }

func TestHubMatchesReadKeys(t *testing.T) {
	k := func(f, v string) sqlstore.ReadKey { return sqlstore.FieldKey("testItems", f, v) }
	cases := []struct {
		name    string
		keys    []sqlstore.ReadKey
		changes []sqlstore.Change
		want    bool
	}{
		{"insert into my list", []sqlstore.ReadKey{k("listId", "A")}, []sqlstore.Change{{Table: "testItems", Op: sqlstore.OpInsert, New: map[string]any{"listId": "A", "_id": "x"}}}, true},
		{"insert into other list", []sqlstore.ReadKey{k("listId", "A")}, []sqlstore.Change{{Table: "testItems", Op: sqlstore.OpInsert, New: map[string]any{"listId": "B", "_id": "x"}}}, false},
		{"move out of my list", []sqlstore.ReadKey{k("listId", "A")}, []sqlstore.Change{{Table: "testItems", Op: sqlstore.OpUpdate, Old: map[string]any{"listId": "A", "_id": "x"}, New: map[string]any{"listId": "B", "_id": "x"}}}, true},
		{"delete from my list", []sqlstore.ReadKey{k("listId", "A")}, []sqlstore.Change{{Table: "testItems", Op: sqlstore.OpDelete, Old: map[string]any{"listId": "A", "_id": "x"}}}, true},
		{"doc by id", []sqlstore.ReadKey{k("_id", "x")}, []sqlstore.Change{{Table: "testItems", Op: sqlstore.OpUpdate, Old: map[string]any{"listId": "B", "_id": "x"}, New: map[string]any{"listId": "B", "_id": "x"}}}, true},
		{"other doc by id", []sqlstore.ReadKey{k("_id", "y")}, []sqlstore.Change{{Table: "testItems", Op: sqlstore.OpUpdate, Old: map[string]any{"listId": "B", "_id": "x"}, New: map[string]any{"listId": "B", "_id": "x"}}}, false},
		{"table scan", []sqlstore.ReadKey{sqlstore.TableKey("testItems")}, []sqlstore.Change{{Table: "testItems", Op: sqlstore.OpInsert, New: map[string]any{"listId": "Z", "_id": "x"}}}, true},
		{"other table", []sqlstore.ReadKey{sqlstore.TableKey("testItems")}, []sqlstore.Change{{Table: "other", Op: sqlstore.OpInsert, New: map[string]any{"listId": "A", "_id": "x"}}}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := ocsync.NewHub()
			r := &recorder{ids: map[int]int{}}
			s := ocsync.NewSubscription(r, 7)
			h.Update(s, tc.keys, 0)
			h.OnBatch(sqlstore.Batch{TS: 1, Changes: tc.changes})
			if got := r.ids[7] > 0; got != tc.want {
				t.Fatalf("marked=%v want %v", got, tc.want)
			}
			h.Remove(s)
			if h.Stats() != 0 {
				t.Fatalf("index not empty after Remove: %d keys", h.Stats())
			}
		})
	}
}

// A commit published between a query's snapshot and its registration in
// the hub must still invalidate it (the hub replays recent batches).
func TestHubCatchUpRace(t *testing.T) {
	key := sqlstore.FieldKey("testItems", "listId", "A")
	other := sqlstore.FieldKey("testItems", "listId", "B")
	batch := func(ts int64, list string) sqlstore.Batch {
		return sqlstore.Batch{TS: ts, Changes: []sqlstore.Change{{Table: "testItems", Op: sqlstore.OpInsert, New: map[string]any{"listId": list, "_id": "i"}}}}
	}
	cases := []struct {
		name    string
		batches []sqlstore.Batch
		snap    int64
		want    bool
	}{
		{"commit after snapshot touches key", []sqlstore.Batch{batch(10, "A")}, 5, true},
		{"commit at snapshot already seen", []sqlstore.Batch{batch(10, "A")}, 10, false},
		{"commit after snapshot touches other key", []sqlstore.Batch{batch(10, "B")}, 5, false},
		{"touching commit behind a later unrelated one", []sqlstore.Batch{batch(10, "A"), batch(11, "B")}, 5, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := ocsync.NewHub()
			for _, b := range tc.batches {
				h.OnBatch(b)
			}
			r := &recorder{ids: map[int]int{}}
			h.Update(ocsync.NewSubscription(r, 1), []sqlstore.ReadKey{key, other}[:1], tc.snap)
			if got := r.ids[1] > 0; got != tc.want {
				t.Fatalf("marked=%v want %v", got, tc.want)
			}
		})
	}
	// When the ring of recent batches no longer reaches back to the
	// snapshot the hub cannot tell, so it must re-run.
	h := ocsync.NewHub()
	for i := int64(1); i <= 2000; i++ {
		h.OnBatch(batch(100+i, "B"))
	}
	r := &recorder{ids: map[int]int{}}
	h.Update(ocsync.NewSubscription(r, 1), []sqlstore.ReadKey{key}, 50)
	if r.ids[1] == 0 {
		t.Fatal("subscription registered behind the ring was not re-run")
	}
}

// The same race end to end with the real store: read a snapshot, commit,
// then register the read set with the old snapshot's ts.
func TestHubCatchUpRaceWithStore(t *testing.T) {
	e := newEnv(t, ocsync.Config{})
	ctx := context.Background()
	reads := sqlstore.NewReadSet()
	snap, err := e.store.Read(ctx, func(tx *sqlstore.Tx) error {
		tx.Reads = reads
		_, err := tx.Query("testItems").Eq("listId", "A").Collect()
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.Write(ctx, func(tx *sqlstore.Tx) error {
		_, err := tx.Insert("testItems", sqlstore.Doc{"listId": "A"})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	r := &recorder{ids: map[int]int{}}
	e.hub.Update(ocsync.NewSubscription(r, 3), reads.Keys(), snap)
	if r.ids[3] == 0 {
		t.Fatalf("commit between snapshot %d and registration was lost (keys %v)", snap, reads.Keys())
	}
}

// Versions chain exactly, counters follow the client's messages, ts never
// decreases, and a MutationResponse precedes the Transition that covers it.
func TestVersionBookkeeping(t *testing.T) {
	e := newEnv(t, ocsync.Config{})
	tok, _, err := e.keys.Issue("user1", "sess1", 3600e9)
	if err != nil {
		t.Fatal(err)
	}
	c := e.dial(t)
	c.connect("s1")
	var prev ver
	check := func(tr map[string]any, wantQS, wantID int) ver {
		t.Helper()
		start, end := versionOf(t, tr, "startVersion"), versionOf(t, tr, "endVersion")
		if start != prev {
			t.Fatalf("startVersion %+v != previous endVersion %+v", start, prev)
		}
		if end.querySet != wantQS || end.identity != wantID {
			t.Fatalf("endVersion %+v, want querySet %d identity %d", end, wantQS, wantID)
		}
		if end.ts < start.ts {
			t.Fatalf("ts went backwards: %d -> %d", start.ts, end.ts)
		}
		prev = end
		return end
	}
	c.modify(0, 1, nil)
	check(c.expect("Transition"), 1, 0)
	c.modify(1, 2, []add{{1, "_test:listItems", map[string]any{"listId": "A"}}})
	check(c.expect("Transition"), 2, 0)
	c.send(map[string]any{"type": "Authenticate", "tokenType": "User", "value": tok, "baseVersion": 0})
	check(c.expect("Transition"), 2, 1)
	for i := 0; i < 3; i++ {
		c.mutation(i, "_test:addItem", map[string]any{"listId": "A", "text": "x"})
		mr := c.expect("MutationResponse")
		if mr["success"] != true {
			t.Fatalf("mutation failed: %v", mr)
		}
		mts := decodeTS(t, mr["ts"])
		end := check(c.expect("Transition"), 2, 1)
		if end.ts < mts {
			t.Fatalf("Transition ts %d < mutation ts %d", end.ts, mts)
		}
	}
	c.modify(2, 3, nil, 1)
	tr := c.expect("Transition")
	check(tr, 3, 1)
	if m := mods(tr); m[1]["type"] != "QueryRemoved" {
		t.Fatalf("want QueryRemoved, got %v", tr)
	}
	c.send(map[string]any{"type": "Authenticate", "tokenType": "None", "baseVersion": 1})
	check(c.expect("Transition"), 3, 2)
}

// A failed mutation gets no ts and no Transition; an unchanged query is not
// re-sent.
func TestUnchangedQueryNotResent(t *testing.T) {
	e := newEnv(t, ocsync.Config{})
	c := e.dial(t)
	c.connect("s1")
	c.modify(0, 1, []add{{1, "_test:countItems", map[string]any{"listId": "A"}}})
	c.expect("Transition")
	// Writing to A with a document whose count does not change the result
	// of query 1 is impossible, so write to the same key twice via a
	// mutation that inserts and deletes nothing visible: addItems count 0.
	c.mutation(0, "_test:addItems", map[string]any{"listId": "A", "count": 0})
	c.expect("MutationResponse")
	tr := c.expect("Transition")
	if len(mods(tr)) != 0 {
		t.Fatalf("nothing changed but got modifications: %v", tr)
	}
	c.mutation(1, "_test:fail", map[string]any{"code": "NOT_FOUND", "message": "nope"})
	mr := c.expect("MutationResponse")
	if mr["success"] != false || mr["ts"] != nil {
		t.Fatalf("failed mutation response: %v", mr)
	}
	data, _ := mr["errorData"].(map[string]any)
	if data["code"] != "NOT_FOUND" || data["message"] != "nope" {
		t.Fatalf("errorData: %v", mr)
	}
}

// A replayed (sessionId, requestId) gets the first outcome and ts and does
// not run again, also on a new socket.
func TestIdempotentReplay(t *testing.T) {
	e := newEnv(t, ocsync.Config{})
	c := e.dial(t)
	c.connect("session-R")
	c.modify(0, 1, nil)
	c.expect("Transition")
	c.mutation(5, "_test:addItem", map[string]any{"listId": "R", "text": "once"})
	first := c.expect("MutationResponse")
	c.expect("Transition")
	c.ws.Close(websocket.StatusNormalClosure, "")

	c2 := e.dial(t)
	c2.connect("session-R")
	c2.modify(0, 1, []add{{1, "_test:countItems", map[string]any{"listId": "R"}}})
	c2.mutation(5, "_test:addItem", map[string]any{"listId": "R", "text": "once"})
	// The reconnect's messages may be folded into one Transition before or
	// after the replayed response; collect until both arrived.
	var replay map[string]any
	count := -1.0
	for replay == nil || count < 0 {
		m := c2.next()
		switch m["type"] {
		case "MutationResponse":
			replay = m
		case "Transition":
			if q, ok := mods(m)[1]; ok {
				count = q["value"].(float64)
			}
		}
	}
	if replay["success"] != true || replay["result"] != first["result"] || replay["ts"] != first["ts"] {
		t.Fatalf("replay %v differs from first response %v", replay, first)
	}
	if count != 1 {
		t.Fatalf("mutation ran %v times", count)
	}
	// A different session with the same requestId is a different mutation.
	c3 := e.dial(t)
	c3.connect("session-S")
	c3.modify(0, 1, nil)
	c3.expect("Transition")
	c3.mutation(5, "_test:addItem", map[string]any{"listId": "R", "text": "twice"})
	if r := c3.expect("MutationResponse"); r["result"] == first["result"] {
		t.Fatalf("another session's request 5 was answered from the log: %v", r)
	}
}

// A failed mutation is remembered too: the replay gets the same error and
// the write it attempted is not retried.
func TestIdempotentReplayOfFailure(t *testing.T) {
	e := newEnv(t, ocsync.Config{})
	c := e.dial(t)
	c.connect("session-F")
	c.modify(0, 1, nil)
	c.expect("Transition")
	args := map[string]any{"listId": "F", "count": 3, "failAfter": true}
	c.mutation(0, "_test:addItems", args)
	first := c.expect("MutationResponse")
	c.mutation(0, "_test:addItems", args)
	again := c.expect("MutationResponse")
	if first["success"] != false || again["success"] != false {
		t.Fatalf("want failures: %v %v", first, again)
	}
	d1, _ := json.Marshal(first["errorData"])
	d2, _ := json.Marshal(again["errorData"])
	if string(d1) != string(d2) || !strings.Contains(string(d1), "INVALID_INPUT") {
		t.Fatalf("errorData differ: %s vs %s", d1, d2)
	}
}

// Transitions above the threshold arrive as TransitionChunks that
// reassemble into exactly the Transition a client would otherwise get.
func TestChunking(t *testing.T) {
	e := newEnv(t, ocsync.Config{ChunkThreshold: 1000})
	c := e.dial(t)
	c.connect("s1")
	c.modify(0, 1, []add{{1, "_test:big", map[string]any{"bytes": 10000}}})
	var parts []string
	total := -1
	var id string
	for total < 0 || len(parts) < total {
		m := c.expect("TransitionChunk")
		if int(m["partNumber"].(float64)) != len(parts) {
			t.Fatalf("part %v out of order (have %d)", m["partNumber"], len(parts))
		}
		if id != "" && m["transitionId"] != id {
			t.Fatalf("transitionId changed: %v vs %v", m["transitionId"], id)
		}
		id, _ = m["transitionId"].(string)
		total = int(m["totalParts"].(float64))
		chunk := m["chunk"].(string)
		if len(chunk) > 1000 {
			t.Fatalf("chunk of %d bytes above threshold", len(chunk))
		}
		parts = append(parts, chunk)
	}
	if total < 10 {
		t.Fatalf("10 KB split into %d parts", total)
	}
	var tr map[string]any
	if err := json.Unmarshal([]byte(strings.Join(parts, "")), &tr); err != nil {
		t.Fatalf("reassembled transition is not JSON: %v", err)
	}
	if tr["type"] != "Transition" {
		t.Fatalf("reassembled: %v", tr["type"])
	}
	got := mods(tr)[1]["value"].(map[string]any)
	want := e.engine.Query(context.Background(), callBig(10000))
	var wantV map[string]any
	json.Unmarshal(want.Value, &wantV)
	if got["payload"] != wantV["payload"] || got["length"] != wantV["length"] {
		t.Fatalf("reassembled value differs (len %v vs %v)", got["length"], wantV["length"])
	}
	// A small transition on the same socket is sent whole.
	c.modify(1, 2, nil, 1)
	c.expect("Transition")
}

// Protocol violations end only the offending socket, with a FatalError.
func TestProtocolViolations(t *testing.T) {
	e := newEnv(t, ocsync.Config{})
	bystander := e.dial(t)
	bystander.connect("bystander")
	bystander.modify(0, 1, []add{{1, "_test:countItems", map[string]any{"listId": "V"}}})
	bystander.expect("Transition")

	cases := []struct {
		name string
		msgs []string
		want string
	}{
		{"bad JSON", []string{`{"type":"Connect",`}, "malformed"},
		{"unknown type", []string{`{"type":"Teleport"}`}, "unknown message type"},
		{"wrong query set baseVersion", []string{`{"type":"ModifyQuerySet","baseVersion":3,"newVersion":4,"modifications":[]}`}, "Base version 3"},
		{"wrong identity baseVersion", []string{`{"type":"Authenticate","tokenType":"None","baseVersion":2}`}, "Base identity version 2"},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := e.dial(t)
			c.connect("bad")
			for _, m := range tc.msgs {
				c.sendRaw(m)
			}
			m := c.expect("FatalError")
			if !strings.Contains(m["error"].(string), tc.want) {
				t.Fatalf("FatalError %q does not mention %q", m["error"], tc.want)
			}
			if code := c.closed(); code != websocket.StatusPolicyViolation {
				t.Fatalf("close code %v", code)
			}
			// The bystander still works and sees writes.
			bystander.mutation(i, "_test:addItem", map[string]any{"listId": "V", "text": "x"})
			bystander.expect("MutationResponse")
			tr := bystander.expect("Transition")
			if mods(tr)[1]["value"] != float64(i+1) {
				t.Fatalf("bystander transition: %v", tr)
			}
		})
	}
}

// An unknown function is a function error, not a protocol error.
func TestUnknownFunctionIsQueryFailed(t *testing.T) {
	e := newEnv(t, ocsync.Config{})
	c := e.dial(t)
	c.connect("s1")
	c.modify(0, 1, []add{{1, "nope:missing", map[string]any{}}, {2, "_test:countItems", map[string]any{"listId": "U"}}})
	tr := c.expect("Transition")
	m := mods(tr)
	if m[1]["type"] != "QueryFailed" || !strings.Contains(m[1]["errorMessage"].(string), "Could not find public function for 'nope:missing'") {
		t.Fatalf("query 1: %v", m[1])
	}
	if _, ok := m[1]["logLines"].([]any); !ok {
		t.Fatalf("QueryFailed without logLines: %v", m[1])
	}
	if m[2]["type"] != "QueryUpdated" {
		t.Fatalf("query 2: %v", m[2])
	}
	c.mutation(0, "nope:missingMutation", map[string]any{})
	if r := c.expect("MutationResponse"); r["success"] != false {
		t.Fatalf("unknown mutation: %v", r)
	}
	// Internal functions are invisible to clients.
	c.mutation(1, "_test:addItemInternal", map[string]any{"listId": "U", "text": "x"})
	if r := c.expect("MutationResponse"); r["success"] != false || !strings.Contains(r["result"].(string), "Could not find public function") {
		t.Fatalf("internal mutation callable: %v", r)
	}
	c.mutation(2, "_test:addItem", map[string]any{"listId": "U", "text": "x"})
	if r := c.expect("MutationResponse"); r["success"] != true {
		t.Fatalf("socket unusable after function errors: %v", r)
	}
}

// A bad token gets AuthError with the identity version before it and
// closes the socket; an expired one is refused the same way.
func TestAuthErrors(t *testing.T) {
	e := newEnv(t, ocsync.Config{})
	expired, _, err := e.keys.Issue("u", "s", -3600e9)
	if err != nil {
		t.Fatal(err)
	}
	for _, tok := range []string{"not-a-jwt", expired} {
		c := e.dial(t)
		c.connect("s1")
		c.send(map[string]any{"type": "Authenticate", "tokenType": "User", "value": tok, "baseVersion": 0})
		m := c.expect("AuthError")
		if m["baseVersion"] != 0.0 || m["authUpdateAttempted"] != true {
			t.Fatalf("AuthError: %v", m)
		}
		c.closed()
	}
	c := e.dial(t)
	c.connect("s1")
	c.send(map[string]any{"type": "Authenticate", "tokenType": "Admin", "value": "key", "baseVersion": 0})
	c.expect("AuthError")
}

// Identity changes re-run the socket's queries under the new identity.
func TestAuthenticateReRunsQueries(t *testing.T) {
	e := newEnv(t, ocsync.Config{})
	tok, _, _ := e.keys.Issue("user-7", "sess", 3600e9)
	c := e.dial(t)
	c.connect("s1")
	c.modify(0, 1, []add{{1, "_test:whoami", map[string]any{}}})
	if v := mods(c.expect("Transition"))[1]["value"]; v != nil {
		t.Fatalf("anonymous whoami: %v", v)
	}
	c.send(map[string]any{"type": "Authenticate", "tokenType": "User", "value": tok, "baseVersion": 0})
	v, _ := mods(c.expect("Transition"))[1]["value"].(map[string]any)
	if v["subject"] != "user-7" {
		t.Fatalf("whoami after Authenticate: %v", v)
	}
}

// The test-mode hook closes the socket after the mutation commits, before
// its response; the client's replay on a new socket gets the stored result.
func TestDropAfterCommitHook(t *testing.T) {
	e := newEnv(t, ocsync.Config{})
	c := e.dial(t)
	c.connect("session-D")
	c.modify(0, 1, nil)
	c.expect("Transition")
	c.mutation(0, "_test:addItemThenDrop", map[string]any{"listId": "D", "text": "x"})
	if code := c.closed(); code != websocket.StatusInternalError {
		t.Fatalf("close code %v", code)
	}
	c2 := e.dial(t)
	c2.connect("session-D")
	c2.mutation(0, "_test:addItemThenDrop", map[string]any{"listId": "D", "text": "x"})
	if r := c2.expect("MutationResponse"); r["success"] != true {
		t.Fatalf("replay: %v", r)
	}
	res := e.engine.Query(context.Background(), callCount("D"))
	if string(res.Value) != "1" {
		t.Fatalf("mutation ran %s times", res.Value)
	}
}

// Sockets watching the same query share one execution per commit instead
// of running it once each.
func TestSharedResultsAcrossSockets(t *testing.T) {
	e := newEnv(t, ocsync.Config{})
	const n = 20
	clients := make([]*client, n)
	for i := range clients {
		clients[i] = e.dial(t)
		clients[i].connect("shared")
		clients[i].modify(0, 1, []add{{1, "t:listCounted", map[string]any{"listId": "S"}}})
		clients[i].expect("Transition")
	}
	if got := e.runCount("S"); got != 1 {
		t.Fatalf("initial subscriptions at one snapshot ran the query %d times", got)
	}
	writer := e.dial(t)
	writer.connect("writer")
	writer.mutation(0, "_test:addItem", map[string]any{"listId": "S", "text": "x"})
	writer.expect("MutationResponse")
	for _, c := range clients {
		if v := mods(c.expect("Transition"))[1]["value"]; v != 1.0 {
			t.Fatalf("count %v", v)
		}
	}
	if got := e.runCount("S"); got != 2 {
		t.Fatalf("one commit re-ran the query %d times for %d sockets", got-1, n)
	}
}

// wakeCounter counts its wake-ups (from the hub's waker goroutine).
type wakeCounter struct{ n atomic.Int32 }

func (w *wakeCounter) Wake(int) { w.n.Add(1) }

// OnBatch marks every subscriber before it returns (the store publishes
// under its snapshot lock, so a reader that sees the commit finds the
// marks) but may wake a large set of owners afterwards: each must still be
// woken, once per mark it has not taken yet.
func TestHubMarksBeforeReturnAndWakesEveryOwner(t *testing.T) {
	for _, n := range []int{1, 8, 9, 500} {
		t.Run(fmt.Sprintf("owners=%d", n), func(t *testing.T) {
			h := ocsync.NewHub()
			key := sqlstore.FieldKey("testItems", "listId", "fan")
			owners := make([]*wakeCounter, n)
			subs := make([]*ocsync.Subscription, n)
			for i := range owners {
				owners[i] = &wakeCounter{}
				subs[i] = ocsync.NewSubscription(owners[i], 1)
				h.Update(subs[i], []sqlstore.ReadKey{key}, 0)
			}
			insert := func(ts int64) sqlstore.Batch {
				return sqlstore.Batch{TS: ts, Changes: []sqlstore.Change{{Table: "testItems", Op: sqlstore.OpInsert, New: map[string]any{"listId": "fan", "_id": "x"}}}}
			}
			waitWakes := func(want int32) {
				t.Helper()
				deadline := time.Now().Add(10 * time.Second)
				for _, w := range owners {
					for w.n.Load() < want && time.Now().Before(deadline) {
						time.Sleep(time.Millisecond)
					}
				}
				time.Sleep(20 * time.Millisecond) // room for a wrong extra wake-up
				for i, w := range owners {
					if got := w.n.Load(); got != want {
						t.Fatalf("owner %d woken %d times, want %d", i, got, want)
					}
				}
			}
			// Two commits before the owners take their marks: one wake-up.
			h.OnBatch(insert(1))
			for i, s := range subs {
				if !s.TakeDirty() {
					t.Fatalf("subscription %d not marked when OnBatch returned", i)
				}
				s.MarkDirty() // put it back
			}
			h.OnBatch(insert(2))
			waitWakes(1)
			for i, s := range subs {
				if !s.TakeDirty() {
					t.Fatalf("subscription %d not marked", i)
				}
				if s.TakeDirty() {
					t.Fatalf("subscription %d: mark taken twice", i)
				}
			}
			// Once taken, the next commit wakes again.
			h.OnBatch(insert(3))
			for i, s := range subs {
				if !s.TakeDirty() {
					t.Fatalf("subscription %d not marked by the third commit when OnBatch returned", i)
				}
			}
			waitWakes(2)
		})
	}
}
