package sync_test

import (
	gosync "sync"
	"testing"

	"github.com/opencom-go/opencom/server/fn"
	ocsync "github.com/opencom-go/opencom/server/sync"
	"github.com/opencom-go/opencom/sqlstore"
)

// State kept outside the database (typing indicators) changes without a
// commit, so the commit timestamp stays put: Hub.Invalidate must not let
// sockets reuse a shared result computed before the change.
func TestInvalidateBypassesSharedResults(t *testing.T) {
	e := newEnv(t, ocsync.Config{})
	var mu gosync.Mutex
	value := "before"
	key := sqlstore.FieldKey("memory", "k", "x")
	e.engine.Registry.Query("t:memory", "public", nil, func(c *fn.Ctx, a fn.Args) (any, error) {
		c.DB().Reads.Add(key)
		mu.Lock()
		defer mu.Unlock()
		return value, nil
	})
	clients := []*client{e.dial(t), e.dial(t)}
	for i, c := range clients {
		c.connect("s" + string(rune('a'+i)))
		c.modify(0, 1, []add{{id: 1, path: "t:memory", args: map[string]any{}}})
		if got := mods(c.expect("Transition"))[1]["value"]; got != "before" {
			t.Fatalf("client %d first value %v", i, got)
		}
	}
	mu.Lock()
	value = "after"
	mu.Unlock()
	e.hub.Invalidate(key)
	for i, c := range clients {
		if got := mods(c.expect("Transition"))[1]["value"]; got != "after" {
			t.Fatalf("client %d after Invalidate got %v, want the new value", i, got)
		}
	}
}
