package health_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
	"github.com/jmoiron/sqlx"
	"github.com/labstack/echo/v4"
	"github.com/redis/go-redis/v9"

	"github.com/gantry-dev/gantry/health"
	"github.com/gantry-dev/gantry/internal/testenv"
)

// --- helpers ---------------------------------------------------------------

// newRegistry returns a registry that logs nowhere.
func newRegistry(cfg health.Config) *health.Registry {
	cfg.Logger = slog.New(slog.DiscardHandler)
	return health.New(cfg)
}

// serve mounts reg on an echo instance served on loopback until the test ends.
func serve(tb testing.TB, reg *health.Registry, m ...echo.MiddlewareFunc) *httptest.Server {
	tb.Helper()
	e := echo.New()
	reg.Mount(e, m...)
	ts := httptest.NewServer(e)
	tb.Cleanup(ts.Close)
	return ts
}

type response struct {
	code   int
	header http.Header
	raw    map[string]any
	report health.Report
	took   time.Duration
}

// get fetches url and decodes the JSON report.
func get(tb testing.TB, url string) response {
	tb.Helper()
	start := time.Now()
	resp, err := http.Get(url)
	if err != nil {
		tb.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	var body json.RawMessage
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		tb.Fatalf("GET %s: decode: %v", url, err)
	}
	r := response{code: resp.StatusCode, header: resp.Header, took: time.Since(start)}
	if err := json.Unmarshal(body, &r.raw); err != nil {
		tb.Fatalf("GET %s: %v in %s", url, err, body)
	}
	if err := json.Unmarshal(body, &r.report); err != nil {
		tb.Fatalf("GET %s: %v in %s", url, err, body)
	}
	return r
}

// counter returns a check that counts its calls and returns err.
func counter(err error) (health.Checker, *atomic.Int64) {
	var n atomic.Int64
	return health.CheckerFunc(func(context.Context) error {
		n.Add(1)
		return err
	}), &n
}

// closedAddr returns a loopback address where nothing listens.
func closedAddr(tb testing.TB) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// silentAddr returns a loopback address that accepts connections and never
// answers, until the test ends.
func silentAddr(tb testing.TB) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	tb.Cleanup(func() {
		ln.Close()
		<-done
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return ln.Addr().String()
}

// clock is a settable Config.Now.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

var epoch = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// --- liveness --------------------------------------------------------------

func TestLivenessAlways200(t *testing.T) {
	hang := make(chan struct{})
	t.Cleanup(func() { close(hang) })
	tests := []struct {
		name     string
		err      error
		hangs    bool
		draining bool
	}{
		{name: "no failing check"},
		{name: "critical check failing", err: errors.New("db down")},
		{name: "check hanging", hangs: true},
		{name: "draining", draining: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := &clock{now: epoch}
			reg := newRegistry(health.Config{Now: clk.Now})
			var calls atomic.Int64
			reg.Register("dep", health.CheckerFunc(func(context.Context) error {
				calls.Add(1)
				if tt.hangs {
					<-hang
				}
				return tt.err
			}))
			reg.SetDraining(tt.draining)
			ts := serve(t, reg)

			r := get(t, ts.URL+"/health")
			if r.code != http.StatusOK {
				t.Errorf("GET /health = %d; want 200", r.code)
			}
			want := map[string]any{"status": "healthy", "timestamp": "2026-01-02T03:04:05Z"}
			if fmt.Sprint(r.raw) != fmt.Sprint(want) {
				t.Errorf("GET /health body = %v; want %v", r.raw, want)
			}
			if got := r.header.Get("Cache-Control"); got != "no-store" {
				t.Errorf("Cache-Control = %q; want no-store", got)
			}
			if n := calls.Load(); n != 0 {
				t.Errorf("liveness ran the check %d times; want 0", n)
			}
		})
	}
}

// --- status rules ----------------------------------------------------------

func TestStatusRules(t *testing.T) {
	boom := errors.New("boom")
	type chk struct {
		name     string
		critical bool
		err      error
	}
	tests := []struct {
		name       string
		checks     []chk
		wantReady  int
		wantDetail int
		wantStatus health.Status
	}{
		{name: "no checks", wantReady: 200, wantDetail: 200, wantStatus: health.StatusHealthy},
		{name: "all pass", checks: []chk{{"db", true, nil}, {"cache", false, nil}},
			wantReady: 200, wantDetail: 200, wantStatus: health.StatusHealthy},
		{name: "non-critical fails", checks: []chk{{"db", true, nil}, {"cache", false, boom}},
			wantReady: 200, wantDetail: 200, wantStatus: health.StatusDegraded},
		{name: "critical fails", checks: []chk{{"db", true, boom}, {"cache", false, nil}},
			wantReady: 503, wantDetail: 503, wantStatus: health.StatusUnhealthy},
		{name: "both fail", checks: []chk{{"db", true, boom}, {"cache", false, boom}},
			wantReady: 503, wantDetail: 503, wantStatus: health.StatusUnhealthy},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := newRegistry(health.Config{})
			for _, c := range tt.checks {
				chk, _ := counter(c.err)
				reg.Register(c.name, chk, health.Critical(c.critical))
			}
			ts := serve(t, reg)

			ready := get(t, ts.URL+"/health/ready")
			if ready.code != tt.wantReady || ready.report.Status != tt.wantStatus {
				t.Errorf("ready = %d %q; want %d %q", ready.code, ready.report.Status, tt.wantReady, tt.wantStatus)
			}
			det := get(t, ts.URL+"/health/detailed")
			if det.code != tt.wantDetail || det.report.Status != tt.wantStatus {
				t.Errorf("detailed = %d %q; want %d %q", det.code, det.report.Status, tt.wantDetail, tt.wantStatus)
			}
			for _, r := range []response{ready, det} {
				if got := r.header.Get("Cache-Control"); got != "no-store" {
					t.Errorf("Cache-Control = %q; want no-store", got)
				}
			}
			if len(det.report.Checks) != len(tt.checks) {
				t.Fatalf("detailed has %d checks; want %d", len(det.report.Checks), len(tt.checks))
			}
			for _, c := range tt.checks {
				got := det.report.Checks[c.name]
				wantSt, wantErr := health.StatusHealthy, ""
				if c.err != nil {
					wantSt, wantErr = health.StatusUnhealthy, c.err.Error()
				}
				if got.Status != wantSt || got.Critical != c.critical || got.Error != wantErr || got.LatencyMS < 0 {
					t.Errorf("check %s = %+v; want status %q critical %v error %q", c.name, got, wantSt, c.critical, wantErr)
				}
			}
		})
	}
}

// --- real dependencies -----------------------------------------------------

func TestReadyWithRealPostgresAndRedis(t *testing.T) {
	db := testenv.Postgres(t)
	rdb, _ := testenv.Redis(t)
	reg := newRegistry(health.Config{})
	reg.Register("postgres", health.SQL(db))
	reg.Register("redis", health.Redis(rdb))
	ts := serve(t, reg)

	if r := get(t, ts.URL+"/health/ready"); r.code != 200 || r.report.Status != health.StatusHealthy {
		t.Fatalf("ready = %d %+v; want 200 healthy", r.code, r.report)
	}
	det := get(t, ts.URL+"/health/detailed")
	if det.code != 200 || det.report.Status != health.StatusHealthy {
		t.Fatalf("detailed = %d %+v; want 200 healthy", det.code, det.report)
	}
	for _, name := range []string{"postgres", "redis"} {
		c, ok := det.report.Checks[name]
		if !ok || c.Status != health.StatusHealthy || !c.Critical || c.LatencyMS <= 0 || c.Error != "" {
			t.Errorf("check %s = %+v (present %v); want healthy, critical, latency > 0", name, c, ok)
		}
		if _, ok := det.raw["checks"].(map[string]any)[name].(map[string]any)["latency_ms"].(float64); !ok {
			t.Errorf("check %s: latency_ms is not a JSON number: %v", name, det.raw["checks"])
		}
	}
}

// TestUnreachableDependency points the built-in checks at a closed port and
// at a port that accepts but never answers: readiness must turn 503 on the
// first probe, within the check's timeout plus a margin, while liveness
// stays 200.
func TestUnreachableDependency(t *testing.T) {
	const timeout = 500 * time.Millisecond
	const margin = 1500 * time.Millisecond // scheduling on a busy 2-core CI box
	sqlCheck := func(tb testing.TB, addr string) health.Checker {
		db, err := sqlx.Open("pgx", "postgres://postgres@"+addr+"/test?sslmode=disable")
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { db.Close() })
		return health.SQL(db)
	}
	redisCheck := func(tb testing.TB, addr string) health.Checker {
		rdb := redis.NewClient(&redis.Options{Addr: addr})
		tb.Cleanup(func() { rdb.Close() })
		return health.Redis(rdb)
	}
	// go-redis retries a failed dial 5 times, 100ms apart, by default, so a
	// refused connection surfaces as our timeout; with one attempt the
	// driver's own error comes through.
	redisOneDial := func(tb testing.TB, addr string) health.Checker {
		rdb := redis.NewClient(&redis.Options{Addr: addr, DialerRetries: 1, MaxRetries: -1})
		tb.Cleanup(func() { rdb.Close() })
		return health.Redis(rdb)
	}
	tests := []struct {
		name    string
		addr    func(testing.TB) string
		checker func(testing.TB, string) health.Checker
		wantErr string
	}{
		{name: "postgres closed port", addr: closedAddr, checker: sqlCheck, wantErr: "health: sql ping"},
		{name: "redis closed port", addr: closedAddr, checker: redisCheck, wantErr: "timed out"},
		{name: "redis closed port, one dial", addr: closedAddr, checker: redisOneDial, wantErr: "connection refused"},
		{name: "postgres silent port", addr: silentAddr, checker: sqlCheck, wantErr: "timed out"},
		{name: "redis silent port", addr: silentAddr, checker: redisCheck, wantErr: "timed out"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := newRegistry(health.Config{CacheTTL: -1})
			reg.Register("dep", tt.checker(t, tt.addr(t)), health.Timeout(timeout))
			reg.Register("ok", health.CheckerFunc(func(context.Context) error { return nil }))
			ts := serve(t, reg)

			ready := get(t, ts.URL+"/health/ready")
			if ready.code != http.StatusServiceUnavailable || ready.report.Status != health.StatusUnhealthy {
				t.Errorf("ready = %d %q; want 503 unhealthy", ready.code, ready.report.Status)
			}
			if ready.took > timeout+margin {
				t.Errorf("ready took %v; want at most %v", ready.took, timeout+margin)
			}
			if live := get(t, ts.URL+"/health"); live.code != http.StatusOK {
				t.Errorf("GET /health = %d; want 200", live.code)
			}
			det := get(t, ts.URL+"/health/detailed")
			dep := det.report.Checks["dep"]
			if det.code != 503 || dep.Status != health.StatusUnhealthy || !strings.Contains(dep.Error, tt.wantErr) {
				t.Errorf("detailed = %d, dep %+v; want 503, unhealthy with %q", det.code, dep, tt.wantErr)
			}
			if det.took > timeout+margin {
				t.Errorf("detailed took %v; want at most %v", det.took, timeout+margin)
			}
		})
	}
}

// --- timeouts --------------------------------------------------------------

func TestTimeoutBoundsCheck(t *testing.T) {
	const timeout = 150 * time.Millisecond
	tests := []struct {
		name  string
		check func(release <-chan struct{}) health.Checker
	}{
		{name: "ignores ctx", check: func(release <-chan struct{}) health.Checker {
			return health.CheckerFunc(func(context.Context) error { <-release; return nil })
		}},
		{name: "honours ctx", check: func(<-chan struct{}) health.Checker {
			return health.CheckerFunc(func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() })
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			release := make(chan struct{})
			t.Cleanup(func() { close(release) })
			reg := newRegistry(health.Config{CacheTTL: -1})
			reg.Register("slow", tt.check(release), health.Timeout(timeout))

			start := time.Now()
			rep := reg.Check(t.Context())
			took := time.Since(start)
			if took < timeout || took > timeout+time.Second {
				t.Errorf("Check took %v; want about %v", took, timeout)
			}
			got := rep.Checks["slow"]
			if rep.Status != health.StatusUnhealthy || !strings.Contains(got.Error, health.ErrTimeout.Error()) {
				t.Errorf("Check = %q, slow %+v; want unhealthy with %q", rep.Status, got, health.ErrTimeout)
			}
			if got.LatencyMS < float64(timeout.Milliseconds()) {
				t.Errorf("latency %vms; want >= %v", got.LatencyMS, timeout)
			}
		})
	}
}

// TestHungCheckIsNotCalledAgain: while a call that ignores ctx is still
// running, later probes wait on it (bounded) instead of starting another.
func TestHungCheckIsNotCalledAgain(t *testing.T) {
	const timeout = 100 * time.Millisecond
	release := make(chan struct{})
	var calls atomic.Int64
	reg := newRegistry(health.Config{CacheTTL: -1})
	reg.Register("stuck", health.CheckerFunc(func(context.Context) error {
		if calls.Add(1) == 1 {
			<-release // the first call hangs, ignoring ctx
		}
		return nil
	}), health.Timeout(timeout))
	ts := serve(t, reg)

	for i := range 3 {
		r := get(t, ts.URL+"/health/ready")
		if r.code != 503 || r.took > timeout+time.Second {
			t.Errorf("probe %d = %d in %v; want 503 within %v", i, r.code, r.took, timeout+time.Second)
		}
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("check called %d times while hung; want 1", n)
	}
	close(release)
	deadline := time.Now().Add(5 * time.Second)
	for {
		r := get(t, ts.URL+"/health/ready")
		if r.code == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("ready still %d after the check returned", r.code)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestPanickingCheck(t *testing.T) {
	reg := newRegistry(health.Config{})
	reg.Register("bad", health.CheckerFunc(func(context.Context) error { panic("kaboom") }))
	rep := reg.Check(t.Context())
	got := rep.Checks["bad"]
	if rep.Status != health.StatusUnhealthy || !strings.Contains(got.Error, "panicked: kaboom") {
		t.Errorf("Check = %q, bad %+v; want unhealthy with the panic", rep.Status, got)
	}
}

// --- caching and probe storms ----------------------------------------------

func TestCacheTTL(t *testing.T) {
	clk := &clock{now: epoch}
	reg := newRegistry(health.Config{Now: clk.Now, CacheTTL: time.Second})
	chk, calls := counter(nil)
	reg.Register("dep", chk)

	steps := []struct {
		name      string
		advance   time.Duration
		probes    int
		register  string
		wantCalls int64
	}{
		{name: "first probes run once", probes: 10, wantCalls: 1},
		{name: "still within TTL", advance: 999 * time.Millisecond, probes: 10, wantCalls: 1},
		{name: "TTL passed", advance: time.Millisecond, probes: 10, wantCalls: 2},
		{name: "register drops cache", register: "other", probes: 10, wantCalls: 3},
		{name: "cached again", advance: 500 * time.Millisecond, probes: 10, wantCalls: 3},
	}
	for _, s := range steps {
		clk.Advance(s.advance)
		if s.register != "" {
			c, _ := counter(nil)
			reg.Register(s.register, c)
		}
		for range s.probes {
			if rep := reg.Check(t.Context()); rep.Status != health.StatusHealthy {
				t.Fatalf("%s: Check = %q; want healthy", s.name, rep.Status)
			}
		}
		if got := calls.Load(); got != s.wantCalls {
			t.Errorf("%s: check ran %d times; want %d", s.name, got, s.wantCalls)
		}
	}
}

// TestConcurrentProbesShareOneRun holds the check until all 100 probes are
// inside the handler, so every one of them arrives during the refresh.
func TestConcurrentProbesShareOneRun(t *testing.T) {
	const probes = 100
	clk := &clock{now: epoch} // frozen: the cache never expires here
	reg := newRegistry(health.Config{Now: clk.Now})
	var entered, calls atomic.Int64
	reg.Register("dep", health.CheckerFunc(func(ctx context.Context) error {
		calls.Add(1)
		for entered.Load() < probes {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(time.Millisecond):
			}
		}
		return nil
	}), health.Timeout(20*time.Second))
	ts := serve(t, reg, func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			entered.Add(1)
			return next(c)
		}
	})

	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: probes}}
	t.Cleanup(client.CloseIdleConnections)
	codes := make([]int, probes)
	var wg sync.WaitGroup
	for i := range probes {
		wg.Go(func() {
			resp, err := client.Get(ts.URL + "/health/ready")
			if err != nil {
				t.Errorf("probe %d: %v", i, err)
				return
			}
			resp.Body.Close()
			codes[i] = resp.StatusCode
		})
	}
	wg.Wait()
	for i, c := range codes {
		if c != 200 {
			t.Errorf("probe %d = %d; want 200", i, c)
		}
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("%d concurrent probes ran the check %d times; want 1", probes, n)
	}
}

func TestCheckReturnsWhenCallerGivesUp(t *testing.T) {
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	reg := newRegistry(health.Config{})
	reg.Register("slow", health.CheckerFunc(func(context.Context) error { <-release; return nil }),
		health.Timeout(10*time.Second))

	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	rep := reg.Check(ctx)
	if took := time.Since(start); took > time.Second {
		t.Errorf("Check took %v after ctx ended; want prompt return", took)
	}
	if got := rep.Checks["slow"]; rep.Status != health.StatusUnhealthy || !strings.Contains(got.Error, "deadline exceeded") {
		t.Errorf("Check = %q, slow %+v; want unhealthy with ctx's error", rep.Status, got)
	}
}

// --- draining and production -----------------------------------------------

func TestDraining(t *testing.T) {
	reg := newRegistry(health.Config{CacheTTL: -1})
	chk, calls := counter(nil)
	reg.Register("dep", chk)
	ts := serve(t, reg)

	reg.SetDraining(true)
	if !reg.Draining() {
		t.Fatal("Draining() = false after SetDraining(true)")
	}
	r := get(t, ts.URL+"/health/ready")
	if r.code != 503 || r.report.Status != health.StatusDraining || r.report.Checks != nil {
		t.Errorf("ready while draining = %d %+v; want 503 draining without checks", r.code, r.report)
	}
	if n := calls.Load(); n != 0 {
		t.Errorf("draining readiness ran the check %d times; want 0", n)
	}
	if r := get(t, ts.URL+"/health"); r.code != 200 {
		t.Errorf("liveness while draining = %d; want 200", r.code)
	}
	if r := get(t, ts.URL+"/health/detailed"); r.code != 200 || !r.report.Draining || r.report.Status != health.StatusHealthy {
		t.Errorf("detailed while draining = %d %+v; want 200 healthy with draining true", r.code, r.report)
	}

	reg.SetDraining(false)
	if r := get(t, ts.URL+"/health/ready"); r.code != 200 || r.report.Status != health.StatusHealthy {
		t.Errorf("ready after draining off = %d %q; want 200 healthy", r.code, r.report.Status)
	}
}

func TestProductionHidesErrors(t *testing.T) {
	tests := []struct {
		production bool
		wantErr    string
	}{
		{production: false, wantErr: "dial 10.0.0.1: secret-host refused"},
		{production: true, wantErr: ""},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("production=%v", tt.production), func(t *testing.T) {
			reg := newRegistry(health.Config{Production: tt.production})
			chk, _ := counter(errors.New("dial 10.0.0.1: secret-host refused"))
			reg.Register("db", chk)
			ts := serve(t, reg)
			for _, path := range []string{"/health/ready", "/health/detailed"} {
				r := get(t, ts.URL+path)
				if got := r.report.Checks["db"].Error; r.code != 503 || got != tt.wantErr {
					t.Errorf("GET %s = %d, error %q; want 503, %q", path, r.code, got, tt.wantErr)
				}
			}
			if got := reg.Check(t.Context()).Checks["db"].Error; got != tt.wantErr {
				t.Errorf("Check error = %q; want %q", got, tt.wantErr)
			}
		})
	}
}

// --- registration ----------------------------------------------------------

func TestRegisterPanicsOnWiringMistakes(t *testing.T) {
	ok := health.CheckerFunc(func(context.Context) error { return nil })
	tests := []struct {
		name  string
		check health.Checker
		reg   string
	}{
		{name: "empty name", check: ok, reg: ""},
		{name: "nil checker", check: nil, reg: "x"},
		{name: "duplicate", check: ok, reg: "dup"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := newRegistry(health.Config{})
			reg.Register("dup", ok)
			defer func() {
				if recover() == nil {
					t.Errorf("Register(%q, %v) did not panic", tt.reg, tt.check)
				}
			}()
			reg.Register(tt.reg, tt.check)
		})
	}
}

// --- logging ---------------------------------------------------------------

// syncBuffer is a goroutine-safe log sink.
type syncBuffer struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestLogsTransitionsOnly(t *testing.T) {
	var logs syncBuffer
	var failing atomic.Bool
	reg := health.New(health.Config{
		CacheTTL:   -1,
		Production: true, // hidden from responses, still logged
		Logger:     slog.New(slog.NewJSONHandler(&logs, nil)),
	})
	reg.Register("db", health.CheckerFunc(func(context.Context) error {
		if failing.Load() {
			return errors.New("connection refused")
		}
		return nil
	}))

	steps := []struct {
		failing bool
		want    string // substring of the new log output; "" means none
	}{
		{failing: false, want: ""},
		{failing: true, want: `"level":"WARN","msg":"health check failing","component":"health","check":"db","critical":true,"error":"connection refused"`},
		{failing: true, want: ""},
		{failing: false, want: `"level":"INFO","msg":"health check recovered","component":"health","check":"db"`},
		{failing: false, want: ""},
	}
	seen := 0
	for i, s := range steps {
		failing.Store(s.failing)
		reg.Check(t.Context())
		out := logs.String()
		got := out[seen:]
		seen = len(out)
		if (s.want == "") != (got == "") || !strings.Contains(got, s.want) {
			t.Errorf("step %d (failing=%v) logged %q; want %q", i, s.failing, got, s.want)
		}
	}
}
