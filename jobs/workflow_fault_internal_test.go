package jobs

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// flakyOutcomes is a memory backend whose workflow outcome script fails
// the first n times, as a Redis that went away for a moment would.
type flakyOutcomes struct {
	*MemoryBackend
	fails atomic.Int32
}

func (b *flakyOutcomes) stepDone(ctx context.Context, wf string, step int, out stepOutcome, now time.Time) ([]release, error) {
	if b.fails.Add(-1) >= 0 {
		return nil, errors.New("backend gone for a moment")
	}
	return b.MemoryBackend.stepDone(ctx, wf, step, out, now)
}

// A step whose outcome cannot be recorded is handed back without spending
// an attempt (with MaxRetry 0 a spent attempt would kill it), runs again,
// and its workflow goes on once the outcome is recorded.
func TestWorkflowOutcomeNotRecorded(t *testing.T) {
	t.Parallel()
	b := &flakyOutcomes{MemoryBackend: NewMemoryBackend()}
	b.fails.Store(1)
	var mu sync.Mutex
	runs := map[int]int{}
	ws := NewWorkers()
	AddWorker(ws, WorkerFunc[wfiArgs](func(ctx context.Context, j *Job[wfiArgs]) error {
		mu.Lock()
		runs[j.Args.N]++
		mu.Unlock()
		return nil
	}))
	r, err := NewRunner(b, RunnerConfig{Workers: ws, Logger: slog.New(slog.DiscardHandler), MaintenanceInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	defer func() { stop(); <-done }()
	c, _ := NewClient(b, ClientConfig{})
	wi, err := c.EnqueueWorkflow(t.Context(), Chain(Step(wfiArgs{1}, MaxRetry(0)), Step(wfiArgs{2})))
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		w, err := b.workflow(t.Context(), wi.ID)
		if err == nil && w.State != WorkflowRunning {
			if w.State != WorkflowSucceeded {
				t.Fatalf("workflow ended %s: %+v", w.State, w.Steps)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("workflow still running: %+v", w)
		}
		time.Sleep(10 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	if runs[1] != 2 || runs[2] != 1 {
		t.Errorf("runs = %v; want step 1 twice (handed back once), step 2 once", runs)
	}
	info, err := b.job(t.Context(), nil, wi.Steps[0].JobID, time.Now())
	if err != nil || info.State != StateSucceeded || info.Attempts != 1 {
		t.Errorf("first step = %+v, %v; want succeeded after 1 counted attempt", info, err)
	}
}
