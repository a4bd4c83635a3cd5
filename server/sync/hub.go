// Package sync serves the Convex sync protocol over WebSocket: per-socket
// query sets, versions, mutations with idempotent replay, auth, and
// invalidation of subscribed queries from the store's change feed.
package sync

import (
	gosync "sync"
	"sync/atomic"

	"github.com/opencom-go/opencom/sqlstore"
)

// Subscription is one live query whose read set is indexed by the hub.
//
// A commit marks the subscriptions it touched dirty while the store holds
// back new snapshots, so a re-run that reads at or after the commit finds
// its mark. The mark lives in the subscription, not its owner: a commit
// watched by thousands of sockets then touches one small object per
// subscriber while readers wait, and the owners are woken afterwards.
type Subscription struct {
	owner Owner
	id    int
	dirty atomic.Bool
	keys  []sqlstore.ReadKey
}

// Owner is what holds subscriptions (a socket): the hub wakes it when a
// commit marked one of them.
type Owner interface {
	// Wake tells the owner that its subscription queryID was marked dirty
	// (see Subscription.TakeDirty) and must re-run soon. It must not block.
	Wake(queryID int)
}

// MarkDirty marks s for a re-run by its owner (who is told by other means).
func (s *Subscription) MarkDirty() { s.dirty.Store(true) }

// TakeDirty reports whether s was marked since the last call, and clears
// the mark. The owner calls it before reading: a mark made after that is
// for a later re-run.
func (s *Subscription) TakeDirty() bool { return s.dirty.Load() && s.dirty.Swap(false) }

// mark marks s and reports whether its owner must be woken: not when an
// earlier mark is still waiting, whose wake-up is already on its way.
func (s *Subscription) mark() bool { return !s.dirty.Swap(true) }

// NewSubscription makes a subscription for owner's query id.
func NewSubscription(owner Owner, queryID int) *Subscription {
	return &Subscription{owner: owner, id: queryID}
}

type recentBatch struct {
	ts   int64
	keys map[sqlstore.ReadKey]struct{}
}

// Hub indexes live subscriptions by the keys they read, so a commit
// re-runs only the queries whose reads it touched: the cost of a commit is
// proportional to the rows it changed and the subscriptions it affects,
// not to the number of subscriptions.
type Hub struct {
	mu     gosync.Mutex
	index  map[sqlstore.ReadKey]map[*Subscription]struct{}
	recent []recentBatch // ring of the latest batches, oldest first
	head   int
	full   bool
	lastTS int64

	onInvalidate []func()

	// Owners marked by a commit are woken outside the commit's critical
	// section (see OnBatch) by one goroutine at a time, started on demand.
	wakeMu  gosync.Mutex
	wakeQ   [][]*Subscription
	waking  bool
	wakeBuf []*Subscription // OnBatch's last list, if it was woken inline
}

const (
	recentBatches = 1024
	// inlineWakes is how many owners a commit wakes itself; more are left
	// to the hub's waker goroutine.
	inlineWakes = 8
)

// NewHub returns an empty hub. Attach it with store.Subscribe(hub.OnBatch).
func NewHub() *Hub {
	return &Hub{index: map[sqlstore.ReadKey]map[*Subscription]struct{}{}, recent: make([]recentBatch, recentBatches)}
}

// OnBatch is the store's change-feed callback.
func (h *Hub) OnBatch(b sqlstore.Batch) {
	keys := make(map[sqlstore.ReadKey]struct{}, len(b.Changes)*4)
	b.TouchedKeys(func(k sqlstore.ReadKey) { keys[k] = struct{}{} })
	h.mu.Lock()
	// Only the marks must be made before the commit becomes visible to
	// readers (the store holds every new snapshot until OnBatch returns).
	// Waking thousands of owners takes far longer than marking them; done
	// here, it would hold back the readers (those owners' re-runs among
	// them) and the next commit.
	wake := h.wakeBuf[:0]
	h.wakeBuf = nil
	for k := range keys {
		for s := range h.index[k] {
			if s.mark() {
				wake = append(wake, s)
			}
		}
	}
	h.recent[h.head] = recentBatch{ts: b.TS, keys: keys}
	h.head = (h.head + 1) % recentBatches
	if h.head == 0 {
		h.full = true
	}
	h.lastTS = b.TS
	if len(wake) > inlineWakes {
		h.mu.Unlock()
		h.wakeLater(wake)
		return
	}
	for _, s := range wake {
		s.owner.Wake(s.id)
	}
	clear(wake)
	h.wakeBuf = wake[:0]
	h.mu.Unlock()
}

// wakeLater queues owners for the waker goroutine, starting it if needed.
func (h *Hub) wakeLater(wake []*Subscription) {
	h.wakeMu.Lock()
	h.wakeQ = append(h.wakeQ, wake)
	start := !h.waking
	h.waking = true
	h.wakeMu.Unlock()
	if start {
		go h.wakeLoop()
	}
}

func (h *Hub) wakeLoop() {
	for {
		h.wakeMu.Lock()
		q := h.wakeQ
		h.wakeQ = nil
		if len(q) == 0 {
			h.waking = false
			h.wakeMu.Unlock()
			return
		}
		h.wakeMu.Unlock()
		for _, list := range q {
			for _, s := range list {
				s.owner.Wake(s.id)
			}
		}
	}
}

// markNow marks s and wakes its owner at once.
func markNow(s *Subscription) {
	if s.mark() {
		s.owner.Wake(s.id)
	}
}

// Update replaces s's read set with keys read at snapshot ts. Commits after
// ts that were published before this call are replayed against the new
// keys, so no invalidation falls between a query's read and its
// registration. Only s's owner calls Update and Remove, one at a time.
func (h *Hub) Update(s *Subscription, keys []sqlstore.ReadKey, ts int64) {
	if sameKeys(s.keys, keys) {
		// A re-run usually reads the same keys. They stayed indexed all
		// along, so a commit after ts that touched them has marked s
		// dirty again (the owner took the mark before reading at ts):
		// nothing to replay, and no need for the hub's lock, which
		// thousands of sockets re-running after one commit would queue on.
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.removeLocked(s)
	s.keys = keys
	for _, k := range keys {
		m := h.index[k]
		if m == nil {
			m = map[*Subscription]struct{}{}
			h.index[k] = m
		}
		m[s] = struct{}{}
	}
	h.catchUpLocked(s, keys, ts)
}

// sameKeys reports whether a and b hold the same keys (read sets have no
// duplicates).
func sameKeys(a, b []sqlstore.ReadKey) bool {
	if len(a) != len(b) || len(a) == 0 {
		return false
	}
	if len(a) > 16 {
		set := make(map[sqlstore.ReadKey]struct{}, len(a))
		for _, x := range a {
			set[x] = struct{}{}
		}
		for _, y := range b {
			if _, ok := set[y]; !ok {
				return false
			}
		}
		return true
	}
outer:
	for _, x := range a {
		for _, y := range b {
			if x == y {
				continue outer
			}
		}
		return false
	}
	return true
}

func (h *Hub) catchUpLocked(s *Subscription, keys []sqlstore.ReadKey, ts int64) {
	if h.lastTS <= ts {
		return
	}
	// Walk the ring newest to oldest while batches are after ts.
	n := recentBatches
	if !h.full {
		n = h.head
	}
	for i := 1; i <= n; i++ {
		rb := h.recent[(h.head-i+recentBatches)%recentBatches]
		if rb.ts <= ts {
			return
		}
		for _, k := range keys {
			if _, hit := rb.keys[k]; hit {
				markNow(s)
				return
			}
		}
	}
	// A ring that has not wrapped holds every batch since the hub started,
	// so the walk was complete. A wrapped one may have lost the batches
	// between ts and its oldest entry: be safe and re-run.
	if h.full {
		markNow(s)
	}
}

// Remove drops s from the index.
func (h *Hub) Remove(s *Subscription) {
	h.mu.Lock()
	h.removeLocked(s)
	h.mu.Unlock()
}

func (h *Hub) removeLocked(s *Subscription) {
	for _, k := range s.keys {
		if m := h.index[k]; m != nil {
			delete(m, s)
			if len(m) == 0 {
				delete(h.index, k)
			}
		}
	}
	s.keys = nil
}

// Stats reports the number of indexed keys (for tests and metrics).
func (h *Hub) Stats() (keys int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.index)
}

// Invalidate marks every subscription that read one of keys as changed.
// It is for state kept outside the database (typing indicators): a query
// that reads such state records a key with tx.Reads.Add, and the owner of
// the state calls Invalidate when it changes or expires.
func (h *Hub) Invalidate(keys ...sqlstore.ReadKey) {
	h.mu.Lock()
	defer h.mu.Unlock()
	// Results shared between sockets are keyed by commit timestamp, which
	// does not move for state outside the database: drop them first so the
	// re-runs below cannot reuse a result computed before the change.
	for _, f := range h.onInvalidate {
		f()
	}
	for _, k := range keys {
		for s := range h.index[k] {
			markNow(s)
		}
	}
}
