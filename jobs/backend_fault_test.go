package jobs_test

import (
	"context"
	"log/slog"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/jobs"
	"github.com/redis/go-redis/v9"
)

// faultRig is a runner on a redis-server of the test's own, with a handler
// that counts runs by job number: numbers below 10,000 take 50 ms (to be in
// flight at the fault), the others 2 ms.
type faultRig struct {
	t    *testing.T
	srv  *redisServer
	rdb  *redis.Client
	c    *jobs.Client
	insp *jobs.Inspector
	mu   sync.Mutex
	runs map[int]int
	stop func() // cancels Run and asserts it returns within its shutdown timeout
	base int    // goroutines before the client and the runner started
}

func newFaultRig(t *testing.T, port int) *faultRig {
	t.Helper()
	f := &faultRig{t: t, runs: map[int]int{}}
	f.srv = startRedisServer(t, port)
	f.base = runtime.NumGoroutine()
	f.rdb = redis.NewClient(&redis.Options{Addr: f.srv.addr(), DialTimeout: 200 * time.Millisecond})
	t.Cleanup(func() { f.rdb.Close() })
	b, err := jobs.NewRedisBackend(f.rdb, jobs.RedisConfig{})
	if err != nil {
		t.Fatal(err)
	}
	f.c, _ = jobs.NewClient(b, jobs.ClientConfig{})
	f.insp = jobs.NewInspector(b)
	ws := jobs.NewWorkers()
	jobs.AddWorker(ws, jobs.WorkerFunc[noteArgs](func(ctx context.Context, j *jobs.Job[noteArgs]) error {
		f.mu.Lock()
		f.runs[j.Args.N]++
		f.mu.Unlock()
		d := 2 * time.Millisecond
		if j.Args.N < 10000 {
			d = 50 * time.Millisecond
		}
		select {
		case <-time.After(d):
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}))
	const shutdown = 3 * time.Second
	r, err := jobs.NewRunner(b, jobs.RunnerConfig{Workers: ws, Concurrency: 8, LeaseDuration: 2 * time.Second,
		MaintenanceInterval: 100 * time.Millisecond, ShutdownTimeout: shutdown,
		Retry: fastRetry, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.WithoutCancel(t.Context()))
	done := make(chan struct{})
	go func() { _ = r.Run(ctx); close(done) }()
	var once sync.Once
	f.stop = func() {
		once.Do(func() {
			cancel()
			select {
			case <-done:
			case <-time.After(shutdown + 5*time.Second): // + IdleWait (1 s) and a loaded host
				t.Errorf("Run did not return within %v of cancel", shutdown+5*time.Second)
			}
		})
	}
	t.Cleanup(f.stop)
	return f
}

// enqueue stores jobs numbered from..to-1, retrying each while Redis is
// unreachable.
func (f *faultRig) enqueue(from, to int) []string {
	f.t.Helper()
	ids := make([]string, 0, to-from)
	for n := from; n < to; n++ {
		var err error
		for range 100 {
			var info *jobs.JobInfo
			if info, err = f.c.Enqueue(f.t.Context(), noteArgs{N: n}); err == nil {
				ids = append(ids, info.ID)
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		if err != nil {
			f.t.Fatalf("enqueue %d: %v", n, err)
		}
	}
	return ids
}

// checkAfterFault asserts that the jobs enqueued after the fault, numbered
// 10,000..10,000+len(ids)-1, each ran once and read as succeeded, and that
// nothing else is left in the queue.
func (f *faultRig) checkAfterFault(ids []string) {
	f.t.Helper()
	n := len(ids)
	waitFor(f.t, "every job enqueued after the fault", 60*time.Second, func() bool {
		s, err := f.insp.Sizes(f.t.Context(), "default")
		return err == nil && s.Succeeded == int64(n) && s.Pending == 0 && s.Active == 0 && s.Retrying == 0
	})
	f.mu.Lock()
	ran := 0
	for i := range n {
		if f.runs[10000+i] == 1 {
			ran++
		}
	}
	f.mu.Unlock()
	succeeded := 0
	eventuallyTrue(10*time.Second, func() bool { // the queue set heals within a second
		succeeded = 0
		for _, id := range ids {
			if info, err := f.insp.Job(f.t.Context(), id); err == nil && info.State == jobs.StateSucceeded {
				succeeded++
			}
		}
		return succeeded == n
	})
	if ran != n || succeeded != n {
		f.t.Errorf("of %d jobs enqueued after the fault: %d ran exactly once, %d read as succeeded; want %d, %d", n, ran, succeeded, n, n)
	}
}

// TestFaultRedisFlushAll flushes Redis under a running runner with jobs in
// flight: the jobs it wiped are gone, but the runner keeps working.
func TestFaultRedisFlushAll(t *testing.T) {
	f := newFaultRig(t, 7150)
	f.enqueue(0, 100)
	waitFor(t, "jobs in flight", 10*time.Second, func() bool {
		f.mu.Lock()
		defer f.mu.Unlock()
		return len(f.runs) >= 8
	})
	if err := f.rdb.FlushAll(t.Context()).Err(); err != nil {
		t.Fatal(err)
	}
	ids := f.enqueue(10000, 10500)
	f.checkAfterFault(ids)
	f.stopAndCountGoroutines()
}

// stopAndCountGoroutines stops the runner, closes the client and asserts
// that no goroutine of theirs is left (the fault tests do not run in
// parallel with other tests, so the count is theirs).
func (f *faultRig) stopAndCountGoroutines() {
	f.t.Helper()
	f.stop()
	f.rdb.Close()
	if !eventuallyTrue(5*time.Second, func() bool { return runtime.NumGoroutine() <= f.base }) {
		f.t.Errorf("goroutines after Run returned = %d; want at most %d, as before it started", runtime.NumGoroutine(), f.base)
	}
}

// TestFaultRedisRestartNoPersistence kills and restarts a Redis without
// persistence under the runner with jobs in flight: the runner reconnects
// and every job enqueued after the restart completes.
func TestFaultRedisRestartNoPersistence(t *testing.T) {
	f := newFaultRig(t, 7151)
	f.enqueue(0, 100)
	waitFor(t, "jobs in flight", 10*time.Second, func() bool {
		f.mu.Lock()
		defer f.mu.Unlock()
		return len(f.runs) >= 8
	})
	f.srv.kill()
	time.Sleep(time.Second)
	f.srv.start()
	ids := f.enqueue(10000, 10300)
	f.checkAfterFault(ids)
	f.stopAndCountGoroutines()
}

func eventuallyTrue(within time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
	return true
}
