// Package testenv builds the real parts domain-module tests run on: a
// fresh SQLite store with the application's migrations, a quiet logger, an
// injectable clock, and the server wiring. Only tests import it.
package testenv

import (
	"context"
	"io"
	"io/fs"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/opencom-go/opencom/server"
	"github.com/opencom-go/opencom/server/schema"
	"github.com/opencom-go/opencom/sqlstore"
)

// Start is where test clocks begin.
var Start = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// Clock is a settable clock for the engine and token verifiers.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a clock at Start.
func NewClock() *Clock { return &Clock{t: Start} }

func (c *Clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *Clock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }
func (c *Clock) Ms() float64         { return float64(c.Now().UnixMilli()) }

// QuietLog discards everything.
func QuietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// Store opens a store in a temp dir with migs (nil: the application's
// migrations) and closes it when the test ends.
func Store(t testing.TB, migs fs.FS) *sqlstore.Store {
	t.Helper()
	if migs == nil {
		migs = schema.Migrations()
	}
	st, err := sqlstore.Open(context.Background(), filepath.Join(t.TempDir(), "opencom.db"), sqlstore.Options{Migrations: migs, Logger: QuietLog()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// Server wires a server over a new Store (see Store for migs); it is shut
// down before the store closes.
func Server(t testing.TB, cfg server.Config, migs fs.FS) *server.Server {
	t.Helper()
	st := Store(t, migs)
	s, err := server.New(context.Background(), cfg, st, QuietLog())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Shutdown(context.Background()) })
	return s
}
