package jobs_test

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/jobs"
)

// noopArgs is the flood job: it does nothing.
type noopArgs struct{}

func (noopArgs) Kind() string { return "noop" }

// flood keeps at least low jobs pending on queue until the returned stop is
// called, so a runner stays under load however fast it is.
func flood(t *testing.T, e *env, queue string, low int) (stop func()) {
	t.Helper()
	batch := make([]jobs.Args, 2000)
	for i := range batch {
		batch[i] = noopArgs{}
	}
	ctx, cancel := context.WithCancel(context.WithoutCancel(t.Context()))
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			s, err := e.insp.Sizes(ctx, queue)
			if err == nil && s.Pending < int64(low) {
				_, err = e.c.EnqueueMany(ctx, batch, jobs.Queue(queue), jobs.Retention(2*time.Second), jobs.MaxRetry(0))
			}
			if err != nil && ctx.Err() == nil {
				t.Errorf("flood: %v", err)
				return
			}
			select {
			case <-ctx.Done():
			case <-time.After(5 * time.Millisecond):
			}
		}
	}()
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); <-done }) }
	t.Cleanup(stop)
	return stop
}

// TestBurstDispatcherUnderFlood runs one long job among a flood of no-op jobs
// at concurrency 200: the long job's lease must be extended on time (it starts
// once), and a cancel must be seen within a fetch round trip, not after the
// backlog drained.
func TestBurstDispatcherUnderFlood(t *testing.T) {
	t.Parallel()
	for name, nb := range map[string]newBackendFunc{
		"memory": func(*testing.T) jobs.Backend { return jobs.NewMemoryBackend() },
		"redis":  newRedisBackend,
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, nb)
			ws := jobs.NewWorkers()
			const longFor = 4500 * time.Millisecond // over two leases
			var longStarts, longEnds atomic.Int32
			var cancelled atomic.Bool
			var startedAfterCancel, noops atomic.Int64
			jobs.AddWorker(ws, jobs.WorkerFunc[noteArgs](func(ctx context.Context, j *jobs.Job[noteArgs]) error {
				longStarts.Add(1)
				defer longEnds.Add(1)
				select {
				case <-time.After(longFor):
				case <-ctx.Done():
				}
				return nil
			}))
			jobs.AddWorker(ws, jobs.WorkerFunc[noopArgs](func(ctx context.Context, j *jobs.Job[noopArgs]) error {
				noops.Add(1)
				if cancelled.Load() {
					startedAfterCancel.Add(1)
				}
				return nil
			}))
			e.enqueue(noteArgs{N: 1}, jobs.Queue("flood"), jobs.MaxRetry(5)) // first in line
			stopFlood := flood(t, e, "flood", 20000)
			const shutdown = time.Second
			cfg := jobs.RunnerConfig{Workers: ws, Concurrency: 200, Queues: map[string]jobs.QueueConfig{"flood": {}},
				LeaseDuration: 2 * time.Second, HeartbeatInterval: 250 * time.Millisecond, MaintenanceInterval: 100 * time.Millisecond,
				ShutdownTimeout: shutdown, Logger: slog.New(slog.DiscardHandler)}
			r, err := jobs.NewRunner(e.b, cfg)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.WithoutCancel(t.Context()))
			defer cancel()
			ran := make(chan struct{})
			go func() { _ = r.Run(ctx); close(ran) }()

			waitFor(t, "the long job to end", 60*time.Second, func() bool { return longEnds.Load() >= 1 })
			n0 := noops.Load()
			cancelled.Store(true)
			cancel() // mid-flood: the flood goes on until Run returns
			at := time.Now()
			var took time.Duration
			select {
			case <-ran:
				took = time.Since(at)
			case <-time.After(shutdown + 10*time.Second):
				took = time.Since(at)
				stopFlood()
				<-ran
			}
			stopFlood()
			t.Logf("%d no-op jobs before cancel; Run returned %v after cancel; %d jobs started after cancel; long job started %d times",
				n0, took.Round(time.Millisecond), startedAfterCancel.Load(), longStarts.Load())
			if n := longStarts.Load(); n != 1 {
				t.Errorf("long job started %d times while the flood ran; want 1 (its lease was not extended)", n)
			}
			if took > shutdown+3*time.Second {
				t.Errorf("Run returned %v after cancel; want within ShutdownTimeout %v (+3 s margin)", took.Round(time.Millisecond), shutdown)
			}
			// A cancel is seen within one fetch round trip per lane (allow
			// two: Fetchers 2 × FetchBatch 32 each), on top of the up to
			// Concurrency jobs leased before the cancel that a worker
			// goroutine had not picked up yet.
			if n, most := startedAfterCancel.Load(), int64(200+2*2*32); n > most {
				t.Errorf("%d jobs started after cancel; want at most %d (slots + two fetch rounds per lane)", n, most)
			}
		})
	}
}
