package jobsmetrics_test

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gantry-dev/gantry/jobs"
	"github.com/gantry-dev/gantry/jobs/jobsmetrics"
)

// gauge returns the value of the series name{queue} gathered from g.
func gauge(t *testing.T, g prometheus.Gatherer, name, queue string) float64 {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "queue" && l.GetValue() == queue {
					return m.GetGauge().GetValue()
				}
			}
		}
	}
	t.Fatalf("no %s{queue=%q}", name, queue)
	return 0
}

// TestQueueLatency: gantry_jobs_queue_latency_seconds is the age of the
// pending job that runs next, 0 when none is pending; with LatencyEvery
// the backend is read at most once per period, scrapes in between repeat
// the reading.
func TestQueueLatency(t *testing.T) {
	for _, nb := range []struct {
		name string
		f    newBackendFunc
	}{{"memory", func(*testing.T) jobs.Backend { return jobs.NewMemoryBackend() }}, {"redis", newRedisBackend}} {
		t.Run(nb.name, func(t *testing.T) {
			b := nb.f(t)
			live, cached := prometheus.NewPedanticRegistry(), prometheus.NewPedanticRegistry()
			if _, err := jobsmetrics.New(jobsmetrics.Config{Registerer: live, Backend: b, Queues: []string{"default", "empty"}, LatencyEvery: -1}); err != nil {
				t.Fatal(err)
			}
			if _, err := jobsmetrics.New(jobsmetrics.Config{Registerer: cached, Backend: b, Queues: []string{"default"}, LatencyEvery: time.Hour}); err != nil {
				t.Fatal(err)
			}
			const name = "gantry_jobs_queue_latency_seconds"
			if got := gauge(t, cached, name, "default"); got != 0 {
				t.Fatalf("latency of an empty queue = %v; want 0", got)
			}
			c, err := jobs.NewClient(b, jobs.ClientConfig{})
			if err != nil {
				t.Fatal(err)
			}
			first, err := c.Enqueue(t.Context(), noteArgs{N: 1})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.Enqueue(t.Context(), noteArgs{N: 2}); err != nil {
				t.Fatal(err)
			}
			time.Sleep(120 * time.Millisecond)
			if got := gauge(t, live, name, "default"); got < 0.1 || got > 30 {
				t.Errorf("latency with a job pending for 120ms = %vs; want >= 0.1", got)
			}
			if got := gauge(t, live, name, "empty"); got != 0 {
				t.Errorf("latency of queue empty = %v; want 0", got)
			}
			if got := gauge(t, cached, name, "default"); got != 0 {
				t.Errorf("cached latency = %v; want the first reading (0) until LatencyEvery passes", got)
			}
			if err := jobs.NewInspector(b).Delete(t.Context(), first.ID); err != nil {
				t.Fatal(err)
			}
			time.Sleep(10 * time.Millisecond)
			if got := gauge(t, live, name, "default"); got < 0.1 {
				t.Errorf("latency after deleting the first job = %v; want the second's age, >= 0.1", got)
			}
		})
	}
}
