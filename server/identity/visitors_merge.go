package identity

import (
	"sort"

	"github.com/opencom-go/opencom/server/access"
	"github.com/opencom-go/opencom/server/fn"
	"github.com/opencom-go/opencom/sqlstore"
)

// Email merge (behaviour.md, visitors.identify): when a visitor identifies
// with an email that an older visitor of the same workspace already has,
// the identifying visitor (the source) is folded into that one (the
// canonical visitor, or target). The source's links are moved, the target
// gets the new profile, the source is deleted and a visitor.merged audit
// entry records what happened. It all runs inside identify's mutation, so
// a failure at any step leaves every row as it was.

const (
	auditVisitorMerged       = "visitor.merged"
	mergeReasonEmailMatch    = "email_match"
	mergeHistoryDefaultLimit = 20
	mergeHistoryMaxLimit     = 100
)

// mergeProfileFields are the fields a merge takes from the call, or else
// copies from the source when the target has no value of its own.
var mergeProfileFields = []string{"name", "externalUserId", "location", "device", "referrer", "currentUrl"}

// testHookAfterMove, when a test sets it, runs once the source's links have
// been moved and before the visitors are written; an error from it fails
// the mutation (the test checks that nothing was kept). Nil in production.
var testHookAfterMove func() error

// mergeCounts are the numbers reported in the audit metadata.
type mergeCounts struct {
	conversations, sessions, pushTokens, events int
}

// canonicalVisitorByEmail returns the visitor of the workspace, other than
// sourceID, that has email: the oldest by createdAt, then _creationTime,
// then _id. Nil when there is none.
func canonicalVisitorByEmail(c *fn.Ctx, workspaceID, email, sourceID string) (sqlstore.Doc, error) {
	cands, err := c.DB().Query("visitors").Eq("email", email).Filter(func(d sqlstore.Doc) bool {
		return d.Str("workspaceId") == workspaceID && d.ID() != sourceID
	}).Collect()
	if err != nil || len(cands) == 0 {
		return nil, err
	}
	sort.Slice(cands, func(i, j int) bool {
		a, b := cands[i], cands[j]
		if a.Num("createdAt") != b.Num("createdAt") {
			return a.Num("createdAt") < b.Num("createdAt")
		}
		if a.Num("_creationTime") != b.Num("_creationTime") {
			return a.Num("_creationTime") < b.Num("_creationTime")
		}
		return a.ID() < b.ID()
	})
	return cands[0], nil
}

// emailClaimTrusted reports whether a caller claiming an email may take
// over target, the workspace's visitor with that email. Opencom merges on
// any claimed email (and boot resumes by email), which lets anyone who
// knows a customer's address read that customer's conversations; we do it
// only when identity verification vouched for the caller (a valid userHash
// for its externalUserId) and target is not a different verified user.
// Unverified callers keep their own visitor and just record the email.
func emailClaimTrusted(ver verification, externalUserID string, target sqlstore.Doc) bool {
	if !ver.Verified || externalUserID == "" {
		return false
	}
	other := target.Str("externalUserId")
	return other == "" || other == externalUserID
}

// mergeVisitorInto merges source into target and returns the updated
// target. provided are the profile fields of the identify call (already
// validated and normalised), attrs its customAttributes.
func mergeVisitorInto(c *fn.Ctx, source, target sqlstore.Doc, provided sqlstore.Doc, attrs map[string]any) (sqlstore.Doc, error) {
	tx := c.DB()
	ws := source.Str("workspaceId")
	now := c.NowMs()
	counts, err := moveVisitorLinks(c, ws, source.ID(), target.ID(), now)
	if err != nil {
		return nil, err
	}
	if testHookAfterMove != nil {
		if err := testHookAfterMove(); err != nil {
			return nil, err
		}
	}

	patch := sqlstore.Doc{"lastSeenAt": now}
	targetReadable := target.Str("readableId")
	if targetReadable == "" {
		targetReadable = ReadableID(target.ID())
		patch["readableId"] = targetReadable
	}
	sourceReadable := source.Str("readableId")
	if sourceReadable == "" {
		sourceReadable = ReadableID(source.ID())
	}
	for _, k := range mergeProfileFields {
		switch {
		case provided.Has(k):
			patch[k] = provided[k]
		case isEmptyValue(target[k]) && !isEmptyValue(source[k]):
			patch[k] = source[k]
		}
	}
	// Verification state and email describe this call; the target already
	// has the email, which is how it was found.
	for _, k := range []string{"email", "identityVerified", "identityVerifiedAt"} {
		if provided.Has(k) {
			patch[k] = provided[k]
		}
	}
	// Later wins: the source's attributes, then the target's, then the call's.
	merged := mergeAttributes(mergeAttributes(source["customAttributes"], asMap(target["customAttributes"])), attrs)
	if len(merged) > 0 {
		patch["customAttributes"] = merged
	}
	if err := tx.Patch("visitors", target.ID(), patch); err != nil {
		return nil, err
	}
	if err := tx.Delete("visitors", source.ID()); err != nil {
		return nil, err
	}
	Audit(c, ws, auditVisitorMerged, AuditEvent{
		ActorType:    "api",
		ResourceType: "visitor",
		ResourceID:   target.ID(),
		Metadata: map[string]any{
			"sourceVisitorId":         source.ID(),
			"sourceVisitorReadableId": sourceReadable,
			"targetVisitorId":         target.ID(),
			"targetVisitorReadableId": targetReadable,
			"workspaceId":             ws,
			"reason":                  mergeReasonEmailMatch,
			"mergedAt":                now,
			"reassignedConversations": counts.conversations,
			"reassignedSessions":      counts.sessions,
			"migratedPushTokens":      counts.pushTokens,
			"reassignedEvents":        counts.events,
		},
	})
	return tx.Get("visitors", target.ID())
}

// moveVisitorLinks points the source visitor's rows of the workspace at the
// target. Moving the widgetSessions is what keeps the widget working: its
// session token now resolves (access.ResolveVisitor) to the target.
//
// Events (migration 0004) move too. Opencom also moves visitorPushTokens,
// which no migration of ours creates yet (there are no mobile push
// channels): that move runs only once a migration adds the table, with
// visitorId as a key column (Opencom's by_visitor index).
func moveVisitorLinks(c *fn.Ctx, workspaceID, sourceID, targetID string, now float64) (mergeCounts, error) {
	tx := c.DB()
	var n mergeCounts
	var err error
	if n.conversations, err = repoint(tx, "conversations", workspaceID, sourceID, targetID); err != nil {
		return n, err
	}
	if n.sessions, err = repoint(tx, "widgetSessions", workspaceID, sourceID, targetID); err != nil {
		return n, err
	}
	if tx.Store().IsDocTable("visitorPushTokens") {
		if n.pushTokens, err = movePushTokens(tx, workspaceID, sourceID, targetID, now); err != nil {
			return n, err
		}
	}
	if tx.Store().IsDocTable("events") {
		if n.events, err = repoint(tx, "events", workspaceID, sourceID, targetID); err != nil {
			return n, err
		}
	}
	if tx.Store().IsDocTable("supportAttachments") {
		if err := moveStagedUploads(tx, workspaceID, sourceID, targetID); err != nil {
			return n, err
		}
	}
	return n, nil
}

// moveStagedUploads gives the source's staged (uploaded, not yet sent)
// attachments to the target: binding checks the uploader, and the widget
// sends them as the target right after the merge.
func moveStagedUploads(tx *sqlstore.Tx, workspaceID, sourceID, targetID string) error {
	rows, err := tx.Query("supportAttachments").Eq("workspaceId", workspaceID).Eq("status", "staged").Filter(func(d sqlstore.Doc) bool {
		return d.Str("uploadedByType") == "visitor" && d.Str("uploadedById") == sourceID
	}).Collect()
	if err != nil {
		return err
	}
	for _, d := range rows {
		if err := tx.Patch("supportAttachments", d.ID(), sqlstore.Doc{"uploadedById": targetID}); err != nil {
			return err
		}
	}
	return nil
}

// repoint sets visitorId to targetID on the table's rows of the workspace
// that belong to sourceID and returns how many it changed.
func repoint(tx *sqlstore.Tx, table, workspaceID, sourceID, targetID string) (int, error) {
	rows, err := tx.Query(table).Eq("visitorId", sourceID).Collect()
	if err != nil {
		return 0, err
	}
	n := 0
	for _, d := range rows {
		if d.Str("workspaceId") != workspaceID {
			continue
		}
		if err := tx.Patch(table, d.ID(), sqlstore.Doc{"visitorId": targetID}); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// movePushTokens gives the source's push tokens to the target. A device
// token the target already has is not duplicated: the source's row is
// deleted (re-enabling notifications on the target's row if only the
// source's had them on) and not counted.
func movePushTokens(tx *sqlstore.Tx, workspaceID, sourceID, targetID string, now float64) (int, error) {
	have := map[string]sqlstore.Doc{}
	ts, err := tx.Query("visitorPushTokens").Eq("visitorId", targetID).Collect()
	if err != nil {
		return 0, err
	}
	for _, d := range ts {
		have[d.Str("token")] = d
	}
	src, err := tx.Query("visitorPushTokens").Eq("visitorId", sourceID).Collect()
	if err != nil {
		return 0, err
	}
	n := 0
	for _, d := range src {
		if dup, ok := have[d.Str("token")]; ok {
			fix := sqlstore.Doc{}
			if on, _ := d["notificationsEnabled"].(bool); on {
				if off, ok := dup["notificationsEnabled"].(bool); ok && !off {
					fix["notificationsEnabled"] = true
				}
			}
			if dup.Str("workspaceId") != workspaceID {
				fix["workspaceId"] = workspaceID
			}
			if len(fix) > 0 {
				fix["updatedAt"] = now
				if err := tx.Patch("visitorPushTokens", dup.ID(), fix); err != nil {
					return n, err
				}
			}
			if err := tx.Delete("visitorPushTokens", d.ID()); err != nil {
				return n, err
			}
			continue
		}
		if err := tx.Patch("visitorPushTokens", d.ID(), sqlstore.Doc{"visitorId": targetID, "workspaceId": workspaceID, "updatedAt": now}); err != nil {
			return n, err
		}
		d["visitorId"] = targetID
		have[d.Str("token")] = d
		n++
	}
	return n, nil
}

// mergeAttributes returns a new map with old's entries overlaid by add's
// (a shallow {...old, ...add}); old may be nil or not a map.
func mergeAttributes(old any, add map[string]any) map[string]any {
	out := map[string]any{}
	for k, x := range asMap(old) {
		out[k] = x
	}
	for k, x := range add {
		out[k] = x
	}
	return out
}

func asMap(v any) map[string]any { m, _ := v.(map[string]any); return m }

// isEmptyValue: absent, null, "" or an empty object.
func isEmptyValue(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return x == ""
	case map[string]any:
		return len(x) == 0
	}
	return false
}

// registerMergeHistory adds visitors:getMergeHistory: the visitor.merged
// entries of the workspace in which the visitor is the source or the
// target, newest first. Soft access like the directory queries: callers
// without users.read get a status and no entries, never an error.
//
// A merged-away (deleted) visitor still has a history: its id is looked up
// in the audit entries, and "not_found" is returned only when the visitor
// neither exists nor appears in any merge.
func registerMergeHistory(r *fn.Registry) {
	V := fn.V
	r.Query("visitors:getMergeHistory", "permission:users.read ({status, entries:[]} otherwise)", fn.Fields{
		"workspaceId": V.ID("workspaces"),
		"visitorId":   V.ID("visitors"),
		"limit":       V.Optional(V.Number()),
	}, func(c *fn.Ctx, a fn.Args) (any, error) {
		ws, vid := a.Str("workspaceId"), a.Str("visitorId")
		result := func(status string, entries []any) map[string]any {
			return map[string]any{"status": status, "entries": entries}
		}
		uid, err := access.UserID(c)
		if err != nil {
			return nil, err
		}
		if uid == "" {
			return result("unauthenticated", []any{}), nil
		}
		mem, err := access.MembershipOf(c, uid, ws)
		if err != nil {
			return nil, err
		}
		if !mem.Has(access.UsersRead) {
			return result("forbidden", []any{}), nil
		}
		v, err := c.DB().Get("visitors", vid)
		if err != nil {
			return nil, err
		}
		if v != nil && v.Str("workspaceId") != ws {
			return result("forbidden", []any{}), nil
		}
		limit := mergeHistoryDefaultLimit
		if a.Has("limit") {
			limit = min(max(int(a.Num("limit")), 1), mergeHistoryMaxLimit)
		}
		rows, err := c.DB().Query("auditLogs").Eq("workspaceId", ws).Eq("action", auditVisitorMerged).OrderBy("timestamp").Desc().Filter(func(d sqlstore.Doc) bool {
			e := mergeHistoryEntry(d)
			return e != nil && (e["sourceVisitorId"] == vid || e["targetVisitorId"] == vid)
		}).Take(limit)
		if err != nil {
			return nil, err
		}
		entries := make([]any, 0, len(rows))
		for _, d := range rows {
			entries = append(entries, mergeHistoryEntry(d))
		}
		if v == nil && len(entries) == 0 {
			return result("not_found", entries), nil
		}
		return result("ok", entries), nil
	})
}

// mergeHistoryEntry turns a visitor.merged audit row into a history entry,
// or nil when the row lacks the visitor ids. Older rows may miss some
// metadata: the target falls back to the row's resourceId, mergedAt to its
// timestamp, the reason to email_match and the counts to 0.
func mergeHistoryEntry(d sqlstore.Doc) map[string]any {
	md := sqlstore.Doc(asMap(d["metadata"]))
	src := md.Str("sourceVisitorId")
	dst := md.Str("targetVisitorId")
	if dst == "" {
		dst = d.Str("resourceId")
	}
	if src == "" || dst == "" {
		return nil
	}
	strOrNil := func(k string) any {
		if s, ok := md[k].(string); ok {
			return s
		}
		return nil
	}
	num := func(k string, def float64) float64 {
		if x, ok := md[k].(float64); ok {
			return x
		}
		return def
	}
	reason := md.Str("reason")
	if reason == "" {
		reason = mergeReasonEmailMatch
	}
	return map[string]any{
		"auditLogId":              d.ID(),
		"sourceVisitorId":         src,
		"sourceVisitorReadableId": strOrNil("sourceVisitorReadableId"),
		"targetVisitorId":         dst,
		"targetVisitorReadableId": strOrNil("targetVisitorReadableId"),
		"workspaceId":             d.Str("workspaceId"),
		"mergedAt":                num("mergedAt", d.Num("timestamp")),
		"reason":                  reason,
		"reassignedConversations": num("reassignedConversations", 0),
		"reassignedSessions":      num("reassignedSessions", 0),
		"migratedPushTokens":      num("migratedPushTokens", 0),
		"reassignedEvents":        num("reassignedEvents", 0),
	}
}
