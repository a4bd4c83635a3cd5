package fn_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/opencom-go/opencom/server/fn"
)

// BenchmarkMutationParallel measures small idempotent mutations from
// concurrent callers (parallelism × GOMAXPROCS goroutines); the store
// groups them into shared commits.
func BenchmarkMutationParallel(b *testing.B) {
	for _, p := range []int{1, 4, 16} {
		b.Run(fmt.Sprintf("parallelism=%d", p), func(b *testing.B) {
			w := newWorld(b)
			var seq atomic.Int64
			b.SetParallelism(p)
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					res := w.eng.Mutation(context.Background(), fn.Call{Path: "t:add", Args: map[string]any{"listId": "bench"}, SessionID: "bench", RequestID: seq.Add(1)})
					if res.Err != nil {
						b.Error(res.Err)
						return
					}
				}
			})
		})
	}
}
