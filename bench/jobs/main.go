// Command jobs measures gantry's jobs package side by side with asynq
// v0.26.0 on one Redis server that it starts itself (a private redis-server
// on 127.0.0.1:7190, so INFO commandstats and INFO memory see only this
// benchmark). Peer and ours run in alternating short slices (A B A B) and each
// figure is printed with the median of the neighbour ratios.
//
//	cd bench && go run ./jobs
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gantry-dev/gantry/bench/internal/harness"
	"github.com/gantry-dev/gantry/jobs"
	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
)

const port = "7190"

type benchArgs struct {
	N     int    `json:"n"`
	Email string `json:"email"`
	Sent  int64  `json:"sent,omitempty"`
}

func (benchArgs) Kind() string { return "bench" }

var payload = benchArgs{N: 12345, Email: "user@example.com"}

var (
	rdb  *redis.Client
	hook = &harness.RoundTripCounter{} // client round trips
	ctx  = context.Background()
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench/jobs:", err)
		os.Exit(1)
	}
}

func run() error {
	stop, err := harness.StartRedis(ctx, port)
	if err != nil {
		return err
	}
	defer stop()
	rdb = redis.NewClient(&redis.Options{Addr: "127.0.0.1:" + port, PoolSize: 300})
	defer rdb.Close()
	rdb.AddHook(hook)
	if f := os.Getenv("BENCH_CPUPROFILE"); f != "" { // profile our side only
		out, err := os.Create(f)
		if err != nil {
			return err
		}
		processOurs(50, 60000, 0)
		_ = pprof.StartCPUProfile(out)
		processOurs(50, 200000, 1)
		processOurs(50, 200000, 1)
		pprof.StopCPUProfile()
		return out.Close()
	}
	start := time.Now()
	fmt.Println("gantry jobs vs asynq v0.26.0, one private Redis, alternating slices; ratio = ours/asynq (median of pairs)")
	fmt.Println()
	if f := os.Getenv("BENCH_ENQPROFILE"); f != "" {
		out, _ := os.Create(f)
		_, c := ours("e:")
		_ = pprof.StartCPUProfile(out)
		for range 50000 {
			_, _ = c.Enqueue(ctx, payload, jobs.Queue("e"))
		}
		pprof.StopCPUProfile()
		return out.Close()
	}
	if os.Getenv("BENCH_ONLY") == "many" {
		enqueueMany()
		enqueueMany()
		return nil
	}
	if os.Getenv("BENCH_ONLY") == "process" {
		process(10)
		process(50)
		return nil
	}
	memory()
	enqueue(1)
	enqueue(16)
	enqueueMany()
	for _, c := range []int{10, 50, 200} {
		process(c)
	}
	pickup()
	fmt.Printf("\ntotal bench time %v\n", time.Since(start).Round(time.Second))
	return nil
}

func flush() { rdb.FlushDB(ctx) } // our private server only

func usedMemory() int64 {
	for _, line := range strings.Split(rdb.Info(ctx, "memory").Val(), "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "used_memory:"); ok {
			n, _ := strconv.ParseInt(v, 10, 64)
			return n
		}
	}
	return 0
}

func ours(prefix string) (*jobs.RedisBackend, *jobs.Client) {
	b, err := jobs.NewRedisBackend(rdb, jobs.RedisConfig{Prefix: prefix})
	if err != nil {
		panic(err)
	}
	c, err := jobs.NewClient(b, jobs.ClientConfig{})
	if err != nil {
		panic(err)
	}
	return b, c
}

func asynqTask() *asynq.Task {
	p, _ := json.Marshal(payload)
	return asynq.NewTask("bench", p)
}

// timed runs fn from g goroutines for d and returns operations per second.
func timed(g int, d time.Duration, fn func()) float64 {
	perSec, _, _ := harness.Throughput(g, d, func(_, _ int) error { fn(); return nil })
	return perSec
}

// newBatch returns 1,000 copies of payload for EnqueueMany.
func newBatch() []jobs.Args {
	batch := make([]jobs.Args, 1000)
	for i := range batch {
		batch[i] = payload
	}
	return batch
}

// fillOurs enqueues n jobs (a multiple of 1,000) on queue q with
// EnqueueMany, 1,000 a call.
func fillOurs(c *jobs.Client, q string, n int) {
	batch := newBatch()
	for range n / 1000 {
		if _, err := c.EnqueueMany(ctx, batch, jobs.Queue(q)); err != nil {
			panic(err)
		}
	}
}

// fillAsynq enqueues n/16 tasks from each of 16 goroutines on asynq queue
// q and returns how many it enqueued.
func fillAsynq(ac *asynq.Client, q string, n int) int {
	t := asynqTask()
	var wg sync.WaitGroup
	per := n / 16
	for range 16 {
		wg.Go(func() {
			for range per {
				if _, err := ac.Enqueue(t, asynq.Queue(q)); err != nil {
					panic(err)
				}
			}
		})
	}
	wg.Wait()
	return per * 16
}

func enqueue(g int) {
	flush()
	_, c := ours("e:")
	ac := asynq.NewClientFromRedisClient(rdb)
	t := asynqTask()
	var oursR, theirs, ratios []float64
	var cpuO, cpuA, rcpuO, rcpuA time.Duration
	for range 3 {
		s0, r0 := harness.SelfCPU(), harness.RedisCPU(ctx, rdb)
		var n atomic.Int64
		o := timed(g, time.Second, func() {
			if _, err := c.Enqueue(ctx, payload, jobs.Queue("e")); err != nil {
				panic(err)
			}
			n.Add(1)
		})
		s1, r1 := harness.SelfCPU(), harness.RedisCPU(ctx, rdb)
		cpuO += (s1 - s0) / time.Duration(n.Load())
		rcpuO += (r1 - r0) / time.Duration(n.Load())
		n.Store(0)
		a := timed(g, time.Second, func() {
			if _, err := ac.Enqueue(t, asynq.Queue("e")); err != nil {
				panic(err)
			}
			n.Add(1)
		})
		s2, r2 := harness.SelfCPU(), harness.RedisCPU(ctx, rdb)
		cpuA += (s2 - s1) / time.Duration(n.Load())
		rcpuA += (r2 - r1) / time.Duration(n.Load())
		oursR, theirs, ratios = append(oursR, o), append(theirs, a), append(ratios, o/a)
	}
	defer fmt.Printf("   CPU per enqueue:         ours Redis %v + client %v   asynq Redis %v + client %v\n", rcpuO/3, cpuO/3, rcpuA/3, cpuA/3)
	// Redis commands per enqueue, measured on 2,000 sequential enqueues each.
	c0 := harness.RedisCommands(ctx, rdb)
	for range 2000 {
		_, _ = c.Enqueue(ctx, payload, jobs.Queue("e"))
	}
	c1 := harness.RedisCommands(ctx, rdb)
	for range 2000 {
		_, _ = ac.Enqueue(t, asynq.Queue("e"))
	}
	c2 := harness.RedisCommands(ctx, rdb)
	oc, ak := float64(c1-c0-1)/2000, float64(c2-c1-1)/2000
	enqCmds[0], enqCmds[1] = oc, ak
	fmt.Printf("enqueue, %2d goroutine(s):   ours %8.0f jobs/s   asynq %8.0f jobs/s   ratio %.2f×   (Redis commands per enqueue: ours %.1f, asynq %.1f)\n",
		g, harness.Median(oursR), harness.Median(theirs), harness.Median(ratios), oc, ak)
	flush()
}

var enqCmds [2]float64 // commands per single enqueue: ours, asynq

func enqueueMany() {
	flush()
	_, c := ours("m:")
	batch := newBatch()
	var rates []float64
	s0, r0 := harness.SelfCPU(), harness.RedisCPU(ctx, rdb)
	for range 3 {
		start := time.Now()
		for range 100 {
			if _, err := c.EnqueueMany(ctx, batch, jobs.Queue("m")); err != nil {
				panic(err)
			}
		}
		rates = append(rates, 100000/time.Since(start).Seconds())
		flush()
	}
	s1, r1 := harness.SelfCPU(), harness.RedisCPU(ctx, rdb)
	fmt.Printf("EnqueueMany (1,000/call):   ours %8.0f jobs/s   (asynq has no bulk enqueue; CPU per job: Redis %v + client %v)\n",
		harness.Median(rates), (r1-r0)/300000, (s1-s0)/300000)
}

type procResult struct {
	rate, rtPerJob, cmdPerJob float64
	cpu                       time.Duration // Redis CPU per job
	self                      time.Duration // client (this process) CPU per job
}

func process(conc int) {
	var o, a []procResult
	for i := range 3 {
		o = append(o, processOurs(conc, 60000, i))
		a = append(a, processAsynq(conc, 15000, i))
	}
	var ratios []float64
	for i := range o {
		ratios = append(ratios, o[i].rate/a[i].rate)
	}
	mo, ma := medians(o), medians(a)
	cpuO, cpuA, selfO, selfA := mo.cpu, ma.cpu, mo.self, ma.self
	fmt.Printf("process, concurrency %3d:   ours %8.0f jobs/s   asynq %8.0f jobs/s   ratio %.2f×\n", conc, mo.rate, ma.rate, harness.Median(ratios))
	fmt.Printf("   per processed job:       ours %.3f round trips, %.2f commands (%.2f with its enqueue), Redis CPU %v   asynq %.3f round trips, %.2f commands (%.2f with its enqueue), Redis CPU %v\n",
		mo.rtPerJob, mo.cmdPerJob, mo.cmdPerJob+enqCmds[0], cpuO, ma.rtPerJob, ma.cmdPerJob, ma.cmdPerJob+enqCmds[1], cpuA)
	fmt.Printf("   CPU per processed job:   ours Redis %v + client %v   asynq Redis %v + client %v\n", cpuO, selfO, cpuA, selfA)
}

func medians(rs []procResult) procResult {
	var rate, rt, cmd, cpu, self []float64
	for _, r := range rs {
		rate, rt, cmd = append(rate, r.rate), append(rt, r.rtPerJob), append(cmd, r.cmdPerJob)
		cpu, self = append(cpu, float64(r.cpu)), append(self, float64(r.self))
	}
	return procResult{harness.Median(rate), harness.Median(rt), harness.Median(cmd), time.Duration(harness.Median(cpu)), time.Duration(harness.Median(self))}
}

func processOurs(conc, n, trial int) procResult {
	flush()
	b, c := ours(fmt.Sprintf("p%d:", trial))
	fillOurs(c, "p", n)
	var done atomic.Int64
	finished := make(chan struct{})
	ws := jobs.NewWorkers()
	jobs.AddWorker(ws, jobs.WorkerFunc[benchArgs](func(context.Context, *jobs.Job[benchArgs]) error {
		if done.Add(1) == int64(n) {
			close(finished)
		}
		return nil
	}))
	r, err := jobs.NewRunner(b, jobs.RunnerConfig{Workers: ws, Concurrency: conc, Queues: map[string]jobs.QueueConfig{"p": {}},
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		panic(err)
	}
	rctx, cancel := context.WithCancel(ctx)
	rt0, c0, cpu0, s0 := hook.Count(), harness.RedisCommands(ctx, rdb), harness.RedisCPU(ctx, rdb), harness.SelfCPU()
	start := time.Now()
	ran := make(chan struct{})
	go func() { _ = r.Run(rctx); close(ran) }()
	<-finished
	el := time.Since(start)
	time.Sleep(20 * time.Millisecond) // let the last acks land
	rt1, c1, cpu1, s1 := hook.Count(), harness.RedisCommands(ctx, rdb), harness.RedisCPU(ctx, rdb), harness.SelfCPU()
	cancel()
	<-ran
	return procResult{float64(n) / el.Seconds(), float64(rt1-rt0) / float64(n), float64(c1-c0-1) / float64(n), (cpu1 - cpu0) / time.Duration(n), (s1 - s0) / time.Duration(n)}
}

func processAsynq(conc, n, trial int) procResult {
	flush()
	q := fmt.Sprintf("aq%d", trial)
	n = fillAsynq(asynq.NewClientFromRedisClient(rdb), q, n)
	var done atomic.Int64
	finished := make(chan struct{})
	srv := asynq.NewServerFromRedisClient(rdb, asynq.Config{Concurrency: conc, Queues: map[string]int{q: 1}, LogLevel: asynq.FatalLevel})
	rt0, c0, cpu0, s0 := hook.Count(), harness.RedisCommands(ctx, rdb), harness.RedisCPU(ctx, rdb), harness.SelfCPU()
	start := time.Now()
	if err := srv.Start(asynq.HandlerFunc(func(context.Context, *asynq.Task) error {
		if done.Add(1) == int64(n) {
			close(finished)
		}
		return nil
	})); err != nil {
		panic(err)
	}
	<-finished
	el := time.Since(start)
	time.Sleep(20 * time.Millisecond)
	rt1, c1, cpu1, s1 := hook.Count(), harness.RedisCommands(ctx, rdb), harness.RedisCPU(ctx, rdb), harness.SelfCPU()
	srv.Shutdown()
	return procResult{float64(n) / el.Seconds(), float64(rt1-rt0) / float64(n), float64(c1-c0-1) / float64(n), (cpu1 - cpu0) / time.Duration(n), (s1 - s0) / time.Duration(n)}
}

func pct(xs []time.Duration, p float64) time.Duration {
	s := slices.Clone(xs)
	slices.Sort(s)
	i := int(float64(len(s)-1) * p)
	return s[i]
}

func pickup() {
	flush()
	lat := make(chan time.Duration, 1)
	// ours
	b, c := ours("l:")
	ws := jobs.NewWorkers()
	jobs.AddWorker(ws, jobs.WorkerFunc[benchArgs](func(_ context.Context, j *jobs.Job[benchArgs]) error {
		lat <- time.Since(time.Unix(0, j.Args.Sent))
		return nil
	}))
	r, _ := jobs.NewRunner(b, jobs.RunnerConfig{Workers: ws, Concurrency: 10, Queues: map[string]jobs.QueueConfig{"l": {}}, Logger: slog.New(slog.DiscardHandler)})
	rctx, cancel := context.WithCancel(ctx)
	ran := make(chan struct{})
	go func() { _ = r.Run(rctx); close(ran) }()
	time.Sleep(1500 * time.Millisecond)
	var o []time.Duration
	for range 200 {
		time.Sleep(time.Duration(10+rand.IntN(20)) * time.Millisecond) // idle: workers are blocked
		a := payload
		a.Sent = time.Now().UnixNano()
		if _, err := c.Enqueue(ctx, a, jobs.Queue("l")); err != nil {
			panic(err)
		}
		o = append(o, <-lat)
	}
	cancel()
	<-ran
	// asynq: each sample waits out its idle sleep, so fewer samples
	ac := asynq.NewClientFromRedisClient(rdb)
	srv := asynq.NewServerFromRedisClient(rdb, asynq.Config{Concurrency: 10, Queues: map[string]int{"al": 1}, LogLevel: asynq.FatalLevel})
	_ = srv.Start(asynq.HandlerFunc(func(_ context.Context, t *asynq.Task) error {
		var a benchArgs
		_ = json.Unmarshal(t.Payload(), &a)
		lat <- time.Since(time.Unix(0, a.Sent))
		return nil
	}))
	time.Sleep(1500 * time.Millisecond)
	var as []time.Duration
	for range 10 {
		time.Sleep(time.Duration(10+rand.IntN(20)) * time.Millisecond)
		a := payload
		a.Sent = time.Now().UnixNano()
		p, _ := json.Marshal(a)
		if _, err := ac.Enqueue(asynq.NewTask("bench", p), asynq.Queue("al")); err != nil {
			panic(err)
		}
		as = append(as, <-lat)
	}
	srv.Shutdown()
	fmt.Printf("pickup from idle:           ours p50 %v p99 %v (200 samples)   asynq p50 %v p99 %v (10 samples)   p99 ratio %.4f×\n",
		pct(o, .5).Round(time.Microsecond), pct(o, .99).Round(time.Microsecond), pct(as, .5).Round(time.Millisecond), pct(as, .99).Round(time.Millisecond),
		float64(pct(o, .99))/float64(pct(as, .99)))
}

func memory() {
	const n = 20000
	flush()
	m0 := usedMemory()
	_, c := ours("mem:")
	fillOurs(c, "mem", n)
	m1 := usedMemory()
	flush()
	m2 := usedMemory()
	fillAsynq(asynq.NewClientFromRedisClient(rdb), "mem", n)
	m3 := usedMemory()
	flush()
	o, a := float64(m1-m0)/n, float64(m3-m2)/n
	fmt.Printf("memory per pending job:     ours %6.0f B   asynq %6.0f B   ratio %.2f× (payload %d B JSON)\n", o, a, o/a, len(mustJSON(payload)))
	_ = filepath.Join
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}
