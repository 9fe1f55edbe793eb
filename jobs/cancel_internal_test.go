package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"
)

// cancelArgs selects what the handler of TestCancelPaths does.
type cancelArgs struct {
	Path string `json:"path"`
}

func (cancelArgs) Kind() string { return "cancelpath" }

// TestCancelPaths cancels a job in every state a cancel can meet, with every
// outcome a running handler can have, on both backends: each job ends
// cancelled (never succeeded, retried or dead), with the same attempts and
// last error on both, counted once as cancelled, and once its retention has
// passed nothing of it is left: no Redis key under the test's prefix, no
// entry in the memory backend's maps.
func TestCancelPaths(t *testing.T) {
	t.Parallel()
	for _, tb := range testBackends() {
		t.Run(tb.name, func(t *testing.T) {
			t.Parallel()
			b, leftovers := tb.new(t)
			testCancelPaths(t, b, leftovers)
		})
	}
}

// The running paths: how the handler ends once the job is cancelled.
// "early" handlers end as soon as Cancel returned, before the runner's next
// heartbeat tells them; "late" ones wait for their context.
var runningCancelPaths = []string{"nil-early", "nil-late", "error-early", "ctxerr-late", "skip-early"}

func testCancelPaths(t *testing.T, b Backend, leftovers func() []string) {
	ctx := t.Context()
	c, _ := NewClient(b, ClientConfig{})
	insp := NewInspector(b)
	const retention = 4 * time.Second

	started := map[string]chan struct{}{}
	release := map[string]chan struct{}{}
	for _, p := range runningCancelPaths {
		started[p], release[p] = make(chan struct{}), make(chan struct{})
	}
	var mu sync.Mutex
	runs, returned := map[string]int{}, 0
	ws := NewWorkers()
	AddWorker(ws, WorkerFunc[cancelArgs](func(ctx context.Context, j *Job[cancelArgs]) error {
		p := j.Args.Path
		mu.Lock()
		runs[p]++
		mu.Unlock()
		defer func() { mu.Lock(); returned++; mu.Unlock() }()
		switch p {
		case "retrying":
			return errors.New("first attempt fails")
		case "finished":
			return nil
		}
		if started[p] == nil {
			return fmt.Errorf("path %s must not run", p)
		}
		close(started[p])
		switch p {
		case "nil-early":
			<-release[p]
			return nil
		case "nil-late":
			<-ctx.Done()
			return nil
		case "error-early":
			<-release[p]
			return errors.New("failed after the cancel")
		case "ctxerr-late":
			<-ctx.Done()
			return ctx.Err()
		default: // skip-early
			<-release[p]
			return SkipRetry(errors.New("gave up after the cancel"))
		}
	}))
	r, err := NewRunner(b, RunnerConfig{Workers: ws, Concurrency: 8, LeaseDuration: 4 * time.Second, HeartbeatInterval: time.Second,
		MaintenanceInterval: 50 * time.Millisecond, Retry: func(int, error) time.Duration { return time.Hour },
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	rctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	defer func() { stop(); <-done }()

	ids := map[string]string{}
	enq := func(path string, opts ...Option) {
		t.Helper()
		info, err := c.Enqueue(ctx, cancelArgs{Path: path}, append(opts, Retention(retention), MaxRetry(3))...)
		if err != nil {
			t.Fatal(err)
		}
		ids[path] = info.ID
	}
	cancel := func(path string) {
		t.Helper()
		if err := insp.Cancel(ctx, ids[path]); err != nil {
			t.Fatalf("Cancel(%s job) = %v; want nil", path, err)
		}
	}
	// Pending and scheduled: cancelled before any runner runs.
	enq("pending")
	enq("scheduled", Delay(time.Hour))
	cancel("pending")
	cancel("scheduled")
	enq("retrying")
	enq("finished")
	for _, p := range runningCancelPaths {
		enq(p)
	}
	go func() { _ = r.Run(rctx); close(done) }()
	for _, p := range runningCancelPaths {
		select {
		case <-started[p]:
		case <-time.After(10 * time.Second):
			t.Fatalf("%s job did not start within 10 s", p)
		}
		cancel(p)
		close(release[p]) // the "late" handlers ignore it
	}
	waitFor(t, "the retrying job to be retrying", 10*time.Second, func() bool {
		info, err := insp.Job(ctx, ids["retrying"])
		return err == nil && info.State == StateRetrying
	})
	cancel("retrying")
	waitFor(t, "the finished job to succeed", 10*time.Second, func() bool {
		info, err := insp.Job(ctx, ids["finished"])
		return err == nil && info.State == StateSucceeded
	})
	if err := insp.Cancel(ctx, ids["finished"]); !errors.Is(err, ErrFinished) {
		t.Errorf("Cancel(finished job) = %v; want ErrFinished", err)
	}
	if err := insp.Cancel(ctx, ids["pending"]); !errors.Is(err, ErrFinished) {
		t.Errorf("Cancel(cancelled job) = %v; want ErrFinished", err)
	}
	if err := insp.Cancel(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Cancel(unknown id) = %v; want ErrNotFound", err)
	}
	// Every handler has returned and every ack is in: nothing active,
	// nothing pending (the cancelled pending job was dropped at its fetch).
	if !eventually(10*time.Second, func() bool {
		mu.Lock()
		n := returned
		mu.Unlock()
		s, err := insp.Sizes(ctx, "default")
		return n == 2+len(runningCancelPaths) && err == nil && s.Active == 0 && s.Pending == 0
	}) {
		t.Fatal("handlers did not all return and get acknowledged within 10 s")
	}
	for path, id := range ids {
		info, err := insp.Job(ctx, id)
		if err != nil {
			t.Errorf("%s job: %v", path, err)
			continue
		}
		wantState, wantAttempts, wantErr := StateCancelled, 1, ""
		switch path {
		case "pending", "scheduled":
			wantAttempts = 0
		case "retrying":
			wantErr = "first attempt fails"
		case "finished":
			wantState = StateSucceeded
		}
		if info.State != wantState || info.Attempts != wantAttempts || info.LastError != wantErr || info.FinishedAt.IsZero() {
			t.Errorf("%s job = state %s, attempts %d, last error %q, finished %v; want %s, %d, %q, finished",
				path, info.State, info.Attempts, info.LastError, info.FinishedAt, wantState, wantAttempts, wantErr)
		}
	}
	mu.Lock()
	for path, n := range runs {
		wantRuns := 1
		if path == "pending" || path == "scheduled" {
			wantRuns = 0
		}
		if n != wantRuns {
			t.Errorf("%s job ran %d times; want %d", path, n, wantRuns)
		}
	}
	mu.Unlock()
	want := QueueSizes{Queue: "default", Succeeded: 1, Cancelled: int64(3 + len(runningCancelPaths))}
	if got, err := insp.Sizes(ctx, "default"); err != nil || got != want {
		t.Errorf("Sizes = %+v, %v; want %+v", got, err, want)
	}
	cancelled, err := insp.Jobs(ctx, "default", StateCancelled, Page{})
	if err != nil || len(cancelled) != 3+len(runningCancelPaths) {
		t.Errorf("Jobs(cancelled) = %d jobs, %v; want %d", len(cancelled), err, 3+len(runningCancelPaths))
	}
	for _, st := range []State{StatePending, StateSucceeded, StateDead, StateRetrying} {
		n := 1
		if st != StateSucceeded {
			n = 0
		}
		if l, err := insp.Jobs(ctx, "default", st, Page{}); err != nil || len(l) != n {
			t.Errorf("Jobs(%s) = %d jobs, %v; want %d", st, len(l), err, n)
		}
	}

	// Past the retention, with the runner's maintenance still running:
	// nothing is left.
	time.Sleep(retention)
	var left []string
	if !eventually(15*time.Second, func() bool { left = leftovers(); return len(left) == 0 }) {
		t.Errorf("%v after the retention: left behind %v; want nothing", retention, left)
	}
	for path, id := range ids {
		if _, err := insp.Job(ctx, id); !errors.Is(err, ErrNotFound) {
			t.Errorf("%s job after the retention: %v; want ErrNotFound", path, err)
		}
	}
}

// eventually polls cond until it holds or within has passed.
func eventually(within time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
	return true
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
