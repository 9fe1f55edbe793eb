// Command workflow measures what a workflow step costs against a plain
// job, on a private redis-server on 127.0.0.1:7520 (its own --dir under a
// temporary directory, stopped by pid at the end), so INFO commandstats
// sees only this benchmark.
//
// Four shapes, each about -steps steps a run, in alternating rounds
// (plain, chain, group, chord, plain, …) at each concurrency:
//
//   - plain: independent jobs, each enqueued with Client.Enqueue from 16
//     goroutines;
//   - chain: Chain of 10 steps per workflow;
//   - group: Group of 100 steps per workflow;
//   - chord: Chord(Group of 1,000 steps, callback) per workflow.
//
// Workflows are enqueued with Client.EnqueueWorkflow from 16 goroutines.
// Everything is enqueued first; then a runner (one queue, no-op workers
// that do not call Job.Inputs) processes the backlog. Figures per step
// processed: steps/s while processing, client round trips (a go-redis
// hook: one per command or pipeline) and Redis commands (INFO
// commandstats, which counts the commands scripts run too) while
// processing, and both again over the step's whole life (its enqueue
// included), and Redis and client CPU per step while processing. After each run, outside the timing,
// every workflow is checked to have succeeded.
//
//	cd bench && go run ./workflow [-steps 20000] [-rounds 3] [-conc 10,50]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gantry-dev/gantry/bench/internal/harness"
	"github.com/gantry-dev/gantry/jobs"
	"github.com/redis/go-redis/v9"
)

const port = "7520"

type stepArgs struct {
	N int `json:"n"`
}

func (stepArgs) Kind() string { return "step" }

var (
	rdb  *redis.Client
	hook = &harness.RoundTripCounter{}
	ctx  = context.Background()
)

// shape is one kind of run: n steps, made as units of size steps each.
type shape struct {
	name string
	size int // steps per unit (a plain job is a unit of 1)
	node func() jobs.Node
}

var shapes = []shape{
	{"plain", 1, nil},
	{"chain of 10", 10, func() jobs.Node { return jobs.Chain(steps(10)...) }},
	{"group of 100", 100, func() jobs.Node { return jobs.Group(steps(100)...) }},
	{"chord of 1,000 + callback", 1001, func() jobs.Node {
		return jobs.Chord(jobs.Group(steps(1000)...), jobs.Step(stepArgs{N: -1}, jobs.Queue("w")))
	}},
}

func steps(n int) []jobs.Node {
	out := make([]jobs.Node, n)
	for i := range out {
		out[i] = jobs.Step(stepArgs{N: i}, jobs.Queue("w"))
	}
	return out
}

func main() {
	total := flag.Int("steps", 20000, "steps per run (rounded to whole workflows)")
	rounds := flag.Int("rounds", 3, "rounds per concurrency")
	concs := flag.String("conc", "10,50", "runner concurrencies, comma-separated")
	flag.Parse()
	if err := run(*total, *rounds, *concs); err != nil {
		fmt.Fprintln(os.Stderr, "bench/workflow:", err)
		os.Exit(1)
	}
}

func run(total, rounds int, concs string) error {
	stop, err := harness.StartRedis(ctx, port)
	if err != nil {
		return err
	}
	defer stop()
	rdb = redis.NewClient(&redis.Options{Addr: "127.0.0.1:" + port, PoolSize: 200})
	defer rdb.Close()
	rdb.AddHook(hook)
	start := time.Now()
	fmt.Println("gantry workflows against plain jobs, one private Redis, alternating rounds; ratio = steps/s ÷ plain's (median of rounds)")
	fmt.Println("per step: round trips (rt) and Redis commands (cmd) while processing; and over its whole life, enqueue included")
	for _, cs := range strings.Split(concs, ",") {
		conc, err := strconv.Atoi(strings.TrimSpace(cs))
		if err != nil || conc <= 0 {
			return fmt.Errorf("bad concurrency %q", cs)
		}
		res := make([][]result, len(shapes))
		for r := range rounds {
			for i, s := range shapes {
				x, err := runShape(s, conc, total, r)
				if err != nil {
					return fmt.Errorf("%s, concurrency %d: %w", s.name, conc, err)
				}
				res[i] = append(res[i], x)
			}
		}
		fmt.Printf("\nconcurrency %d (%d rounds, ~%d steps a run)\n", conc, rounds, total)
		for i, s := range shapes {
			m := medians(res[i])
			var ratios []float64
			for r := range res[i] {
				ratios = append(ratios, res[i][r].rate/res[0][r].rate)
			}
			fmt.Printf("  %-26s %8.0f steps/s  ratio %.2f×   processing: %.3f rt, %5.2f cmd   whole life: %.3f rt, %5.2f cmd   CPU: Redis %v, client %v\n",
				s.name, m.rate, harness.Median(ratios), m.rtProc, m.cmdProc, m.rtAll, m.cmdAll, m.cpu.Round(100*time.Nanosecond), m.self.Round(100*time.Nanosecond))
		}
	}
	fmt.Printf("\ntotal bench time %v\n", time.Since(start).Round(time.Second))
	return nil
}

// result is one run's figures per step.
type result struct {
	rate                           float64 // steps/s while processing
	rtProc, cmdProc, rtAll, cmdAll float64
	cpu, self                      time.Duration // Redis and client CPU per step while processing
}

func medians(rs []result) result {
	var rate, rp, cp, ra, ca, cpu, self []float64
	for _, r := range rs {
		rate, rp, cp, ra, ca = append(rate, r.rate), append(rp, r.rtProc), append(cp, r.cmdProc), append(ra, r.rtAll), append(ca, r.cmdAll)
		cpu, self = append(cpu, float64(r.cpu)), append(self, float64(r.self))
	}
	return result{harness.Median(rate), harness.Median(rp), harness.Median(cp), harness.Median(ra), harness.Median(ca),
		time.Duration(harness.Median(cpu)), time.Duration(harness.Median(self))}
}

// runShape enqueues about total steps of s, runs them at concurrency conc
// and returns the figures.
func runShape(s shape, conc, total, trial int) (result, error) {
	rdb.FlushDB(ctx) // our private server only
	b, err := jobs.NewRedisBackend(rdb, jobs.RedisConfig{Prefix: fmt.Sprintf("wf%d:", trial)})
	if err != nil {
		return result{}, err
	}
	c, err := jobs.NewClient(b, jobs.ClientConfig{})
	if err != nil {
		return result{}, err
	}
	units := max(total/s.size, 1)
	n := units * s.size
	var done atomic.Int64
	finished := make(chan struct{})
	ws := jobs.NewWorkers()
	jobs.AddWorker(ws, jobs.WorkerFunc[stepArgs](func(context.Context, *jobs.Job[stepArgs]) error {
		if done.Add(1) == int64(n) {
			close(finished)
		}
		return nil
	}))
	r, err := jobs.NewRunner(b, jobs.RunnerConfig{Workers: ws, Concurrency: conc, Queues: map[string]jobs.QueueConfig{"w": {}},
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return result{}, err
	}

	// Enqueue.
	rtE, cE := hook.Count(), harness.RedisCommands(ctx, rdb)
	ids := make([]string, units)
	var next atomic.Int64
	var wg sync.WaitGroup
	var errOnce sync.Once
	var enqErr error
	for range 16 {
		wg.Go(func() {
			for i := int(next.Add(1)) - 1; i < units; i = int(next.Add(1)) - 1 {
				var err error
				if s.node == nil {
					_, err = c.Enqueue(ctx, stepArgs{N: i}, jobs.Queue("w"))
				} else {
					var wi *jobs.WorkflowInfo
					if wi, err = c.EnqueueWorkflow(ctx, s.node()); err == nil {
						ids[i] = wi.ID
					}
				}
				if err != nil {
					errOnce.Do(func() { enqErr = err })
					return
				}
			}
		})
	}
	wg.Wait()
	if enqErr != nil {
		return result{}, enqErr
	}

	// Process.
	rt0, c0, cpu0, s0 := hook.Count(), harness.RedisCommands(ctx, rdb), harness.RedisCPU(ctx, rdb), harness.SelfCPU()
	rctx, cancel := context.WithCancel(ctx)
	ran := make(chan struct{})
	start := time.Now()
	go func() { _ = r.Run(rctx); close(ran) }()
	select {
	case <-finished:
	case <-time.After(5 * time.Minute):
		cancel()
		<-ran
		return result{}, fmt.Errorf("%d of %d steps done after 5 min", done.Load(), n)
	}
	el := time.Since(start)
	time.Sleep(20 * time.Millisecond) // let the last outcomes and acks land
	rt1, c1, cpu1, s1 := hook.Count(), harness.RedisCommands(ctx, rdb), harness.RedisCPU(ctx, rdb), harness.SelfCPU()
	cancel()
	<-ran
	if err := check(jobs.NewInspector(b), ids); err != nil {
		return result{}, err
	}
	fn := float64(n)
	return result{
		rate: fn / el.Seconds(),
		// Less this benchmark's own INFO calls in between: two while
		// processing, three over the whole life.
		rtProc: float64(rt1-rt0-2) / fn, cmdProc: float64(c1-c0-2) / fn,
		rtAll: float64(rt1-rtE-3) / fn, cmdAll: float64(c1-cE-3) / fn,
		cpu: (cpu1 - cpu0) / time.Duration(n), self: (s1 - s0) / time.Duration(n),
	}, nil
}

// check returns an error unless every workflow of ids succeeded (ids of
// plain runs are empty).
func check(insp *jobs.Inspector, ids []string) error {
	var errs []error
	for _, id := range ids {
		if id == "" {
			continue
		}
		wi, err := insp.Workflow(ctx, id)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("workflow %s: %w", id, err))
		case wi.State != jobs.WorkflowSucceeded:
			errs = append(errs, fmt.Errorf("workflow %s: %s", id, wi.State))
		}
		if len(errs) > 5 {
			break
		}
	}
	return errors.Join(errs...)
}
