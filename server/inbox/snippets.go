package inbox

import (
	"sort"
	"strings"

	"github.com/opencom-go/opencom/server/access"
	"github.com/opencom-go/opencom/server/fn"
	"github.com/opencom-go/opencom/sqlstore"
)

const maxSnippetLen = 20000

func registerSnippets(r *fn.Registry) {
	const perm = "permission:snippets.manage"
	wsSnippets := func(c *fn.Ctx, ws string) ([]sqlstore.Doc, bool, error) {
		if _, ok, err := softMember(c, ws, access.SnippetsManage); err != nil || !ok {
			return nil, false, err
		}
		ds, err := c.DB().Query("snippets").Eq("workspaceId", ws).Collect()
		sort.SliceStable(ds, func(i, j int) bool {
			return strings.ToLower(ds[i].Str("name")) < strings.ToLower(ds[j].Str("name"))
		})
		return ds, true, err
	}
	r.Query("snippets:list", perm, fn.Fields{"workspaceId": V.ID("workspaces")}, func(c *fn.Ctx, a fn.Args) (any, error) {
		ds, _, err := wsSnippets(c, a.Str("workspaceId"))
		return docs(ds), err
	})
	r.Query("snippets:get", perm, fn.Fields{"id": V.ID("snippets")}, func(c *fn.Ctx, a fn.Args) (any, error) {
		s, err := c.DB().Get("snippets", a.Str("id"))
		if err != nil || s == nil {
			return nil, err
		}
		if _, ok, err := softMember(c, s.Str("workspaceId"), access.SnippetsManage); err != nil || !ok {
			return nil, err
		}
		return s, nil
	})
	r.Query("snippets:search", perm, fn.Fields{"workspaceId": V.ID("workspaces"), "query": V.String()}, func(c *fn.Ctx, a fn.Args) (any, error) {
		ds, _, err := wsSnippets(c, a.Str("workspaceId"))
		if err != nil {
			return nil, err
		}
		q := strings.ToLower(strings.TrimSpace(a.Str("query")))
		out := []sqlstore.Doc{}
		for _, d := range ds {
			if len(out) == 20 {
				break
			}
			if q == "" || strings.Contains(strings.ToLower(d.Str("name")), q) || strings.Contains(strings.ToLower(d.Str("content")), q) ||
				strings.Contains(strings.ToLower(d.Str("shortcut")), q) {
				out = append(out, d)
			}
		}
		return out, nil
	})
	r.Query("snippets:getByShortcut", perm, fn.Fields{"workspaceId": V.ID("workspaces"), "shortcut": V.String()}, func(c *fn.Ctx, a fn.Args) (any, error) {
		if _, ok, err := softMember(c, a.Str("workspaceId"), access.SnippetsManage); err != nil || !ok {
			return nil, err
		}
		d, err := c.DB().Query("snippets").Eq("workspaceId", a.Str("workspaceId")).Eq("shortcut", normShortcut(a.Str("shortcut"))).First()
		return nullable(d), err
	})
	r.Mutation("snippets:create", perm, fn.Fields{
		"workspaceId": V.ID("workspaces"), "name": V.String(), "content": V.String(),
		"shortcut": V.Optional(V.String()), "createdBy": V.Optional(V.ID("users")),
	}, func(c *fn.Ctx, a fn.Args) (any, error) {
		ws := a.Str("workspaceId")
		m, err := access.RequirePermission(c, ws, access.SnippetsManage)
		if err != nil {
			return nil, err
		}
		if a.Has("createdBy") && a.Str("createdBy") != m.UserID {
			return nil, fn.Errorf(fn.NotAuthorized, "Cannot create snippet on behalf of another user")
		}
		name, err := requireText("name", a.Str("name"), maxNameLen)
		if err != nil {
			return nil, err
		}
		content, err := requireText("content", a.Str("content"), maxSnippetLen)
		if err != nil {
			return nil, err
		}
		d := sqlstore.Doc{"workspaceId": ws, "name": name, "content": content, "createdBy": m.UserID, "createdAt": c.NowMs(), "updatedAt": c.NowMs()}
		if a.Has("shortcut") && strings.TrimSpace(a.Str("shortcut")) != "" {
			sc := normShortcut(a.Str("shortcut"))
			if err := uniqueShortcut(c, ws, sc, ""); err != nil {
				return nil, err
			}
			d["shortcut"] = sc
		}
		return c.DB().Insert("snippets", d)
	})
	r.Mutation("snippets:update", perm, fn.Fields{
		"id": V.ID("snippets"), "name": V.Optional(V.String()), "content": V.Optional(V.String()), "shortcut": V.Optional(V.String()),
	}, func(c *fn.Ctx, a fn.Args) (any, error) {
		s, err := getAuthorized(c, "snippets", a.Str("id"), "Snippet", access.SnippetsManage)
		if err != nil {
			return nil, err
		}
		patch := sqlstore.Doc{"updatedAt": c.NowMs()}
		if a.Has("name") {
			if patch["name"], err = requireText("name", a.Str("name"), maxNameLen); err != nil {
				return nil, err
			}
		}
		if a.Has("content") {
			if patch["content"], err = requireText("content", a.Str("content"), maxSnippetLen); err != nil {
				return nil, err
			}
		}
		if a.Has("shortcut") {
			sc := normShortcut(a.Str("shortcut"))
			if sc == "" {
				patch["shortcut"] = nil
			} else {
				if err := uniqueShortcut(c, s.Str("workspaceId"), sc, s.ID()); err != nil {
					return nil, err
				}
				patch["shortcut"] = sc
			}
		}
		return s.ID(), c.DB().Patch("snippets", s.ID(), patch)
	})
	r.Mutation("snippets:remove", perm, fn.Fields{"id": V.ID("snippets")}, func(c *fn.Ctx, a fn.Args) (any, error) {
		s, err := getAuthorized(c, "snippets", a.Str("id"), "Snippet", access.SnippetsManage)
		if err != nil {
			return nil, err
		}
		return map[string]any{"success": true}, c.DB().Delete("snippets", s.ID())
	})
}

// normShortcut makes "/Refund " and "refund" the same shortcut.
func normShortcut(s string) string {
	return strings.ToLower(strings.TrimPrefix(strings.TrimSpace(s), "/"))
}

func uniqueShortcut(c *fn.Ctx, ws, sc, self string) error {
	d, err := c.DB().Query("snippets").Eq("workspaceId", ws).Eq("shortcut", sc).Filter(func(d sqlstore.Doc) bool { return d.ID() != self }).First()
	if err != nil {
		return err
	}
	if d != nil {
		return fn.Errorf(fn.AlreadyExists, "Shortcut already exists")
	}
	return nil
}
