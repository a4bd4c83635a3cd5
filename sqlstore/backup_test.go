package sqlstore

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeItems(t *testing.T, s *Store, list string, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		if _, err := s.Write(context.Background(), func(tx *Tx) error {
			_, err := tx.Insert("items", Doc{"listId": list, "rank": float64(i)})
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
}

func countList(t *testing.T, path, list string) int {
	t.Helper()
	s, err := Open(context.Background(), path, Options{Migrations: os.DirFS("testdata/migrations"), Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var n int
	if _, err := s.Read(context.Background(), func(tx *Tx) error {
		var err error
		n, err = tx.Query("items").Eq("listId", list).Count()
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestBackupCopiesOpenDatabase(t *testing.T) {
	s := openTest(t, Options{Logger: quiet})
	writeItems(t, s, "a", 50)
	dest := filepath.Join(t.TempDir(), "b.db")
	var calls, lastDone, lastTotal int64
	if err := Backup(context.Background(), s.Path(), dest, func(done, total int64) {
		calls++
		lastDone, lastTotal = done, total
	}); err != nil {
		t.Fatal(err)
	}
	if calls == 0 || lastDone != lastTotal || lastTotal == 0 {
		t.Errorf("progress: %d calls, last %d of %d; want a final done == total", calls, lastDone, lastTotal)
	}
	if _, err := os.Stat(dest + ".partial"); err == nil {
		t.Error("the .partial file was left behind")
	}
	if n := countList(t, dest, "a"); n != 50 {
		t.Errorf("backup holds %d rows, want 50", n)
	}
	err := Backup(context.Background(), s.Path(), dest, nil)
	if err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("backup over an existing file: %v", err)
	}
}

func TestRestore(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "live.db")
	s, err := Open(ctx, dbPath, Options{Migrations: os.DirFS("testdata/migrations"), Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	writeItems(t, s, "a", 3)
	good := filepath.Join(t.TempDir(), "good.db")
	if err := Backup(ctx, dbPath, good, nil); err != nil {
		t.Fatal(err)
	}
	writeItems(t, s, "b", 2)
	s.Close()

	garbage := filepath.Join(t.TempDir(), "garbage.db")
	os.WriteFile(garbage, []byte(strings.Repeat("x", 8192)), 0o600)
	// A truncated copy of a real database: a torn download.
	torn := filepath.Join(t.TempDir(), "torn.db")
	b, _ := os.ReadFile(good)
	os.WriteFile(torn, b[:len(b)/2], 0o600)
	refused := []struct {
		name, file string
		known      int
		want       string
	}{
		{"missing", filepath.Join(dir, "nope.db"), 1, "nope.db"},
		{"not sqlite", garbage, 1, "not a readable SQLite database"},
		{"torn", torn, 1, "backup"},
		{"newer schema", good, 0, "schema version 1"},
	}
	for _, c := range refused {
		t.Run(c.name, func(t *testing.T) {
			bak, err := Restore(ctx, c.file, dbPath, c.known)
			if err == nil || !strings.Contains(err.Error(), c.want) || bak != "" {
				t.Fatalf("Restore = %q, %v; want an error containing %q", bak, err, c.want)
			}
			if c.name == "newer schema" && !errors.Is(err, ErrSchemaTooNew) {
				t.Errorf("want ErrSchemaTooNew, got %v", err)
			}
			if n := countList(t, dbPath, "b"); n != 2 {
				t.Fatalf("a refused restore changed the database (%d rows in b)", n)
			}
		})
	}

	// Two restores in the same second must keep two distinct .bak files.
	bak1, err := Restore(ctx, good, dbPath, 1)
	if err != nil {
		t.Fatal(err)
	}
	bak2, err := Restore(ctx, good, dbPath, 1)
	if err != nil {
		t.Fatal(err)
	}
	if bak1 == "" || bak1 == bak2 {
		t.Fatalf(".bak files %q and %q: want two distinct names", bak1, bak2)
	}
	if n := countList(t, bak1, "b"); n != 2 {
		t.Errorf("first .bak holds %d rows of b, want the pre-restore 2", n)
	}
	if a, b := countList(t, dbPath, "a"), countList(t, dbPath, "b"); a != 3 || b != 0 {
		t.Errorf("restored database has a=%d b=%d, want 3 and 0", a, b)
	}

	fresh := filepath.Join(t.TempDir(), "sub", "new.db")
	bak, err := Restore(ctx, good, fresh, 1)
	if err != nil || bak != "" {
		t.Fatalf("restore into an empty place: %q, %v", bak, err)
	}
	if n := countList(t, fresh, "a"); n != 3 {
		t.Errorf("restored %d rows, want 3", n)
	}
}
