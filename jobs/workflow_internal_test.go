package jobs

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"
)

type wfiArgs struct {
	N int `json:"n"`
}

func (wfiArgs) Kind() string { return "wfi" }

// A runner that recorded a step's outcome and died before acknowledging it
// runs the step again: the repeated outcome releases the next step again,
// and the id guard keeps it one job.
func TestWorkflowRepeatedOutcome(t *testing.T) {
	for _, tb := range testBackends() {
		t.Run(tb.name, func(t *testing.T) {
			t.Parallel()
			b, _ := tb.new(t)
			ctx := t.Context()
			c, _ := NewClient(b, ClientConfig{})
			wi, err := c.EnqueueWorkflow(ctx, Chain(Step(wfiArgs{1}), Step(wfiArgs{2}), Step(wfiArgs{3})))
			if err != nil {
				t.Fatal(err)
			}
			for range 3 {
				if err := finishStep(ctx, b, wi.ID, 0, stepOutcome{state: 's', value: `1`}, time.Now()); err != nil {
					t.Fatal(err)
				}
			}
			s, err := b.sizes(ctx, "default", time.Now())
			if err != nil || s.Pending != 2 { // step 0 (never fetched here) and step 1 once
				t.Fatalf("pending = %+v, %v; want 2", s, err)
			}
			got, _ := b.workflow(ctx, wi.ID)
			if got.Steps[0].State != StepSucceeded || got.Steps[1].State != StepReleased || got.Steps[2].State != StepWaiting {
				t.Errorf("steps = %+v", got.Steps)
			}
			// The repeated outcome of a failure changes nothing either.
			if err := finishStep(ctx, b, wi.ID, 0, stepOutcome{state: 'f', value: "late"}, time.Now()); err != nil {
				t.Fatal(err)
			}
			if got, _ := b.workflow(ctx, wi.ID); got.Steps[0].State != StepSucceeded || got.State != WorkflowRunning {
				t.Errorf("after a late failure: %+v", got)
			}
		})
	}
}

// 200 members report at once, each twice: the callback is enqueued once.
func TestWorkflowChordCountsOnce(t *testing.T) {
	for _, tb := range testBackends() {
		t.Run(tb.name, func(t *testing.T) {
			t.Parallel()
			b, _ := tb.new(t)
			ctx := t.Context()
			c, _ := NewClient(b, ClientConfig{})
			var ms []Node
			for i := range 200 {
				ms = append(ms, Step(wfiArgs{i}))
			}
			wi, err := c.EnqueueWorkflow(ctx, Chord(Group(ms...), Step(wfiArgs{-1}, Queue("cb"))))
			if err != nil {
				t.Fatal(err)
			}
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i := range 400 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					if err := finishStep(ctx, b, wi.ID, i%200, stepOutcome{state: 's', value: fmt.Sprint(i % 200)}, time.Now()); err != nil {
						t.Error(err)
					}
				}()
			}
			close(start)
			wg.Wait()
			s, err := b.sizes(ctx, "cb", time.Now())
			if err != nil || s.Pending != 1 {
				t.Fatalf("callback queue: %+v, %v; want 1 pending", s, err)
			}
			in, err := b.stepInputs(ctx, wi.ID, 200)
			if err != nil || len(in) != 200 || string(in[199].Result) != "199" {
				t.Fatalf("inputs: %d, %v", len(in), err)
			}
		})
	}
}

// A whole workflow run by a runner leaves nothing behind after the
// retention of its jobs and its own.
func TestWorkflowLeavesNothing(t *testing.T) {
	for _, tb := range testBackends() {
		t.Run(tb.name, func(t *testing.T) {
			t.Parallel()
			b, leftovers := tb.new(t)
			ctx := t.Context()
			c, _ := NewClient(b, ClientConfig{Retention: 300 * time.Millisecond})
			ws := NewWorkers()
			AddWorker(ws, WorkerFunc[wfiArgs](func(ctx context.Context, j *Job[wfiArgs]) error {
				if j.Args.N == 2 {
					return SkipRetry(fmt.Errorf("no"))
				}
				return nil
			}))
			r, err := NewRunner(b, RunnerConfig{Workers: ws, Logger: slog.New(slog.DiscardHandler), MaintenanceInterval: 50 * time.Millisecond,
				DeadMaxAge: 300 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			rctx, cancel := context.WithCancel(ctx)
			done := make(chan error, 1)
			go func() { done <- r.Run(rctx) }()
			defer func() { cancel(); <-done }()
			wi, err := c.EnqueueWorkflow(ctx, Chain(Step(wfiArgs{1}), Chord(Group(Step(wfiArgs{2}), Step(wfiArgs{3})), Step(wfiArgs{4}), Partial())),
				OnFailure(Step(wfiArgs{5})), WorkflowRetention(300*time.Millisecond))
			if err != nil {
				t.Fatal(err)
			}
			deadline := time.Now().Add(10 * time.Second)
			for {
				w, err := b.workflow(ctx, wi.ID)
				if err == nil && w.State == WorkflowFailed {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("workflow: %+v, %v", w, err)
				}
				time.Sleep(10 * time.Millisecond)
			}
			for {
				left := leftovers()
				if _, err := b.workflow(ctx, wi.ID); len(left) == 0 && err == ErrNotFound {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("left behind: %v", left)
				}
				time.Sleep(50 * time.Millisecond)
			}
		})
	}
}
