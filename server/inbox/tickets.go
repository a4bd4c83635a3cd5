package inbox

import (
	"github.com/opencom-go/opencom/server/access"
	"github.com/opencom-go/opencom/server/attachments"
	"github.com/opencom-go/opencom/server/fn"
	"github.com/opencom-go/opencom/sqlstore"
)

var (
	ticketStatusV   = V.Literal("submitted", "in_progress", "waiting_on_customer", "resolved")
	ticketPriorityV = V.Literal("low", "normal", "high", "urgent")
	formDataV       = V.Record(V.Union(V.String(), V.Number(), V.Boolean(), V.Null(), V.Array(V.String())))
)

func registerTickets(r *fn.Registry, fileURL attachments.URLFunc) {
	r.Query("tickets:list", "permission:conversations.read", fn.Fields{
		"workspaceId": V.ID("workspaces"), "status": V.Optional(ticketStatusV), "assigneeId": V.Optional(V.ID("users")),
	}, func(c *fn.Ctx, a fn.Args) (any, error) {
		ws := a.Str("workspaceId")
		if _, err := access.RequirePermission(c, ws, access.ConversationsRead); err != nil {
			return nil, err
		}
		q := c.DB().Query("tickets").Eq("workspaceId", ws)
		if s := a.Str("status"); s != "" {
			q = q.Eq("status", s)
		} else if as := a.Str("assigneeId"); as != "" {
			q = q.Eq("assigneeId", as)
		}
		ts, err := q.Desc().Collect()
		if err != nil {
			return nil, err
		}
		out := make([]sqlstore.Doc, 0, len(ts))
		for _, t := range ts {
			e, err := enrichTicket(c, t, false, false, fileURL)
			if err != nil {
				return nil, err
			}
			out = append(out, e)
		}
		return out, nil
	})

	r.Query("tickets:get", "agent or visitor", fn.Fields{
		"id": V.ID("tickets"), "visitorId": V.Optional(V.ID("visitors")), "sessionToken": V.Optional(V.String()),
	}, func(c *fn.Ctx, a fn.Args) (any, error) {
		t, err := c.DB().Get("tickets", a.Str("id"))
		if err != nil || t == nil {
			return nil, err
		}
		visitor, err := ticketAccess(c, t, a, true)
		if err != nil || (!visitor && !softOK(c)) {
			return nil, err
		}
		// Unlike Opencom, a visitor never receives internal comments.
		return enrichTicket(c, t, true, !visitor, fileURL)
	})

	r.Query("tickets:listByVisitor", "agent or visitor", fn.Fields{
		"visitorId": V.Optional(V.ID("visitors")), "sessionToken": V.Optional(V.String()), "workspaceId": V.ID("workspaces"),
	}, func(c *fn.Ctx, a fn.Args) (any, error) {
		ws := a.Str("workspaceId")
		var vid string
		if tok := a.Str("sessionToken"); tok != "" {
			v, err := visitorFor(c, tok, ws, a.Str("visitorId"))
			if err != nil {
				return nil, err
			}
			vid = v.ID
		} else {
			if _, ok, err := softMember(c, ws, access.ConversationsRead); err != nil || !ok || a.Str("visitorId") == "" {
				return []any{}, err
			}
			vid = a.Str("visitorId")
		}
		ts, err := c.DB().Query("tickets").Eq("visitorId", vid).Filter(func(d sqlstore.Doc) bool { return d.Str("workspaceId") == ws }).Desc().Collect()
		if err != nil {
			return nil, err
		}
		for i, t := range ts {
			if ts[i], err = withAttachments(c, t, fileURL); err != nil {
				return nil, err
			}
		}
		return docs(ts), nil
	})

	r.Mutation("tickets:create", "agent or visitor", fn.Fields{
		"workspaceId": V.ID("workspaces"), "visitorId": V.Optional(V.ID("visitors")), "sessionToken": V.Optional(V.String()),
		"subject": V.String(), "description": V.Optional(V.String()), "attachmentIds": V.Optional(V.Array(V.ID("supportAttachments"))),
		"priority": V.Optional(ticketPriorityV), "formId": V.Optional(V.String()), "formData": V.Optional(formDataV),
	}, func(c *fn.Ctx, a fn.Args) (any, error) {
		ws := a.Str("workspaceId")
		var actor attachments.Actor
		d := sqlstore.Doc{"workspaceId": ws, "status": "submitted", "priority": orDefault(a.Str("priority"), "normal"),
			"createdAt": c.NowMs(), "updatedAt": c.NowMs()}
		if tok := a.Str("sessionToken"); tok != "" {
			v, err := visitorFor(c, tok, ws, a.Str("visitorId"))
			if err != nil {
				return nil, err
			}
			d["visitorId"] = v.ID
			actor = attachments.Visitor(v.ID)
		} else {
			m, err := access.RequirePermission(c, ws, access.ConversationsReply)
			if err != nil {
				return nil, err
			}
			actor = attachments.Agent(m.UserID)
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
		}
		subject, err := requireText("subject", a.Str("subject"), maxNameLen)
		if err != nil {
			return nil, err
		}
		d["subject"] = subject
		ids, err := attachments.Check(c, ws, a.List("attachmentIds"), actor)
		if err != nil {
			return nil, err
		}
		if len(ids) > 0 {
			d["attachmentIds"] = ids
		}
		for _, k := range []string{"description", "formId"} {
			if a.Has(k) {
				d[k] = a.Str(k)
			}
		}
		if a.Has("formData") {
			d["formData"] = a.Map("formData")
		}
		id, err := c.DB().Insert("tickets", d)
		if err != nil {
			return nil, err
		}
		return id, attachments.Bind(c, ids, attachments.Binding{TicketID: id})
	})

	r.Mutation("tickets:update", "permission:conversations.reply", fn.Fields{
		"id": V.ID("tickets"), "status": V.Optional(ticketStatusV), "priority": V.Optional(ticketPriorityV),
		"assigneeId": V.Optional(V.ID("users")), "teamId": V.Optional(V.String()),
	}, func(c *fn.Ctx, a fn.Args) (any, error) {
		t, err := getAuthorized(c, "tickets", a.Str("id"), "Ticket", access.ConversationsReply)
		if err != nil {
			return nil, err
		}
		patch := sqlstore.Doc{"updatedAt": c.NowMs()}
		if s := a.Str("status"); s != "" {
			patch["status"] = s
			if s == "resolved" {
				patch["resolvedAt"] = c.NowMs()
			}
		}
		if p := a.Str("priority"); p != "" {
			patch["priority"] = p
		}
		if as := a.Str("assigneeId"); as != "" {
			m, err := access.MembershipOf(c, as, t.Str("workspaceId"))
			if err != nil {
				return nil, err
			}
			if m == nil {
				return nil, fn.ErrInvalid("Assignee is not a member of this workspace")
			}
			patch["assigneeId"] = as
		}
		if a.Has("teamId") {
			patch["teamId"] = a.Str("teamId")
		}
		return t.ID(), c.DB().Patch("tickets", t.ID(), patch)
	})

	r.Mutation("tickets:resolve", "permission:conversations.reply", fn.Fields{
		"id": V.ID("tickets"), "resolutionSummary": V.Optional(V.String()),
	}, func(c *fn.Ctx, a fn.Args) (any, error) {
		t, err := getAuthorized(c, "tickets", a.Str("id"), "Ticket", access.ConversationsReply)
		if err != nil {
			return nil, err
		}
		patch := sqlstore.Doc{"status": "resolved", "resolvedAt": c.NowMs(), "updatedAt": c.NowMs()}
		if s := a.Str("resolutionSummary"); s != "" {
			patch["resolutionSummary"] = s
			if _, err := c.DB().Insert("ticketComments", sqlstore.Doc{"ticketId": t.ID(), "authorId": "system", "authorType": "system",
				"content": "Ticket resolved: " + s, "isInternal": false, "createdAt": c.NowMs()}); err != nil {
				return nil, err
			}
		}
		return t.ID(), c.DB().Patch("tickets", t.ID(), patch)
	})

	r.Mutation("tickets:convertFromConversation", "permission:conversations.reply", fn.Fields{
		"conversationId": V.ID("conversations"), "subject": V.Optional(V.String()), "priority": V.Optional(ticketPriorityV),
	}, func(c *fn.Ctx, a fn.Args) (any, error) {
		conv, err := getAuthorized(c, "conversations", a.Str("conversationId"), "Conversation", access.ConversationsReply)
		if err != nil {
			return nil, err
		}
		existing, err := c.DB().Query("tickets").Eq("conversationId", conv.ID()).First()
		if err != nil {
			return nil, err
		}
		if existing != nil {
			return nil, fn.Errorf(fn.AlreadyExists, "A ticket already exists for this conversation")
		}
		subject := a.Str("subject")
		if subject == "" {
			subject = orDefault(conv.Str("subject"), "Ticket from conversation")
		}
		d := sqlstore.Doc{"workspaceId": conv.Str("workspaceId"), "conversationId": conv.ID(), "subject": subject,
			"status": "submitted", "priority": orDefault(a.Str("priority"), "normal"), "createdAt": c.NowMs(), "updatedAt": c.NowMs()}
		if v := conv.Str("visitorId"); v != "" {
			d["visitorId"] = v
		}
		return c.DB().Insert("tickets", d)
	})

	r.Mutation("tickets:addComment", "agent or visitor", fn.Fields{
		"ticketId": V.ID("tickets"), "visitorId": V.Optional(V.ID("visitors")), "content": V.String(),
		"attachmentIds": V.Optional(V.Array(V.ID("supportAttachments"))), "isInternal": V.Optional(V.Boolean()),
		"authorId": V.Optional(V.String()), "authorType": V.Optional(V.String()), "sessionToken": V.Optional(V.String()),
	}, func(c *fn.Ctx, a fn.Args) (any, error) {
		t, err := getDoc(c, "tickets", a.Str("ticketId"), "Ticket")
		if err != nil {
			return nil, err
		}
		content, err := requireText("content", a.Str("content"), maxMessageLen)
		if err != nil {
			return nil, err
		}
		d := sqlstore.Doc{"ticketId": t.ID(), "content": content, "createdAt": c.NowMs()}
		var actor attachments.Actor
		if tok := a.Str("sessionToken"); tok != "" {
			v, err := visitorFor(c, tok, t.Str("workspaceId"), a.Str("visitorId"))
			if err != nil {
				return nil, err
			}
			if t.Str("visitorId") != v.ID {
				return nil, fn.Errorf(fn.NotAuthorized, "Not authorized to comment on this ticket")
			}
			d["authorId"], d["authorType"], d["isInternal"] = v.ID, "visitor", false
			actor = attachments.Visitor(v.ID)
		} else {
			m, err := access.RequirePermission(c, t.Str("workspaceId"), access.ConversationsReply)
			if err != nil {
				return nil, err
			}
			d["authorId"], d["authorType"], d["isInternal"] = m.UserID, "agent", a.Bool("isInternal")
			actor = attachments.Agent(m.UserID)
		}
		ids, err := attachments.Check(c, t.Str("workspaceId"), a.List("attachmentIds"), actor)
		if err != nil {
			return nil, err
		}
		if len(ids) > 0 {
			d["attachmentIds"] = ids
		}
		id, err := c.DB().Insert("ticketComments", d)
		if err != nil {
			return nil, err
		}
		if err := attachments.Bind(c, ids, attachments.Binding{TicketCommentID: id}); err != nil {
			return nil, err
		}
		return id, c.DB().Patch("tickets", t.ID(), sqlstore.Doc{"updatedAt": c.NowMs()})
	})

	r.Query("tickets:getComments", "agent or visitor", fn.Fields{
		"ticketId": V.ID("tickets"), "includeInternal": V.Optional(V.Boolean()), "visitorId": V.Optional(V.ID("visitors")), "sessionToken": V.Optional(V.String()),
	}, func(c *fn.Ctx, a fn.Args) (any, error) {
		t, err := c.DB().Get("tickets", a.Str("ticketId"))
		if err != nil || t == nil {
			return []any{}, err
		}
		visitor, err := ticketAccess(c, t, a, true)
		if err != nil || (!visitor && !softOK(c)) {
			return []any{}, err
		}
		internal := !visitor && a.Bool("includeInternal")
		ds, err := comments(c, t.ID(), internal, fileURL)
		return docs(ds), err
	})
}

// softOK reports whether the caller is signed in (ticketAccess has already
// checked the permission when so).
func softOK(c *fn.Ctx) bool { uid, _ := access.UserID(c); return uid != "" }

// ticketAccess checks a ticket read: returns visitor=true for the owning
// visitor; for agents it checks conversations.read (anonymous: no error,
// visitor=false, the caller returns an empty result).
func ticketAccess(c *fn.Ctx, t sqlstore.Doc, a fn.Args, _ bool) (bool, error) {
	if tok := a.Str("sessionToken"); tok != "" {
		v, err := visitorFor(c, tok, t.Str("workspaceId"), a.Str("visitorId"))
		if err != nil {
			return false, err
		}
		if t.Str("visitorId") != v.ID {
			return false, fn.Errorf(fn.NotAuthorized, "Not authorized to access this ticket")
		}
		return true, nil
	}
	_, _, err := softMember(c, t.Str("workspaceId"), access.ConversationsRead)
	return false, err
}

func comments(c *fn.Ctx, ticketID string, includeInternal bool, fileURL attachments.URLFunc) ([]sqlstore.Doc, error) {
	q := c.DB().Query("ticketComments").Eq("ticketId", ticketID)
	if !includeInternal {
		q = q.Filter(func(d sqlstore.Doc) bool { return !d.Bool("isInternal") })
	}
	ds, err := q.Collect()
	if err != nil {
		return nil, err
	}
	for i, d := range ds {
		if ds[i], err = withAttachments(c, d, fileURL); err != nil {
			return nil, err
		}
	}
	return ds, nil
}

// withAttachments copies a ticket or comment with its attachment
// descriptors.
func withAttachments(c *fn.Ctx, d sqlstore.Doc, fileURL attachments.URLFunc) (sqlstore.Doc, error) {
	att, err := attachments.Descriptors(c, listOf(d["attachmentIds"]), fileURL)
	if err != nil {
		return nil, err
	}
	e := copyDoc(d)
	e["attachments"] = att
	return e, nil
}

func enrichTicket(c *fn.Ctx, t sqlstore.Doc, full, includeInternal bool, fileURL attachments.URLFunc) (sqlstore.Doc, error) {
	e, err := withAttachments(c, t, fileURL)
	if err != nil {
		return nil, err
	}
	var visitor, assignee, conv sqlstore.Doc
	if v := t.Str("visitorId"); v != "" {
		if visitor, err = c.DB().Get("visitors", v); err != nil {
			return nil, err
		}
	}
	if as := t.Str("assigneeId"); as != "" {
		if assignee, err = c.DB().Get("users", as); err != nil {
			return nil, err
		}
	}
	e["visitor"], e["assignee"] = nullable(visitor), nullable(assignee)
	if full {
		if cid := t.Str("conversationId"); cid != "" {
			if conv, err = c.DB().Get("conversations", cid); err != nil {
				return nil, err
			}
		}
		e["conversation"] = nullable(conv)
		cs, err := comments(c, t.ID(), includeInternal, fileURL)
		if err != nil {
			return nil, err
		}
		e["comments"] = docs(cs)
	}
	return e, nil
}
