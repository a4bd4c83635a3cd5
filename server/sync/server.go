package sync

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	gosync "sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/opencom-go/opencom/server/fn"
)

// Config tunes the sync endpoint.
type Config struct {
	// ChunkThreshold is the Transition size above which it is sent as
	// TransitionChunks (default 4 MiB).
	ChunkThreshold int
	// PingInterval is the silence after which a {"type":"Ping"} is sent
	// (default 15 s; the client drops the socket after 60 s of silence).
	PingInterval time.Duration
	// PeerTimeout is how long the peer may stay silent before a WebSocket
	// ping checks it is alive (default 30 s; the ping must be answered
	// within the same time).
	PeerTimeout time.Duration
	// WriteTimeout is how long one frame write may block (a peer that
	// stopped reading) before the socket is dropped (default 15 s; checked
	// on the ping timer).
	WriteTimeout time.Duration
	// ReadLimit bounds one client frame (default 16 MiB + 64 KiB).
	ReadLimit int64
	// MaxQueries bounds a socket's query set (default 5,000).
	MaxQueries int
	// OriginPatterns restricts browser origins (empty: any origin; access
	// is controlled by tokens, and the widget runs on customers' sites).
	OriginPatterns []string
}

func (c *Config) defaults() {
	if c.ChunkThreshold <= 0 {
		c.ChunkThreshold = 4 << 20
	}
	if c.PingInterval <= 0 {
		c.PingInterval = 15 * time.Second
	}
	if c.PeerTimeout <= 0 {
		c.PeerTimeout = 30 * time.Second
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = 15 * time.Second
	}
	if c.ReadLimit <= 0 {
		c.ReadLimit = 16<<20 + 64<<10
	}
	if c.MaxQueries <= 0 {
		c.MaxQueries = 5000
	}
}

// Server is the WebSocket endpoint /api/{clientVersion}/sync.
type Server struct {
	Engine *fn.Engine
	Hub    *Hub
	Cfg    Config
	Log    *slog.Logger

	mu        gosync.Mutex
	conns     map[*conn]struct{}
	nextID    atomic.Uint64
	draining  atomic.Bool
	testHooks atomic.Bool
	cache     resultCache
	pool      flushPool
}

// EnableTestHooks turns on DropAfterCommit (test mode only).
func (s *Server) EnableTestHooks() { s.testHooks.Store(true) }

type dropKey struct{}

// DropAfterCommit asks the sync server to close the calling socket right
// after the running mutation commits, before its MutationResponse is sent,
// so conformance tests can exercise the client's replay of mutations. It
// reports whether the hook is active (test hooks on, called from a
// mutation that arrived over a socket).
func DropAfterCommit(ctx context.Context) bool {
	b, ok := ctx.Value(dropKey{}).(*atomic.Bool)
	if ok {
		b.Store(true)
	}
	return ok
}

// NewServer makes a sync server over engine; hub must be subscribed to the
// engine's store.
func NewServer(engine *fn.Engine, hub *Hub, cfg Config, log *slog.Logger) *Server {
	cfg.defaults()
	if log == nil {
		log = slog.Default()
	}
	s := &Server{Engine: engine, Hub: hub, Cfg: cfg, Log: log, conns: map[*conn]struct{}{}}
	hub.mu.Lock()
	hub.onInvalidate = append(hub.onInvalidate, s.cache.reset)
	hub.mu.Unlock()
	return s
}

// Connections is the number of open sockets.
func (s *Server) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

// ServeHTTP upgrades the request and serves the protocol until the socket
// closes. The client version is the path segment before "/sync".
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.draining.Load() {
		http.Error(w, "server is shutting down", http.StatusServiceUnavailable)
		return
	}
	clientVersion := ""
	if p := strings.TrimSuffix(r.URL.Path, "/sync"); strings.HasPrefix(p, "/api/") {
		clientVersion = strings.TrimPrefix(p, "/api/")
	}
	opts := &websocket.AcceptOptions{CompressionMode: websocket.CompressionDisabled}
	if len(s.Cfg.OriginPatterns) > 0 {
		opts.OriginPatterns = s.Cfg.OriginPatterns
	} else {
		opts.InsecureSkipVerify = true
	}
	hc := &hijackCapture{ResponseWriter: w}
	ws, err := websocket.Accept(hc, r, opts)
	if err != nil {
		s.Log.Debug("sync: upgrade failed", "err", err, "remote", r.RemoteAddr)
		return
	}
	if hc.fc == nil {
		// Accept hijacks through hc; a socket it did not hand over
		// cannot carry our frames.
		s.Log.Error("sync: upgraded socket was not captured", "remote", r.RemoteAddr)
		ws.CloseNow()
		return
	}
	ws.SetReadLimit(s.Cfg.ReadLimit)
	c := newConn(s, ws, r, clientVersion)
	c.fc = hc.fc
	s.mu.Lock()
	s.conns[c] = struct{}{}
	s.mu.Unlock()
	// The socket is hijacked: it lives on in its own goroutines, and this
	// handler's (deep, net/http) stack is released.
	c.start()
}

// forget drops a finished connection.
func (s *Server) forget(c *conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
}

// Shutdown stops accepting sockets and closes the open ones with code 1001
// so clients reconnect (to this server once it is back).
func (s *Server) Shutdown(ctx context.Context) {
	s.draining.Store(true)
	s.mu.Lock()
	conns := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	var wg gosync.WaitGroup
	for _, c := range conns {
		wg.Add(1)
		go func(c *conn) {
			defer wg.Done()
			c.closeWith(websocket.StatusGoingAway, "ServerShutdown")
		}(c)
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
	}
}

// CloseAll closes every socket with an internal-error reason (tests use it
// to simulate a server-side drop; clients reconnect after ~1 s).
func (s *Server) CloseAll() int {
	s.mu.Lock()
	conns := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, c := range conns {
		c.closeWith(websocket.StatusInternalError, "InternalServerError")
	}
	return len(conns)
}
