package middleware_test

import (
	"io"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/middleware"
	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
)

// discardWriter is a reusable ResponseWriter, so the benchmark measures
// the server side only.
type discardWriter struct{ h http.Header }

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *discardWriter) WriteHeader(int)             {}

var helloJSON = []byte(`{"message":"hello"}`)

func benchEcho(b *testing.B, e *echo.Echo) {
	e.GET("/hello", func(c echo.Context) error { return c.JSONBlob(http.StatusOK, helloJSON) })
	req, _ := http.NewRequest(http.MethodGet, "/hello", nil)
	req.RemoteAddr = "10.1.2.3:4567"
	req.Host = "api.example.com"
	w := &discardWriter{h: http.Header{}}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		clear(w.h)
		e.ServeHTTP(w, req)
	}
}

func BenchmarkBare(b *testing.B) { benchEcho(b, echo.New()) }

func defaultStack(tb testing.TB) *middleware.Stack { return defaultStackWith(tb, nil) }

// defaultStackWith is the default stack, traced when tracing is set.
func defaultStackWith(tb testing.TB, tracing *middleware.TracingConfig) *middleware.Stack {
	m, err := middleware.NewMetrics(middleware.MetricsConfig{Registerer: prometheus.NewRegistry()})
	if err != nil {
		tb.Fatal(err)
	}
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	s, err := middleware.NewStack(middleware.StackConfig{
		Logger:       log,
		AccessLog:    &middleware.AccessLogConfig{Logger: log, SkipPaths: []string{"/metrics"}},
		Metrics:      m,
		Tracing:      tracing,
		Secure:       &middleware.SecureConfig{HSTSMaxAge: 31536000},
		HeaderLimit:  &middleware.HeaderLimitConfig{Limit: 64 << 10},
		TrustedHosts: &middleware.TrustedHostsConfig{AllowedHosts: []string{"api.example.com", "*.example.org"}},
		CORS:         &middleware.CORSConfig{AllowOrigins: []string{"https://app.example.com"}, AllowCredentials: true},
		RateLimit:    &middleware.RateLimitConfig{Store: middleware.NewMemoryStore(middleware.MemoryStoreConfig{}), Limit: middleware.Limit{Rate: 1_000_000, Period: time.Second, Burst: 1000}},
		BodyLimit:    1 << 20,
		Timeout:      30 * time.Second,
	})
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

func BenchmarkStack(b *testing.B) {
	e := echo.New()
	e.Use(defaultStack(b).Middleware())
	benchEcho(b, e)
}
