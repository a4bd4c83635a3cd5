// Package access holds Opencom's access rules in one place: the role →
// permission table, and the two ways a caller is identified — an agent by
// the JWT on the connection (checked against workspaceMembers), a visitor by
// the widget session token passed as an argument.
package access

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"

	"github.com/opencom-go/opencom/server/fn"
	"github.com/opencom-go/opencom/sqlstore"
)

// Roles, highest first.
const (
	RoleOwner  = "owner"
	RoleAdmin  = "admin"
	RoleAgent  = "agent"
	RoleViewer = "viewer"
)

// Permissions (security.md §2).
const (
	ConversationsRead    = "conversations.read"
	ConversationsReply   = "conversations.reply"
	ConversationsAssign  = "conversations.assign"
	ConversationsClose   = "conversations.close"
	ConversationsDelete  = "conversations.delete"
	UsersRead            = "users.read"
	UsersInvite          = "users.invite"
	UsersManage          = "users.manage"
	UsersRemove          = "users.remove"
	ArticlesRead         = "articles.read"
	ArticlesCreate       = "articles.create"
	ArticlesPublish      = "articles.publish"
	ArticlesDelete       = "articles.delete"
	SnippetsManage       = "snippets.manage"
	ToursManage          = "tours.manage"
	ChecklistsManage     = "checklists.manage"
	SettingsWorkspace    = "settings.workspace"
	SettingsSecurity     = "settings.security"
	SettingsIntegrations = "settings.integrations"
	SettingsBilling      = "settings.billing"
	DataExport           = "data.export"
	DataDelete           = "data.delete"
	AuditRead            = "audit.read"
)

// matrix is the role → permission table; one row per permission, columns
// owner, admin, agent, viewer.
var matrix = []struct {
	perm                        string
	owner, admin, agent, viewer bool
}{
	{ConversationsRead, true, true, true, true},
	{ConversationsReply, true, true, true, false},
	{ConversationsAssign, true, true, true, false},
	{ConversationsClose, true, true, true, false},
	{ConversationsDelete, true, true, false, false},
	{UsersRead, true, true, true, true},
	{UsersInvite, true, true, false, false},
	{UsersManage, true, true, false, false},
	{UsersRemove, true, true, false, false},
	{ArticlesRead, true, true, true, true},
	{ArticlesCreate, true, true, false, false},
	{ArticlesPublish, true, true, false, false},
	{ArticlesDelete, true, true, false, false},
	{SnippetsManage, true, true, true, false},
	{ToursManage, true, true, false, false},
	{ChecklistsManage, true, true, true, false},
	{SettingsWorkspace, true, true, false, false},
	{SettingsSecurity, true, true, false, false},
	{SettingsIntegrations, true, true, false, false},
	{SettingsBilling, true, false, false, false},
	{DataExport, true, true, false, false},
	{DataDelete, true, true, false, false},
	{AuditRead, true, true, false, true},
}

// AllPermissions lists every permission in table order.
func AllPermissions() []string {
	out := make([]string, len(matrix))
	for i, r := range matrix {
		out[i] = r.perm
	}
	return out
}

// RolePermissions returns the default permissions of a role.
func RolePermissions(role string) []string {
	var out []string
	for _, r := range matrix {
		if (role == RoleOwner && r.owner) || (role == RoleAdmin && r.admin) || (role == RoleAgent && r.agent) || (role == RoleViewer && r.viewer) {
			out = append(out, r.perm)
		}
	}
	return out
}

// ValidRole reports whether role is one of the four roles.
func ValidRole(role string) bool {
	return role == RoleOwner || role == RoleAdmin || role == RoleAgent || role == RoleViewer
}

// Member is a caller's membership in a workspace.
type Member struct {
	ID          string // workspaceMembers _id
	UserID      string
	WorkspaceID string
	Role        string
	Permissions []string // explicit override; empty = role defaults
}

// Has reports whether the membership grants perm: a non-empty explicit
// permission list replaces the role's defaults entirely.
func (m *Member) Has(perm string) bool {
	if m == nil {
		return false
	}
	if len(m.Permissions) > 0 {
		return slices.Contains(m.Permissions, perm)
	}
	return slices.Contains(RolePermissions(m.Role), perm)
}

// UserID returns the authenticated user's id, or "" when the caller has no
// valid token or the user no longer exists.
func UserID(c *fn.Ctx) (string, error) {
	if c.Identity == nil || c.Identity.Subject == "" {
		return "", nil
	}
	if !sqlstore.IsID(c.Identity.Subject) {
		return "", nil
	}
	u, err := c.DB().Get("users", c.Identity.Subject)
	if err != nil || u == nil {
		return "", err
	}
	return u.ID(), nil
}

// RequireUser returns the caller's user id or NOT_AUTHENTICATED.
func RequireUser(c *fn.Ctx) (string, error) {
	id, err := UserID(c)
	if err != nil {
		return "", err
	}
	if id == "" {
		return "", fn.Errorf(fn.NotAuthenticated, "Not authenticated")
	}
	return id, nil
}

// Membership returns the caller's membership of the workspace, or nil when
// the caller is anonymous or not a member.
func Membership(c *fn.Ctx, workspaceID string) (*Member, error) {
	uid, err := UserID(c)
	if err != nil || uid == "" {
		return nil, err
	}
	return MembershipOf(c, uid, workspaceID)
}

// MembershipOf returns a user's membership of the workspace, or nil.
func MembershipOf(c *fn.Ctx, userID, workspaceID string) (*Member, error) {
	d, err := c.DB().Query("workspaceMembers").Eq("userId", userID).Filter(func(d sqlstore.Doc) bool {
		return d.Str("workspaceId") == workspaceID
	}).First()
	if err != nil || d == nil {
		return nil, err
	}
	m := &Member{ID: d.ID(), UserID: userID, WorkspaceID: workspaceID, Role: d.Str("role")}
	if ps, ok := d["permissions"].([]any); ok {
		for _, p := range ps {
			if s, ok := p.(string); ok {
				m.Permissions = append(m.Permissions, s)
			}
		}
	}
	return m, nil
}

// RequireMember returns the caller's membership or an error
// (NOT_AUTHENTICATED, NOT_WORKSPACE_MEMBER).
func RequireMember(c *fn.Ctx, workspaceID string) (*Member, error) {
	if _, err := RequireUser(c); err != nil {
		return nil, err
	}
	m, err := Membership(c, workspaceID)
	if err != nil {
		return nil, err
	}
	if m == nil {
		return nil, fn.Errorf(fn.NotWorkspaceMember, "Not a member of this workspace")
	}
	return m, nil
}

// RequirePermission is Opencom's requirePermission: the caller must be a
// member of the workspace whose membership grants perm.
func RequirePermission(c *fn.Ctx, workspaceID, perm string) (*Member, error) {
	m, err := RequireMember(c, workspaceID)
	if err != nil {
		return nil, err
	}
	if !m.Has(perm) {
		return nil, fn.Errorf(fn.PermissionDenied, "Permission denied: %s", perm)
	}
	return m, nil
}

// Visitor is a caller identified by a widget session token.
type Visitor struct {
	ID               string // visitors _id
	WorkspaceID      string
	SessionDocID     string // widgetSessions _id
	IdentityVerified bool
	ExpiresAt        float64
}

// HashToken is how session tokens are stored: only their SHA-256, so a
// copy of the database does not hand out live sessions.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// ResolveVisitor is Opencom's resolveVisitorFromSession. Errors, in order:
// no token, unknown token, token of another workspace, expired token.
func ResolveVisitor(c *fn.Ctx, sessionToken, workspaceID string) (*Visitor, error) {
	if sessionToken == "" {
		return nil, fn.Errorf(fn.NotAuthenticated, "Session token required")
	}
	d, err := c.DB().Query("widgetSessions").Eq("tokenHash", HashToken(sessionToken)).First()
	if err != nil {
		return nil, err
	}
	if d == nil {
		return nil, fn.Errorf(fn.NotAuthenticated, "Invalid session token")
	}
	if workspaceID != "" && d.Str("workspaceId") != workspaceID {
		return nil, fn.Errorf(fn.NotAuthorized, "Session token does not match workspace")
	}
	if d.Num("expiresAt") < c.NowMs() {
		return nil, fn.Errorf(fn.SessionExpired, "Session expired")
	}
	return &Visitor{ID: d.Str("visitorId"), WorkspaceID: d.Str("workspaceId"), SessionDocID: d.ID(), IdentityVerified: d.Bool("identityVerified"), ExpiresAt: d.Num("expiresAt")}, nil
}
