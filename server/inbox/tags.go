package inbox

import (
	"regexp"
	"strings"

	"github.com/opencom-go/opencom/server/access"
	"github.com/opencom-go/opencom/server/fn"
	"github.com/opencom-go/opencom/sqlstore"
)

var colorRE = regexp.MustCompile(`^#[0-9a-fA-F]{3}([0-9a-fA-F]{3})?$`)

func registerTags(r *fn.Registry) {
	registerTagConversationIDs(r)
	r.Query("tags:list", "permission:conversations.read", fn.Fields{"workspaceId": V.ID("workspaces")}, func(c *fn.Ctx, a fn.Args) (any, error) {
		if _, ok, err := softMember(c, a.Str("workspaceId"), access.ConversationsRead); err != nil || !ok {
			return []any{}, err
		}
		ds, err := c.DB().Query("tags").Eq("workspaceId", a.Str("workspaceId")).Collect()
		return docs(ds), err
	})

	r.Query("tags:get", "permission:conversations.read", fn.Fields{"id": V.ID("tags")}, func(c *fn.Ctx, a fn.Args) (any, error) {
		t, err := c.DB().Get("tags", a.Str("id"))
		if err != nil || t == nil {
			return nil, err
		}
		if _, ok, err := softMember(c, t.Str("workspaceId"), access.ConversationsRead); err != nil || !ok {
			return nil, err
		}
		return t, nil
	})

	// Tag authoring needs checklists.manage: Opencom's choice, kept so the
	// roles that may edit tags are the same (owner, admin, agent).
	r.Mutation("tags:create", "permission:checklists.manage", fn.Fields{
		"workspaceId": V.ID("workspaces"), "name": V.String(), "color": V.Optional(V.String()),
	}, func(c *fn.Ctx, a fn.Args) (any, error) {
		ws := a.Str("workspaceId")
		if _, err := access.RequirePermission(c, ws, access.ChecklistsManage); err != nil {
			return nil, err
		}
		name, err := requireText("name", a.Str("name"), maxNameLen)
		if err != nil {
			return nil, err
		}
		if err := checkColor(a); err != nil {
			return nil, err
		}
		if err := uniqueTagName(c, ws, name, ""); err != nil {
			return nil, err
		}
		d := sqlstore.Doc{"workspaceId": ws, "name": name, "createdAt": c.NowMs(), "updatedAt": c.NowMs()}
		if a.Has("color") {
			d["color"] = a.Str("color")
		}
		return c.DB().Insert("tags", d)
	})

	r.Mutation("tags:update", "permission:checklists.manage", fn.Fields{
		"id": V.ID("tags"), "name": V.Optional(V.String()), "color": V.Optional(V.String()),
	}, func(c *fn.Ctx, a fn.Args) (any, error) {
		t, err := getAuthorized(c, "tags", a.Str("id"), "Tag", access.ChecklistsManage)
		if err != nil {
			return nil, err
		}
		patch := sqlstore.Doc{"updatedAt": c.NowMs()}
		if a.Has("name") {
			name, err := requireText("name", a.Str("name"), maxNameLen)
			if err != nil {
				return nil, err
			}
			if err := uniqueTagName(c, t.Str("workspaceId"), name, t.ID()); err != nil {
				return nil, err
			}
			patch["name"] = name
		}
		if err := checkColor(a); err != nil {
			return nil, err
		}
		if a.Has("color") {
			patch["color"] = a.Str("color")
		}
		return t.ID(), c.DB().Patch("tags", t.ID(), patch)
	})

	r.Mutation("tags:remove", "permission:checklists.manage", fn.Fields{"id": V.ID("tags")}, func(c *fn.Ctx, a fn.Args) (any, error) {
		t, err := getAuthorized(c, "tags", a.Str("id"), "Tag", access.ChecklistsManage)
		if err != nil {
			return nil, err
		}
		links, err := c.DB().Query("conversationTags").Eq("tagId", t.ID()).Collect()
		if err != nil {
			return nil, err
		}
		for _, l := range links {
			if err := c.DB().Delete("conversationTags", l.ID()); err != nil {
				return nil, err
			}
		}
		return nil, c.DB().Delete("tags", t.ID())
	})

	r.Mutation("tags:addToConversation", "permission:conversations.assign", fn.Fields{
		"conversationId": V.ID("conversations"), "tagId": V.ID("tags"), "appliedByUserId": V.Optional(V.ID("users")),
	}, func(c *fn.Ctx, a fn.Args) (any, error) {
		conv, err := getDoc(c, "conversations", a.Str("conversationId"), "Conversation")
		if err != nil {
			return nil, err
		}
		m, err := access.RequirePermission(c, conv.Str("workspaceId"), access.ConversationsAssign)
		if err != nil {
			return nil, err
		}
		if a.Has("appliedByUserId") && a.Str("appliedByUserId") != m.UserID {
			return nil, fn.Errorf(fn.NotAuthorized, "Cannot apply tag on behalf of another user")
		}
		return tagConversation(c, conv, a.Str("tagId"), m.UserID)
	})

	r.Mutation("tags:removeFromConversation", "permission:conversations.assign", fn.Fields{
		"conversationId": V.ID("conversations"), "tagId": V.ID("tags"),
	}, func(c *fn.Ctx, a fn.Args) (any, error) {
		conv, err := getAuthorized(c, "conversations", a.Str("conversationId"), "Conversation", access.ConversationsAssign)
		if err != nil {
			return nil, err
		}
		l, err := c.DB().Query("conversationTags").Eq("conversationId", conv.ID()).Eq("tagId", a.Str("tagId")).First()
		if err != nil || l == nil {
			return nil, err
		}
		return nil, c.DB().Delete("conversationTags", l.ID())
	})

	r.Query("tags:getConversationTags", "permission:conversations.read", fn.Fields{"conversationId": V.ID("conversations")}, func(c *fn.Ctx, a fn.Args) (any, error) {
		conv, err := c.DB().Get("conversations", a.Str("conversationId"))
		if err != nil || conv == nil {
			return []any{}, err
		}
		if _, ok, err := softMember(c, conv.Str("workspaceId"), access.ConversationsRead); err != nil || !ok {
			return []any{}, err
		}
		links, err := c.DB().Query("conversationTags").Eq("conversationId", conv.ID()).Collect()
		if err != nil {
			return nil, err
		}
		out := []sqlstore.Doc{}
		for _, l := range links {
			t, err := c.DB().Get("tags", l.Str("tagId"))
			if err != nil {
				return nil, err
			}
			if t == nil {
				continue
			}
			e := copyDoc(t)
			e["appliedBy"] = l["appliedBy"]
			e["appliedByUserId"] = l["appliedByUserId"]
			e["appliedAt"] = l["createdAt"]
			out = append(out, e)
		}
		return out, nil
	})
}

func checkColor(a fn.Args) error {
	if a.Has("color") && !colorRE.MatchString(a.Str("color")) {
		return fn.ErrInvalid("color must be a hex colour like #3b82f6")
	}
	return nil
}

func uniqueTagName(c *fn.Ctx, ws, name, self string) error {
	existing, err := c.DB().Query("tags").Eq("workspaceId", ws).Filter(func(d sqlstore.Doc) bool {
		return d.ID() != self && strings.EqualFold(d.Str("name"), name)
	}).First()
	if err != nil {
		return err
	}
	if existing != nil {
		return fn.Errorf(fn.AlreadyExists, "Tag %q already exists", name)
	}
	return nil
}

// tagConversation applies a tag once: an existing link is returned as is.
func tagConversation(c *fn.Ctx, conv sqlstore.Doc, tagID, userID string) (any, error) {
	t, err := getDoc(c, "tags", tagID, "Tag")
	if err != nil {
		return nil, err
	}
	if t.Str("workspaceId") != conv.Str("workspaceId") {
		return nil, fn.ErrInvalid("Tag and conversation belong to different workspaces")
	}
	l, err := c.DB().Query("conversationTags").Eq("conversationId", conv.ID()).Eq("tagId", tagID).First()
	if err != nil {
		return nil, err
	}
	if l != nil {
		return l.ID(), nil
	}
	return c.DB().Insert("conversationTags", sqlstore.Doc{"conversationId": conv.ID(), "tagId": tagID,
		"appliedBy": "manual", "appliedByUserId": userID, "createdAt": c.NowMs()})
}

// registerTagConversationIDs adds tags:listConversationIds, which the inbox
// uses to filter by tag without loading every conversation's tags.
func registerTagConversationIDs(r *fn.Registry) {
	r.Query("tags:listConversationIds", "permission:conversations.read", fn.Fields{"workspaceId": V.ID("workspaces"), "tagId": V.ID("tags")}, func(c *fn.Ctx, a fn.Args) (any, error) {
		if _, ok, err := softMember(c, a.Str("workspaceId"), access.ConversationsRead); err != nil || !ok {
			return []any{}, err
		}
		t, err := c.DB().Get("tags", a.Str("tagId"))
		if err != nil || t == nil || t.Str("workspaceId") != a.Str("workspaceId") {
			return []any{}, err
		}
		links, err := c.DB().Query("conversationTags").Eq("tagId", t.ID()).Collect()
		if err != nil {
			return nil, err
		}
		out := make([]string, 0, len(links))
		for _, l := range links {
			out = append(out, l.Str("conversationId"))
		}
		return out, nil
	})
}
