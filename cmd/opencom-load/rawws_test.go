package main

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// The tool's minimal client against a complete WebSocket server
// (coder/websocket): handshake, masked frames up, every header size down,
// pings answered while reading, and the server's close.
func TestRawWSAgainstCoderServer(t *testing.T) {
	sizes := []int{0, 1, 125, 126, 65535, 65536, 200000}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := websocket.Accept(w, r, nil)
		if err != nil {
			t.Error(err)
			return
		}
		ws.SetReadLimit(1 << 20)
		ctx, cancel := context.WithTimeout(r.Context(), 20*time.Second)
		defer cancel()
		for range sizes {
			typ, p, err := ws.Read(ctx)
			if err != nil {
				t.Errorf("server read: %v", err)
				return
			}
			if typ != websocket.MessageText {
				t.Errorf("server got type %v", typ)
			}
			if err := ws.Write(ctx, websocket.MessageText, p); err != nil { // echo
				t.Errorf("server write: %v", err)
				return
			}
		}
		// A ping needs the client to answer while it reads; the ping's
		// pong is read by CloseRead's reader.
		readCtx := ws.CloseRead(ctx)
		if err := ws.Ping(ctx); err != nil {
			t.Errorf("ping: %v", err)
		}
		ws.Write(ctx, websocket.MessageText, []byte("after ping"))
		ws.Close(websocket.StatusNormalClosure, "bye")
		<-readCtx.Done()
	}))
	defer srv.Close()
	c, err := dialRaw("ws"+strings.TrimPrefix(srv.URL, "http")+"/api/1.48.0/sync", 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.conn.Close()
	var buf []byte
	for _, n := range sizes {
		want := bytes.Repeat([]byte{'a' + byte(n%26)}, n)
		if err := c.writeText(want); err != nil {
			t.Fatal(err)
		}
		got, err := c.readMessage(buf)
		if err != nil {
			t.Fatalf("size %d: %v", n, err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("size %d: echoed %d bytes that differ", n, len(got))
		}
		buf = got
	}
	got, err := c.readMessage(buf)
	if err != nil || string(got) != "after ping" {
		t.Fatalf("after the ping: %q, %v", got, err)
	}
	if _, err := c.readMessage(buf); !errors.Is(err, errRawClosed) {
		t.Fatalf("after the server's close: %v, want errRawClosed", err)
	}
}

func TestRawWSRefusesNonUpgrade(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no", http.StatusForbidden)
	}))
	defer srv.Close()
	if _, err := dialRaw("ws"+strings.TrimPrefix(srv.URL, "http"), 5*time.Second); err == nil || !strings.Contains(err.Error(), "403") {
		t.Fatalf("dial of a non-WebSocket endpoint: %v, want the 403 status", err)
	}
}

func TestIsNumber(t *testing.T) {
	for s, want := range map[string]bool{"0": true, "42": true, "-1.5": true, "1e3": true, "": false, `"4"`: false, "null": false, "4,": false} {
		if got := isNumber([]byte(s)); got != want {
			t.Errorf("isNumber(%q) = %v, want %v", s, got, want)
		}
	}
}
