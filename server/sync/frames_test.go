package sync

import (
	"bytes"
	"context"
	"encoding/binary"
	"net/http"
	"net/http/httptest"
	"strings"
	gosync "sync"
	"testing"
	"time"

	"github.com/coder/websocket"
)

func TestPutTextHeader(t *testing.T) {
	cases := []struct {
		n    int
		want []byte
	}{
		{0, []byte{0x81, 0}},
		{125, []byte{0x81, 125}},
		{126, []byte{0x81, 126, 0, 126}},
		{65535, []byte{0x81, 126, 0xFF, 0xFF}},
		{65536, append([]byte{0x81, 127}, binary.BigEndian.AppendUint64(nil, 65536)...)},
	}
	for _, tc := range cases {
		room := make([]byte, frameHeaderMax)
		start := putTextHeader(room, tc.n)
		if got := room[start:]; !bytes.Equal(got, tc.want) {
			t.Errorf("n=%d: header % x, want % x", tc.n, got, tc.want)
		}
	}
}

// Frames written straight to the socket reach a real WebSocket client
// whole and in order, of every header size, while coder/websocket writes
// pings on the same socket from another goroutine.
func TestDirectFramesInterleaveWithControlFrames(t *testing.T) {
	sizes := []int{0, 1, 125, 126, 4000, 65535, 65536, 100000}
	payload := func(i, n int) []byte {
		return []byte(strings.Repeat(string(rune('a'+i)), n))
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hc := &hijackCapture{ResponseWriter: w}
		ws, err := websocket.Accept(hc, r, &websocket.AcceptOptions{CompressionMode: websocket.CompressionDisabled})
		if err != nil {
			t.Error(err)
			return
		}
		if hc.fc == nil {
			t.Error("socket not captured")
			return
		}
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go func() { // reads pongs (and the client's close)
			for {
				if _, _, err := ws.Read(ctx); err != nil {
					return
				}
			}
		}()
		var wg gosync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 20; i++ {
				// A ping waits behind the data already in the socket's buffers.
				pctx, pcancel := context.WithTimeout(ctx, 20*time.Second)
				err := ws.Ping(pctx)
				pcancel()
				if err != nil {
					t.Errorf("ping %d: %v", i, err)
					return
				}
			}
		}()
		for round := 0; round < 8; round++ {
			for i, n := range sizes {
				buf := append(make([]byte, frameHeaderMax), payload(i, n)...)
				if err := hc.fc.writeTextFrame(buf); err != nil {
					t.Errorf("write: %v", err)
					return
				}
			}
		}
		wg.Wait()
		ws.Close(websocket.StatusNormalClosure, "")
	}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	c.SetReadLimit(1 << 20)
	for round := 0; round < 8; round++ {
		for i, n := range sizes {
			typ, got, err := c.Read(ctx)
			if err != nil {
				t.Fatalf("round %d frame %d: %v", round, i, err)
			}
			if typ != websocket.MessageText || !bytes.Equal(got, payload(i, n)) {
				t.Fatalf("round %d frame %d: type %v, %d bytes, want %d of %q", round, i, typ, len(got), n, rune('a'+i))
			}
		}
	}
	if _, _, err := c.Read(ctx); websocket.CloseStatus(err) != websocket.StatusNormalClosure {
		t.Fatalf("after the frames: %v, want a normal close", err)
	}
}
