package events

import (
	"math"
	"sort"

	"github.com/opencom-go/opencom/server/access"
	"github.com/opencom-go/opencom/server/fn"
	"github.com/opencom-go/opencom/sqlstore"
)

const (
	defaultListLimit = 100
	maxListLimit     = 1000
)

func registerRead(r *fn.Registry) {
	r.Query("events:list", "permission:conversations.read or the visitor's own session ([] otherwise)", fn.Fields{
		"visitorId":    V.ID("visitors"),
		"limit":        V.Optional(V.Number()),
		"sessionToken": V.Optional(V.String()),
		"workspaceId":  V.Optional(V.ID("workspaces")),
	}, func(c *fn.Ctx, a fn.Args) (any, error) {
		limit := defaultListLimit
		if a.Has("limit") {
			l := a.Num("limit")
			if math.IsNaN(l) || l < 1 {
				return []sqlstore.Doc{}, nil
			}
			limit = int(math.Min(math.Floor(l), maxListLimit))
		}
		v, ok, err := canRead(c, a)
		if err != nil || !ok {
			return []sqlstore.Doc{}, err
		}
		ds, err := c.DB().Query("events").Eq("visitorId", v.ID()).Desc().Take(limit)
		if ds == nil {
			ds = []sqlstore.Doc{}
		}
		return ds, err
	})

	r.Query("events:count", "permission:conversations.read or the visitor's own session (0 otherwise)", fn.Fields{
		"visitorId":    V.ID("visitors"),
		"name":         V.String(),
		"withinDays":   V.Optional(V.Number()),
		"sessionToken": V.Optional(V.String()),
		"workspaceId":  V.Optional(V.ID("workspaces")),
	}, func(c *fn.Ctx, a fn.Args) (any, error) {
		v, ok, err := canRead(c, a)
		if err != nil || !ok {
			return 0, err
		}
		q := c.DB().Query("events").Eq("visitorId", v.ID()).Eq("name", a.Str("name"))
		if a.Has("withinDays") {
			q = q.Gte("timestamp", c.NowMs()-a.Num("withinDays")*dayMs)
		}
		return q.Count()
	})

	r.Query("events:getDistinctNames", "permission:conversations.read ([] when signed out)", fn.Fields{
		"workspaceId": V.ID("workspaces"),
	}, func(c *fn.Ctx, a fn.Args) (any, error) {
		ws := a.Str("workspaceId")
		if ok, err := softPermission(c, ws, access.ConversationsRead); err != nil || !ok {
			return []string{}, err
		}
		// DISTINCT over the (workspaceId, name) index rather than reading
		// every event of the workspace. Raw reads are not recorded: depend on
		// the workspace's events like Query.Eq("workspaceId") would.
		c.DB().Reads.Add(sqlstore.FieldKey("events", "workspaceId", ws))
		rows, err := c.DB().QueryRaw(`SELECT DISTINCT name FROM events WHERE workspaceId = ?`, ws)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		names := []string{}
		for rows.Next() {
			var n string
			if err := rows.Scan(&n); err != nil {
				return nil, err
			}
			names = append(names, n)
		}
		if err := rows.Err(); err != nil {
			return nil, err
		}
		sort.Strings(names)
		return names, nil
	})
}

// canRead authorises reading a visitor's events (Opencom's list/count):
// the visitor itself, through a session token of its workspace, or an
// agent with conversations.read in the visitor's workspace. A token that
// does not resolve to this visitor falls through to the agent check, as in
// Opencom, so another visitor's token never reads anything. It returns the
// visitor, or ok=false for the fail-soft empty result (unknown visitor,
// anonymous caller, workspaceId of another workspace); a signed-in agent
// without the permission gets an error.
func canRead(c *fn.Ctx, a fn.Args) (sqlstore.Doc, bool, error) {
	v, err := c.DB().Get("visitors", a.Str("visitorId"))
	if err != nil || v == nil {
		return nil, false, err
	}
	ws := v.Str("workspaceId")
	if a.Has("workspaceId") && a.Str("workspaceId") != ws {
		return nil, false, nil
	}
	if tok := a.Str("sessionToken"); tok != "" {
		if sv, err := access.ResolveVisitor(c, tok, ws); err == nil && sv.ID == v.ID() {
			return v, true, nil
		}
	}
	ok, err := softPermission(c, ws, access.ConversationsRead)
	if err != nil || !ok {
		return nil, false, err
	}
	return v, true, nil
}

// softPermission is the fail-soft read check of Opencom's queries: an
// anonymous caller gets an empty result (false, nil); a signed-in caller
// must hold perm in the workspace (else PERMISSION_DENIED or
// NOT_WORKSPACE_MEMBER).
func softPermission(c *fn.Ctx, workspaceID, perm string) (bool, error) {
	uid, err := access.UserID(c)
	if err != nil || uid == "" {
		return false, err
	}
	if _, err := access.RequirePermission(c, workspaceID, perm); err != nil {
		return false, err
	}
	return true, nil
}
