package identity

import (
	"log/slog"
	"sort"
	"strings"
	"time"

	"github.com/opencom-go/opencom/server/access"
	"github.com/opencom-go/opencom/server/fn"
	"github.com/opencom-go/opencom/sqlstore"
)

// AuditEvent is the optional part of an audit entry.
type AuditEvent struct {
	ResourceType string
	ResourceID   string
	Metadata     map[string]any
	// ActorID / ActorType default to the signed-in user ("user"), else
	// "api" for calls from a client and "system" for scheduled work.
	ActorID   string
	ActorType string
}

// Audit writes an audit log entry for workspaceID. Like Opencom's logAudit
// it is fail-open: a failed write is logged, never returned, because an
// audit hiccup must not undo the action being audited. In a mutation the
// entry commits (or rolls back) with it; in an action it is written by its
// own internal mutation.
func Audit(c *fn.Ctx, workspaceID, action string, ev AuditEvent) {
	doc := auditDoc(c, workspaceID, action, ev)
	var err error
	if c.Tx != nil {
		if c.Tx.Writable() {
			_, err = c.Tx.Insert("auditLogs", doc)
		}
	} else {
		_, err = c.RunMutation("auditLogs:write", map[string]any{"entry": map[string]any(doc)})
	}
	if err != nil && c.Engine != nil && c.Engine.Log != nil {
		c.Engine.Log.Warn("audit log write failed", slog.String("action", action), slog.Any("err", err))
	}
}

func auditDoc(c *fn.Ctx, workspaceID, action string, ev AuditEvent) sqlstore.Doc {
	actorType, actorID := ev.ActorType, ev.ActorID
	if actorID == "" && c.Identity != nil && sqlstore.IsID(c.Identity.Subject) {
		actorID = c.Identity.Subject
	}
	if actorType == "" {
		switch {
		case actorID != "":
			actorType = "user"
		case c.Caller.Transport == "scheduler":
			actorType = "system"
		default:
			actorType = "api"
		}
	}
	d := sqlstore.Doc{"workspaceId": workspaceID, "action": action, "actorType": actorType, "resourceType": ev.ResourceType, "timestamp": c.NowMs()}
	if actorID != "" {
		d["actorId"] = actorID
	}
	if ev.ResourceID != "" {
		d["resourceId"] = ev.ResourceID
	}
	if ev.Metadata != nil {
		d["metadata"] = ev.Metadata
	}
	if c.Caller.IP != "" {
		d["ipAddress"] = c.Caller.IP
	}
	if c.Caller.UserAgent != "" {
		d["userAgent"] = c.Caller.UserAgent
	}
	return d
}

// Retention choices (days) and the default.
var retentionChoices = []float64{30, 90, 365}

const defaultRetentionDays = 90

func retentionDays(tx *sqlstore.Tx, workspaceID string) (float64, sqlstore.Doc, error) {
	s, err := tx.Query("auditLogSettings").Eq("workspaceId", workspaceID).First()
	if err != nil || s == nil {
		return defaultRetentionDays, nil, err
	}
	return s.Num("retentionDays"), s, nil
}

func (m *module) registerAuditLogs(r *fn.Registry) {
	V := fn.V
	filters := fn.Fields{
		"workspaceId":  V.ID("workspaces"),
		"action":       V.Optional(V.String()),
		"actorId":      V.Optional(V.ID("users")),
		"resourceType": V.Optional(V.String()),
		"resourceId":   V.Optional(V.String()),
		"startTime":    V.Optional(V.Number()),
		"endTime":      V.Optional(V.Number()),
	}
	withFilters := func(extra fn.Fields) fn.Fields {
		out := fn.Fields{}
		for k, v := range filters {
			out[k] = v
		}
		for k, v := range extra {
			out[k] = v
		}
		return out
	}
	query := func(c *fn.Ctx, a fn.Args) *sqlstore.Query {
		q := c.DB().Query("auditLogs").Eq("workspaceId", a.Str("workspaceId"))
		if a.Has("startTime") {
			q = q.Gte("timestamp", a.Num("startTime"))
		}
		if a.Has("endTime") {
			q = q.Lte("timestamp", a.Num("endTime"))
		}
		return q.OrderBy("timestamp").Desc().Filter(func(d sqlstore.Doc) bool {
			return (!a.Has("action") || d.Str("action") == a.Str("action")) &&
				(!a.Has("actorId") || d.Str("actorId") == a.Str("actorId")) &&
				(!a.Has("resourceType") || d.Str("resourceType") == a.Str("resourceType")) &&
				(!a.Has("resourceId") || d.Str("resourceId") == a.Str("resourceId"))
		})
	}
	enrich := func(c *fn.Ctx, rows []sqlstore.Doc) []sqlstore.Doc {
		users := map[string]sqlstore.Doc{}
		for _, d := range rows {
			id := d.Str("actorId")
			if id == "" {
				continue
			}
			u, ok := users[id]
			if !ok {
				u, _ = c.DB().Get("users", id)
				users[id] = u
			}
			if u != nil {
				d["actorName"] = u["name"]
				d["actorEmail"] = u["email"]
			}
		}
		return rows
	}

	// list: without paginationOpts it returns an array (newest first, limit
	// default 100) as Opencom does; with paginationOpts a Convex page.
	r.Query("auditLogs:list", "permission:audit.read (soft when signed out)", withFilters(fn.Fields{"limit": V.Optional(V.Number()), "paginationOpts": V.Optional(V.PaginationOpts())}), func(c *fn.Ctx, a fn.Args) (any, error) {
		if uid, err := access.UserID(c); err != nil || uid == "" {
			if a.Has("paginationOpts") {
				return sqlstore.Page{Page: []sqlstore.Doc{}, IsDone: true}, err
			}
			return []any{}, err
		}
		if _, err := access.RequirePermission(c, a.Str("workspaceId"), access.AuditRead); err != nil {
			return nil, err
		}
		if a.Has("paginationOpts") {
			pg, err := c.Paginate(query(c, a), a.Page("paginationOpts"))
			if err != nil {
				return nil, err
			}
			pg.Page = enrich(c, pg.Page)
			return pg, nil
		}
		limit := 100
		if a.Has("limit") {
			limit = min(max(int(a.Num("limit")), 1), 1000)
		}
		rows, err := query(c, a).Take(limit)
		if err != nil {
			return nil, err
		}
		if rows == nil {
			return []any{}, nil
		}
		return enrich(c, rows), nil
	})

	r.Query("auditLogs:getActions", "permission:audit.read (soft when signed out)", fn.Fields{"workspaceId": V.ID("workspaces")}, func(c *fn.Ctx, a fn.Args) (any, error) {
		if uid, err := access.UserID(c); err != nil || uid == "" {
			return []any{}, err
		}
		if _, err := access.RequirePermission(c, a.Str("workspaceId"), access.AuditRead); err != nil {
			return nil, err
		}
		rows, err := c.DB().Query("auditLogs").Eq("workspaceId", a.Str("workspaceId")).OrderBy("timestamp").Desc().Take(1000)
		if err != nil {
			return nil, err
		}
		seen := map[string]bool{}
		out := []string{}
		for _, d := range rows {
			if act := d.Str("action"); !seen[act] {
				seen[act] = true
				out = append(out, act)
			}
		}
		sort.Strings(out)
		return out, nil
	})

	r.Query("auditLogs:getSettings", "permission:settings.security", fn.Fields{"workspaceId": V.ID("workspaces")}, func(c *fn.Ctx, a fn.Args) (any, error) {
		if _, err := access.RequirePermission(c, a.Str("workspaceId"), access.SettingsSecurity); err != nil {
			return nil, err
		}
		days, s, err := retentionDays(c.DB(), a.Str("workspaceId"))
		if err != nil {
			return nil, err
		}
		if s != nil {
			return s, nil
		}
		return map[string]any{"workspaceId": a.Str("workspaceId"), "retentionDays": days, "createdAt": 0, "updatedAt": 0}, nil
	})

	r.Mutation("auditLogs:updateSettings", "permission:settings.security", fn.Fields{"workspaceId": V.ID("workspaces"), "retentionDays": V.Number()}, func(c *fn.Ctx, a fn.Args) (any, error) {
		ws := a.Str("workspaceId")
		if _, err := access.RequirePermission(c, ws, access.SettingsSecurity); err != nil {
			return nil, err
		}
		days := a.Num("retentionDays")
		valid := false
		for _, d := range retentionChoices {
			valid = valid || d == days
		}
		if !valid {
			return nil, fn.ErrInvalid("Retention days must be 30, 90, or 365")
		}
		old, s, err := retentionDays(c.DB(), ws)
		if err != nil {
			return nil, err
		}
		if s != nil {
			err = c.DB().Patch("auditLogSettings", s.ID(), sqlstore.Doc{"retentionDays": days, "updatedAt": c.NowMs()})
		} else {
			_, err = c.DB().Insert("auditLogSettings", sqlstore.Doc{"workspaceId": ws, "retentionDays": days, "createdAt": c.NowMs(), "updatedAt": c.NowMs()})
		}
		if err != nil {
			return nil, err
		}
		Audit(c, ws, "workspace.security.changed", AuditEvent{ResourceType: "auditLogSettings", ResourceID: ws, Metadata: map[string]any{"setting": "auditLogRetentionDays", "oldValue": old, "newValue": days}})
		return map[string]any{"success": true}, nil
	})

	r.Query("auditLogs:getAccess", "member (any caller; reports what the caller may do)", fn.Fields{"workspaceId": V.ID("workspaces")}, func(c *fn.Ctx, a fn.Args) (any, error) {
		uid, err := access.UserID(c)
		if err != nil {
			return nil, err
		}
		if uid == "" {
			return map[string]any{"status": "unauthenticated", "canRead": false, "canExport": false, "canManageSecurity": false}, nil
		}
		mem, err := access.Membership(c, a.Str("workspaceId"))
		if err != nil {
			return nil, err
		}
		if mem == nil {
			return map[string]any{"status": "forbidden", "canRead": false, "canExport": false, "canManageSecurity": false}, nil
		}
		return map[string]any{"status": "ok", "canRead": mem.Has(access.AuditRead), "canExport": mem.Has(access.DataExport), "canManageSecurity": mem.Has(access.SettingsSecurity)}, nil
	})

	r.Query("auditLogs:exportLogs", "permission:data.export", withFilters(fn.Fields{"format": V.Optional(V.Literal("json", "csv"))}), func(c *fn.Ctx, a fn.Args) (any, error) {
		if _, err := access.RequirePermission(c, a.Str("workspaceId"), access.DataExport); err != nil {
			return nil, err
		}
		if !a.Has("startTime") {
			a["startTime"] = c.NowMs() - float64(30*24*time.Hour/time.Millisecond)
		}
		rows, err := query(c, a).Take(10000)
		if err != nil {
			return nil, err
		}
		rows = enrich(c, rows)
		cols := []string{"timestamp", "action", "actorType", "actorId", "actorName", "actorEmail", "resourceType", "resourceId", "metadata", "ipAddress", "userAgent"}
		data := make([]map[string]any, 0, len(rows))
		for _, d := range rows {
			e := map[string]any{}
			for _, k := range cols {
				e[k] = d[k]
			}
			e["timestamp"] = time.UnixMilli(int64(d.Num("timestamp"))).UTC().Format("2006-01-02T15:04:05.000Z")
			data = append(data, e)
		}
		if a.Str("format") != "csv" {
			return map[string]any{"format": "json", "data": data, "count": len(data)}, nil
		}
		var b strings.Builder
		csvCols := []string{"timestamp", "action", "actorType", "actorId", "actorName", "actorEmail", "resourceType", "resourceId", "ipAddress", "userAgent"}
		b.WriteString(strings.Join(csvCols, ",") + "\n")
		for _, e := range data {
			cells := make([]string, len(csvCols))
			for i, k := range csvCols {
				s, _ := e[k].(string)
				cells[i] = `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
			}
			b.WriteString(strings.Join(cells, ",") + "\n")
		}
		return map[string]any{"format": "csv", "data": b.String(), "count": len(data)}, nil
	})

	r.Mutation("auditLogs:logExport", "permission:data.export", fn.Fields{"workspaceId": V.ID("workspaces"), "exportType": V.String(), "recordCount": V.Number()}, func(c *fn.Ctx, a fn.Args) (any, error) {
		if _, err := access.RequirePermission(c, a.Str("workspaceId"), access.DataExport); err != nil {
			return nil, err
		}
		Audit(c, a.Str("workspaceId"), "data.exported", AuditEvent{ResourceType: a.Str("exportType"), Metadata: map[string]any{"exportType": a.Str("exportType"), "recordCount": a.Num("recordCount")}})
		return nil, nil
	})

	// write is Audit's path from actions (which have no transaction).
	r.InternalMutation("auditLogs:write", fn.Fields{"entry": V.Record(V.Any())}, func(c *fn.Ctx, a fn.Args) (any, error) {
		e := sqlstore.Doc(a.Map("entry"))
		if e.Str("workspaceId") == "" || e.Str("action") == "" {
			return nil, fn.ErrInvalid("audit entry needs workspaceId and action")
		}
		return c.DB().Insert("auditLogs", e)
	})

	// cleanupOldLogs deletes entries older than each workspace's retention,
	// in batches so one run never holds the writer for long.
	r.InternalMutation("auditLogs:cleanupOldLogs", fn.Fields{"batchSize": V.Optional(V.Number())}, func(c *fn.Ctx, a fn.Args) (any, error) {
		batch := 500
		if a.Has("batchSize") {
			batch = max(1, int(a.Num("batchSize")))
		}
		wss, err := c.DB().Query("workspaces").Collect()
		if err != nil {
			return nil, err
		}
		total := 0
		for _, w := range wss {
			days, _, err := retentionDays(c.DB(), w.ID())
			if err != nil {
				return nil, err
			}
			cutoff := c.NowMs() - days*float64(24*time.Hour/time.Millisecond)
			old, err := c.DB().Query("auditLogs").Eq("workspaceId", w.ID()).Lt("timestamp", cutoff).OrderBy("timestamp").Take(batch)
			if err != nil {
				return nil, err
			}
			for _, d := range old {
				if err := c.DB().Delete("auditLogs", d.ID()); err != nil {
					return nil, err
				}
			}
			total += len(old)
		}
		return map[string]any{"totalDeleted": total, "workspacesProcessed": len(wss)}, nil
	})
	r.AddCron(fn.Cron{Name: "prune audit logs past retention", Every: time.Hour, Function: "auditLogs:cleanupOldLogs"})
}
