package accessmatrix

import (
	"time"

	"github.com/opencom-go/opencom/server/access"
	"github.com/opencom-go/opencom/sqlstore"
)

// Inbox entries. Seed: in workspace A an open conversation of visitor A
// with messages, tag link, event; a closed one (CSAT-eligible, CSAT on);
// a tag, a snippet, a ticket of visitor A with a public comment.

func init() {
	AddSeed(func(fx *Fixture, tx *sqlstore.Tx) error {
		now := float64(time.Now().UnixMilli())
		ws, vid := fx.WorkspaceA, fx.VisitorIDs[VisitorA]
		conv, err := tx.Insert("conversations", sqlstore.Doc{"workspaceId": ws, "visitorId": vid, "status": "open", "channel": "chat",
			"createdAt": now, "updatedAt": now, "lastMessageAt": now, "aiWorkflowState": "none", "unreadByAgent": 1.0, "unreadByVisitor": 2.0})
		if err != nil {
			return err
		}
		closed, err := tx.Insert("conversations", sqlstore.Doc{"workspaceId": ws, "visitorId": vid, "status": "closed", "channel": "chat",
			"createdAt": now, "updatedAt": now, "resolvedAt": now, "aiWorkflowState": "none"})
		if err != nil {
			return err
		}
		for _, m := range []sqlstore.Doc{
			{"senderType": "visitor", "senderId": vid, "content": "I was charged twice"},
			{"senderType": "agent", "senderId": fx.UserIDs[Owner], "content": "Looking into it"},
		} {
			m["conversationId"], m["workspaceId"], m["createdAt"] = conv, ws, now
			if _, err := tx.Insert("messages", m); err != nil {
				return err
			}
		}
		tag, err := tx.Insert("tags", sqlstore.Doc{"workspaceId": ws, "name": "billing", "createdAt": now, "updatedAt": now})
		if err != nil {
			return err
		}
		if _, err := tx.Insert("conversationTags", sqlstore.Doc{"conversationId": conv, "tagId": tag, "appliedBy": "manual", "createdAt": now}); err != nil {
			return err
		}
		snip, err := tx.Insert("snippets", sqlstore.Doc{"workspaceId": ws, "name": "Greeting", "content": "Hello!", "shortcut": "greet", "createdAt": now, "updatedAt": now})
		if err != nil {
			return err
		}
		ticket, err := tx.Insert("tickets", sqlstore.Doc{"workspaceId": ws, "visitorId": vid, "subject": "Refund", "status": "submitted", "priority": "normal", "createdAt": now, "updatedAt": now})
		if err != nil {
			return err
		}
		if _, err := tx.Insert("ticketComments", sqlstore.Doc{"ticketId": ticket, "authorId": vid, "authorType": "visitor", "content": "Any news?", "isInternal": false, "createdAt": now}); err != nil {
			return err
		}
		if _, err := tx.Insert("automationSettings", sqlstore.Doc{"workspaceId": ws, "suggestArticlesEnabled": false, "showReplyTimeEnabled": false,
			"collectEmailEnabled": true, "askForRatingEnabled": true, "createdAt": now, "updatedAt": now}); err != nil {
			return err
		}
		fx.IDs["inbox.conv"], fx.IDs["inbox.closed"], fx.IDs["inbox.tag"] = conv, closed, tag
		fx.IDs["inbox.snippet"], fx.IDs["inbox.ticket"] = snip, ticket
		return nil
	})

	read := Roles(access.ConversationsRead)
	reply := Roles(access.ConversationsReply)
	visitorA := []Caller{VisitorA}
	// withToken adds the caller's own session token (visitors only).
	withToken := func(fx *Fixture, who Caller, a map[string]any) map[string]any {
		if t := fx.SessionToken(who); t != "" {
			a["sessionToken"] = t
		}
		return a
	}
	ws := func(fx *Fixture, _ Caller) map[string]any { return map[string]any{"workspaceId": fx.WorkspaceA} }
	conv := func(key string) func(fx *Fixture, who Caller) map[string]any {
		return func(fx *Fixture, who Caller) map[string]any {
			return withToken(fx, who, map[string]any{key: fx.IDs["inbox.conv"]})
		}
	}
	zero := func(v any) bool { f, ok := v.(float64); return v == nil || (ok && f == 0) }
	noConvs := func(v any) bool {
		m, _ := v.(map[string]any)
		l, _ := m["conversations"].([]any)
		return v == nil || len(l) == 0
	}

	for _, e := range []Entry{
		// conversations
		{Func: "conversations:list", Args: ws, Allow: read, SoftDeny: true},
		{Func: "conversations:listForInbox", Args: ws, Allow: read, SoftDeny: true, Empty: noConvs},
		{Func: "conversations:get", Args: conv("id"), Allow: Plus(read, visitorA), SoftDeny: true},
		{Func: "conversations:listEvents", Args: func(fx *Fixture, _ Caller) map[string]any { return map[string]any{"id": fx.IDs["inbox.conv"]} }, Allow: read, SoftDeny: true, AllowEmpty: true},
		{Func: "conversations:create", Args: ws, Allow: reply},
		{Func: "conversations:createForVisitor", Args: func(fx *Fixture, who Caller) map[string]any {
			return map[string]any{"workspaceId": fx.WorkspaceA, "sessionToken": fx.SessionToken(who)}
		}, Allow: visitorA},
		{Func: "conversations:getOrCreateForVisitor", Args: func(fx *Fixture, who Caller) map[string]any {
			return map[string]any{"workspaceId": fx.WorkspaceA, "sessionToken": fx.SessionToken(who)}
		}, Allow: visitorA},
		{Func: "conversations:updateStatus", Args: func(fx *Fixture, _ Caller) map[string]any {
			return map[string]any{"id": fx.IDs["inbox.conv"], "status": "closed"}
		}, Allow: Roles(access.ConversationsClose)},
		{Func: "conversations:assign", Args: func(fx *Fixture, _ Caller) map[string]any {
			return map[string]any{"id": fx.IDs["inbox.conv"], "agentId": fx.UserIDs[Agent]}
		}, Allow: Roles(access.ConversationsAssign)},
		{Func: "conversations:markAsRead", Args: func(fx *Fixture, who Caller) map[string]any {
			a := withToken(fx, who, map[string]any{"id": fx.IDs["inbox.conv"], "readerType": "agent"})
			if a["sessionToken"] != nil {
				a["readerType"] = "visitor"
			}
			return a
		}, Allow: Plus(read, visitorA)},
		{Func: "conversations:listByVisitor", Args: func(fx *Fixture, who Caller) map[string]any {
			return withToken(fx, who, map[string]any{"workspaceId": fx.WorkspaceA})
		}, Allow: visitorA, SoftDeny: true},
		{Func: "conversations:getTotalUnreadForVisitor", Args: func(fx *Fixture, who Caller) map[string]any {
			return withToken(fx, who, map[string]any{"workspaceId": fx.WorkspaceA})
		}, Allow: visitorA, SoftDeny: true, Empty: zero},
		{Func: "conversations:search", Args: func(fx *Fixture, _ Caller) map[string]any {
			return map[string]any{"workspaceId": fx.WorkspaceA, "query": "charged"}
		}, Allow: read, SoftDeny: true},
		{Func: "conversations:bulkUpdateStatus", Args: func(fx *Fixture, _ Caller) map[string]any {
			return map[string]any{"ids": []string{fx.IDs["inbox.conv"]}, "status": "closed"}
		}, Allow: Roles(access.ConversationsClose)},
		{Func: "conversations:bulkAssign", Args: func(fx *Fixture, _ Caller) map[string]any {
			return map[string]any{"ids": []string{fx.IDs["inbox.conv"]}, "agentId": fx.UserIDs[Agent]}
		}, Allow: Roles(access.ConversationsAssign)},
		{Func: "conversations:bulkTag", Args: func(fx *Fixture, _ Caller) map[string]any {
			return map[string]any{"ids": []string{fx.IDs["inbox.closed"]}, "tagId": fx.IDs["inbox.tag"]}
		}, Allow: Roles(access.ConversationsAssign)},

		// messages
		{Func: "messages:list", Args: conv("conversationId"), Allow: Plus(read, visitorA), SoftDeny: true},
		{Func: "messages:send", Args: func(fx *Fixture, who Caller) map[string]any {
			a := withToken(fx, who, map[string]any{"conversationId": fx.IDs["inbox.conv"], "content": "hello", "senderType": "agent", "senderId": fx.UserID(who)})
			if a["sessionToken"] != nil {
				a["senderType"], a["senderId"] = "visitor", fx.VisitorID(who)
			}
			return a
		}, Allow: Plus(reply, visitorA)},

		// typing
		{Func: "typing:set", Args: func(fx *Fixture, who Caller) map[string]any {
			return withToken(fx, who, map[string]any{"conversationId": fx.IDs["inbox.conv"], "isTyping": true})
		}, Allow: Plus(reply, visitorA)},
		{Func: "typing:get", Args: conv("conversationId"), Allow: Plus(read, visitorA), SoftDeny: true, AllowEmpty: true},
		{Func: "typing:getForConversation", Args: conv("conversationId"), Allow: Plus(read, visitorA), SoftDeny: true, AllowEmpty: true},
		{Func: "typing:list", Args: conv("conversationId"), Allow: Plus(read, visitorA), SoftDeny: true, AllowEmpty: true},

		// tags
		{Func: "tags:list", Args: ws, Allow: read, SoftDeny: true},
		{Func: "tags:get", Args: func(fx *Fixture, _ Caller) map[string]any { return map[string]any{"id": fx.IDs["inbox.tag"]} }, Allow: read, SoftDeny: true},
		{Func: "tags:create", Args: func(fx *Fixture, _ Caller) map[string]any {
			return map[string]any{"workspaceId": fx.WorkspaceA, "name": "vip", "color": "#ff0000"}
		}, Allow: Roles(access.ChecklistsManage)},
		{Func: "tags:update", Args: func(fx *Fixture, _ Caller) map[string]any {
			return map[string]any{"id": fx.IDs["inbox.tag"], "name": "payments"}
		}, Allow: Roles(access.ChecklistsManage)},
		{Func: "tags:remove", Args: func(fx *Fixture, _ Caller) map[string]any { return map[string]any{"id": fx.IDs["inbox.tag"]} }, Allow: Roles(access.ChecklistsManage)},
		{Func: "tags:addToConversation", Args: func(fx *Fixture, _ Caller) map[string]any {
			return map[string]any{"conversationId": fx.IDs["inbox.closed"], "tagId": fx.IDs["inbox.tag"]}
		}, Allow: Roles(access.ConversationsAssign)},
		{Func: "tags:removeFromConversation", Args: func(fx *Fixture, _ Caller) map[string]any {
			return map[string]any{"conversationId": fx.IDs["inbox.conv"], "tagId": fx.IDs["inbox.tag"]}
		}, Allow: Roles(access.ConversationsAssign)},
		{Func: "tags:getConversationTags", Args: func(fx *Fixture, _ Caller) map[string]any {
			return map[string]any{"conversationId": fx.IDs["inbox.conv"]}
		}, Allow: read, SoftDeny: true},
		{Func: "tags:listConversationIds", Args: func(fx *Fixture, _ Caller) map[string]any {
			return map[string]any{"workspaceId": fx.WorkspaceA, "tagId": fx.IDs["inbox.tag"]}
		}, Allow: read, SoftDeny: true},

		// snippets
		{Func: "snippets:list", Args: ws, Allow: Roles(access.SnippetsManage), SoftDeny: true},
		{Func: "snippets:get", Args: func(fx *Fixture, _ Caller) map[string]any { return map[string]any{"id": fx.IDs["inbox.snippet"]} }, Allow: Roles(access.SnippetsManage), SoftDeny: true},
		{Func: "snippets:search", Args: func(fx *Fixture, _ Caller) map[string]any {
			return map[string]any{"workspaceId": fx.WorkspaceA, "query": "greet"}
		}, Allow: Roles(access.SnippetsManage), SoftDeny: true},
		{Func: "snippets:getByShortcut", Args: func(fx *Fixture, _ Caller) map[string]any {
			return map[string]any{"workspaceId": fx.WorkspaceA, "shortcut": "/greet"}
		}, Allow: Roles(access.SnippetsManage), SoftDeny: true},
		{Func: "snippets:create", Args: func(fx *Fixture, _ Caller) map[string]any {
			return map[string]any{"workspaceId": fx.WorkspaceA, "name": "Bye", "content": "Bye!", "shortcut": "bye"}
		}, Allow: Roles(access.SnippetsManage)},
		{Func: "snippets:update", Args: func(fx *Fixture, _ Caller) map[string]any {
			return map[string]any{"id": fx.IDs["inbox.snippet"], "content": "Hi!"}
		}, Allow: Roles(access.SnippetsManage)},
		{Func: "snippets:remove", Args: func(fx *Fixture, _ Caller) map[string]any { return map[string]any{"id": fx.IDs["inbox.snippet"]} }, Allow: Roles(access.SnippetsManage)},

		// tickets
		{Func: "tickets:list", Args: ws, Allow: read},
		{Func: "tickets:get", Args: func(fx *Fixture, who Caller) map[string]any {
			return withToken(fx, who, map[string]any{"id": fx.IDs["inbox.ticket"]})
		}, Allow: Plus(read, visitorA), SoftDeny: true},
		{Func: "tickets:listByVisitor", Args: func(fx *Fixture, who Caller) map[string]any {
			return withToken(fx, who, map[string]any{"workspaceId": fx.WorkspaceA, "visitorId": fx.VisitorID(who)})
		}, Allow: Plus(read, visitorA), SoftDeny: true},
		{Func: "tickets:create", Args: func(fx *Fixture, who Caller) map[string]any {
			return withToken(fx, who, map[string]any{"workspaceId": fx.WorkspaceA, "subject": "Broken export"})
		}, Allow: Plus(reply, visitorA)},
		{Func: "tickets:update", Args: func(fx *Fixture, _ Caller) map[string]any {
			return map[string]any{"id": fx.IDs["inbox.ticket"], "status": "in_progress"}
		}, Allow: reply},
		{Func: "tickets:resolve", Args: func(fx *Fixture, _ Caller) map[string]any {
			return map[string]any{"id": fx.IDs["inbox.ticket"], "resolutionSummary": "Refunded"}
		}, Allow: reply},
		{Func: "tickets:convertFromConversation", Args: func(fx *Fixture, _ Caller) map[string]any {
			return map[string]any{"conversationId": fx.IDs["inbox.conv"]}
		}, Allow: reply},
		{Func: "tickets:addComment", Args: func(fx *Fixture, who Caller) map[string]any {
			return withToken(fx, who, map[string]any{"ticketId": fx.IDs["inbox.ticket"], "content": "Update"})
		}, Allow: Plus(reply, visitorA)},
		{Func: "tickets:getComments", Args: func(fx *Fixture, who Caller) map[string]any {
			return withToken(fx, who, map[string]any{"ticketId": fx.IDs["inbox.ticket"]})
		}, Allow: Plus(read, visitorA), SoftDeny: true},

		// automation settings
		{Func: "automationSettings:get", Args: ws, Allow: Roles(access.SettingsWorkspace), SoftDeny: true},
		{Func: "automationSettings:getOrCreate", Args: ws, Allow: Everyone},
		{Func: "automationSettings:getPublic", Args: ws, Allow: Everyone},
		{Func: "automationSettings:upsert", Args: func(fx *Fixture, _ Caller) map[string]any {
			return map[string]any{"workspaceId": fx.WorkspaceA, "askForRatingEnabled": false}
		}, Allow: Roles(access.SettingsWorkspace)},
	} {
		add(e)
	}

	csat := func(fx *Fixture, who Caller) map[string]any {
		return withToken(fx, who, map[string]any{"conversationId": fx.IDs["inbox.closed"]})
	}
	csatSubmit := func(fx *Fixture, who Caller) map[string]any {
		a := csat(fx, who)
		a["rating"] = 5
		return a
	}
	for _, name := range []string{"reporting:getCsatEligibility", "csat:getEligibility"} {
		add(Entry{Func: name, Args: csat, Allow: Plus(read, visitorA)})
	}
	for _, name := range []string{"reporting:submitCsatResponse", "csat:submit"} {
		add(Entry{Func: name, Args: csatSubmit, Allow: Plus(read, visitorA)})
	}
}
