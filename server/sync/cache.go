package sync

import (
	"context"
	"encoding/json"
	"strings"
	gosync "sync"

	"github.com/opencom-go/opencom/server/fn"
	"github.com/opencom-go/opencom/sqlstore"
)

// resultCache shares query results between sockets at one snapshot: when a
// commit invalidates the same query on thousands of sockets (everyone
// watching one conversation), it runs once and the others reuse its result
// and read set. Entries are valid only for the newest commit timestamp, so
// the cache empties itself on every commit.
type resultCache struct {
	mu gosync.RWMutex
	ts int64
	m  map[string]*cacheEntry
}

type cacheEntry struct {
	done chan struct{}
	ok   bool // filled with a result read at exactly the cache's ts
	res  fn.Result
	keys []sqlstore.ReadKey
}

const maxCacheEntries = 20000

// cacheKey identifies a query result: everything the function may depend
// on besides the snapshot.
func cacheKey(call fn.Call) string {
	args, err := json.Marshal(call.Args)
	if err != nil {
		return ""
	}
	var b strings.Builder
	b.WriteString(call.Path)
	b.WriteByte(0)
	b.Write(args)
	b.WriteByte(0)
	if id := call.Identity; id != nil {
		b.WriteString(id.Subject + "\x01" + id.SessionID + "\x01" + id.TokenIdentifier + "\x01" + id.Issuer)
	}
	b.WriteByte(0)
	b.WriteString(call.Caller.Origin)
	b.WriteByte(0)
	b.WriteString(call.Journal)
	return b.String()
}

// claim looks keys up at ts. If every key is already there (filled or being
// filled by another socket), it returns those entries and owned=nil: the
// caller waits for them. Otherwise it creates pending entries for the
// missing keys, which the caller owns and must fill (even on failure);
// owners never wait, so sockets cannot wait on each other in a cycle.
func (c *resultCache) claim(ts int64, keys []string, buf []*cacheEntry) (entries []*cacheEntry, owned []bool) {
	if entries := c.lookup(ts, keys, buf); entries != nil {
		return entries, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if ts != c.ts {
		if ts < c.ts {
			return nil, nil
		}
		c.ts, c.m = ts, map[string]*cacheEntry{}
	}
	entries = make([]*cacheEntry, len(keys))
	all := true
	for i, k := range keys {
		if k == "" {
			return nil, nil
		}
		entries[i] = c.m[k]
		if entries[i] == nil {
			all = false
		}
	}
	if all {
		return entries, nil
	}
	owned = make([]bool, len(keys))
	for i, k := range keys {
		if entries[i] == nil && len(c.m) < maxCacheEntries {
			entries[i] = &cacheEntry{done: make(chan struct{})}
			c.m[k] = entries[i]
			owned[i] = true
		}
	}
	return entries, owned
}

// lookup returns the entries for keys at ts if all are there, under the
// read lock: after a commit watched by thousands of sockets, all but the
// first find their result and should not queue on each other.
func (c *resultCache) lookup(ts int64, keys []string, buf []*cacheEntry) []*cacheEntry {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if ts != c.ts {
		return nil
	}
	entries := append(buf[:0], make([]*cacheEntry, len(keys))...)
	for i, k := range keys {
		if entries[i] = c.m[k]; entries[i] == nil || k == "" {
			return nil
		}
	}
	return entries
}

func (e *cacheEntry) fill(ok bool, res fn.Result, keys []sqlstore.ReadKey) {
	e.ok, e.res, e.keys = ok, res, keys
	close(e.done)
}

// runQueries returns the results and read sets of n = len(keys) queries
// on one snapshot, and that snapshot's ts. keys[i] is cacheKey(call(i));
// results other sockets computed at the newest commit are reused, and
// the calls are only built when something must run. The returned slices
// live in sc.
func (s *Server) runQueries(ctx context.Context, keys []string, call func(i int) fn.Call, sc *flushScratch) ([]fn.Result, [][]sqlstore.ReadKey, int64) {
	ts0 := s.Engine.Store.LastTS()
	entries, owned := s.cache.claim(ts0, keys, sc.entries)
	if entries != nil {
		sc.entries = entries[:0]
	}
	if entries != nil && owned == nil {
		results := append(sc.results[:0], make([]fn.Result, len(keys))...)
		reads := append(sc.reads[:0], make([][]sqlstore.ReadKey, len(keys))...)
		sc.results, sc.reads = results, reads
		hit := true
		for i, e := range entries {
			select {
			case <-e.done:
			case <-ctx.Done():
				return nil, nil, 0
			}
			if !e.ok {
				hit = false
				break
			}
			results[i], reads[i] = e.res, e.keys
		}
		if hit {
			return results, reads, ts0
		}
	}
	filled := false
	defer func() {
		if !filled {
			for i, o := range owned {
				if o {
					entries[i].fill(false, fn.Result{}, nil)
				}
			}
		}
	}()
	calls := make([]fn.Call, len(keys))
	for i := range calls {
		calls[i] = call(i)
		calls[i].Reads = sqlstore.NewReadSet()
	}
	results, ts := s.Engine.QueryBatch(ctx, calls)
	reads := make([][]sqlstore.ReadKey, len(calls))
	for i := range calls {
		reads[i] = calls[i].Reads.Keys()
	}
	for i, o := range owned {
		if o {
			entries[i].fill(ts == ts0 && ctx.Err() == nil, results[i], reads[i])
		}
	}
	filled = true
	return results, reads, ts
}

// flushScratch holds one flush's working slices, reused through
// scratchPool: a commit watched by thousands of sockets runs thousands of
// flushes, and each would otherwise allocate them all anew.
type flushScratch struct {
	ids     []int
	keys    []string
	entries []*cacheEntry
	results []fn.Result
	reads   [][]sqlstore.ReadKey
	mods    []queryModification
}

var scratchPool = gosync.Pool{New: func() any { return new(flushScratch) }}

// release clears references (so pooled scratch does not keep results
// alive) and returns sc to the pool.
func (sc *flushScratch) release() {
	clear(sc.entries[:cap(sc.entries)])
	clear(sc.results[:cap(sc.results)])
	clear(sc.reads[:cap(sc.reads)])
	clear(sc.mods[:cap(sc.mods)])
	clear(sc.keys[:cap(sc.keys)])
	sc.ids, sc.keys, sc.entries, sc.results, sc.reads, sc.mods = sc.ids[:0], sc.keys[:0], sc.entries[:0], sc.results[:0], sc.reads[:0], sc.mods[:0]
	scratchPool.Put(sc)
}

// reset forgets every shared result (see Hub.Invalidate).
func (c *resultCache) reset() {
	c.mu.Lock()
	c.m = map[string]*cacheEntry{}
	c.mu.Unlock()
}
