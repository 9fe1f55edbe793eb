package jobs

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/internal/testenv"
	"github.com/redis/go-redis/v9"
)

type closeArgs struct{ N int }

func (closeArgs) Kind() string { return "closepath" }

type otherArgs struct{ N int }

func (otherArgs) Kind() string { return "closeother" }

// scriptGate blocks every script call (EVALSHA/EVAL) until it is released
// once per call, or the call's context ends.
type scriptGate struct {
	entered chan string
	release chan struct{}
}

func (g *scriptGate) DialHook(next redis.DialHook) redis.DialHook { return next }
func (g *scriptGate) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}
func (g *scriptGate) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if n := cmd.Name(); n == "evalsha" || n == "eval" {
			g.entered <- n
			select {
			case <-g.release:
			case <-ctx.Done():
				cmd.SetErr(ctx.Err())
				return ctx.Err()
			}
		}
		return next(ctx, cmd)
	}
}

// gatedBackend returns a Redis backend whose script calls pass scriptGate.
func gatedBackend(t *testing.T, cfg RedisConfig) (*RedisBackend, *redis.Client, *scriptGate) {
	t.Helper()
	rdb, prefix := testenv.Redis(t)
	for _, s := range []*redis.Script{enqueueNowScript, enqueueScript} {
		if err := s.Load(t.Context(), rdb).Err(); err != nil {
			t.Fatal(err)
		}
	}
	cfg.Prefix = prefix
	b, err := NewRedisBackend(rdb, cfg)
	if err != nil {
		t.Fatal(err)
	}
	// The queue is registered before the gate, so no test waits on it.
	if err := b.register(t.Context(), "default"); err != nil {
		t.Fatal(err)
	}
	g := &scriptGate{entered: make(chan string, 100), release: make(chan struct{})}
	rdb.AddHook(g)
	return b, rdb, g
}

// startWaiters starts one enqueue that holds the round trip (blocked in the
// gate) and n more that wait behind it; it returns when all n wait.
func startWaiters(t *testing.T, b *RedisBackend, g *scriptGate, n int) (errs chan error) {
	t.Helper()
	c, err := NewClient(b, ClientConfig{})
	if err != nil {
		t.Fatal(err)
	}
	errs = make(chan error, n+1)
	enq := func(i int) {
		_, err := c.Enqueue(context.Background(), closeArgs{N: i})
		errs <- err
	}
	go enq(0)
	<-g.entered // the leader's round trip holds the backend busy
	for i := 1; i <= n; i++ {
		go enq(i)
	}
	waitFor(t, "waiters queued", 10*time.Second, func() bool {
		b.mu.Lock()
		defer b.mu.Unlock()
		return len(b.waiting) == n
	})
	return errs
}

// TestRedisCloseWaitsForHandOff: the goroutine that stores enqueues which
// waited behind another is owned by the backend: Close does not return
// before it has finished, enqueues after Close are refused, every waiting
// job is stored, and no goroutine is left.
func TestRedisCloseWaitsForHandOff(t *testing.T) {
	const n = 20
	b, rdb, g := gatedBackend(t, RedisConfig{})
	base := runtime.NumGoroutine()
	errs := startWaiters(t, b, g, n)

	closed := make(chan error, 1)
	go func() { closed <- b.Close() }()
	waitFor(t, "Close started", 10*time.Second, func() bool {
		b.mu.Lock()
		defer b.mu.Unlock()
		return b.closed
	})
	c, _ := NewClient(b, ClientConfig{})
	if _, err := c.Enqueue(t.Context(), closeArgs{N: -1}); !errors.Is(err, ErrClosed) {
		t.Errorf("Enqueue after Close = %v; want ErrClosed", err)
	}

	g.release <- struct{}{} // the leader's round trip ends; the hand-off starts its own
	if name := <-g.entered; name != "evalsha" {
		t.Fatalf("hand-off ran %s; want evalsha", name)
	}
	select {
	case err := <-closed:
		t.Fatalf("Close returned (%v) while the hand-off round trip was in flight", err)
	default:
	}
	g.release <- struct{}{}
	select {
	case err := <-closed:
		if err != nil {
			t.Fatalf("Close = %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Close did not return after the hand-off finished")
	}
	for range n + 1 {
		if err := <-errs; err != nil {
			t.Errorf("waiting Enqueue = %v; want nil", err)
		}
	}
	if got := rdb.LLen(t.Context(), b.k("default").p).Val(); got != n+1 {
		t.Errorf("pending jobs = %d; want %d", got, n+1)
	}
	waitFor(t, "goroutines back to the baseline", 10*time.Second, func() bool { return runtime.NumGoroutine() <= base })
	if err := rdb.Ping(t.Context()).Err(); err != nil {
		t.Errorf("the caller's client after Close: %v; want it open", err)
	}
}

// TestRedisHandOffTimeout: the hand-off's round trip is bounded by the
// configured HandOffTimeout, not a fixed 10 s.
func TestRedisHandOffTimeout(t *testing.T) {
	const n = 5
	b, _, g := gatedBackend(t, RedisConfig{HandOffTimeout: 200 * time.Millisecond})
	errs := startWaiters(t, b, g, n)
	start := time.Now()
	g.release <- struct{}{} // the leader passes; the hand-off's call blocks until its timeout
	deadline := 0
	for range n + 1 {
		if err := <-errs; errors.Is(err, context.DeadlineExceeded) {
			deadline++
		} else if err != nil {
			t.Errorf("Enqueue = %v", err)
		}
	}
	if deadline != n {
		t.Errorf("%d of %d waiting enqueues ended with the hand-off timeout; want all", deadline, n)
	}
	// Generous against 200 ms on a loaded box; the old fixed timeout was 10 s.
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("waiting enqueues gave up after %v; want about HandOffTimeout (200ms)", took)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestRedisCloseOwnership follows asynq's rule: Close closes only a client
// NewRedisBackend opened (RedisConfig.Options), never the caller's.
func TestRedisCloseOwnership(t *testing.T) {
	opt, err := redis.ParseURL(testenv.RedisURL())
	if err != nil {
		t.Fatal(err)
	}
	_, prefix := testenv.Redis(t)
	b, err := NewRedisBackend(nil, RedisConfig{Prefix: prefix, Options: &redis.UniversalOptions{Addrs: []string{opt.Addr}, DB: opt.DB, Password: opt.Password, Username: opt.Username}})
	if err != nil {
		t.Fatal(err)
	}
	c, _ := NewClient(b, ClientConfig{})
	if _, err := c.Enqueue(t.Context(), closeArgs{N: 1}); err != nil {
		t.Fatalf("Enqueue on an opened client: %v", err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if err := b.rdb.Ping(t.Context()).Err(); !errors.Is(err, redis.ErrClosed) {
		t.Errorf("opened client after Close: Ping = %v; want redis.ErrClosed", err)
	}
	if err := b.Close(); err != nil {
		t.Errorf("second Close = %v; want nil", err)
	}

	rdb := redis.NewClient(&redis.Options{Addr: opt.Addr})
	defer rdb.Close()
	if _, err := NewRedisBackend(rdb, RedisConfig{Options: &redis.UniversalOptions{Addrs: []string{opt.Addr}}}); err == nil {
		t.Error("NewRedisBackend with a client and Options: no error")
	}
	if _, err := NewRedisBackend(nil, RedisConfig{}); err == nil {
		t.Error("NewRedisBackend with neither a client nor Options: no error")
	}
}

// tripCounter counts round trips of the enqueue: script commands and
// pipelines of them (not the client's connection set-up).
type tripCounter struct {
	mu          sync.Mutex
	cmds, pipes int
}

func (c *tripCounter) DialHook(next redis.DialHook) redis.DialHook { return next }
func (c *tripCounter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		c.mu.Lock()
		if isScript(cmd) {
			c.cmds++
		}
		c.mu.Unlock()
		return next(ctx, cmd)
	}
}
func (c *tripCounter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		c.mu.Lock()
		if len(cmds) > 0 && isScript(cmds[0]) {
			c.pipes++
		}
		c.mu.Unlock()
		return next(ctx, cmds)
	}
}

func isScript(cmd redis.Cmder) bool { return cmd.Name() == "evalsha" || cmd.Name() == "eval" }

func (c *tripCounter) take() (cmds, pipes int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	cmds, pipes, c.cmds, c.pipes = c.cmds, c.pipes, 0, 0
	return cmds, pipes
}

// TestRedisEnqueueRoundTrips pins each enqueue path to one round trip: a
// single runnable job, a single unique one, a batch of runnable jobs, and a
// batch of delayed or unique jobs on one queue (one script call) or on two
// (one pipeline).
func TestRedisEnqueueRoundTrips(t *testing.T) {
	rdb, prefix := testenv.Redis(t)
	for _, s := range []*redis.Script{enqueueNowScript, enqueueScript} {
		if err := s.Load(t.Context(), rdb).Err(); err != nil {
			t.Fatal(err)
		}
	}
	b, err := NewRedisBackend(rdb, RedisConfig{Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"default", "other"} {
		if err := b.register(t.Context(), q); err != nil {
			t.Fatal(err)
		}
	}
	tc := &tripCounter{}
	rdb.AddHook(tc)
	c, _ := NewClient(b, ClientConfig{})
	ctx := t.Context()
	mixed := func(n int) []Args {
		out := make([]Args, 0, 2*n)
		for i := range n {
			out = append(out, closeArgs{N: i}, otherArgs{N: i})
		}
		return out
	}
	c2, _ := NewClient(b, ClientConfig{Routes: map[string]string{"closeother": "other"}})
	tests := []struct {
		name             string
		run              func() error
		wantCmd, wantPip int
	}{
		{"one runnable", func() error { _, err := c.Enqueue(ctx, closeArgs{N: 1}); return err }, 1, 0},
		{"one unique", func() error { _, err := c.Enqueue(ctx, closeArgs{N: 2}, Unique("u", time.Minute)); return err }, 1, 0},
		{"one delayed", func() error { _, err := c.Enqueue(ctx, closeArgs{N: 3}, Delay(time.Hour)); return err }, 1, 0},
		{"many runnable", func() error { _, err := c.EnqueueMany(ctx, mixed(25)[:25]); return err }, 1, 0},
		{"many delayed", func() error { _, err := c.EnqueueMany(ctx, mixed(25)[:25], Delay(time.Hour)); return err }, 1, 0},
		{"many runnable, two queues", func() error { _, err := c2.EnqueueMany(ctx, mixed(5)); return err }, 0, 1},
		{"many delayed, two queues", func() error { _, err := c2.EnqueueMany(ctx, mixed(5), Delay(time.Hour)); return err }, 0, 1},
	}
	for _, tt := range tests {
		_, _ = tc.take()
		if err := tt.run(); err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if cmds, pipes := tc.take(); cmds != tt.wantCmd || pipes != tt.wantPip {
			t.Errorf("%s: %d commands and %d pipelines; want %d and %d", tt.name, cmds, pipes, tt.wantCmd, tt.wantPip)
		}
	}
}
