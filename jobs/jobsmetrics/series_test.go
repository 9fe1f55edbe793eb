package jobsmetrics_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/jobs"
	"github.com/gantry-dev/gantry/jobs/jobsmetrics"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestSeries: each Observer call lands in its series, with the names, labels
// and help texts dashboards rely on.
func TestSeries(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	m, err := jobsmetrics.New(jobsmetrics.Config{Registerer: reg, Namespace: "app"})
	if err != nil {
		t.Fatal(err)
	}
	var o jobs.Observer = m
	o.Enqueued("default", "note", 3)
	o.Enqueued("email", "mail", 1)
	o.Processed("default", "note", jobs.OutcomeSucceeded, 2*time.Millisecond)
	o.Processed("default", "note", jobs.OutcomeDead, 3*time.Millisecond)
	o.TickSkipped("hourly")
	o.TickSkipped("hourly")
	want := `
# HELP app_jobs_enqueued_total Jobs enqueued.
# TYPE app_jobs_enqueued_total counter
app_jobs_enqueued_total{kind="mail",queue="email"} 1
app_jobs_enqueued_total{kind="note",queue="default"} 3
# HELP app_jobs_processed_total Job attempts finished, by outcome.
# TYPE app_jobs_processed_total counter
app_jobs_processed_total{kind="note",outcome="dead",queue="default"} 1
app_jobs_processed_total{kind="note",outcome="succeeded",queue="default"} 1
# HELP app_jobs_ticks_skipped_total Periodic ticks skipped as later than the scheduler's misfire grace.
# TYPE app_jobs_ticks_skipped_total counter
app_jobs_ticks_skipped_total{schedule="hourly"} 2
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want),
		"app_jobs_enqueued_total", "app_jobs_processed_total", "app_jobs_ticks_skipped_total"); err != nil {
		t.Error(err)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, mf := range mfs {
		if mf.GetName() != "app_jobs_duration_seconds" {
			continue
		}
		found = true
		if mf.GetHelp() != "Job attempt run time." || len(mf.GetMetric()) != 1 {
			t.Errorf("duration_seconds: help %q, %d series; want %q, 1", mf.GetHelp(), len(mf.GetMetric()), "Job attempt run time.")
			continue
		}
		h := mf.GetMetric()[0].GetHistogram()
		if h.GetSampleCount() != 2 || h.GetSampleSum() < 0.004 || h.GetSampleSum() > 0.006 {
			t.Errorf("duration_seconds: count %d sum %v; want 2, 0.005", h.GetSampleCount(), h.GetSampleSum())
		}
		if labels := mf.GetMetric()[0].GetLabel(); len(labels) != 2 || labels[0].GetName() != "kind" || labels[1].GetName() != "queue" {
			t.Errorf("duration_seconds labels = %v; want kind, queue", labels)
		}
	}
	if !found {
		t.Error("no app_jobs_duration_seconds")
	}
}

// TestNilMetrics: a nil *Metrics records nothing, directly or set in the
// configs of jobs (a typed nil in the Observer interface).
func TestNilMetrics(t *testing.T) {
	var m *jobsmetrics.Metrics
	m.Enqueued("q", "k", 1)
	m.Processed("q", "k", jobs.OutcomeSucceeded, time.Second)
	m.TickSkipped("s")
	b := jobs.NewMemoryBackend()
	c, err := jobs.NewClient(b, jobs.ClientConfig{Metrics: m})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Enqueue(t.Context(), noteArgs{N: 1}); err != nil {
		t.Fatal(err)
	}
}

func TestNewRefuses(t *testing.T) {
	if _, err := jobsmetrics.New(jobsmetrics.Config{}); err == nil {
		t.Error("New without Registerer: nil error")
	}
	reg := prometheus.NewRegistry()
	if _, err := jobsmetrics.New(jobsmetrics.Config{Registerer: reg}); err != nil {
		t.Fatal(err)
	}
	var are prometheus.AlreadyRegisteredError
	if _, err := jobsmetrics.New(jobsmetrics.Config{Registerer: reg}); !errors.As(err, &are) {
		t.Errorf("second New on one registry = %v; want an AlreadyRegisteredError", err)
	}
}

// TestNoExtraAllocs: recording a job costs no allocation once its series
// exists: an Enqueue allocates as much with Metrics as without.
func TestNoExtraAllocs(t *testing.T) {
	allocs := func(o jobs.Observer) float64 {
		c, err := jobs.NewClient(jobs.NewMemoryBackend(), jobs.ClientConfig{Metrics: o})
		if err != nil {
			t.Fatal(err)
		}
		ctx := t.Context()
		return testing.AllocsPerRun(500, func() {
			if _, err := c.Enqueue(ctx, noteArgs{N: 1}); err != nil {
				t.Fatal(err)
			}
		})
	}
	m, err := jobsmetrics.New(jobsmetrics.Config{Registerer: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	without, with := allocs(nil), allocs(m)
	if with > without {
		t.Errorf("Enqueue: %v allocs with Metrics, %v without; want no more", with, without)
	}
	p := testing.AllocsPerRun(500, func() { m.Processed("default", "note", jobs.OutcomeSucceeded, time.Millisecond) })
	if p != 0 {
		t.Errorf("Processed: %v allocs; want 0", p)
	}
}
