package jobs_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/internal/testenv"
	"github.com/gantry-dev/gantry/jobs"
	"github.com/redis/go-redis/v9"
)

// slowArgs is the job of the process-level fault tests: it records its
// start and end in Redis and sleeps.
type slowArgs struct {
	N int `json:"n"`
}

func (slowArgs) Kind() string { return "slow" }

// TestHelperWorker is not a test: the fault tests run the test binary again
// with JOBS_HELPER=1 to get a worker process they can SIGKILL or SIGSTOP.
func TestHelperWorker(t *testing.T) {
	if os.Getenv("JOBS_HELPER") != "1" {
		t.Skip("helper process for the fault tests")
	}
	env := func(k string) time.Duration {
		d, _ := time.ParseDuration(os.Getenv(k))
		return d
	}
	opt, err := redis.ParseURL(os.Getenv("JOBS_REDIS_URL"))
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opt)
	defer rdb.Close()
	prefix := os.Getenv("JOBS_PREFIX")
	b, err := jobs.NewRedisBackend(rdb, jobs.RedisConfig{Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	work := env("JOBS_WORK")
	pid := strconv.Itoa(os.Getpid())
	ws := jobs.NewWorkers()
	jobs.AddWorker(ws, jobs.WorkerFunc[slowArgs](func(ctx context.Context, j *jobs.Job[slowArgs]) error {
		now := func() string { return strconv.FormatInt(time.Now().UnixMilli(), 10) }
		rdb.RPush(context.Background(), prefix+"log", "start|"+j.ID+"|"+pid+"|"+now())
		select {
		case <-time.After(work):
		case <-ctx.Done():
			return ctx.Err()
		}
		rdb.RPush(context.Background(), prefix+"log", "end|"+j.ID+"|"+pid+"|"+now())
		return nil
	}))
	for _, add := range helperKinds {
		add(ws, rdb, prefix)
	}
	conc, _ := strconv.Atoi(os.Getenv("JOBS_CONCURRENCY"))
	r, err := jobs.NewRunner(b, jobs.RunnerConfig{Workers: ws, Concurrency: conc, LeaseDuration: env("JOBS_LEASE"),
		HeartbeatInterval: env("JOBS_HEARTBEAT"), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	_ = r.Run(context.Background()) // runs until killed
}

// helperKinds adds more kinds to the helper process's workers (other
// tests' files append to it from init); each gets the helper's Redis client
// and prefix.
var helperKinds []func(ws *jobs.Workers, rdb *redis.Client, prefix string)

// helper starts a worker process; it is killed when the test ends.
func helper(t *testing.T, prefix string, conc int, work, lease, heartbeat time.Duration) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperWorker$")
	cmd.Env = append(os.Environ(), "JOBS_HELPER=1", "JOBS_REDIS_URL="+testenv.RedisURL(), "JOBS_PREFIX="+prefix,
		"JOBS_CONCURRENCY="+strconv.Itoa(conc), "JOBS_WORK="+work.String(), "JOBS_LEASE="+lease.String(), "JOBS_HEARTBEAT="+heartbeat.String())
	if err := cmd.Start(); err != nil {
		t.Fatalf("start helper: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGCONT)
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	return cmd
}

type logEntry struct {
	what, id, pid string
	at            time.Time
}

func readLog(t *testing.T, rdb *redis.Client, prefix string) []logEntry {
	t.Helper()
	lines, err := rdb.LRange(t.Context(), prefix+"log", 0, -1).Result()
	if err != nil {
		t.Fatal(err)
	}
	out := make([]logEntry, 0, len(lines))
	for _, l := range lines {
		f := strings.Split(l, "|")
		ms, _ := strconv.ParseInt(f[3], 10, 64)
		out = append(out, logEntry{f[0], f[1], f[2], time.UnixMilli(ms)})
	}
	return out
}

// TestFaultSIGKILL kills the worker process five times while 1,000 jobs of
// 200 ms run at concurrency 4, at default lease settings.
func TestFaultSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("takes about a minute")
	}
	t.Parallel()
	rdb, prefix := testenv.Redis(t)
	b, _ := jobs.NewRedisBackend(rdb, jobs.RedisConfig{Prefix: prefix})
	c, _ := jobs.NewClient(b, jobs.ClientConfig{})
	insp := jobs.NewInspector(b)
	args := make([]jobs.Args, 1000)
	for i := range args {
		args[i] = slowArgs{N: i}
	}
	infos, err := c.EnqueueMany(t.Context(), args)
	if err != nil {
		t.Fatal(err)
	}
	start := func() *exec.Cmd { return helper(t, prefix, 4, 200*time.Millisecond, 0, 0) }
	cmd := start()
	var kills []time.Time
	for range 5 {
		time.Sleep(6 * time.Second)
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		kills = append(kills, time.Now())
		cmd = start()
	}
	waitFor(t, "all 1,000 jobs", 120*time.Second, func() bool {
		s, err := insp.Sizes(t.Context(), "default")
		return err == nil && s.Pending == 0 && s.Active == 0 && s.Retrying == 0 && s.Succeeded == 1000
	})
	log := readLog(t, rdb, prefix)
	ends, starts := map[string]int{}, map[string][]logEntry{}
	for _, e := range log {
		if e.what == "end" {
			ends[e.id]++
		} else {
			starts[e.id] = append(starts[e.id], e)
		}
	}
	for _, info := range infos {
		if ends[info.ID] == 0 {
			t.Errorf("job %s never finished: lost", info.ID)
		}
	}
	runs := 0
	for _, s := range starts {
		runs += len(s)
	}
	// Jobs in flight at a kill run again: at most 4 per kill.
	if dup := runs - 1000; dup < 0 || dup > 5*4 {
		t.Errorf("%d runs for 1,000 jobs: %d duplicates; want at most 20 (4 in flight × 5 kills)", runs, dup)
	}
	// Every job that was running at a kill starts again within 15 s of it.
	for _, k := range kills {
		for id, ss := range starts {
			for i, s := range ss {
				if s.at.Before(k) && s.at.After(k.Add(-time.Second)) && !finishedBy(log, id, s.pid, k) {
					if i+1 >= len(ss) {
						t.Errorf("job %s killed at %v never ran again", id, k)
					} else if d := ss[i+1].at.Sub(k); d > 15*time.Second {
						t.Errorf("job %s killed at %v ran again after %v; want within 15 s", id, k.Format("15:04:05.000"), d)
					}
				}
			}
		}
	}
	t.Logf("%d runs for 1,000 jobs over 5 kills", runs)
}

func finishedBy(log []logEntry, id, pid string, before time.Time) bool {
	for _, e := range log {
		if e.what == "end" && e.id == id && e.pid == pid && e.at.Before(before) {
			return true
		}
	}
	return false
}

// TestFaultSIGSTOP pauses a worker past its lease: another worker runs the
// job, and the paused worker, once resumed, cannot ack it.
func TestFaultSIGSTOP(t *testing.T) {
	t.Parallel()
	rdb, prefix := testenv.Redis(t)
	b, _ := jobs.NewRedisBackend(rdb, jobs.RedisConfig{Prefix: prefix})
	c, _ := jobs.NewClient(b, jobs.ClientConfig{})
	insp := jobs.NewInspector(b)
	id := enqueueOne(t, c, slowArgs{N: 1}).ID
	a := helper(t, prefix, 1, 1500*time.Millisecond, time.Second, 250*time.Millisecond)
	waitFor(t, "worker A starts the job", 10*time.Second, func() bool { return len(readLog(t, rdb, prefix)) == 1 })
	_ = a.Process.Signal(syscall.SIGSTOP)
	time.Sleep(1500 * time.Millisecond) // past A's 1 s lease
	helper(t, prefix, 1, 1500*time.Millisecond, time.Second, 250*time.Millisecond)
	waitFor(t, "worker B starts the job", 10*time.Second, func() bool { return len(readLog(t, rdb, prefix)) >= 2 })
	_ = a.Process.Signal(syscall.SIGCONT) // A's sleep is over: it finishes and acks at once
	time.Sleep(500 * time.Millisecond)
	info, err := insp.Job(t.Context(), id)
	if err != nil || info.State != jobs.StateActive {
		t.Fatalf("job after paused worker resumed = %+v, %v; want still active (B runs it, A's ack refused)", info, err)
	}
	info = waitStateRedis(t, insp, id, jobs.StateSucceeded, 10*time.Second)
	if info.Attempts != 2 {
		t.Errorf("Attempts = %d; want 2 (A's expired lease counted, B's run)", info.Attempts)
	}
}

func enqueueOne(t *testing.T, c *jobs.Client, args jobs.Args, opts ...jobs.Option) *jobs.JobInfo {
	t.Helper()
	info, err := c.Enqueue(t.Context(), args, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return info
}

func waitStateRedis(t *testing.T, insp *jobs.Inspector, id string, state jobs.State, within time.Duration) *jobs.JobInfo {
	t.Helper()
	var info *jobs.JobInfo
	waitFor(t, "state "+string(state), within, func() bool {
		var err error
		info, err = insp.Job(t.Context(), id)
		return err == nil && info.State == state
	})
	return info
}

// redisServer runs a redis-server of the test's own on port, in a temp dir,
// stopped by its pid when the test ends.
type redisServer struct {
	t    *testing.T
	port int
	dir  string
	args []string
	cmd  *exec.Cmd
}

func startRedisServer(t *testing.T, port int, args ...string) *redisServer {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		testenv.Unavailable(t, "redis-server", "apt-get install redis-server", err)
	}
	// A server already on the port is someone else's (another test binary,
	// a developer's); talking to it would test the wrong thing.
	if c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), 100*time.Millisecond); err == nil {
		c.Close()
		t.Fatalf("port %d is taken by another process: stop it, or run this test alone", port)
	}
	s := &redisServer{t: t, port: port, dir: t.TempDir(), args: args}
	s.start()
	t.Cleanup(s.kill)
	return s
}

func (s *redisServer) addr() string { return "127.0.0.1:" + strconv.Itoa(s.port) }

func (s *redisServer) start() {
	s.t.Helper()
	args := append([]string{"--port", strconv.Itoa(s.port), "--bind", "127.0.0.1", "--dir", s.dir, "--save", ""}, s.args...)
	s.cmd = exec.Command("redis-server", args...)
	if err := s.cmd.Start(); err != nil {
		s.t.Fatalf("start redis-server: %v", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		conn, err := net.DialTimeout("tcp", s.addr(), 100*time.Millisecond)
		if err == nil {
			conn.Close()
			return
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("redis-server on %d did not start: %v", s.port, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (s *redisServer) kill() {
	if s.cmd != nil && s.cmd.Process != nil {
		_ = s.cmd.Process.Kill()
		_ = s.cmd.Wait()
		s.cmd = nil
	}
}

// TestFaultRedisRestart restarts an appendonly Redis mid-run: clients and
// workers reconnect by themselves and no acknowledged enqueue is lost.
func TestFaultRedisRestart(t *testing.T) {
	t.Parallel()
	srv := startRedisServer(t, 7101, "--appendonly", "yes", "--appendfsync", "always")
	rdb := redis.NewClient(&redis.Options{Addr: srv.addr(), MaxRetries: -1, DialTimeout: 200 * time.Millisecond})
	defer rdb.Close()
	b, _ := jobs.NewRedisBackend(rdb, jobs.RedisConfig{})
	c, _ := jobs.NewClient(b, jobs.ClientConfig{})
	ws := jobs.NewWorkers()
	var processed sync.Map
	jobs.AddWorker(ws, jobs.WorkerFunc[noteArgs](func(ctx context.Context, j *jobs.Job[noteArgs]) error {
		processed.Store(j.Args.N, true)
		time.Sleep(time.Millisecond)
		return nil
	}))
	r, err := jobs.NewRunner(b, jobs.RunnerConfig{Workers: ws, Concurrency: 8, LeaseDuration: 2 * time.Second,
		Retry: fastRetry, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	ran := make(chan struct{})
	go func() { _ = r.Run(ctx); close(ran) }()
	defer func() { cancel(); <-ran }()

	var acked []int
	var failed atomic.Int32
	done := make(chan struct{})
	go func() {
		defer close(done)
		for n := 0; n < 3000; n++ {
			if _, err := c.Enqueue(ctx, noteArgs{N: n}); err != nil {
				failed.Add(1) // not acknowledged: the caller would retry
				time.Sleep(5 * time.Millisecond)
				continue
			}
			acked = append(acked, n)
			if n%10 == 0 {
				time.Sleep(time.Millisecond)
			}
		}
	}()
	time.Sleep(500 * time.Millisecond)
	srv.kill() // SIGKILL: only what was fsynced survives
	time.Sleep(time.Second)
	srv.start()
	<-done
	waitFor(t, "every acknowledged job processed", 60*time.Second, func() bool {
		for _, n := range acked {
			if _, ok := processed.Load(n); !ok {
				return false
			}
		}
		return true
	})
	if failed.Load() == 0 {
		t.Error("no enqueue failed while Redis was down; the restart did not happen mid-run")
	}
	t.Logf("%d enqueues acknowledged, %d refused while Redis was down, all acknowledged ones processed", len(acked), failed.Load())
}

// TestFaultTwoSchedulers runs two schedulers @every 1s for 30 s.
func TestFaultTwoSchedulers(t *testing.T) {
	if testing.Short() {
		t.Skip("takes 30 s")
	}
	t.Parallel()
	rdb, prefix := testenv.Redis(t)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	var b jobs.Backend
	for range 2 { // two instances, each with its own backend and client, as two processes would
		b, _ = jobs.NewRedisBackend(rdb, jobs.RedisConfig{Prefix: prefix})
		c, _ := jobs.NewClient(b, jobs.ClientConfig{})
		s, _ := jobs.NewScheduler(jobs.SchedulerConfig{Client: c, Logger: slog.New(slog.DiscardHandler)})
		if err := s.Add(jobs.PeriodicJob{Spec: "@every 1s", Args: noteArgs{N: 1}}); err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() { defer wg.Done(); _ = s.Run(ctx) }()
	}
	wg.Wait()
	s, err := jobs.NewInspector(b).Sizes(t.Context(), "default")
	if err != nil || s.Pending < 29 || s.Pending > 31 {
		t.Errorf("jobs after 30 s of two schedulers @every 1s = %d, %v; want 30 ± 1", s.Pending, err)
	}
}

// TestFaultTenThousand runs 10,000 jobs of which 10% fail their first attempt.
func TestFaultTenThousand(t *testing.T) {
	t.Parallel()
	e := newEnv(t, newRedisBackend)
	ws := jobs.NewWorkers()
	var mu sync.Mutex
	ok := map[int]int{}
	jobs.AddWorker(ws, jobs.WorkerFunc[noteArgs](func(ctx context.Context, j *jobs.Job[noteArgs]) error {
		if j.Args.N%10 == 0 && j.Attempt == 1 {
			return errors.New("first attempt fails")
		}
		mu.Lock()
		ok[j.Args.N]++
		mu.Unlock()
		return nil
	}))
	args := make([]jobs.Args, 10000)
	for i := range args {
		args[i] = noteArgs{N: i}
	}
	if _, err := e.c.EnqueueMany(t.Context(), args); err != nil {
		t.Fatal(err)
	}
	e.run(jobs.RunnerConfig{Workers: ws, Concurrency: 50})
	waitFor(t, "10,000 successes", 120*time.Second, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(ok) == 10000
	})
	time.Sleep(100 * time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	for n, c := range ok {
		if c != 1 {
			t.Errorf("job %d succeeded %d times; want 1", n, c)
		}
	}
}

// TestFaultCluster runs the behavioural suite on a three-master Redis
// Cluster that the test starts on its own ports.
func TestFaultCluster(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("redis-cli"); err != nil {
		testenv.Unavailable(t, "redis-cli", "apt-get install redis-tools", err)
	}
	var addrs []string
	for _, port := range []int{7111, 7112, 7113} {
		s := startRedisServer(t, port, "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--appendonly", "no")
		addrs = append(addrs, s.addr())
	}
	out, err := exec.Command("redis-cli", append(append([]string{"--cluster", "create"}, addrs...), "--cluster-replicas", "0", "--cluster-yes")...).CombinedOutput()
	if err != nil {
		t.Fatalf("redis-cli --cluster create: %v\n%s", err, out)
	}
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs})
	t.Cleanup(func() { cc.Close() })
	waitFor(t, "cluster_state:ok", 20*time.Second, func() bool {
		for _, a := range addrs {
			c := redis.NewClient(&redis.Options{Addr: a})
			info, err := c.ClusterInfo(context.Background()).Result()
			c.Close()
			if err != nil || !strings.Contains(info, "cluster_state:ok") {
				return false
			}
		}
		return cc.Ping(context.Background()).Err() == nil
	})
	var seq atomic.Int32
	nb := func(t *testing.T) jobs.Backend {
		b, err := jobs.NewRedisBackend(cc, jobs.RedisConfig{Prefix: fmt.Sprintf("c%d:", seq.Add(1))})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	runSuite(t, nb)
	// Watching (XREAD on the job's slot) and the id guard on the Cluster.
	t.Run("WatchProgress", func(t *testing.T) { t.Parallel(); testWatchProgress(t, nb) })
	t.Run("WatchResume", func(t *testing.T) { t.Parallel(); testWatchResume(t, nb) })
	t.Run("JobIDStates", func(t *testing.T) { t.Parallel(); testJobIDStates(t, nb) })
}
