package sqlstore

import (
	"strconv"
)

// ReadKey names something a query read: one index key of a table (Field =
// a key column, Value its canonical value), or the whole table (Field "*").
type ReadKey struct {
	Table string
	Field string
	Value string
}

// TableKey is the ReadKey of a whole-table read.
func TableKey(table string) ReadKey { return ReadKey{Table: table, Field: "*"} }

// FieldKey is the ReadKey of the rows of table whose field equals v.
func FieldKey(table, field string, v any) ReadKey {
	return ReadKey{Table: table, Field: field, Value: KeyValue(v)}
}

// KeyValue renders a column value canonically, the same way for a query
// argument and for the value SQLite reports in the pre-update hook.
func KeyValue(v any) string {
	switch x := v.(type) {
	case nil:
		return "n"
	case string:
		return "s" + x
	case bool:
		if x {
			return "f1"
		}
		return "f0"
	case int:
		return "f" + strconv.FormatFloat(float64(x), 'g', -1, 64)
	case int64:
		return "f" + strconv.FormatFloat(float64(x), 'g', -1, 64)
	case float64:
		return "f" + strconv.FormatFloat(x, 'g', -1, 64)
	case []byte:
		return "s" + string(x)
	}
	return "?"
}

// ReadSet is what one query execution read.
type ReadSet struct {
	keys map[ReadKey]struct{}
}

// NewReadSet returns an empty read set.
func NewReadSet() *ReadSet { return &ReadSet{keys: map[ReadKey]struct{}{}} }

// Add records k.
func (r *ReadSet) Add(k ReadKey) {
	if r == nil {
		return
	}
	r.keys[k] = struct{}{}
}

// Keys lists the recorded keys.
func (r *ReadSet) Keys() []ReadKey {
	if r == nil {
		return nil
	}
	out := make([]ReadKey, 0, len(r.keys))
	for k := range r.keys {
		out = append(out, k)
	}
	return out
}

// Len is the number of recorded keys.
func (r *ReadSet) Len() int {
	if r == nil {
		return 0
	}
	return len(r.keys)
}

// Has reports whether k was recorded.
func (r *ReadSet) Has(k ReadKey) bool {
	if r == nil {
		return false
	}
	_, ok := r.keys[k]
	return ok
}

// TouchedKeys calls f with every ReadKey the batch invalidates: the whole
// table of each changed row, and each of its key columns' old and new
// values. A query is affected by the batch iff one of its keys is among
// them.
func (b Batch) TouchedKeys(f func(ReadKey)) {
	for _, c := range b.Changes {
		f(TableKey(c.Table))
		for col, v := range c.Old {
			f(ReadKey{Table: c.Table, Field: col, Value: KeyValue(v)})
		}
		for col, v := range c.New {
			if c.Old != nil && KeyValue(c.Old[col]) == KeyValue(v) {
				continue
			}
			f(ReadKey{Table: c.Table, Field: col, Value: KeyValue(v)})
		}
	}
}
