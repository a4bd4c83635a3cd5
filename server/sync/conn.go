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

type query struct {
	id      int
	path    string
	args    map[string]any
	journal string
	hash    uint64
	sent    bool
	sub     *Subscription
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

type conn struct {
	srv           *Server
	ws            *websocket.Conn
	id            uint64
	ctx           context.Context
	cancel        context.CancelFunc
	clientVersion string
	caller        fn.Caller
	chunksOK      bool

	inbox chan *clientMessage

	// Worker-owned state.
	sessionID      string
	recvQuerySet   int
	recvIdentity   int
	identity       *fn.Identity
	version        version
	queries        map[int]*query
	removed        []int
	needTransition bool

	dirtyMu  gosync.Mutex
	dirty    map[int]struct{}
	dirtySig chan struct{}

	writeMu  gosync.Mutex
	lastSend atomic.Int64
	lastRecv atomic.Int64
	pinging  atomic.Bool
	closing  atomic.Bool
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
		inbox:     make(chan *clientMessage, 64),
		queries:   map[int]*query{},
		dirtySig:  make(chan struct{}, 1),
		closeDone: make(chan struct{}),
	}
	now := time.Now().UnixNano()
	c.lastSend.Store(now)
	c.lastRecv.Store(now)
	return c
}

// MarkDirty implements Dirtier; called by the hub under its lock.
func (c *conn) MarkDirty(queryID int) {
	c.dirtyMu.Lock()
	if c.dirty == nil {
		c.dirty = map[int]struct{}{}
	}
	c.dirty[queryID] = struct{}{}
	c.dirtyMu.Unlock()
	select {
	case c.dirtySig <- struct{}{}:
	default:
	}
}

func (c *conn) takeDirty() map[int]struct{} {
	c.dirtyMu.Lock()
	d := c.dirty
	c.dirty = nil
	c.dirtyMu.Unlock()
	return d
}

func (c *conn) run() {
	defer c.cleanup()
	go c.readLoop()
	interval := c.srv.Cfg.PingInterval
	timer := time.NewTimer(interval)
	defer timer.Stop()
	for {
		select {
		case <-c.ctx.Done():
			return
		case m, ok := <-c.inbox:
			if !ok {
				return
			}
			if !c.handleAll(m) {
				return
			}
		case <-c.dirtySig:
			if err := c.flush(); err != nil {
				c.fail(err)
				return
			}
		case <-timer.C:
			c.heartbeat()
			timer.Reset(interval)
		}
	}
}

// handleAll handles m and whatever else has already arrived, then sends
// one Transition for all of it (so Connect+Authenticate+ModifyQuerySet on
// a reconnect produce a single Transition with every query).
func (c *conn) handleAll(m *clientMessage) bool {
	for {
		if err := c.handle(m); err != nil {
			c.fail(err)
			return false
		}
		select {
		case next, ok := <-c.inbox:
			if !ok {
				return false
			}
			m = next
			continue
		default:
		}
		break
	}
	if err := c.flush(); err != nil {
		c.fail(err)
		return false
	}
	return true
}

func (c *conn) heartbeat() {
	now := time.Now()
	if now.Sub(time.Unix(0, c.lastSend.Load())) >= c.srv.Cfg.PingInterval-time.Second {
		c.send(map[string]string{"type": "Ping"})
	}
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
				return
			}
			c.lastRecv.Store(time.Now().UnixNano())
		}()
	}
}

func (c *conn) readLoop() {
	defer close(c.inbox)
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
		m := &clientMessage{}
		if typ != websocket.MessageText {
			m = &clientMessage{readErr: &protocolError{"binary frames are not part of the protocol"}}
		} else if err := json.Unmarshal(data, m); err != nil {
			m = &clientMessage{readErr: &protocolError{fmt.Sprintf("malformed message: %v", err)}}
		}
		if m.readErr != nil {
			// The worker owns the connection state: it reports the error
			// after handling the messages that arrived before it.
			select {
			case c.inbox <- m:
			case <-c.ctx.Done():
			}
			return
		}
		select {
		case c.inbox <- m:
		case <-c.ctx.Done():
			return
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
	if !c.closing.CompareAndSwap(false, true) {
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
	}()
}

func (c *conn) cleanup() {
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
}

// send writes one JSON message as a text frame.
func (c *conn) send(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return c.sendRaw(b)
}

func (c *conn) sendRaw(b []byte) error {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	ctx, cancel := context.WithTimeout(c.ctx, 15*time.Second)
	defer cancel()
	err := c.ws.Write(ctx, websocket.MessageText, b)
	if err == nil {
		c.lastSend.Store(time.Now().UnixNano())
	}
	return err
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
	for id := range c.queries {
		c.MarkDirty(id)
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
			c.queries[id] = q
			c.MarkDirty(id)
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
	dirty := c.takeDirty()
	if len(dirty) == 0 && !c.needTransition && len(c.removed) == 0 {
		return nil
	}
	if err := c.checkExpiry(); err != nil {
		return err
	}
	ids := make([]int, 0, len(dirty))
	for id := range dirty {
		if _, ok := c.queries[id]; ok {
			ids = append(ids, id)
		}
	}
	sort.Ints(ids)
	calls := make([]fn.Call, len(ids))
	for i, id := range ids {
		q := c.queries[id]
		calls[i] = fn.Call{Path: q.path, Args: q.args, Identity: c.identity, Caller: c.caller, Reads: sqlstore.NewReadSet(), Journal: q.journal, RequestID: -1}
	}
	var results []fn.Result
	var reads [][]sqlstore.ReadKey
	ts := c.srv.Engine.Store.LastTS()
	if len(calls) > 0 {
		results, reads, ts = c.srv.runQueries(c.ctx, calls)
	}
	if c.ctx.Err() != nil {
		return c.ctx.Err()
	}
	mods := make([]queryModification, 0, len(ids)+len(c.removed))
	for _, id := range c.removed {
		mods = append(mods, queryModification{Type: "QueryRemoved", QueryID: id})
	}
	c.removed = c.removed[:0]
	for i, id := range ids {
		q := c.queries[id]
		r := results[i]
		c.srv.Hub.Update(q.sub, reads[i], ts)
		if r.Journal != "" {
			q.journal = r.Journal
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
	t := transition{Type: "Transition", StartVersion: c.version.wire(), EndVersion: end.wire(), Modifications: mods}
	b, err := json.Marshal(t)
	if err != nil {
		return err
	}
	if err := c.sendTransition(b); err != nil {
		return err
	}
	c.version = end
	c.needTransition = false
	return nil
}

func (c *conn) sendTransition(b []byte) error {
	limit := c.srv.Cfg.ChunkThreshold
	if !c.chunksOK || len(b) <= limit {
		return c.sendRaw(b)
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
		ctx, cancel := context.WithTimeout(c.ctx, 15*time.Second)
		err = c.ws.Write(ctx, websocket.MessageText, msg)
		cancel()
		if err != nil {
			return err
		}
	}
	c.lastSend.Store(time.Now().UnixNano())
	return nil
}
