package events

import (
	"math"

	"github.com/opencom-go/opencom/server/access"
	"github.com/opencom-go/opencom/server/fn"
	"github.com/opencom-go/opencom/sqlstore"
)

const (
	// DefaultAutoEventTTLDays is how old automatic events must be before
	// events:cleanupOldAutoEvents deletes them when no ttlDays is given.
	DefaultAutoEventTTLDays = 30
	// CleanupBatch is the most events one cleanup call deletes.
	CleanupBatch = 1000
)

func registerCleanup(r *fn.Registry) {
	r.Mutation("events:cleanupOldAutoEvents", "permission:data.delete", fn.Fields{
		"workspaceId": V.ID("workspaces"),
		"ttlDays":     V.Optional(V.Number()),
	}, func(c *fn.Ctx, a fn.Args) (any, error) {
		ws := a.Str("workspaceId")
		if _, err := access.RequireUser(c); err != nil {
			return nil, err
		}
		if _, err := access.RequirePermission(c, ws, access.DataDelete); err != nil {
			return nil, err
		}
		ttl := float64(DefaultAutoEventTTLDays)
		if a.Has("ttlDays") {
			ttl = a.Num("ttlDays")
			if math.IsNaN(ttl) || math.IsInf(ttl, 0) || ttl < 0 {
				return nil, fn.ErrInvalid("ttlDays must be a non-negative number")
			}
		}
		cutoff := c.NowMs() - ttl*dayMs
		// Only automatic events expire; manual ones (and rows without an
		// eventType) are kept. One indexed range read per type, oldest
		// first, one more row than the batch to know whether more remain.
		var old []sqlstore.Doc
		for _, t := range AutoTypes {
			ds, err := c.DB().Query("events").Eq("workspaceId", ws).Eq("eventType", t).Lt("timestamp", cutoff).
				OrderBy("timestamp").Take(CleanupBatch + 1 - len(old))
			if err != nil {
				return nil, err
			}
			old = append(old, ds...)
			if len(old) > CleanupBatch {
				break
			}
		}
		hasMore := len(old) > CleanupBatch
		if hasMore {
			old = old[:CleanupBatch]
		}
		for _, d := range old {
			if err := c.DB().Delete("events", d.ID()); err != nil {
				return nil, err
			}
		}
		return map[string]any{"deleted": len(old), "hasMore": hasMore}, nil
	})
}
