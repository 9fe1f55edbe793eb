// Package grafana_test checks the committed Grafana dashboard gantry.json
// against the metrics Gantry exports.
package grafana_test

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"io"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/redis/go-redis/v9"

	"github.com/gantry-dev/gantry/config"
	"github.com/gantry-dev/gantry/jobs"
	"github.com/gantry-dev/gantry/jobs/jobsmetrics"
	"github.com/gantry-dev/gantry/middleware"
)

// recorder is a Registerer that notes the name of every series a
// collector describes (vectors with no children yet included, which a
// Gather would leave out).
type recorder struct {
	prometheus.Registerer
	names map[string]bool
}

var fqName = regexp.MustCompile(`fqName: "([^"]+)"`)

func (r *recorder) Register(c prometheus.Collector) error {
	ch := make(chan *prometheus.Desc)
	go func() { c.Describe(ch); close(ch) }()
	for d := range ch {
		if m := fqName.FindStringSubmatch(d.String()); m != nil {
			r.names[m[1]] = true
		}
	}
	return r.Registerer.Register(c)
}

func (r *recorder) MustRegister(cs ...prometheus.Collector) {
	for _, c := range cs {
		if err := r.Register(c); err != nil {
			panic(err)
		}
	}
}

// exported returns the names of every series Gantry's collectors export,
// each registered as an app does: HTTP metrics and the rate limiter's
// fallbacks (middleware), the log buffer's drops, the jobs metrics with
// queue sizes and latency (jobsmetrics), the database pool
// (client_golang's DBStatsCollector, as the example registers it), the
// Redis pool (config.NewRedisPoolCollector) and the Go and process
// collectors.
func exported(t *testing.T) map[string]bool {
	t.Helper()
	reg := &recorder{Registerer: prometheus.NewPedanticRegistry(), names: map[string]bool{}}
	m, err := middleware.NewMetrics(middleware.MetricsConfig{Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"}) // never dialled: PoolStats reads counters
	defer rdb.Close()
	store, err := middleware.NewRedisStore(middleware.RedisStoreConfig{Client: rdb})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := middleware.NewStack(middleware.StackConfig{Metrics: m, RateLimit: &middleware.RateLimitConfig{
		Store: store, Limit: middleware.Limit{Rate: 1, Period: time.Second}, // a shared store counts its fallbacks
	}}); err != nil {
		t.Fatal(err)
	}
	lb, err := middleware.NewLogBuffer(io.Discard, middleware.LogBufferConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer lb.Close()
	reg.MustRegister(lb)
	if _, err := jobsmetrics.New(jobsmetrics.Config{Registerer: reg, Backend: jobs.NewMemoryBackend(), Queues: []string{"default"}}); err != nil {
		t.Fatal(err)
	}
	db := sql.OpenDB(noConnector{})
	defer db.Close()
	reg.MustRegister(collectors.NewDBStatsCollector(db, "main"), config.NewRedisPoolCollector(rdb, "main"),
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg.names
}

// noConnector is a database/sql connector that never connects.
type noConnector struct{}

func (noConnector) Connect(context.Context) (driver.Conn, error) {
	return nil, errors.New("no database")
}
func (noConnector) Driver() driver.Driver { return nil }

// promql keywords and the labels of grouping clauses, which are not
// metric names.
var keywords = map[string]bool{
	"by": true, "without": true, "on": true, "ignoring": true, "group_left": true, "group_right": true,
	"bool": true, "and": true, "or": true, "unless": true, "offset": true, "inf": true, "nan": true,
}

var (
	quoted   = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)
	matchers = regexp.MustCompile(`\{[^}]*\}`)
	ranges   = regexp.MustCompile(`\[[^\]]*\]`)
	grouping = regexp.MustCompile(`\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)`)
	ident    = regexp.MustCompile(`[a-zA-Z_:][a-zA-Z0-9_:]*(\s*\()?`)
)

// metricNames returns the metric names a PromQL expression selects: the
// identifiers that are not functions, keywords, label names or values,
// durations or numbers.
func metricNames(expr string) []string {
	s := quoted.ReplaceAllString(expr, `""`)
	s = matchers.ReplaceAllString(s, " ")
	s = ranges.ReplaceAllString(s, " ")
	s = grouping.ReplaceAllString(s, " ")
	var out []string
	for _, m := range ident.FindAllString(s, -1) {
		if strings.HasSuffix(m, "(") || keywords[strings.ToLower(m)] {
			continue // a function call or aggregation
		}
		out = append(out, m)
	}
	return out
}

// known reports whether name is an exported series, or a histogram's or
// summary's _bucket, _sum or _count series of one.
func known(names map[string]bool, name string) bool {
	if names[name] {
		return true
	}
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		if base, ok := strings.CutSuffix(name, suffix); ok && names[base] && !strings.HasSuffix(base, "_total") {
			return true
		}
	}
	return false
}

func TestMetricNames(t *testing.T) {
	t.Parallel()
	tests := []struct {
		expr string
		want []string
	}{
		{`sum by (status) (rate(gantry_http_requests_total{job=~"$job",status=~"5.."}[$__rate_interval]))`, []string{"gantry_http_requests_total"}},
		{`histogram_quantile(0.95, sum by (le, route) (rate(x_bucket[5m])))`, []string{"x_bucket"}},
		{`a / on(instance) group_left b + 1`, []string{"a", "b"}},
		{`max(y{queue="by (x) z"})`, []string{"y"}},
	}
	for _, tt := range tests {
		if got := metricNames(tt.expr); !slices.Equal(got, tt.want) {
			t.Errorf("metricNames(%q) = %q; want %q", tt.expr, got, tt.want)
		}
	}
}

// TestDashboardNamesExportedMetrics: every query of gantry.json (panels
// and template variables) selects only series Gantry exports, and the
// dashboard covers the HTTP, jobs and pool metrics.
func TestDashboardNamesExportedMetrics(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("gantry.json")
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
		Templating struct {
			List []struct {
				Name  string `json:"name"`
				Type  string `json:"type"`
				Query any    `json:"query"`
			} `json:"list"`
		} `json:"templating"`
	}
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatalf("gantry.json: %v", err)
	}
	type query struct{ where, expr string }
	var qs []query
	for _, p := range d.Panels {
		for _, tg := range p.Targets {
			qs = append(qs, query{"panel " + p.Title, tg.Expr})
		}
	}
	labelValues := regexp.MustCompile(`^label_values\(\s*([a-zA-Z_:][a-zA-Z0-9_:]*)`)
	for _, v := range d.Templating.List {
		if q, ok := v.Query.(string); ok && v.Type == "query" {
			m := labelValues.FindStringSubmatch(q)
			if m == nil {
				t.Errorf("variable %s: query %q is not label_values(metric, label)", v.Name, q)
				continue
			}
			qs = append(qs, query{"variable " + v.Name, m[1]})
		}
	}
	names := exported(t)
	used := map[string]bool{}
	for _, q := range qs {
		ms := metricNames(q.expr)
		if len(ms) == 0 {
			t.Errorf("%s: %q selects no metric", q.where, q.expr)
		}
		for _, m := range ms {
			used[m] = true
			if !known(names, m) {
				t.Errorf("%s: %q names %s, which Gantry does not export", q.where, q.expr, m)
			}
		}
	}
	for _, want := range []string{"gantry_http_requests_total", "gantry_http_request_duration_seconds_bucket", "gantry_jobs_processed_total",
		"gantry_jobs_queue_latency_seconds", "gantry_jobs_queue_size", "go_sql_in_use_connections", "go_sql_wait_count_total",
		"gantry_redis_pool_in_use_connections", "gantry_redis_pool_wait_count_total", "gantry_log_dropped_lines_total"} {
		if !used[want] {
			t.Errorf("the dashboard has no query of %s", want)
		}
	}
	if len(qs) < 20 {
		t.Errorf("found %d queries in gantry.json; the dashboard has more", len(qs))
	}
}
