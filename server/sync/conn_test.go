package sync_test

import (
	"context"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	ocsync "github.com/opencom-go/opencom/server/sync"
)

// connGoroutines counts goroutines running the sync server's per-socket
// code (reader, worker).
func connGoroutines() int {
	buf := make([]byte, 1<<22)
	buf = buf[:runtime.Stack(buf, true)]
	n := 0
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "server/sync.(*conn)") {
			n++
		}
	}
	return n
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// An idle subscribed socket keeps one goroutine (its reader); the worker
// exists only while there is work, and a commit still reaches every socket.
func TestIdleSocketsHoldOneGoroutine(t *testing.T) {
	e := newEnv(t, ocsync.Config{})
	const n = 20
	clients := make([]*client, n)
	for i := range clients {
		c := e.dial(t)
		c.connect("idle")
		c.modify(0, 1, []add{{0, "_test:countItems", map[string]any{"listId": "idle"}}})
		c.expect("Transition")
		clients[i] = c
	}
	waitFor(t, "workers to stop", func() bool { return connGoroutines() == n })

	w := e.dial(t)
	w.connect("writer")
	w.mutation(0, "_test:addItem", map[string]any{"listId": "idle", "text": "x"})
	w.expect("MutationResponse")
	for i, c := range clients {
		m := c.expect("Transition")
		if v := mods(m)[0]["value"]; v != float64(1) {
			t.Fatalf("client %d: count %v after the write, want 1", i, v)
		}
	}
	waitFor(t, "workers to stop after the commit", func() bool { return connGoroutines() == n+1 })
}

// A silent server sends {"type":"Ping"} so the client's idle timer does
// not drop the socket.
func TestPingAfterSilence(t *testing.T) {
	e := newEnv(t, ocsync.Config{PingInterval: 1200 * time.Millisecond})
	c := e.dial(t)
	c.connect("ping")
	c.modify(0, 1, []add{{0, "_test:countItems", map[string]any{"listId": "p"}}})
	c.expect("Transition")
	select {
	case m := <-c.msgs:
		<-c.raw
		if m["type"] != "Ping" {
			t.Fatalf("want Ping, got %v", m)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no Ping within 5 s of silence")
	}
}

// A peer that stops answering WebSocket pings is dropped and its
// subscriptions leave the hub's index.
func TestDeadPeerReleased(t *testing.T) {
	e := newEnv(t, ocsync.Config{PingInterval: 200 * time.Millisecond, PeerTimeout: 300 * time.Millisecond})
	// Never Read: coder/websocket answers pings only while reading.
	e.subscribeRaw(t, "dead", "_test:countItems", `{"listId":"dead"}`)
	waitFor(t, "the subscription", func() bool { return e.hub.Stats() > 0 })
	waitFor(t, "the dead peer to be dropped", func() bool { return e.sync.Connections() == 0 })
	waitFor(t, "its subscription to leave the index", func() bool { return e.hub.Stats() == 0 })
	waitFor(t, "its goroutines to end", func() bool { return connGoroutines() == 0 })
}

// A peer that stops reading blocks the server's writes once the socket
// buffers are full; the heartbeat drops it after WriteTimeout instead of
// holding its worker (and its subscriptions) forever.
func TestStuckWriteDropped(t *testing.T) {
	e := newEnv(t, ocsync.Config{PingInterval: 100 * time.Millisecond, WriteTimeout: 300 * time.Millisecond, PeerTimeout: time.Hour})
	// More than loopback's socket buffers hold, and never read.
	e.subscribeRaw(t, "stuck", "_test:big", `{"bytes":24000000}`)
	waitFor(t, "the socket", func() bool { return e.sync.Connections() == 1 })
	waitFor(t, "the stuck peer to be dropped", func() bool { return e.sync.Connections() == 0 })
	waitFor(t, "its subscription to leave the index", func() bool { return e.hub.Stats() == 0 })
}

// subscribeRaw opens a socket that connects as session and subscribes to
// one query (args: its JSON object) as query 0, and returns it without
// reading anything; it is closed when the test ends.
func (e *env) subscribeRaw(t testing.TB, session, path, args string) *websocket.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, e.url, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ws.CloseNow() })
	for _, m := range []string{
		`{"type":"Connect","sessionId":"` + session + `","connectionCount":0,"clientTs":0}`,
		`{"type":"ModifyQuerySet","baseVersion":0,"newVersion":1,"modifications":[{"type":"Add","queryId":0,"udfPath":"` + path + `","args":[` + args + `]}]}`,
	} {
		if err := ws.Write(ctx, websocket.MessageText, []byte(m)); err != nil {
			t.Fatal(err)
		}
	}
	return ws
}
