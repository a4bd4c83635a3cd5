package accessmatrix

import (
	"time"

	"github.com/opencom-go/opencom/server/access"
	"github.com/opencom-go/opencom/server/events"
	"github.com/opencom-go/opencom/sqlstore"
)

// Events entries. Seed: visitor A (workspace A) has a manual "signup"
// event and a 40-day-old page_view (old enough for the default cleanup).
//
// Visitor B always passes its own token and id against workspace A, and
// agents a bare visitorId of visitor A, who has a widget session: both are
// refused on the write path (our bare-visitorId rule, see
// events.eventVisitor) and get nothing on the read path.

func init() {
	// The module is loaded from here rather than from modules.go, so that
	// adding it touched only this file; it is the same call the main
	// package's modules_events.go makes.
	Modules = append(Modules, Module{"github.com/opencom-go/opencom/server/events", events.Module})

	AddSeed(func(fx *Fixture, tx *sqlstore.Tx) error {
		now := float64(time.Now().UnixMilli())
		ws, vid := fx.WorkspaceA, fx.VisitorIDs[VisitorA]
		if _, err := tx.Insert("events", sqlstore.Doc{"workspaceId": ws, "visitorId": vid, "name": "signup", "eventType": "manual", "timestamp": now}); err != nil {
			return err
		}
		if _, err := tx.Insert("events", sqlstore.Doc{"workspaceId": ws, "visitorId": vid, "name": "page_view", "eventType": "page_view",
			"timestamp": now - 40*24*3600*1000, "url": "https://example.test/"}); err != nil {
			return err
		}
		return nil
	})

	read := Roles(access.ConversationsRead)
	visitorA := []Caller{VisitorA}
	withToken := func(fx *Fixture, who Caller, a map[string]any) map[string]any {
		if t := fx.SessionToken(who); t != "" {
			a["sessionToken"] = t
		}
		return a
	}
	// write: the caller's own visitor (visitor A's for agents and none).
	write := func(extra map[string]any) func(fx *Fixture, who Caller) map[string]any {
		return func(fx *Fixture, who Caller) map[string]any {
			a := map[string]any{"workspaceId": fx.WorkspaceA, "visitorId": fx.VisitorID(who)}
			for k, v := range extra {
				a[k] = v
			}
			return withToken(fx, who, a)
		}
	}
	// ofVisitorA: reads of visitor A's events, with the caller's own token.
	ofVisitorA := func(extra map[string]any) func(fx *Fixture, who Caller) map[string]any {
		return func(fx *Fixture, who Caller) map[string]any {
			a := map[string]any{"workspaceId": fx.WorkspaceA, "visitorId": fx.VisitorIDs[VisitorA]}
			for k, v := range extra {
				a[k] = v
			}
			return withToken(fx, who, a)
		}
	}
	zero := func(v any) bool { f, ok := v.(float64); return v == nil || (ok && f == 0) }

	for _, e := range []Entry{
		{Func: "events:track", Args: write(map[string]any{"name": "clicked_upgrade", "properties": map[string]any{"plan": "pro"}}), Allow: visitorA},
		{Func: "events:trackAutoEvent", Args: write(map[string]any{"eventType": "page_view", "url": "https://example.test/pricing"}), Allow: visitorA},
		{Func: "events:list", Args: ofVisitorA(nil), Allow: Plus(read, visitorA), SoftDeny: true},
		{Func: "events:count", Args: ofVisitorA(map[string]any{"name": "signup"}), Allow: Plus(read, visitorA), SoftDeny: true, Empty: zero},
		{Func: "events:getDistinctNames", Args: func(fx *Fixture, _ Caller) map[string]any {
			return map[string]any{"workspaceId": fx.WorkspaceA}
		}, Allow: read, SoftDeny: true},
		{Func: "events:cleanupOldAutoEvents", Args: func(fx *Fixture, _ Caller) map[string]any {
			return map[string]any{"workspaceId": fx.WorkspaceA}
		}, Allow: Roles(access.DataDelete)},
	} {
		add(e)
	}
}
