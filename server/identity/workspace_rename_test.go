package identity

import (
	"strings"
	"testing"

	"github.com/opencom-go/opencom/server/fn"
	"github.com/opencom-go/opencom/sqlstore"
)

// renameWorld is one workspace (Acme) with an owner, admin, agent and
// viewer, plus the owner of a second workspace (Other).
type renameWorld struct {
	e      *env
	ws     string
	tokens map[string]string
}

func newRenameWorld(t *testing.T) *renameWorld {
	t.Helper()
	e := newEnv(t)
	owner, ws := ownerWorkspace(e, "owner@example.com", "Acme")
	w := &renameWorld{e: e, ws: ws, tokens: map[string]string{"owner": owner}}
	for _, role := range []string{"admin", "agent", "viewer"} {
		email := role + "@example.com"
		e.mustCall(owner, "workspaceMembers:createInvitation", map[string]any{"workspaceId": ws, "email": email, "role": role})
		w.tokens[role], _ = signUp(e, email, "correct horse", "")
		if got := e.mustCall(w.tokens[role], "workspaceMembers:getMemberRole", map[string]any{"workspaceId": ws}); got != role {
			t.Fatalf("%s joined as %v", email, got)
		}
	}
	w.tokens["other"], _ = ownerWorkspace(e, "other@example.com", "Other")
	return w
}

func (w *renameWorld) name() string { return w.e.doc("workspaces", w.ws).Str("name") }

// renameAudits returns the workspace.settings.changed rows about the name.
func (w *renameWorld) renameAudits() []sqlstore.Doc {
	var out []sqlstore.Doc
	for _, d := range w.e.rows("auditLogs") {
		if md, _ := d["metadata"].(map[string]any); d.Str("action") == "workspace.settings.changed" && md["field"] == "name" {
			out = append(out, d)
		}
	}
	return out
}

func TestWorkspaceUpdateNameCallers(t *testing.T) {
	cases := []struct {
		caller string // key of renameWorld.tokens; "" = anonymous
		code   string // "" = allowed
	}{
		{"owner", ""},
		{"admin", ""},
		{"agent", fn.PermissionDenied},
		{"viewer", fn.PermissionDenied},
		{"other", fn.NotWorkspaceMember},
		{"", fn.NotAuthenticated},
	}
	for _, c := range cases {
		name := c.caller
		if name == "" {
			name = "anonymous"
		}
		t.Run(name, func(t *testing.T) {
			w := newRenameWorld(t)
			tok := w.tokens[c.caller]
			got, err := w.e.call(tok, "workspaces:updateName", map[string]any{"workspaceId": w.ws, "name": "  Acme Support  "})
			if c.code != "" {
				if err == nil || err.Code != c.code {
					t.Fatalf("got %v, %v; want %s", got, err, c.code)
				}
				if w.name() != "Acme" || len(w.renameAudits()) != 0 {
					t.Fatalf("denied rename changed something: name %q, audits %v", w.name(), w.renameAudits())
				}
				return
			}
			if err != nil {
				t.Fatalf("%s: %s", err.Code, err.Message)
			}
			m, _ := got.(map[string]any)
			if m["success"] != true || m["name"] != "Acme Support" || len(m) != 2 {
				t.Fatalf("result %v", got)
			}
			if w.name() != "Acme Support" {
				t.Fatalf("stored name %q", w.name())
			}
			audits := w.renameAudits()
			if len(audits) != 1 {
				t.Fatalf("%d rename audit rows", len(audits))
			}
			a := audits[0]
			md := a["metadata"].(map[string]any)
			if md["from"] != "Acme" || md["to"] != "Acme Support" || a.Str("workspaceId") != w.ws || a.Str("resourceType") != "workspace" || a.Str("resourceId") != w.ws || a.Str("actorType") != "user" || a.Str("actorId") == "" {
				t.Fatalf("audit row %v", a)
			}
			// The member view (what the app's header subscribes to) has the new name.
			cu := w.e.mustCall(tok, "auth:currentUser", nil).(map[string]any)
			for _, x := range cu["workspaces"].([]any) {
				if xm := x.(map[string]any); xm["_id"] == w.ws && xm["name"] != "Acme Support" {
					t.Fatalf("currentUser shows %v", xm["name"])
				}
			}
		})
	}
}

func TestWorkspaceUpdateNameValidation(t *testing.T) {
	w := newRenameWorld(t)
	cases := []struct {
		name, in, want string // want "" = INVALID_INPUT
		msg            string
	}{
		{"empty", "", "", "required"},
		{"whitespace", " \t\n ", "", "required"},
		{"101 characters", strings.Repeat("a", 101), "", "at most 100"},
		{"101 characters after trim", " " + strings.Repeat("é", 101) + " ", "", "at most 100"},
		{"control character", "Acme\nSupport", "", "control"},
		{"one character", "A", "A", ""},
		{"100 characters", strings.Repeat("a", 100), strings.Repeat("a", 100), ""},
		{"100 multibyte characters", strings.Repeat("é", 100), strings.Repeat("é", 100), ""},
		{"trimmed", "  Acme Help  ", "Acme Help", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before, audits := w.name(), len(w.renameAudits())
			got, err := w.e.call(w.tokens["owner"], "workspaces:updateName", map[string]any{"workspaceId": w.ws, "name": c.in})
			if c.want == "" {
				if err == nil || err.Code != fn.InvalidInput || !strings.Contains(err.Message, c.msg) {
					t.Fatalf("got %v, %v; want INVALID_INPUT mentioning %q", got, err, c.msg)
				}
				if w.name() != before || len(w.renameAudits()) != audits {
					t.Fatalf("rejected name changed something: %q, %d audits", w.name(), len(w.renameAudits()))
				}
				return
			}
			if err != nil {
				t.Fatalf("%s: %s", err.Code, err.Message)
			}
			if m := got.(map[string]any); m["name"] != c.want || w.name() != c.want {
				t.Fatalf("result %v, stored %q; want %q", got, w.name(), c.want)
			}
			if len(w.renameAudits()) != audits+1 {
				t.Fatalf("no audit row for %q", c.in)
			}
		})
	}
	// Renaming to the current name succeeds without a new audit row.
	audits := len(w.renameAudits())
	if m := w.e.mustCall(w.tokens["admin"], "workspaces:updateName", map[string]any{"workspaceId": w.ws, "name": w.name()}).(map[string]any); m["success"] != true {
		t.Fatalf("same name: %v", m)
	}
	if len(w.renameAudits()) != audits {
		t.Fatal("unchanged name wrote an audit row")
	}
}
