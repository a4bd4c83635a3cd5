package sync_test

import (
	"context"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opencom-go/opencom/server/fn"

	ocsync "github.com/opencom-go/opencom/server/sync"
	"github.com/opencom-go/opencom/sqlstore"
)

type nopOwner struct{ n int }

func (d *nopOwner) Wake(int) { d.n++ }

// BenchmarkHubOnBatchUnrelated is the cost of publishing one commit while
// N subscriptions read other lists: it must not grow with N.
func BenchmarkHubOnBatchUnrelated(b *testing.B) {
	for _, n := range []int{10, 1000, 10000, 100000} {
		b.Run(fmt.Sprintf("subs=%d", n), func(b *testing.B) {
			h := ocsync.NewHub()
			d := &nopOwner{}
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
			d := &nopOwner{}
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

// BenchmarkFanOutOverSockets is one commit delivered to S subscribers of
// the written list over real sockets (clients in the same process, only
// counting frames): the sync server's whole per-delivery path, from the
// hub to the socket write. Reported per delivery.
func BenchmarkFanOutOverSockets(b *testing.B) {
	for _, s := range []int{100, 1000} {
		b.Run(fmt.Sprintf("subs=%d", s), func(b *testing.B) {
			e := newEnv(b, ocsync.Config{})
			var got atomic.Int64
			for i := 0; i < s; i++ {
				ws := e.subscribeRaw(b, fmt.Sprint("fan", i), "_test:countItems", `{"listId":"fan"}`)
				go func() {
					buf := make([]byte, 4096)
					for {
						_, r, err := ws.Reader(context.Background())
						if err != nil {
							return
						}
						for {
							if _, err := r.Read(buf); err != nil {
								break
							}
						}
						got.Add(1)
					}
				}()
			}
			waitN := func(n int64) {
				deadline := time.Now().Add(30 * time.Second)
				for got.Load() < n {
					if time.Now().After(deadline) {
						b.Fatalf("%d of %d deliveries", got.Load(), n)
					}
					time.Sleep(50 * time.Microsecond)
				}
			}
			waitN(int64(s)) // first Transitions
			ctx := context.Background()
			add := func() {
				if res := e.engine.Mutation(ctx, fn.Call{Path: "_test:addItem", Args: map[string]any{"listId": "fan", "text": "x"}, RequestID: -1}); res.Err != nil {
					b.Fatal(res.Err)
				}
			}
			var ms0, ms1 runtime.MemStats
			runtime.ReadMemStats(&ms0)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				add()
				waitN(int64(s) * int64(i+2))
			}
			b.StopTimer()
			runtime.ReadMemStats(&ms1)
			deliveries := float64(b.N * s)
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/deliveries, "ns/delivery")
			b.ReportMetric(float64(ms1.Mallocs-ms0.Mallocs)/deliveries, "allocs/delivery")
			b.ReportMetric(float64(ms1.TotalAlloc-ms0.TotalAlloc)/deliveries, "B/delivery")
		})
	}
}
