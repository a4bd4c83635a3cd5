package inbox

import (
	"github.com/opencom-go/opencom/server/access"
	"github.com/opencom-go/opencom/server/fn"
	"github.com/opencom-go/opencom/sqlstore"
)

// bulkConversations loads every conversation of a bulk action and checks
// perm in each one's workspace. Any failure aborts the whole mutation, so
// a bulk action applies to all of the set or to none.
func bulkConversations(c *fn.Ctx, a fn.Args, perm string) ([]sqlstore.Doc, *access.Member, error) {
	ids := a.Strs("ids")
	if len(ids) == 0 {
		return nil, nil, fn.ErrInvalid("ids must not be empty")
	}
	if len(ids) > maxBulkIDs {
		return nil, nil, fn.ErrInvalid("at most %d conversations per bulk action", maxBulkIDs)
	}
	seen := map[string]bool{}
	var out []sqlstore.Doc
	var member *access.Member
	checked := map[string]*access.Member{}
	for _, id := range ids {
		if seen[id] {
			continue
		}
		seen[id] = true
		conv, err := getDoc(c, "conversations", id, "Conversation")
		if err != nil {
			return nil, nil, err
		}
		ws := conv.Str("workspaceId")
		if w := a.Str("workspaceId"); w != "" && w != ws {
			return nil, nil, fn.ErrInvalid("Conversation %s is not in this workspace", id)
		}
		m, ok := checked[ws]
		if !ok {
			if m, err = access.RequirePermission(c, ws, perm); err != nil {
				return nil, nil, err
			}
			checked[ws] = m
		}
		member = m
		out = append(out, conv)
	}
	return out, member, nil
}

func registerBulk(r *fn.Registry) {
	ids := V.Array(V.ID("conversations"))
	r.Mutation("conversations:bulkUpdateStatus", "permission:conversations.close", fn.Fields{
		"workspaceId": V.Optional(V.ID("workspaces")), "ids": ids, "status": statusV, "snoozedUntil": V.Optional(V.Number()),
	}, func(c *fn.Ctx, a fn.Args) (any, error) {
		convs, m, err := bulkConversations(c, a, access.ConversationsClose)
		if err != nil {
			return nil, err
		}
		for _, conv := range convs {
			if err := setStatus(c, conv, a.Str("status"), a.Num("snoozedUntil"), a.Has("snoozedUntil"), "agent", m.UserID); err != nil {
				return nil, err
			}
		}
		return map[string]any{"updated": float64(len(convs))}, nil
	})
	r.Mutation("conversations:bulkAssign", "permission:conversations.assign", fn.Fields{
		"workspaceId": V.Optional(V.ID("workspaces")), "ids": ids, "agentId": V.ID("users"),
	}, func(c *fn.Ctx, a fn.Args) (any, error) {
		convs, m, err := bulkConversations(c, a, access.ConversationsAssign)
		if err != nil {
			return nil, err
		}
		for _, conv := range convs {
			if err := assignConversation(c, conv, a.Str("agentId"), m.UserID); err != nil {
				return nil, err
			}
		}
		return map[string]any{"updated": float64(len(convs))}, nil
	})
	r.Mutation("conversations:bulkTag", "permission:conversations.assign", fn.Fields{
		"workspaceId": V.Optional(V.ID("workspaces")), "ids": ids, "tagId": V.ID("tags"), "remove": V.Optional(V.Boolean()),
	}, func(c *fn.Ctx, a fn.Args) (any, error) {
		convs, m, err := bulkConversations(c, a, access.ConversationsAssign)
		if err != nil {
			return nil, err
		}
		for _, conv := range convs {
			if a.Bool("remove") {
				l, err := c.DB().Query("conversationTags").Eq("conversationId", conv.ID()).Eq("tagId", a.Str("tagId")).First()
				if err != nil {
					return nil, err
				}
				if l != nil {
					if err := c.DB().Delete("conversationTags", l.ID()); err != nil {
						return nil, err
					}
				}
				continue
			}
			if _, err := tagConversation(c, conv, a.Str("tagId"), m.UserID); err != nil {
				return nil, err
			}
		}
		return map[string]any{"updated": float64(len(convs))}, nil
	})
}
