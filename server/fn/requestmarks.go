package fn

import (
	"database/sql"
	gosync "sync"

	"github.com/opencom-go/opencom/sqlstore"
)

// requestMarks spares most mutations the _mutation_log lookup. Convex
// clients number their requests upward within a session, so a new
// mutation's requestId is above every one logged for its session; only a
// replay (after a reconnect) is at or below. For each session seen since
// the process started, marks holds a request id at or above every logged
// one (read once with max(), then raised by every insert). All logging
// happens in the store's single writer, so the mark can only be too high
// (after a rollback or pruning), which just costs a lookup.
type requestMarks struct {
	mu gosync.Mutex
	m  map[string]int64
}

// maxRequestMarks bounds the map; when full it starts over (sessions then
// cost one max() query again).
const maxRequestMarks = 100_000

// marksByStore keeps one set of marks per store, whatever the number of
// engines writing to it.
var marksByStore gosync.Map // *sqlstore.Store -> *requestMarks

func marksFor(s *sqlstore.Store) *requestMarks {
	if v, ok := marksByStore.Load(s); ok {
		return v.(*requestMarks)
	}
	v, _ := marksByStore.LoadOrStore(s, &requestMarks{m: map[string]int64{}})
	return v.(*requestMarks)
}

// mayBeLogged reports whether (session, req) can have a logged outcome.
func (r *requestMarks) mayBeLogged(tx *sqlstore.Tx, session string, req int64) (bool, error) {
	r.mu.Lock()
	mark, ok := r.m[session]
	r.mu.Unlock()
	if !ok {
		var max sql.NullInt64
		if err := tx.QueryRow(`SELECT max(request_id) FROM _mutation_log WHERE session_id=?`, session).Scan(&max); err != nil {
			return false, err
		}
		mark = -1
		if max.Valid {
			mark = max.Int64
		}
		r.raise(session, mark)
	}
	return req <= mark, nil
}

// raise records that req may now be logged for session.
func (r *requestMarks) raise(session string, req int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.m) >= maxRequestMarks {
		if _, ok := r.m[session]; !ok {
			r.m = map[string]int64{}
		}
	}
	if cur, ok := r.m[session]; !ok || req > cur {
		r.m[session] = req
	}
}
