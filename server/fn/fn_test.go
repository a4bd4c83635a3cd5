package fn_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	gosync "sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opencom-go/opencom/server/fn"
	"github.com/opencom-go/opencom/server/schema"
	"github.com/opencom-go/opencom/sqlstore"
)

var V = fn.V

func TestValidators(t *testing.T) {
	obj := V.Object(fn.Fields{
		"name":  V.String(),
		"n":     V.Optional(V.Number()),
		"kind":  V.Literal("a", "b"),
		"tags":  V.Optional(V.Array(V.String())),
		"inner": V.Optional(V.Object(fn.Fields{"ok": V.Boolean()})),
		"u":     V.Optional(V.Union(V.String(), V.Number())),
		"id":    V.Optional(V.ID("testItems")),
	})
	validID := sqlstore.NewID()
	cases := []struct {
		name    string
		v       Validator
		in      any
		wantErr string // substring; "" means valid
	}{
		{"string ok", V.String(), "x", ""},
		{"string bad", V.String(), 3.0, "expected a string, got number 3"},
		{"number from float", V.Number(), 2.5, ""},
		{"number bad", V.Number(), "2", "expected a number"},
		{"int64 from integral float", V.Int64(), 4.0, ""},
		{"int64 fractional", V.Int64(), 4.5, "expected an int64"},
		{"boolean bad", V.Boolean(), "true", "expected a boolean"},
		{"null ok", V.Null(), nil, ""},
		{"any", V.Any(), map[string]any{"x": 1.0}, ""},
		{"literal ok", V.Literal("a", "b"), "b", ""},
		{"literal bad", V.Literal("a", "b"), "c", `one of "a", "b"`},
		{"array item bad", V.Array(V.Number()), []any{1.0, "x"}, "[1]"},
		{"id ok", V.ID("testItems"), validID, ""},
		{"id bad", V.ID("testItems"), "nope", "an id of table testItems"},
		{"union second branch", V.Union(V.String(), V.Number()), 1.0, ""},
		{"union none", V.Union(V.String(), V.Number()), true, "expected a string"},
		{"record", V.Record(V.Number()), map[string]any{"a": 1.0, "b": "x"}, "expected a number"},
		{"object ok", obj, map[string]any{"name": "x", "kind": "a"}, ""},
		{"object optional null", obj, map[string]any{"name": "x", "kind": "a", "n": nil}, ""},
		{"object missing field", obj, map[string]any{"kind": "a"}, "Missing required argument `name`"},
		{"object unexpected field", obj, map[string]any{"name": "x", "kind": "a", "zzz": 1.0}, "Unexpected argument `zzz`"},
		{"object nested path", obj, map[string]any{"name": "x", "kind": "a", "inner": map[string]any{"ok": 1.0}}, "`inner.ok`"},
		{"object array path", obj, map[string]any{"name": "x", "kind": "a", "tags": []any{"a", 2.0}}, "`tags[1]`"},
		{"pagination opts with client extras", V.PaginationOpts(), map[string]any{"numItems": 5.0, "cursor": nil, "id": 3.0, "endCursor": "c", "maximumRowsRead": 10.0}, ""},
		{"pagination opts missing numItems", V.PaginationOpts(), map[string]any{"cursor": nil}, "numItems"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.v.Check("args", tc.in)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error %v, want it to contain %q", err, tc.wantErr)
			}
			fe, ok := fn.AsError(err)
			if !ok || fe.Code != fn.InvalidInput {
				t.Fatalf("validation error is not INVALID_INPUT: %#v", err)
			}
		})
	}
}

type Validator = fn.Validator

func TestAsError(t *testing.T) {
	cases := []struct {
		name     string
		err      error
		ok       bool
		code     string
		extraKey string
	}{
		{"function error", fn.Errorf(fn.RateLimited, "slow down"), true, fn.RateLimited, ""},
		{"wrapped function error", fmt.Errorf("ctx: %w", fn.ErrNotAuthenticated()), true, fn.NotAuthenticated, ""},
		{"invalid cursor", fmt.Errorf("page: %w", sqlstore.ErrInvalidCursor), true, fn.InvalidInput, "paginationError"},
		{"not found", sqlstore.ErrNotFound, true, fn.NotFound, ""},
		{"anything else", errors.New("disk on fire"), false, "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fe, ok := fn.AsError(tc.err)
			if ok != tc.ok {
				t.Fatalf("ok=%v want %v", ok, tc.ok)
			}
			if !ok {
				return
			}
			d := fe.Data()
			if d["code"] != tc.code || d["message"] == "" {
				t.Fatalf("data %v, want code %s", d, tc.code)
			}
			if tc.extraKey != "" && d[tc.extraKey] == nil {
				t.Fatalf("data %v lacks %s", d, tc.extraKey)
			}
		})
	}
}

type world struct {
	path  string
	store *sqlstore.Store
	reg   *fn.Registry
	eng   *fn.Engine
	clock atomic.Int64 // unix ns; 0 = real time
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func (w *world) open(t testing.TB) {
	t.Helper()
	s, err := sqlstore.Open(context.Background(), w.path, sqlstore.Options{Migrations: schema.Migrations(), Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	w.store = s
	w.eng = fn.NewEngine(s, w.reg, quiet())
	w.eng.Clock = func() time.Time {
		if ns := w.clock.Load(); ns != 0 {
			return time.Unix(0, ns)
		}
		return time.Now()
	}
}

func (w *world) close(t testing.TB) {
	t.Helper()
	w.eng.Stop()
	if err := w.store.Close(); err != nil {
		t.Fatal(err)
	}
}

func newWorld(t testing.TB) *world {
	w := &world{path: filepath.Join(t.TempDir(), "db.sqlite"), reg: fn.NewRegistry()}
	r := w.reg
	r.Mutation("t:add", "public", fn.Fields{"listId": V.String()}, func(c *fn.Ctx, a fn.Args) (any, error) {
		return c.DB().Insert("testItems", map[string]any{"listId": a.Str("listId")})
	})
	r.InternalMutation("t:addInternal", fn.Fields{"listId": V.String()}, func(c *fn.Ctx, a fn.Args) (any, error) {
		return c.DB().Insert("testItems", map[string]any{"listId": a.Str("listId")})
	})
	r.Mutation("t:addThen", "public", fn.Fields{"listId": V.String(), "how": V.Literal("ok", "error", "plain", "panic")}, func(c *fn.Ctx, a fn.Args) (any, error) {
		for i := 0; i < 3; i++ {
			if _, err := c.DB().Insert("testItems", map[string]any{"listId": a.Str("listId")}); err != nil {
				return nil, err
			}
		}
		switch a.Str("how") {
		case "error":
			return nil, fn.Errorf(fn.NotAuthorized, "no")
		case "plain":
			return nil, errors.New("secret internal detail")
		case "panic":
			panic("boom")
		}
		return "ok", nil
	})
	r.Mutation("t:schedule", "public", fn.Fields{"listId": V.String(), "delayMs": V.Number()}, func(c *fn.Ctx, a fn.Args) (any, error) {
		return c.RunAfter(time.Duration(a.Num("delayMs"))*time.Millisecond, "t:addInternal", map[string]any{"listId": a.Str("listId")})
	})
	r.Query("t:count", "public", fn.Fields{"listId": V.String()}, func(c *fn.Ctx, a fn.Args) (any, error) {
		return c.DB().Query("testItems").Eq("listId", a.Str("listId")).Count()
	})
	r.Query("t:plainFail", "public", nil, func(c *fn.Ctx, a fn.Args) (any, error) {
		return nil, errors.New("secret internal detail")
	})
	r.Action("t:act", "public", nil, func(c *fn.Ctx, a fn.Args) (any, error) {
		if _, err := c.RunMutation("t:addInternal", map[string]any{"listId": "act"}); err != nil {
			return nil, err
		}
		return c.RunQuery("t:count", map[string]any{"listId": "act"})
	})
	w.open(t)
	t.Cleanup(func() { w.close(t) })
	return w
}

func (w *world) count(t testing.TB, list string) int {
	t.Helper()
	res := w.eng.Query(context.Background(), fn.Call{Path: "t:count", Args: map[string]any{"listId": list}, RequestID: -1})
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	var n int
	fmt.Sscan(string(res.Value), &n)
	return n
}

// Function failures reach the caller with the right code, and internal
// details stay in the log.
func TestErrorMapping(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	cases := []struct {
		name     string
		run      func() fn.Result
		code     string
		contains string
		hides    string
	}{
		{"function error", func() fn.Result {
			return w.eng.Mutation(ctx, fn.Call{Path: "t:addThen", Args: map[string]any{"listId": "e", "how": "error"}, RequestID: -1})
		}, fn.NotAuthorized, "no", ""},
		{"plain error", func() fn.Result {
			return w.eng.Mutation(ctx, fn.Call{Path: "t:addThen", Args: map[string]any{"listId": "e", "how": "plain"}, RequestID: -1})
		}, fn.InternalError, "Server Error", "secret"},
		{"panic", func() fn.Result {
			return w.eng.Mutation(ctx, fn.Call{Path: "t:addThen", Args: map[string]any{"listId": "e", "how": "panic"}, RequestID: -1})
		}, fn.InternalError, "Server Error", "boom"},
		{"query plain error", func() fn.Result {
			return w.eng.Query(ctx, fn.Call{Path: "t:plainFail", RequestID: -1})
		}, fn.InternalError, "[Request ID: ", "secret"},
		{"bad args name the field", func() fn.Result {
			return w.eng.Mutation(ctx, fn.Call{Path: "t:add", Args: map[string]any{"listId": 3.0}, RequestID: -1})
		}, fn.InvalidInput, "`listId`", ""},
		{"unknown function", func() fn.Result {
			return w.eng.Query(ctx, fn.Call{Path: "t.js:nothing", RequestID: -1})
		}, fn.NotFound, "Could not find public function for 't:nothing'", ""},
		{"wrong kind", func() fn.Result {
			return w.eng.Query(ctx, fn.Call{Path: "t:add", Args: map[string]any{"listId": "x"}, RequestID: -1})
		}, fn.InvalidInput, "defined as Mutation", ""},
		{"internal not callable", func() fn.Result {
			return w.eng.Mutation(ctx, fn.Call{Path: "t:addInternal", Args: map[string]any{"listId": "x"}, RequestID: -1})
		}, fn.NotFound, "Could not find public function", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := tc.run()
			if res.Err == nil {
				t.Fatalf("want %s, got success %s", tc.code, res.Value)
			}
			if res.Err.Code != tc.code || !strings.Contains(res.Err.Message, tc.contains) {
				t.Fatalf("got %s %q, want %s containing %q", res.Err.Code, res.Err.Message, tc.code, tc.contains)
			}
			if tc.hides != "" && strings.Contains(res.Err.Message, tc.hides) {
				t.Fatalf("message leaks %q: %s", tc.hides, res.Err.Message)
			}
		})
	}
	// An action calls queries and mutations through the registry, internal
	// ones included.
	res := w.eng.Action(ctx, fn.Call{Path: "t:act", RequestID: -1})
	if res.Err != nil || string(res.Value) != "1" {
		t.Fatalf("action: %v %s", res.Err, res.Value)
	}
}

// A mutation that fails after writing leaves nothing, also when it shares a
// group commit with successful ones.
func TestMutationAtomicity(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	hows := []string{"ok", "error", "plain", "panic"}
	var wg gosync.WaitGroup
	var okCount atomic.Int64
	for i := 0; i < 40; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			how := hows[i%len(hows)]
			res := w.eng.Mutation(ctx, fn.Call{Path: "t:addThen", Args: map[string]any{"listId": "atom", "how": how}, RequestID: -1})
			if (res.Err == nil) != (how == "ok") {
				t.Errorf("how=%s err=%v", how, res.Err)
			}
			if res.Err == nil {
				okCount.Add(1)
			}
		}(i)
	}
	wg.Wait()
	if got, want := w.count(t, "atom"), int(okCount.Load())*3; got != want {
		t.Fatalf("%d rows, want %d (3 per successful mutation, none from failed ones)", got, want)
	}
}

// Idempotency: a repeated (session, request) returns the first result and
// ts without running again.
func TestMutationIdempotency(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	call := fn.Call{Path: "t:add", Args: map[string]any{"listId": "idem"}, SessionID: "s", RequestID: 1}
	first := w.eng.Mutation(ctx, call)
	second := w.eng.Mutation(ctx, call)
	if first.Err != nil || second.Err != nil {
		t.Fatal(first.Err, second.Err)
	}
	if string(first.Value) != string(second.Value) || first.TS != second.TS || !second.Replayed {
		t.Fatalf("replay differs: %s@%d vs %s@%d replayed=%v", first.Value, first.TS, second.Value, second.TS, second.Replayed)
	}
	if n := w.count(t, "idem"); n != 1 {
		t.Fatalf("ran %d times", n)
	}
	// The record survives a restart.
	w.close(t)
	w.open(t)
	third := w.eng.Mutation(ctx, call)
	if string(third.Value) != string(first.Value) || third.TS != first.TS {
		t.Fatalf("after restart: %s@%d", third.Value, third.TS)
	}
	if n := w.count(t, "idem"); n != 1 {
		t.Fatalf("ran %d times after restart", n)
	}
}

// Replays after a restart may come in any order relative to new requests:
// each logged request is answered from the log, each new one runs once.
// (Most mutations skip the log lookup because their requestId is above the
// session's mark; this checks the mark never skips a logged request.)
func TestMutationReplayAfterRestartInAnyOrder(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	call := func(rid int64) fn.Call {
		return fn.Call{Path: "t:add", Args: map[string]any{"listId": "marks"}, SessionID: "m", RequestID: rid}
	}
	first := map[int64]fn.Result{}
	for rid := int64(1); rid <= 5; rid++ {
		first[rid] = w.eng.Mutation(ctx, call(rid))
		if first[rid].Err != nil || first[rid].Replayed {
			t.Fatalf("rid %d: %+v", rid, first[rid])
		}
	}
	fail := w.eng.Mutation(ctx, fn.Call{Path: "t:addThen", Args: map[string]any{"listId": "marks", "how": "error"}, SessionID: "m", RequestID: 6})
	if fail.Err == nil {
		t.Fatal("t:addThen how=error succeeded")
	}
	w.close(t)
	w.open(t)
	for _, rid := range []int64{3, 4, 5, 1, 2} {
		r := w.eng.Mutation(ctx, call(rid))
		if !r.Replayed || r.TS != first[rid].TS || string(r.Value) != string(first[rid].Value) {
			t.Fatalf("rid %d after restart: %+v, want replay of %+v", rid, r, first[rid])
		}
	}
	if r := w.eng.Mutation(ctx, fn.Call{Path: "t:addThen", Args: map[string]any{"listId": "marks", "how": "error"}, SessionID: "m", RequestID: 6}); r.Err == nil || r.Err.Code != fail.Err.Code {
		t.Fatalf("failed rid 6 replayed as %+v, want error %v", r, fail.Err)
	}
	if r := w.eng.Mutation(ctx, call(7)); r.Err != nil || r.Replayed {
		t.Fatalf("new rid 7: %+v", r)
	}
	if r := w.eng.Mutation(ctx, call(7)); !r.Replayed {
		t.Fatalf("repeated rid 7 ran again: %+v", r)
	}
	if n := w.count(t, "marks"); n != 6 {
		t.Fatalf("%d rows, want 6 (rids 1-5 and 7, each once)", n)
	}
}

// waitCount polls until list has n rows (the scheduler runs on its own
// goroutine); it fails after a generous deadline.
func (w *world) waitCount(t *testing.T, list string, n int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for w.count(t, list) < n {
		if time.Now().After(deadline) {
			t.Fatalf("%s: %d rows, want %d", list, w.count(t, list), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// barrier schedules a job now and waits for it: the scheduler runs due jobs
// in run_at order, then crons, so after a second barrier everything that
// was due before the first one has been handled.
func (w *world) barrier(t *testing.T, name string) {
	t.Helper()
	for i := 0; i < 2; i++ {
		list := fmt.Sprintf("barrier-%s-%d", name, i)
		res := w.eng.Mutation(context.Background(), fn.Call{Path: "t:schedule", Args: map[string]any{"listId": list, "delayMs": 0.0}, RequestID: -1})
		if res.Err != nil {
			t.Fatal(res.Err)
		}
		w.waitCount(t, list, 1)
	}
}

// A job scheduled before a shutdown runs after the restart, exactly once,
// and a failed mutation schedules nothing.
func TestSchedulerSurvivesRestart(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	// The engine is not started: the job stays pending in SQLite.
	res := w.eng.Mutation(ctx, fn.Call{Path: "t:schedule", Args: map[string]any{"listId": "job", "delayMs": 0.0}, RequestID: -1})
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	w.close(t)

	w.open(t)
	if err := w.eng.Start(ctx); err != nil {
		t.Fatal(err)
	}
	w.waitCount(t, "job", 1)
	w.close(t)

	w.open(t)
	if err := w.eng.Start(ctx); err != nil {
		t.Fatal(err)
	}
	w.barrier(t, "after")
	if n := w.count(t, "job"); n != 1 {
		t.Fatalf("job ran %d times across two restarts", n)
	}
}

// Crons run when due, not again within their period, and their last run
// survives a restart.
func TestCrons(t *testing.T) {
	w := newWorld(t)
	w.reg.AddCron(fn.Cron{Name: "tick", Every: time.Hour, Function: "t:addInternal", Args: map[string]any{"listId": "cron"}})
	ctx := context.Background()
	base := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	w.clock.Store(base.UnixNano())
	if err := w.eng.Start(ctx); err != nil {
		t.Fatal(err)
	}
	w.waitCount(t, "cron", 1)
	w.clock.Store(base.Add(30 * time.Minute).UnixNano())
	w.barrier(t, "half")
	if n := w.count(t, "cron"); n != 1 {
		t.Fatalf("cron ran %d times within its period", n)
	}
	w.clock.Store(base.Add(61 * time.Minute).UnixNano())
	w.waitCount(t, "cron", 2)

	w.close(t)
	w.open(t)
	w.clock.Store(base.Add(90 * time.Minute).UnixNano())
	if err := w.eng.Start(ctx); err != nil {
		t.Fatal(err)
	}
	w.barrier(t, "restart")
	if n := w.count(t, "cron"); n != 2 {
		t.Fatalf("cron ran %d times; the restart forgot its last run", n)
	}
}
