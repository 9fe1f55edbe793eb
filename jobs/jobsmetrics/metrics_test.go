package jobsmetrics_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/internal/testenv"
	"github.com/gantry-dev/gantry/jobs"
	"github.com/gantry-dev/gantry/jobs/jobsmetrics"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestMetrics(t *testing.T) {
	for _, nb := range []struct {
		name string
		f    newBackendFunc
	}{{"memory", func(*testing.T) jobs.Backend { return jobs.NewMemoryBackend() }}, {"redis", newRedisBackend}} {
		t.Run(nb.name, func(t *testing.T) {
			reg := prometheus.NewPedanticRegistry()
			b := nb.f(t)
			m, err := jobsmetrics.New(jobsmetrics.Config{Registerer: reg, Backend: b, Queues: []string{"default"}})
			if err != nil {
				t.Fatal(err)
			}
			c, _ := jobs.NewClient(b, jobs.ClientConfig{Metrics: m})
			e := &env{t: t, b: b, c: c, insp: jobs.NewInspector(b)}
			ws := jobs.NewWorkers()
			jobs.AddWorker(ws, jobs.WorkerFunc[noteArgs](func(_ context.Context, j *jobs.Job[noteArgs]) error {
				if j.Args.N == 0 {
					return jobs.SkipRetry(errors.New("no"))
				}
				return nil
			}))
			for i := range 3 {
				e.enqueue(noteArgs{N: i})
			}
			e.enqueue(noteArgs{N: 9}, jobs.Delay(time.Hour))
			e.run(jobs.RunnerConfig{Workers: ws, Metrics: m})
			waitFor(t, "3 processed", 5*time.Second, func() bool {
				return testutil.ToFloat64(mustVec(t, reg, "gantry_jobs_processed_total", "succeeded")) == 2 &&
					testutil.ToFloat64(mustVec(t, reg, "gantry_jobs_processed_total", "dead")) == 1
			})
			want := `
# HELP gantry_jobs_queue_size Jobs in a queue by state.
# TYPE gantry_jobs_queue_size gauge
gantry_jobs_queue_size{queue="default",state="active"} 0
gantry_jobs_queue_size{queue="default",state="dead"} 1
gantry_jobs_queue_size{queue="default",state="pending"} 0
gantry_jobs_queue_size{queue="default",state="retrying"} 0
gantry_jobs_queue_size{queue="default",state="scheduled"} 1
`
			if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "gantry_jobs_queue_size"); err != nil {
				t.Error(err)
			}
			if n, _ := testutil.GatherAndCount(reg, "gantry_jobs_enqueued_total"); n != 1 {
				t.Errorf("enqueued_total series = %d; want 1", n)
			}
		})
	}
}

// mustVec returns the processed_total counter for outcome.
func mustVec(t *testing.T, reg *prometheus.Registry, name, outcome string) prometheus.Collector {
	t.Helper()
	return &oneSeries{reg: reg, name: name, outcome: outcome}
}

// oneSeries exposes one series of a gathered counter as a collector for testutil.ToFloat64.
type oneSeries struct {
	reg           *prometheus.Registry
	name, outcome string
}

func (s *oneSeries) Describe(ch chan<- *prometheus.Desc) {
	ch <- prometheus.NewDesc("x", "x", nil, nil)
}

func (s *oneSeries) Collect(ch chan<- prometheus.Metric) {
	mfs, _ := s.reg.Gather()
	var v float64
	for _, mf := range mfs {
		if mf.GetName() != s.name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "outcome" && l.GetValue() == s.outcome {
					v += m.GetCounter().GetValue()
				}
			}
		}
	}
	ch <- prometheus.MustNewConstMetric(prometheus.NewDesc("x", "x", nil, nil), prometheus.CounterValue, v)
}

// TestMetricsCancelledWhileRunning: a running job cancelled through the
// Inspector whose handler then returns nil is stored as cancelled and counted
// as cancelled, not as succeeded: the metric agrees with the backend.
func TestMetricsCancelledWhileRunning(t *testing.T) {
	for _, nb := range []struct {
		name string
		f    newBackendFunc
	}{{"memory", func(*testing.T) jobs.Backend { return jobs.NewMemoryBackend() }}, {"redis", newRedisBackend}} {
		t.Run(nb.name, func(t *testing.T) {
			reg := prometheus.NewPedanticRegistry()
			b := nb.f(t)
			m, err := jobsmetrics.New(jobsmetrics.Config{Registerer: reg})
			if err != nil {
				t.Fatal(err)
			}
			c, _ := jobs.NewClient(b, jobs.ClientConfig{Metrics: m})
			e := &env{t: t, b: b, c: c, insp: jobs.NewInspector(b)}
			started := make(chan struct{})
			ws := jobs.NewWorkers()
			jobs.AddWorker(ws, jobs.WorkerFunc[noteArgs](func(ctx context.Context, _ *jobs.Job[noteArgs]) error {
				close(started)
				<-ctx.Done()
				return nil // ignores the cancel: still a cancelled job
			}))
			info := e.enqueue(noteArgs{N: 1})
			e.run(jobs.RunnerConfig{Workers: ws, Metrics: m, HeartbeatInterval: 50 * time.Millisecond})
			select {
			case <-started:
			case <-time.After(10 * time.Second):
				t.Fatal("job did not start")
			}
			if err := e.insp.Cancel(t.Context(), info.ID); err != nil {
				t.Fatal(err)
			}
			e.waitState(info.ID, jobs.StateCancelled, 10*time.Second)
			waitFor(t, "1 cancelled", 5*time.Second, func() bool {
				return testutil.ToFloat64(mustVec(t, reg, "gantry_jobs_processed_total", "cancelled")) == 1
			})
			if n := testutil.ToFloat64(mustVec(t, reg, "gantry_jobs_processed_total", "succeeded")); n != 0 {
				t.Errorf("processed_total{outcome=succeeded} = %v; want 0", n)
			}
		})
	}
}

// The helpers below are the part of package jobs' test suite these tests use.

type noteArgs struct {
	N int `json:"n"`
}

func (noteArgs) Kind() string { return "note" }

type newBackendFunc func(t *testing.T) jobs.Backend

func newRedisBackend(t *testing.T) jobs.Backend {
	t.Helper()
	rdb, prefix := testenv.Redis(t)
	b, err := jobs.NewRedisBackend(rdb, jobs.RedisConfig{Prefix: prefix})
	if err != nil {
		t.Fatalf("NewRedisBackend: %v", err)
	}
	return b
}

// env is one test's backend, client, inspector and a way to start runners.
type env struct {
	t    *testing.T
	b    jobs.Backend
	c    *jobs.Client
	insp *jobs.Inspector
}

// run starts a runner until the test ends.
func (e *env) run(cfg jobs.RunnerConfig) {
	e.t.Helper()
	cfg.Logger = slog.New(slog.DiscardHandler)
	cfg.Retry = func(int, error) time.Duration { return 10 * time.Millisecond }
	cfg.MaintenanceInterval = 50 * time.Millisecond
	r, err := jobs.NewRunner(e.b, cfg)
	if err != nil {
		e.t.Fatalf("NewRunner: %v", err)
	}
	ctx, cancel := context.WithCancel(context.WithoutCancel(e.t.Context()))
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := r.Run(ctx); err != nil {
			e.t.Errorf("Run = %v; want nil", err)
		}
	})
	e.t.Cleanup(func() { cancel(); wg.Wait() })
}

func (e *env) enqueue(args jobs.Args, opts ...jobs.Option) *jobs.JobInfo {
	e.t.Helper()
	info, err := e.c.Enqueue(e.t.Context(), args, opts...)
	if err != nil {
		e.t.Fatalf("Enqueue(%v): %v", args, err)
	}
	return info
}

// waitState polls until job id reaches state.
func (e *env) waitState(id string, state jobs.State, within time.Duration) {
	e.t.Helper()
	waitFor(e.t, "job "+id+" "+string(state), within, func() bool {
		info, err := e.insp.Job(e.t.Context(), id)
		return err == nil && info.State == state
	})
}

func waitFor(t *testing.T, what string, within time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", within, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
