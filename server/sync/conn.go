package sync

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"net"
	"net/http"
	"sort"
	"strconv"
	gosync "sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/opencom-go/opencom/server/fn"
	"github.com/opencom-go/opencom/sqlstore"
)

var hashSeed = maphash.MakeSeed()

// encodeBufs holds Transition encoding buffers shared by all sockets (a
// buffer per socket would stay allocated while the socket idles).
var encodeBufs = gosync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

type query struct {
	id      int
	path    string
	args    map[string]any
	journal string
	hash    uint64
	sent    bool
	sub     *Subscription
	// key is the shared-result cache key, kept until the identity or the
	// journal changes (empty: compute again).
	key string
}

// protocolError is a client bug: FatalError, then close (no reconnect).
type protocolError struct{ msg string }

func (e *protocolError) Error() string { return e.msg }

// closeError closes the socket so that the client reconnects.
type closeError struct {
	code   websocket.StatusCode
	reason string
}

func (e *closeError) Error() string { return e.reason }

// inFrame is one frame as read, decoded by the worker: the reader only
// reads, so its goroutine (the only one an idle socket keeps) stays small.
type inFrame struct {
	data   []byte
	binary bool
}

// A conn is one socket. An idle socket costs one goroutine, the reader,
// blocked in Read. Work (frames to handle, queries to re-run after a
// commit, pings) is done by a worker goroutine started on demand and
// ended when there is nothing left to do: at most one runs at a time, and
// it owns the protocol state below. A commit watched by thousands of idle
// sockets thus wakes short-lived workers instead of thousands of parked
// goroutines with grown stacks.
type conn struct {
	srv           *Server
	ws            *websocket.Conn
	fc            *frameConn // the hijacked socket, for data frames
	id            uint64
	ctx           context.Context
	cancel        context.CancelFunc
	clientVersion string
	caller        fn.Caller
	chunksOK      bool

	inbox   chan inFrame
	queued  atomic.Int32 // frames in inbox (len(inbox) costs a cache miss per socket on every commit)
	running atomic.Bool  // a worker is running (or the conn is finished)
	woken   atomic.Bool  // the hub marked a subscription since the last flush
	pingDue atomic.Bool
	timer   *time.Timer

	// Worker-owned state.
	sessionID      string
	recvQuerySet   int
	recvIdentity   int
	identity       *fn.Identity
	version        version
	queries        map[int]*query
	removed        []int
	needTransition bool
	finished       bool

	writeMu    gosync.Mutex
	writeSince atomic.Int64 // start of the write in progress (0: none)
	lastSend   atomic.Int64
	lastRecv   atomic.Int64
	pinging    atomic.Bool
	closing    atomic.Bool
	// closeDone is closed once a close started by closeWith or an auth
	// failure has finished.
	closeDone chan struct{}
}

func newConn(s *Server, ws *websocket.Conn, r *http.Request, clientVersion string) *conn {
	ctx, cancel := context.WithCancel(context.Background())
	ip, _, _ := net.SplitHostPort(r.RemoteAddr)
	c := &conn{
		srv: s, ws: ws, id: s.nextID.Add(1), ctx: ctx, cancel: cancel,
		clientVersion: clientVersion, chunksOK: chunksSupported(clientVersion),
		caller:    fn.Caller{IP: ip, Origin: r.Header.Get("Origin"), UserAgent: r.UserAgent(), Transport: "ws"},
		inbox:     make(chan inFrame, 16),
		queries:   map[int]*query{},
		closeDone: make(chan struct{}),
	}
	now := time.Now().UnixNano()
	c.lastSend.Store(now)
	c.lastRecv.Store(now)
	return c
}

// start begins serving: the reader goroutine and the heartbeat timer.
func (c *conn) start() {
	// Armed only once assigned: heartbeat re-arms c.timer.
	c.timer = time.AfterFunc(time.Hour, c.heartbeat)
	c.timer.Reset(c.srv.Cfg.PingInterval)
	go c.readLoop()
}

// Wake implements Owner: the subscription is marked; the worker's next
// flush finds it.
func (c *conn) Wake(int) {
	c.woken.Store(true)
	c.kick()
}

// kick starts a worker unless one is running: on its own goroutine when
// frames are waiting (or the socket is ending), else on the flush pool.
func (c *conn) kick() {
	if c.running.CompareAndSwap(false, true) {
		if c.queued.Load() > 0 || c.ctx.Err() != nil {
			go c.work(false)
		} else {
			c.srv.pool.submit(c)
		}
	}
}

func (c *conn) hasWork() bool {
	return c.queued.Load() > 0 || c.woken.Load() || c.pingDue.Load() || c.ctx.Err() != nil
}

// work runs the worker loop; on the pool it hands the socket over to a
// goroutine of its own as soon as client frames are waiting.
func (c *conn) work(onPool bool) {
	for {
		if onPool && (c.queued.Load() > 0 || c.ctx.Err() != nil) {
			go c.work(false) // the running flag goes with it
			return
		}
		if !c.step(!onPool) {
			// running stays set: no worker starts again. Finishing may
			// wait for a close handshake: not on the pool.
			if onPool {
				go c.finish()
			} else {
				c.finish()
			}
			return
		}
		c.running.Store(false)
		// Work that arrived after step looked but before the flag was
		// cleared would otherwise wait for the next kick.
		if !c.hasWork() || !c.running.CompareAndSwap(false, true) {
			return
		}
	}
}

// step handles every frame that has arrived, then sends one Transition
// for all of it (so Connect+Authenticate+ModifyQuerySet on a reconnect
// produce a single Transition with every query) and for queries a commit
// made dirty. It reports false when the connection is over.
func (c *conn) step(frames bool) bool {
	if c.ctx.Err() != nil {
		return false
	}
	if frames {
		if err := c.handleFrames(); err != nil {
			c.fail(err)
			return false
		}
	}
	if c.pingDue.Swap(false) {
		c.sendRaw([]byte(`{"type":"Ping"}`))
	}
	if err := c.flush(); err != nil {
		c.fail(err)
		return false
	}
	return c.ctx.Err() == nil
}

// handleFrames handles the frames that have arrived, in order.
func (c *conn) handleFrames() error {
	for {
		select {
		case f := <-c.inbox:
			c.queued.Add(-1)
			if err := c.handleFrame(f); err != nil {
				return err
			}
		default:
			return nil
		}
	}
}

func (c *conn) handleFrame(f inFrame) error {
	if f.binary {
		return &protocolError{"binary frames are not part of the protocol"}
	}
	m := &clientMessage{}
	if err := json.Unmarshal(f.data, m); err != nil {
		return &protocolError{fmt.Sprintf("malformed message: %v", err)}
	}
	return c.handle(m)
}

// heartbeat runs on the connection's timer: it drops a peer whose write
// has been stuck, asks the worker for a Ping after a silence, and checks
// a silent peer with a WebSocket ping.
func (c *conn) heartbeat() {
	if c.ctx.Err() != nil {
		return
	}
	now := time.Now()
	interval := c.srv.Cfg.PingInterval
	defer c.timer.Reset(interval)
	if ws := c.writeSince.Load(); ws != 0 && now.Sub(time.Unix(0, ws)) >= c.srv.Cfg.WriteTimeout {
		c.srv.Log.Info("sync: peer stopped reading; closing", "conn", c.id)
		c.ws.CloseNow()
		c.cancel()
		return
	}
	if now.Sub(time.Unix(0, c.lastSend.Load())) >= interval-time.Second {
		c.pingDue.Store(true)
		c.kick()
	}
	c.srv.pool.unstall()
	timeout := c.srv.Cfg.PeerTimeout
	if now.Sub(time.Unix(0, c.lastRecv.Load())) >= timeout && c.pinging.CompareAndSwap(false, true) {
		go func() {
			defer c.pinging.Store(false)
			ctx, cancel := context.WithTimeout(c.ctx, timeout)
			defer cancel()
			if err := c.ws.Ping(ctx); err != nil {
				if c.ctx.Err() == nil {
					c.srv.Log.Info("sync: peer did not answer ping; closing", "conn", c.id)
				}
				c.cancel()
				c.kick()
				return
			}
			c.lastRecv.Store(time.Now().UnixNano())
		}()
	}
}

func (c *conn) readLoop() {
	defer c.kick() // the worker notices the end and cleans up
	for {
		typ, data, err := c.ws.Read(c.ctx)
		if err != nil {
			var ce websocket.CloseError
			if !errors.As(err, &ce) && c.ctx.Err() == nil && !c.closing.Load() {
				if errors.Is(err, websocket.ErrMessageTooBig) {
					c.srv.Log.Warn("sync: client frame over read limit", "conn", c.id, "limit", c.srv.Cfg.ReadLimit)
				} else {
					c.srv.Log.Debug("sync: read ended", "conn", c.id, "err", err)
				}
			}
			c.cancel()
			return
		}
		c.lastRecv.Store(time.Now().UnixNano())
		f := inFrame{data: data, binary: typ != websocket.MessageText}
		select {
		case c.inbox <- f:
		default:
			// The worker is behind: wait for room (backpressure on the
			// client) after making sure one is running.
			c.kick()
			select {
			case c.inbox <- f:
			case <-c.ctx.Done():
				return
			}
		}
		c.queued.Add(1)
		c.kick()
		if f.binary {
			return // the worker closes the socket after earlier frames
		}
	}
}

// fail ends the connection according to the kind of error.
func (c *conn) fail(err error) {
	if c.ctx.Err() != nil || c.closing.Load() {
		return // already going away; nothing useful to tell the peer
	}
	var pe *protocolError
	var ce *closeError
	var ae *authFailure
	switch {
	case errors.As(err, &pe):
		c.srv.Log.Warn("sync: protocol violation; closing", "conn", c.id, "session", c.sessionID, "err", pe.msg)
		c.send(fatalError{Type: "FatalError", Error: pe.msg})
		c.closeWith(websocket.StatusPolicyViolation, truncate(pe.msg, 120))
	case errors.As(err, &ae):
		c.send(authError{Type: "AuthError", Error: ae.msg, BaseVersion: ae.baseVersion, AuthUpdateAttempted: ae.attempted})
		if c.closing.CompareAndSwap(false, true) {
			c.ws.CloseNow()
			close(c.closeDone)
		}
		c.cancel()
	case errors.As(err, &ce):
		c.srv.Log.Info("sync: closing connection", "conn", c.id, "reason", ce.reason)
		c.closeWith(ce.code, ce.reason)
	default:
		c.srv.Log.Error("sync: internal error; closing so the client reconnects", "conn", c.id, "err", err)
		c.closeWith(websocket.StatusInternalError, "InternalServerError")
	}
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

func (c *conn) closeWith(code websocket.StatusCode, reason string) {
	// Under writeMu: a data frame is either written before the close
	// frame or not at all (writeLocked checks closing).
	c.writeMu.Lock()
	first := c.closing.CompareAndSwap(false, true)
	c.writeMu.Unlock()
	if !first {
		return
	}
	go func() {
		// Close waits for the peer's close frame; don't let a dead peer
		// hold us, and let the worker stop right away.
		done := make(chan struct{})
		go func() { c.ws.Close(code, reason); close(done) }()
		select {
		case <-done:
		case <-time.After(3 * time.Second):
			c.ws.CloseNow()
		}
		c.cancel()
		close(c.closeDone)
		c.kick()
	}()
}

// finish releases the connection once; it runs on the last worker.
func (c *conn) finish() {
	if c.finished {
		return
	}
	c.finished = true
	c.timer.Stop()
	for _, q := range c.queries {
		if q.sub != nil {
			c.srv.Hub.Remove(q.sub)
		}
	}
	c.queries = nil
	if c.closing.Load() {
		// Cancelling aborts the reader's pending Read, and coder/websocket
		// then drops the TCP connection: wait until the close frame (with
		// the reason that sets the client's backoff) has gone out.
		<-c.closeDone
	}
	c.cancel()
	if !c.closing.Load() {
		c.ws.CloseNow()
	}
	c.srv.forget(c)
}

// send writes one JSON message as a text frame.
func (c *conn) send(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return c.sendRaw(b)
}

// sendRaw writes one text frame. Writes carry no context deadline (which
// would arm a timer per frame); the heartbeat drops a socket whose write
// has been pending longer than Cfg.WriteTimeout.
func (c *conn) sendRaw(b []byte) error {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	return c.writeLocked(b)
}

func (c *conn) writeLocked(b []byte) error {
	bp := encodeBufs.Get().(*[]byte)
	buf := append(append((*bp)[:0], make([]byte, frameHeaderMax)...), b...)
	err := c.writeFrameLocked(buf)
	putEncodeBuf(bp, buf)
	return err
}

// writeFrameLocked writes buf[frameHeaderMax:] as one text frame straight
// to the socket.
func (c *conn) writeFrameLocked(buf []byte) error {
	if c.ctx.Err() != nil {
		return c.ctx.Err()
	}
	if c.closing.Load() {
		return net.ErrClosed
	}
	// One clock read: a frame counts as sent when its write began.
	now := time.Now().UnixNano()
	c.writeSince.Store(now)
	err := c.fc.writeTextFrame(buf)
	c.writeSince.Store(0)
	if err == nil {
		c.lastSend.Store(now)
	}
	return err
}

// putEncodeBuf returns a buffer from encodeBufs, keeping small ones only.
func putEncodeBuf(bp *[]byte, b []byte) {
	if cap(b) <= 64<<10 {
		*bp = b
		encodeBufs.Put(bp)
	}
}

type authFailure struct {
	msg         string
	baseVersion int
	attempted   bool
}

func (e *authFailure) Error() string { return e.msg }

func (c *conn) handle(m *clientMessage) error {
	if m.readErr != nil {
		return m.readErr
	}
	switch m.Type {
	case "Connect":
		c.sessionID = m.SessionID
		if m.MaxObservedTimestamp != "" {
			ts, err := fn.DecodeTS(m.MaxObservedTimestamp)
			if err != nil {
				return &protocolError{"invalid maxObservedTimestamp"}
			}
			// A client that saw a later timestamp (e.g. before a restore
			// from backup) must never see time go backwards.
			if ts > c.srv.Engine.Store.LastTS() {
				if err := c.srv.Engine.Store.EnsureTSAbove(c.ctx, ts); err != nil {
					return err
				}
			}
		}
		return nil
	case "Authenticate":
		return c.handleAuth(m)
	case "ModifyQuerySet":
		return c.handleModify(m)
	case "Mutation":
		return c.handleMutation(m)
	case "Action":
		return c.handleAction(m)
	case "Event":
		return nil
	}
	return &protocolError{fmt.Sprintf("unknown message type %q", m.Type)}
}

func (c *conn) handleAuth(m *clientMessage) error {
	if m.BaseVersion == nil || *m.BaseVersion != c.recvIdentity {
		got := -1
		if m.BaseVersion != nil {
			got = *m.BaseVersion
		}
		return &protocolError{fmt.Sprintf("Base identity version %d passed up doesn't match the current version %d", got, c.recvIdentity)}
	}
	var ident *fn.Identity
	switch m.TokenType {
	case "None":
	case "User":
		if c.srv.Engine.Verifier == nil {
			return &authFailure{msg: "No auth provider is configured", baseVersion: c.recvIdentity, attempted: true}
		}
		id, err := c.srv.Engine.Verifier.VerifyToken(c.ctx, m.Value)
		if err != nil {
			return &authFailure{msg: "Could not verify token: " + err.Error(), baseVersion: c.recvIdentity, attempted: true}
		}
		ident = id
	case "Admin":
		return &authFailure{msg: "Admin keys are not accepted by this server", baseVersion: c.recvIdentity, attempted: true}
	default:
		return &protocolError{fmt.Sprintf("unknown tokenType %q", m.TokenType)}
	}
	c.identity = ident
	c.recvIdentity++
	c.needTransition = true
	// Results may depend on who is asking: re-run everything.
	for _, q := range c.queries {
		q.key = ""
		q.sub.MarkDirty()
	}
	return nil
}

func (c *conn) handleModify(m *clientMessage) error {
	if m.BaseVersion == nil || *m.BaseVersion != c.recvQuerySet {
		got := -1
		if m.BaseVersion != nil {
			got = *m.BaseVersion
		}
		return &protocolError{fmt.Sprintf("Base version %d passed up doesn't match the current version %d", got, c.recvQuerySet)}
	}
	if m.NewVersion <= *m.BaseVersion {
		return &protocolError{fmt.Sprintf("New query set version %d is not after %d", m.NewVersion, *m.BaseVersion)}
	}
	for _, mod := range m.Modifications {
		if mod.QueryID == nil {
			return &protocolError{"query modification without queryId"}
		}
		id := *mod.QueryID
		switch mod.Type {
		case "Add":
			if _, dup := c.queries[id]; dup {
				return &closeError{websocket.StatusInternalError, "InternalServerError"}
			}
			if len(c.queries) >= c.srv.Cfg.MaxQueries {
				return &closeError{websocket.StatusTryAgainLater, "TooManyConcurrentRequests"}
			}
			args, err := decodeArgs(mod.Args)
			if err != nil {
				return &protocolError{fmt.Sprintf("query %d: %v", id, err)}
			}
			q := &query{id: id, path: fn.CanonicalPath(mod.UdfPath), args: args}
			if mod.Journal != nil {
				q.journal = *mod.Journal
			}
			q.sub = NewSubscription(c, id)
			q.sub.MarkDirty()
			c.queries[id] = q
		case "Remove":
			q, ok := c.queries[id]
			if !ok {
				return &closeError{websocket.StatusInternalError, "InternalServerError"}
			}
			c.srv.Hub.Remove(q.sub)
			delete(c.queries, id)
			c.removed = append(c.removed, id)
		default:
			return &protocolError{fmt.Sprintf("unknown query modification %q", mod.Type)}
		}
	}
	c.recvQuerySet = m.NewVersion
	c.needTransition = true
	return nil
}

func (c *conn) checkExpiry() error {
	if c.identity != nil && !c.identity.ExpiresAt.IsZero() && time.Now().After(c.identity.ExpiresAt) {
		return &authFailure{msg: "Token expired", baseVersion: c.recvIdentity - 1, attempted: false}
	}
	return nil
}

func (c *conn) handleMutation(m *clientMessage) error {
	if m.RequestID == nil {
		return &protocolError{"Mutation without requestId"}
	}
	if err := c.checkExpiry(); err != nil {
		return err
	}
	rid := *m.RequestID
	args, err := decodeArgs(m.Args)
	mctx := c.ctx
	var drop *atomic.Bool
	if c.srv.testHooks.Load() {
		drop = new(atomic.Bool)
		mctx = context.WithValue(c.ctx, dropKey{}, drop)
	}
	var res fn.Result
	if err != nil {
		res = fn.Result{Err: fn.ErrInvalid("%v", err)}
	} else {
		res = c.srv.Engine.Mutation(mctx, fn.Call{
			Path: m.UdfPath, Args: args, Identity: c.identity, Caller: c.caller,
			SessionID: c.sessionID, RequestID: rid,
		})
	}
	if c.ctx.Err() != nil {
		return c.ctx.Err()
	}
	if drop != nil && drop.Load() && res.Err == nil && !res.Replayed {
		// Test hook: the mutation is committed but the client never hears
		// of it on this socket, so it must replay it after reconnecting.
		return &closeError{websocket.StatusInternalError, "InternalServerError"}
	}
	value, errData := resultMessage(res)
	resp := mutationResponse{Type: "MutationResponse", RequestID: rid, Success: res.Err == nil, Result: value, LogLines: nonNil(res.LogLines), ErrorData: errData}
	if res.Err == nil {
		ts := fn.EncodeTS(res.TS)
		resp.TS = &ts
		c.needTransition = true
	}
	return c.send(resp)
}

func (c *conn) handleAction(m *clientMessage) error {
	if m.RequestID == nil {
		return &protocolError{"Action without requestId"}
	}
	if err := c.checkExpiry(); err != nil {
		return err
	}
	rid := *m.RequestID
	args, err := decodeArgs(m.Args)
	ident := c.identity
	go func() {
		var res fn.Result
		if err != nil {
			res = fn.Result{Err: fn.ErrInvalid("%v", err)}
		} else {
			res = c.srv.Engine.Action(c.ctx, fn.Call{Path: m.UdfPath, Args: args, Identity: ident, Caller: c.caller, RequestID: -1})
		}
		if c.ctx.Err() != nil {
			return
		}
		value, errData := resultMessage(res)
		c.send(actionResponse{Type: "ActionResponse", RequestID: rid, Success: res.Err == nil, Result: value, LogLines: nonNil(res.LogLines), ErrorData: errData})
	}()
	return nil
}

// flush re-runs dirty queries on one snapshot and sends a Transition if
// anything changed or the client awaits one.
func (c *conn) flush() error {
	// Clear the wake-up before taking the marks: a mark made after a
	// subscription was looked at comes with a wake-up that runs flush again.
	c.woken.Store(false)
	sc := scratchPool.Get().(*flushScratch)
	defer sc.release()
	ids := sc.ids[:0]
	for id, q := range c.queries {
		if q.sub.TakeDirty() {
			ids = append(ids, id)
		}
	}
	sc.ids = ids
	if len(ids) == 0 && !c.needTransition && len(c.removed) == 0 {
		return nil
	}
	if err := c.checkExpiry(); err != nil {
		return err // the socket closes: the taken marks do not matter
	}
	sort.Ints(ids)
	call := func(i int) fn.Call {
		q := c.queries[ids[i]]
		return fn.Call{Path: q.path, Args: q.args, Identity: c.identity, Caller: c.caller, Journal: q.journal, RequestID: -1}
	}
	keys := append(sc.keys[:0], make([]string, len(ids))...)
	sc.keys = keys
	for i, id := range ids {
		q := c.queries[id]
		if q.key == "" {
			q.key = cacheKey(call(i))
		}
		keys[i] = q.key
	}
	var results []fn.Result
	var reads [][]sqlstore.ReadKey
	ts := c.srv.Engine.Store.LastTS()
	if len(ids) > 0 {
		results, reads, ts = c.srv.runQueries(c.ctx, keys, call, sc)
	}
	if c.ctx.Err() != nil {
		return c.ctx.Err()
	}
	mods := sc.mods[:0]
	defer func() { sc.mods = mods }()
	for _, id := range c.removed {
		mods = append(mods, queryModification{Type: "QueryRemoved", QueryID: id})
	}
	c.removed = c.removed[:0]
	for i, id := range ids {
		q := c.queries[id]
		r := results[i]
		c.srv.Hub.Update(q.sub, reads[i], ts)
		if r.Journal != "" && r.Journal != q.journal {
			q.journal = r.Journal
			q.key = ""
		}
		var h maphash.Hash
		h.SetSeed(hashSeed)
		var mod queryModification
		var journal *string
		if q.journal != "" {
			j := q.journal
			journal = &j
		}
		if r.Err != nil {
			mod = queryModification{Type: "QueryFailed", QueryID: id, ErrorMessage: r.Err.Message, ErrorData: r.Err.Data(), LogLines: r.LogLines, Journal: journal}
			h.WriteString("E")
			h.WriteString(r.Err.Code)
			h.WriteString(r.Err.Message)
		} else {
			mod = queryModification{Type: "QueryUpdated", QueryID: id, Value: r.Value, LogLines: r.LogLines, Journal: journal}
			h.WriteString("V")
			h.Write(r.Value)
		}
		for _, l := range r.LogLines {
			h.WriteString(l)
		}
		sum := h.Sum64()
		if q.sent && sum == q.hash {
			continue
		}
		q.sent, q.hash = true, sum
		mods = append(mods, mod)
	}
	if len(mods) == 0 && !c.needTransition {
		return nil
	}
	if ts < c.version.ts {
		ts = c.version.ts
	}
	end := version{querySet: c.recvQuerySet, identity: c.recvIdentity, ts: ts}
	bp := encodeBufs.Get().(*[]byte)
	// Room for the frame header, so the frame goes out without a copy.
	b, err := appendTransition(append((*bp)[:0], make([]byte, frameHeaderMax)...), c.version, end, mods)
	if err != nil {
		return err
	}
	err = c.sendTransition(b)
	putEncodeBuf(bp, b)
	if err != nil {
		return err
	}
	c.version = end
	c.needTransition = false
	return nil
}

// sendTransition sends the Transition in buf[frameHeaderMax:], in chunks
// if it is over the threshold and the client takes them.
func (c *conn) sendTransition(buf []byte) error {
	b := buf[frameHeaderMax:]
	limit := c.srv.Cfg.ChunkThreshold
	if !c.chunksOK || len(b) <= limit {
		c.writeMu.Lock()
		defer c.writeMu.Unlock()
		return c.writeFrameLocked(buf)
	}
	parts := splitUTF8(string(b), limit)
	id := strconv.Itoa(len(b))
	// Parts must be consecutive: hold the write lock for all of them.
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	for i, p := range parts {
		msg, err := json.Marshal(transitionChunk{Type: "TransitionChunk", Chunk: p, PartNumber: i, TotalParts: len(parts), TransitionID: id})
		if err != nil {
			return err
		}
		if err := c.writeLocked(msg); err != nil {
			return err
		}
	}
	return nil
}
