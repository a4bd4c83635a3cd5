package sqlstore

import (
	"context"
	"testing"
)

// Count lets SQLite count when no Go-side filter is set; it must agree with
// the documents a query returns and record the same read set.
func TestCountMatchesCollect(t *testing.T) {
	s := openTest(t, Options{})
	ctx := context.Background()
	_, err := s.Write(ctx, func(tx *Tx) error {
		for i := 0; i < 30; i++ {
			d := Doc{"listId": []string{"a", "b", "c"}[i%3], "rank": float64(i)}
			if i%5 == 0 {
				d["listId"] = nil
			}
			if _, err := tx.Insert("items", d); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		q    func(tx *Tx) *Query
		want int
	}{
		{"all", func(tx *Tx) *Query { return tx.Query("items") }, 30},
		{"eq", func(tx *Tx) *Query { return tx.Query("items").Eq("listId", "a") }, 8},
		{"eq none", func(tx *Tx) *Query { return tx.Query("items").Eq("listId", "zzz") }, 0},
		{"null", func(tx *Tx) *Query { return tx.Query("items").IsNull("listId") }, 6},
		{"range", func(tx *Tx) *Query { return tx.Query("items").Gte("rank", 10).Lt("rank", 20) }, 10},
		{"eq and range", func(tx *Tx) *Query { return tx.Query("items").Eq("listId", "b").Gt("rank", 15) }, 4},
		{"ordered desc", func(tx *Tx) *Query { return tx.Query("items").OrderBy("rank").Desc().Lte("rank", 3) }, 4},
		{"filter", func(tx *Tx) *Query {
			return tx.Query("items").Filter(func(d Doc) bool { return d["rank"].(float64) >= 25 })
		}, 5},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := s.Read(ctx, func(tx *Tx) error {
				countReads, collectReads := NewReadSet(), NewReadSet()
				tx.Reads = countReads
				n, err := c.q(tx).Count()
				if err != nil {
					return err
				}
				tx.Reads = collectReads
				docs, err := c.q(tx).Collect()
				if err != nil {
					return err
				}
				if n != c.want || len(docs) != c.want {
					t.Errorf("Count %d, Collect %d, want %d", n, len(docs), c.want)
				}
				ck, dk := countReads.Keys(), collectReads.Keys()
				if len(ck) == 0 || len(ck) != len(dk) {
					t.Fatalf("Count read %v, Collect read %v", ck, dk)
				}
				for i := range ck {
					if ck[i] != dk[i] {
						t.Errorf("Count read %v, Collect read %v", ck, dk)
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}
