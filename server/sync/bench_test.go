package sync_test

import (
	"fmt"
	"testing"

	ocsync "github.com/opencom-go/opencom/server/sync"
	"github.com/opencom-go/opencom/sqlstore"
)

type nopDirtier struct{ n int }

func (d *nopDirtier) MarkDirty(int) { d.n++ }

// BenchmarkHubOnBatchUnrelated is the cost of publishing one commit while
// N subscriptions read other lists: it must not grow with N.
func BenchmarkHubOnBatchUnrelated(b *testing.B) {
	for _, n := range []int{10, 1000, 10000, 100000} {
		b.Run(fmt.Sprintf("subs=%d", n), func(b *testing.B) {
			h := ocsync.NewHub()
			d := &nopDirtier{}
			for i := 0; i < n; i++ {
				h.Update(ocsync.NewSubscription(d, i), []sqlstore.ReadKey{sqlstore.FieldKey("testItems", "listId", fmt.Sprintf("other-%d", i))}, 0)
			}
			batch := sqlstore.Batch{Changes: []sqlstore.Change{{Table: "testItems", Op: sqlstore.OpInsert, New: map[string]any{"_id": "x", "listId": "target", "_creationTime": 1.0}}}}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				batch.TS = int64(i + 1)
				h.OnBatch(batch)
			}
			if d.n != 0 {
				b.Fatalf("unrelated subscriptions marked %d times", d.n)
			}
		})
	}
}

// BenchmarkHubOnBatchFanOut marks N subscribers of the written list.
func BenchmarkHubOnBatchFanOut(b *testing.B) {
	for _, n := range []int{100, 3000} {
		b.Run(fmt.Sprintf("subs=%d", n), func(b *testing.B) {
			h := ocsync.NewHub()
			d := &nopDirtier{}
			for i := 0; i < n; i++ {
				h.Update(ocsync.NewSubscription(d, i), []sqlstore.ReadKey{sqlstore.FieldKey("testItems", "listId", "fan")}, 0)
			}
			batch := sqlstore.Batch{Changes: []sqlstore.Change{{Table: "testItems", Op: sqlstore.OpInsert, New: map[string]any{"_id": "x", "listId": "fan"}}}}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				batch.TS = int64(i + 1)
				h.OnBatch(batch)
			}
		})
	}
}

// BenchmarkMutationOverSocket is one client's mutation round trip
// (Mutation → MutationResponse → Transition) through the real endpoint.
func BenchmarkMutationOverSocket(b *testing.B) {
	e := newEnv(b, ocsync.Config{})
	c := e.dial(b)
	c.connect("bench")
	c.modify(0, 1, nil)
	c.expect("Transition")
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c.mutation(i, "_test:addItem", map[string]any{"listId": "bench", "text": "x"})
		c.expect("MutationResponse")
		c.expect("Transition")
	}
}
