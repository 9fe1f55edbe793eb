package middleware

import (
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/otel/trace"
)

// UnmatchedRoute is the route label of every request that matched no route
// (404s, and 405s on unknown paths), so random paths add no series.
const UnmatchedRoute = "<unmatched>"

// MetricsConfig configures the HTTP metrics. The collectors, registered on
// Registerer, are (with Namespace "gantry"):
//
//	gantry_http_requests_total{method,route,status}          counter
//	gantry_http_request_duration_seconds{method,route}       histogram
//	gantry_http_response_size_bytes{method,route}            histogram
//	gantry_http_requests_in_flight                           gauge
//
// route is the route template (c.Path(), e.g. "/users/:id"), or
// [UnmatchedRoute]; method is one of the standard methods or "OTHER". No
// label ever comes from the Host header or the raw path. When the request
// has a sampled span ([TracingConfig]), the latency observation carries its
// trace_id and span_id as an exemplar.
type MetricsConfig struct {
	// Skipper skips measuring; default none.
	Skipper middleware.Skipper
	// Registerer receives the collectors; required (pass a
	// prometheus.NewRegistry(), or prometheus.DefaultRegisterer explicitly).
	Registerer prometheus.Registerer
	// Namespace prefixes metric names; default "gantry".
	Namespace string
	// Buckets of the duration histogram in seconds; default
	// prometheus.DefBuckets.
	Buckets []float64
	// SizeBuckets of the response-size histogram in bytes; default
	// 100 B to 10 MB, ×10 per bucket.
	SizeBuckets []float64
}

// Metrics records HTTP metrics. Create it with [NewMetrics]; safe for
// concurrent use.
type Metrics struct {
	reg      prometheus.Registerer // also given to the stack's rate limiter
	skipper  middleware.Skipper
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	size     *prometheus.HistogramVec
	inFlight prometheus.Gauge

	mu       sync.RWMutex
	children map[metricKey]*metricChildren
}

type metricKey struct {
	method, route string
	status        int
}

type metricChildren struct {
	requests prometheus.Counter
	duration prometheus.Observer
	size     prometheus.Observer
}

// NewMetrics registers the collectors on cfg.Registerer and returns the
// recorder; it fails (wrapping [ErrInvalidConfig]) without a Registerer or
// when the names are already registered.
func NewMetrics(cfg MetricsConfig) (*Metrics, error) {
	if cfg.Registerer == nil {
		return nil, fmt.Errorf("%w: metrics need a Registerer", ErrInvalidConfig)
	}
	if cfg.Namespace == "" {
		cfg.Namespace = "gantry"
	}
	if cfg.Buckets == nil {
		cfg.Buckets = prometheus.DefBuckets
	}
	if cfg.SizeBuckets == nil {
		cfg.SizeBuckets = []float64{100, 1000, 10_000, 100_000, 1_000_000, 10_000_000}
	}
	m := &Metrics{
		reg:     cfg.Registerer,
		skipper: cfg.Skipper,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: cfg.Namespace, Subsystem: "http", Name: "requests_total",
			Help: "HTTP requests by method, route template and status.",
		}, []string{"method", "route", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: cfg.Namespace, Subsystem: "http", Name: "request_duration_seconds",
			Help: "HTTP request latency by method and route template.", Buckets: cfg.Buckets,
		}, []string{"method", "route"}),
		size: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: cfg.Namespace, Subsystem: "http", Name: "response_size_bytes",
			Help: "HTTP response body size by method and route template.", Buckets: cfg.SizeBuckets,
		}, []string{"method", "route"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: cfg.Namespace, Subsystem: "http", Name: "requests_in_flight",
			Help: "HTTP requests being served.",
		}),
		children: make(map[metricKey]*metricChildren),
	}
	for _, c := range []prometheus.Collector{m.requests, m.duration, m.size, m.inFlight} {
		if err := cfg.Registerer.Register(c); err != nil {
			return nil, fmt.Errorf("%w: register metrics: %w", ErrInvalidConfig, err)
		}
	}
	return m, nil
}

// ToMiddleware returns the metrics middleware ([NewMetrics] then
// [Metrics.Middleware]).
func (cfg MetricsConfig) ToMiddleware() (echo.MiddlewareFunc, error) {
	m, err := NewMetrics(cfg)
	if err != nil {
		return nil, err
	}
	return m.Middleware(), nil
}

// Middleware returns the middleware that records every request. An error
// returned by the handler is rendered first (c.Error) so the recorded
// status is the one the client gets.
func (m *Metrics) Middleware() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if m.skipper != nil && m.skipper(c) {
				return next(c)
			}
			start := time.Now()
			m.inFlight.Inc()
			defer m.inFlight.Dec()
			if err := next(c); err != nil {
				c.Error(err)
			}
			m.observeExemplar(c, time.Since(start), trace.SpanContextFromContext(c.Request().Context()))
			return nil
		}
	}
}

func (m *Metrics) observe(c echo.Context, d time.Duration) {
	res := c.Response()
	ch := m.childrenFor(c.Request().Method, routeLabel(c), res.Status)
	ch.requests.Inc()
	ch.duration.Observe(d.Seconds())
	ch.size.Observe(float64(res.Size))
}

// observeExemplar is observe with, when sc is sampled, its trace and span
// ids as the exemplar of the latency observation (exposed in the
// OpenMetrics format: [MetricsHandler] negotiates it).
func (m *Metrics) observeExemplar(c echo.Context, d time.Duration, sc trace.SpanContext) {
	if !sc.IsSampled() {
		m.observe(c, d)
		return
	}
	res := c.Response()
	ch := m.childrenFor(c.Request().Method, routeLabel(c), res.Status)
	ch.requests.Inc()
	if eo, ok := ch.duration.(prometheus.ExemplarObserver); ok {
		eo.ObserveWithExemplar(d.Seconds(), prometheus.Labels{"trace_id": sc.TraceID().String(), "span_id": sc.SpanID().String()})
	} else {
		ch.duration.Observe(d.Seconds())
	}
	ch.size.Observe(float64(res.Size))
}

// childrenFor returns the cached children for a label set: the label
// lookups (hashing, locking, allocation) are paid once per series.
func (m *Metrics) childrenFor(method, route string, status int) *metricChildren {
	k := metricKey{method: normMethod(method), route: route, status: status}
	m.mu.RLock()
	ch := m.children[k]
	m.mu.RUnlock()
	if ch != nil {
		return ch
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if ch = m.children[k]; ch != nil {
		return ch
	}
	k.route = clone(k.route)
	ch = &metricChildren{
		requests: m.requests.WithLabelValues(k.method, k.route, strconv.Itoa(status)),
		duration: m.duration.WithLabelValues(k.method, k.route),
		size:     m.size.WithLabelValues(k.method, k.route),
	}
	m.children[k] = ch
	return ch
}

// routeLabel is the matched route template, or UnmatchedRoute.
func routeLabel(c echo.Context) string {
	p := c.Path()
	if p == "" {
		return UnmatchedRoute
	}
	// echo keeps the matched template for a known path with the wrong
	// method (405) and sets none for unknown paths; a catch-all RouteNotFound
	// route is still a template, so both are bounded.
	return p
}

func normMethod(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return m
	}
	return "OTHER"
}

// MetricsHandler serves g (e.g. the registry the collectors were registered
// on) in the Prometheus text format, or in the OpenMetrics format to a
// scraper that asks for it (Prometheus does), which is the one that shows
// the latency histogram's trace exemplars. Mount it on the app (e.g. GET
// /metrics, skipped by the access log) or on its own listener.
//
// promhttp compresses the scrape itself when the client accepts gzip; the
// stack's gzip passes such a response through untouched, and the handler
// merges its own Vary: Accept-Encoding with the stack's into one.
func MetricsHandler(g prometheus.Gatherer) http.Handler {
	h := promhttp.HandlerFor(g, promhttp.HandlerOpts{EnableOpenMetrics: true}) // exemplars need OpenMetrics
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(&varyOnce{ResponseWriter: w}, r)
	})
}
