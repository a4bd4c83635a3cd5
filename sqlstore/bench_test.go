package sqlstore

import (
	"context"
	"io"
	"log/slog"
	"testing"
)

// BenchmarkCommit measures the commit rate of small rows. "single" is one
// writer waiting for each commit (every Write is its own SQLite commit);
// "parallel" has GOMAXPROCS*8 writers whose writes group-commit. With
// "full" each commit fsyncs the WAL, so its rate is bounded by the disk.
func BenchmarkCommit(b *testing.B) {
	for _, d := range []string{DurabilityNormal, DurabilityFull} {
		b.Run(d+"/single", func(b *testing.B) {
			s := openTest(b, Options{Durability: d, Logger: quiet})
			ctx := context.Background()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := s.Write(ctx, func(tx *Tx) error {
					_, err := tx.Insert("items", Doc{"listId": "bench", "rank": float64(i), "text": "hello"})
					return err
				}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "commits/s")
		})
		b.Run(d+"/parallel", func(b *testing.B) {
			s := openTest(b, Options{Durability: d, Logger: quiet})
			ctx := context.Background()
			b.SetParallelism(8)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := s.Write(ctx, func(tx *Tx) error {
						_, err := tx.Insert("items", Doc{"listId": "bench", "text": "hello"})
						return err
					}); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "writes/s")
		})
	}
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))
