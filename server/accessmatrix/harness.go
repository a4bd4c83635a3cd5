package accessmatrix

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/opencom-go/opencom/server"
	"github.com/opencom-go/opencom/server/access"
	"github.com/opencom-go/opencom/server/fn"
	"github.com/opencom-go/opencom/server/identity"
	"github.com/opencom-go/opencom/server/schema"
	"github.com/opencom-go/opencom/sqlstore"
)

// Caller is one kind of caller of the matrix.
type Caller string

const (
	None        Caller = "none"
	Viewer      Caller = "viewer"
	Agent       Caller = "agent"
	Admin       Caller = "admin"
	Owner       Caller = "owner"
	OtherMember Caller = "otherMember" // owner of workspace B, not a member of A
	VisitorA    Caller = "visitorA"
	VisitorB    Caller = "visitorB"
)

// AllCallers in the order the matrix reports them.
var AllCallers = []Caller{None, Viewer, Agent, Admin, Owner, OtherMember, VisitorA, VisitorB}

// Caller sets for Entry.Allow.
var (
	Everyone      = AllCallers
	MembersA      = []Caller{Viewer, Agent, Admin, Owner}
	Authenticated = []Caller{Viewer, Agent, Admin, Owner, OtherMember}
	Nobody        = []Caller{}
)

var roleOf = map[Caller]string{Viewer: access.RoleViewer, Agent: access.RoleAgent, Admin: access.RoleAdmin, Owner: access.RoleOwner}

// Roles returns the members of workspace A whose role grants perm.
func Roles(perm string) []Caller {
	var out []Caller
	for _, c := range MembersA {
		if slices.Contains(access.RolePermissions(roleOf[c]), perm) {
			out = append(out, c)
		}
	}
	return out
}

// Plus joins caller sets.
func Plus(sets ...[]Caller) []Caller {
	var out []Caller
	for _, s := range sets {
		for _, c := range s {
			if !slices.Contains(out, c) {
				out = append(out, c)
			}
		}
	}
	return out
}

// Entry is the expected access of one public function.
type Entry struct {
	Func  string
	Args  func(fx *Fixture, who Caller) map[string]any
	Allow []Caller
	// SoftDeny: denied callers may get an empty result instead of an error.
	SoftDeny bool
	// Empty overrides what counts as an empty (denied) result.
	Empty func(v any) bool
	// AllowEmpty: allowed callers may get an empty result too.
	AllowEmpty bool
	// OKCodes are error codes an allowed caller may get.
	OKCodes []string
}

var (
	entriesMu sync.Mutex
	entries   = map[string]Entry{}
	seeds     []func(fx *Fixture, tx *sqlstore.Tx) error
)

func add(e Entry) {
	entriesMu.Lock()
	defer entriesMu.Unlock()
	if _, dup := entries[e.Func]; dup {
		panic("accessmatrix: duplicate entry " + e.Func)
	}
	entries[e.Func] = e
}

// Add registers an entry (for entries defined outside this package).
func Add(e Entry) { add(e) }

// AddSeed adds data to the fixture, inside the seed transaction.
func AddSeed(f func(fx *Fixture, tx *sqlstore.Tx) error) { seeds = append(seeds, f) }

// Entries returns the registered entries sorted by function name.
func Entries() []Entry {
	entriesMu.Lock()
	defer entriesMu.Unlock()
	out := make([]Entry, 0, len(entries))
	for _, e := range entries {
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Func < out[j].Func })
	return out
}

// Fixture is the seeded world every call runs against.
type Fixture struct {
	WorkspaceA, WorkspaceB string
	// UserIDs, MemberIDs (workspaceMembers _id) and Emails of the agent callers.
	UserIDs   map[Caller]string
	MemberIDs map[Caller]string
	Emails    map[Caller]string
	// Visitors: ids, the widget's sessionId strings and session tokens.
	VisitorIDs      map[Caller]string
	VisitorSessions map[Caller]string
	SessionTokens   map[Caller]string
	// IDs holds documents created by module seeds ("module.name" → id).
	IDs map[string]string

	jwts map[Caller]string
}

// SessionToken is the caller's widget session token ("" for agents).
func (fx *Fixture) SessionToken(who Caller) string { return fx.SessionTokens[who] }

// UserID is the caller's user id ("" for none and visitors).
func (fx *Fixture) UserID(who Caller) string { return fx.UserIDs[who] }

// VisitorID is the visitor's id for visitor callers, else visitor A's.
func (fx *Fixture) VisitorID(who Caller) string {
	if id := fx.VisitorIDs[who]; id != "" {
		return id
	}
	return fx.VisitorIDs[VisitorA]
}

// World is a seeded database template plus a running server over a copy
// of it for read-only calls.
type World struct {
	dir     string
	FX      *Fixture
	readSrv *instance
}

type instance struct {
	dir   string
	store *sqlstore.Store
	srv   *server.Server
}

var registerOnce sync.Once

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func openInstance(ctx context.Context, dir string) (*instance, error) {
	registerOnce.Do(func() {
		for _, m := range Modules {
			server.Modules = append(server.Modules, m.Register)
		}
	})
	st, err := sqlstore.Open(ctx, filepath.Join(dir, "opencom.db"), sqlstore.Options{Migrations: schema.Migrations(), Logger: quietLog()})
	if err != nil {
		return nil, err
	}
	srv, err := server.New(ctx, server.Config{PublicURL: "http://127.0.0.1:1"}, st, quietLog())
	if err != nil {
		st.Close()
		return nil, err
	}
	return &instance{dir: dir, store: st, srv: srv}, nil
}

func (in *instance) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	in.srv.Shutdown(ctx)
	in.store.Close()
}

// NewWorld seeds the template database in a temporary directory.
func NewWorld(ctx context.Context, tmp string) (*World, error) {
	dir := filepath.Join(tmp, "template")
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, err
	}
	in, err := openInstance(ctx, dir)
	if err != nil {
		return nil, err
	}
	fx := &Fixture{UserIDs: map[Caller]string{}, MemberIDs: map[Caller]string{}, Emails: map[Caller]string{}, VisitorIDs: map[Caller]string{}, VisitorSessions: map[Caller]string{}, SessionTokens: map[Caller]string{}, IDs: map[string]string{}, jwts: map[Caller]string{}}
	sessions := map[Caller]string{}
	now := time.Now()
	nowMs := float64(now.UnixMilli())
	_, err = in.store.Write(ctx, func(tx *sqlstore.Tx) error {
		mkUser := func(who Caller) (string, error) {
			email := strings.ToLower(string(who)) + "@example.test"
			uid, err := tx.Insert("users", sqlstore.Doc{"email": email, "name": "User " + string(who), "role": "admin", "createdAt": nowMs})
			if err != nil {
				return "", err
			}
			fx.UserIDs[who], fx.Emails[who] = uid, email
			sid, err := tx.Insert("authSessions", sqlstore.Doc{"userId": uid, "expirationTime": float64(now.Add(30 * 24 * time.Hour).UnixMilli())})
			sessions[who] = sid
			return uid, err
		}
		owner, err := mkUser(Owner)
		if err != nil {
			return err
		}
		if fx.WorkspaceA, err = identity.CreateWorkspace(tx, "Workspace A", owner, nowMs); err != nil {
			return err
		}
		other, err := mkUser(OtherMember)
		if err != nil {
			return err
		}
		if fx.WorkspaceB, err = identity.CreateWorkspace(tx, "Workspace B", other, nowMs); err != nil {
			return err
		}
		for _, who := range []Caller{Owner, OtherMember} {
			ws := fx.WorkspaceA
			if who == OtherMember {
				ws = fx.WorkspaceB
			}
			m, err := tx.Query("workspaceMembers").Eq("userId", fx.UserIDs[who]).Filter(func(d sqlstore.Doc) bool { return d.Str("workspaceId") == ws }).First()
			if err != nil {
				return err
			}
			fx.MemberIDs[who] = m.ID()
		}
		for _, who := range []Caller{Admin, Agent, Viewer} {
			uid, err := mkUser(who)
			if err != nil {
				return err
			}
			if fx.MemberIDs[who], err = tx.Insert("workspaceMembers", sqlstore.Doc{"userId": uid, "workspaceId": fx.WorkspaceA, "role": roleOf[who], "createdAt": nowMs}); err != nil {
				return err
			}
			if err := tx.Patch("users", uid, sqlstore.Doc{"workspaceId": fx.WorkspaceA}); err != nil {
				return err
			}
		}
		for who, ws := range map[Caller]string{VisitorA: fx.WorkspaceA, VisitorB: fx.WorkspaceB} {
			sessionID := "widget-session-" + string(who)
			vid, err := tx.Insert("visitors", sqlstore.Doc{"workspaceId": ws, "sessionId": sessionID, "name": "Visitor " + string(who), "email": string(who) + "@visitor.test", "createdAt": nowMs, "firstSeenAt": nowMs, "lastSeenAt": nowMs})
			if err != nil {
				return err
			}
			tok := identity.NewSessionToken()
			if _, err := tx.Insert("widgetSessions", sqlstore.Doc{"tokenHash": access.HashToken(tok), "visitorId": vid, "workspaceId": ws, "identityVerified": false, "expiresAt": float64(now.Add(24 * time.Hour).UnixMilli()), "createdAt": nowMs}); err != nil {
				return err
			}
			fx.VisitorIDs[who], fx.VisitorSessions[who], fx.SessionTokens[who] = vid, sessionID, tok
		}
		for _, s := range seeds {
			if err := s(fx, tx); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		in.close()
		return nil, fmt.Errorf("seed: %w", err)
	}
	for who, sid := range sessions {
		tok, _, err := in.srv.Tokens.Issue(fx.UserIDs[who], sid, 24*time.Hour)
		if err != nil {
			in.close()
			return nil, err
		}
		fx.jwts[who] = tok
	}
	in.close()
	w := &World{dir: tmp, FX: fx}
	if w.readSrv, err = w.fresh(ctx, "reads"); err != nil {
		return nil, err
	}
	return w, nil
}

// fresh opens a server over a new copy of the template.
func (w *World) fresh(ctx context.Context, name string) (*instance, error) {
	dir, err := os.MkdirTemp(w.dir, name+"-")
	if err != nil {
		return nil, err
	}
	for _, f := range []string{"opencom.db", "opencom.db-wal"} {
		b, err := os.ReadFile(filepath.Join(w.dir, "template", f))
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o600); err != nil {
			return nil, err
		}
	}
	return openInstance(ctx, dir)
}

// Close stops the read server.
func (w *World) Close() {
	if w.readSrv != nil {
		w.readSrv.close()
	}
}

// Registry is the registry of the world's server.
func (w *World) Registry() *fn.Registry { return w.readSrv.srv.Registry }

// Outcome of one call.
type Outcome struct {
	Value any
	Err   *fn.Error
}

// Call runs a function as who: queries on the shared read server,
// mutations and actions on a fresh copy of the template.
func (w *World) Call(ctx context.Context, name string, who Caller, args map[string]any) (Outcome, error) {
	f := w.readSrv.srv.Registry.Lookup(name)
	if f == nil {
		return Outcome{}, fmt.Errorf("no function %s", name)
	}
	in := w.readSrv
	if f.Kind != fn.KindQuery {
		var err error
		if in, err = w.fresh(ctx, "cell"); err != nil {
			return Outcome{}, err
		}
		defer func() { in.close(); os.RemoveAll(in.dir) }()
	}
	var ident *fn.Identity
	if tok := w.FX.jwts[who]; tok != "" {
		id, err := in.srv.Tokens.VerifyToken(ctx, tok)
		if err != nil {
			return Outcome{}, fmt.Errorf("fixture token of %s does not verify: %w", who, err)
		}
		ident = id
	}
	// Round-trip the args through JSON as a client's would be.
	b, err := json.Marshal(args)
	if err != nil {
		return Outcome{}, err
	}
	var wire map[string]any
	if err := json.Unmarshal(b, &wire); err != nil {
		return Outcome{}, err
	}
	if wire == nil {
		wire = map[string]any{}
	}
	call := fn.Call{Path: name, Args: wire, Identity: ident, Caller: fn.Caller{IP: "192.0.2.10", Transport: "http"}, RequestID: -1}
	var res fn.Result
	switch f.Kind {
	case fn.KindQuery:
		res = in.srv.Engine.Query(ctx, call)
	case fn.KindMutation:
		res = in.srv.Engine.Mutation(ctx, call)
	default:
		res = in.srv.Engine.Action(ctx, call)
	}
	out := Outcome{Err: res.Err}
	if res.Err == nil && len(res.Value) > 0 {
		if err := json.Unmarshal(res.Value, &out.Value); err != nil {
			return Outcome{}, err
		}
	}
	return out, nil
}

// DenyCodes are the error codes that mean "not let through".
var DenyCodes = []string{fn.NotAuthenticated, fn.NotAuthorized, fn.PermissionDenied, fn.NotWorkspaceMember, fn.SessionExpired}

// IsEmpty is the default notion of a fail-soft (denied) result.
func IsEmpty(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case []any:
		return len(x) == 0
	case map[string]any:
		if len(x) == 0 {
			return true
		}
		if p, ok := x["page"].([]any); ok && len(p) == 0 {
			return true
		}
	}
	return false
}

// Judge says whether an outcome is consistent with the entry for who; ""
// means it is, otherwise the reason it is not.
func (e Entry) Judge(who Caller, o Outcome) string {
	allowed := slices.Contains(e.Allow, who)
	empty := IsEmpty
	if e.Empty != nil {
		empty = e.Empty
	}
	if allowed {
		if o.Err != nil {
			if slices.Contains(e.OKCodes, o.Err.Code) {
				return ""
			}
			return fmt.Sprintf("should be allowed, got %s: %s", o.Err.Code, o.Err.Message)
		}
		if e.SoftDeny && !e.AllowEmpty && empty(o.Value) {
			return fmt.Sprintf("should be allowed, got the fail-soft empty result %v", o.Value)
		}
		return ""
	}
	if o.Err != nil {
		if slices.Contains(DenyCodes, o.Err.Code) {
			return ""
		}
		return fmt.Sprintf("should be denied, got %s: %s", o.Err.Code, o.Err.Message)
	}
	if e.SoftDeny && empty(o.Value) {
		return ""
	}
	return fmt.Sprintf("should be denied, got result %.200v", fmt.Sprint(o.Value))
}
