package jobs

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// MetricsConfig configures [NewMetrics].
type MetricsConfig struct {
	// Registerer receives the collectors (required).
	Registerer prometheus.Registerer
	// Namespace prefixes metric names. Default "gantry".
	Namespace string
	// Backend and Queues, if both set, add the queue depth gauge
	// <ns>_jobs_queue_size{queue,state}, read at scrape time with O(1)
	// commands per queue (LLEN and ZCARD on Redis, never a scan).
	Backend Backend
	Queues  []string
}

// Metrics records job counters. Pass it in ClientConfig.Metrics,
// RunnerConfig.Metrics and SchedulerConfig.Metrics; a nil *Metrics records
// nothing.
type Metrics struct {
	enq  *prometheus.CounterVec
	proc *prometheus.CounterVec
	dur  *prometheus.HistogramVec
	skip *prometheus.CounterVec
}

// NewMetrics creates and registers the job metrics:
// <ns>_jobs_enqueued_total{queue,kind},
// <ns>_jobs_processed_total{queue,kind,outcome} (outcome: succeeded, retried,
// dead, cancelled, requeued), <ns>_jobs_duration_seconds{queue,kind},
// <ns>_jobs_ticks_skipped_total{schedule} (periodic ticks skipped as later
// than SchedulerConfig.MisfireGrace) and, with a backend,
// <ns>_jobs_queue_size{queue,state}.
func NewMetrics(cfg MetricsConfig) (*Metrics, error) {
	if cfg.Registerer == nil {
		return nil, errors.New("jobs: invalid metrics config: nil Registerer")
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
	}
	m.skip = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: cfg.Namespace, Subsystem: "jobs", Name: "ticks_skipped_total",
		Help: "Periodic ticks skipped as later than the scheduler's misfire grace."}, []string{"schedule"})
	cs := []prometheus.Collector{m.enq, m.proc, m.dur, m.skip}
	if cfg.Backend != nil && len(cfg.Queues) > 0 {
		cs = append(cs, &depthCollector{b: cfg.Backend, queues: cfg.Queues,
			desc: prometheus.NewDesc(prometheus.BuildFQName(cfg.Namespace, "jobs", "queue_size"), "Jobs in a queue by state.", []string{"queue", "state"}, nil)})
	}
	for _, c := range cs {
		if err := cfg.Registerer.Register(c); err != nil {
			return nil, fmt.Errorf("jobs: register metrics: %w", err)
		}
	}
	return m, nil
}

func (m *Metrics) enqueued(queue, kind string, n int) {
	if m != nil {
		m.enq.WithLabelValues(queue, kind).Add(float64(n))
	}
}

func (m *Metrics) processed(queue, kind, outcome string, d time.Duration) {
	if m != nil {
		m.proc.WithLabelValues(queue, kind, outcome).Inc()
		m.dur.WithLabelValues(queue, kind).Observe(d.Seconds())
	}
}

func (m *Metrics) tickSkipped(schedule string) {
	if m != nil {
		m.skip.WithLabelValues(schedule).Inc()
	}
}

type depthCollector struct {
	b      Backend
	queues []string
	desc   *prometheus.Desc
}

func (c *depthCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *depthCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	for _, q := range c.queues {
		s, err := c.b.sizes(ctx, q, time.Now())
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
