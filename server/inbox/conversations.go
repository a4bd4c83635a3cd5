package inbox

import (
	"sort"
	"time"

	"github.com/opencom-go/opencom/server/access"
	"github.com/opencom-go/opencom/server/fn"
	"github.com/opencom-go/opencom/sqlstore"
)

const welcomeMessage = "Hi! How can we help you today?"

var statusV = V.Literal("open", "closed", "snoozed")

func registerConversations(r *fn.Registry) {
	r.Query("conversations:list", "permission:conversations.read", fn.Fields{
		"workspaceId":    V.ID("workspaces"),
		"status":         V.Optional(statusV),
		"paginationOpts": V.Optional(V.PaginationOpts()),
	}, func(c *fn.Ctx, a fn.Args) (any, error) {
		ws := a.Str("workspaceId")
		_, ok, err := softMember(c, ws, access.ConversationsRead)
		if err != nil {
			return nil, err
		}
		if !ok {
			if a.Has("paginationOpts") {
				return sqlstore.Page{Page: []sqlstore.Doc{}, IsDone: true, ContinueCursor: "_start"}, nil
			}
			return []sqlstore.Doc{}, nil
		}
		q := c.DB().Query("conversations").Eq("workspaceId", ws)
		if s := a.Str("status"); s != "" {
			q = q.Eq("status", s)
		}
		q = q.Desc()
		if a.Has("paginationOpts") {
			return c.Paginate(q, a.Page("paginationOpts"))
		}
		ds, err := q.Collect()
		return docs(ds), err
	})

	r.Query("conversations:listForInbox", "permission:conversations.read", fn.Fields{
		"workspaceId":     V.ID("workspaces"),
		"status":          V.Optional(statusV),
		"aiWorkflowState": V.Optional(V.Literal("ai_handled", "handoff")),
		"limit":           V.Optional(V.Number()),
		"cursor":          V.Optional(V.String()),
	}, listForInbox)

	r.Query("conversations:get", "agent or visitor", fn.Fields{
		"id":           V.ID("conversations"),
		"visitorId":    V.Optional(V.ID("visitors")),
		"sessionToken": V.Optional(V.String()),
	}, func(c *fn.Ctx, a fn.Args) (any, error) {
		conv, err := c.DB().Get("conversations", a.Str("id"))
		if err != nil || conv == nil {
			return nil, err
		}
		if tok := a.Str("sessionToken"); tok != "" {
			if _, err := conversationAccess(c, conv, tok, a.Str("visitorId"), ""); err != nil {
				return nil, err
			}
			return conv, nil
		}
		if _, ok, err := softMember(c, conv.Str("workspaceId"), access.ConversationsRead); err != nil || !ok {
			return nil, err
		}
		return conv, nil
	})

	r.Mutation("conversations:create", "permission:conversations.reply", fn.Fields{
		"workspaceId": V.ID("workspaces"),
		"visitorId":   V.Optional(V.ID("visitors")),
		"userId":      V.Optional(V.ID("users")),
	}, func(c *fn.Ctx, a fn.Args) (any, error) {
		ws := a.Str("workspaceId")
		if _, err := access.RequirePermission(c, ws, access.ConversationsReply); err != nil {
			return nil, err
		}
		d := sqlstore.Doc{"workspaceId": ws, "status": "open", "channel": "chat", "createdAt": c.NowMs(), "updatedAt": c.NowMs(),
			"aiWorkflowState": "none", "unreadByAgent": 0.0, "unreadByVisitor": 0.0}
		if vid := a.Str("visitorId"); vid != "" {
			v, err := c.DB().Get("visitors", vid)
			if err != nil {
				return nil, err
			}
			if v == nil || v.Str("workspaceId") != ws {
				return nil, fn.ErrInvalid("Visitor not found in workspace")
			}
			d["visitorId"] = vid
		}
		if uid := a.Str("userId"); uid != "" {
			d["userId"] = uid
		}
		return c.DB().Insert("conversations", d)
	})

	visitorCreate := func(reuseOpen bool) fn.Handler {
		return func(c *fn.Ctx, a fn.Args) (any, error) {
			ws := a.Str("workspaceId")
			v, err := visitorFor(c, a.Str("sessionToken"), ws, a.Str("visitorId"))
			if err != nil {
				return nil, err
			}
			vd, err := c.DB().Get("visitors", v.ID)
			if err != nil {
				return nil, err
			}
			if vd == nil || vd.Str("workspaceId") != ws {
				return nil, fn.Errorf(fn.NotAuthorized, "Not authorized: visitor does not belong to this workspace")
			}
			if reuseOpen {
				existing, err := c.DB().Query("conversations").Eq("visitorId", v.ID).Filter(func(d sqlstore.Doc) bool {
					return d.Str("status") == "open"
				}).First()
				if err != nil || existing != nil {
					return existing, err
				}
			}
			return createForVisitor(c, ws, v.ID)
		}
	}
	visitorArgs := fn.Fields{"workspaceId": V.ID("workspaces"), "visitorId": V.Optional(V.ID("visitors")), "sessionToken": V.String()}
	r.Mutation("conversations:createForVisitor", "visitor", visitorArgs, visitorCreate(false))
	r.Mutation("conversations:getOrCreateForVisitor", "visitor", visitorArgs, visitorCreate(true))

	r.Mutation("conversations:updateStatus", "permission:conversations.close", fn.Fields{
		"id":           V.ID("conversations"),
		"status":       statusV,
		"snoozedUntil": V.Optional(V.Number()),
	}, func(c *fn.Ctx, a fn.Args) (any, error) {
		conv, err := getDoc(c, "conversations", a.Str("id"), "Conversation")
		if err != nil {
			return nil, err
		}
		m, err := access.RequirePermission(c, conv.Str("workspaceId"), access.ConversationsClose)
		if err != nil {
			return nil, err
		}
		return nil, setStatus(c, conv, a.Str("status"), a.Num("snoozedUntil"), a.Has("snoozedUntil"), "agent", m.UserID)
	})

	r.InternalMutation("conversations:wakeSnoozed", fn.Fields{"id": V.ID("conversations"), "snoozedUntil": V.Number()}, func(c *fn.Ctx, a fn.Args) (any, error) {
		conv, err := c.DB().Get("conversations", a.Str("id"))
		if err != nil || conv == nil {
			return nil, err
		}
		// A later snooze or a manual status change supersedes this wake-up.
		if conv.Str("status") != "snoozed" || conv.Num("snoozedUntil") != a.Num("snoozedUntil") {
			return nil, nil
		}
		return nil, setStatus(c, conv, "open", 0, false, "system", "")
	})

	r.Mutation("conversations:assign", "permission:conversations.assign", fn.Fields{
		"id":      V.ID("conversations"),
		"agentId": V.ID("users"),
	}, func(c *fn.Ctx, a fn.Args) (any, error) {
		conv, err := getDoc(c, "conversations", a.Str("id"), "Conversation")
		if err != nil {
			return nil, err
		}
		m, err := access.RequirePermission(c, conv.Str("workspaceId"), access.ConversationsAssign)
		if err != nil {
			return nil, err
		}
		return nil, assignConversation(c, conv, a.Str("agentId"), m.UserID)
	})

	r.Mutation("conversations:markAsRead", "agent or visitor", fn.Fields{
		"id":           V.ID("conversations"),
		"readerType":   V.Literal("visitor", "agent"),
		"visitorId":    V.Optional(V.ID("visitors")),
		"sessionToken": V.Optional(V.String()),
	}, func(c *fn.Ctx, a fn.Args) (any, error) {
		conv, err := getDoc(c, "conversations", a.Str("id"), "Conversation")
		if err != nil {
			return nil, err
		}
		if a.Str("readerType") == "visitor" {
			if a.Str("sessionToken") == "" {
				return nil, fn.Errorf(fn.NotAuthenticated, "Session token required")
			}
			if _, err := conversationAccess(c, conv, a.Str("sessionToken"), a.Str("visitorId"), ""); err != nil {
				return nil, err
			}
			if conv.Num("unreadByVisitor") == 0 {
				return nil, nil
			}
			return nil, c.DB().Patch("conversations", conv.ID(), sqlstore.Doc{"unreadByVisitor": 0.0})
		}
		if _, err := access.RequirePermission(c, conv.Str("workspaceId"), access.ConversationsRead); err != nil {
			return nil, err
		}
		if conv.Num("unreadByAgent") == 0 {
			return nil, nil
		}
		return nil, c.DB().Patch("conversations", conv.ID(), sqlstore.Doc{"unreadByAgent": 0.0})
	})

	visitorListArgs := fn.Fields{"visitorId": V.Optional(V.ID("visitors")), "sessionToken": V.Optional(V.String()), "workspaceId": V.Optional(V.ID("workspaces"))}
	r.Query("conversations:listByVisitor", "visitor", visitorListArgs, func(c *fn.Ctx, a fn.Args) (any, error) {
		if a.Str("sessionToken") == "" || a.Str("workspaceId") == "" {
			return []any{}, nil
		}
		v, err := visitorFor(c, a.Str("sessionToken"), a.Str("workspaceId"), a.Str("visitorId"))
		if err != nil {
			return nil, err
		}
		convs, err := c.DB().Query("conversations").Eq("visitorId", v.ID).Desc().Collect()
		if err != nil {
			return nil, err
		}
		out := make([]sqlstore.Doc, 0, len(convs))
		for _, conv := range convs {
			last, err := lastMessage(c, conv.ID(), false)
			if err != nil {
				return nil, err
			}
			e := copyDoc(conv)
			e["lastMessage"] = nullable(last)
			out = append(out, e)
		}
		sort.SliceStable(out, func(i, j int) bool { return sortTime(out[i]) > sortTime(out[j]) })
		return out, nil
	})

	r.Query("conversations:getTotalUnreadForVisitor", "visitor", visitorListArgs, func(c *fn.Ctx, a fn.Args) (any, error) {
		if a.Str("sessionToken") == "" || a.Str("workspaceId") == "" {
			return 0.0, nil
		}
		v, err := visitorFor(c, a.Str("sessionToken"), a.Str("workspaceId"), a.Str("visitorId"))
		if err != nil {
			return nil, err
		}
		convs, err := c.DB().Query("conversations").Eq("visitorId", v.ID).Collect()
		if err != nil {
			return nil, err
		}
		total := 0.0
		for _, conv := range convs {
			total += conv.Num("unreadByVisitor")
		}
		return total, nil
	})

	r.Query("conversations:listEvents", "permission:conversations.read", fn.Fields{"id": V.ID("conversations")}, func(c *fn.Ctx, a fn.Args) (any, error) {
		conv, err := c.DB().Get("conversations", a.Str("id"))
		if err != nil || conv == nil {
			return []any{}, err
		}
		if _, ok, err := softMember(c, conv.Str("workspaceId"), access.ConversationsRead); err != nil || !ok {
			return []any{}, err
		}
		ds, err := c.DB().Query("conversationEvents").Eq("conversationId", conv.ID()).Collect()
		return docs(ds), err
	})
}

func nullable(d sqlstore.Doc) any {
	if d == nil {
		return nil
	}
	return d
}

func sortTime(d sqlstore.Doc) float64 {
	if d.Has("lastMessageAt") {
		return d.Num("lastMessageAt")
	}
	return d.Num("createdAt")
}

// lastMessage is the newest message; visitors never see internal notes.
func lastMessage(c *fn.Ctx, convID string, includeInternal bool) (sqlstore.Doc, error) {
	q := c.DB().Query("messages").Eq("conversationId", convID).Desc()
	if !includeInternal {
		q = q.Filter(func(d sqlstore.Doc) bool { return !d.Bool("isInternal") })
	}
	return q.First()
}

func createForVisitor(c *fn.Ctx, ws, visitorID string) (any, error) {
	now := c.NowMs()
	id, err := c.DB().Insert("conversations", sqlstore.Doc{
		"workspaceId": ws, "visitorId": visitorID, "status": "open", "channel": "chat",
		"createdAt": now, "updatedAt": now, "lastMessageAt": now, "aiWorkflowState": "none",
		"unreadByAgent": 0.0, "unreadByVisitor": 0.0,
		"lastMessagePreview": welcomeMessage, "lastMessageSenderType": "bot",
	})
	if err != nil {
		return nil, err
	}
	if _, err := c.DB().Insert("messages", sqlstore.Doc{
		"conversationId": id, "workspaceId": ws, "senderId": "system", "senderType": "bot",
		"content": welcomeMessage, "channel": "chat", "createdAt": now,
	}); err != nil {
		return nil, err
	}
	return c.DB().Get("conversations", id)
}

func addEvent(c *fn.Ctx, conv sqlstore.Doc, typ, actorType, actorID string, from, to any) error {
	d := sqlstore.Doc{"conversationId": conv.ID(), "workspaceId": conv.Str("workspaceId"), "type": typ,
		"actorType": actorType, "createdAt": c.NowMs()}
	if actorID != "" {
		d["actorId"] = actorID
	}
	if from != nil && from != "" {
		d["from"] = from
	}
	if to != nil && to != "" {
		d["to"] = to
	}
	_, err := c.DB().Insert("conversationEvents", d)
	return err
}

// setStatus changes a conversation's status with Opencom's resolvedAt rule
// (closed sets it, open clears it, snoozed keeps it) and leaves a timeline
// event. A snooze with an end time schedules the wake-up.
func setStatus(c *fn.Ctx, conv sqlstore.Doc, status string, snoozedUntil float64, hasUntil bool, actorType, actorID string) error {
	now := c.NowMs()
	patch := sqlstore.Doc{"status": status, "updatedAt": now, "snoozedUntil": nil}
	switch status {
	case "closed":
		patch["resolvedAt"] = now
	case "open":
		patch["resolvedAt"] = nil
	case "snoozed":
		if hasUntil {
			if snoozedUntil <= now {
				return fn.ErrInvalid("snoozedUntil must be in the future")
			}
			patch["snoozedUntil"] = snoozedUntil
		}
	}
	if hasUntil && status != "snoozed" {
		return fn.ErrInvalid("snoozedUntil is only valid with status snoozed")
	}
	old := conv.Str("status")
	if err := c.DB().Patch("conversations", conv.ID(), patch); err != nil {
		return err
	}
	if status == "snoozed" && hasUntil {
		at := time.UnixMilli(int64(snoozedUntil))
		if _, err := c.RunAt(at, "conversations:wakeSnoozed", map[string]any{"id": conv.ID(), "snoozedUntil": snoozedUntil}); err != nil {
			return err
		}
	}
	if old == status && !hasUntil {
		return nil
	}
	return addEvent(c, conv, "status_changed", actorType, actorID, old, status)
}

func assignConversation(c *fn.Ctx, conv sqlstore.Doc, agentID, actorID string) error {
	m, err := access.MembershipOf(c, agentID, conv.Str("workspaceId"))
	if err != nil {
		return err
	}
	if m == nil {
		return fn.ErrInvalid("Assignee is not a member of this workspace")
	}
	old := conv.Str("assignedAgentId")
	if old == agentID {
		return nil
	}
	if err := c.DB().Patch("conversations", conv.ID(), sqlstore.Doc{"assignedAgentId": agentID, "updatedAt": c.NowMs()}); err != nil {
		return err
	}
	return addEvent(c, conv, "assigned", "agent", actorID, old, agentID)
}

func listForInbox(c *fn.Ctx, a fn.Args) (any, error) {
	ws := a.Str("workspaceId")
	empty := map[string]any{"conversations": []any{}, "nextCursor": nil}
	_, ok, err := softMember(c, ws, access.ConversationsRead)
	if err != nil || !ok {
		return empty, err
	}
	limit := 50
	if a.Has("limit") {
		limit = int(a.Num("limit"))
	}
	limit = min(max(limit, 1), 100)
	scan := min(max(limit*20, 500), 5000)
	q := c.DB().Query("conversations").Eq("workspaceId", ws)
	if s := a.Str("status"); s != "" {
		q = q.Eq("status", s)
	}
	if st := a.Str("aiWorkflowState"); st != "" {
		q = q.Filter(func(d sqlstore.Doc) bool { return d.Str("aiWorkflowState") == st })
	}
	convs, err := q.Desc().Take(scan)
	if err != nil {
		return nil, err
	}
	sort.SliceStable(convs, func(i, j int) bool {
		ti, tj := sortTime(convs[i]), sortTime(convs[j])
		if ti != tj {
			return ti > tj
		}
		return convs[i].ID() > convs[j].ID()
	})
	start := 0
	if cur := a.Str("cursor"); cur != "" {
		for i, d := range convs {
			if d.ID() == cur {
				start = i + 1
				break
			}
		}
	}
	end := min(start+limit, len(convs))
	page := convs[start:end]
	out := make([]sqlstore.Doc, 0, len(page))
	for _, conv := range page {
		e := copyDoc(conv)
		var visitor sqlstore.Doc
		if vid := conv.Str("visitorId"); vid != "" {
			if visitor, err = c.DB().Get("visitors", vid); err != nil {
				return nil, err
			}
		}
		e["visitor"] = nullable(visitor)
		last, err := lastMessage(c, conv.ID(), true)
		if err != nil {
			return nil, err
		}
		e["lastMessage"] = nullable(last)
		e["aiWorkflow"] = map[string]any{"state": orDefault(conv.Str("aiWorkflowState"), "none"),
			"handoffReason": conv["aiHandoffReason"], "confidence": conv["aiLastConfidence"], "lastResponseAt": conv["aiLastResponseAt"]}
		out = append(out, e)
	}
	var next any
	if end < len(convs) && len(page) > 0 {
		next = page[len(page)-1].ID()
	}
	return map[string]any{"conversations": out, "nextCursor": next}, nil
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}
