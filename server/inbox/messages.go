package inbox

import (
	"strings"

	"github.com/opencom-go/opencom/server/access"
	"github.com/opencom-go/opencom/server/attachments"
	"github.com/opencom-go/opencom/server/fn"
	"github.com/opencom-go/opencom/sqlstore"
)

func registerMessages(r *fn.Registry, fileURL attachments.URLFunc) {
	r.Query("messages:list", "agent or visitor", fn.Fields{
		"conversationId": V.ID("conversations"),
		"visitorId":      V.Optional(V.ID("visitors")),
		"sessionToken":   V.Optional(V.String()),
		"paginationOpts": V.Optional(V.PaginationOpts()),
	}, func(c *fn.Ctx, a fn.Args) (any, error) {
		paged := a.Has("paginationOpts")
		empty := func() (any, error) {
			if paged {
				return sqlstore.Page{Page: []sqlstore.Doc{}, IsDone: true, ContinueCursor: "_start"}, nil
			}
			return []sqlstore.Doc{}, nil
		}
		conv, err := c.DB().Get("conversations", a.Str("conversationId"))
		if err != nil {
			return nil, err
		}
		if conv == nil {
			return empty()
		}
		isVisitor := false
		if tok := a.Str("sessionToken"); tok != "" {
			if _, err := conversationAccess(c, conv, tok, a.Str("visitorId"), ""); err != nil {
				return nil, err
			}
			isVisitor = true
		} else if _, ok, err := softMember(c, conv.Str("workspaceId"), access.ConversationsRead); err != nil {
			return nil, err
		} else if !ok {
			return empty()
		}
		q := c.DB().Query("messages").Eq("conversationId", conv.ID())
		if isVisitor {
			// Internal notes are agent-only: filtered in the query itself so
			// neither pages nor counts reveal them.
			q = q.Filter(func(d sqlstore.Doc) bool { return !d.Bool("isInternal") })
		}
		names := map[string]string{}
		if paged {
			// Newest first, so "load more" fetches older history.
			pg, err := c.Paginate(q.Desc(), a.Page("paginationOpts"))
			if err != nil {
				return nil, err
			}
			for i, m := range pg.Page {
				if pg.Page[i], err = decorate(c, m, names, fileURL); err != nil {
					return nil, err
				}
			}
			return pg, nil
		}
		ms, err := q.Collect()
		if err != nil {
			return nil, err
		}
		for i, m := range ms {
			if ms[i], err = decorate(c, m, names, fileURL); err != nil {
				return nil, err
			}
		}
		return docs(ms), nil
	})

	r.Mutation("messages:send", "agent or visitor", fn.Fields{
		"conversationId": V.ID("conversations"),
		"senderId":       V.String(),
		"senderType":     V.Literal("user", "visitor", "agent", "bot"),
		"content":        V.String(),
		"attachmentIds":  V.Optional(V.Array(V.ID("supportAttachments"))),
		"visitorId":      V.Optional(V.ID("visitors")),
		"sessionToken":   V.Optional(V.String()),
		"isInternal":     V.Optional(V.Boolean()),
	}, func(c *fn.Ctx, a fn.Args) (any, error) {
		conv, err := getDoc(c, "conversations", a.Str("conversationId"), "Conversation")
		if err != nil {
			return nil, err
		}
		senderType := a.Str("senderType")
		if senderType == "bot" {
			return nil, fn.Errorf(fn.NotAuthorized, "Not authorized: bot messages can only be sent by internal system callers")
		}
		// A message may be only attachments; text is required otherwise.
		content, err := requireText("content", a.Str("content"), maxMessageLen)
		if err != nil && (len(a.List("attachmentIds")) == 0 || strings.TrimSpace(a.Str("content")) != "") {
			return nil, err
		}
		var senderID string
		var actor attachments.Actor
		if senderType == "visitor" {
			if a.Str("sessionToken") == "" {
				return nil, fn.Errorf(fn.NotAuthenticated, "Session token required")
			}
			cc, err := conversationAccess(c, conv, a.Str("sessionToken"), a.Str("visitorId"), "")
			if err != nil {
				return nil, fn.Errorf(errCode(err), "Not authorized to send messages to this conversation")
			}
			senderID = cc.visitor.ID
			actor = attachments.Visitor(senderID)
			if a.Bool("isInternal") {
				return nil, fn.Errorf(fn.NotAuthorized, "Visitors cannot write internal notes")
			}
		} else {
			// "user" is Opencom's legacy agent type; unlike Opencom we check it
			// like "agent" instead of letting anyone write as staff.
			m, err := access.RequirePermission(c, conv.Str("workspaceId"), access.ConversationsReply)
			if err != nil {
				return nil, err
			}
			senderID = m.UserID
			actor = attachments.Agent(senderID)
		}
		ids, err := attachments.Check(c, conv.Str("workspaceId"), a.List("attachmentIds"), actor)
		if err != nil {
			return nil, err
		}
		return sendMessage(c, conv, senderType, senderID, content, a.Bool("isInternal"), ids)
	})

	r.InternalMutation("messages:internalSendBotMessage", fn.Fields{
		"conversationId": V.ID("conversations"),
		"content":        V.String(),
		"senderId":       V.Optional(V.String()),
	}, func(c *fn.Ctx, a fn.Args) (any, error) {
		conv, err := getDoc(c, "conversations", a.Str("conversationId"), "Conversation")
		if err != nil {
			return nil, err
		}
		content, err := requireText("content", a.Str("content"), maxMessageLen)
		if err != nil {
			return nil, err
		}
		return sendMessage(c, conv, "bot", orDefault(a.Str("senderId"), "system"), content, false, nil)
	})
}

func errCode(err error) string {
	if e, ok := err.(*fn.Error); ok {
		return e.Code
	}
	return fn.NotAuthorized
}

// sendMessage writes a message and, in the same transaction, everything the
// inbox derives from it: last-message time and preview, the other side's
// unread counter, reopening on a visitor reply, and first-response time.
// Internal notes change nothing the visitor can see.
func sendMessage(c *fn.Ctx, conv sqlstore.Doc, senderType, senderID, content string, internal bool, attachmentIDs []string) (any, error) {
	now := c.NowMs()
	msg := sqlstore.Doc{"conversationId": conv.ID(), "workspaceId": conv.Str("workspaceId"), "senderId": senderID,
		"senderType": senderType, "content": content, "channel": "chat", "createdAt": now}
	if internal {
		msg["isInternal"] = true
	}
	if len(attachmentIDs) > 0 {
		msg["attachmentIds"] = attachmentIDs
	}
	id, err := c.DB().Insert("messages", msg)
	if err != nil {
		return nil, err
	}
	// attachmentIDs were checked by attachments.Check; an error from here
	// on fails the mutation, so nothing stays bound.
	if err := attachments.Bind(c, attachmentIDs, attachments.Binding{MessageID: id}); err != nil {
		return nil, err
	}
	if internal {
		return id, nil
	}
	pv := preview(content)
	if pv == "" && len(attachmentIDs) > 0 {
		pv = attachments.PreviewLabel(len(attachmentIDs))
	}
	patch := sqlstore.Doc{"updatedAt": now, "lastMessageAt": now, "lastMessagePreview": pv, "lastMessageSenderType": senderType}
	switch senderType {
	case "visitor":
		patch["unreadByAgent"] = conv.Num("unreadByAgent") + 1
		if st := conv.Str("status"); st != "open" {
			// Beyond Opencom: a customer writing again wants an answer, so a
			// closed or snoozed conversation comes back to the inbox.
			patch["status"] = "open"
			patch["resolvedAt"] = nil
			patch["snoozedUntil"] = nil
			if err := addEvent(c, conv, "status_changed", "visitor", senderID, st, "open"); err != nil {
				return nil, err
			}
		}
	case "agent", "user":
		patch["unreadByVisitor"] = conv.Num("unreadByVisitor") + 1
		if !conv.Has("firstResponseAt") {
			patch["firstResponseAt"] = now
		}
	case "bot":
		patch["unreadByVisitor"] = conv.Num("unreadByVisitor") + 1
	}
	if err := c.DB().Patch("conversations", conv.ID(), patch); err != nil {
		return nil, err
	}
	return id, nil
}

// decorate adds Opencom's derived fields: senderName for staff messages
// and the attachments list.
func decorate(c *fn.Ctx, m sqlstore.Doc, names map[string]string, fileURL attachments.URLFunc) (sqlstore.Doc, error) {
	out := copyDoc(m)
	att, err := attachments.Descriptors(c, listOf(m["attachmentIds"]), fileURL)
	if err != nil {
		return nil, err
	}
	out["attachments"] = att
	st := m.Str("senderType")
	if st == "agent" || st == "user" {
		sid := m.Str("senderId")
		n, ok := names[sid]
		if !ok {
			var err error
			if n, err = userName(c, sid); err != nil {
				return nil, err
			}
			names[sid] = n
		}
		if n == "" {
			n = "Support"
		}
		out["senderName"] = n
	}
	return out, nil
}

// listOf reads a document's id list (attachmentIds) as []any.
func listOf(v any) []any {
	switch l := v.(type) {
	case []any:
		return l
	case []string:
		out := make([]any, len(l))
		for i, s := range l {
			out[i] = s
		}
		return out
	}
	return nil
}
