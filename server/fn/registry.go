package fn

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// Kind is what a function is, as Convex defines it.
type Kind int

const (
	KindQuery Kind = iota + 1
	KindMutation
	KindAction
)

func (k Kind) String() string {
	switch k {
	case KindQuery:
		return "Query"
	case KindMutation:
		return "Mutation"
	case KindAction:
		return "Action"
	}
	return "?"
}

// Handler is a function body. It returns a JSON-serialisable value.
type Handler func(c *Ctx, args Args) (any, error)

// Func is one registered function.
type Func struct {
	Name     string // canonical "module:function"
	Kind     Kind
	Internal bool // callable only from the server (scheduler, actions)
	Args     Validator
	Handler  Handler
	// Access documents who may call it ("public", "visitor", "member",
	// "permission:conversations.read", ...). The access-matrix test checks
	// that every public function declares one.
	Access string
	// SecretResult marks a mutation whose result is a secret (an upload
	// URL carrying a token) and that is harmless to run twice: its outcome
	// is not kept in _mutation_log, so the secret is never stored in clear,
	// and a request the client re-sends after a reconnect runs again.
	SecretResult bool
}

// Module returns the part before ':'.
func (f *Func) Module() string { m, _, _ := strings.Cut(f.Name, ":"); return m }

// Cron is a periodic internal function.
type Cron struct {
	Name     string
	Every    time.Duration
	Function string
	Args     map[string]any
}

// Registry holds every function by canonical name.
type Registry struct {
	funcs map[string]*Func
	crons []Cron
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{funcs: map[string]*Func{}} }

// CanonicalPath turns the path forms clients send ("mod.js:fn", "mod",
// "dir/mod:fn") into "mod:fn" / "mod:default" / "dir/mod:fn".
func CanonicalPath(p string) string {
	p = strings.TrimPrefix(p, "/")
	mod, name, ok := strings.Cut(p, ":")
	if !ok {
		name = "default"
	}
	mod = strings.TrimSuffix(mod, ".js")
	return mod + ":" + name
}

// Register adds f; it panics on a duplicate name (a programming error
// found at start-up).
func (r *Registry) Register(f *Func) *Func {
	f.Name = CanonicalPath(f.Name)
	if _, dup := r.funcs[f.Name]; dup {
		panic("fn: duplicate function " + f.Name)
	}
	if f.Args == nil {
		f.Args = V.Object(Fields{})
	}
	r.funcs[f.Name] = f
	return f
}

func (r *Registry) add(kind Kind, internal bool, name, access string, args Fields, h Handler) *Func {
	var v Validator
	if args != nil {
		v = V.Object(args)
	}
	return r.Register(&Func{Name: name, Kind: kind, Internal: internal, Args: v, Handler: h, Access: access})
}

// Query registers a public query. access documents who may call it.
func (r *Registry) Query(name, access string, args Fields, h Handler) *Func {
	return r.add(KindQuery, false, name, access, args, h)
}

// Mutation registers a public mutation.
func (r *Registry) Mutation(name, access string, args Fields, h Handler) *Func {
	return r.add(KindMutation, false, name, access, args, h)
}

// Action registers a public action.
func (r *Registry) Action(name, access string, args Fields, h Handler) *Func {
	return r.add(KindAction, false, name, access, args, h)
}

// InternalQuery registers a server-only query.
func (r *Registry) InternalQuery(name string, args Fields, h Handler) *Func {
	return r.add(KindQuery, true, name, "internal", args, h)
}

// InternalMutation registers a server-only mutation.
func (r *Registry) InternalMutation(name string, args Fields, h Handler) *Func {
	return r.add(KindMutation, true, name, "internal", args, h)
}

// InternalAction registers a server-only action.
func (r *Registry) InternalAction(name string, args Fields, h Handler) *Func {
	return r.add(KindAction, true, name, "internal", args, h)
}

// AddCron runs the internal function every interval.
func (r *Registry) AddCron(c Cron) {
	if c.Function != "" {
		c.Function = CanonicalPath(c.Function)
	}
	r.crons = append(r.crons, c)
}

// Crons lists the periodic jobs.
func (r *Registry) Crons() []Cron { return append([]Cron(nil), r.crons...) }

// Lookup finds a function by any accepted path form.
func (r *Registry) Lookup(path string) *Func { return r.funcs[CanonicalPath(path)] }

// All lists every function, sorted by name.
func (r *Registry) All() []*Func {
	out := make([]*Func, 0, len(r.funcs))
	for _, f := range r.funcs {
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// resolve finds a client-callable function of the wanted kind.
func (r *Registry) resolve(path string, want Kind, allowInternal bool) (*Func, *Error) {
	f := r.Lookup(path)
	if f == nil || (f.Internal && !allowInternal) {
		return nil, Errorf(NotFound, "Could not find public function for '%s'. Did you forget to run `npx convex dev` or `npx convex deploy`?", CanonicalPath(path))
	}
	if want != 0 && f.Kind != want {
		return nil, Errorf(InvalidInput, "Trying to execute %s as %s, but it is defined as %s.", f.Name, want, f.Kind)
	}
	return f, nil
}

// Args are a function's validated arguments.
type Args map[string]any

// Str returns a string argument or "".
func (a Args) Str(k string) string { s, _ := a[k].(string); return s }

// Num returns a numeric argument or 0.
func (a Args) Num(k string) float64 { f, _ := a[k].(float64); return f }

// Bool returns a boolean argument or false.
func (a Args) Bool(k string) bool { b, _ := a[k].(bool); return b }

// Has reports whether an argument was given.
func (a Args) Has(k string) bool { v, ok := a[k]; return ok && v != nil }

// Map returns an object argument or nil.
func (a Args) Map(k string) map[string]any { m, _ := a[k].(map[string]any); return m }

// List returns an array argument or nil.
func (a Args) List(k string) []any { l, _ := a[k].([]any); return l }

// Strs returns an array-of-strings argument.
func (a Args) Strs(k string) []string {
	var out []string
	for _, v := range a.List(k) {
		if s, ok := v.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// Page returns the paginationOpts argument (under key k).
func (a Args) Page(k string) PageArgs {
	m := a.Map(k)
	p := PageArgs{}
	if m == nil {
		return p
	}
	p.NumItems = int(asFloat(m["numItems"]))
	p.Cursor, _ = m["cursor"].(string)
	p.EndCursor, _ = m["endCursor"].(string)
	return p
}

// PageArgs are the pagination options a client sent.
type PageArgs struct {
	NumItems  int
	Cursor    string
	EndCursor string
}

func asFloat(v any) float64 {
	switch x := v.(type) {
	case float64:
		return x
	case int64:
		return float64(x)
	case int:
		return float64(x)
	}
	return 0
}

// String renders a function for logs.
func (f *Func) String() string { return fmt.Sprintf("%s %s", f.Kind, f.Name) }
