// Package inbox is Opencom's inbox: conversations, messages (with internal
// notes), timeline events, tags, snippets, tickets, automation settings,
// CSAT, conversation search (FTS5), bulk actions and typing indicators.
//
// Access follows Opencom: agents are checked against their workspace
// membership (access.RequirePermission), visitors by the widget session
// token passed as sessionToken. Unlike Opencom, a bare visitorId argument
// never grants access on its own: it must match the session token's visitor.
package inbox

import (
	"strings"
	"unicode/utf8"

	"github.com/opencom-go/opencom/server/access"
	"github.com/opencom-go/opencom/server/attachments"
	"github.com/opencom-go/opencom/server/fn"
	"github.com/opencom-go/opencom/sqlstore"
)

// Deps are what the inbox needs from the server.
type Deps struct {
	// Invalidate wakes subscriptions that read state kept outside the
	// database (typing indicators). Nil in tests that do not subscribe.
	Invalidate func(keys ...sqlstore.ReadKey)
	// FileURL builds attachment download URLs (attachments.FileURL over
	// the server's public URL). Nil: relative URLs.
	FileURL attachments.URLFunc
}

// Register adds every inbox function to r.
func Register(r *fn.Registry, d Deps) {
	registerConversations(r)
	fileURL := d.FileURL
	if fileURL == nil {
		fileURL = attachments.FileURL(nil)
	}
	registerMessages(r, fileURL)
	registerTags(r)
	registerSnippets(r)
	registerTickets(r, fileURL)
	registerAutomationSettings(r)
	registerCsat(r)
	registerSearch(r)
	registerBulk(r)
	registerTyping(r, newTypingState(d.Invalidate))
}

var V = fn.V

// Limits on user-supplied text.
const (
	maxMessageLen = 20000
	maxNameLen    = 200
	maxBulkIDs    = 100
	previewLen    = 140
)

func notFound(what string) error { return fn.Errorf(fn.NotFound, "%s not found", what) }

// getDoc loads a document or returns NOT_FOUND naming it.
func getDoc(c *fn.Ctx, table, id, what string) (sqlstore.Doc, error) {
	d, err := c.DB().Get(table, id)
	if err != nil {
		return nil, err
	}
	if d == nil {
		return nil, notFound(what)
	}
	return d, nil
}

// getAuthorized loads a document (NOT_FOUND first) and requires perm in
// the workspace it belongs to.
func getAuthorized(c *fn.Ctx, table, id, what, perm string) (sqlstore.Doc, error) {
	d, err := getDoc(c, table, id, what)
	if err != nil {
		return nil, err
	}
	if _, err := access.RequirePermission(c, d.Str("workspaceId"), perm); err != nil {
		return nil, err
	}
	return d, nil
}

// softMember is the fail-soft read check Opencom's list/get queries use:
// an anonymous caller gets an empty result (ok=false, no error) so a
// dashboard that is still signing in does not flash errors; a signed-in
// caller without the permission gets a clear error.
func softMember(c *fn.Ctx, workspaceID, perm string) (*access.Member, bool, error) {
	uid, err := access.UserID(c)
	if err != nil {
		return nil, false, err
	}
	if uid == "" {
		return nil, false, nil
	}
	m, err := access.RequirePermission(c, workspaceID, perm)
	if err != nil {
		return nil, false, err
	}
	return m, true, nil
}

// visitorFor resolves a session token against a workspace and checks that
// an explicit visitorId argument, when given, is the token's visitor.
func visitorFor(c *fn.Ctx, sessionToken, workspaceID, visitorID string) (*access.Visitor, error) {
	v, err := access.ResolveVisitor(c, sessionToken, workspaceID)
	if err != nil {
		return nil, err
	}
	if visitorID != "" && visitorID != v.ID {
		return nil, fn.Errorf(fn.NotAuthorized, "Session token does not match visitor")
	}
	return v, nil
}

// convCaller is who is acting on a conversation: exactly one of the two is set.
type convCaller struct {
	member  *access.Member
	visitor *access.Visitor
}

func (cc convCaller) isVisitor() bool { return cc.visitor != nil }

// conversationAccess authorises a caller on a conversation: with a
// sessionToken the caller is a visitor who must own it; otherwise an agent
// holding perm in its workspace.
func conversationAccess(c *fn.Ctx, conv sqlstore.Doc, sessionToken, visitorID, perm string) (convCaller, error) {
	if sessionToken != "" {
		v, err := visitorFor(c, sessionToken, conv.Str("workspaceId"), visitorID)
		if err != nil {
			return convCaller{}, err
		}
		if conv.Str("visitorId") != v.ID {
			return convCaller{}, fn.Errorf(fn.NotAuthorized, "Not authorized to access this conversation")
		}
		return convCaller{visitor: v}, nil
	}
	m, err := access.RequirePermission(c, conv.Str("workspaceId"), perm)
	if err != nil {
		return convCaller{}, err
	}
	return convCaller{member: m}, nil
}

func requireText(field, s string, max int) (string, error) {
	t := strings.TrimSpace(s)
	if t == "" {
		return "", fn.ErrInvalid("%s is required", field)
	}
	if utf8.RuneCountInString(s) > max {
		return "", fn.ErrInvalid("%s is too long (max %d characters)", field, max)
	}
	return t, nil
}

func preview(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) <= previewLen {
		return s
	}
	r := []rune(s)
	return string(r[:previewLen-1]) + "…"
}

// docs turns a nil slice into an empty JSON array.
func docs(ds []sqlstore.Doc) []sqlstore.Doc {
	if ds == nil {
		return []sqlstore.Doc{}
	}
	return ds
}

// userName is the display name Opencom shows for an agent.
func userName(c *fn.Ctx, userID string) (string, error) {
	if !sqlstore.IsID(userID) {
		return "", nil
	}
	u, err := c.DB().Get("users", userID)
	if err != nil || u == nil {
		return "", err
	}
	if n := strings.TrimSpace(u.Str("name")); n != "" {
		return n, nil
	}
	return strings.TrimSpace(u.Str("email")), nil
}

func copyDoc(d sqlstore.Doc) sqlstore.Doc {
	out := make(sqlstore.Doc, len(d)+2)
	for k, v := range d {
		out[k] = v
	}
	return out
}
