package jobsmetrics

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/gantry-dev/gantry/jobs"
	"github.com/prometheus/client_golang/prometheus"
)

// Config configures [New].
type Config struct {
	// Registerer receives the collectors (required).
	Registerer prometheus.Registerer
	// Namespace prefixes metric names. Default "gantry".
	Namespace string
	// Backend and Queues, if both set, add the queue depth gauge
	// <ns>_jobs_queue_size{queue,state}, read at scrape time through
	// [jobs.Inspector.Sizes] with O(1) commands per queue (LLEN and ZCARD on
	// Redis, never a scan).
	Backend jobs.Backend
	Queues  []string
	// LatencyEvery bounds the cost of the queue latency gauge
	// <ns>_jobs_queue_latency_seconds{queue} (the age of the pending job
	// that runs next, added with Backend and Queues): it is read through
	// [jobs.Inspector.Stats] over one minute, one backend call per queue
	// (on Redis one script reading at most a fixed sample of each state),
	// at most once per LatencyEvery; scrapes in between report the last
	// reading. Default 10s; negative reads at every scrape.
	LatencyEvery time.Duration
}

// Metrics records job counters; it implements [jobs.Observer]. Pass it in
// jobs.ClientConfig.Metrics, jobs.RunnerConfig.Metrics and
// jobs.SchedulerConfig.Metrics. It is safe for concurrent use; a nil
// *Metrics records nothing.
type Metrics struct {
	enq  *prometheus.CounterVec
	proc *prometheus.CounterVec
	dur  *prometheus.HistogramVec
	skip *prometheus.CounterVec
}

var _ jobs.Observer = (*Metrics)(nil)

// New creates and registers the job metrics:
// <ns>_jobs_enqueued_total{queue,kind},
// <ns>_jobs_processed_total{queue,kind,outcome} (outcome: succeeded, retried,
// dead, cancelled, requeued), <ns>_jobs_duration_seconds{queue,kind},
// <ns>_jobs_ticks_skipped_total{schedule} (periodic ticks skipped as later
// than jobs.SchedulerConfig.MisfireGrace) and, with a backend,
// <ns>_jobs_queue_size{queue,state} and
// <ns>_jobs_queue_latency_seconds{queue}.
func New(cfg Config) (*Metrics, error) {
	if cfg.Registerer == nil {
		return nil, errors.New("jobsmetrics: invalid config: nil Registerer")
	}
	if cfg.Namespace == "" {
		cfg.Namespace = "gantry"
	}
	m := &Metrics{
		enq: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: cfg.Namespace, Subsystem: "jobs", Name: "enqueued_total",
			Help: "Jobs enqueued."}, []string{"queue", "kind"}),
		proc: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: cfg.Namespace, Subsystem: "jobs", Name: "processed_total",
			Help: "Job attempts finished, by outcome."}, []string{"queue", "kind", "outcome"}),
		dur: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: cfg.Namespace, Subsystem: "jobs", Name: "duration_seconds",
			Help: "Job attempt run time.", Buckets: prometheus.ExponentialBuckets(0.001, 4, 10)}, []string{"queue", "kind"}),
		skip: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: cfg.Namespace, Subsystem: "jobs", Name: "ticks_skipped_total",
			Help: "Periodic ticks skipped as later than the scheduler's misfire grace."}, []string{"schedule"}),
	}
	cs := []prometheus.Collector{m.enq, m.proc, m.dur, m.skip}
	if cfg.Backend != nil && len(cfg.Queues) > 0 {
		insp := jobs.NewInspector(cfg.Backend)
		cs = append(cs, &depthCollector{insp: insp, queues: cfg.Queues,
			desc: prometheus.NewDesc(prometheus.BuildFQName(cfg.Namespace, "jobs", "queue_size"), "Jobs in a queue by state.", []string{"queue", "state"}, nil)})
		every := cfg.LatencyEvery
		if every == 0 {
			every = 10 * time.Second
		}
		cs = append(cs, &latencyCollector{insp: insp, queues: cfg.Queues, every: every,
			desc: prometheus.NewDesc(prometheus.BuildFQName(cfg.Namespace, "jobs", "queue_latency_seconds"),
				"Age of the pending job that runs next (0 when none is pending).", []string{"queue"}, nil)})
	}
	for _, c := range cs {
		if err := cfg.Registerer.Register(c); err != nil {
			return nil, fmt.Errorf("jobsmetrics: register metrics: %w", err)
		}
	}
	return m, nil
}

// Enqueued adds n to <ns>_jobs_enqueued_total{queue,kind}.
func (m *Metrics) Enqueued(queue, kind string, n int) {
	if m != nil {
		m.enq.WithLabelValues(queue, kind).Add(float64(n))
	}
}

// Processed counts an attempt in <ns>_jobs_processed_total{queue,kind,outcome}
// and observes d in <ns>_jobs_duration_seconds{queue,kind}.
func (m *Metrics) Processed(queue, kind, outcome string, d time.Duration) {
	if m != nil {
		m.proc.WithLabelValues(queue, kind, outcome).Inc()
		m.dur.WithLabelValues(queue, kind).Observe(d.Seconds())
	}
}

// TickSkipped counts a skipped tick in <ns>_jobs_ticks_skipped_total{schedule}.
func (m *Metrics) TickSkipped(schedule string) {
	if m != nil {
		m.skip.WithLabelValues(schedule).Inc()
	}
}

// depthCollector reads the queue sizes at scrape time.
type depthCollector struct {
	insp   *jobs.Inspector
	queues []string
	desc   *prometheus.Desc
}

func (c *depthCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *depthCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	for _, q := range c.queues {
		s, err := c.insp.Sizes(ctx, q)
		if err != nil {
			ch <- prometheus.NewInvalidMetric(c.desc, err)
			continue
		}
		for _, v := range []struct {
			state string
			n     int64
		}{{"pending", s.Pending}, {"scheduled", s.Scheduled}, {"retrying", s.Retrying}, {"active", s.Active}, {"dead", s.Dead}} {
			ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(v.n), q, v.state)
		}
	}
}

// latencyCollector reads each queue's latency at scrape time, at most once
// per every.
type latencyCollector struct {
	insp   *jobs.Inspector
	queues []string
	every  time.Duration
	desc   *prometheus.Desc

	mu   sync.Mutex // one reading at a time; scrapes meanwhile wait for it
	read time.Time
	last []prometheus.Metric
}

func (c *latencyCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *latencyCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.last == nil || c.every < 0 || time.Since(c.read) >= c.every {
		c.last, c.read = c.measure(), time.Now()
	}
	for _, m := range c.last {
		ch <- m
	}
}

func (c *latencyCollector) measure() []prometheus.Metric {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	out := make([]prometheus.Metric, 0, len(c.queues))
	for _, q := range c.queues {
		st, err := c.insp.Stats(ctx, q, 1)
		if err != nil {
			out = append(out, prometheus.NewInvalidMetric(c.desc, err))
			continue
		}
		out = append(out, prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, st.Latency.Seconds(), q))
	}
	return out
}
