package jobs_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/jobs"
)

// The job types of the behavioural suite.
type noteArgs struct {
	N int `json:"n"`
}

func (noteArgs) Kind() string { return "note" }

type otherArgs struct {
	N int `json:"n"`
}

func (otherArgs) Kind() string { return "other" }

type badArgs struct {
	N string `json:"n"`
}

func (badArgs) Kind() string { return "note" } // same kind, incompatible payload

type ghostArgs struct{}

func (ghostArgs) Kind() string { return "ghost" } // no worker registered

// newBackendFunc returns a fresh, isolated backend for one test.
type newBackendFunc func(t *testing.T) jobs.Backend

// fastRetry retries after 10 ms.
func fastRetry(int, error) time.Duration { return 10 * time.Millisecond }

// env is one test's backend, client, inspector and a way to start runners.
type env struct {
	t    *testing.T
	b    jobs.Backend
	c    *jobs.Client
	insp *jobs.Inspector
}

func newEnv(t *testing.T, nb newBackendFunc) *env {
	t.Helper()
	b := nb(t)
	c, err := jobs.NewClient(b, jobs.ClientConfig{})
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	return &env{t: t, b: b, c: c, insp: jobs.NewInspector(b)}
}

// run starts a runner until the test ends (or stop is called) and returns stop,
// which shuts it down and waits for Run to return.
func (e *env) run(cfg jobs.RunnerConfig) (stop func()) {
	e.t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Retry == nil {
		cfg.Retry = fastRetry
	}
	if cfg.MaintenanceInterval == 0 {
		cfg.MaintenanceInterval = 50 * time.Millisecond
	}
	r, err := jobs.NewRunner(e.b, cfg)
	if err != nil {
		e.t.Fatalf("NewRunner: %v", err)
	}
	ctx, cancel := context.WithCancel(context.WithoutCancel(e.t.Context()))
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					e.t.Errorf("Run = %v; want nil", err)
				}
			case <-time.After(30 * time.Second):
				e.t.Errorf("Run did not return 30 s after cancel")
			}
		})
	}
	e.t.Cleanup(stop)
	return stop
}

func (e *env) enqueue(args jobs.Args, opts ...jobs.Option) *jobs.JobInfo {
	e.t.Helper()
	info, err := e.c.Enqueue(e.t.Context(), args, opts...)
	if err != nil {
		e.t.Fatalf("Enqueue(%v): %v", args, err)
	}
	return info
}

// waitState polls until job id reaches state, and returns its info.
func (e *env) waitState(id string, state jobs.State, within time.Duration) *jobs.JobInfo {
	e.t.Helper()
	deadline := time.Now().Add(within)
	var last *jobs.JobInfo
	for time.Now().Before(deadline) {
		info, err := e.insp.Job(e.t.Context(), id)
		if err == nil {
			last = info
			if info.State == state {
				return info
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	e.t.Fatalf("job %s: state %+v after %v; want %s", id, last, within, state)
	return nil
}

func waitFor(t *testing.T, what string, within time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", within, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// runSuite runs the behavioural suite every backend must pass.
func runSuite(t *testing.T, nb newBackendFunc) {
	t.Run("ProcessProgressResult", func(t *testing.T) { t.Parallel(); testProcess(t, nb) })
	t.Run("RetryThenSucceed", func(t *testing.T) { t.Parallel(); testRetry(t, nb) })
	t.Run("PanicDeadAfterRetries", func(t *testing.T) { t.Parallel(); testPanic(t, nb) })
	t.Run("PermanentFailures", func(t *testing.T) { t.Parallel(); testPermanent(t, nb) })
	t.Run("DelayAndProcessAt", func(t *testing.T) { t.Parallel(); testDelay(t, nb) })
	t.Run("Unique", func(t *testing.T) { t.Parallel(); testUnique(t, nb) })
	t.Run("Timeout", func(t *testing.T) { t.Parallel(); testTimeout(t, nb) })
	t.Run("Cancel", func(t *testing.T) { t.Parallel(); testCancel(t, nb) })
	t.Run("PauseResume", func(t *testing.T) { t.Parallel(); testPause(t, nb) })
	t.Run("QueueCapsAndPriority", func(t *testing.T) { t.Parallel(); testCaps(t, nb) })
	t.Run("Shutdown", func(t *testing.T) { t.Parallel(); testShutdown(t, nb) })
	t.Run("LongJobNeverRunsTwiceAtOnce", func(t *testing.T) { t.Parallel(); testLongJob(t, nb) })
	t.Run("DeadSetInspect", func(t *testing.T) { t.Parallel(); testDead(t, nb) })
	t.Run("ListAndSizes", func(t *testing.T) { t.Parallel(); testList(t, nb) })
	t.Run("Retention", func(t *testing.T) { t.Parallel(); testRetention(t, nb) })
	t.Run("EnqueueMany", func(t *testing.T) { t.Parallel(); testMany(t, nb) })
	t.Run("Scheduler", func(t *testing.T) { t.Parallel(); testScheduler(t, nb) })
	t.Run("Workflows", func(t *testing.T) { t.Parallel(); runWorkflowSuite(t, nb) })
}

func testProcess(t *testing.T, nb newBackendFunc) {
	e := newEnv(t, nb)
	ws := jobs.NewWorkers()
	var sum atomic.Int64
	jobs.AddWorker(ws, jobs.WorkerFunc[noteArgs](func(ctx context.Context, j *jobs.Job[noteArgs]) error {
		if err := j.Progress(ctx, 1, 2, "half"); err != nil {
			return err
		}
		sum.Add(int64(j.Args.N))
		return j.SetResult(map[string]int{"double": j.Args.N * 2})
	}))
	var ids []string
	for i := 1; i <= 50; i++ {
		ids = append(ids, e.enqueue(noteArgs{N: i}, jobs.Owner("alice")).ID)
	}
	e.run(jobs.RunnerConfig{Workers: ws, Concurrency: 4})
	info := e.waitState(ids[49], jobs.StateSucceeded, 10*time.Second)
	waitFor(t, "all 50 jobs", 10*time.Second, func() bool { return sum.Load() == 50*51/2 })
	if string(info.Result) != `{"double":100}` {
		t.Errorf("Result = %s; want {\"double\":100}", info.Result)
	}
	if info.Progress == nil || *info.Progress != (jobs.Progress{Current: 1, Total: 2, Message: "half"}) {
		t.Errorf("Progress = %+v; want 1/2 half", info.Progress)
	}
	if info.Attempts != 1 || info.Kind != "note" || info.Queue != "default" || info.Owner != "alice" || info.FinishedAt.IsZero() {
		t.Errorf("info = %+v; want 1 attempt of note on default owned by alice, finished", info)
	}
}

func testRetry(t *testing.T, nb newBackendFunc) {
	e := newEnv(t, nb)
	ws := jobs.NewWorkers()
	var calls atomic.Int32
	jobs.AddWorker(ws, jobs.WorkerFunc[noteArgs](func(ctx context.Context, j *jobs.Job[noteArgs]) error {
		calls.Add(1)
		if j.Attempt < 3 {
			return fmt.Errorf("attempt %d fails", j.Attempt)
		}
		return nil
	}))
	id := e.enqueue(noteArgs{N: 1}).ID
	e.run(jobs.RunnerConfig{Workers: ws})
	info := e.waitState(id, jobs.StateSucceeded, 10*time.Second)
	if info.Attempts != 3 || calls.Load() != 3 {
		t.Errorf("Attempts = %d, calls = %d; want 3, 3", info.Attempts, calls.Load())
	}
}

func testPanic(t *testing.T, nb newBackendFunc) {
	e := newEnv(t, nb)
	ws := jobs.NewWorkers()
	var ok atomic.Int32
	jobs.AddWorker(ws, jobs.WorkerFunc[noteArgs](func(context.Context, *jobs.Job[noteArgs]) error { panic("boom") }))
	jobs.AddWorker(ws, jobs.WorkerFunc[otherArgs](func(context.Context, *jobs.Job[otherArgs]) error { ok.Add(1); return nil }))
	var backoffs []int
	var mu sync.Mutex
	id := e.enqueue(noteArgs{N: 1}, jobs.MaxRetry(3)).ID
	for i := 0; i < 100; i++ {
		e.enqueue(otherArgs{N: i})
	}
	e.run(jobs.RunnerConfig{Workers: ws, Concurrency: 2, Retry: func(attempt int, err error) time.Duration {
		mu.Lock()
		backoffs = append(backoffs, attempt)
		mu.Unlock()
		return 20 * time.Millisecond
	}})
	info := e.waitState(id, jobs.StateDead, 10*time.Second)
	waitFor(t, "other jobs", 10*time.Second, func() bool { return ok.Load() == 100 })
	if info.Attempts != 4 {
		t.Errorf("Attempts = %d; want 4 (1 + MaxRetry 3)", info.Attempts)
	}
	if len(info.LastError) < 16 || info.LastError[:16] != "jobs: panic: boo" {
		t.Errorf("LastError = %q; want a panic message", info.LastError)
	}
	mu.Lock()
	defer mu.Unlock()
	if fmt.Sprint(backoffs) != "[1 2 3]" {
		t.Errorf("retry policy called for attempts %v; want [1 2 3]", backoffs)
	}
}

func testPermanent(t *testing.T, nb newBackendFunc) {
	e := newEnv(t, nb)
	ws := jobs.NewWorkers()
	var calls atomic.Int32
	jobs.AddWorker(ws, jobs.WorkerFunc[noteArgs](func(ctx context.Context, j *jobs.Job[noteArgs]) error {
		calls.Add(1)
		return jobs.SkipRetry(errors.New("bad input"))
	}))
	tests := []struct {
		name    string
		args    jobs.Args
		wantErr string
	}{
		{"skip retry", noteArgs{N: 1}, "bad input"},
		{"unknown kind", ghostArgs{}, "no worker for kind"},
		{"undecodable payload", badArgs{N: "x"}, "invalid payload"},
	}
	ids := make([]string, len(tests))
	for i, tt := range tests {
		ids[i] = e.enqueue(tt.args, jobs.MaxRetry(5)).ID
	}
	e.run(jobs.RunnerConfig{Workers: ws, UnknownKindWait: -1}) // unknown kinds dead at once (the default waits: unknown_kind_test.go)
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			info := e.waitState(ids[i], jobs.StateDead, 10*time.Second)
			if info.Attempts != 1 || !contains(info.LastError, tt.wantErr) {
				t.Errorf("dead job = attempts %d, error %q; want 1 attempt, error with %q", info.Attempts, info.LastError, tt.wantErr)
			}
		})
	}
	if calls.Load() != 1 {
		t.Errorf("worker calls = %d; want 1", calls.Load())
	}
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}

func testDelay(t *testing.T, nb newBackendFunc) {
	e := newEnv(t, nb)
	ws := jobs.NewWorkers()
	var mu sync.Mutex
	ran := map[int]time.Time{}
	jobs.AddWorker(ws, jobs.WorkerFunc[noteArgs](func(ctx context.Context, j *jobs.Job[noteArgs]) error {
		mu.Lock()
		ran[j.Args.N] = time.Now()
		mu.Unlock()
		return nil
	}))
	start := time.Now()
	a := e.enqueue(noteArgs{N: 1}, jobs.Delay(400*time.Millisecond))
	b := e.enqueue(noteArgs{N: 2}, jobs.ProcessAt(start.Add(200*time.Millisecond)))
	if a.State != jobs.StateScheduled {
		t.Errorf("Enqueue with Delay: State = %s; want scheduled", a.State)
	}
	if info, err := e.insp.Job(t.Context(), b.ID); err != nil || info.State != jobs.StateScheduled {
		t.Errorf("Job(%s) = %+v, %v; want scheduled", b.ID, info, err)
	}
	e.run(jobs.RunnerConfig{Workers: ws})
	e.waitState(a.ID, jobs.StateSucceeded, 5*time.Second)
	mu.Lock()
	defer mu.Unlock()
	if d := ran[1].Sub(start); d < 400*time.Millisecond || d > 2*time.Second {
		t.Errorf("delayed job ran after %v; want 400ms..2s", d)
	}
	if d := ran[2].Sub(start); d < 200*time.Millisecond || d > 2*time.Second {
		t.Errorf("ProcessAt job ran after %v; want 200ms..2s", d)
	}
}

func testUnique(t *testing.T, nb newBackendFunc) {
	e := newEnv(t, nb)
	e.enqueue(noteArgs{N: 1}, jobs.Unique("report:7", time.Minute))
	if _, err := e.c.Enqueue(t.Context(), noteArgs{N: 2}, jobs.Unique("report:7", time.Minute)); !errors.Is(err, jobs.ErrDuplicate) {
		t.Errorf("second Enqueue = %v; want ErrDuplicate", err)
	}
	e.enqueue(noteArgs{N: 3}, jobs.Unique("report:8", 100*time.Millisecond))
	time.Sleep(150 * time.Millisecond)
	e.enqueue(noteArgs{N: 4}, jobs.Unique("report:8", 100*time.Millisecond)) // ttl passed
	infos, err := e.c.EnqueueMany(t.Context(), []jobs.Args{noteArgs{N: 5}, noteArgs{N: 6}}, jobs.Unique("report:9", time.Minute))
	if err != nil || infos[0] == nil || infos[1] != nil {
		t.Errorf("EnqueueMany with one unique key = %v, %v; want first stored, second nil", infos, err)
	}
}

func testTimeout(t *testing.T, nb newBackendFunc) {
	e := newEnv(t, nb)
	ws := jobs.NewWorkers()
	jobs.AddWorker(ws, jobs.WorkerFunc[noteArgs](func(ctx context.Context, j *jobs.Job[noteArgs]) error {
		<-ctx.Done()
		return ctx.Err()
	}))
	id := e.enqueue(noteArgs{N: 1}, jobs.Timeout(50*time.Millisecond), jobs.MaxRetry(1)).ID
	e.run(jobs.RunnerConfig{Workers: ws})
	info := e.waitState(id, jobs.StateDead, 5*time.Second)
	if info.Attempts != 2 || !contains(info.LastError, "deadline exceeded") {
		t.Errorf("timed out job = attempts %d, error %q; want 2, deadline exceeded", info.Attempts, info.LastError)
	}
}

func testCancel(t *testing.T, nb newBackendFunc) {
	e := newEnv(t, nb)
	ws := jobs.NewWorkers()
	started := make(chan string, 10)
	causes := make(chan error, 10)
	var ranOther atomic.Int32
	jobs.AddWorker(ws, jobs.WorkerFunc[noteArgs](func(ctx context.Context, j *jobs.Job[noteArgs]) error {
		started <- j.ID
		<-ctx.Done()
		causes <- context.Cause(ctx)
		return ctx.Err()
	}))
	jobs.AddWorker(ws, jobs.WorkerFunc[otherArgs](func(context.Context, *jobs.Job[otherArgs]) error { ranOther.Add(1); return nil }))
	pending := e.enqueue(otherArgs{N: 1})
	scheduled := e.enqueue(otherArgs{N: 2}, jobs.Delay(300*time.Millisecond))
	for _, id := range []string{pending.ID, scheduled.ID} {
		if err := e.insp.Cancel(t.Context(), id); err != nil {
			t.Fatalf("Cancel(%s) = %v", id, err)
		}
	}
	running := e.enqueue(noteArgs{N: 3})
	e.run(jobs.RunnerConfig{Workers: ws, LeaseDuration: 400 * time.Millisecond})
	if id := <-started; id != running.ID {
		t.Fatalf("started %s; want %s", id, running.ID)
	}
	if err := e.insp.Cancel(t.Context(), running.ID); err != nil {
		t.Fatalf("Cancel(running) = %v", err)
	}
	select {
	case cause := <-causes:
		if !errors.Is(cause, jobs.ErrCancelled) {
			t.Errorf("running job's context cause = %v; want ErrCancelled", cause)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("running job not cancelled within 5 s")
	}
	e.waitState(running.ID, jobs.StateCancelled, 5*time.Second)
	time.Sleep(500 * time.Millisecond)
	if n := ranOther.Load(); n != 0 {
		t.Errorf("cancelled pending/scheduled jobs ran %d times; want 0", n)
	}
	for _, id := range []string{pending.ID, scheduled.ID} {
		if info, err := e.insp.Job(t.Context(), id); err != nil || info.State != jobs.StateCancelled {
			t.Errorf("Job(%s) = %+v, %v; want cancelled", id, info, err)
		}
	}
	if err := e.insp.Cancel(t.Context(), pending.ID); !errors.Is(err, jobs.ErrFinished) {
		t.Errorf("Cancel(cancelled) = %v; want ErrFinished", err)
	}
	if err := e.insp.Cancel(t.Context(), "nope"); !errors.Is(err, jobs.ErrNotFound) {
		t.Errorf("Cancel(unknown) = %v; want ErrNotFound", err)
	}
}

func testPause(t *testing.T, nb newBackendFunc) {
	e := newEnv(t, nb)
	ws := jobs.NewWorkers()
	var n atomic.Int32
	jobs.AddWorker(ws, jobs.WorkerFunc[noteArgs](func(context.Context, *jobs.Job[noteArgs]) error { n.Add(1); return nil }))
	if err := e.insp.Pause(t.Context(), "default"); err != nil {
		t.Fatalf("Pause: %v", err)
	}
	e.enqueue(noteArgs{N: 1})
	e.run(jobs.RunnerConfig{Workers: ws})
	time.Sleep(300 * time.Millisecond)
	if got := n.Load(); got != 0 {
		t.Fatalf("paused queue ran %d jobs; want 0", got)
	}
	if s, err := e.insp.Sizes(t.Context(), "default"); err != nil || !s.Paused || s.Pending != 1 {
		t.Errorf("Sizes = %+v, %v; want paused with 1 pending", s, err)
	}
	if err := e.insp.Resume(t.Context(), "default"); err != nil {
		t.Fatalf("Resume: %v", err)
	}
	waitFor(t, "job after resume", 5*time.Second, func() bool { return n.Load() == 1 })
}

func testCaps(t *testing.T, nb newBackendFunc) {
	e := newEnv(t, nb)
	ws := jobs.NewWorkers()
	var slowRunning, slowMax, fast atomic.Int32
	release := make(chan struct{})
	jobs.AddWorker(ws, jobs.WorkerFunc[noteArgs](func(ctx context.Context, j *jobs.Job[noteArgs]) error {
		cur := slowRunning.Add(1)
		defer slowRunning.Add(-1)
		for {
			m := slowMax.Load()
			if cur <= m || slowMax.CompareAndSwap(m, cur) {
				break
			}
		}
		select {
		case <-release:
		case <-ctx.Done():
		}
		return nil
	}))
	jobs.AddWorker(ws, jobs.WorkerFunc[otherArgs](func(context.Context, *jobs.Job[otherArgs]) error { fast.Add(1); return nil }))
	for i := 0; i < 10; i++ {
		e.enqueue(noteArgs{N: i}, jobs.Queue("slow"))
	}
	e.run(jobs.RunnerConfig{Workers: ws, Concurrency: 4, StrictPriority: true, Queues: map[string]jobs.QueueConfig{
		"slow": {Priority: 10, MaxConcurrency: 2}, // higher priority, but capped
		"fast": {Priority: 1},
	}})
	waitFor(t, "2 slow jobs", 5*time.Second, func() bool { return slowRunning.Load() == 2 })
	for i := 0; i < 200; i++ {
		e.enqueue(otherArgs{N: i}, jobs.Queue("fast"))
	}
	waitFor(t, "fast jobs past capped slow queue", 10*time.Second, func() bool { return fast.Load() == 200 })
	close(release)
	if m := slowMax.Load(); m != 2 {
		t.Errorf("slow queue ran %d at once; want its cap 2", m)
	}
}

func testShutdown(t *testing.T, nb newBackendFunc) {
	e := newEnv(t, nb)
	ws := jobs.NewWorkers()
	var started, finished atomic.Int32
	attempts := make(chan int, 100)
	jobs.AddWorker(ws, jobs.WorkerFunc[noteArgs](func(ctx context.Context, j *jobs.Job[noteArgs]) error {
		started.Add(1)
		attempts <- j.Attempt
		d := 50 * time.Millisecond
		if j.Args.N >= 2 {
			d = time.Minute // long: must be handed back
		}
		select {
		case <-time.After(d):
			finished.Add(1)
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}))
	ids := make([]string, 4)
	for i := range ids {
		ids[i] = e.enqueue(noteArgs{N: i}).ID
	}
	stop := e.run(jobs.RunnerConfig{Workers: ws, Concurrency: 4, ShutdownTimeout: 300 * time.Millisecond})
	waitFor(t, "4 started", 5*time.Second, func() bool { return started.Load() == 4 })
	e.enqueue(noteArgs{N: 0}) // must not be fetched during shutdown
	stop()
	if f := finished.Load(); f != 2 {
		t.Errorf("finished = %d; want the 2 short jobs", f)
	}
	for i, id := range ids {
		info, err := e.insp.Job(t.Context(), id)
		want := jobs.StateSucceeded
		if i >= 2 {
			want = jobs.StatePending
		}
		if err != nil || info.State != want {
			t.Errorf("job %d after shutdown = %+v, %v; want %s", i, info, err, want)
		}
	}
	if s, _ := e.insp.Sizes(t.Context(), "default"); s.Pending != 3 || s.Active != 0 {
		t.Errorf("Sizes after shutdown = %+v; want 3 pending (2 handed back + 1 never fetched), 0 active", s)
	}
	// A new runner sees the handed-back jobs at attempt 1: no attempt counted.
	for len(attempts) > 0 {
		<-attempts
	}
	e.run(jobs.RunnerConfig{Workers: ws, Concurrency: 4, ShutdownTimeout: 100 * time.Millisecond})
	waitFor(t, "restart", 5*time.Second, func() bool { return started.Load() == 7 })
	for i := 0; i < 3; i++ {
		if a := <-attempts; a != 1 {
			t.Errorf("handed-back job attempt = %d; want 1", a)
		}
	}
}

func testLongJob(t *testing.T, nb newBackendFunc) {
	e := newEnv(t, nb)
	ws := jobs.NewWorkers()
	var running, maxRunning, runs atomic.Int32
	jobs.AddWorker(ws, jobs.WorkerFunc[noteArgs](func(ctx context.Context, j *jobs.Job[noteArgs]) error {
		runs.Add(1)
		if running.Add(1) > 1 {
			maxRunning.Store(2)
		}
		defer running.Add(-1)
		select {
		case <-time.After(1200 * time.Millisecond): // 3× the lease
		case <-ctx.Done():
		}
		return nil
	}))
	id := e.enqueue(noteArgs{N: 1}).ID
	cfg := jobs.RunnerConfig{Workers: ws, LeaseDuration: 400 * time.Millisecond, HeartbeatInterval: 100 * time.Millisecond}
	e.run(cfg)
	e.run(cfg) // a second runner polls the same queue and sweeps expired leases
	e.waitState(id, jobs.StateSucceeded, 10*time.Second)
	if maxRunning.Load() > 1 || runs.Load() != 1 {
		t.Errorf("runs = %d, ran twice at once = %v; want 1 run", runs.Load(), maxRunning.Load() > 1)
	}
}

func testDead(t *testing.T, nb newBackendFunc) {
	e := newEnv(t, nb)
	ws := jobs.NewWorkers()
	var fail atomic.Bool
	fail.Store(true)
	jobs.AddWorker(ws, jobs.WorkerFunc[noteArgs](func(context.Context, *jobs.Job[noteArgs]) error {
		if fail.Load() {
			return errors.New("down")
		}
		return nil
	}))
	for i := 0; i < 5; i++ {
		e.enqueue(noteArgs{N: i}, jobs.MaxRetry(0))
	}
	stop := e.run(jobs.RunnerConfig{Workers: ws, DeadMaxSize: 3})
	waitFor(t, "dead jobs", 5*time.Second, func() bool {
		s, _ := e.insp.Sizes(t.Context(), "default")
		return s.Pending == 0 && s.Active == 0 && s.Dead > 0
	})
	stop()
	dead, err := e.insp.Jobs(t.Context(), "default", jobs.StateDead, jobs.Page{})
	if err != nil || len(dead) != 3 {
		t.Fatalf("Jobs(dead) = %d jobs, %v; want 3 (DeadMaxSize)", len(dead), err)
	}
	fail.Store(false)
	if err := e.insp.RetryDead(t.Context(), dead[0].ID); err != nil {
		t.Fatalf("RetryDead: %v", err)
	}
	if err := e.insp.DeleteDead(t.Context(), dead[1].ID); err != nil {
		t.Fatalf("DeleteDead: %v", err)
	}
	if _, err := e.insp.Job(t.Context(), dead[1].ID); !errors.Is(err, jobs.ErrNotFound) {
		t.Errorf("Job(deleted) = %v; want ErrNotFound", err)
	}
	if err := e.insp.RetryDead(t.Context(), dead[0].ID); !errors.Is(err, jobs.ErrFinished) {
		t.Errorf("RetryDead(pending) = %v; want ErrFinished", err)
	}
	e.run(jobs.RunnerConfig{Workers: ws})
	info := e.waitState(dead[0].ID, jobs.StateSucceeded, 5*time.Second)
	if info.Attempts != 1 {
		t.Errorf("retried dead job Attempts = %d; want 1 (reset)", info.Attempts)
	}
}

func testList(t *testing.T, nb newBackendFunc) {
	e := newEnv(t, nb)
	var ids []string
	for i := 0; i < 7; i++ {
		ids = append(ids, e.enqueue(noteArgs{N: i}, jobs.Queue("list")).ID)
	}
	e.enqueue(noteArgs{N: 99}, jobs.Queue("list"), jobs.Delay(time.Hour))
	var got []string
	for off := 0; ; off += 3 {
		page, err := e.insp.Jobs(t.Context(), "list", jobs.StatePending, jobs.Page{Offset: off, Limit: 3})
		if err != nil {
			t.Fatalf("Jobs: %v", err)
		}
		for _, j := range page {
			got = append(got, j.ID)
		}
		if len(page) < 3 {
			break
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(ids) {
		t.Errorf("pending pages = %v; want %v (oldest first)", got, ids)
	}
	sched, err := e.insp.Jobs(t.Context(), "list", jobs.StateScheduled, jobs.Page{})
	if err != nil || len(sched) != 1 || sched[0].Kind != "note" || string(sched[0].Payload) != `{"n":99}` {
		t.Errorf("Jobs(scheduled) = %+v, %v; want the delayed job", sched, err)
	}
	s, err := e.insp.Sizes(t.Context(), "list")
	if err != nil || s.Pending != 7 || s.Scheduled != 1 {
		t.Errorf("Sizes = %+v, %v; want 7 pending, 1 scheduled", s, err)
	}
	qs, err := e.insp.Queues(t.Context())
	if err != nil || !containsStr(qs, "list") {
		t.Errorf("Queues = %v, %v; want list among them", qs, err)
	}
}

func containsStr(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

func testRetention(t *testing.T, nb newBackendFunc) {
	e := newEnv(t, nb)
	ws := jobs.NewWorkers()
	jobs.AddWorker(ws, jobs.WorkerFunc[noteArgs](func(context.Context, *jobs.Job[noteArgs]) error { return nil }))
	id := e.enqueue(noteArgs{N: 1}, jobs.Retention(300*time.Millisecond)).ID
	e.run(jobs.RunnerConfig{Workers: ws})
	e.waitState(id, jobs.StateSucceeded, 5*time.Second)
	waitFor(t, "expiry", 5*time.Second, func() bool {
		_, err := e.insp.Job(t.Context(), id)
		return errors.Is(err, jobs.ErrNotFound)
	})
}

func testMany(t *testing.T, nb newBackendFunc) {
	e := newEnv(t, nb)
	ws := jobs.NewWorkers()
	seen := make(map[int]int)
	var mu sync.Mutex
	jobs.AddWorker(ws, jobs.WorkerFunc[noteArgs](func(ctx context.Context, j *jobs.Job[noteArgs]) error {
		mu.Lock()
		seen[j.Args.N]++
		mu.Unlock()
		return nil
	}))
	args := make([]jobs.Args, 2500)
	for i := range args {
		args[i] = noteArgs{N: i}
	}
	infos, err := e.c.EnqueueMany(t.Context(), args, jobs.Queue("bulk"))
	if err != nil || len(infos) != len(args) {
		t.Fatalf("EnqueueMany = %d, %v", len(infos), err)
	}
	e.run(jobs.RunnerConfig{Workers: ws, Concurrency: 20, Queues: map[string]jobs.QueueConfig{"bulk": {}}})
	waitFor(t, "2500 jobs", 30*time.Second, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(seen) == len(args)
	})
}

func testScheduler(t *testing.T, nb newBackendFunc) {
	e := newEnv(t, nb)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var wg sync.WaitGroup
	for i := 0; i < 2; i++ { // two instances, each tick once
		s, err := jobs.NewScheduler(jobs.SchedulerConfig{Client: e.c, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Add(jobs.PeriodicJob{Name: "tick", Spec: "@every 1s", Args: noteArgs{N: 1}, Options: []jobs.Option{jobs.Queue("sched")}}); err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() { defer wg.Done(); _ = s.Run(ctx) }()
	}
	time.Sleep(3500 * time.Millisecond)
	cancel()
	wg.Wait()
	s, err := e.insp.Sizes(t.Context(), "sched")
	if err != nil || s.Pending < 3 || s.Pending > 4 {
		t.Errorf("pending after 3.5 s of 2 schedulers @every 1s = %+v, %v; want 3..4", s, err)
	}
	// Downtime of 3 ticks: a restarted scheduler catches up one tick, not 3.
	time.Sleep(3 * time.Second)
	before := s.Pending
	ctx2, cancel2 := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel2()
	sc, _ := jobs.NewScheduler(jobs.SchedulerConfig{Client: e.c})
	_ = sc.Add(jobs.PeriodicJob{Name: "tick", Spec: "@every 1s", Args: noteArgs{N: 1}, Options: []jobs.Option{jobs.Queue("sched")}})
	_ = sc.Run(ctx2)
	s, _ = e.insp.Sizes(t.Context(), "sched")
	if got := s.Pending - before; got < 1 || got > 2 {
		t.Errorf("after downtime the scheduler enqueued %d; want 1 catch-up (+1 if a tick fell in the 300 ms run)", got)
	}
}
