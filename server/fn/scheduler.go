package fn

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"sync"
	"time"

	"github.com/opencom-go/opencom/sqlstore"
)

var sqlErrNoRows = sql.ErrNoRows

// scheduler runs persisted jobs (_scheduled_jobs) and crons (_crons).
// Mutation jobs run exactly once: the job row is settled in the same
// transaction as the mutation. Action jobs run at most once: they are
// marked running first, and a job found running after a restart is failed.
type scheduler struct {
	e      *Engine
	wake   chan struct{}
	stop   chan struct{}
	wg     sync.WaitGroup
	once   sync.Once
	active bool
}

func newScheduler(e *Engine) *scheduler {
	return &scheduler{e: e, wake: make(chan struct{}, 1), stop: make(chan struct{})}
}

func (e *Engine) schedule(ctx context.Context, tx *sqlstore.Tx, at time.Time, name string, args map[string]any) (string, error) {
	f := e.Registry.Lookup(name)
	if f == nil {
		return "", Errorf(InternalError, "cannot schedule unknown function %s", name)
	}
	if args == nil {
		args = map[string]any{}
	}
	b, err := json.Marshal(args)
	if err != nil {
		return "", err
	}
	id := sqlstore.NewID()
	insert := func(tx *sqlstore.Tx) error {
		_, err := tx.Exec(`INSERT INTO _scheduled_jobs(id, name, args, run_at, state, created_at) VALUES (?,?,?,?, 'pending', ?)`,
			id, f.Name, string(b), at.UnixMilli(), e.Clock().UnixMilli())
		return err
	}
	if tx != nil {
		err = insert(tx)
	} else {
		_, err = e.Store.Write(ctx, insert)
	}
	if err != nil {
		return "", err
	}
	e.sched.poke()
	return id, nil
}

func (s *scheduler) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Start runs the scheduler and crons until Stop.
func (e *Engine) Start(ctx context.Context) error {
	// Actions that were running when the process died are not retried.
	_, err := e.Store.Write(ctx, func(tx *sqlstore.Tx) error {
		_, err := tx.Exec(`UPDATE _scheduled_jobs SET state='failed', error='interrupted by restart' WHERE state='running'`)
		return err
	})
	if err != nil {
		return err
	}
	s := e.sched
	s.active = true
	s.wg.Add(1)
	go s.loop()
	return nil
}

// Stop stops the scheduler and waits for running jobs.
func (e *Engine) Stop() {
	s := e.sched
	s.once.Do(func() { close(s.stop) })
	s.wg.Wait()
}

type job struct {
	id, name, args string
	runAt          int64
}

func (s *scheduler) loop() {
	defer s.wg.Done()
	for {
		next := s.runDue()
		wait := time.Second
		if next > 0 {
			if d := time.Until(time.UnixMilli(next)); d < wait {
				wait = max(d, time.Millisecond)
			}
		}
		t := time.NewTimer(wait)
		select {
		case <-s.stop:
			t.Stop()
			return
		case <-s.wake:
		case <-t.C:
		}
		t.Stop()
	}
}

// runDue runs every due job and cron; it returns the run_at of the next
// pending job (0 if none).
func (s *scheduler) runDue() int64 {
	e := s.e
	ctx := context.Background()
	now := e.Clock().UnixMilli()
	var due []job
	var next int64
	_, err := e.Store.Read(ctx, func(tx *sqlstore.Tx) error {
		rows, err := tx.QueryRaw(`SELECT id, name, args, run_at FROM _scheduled_jobs WHERE state='pending' ORDER BY run_at LIMIT 100`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var j job
			if err := rows.Scan(&j.id, &j.name, &j.args, &j.runAt); err != nil {
				return err
			}
			if j.runAt <= now {
				due = append(due, j)
			} else if next == 0 {
				next = j.runAt
			}
		}
		return rows.Err()
	})
	if err != nil {
		e.Log.Error("scheduler: read jobs", "err", err)
		return 0
	}
	for _, j := range due {
		select {
		case <-s.stop:
			return 0
		default:
		}
		s.runJob(ctx, j)
	}
	s.runCrons(ctx)
	if len(due) == 100 {
		return now
	}
	return next
}

func (s *scheduler) runJob(ctx context.Context, j job) {
	e := s.e
	var args map[string]any
	json.Unmarshal([]byte(j.args), &args)
	f := e.Registry.Lookup(j.name)
	settle := func(tx *sqlstore.Tx, state, msg string) error {
		_, err := tx.Exec(`UPDATE _scheduled_jobs SET state=?, error=?, completed_at=? WHERE id=?`, state, nullIfEmpty(msg), e.Clock().UnixMilli(), j.id)
		return err
	}
	if f == nil {
		e.Store.Write(ctx, func(tx *sqlstore.Tx) error { return settle(tx, "failed", "function no longer exists") })
		return
	}
	call := Call{Path: j.name, Args: args, AllowInternal: true, RequestID: -1, Caller: Caller{Transport: "scheduler"}}
	switch f.Kind {
	case KindMutation:
		c := e.newCtx(ctx, f, call)
		checked, verr := f.Args.Check("args", args)
		var herr error
		_, err := e.Store.Write(ctx, func(tx *sqlstore.Tx) error {
			var state string
			if err := tx.QueryRow(`SELECT state FROM _scheduled_jobs WHERE id=?`, j.id).Scan(&state); err != nil || state != "pending" {
				return errors.New("job already settled")
			}
			if verr != nil {
				return verr
			}
			c.Tx = tx
			m, _ := checked.(map[string]any)
			_, herr = f.Handler(c, Args(m))
			if herr != nil {
				return herr
			}
			return settle(tx, "success", "")
		})
		if err != nil && err.Error() != "job already settled" {
			fe := e.failure(j.name, err)
			e.Store.Write(ctx, func(tx *sqlstore.Tx) error { return settle(tx, "failed", fe.Message) })
		}
	default:
		claimed := false
		e.Store.Write(ctx, func(tx *sqlstore.Tx) error {
			r, err := tx.Exec(`UPDATE _scheduled_jobs SET state='running' WHERE id=? AND state='pending'`, j.id)
			if err == nil {
				n, _ := r.RowsAffected()
				claimed = n == 1
			}
			return err
		})
		if !claimed {
			return
		}
		var res Result
		if f.Kind == KindAction {
			res = e.Action(ctx, call)
		} else {
			res = e.Query(ctx, call)
		}
		state, msg := "success", ""
		if res.Err != nil {
			state, msg = "failed", res.Err.Message
		}
		e.Store.Write(ctx, func(tx *sqlstore.Tx) error { return settle(tx, state, msg) })
	}
}

func (s *scheduler) runCrons(ctx context.Context) {
	e := s.e
	for _, c := range e.Registry.Crons() {
		now := e.Clock()
		var last int64
		_, err := e.Store.Read(ctx, func(tx *sqlstore.Tx) error {
			err := tx.QueryRow(`SELECT last_run FROM _crons WHERE name=?`, c.Name).Scan(&last)
			if errors.Is(err, sql.ErrNoRows) {
				return nil
			}
			return err
		})
		if err != nil || now.Sub(time.UnixMilli(last)) < c.Every {
			continue
		}
		// Claim the slot first so a slow cron is not started twice.
		_, err = e.Store.Write(ctx, func(tx *sqlstore.Tx) error {
			_, err := tx.Exec(`INSERT INTO _crons(name, last_run) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET last_run=excluded.last_run`, c.Name, now.UnixMilli())
			return err
		})
		if err != nil {
			continue
		}
		call := Call{Path: c.Function, Args: c.Args, AllowInternal: true, RequestID: -1, Caller: Caller{Transport: "scheduler"}}
		res := e.Run(ctx, call)
		if res.Err != nil {
			e.Log.Warn("cron failed", "cron", c.Name, "err", res.Err.Message)
		}
	}
}

func nullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}
