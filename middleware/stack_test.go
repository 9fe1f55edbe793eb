package middleware_test

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/gantry-dev/gantry/config"
	"github.com/gantry-dev/gantry/internal/testenv"
	"github.com/gantry-dev/gantry/middleware"
	"github.com/gantry-dev/gantry/server"
	"github.com/gantry-dev/gantry/server/servertest"
)

// gantry starts a server.Server with the default stack configured from
// settings, plus a few routes.
func gantry(t *testing.T, st config.Settings, mc server.MiddlewareConfig, opts ...func(*server.Config)) (base string, logs *testenv.Buffer, reg *prometheus.Registry) {
	t.Helper()
	logs = &testenv.Buffer{}
	reg = prometheus.NewRegistry()
	if mc.Registerer == nil {
		mc.Registerer, mc.Gatherer = reg, reg
	}
	cfg := st.ServerConfig()
	cfg.Addr = "127.0.0.1:0"
	cfg.Logger = slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	cfg.Middleware = mc
	for _, o := range opts {
		o(&cfg)
	}
	s, err := server.New(cfg)
	if err != nil {
		t.Fatalf("server.New: %v", err)
	}
	e := s.Echo()
	e.GET("/items/:id", func(c echo.Context) error { return c.JSON(http.StatusOK, map[string]string{"id": c.Param("id")}) })
	e.GET("/big", func(c echo.Context) error { return c.String(http.StatusOK, strings.Repeat("gantry ", 1000)) })
	e.GET("/small", func(c echo.Context) error { return c.String(http.StatusOK, "tiny") })
	e.GET("/file", func(c echo.Context) error {
		http.ServeContent(c.Response(), c.Request(), "file.txt", time.Unix(1700000000, 0), bytes.NewReader(fileContent))
		return nil
	})
	e.GET("/panic", func(c echo.Context) error { panic("boom") })
	e.GET("/slow", func(c echo.Context) error {
		select {
		case <-c.Request().Context().Done():
			return c.Request().Context().Err()
		case <-time.After(5 * time.Second):
			return c.NoContent(http.StatusOK)
		}
	})
	e.POST("/echo", func(c echo.Context) error {
		b, err := io.ReadAll(c.Request().Body)
		if err != nil {
			return err
		}
		return c.String(http.StatusOK, fmt.Sprint(len(b)))
	})
	return servertest.Start(t, s), logs, reg
}

func baseSettings() config.Settings {
	return config.Settings{
		Environment:          "production",
		AllowedHosts:         []string{"api.example.com", "*.example.org"},
		CORSOrigins:          []string{"https://app.example.com"},
		CORSAllowCredentials: true,
		RateLimitRequests:    100_000,
		RateLimitWindow:      time.Minute,
		MaxBodySize:          1 << 20,
		RequestTimeout:       200 * time.Millisecond,
		PrometheusEnabled:    true,
	}
}

var okHost = map[string]string{"Host": "api.example.com"}

func withHost(h map[string]string) map[string]string {
	out := map[string]string{"Host": "api.example.com"}
	for k, v := range h {
		out[k] = v
	}
	return out
}

func TestStackTrustedHosts(t *testing.T) {
	t.Parallel()
	base, _, _ := gantry(t, baseSettings(), server.MiddlewareConfig{})
	tests := []struct {
		host string
		want int
	}{
		{"api.example.com", 200},
		{"API.Example.COM:8443", 200},
		{"api.example.com.", 200},
		{"a.b.example.org", 200},
		{"example.org", 400},
		{"evil.example", 400},
		{"api.example.com.evil.example", 400},
		{"evilexample.org", 400},
	}
	for _, tt := range tests {
		t.Run(tt.host, func(t *testing.T) {
			res, body := get(t, base+"/items/1", map[string]string{"Host": tt.host})
			if res.StatusCode != tt.want {
				t.Fatalf("Host %q: status %d; want %d", tt.host, res.StatusCode, tt.want)
			}
			if tt.want == 400 {
				env := decodeEnvelope(t, body)
				if env.Error.Type != "invalid_host" || env.Error.RequestID == "" || res.Header.Get("X-Content-Type-Options") != "nosniff" {
					t.Errorf("envelope = %+v, nosniff %q; want invalid_host with request id and security headers", env.Error, res.Header.Get("X-Content-Type-Options"))
				}
			}
		})
	}
	// health probes by pod IP are exempt
	if res, _ := get(t, base+"/health", map[string]string{"Host": "10.0.0.7:8000"}); res.StatusCode != 200 {
		t.Errorf("/health with an IP host = %d; want 200", res.StatusCode)
	}
}

func TestStackCORS(t *testing.T) {
	t.Parallel()
	base, _, _ := gantry(t, baseSettings(), server.MiddlewareConfig{})
	t.Run("listed origin echoed with credentials", func(t *testing.T) {
		res, _ := get(t, base+"/items/1", withHost(map[string]string{"Origin": "https://app.example.com", "Cookie": "session=x"}))
		if res.Header.Get("Access-Control-Allow-Origin") != "https://app.example.com" || res.Header.Get("Access-Control-Allow-Credentials") != "true" {
			t.Errorf("ACAO = %q, ACAC = %q", res.Header.Get("Access-Control-Allow-Origin"), res.Header.Get("Access-Control-Allow-Credentials"))
		}
		if !strings.Contains(res.Header.Get("Access-Control-Expose-Headers"), "X-Request-Id") && !strings.Contains(res.Header.Get("Access-Control-Expose-Headers"), "X-Request-ID") {
			t.Errorf("expose headers = %q; want X-Request-ID", res.Header.Get("Access-Control-Expose-Headers"))
		}
	})
	t.Run("credentialed unlisted origin not echoed", func(t *testing.T) {
		res, _ := get(t, base+"/items/1", withHost(map[string]string{"Origin": "https://evil.example", "Cookie": "session=x"}))
		if v := res.Header.Get("Access-Control-Allow-Origin"); v != "" {
			t.Errorf("ACAO for unlisted origin = %q; want none", v)
		}
	})
	t.Run("preflight", func(t *testing.T) {
		req := mustReq(t, http.MethodOptions, base+"/items/1")
		req.Host = "api.example.com"
		req.Header.Set("Origin", "https://app.example.com")
		req.Header.Set("Access-Control-Request-Method", "GET")
		res, _ := doReq(t, nil, req)
		if res.StatusCode != 204 || !strings.Contains(res.Header.Get("Access-Control-Allow-Methods"), "GET") || res.Header.Get("Access-Control-Allow-Origin") != "https://app.example.com" {
			t.Errorf("preflight = %d, methods %q", res.StatusCode, res.Header.Get("Access-Control-Allow-Methods"))
		}
	})
	t.Run("no origin: Vary only", func(t *testing.T) {
		res, _ := get(t, base+"/items/1", okHost)
		if res.Header.Get("Access-Control-Allow-Origin") != "" || !strings.Contains(strings.Join(res.Header.Values("Vary"), ","), "Origin") {
			t.Errorf("ACAO %q Vary %q", res.Header.Get("Access-Control-Allow-Origin"), res.Header.Values("Vary"))
		}
	})
}

func TestCORSConfigValidation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  middleware.CORSConfig
		ok   bool
	}{
		{"no origins", middleware.CORSConfig{}, false},
		{"star with credentials", middleware.CORSConfig{AllowOrigins: []string{"*"}, AllowCredentials: true}, false},
		{"star among others", middleware.CORSConfig{AllowOrigins: []string{"*", "https://a.example"}}, false},
		{"path", middleware.CORSConfig{AllowOrigins: []string{"https://a.example/x"}}, false},
		{"no scheme", middleware.CORSConfig{AllowOrigins: []string{"a.example"}}, false},
		{"inner wildcard", middleware.CORSConfig{AllowOrigins: []string{"https://a*.example"}}, false},
		{"star alone", middleware.CORSConfig{AllowOrigins: []string{"*"}}, true},
		{"subdomain wildcard", middleware.CORSConfig{AllowOrigins: []string{"https://*.example.com"}, AllowCredentials: true}, true},
		{"listed", middleware.CORSConfig{AllowOrigins: []string{"https://a.example:8443"}, AllowCredentials: true}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.cfg.ToMiddleware()
			if (err == nil) != tt.ok {
				t.Errorf("ToMiddleware() err = %v; want ok=%v", err, tt.ok)
			}
		})
	}
}

func TestStackSecurityHeaders(t *testing.T) {
	t.Parallel()
	for _, env := range []string{"production", "development"} {
		t.Run(env, func(t *testing.T) {
			st := baseSettings()
			st.Environment = env
			base, _, _ := gantry(t, st, server.MiddlewareConfig{})
			res, _ := get(t, base+"/items/1", okHost)
			want := map[string]string{
				"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY",
				"Referrer-Policy": "", "X-Xss-Protection": "", // Referrer-Policy: HTML only (see SecureConfig)
			}
			if env == "production" {
				want["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
			} else {
				want["Strict-Transport-Security"] = ""
			}
			for k, v := range want {
				if got := res.Header.Get(k); got != v {
					t.Errorf("%s = %q; want %q", k, got, v)
				}
			}
		})
	}
}

func TestStackGzip(t *testing.T) {
	t.Parallel()
	base, _, _ := gantry(t, baseSettings(), server.MiddlewareConfig{})
	client := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	tests := []struct {
		path, ae string
		gzipped  bool
	}{
		{"/big", "gzip", true},
		{"/big", "", false},
		{"/small", "gzip", false}, // under MinLength 1000
	}
	for _, tt := range tests {
		t.Run(tt.path+" "+tt.ae, func(t *testing.T) {
			req := mustReq(t, http.MethodGet, base+tt.path)
			req.Host = "api.example.com"
			if tt.ae != "" {
				req.Header.Set("Accept-Encoding", tt.ae)
			}
			res, body := doReq(t, client, req)
			if got := res.Header.Get("Content-Encoding") == "gzip"; got != tt.gzipped {
				t.Fatalf("gzipped = %v; want %v", got, tt.gzipped)
			}
			if !strings.Contains(strings.Join(res.Header.Values("Vary"), ","), "Accept-Encoding") {
				t.Errorf("Vary = %q; want Accept-Encoding", res.Header.Values("Vary"))
			}
			if tt.gzipped {
				zr, err := gzip.NewReader(bytes.NewReader(body))
				if err != nil {
					t.Fatal(err)
				}
				plain, _ := io.ReadAll(zr)
				if len(plain) != 7000 {
					t.Errorf("decompressed %d bytes; want 7000", len(plain))
				}
			}
		})
	}
}

func TestStackGzipBomb(t *testing.T) {
	// Not parallel: it measures the process's allocations.
	base, _, _ := gantry(t, baseSettings(), server.MiddlewareConfig{}) // MaxBodySize 1 MiB
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	zero := make([]byte, 1<<20)
	for range 128 { // 128 MiB of zeros
		_, _ = zw.Write(zero)
	}
	_ = zw.Close()
	if n := buf.Len(); n < 100<<10 || n > 200<<10 {
		t.Fatalf("bomb is %d bytes; want ~130 KB", n)
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	req, _ := http.NewRequest(http.MethodPost, base+"/echo", bytes.NewReader(buf.Bytes()))
	req.Host = "api.example.com"
	req.Header.Set("Content-Encoding", "gzip")
	res, body := doReq(t, nil, req)
	runtime.ReadMemStats(&after)
	if res.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("bomb status = %d %s; want 413", res.StatusCode, body)
	}
	if env := decodeEnvelope(t, body); env.Error.Type != "payload_too_large" {
		t.Errorf("bomb envelope type = %q", env.Error.Type)
	}
	// the handler read at most ~1 MiB of the 128 MiB (ReadAll doubles its buffer)
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 16<<20 {
		t.Errorf("serving the bomb allocated %d MiB; want < 16", grew>>20)
	}
	// a small gzip body still decompresses
	buf.Reset()
	zw = gzip.NewWriter(&buf)
	_, _ = zw.Write([]byte(strings.Repeat("a", 5000)))
	_ = zw.Close()
	req, _ = http.NewRequest(http.MethodPost, base+"/echo", &buf)
	req.Host = "api.example.com"
	req.Header.Set("Content-Encoding", "gzip")
	if res, body := doReq(t, nil, req); res.StatusCode != 200 || string(body) != "5000" {
		t.Errorf("small gzip body = %d %q; want 200 \"5000\"", res.StatusCode, body)
	}
}

func TestStackBodyLimitPlain(t *testing.T) {
	t.Parallel()
	base, _, _ := gantry(t, baseSettings(), server.MiddlewareConfig{})
	for _, size := range []int{1 << 20, 1<<20 + 1} {
		req, _ := http.NewRequest(http.MethodPost, base+"/echo", strings.NewReader(strings.Repeat("x", size)))
		req.Host = "api.example.com"
		res, _ := doReq(t, nil, req)
		want := 200
		if size > 1<<20 {
			want = 413
		}
		if res.StatusCode != want {
			t.Errorf("body of %d bytes = %d; want %d", size, res.StatusCode, want)
		}
	}
}

func TestStackPanicTimeoutAndRateLimitEnvelope(t *testing.T) {
	t.Parallel()
	st := baseSettings()
	st.RateLimitRequests = 3
	base, logs, _ := gantry(t, st, server.MiddlewareConfig{})
	res, body := get(t, base+"/panic", map[string]string{"Host": "api.example.com", "X-Request-ID": "rid-panic-1"})
	if env := decodeEnvelope(t, body); res.StatusCode != 500 || env.Error.Message != "internal server error" || env.Error.RequestID != "rid-panic-1" {
		t.Errorf("panic = %d %+v", res.StatusCode, env.Error)
	}
	start := time.Now()
	res, body = get(t, base+"/slow", okHost)
	if env := decodeEnvelope(t, body); res.StatusCode != 504 || env.Error.Type != "timeout" || time.Since(start) > 2*time.Second {
		t.Errorf("slow = %d %+v after %s; want 504 timeout after ~200ms", res.StatusCode, env.Error, time.Since(start))
	}
	get(t, base+"/items/1", okHost)
	res, body = get(t, base+"/items/1", okHost)
	if res.StatusCode != 429 || res.Header.Get("Retry-After") == "" || res.Header.Get("RateLimit-Policy") != `"default";q=3;w=60` {
		t.Fatalf("4th request = %d Retry-After %q RateLimit-Policy %q; want 429 with both", res.StatusCode, res.Header.Get("Retry-After"), res.Header.Get("RateLimit-Policy"))
	}
	if env := decodeEnvelope(t, body); env.Error.Type != "rate_limited" || env.Error.RequestID == "" {
		t.Errorf("429 envelope = %+v", env.Error)
	}
	// health and metrics are not limited
	for range 5 {
		if res, _ := get(t, base+"/health", okHost); res.StatusCode != 200 {
			t.Fatalf("/health = %d; want 200 (exempt)", res.StatusCode)
		}
	}
	out := logs.String()
	if !strings.Contains(out, "panic recovered") || !strings.Contains(out, "goroutine") || !strings.Contains(out, "rid-panic-1") {
		t.Errorf("panic not logged with stack and request id:\n%s", out)
	}
}

func TestStackMetrics(t *testing.T) {
	t.Parallel()
	base, _, reg := gantry(t, baseSettings(), server.MiddlewareConfig{})
	for i := range 3 {
		get(t, fmt.Sprintf("%s/items/%d", base, i), okHost)
	}
	before, _ := testutil.GatherAndCount(reg, "gantry_http_requests_total", "gantry_http_request_duration_seconds")
	for i := range 1000 {
		get(t, fmt.Sprintf("%s/random/%d/x", base, i), map[string]string{"Host": fmt.Sprintf("h%d.example.org", i)})
	}
	after, err := testutil.GatherAndCount(reg, "gantry_http_requests_total", "gantry_http_request_duration_seconds")
	if err != nil {
		t.Fatal(err)
	}
	// one new series each for requests_total and duration: the unmatched label
	if after-before > 2 {
		got, _ := reg.Gather()
		for _, mf := range got {
			for _, m := range mf.GetMetric() {
				t.Logf("%s %v", mf.GetName(), m.GetLabel())
			}
		}
		t.Errorf("1,000 random 404 paths added %d series; want at most 2", after-before)
	}
	res, body := get(t, base+"/metrics", okHost)
	text := string(body)
	if res.StatusCode != 200 || !strings.Contains(text, `gantry_http_requests_total{method="GET",route="/items/:id",status="200"} 3`) ||
		!strings.Contains(text, `route="<unmatched>",status="404"} 1000`) || strings.Contains(text, "h1.example.org") {
		t.Errorf("/metrics lacks route-template series or leaks hosts:\n%s", grepLines(text, "gantry_http_requests_total"))
	}
	if !strings.Contains(text, "gantry_http_requests_in_flight") || !strings.Contains(text, "gantry_http_response_size_bytes_bucket") {
		t.Error("/metrics lacks in-flight or response size")
	}
}

func TestStackMetricsOwnListener(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	st := baseSettings()
	st.MetricsAddr = addr
	base, _, _ := gantry(t, st, server.MiddlewareConfig{})
	if res, _ := get(t, base+"/metrics", okHost); res.StatusCode != 404 {
		t.Errorf("/metrics on the app listener = %d; want 404 when MetricsAddr is set", res.StatusCode)
	}
	get(t, base+"/items/1", okHost)
	res, body := get(t, "http://"+addr+"/metrics", nil)
	if res.StatusCode != 200 || !strings.Contains(string(body), `route="/items/:id"`) {
		t.Errorf("/metrics on %s = %d; want 200 with the app's series", addr, res.StatusCode)
	}
	st.PrometheusEnabled = false
	st.MetricsAddr = ""
	base, _, _ = gantry(t, st, server.MiddlewareConfig{})
	if res, _ := get(t, base+"/metrics", okHost); res.StatusCode != 404 {
		t.Errorf("/metrics with PROMETHEUS_ENABLED=false = %d; want 404", res.StatusCode)
	}
}

func grepLines(text, sub string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

func TestStackAccessLog(t *testing.T) {
	t.Parallel()
	base, logs, _ := gantry(t, baseSettings(), server.MiddlewareConfig{
		Subject: func(c echo.Context) string { return c.Request().Header.Get("X-Test-User") },
	})
	get(t, base+"/items/42?q=1", map[string]string{"Host": "api.example.com", "X-Request-ID": "rid-1", "X-Test-User": "alice"})
	get(t, base+"/nope", okHost)
	get(t, base+"/panic", okHost)
	get(t, base+"/health", okHost)
	get(t, base+"/metrics", okHost)
	var reqs []map[string]any
	for _, r := range logRecords(t, logs) {
		if r["msg"] == "request" {
			reqs = append(reqs, r)
		}
	}
	if len(reqs) != 3 {
		t.Fatalf("logged %d requests; want 3 (health and metrics skipped): %v", len(reqs), reqs)
	}
	first := reqs[0]
	want := map[string]any{"level": "INFO", "method": "GET", "route": "/items/:id", "path": "/items/42", "status": 200.0,
		"request_id": "rid-1", "client_ip": "127.0.0.1", "subject": "alice", "bytes_in": 0.0}
	for k, v := range want {
		if first[k] != v {
			t.Errorf("log %s = %v; want %v", k, first[k], v)
		}
	}
	if _, ok := first["latency"]; !ok || first["bytes_out"].(float64) <= 0 {
		t.Errorf("log lacks latency or bytes_out: %v", first)
	}
	if reqs[1]["level"] != "WARN" || reqs[1]["route"] != middleware.UnmatchedRoute || reqs[1]["subject"] != nil {
		t.Errorf("404 log = %v; want WARN, unmatched, no subject", reqs[1])
	}
	if reqs[2]["level"] != "ERROR" || reqs[2]["status"] != 500.0 {
		t.Errorf("panic log = %v; want ERROR 500", reqs[2])
	}
}

func TestStackRedisRateLimitViaServer(t *testing.T) {
	t.Parallel()
	rdb, prefix := testenv.Redis(t)
	store, err := middleware.NewRedisStore(middleware.RedisStoreConfig{Client: rdb, Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	st := baseSettings()
	st.RateLimitRequests = 2
	base, _, _ := gantry(t, st, server.MiddlewareConfig{}, func(c *server.Config) { c.RateLimit.Store = store })
	codes := []int{}
	for range 3 {
		res, _ := get(t, base+"/items/1", okHost)
		codes = append(codes, res.StatusCode)
	}
	if codes[0] != 200 || codes[1] != 200 || codes[2] != 429 {
		t.Errorf("codes = %v; want [200 200 429]", codes)
	}
	requireTTLs(t, rdb, prefix)
}
