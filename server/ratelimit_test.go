package server_test

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/gantry-dev/gantry/config"
	"github.com/gantry-dev/gantry/internal/testenv"
	"github.com/gantry-dev/gantry/middleware"
	"github.com/gantry-dev/gantry/server"
	"github.com/gantry-dev/gantry/server/servertest"
)

// TestRateLimitUsesServerLoggerAndRegistry: with its Redis unreachable,
// both the stack-wide limiter and a route limiter made by Server.RateLimit
// keep limiting (locally), log through Config.Logger (not slog.Default)
// and count their fallbacks on the server's /metrics.
func TestRateLimitUsesServerLoggerAndRegistry(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().String()
	ln.Close() // connections are refused from now on
	rdb := redis.NewClient(&redis.Options{Addr: dead, MaxRetries: -1, ContextTimeoutEnabled: true})
	t.Cleanup(func() { rdb.Close() })
	store, err := middleware.NewRedisStore(middleware.RedisStoreConfig{Client: rdb})
	if err != nil {
		t.Fatal(err)
	}

	logs := &testenv.Buffer{}
	reg := prometheus.NewRegistry()
	st := config.Settings{RateLimitRequests: 10, RateLimitWindow: time.Minute, PrometheusEnabled: true}
	cfg := st.ServerConfig()
	cfg.Addr = "127.0.0.1:0"
	cfg.Logger = slog.New(slog.NewJSONHandler(logs, nil))
	cfg.Middleware = server.MiddlewareConfig{Registerer: reg, Gatherer: reg}
	cfg.RateLimit.Store = store
	s, err := server.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	login, err := s.RateLimit(middleware.RateLimitConfig{Store: store, Limit: middleware.PerMinute(2), Name: "login"})
	if err != nil {
		t.Fatal(err)
	}
	s.Echo().GET("/ok", func(c echo.Context) error { return c.NoContent(http.StatusNoContent) })
	s.Echo().GET("/login", func(c echo.Context) error { return c.NoContent(http.StatusNoContent) }, login)
	base := servertest.Start(t, s)

	count := func(path string, n int) (ok int) {
		for range n {
			res, _ := do(t, http.MethodGet, base+path, "", nil, nil)
			if res.StatusCode == http.StatusNoContent {
				ok++
			}
		}
		return ok
	}
	if ok := count("/login", 6); ok != 2 { // the stack's limit counts all 6
		t.Errorf("route limit 2 with Redis down admitted %d of 6; want 2", ok)
	}
	if ok := count("/ok", 8); ok != 4 {
		t.Errorf("stack-wide limit 10 with Redis down admitted %d of 6+8; want 4 more (the local limit)", ok)
	}

	var warns []string
	dec := json.NewDecoder(strings.NewReader(logs.String()))
	for {
		var m map[string]any
		if err := dec.Decode(&m); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("a log line is not the configured JSON: %v\n%s", err, logs)
		}
		if m["level"] == "WARN" && strings.Contains(m["msg"].(string), "rate limit store failing") {
			warns = append(warns, m["msg"].(string))
		}
	}
	if len(warns) != 2 {
		t.Errorf("store-failure warnings through Config.Logger = %d; want 2 (one per limiter)\n%s", len(warns), logs)
	}
	res, body := do(t, http.MethodGet, base+server.MetricsPath, "", nil, nil)
	if res.StatusCode != 200 || !bytes.Contains(body, []byte(`gantry_ratelimit_fallbacks_total{limiter="default"} 14`)) ||
		!bytes.Contains(body, []byte(`gantry_ratelimit_fallbacks_total{limiter="login"} 6`)) {
		t.Errorf("/metrics lacks the fallback counts:\n%s", grepLines(string(body), "ratelimit"))
	}
}

func grepLines(s, sub string) string {
	var out []string
	for line := range strings.Lines(s) {
		if strings.Contains(line, sub) {
			out = append(out, line)
		}
	}
	return strings.Join(out, "")
}
