package fn

import (
	"context"
	"time"

	"github.com/opencom-go/opencom/sqlstore"
)

// Identity is who an agent token says the caller is.
type Identity struct {
	Subject         string // user id
	SessionID       string // auth session id
	Issuer          string
	TokenIdentifier string
	ExpiresAt       time.Time
}

// Caller describes the transport a call came in on.
type Caller struct {
	IP        string
	Origin    string
	UserAgent string
	// Transport is "ws", "http" or "scheduler".
	Transport string
}

// Ctx is what a function body receives.
type Ctx struct {
	Context  context.Context
	Func     *Func
	Identity *Identity // nil when the caller sent no (valid) token
	Caller   Caller
	Engine   *Engine
	// Tx is the transaction of a query or mutation; nil in actions.
	Tx *sqlstore.Tx
	// Now is the call's clock reading (fixed for the whole call, so a
	// query stays deterministic).
	Now time.Time

	journalIn  string
	journalOut string
	logLines   []string
}

// DB is the transaction (queries and mutations only).
func (c *Ctx) DB() *sqlstore.Tx { return c.Tx }

// NowMs is Now in Convex's unit: float64 milliseconds.
func (c *Ctx) NowMs() float64 { return float64(c.Now.UnixMilli()) }

// UserID is the authenticated user's id, or "".
func (c *Ctx) UserID() string {
	if c.Identity == nil {
		return ""
	}
	return c.Identity.Subject
}

// Log adds a console line that reaches the client's console like Convex's.
func (c *Ctx) Log(level, msg string) {
	c.logLines = append(c.logLines, "["+level+"] "+msg)
}

// Paginate runs a paginated read the way Convex subscriptions need it: the
// first run fixes the page's end (kept in the query's journal), later runs
// of the same subscription return everything up to that end, so pages stay
// gapless while rows are inserted.
func (c *Ctx) Paginate(q *sqlstore.Query, p PageArgs) (sqlstore.Page, error) {
	opts := sqlstore.PageOpts{NumItems: p.NumItems, Cursor: p.Cursor, EndCursor: p.EndCursor}
	if opts.EndCursor == "" && c.journalIn != "" {
		opts.EndCursor = c.journalIn
	}
	if opts.EndCursor == "" && opts.NumItems <= 0 {
		return sqlstore.Page{}, ErrInvalid("paginationOpts.numItems must be a positive number")
	}
	if opts.NumItems > 1000 {
		opts.NumItems = 1000
	}
	pg, err := q.Paginate(opts)
	if err != nil {
		return pg, err
	}
	if !pg.IsDone || opts.EndCursor != "" {
		c.journalOut = pg.ContinueCursor
	}
	return pg, nil
}

// RunAfter schedules an internal or public function to run after delay.
// Inside a mutation the job is written in the same transaction, so it is
// scheduled if and only if the mutation commits.
func (c *Ctx) RunAfter(delay time.Duration, name string, args map[string]any) (string, error) {
	return c.RunAt(c.Now.Add(delay), name, args)
}

// RunAt schedules a function at a time.
func (c *Ctx) RunAt(at time.Time, name string, args map[string]any) (string, error) {
	if c.Tx != nil && !c.Tx.Writable() {
		return "", Errorf(InternalError, "queries cannot schedule functions")
	}
	return c.Engine.schedule(c.Context, c.Tx, at, name, args)
}

// RunQuery calls a query from an action.
func (c *Ctx) RunQuery(name string, args map[string]any) (any, error) {
	return c.runNested(KindQuery, name, args)
}

// RunMutation calls a mutation (in its own transaction) from an action.
func (c *Ctx) RunMutation(name string, args map[string]any) (any, error) {
	return c.runNested(KindMutation, name, args)
}

// RunAction calls another action from an action.
func (c *Ctx) RunAction(name string, args map[string]any) (any, error) {
	return c.runNested(KindAction, name, args)
}

func (c *Ctx) runNested(kind Kind, name string, args map[string]any) (any, error) {
	if c.Tx != nil {
		return nil, Errorf(InternalError, "only actions can call other functions")
	}
	call := Call{Path: name, Args: args, Identity: c.Identity, Caller: c.Caller, AllowInternal: true, RequestID: -1}
	var res Result
	switch kind {
	case KindQuery:
		res = c.Engine.Query(c.Context, call)
	case KindMutation:
		res = c.Engine.Mutation(c.Context, call)
	default:
		res = c.Engine.Action(c.Context, call)
	}
	if res.Err != nil {
		return nil, res.Err
	}
	return res.Go, nil
}
