package middleware_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/gantry-dev/gantry/internal/testenv"
	"github.com/gantry-dev/gantry/middleware"
)

// serve runs one request through mw on a fresh echo and returns the recorder.
func serve(t *testing.T, mw echo.MiddlewareFunc, req *http.Request, h echo.HandlerFunc) *httptest.ResponseRecorder {
	t.Helper()
	e := newEcho()
	e.IPExtractor = echo.ExtractIPDirect()
	e.Use(mw)
	if h == nil {
		h = func(c echo.Context) error { return c.String(http.StatusOK, "ok") }
	}
	e.Any("/*", h)
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, req)
	return rec
}

func TestTrustedHostsConfig(t *testing.T) {
	t.Parallel()
	bad := [][]string{nil, {""}, {"a.*.com"}, {"http://a.com"}, {"*."}}
	for _, hosts := range bad {
		if _, err := (middleware.TrustedHostsConfig{AllowedHosts: hosts}).ToMiddleware(); !errors.Is(err, middleware.ErrInvalidConfig) {
			t.Errorf("AllowedHosts %q err = %v; want ErrInvalidConfig", hosts, err)
		}
	}
	tests := []struct {
		allowed []string
		host    string
		want    int
	}{
		{[]string{"*"}, "anything.evil", 200},
		{[]string{"api.example.com"}, "api.example.com:443", 200},
		{[]string{"api.example.com"}, "evil.example", 400},
		{[]string{"::1"}, "[::1]:8080", 200},
		{[]string{"*.example.com"}, "x.example.com", 200},
		{[]string{"*.example.com"}, "example.com", 400},
		{[]string{"api.example.com"}, "", 400},
	}
	for _, tt := range tests {
		t.Run(tt.host, func(t *testing.T) {
			mw, err := middleware.TrustedHostsConfig{AllowedHosts: tt.allowed}.ToMiddleware()
			if err != nil {
				t.Fatal(err)
			}
			req := httptest.NewRequest(http.MethodGet, "/", nil)
			req.Host = tt.host
			rec := serve(t, mw, req, nil)
			if rec.Code != tt.want {
				t.Errorf("Host %q with %q = %d; want %d", tt.host, tt.allowed, rec.Code, tt.want)
			}
			if tt.want == 400 && !strings.Contains(rec.Body.String(), "invalid_host") {
				t.Errorf("body = %s; want invalid_host", rec.Body)
			}
		})
	}
}

func TestSecureStandalone(t *testing.T) {
	t.Parallel()
	mw, _ := middleware.SecureConfig{HSTSMaxAge: 600, HSTSPreload: true, FrameOptions: "-", ContentSecurityPolicy: "default-src 'none'"}.ToMiddleware()
	rec := serve(t, mw, httptest.NewRequest(http.MethodGet, "/", nil), nil)
	h := rec.Header()
	if h.Get("Strict-Transport-Security") != "max-age=600; includeSubDomains; preload" || h.Get("X-Frame-Options") != "" ||
		h.Get("Content-Security-Policy") != "default-src 'none'" || h.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("headers = %v", h)
	}
}

func TestMetricsStandalone(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	mw, err := middleware.MetricsConfig{Registerer: reg, Namespace: "app"}.ToMiddleware()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := (middleware.MetricsConfig{Registerer: reg, Namespace: "app"}).ToMiddleware(); !errors.Is(err, middleware.ErrInvalidConfig) {
		t.Errorf("registering twice err = %v; want ErrInvalidConfig", err)
	}
	if _, err := (middleware.MetricsConfig{}).ToMiddleware(); !errors.Is(err, middleware.ErrInvalidConfig) {
		t.Errorf("no registerer err = %v; want ErrInvalidConfig", err)
	}
	e := newEcho()
	e.Use(mw)
	e.GET("/users/:id", func(c echo.Context) error { return errors.New("db down") })
	for _, m := range []string{"GET", "BREW"} {
		e.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(m, "/users/7", nil))
	}
	want := `
# HELP app_http_requests_total HTTP requests by method, route template and status.
# TYPE app_http_requests_total counter
app_http_requests_total{method="GET",route="/users/:id",status="500"} 1
app_http_requests_total{method="OTHER",route="/users/:id",status="405"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "app_http_requests_total"); err != nil {
		t.Error(err)
	}
}

func TestAccessLogStandalone(t *testing.T) {
	t.Parallel()
	logs := &testenv.Buffer{}
	mw, _ := middleware.AccessLogConfig{Logger: slog.New(slog.NewJSONHandler(logs, nil)), SkipPaths: []string{"/health"}}.ToMiddleware()
	e := newEcho()
	e.IPExtractor = echo.ExtractIPDirect()
	e.Use(mw)
	e.GET("/health", func(c echo.Context) error { return c.NoContent(200) })
	e.GET("/teapot", func(c echo.Context) error { return echo.NewHTTPError(http.StatusTeapot) })
	e.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/health", nil))
	e.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/teapot", nil))
	recs := logRecords(t, logs)
	if len(recs) != 1 || recs[0]["status"] != 418.0 || recs[0]["level"] != "WARN" || recs[0]["route"] != "/teapot" {
		t.Errorf("records = %v; want one WARN 418 /teapot", recs)
	}
	var text strings.Builder
	l := middleware.NewLogger(&text, "text", slog.LevelInfo)
	l.Info("hi")
	if !strings.HasPrefix(text.String(), "time=") {
		t.Errorf("text logger wrote %q", text.String())
	}
}

func TestTimeout(t *testing.T) {
	t.Parallel()
	if _, err := (middleware.TimeoutConfig{}).ToMiddleware(); !errors.Is(err, middleware.ErrInvalidConfig) {
		t.Errorf("zero timeout err = %v", err)
	}
	mw, _ := middleware.TimeoutConfig{Timeout: 50 * time.Millisecond}.ToMiddleware()
	t.Run("deadline visible, Done fires, 504", func(t *testing.T) {
		var sawDeadline bool
		rec := serve(t, mw, httptest.NewRequest("GET", "/", nil), func(c echo.Context) error {
			ctx := c.Request().Context()
			d, ok := ctx.Deadline()
			sawDeadline = ok && time.Until(d) <= 50*time.Millisecond
			if ctx.Err() != nil {
				return errors.New("err before the deadline")
			}
			<-ctx.Done()
			return ctx.Err()
		})
		if !sawDeadline || rec.Code != 504 || !strings.Contains(rec.Body.String(), "timeout") {
			t.Errorf("deadline %v, status %d %s; want 504 timeout", sawDeadline, rec.Code, rec.Body)
		}
	})
	t.Run("Err without Done after the deadline", func(t *testing.T) {
		rec := serve(t, mw, httptest.NewRequest("GET", "/", nil), func(c echo.Context) error {
			time.Sleep(70 * time.Millisecond)
			return c.Request().Context().Err()
		})
		if rec.Code != 504 {
			t.Errorf("status %d; want 504", rec.Code)
		}
	})
	t.Run("child contexts need no propagation goroutine and are cancelled at the end", func(t *testing.T) {
		var child context.Context
		before := runtime.NumGoroutine()
		var during int
		rec := serve(t, mw, httptest.NewRequest("GET", "/", nil), func(c echo.Context) error {
			var cancel context.CancelFunc
			for range 50 {
				child, cancel = context.WithCancel(c.Request().Context())
				defer cancel()
			}
			during = runtime.NumGoroutine()
			return c.NoContent(204)
		})
		if rec.Code != 204 {
			t.Fatalf("status %d", rec.Code)
		}
		if during-before > 10 {
			t.Errorf("50 WithCancel children started %d goroutines", during-before)
		}
		select {
		case <-child.Done():
		case <-time.After(time.Second):
			t.Error("child not cancelled when the request ended")
		}
	})
	t.Run("finished context reports Canceled", func(t *testing.T) {
		var ctx context.Context
		serve(t, mw, httptest.NewRequest("GET", "/", nil), func(c echo.Context) error { ctx = c.Request().Context(); return nil })
		if !errors.Is(ctx.Err(), context.Canceled) {
			t.Errorf("Err after the request = %v; want Canceled", ctx.Err())
		}
		select {
		case <-ctx.Done():
		default:
			t.Error("Done not closed after the request")
		}
	})
}

func TestRequestIDs(t *testing.T) {
	t.Parallel()
	gen := middleware.NewRequestIDGenerator()
	seen := map[string]bool{}
	for range 1000 {
		id := gen()
		if seen[id] || !middleware.ValidRequestID(id) {
			t.Fatalf("id %q repeated or invalid", id)
		}
		seen[id] = true
	}
	if middleware.NewRequestIDGenerator()()[:13] == gen()[:13] {
		t.Error("two generators share a prefix")
	}
	for _, bad := range []string{"", "a b", "x\"}", strings.Repeat("a", 129), "é"} {
		if middleware.ValidRequestID(bad) {
			t.Errorf("ValidRequestID(%q) = true", bad)
		}
	}
}

func TestStackConfigErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  middleware.StackConfig
	}{
		{"cors star with credentials", middleware.StackConfig{CORS: &middleware.CORSConfig{AllowOrigins: []string{"*"}, AllowCredentials: true}}},
		{"no hosts", middleware.StackConfig{TrustedHosts: &middleware.TrustedHostsConfig{}}},
		{"no store", middleware.StackConfig{RateLimit: &middleware.RateLimitConfig{Limit: middleware.PerMinute(1)}}},
		{"no limit", middleware.StackConfig{RateLimit: &middleware.RateLimitConfig{Store: middleware.NewMemoryStore(middleware.MemoryStoreConfig{})}}},
		{"negative body limit", middleware.StackConfig{BodyLimit: -1}},
		{"negative timeout", middleware.StackConfig{Timeout: -1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := middleware.NewStack(tt.cfg); !errors.Is(err, middleware.ErrInvalidConfig) {
				t.Errorf("NewStack err = %v; want ErrInvalidConfig", err)
			}
		})
	}
}

func TestStackAllocs(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("allocation counts need a non-race build")
	}
	e := echo.New()
	e.Use(defaultStack(t).Middleware())
	e.GET("/hello", func(c echo.Context) error { return c.JSONBlob(http.StatusOK, helloJSON) })
	req, _ := http.NewRequest(http.MethodGet, "/hello", nil)
	req.RemoteAddr = "10.1.2.3:4567"
	req.Host = "api.example.com"
	w := &discardWriter{h: http.Header{}}
	allocs := testing.AllocsPerRun(1000, func() { clear(w.h); e.ServeHTTP(w, req) })
	if allocs > 9 {
		t.Errorf("default stack + handler = %.1f allocs per request; the budget is under 10", allocs)
	}
}
