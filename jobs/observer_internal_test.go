package jobs

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"
)

// countObserver records what it is told. Its methods dereference the
// receiver, so a nil *countObserver that reached them would panic.
type countObserver struct {
	mu        sync.Mutex
	enqueued  map[[2]string]int
	processed map[[3]string]int
	skipped   map[string]int
}

func newCountObserver() *countObserver {
	return &countObserver{enqueued: map[[2]string]int{}, processed: map[[3]string]int{}, skipped: map[string]int{}}
}

func (o *countObserver) Enqueued(queue, kind string, n int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.enqueued[[2]string{queue, kind}] += n
}

func (o *countObserver) Processed(queue, kind, outcome string, _ time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.processed[[3]string{queue, kind, outcome}]++
}

func (o *countObserver) TickSkipped(schedule string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.skipped[schedule]++
}

func (o *countObserver) skips(schedule string) float64 {
	o.mu.Lock()
	defer o.mu.Unlock()
	return float64(o.skipped[schedule])
}

type funcObserver func()

func (funcObserver) Enqueued(string, string, int)                    { panic("called") }
func (funcObserver) Processed(string, string, string, time.Duration) { panic("called") }
func (funcObserver) TickSkipped(string)                              { panic("called") }

type valueObserver struct{}

func (valueObserver) Enqueued(string, string, int)                    {}
func (valueObserver) Processed(string, string, string, time.Duration) {}
func (valueObserver) TickSkipped(string)                              {}

// TestObserverNil: a nil Observer, and a nil pointer or func in a non-nil
// one, record nothing: the client, runner and scheduler never call it.
func TestObserverNil(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		o       Observer
		wantNil bool
	}{
		{"nil interface", nil, true},
		{"nil pointer", (*countObserver)(nil), true},
		{"nil func", funcObserver(nil), true},
		{"pointer", newCountObserver(), false},
		{"value", valueObserver{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := observer(tt.o); (got == nil) != tt.wantNil {
				t.Fatalf("observer(%T) = %v; want nil: %v", tt.o, got, tt.wantNil)
			}
			if !tt.wantNil {
				return
			}
			// Every call path with the typed nil: would panic if called.
			b := NewMemoryBackend()
			c, err := NewClient(b, ClientConfig{Metrics: tt.o})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.Enqueue(t.Context(), periodicArgs{}, Queue("h"), tickAt("hourly", time.Now().Add(-5*time.Hour))); err != nil {
				t.Fatal(err)
			}
			if _, err := c.EnqueueMany(t.Context(), []Args{periodicArgs{}}); err != nil {
				t.Fatal(err)
			}
			ws := NewWorkers()
			done := make(chan struct{}, 2)
			AddWorker(ws, WorkerFunc[periodicArgs](func(context.Context, *Job[periodicArgs]) error {
				done <- struct{}{}
				return nil
			}))
			r, err := NewRunner(b, RunnerConfig{Workers: ws, Metrics: tt.o, Logger: slog.New(slog.DiscardHandler),
				Queues: map[string]QueueConfig{"default": {}, "h": {}}})
			if err != nil {
				t.Fatal(err)
			}
			s, err := NewScheduler(SchedulerConfig{Client: c, MisfireGrace: time.Nanosecond, Metrics: tt.o, Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Add(PeriodicJob{Name: "hourly", Spec: "@hourly", Args: periodicArgs{}, Options: []Option{Queue("h")}}); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
			defer cancel()
			var wg sync.WaitGroup
			wg.Go(func() { _ = r.Run(ctx) })
			wg.Go(func() { _ = s.Run(ctx) })
			for range 2 {
				select {
				case <-done:
				case <-ctx.Done():
					t.Fatal("jobs not processed")
				}
			}
			cancel()
			wg.Wait()
		})
	}
}

// TestObserverTold: the client reports each stored job, the runner each
// finished attempt with its outcome, with queue and kind.
func TestObserverTold(t *testing.T) {
	t.Parallel()
	b := NewMemoryBackend()
	o := newCountObserver()
	c, _ := NewClient(b, ClientConfig{Metrics: o})
	if _, err := c.Enqueue(t.Context(), periodicArgs{}, Queue("h")); err != nil {
		t.Fatal(err)
	}
	if _, err := c.EnqueueMany(t.Context(), []Args{periodicArgs{}, periodicArgs{}}, Queue("h")); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Enqueue(t.Context(), periodicArgs{}, Queue("h"), Unique("k", time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Enqueue(t.Context(), periodicArgs{}, Queue("h"), Unique("k", time.Hour)); err == nil {
		t.Fatal("duplicate enqueued")
	}
	ws := NewWorkers()
	AddWorker(ws, WorkerFunc[periodicArgs](func(context.Context, *Job[periodicArgs]) error { return nil }))
	r, _ := NewRunner(b, RunnerConfig{Workers: ws, Metrics: o, Logger: slog.New(slog.DiscardHandler), Queues: map[string]QueueConfig{"h": {}}})
	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	wg.Go(func() { _ = r.Run(ctx) })
	kind := periodicArgs{}.Kind()
	deadline := time.Now().Add(5 * time.Second)
	for {
		o.mu.Lock()
		n := o.processed[[3]string{"h", kind, OutcomeSucceeded}]
		o.mu.Unlock()
		if n == 4 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("processed{h,%s,succeeded} = %d; want 4", kind, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	wg.Wait()
	o.mu.Lock()
	defer o.mu.Unlock()
	if got := o.enqueued[[2]string{"h", kind}]; got != 4 {
		t.Errorf("enqueued{h,%s} = %d; want 4 (the duplicate is not counted)", kind, got)
	}
	if len(o.processed) != 1 {
		t.Errorf("processed = %v; want only succeeded", o.processed)
	}
}
