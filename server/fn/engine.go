package fn

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"time"

	"github.com/opencom-go/opencom/sqlstore"
)

// TokenVerifier turns a bearer token into an identity. The identity
// module installs the real one.
type TokenVerifier interface {
	VerifyToken(ctx context.Context, token string) (*Identity, error)
}

// Engine executes functions against the store with Convex's semantics.
type Engine struct {
	Store    *sqlstore.Store
	Registry *Registry
	Log      *slog.Logger
	Clock    func() time.Time
	Verifier TokenVerifier

	sched *scheduler
}

// NewEngine wires an engine. Call Start to run the scheduler.
func NewEngine(store *sqlstore.Store, reg *Registry, log *slog.Logger) *Engine {
	if log == nil {
		log = slog.Default()
	}
	e := &Engine{Store: store, Registry: reg, Log: log, Clock: time.Now}
	e.sched = newScheduler(e)
	return e
}

// Call is one invocation.
type Call struct {
	Path     string
	Args     map[string]any
	Identity *Identity
	Caller   Caller
	// Reads collects a query's read set when non-nil.
	Reads *sqlstore.ReadSet
	// Journal is the query's journal from its previous run.
	Journal string
	// SessionID and RequestID make a mutation idempotent (RequestID < 0: not).
	SessionID     string
	RequestID     int64
	AllowInternal bool
}

// Result is the outcome of a call. Err is a function error (reported to
// the caller, never fatal to the connection).
type Result struct {
	Value    json.RawMessage
	Go       any
	TS       int64
	Err      *Error
	Journal  string
	LogLines []string
	// Replayed is true when a mutation was answered from the idempotency log.
	Replayed bool
}

func requestID() string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// failure converts any error to what the client sees, logging internal ones.
func (e *Engine) failure(f string, err error) *Error {
	if fe, ok := AsError(err); ok {
		return fe
	}
	rid := requestID()
	var pe *sqlstore.PanicError
	if errors.As(err, &pe) {
		e.Log.Error("function panicked", "function", f, "request", rid, "panic", fmt.Sprint(pe.Value), "stack", string(pe.Stack))
	} else {
		e.Log.Error("function failed", "function", f, "request", rid, "err", err)
	}
	return &Error{Code: InternalError, Message: fmt.Sprintf("[Request ID: %s] Server Error", rid)}
}

func (e *Engine) prepare(call Call, kind Kind) (*Func, Args, *Error) {
	f, ferr := e.Registry.resolve(call.Path, kind, call.AllowInternal)
	if ferr != nil {
		return nil, nil, ferr
	}
	raw := call.Args
	if raw == nil {
		raw = map[string]any{}
	}
	checked, err := f.Args.Check("args", raw)
	if err != nil {
		if fe, ok := AsError(err); ok {
			return nil, nil, fe
		}
		return nil, nil, ErrInvalid("%v", err)
	}
	m, _ := checked.(map[string]any)
	return f, Args(m), nil
}

func (e *Engine) newCtx(ctx context.Context, f *Func, call Call) *Ctx {
	return &Ctx{Context: ctx, Func: f, Identity: call.Identity, Caller: call.Caller, Engine: e, Now: e.Clock(), journalIn: call.Journal}
}

func (e *Engine) finish(c *Ctx, f *Func, v any, err error, ts int64) Result {
	res := Result{TS: ts, LogLines: c.logLines, Journal: c.journalOut}
	if res.LogLines == nil {
		res.LogLines = []string{}
	}
	if err != nil {
		res.Err = e.failure(f.Name, err)
		return res
	}
	b, jerr := EncodeValue(v)
	if jerr != nil {
		res.Err = e.failure(f.Name, fmt.Errorf("result not serialisable: %w", jerr))
		return res
	}
	res.Value, res.Go = b, v
	return res
}

// Query runs a query on one consistent snapshot.
func (e *Engine) Query(ctx context.Context, call Call) Result {
	f, args, ferr := e.prepare(call, KindQuery)
	if ferr != nil {
		return Result{Err: ferr, TS: e.Store.LastTS(), LogLines: []string{}}
	}
	c := e.newCtx(ctx, f, call)
	var v any
	ts, err := e.Store.Read(ctx, func(tx *sqlstore.Tx) error {
		tx.Reads = call.Reads
		c.Tx = tx
		var herr error
		v, herr = f.Handler(c, args)
		return herr
	})
	return e.finish(c, f, v, err, ts)
}

// Mutation runs a mutation in one write transaction: all or nothing. With
// a SessionID and RequestID >= 0 it runs at most once; a repeat is
// answered with the first outcome and its original commit timestamp.
func (e *Engine) Mutation(ctx context.Context, call Call) Result {
	f, args, ferr := e.prepare(call, KindMutation)
	if ferr != nil {
		return Result{Err: ferr, LogLines: []string{}}
	}
	idem := call.SessionID != "" && call.RequestID >= 0 && !f.SecretResult
	c := e.newCtx(ctx, f, call)
	var v any
	var replay *Result
	ts, err := e.Store.Write(ctx, func(tx *sqlstore.Tx) error {
		c.Tx = tx
		c.logLines = nil
		if idem {
			may, err := marksFor(e.Store).mayBeLogged(tx, call.SessionID, call.RequestID)
			if err != nil {
				return err
			}
			if may {
				r, err := lookupOutcome(tx, call.SessionID, call.RequestID)
				if err != nil {
					return err
				}
				if r != nil {
					replay = r
					return nil
				}
			}
		}
		var herr error
		v, herr = f.Handler(c, args)
		if herr != nil {
			return herr
		}
		if idem {
			b, err := EncodeValue(v)
			if err != nil {
				return err
			}
			return storeOutcome(tx, call.SessionID, call.RequestID, b, "", tx.TS(), c.NowMs())
		}
		return nil
	})
	if replay != nil && err == nil {
		return *replay
	}
	res := e.finish(c, f, v, err, ts)
	if res.Err != nil && idem {
		// Remember the failure too, so a replay after a reconnect gets the
		// same answer instead of running the mutation a second time.
		data, _ := json.Marshal(res.Err.Data())
		_, _ = e.Store.Write(context.WithoutCancel(ctx), func(tx *sqlstore.Tx) error {
			return storeOutcome(tx, call.SessionID, call.RequestID, nil, string(data), 0, c.NowMs())
		})
	}
	return res
}

// Action runs an action outside any transaction.
func (e *Engine) Action(ctx context.Context, call Call) (res Result) {
	f, args, ferr := e.prepare(call, KindAction)
	if ferr != nil {
		return Result{Err: ferr, LogLines: []string{}}
	}
	c := e.newCtx(ctx, f, call)
	var v any
	var err error
	func() {
		defer func() {
			if p := recover(); p != nil {
				err = &sqlstore.PanicError{Value: p, Stack: debug.Stack()}
			}
		}()
		v, err = f.Handler(c, args)
	}()
	return e.finish(c, f, v, err, e.Store.LastTS())
}

// Run dispatches on the function's own kind (for /api/function).
func (e *Engine) Run(ctx context.Context, call Call) Result {
	f := e.Registry.Lookup(call.Path)
	if f == nil || (f.Internal && !call.AllowInternal) {
		_, ferr := e.Registry.resolve(call.Path, 0, call.AllowInternal)
		return Result{Err: ferr, LogLines: []string{}}
	}
	switch f.Kind {
	case KindQuery:
		return e.Query(ctx, call)
	case KindMutation:
		return e.Mutation(ctx, call)
	}
	return e.Action(ctx, call)
}

func lookupOutcome(tx *sqlstore.Tx, session string, req int64) (*Result, error) {
	var result, errData *string
	var ts int64
	err := tx.QueryRow(`SELECT result, error, ts FROM _mutation_log WHERE session_id=? AND request_id=?`, session, req).Scan(&result, &errData, &ts)
	if err != nil {
		if errors.Is(err, sqlErrNoRows) {
			return nil, nil
		}
		return nil, err
	}
	r := &Result{TS: ts, Replayed: true, LogLines: []string{}}
	if errData != nil && *errData != "" {
		var d map[string]any
		json.Unmarshal([]byte(*errData), &d)
		code, _ := d["code"].(string)
		msg, _ := d["message"].(string)
		r.Err = &Error{Code: code, Message: msg}
		for k, v := range d {
			if k != "code" && k != "message" {
				if r.Err.Extra == nil {
					r.Err.Extra = map[string]any{}
				}
				r.Err.Extra[k] = v
			}
		}
		return r, nil
	}
	if result != nil {
		r.Value = json.RawMessage(*result)
		json.Unmarshal(r.Value, &r.Go)
	}
	return r, nil
}

func storeOutcome(tx *sqlstore.Tx, session string, req int64, result []byte, errData string, ts int64, nowMs float64) error {
	var res any
	if result != nil {
		res = string(result)
	}
	var ed any
	if errData != "" {
		ed = errData
	}
	// Raise the mark first: should the insert fail after all, a mark
	// that is too high only costs a lookup.
	marksFor(tx.Store()).raise(session, req)
	_, err := tx.Exec(`INSERT OR REPLACE INTO _mutation_log(session_id, request_id, result, error, ts, created_at) VALUES (?,?,?,?,?,?)`,
		session, req, res, ed, ts, int64(nowMs))
	return err
}

// MutationLogRetention is how long mutation outcomes are kept for replay
// (Convex keeps two weeks).
const MutationLogRetention = 14 * 24 * time.Hour

// PruneMutationLog deletes outcomes older than the retention window as of now.
func PruneMutationLog(tx *sqlstore.Tx, now time.Time) (int64, error) {
	r, err := tx.Exec(`DELETE FROM _mutation_log WHERE created_at < ?`, now.Add(-MutationLogRetention).UnixMilli())
	if err != nil {
		return 0, err
	}
	return r.RowsAffected()
}

// QueryBatch runs several queries on one snapshot, so their results are
// mutually consistent (a sync Transition needs that). Each call's read set
// is collected into its Reads. It returns the snapshot timestamp.
func (e *Engine) QueryBatch(ctx context.Context, calls []Call) ([]Result, int64) {
	out := make([]Result, len(calls))
	ts, err := e.Store.Read(ctx, func(tx *sqlstore.Tx) error {
		for i, call := range calls {
			f, args, ferr := e.prepare(call, KindQuery)
			if ferr != nil {
				out[i] = Result{Err: ferr, LogLines: []string{}}
				continue
			}
			c := e.newCtx(ctx, f, call)
			tx.Reads = call.Reads
			c.Tx = tx
			var v any
			var herr error
			func() {
				defer func() {
					if p := recover(); p != nil {
						herr = &sqlstore.PanicError{Value: p, Stack: debug.Stack()}
					}
				}()
				v, herr = f.Handler(c, args)
			}()
			out[i] = e.finish(c, f, v, herr, 0)
		}
		tx.Reads = nil
		return nil
	})
	if err != nil {
		fe := e.failure("(snapshot)", err)
		for i := range out {
			out[i] = Result{Err: fe, LogLines: []string{}}
		}
	}
	for i := range out {
		out[i].TS = ts
	}
	return out, ts
}
