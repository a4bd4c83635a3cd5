package identity

import (
	"github.com/opencom-go/opencom/server/access"
	"github.com/opencom-go/opencom/server/fn"
	"github.com/opencom-go/opencom/sqlstore"
)

// Members: roles owner/admin/agent/viewer; exactly one owner per
// workspace, changed only by transferOwnership; admin|agent|viewer are
// assignable. Role changes reset any explicit permission list, so the
// role table in package access stays the single source of truth.

var assignableRoles = []string{access.RoleAdmin, access.RoleAgent, access.RoleViewer}

func (m *module) registerMembers(r *fn.Registry) {
	V := fn.V
	role := V.Literal(assignableRoles...)

	r.Query("workspaceMembers:listByWorkspace", "permission:users.read ([] otherwise)", fn.Fields{"workspaceId": V.ID("workspaces")}, func(c *fn.Ctx, a fn.Args) (any, error) {
		mem, err := access.Membership(c, a.Str("workspaceId"))
		if err != nil || !mem.Has(access.UsersRead) {
			return []any{}, err
		}
		rows, err := c.DB().Query("workspaceMembers").Eq("workspaceId", a.Str("workspaceId")).Collect()
		if err != nil {
			return nil, err
		}
		out := []map[string]any{}
		for _, d := range rows {
			v := map[string]any(d)
			if u, _ := c.DB().Get("users", d.Str("userId")); u != nil {
				v["name"], v["email"], v["avatarUrl"] = u["name"], u["email"], u["avatarUrl"]
			}
			out = append(out, v)
		}
		return out, nil
	})

	r.Query("workspaceMembers:listByUser", "authenticated (own memberships only)", fn.Fields{"userId": V.ID("users")}, func(c *fn.Ctx, a fn.Args) (any, error) {
		uid, err := access.UserID(c)
		if err != nil || uid == "" || uid != a.Str("userId") {
			return []any{}, err
		}
		rows, err := c.DB().Query("workspaceMembers").Eq("userId", uid).Collect()
		if rows == nil {
			return []any{}, err
		}
		return rows, err
	})

	r.Query("workspaceMembers:getMemberRole", "member (null otherwise)", fn.Fields{"workspaceId": V.ID("workspaces"), "userId": V.Optional(V.ID("users"))}, func(c *fn.Ctx, a fn.Args) (any, error) {
		mem, err := access.Membership(c, a.Str("workspaceId"))
		if err != nil || mem == nil {
			return nil, err
		}
		if a.Has("userId") && a.Str("userId") != mem.UserID {
			other, err := access.MembershipOf(c, a.Str("userId"), a.Str("workspaceId"))
			if err != nil || other == nil {
				return nil, err
			}
			return other.Role, nil
		}
		return mem.Role, nil
	})

	r.Mutation("workspaceMembers:add", "permission:users.invite", fn.Fields{"userId": V.ID("users"), "workspaceId": V.ID("workspaces"), "role": role}, func(c *fn.Ctx, a fn.Args) (any, error) {
		ws := a.Str("workspaceId")
		caller, err := access.RequirePermission(c, ws, access.UsersInvite)
		if err != nil {
			return nil, err
		}
		if a.Str("role") == access.RoleAdmin && caller.Role != access.RoleOwner && caller.Role != access.RoleAdmin {
			return nil, fn.Errorf(fn.PermissionDenied, "Only owners and admins can add admins")
		}
		u, err := c.DB().Get("users", a.Str("userId"))
		if err != nil || u == nil {
			return nil, orNotFound(err, "User")
		}
		if existing, err := access.MembershipOf(c, u.ID(), ws); err != nil {
			return nil, err
		} else if existing != nil {
			return existing.ID, nil
		}
		id, err := c.DB().Insert("workspaceMembers", sqlstore.Doc{"userId": u.ID(), "workspaceId": ws, "role": a.Str("role"), "createdAt": c.NowMs()})
		if err != nil {
			return nil, err
		}
		Audit(c, ws, "user.invited", AuditEvent{ResourceType: "workspaceMember", ResourceID: id, Metadata: map[string]any{"userId": u.ID(), "email": u["email"], "role": a.Str("role")}})
		return id, nil
	})

	r.Mutation("workspaceMembers:updateRole", "permission:users.manage", fn.Fields{"membershipId": V.ID("workspaceMembers"), "role": role}, func(c *fn.Ctx, a fn.Args) (any, error) {
		target, err := c.DB().Get("workspaceMembers", a.Str("membershipId"))
		if err != nil || target == nil {
			return nil, orNotFound(err, "Membership")
		}
		ws := target.Str("workspaceId")
		caller, err := access.RequirePermission(c, ws, access.UsersManage)
		if err != nil {
			return nil, err
		}
		if target.Str("role") == access.RoleOwner {
			return nil, fn.Errorf(fn.PermissionDenied, "Cannot change owner role. Use ownership transfer instead.")
		}
		if a.Str("role") == access.RoleAdmin && caller.Role != access.RoleOwner && caller.Role != access.RoleAdmin {
			return nil, fn.Errorf(fn.PermissionDenied, "Only owners and admins can promote to admin")
		}
		if err := c.DB().Patch("workspaceMembers", target.ID(), sqlstore.Doc{"role": a.Str("role"), "permissions": nil}); err != nil {
			return nil, err
		}
		Audit(c, ws, "user.role.changed", AuditEvent{ResourceType: "workspaceMember", ResourceID: target.ID(), Metadata: map[string]any{"userId": target.Str("userId"), "oldRole": target.Str("role"), "newRole": a.Str("role")}})
		return nil, nil
	})

	r.Mutation("workspaceMembers:remove", "permission:users.remove", fn.Fields{"membershipId": V.ID("workspaceMembers")}, func(c *fn.Ctx, a fn.Args) (any, error) {
		target, err := c.DB().Get("workspaceMembers", a.Str("membershipId"))
		if err != nil || target == nil {
			return nil, orNotFound(err, "Membership")
		}
		ws := target.Str("workspaceId")
		if _, err := access.RequirePermission(c, ws, access.UsersRemove); err != nil {
			return nil, err
		}
		if target.Str("role") == access.RoleOwner {
			return nil, fn.Errorf(fn.PermissionDenied, "Cannot remove workspace owner. Transfer ownership first.")
		}
		if err := c.DB().Delete("workspaceMembers", target.ID()); err != nil {
			return nil, err
		}
		// End the removed user's current-workspace pointer so the app
		// does not keep opening a workspace they lost.
		if u, _ := c.DB().Get("users", target.Str("userId")); u != nil && u.Str("workspaceId") == ws {
			if err := c.DB().Patch("users", u.ID(), sqlstore.Doc{"workspaceId": nil}); err != nil {
				return nil, err
			}
		}
		Audit(c, ws, "user.removed", AuditEvent{ResourceType: "workspaceMember", ResourceID: target.ID(), Metadata: map[string]any{"userId": target.Str("userId"), "role": target.Str("role")}})
		return nil, nil
	})

	r.Mutation("workspaceMembers:transferOwnership", "owner", fn.Fields{"workspaceId": V.ID("workspaces"), "newOwnerId": V.ID("users")}, func(c *fn.Ctx, a fn.Args) (any, error) {
		ws := a.Str("workspaceId")
		caller, err := access.RequireMember(c, ws)
		if err != nil {
			return nil, err
		}
		if caller.Role != access.RoleOwner {
			return nil, fn.Errorf(fn.PermissionDenied, "Only the workspace owner can transfer ownership")
		}
		if a.Str("newOwnerId") == caller.UserID {
			return nil, fn.ErrInvalid("You already own this workspace")
		}
		next, err := access.MembershipOf(c, a.Str("newOwnerId"), ws)
		if err != nil {
			return nil, err
		}
		if next == nil {
			return nil, fn.Errorf(fn.NotFound, "New owner must be a member of this workspace")
		}
		if err := c.DB().Patch("workspaceMembers", next.ID, sqlstore.Doc{"role": access.RoleOwner, "permissions": nil}); err != nil {
			return nil, err
		}
		if err := c.DB().Patch("workspaceMembers", caller.ID, sqlstore.Doc{"role": access.RoleAdmin, "permissions": nil}); err != nil {
			return nil, err
		}
		Audit(c, ws, "user.ownership.transferred", AuditEvent{ResourceType: "workspace", ResourceID: ws, Metadata: map[string]any{"previousOwnerId": caller.UserID, "newOwnerId": next.UserID}})
		return map[string]any{"success": true}, nil
	})

	// Invitations. Opencom's inviteToWorkspace is an action (it sends an
	// email); this server has no mailer, so it records the invitation and
	// the admin shares the sign-up link.
	r.Action("workspaceMembers:inviteToWorkspace", "permission:users.invite", fn.Fields{"workspaceId": V.ID("workspaces"), "email": V.String(), "role": role, "baseUrl": V.Optional(V.String())}, func(c *fn.Ctx, a fn.Args) (any, error) {
		return c.RunMutation("workspaceMembers:createInvitation", map[string]any{"workspaceId": a.Str("workspaceId"), "email": a.Str("email"), "role": a.Str("role")})
	})

	r.Mutation("workspaceMembers:createInvitation", "permission:users.invite", fn.Fields{"workspaceId": V.ID("workspaces"), "email": V.String(), "role": role}, func(c *fn.Ctx, a fn.Args) (any, error) {
		ws := a.Str("workspaceId")
		caller, err := access.RequirePermission(c, ws, access.UsersInvite)
		if err != nil {
			return nil, err
		}
		if a.Str("role") == access.RoleAdmin && caller.Role != access.RoleOwner && caller.Role != access.RoleAdmin {
			return nil, fn.Errorf(fn.PermissionDenied, "Only owners and admins can invite admins")
		}
		email := NormalizeEmail(a.Str("email"))
		if !validEmail(email) {
			return nil, fn.ErrInvalid("Invalid email address")
		}
		if u, err := c.DB().Query("users").Eq("email", email).First(); err != nil {
			return nil, err
		} else if u != nil {
			if mem, err := access.MembershipOf(c, u.ID(), ws); err != nil {
				return nil, err
			} else if mem != nil {
				return nil, fn.Errorf(fn.AlreadyExists, "User is already a member of this workspace")
			}
			id, err := c.DB().Insert("workspaceMembers", sqlstore.Doc{"userId": u.ID(), "workspaceId": ws, "role": a.Str("role"), "createdAt": c.NowMs()})
			if err != nil {
				return nil, err
			}
			Audit(c, ws, "user.invited", AuditEvent{ResourceType: "workspaceMember", ResourceID: id, Metadata: map[string]any{"email": email, "role": a.Str("role"), "existingUser": true}})
			return map[string]any{"status": "added", "membershipId": id}, nil
		}
		pending, err := c.DB().Query("workspaceInvitations").Eq("email", email).Filter(func(d sqlstore.Doc) bool {
			return d.Str("workspaceId") == ws && d.Str("status") == "pending"
		}).First()
		if err != nil {
			return nil, err
		}
		if pending != nil {
			return nil, fn.Errorf(fn.AlreadyExists, "Invitation already sent to this email")
		}
		id, err := c.DB().Insert("workspaceInvitations", sqlstore.Doc{"workspaceId": ws, "email": email, "role": a.Str("role"), "invitedBy": caller.UserID, "status": "pending", "createdAt": c.NowMs()})
		if err != nil {
			return nil, err
		}
		Audit(c, ws, "user.invited", AuditEvent{ResourceType: "workspaceInvitation", ResourceID: id, Metadata: map[string]any{"email": email, "role": a.Str("role")}})
		return map[string]any{"status": "invited", "invitationId": id}, nil
	})

	r.Query("workspaceMembers:getWorkspacePendingInvitations", "permission:users.read ([] otherwise)", fn.Fields{"workspaceId": V.ID("workspaces")}, func(c *fn.Ctx, a fn.Args) (any, error) {
		mem, err := access.Membership(c, a.Str("workspaceId"))
		if err != nil || !mem.Has(access.UsersRead) {
			return []any{}, err
		}
		rows, err := c.DB().Query("workspaceInvitations").Eq("workspaceId", a.Str("workspaceId")).Filter(func(d sqlstore.Doc) bool { return d.Str("status") == "pending" }).Collect()
		if rows == nil {
			return []any{}, err
		}
		return rows, err
	})

	r.Query("workspaceMembers:getMyPendingInvitations", "authenticated ([] otherwise)", nil, func(c *fn.Ctx, a fn.Args) (any, error) {
		uid, err := access.UserID(c)
		if err != nil || uid == "" {
			return []any{}, err
		}
		u, err := c.DB().Get("users", uid)
		if err != nil {
			return nil, err
		}
		rows, err := c.DB().Query("workspaceInvitations").Eq("email", u.Str("email")).Filter(func(d sqlstore.Doc) bool { return d.Str("status") == "pending" }).Collect()
		out := []map[string]any{}
		for _, d := range rows {
			v := map[string]any(d)
			if w, _ := c.DB().Get("workspaces", d.Str("workspaceId")); w != nil {
				v["workspaceName"] = w["name"]
			}
			out = append(out, v)
		}
		return out, err
	})

	r.Mutation("workspaceMembers:acceptInvitation", "authenticated (invited email)", fn.Fields{"invitationId": V.ID("workspaceInvitations")}, func(c *fn.Ctx, a fn.Args) (any, error) {
		uid, err := access.RequireUser(c)
		if err != nil {
			return nil, err
		}
		inv, err := c.DB().Get("workspaceInvitations", a.Str("invitationId"))
		if err != nil || inv == nil {
			return nil, orNotFound(err, "Invitation")
		}
		u, err := c.DB().Get("users", uid)
		if err != nil {
			return nil, err
		}
		if NormalizeEmail(u.Str("email")) != inv.Str("email") {
			return nil, fn.Errorf(fn.NotAuthorized, "This invitation is for a different email address")
		}
		if inv.Str("status") != "pending" {
			return nil, fn.ErrInvalid("Invitation is no longer pending")
		}
		ws := inv.Str("workspaceId")
		id := ""
		if mem, err := access.MembershipOf(c, uid, ws); err != nil {
			return nil, err
		} else if mem != nil {
			id = mem.ID
		} else if id, err = c.DB().Insert("workspaceMembers", sqlstore.Doc{"userId": uid, "workspaceId": ws, "role": inv.Str("role"), "createdAt": c.NowMs()}); err != nil {
			return nil, err
		}
		if err := c.DB().Patch("workspaceInvitations", inv.ID(), sqlstore.Doc{"status": "accepted", "acceptedAt": c.NowMs()}); err != nil {
			return nil, err
		}
		Audit(c, ws, "user.invited", AuditEvent{ResourceType: "workspaceMember", ResourceID: id, Metadata: map[string]any{"email": inv.Str("email"), "role": inv.Str("role"), "accepted": true}})
		return id, nil
	})

	r.Mutation("workspaceMembers:cancelInvitation", "permission:users.manage", fn.Fields{"invitationId": V.ID("workspaceInvitations")}, func(c *fn.Ctx, a fn.Args) (any, error) {
		inv, err := c.DB().Get("workspaceInvitations", a.Str("invitationId"))
		if err != nil || inv == nil {
			return nil, orNotFound(err, "Invitation")
		}
		ws := inv.Str("workspaceId")
		if _, err := access.RequirePermission(c, ws, access.UsersManage); err != nil {
			return nil, err
		}
		if inv.Str("status") != "pending" {
			return nil, fn.ErrInvalid("Invitation is no longer pending")
		}
		if err := c.DB().Patch("workspaceInvitations", inv.ID(), sqlstore.Doc{"status": "declined"}); err != nil {
			return nil, err
		}
		Audit(c, ws, "user.removed", AuditEvent{ResourceType: "workspaceInvitation", ResourceID: inv.ID(), Metadata: map[string]any{"email": inv.Str("email"), "canceled": true}})
		return nil, nil
	})
}
