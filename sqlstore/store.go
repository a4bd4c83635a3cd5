// Package sqlstore is Opencom's storage engine: one SQLite file in WAL mode,
// one serialised writer with group commit, a pool of snapshot readers,
// embedded migrations, Convex-shaped documents and a change feed built from
// SQLite's pre-update/commit/rollback hooks.
package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"modernc.org/sqlite"
)

// Durability selects SQLite's synchronous mode for the WAL.
//   - "normal": an acknowledged write survives a crash of the process (the
//     WAL frames are in the OS before COMMIT returns) but may be lost on
//     power failure.
//   - "full": the WAL is fsynced on every commit, so acknowledged writes also
//     survive power loss, at a large cost in commit rate.
const (
	DurabilityNormal = "normal"
	DurabilityFull   = "full"
)

// Options configure Open.
type Options struct {
	Durability string // "normal" (default) or "full"
	// Migrations holds files named NNNN_description.sql at its root,
	// applied in order, each in its own transaction.
	Migrations fs.FS
	// ReadConns is the size of the reader pool (default max(4, 2*GOMAXPROCS)).
	ReadConns int
	// MaxBatch bounds how many queued writes share one commit (default 64).
	MaxBatch int
	Logger   *slog.Logger
	// Now is the clock used for commit timestamps (tests inject one).
	Now func() time.Time
}

// Errors callers test for.
var (
	ErrSchemaTooNew = errors.New("database schema is newer than this binary")
	ErrReadOnly     = errors.New("write attempted in a read-only transaction")
	ErrClosed       = errors.New("store is closed")
)

// Store is an open database.
type Store struct {
	path string
	opts Options
	log  *slog.Logger

	writer  *sql.DB
	wconn   *sql.Conn
	stmts   *stmtCache // writer goroutine only
	readers *sql.DB

	writes chan *writeReq
	done   chan struct{}
	closed atomic.Bool
	wg     sync.WaitGroup

	// snapMu orders snapshot creation against commit+publish: a reader that
	// sees commit T is guaranteed that batch T has already been published,
	// so subscribers never miss an invalidation for data a query has read.
	snapMu sync.RWMutex
	lastTS atomic.Int64
	// tsLease is the commit timestamp stored in _meta: every commit so far
	// has ts <= tsLease, so a restart resumes the clock from it. It is
	// moved ahead by tsLeaseAhead at a time, in the commit that passes it,
	// instead of rewriting _meta's page in every commit (writer only).
	tsLease int64

	tables atomic.Pointer[map[string]*tableInfo]

	// pending is filled by the pre-update hook; only the writer goroutine
	// touches it.
	pending   []Change
	committed bool

	feedMu sync.RWMutex
	subs   []func(Batch)

	schemaVersion int
}

type tableInfo struct {
	name    string
	columns []string // all columns in order
	keyCols []string // columns other than doc, in order
	colIdx  map[string]int
	docIdx  int
}

func dsn(path string, durability string, readOnly bool) string {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "journal_mode(WAL)")
	sync := "NORMAL"
	if durability == DurabilityFull {
		sync = "FULL"
	}
	q.Add("_pragma", "synchronous("+sync+")")
	if !readOnly {
		// Checkpoint every ~16 MB of WAL instead of SQLite's ~4 MB: a
		// checkpoint copies each page once however many commits changed
		// it, and small commits keep changing the same few pages.
		q.Add("_pragma", "wal_autocheckpoint(4000)")
	}
	if readOnly {
		q.Add("_pragma", "query_only(1)")
	}
	return "file:" + path + "?" + q.Encode()
}

// Open opens (creating if needed) the database at path and applies pending
// migrations. It refuses a database whose schema is newer than Migrations.
func Open(ctx context.Context, path string, opts Options) (*Store, error) {
	if opts.Durability == "" {
		opts.Durability = DurabilityNormal
	}
	if opts.Durability != DurabilityNormal && opts.Durability != DurabilityFull {
		return nil, fmt.Errorf("invalid durability %q (want normal or full)", opts.Durability)
	}
	if opts.ReadConns <= 0 {
		opts.ReadConns = max(4, 2*runtime.GOMAXPROCS(0))
	}
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = 64
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, fmt.Errorf("create data dir: %w", err)
		}
	}
	s := &Store{path: path, opts: opts, log: opts.Logger, writes: make(chan *writeReq, 1024), done: make(chan struct{})}
	empty := map[string]*tableInfo{}
	s.tables.Store(&empty)

	var err error
	s.writer, err = sql.Open("sqlite", dsn(path, opts.Durability, false))
	if err != nil {
		return nil, err
	}
	s.writer.SetMaxOpenConns(1)
	s.writer.SetConnMaxLifetime(0)
	s.wconn, err = s.writer.Conn(ctx)
	if err != nil {
		s.writer.Close()
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	if err := s.wconn.PingContext(ctx); err != nil {
		s.closeDBs()
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	var mode string
	if err := s.wconn.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		s.closeDBs()
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	if mode != "wal" {
		s.closeDBs()
		return nil, fmt.Errorf("open database %s: could not enable WAL (journal_mode=%s)", path, mode)
	}
	if err := s.migrate(ctx); err != nil {
		s.closeDBs()
		return nil, err
	}
	if err := s.loadTables(ctx); err != nil {
		s.closeDBs()
		return nil, err
	}
	if err := s.installHooks(); err != nil {
		s.closeDBs()
		return nil, err
	}
	s.readers, err = sql.Open("sqlite", dsn(path, opts.Durability, true))
	if err != nil {
		s.closeDBs()
		return nil, err
	}
	s.readers.SetMaxOpenConns(opts.ReadConns)
	s.readers.SetMaxIdleConns(opts.ReadConns)
	s.wg.Add(1)
	go s.writeLoop()
	return s, nil
}

func (s *Store) closeDBs() {
	if s.wconn != nil {
		s.wconn.Close()
	}
	if s.writer != nil {
		s.writer.Close()
	}
	if s.readers != nil {
		s.readers.Close()
	}
}

// Path is the database file.
func (s *Store) Path() string { return s.path }

// SchemaVersion is the newest migration applied.
func (s *Store) SchemaVersion() int { return s.schemaVersion }

// LastTS is the commit timestamp of the newest commit (unix nanoseconds,
// strictly increasing, persisted across restarts).
func (s *Store) LastTS() int64 { return s.lastTS.Load() }

// Close stops accepting writes, finishes queued ones, checkpoints the WAL
// and closes the database.
func (s *Store) Close() error {
	if !s.closed.CompareAndSwap(false, true) {
		return nil
	}
	close(s.done)
	s.wg.Wait()
	var errs []error
	if s.readers != nil {
		errs = append(errs, s.readers.Close())
	}
	if s.stmts != nil {
		s.stmts.close()
	}
	if _, err := s.wconn.ExecContext(context.Background(), "PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
		errs = append(errs, fmt.Errorf("checkpoint: %w", err))
	}
	errs = append(errs, s.wconn.Close(), s.writer.Close())
	return errors.Join(errs...)
}

// Ping checks that the database answers a read.
func (s *Store) Ping(ctx context.Context) error {
	if s.closed.Load() {
		return ErrClosed
	}
	var one int
	return s.readers.QueryRowContext(ctx, "SELECT 1").Scan(&one)
}

func (s *Store) loadTables(ctx context.Context) error {
	rows, err := s.wconn.QueryContext(ctx, `SELECT name FROM sqlite_schema WHERE type='table' AND name NOT LIKE 'sqlite_%'`)
	if err != nil {
		return err
	}
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			rows.Close()
			return err
		}
		names = append(names, n)
	}
	rows.Close()
	m := map[string]*tableInfo{}
	for _, n := range names {
		ti := &tableInfo{name: n, colIdx: map[string]int{}, docIdx: -1}
		crows, err := s.wconn.QueryContext(ctx, `SELECT name FROM pragma_table_info(?) ORDER BY cid`, n)
		if err != nil {
			return err
		}
		for crows.Next() {
			var c string
			if err := crows.Scan(&c); err != nil {
				crows.Close()
				return err
			}
			ti.colIdx[c] = len(ti.columns)
			if c == "doc" {
				ti.docIdx = len(ti.columns)
			} else {
				ti.keyCols = append(ti.keyCols, c)
			}
			ti.columns = append(ti.columns, c)
		}
		crows.Close()
		m[n] = ti
	}
	s.tables.Store(&m)
	return nil
}

func (s *Store) table(name string) *tableInfo {
	return (*s.tables.Load())[name]
}

// IsDocTable reports whether name is a document table (has _id and doc).
func (s *Store) IsDocTable(name string) bool {
	t := s.table(name)
	return t != nil && t.docIdx >= 0 && hasCol(t, "_id")
}

func hasCol(t *tableInfo, c string) bool { _, ok := t.colIdx[c]; return ok }

// rawConn runs f with the writer's driver connection.
func (s *Store) installHooks() error {
	return s.wconn.Raw(func(dc any) error {
		h, ok := dc.(sqlite.HookRegisterer)
		if !ok {
			return errors.New("sqlite driver does not expose hooks")
		}
		h.RegisterPreUpdateHook(s.onPreUpdate)
		h.RegisterCommitHook(func() int32 {
			s.committed = true
			return 0
		})
		h.RegisterRollbackHook(func() {
			s.pending = s.pending[:0]
			s.committed = false
		})
		return nil
	})
}
