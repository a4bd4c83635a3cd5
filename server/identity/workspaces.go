package identity

import (
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/opencom-go/opencom/server/access"
	"github.com/opencom-go/opencom/server/fn"
	"github.com/opencom-go/opencom/sqlstore"
)

// publicWorkspaceView is what anyone may see of a workspace.
func publicWorkspaceView(w sqlstore.Doc) map[string]any {
	return map[string]any{"_id": w.ID(), "_creationTime": w["_creationTime"], "name": w["name"], "createdAt": w["createdAt"]}
}

// memberWorkspaceView is the workspace as a member with role sees it: the
// HMAC secret only for owners and admins.
func memberWorkspaceView(w sqlstore.Doc, role string) map[string]any {
	out := map[string]any{}
	for k, v := range w {
		out[k] = v
	}
	if role != access.RoleOwner && role != access.RoleAdmin {
		delete(out, "identitySecret")
	}
	return out
}

// validateOrigin applies a workspace's allowedOrigins (security.md §6):
// empty list allows everything; entries are exact origins or *.domain.
func validateOrigin(w sqlstore.Doc, origin string) (bool, string) {
	list, _ := w["allowedOrigins"].([]any)
	if len(list) == 0 {
		return true, "No origin restrictions configured"
	}
	if origin == "" {
		return false, "Origin header is required when allowed origins are configured"
	}
	u, err := url.Parse(origin)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return false, "Origin must be a valid http(s) origin"
	}
	host := strings.ToLower(u.Hostname())
	norm := strings.ToLower(u.Scheme + "://" + u.Host)
	for _, e := range list {
		s, _ := e.(string)
		s = strings.ToLower(strings.TrimSpace(s))
		if strings.HasPrefix(s, "*.") {
			dom := s[2:]
			if host == dom || strings.HasSuffix(host, "."+dom) {
				return true, "Origin allowed"
			}
			continue
		}
		if eu, err := url.Parse(s); err == nil && strings.ToLower(eu.Scheme+"://"+eu.Host) == norm {
			return true, "Origin allowed"
		}
	}
	return false, "Origin not in allowed list"
}

func validOriginEntry(s string) bool {
	if strings.HasPrefix(s, "*.") {
		return len(s) > 2 && !strings.ContainsAny(s[2:], "/:")
	}
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" && u.User == nil && (u.Path == "" || u.Path == "/")
}

func (m *module) registerWorkspaces(r *fn.Registry) {
	V := fn.V
	r.Query("workspaces:get", "public (public fields) / member (full)", fn.Fields{"id": V.ID("workspaces")}, func(c *fn.Ctx, a fn.Args) (any, error) {
		w, err := c.DB().Get("workspaces", a.Str("id"))
		if err != nil || w == nil {
			return nil, err
		}
		mem, err := access.Membership(c, w.ID())
		if err != nil {
			return nil, err
		}
		if mem == nil {
			return publicWorkspaceView(w), nil
		}
		return memberWorkspaceView(w, mem.Role), nil
	})

	r.Query("workspaces:getPublicWorkspaceContext", "public", fn.Fields{"workspaceId": V.Optional(V.ID("workspaces")), "articleSlug": V.Optional(V.String())}, func(c *fn.Ctx, a fn.Args) (any, error) {
		var w sqlstore.Doc
		var err error
		if a.Has("workspaceId") {
			w, err = c.DB().Get("workspaces", a.Str("workspaceId"))
		} else {
			w, err = c.DB().Query("workspaces").First()
		}
		if err != nil || w == nil {
			return nil, err
		}
		policy := w.Str("helpCenterAccessPolicy")
		if policy == "" {
			policy = "public"
		}
		return map[string]any{"_id": w.ID(), "name": w["name"], "helpCenterAccessPolicy": policy}, nil
	})

	r.Query("workspaces:getByName", "member (null otherwise)", fn.Fields{"name": V.String()}, func(c *fn.Ctx, a fn.Args) (any, error) {
		uid, err := access.UserID(c)
		if err != nil || uid == "" {
			return nil, err
		}
		wss, err := c.DB().Query("workspaces").Eq("name", a.Str("name")).Collect()
		if err != nil {
			return nil, err
		}
		for _, w := range wss {
			if mem, err := access.MembershipOf(c, uid, w.ID()); err != nil {
				return nil, err
			} else if mem != nil {
				return memberWorkspaceView(w, mem.Role), nil
			}
		}
		return nil, nil
	})

	// create always makes a new workspace owned by the caller. (Opencom
	// returns the id of any same-named workspace, which leaks other
	// tenants' ids; names need not be unique here.)
	r.Mutation("workspaces:create", "authenticated", fn.Fields{"name": V.String()}, func(c *fn.Ctx, a fn.Args) (any, error) {
		uid, err := access.RequireUser(c)
		if err != nil {
			return nil, err
		}
		ws, err := CreateWorkspace(c.DB(), a.Str("name"), uid, c.NowMs())
		if err != nil {
			return nil, err
		}
		Audit(c, ws, "workspace.settings.changed", AuditEvent{ResourceType: "workspace", ResourceID: ws, Metadata: map[string]any{"action": "created", "name": strings.TrimSpace(a.Str("name"))}})
		return ws, nil
	})

	r.Mutation("workspaces:getOrCreateDefault", "authenticated", nil, func(c *fn.Ctx, a fn.Args) (any, error) {
		uid, err := access.RequireUser(c)
		if err != nil {
			return nil, err
		}
		u, err := c.DB().Get("users", uid)
		if err != nil {
			return nil, err
		}
		if ws := u.Str("workspaceId"); ws != "" {
			if mem, err := access.MembershipOf(c, uid, ws); err != nil {
				return nil, err
			} else if mem != nil {
				return ws, nil
			}
		}
		ws, err := CreateWorkspace(c.DB(), "Default Workspace", uid, c.NowMs())
		if err != nil {
			return nil, err
		}
		Audit(c, ws, "workspace.settings.changed", AuditEvent{ResourceType: "workspace", ResourceID: ws, Metadata: map[string]any{"action": "created", "name": "Default Workspace"}})
		return ws, nil
	})

	r.Mutation("workspaces:updateAllowedOrigins", "permission:settings.security", fn.Fields{"workspaceId": V.ID("workspaces"), "allowedOrigins": V.Array(V.String())}, func(c *fn.Ctx, a fn.Args) (any, error) {
		ws := a.Str("workspaceId")
		if _, err := access.RequirePermission(c, ws, access.SettingsSecurity); err != nil {
			return nil, err
		}
		list := []any{}
		for _, o := range a.Strs("allowedOrigins") {
			o = strings.TrimSpace(o)
			if !validOriginEntry(o) {
				return nil, fn.ErrInvalid("Invalid origin %q: use https://host[:port] or *.domain", o)
			}
			list = append(list, strings.TrimSuffix(o, "/"))
		}
		w, err := c.DB().Get("workspaces", ws)
		if err != nil || w == nil {
			return nil, orNotFound(err, "Workspace")
		}
		if err := c.DB().Patch("workspaces", ws, sqlstore.Doc{"allowedOrigins": list}); err != nil {
			return nil, err
		}
		Audit(c, ws, "workspace.security.changed", AuditEvent{ResourceType: "workspace", ResourceID: ws, Metadata: map[string]any{"setting": "allowedOrigins", "oldValue": w["allowedOrigins"], "newValue": list}})
		return nil, nil
	})

	// updateName renames a workspace (not in Opencom, which has no rename):
	// the trimmed name must be 1–100 characters without control characters.
	r.Mutation("workspaces:updateName", "permission:settings.workspace", fn.Fields{"workspaceId": V.ID("workspaces"), "name": V.String()}, func(c *fn.Ctx, a fn.Args) (any, error) {
		ws := a.Str("workspaceId")
		if _, err := access.RequirePermission(c, ws, access.SettingsWorkspace); err != nil {
			return nil, err
		}
		name, err := validWorkspaceName(a.Str("name"))
		if err != nil {
			return nil, err
		}
		w, err := c.DB().Get("workspaces", ws)
		if err != nil || w == nil {
			return nil, orNotFound(err, "Workspace")
		}
		old := w.Str("name")
		if name == old {
			return map[string]any{"success": true, "name": name}, nil
		}
		if err := c.DB().Patch("workspaces", ws, sqlstore.Doc{"name": name}); err != nil {
			return nil, err
		}
		Audit(c, ws, "workspace.settings.changed", AuditEvent{ResourceType: "workspace", ResourceID: ws, Metadata: map[string]any{"field": "name", "from": old, "to": name}})
		return map[string]any{"success": true, "name": name}, nil
	})

	r.Mutation("workspaces:updateHelpCenterAccessPolicy", "permission:settings.workspace", fn.Fields{"workspaceId": V.ID("workspaces"), "policy": V.Literal("public", "restricted")}, func(c *fn.Ctx, a fn.Args) (any, error) {
		ws := a.Str("workspaceId")
		if _, err := access.RequirePermission(c, ws, access.SettingsWorkspace); err != nil {
			return nil, err
		}
		if err := c.DB().Patch("workspaces", ws, sqlstore.Doc{"helpCenterAccessPolicy": a.Str("policy")}); err != nil {
			return nil, err
		}
		Audit(c, ws, "workspace.settings.changed", AuditEvent{ResourceType: "workspace", ResourceID: ws, Metadata: map[string]any{"setting": "helpCenterAccessPolicy", "newValue": a.Str("policy")}})
		return nil, nil
	})

	r.Query("workspaces:validateOrigin", "public", fn.Fields{"workspaceId": V.ID("workspaces"), "origin": V.String()}, func(c *fn.Ctx, a fn.Args) (any, error) {
		w, err := c.DB().Get("workspaces", a.Str("workspaceId"))
		if err != nil {
			return nil, err
		}
		if w == nil {
			return map[string]any{"valid": false, "reason": "Workspace not found"}, nil
		}
		ok, reason := validateOrigin(w, a.Str("origin"))
		return map[string]any{"valid": ok, "reason": reason}, nil
	})
}

// MaxWorkspaceNameLength is the longest workspace name, in characters.
const MaxWorkspaceNameLength = 100

// validWorkspaceName trims a new workspace name and checks its length
// (1–100 characters, counted as Unicode code points) and that it has no
// control characters.
func validWorkspaceName(s string) (string, error) {
	name := strings.TrimSpace(s)
	if name == "" {
		return "", fn.ErrInvalid("Workspace name is required")
	}
	if n := utf8.RuneCountInString(name); n > MaxWorkspaceNameLength {
		return "", fn.ErrInvalid("Workspace name must be at most %d characters (got %d)", MaxWorkspaceNameLength, n)
	}
	if strings.IndexFunc(name, unicode.IsControl) >= 0 {
		return "", fn.ErrInvalid("Workspace name must not contain control characters")
	}
	return name, nil
}

// orNotFound turns a missing document into NOT_FOUND.
func orNotFound(err error, what string) error {
	if err != nil {
		return err
	}
	return fn.ErrNotFound(what)
}
