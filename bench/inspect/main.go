// Command inspect measures what one page of the jobs Inspector costs on a
// big queue: it starts a private redis-server on 127.0.0.1:7191 (its own
// --dir under a temporary directory, stopped by pid at the end), makes
// 1,000 dead jobs and 1,000,000 pending ones in one queue (one in ten of
// kind "email", the rest "bench"), and prints p50 and p99 latencies of
// List pages: the first page, a page 500,000 entries deep reached by
// cursor, kind-filtered pages at both depths, the dead set's first page,
// and Stats.
//
//	cd bench && go run ./inspect
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"time"

	"github.com/gantry-dev/gantry/bench/internal/harness"
	"github.com/gantry-dev/gantry/jobs"
	"github.com/redis/go-redis/v9"
)

const (
	port    = "7191"
	queue   = "big"
	pending = 1_000_000
	dead    = 1_000
	rounds  = 200 // timed calls per figure
)

type benchArgs struct {
	N     int    `json:"n"`
	Email string `json:"email"`
}

func (benchArgs) Kind() string { return "bench" }

type emailArgs struct {
	To string `json:"to"`
}

func (emailArgs) Kind() string { return "email" }

type failArgs struct{}

func (failArgs) Kind() string { return "fail" }

func main() {
	if err := run(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, "bench/inspect:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	stop, err := harness.StartRedis(ctx, port)
	if err != nil {
		return err
	}
	defer stop()
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:" + port})
	defer rdb.Close()
	b, err := jobs.NewRedisBackend(rdb, jobs.RedisConfig{})
	if err != nil {
		return err
	}
	c, err := jobs.NewClient(b, jobs.ClientConfig{})
	if err != nil {
		return err
	}
	insp := jobs.NewInspector(b)

	t0 := time.Now()
	if err := makeDead(ctx, b, c, insp); err != nil {
		return err
	}
	for done := 0; done < pending; done += 10_000 {
		batch := make([]jobs.Args, 10_000)
		for i := range batch {
			if (done+i)%10 == 0 {
				batch[i] = emailArgs{To: "user@example.com"}
			} else {
				batch[i] = benchArgs{N: done + i, Email: "user@example.com"}
			}
		}
		if _, err := c.EnqueueMany(ctx, batch, jobs.Queue(queue)); err != nil {
			return err
		}
	}
	s, err := insp.Sizes(ctx, queue)
	if err != nil {
		return err
	}
	mem := rdb.InfoMap(ctx, "memory").Item("Memory", "used_memory_human")
	fmt.Printf("queue %q: %d pending, %d dead, filled in %v; Redis used_memory %s\n\n", queue, s.Pending, s.Dead, time.Since(t0).Round(time.Millisecond), mem)

	// Walk to the middle by cursor, unfiltered and filtered.
	deep, walk, err := walkTo(ctx, insp, jobs.ListOptions{State: jobs.StatePending, Limit: 1000}, pending/2/1000)
	if err != nil {
		return err
	}
	deepKind, walkKind, err := walkTo(ctx, insp, jobs.ListOptions{State: jobs.StatePending, Kind: "email", Limit: 1000}, pending/2/1000)
	if err != nil {
		return err
	}
	fmt.Printf("%-52s %9s %9s %7s\n", "call (queue of 1,000,000 pending, 1,000 dead)", "p50", "p99", "jobs")
	report := func(name string, d []time.Duration, n int) {
		slices.Sort(d)
		fmt.Printf("%-52s %9v %9v %7d\n", name, d[len(d)/2].Round(time.Microsecond), d[len(d)*99/100].Round(time.Microsecond), n)
	}
	report("walk: List pending, Limit 1000, 500 pages by cursor", walk, 1000)
	report("walk: List pending kind=email, Limit 1000, 500 pages", walkKind, 100)
	for _, f := range []struct {
		name string
		opt  jobs.ListOptions
	}{
		{"List pending, first page (Limit 50)", jobs.ListOptions{State: jobs.StatePending}},
		{"List pending, newest first, first page", jobs.ListOptions{State: jobs.StatePending, Order: jobs.NewestFirst}},
		{"List pending, 500,000 deep by cursor (Limit 50)", jobs.ListOptions{State: jobs.StatePending, Cursor: deep}},
		{"List pending kind=email, first page (Limit 50)", jobs.ListOptions{State: jobs.StatePending, Kind: "email"}},
		{"List pending kind=email, 500,000 deep by cursor", jobs.ListOptions{State: jobs.StatePending, Kind: "email", Cursor: deepKind}},
		{"List pending kind=none (examines 1,000 entries)", jobs.ListOptions{State: jobs.StatePending, Kind: "none"}},
		{"List dead, first page (Limit 50)", jobs.ListOptions{State: jobs.StateDead}},
		{"List pending, Limit 1000", jobs.ListOptions{State: jobs.StatePending, Limit: 1000}},
	} {
		var d []time.Duration
		n := 0
		for range rounds {
			t := time.Now()
			p, err := insp.List(ctx, queue, f.opt)
			d = append(d, time.Since(t))
			if err != nil {
				return fmt.Errorf("%s: %w", f.name, err)
			}
			n = len(p.Jobs)
		}
		report(f.name, d, n)
	}
	var d []time.Duration
	for range rounds {
		t := time.Now()
		if _, err := insp.Stats(ctx, queue, 15); err != nil {
			return err
		}
		d = append(d, time.Since(t))
	}
	report("Stats (15 minutes)", d, 0)
	return nil
}

// walkTo pages pages times from the start and returns the cursor reached
// and each page's latency.
func walkTo(ctx context.Context, insp *jobs.Inspector, opt jobs.ListOptions, pages int) (string, []time.Duration, error) {
	var d []time.Duration
	for range pages {
		t := time.Now()
		p, err := insp.List(ctx, queue, opt)
		d = append(d, time.Since(t))
		if err != nil {
			return "", nil, err
		}
		if p.Next == "" {
			return "", nil, errors.New("walk ended early")
		}
		opt.Cursor = p.Next
	}
	return opt.Cursor, d, nil
}

// makeDead runs 1,000 jobs that fail with no retries through a runner.
func makeDead(ctx context.Context, b jobs.Backend, c *jobs.Client, insp *jobs.Inspector) error {
	args := make([]jobs.Args, dead)
	for i := range args {
		args[i] = failArgs{}
	}
	if _, err := c.EnqueueMany(ctx, args, jobs.Queue(queue), jobs.MaxRetry(0)); err != nil {
		return err
	}
	ws := jobs.NewWorkers()
	jobs.AddWorker(ws, jobs.WorkerFunc[failArgs](func(context.Context, *jobs.Job[failArgs]) error {
		return errors.New("fails on purpose")
	}))
	r, err := jobs.NewRunner(b, jobs.RunnerConfig{Workers: ws, Queues: map[string]jobs.QueueConfig{queue: {}}, Concurrency: 50,
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return err
	}
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- r.Run(rctx) }()
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(20 * time.Millisecond) {
		s, err := insp.Sizes(ctx, queue)
		if err == nil && s.Dead == dead {
			break
		}
		if time.Now().After(deadline) {
			cancel()
			return fmt.Errorf("dead jobs: %+v, %v", s, err)
		}
	}
	cancel()
	return <-done
}
