package inbox

import (
	"github.com/opencom-go/opencom/server/access"
	"github.com/opencom-go/opencom/server/fn"
	"github.com/opencom-go/opencom/sqlstore"
)

// automationDefaults are Opencom's values for a workspace that never saved
// its settings.
var automationDefaults = map[string]bool{
	"suggestArticlesEnabled": false,
	"showReplyTimeEnabled":   false,
	"collectEmailEnabled":    true,
	"askForRatingEnabled":    false,
}

func automationSettingsRow(c *fn.Ctx, ws string) (sqlstore.Doc, error) {
	return c.DB().Query("automationSettings").Eq("workspaceId", ws).First()
}

func registerAutomationSettings(r *fn.Registry) {
	r.Query("automationSettings:get", "permission:settings.workspace", fn.Fields{"workspaceId": V.ID("workspaces")}, func(c *fn.Ctx, a fn.Args) (any, error) {
		if _, ok, err := softMember(c, a.Str("workspaceId"), access.SettingsWorkspace); err != nil || !ok {
			return nil, err
		}
		d, err := automationSettingsRow(c, a.Str("workspaceId"))
		return nullable(d), err
	})

	// Public: the widget reads it to decide on CSAT, email capture and the
	// reply-time line. It holds only feature toggles.
	getOrCreate := func(c *fn.Ctx, a fn.Args) (any, error) {
		d, err := automationSettingsRow(c, a.Str("workspaceId"))
		if err != nil || d != nil {
			return d, err
		}
		out := map[string]any{"workspaceId": a.Str("workspaceId"), "createdAt": c.NowMs(), "updatedAt": c.NowMs()}
		for k, v := range automationDefaults {
			out[k] = v
		}
		return out, nil
	}
	r.Query("automationSettings:getOrCreate", "public", fn.Fields{"workspaceId": V.ID("workspaces")}, getOrCreate)
	// Alias the widget calls.
	r.Query("automationSettings:getPublic", "public", fn.Fields{"workspaceId": V.ID("workspaces")}, getOrCreate)

	r.Mutation("automationSettings:upsert", "permission:settings.workspace", fn.Fields{
		"workspaceId":            V.ID("workspaces"),
		"suggestArticlesEnabled": V.Optional(V.Boolean()),
		"showReplyTimeEnabled":   V.Optional(V.Boolean()),
		"collectEmailEnabled":    V.Optional(V.Boolean()),
		"askForRatingEnabled":    V.Optional(V.Boolean()),
	}, func(c *fn.Ctx, a fn.Args) (any, error) {
		ws := a.Str("workspaceId")
		if _, err := access.RequirePermission(c, ws, access.SettingsWorkspace); err != nil {
			return nil, err
		}
		d, err := automationSettingsRow(c, ws)
		if err != nil {
			return nil, err
		}
		patch := sqlstore.Doc{"updatedAt": c.NowMs()}
		for k := range automationDefaults {
			if a.Has(k) {
				patch[k] = a.Bool(k)
			}
		}
		if d != nil {
			return d.ID(), c.DB().Patch("automationSettings", d.ID(), patch)
		}
		patch["workspaceId"], patch["createdAt"] = ws, c.NowMs()
		for k, v := range automationDefaults {
			if _, ok := patch[k]; !ok {
				patch[k] = v
			}
		}
		return c.DB().Insert("automationSettings", patch)
	})
}
