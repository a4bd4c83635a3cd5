package sqlstore

import (
	"strings"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Op is the kind of row change.
type Op uint8

const (
	OpInsert Op = iota + 1
	OpUpdate
	OpDelete
)

func (o Op) String() string {
	switch o {
	case OpInsert:
		return "insert"
	case OpUpdate:
		return "update"
	case OpDelete:
		return "delete"
	}
	return "?"
}

// Change is one row changed by a committed transaction: its table, the
// operation, and the values of its key columns (every column but the JSON
// body) before and after. Old is nil for inserts, New for deletes.
type Change struct {
	Table string
	Op    Op
	ID    string
	Old   map[string]any
	New   map[string]any
}

// Batch is everything one commit changed, tagged with its commit timestamp.
type Batch struct {
	TS      int64
	Changes []Change
}

// Subscribe registers f to receive every committed batch, in commit order,
// synchronously on the writer's goroutine before the next commit starts and
// before any reader can take a snapshot that includes it. f must be fast and
// must not call back into the store's write path.
func (s *Store) Subscribe(f func(Batch)) {
	s.feedMu.Lock()
	s.subs = append(s.subs, f)
	s.feedMu.Unlock()
}

func (s *Store) publish(b Batch) {
	s.feedMu.RLock()
	subs := s.subs
	s.feedMu.RUnlock()
	for _, f := range subs {
		f(b)
	}
}

// onPreUpdate runs inside SQLite for every row written on the writer
// connection. It fires also for changes that will later be rolled back, so
// it only buffers; the buffer is published after COMMIT returns and dropped
// by the rollback hook (or truncated on ROLLBACK TO a savepoint).
func (s *Store) onPreUpdate(d sqlite.SQLitePreUpdateData) {
	if d.DatabaseName != "main" || strings.HasPrefix(d.TableName, "_") {
		return
	}
	t := s.table(d.TableName)
	if t == nil || t.docIdx < 0 {
		// FTS shadow tables and other non-document tables are not watched.
		return
	}
	c := Change{Table: d.TableName}
	n := d.Count()
	read := func(newRow bool) map[string]any {
		vals := make([]any, n)
		var err error
		if newRow {
			err = d.New(vals...)
		} else {
			err = d.Old(vals...)
		}
		if err != nil {
			return nil
		}
		m := make(map[string]any, len(t.keyCols))
		for i, col := range t.columns {
			if i == t.docIdx || i >= n {
				continue
			}
			m[col] = vals[i]
		}
		return m
	}
	switch d.Op {
	case sqlite3.SQLITE_INSERT:
		c.Op = OpInsert
		c.New = read(true)
	case sqlite3.SQLITE_UPDATE:
		c.Op = OpUpdate
		c.Old = read(false)
		c.New = read(true)
	case sqlite3.SQLITE_DELETE:
		c.Op = OpDelete
		c.Old = read(false)
	default:
		return
	}
	if c.New != nil {
		c.ID, _ = c.New["_id"].(string)
	} else if c.Old != nil {
		c.ID, _ = c.Old["_id"].(string)
	}
	s.pending = append(s.pending, c)
}
