package jobs_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/internal/testenv"
	"github.com/gantry-dev/gantry/jobs"
)

// loadArgs is a job of the load test: long jobs outlive several leases.
type loadArgs struct {
	Long bool `json:"long,omitempty"`
}

func (loadArgs) Kind() string { return "load" }

// runLog counts what the load test's workers saw.
type runLog struct {
	mu         sync.Mutex
	running    map[string]int
	overlaps   int // a job started while an earlier start of it still ran
	lost       atomic.Int32
	longDone   atomic.Int32 // long jobs that ran to their end
	longStarts atomic.Int32
	startsThen atomic.Int32 // longStarts when the first long job ran to its end
	longEnd    atomic.Int32 // long jobs that returned, however
	started    atomic.Int64
}

func (l *runLog) work(ctx context.Context, j *jobs.Job[loadArgs]) error {
	l.started.Add(1)
	l.mu.Lock()
	if l.running[j.ID] > 0 {
		l.overlaps++
	}
	l.running[j.ID]++
	l.mu.Unlock()
	defer func() {
		l.mu.Lock()
		l.running[j.ID]--
		l.mu.Unlock()
	}()
	d := time.Duration(0)
	if j.Args.Long {
		d = 4500 * time.Millisecond // over two leases
		l.longStarts.Add(1)
		defer l.longEnd.Add(1)
	}
	select {
	case <-time.After(d):
		if j.Args.Long && l.longDone.Add(1) == 1 {
			l.startsThen.Store(l.longStarts.Load())
		}
		return nil
	case <-ctx.Done():
		if errors.Is(context.Cause(ctx), jobs.ErrLeaseLost) {
			l.lost.Add(1)
		}
		return ctx.Err()
	}
}

// TestRunnerLoadShutdown runs a mix of long and short jobs at several
// concurrencies, on both backends, and shuts the runner down mid-load.
// Heartbeats keep every lease (no job starts twice while running, no
// context is cancelled for a lost lease, no ack refused), Run returns within
// its ShutdownTimeout, and no job is left leased.
func TestRunnerLoadShutdown(t *testing.T) {
	t.Parallel()
	backends := map[string]newBackendFunc{
		"memory": func(*testing.T) jobs.Backend { return jobs.NewMemoryBackend() },
		"redis":  newRedisBackend,
	}
	for _, conc := range []int{1, 16, 200} {
		for name, nb := range backends {
			t.Run(fmt.Sprintf("%s/concurrency=%d", name, conc), func(t *testing.T) {
				if conc >= 200 && testing.Short() {
					t.Skip("the heaviest case; runs without -short")
				}
				t.Parallel()
				testLoadShutdown(t, nb, conc)
			})
		}
	}
}

func testLoadShutdown(t *testing.T, nb newBackendFunc, conc int) {
	e := newEnv(t, nb)
	l := &runLog{running: map[string]int{}}
	ws := jobs.NewWorkers()
	jobs.AddWorker(ws, jobs.WorkerFunc[loadArgs](l.work))

	// A producer keeps the queue full of short jobs, with long ones among
	// them for a quarter of the slots (at least one): long jobs must not
	// fill every slot, or the dispatcher would idle between them.
	pctx, stopProducing := context.WithCancel(context.WithoutCancel(t.Context()))
	produced := make(chan struct{})
	go func() {
		defer close(produced)
		batch := make([]jobs.Args, max(50, 5*conc))
		low := int64(3 * len(batch))
		longs := int32(0) // long jobs enqueued
		for pctx.Err() == nil {
			if s, err := e.insp.Sizes(pctx, "load"); err == nil && s.Pending < low {
				add := int32(max(1, conc/4)) - (longs - l.longEnd.Load())
				for i := range batch {
					long := i%50 == 25 && add > 0
					if long {
						add--
						longs++
					}
					batch[i] = loadArgs{Long: long}
				}
				if _, err := e.c.EnqueueMany(pctx, batch, jobs.Queue("load"), jobs.Retention(2*time.Second), jobs.MaxRetry(3)); err != nil && pctx.Err() == nil {
					t.Errorf("producer: %v", err)
					return
				}
			}
			select {
			case <-pctx.Done():
			case <-time.After(10 * time.Millisecond):
			}
		}
	}()
	defer func() { stopProducing(); <-produced }()

	var logs testenv.Buffer
	const shutdown = time.Second
	r, err := jobs.NewRunner(e.b, jobs.RunnerConfig{Workers: ws, Concurrency: conc, Queues: map[string]jobs.QueueConfig{"load": {}},
		LeaseDuration: 2 * time.Second, HeartbeatInterval: 250 * time.Millisecond, MaintenanceInterval: 100 * time.Millisecond,
		ShutdownTimeout: shutdown, Retry: fastRetry, Logger: slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.WithoutCancel(t.Context()))
	defer cancel()
	ran := make(chan struct{})
	go func() { _ = r.Run(ctx); close(ran) }()

	waitFor(t, "a long job to outlive two leases and another to start after it", 30*time.Second, func() bool {
		return l.longDone.Load() >= 1 && l.longStarts.Load() > l.startsThen.Load()
	})
	before := l.started.Load()
	longAtCancel := l.longStarts.Load() - l.longEnd.Load()
	cancel() // mid-load: the producer goes on
	at := time.Now()
	var took time.Duration
	select {
	case <-ran:
		took = time.Since(at)
	case <-time.After(shutdown + 10*time.Second):
		took = time.Since(at)
		stopProducing()
		<-ran
	}
	stopProducing()
	<-produced

	l.mu.Lock()
	overlaps := l.overlaps
	l.mu.Unlock()
	refused := strings.Count(logs.String(), "acks refused") + strings.Count(logs.String(), "heartbeat failed")
	t.Logf("%d jobs started before the cancel (%d long finished, %d running); Run returned %v after it; %d overlaps, %d leases lost, %d refused acks or failed heartbeats",
		before, l.longDone.Load(), longAtCancel, took.Round(time.Millisecond), overlaps, l.lost.Load(), refused)
	if overlaps != 0 || l.lost.Load() != 0 || refused != 0 {
		t.Errorf("%d jobs started while an earlier start still ran, %d contexts cancelled for a lost lease, %d refused acks or failed heartbeats; want 0, 0, 0\n%s",
			overlaps, l.lost.Load(), refused, logs.String())
	}
	if took > shutdown+3*time.Second {
		t.Errorf("Run returned %v after cancel; want within ShutdownTimeout %v (+3 s margin)", took.Round(time.Millisecond), shutdown)
	}
	if s, err := e.insp.Sizes(t.Context(), "load"); err != nil || s.Active != 0 {
		t.Errorf("after Run returned: %+v, %v; want no job left leased (all acknowledged or handed back)", s, err)
	}
	if t.Failed() {
		t.Logf("runner's warnings:\n%s", logs.String())
	}
}
