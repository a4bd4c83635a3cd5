// Package testfns is the _test module: small functions that exercise the
// engine and the sync protocol from conformance tests. It is registered
// only when the server runs in test mode.
package testfns

import (
	"strings"
	"time"

	"github.com/opencom-go/opencom/server/authtoken"
	"github.com/opencom-go/opencom/server/fn"
	ocsync "github.com/opencom-go/opencom/server/sync"
)

// Deps are what the module needs from the server.
type Deps struct {
	Tokens          *authtoken.Keys
	DropConnections func() int
	Sync            interface{ Connections() int }
}

// Register adds the _test functions.
func Register(r *fn.Registry, d Deps) {
	V := fn.V
	if h, ok := d.Sync.(interface{ EnableTestHooks() }); ok {
		h.EnableTestHooks()
	}
	r.Query("_test:listItems", "public", fn.Fields{"listId": V.String()}, func(c *fn.Ctx, a fn.Args) (any, error) {
		items, err := c.DB().Query("testItems").Eq("listId", a.Str("listId")).Collect()
		if items == nil {
			return []any{}, err
		}
		return items, err
	})
	r.Query("_test:pageItems", "public", fn.Fields{"listId": V.String(), "paginationOpts": V.PaginationOpts()}, func(c *fn.Ctx, a fn.Args) (any, error) {
		return c.Paginate(c.DB().Query("testItems").Eq("listId", a.Str("listId")).Desc(), a.Page("paginationOpts"))
	})
	r.Query("_test:countItems", "public", fn.Fields{"listId": V.String()}, func(c *fn.Ctx, a fn.Args) (any, error) {
		return c.DB().Query("testItems").Eq("listId", a.Str("listId")).Count()
	})
	r.Mutation("_test:addItem", "public", fn.Fields{"listId": V.String(), "text": V.String()}, func(c *fn.Ctx, a fn.Args) (any, error) {
		return c.DB().Insert("testItems", map[string]any{"listId": a.Str("listId"), "text": a.Str("text")})
	})
	// addItemThenDrop commits like addItem, then has the sync server close
	// the socket before the MutationResponse is sent: the client must
	// replay the mutation on its next socket and get the stored outcome.
	r.Mutation("_test:addItemThenDrop", "public", fn.Fields{"listId": V.String(), "text": V.String()}, func(c *fn.Ctx, a fn.Args) (any, error) {
		id, err := c.DB().Insert("testItems", map[string]any{"listId": a.Str("listId"), "text": a.Str("text")})
		if err == nil {
			ocsync.DropAfterCommit(c.Context)
		}
		return id, err
	})
	r.Mutation("_test:addItems", "public", fn.Fields{"listId": V.String(), "count": V.Number(), "failAfter": V.Optional(V.Boolean())}, func(c *fn.Ctx, a fn.Args) (any, error) {
		for i := 0; i < int(a.Num("count")); i++ {
			if _, err := c.DB().Insert("testItems", map[string]any{"listId": a.Str("listId"), "n": float64(i)}); err != nil {
				return nil, err
			}
		}
		if a.Bool("failAfter") {
			return nil, fn.Errorf(fn.InvalidInput, "failing after writing on purpose")
		}
		return a.Num("count"), nil
	})
	r.Mutation("_test:fail", "public", fn.Fields{"code": V.String(), "message": V.String()}, func(c *fn.Ctx, a fn.Args) (any, error) {
		return nil, fn.Errorf(a.Str("code"), "%s", a.Str("message"))
	})
	r.Query("_test:failQuery", "public", fn.Fields{"code": V.String(), "message": V.String()}, func(c *fn.Ctx, a fn.Args) (any, error) {
		return nil, fn.Errorf(a.Str("code"), "%s", a.Str("message"))
	})
	r.Mutation("_test:panic", "public", nil, func(c *fn.Ctx, a fn.Args) (any, error) {
		panic("deliberate panic from _test:panic")
	})
	r.Query("_test:big", "public", fn.Fields{"bytes": V.Number()}, func(c *fn.Ctx, a fn.Args) (any, error) {
		n := int(a.Num("bytes"))
		var b strings.Builder
		b.Grow(n)
		for b.Len() < n {
			b.WriteString("0123456789abcdef€") // includes a multi-byte rune to exercise chunk splitting
		}
		return map[string]any{"payload": b.String(), "length": b.Len()}, nil
	})
	r.Query("_test:whoami", "public", nil, func(c *fn.Ctx, a fn.Args) (any, error) {
		if c.Identity == nil {
			return nil, nil
		}
		return map[string]any{"subject": c.Identity.Subject, "session": c.Identity.SessionID}, nil
	})
	r.Action("_test:echo", "public", fn.Fields{"value": V.Any()}, func(c *fn.Ctx, a fn.Args) (any, error) {
		return a["value"], nil
	})
	r.Action("_test:addViaAction", "public", fn.Fields{"listId": V.String(), "text": V.String()}, func(c *fn.Ctx, a fn.Args) (any, error) {
		return c.RunMutation("_test:addItem", map[string]any{"listId": a.Str("listId"), "text": a.Str("text")})
	})
	r.Action("_test:failAction", "public", fn.Fields{"code": V.String(), "message": V.String()}, func(c *fn.Ctx, a fn.Args) (any, error) {
		return nil, fn.Errorf(a.Str("code"), "%s", a.Str("message"))
	})
	// mintToken issues an agent token for any subject (test mode only):
	// ttlSeconds may be negative to get an already expired token.
	r.Action("_test:mintToken", "public", fn.Fields{"subject": V.String(), "ttlSeconds": V.Number()}, func(c *fn.Ctx, a fn.Args) (any, error) {
		ttl := time.Duration(a.Num("ttlSeconds") * float64(time.Second))
		tok, _, err := d.Tokens.Issue(a.Str("subject"), "testsession", ttl)
		return tok, err
	})
	// dropConnections closes every sync socket with InternalServerError,
	// as a crash of the connection would; clients reconnect.
	r.Action("_test:dropConnections", "public", nil, func(c *fn.Ctx, a fn.Args) (any, error) {
		go func() {
			time.Sleep(50 * time.Millisecond)
			d.DropConnections()
		}()
		return nil, nil
	})
	r.Mutation("_test:scheduleAdd", "public", fn.Fields{"listId": V.String(), "text": V.String(), "delayMs": V.Number()}, func(c *fn.Ctx, a fn.Args) (any, error) {
		return c.RunAfter(time.Duration(a.Num("delayMs"))*time.Millisecond, "_test:addItemInternal", map[string]any{"listId": a.Str("listId"), "text": a.Str("text")})
	})
	r.InternalMutation("_test:addItemInternal", fn.Fields{"listId": V.String(), "text": V.String()}, func(c *fn.Ctx, a fn.Args) (any, error) {
		return c.DB().Insert("testItems", map[string]any{"listId": a.Str("listId"), "text": a.Str("text")})
	})
}
