// Package channel is the token-authenticated channel WebSocket (GET
// /ws?token=...) for integrations that do not speak the Convex protocol.
// Clients subscribe to channels ("conversation:<id>", "workspace:<id>")
// and receive chat_message, status_update and notification events built
// from the store's change feed. Frame formats: docs/channel-websocket.md.
package channel

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/opencom-go/opencom/server/access"
	"github.com/opencom-go/opencom/server/fn"
	"github.com/opencom-go/opencom/sqlstore"
)

// Error codes of error frames (seed: channel-websocket-service).
const (
	ErrInvalidRequest     = "invalid_request"
	ErrUnauthorized       = "unauthorized"
	ErrSubscriptionFailed = "subscription_failed"
	ErrInternal           = "internal_error"
)

// Tuning.
const (
	maxFrame      = 64 << 10
	sendBuffer    = 256
	maxChannels   = 100
	pingEvery     = 30 * time.Second
	writeTimeout  = 10 * time.Second
	recheckPeriod = time.Minute
)

// TokenVerifier checks an agent JWT (authtoken.Keys).
type TokenVerifier interface {
	VerifyToken(ctx context.Context, token string) (*fn.Identity, error)
}

// Service is the channel endpoint of one server.
type Service struct {
	store  *sqlstore.Store
	tokens TokenVerifier
	log    *slog.Logger
	now    func() time.Time

	mu    sync.Mutex
	subs  map[string]map[*conn]struct{} // channel → connections
	conns map[*conn]struct{}

	qmu   sync.Mutex
	queue []sqlstore.Batch
	wake  chan struct{}
}

// New creates the service and starts following the change feed. The feed
// callback runs on the store's writer goroutine, so it only queues the
// batch; a separate goroutine turns it into events.
func New(store *sqlstore.Store, tokens TokenVerifier, log *slog.Logger) *Service {
	if log == nil {
		log = slog.Default()
	}
	s := &Service{store: store, tokens: tokens, log: log, now: time.Now,
		subs: map[string]map[*conn]struct{}{}, conns: map[*conn]struct{}{}, wake: make(chan struct{}, 1)}
	store.Subscribe(s.enqueue)
	go s.run()
	return s
}

func (s *Service) enqueue(b sqlstore.Batch) {
	relevant := false
	for _, c := range b.Changes {
		if c.Table == "messages" || c.Table == "conversations" {
			relevant = true
			break
		}
	}
	if !relevant {
		return
	}
	s.qmu.Lock()
	s.queue = append(s.queue, b)
	s.qmu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// principal is who a connection authenticated as: an agent (userID) or a
// visitor (visitorID + workspaceID of the widget session).
type principal struct {
	userID      string
	visitorID   string
	workspaceID string
	expiresAt   time.Time
}

func (p principal) isVisitor() bool { return p.visitorID != "" }

type conn struct {
	ws       *websocket.Conn
	who      principal
	send     chan []byte
	mu       sync.Mutex
	channels map[string]struct{}
	cancel   context.CancelFunc
}

// ServeHTTP upgrades GET /ws?token=... after checking the token: an
// invalid token is refused with 401 before any WebSocket exists.
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	token := r.URL.Query().Get("token")
	if token == "" {
		http.Error(w, `{"type":"error","data":{"code":"unauthorized","message":"token query parameter required"}}`, http.StatusUnauthorized)
		return
	}
	who, err := s.authenticate(r.Context(), token)
	if err != nil {
		http.Error(w, `{"type":"error","data":{"code":"unauthorized","message":"invalid or expired token"}}`, http.StatusUnauthorized)
		return
	}
	// Integrations and widgets run on other origins; the token is the access control.
	ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
	if err != nil {
		return
	}
	ws.SetReadLimit(maxFrame)
	ctx, cancel := context.WithCancel(context.Background())
	c := &conn{ws: ws, who: who, send: make(chan []byte, sendBuffer), channels: map[string]struct{}{}, cancel: cancel}
	s.mu.Lock()
	s.conns[c] = struct{}{}
	s.mu.Unlock()
	defer s.drop(c)
	go s.writeLoop(ctx, c)
	s.readLoop(ctx, c)
}

func (s *Service) authenticate(ctx context.Context, token string) (principal, error) {
	if strings.HasPrefix(token, "wst_") {
		var p principal
		_, err := s.store.Read(ctx, func(tx *sqlstore.Tx) error {
			d, err := tx.Query("widgetSessions").Eq("tokenHash", access.HashToken(token)).First()
			if err != nil {
				return err
			}
			if d == nil || d.Num("expiresAt") < float64(s.now().UnixMilli()) {
				return errors.New("invalid session")
			}
			p = principal{visitorID: d.Str("visitorId"), workspaceID: d.Str("workspaceId"), expiresAt: time.UnixMilli(int64(d.Num("expiresAt")))}
			return nil
		})
		return p, err
	}
	id, err := s.tokens.VerifyToken(ctx, token)
	if err != nil {
		return principal{}, err
	}
	return principal{userID: id.Subject, expiresAt: id.ExpiresAt}, nil
}

func (s *Service) drop(c *conn) {
	c.cancel()
	s.mu.Lock()
	delete(s.conns, c)
	c.mu.Lock()
	for ch := range c.channels {
		if m := s.subs[ch]; m != nil {
			delete(m, c)
			if len(m) == 0 {
				delete(s.subs, ch)
			}
		}
	}
	c.mu.Unlock()
	s.mu.Unlock()
	c.ws.CloseNow()
}

// Frame is every message in both directions.
type Frame struct {
	Type string          `json:"type"`
	Data json.RawMessage `json:"data,omitempty"`
	ID   any             `json:"id,omitempty"`
}

func frame(typ string, data any, id any) []byte {
	b, _ := json.Marshal(map[string]any{"type": typ, "data": data, "id": id})
	if id == nil {
		b, _ = json.Marshal(map[string]any{"type": typ, "data": data})
	}
	return b
}

func errFrame(code, msg string, extra map[string]any, id any) []byte {
	d := map[string]any{"code": code, "message": msg}
	for k, v := range extra {
		d[k] = v
	}
	return frame("error", d, id)
}

// push queues a frame; a client too slow to drain its buffer is closed
// rather than allowed to hold memory without bound.
func (s *Service) push(c *conn, b []byte) {
	select {
	case c.send <- b:
	default:
		c.ws.Close(websocket.StatusPolicyViolation, "client too slow")
		c.cancel()
	}
}

func (s *Service) writeLoop(ctx context.Context, c *conn) {
	ping := time.NewTicker(pingEvery)
	defer ping.Stop()
	var expire <-chan time.Time
	if !c.who.expiresAt.IsZero() {
		t := time.NewTimer(time.Until(c.who.expiresAt))
		defer t.Stop()
		expire = t.C
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-expire:
			s.writeNow(ctx, c, errFrame(ErrUnauthorized, "token expired", nil, nil))
			c.ws.Close(websocket.StatusPolicyViolation, "token expired")
			c.cancel()
			return
		case b := <-c.send:
			if err := s.writeNow(ctx, c, b); err != nil {
				c.cancel()
				return
			}
		case <-ping.C:
			pctx, cancel := context.WithTimeout(ctx, writeTimeout)
			err := c.ws.Ping(pctx)
			cancel()
			if err != nil {
				c.cancel()
				return
			}
		}
	}
}

func (s *Service) writeNow(ctx context.Context, c *conn, b []byte) error {
	wctx, cancel := context.WithTimeout(ctx, writeTimeout)
	defer cancel()
	return c.ws.Write(wctx, websocket.MessageText, b)
}

func (s *Service) readLoop(ctx context.Context, c *conn) {
	for {
		typ, b, err := c.ws.Read(ctx)
		if err != nil {
			return
		}
		if typ != websocket.MessageText {
			s.push(c, errFrame(ErrInvalidRequest, "frames must be JSON text", nil, nil))
			continue
		}
		var f Frame
		if err := json.Unmarshal(b, &f); err != nil || f.Type == "" {
			s.push(c, errFrame(ErrInvalidRequest, "frame must be a JSON object {type, data}", nil, nil))
			continue
		}
		s.handle(ctx, c, f)
	}
}

func (s *Service) handle(ctx context.Context, c *conn, f Frame) {
	switch f.Type {
	case "ping":
		s.push(c, frame("pong", map[string]any{"time": float64(s.now().UnixMilli())}, f.ID))
	case "subscribe", "unsubscribe":
		var d struct {
			Channel string `json:"channel"`
		}
		if len(f.Data) == 0 || json.Unmarshal(f.Data, &d) != nil || d.Channel == "" {
			s.push(c, errFrame(ErrInvalidRequest, "data.channel is required", nil, f.ID))
			return
		}
		if f.Type == "unsubscribe" {
			s.unsubscribe(c, d.Channel)
			s.push(c, frame("unsubscribed", map[string]any{"channel": d.Channel}, f.ID))
			return
		}
		if err := s.subscribe(ctx, c, d.Channel); err != nil {
			code, msg := ErrSubscriptionFailed, err.Error()
			var ie *internalErr
			if errors.As(err, &ie) {
				s.log.Error("channel subscribe", "err", ie.err)
				code, msg = ErrInternal, "internal error"
			}
			s.push(c, errFrame(code, msg, map[string]any{"channel": d.Channel}, f.ID))
			return
		}
		s.push(c, frame("subscribed", map[string]any{"channel": d.Channel}, f.ID))
	default:
		s.push(c, errFrame(ErrInvalidRequest, "unknown frame type "+f.Type, nil, f.ID))
	}
}

type internalErr struct{ err error }

func (e *internalErr) Error() string { return e.err.Error() }

// authorize decides whether who may listen on channel. Agents need
// conversations.read in the channel's workspace; visitors may only listen
// on their own conversations.
func (s *Service) authorize(ctx context.Context, who principal, channel string) error {
	kind, id, ok := strings.Cut(channel, ":")
	if !ok || !sqlstore.IsID(id) || (kind != "conversation" && kind != "workspace") {
		return errors.New("unknown channel; use conversation:<id> or workspace:<id>")
	}
	denied := errors.New("no access to " + channel)
	var out error
	_, err := s.store.Read(ctx, func(tx *sqlstore.Tx) error {
		ws := id
		if kind == "conversation" {
			conv, err := tx.Get("conversations", id)
			if err != nil {
				return err
			}
			if conv == nil {
				out = denied
				return nil
			}
			if who.isVisitor() {
				if conv.Str("visitorId") != who.visitorID || conv.Str("workspaceId") != who.workspaceID {
					out = denied
				}
				return nil
			}
			ws = conv.Str("workspaceId")
		} else if who.isVisitor() {
			out = denied
			return nil
		}
		c := &fn.Ctx{Context: ctx, Tx: tx, Now: s.now(), Identity: &fn.Identity{Subject: who.userID}}
		if _, err := access.RequirePermission(c, ws, access.ConversationsRead); err != nil {
			var fe *fn.Error
			if errors.As(err, &fe) {
				out = denied
				return nil
			}
			return err
		}
		return nil
	})
	if err != nil {
		return &internalErr{err}
	}
	return out
}

func (s *Service) subscribe(ctx context.Context, c *conn, channel string) error {
	c.mu.Lock()
	n := len(c.channels)
	_, already := c.channels[channel]
	c.mu.Unlock()
	if already {
		return nil
	}
	if n >= maxChannels {
		return errors.New("too many subscriptions on this connection")
	}
	if err := s.authorize(ctx, c.who, channel); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, live := s.conns[c]; !live {
		return nil
	}
	m := s.subs[channel]
	if m == nil {
		m = map[*conn]struct{}{}
		s.subs[channel] = m
	}
	m[c] = struct{}{}
	c.mu.Lock()
	c.channels[channel] = struct{}{}
	c.mu.Unlock()
	return nil
}

func (s *Service) unsubscribe(c *conn, channel string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if m := s.subs[channel]; m != nil {
		delete(m, c)
		if len(m) == 0 {
			delete(s.subs, channel)
		}
	}
	c.mu.Lock()
	delete(c.channels, channel)
	c.mu.Unlock()
}

// Close ends every connection (server shutdown).
func (s *Service) Close() {
	s.mu.Lock()
	conns := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, c := range conns {
		c.ws.Close(websocket.StatusGoingAway, "server shutting down")
		c.cancel()
	}
}
