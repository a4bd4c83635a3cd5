package sqlstore

import (
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"time"
)

// Doc is a Convex-shaped document: JSON values keyed by field name, with
// "_id" (string) and "_creationTime" (float64 ms) set by the store.
type Doc map[string]any

// ID is the document's _id.
func (d Doc) ID() string { s, _ := d["_id"].(string); return s }

// Str returns a string field or "".
func (d Doc) Str(k string) string { s, _ := d[k].(string); return s }

// Num returns a numeric field or 0.
func (d Doc) Num(k string) float64 {
	switch x := d[k].(type) {
	case float64:
		return x
	case int:
		return float64(x)
	case int64:
		return float64(x)
	}
	return 0
}

// Bool returns a boolean field or false.
func (d Doc) Bool(k string) bool { b, _ := d[k].(bool); return b }

// Has reports whether the field is present and not null.
func (d Doc) Has(k string) bool { v, ok := d[k]; return ok && v != nil }

// ErrNotFound is returned when a document to change does not exist.
var ErrNotFound = errors.New("document not found")

// docTable returns the table or an error naming it.
func (t *Tx) docTable(name string) (*tableInfo, error) {
	ti := t.store.table(name)
	if ti == nil || ti.docIdx < 0 {
		return nil, fmt.Errorf("unknown table %q", name)
	}
	return ti, nil
}

var creation struct {
	sync.Mutex
	last float64
}

// nextCreationTime is wall-clock milliseconds with microsecond precision,
// strictly increasing within the process so insertion order is total.
func nextCreationTime() float64 {
	now := float64(time.Now().UnixMicro()) / 1000
	creation.Lock()
	defer creation.Unlock()
	if now <= creation.last {
		now = creation.last + 0.001
	}
	creation.last = now
	return now
}

func colValue(v any) any {
	switch x := v.(type) {
	case bool:
		if x {
			return int64(1)
		}
		return int64(0)
	case int:
		return float64(x)
	case int64:
		return float64(x)
	case string, float64, nil:
		return x
	}
	// Compound values are not indexable; store their JSON so equality still works.
	b, _ := json.Marshal(v)
	return string(b)
}

func encodeBody(d Doc) (string, error) {
	body := make(map[string]any, len(d))
	for k, v := range d {
		if k == "_id" || k == "_creationTime" || v == nil {
			continue
		}
		body[k] = v
	}
	b, err := json.Marshal(body)
	if err != nil {
		return "", fmt.Errorf("encode document: %w", err)
	}
	return string(b), nil
}

// Insert adds a document and returns its new _id.
func (t *Tx) Insert(table string, d Doc) (string, error) {
	if !t.writable {
		return "", ErrReadOnly
	}
	ti, err := t.docTable(table)
	if err != nil {
		return "", err
	}
	id := NewID()
	body, err := encodeBody(d)
	if err != nil {
		return "", err
	}
	cols := make([]string, 0, len(ti.columns))
	args := make([]any, 0, len(ti.columns))
	for _, c := range ti.columns {
		switch c {
		case "_id":
			args = append(args, id)
		case "_creationTime":
			args = append(args, nextCreationTime())
		case "doc":
			args = append(args, body)
		default:
			args = append(args, colValue(d[c]))
		}
		cols = append(cols, `"`+c+`"`)
	}
	q := `INSERT INTO "` + table + `"(` + strings.Join(cols, ",") + `) VALUES (` + strings.TrimSuffix(strings.Repeat("?,", len(cols)), ",") + `)`
	if _, err := t.q.ExecContext(t.ctx, q, args...); err != nil {
		return "", fmt.Errorf("insert into %s: %w", table, err)
	}
	return id, nil
}

// Get returns the document with id, or nil if there is none. A malformed
// id is simply not found.
func (t *Tx) Get(table, id string) (Doc, error) {
	ti, err := t.docTable(table)
	if err != nil {
		return nil, err
	}
	t.Reads.Add(FieldKey(table, "_id", id))
	row := t.q.QueryRowContext(t.ctx, `SELECT _id, _creationTime, doc FROM "`+ti.name+`" WHERE _id = ?`, id)
	d, err := scanDoc(row.Scan)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return d, err
}

func scanDoc(scan func(...any) error, extra ...any) (Doc, error) {
	var id, body string
	var ct float64
	dest := append([]any{&id, &ct, &body}, extra...)
	if err := scan(dest...); err != nil {
		return nil, err
	}
	d := Doc{}
	if err := json.Unmarshal([]byte(body), &d); err != nil {
		return nil, fmt.Errorf("decode document %s: %w", id, err)
	}
	d["_id"] = id
	d["_creationTime"] = ct
	return d, nil
}

// Replace overwrites a document's fields (keeping _id and _creationTime).
func (t *Tx) Replace(table, id string, d Doc) error {
	if !t.writable {
		return ErrReadOnly
	}
	ti, err := t.docTable(table)
	if err != nil {
		return err
	}
	body, err := encodeBody(d)
	if err != nil {
		return err
	}
	sets := []string{}
	args := []any{}
	for _, c := range ti.keyCols {
		if c == "_id" || c == "_creationTime" {
			continue
		}
		sets = append(sets, `"`+c+`"=?`)
		args = append(args, colValue(d[c]))
	}
	sets = append(sets, "doc=?")
	args = append(args, body, id)
	res, err := t.q.ExecContext(t.ctx, `UPDATE "`+table+`" SET `+strings.Join(sets, ",")+` WHERE _id=?`, args...)
	if err != nil {
		return fmt.Errorf("update %s: %w", table, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("%w: %s %s", ErrNotFound, table, id)
	}
	return nil
}

// Patch merges fields into a document; a nil value removes the field (as
// Convex's patch with undefined does).
func (t *Tx) Patch(table, id string, fields Doc) error {
	if !t.writable {
		return ErrReadOnly
	}
	cur, err := t.Get(table, id)
	if err != nil {
		return err
	}
	if cur == nil {
		return fmt.Errorf("%w: %s %s", ErrNotFound, table, id)
	}
	for k, v := range fields {
		if k == "_id" || k == "_creationTime" {
			continue
		}
		if v == nil {
			delete(cur, k)
		} else {
			cur[k] = v
		}
	}
	return t.Replace(table, id, cur)
}

// Delete removes a document. Deleting a missing document is not an error.
func (t *Tx) Delete(table, id string) error {
	if !t.writable {
		return ErrReadOnly
	}
	if _, err := t.docTable(table); err != nil {
		return err
	}
	_, err := t.q.ExecContext(t.ctx, `DELETE FROM "`+table+`" WHERE _id=?`, id)
	if err != nil {
		return fmt.Errorf("delete from %s: %w", table, err)
	}
	return nil
}

// Query starts a query over table, by default in _creationTime order.
func (t *Tx) Query(table string) *Query {
	q := &Query{tx: t, order: "_creationTime"}
	q.t, q.err = t.docTable(table)
	return q
}

type cond struct {
	col string
	op  string
	val any
}

// Query reads documents of one table through its key columns.
type Query struct {
	tx     *Tx
	t      *tableInfo
	conds  []cond
	order  string
	desc   bool
	filter func(Doc) bool
	err    error
}

func (q *Query) where(col, op string, v any) *Query {
	if q.err == nil && !hasCol(q.t, col) {
		q.err = fmt.Errorf("table %s has no key column %q", q.t.name, col)
	}
	q.conds = append(q.conds, cond{col, op, v})
	return q
}

// Eq keeps rows whose key column equals v. The first Eq is the index key
// the read is recorded under.
func (q *Query) Eq(col string, v any) *Query { return q.where(col, "=", v) }

// Gt, Gte, Lt, Lte are range conditions on a key column.
func (q *Query) Gt(col string, v any) *Query  { return q.where(col, ">", v) }
func (q *Query) Gte(col string, v any) *Query { return q.where(col, ">=", v) }
func (q *Query) Lt(col string, v any) *Query  { return q.where(col, "<", v) }
func (q *Query) Lte(col string, v any) *Query { return q.where(col, "<=", v) }

// IsNull keeps rows whose key column is null or absent.
func (q *Query) IsNull(col string) *Query { return q.where(col, "IS NULL", nil) }

// OrderBy sorts by a key column (ties broken by _id); its values must not be null.
func (q *Query) OrderBy(col string) *Query {
	if q.err == nil && !hasCol(q.t, col) {
		q.err = fmt.Errorf("table %s has no key column %q", q.t.name, col)
	}
	q.order = col
	return q
}

// Desc sorts newest (largest) first.
func (q *Query) Desc() *Query { q.desc = true; return q }

// Filter keeps only documents for which keep returns true (evaluated in Go
// after the indexed conditions).
func (q *Query) Filter(keep func(Doc) bool) *Query { q.filter = keep; return q }

func (q *Query) record() {
	for _, c := range q.conds {
		if c.op == "=" {
			q.tx.Reads.Add(FieldKey(q.t.name, c.col, colValue(c.val)))
			return
		}
	}
	q.tx.Reads.Add(TableKey(q.t.name))
}

func (q *Query) build(extra string, extraArgs []any, limit int) (string, []any) {
	where, args := q.whereClause(extra, extraArgs)
	dir := "ASC"
	if q.desc {
		dir = "DESC"
	}
	s := `SELECT _id, _creationTime, doc, "` + q.order + `" FROM "` + q.t.name + `"` + where
	s += ` ORDER BY "` + q.order + `" ` + dir + `, _id ` + dir
	if limit > 0 && q.filter == nil {
		s += fmt.Sprintf(" LIMIT %d", limit)
	}
	return s, args
}

// whereClause is the query's WHERE clause (with its leading space) and
// arguments.
func (q *Query) whereClause(extra string, extraArgs []any) (string, []any) {
	var where []string
	var args []any
	for _, c := range q.conds {
		if c.op == "IS NULL" {
			where = append(where, `"`+c.col+`" IS NULL`)
			continue
		}
		where = append(where, `"`+c.col+`" `+c.op+` ?`)
		args = append(args, colValue(c.val))
	}
	if extra != "" {
		where = append(where, extra)
		args = append(args, extraArgs...)
	}
	if len(where) == 0 {
		return "", args
	}
	return " WHERE " + strings.Join(where, " AND "), args
}

// iterate calls f for each matching document with its order-key value,
// until f returns false.
func (q *Query) iterate(extra string, extraArgs []any, limit int, f func(Doc, any) bool) error {
	if q.err != nil {
		return q.err
	}
	q.record()
	s, args := q.build(extra, extraArgs, limit)
	rows, err := q.tx.q.QueryContext(q.tx.ctx, s, args...)
	if err != nil {
		return fmt.Errorf("query %s: %w", q.t.name, err)
	}
	defer rows.Close()
	for rows.Next() {
		var ord any
		d, err := scanDoc(rows.Scan, &ord)
		if err != nil {
			return err
		}
		if q.filter != nil && !q.filter(d) {
			continue
		}
		if !f(d, ord) {
			break
		}
	}
	return rows.Err()
}

// Take returns at most n documents (n <= 0: all).
func (q *Query) Take(n int) ([]Doc, error) {
	var out []Doc
	err := q.iterate("", nil, n, func(d Doc, _ any) bool {
		out = append(out, d)
		return n <= 0 || len(out) < n
	})
	return out, err
}

// Collect returns every matching document.
func (q *Query) Collect() ([]Doc, error) { return q.Take(0) }

// First returns the first matching document or nil.
func (q *Query) First() (Doc, error) {
	ds, err := q.Take(1)
	if err != nil || len(ds) == 0 {
		return nil, err
	}
	return ds[0], nil
}

// Count counts matching documents.
func (q *Query) Count() (int, error) {
	if q.err != nil {
		return 0, q.err
	}
	if q.filter != nil {
		// A Go-side filter must see each document.
		n := 0
		err := q.iterate("", nil, 0, func(Doc, any) bool { n++; return true })
		return n, err
	}
	// Without one, SQLite counts from the index: no document is read or
	// decoded. The read set is the same as iterating would record.
	q.record()
	where, args := q.whereClause("", nil)
	s := `SELECT COUNT(*) FROM "` + q.t.name + `"` + where
	var n int
	if err := q.tx.q.QueryRowContext(q.tx.ctx, s, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("count %s: %w", q.t.name, err)
	}
	return n, nil
}

// PageOpts are Convex's paginationOpts plus the pinned end of the page.
type PageOpts struct {
	NumItems  int
	Cursor    string // "" = from the start
	EndCursor string // "" = NumItems items; else everything up to and including it
}

// Page is Convex's PaginationResult.
type Page struct {
	Page           []Doc  `json:"page"`
	IsDone         bool   `json:"isDone"`
	ContinueCursor string `json:"continueCursor"`
}

// ErrInvalidCursor is returned for a cursor this store did not produce.
var ErrInvalidCursor = errors.New("InvalidCursor: pagination cursor is not valid")

type cursorPos struct {
	Key any    `json:"k"`
	ID  string `json:"i"`
}

func encodeCursor(key any, id string) string {
	if f, ok := key.(float64); ok && (math.IsNaN(f) || math.IsInf(f, 0)) {
		key = nil
	}
	b, _ := json.Marshal(cursorPos{Key: key, ID: id})
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(s string) (*cursorPos, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, ErrInvalidCursor
	}
	var c cursorPos
	if err := json.Unmarshal(b, &c); err != nil || c.ID == "" {
		return nil, ErrInvalidCursor
	}
	return &c, nil
}

// Paginate returns one page by keyset (order key, _id), so concurrent
// inserts never shift items between pages: no duplicates, no gaps.
func (q *Query) Paginate(o PageOpts) (Page, error) {
	if o.NumItems <= 0 && o.EndCursor == "" {
		return Page{}, fmt.Errorf("paginationOpts.numItems must be positive")
	}
	if o.Cursor == "_start" {
		o.Cursor = ""
	}
	after, before := ">", "<"
	if q.desc {
		after, before = "<", ">"
	}
	var conds []string
	var args []any
	if o.Cursor != "" {
		c, err := decodeCursor(o.Cursor)
		if err != nil {
			return Page{}, err
		}
		conds = append(conds, fmt.Sprintf(`("%s" %s ? OR ("%s" = ? AND _id %s ?))`, q.order, after, q.order, after))
		args = append(args, c.Key, c.Key, c.ID)
	}
	if o.EndCursor != "" {
		c, err := decodeCursor(o.EndCursor)
		if err != nil {
			return Page{}, err
		}
		conds = append(conds, fmt.Sprintf(`("%s" %s ? OR ("%s" = ? AND _id %s= ?))`, q.order, before, q.order, before))
		args = append(args, c.Key, c.Key, c.ID)
	}
	limit := o.NumItems + 1
	if o.EndCursor != "" {
		limit = 0
	}
	var page []Doc
	var lastKey any
	var lastID string
	more := false
	err := q.iterate(strings.Join(conds, " AND "), args, limit, func(d Doc, k any) bool {
		if o.EndCursor == "" && len(page) == o.NumItems {
			more = true
			return false
		}
		page = append(page, d)
		lastKey, lastID = k, d.ID()
		return true
	})
	if err != nil {
		return Page{}, err
	}
	res := Page{Page: page, IsDone: !more}
	if o.EndCursor != "" {
		res.ContinueCursor = o.EndCursor
		// Whether anything lies beyond the pinned end.
		c, _ := decodeCursor(o.EndCursor)
		n := 0
		q2 := *q
		q2.conds = append([]cond(nil), q.conds...)
		err = q2.iterate(fmt.Sprintf(`("%s" %s ? OR ("%s" = ? AND _id %s ?))`, q.order, after, q.order, after), []any{c.Key, c.Key, c.ID}, 1, func(Doc, any) bool { n++; return false })
		res.IsDone = n == 0
		if res.Page == nil {
			res.Page = []Doc{}
		}
		return res, err
	}
	if lastID != "" {
		res.ContinueCursor = encodeCursor(lastKey, lastID)
	} else {
		res.ContinueCursor = o.Cursor
		if res.ContinueCursor == "" {
			res.ContinueCursor = "_start"
		}
	}
	if res.Page == nil {
		res.Page = []Doc{}
	}
	return res, nil
}
