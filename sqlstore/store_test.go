package sqlstore

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

func openTest(t testing.TB, opts Options) *Store {
	t.Helper()
	if opts.Migrations == nil {
		opts.Migrations = os.DirFS("testdata/migrations")
	}
	s, err := Open(context.Background(), filepath.Join(t.TempDir(), "t.db"), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

type feedLog struct {
	mu      sync.Mutex
	batches []Batch
}

func (f *feedLog) add(b Batch) { f.mu.Lock(); f.batches = append(f.batches, b); f.mu.Unlock() }
func (f *feedLog) all() []Batch {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Batch(nil), f.batches...)
}

func TestChangeFeedPublishesCommittedRowsInOrder(t *testing.T) {
	s := openTest(t, Options{})
	var log feedLog
	s.Subscribe(log.add)
	ctx := context.Background()
	var id1 string
	ts1, err := s.Write(ctx, func(tx *Tx) error {
		var err error
		id1, err = tx.Insert("items", Doc{"workspaceId": "w1", "listId": "a", "title": "one"})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	ts2, err := s.Write(ctx, func(tx *Tx) error {
		if err := tx.Patch("items", id1, Doc{"listId": "b"}); err != nil {
			return err
		}
		_, err := tx.Insert("items", Doc{"workspaceId": "w1", "listId": "c"})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	ts3, err := s.Write(ctx, func(tx *Tx) error { return tx.Delete("items", id1) })
	if err != nil {
		t.Fatal(err)
	}
	if !(ts1 < ts2 && ts2 < ts3) {
		t.Fatalf("timestamps not increasing: %d %d %d", ts1, ts2, ts3)
	}
	got := log.all()
	if len(got) != 3 {
		t.Fatalf("want 3 batches, got %d", len(got))
	}
	for i, want := range []struct {
		ts  int64
		ops []Op
	}{{ts1, []Op{OpInsert}}, {ts2, []Op{OpUpdate, OpInsert}}, {ts3, []Op{OpDelete}}} {
		b := got[i]
		if b.TS != want.ts {
			t.Errorf("batch %d ts %d, want %d", i, b.TS, want.ts)
		}
		if len(b.Changes) != len(want.ops) {
			t.Fatalf("batch %d: %d changes, want %d", i, len(b.Changes), len(want.ops))
		}
		for j, op := range want.ops {
			if b.Changes[j].Op != op || b.Changes[j].Table != "items" {
				t.Errorf("batch %d change %d = %v %s", i, j, b.Changes[j].Op, b.Changes[j].Table)
			}
		}
	}
	upd := got[1].Changes[0]
	if upd.ID != id1 || upd.Old["listId"] != "a" || upd.New["listId"] != "b" || upd.New["workspaceId"] != "w1" {
		t.Errorf("update change keys wrong: %+v", upd)
	}
	if _, ok := upd.New["doc"]; ok {
		t.Errorf("doc body must not be in the change keys")
	}
	if got[2].Changes[0].Old["_id"] != id1 || got[2].Changes[0].New != nil {
		t.Errorf("delete change wrong: %+v", got[2].Changes[0])
	}
	var touched []ReadKey
	got[1].TouchedKeys(func(k ReadKey) { touched = append(touched, k) })
	want := map[ReadKey]bool{TableKey("items"): true, FieldKey("items", "listId", "a"): true, FieldKey("items", "listId", "b"): true, FieldKey("items", "listId", "c"): true}
	for k := range want {
		found := false
		for _, tk := range touched {
			if tk == k {
				found = true
			}
		}
		if !found {
			t.Errorf("batch 2 does not touch %v", k)
		}
	}
	for _, tk := range touched {
		if tk == FieldKey("items", "listId", "z") {
			t.Errorf("touches unrelated key")
		}
	}
}

func TestFailedWritesPublishNothing(t *testing.T) {
	s := openTest(t, Options{})
	var log feedLog
	s.Subscribe(log.add)
	ctx := context.Background()
	boom := errors.New("boom")
	cases := map[string]func(tx *Tx) error{
		"error after insert": func(tx *Tx) error {
			if _, err := tx.Insert("items", Doc{"listId": "x"}); err != nil {
				return err
			}
			return boom
		},
		"panic after insert": func(tx *Tx) error {
			tx.Insert("items", Doc{"listId": "x"})
			panic("kaboom")
		},
		"failed statement": func(tx *Tx) error {
			if _, err := tx.Insert("items", Doc{"listId": "x"}); err != nil {
				return err
			}
			_, err := tx.Exec("INSERT INTO items(_id) VALUES (NULL, 1)")
			return err
		},
		"unknown table": func(tx *Tx) error {
			_, err := tx.Insert("nope", Doc{})
			return err
		},
	}
	for name, fn := range cases {
		if _, err := s.Write(ctx, fn); err == nil {
			t.Errorf("%s: want error", name)
		}
	}
	if n := len(log.all()); n != 0 {
		t.Fatalf("failed writes published %d batches", n)
	}
	_, err := s.Read(ctx, func(tx *Tx) error {
		n, err := tx.Query("items").Count()
		if n != 0 {
			t.Errorf("failed writes left %d rows", n)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestGroupCommitIsolatesFailures(t *testing.T) {
	s := openTest(t, Options{})
	var log feedLog
	s.Subscribe(log.add)
	ctx := context.Background()
	var wg sync.WaitGroup
	const n = 200
	errs := make([]error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			_, errs[i] = s.Write(ctx, func(tx *Tx) error {
				if _, err := tx.Insert("items", Doc{"listId": "g", "rank": float64(i)}); err != nil {
					return err
				}
				if i%3 == 0 {
					return errors.New("odd one out")
				}
				return nil
			})
		}(i)
	}
	wg.Wait()
	ok := 0
	for i, err := range errs {
		if (err != nil) != (i%3 == 0) {
			t.Fatalf("write %d: err=%v", i, err)
		}
		if err == nil {
			ok++
		}
	}
	published := 0
	var last int64
	for _, b := range log.all() {
		if b.TS <= last {
			t.Fatalf("batch ts not increasing")
		}
		last = b.TS
		published += len(b.Changes)
	}
	if published != ok {
		t.Fatalf("published %d changes, committed %d", published, ok)
	}
	s.Read(ctx, func(tx *Tx) error {
		c, _ := tx.Query("items").Eq("listId", "g").Count()
		if c != ok {
			t.Errorf("rows %d, want %d", c, ok)
		}
		return nil
	})
}

func TestReadersDoNotBlockWriter(t *testing.T) {
	s := openTest(t, Options{})
	ctx := context.Background()
	if _, err := s.Write(ctx, func(tx *Tx) error { _, err := tx.Insert("items", Doc{"listId": "r"}); return err }); err != nil {
		t.Fatal(err)
	}
	hold := make(chan struct{})
	inside := make(chan int64)
	go s.Read(ctx, func(tx *Tx) error {
		tx.Query("items").Count()
		inside <- tx.TS()
		<-hold
		// The open snapshot still sees only what existed when it began.
		n, _ := tx.Query("items").Count()
		if n != 1 {
			t.Errorf("snapshot saw %d rows, want 1", n)
		}
		inside <- 0
		return nil
	})
	snapTS := <-inside
	done := make(chan int64)
	go func() {
		ts, err := s.Write(ctx, func(tx *Tx) error { _, err := tx.Insert("items", Doc{"listId": "r"}); return err })
		if err != nil {
			t.Error(err)
		}
		done <- ts
	}()
	select {
	case ts := <-done:
		if ts <= snapTS {
			t.Errorf("commit ts %d not after snapshot %d", ts, snapTS)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("writer blocked by an open reader")
	}
	close(hold)
	<-inside
}

func TestTimestampsMonotonicAcrossReopenAndBackwardClock(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "t.db")
	ctx := context.Background()
	future := time.Now().Add(time.Hour)
	s, err := Open(ctx, path, Options{Migrations: os.DirFS("testdata/migrations"), Now: func() time.Time { return future }})
	if err != nil {
		t.Fatal(err)
	}
	ts1, err := s.Write(ctx, func(tx *Tx) error { _, err := tx.Insert("items", Doc{}); return err })
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	// The clock went back an hour; timestamps must not.
	s, err = Open(ctx, path, Options{Migrations: os.DirFS("testdata/migrations")})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ts2, err := s.Write(ctx, func(tx *Tx) error { _, err := tx.Insert("items", Doc{}); return err })
	if err != nil {
		t.Fatal(err)
	}
	if ts2 <= ts1 {
		t.Fatalf("ts went backwards across restart: %d then %d", ts1, ts2)
	}
}

func TestRefusesNewerSchema(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "t.db")
	ctx := context.Background()
	s, err := Open(ctx, path, Options{Migrations: os.DirFS("testdata/migrations")})
	if err != nil {
		t.Fatal(err)
	}
	s.Write(ctx, func(tx *Tx) error {
		_, err := tx.Exec(`INSERT INTO _schema_migrations(version,name,applied_at) VALUES (99,'future',0)`)
		return err
	})
	s.Close()
	_, err = Open(ctx, path, Options{Migrations: os.DirFS("testdata/migrations")})
	if !errors.Is(err, ErrSchemaTooNew) {
		t.Fatalf("want ErrSchemaTooNew, got %v", err)
	}
}

func TestIDs(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 10000; i++ {
		id := NewID()
		if !IsID(id) {
			t.Fatalf("bad id %q", id)
		}
		if seen[id] {
			t.Fatal("duplicate id")
		}
		seen[id] = true
	}
	for _, bad := range []string{"", "ABC", "abc", "0123456789abcdef0123456789abcde_", "0123456789abcdef0123456789abcdefg"} {
		if IsID(bad) {
			t.Errorf("IsID(%q) = true", bad)
		}
	}
}

func TestPaginationStableUnderInserts(t *testing.T) {
	s := openTest(t, Options{})
	ctx := context.Background()
	insert := func(n int) {
		for i := 0; i < n; i++ {
			if _, err := s.Write(ctx, func(tx *Tx) error { _, err := tx.Insert("items", Doc{"listId": "p"}); return err }); err != nil {
				t.Fatal(err)
			}
		}
	}
	insert(25)
	seen := map[string]int{}
	cursor := ""
	for pages := 0; ; pages++ {
		var pg Page
		s.Read(ctx, func(tx *Tx) error {
			var err error
			pg, err = tx.Query("items").Eq("listId", "p").Desc().Paginate(PageOpts{NumItems: 7, Cursor: cursor})
			return err
		})
		for _, d := range pg.Page {
			seen[d.ID()]++
		}
		insert(3) // new items land before page 1 and must not shift later pages
		if pg.IsDone {
			break
		}
		cursor = pg.ContinueCursor
		if pages > 20 {
			t.Fatal("pagination did not end")
		}
	}
	if len(seen) != 25 {
		t.Fatalf("saw %d distinct of the first 25 items", len(seen))
	}
	for id, n := range seen {
		if n != 1 {
			t.Fatalf("item %s seen %d times", id, n)
		}
	}
	_, err := s.Read(ctx, func(tx *Tx) error {
		_, err := tx.Query("items").Paginate(PageOpts{NumItems: 2, Cursor: "garbage!"})
		return err
	})
	if !errors.Is(err, ErrInvalidCursor) {
		t.Fatalf("want ErrInvalidCursor, got %v", err)
	}
}

// The stored clock is a lease: it covers every commit (so a restart
// resumes after them) without rewriting _meta in each commit, and a
// snapshot's timestamp is still exactly its newest commit's.
func TestCommitClockLease(t *testing.T) {
	ctx := context.Background()
	var mu sync.Mutex
	now := time.Unix(1_800_000_000, 0)
	s := openTest(t, Options{Now: func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		now = now.Add(time.Millisecond)
		return now
	}})
	stored := func() int64 {
		var v int64
		if _, err := s.Read(ctx, func(tx *Tx) error {
			return tx.q.QueryRowContext(ctx, `SELECT value FROM _meta WHERE key='ts'`).Scan(&v)
		}); err != nil {
			t.Fatal(err)
		}
		return v
	}
	var first, last int64
	leases := map[int64]bool{}
	for i := 0; i < 50; i++ {
		ts, err := s.Write(ctx, func(tx *Tx) error { _, err := tx.Insert("items", Doc{}); return err })
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			first = ts
		}
		last = ts
		snap, err := s.Read(ctx, func(tx *Tx) error { return nil })
		if err != nil {
			t.Fatal(err)
		}
		if snap != ts {
			t.Fatalf("snapshot after commit %d has ts %d, want %d", i, snap, ts)
		}
		lease := stored()
		if lease < ts {
			t.Fatalf("stored clock %d is behind commit %d", lease, ts)
		}
		leases[lease] = true
	}
	// 50 commits 1 ms apart (plus the reads' clock ticks) fit in one lease.
	if len(leases) != 1 || !leases[first+int64(tsLeaseAhead)] {
		t.Fatalf("stored clock values %v over commits %d..%d: want the single lease %d", leases, first, last, first+int64(tsLeaseAhead))
	}
}

// Ids sort by creation time (to the millisecond), so inserts append to the
// _id index, and keep the 32-character [a-z0-9] shape.
func TestIDsSortByTime(t *testing.T) {
	base := time.Date(2026, 12, 2, 16, 0, 0, 0, time.UTC)
	steps := []time.Duration{0, time.Millisecond, 35 * time.Millisecond, 36 * time.Millisecond, time.Second, time.Hour, 24 * 365 * time.Hour, 30 * 24 * 365 * time.Hour}
	prev := ""
	for _, d := range steps {
		id := newIDAt(base.Add(d))
		if !IsID(id) {
			t.Fatalf("bad id %q", id)
		}
		if prev != "" && id[:idTimeChars] <= prev[:idTimeChars] {
			t.Fatalf("id %q at +%v does not sort after %q", id, d, prev)
		}
		prev = id
	}
	// The random part still varies within one millisecond.
	a, b := newIDAt(base), newIDAt(base)
	if a[:idTimeChars] != b[:idTimeChars] || a == b {
		t.Fatalf("same-millisecond ids %q %q", a, b)
	}
}
