package jobs

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// QueueConfig configures one queue a [Runner] serves.
type QueueConfig struct {
	// Priority is the queue's weight (weighted mode: a queue with priority 6
	// gets about 6 of 10 fetches against one with 4) or its rank (strict mode:
	// higher first). Default 1.
	Priority int
	// MaxConcurrency caps the jobs of this queue running at once, so slow jobs
	// of one queue cannot take every slot. Default: the global Concurrency.
	MaxConcurrency int
}

// RunnerConfig configures a [Runner]. Only Workers is required.
type RunnerConfig struct {
	// Workers holds the workers by kind (required).
	Workers *Workers
	// Queues to serve and their settings. Default {"default": {}}.
	Queues map[string]QueueConfig
	// StrictPriority serves queues strictly by Priority (a lower queue gets
	// slots only when higher ones are empty or capped) instead of weighted.
	StrictPriority bool
	// Concurrency is the number of jobs run at once. Default 10.
	Concurrency int
	// Fetchers is the number of dispatch loops, each with its share of the
	// slots and of each queue's cap, so several fetch round trips overlap.
	// Default 2 when Concurrency is at least 8, else 1.
	Fetchers int
	// FetchBatch is the most jobs leased in one fetch; a fetch never leases
	// more than the free slots. Default 32.
	FetchBatch int
	// JobTimeout bounds an attempt when the job has no Timeout option.
	// Default 30 min; negative means no limit.
	JobTimeout time.Duration
	// LeaseDuration is how long a fetched job stays leased without a
	// heartbeat; jobs of a dead worker run again after at most
	// LeaseDuration + MaintenanceInterval. Default 10 s.
	LeaseDuration time.Duration
	// HeartbeatInterval is how often leases of running jobs are extended,
	// cancellations of running jobs picked up, and this runner's record for
	// [Inspector.Workers] refreshed (it expires 3 intervals, at least 1 s,
	// after the last refresh). Default LeaseDuration/4.
	HeartbeatInterval time.Duration
	// MaintenanceInterval is how often this runner promotes due scheduled and
	// retry jobs and returns expired leases to their queue. Default 1 s.
	MaintenanceInterval time.Duration
	// IdleWait is how long one blocking wait for new jobs lasts. Default 1 s.
	IdleWait time.Duration
	// ShutdownTimeout is how long Run waits for running jobs once its context
	// is done. Then jobs that finished are acknowledged, and jobs still
	// running are cancelled (cause [ErrShutdown]) and, unless they succeed
	// within 100 ms, handed back to their queue without counting an attempt.
	// Default 10 s.
	ShutdownTimeout time.Duration
	// Retry computes the wait before a retry of a job whose worker is not a
	// [RetryDelayer] (or returns 0 or less). Default ExponentialBackoff(1s, 1h).
	Retry RetryPolicy
	// UnknownKindWait is how long a job whose kind no worker of this runner
	// knows waits for a runner that knows it, as during a rolling deploy
	// when old workers meet a new kind. Until then the runner hands such a
	// job back to its queue's retry set without counting an attempt (state
	// retrying, LastError saying why), after a backoff growing with the wait
	// from about 1 s to 1 min, and logs a warning; a runner that knows the
	// kind then runs it. Once the job is UnknownKindWait old (counted from
	// its enqueue), it goes to the dead set with an error wrapping
	// [ErrUnknownKind]. Default 24 h; negative sends it to the dead set at
	// once.
	UnknownKindWait time.Duration
	// DeadMaxSize bounds each queue's dead set (oldest dropped). Default 10,000.
	DeadMaxSize int
	// DeadMaxAge drops dead jobs older than this. Default 7 days.
	DeadMaxAge time.Duration
	// Logger receives job failures and backend errors. Default slog.Default().
	Logger *slog.Logger
	// Metrics, if set, is told how every job attempt ended
	// ([Observer.Processed]); see package
	// [github.com/gantry-dev/gantry/jobs/jobsmetrics].
	Metrics Observer
	// Name, if set, labels this runner in [Inspector.Workers] (for example
	// the role of the process). The runner's id there is always
	// "<host>:<pid>:<random>".
	Name string
	// Wrap, if set, runs around every attempt, with the attempt's context
	// and an [Attempt] describing it (headers included): tracing (a span per
	// attempt, linked to the enqueuer's trace from the headers) and error
	// reporting (a [PanicError], or an error that is [Attempt.Final]) hook in
	// here. Nil costs nothing.
	Wrap WrapFunc
}

func (c RunnerConfig) withDefaults() RunnerConfig {
	if len(c.Queues) == 0 {
		c.Queues = map[string]QueueConfig{"default": {}}
	}
	if c.Concurrency <= 0 {
		c.Concurrency = 10
	}
	if c.Fetchers <= 0 {
		c.Fetchers = 1
		if c.Concurrency >= 8 {
			c.Fetchers = 2
		}
	}
	c.Fetchers = min(c.Fetchers, c.Concurrency)
	if c.FetchBatch <= 0 {
		c.FetchBatch = 32
	}
	if c.JobTimeout == 0 {
		c.JobTimeout = 30 * time.Minute
	}
	if c.LeaseDuration <= 0 {
		c.LeaseDuration = 10 * time.Second
	}
	if c.HeartbeatInterval <= 0 {
		c.HeartbeatInterval = c.LeaseDuration / 4
	}
	if c.MaintenanceInterval <= 0 {
		c.MaintenanceInterval = time.Second
	}
	if c.IdleWait <= 0 {
		c.IdleWait = time.Second
	}
	if c.ShutdownTimeout <= 0 {
		c.ShutdownTimeout = 10 * time.Second
	}
	if c.Retry == nil {
		c.Retry = ExponentialBackoff(time.Second, time.Hour)
	}
	if c.UnknownKindWait == 0 {
		c.UnknownKindWait = 24 * time.Hour
	}
	if c.DeadMaxSize <= 0 {
		c.DeadMaxSize = 10000
	}
	if c.DeadMaxAge <= 0 {
		c.DeadMaxAge = 7 * 24 * time.Hour
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	c.Metrics = observer(c.Metrics)
	return c
}

func (c RunnerConfig) validate() error {
	if c.Workers == nil {
		return errors.New("nil Workers")
	}
	if c.HeartbeatInterval >= c.LeaseDuration {
		return errors.New("HeartbeatInterval must be shorter than LeaseDuration")
	}
	for name := range c.Queues {
		if name == "" {
			return errors.New("empty queue name")
		}
	}
	return nil
}

// Runner fetches jobs from its queues and runs them through the registered
// workers. Create it with [NewRunner] and call Run.
type Runner struct {
	b       Backend
	cfg     RunnerConfig
	log     *slog.Logger
	id      string
	seq     atomic.Uint64
	running atomic.Bool

	qs []*rqueue // queue templates; each lane has its own copies

	// The record Inspector.Workers lists (see beat).
	reg       registryBackend // nil: the backend keeps no records
	wid, host string
	pid       int
	started   time.Time
	cur       []*lane // the lanes of the current Run
	// keepRecord makes Run return without removing its record, as a
	// crashed process would (tests only).
	keepRecord bool
}

// lane is one dispatch loop with its share of the slots. Several lanes keep
// several fetch round trips in flight, so Redis works on one batch while the
// runner dispatches another.
type lane struct {
	*Runner
	conc   int
	qs     []*rqueue
	active int
	fin    *finished
	spare  []*task
	work   chan *task
	wakeCh chan *rqueue
	waitWG sync.WaitGroup

	busy    atomic.Int64 // active, as of the last round, for the runner's record
	publish bool         // this lane's heartbeats refresh the runner's record
}

type rqueue struct {
	name      string
	prio, max int
	active    int
	acks      []*ack
	tasks     map[string]*task
	empty     bool
	paused    bool
	waiting   bool
	lastMaint time.Time
	nextDue   time.Time
}

type task struct {
	q      *rqueue
	id     string
	token  string
	raw    string
	m      *message
	ctx    context.Context
	cancel context.CancelCauseFunc
	start  time.Time
	gone   bool // lease lost or handed back: no ack

	u        workUnit
	timeout  time.Duration // precise: a timer on the job's context
	deadline time.Time     // coarse: checked at heartbeats (timeouts ≥ coarseTimeout)
	rt       jobRuntime
	err      error // the attempt's outcome
	ack      ack

	wfDone bool          // a workflow step's outcome is recorded
	wfErr  error         // recording it failed: hand the step back
	next   []*enqueueReq // steps it released on its own queue: sent with its ack
}

// Timeouts this long are enforced at heartbeat granularity instead of with
// a timer per job; the job's context is then cancelled with cause
// context.DeadlineExceeded.
const coarseTimeout = time.Minute

// NewRunner returns a Runner on b, or an error if cfg is invalid.
func NewRunner(b Backend, cfg RunnerConfig) (*Runner, error) {
	cfg = cfg.withDefaults()
	if b == nil {
		return nil, errors.New("jobs: invalid runner config: nil backend")
	}
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("jobs: invalid runner config: %w", err)
	}
	var idb [6]byte
	_, _ = rand.Read(idb[:])
	r := &Runner{b: b, cfg: cfg, log: cfg.Logger.With("component", "jobs"), id: hex.EncodeToString(idb[:])}
	r.reg, _ = b.(registryBackend)
	r.wid, r.host, r.pid = processID()
	for name, qc := range cfg.Queues {
		q := &rqueue{name: name, prio: max(qc.Priority, 1), max: qc.MaxConcurrency, tasks: map[string]*task{}}
		if q.max <= 0 || q.max > cfg.Concurrency {
			q.max = cfg.Concurrency
		}
		r.qs = append(r.qs, q)
	}
	slices.SortFunc(r.qs, func(a, b *rqueue) int {
		if a.prio != b.prio {
			return b.prio - a.prio
		}
		if a.name < b.name {
			return -1
		}
		return 1
	})
	return r, nil
}

// Run fetches and runs jobs until ctx is done, then shuts down gracefully:
// it stops fetching (within one fetch round trip, however busy it is), waits
// up to ShutdownTimeout for running jobs (still acking them and extending
// their leases), then acknowledges the jobs that finished, cancels the rest
// and hands them back to their queues without counting an attempt. Run
// returns nil after a shutdown (up to IdleWait later, while an idle blocking
// wait on Redis ends); it must not be called twice at once. From its start
// until it returns, [Inspector.Workers] lists the runner.
func (r *Runner) Run(ctx context.Context) error {
	if !r.running.CompareAndSwap(false, true) {
		return errors.New("jobs: runner already running")
	}
	defer r.running.Store(false)
	r.started, r.cur = time.Now(), r.lanes()
	if len(r.cur) > 0 {
		r.cur[0].publish = true
	}
	bctx := context.WithoutCancel(ctx)
	r.beat(bctx)
	var wg sync.WaitGroup
	for _, l := range r.cur {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l.run(ctx)
		}()
	}
	wg.Wait()
	if r.reg != nil && !r.keepRecord {
		dctx, cancel := context.WithTimeout(bctx, regTimeout(r.cfg.HeartbeatInterval))
		if err := r.reg.delRecords(dctx, regWorkers, []string{r.wid}); err != nil {
			r.log.LogAttrs(ctx, slog.LevelWarn, "jobs worker record not removed; it expires", slog.String("err", err.Error()))
		}
		cancel()
	}
	return nil
}

// beat stores the runner's record for Inspector.Workers, valid for
// regTTL. Run calls it when it starts, then one lane at each heartbeat.
func (r *Runner) beat(bctx context.Context) {
	if r.reg == nil {
		return
	}
	qs := make(map[string]int, len(r.qs))
	for _, q := range r.qs {
		qs[q.name] = q.prio
	}
	busy := 0
	for _, l := range r.cur {
		busy += int(l.busy.Load())
	}
	data, err := json.Marshal(WorkerInfo{Name: r.cfg.Name, Host: r.host, PID: r.pid, Queues: qs,
		Concurrency: r.cfg.Concurrency, Busy: busy, StartedAt: r.started})
	if err != nil {
		return
	}
	ctx, cancel := context.WithTimeout(bctx, regTimeout(r.cfg.HeartbeatInterval))
	defer cancel()
	if err := r.reg.putRecords(ctx, regWorkers, []regRecord{{id: r.wid, data: data}}, regTTL(r.cfg.HeartbeatInterval)); err != nil {
		r.log.LogAttrs(ctx, slog.LevelWarn, "jobs worker record not stored", slog.String("err", err.Error()))
	}
}

// lanes splits the slots and queue caps between Fetchers lanes.
func (r *Runner) lanes() []*lane {
	n := r.cfg.Fetchers
	out := make([]*lane, 0, n)
	for i := range n {
		l := &lane{Runner: r, conc: share(r.cfg.Concurrency, n, i)}
		for _, t := range r.qs {
			if m := share(t.max, n, i); m > 0 {
				l.qs = append(l.qs, &rqueue{name: t.name, prio: t.prio, max: m, tasks: map[string]*task{}})
			}
		}
		if l.conc > 0 && len(l.qs) > 0 {
			out = append(out, l)
		}
	}
	return out
}

// share is lane i's part of total split n ways.
func share(total, n, i int) int {
	s := total / n
	if i < total%n {
		s++
	}
	return s
}

func (r *lane) run(ctx context.Context) {
	bctx := context.WithoutCancel(ctx)
	// Jobs' contexts derive from a context that is never cancelled (cheap to
	// derive from: no registration with a parent); the runner cancels each
	// job itself.
	jobBase := context.WithoutCancel(ctx)
	r.fin = &finished{ch: make(chan struct{}, 1)}
	r.work = make(chan *task, r.conc)
	defer close(r.work)
	for range r.conc {
		go r.worker(r.work, r.fin)
	}
	r.wakeCh = make(chan *rqueue, len(r.qs))
	waitCtx, stopWaiters := context.WithCancel(bctx)
	defer r.waitWG.Wait()
	defer stopWaiters()

	hb := time.NewTicker(r.cfg.HeartbeatInterval)
	defer hb.Stop()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	stopC := ctx.Done()
	var hardStop <-chan time.Time
	stopping := false
	var backoff time.Duration
	lingerMin := max(1, min(r.conc, r.cfg.FetchBatch))
	var lingerEnd time.Time
	for {
		r.drain()
		// Few free slots while jobs run: wait a moment for more to finish,
		// so one round trip acks and fetches a bigger batch.
		if free := r.conc - r.active; !stopping && backoff == 0 && free > 0 && free < lingerMin {
			if lingerEnd.IsZero() {
				lingerEnd = time.Now().Add(lingerFor)
			}
			if wait := time.Until(lingerEnd); wait > 0 {
				timer.Reset(wait)
				select {
				case <-r.fin.ch:
				case <-timer.C:
				}
				timer.Stop()
				continue
			}
		}
		lingerEnd = time.Time{}
		fetched, err := r.round(bctx, jobBase, stopping)
		r.busy.Store(int64(r.active))
		if err != nil {
			backoff = min(max(2*backoff, 50*time.Millisecond), 2*time.Second)
			r.log.LogAttrs(ctx, slog.LevelWarn, "jobs backend error", slog.String("err", err.Error()), slog.Duration("retry_in", backoff))
		} else {
			backoff = 0
		}
		if stopping && r.active == 0 && !r.acksPending() {
			return
		}
		if err == nil && fetched > 0 && r.active < r.conc && !stopping {
			// Busy: fetch again at once, but first take a due shutdown or
			// heartbeat without waiting, so neither starves under load.
			select {
			case <-stopC:
				stopping, stopC = true, nil
				hardStop = time.After(r.cfg.ShutdownTimeout)
			case <-hb.C:
				r.heartbeat(bctx)
			default:
			}
			continue
		}
		wake := time.Hour
		if err != nil {
			wake = backoff
		} else if !stopping {
			wake = r.idle(waitCtx)
		}
		timer.Reset(wake)
		select {
		case <-r.fin.ch:
		case q := <-r.wakeCh:
			q.waiting, q.empty = false, false
		case <-hb.C:
			r.heartbeat(bctx)
		case <-stopC:
			stopping, stopC = true, nil
			hardStop = time.After(r.cfg.ShutdownTimeout)
		case <-hardStop:
			r.handBack(bctx)
			return
		case <-timer.C:
		}
		timer.Stop()
	}
}

func (r *lane) acksPending() bool {
	for _, q := range r.qs {
		if len(q.acks) > 0 {
			return true
		}
	}
	return false
}

// lingerFor is how long the dispatcher waits for more jobs to finish before
// refilling only a few free slots.
const lingerFor = 300 * time.Microsecond

// finished collects outcomes from the workers; ch is signalled when the list
// turns non-empty, so one dispatcher wake-up takes many outcomes.
type finished struct {
	mu   sync.Mutex
	list []*task
	ch   chan struct{}
}

func (f *finished) add(t *task) {
	f.mu.Lock()
	f.list = append(f.list, t)
	first := len(f.list) == 1
	f.mu.Unlock()
	if first {
		select {
		case f.ch <- struct{}{}:
		default:
		}
	}
}

// drain takes completed jobs without blocking.
func (r *lane) drain() {
	r.fin.mu.Lock()
	list := r.fin.list
	r.fin.list = r.spare[:0]
	r.fin.mu.Unlock()
	for i, o := range list {
		r.complete(o)
		list[i] = nil
	}
	r.spare = list
}

// order returns the queues in the order this round offers them free slots.
func (r *lane) order() []*rqueue {
	if r.cfg.StrictPriority || len(r.qs) == 1 {
		return r.qs
	}
	rest := slices.Clone(r.qs)
	out := make([]*rqueue, 0, len(rest))
	for len(rest) > 0 {
		total := 0
		for _, q := range rest {
			total += q.prio
		}
		x := mrand.IntN(total)
		i := 0
		for ; x >= rest[i].prio; i++ {
			x -= rest[i].prio
		}
		out = append(out, rest[i])
		rest = slices.Delete(rest, i, i+1)
	}
	return out
}

// round acks finished jobs and fetches new ones, queue by queue.
func (r *lane) round(bctx, jobBase context.Context, stopping bool) (int, error) {
	total := 0
	now := time.Now()
	for _, q := range r.order() {
		n := min(r.conc-r.active, q.max-q.active, r.cfg.FetchBatch)
		if stopping || n < 0 {
			n = 0
		}
		maint := !stopping && (now.Sub(q.lastMaint) >= r.cfg.MaintenanceInterval || (!q.nextDue.IsZero() && !now.Before(q.nextDue)))
		if len(q.acks) == 0 && !maint && (n == 0 || q.empty) {
			continue
		}
		if q.empty && !maint {
			n = 0 // known empty: only ack; the waiter reports new work
		}
		f := &fetchReq{queue: q.name, acks: q.acks, n: n, token: r.id + strconv.FormatUint(r.seq.Add(1), 36),
			now: now, lease: r.cfg.LeaseDuration, maint: maint, deadMax: r.cfg.DeadMaxSize, deadAge: r.cfg.DeadMaxAge}
		resp, err := r.b.fetch(bctx, f)
		if err != nil {
			return total, err
		}
		if resp.refused > 0 {
			r.log.LogAttrs(bctx, slog.LevelWarn, "jobs acks refused (lease expired or job re-leased)", slog.String("queue", q.name), slog.Int("refused", resp.refused))
		}
		q.acks = nil
		if maint {
			q.lastMaint, q.nextDue = now, resp.nextDue
		}
		q.paused = resp.paused
		if resp.paused {
			q.empty = true
		} else if n > 0 {
			q.empty = len(resp.jobs) < n
		}
		for _, lj := range resp.jobs {
			r.start(jobBase, q, lj, now)
		}
		total += len(resp.jobs)
	}
	return total, nil
}

// idle starts blocking waiters on empty queues with free slots and returns
// how long the dispatcher may sleep before its next maintenance.
func (r *lane) idle(waitCtx context.Context) time.Duration {
	now := time.Now()
	wake := r.cfg.MaintenanceInterval
	for _, q := range r.qs {
		next := q.lastMaint.Add(r.cfg.MaintenanceInterval)
		if !q.nextDue.IsZero() && q.nextDue.Before(next) {
			next = q.nextDue
		}
		wake = min(wake, max(next.Sub(now), time.Millisecond))
		if q.empty && !q.paused && !q.waiting && q.active < q.max && r.active < r.conc {
			q.waiting = true
			r.waitWG.Add(1)
			go func() {
				defer r.waitWG.Done()
				if err := r.b.wait(waitCtx, []string{q.name}, r.cfg.IdleWait); err != nil && waitCtx.Err() == nil {
					time.Sleep(100 * time.Millisecond)
				}
				r.wakeCh <- q
			}()
		}
	}
	return wake
}

func (r *lane) start(jobBase context.Context, q *rqueue, lj leased, now time.Time) {
	t := &task{q: q, id: messageID(lj.raw), token: lj.token, raw: lj.raw, start: now}
	q.tasks[t.id] = t
	q.active++
	r.active++
	m, err := decodeMessage(lj.raw)
	t.m = m
	t.ctx, t.cancel = context.WithCancelCause(jobBase)
	if err != nil {
		t.err = &permanentError{err}
		r.complete(t)
		return
	}
	if m.Retried > m.MaxRetry {
		t.err = &permanentError{fmt.Errorf("jobs: attempts used up: %w", ErrLeaseLost)}
		r.complete(t)
		return
	}
	u := r.cfg.Workers.lookup(m.Kind)
	if u == nil {
		t.err = r.noWorker(m, now)
		r.complete(t)
		return
	}
	timeout := time.Duration(m.TimeoutMs) * time.Millisecond
	if timeout <= 0 {
		timeout = r.cfg.JobTimeout
	}
	t.rt.b, t.rt.queue = r.b, q.name
	t.u = u
	if timeout > 0 {
		if timeout < coarseTimeout {
			t.timeout = timeout
		} else {
			t.deadline = now.Add(timeout) // checked at each heartbeat
		}
	}
	r.work <- t // never blocks: at most Concurrency tasks are active
}

// noWorker is the outcome of a job whose kind this runner has no worker for:
// wait for a runner that has one (see RunnerConfig.UnknownKindWait), or go
// to the dead set.
func (r *lane) noWorker(m *message, now time.Time) error {
	waited := now.Sub(time.UnixMilli(m.EnqueuedMs))
	switch w := r.cfg.UnknownKindWait; {
	case w < 0:
		return &permanentError{fmt.Errorf("jobs: no worker for kind %q: %w", m.Kind, ErrUnknownKind)}
	case waited >= w:
		return &permanentError{fmt.Errorf("jobs: no worker for kind %q after waiting %v for one: %w", m.Kind, w, ErrUnknownKind)}
	}
	d := min(max(waited/2, time.Second), time.Minute)
	return &waitForWorker{kind: m.Kind, retryIn: d/2 + mrand.N(d/2)}
}

// waitForWorker hands a job back, without counting an attempt, to wait for a
// runner with a worker for its kind.
type waitForWorker struct {
	kind    string
	retryIn time.Duration
}

func (e *waitForWorker) Error() string {
	return fmt.Sprintf("jobs: no worker for kind %q on this runner; waiting for one that has it", e.kind)
}

func (e *waitForWorker) Unwrap() error { return ErrUnknownKind }

// worker runs tasks on a long-lived goroutine (its stack stays grown, which
// saves a stack copy per job over a goroutine per job).
func (r *lane) worker(work <-chan *task, fin *finished) {
	for t := range work {
		ctx := t.ctx
		var cancel context.CancelFunc
		if t.timeout > 0 {
			ctx, cancel = context.WithTimeout(ctx, t.timeout)
		}
		if w := r.cfg.Wrap; w != nil {
			t.err = r.wrapped(ctx, w, t)
		} else {
			t.err = runSafely(ctx, t.u, t.m, t.q.name, &t.rt)
		}
		if cancel != nil {
			cancel()
		}
		r.recordStep(t)
		fin.add(t)
	}
}

func runSafely(ctx context.Context, u workUnit, m *message, queue string, rt *jobRuntime) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = &PanicError{Value: p, Stack: debug.Stack()}
		}
	}()
	return u.work(ctx, m, queue, rt)
}

// wrapped runs t's attempt through RunnerConfig.Wrap; a panic in Wrap
// itself is the attempt's PanicError too, and a Wrap that never calls next
// returns its own error (nil: the attempt succeeded without running).
func (r *lane) wrapped(ctx context.Context, w WrapFunc, t *task) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = &PanicError{Value: p, Stack: debug.Stack()}
		}
	}()
	a := &Attempt{ID: t.id, Queue: t.q.name, Kind: t.m.Kind, Number: t.m.Retried + 1, MaxRetry: t.m.MaxRetry,
		EnqueuedAt: time.UnixMilli(t.m.EnqueuedMs), Headers: parseHeaders(t.m.Headers)}
	return w(ctx, a, func(ctx context.Context) error { return runSafely(ctx, t.u, t.m, t.q.name, &t.rt) })
}

// WrapFunc runs around every attempt of a job (see RunnerConfig.Wrap): it
// must call next once, with ctx or a context derived from it, and return
// its error (or its own).
type WrapFunc func(ctx context.Context, a *Attempt, next func(context.Context) error) error

// ChainWrap combines ws into one WrapFunc, the first outermost (e.g.
// tracing around error reporting); nil entries are skipped, and with none
// left it returns nil, which costs nothing.
func ChainWrap(ws ...WrapFunc) WrapFunc {
	var live []WrapFunc
	for _, w := range ws {
		if w != nil {
			live = append(live, w)
		}
	}
	switch len(live) {
	case 0:
		return nil
	case 1:
		return live[0]
	}
	return func(ctx context.Context, a *Attempt, next func(context.Context) error) error {
		var run func(i int, ctx context.Context) error
		run = func(i int, ctx context.Context) error {
			if i == len(live) {
				return next(ctx)
			}
			return live[i](ctx, a, func(ctx context.Context) error { return run(i+1, ctx) })
		}
		return run(0, ctx)
	}
}

// Attempt describes one run of a job to a [WrapFunc].
type Attempt struct {
	ID, Queue, Kind string
	Number          int // 1 for the first run
	MaxRetry        int
	EnqueuedAt      time.Time
	Headers         map[string]string // what ClientConfig.Headers stored with the job; nil if none
}

// Final reports whether err, returned by the attempt, ends the job for
// good: success, an error wrapping [ErrSkipRetry] or a bad payload, or the
// last attempt's failure. A cancelled or shut-down attempt is not final
// by this test (its context's cause tells).
func (a *Attempt) Final(err error) bool {
	var perm *permanentError
	return err == nil || errors.As(err, &perm) || a.Number > a.MaxRetry
}

// PanicError is a worker's panic, as RunnerConfig.Wrap sees it returned
// (errors.As). Its message, which is stored as the job's LastError and may
// be shown to the job's owner, is "jobs: panic: <value>"; the stack goes to
// the runner's log (and to an error reporter through Wrap) only.
type PanicError struct {
	Value any
	Stack []byte
}

func (e *PanicError) Error() string { return fmt.Sprintf("jobs: panic: %v", e.Value) }

// Unwrap returns the panic value if it is an error.
func (e *PanicError) Unwrap() error {
	err, _ := e.Value.(error)
	return err
}

func (r *lane) complete(t *task) {
	q := t.q
	delete(q.tasks, t.id)
	q.active--
	r.active--
	t.cancel(nil)
	if t.gone {
		return
	}
	now := time.Now()
	t.ack = ack{id: t.id, token: t.token, attempts: 1, started: t.start, retention: time.Hour, raw: t.raw, next: t.next}
	a := &t.ack
	kind := "unknown"
	if t.m != nil {
		a.attempts = t.m.Retried + 1
		a.retention = time.Duration(t.m.RetentionMs) * time.Millisecond
		kind = t.m.Kind
	}
	if t.u == nil {
		// Decided without a worker run (a malformed message, attempts used
		// up, a kind no runner knows): a workflow step's outcome is
		// recorded here, on the loop; it is rare.
		r.recordStep(t)
	}
	var perm *permanentError
	var wait *waitForWorker
	cause := context.Cause(t.ctx)
	switch {
	case errors.Is(cause, ErrCancelled):
		// Cancelled stays cancelled whatever the handler returned; the
		// backend stores it so, and the log and metrics must agree.
		a.kind = ackCancelled
	case t.wfErr != nil:
		// A workflow step's final outcome (success or failure for good)
		// could not be recorded in its workflow: acking it would leave the
		// workflow waiting for ever. Hand it back without counting an
		// attempt; it runs again.
		a.kind, a.due, a.attempts, a.errMsg = ackRetry, now.Add(time.Second+mrand.N(time.Second)), t.m.Retried, t.wfErr.Error()
		r.log.LogAttrs(t.ctx, slog.LevelWarn, "workflow step's outcome not recorded; handed back to run again",
			slog.String("queue", q.name), slog.String("kind", kind), slog.String("id", t.id), slog.String("err", t.wfErr.Error()))
		r.processed(q.name, kind, OutcomeRequeued, now.Sub(t.start))
		q.acks = append(q.acks, a)
		return
	case t.err == nil:
		a.kind, a.result = ackSuccess, t.rt.result
	case errors.Is(cause, ErrShutdown):
		// Stopped by the shutdown deadline (see handBack): hand it back.
		*a = *requeueAck(t)
		r.processed(q.name, kind, OutcomeRequeued, now.Sub(t.start))
		q.acks = append(q.acks, a)
		return
	case errors.As(t.err, &wait):
		// Not an attempt: back to the retry set with the message unchanged.
		a.kind, a.due, a.attempts, a.errMsg = ackRetry, now.Add(wait.retryIn), t.m.Retried, t.err.Error()
		r.log.LogAttrs(t.ctx, slog.LevelWarn, "job kind unknown to this runner; handed back to wait for a runner that knows it",
			slog.String("queue", q.name), slog.String("kind", kind), slog.String("id", t.id), slog.Duration("retry_in", wait.retryIn))
		r.processed(q.name, kind, OutcomeRequeued, now.Sub(t.start))
		q.acks = append(q.acks, a)
		return
	case t.m == nil || errors.As(t.err, &perm):
		a.kind = ackDead
	case t.m.Retried < t.m.MaxRetry:
		m2 := *t.m
		m2.Retried++
		d := t.rt.retryDelay(t.err) // the kind's worker first (RetryDelayer)
		if d <= 0 {
			d = r.cfg.Retry(a.attempts, t.err)
		}
		a.kind, a.raw, a.due = ackRetry, m2.encode(), now.Add(d)
	default:
		a.kind = ackDead
	}
	a.progress = t.rt.last
	if t.err != nil {
		a.errMsg = strings.ReplaceAll(t.err.Error(), sep, " ")
		if len(a.errMsg) > 2048 {
			a.errMsg = a.errMsg[:2048]
		}
		lvl := slog.LevelInfo
		if a.kind == ackDead {
			lvl = slog.LevelWarn
		}
		attrs := []slog.Attr{slog.String("queue", q.name), slog.String("kind", kind), slog.String("id", t.id),
			slog.Int("attempt", a.attempts), slog.String("outcome", outcomeName(a.kind)), slog.String("err", a.errMsg)}
		if pe := (*PanicError)(nil); errors.As(t.err, &pe) {
			lvl = slog.LevelError // a bug in the worker: its stack is for the log, never for LastError
			attrs = append(attrs, slog.String("stack", string(pe.Stack)))
		}
		r.log.LogAttrs(t.ctx, lvl, "job failed", attrs...)
	}
	r.processed(q.name, kind, outcomeName(a.kind), now.Sub(t.start))
	q.acks = append(q.acks, a)
}

// stepTimeout bounds the recording of a workflow step's outcome.
const stepTimeout = 10 * time.Second

// recordStep records a workflow step's final outcome in its workflow and
// enqueues the steps it releases, before the step is acknowledged (so a
// crash in between runs the step again and repeats the release, which the
// id guard makes harmless). An attempt that will be retried records
// nothing.
func (r *lane) recordStep(t *task) {
	if t.wfDone || t.m == nil {
		return
	}
	wf, step, ok := parseStepID(t.id)
	if !ok {
		return
	}
	out, final := finalOutcome(t)
	if !final {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(t.ctx), stepTimeout)
	defer cancel()
	now := time.Now()
	rs, err := r.b.stepDone(ctx, wf, step, out, now)
	if err == nil {
		// Steps on this queue that can run now go with this step's ack, in
		// the same script (no round trip of their own); the others now.
		var other []release
		for _, rel := range rs {
			if rel.queue != t.q.name || rel.delay > 0 {
				other = append(other, rel)
				continue
			}
			req, rerr := releaseReq(rel, now)
			if rerr != nil {
				err = rerr
				break
			}
			t.next = append(t.next, req)
		}
		if err == nil {
			err = enqueueReleased(ctx, r.b, other, now)
		}
	}
	if err != nil {
		t.next = nil
		t.wfErr = fmt.Errorf("jobs: record workflow step: %w", err)
		return
	}
	t.wfDone = true
}

// finalOutcome is what complete will decide for t, when that ends the job:
// succeeded, dead or cancelled.
func finalOutcome(t *task) (stepOutcome, bool) {
	cause := context.Cause(t.ctx)
	var perm *permanentError
	var wait *waitForWorker
	switch {
	case errors.Is(cause, ErrCancelled):
		return stepOutcome{state: 'c', value: ErrCancelled.Error()}, true
	case t.err == nil:
		return stepOutcome{state: 's', value: string(t.rt.result)}, true
	case errors.Is(cause, ErrShutdown), errors.As(t.err, &wait):
		return stepOutcome{}, false
	case errors.As(t.err, &perm), t.m.Retried >= t.m.MaxRetry:
		msg := strings.ReplaceAll(t.err.Error(), sep, " ")
		if len(msg) > 2048 {
			msg = msg[:2048]
		}
		return stepOutcome{state: 'f', value: msg}, true
	}
	return stepOutcome{}, false
}

// processed tells the Observer, if any, how an attempt ended.
func (r *lane) processed(queue, kind, outcome string, d time.Duration) {
	if o := r.cfg.Metrics; o != nil {
		o.Processed(queue, kind, outcome, d)
	}
}

func outcomeName(k ackKind) string {
	switch k {
	case ackSuccess:
		return OutcomeSucceeded
	case ackRetry:
		return OutcomeRetried
	case ackDead:
		return OutcomeDead
	case ackCancelled:
		return OutcomeCancelled
	}
	return OutcomeRequeued
}

func (r *lane) heartbeat(bctx context.Context) {
	now := time.Now()
	for _, q := range r.qs {
		for _, t := range q.tasks {
			if !t.deadline.IsZero() && now.After(t.deadline) {
				t.deadline = time.Time{}
				t.cancel(context.DeadlineExceeded)
			}
		}
	}
	for _, q := range r.qs {
		if len(q.tasks) == 0 {
			continue
		}
		refs := make([]leaseRef, 0, len(q.tasks))
		for _, t := range q.tasks {
			if !t.gone {
				refs = append(refs, leaseRef{t.id, t.token})
			}
		}
		lost, cancelled, err := r.b.heartbeat(bctx, q.name, refs, now, r.cfg.LeaseDuration)
		if err != nil {
			r.log.LogAttrs(bctx, slog.LevelWarn, "jobs heartbeat failed", slog.String("queue", q.name), slog.String("err", err.Error()))
			continue
		}
		for _, id := range lost {
			if t := q.tasks[id]; t != nil {
				t.gone = true
				t.cancel(ErrLeaseLost)
			}
		}
		for _, id := range cancelled {
			if t := q.tasks[id]; t != nil {
				t.cancel(ErrCancelled)
			}
		}
	}
	if r.publish {
		r.beat(bctx) // after the leases, which matter more
	}
}

// handBackGrace is how long jobs cancelled at the shutdown deadline have to
// return before they are handed back regardless.
const handBackGrace = 100 * time.Millisecond

// handBack runs at the shutdown deadline. Jobs that finished are
// acknowledged first, so none of them runs again. The jobs still running are
// cancelled (cause ErrShutdown) and get handBackGrace to return: one that
// succeeds meanwhile is acknowledged as a success, one that fails is handed
// back. Those still running then are handed back too. Handed-back jobs go to
// the front of their queue without counting an attempt.
func (r *lane) handBack(bctx context.Context) {
	r.drain()
	running := 0
	for _, q := range r.qs {
		for _, t := range q.tasks {
			if !t.gone {
				t.cancel(ErrShutdown)
				running++
			}
		}
	}
	if running > 0 {
		grace := time.NewTimer(handBackGrace)
	wait:
		for r.active > 0 {
			select {
			case <-r.fin.ch:
				r.drain()
			case <-grace.C:
				break wait
			}
		}
		grace.Stop()
		r.drain()
	}
	for _, q := range r.qs {
		for _, t := range q.tasks {
			if t.gone {
				continue
			}
			t.gone = true
			q.acks = append(q.acks, requeueAck(t))
			r.processed(q.name, kindOf(t), OutcomeRequeued, time.Since(t.start))
		}
	}
	for _, q := range r.qs {
		if len(q.acks) == 0 {
			continue
		}
		f := &fetchReq{queue: q.name, acks: q.acks, now: time.Now(), lease: r.cfg.LeaseDuration, deadMax: r.cfg.DeadMaxSize, deadAge: r.cfg.DeadMaxAge}
		if resp, err := r.b.fetch(bctx, f); err != nil {
			r.log.LogAttrs(bctx, slog.LevelWarn, "jobs hand-back failed; leases will expire", slog.String("queue", q.name), slog.String("err", err.Error()))
		} else if resp.refused > 0 {
			r.log.LogAttrs(bctx, slog.LevelWarn, "jobs acks refused (lease expired or job re-leased)", slog.String("queue", q.name), slog.Int("refused", resp.refused))
		}
		q.acks = nil
	}
}

// requeueAck hands t back to the front of its queue as it was leased: the
// attempt is not counted.
func requeueAck(t *task) *ack {
	a := &ack{id: t.id, token: t.token, kind: ackRequeue, raw: t.raw}
	if t.m != nil {
		a.attempts = t.m.Retried
	}
	return a
}

func kindOf(t *task) string {
	if t.m != nil {
		return t.m.Kind
	}
	return "unknown"
}
