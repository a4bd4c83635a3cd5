package sync_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"strings"
	gosync "sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/opencom-go/opencom/server/authtoken"
	"github.com/opencom-go/opencom/server/fn"
	"github.com/opencom-go/opencom/server/schema"
	ocsync "github.com/opencom-go/opencom/server/sync"
	"github.com/opencom-go/opencom/server/testfns"
	"github.com/opencom-go/opencom/sqlstore"
)

// env is a real sync endpoint: a temp SQLite store with the application's
// migrations, the _test module, and counting queries of our own.
type env struct {
	store  *sqlstore.Store
	engine *fn.Engine
	hub    *ocsync.Hub
	sync   *ocsync.Server
	keys   *authtoken.Keys
	http   *httptest.Server
	url    string

	runsMu gosync.Mutex
	runs   map[string]int // runs of t:listCounted per listId
}

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func newEnv(t testing.TB, cfg ocsync.Config) *env {
	t.Helper()
	ctx := context.Background()
	store, err := sqlstore.Open(ctx, filepath.Join(t.TempDir(), "db.sqlite"), sqlstore.Options{Migrations: schema.Migrations(), Logger: quietLog()})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{store: store, runs: map[string]int{}}
	e.keys, err = authtoken.Load(ctx, store, "http://test")
	if err != nil {
		t.Fatal(err)
	}
	reg := fn.NewRegistry()
	e.engine = fn.NewEngine(store, reg, quietLog())
	e.engine.Verifier = e.keys
	e.hub = ocsync.NewHub()
	store.Subscribe(e.hub.OnBatch)
	e.sync = ocsync.NewServer(e.engine, e.hub, cfg, quietLog())
	testfns.Register(reg, testfns.Deps{Tokens: e.keys, DropConnections: e.sync.CloseAll, Sync: e.sync})
	reg.Query("t:listCounted", "public", fn.Fields{"listId": fn.V.String()}, func(c *fn.Ctx, a fn.Args) (any, error) {
		e.runsMu.Lock()
		e.runs[a.Str("listId")]++
		e.runsMu.Unlock()
		return c.DB().Query("testItems").Eq("listId", a.Str("listId")).Count()
	})
	e.http = httptest.NewServer(e.sync)
	e.url = "ws" + strings.TrimPrefix(e.http.URL, "http") + "/api/1.48.0/sync"
	t.Cleanup(func() {
		e.http.CloseClientConnections()
		e.http.Close()
		store.Close()
	})
	return e
}

func (e *env) runCount(list string) int {
	e.runsMu.Lock()
	defer e.runsMu.Unlock()
	return e.runs[list]
}

// client is a protocol-speaking WebSocket client.
type client struct {
	t    testing.TB
	ws   *websocket.Conn
	msgs chan map[string]any
	raw  chan string
	done chan struct{}
	err  atomic.Value
}

func (e *env) dial(t testing.TB) *client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, e.url, nil)
	if err != nil {
		t.Fatal(err)
	}
	ws.SetReadLimit(64 << 20)
	c := &client{t: t, ws: ws, msgs: make(chan map[string]any, 1024), raw: make(chan string, 1024), done: make(chan struct{})}
	go func() {
		defer close(c.done)
		for {
			_, b, err := ws.Read(context.Background())
			if err != nil {
				c.err.Store(err)
				return
			}
			var m map[string]any
			if err := json.Unmarshal(b, &m); err != nil {
				c.err.Store(err)
				return
			}
			c.raw <- string(b)
			c.msgs <- m
		}
	}()
	t.Cleanup(func() { ws.CloseNow() })
	return c
}

func (c *client) send(v any) {
	c.t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		c.t.Fatal(err)
	}
	c.sendRaw(string(b))
}

func (c *client) sendRaw(s string) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.ws.Write(ctx, websocket.MessageText, []byte(s)); err != nil {
		c.t.Fatal(err)
	}
}

// next returns the next message that is not a Ping.
func (c *client) next() map[string]any {
	c.t.Helper()
	for {
		select {
		case m := <-c.msgs:
			<-c.raw
			if m["type"] == "Ping" {
				continue
			}
			return m
		case <-c.done:
			select {
			case m := <-c.msgs:
				<-c.raw
				return m
			default:
			}
			c.t.Fatalf("socket closed while waiting for a message: %v", c.err.Load())
		case <-time.After(10 * time.Second):
			c.t.Fatal("no message within 10 s")
		}
	}
}

func (c *client) expect(typ string) map[string]any {
	c.t.Helper()
	m := c.next()
	if m["type"] != typ {
		c.t.Fatalf("want %s, got %v", typ, m)
	}
	return m
}

// closed waits for the server to close the socket and returns the close
// status (-1 if it closed without a close frame).
func (c *client) closed() websocket.StatusCode {
	c.t.Helper()
	select {
	case <-c.done:
	case <-time.After(10 * time.Second):
		c.t.Fatal("socket not closed within 10 s")
	}
	err, _ := c.err.Load().(error)
	return websocket.CloseStatus(err)
}

func (c *client) connect(session string) {
	c.send(map[string]any{"type": "Connect", "sessionId": session, "connectionCount": 0, "lastCloseReason": "InitialConnect", "clientTs": time.Now().UnixMilli()})
}

type add struct {
	id   int
	path string
	args map[string]any
}

func (c *client) modify(base, next int, adds []add, removes ...int) {
	mods := []any{}
	for _, a := range adds {
		mods = append(mods, map[string]any{"type": "Add", "queryId": a.id, "udfPath": a.path, "args": []any{a.args}})
	}
	for _, r := range removes {
		mods = append(mods, map[string]any{"type": "Remove", "queryId": r})
	}
	c.send(map[string]any{"type": "ModifyQuerySet", "baseVersion": base, "newVersion": next, "modifications": mods})
}

func (c *client) mutation(req int, path string, args map[string]any) {
	c.send(map[string]any{"type": "Mutation", "requestId": req, "udfPath": path, "args": []any{args}})
}

// versionOf decodes a Transition's start or end version.
type ver struct {
	querySet, identity int
	ts                 int64
}

func versionOf(t testing.TB, m map[string]any, key string) ver {
	t.Helper()
	v, ok := m[key].(map[string]any)
	if !ok {
		t.Fatalf("transition without %s: %v", key, m)
	}
	ts, err := fn.DecodeTS(v["ts"].(string))
	if err != nil {
		t.Fatal(err)
	}
	return ver{int(v["querySet"].(float64)), int(v["identity"].(float64)), ts}
}

func decodeTS(t testing.TB, s any) int64 {
	t.Helper()
	str, _ := s.(string)
	ts, err := fn.DecodeTS(str)
	if err != nil {
		t.Fatalf("bad ts %v: %v", s, err)
	}
	return ts
}

// mods indexes a Transition's modifications by queryId.
func mods(m map[string]any) map[int]map[string]any {
	out := map[int]map[string]any{}
	list, _ := m["modifications"].([]any)
	for _, x := range list {
		mm := x.(map[string]any)
		out[int(mm["queryId"].(float64))] = mm
	}
	return out
}

func callBig(n int) fn.Call {
	return fn.Call{Path: "_test:big", Args: map[string]any{"bytes": float64(n)}, RequestID: -1}
}

func callCount(list string) fn.Call {
	return fn.Call{Path: "_test:countItems", Args: map[string]any{"listId": list}, RequestID: -1}
}
