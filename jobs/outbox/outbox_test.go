package outbox_test

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	_ "modernc.org/sqlite" // the "sqlite" database/sql driver

	"github.com/gantry-dev/gantry/crud"
	"github.com/gantry-dev/gantry/internal/testenv"
	"github.com/gantry-dev/gantry/jobs"
	"github.com/gantry-dev/gantry/jobs/outbox"
)

// note is the job most tests enqueue; it has no kind defaults.
type note struct {
	N    int    `json:"n"`
	Text string `json:"text"`
}

func (note) Kind() string { return "note" }

// welcome has kind defaults, resolved by EnqueueTx as Enqueue would.
type welcome struct {
	To string `json:"to"`
}

func (welcome) Kind() string { return "welcome" }
func (welcome) JobDefaults() []jobs.Option {
	return []jobs.Option{jobs.Queue("mail"), jobs.MaxRetry(3)}
}

var discard = slog.New(slog.DiscardHandler)

// env is one test's outbox database, job backend, client and inspector.
type env struct {
	t    *testing.T
	db   *sqlx.DB
	pg   bool
	b    jobs.Backend
	c    *jobs.Client
	insp *jobs.Inspector
}

type dbKind struct {
	name string
	open func(*testing.T) *sqlx.DB
}

type backendKind struct {
	name string
	new  func(*testing.T) jobs.Backend
}

var (
	databases = []dbKind{{"postgres", openPostgres}, {"sqlite", openSQLite}}
	backends  = []backendKind{{"redis", newRedisBackend}, {"memory", func(*testing.T) jobs.Backend { return jobs.NewMemoryBackend() }}}
)

func openPostgres(t *testing.T) *sqlx.DB {
	t.Helper()
	db := testenv.Postgres(t) // a schema of the test's own, dropped at the end
	migrate(t, db, crud.Postgres)
	return db
}

func openSQLite(t *testing.T) *sqlx.DB {
	t.Helper()
	db, err := sqlx.Open("sqlite", crud.SQLiteDSN(filepath.Join(t.TempDir(), "outbox.db")))
	if err != nil {
		t.Fatalf("open sqlite: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	migrate(t, db, crud.SQLite)
	return db
}

func migrate(t *testing.T, db *sqlx.DB, d crud.Dialect) {
	t.Helper()
	fsys, dir, err := outbox.Migrations(string(d))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := crud.Migrate(t.Context(), db.DB, d, fsys, dir, crud.VersionTable(outbox.VersionTable)); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
}

func newRedisBackend(t *testing.T) jobs.Backend {
	t.Helper()
	rdb, prefix := testenv.Redis(t)
	b, err := jobs.NewRedisBackend(rdb, jobs.RedisConfig{Prefix: prefix})
	if err != nil {
		t.Fatalf("NewRedisBackend: %v", err)
	}
	return b
}

func newEnv(t *testing.T, d dbKind, bk backendKind) *env {
	t.Helper()
	b := bk.new(t)
	c, err := jobs.NewClient(b, jobs.ClientConfig{Routes: map[string]string{"note": "notes"}})
	if err != nil {
		t.Fatal(err)
	}
	return &env{t: t, db: d.open(t), pg: d.name == "postgres", b: b, c: c, insp: jobs.NewInspector(b)}
}

// each runs fn on every database and backend, in parallel.
func each(t *testing.T, fn func(t *testing.T, e *env)) {
	for _, d := range databases {
		for _, bk := range backends {
			t.Run(d.name+"/"+bk.name, func(t *testing.T) {
				t.Parallel()
				fn(t, newEnv(t, d, bk))
			})
		}
	}
}

// tx runs fn in a transaction, committed when fn returns nil.
func (e *env) tx(fn func(ctx context.Context, tx *sqlx.Tx) error) error {
	return crud.InTx(e.t.Context(), e.db, fn)
}

// enqueue commits one EnqueueTx and returns the id.
func (e *env) enqueue(args jobs.Args, opts ...jobs.Option) string {
	e.t.Helper()
	var id string
	err := e.tx(func(ctx context.Context, tx *sqlx.Tx) (err error) {
		id, err = outbox.EnqueueTx(ctx, tx, args, opts...)
		return err
	})
	if err != nil {
		e.t.Fatalf("EnqueueTx: %v", err)
	}
	return id
}

func (e *env) rows() int {
	e.t.Helper()
	var n int
	if err := e.db.GetContext(e.t.Context(), &n, "SELECT count(*) FROM gantry_outbox"); err != nil {
		e.t.Fatalf("count outbox: %v", err)
	}
	return n
}

func (e *env) relay(cfg outbox.RelayConfig) *outbox.Relay {
	e.t.Helper()
	cfg.DB, cfg.Client = e.db, e.c
	if cfg.Logger == nil {
		cfg.Logger = discard
	}
	r, err := outbox.NewRelay(cfg)
	if err != nil {
		e.t.Fatalf("NewRelay: %v", err)
	}
	return r
}

// run runs r until the test ends.
func (e *env) run(r *outbox.Relay) {
	e.t.Helper()
	ctx, cancel := context.WithCancel(context.WithoutCancel(e.t.Context()))
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	e.t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				e.t.Errorf("Run = %v; want nil", err)
			}
		case <-time.After(40 * time.Second):
			e.t.Errorf("Run did not return 40 s after cancel")
		}
	})
}

// pass runs one relay pass and wants it to move n rows.
func (e *env) pass(r *outbox.Relay, n int) {
	e.t.Helper()
	got, err := outbox.Pass(e.t.Context(), r)
	if err != nil || got != n {
		e.t.Fatalf("pass = %d, %v; want %d, nil", got, err, n)
	}
}

// work runs a runner on queues until the test ends; every note and
// welcome it runs is recorded.
type ran struct {
	mu   sync.Mutex
	runs map[string]int // by job id
	args map[string]any
	at   map[string]time.Time
}

func (e *env) work(queues ...string) *ran {
	e.t.Helper()
	rec := &ran{runs: map[string]int{}, args: map[string]any{}, at: map[string]time.Time{}}
	note1 := func(id string, a any) {
		rec.mu.Lock()
		defer rec.mu.Unlock()
		rec.runs[id]++
		rec.args[id] = a
		rec.at[id] = time.Now()
	}
	ws := jobs.NewWorkers()
	jobs.AddWorker(ws, jobs.WorkerFunc[note](func(_ context.Context, j *jobs.Job[note]) error { note1(j.ID, j.Args); return nil }))
	jobs.AddWorker(ws, jobs.WorkerFunc[welcome](func(_ context.Context, j *jobs.Job[welcome]) error { note1(j.ID, j.Args); return nil }))
	qs := map[string]jobs.QueueConfig{}
	for _, q := range queues {
		qs[q] = jobs.QueueConfig{Priority: 1}
	}
	r, err := jobs.NewRunner(e.b, jobs.RunnerConfig{Workers: ws, Queues: qs, Logger: discard, MaintenanceInterval: 20 * time.Millisecond})
	if err != nil {
		e.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.WithoutCancel(e.t.Context()))
	done := make(chan struct{})
	go func() { _ = r.Run(ctx); close(done) }()
	e.t.Cleanup(func() { cancel(); <-done })
	return rec
}

func (r *ran) count(id string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.runs[id]
}

func waitFor(t *testing.T, what string, within time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("no %s within %v", what, within)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// A rolled-back transaction leaves no row, and no job ever appears.
func TestRollbackNoJob(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		var ids []string
		errBoom := errors.New("boom")
		err := e.tx(func(ctx context.Context, tx *sqlx.Tx) error {
			id, err := outbox.EnqueueTx(ctx, tx, note{N: 1})
			ids = append(ids, id)
			if err != nil {
				return err
			}
			return errBoom
		})
		if !errors.Is(err, errBoom) {
			t.Fatalf("tx = %v; want boom", err)
		}
		// A failed statement after the enqueue rolls it back too.
		err = e.tx(func(ctx context.Context, tx *sqlx.Tx) error {
			id, err := outbox.EnqueueTx(ctx, tx, note{N: 2})
			ids = append(ids, id)
			if err != nil {
				return err
			}
			_, err = tx.ExecContext(ctx, "INSERT INTO no_such_table VALUES (1)")
			return err
		})
		if err == nil {
			t.Fatal("tx with a failing insert committed")
		}
		r := e.relay(outbox.RelayConfig{PollInterval: 10 * time.Millisecond})
		e.pass(r, 0)
		e.run(r)
		time.Sleep(200 * time.Millisecond)
		if n := e.rows(); n != 0 {
			t.Errorf("outbox rows = %d; want 0", n)
		}
		for _, id := range ids {
			if info, err := e.insp.Job(t.Context(), id); !errors.Is(err, jobs.ErrNotFound) {
				t.Errorf("Job(%s) = %+v, %v; want ErrNotFound", id, info, err)
			}
		}
		s, err := e.insp.Sizes(t.Context(), "notes")
		if err != nil || s != (jobs.QueueSizes{Queue: "notes"}) {
			t.Errorf("Sizes(notes) = %+v, %v; want empty", s, err)
		}
	})
}

// A committed enqueue becomes a job with the options resolved at EnqueueTx
// (queue, max retry, owner, absolute run time, kind defaults; the client's
// routes and defaults for what was left unset), and runs once with its args.
func TestCommitRunsJob(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		at := time.Now().Add(400 * time.Millisecond)
		before := time.Now()
		id1 := e.enqueue(note{N: 1, Text: "héllo \"x\""}, jobs.Queue("mail"), jobs.MaxRetry(2), jobs.Owner("user-7"), jobs.ProcessAt(at))
		id2 := e.enqueue(note{N: 2}, jobs.Delay(300*time.Millisecond), jobs.Timeout(5*time.Second))
		after := time.Now()
		id3 := e.enqueue(welcome{To: "ann@example.com"}, jobs.Owner("user-8"))
		id4 := e.enqueue(welcome{To: "bob@example.com"}, jobs.MaxRetry(0), jobs.JobID("welcome-bob"))
		if id4 != "welcome-bob" {
			t.Errorf("EnqueueTx(JobID) = %q; want welcome-bob", id4)
		}
		e.run(e.relay(outbox.RelayConfig{PollInterval: 20 * time.Millisecond}))
		waitFor(t, "empty outbox", 5*time.Second, func() bool { return e.rows() == 0 })

		type want struct {
			id, queue, owner string
			maxRetry         int
			state            jobs.State
		}
		for _, w := range []want{
			{id1, "mail", "user-7", 2, jobs.StateScheduled},
			{id2, "notes", "", 25, jobs.StateScheduled}, // routed by the client, its default max retry
			{id3, "mail", "user-8", 3, jobs.StatePending},
			{id4, "mail", "", 0, jobs.StatePending},
		} {
			info, err := e.insp.Job(t.Context(), w.id)
			if err != nil || info.Queue != w.queue || info.Owner != w.owner || info.MaxRetry != w.maxRetry || info.State != w.state {
				t.Errorf("Job(%s) = %+v, %v; want queue %s, owner %q, max retry %d, %s", w.id, info, err, w.queue, w.owner, w.maxRetry, w.state)
			}
		}
		if info, err := e.insp.Job(t.Context(), id1); err == nil && info.ProcessAt.UnixMilli() != at.UnixMilli() {
			t.Errorf("Job(%s).ProcessAt = %v; want %v", id1, info.ProcessAt, at)
		}
		if info, err := e.insp.Job(t.Context(), id2); err == nil &&
			(info.ProcessAt.Before(before.Add(300*time.Millisecond).Truncate(time.Millisecond)) || info.ProcessAt.After(after.Add(300*time.Millisecond))) {
			t.Errorf("Job(%s).ProcessAt = %v; want EnqueueTx's time + 300ms, in [%v, %v]", id2, info.ProcessAt, before.Add(300*time.Millisecond), after.Add(300*time.Millisecond))
		}

		rec := e.work("mail", "notes")
		waitFor(t, "four jobs run", 10*time.Second, func() bool {
			return rec.count(id1) == 1 && rec.count(id2) == 1 && rec.count(id3) == 1 && rec.count(id4) == 1
		})
		time.Sleep(100 * time.Millisecond)
		rec.mu.Lock()
		defer rec.mu.Unlock()
		if len(rec.runs) != 4 {
			t.Errorf("runs = %v; want each of 4 jobs once", rec.runs)
		}
		if got := rec.args[id1]; got != (note{N: 1, Text: "héllo \"x\""}) {
			t.Errorf("args of %s = %+v", id1, got)
		}
		if got := rec.args[id3]; got != (welcome{To: "ann@example.com"}) {
			t.Errorf("args of %s = %+v", id3, got)
		}
		if rec.at[id1].Before(at.Truncate(time.Millisecond)) { // times are stored in milliseconds
			t.Errorf("job %s ran at %v, before its process_at %v", id1, rec.at[id1], at)
		}
	})
}

var errCrash = errors.New("crash between enqueue and delete")

// A relay that dies after enqueueing and before deleting leaves the row;
// the next pass finds the job already there (JobID), deletes the row and
// adds no second job.
func TestCrashBetweenEnqueueAndDelete(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		id := e.enqueue(note{N: 7})
		r := e.relay(outbox.RelayConfig{})
		var crashed atomic.Bool
		outbox.SetFault(r, func() error {
			if crashed.CompareAndSwap(false, true) {
				return errCrash
			}
			return nil
		})
		if n, err := outbox.Pass(t.Context(), r); !errors.Is(err, errCrash) || n != 0 {
			t.Fatalf("first pass = %d, %v; want the crash", n, err)
		}
		if info, err := e.insp.Job(t.Context(), id); err != nil || info.State != jobs.StatePending {
			t.Fatalf("Job after the crash = %+v, %v; want pending", info, err)
		}
		if n := e.rows(); n != 1 {
			t.Fatalf("outbox rows after the crash = %d; want 1", n)
		}
		e.pass(r, 1)
		if n, d := e.rows(), outbox.Duplicates(r); n != 0 || d != 1 {
			t.Errorf("after the next pass: rows %d, duplicates %d; want 0, 1", n, d)
		}
		if s, err := e.insp.Sizes(t.Context(), "notes"); err != nil || s.Pending != 1 {
			t.Errorf("Sizes(notes) = %+v, %v; want 1 pending", s, err)
		}
		rec := e.work("notes")
		waitFor(t, "the job to run", 5*time.Second, func() bool { return rec.count(id) == 1 })
		time.Sleep(100 * time.Millisecond)
		if n := rec.count(id); n != 1 {
			t.Errorf("job ran %d times; want 1", n)
		}
	})
}

// Burst: 10 transactions of 100 jobs commit at once while 3 relays run:
// 1,000 jobs, each relayed exactly once, and the outbox ends empty.
func TestBurstThreeRelays(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		const txs, per = 10, 100
		var mu sync.Mutex
		seen := map[string]int{}
		onRelayed := func(ids []string, _ time.Time) {
			mu.Lock()
			defer mu.Unlock()
			for _, id := range ids {
				seen[id]++
			}
		}
		relays := make([]*outbox.Relay, 3)
		for i := range relays {
			relays[i] = e.relay(outbox.RelayConfig{Batch: 50, PollInterval: 20 * time.Millisecond, OnRelayed: onRelayed})
		}
		start := make(chan struct{})
		var wg sync.WaitGroup
		var ids sync.Map
		for i := range txs {
			wg.Go(func() {
				<-start
				args := make([]jobs.Args, per)
				for j := range args {
					args[j] = note{N: i*per + j}
				}
				err := e.tx(func(ctx context.Context, tx *sqlx.Tx) error {
					got, err := outbox.EnqueueManyTx(ctx, tx, args)
					for _, id := range got {
						ids.Store(id, true)
					}
					return err
				})
				if err != nil {
					t.Errorf("EnqueueManyTx: %v", err)
				}
			})
		}
		for _, r := range relays {
			e.run(r)
		}
		close(start)
		wg.Wait()
		waitFor(t, "1,000 jobs relayed", 60*time.Second, func() bool {
			mu.Lock()
			defer mu.Unlock()
			return len(seen) >= txs*per
		})
		time.Sleep(100 * time.Millisecond) // a double relay would show now
		mu.Lock()
		defer mu.Unlock()
		var dup int64
		for _, r := range relays {
			dup += outbox.Duplicates(r)
		}
		twice := 0
		for _, n := range seen {
			if n != 1 {
				twice++
			}
		}
		known := 0
		ids.Range(func(k, _ any) bool {
			if seen[k.(string)] == 1 {
				known++
			}
			return true
		})
		if len(seen) != txs*per || twice != 0 || dup != 0 || known != txs*per {
			t.Errorf("relayed %d ids, %d more than once, %d found already enqueued, %d of the ids EnqueueManyTx returned; want 1000, 0, 0, 1000",
				len(seen), twice, dup, known)
		}
		if n := e.rows(); n != 0 {
			t.Errorf("outbox rows = %d; want 0", n)
		}
		if s, err := e.insp.Sizes(t.Context(), "notes"); err != nil || s.Pending != txs*per {
			t.Errorf("Sizes(notes) = %+v, %v; want 1000 pending", s, err)
		}
	})
}

// A row that cannot be enqueued (here an invalid payload written by hand)
// is set aside with its attempt counted and its error, and the rows after
// it are relayed.
func TestBadRowDoesNotBlock(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		q := "INSERT INTO gantry_outbox (id, kind, payload, created_ms) VALUES ('bad-1', 'note', '{bad', 1)"
		if _, err := e.db.ExecContext(t.Context(), q); err != nil {
			t.Fatal(err)
		}
		for i := range 3 {
			e.enqueue(note{N: i})
		}
		r := e.relay(outbox.RelayConfig{})
		if n, err := outbox.Pass(t.Context(), r); err == nil || n != 0 {
			t.Fatalf("first pass = %d, %v; want an error on the bad row", n, err)
		}
		e.pass(r, 3)
		e.pass(r, 0)
		var bad struct {
			Attempts  int    `db:"attempts"`
			LastError string `db:"last_error"`
			NextTry   int64  `db:"next_try_ms"`
		}
		if err := e.db.GetContext(t.Context(), &bad, "SELECT attempts, last_error, next_try_ms FROM gantry_outbox WHERE id = 'bad-1'"); err != nil {
			t.Fatal(err)
		}
		if bad.Attempts != 1 || bad.LastError == "" || bad.NextTry <= time.Now().UnixMilli() {
			t.Errorf("bad row = %+v; want 1 attempt, an error, a retry time ahead", bad)
		}
		if n := e.rows(); n != 1 {
			t.Errorf("outbox rows = %d; want the bad one", n)
		}
		if s, err := e.insp.Sizes(t.Context(), "notes"); err != nil || s.Pending != 3 {
			t.Errorf("Sizes(notes) = %+v, %v; want 3 pending", s, err)
		}
	})
}

type noKind struct{}

func (noKind) Kind() string { return "" }

type badJSON struct{ C chan int }

func (badJSON) Kind() string { return "bad_json" }

// EnqueueTx refuses what Enqueue would refuse, inserting nothing; a JobID
// already in the outbox fails the caller's insert.
func TestEnqueueTxRefuses(t *testing.T) {
	for _, d := range databases {
		t.Run(d.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, d, backends[1])
			tests := []struct {
				name string
				args jobs.Args
				opts []jobs.Option
			}{
				{"nil args", nil, nil},
				{"empty kind", noKind{}, nil},
				{"unmarshallable", badJSON{}, nil},
				{"unique without ttl", note{}, []jobs.Option{jobs.Unique("k", 0)}},
				{"invalid job id", note{}, []jobs.Option{jobs.JobID("a b")}},
				// refused by jobs.Check as the relay's enqueue would refuse it;
				// the outbox's own copy of the id rules let it in, to be set
				// aside by the relay for ever
				{"a workflow step's job id", note{}, []jobs.Option{jobs.JobID("0123456789abcdefghij.1")}},
			}
			for _, tt := range tests {
				err := e.tx(func(ctx context.Context, tx *sqlx.Tx) error {
					_, err := outbox.EnqueueTx(ctx, tx, tt.args, tt.opts...)
					if err == nil {
						t.Errorf("%s: EnqueueTx = nil; want an error", tt.name)
					}
					return nil // commit whatever was written
				})
				if err != nil {
					t.Fatal(err)
				}
			}
			if n := e.rows(); n != 0 {
				t.Errorf("outbox rows = %d; want 0", n)
			}
			e.enqueue(note{}, jobs.JobID("order-1"))
			err := e.tx(func(ctx context.Context, tx *sqlx.Tx) error {
				_, err := outbox.EnqueueTx(ctx, tx, note{}, jobs.JobID("order-1"))
				return err
			})
			if err == nil {
				t.Error("second EnqueueTx(JobID order-1) committed; want the insert to fail")
			}
			if _, err := outbox.EnqueueManyTx(t.Context(), mustBegin(t, e.db), []jobs.Args{note{}, note{}}, jobs.JobID("x")); err == nil {
				t.Error("EnqueueManyTx of 2 jobs with one JobID = nil; want an error")
			}
			if n := e.rows(); n != 1 {
				t.Errorf("outbox rows = %d; want 1", n)
			}
		})
	}
}

func mustBegin(t *testing.T, db *sqlx.DB) *sqlx.Tx {
	t.Helper()
	tx, err := db.BeginTxx(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tx.Rollback() })
	return tx
}

// relayedAt returns an OnRelayed hook and a func that waits for id to be
// relayed and returns when it was, and the relay's LISTEN pid then.
func relayedAt(r **outbox.Relay) (func([]string, time.Time), func(t *testing.T, id string, within time.Duration) (time.Time, uint32)) {
	var mu sync.Mutex
	at := map[string]time.Time{}
	pid := map[string]uint32{}
	hook := func(ids []string, _ time.Time) {
		now := time.Now()
		mu.Lock()
		defer mu.Unlock()
		for _, id := range ids {
			at[id], pid[id] = now, outbox.ListenPID(*r)
		}
	}
	wait := func(t *testing.T, id string, within time.Duration) (time.Time, uint32) {
		t.Helper()
		var got time.Time
		var p uint32
		waitFor(t, "relay of "+id, within, func() bool {
			mu.Lock()
			defer mu.Unlock()
			got, p = at[id], pid[id]
			return !got.IsZero()
		})
		return got, p
	}
	return hook, wait
}

// On PostgreSQL a commit wakes the relay through NOTIFY: with a 5 s poll,
// each job is relayed within a second of its commit.
func TestNotifyWakesRelay(t *testing.T) {
	for _, bk := range backends {
		t.Run(bk.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, databases[0], bk)
			var r *outbox.Relay
			hook, wait := relayedAt(&r)
			r = e.relay(outbox.RelayConfig{PollInterval: 5 * time.Second, OnRelayed: hook})
			e.run(r)
			waitFor(t, "LISTEN", 5*time.Second, func() bool { return outbox.ListenPID(r) != 0 })
			time.Sleep(50 * time.Millisecond) // the pass that follows LISTEN
			for i := range 5 {
				id := e.enqueue(note{N: i})
				committed := time.Now()
				at, _ := wait(t, id, 4*time.Second)
				if d := at.Sub(committed); d > time.Second {
					t.Errorf("job %d relayed %v after its commit; want < 1s (poll is 5s)", i, d)
				}
			}
		})
	}
}

// The LISTEN connection killed by the server: the relay goes on by
// polling, then listens again on a new connection, and NOTIFY wakes it.
func TestListenConnectionKilled(t *testing.T) {
	e := newEnv(t, databases[0], backends[1])
	var r *outbox.Relay
	hook, wait := relayedAt(&r)
	r = e.relay(outbox.RelayConfig{PollInterval: 2 * time.Second, OnRelayed: hook})
	outbox.SetReconnectDelay(r, 4*time.Second)
	e.run(r)
	var pid1 uint32
	waitFor(t, "LISTEN", 5*time.Second, func() bool { pid1 = outbox.ListenPID(r); return pid1 != 0 })
	if _, err := e.db.ExecContext(t.Context(), "SELECT pg_terminate_backend($1)", int64(pid1)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the relay to see its connection die", 2*time.Second, func() bool { return outbox.ListenPID(r) == 0 })

	id := e.enqueue(note{N: 1})
	if _, pid := wait(t, id, 3500*time.Millisecond); pid != 0 {
		t.Errorf("job relayed while listening on %d; want it relayed by polling, LISTEN down", pid)
	}
	var pid2 uint32
	waitFor(t, "LISTEN again", 10*time.Second, func() bool { pid2 = outbox.ListenPID(r); return pid2 != 0 })
	if pid2 == pid1 {
		t.Fatalf("LISTEN pid %d after the kill; want a new connection", pid2)
	}
	id = e.enqueue(note{N: 2})
	committed := time.Now()
	if at, _ := wait(t, id, 3*time.Second); at.Sub(committed) > time.Second {
		t.Errorf("after reconnecting, job relayed %v after its commit; want < 1s (poll is 2s)", at.Sub(committed))
	}
	if n := e.rows(); n != 0 {
		t.Errorf("outbox rows = %d; want 0", n)
	}
}

// SQLite with the memory backend (the embedded defaults): EnqueueTx wakes
// the relays of its process, so a commit is relayed long before the poll,
// and a rollback still leaves nothing.
func TestSQLiteInProcessWake(t *testing.T) {
	e := newEnv(t, databases[1], backends[1])
	var r *outbox.Relay
	hook, wait := relayedAt(&r)
	r = e.relay(outbox.RelayConfig{PollInterval: 5 * time.Second, OnRelayed: hook})
	e.run(r)
	time.Sleep(50 * time.Millisecond) // the first pass
	rec := e.work("notes")
	for i := range 3 {
		id := e.enqueue(note{N: i})
		committed := time.Now()
		if at, _ := wait(t, id, 4*time.Second); at.Sub(committed) > time.Second {
			t.Errorf("job %d relayed %v after its commit; want < 1s (poll is 5s)", i, at.Sub(committed))
		}
		waitFor(t, "the job to run", 5*time.Second, func() bool { return rec.count(id) == 1 })
	}
	var rolledBack string
	_ = e.tx(func(ctx context.Context, tx *sqlx.Tx) (err error) {
		rolledBack, err = outbox.EnqueueTx(ctx, tx, note{N: 9})
		return errors.Join(err, errors.New("roll back"))
	})
	time.Sleep(300 * time.Millisecond)
	if _, err := e.insp.Job(t.Context(), rolledBack); !errors.Is(err, jobs.ErrNotFound) || rec.count(rolledBack) != 0 || e.rows() != 0 {
		t.Errorf("rolled-back job: Job = %v, runs %d, rows %d; want not found, 0, 0", err, rec.count(rolledBack), e.rows())
	}
}

// PollOnly keeps LISTEN off (for poolers that cannot hold it): the relay
// still moves committed rows, by polling.
func TestPollOnly(t *testing.T) {
	e := newEnv(t, databases[0], backends[1])
	var r *outbox.Relay
	hook, wait := relayedAt(&r)
	r = e.relay(outbox.RelayConfig{PollInterval: 100 * time.Millisecond, PollOnly: true, OnRelayed: hook})
	e.run(r)
	id := e.enqueue(note{N: 1})
	if _, pid := wait(t, id, 3*time.Second); pid != 0 {
		t.Errorf("PollOnly relay listens on pid %d; want no LISTEN connection", pid)
	}
}
