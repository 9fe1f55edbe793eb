package jobs

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/internal/testenv"
)

// slowAcks delays every fetch that carries acks, as a busy Redis would.
type slowAcks struct {
	Backend
	delay time.Duration
}

func (s slowAcks) fetch(ctx context.Context, f *fetchReq) (*fetchResp, error) {
	if len(f.acks) > 0 {
		time.Sleep(s.delay)
	}
	return s.Backend.fetch(ctx, f)
}

type pairArgs struct {
	N int `json:"n"`
}

func (pairArgs) Kind() string { return "pair" }

// TestShutdownAcksFinishedJobs: at the shutdown deadline, jobs that finished
// before it but whose acks had not gone out yet are acknowledged, not handed
// back to run again. Each of 16 lanes runs two jobs; the first one's ack is
// slow, and the second finishes, and the deadline passes, while it is in
// flight.
func TestShutdownAcksFinishedJobs(t *testing.T) {
	t.Parallel()
	backends := map[string]func(t *testing.T) Backend{
		"memory": func(*testing.T) Backend { return NewMemoryBackend() },
		"redis": func(t *testing.T) Backend {
			rdb, prefix := testenv.Redis(t)
			b, err := NewRedisBackend(rdb, RedisConfig{Prefix: prefix})
			if err != nil {
				t.Fatal(err)
			}
			return b
		},
	}
	for name, nb := range backends {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			b := nb(t)
			c, _ := NewClient(b, ClientConfig{})
			const lanes, shutdown = 16, 1200 * time.Millisecond
			for i := range 2 * lanes { // 0 (short), 1 (long), 2 (short), ...: each fetch of 2 takes one of each
				if _, err := c.Enqueue(t.Context(), pairArgs{N: i}, MaxRetry(0)); err != nil {
					t.Fatal(err)
				}
			}
			var mu sync.Mutex
			runs := map[int]int{}
			returned := map[int]time.Time{}
			var started atomic.Int32
			ws := NewWorkers()
			AddWorker(ws, WorkerFunc[pairArgs](func(ctx context.Context, j *Job[pairArgs]) error {
				mu.Lock()
				runs[j.Args.N]++
				mu.Unlock()
				started.Add(1)
				d := 500 * time.Millisecond
				if j.Args.N%2 == 1 {
					d = 800 * time.Millisecond
				}
				time.Sleep(d) // finishes on its own, before the deadline
				mu.Lock()
				if _, ok := returned[j.Args.N]; !ok {
					returned[j.Args.N] = time.Now()
				}
				mu.Unlock()
				return nil
			}))
			r, err := NewRunner(slowAcks{b, 1200 * time.Millisecond}, RunnerConfig{Workers: ws, Concurrency: 2 * lanes, Fetchers: lanes,
				FetchBatch: 2, ShutdownTimeout: shutdown, Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(t.Context())
			ran := make(chan struct{})
			go func() { _ = r.Run(ctx); close(ran) }()
			deadline := time.Now().Add(10 * time.Second)
			for started.Load() < 2*lanes && time.Now().Before(deadline) {
				time.Sleep(time.Millisecond)
			}
			hardStop := time.Now().Add(shutdown)
			cancel()
			<-ran

			// A second runner takes what was handed back.
			r2, _ := NewRunner(b, RunnerConfig{Workers: ws, Concurrency: 2 * lanes, Logger: slog.New(slog.DiscardHandler)})
			ctx2, cancel2 := context.WithCancel(t.Context())
			ran2 := make(chan struct{})
			go func() { _ = r2.Run(ctx2); close(ran2) }()
			for time.Now().Before(deadline.Add(10 * time.Second)) {
				s, err := b.sizes(t.Context(), "default", time.Now())
				if err == nil && s.Pending == 0 && s.Active == 0 && s.Succeeded == 2*lanes {
					break
				}
				time.Sleep(10 * time.Millisecond)
			}
			cancel2()
			<-ran2

			mu.Lock()
			defer mu.Unlock()
			before, twice := 0, 0
			for n, at := range returned {
				if at.Before(hardStop) {
					before++
					if runs[n] > 1 {
						twice++
					}
				}
			}
			t.Logf("%d of %d jobs finished before the shutdown deadline; %d of them ran again", before, 2*lanes, twice)
			if before < lanes {
				t.Fatalf("only %d jobs finished before the deadline; the scenario did not happen", before)
			}
			if twice > 0 {
				t.Errorf("%d jobs that finished before the shutdown deadline were handed back and ran again; want 0", twice)
			}
			if s, _ := b.sizes(t.Context(), "default", time.Now()); s.Succeeded != 2*lanes {
				t.Errorf("succeeded = %d; want %d", s.Succeeded, 2*lanes)
			}
		})
	}
}
