package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"runtime"
	"runtime/debug"
	"time"
)

// Tx is one function's view of the database: either a snapshot read (Read)
// or a savepoint inside a write transaction (Write). Reads made through a
// Tx are recorded into Reads when it is non-nil.
type Tx struct {
	ctx      context.Context
	q        querier
	ts       int64
	writable bool
	Reads    *ReadSet
	store    *Store
}

type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// TS is the snapshot timestamp of a read, or the commit timestamp a write
// will get if it commits.
func (t *Tx) TS() int64 { return t.ts }

// Store is the store the transaction belongs to.
func (t *Tx) Store() *Store { return t.store }

// Writable reports whether this is a write transaction.
func (t *Tx) Writable() bool { return t.writable }

// Context is the context of the call.
func (t *Tx) Context() context.Context { return t.ctx }

// Exec runs raw SQL (writes only); for the store's own bookkeeping tables.
func (t *Tx) Exec(query string, args ...any) (sql.Result, error) {
	if !t.writable {
		return nil, ErrReadOnly
	}
	return t.q.ExecContext(t.ctx, query, args...)
}

// QueryRow runs a raw single-row query. Reads through it are not recorded.
func (t *Tx) QueryRow(query string, args ...any) *sql.Row {
	return t.q.QueryRowContext(t.ctx, query, args...)
}

// QueryRaw runs a raw query. Reads through it are not recorded.
func (t *Tx) QueryRaw(query string, args ...any) (*sql.Rows, error) {
	return t.q.QueryContext(t.ctx, query, args...)
}

type writeReq struct {
	ctx  context.Context
	fn   func(*Tx) error
	done chan writeRes
}

type writeRes struct {
	ts  int64
	err error
}

// PanicError wraps a panic raised inside a transaction function.
type PanicError struct {
	Value any
	Stack []byte
}

func (p *PanicError) Error() string { return fmt.Sprintf("panic: %v", p.Value) }

// Write runs fn in a write transaction and returns the commit timestamp.
// If fn returns an error (or panics) nothing it wrote is kept. Concurrent
// writes are grouped into one SQLite commit, each in its own savepoint, so
// they share a commit timestamp; a failure in one does not affect the
// others. When Write returns nil the change is committed (and, with
// durability "normal", survives a process crash).
func (s *Store) Write(ctx context.Context, fn func(*Tx) error) (int64, error) {
	if s.closed.Load() {
		return 0, ErrClosed
	}
	req := &writeReq{ctx: ctx, fn: fn, done: make(chan writeRes, 1)}
	select {
	case s.writes <- req:
	case <-s.done:
		return 0, ErrClosed
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	// Once queued, the write will be decided; wait for the outcome even if
	// ctx ends, so callers never see "cancelled" for a committed write.
	res := <-req.done
	return res.ts, res.err
}

func (s *Store) writeLoop() {
	defer s.wg.Done()
	batch := make([]*writeReq, 0, s.opts.MaxBatch)
	prev := 0
	for {
		batch = batch[:0]
		select {
		case r := <-s.writes:
			batch = append(batch, r)
		case <-s.done:
			// Drain what is queued before stopping.
			for {
				select {
				case r := <-s.writes:
					s.commitGroup([]*writeReq{r})
				default:
					return
				}
			}
		}
		if prev > 1 {
			// Writes are arriving concurrently: let the goroutines that are
			// about to enqueue one run first, so that more share this commit.
			runtime.Gosched()
		}
	fill:
		for len(batch) < s.opts.MaxBatch {
			select {
			case r := <-s.writes:
				batch = append(batch, r)
			default:
				break fill
			}
		}
		prev = len(batch)
		s.commitGroup(batch)
	}
}

// tsLeaseAhead is how far ahead of the newest commit the stored clock is
// set when it must move: one _meta write per second of commits at most.
// After a restart the clock resumes up to this much ahead of the last
// commit, which keeps it monotonic and costs nothing else.
const tsLeaseAhead = time.Second

func (s *Store) nextTS() int64 {
	now := s.opts.Now().UnixNano()
	last := s.lastTS.Load()
	if now <= last {
		now = last + 1
	}
	return now
}

// EnsureTSAbove moves the commit clock past ts (used when a client has seen
// a later timestamp than this database, e.g. after restoring a backup).
func (s *Store) EnsureTSAbove(ctx context.Context, ts int64) error {
	if s.lastTS.Load() > ts {
		return nil
	}
	_, err := s.Write(ctx, func(tx *Tx) error { return nil })
	for err == nil && s.lastTS.Load() <= ts {
		s.lastTS.Store(ts)
		_, err = s.Write(ctx, func(tx *Tx) error { return nil })
	}
	return err
}

func (s *Store) commitGroup(batch []*writeReq) {
	ctx := context.Background()
	if s.stmts == nil {
		s.stmts = &stmtCache{conn: s.wconn, m: map[string]*sql.Stmt{}}
	}
	c := s.stmts
	fail := func(err error) {
		for _, r := range batch {
			r.done <- writeRes{err: err}
		}
	}
	s.pending = s.pending[:0]
	s.committed = false
	if _, err := c.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		fail(fmt.Errorf("begin: %w", err))
		return
	}
	ts := s.nextTS()
	errs := make([]error, len(batch))
	anyOK := false
	for i, r := range batch {
		if err := r.ctx.Err(); err != nil {
			errs[i] = err
			continue
		}
		mark := len(s.pending)
		if _, err := c.ExecContext(ctx, "SAVEPOINT w"); err != nil {
			errs[i] = err
			continue
		}
		tx := &Tx{ctx: r.ctx, q: c, ts: ts, writable: true, store: s}
		err := runGuarded(tx, r.fn)
		if err != nil {
			if _, rerr := c.ExecContext(ctx, "ROLLBACK TO w"); rerr != nil {
				err = errors.Join(err, rerr)
			}
			s.pending = s.pending[:mark]
		} else {
			anyOK = true
		}
		if _, rerr := c.ExecContext(ctx, "RELEASE w"); rerr != nil && err == nil {
			err = rerr
		}
		errs[i] = err
	}
	if !anyOK {
		c.ExecContext(ctx, "ROLLBACK")
		for i, r := range batch {
			r.done <- writeRes{err: errs[i]}
		}
		return
	}
	lease := s.tsLease
	if ts > lease {
		lease = ts + int64(tsLeaseAhead)
		if _, err := c.ExecContext(ctx, `UPDATE _meta SET value=? WHERE key='ts'`, lease); err != nil {
			c.ExecContext(ctx, "ROLLBACK")
			fail(fmt.Errorf("record commit timestamp: %w", err))
			return
		}
	}
	s.snapMu.Lock()
	_, err := c.ExecContext(ctx, "COMMIT")
	if err != nil {
		s.snapMu.Unlock()
		c.ExecContext(ctx, "ROLLBACK")
		s.pending = s.pending[:0]
		fail(fmt.Errorf("commit: %w", err))
		return
	}
	s.lastTS.Store(ts)
	s.tsLease = lease
	// Publish only what SQLite's commit hook confirmed was committed.
	if s.committed && len(s.pending) > 0 {
		changes := make([]Change, len(s.pending))
		copy(changes, s.pending)
		s.publish(Batch{TS: ts, Changes: changes})
	}
	s.pending = s.pending[:0]
	s.snapMu.Unlock()
	for i, r := range batch {
		if errs[i] != nil {
			r.done <- writeRes{err: errs[i]}
		} else {
			r.done <- writeRes{ts: ts}
		}
	}
}

func runGuarded(tx *Tx, fn func(*Tx) error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = &PanicError{Value: p, Stack: debug.Stack()}
		}
	}()
	return fn(tx)
}

// Read runs fn on a consistent snapshot and returns the snapshot's
// timestamp: every commit with ts <= the returned value is visible, none
// after it, and every such commit has already been published to Subscribe.
func (s *Store) Read(ctx context.Context, fn func(*Tx) error) (int64, error) {
	if s.closed.Load() {
		return 0, ErrClosed
	}
	conn, err := s.readers.Conn(ctx)
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN"); err != nil {
		return 0, err
	}
	defer conn.ExecContext(context.Background(), "ROLLBACK")
	var lease, ts int64
	// The first read fixes the WAL snapshot; holding snapMu makes sure it
	// is not taken between a COMMIT and that commit's publication, so the
	// snapshot holds exactly the commits up to lastTS.
	s.snapMu.RLock()
	err = conn.QueryRowContext(ctx, `SELECT value FROM _meta WHERE key='ts'`).Scan(&lease)
	ts = s.lastTS.Load()
	s.snapMu.RUnlock()
	if err != nil {
		return 0, fmt.Errorf("read snapshot timestamp: %w", err)
	}
	tx := &Tx{ctx: ctx, q: conn, ts: ts, store: s}
	return ts, runGuarded(tx, fn)
}

// stmtCache runs the writer's SQL through statements prepared once:
// re-parsing the same few statements on every write was about a fifth of
// the CPU of a small mutation. Only the writer goroutine uses it.
type stmtCache struct {
	conn *sql.Conn
	m    map[string]*sql.Stmt
}

const maxCachedStmts = 512

func (c *stmtCache) stmt(q string) *sql.Stmt {
	if st := c.m[q]; st != nil {
		return st
	}
	if len(c.m) >= maxCachedStmts {
		return nil
	}
	st, err := c.conn.PrepareContext(context.Background(), q)
	if err != nil {
		return nil // let the unprepared call report the error
	}
	c.m[q] = st
	return st
}

func (c *stmtCache) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	if st := c.stmt(q); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return c.conn.ExecContext(ctx, q, args...)
}

func (c *stmtCache) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	if st := c.stmt(q); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return c.conn.QueryContext(ctx, q, args...)
}

func (c *stmtCache) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	if st := c.stmt(q); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return c.conn.QueryRowContext(ctx, q, args...)
}

func (c *stmtCache) close() {
	for _, st := range c.m {
		st.Close()
	}
	c.m = nil
}
