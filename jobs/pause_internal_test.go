package jobs

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"
)

type pauseArgs struct {
	N int `json:"n"`
}

func (pauseArgs) Kind() string { return "pause" }

// TestPauseRunningRunner pauses a queue under a running runner: jobs of the
// queue enqueued after Pause are not started for 20 fetch rounds while an
// unpaused queue keeps flowing, and Resume brings them back within one
// maintenance round. Five short pause/resume cycles follow, each with a job
// enqueued right after Pause, while the runner waits for work on the queue.
func TestPauseRunningRunner(t *testing.T) {
	t.Parallel()
	for _, tb := range testBackends() {
		t.Run(tb.name, func(t *testing.T) {
			t.Parallel()
			b, _ := tb.new(t)
			ctx := t.Context()
			insp := NewInspector(b)
			c, _ := NewClient(b, ClientConfig{})
			var mu sync.Mutex
			startedAt := map[string]time.Time{}
			ws := NewWorkers()
			AddWorker(ws, WorkerFunc[pauseArgs](func(_ context.Context, j *Job[pauseArgs]) error {
				mu.Lock()
				startedAt[j.ID] = time.Now()
				mu.Unlock()
				return nil
			}))
			started := func(id string) bool {
				mu.Lock()
				defer mu.Unlock()
				_, ok := startedAt[id]
				return ok
			}
			const maint = 50 * time.Millisecond
			r, err := NewRunner(b, RunnerConfig{Workers: ws, Concurrency: 4, MaintenanceInterval: maint, IdleWait: 100 * time.Millisecond,
				Queues: map[string]QueueConfig{"p": {}, "q": {}}, Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				t.Fatal(err)
			}
			startRunner(t, r)
			enqueue := func(q string) string {
				t.Helper()
				info, err := c.Enqueue(ctx, pauseArgs{}, Queue(q))
				if err != nil {
					t.Fatal(err)
				}
				return info.ID
			}
			warm := enqueue("p")
			regWait(t, "the first job of p", 5*time.Second, func() bool { return started(warm) })

			if err := insp.Pause(ctx, "p"); err != nil {
				t.Fatal(err)
			}
			var held []string
			for range 5 {
				held = append(held, enqueue("p"))
			}
			// 20 maintenance rounds (each fetches every queue) with q flowing.
			var flowed []string
			for range 10 {
				id := enqueue("q")
				flowed = append(flowed, id)
				time.Sleep(100 * time.Millisecond)
			}
			regWait(t, "q's jobs", 5*time.Second, func() bool {
				for _, id := range flowed {
					if !started(id) {
						return false
					}
				}
				return true
			})
			for _, id := range held {
				if started(id) {
					t.Errorf("job %s of paused queue p started", id)
				}
			}
			if s, err := insp.Sizes(ctx, "p"); err != nil || !s.Paused || s.Pending != 5 || s.Active != 0 {
				t.Errorf("Sizes(p) = %+v, %v; want paused, 5 pending, none active", s, err)
			}

			if err := insp.Resume(ctx, "p"); err != nil {
				t.Fatal(err)
			}
			resumed := time.Now()
			regWait(t, "p's jobs after Resume", 5*time.Second, func() bool {
				for _, id := range held {
					if !started(id) {
						return false
					}
				}
				return true
			})
			lat := time.Since(resumed)
			t.Logf("resume to all 5 held jobs started: %v (MaintenanceInterval %v)", lat, maint)
			if lat > maint+500*time.Millisecond {
				t.Errorf("held jobs started %v after Resume; want within one maintenance round (%v) and a little", lat, maint)
			}

			// Short cycles: Pause, enqueue at once, nothing starts; Resume.
			for i := range 5 {
				if err := insp.Pause(ctx, "p"); err != nil {
					t.Fatal(err)
				}
				id := enqueue("p")
				time.Sleep(4 * maint)
				if started(id) {
					t.Errorf("cycle %d: job %s enqueued right after Pause started", i, id)
				}
				if err := insp.Resume(ctx, "p"); err != nil {
					t.Fatal(err)
				}
				regWait(t, "the job after Resume", maint+time.Second, func() bool { return started(id) })
			}
		})
	}
}
