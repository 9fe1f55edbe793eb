// Command http measures Gantry's default middleware stack beside bare echo
// and the typical echo v4 production stack, and Gantry's rate-limit stores
// beside go-redis/redis_rate v10 and echo's memory store, in one run,
// interleaved (A B C A B C … in short slices; each figure is the median of
// the per-round values, each ratio the median of the per-round ratios).
//
//	cd bench && go run ./http              # in-process, Redis, memory: about a minute
//	cd bench && go run ./http -wrk         # plus req/s over loopback with wrk (apt-get install wrk)
//	cd bench && go run ./http -rounds 3    # shorter
//
// In-process figures are one goroutine calling echo's ServeHTTP with a
// reusable ResponseWriter: GET /hello answering a static JSON body, logging
// to io.Discard. The wrk mode runs each server in its own process pinned to
// CPU 0 with GOMAXPROCS=1 and wrk -t1 -c64 pinned to CPU 1; besides the
// stack logging to io.Discard it runs the stack logging to a pipe read by
// another process (cat, as a log collector reads stderr) through a
// middleware.LogBuffer and straight (one write(2) per request).
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/golang-jwt/jwt/v5"
	"github.com/labstack/echo-contrib/echoprometheus"
	echojwt "github.com/labstack/echo-jwt/v4"
	"github.com/labstack/echo/v4"
	emw "github.com/labstack/echo/v4/middleware"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"golang.org/x/time/rate"

	"github.com/gantry-dev/gantry/auth"
	"github.com/gantry-dev/gantry/bench/internal/harness"
	"github.com/gantry-dev/gantry/middleware"
)

const (
	secret = "bench-secret-key-0123456789abcdef0123"
	host   = "127.0.0.1"
	origin = "https://app.example.com"
)

var helloJSON = []byte(`{"message":"hello"}`)

func hello(c echo.Context) error { return c.JSONBlob(http.StatusOK, helloJSON) }

func must[T any](v T, err error) T {
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
	return v
}

func newEcho() *echo.Echo {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.Logger.SetOutput(io.Discard)
	e.IPExtractor = echo.ExtractIPDirect()
	return e
}

// ---- the three servers ----

func bare() *echo.Echo {
	e := newEcho()
	e.GET("/hello", hello)
	return e
}

// gantryStack is the server package's default stack for production
// settings with every piece on (memory rate limiter, no auth).
func gantryStack(withAuth *auth.Tokens) *echo.Echo { return gantryStackWithout(withAuth, "") }

func gantryStackLog(withAuth *auth.Tokens, accessLog bool) *echo.Echo {
	if accessLog {
		return gantryStackWithout(withAuth, "")
	}
	return gantryStackWithout(withAuth, "log")
}

// gantryStackWithout leaves out one piece (log, metrics, secure, limit,
// timeout, requestid), for -serve gantry-no<piece> experiments.
func gantryStackWithout(withAuth *auth.Tokens, piece string) *echo.Echo {
	return gantryStackLogTo(withAuth, piece, io.Discard)
}

// gantryStackLogTo is gantryStackWithout with the log written to w.
func gantryStackLogTo(withAuth *auth.Tokens, piece string, w io.Writer) *echo.Echo {
	e := newEcho()
	log := slog.New(slog.NewJSONHandler(w, nil))
	var al *middleware.AccessLogConfig
	if piece != "log" {
		al = &middleware.AccessLogConfig{Logger: log, SkipPaths: []string{"/health", "/metrics"}}
	}
	m := must(middleware.NewMetrics(middleware.MetricsConfig{Registerer: prometheus.NewRegistry()}))
	sc := middleware.StackConfig{
		Logger:       log,
		AccessLog:    al,
		Metrics:      m,
		Secure:       new(middleware.DefaultSecureConfig(true)),
		HeaderLimit:  &middleware.HeaderLimitConfig{Limit: 64 << 10},
		TrustedHosts: &middleware.TrustedHostsConfig{AllowedHosts: []string{host, "localhost", "api.example.com"}},
		CORS:         &middleware.CORSConfig{AllowOrigins: []string{origin}, AllowCredentials: true},
		RateLimit: &middleware.RateLimitConfig{
			Store: middleware.NewMemoryStore(middleware.MemoryStoreConfig{}),
			Limit: middleware.Limit{Rate: 10_000_000, Period: time.Second, Burst: 1000},
		},
		BodyLimit: 1 << 20,
		Timeout:   30 * time.Second,
	}
	switch piece {
	case "metrics":
		sc.Metrics = nil
	case "secure":
		sc.Secure = nil
	case "limit":
		sc.RateLimit = nil
	case "timeout":
		sc.Timeout = 0
	case "requestid":
		sc.DisableRequestID = true
	}
	s := must(middleware.NewStack(sc))
	e.Use(s.Middleware())
	if withAuth != nil {
		e.GET("/hello", hello, must(auth.JWTConfig{Tokens: withAuth}.ToMiddleware()))
	} else {
		e.GET("/hello", hello)
	}
	return e
}

// typical is the echo v4 stack the issue names, configured as its docs
// suggest.
func typical(withJWT bool) *echo.Echo {
	e := newEcho()
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	e.Use(emw.RequestID())
	e.Use(emw.RequestLoggerWithConfig(emw.RequestLoggerConfig{
		LogStatus: true, LogURI: true, LogMethod: true, LogLatency: true, LogRequestID: true, LogRemoteIP: true,
		LogRoutePath: true, LogContentLength: true, LogResponseSize: true, HandleError: true,
		LogValuesFunc: func(c echo.Context, v emw.RequestLoggerValues) error {
			log.LogAttrs(context.Background(), slog.LevelInfo, "request",
				slog.String("method", v.Method), slog.String("route", v.RoutePath), slog.String("uri", v.URI),
				slog.Int("status", v.Status), slog.Duration("latency", v.Latency), slog.String("bytes_in", v.ContentLength),
				slog.Int64("bytes_out", v.ResponseSize), slog.String("request_id", v.RequestID), slog.String("client_ip", v.RemoteIP))
			return nil
		},
	}))
	e.Use(emw.Recover())
	e.Use(emw.CORSWithConfig(emw.CORSConfig{AllowOrigins: []string{origin}, AllowCredentials: true}))
	e.Use(emw.Secure())
	e.Use(emw.BodyLimit("1M"))
	e.Use(emw.GzipWithConfig(emw.GzipConfig{MinLength: 1000}))
	e.Use(echoprometheus.NewMiddlewareWithConfig(echoprometheus.MiddlewareConfig{Registerer: prometheus.NewRegistry()}))
	e.Use(emw.RateLimiter(emw.NewRateLimiterMemoryStoreWithConfig(emw.RateLimiterMemoryStoreConfig{Rate: rate.Limit(10_000_000), Burst: 1000})))
	if withJWT {
		e.Use(echojwt.WithConfig(echojwt.Config{SigningKey: []byte(secret)}))
	}
	e.GET("/hello", hello)
	return e
}

func echoJWTToken() string {
	tok := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": "user-1", "exp": time.Now().Add(time.Hour).Unix()})
	return must(tok.SignedString([]byte(secret)))
}

// ---- in-process ----

type op = func()

// request is GET /hello from a fixed client address to host, with token as
// a bearer token if not empty.
func request(token string) *http.Request {
	req := harness.BearerRequest(http.MethodGet, "/hello", token)
	req.RemoteAddr = "10.1.2.3:45678"
	req.Host = host
	return req
}

func serveOp(h http.Handler, token string) op { return harness.Serve(h, request(token), "") }

type variant struct {
	name string
	f    op
	ns   []float64
	al   []float64
}

// interleave measures vs in turn, round after round, and keeps each
// variant's per-round figures.
func interleave(vs []*variant, rounds int, slice time.Duration, progress func(int)) {
	ops := make([]func(), len(vs))
	for i, v := range vs {
		ops[i] = v.f
	}
	ns, al := harness.Interleave(rounds, slice, ops, progress)
	for i, v := range vs {
		v.ns, v.al = ns[i], al[i]
	}
}

func inProcess(rounds int, slice time.Duration, tokens *auth.Tokens, gantryToken string) {
	fmt.Println("## In-process, one goroutine, GET /hello (static JSON), log to io.Discard")
	jwtTok := echoJWTToken()
	vs := []*variant{
		{name: "bare echo", f: serveOp(bare(), "")},
		{name: "gantry default stack", f: serveOp(gantryStack(nil), "")},
		{name: "typical echo stack, no JWT", f: serveOp(typical(false), "")},
		{name: "gantry default stack + auth", f: serveOp(gantryStack(tokens), gantryToken)},
		{name: "typical echo stack + echo-jwt", f: serveOp(typical(true), jwtTok)},
	}
	interleave(vs, rounds, slice, func(done int) { fmt.Fprintf(os.Stderr, "  round %d/%d\n", done, rounds) })
	ratio := func(a, b *variant) float64 { return harness.MedianRatio(a.ns, b.ns) }
	base, g, ty, ga, tj := vs[0], vs[1], vs[2], vs[3], vs[4]
	fmt.Printf("%-32s %10s %8s  %s\n", "", "ns/op", "allocs", "ratio")
	row := func(v *variant, note string) {
		fmt.Printf("%-32s %10.0f %8.1f  %s\n", v.name, harness.Median(v.ns), harness.Median(v.al), note)
	}
	row(base, "")
	row(g, fmt.Sprintf("%.2f× bare's time; goal < 3000 ns and < 10 allocs: %s", ratio(g, base), pass(harness.Median(g.ns) < 3000 && harness.Median(g.al) < 10)))
	row(ty, fmt.Sprintf("%.2f× bare's time; gantry takes %.2f× its time", ratio(ty, base), ratio(g, ty)))
	row(ga, fmt.Sprintf("%.2f× bare's time", ratio(ga, base)))
	row(tj, fmt.Sprintf("%.2f× bare's time; gantry+auth takes %.2f× its time", ratio(tj, base), ratio(ga, tj)))
	fmt.Printf("gantry overhead above bare: %.0f ns, %.1f allocs\n\n", harness.Median(g.ns)-harness.Median(base.ns), harness.Median(g.al)-harness.Median(base.al))
}

// pieces compares, one e.Use layer each over bare echo, the echo
// middlewares Gantry writes its own fast path for with Gantry's piece.
func pieces(rounds int, slice time.Duration) {
	fmt.Println("## Per piece, one e.Use layer over bare echo (cost above bare)")
	one := func(mw echo.MiddlewareFunc) op {
		e := newEcho()
		e.Use(mw)
		e.GET("/hello", hello)
		return serveOp(e, "")
	}
	gen := middleware.NewRequestIDGenerator()
	vs := []*variant{
		{name: "bare echo", f: serveOp(bare(), "")},
		{name: "echo ContextTimeout", f: one(emw.ContextTimeout(30 * time.Second))},
		{name: "gantry TimeoutConfig", f: one(must(middleware.TimeoutConfig{Timeout: 30 * time.Second}.ToMiddleware()))},
		{name: "echo Secure (defaults)", f: one(emw.Secure())},
		{name: "gantry SecureConfig (prod)", f: one(must(middleware.DefaultSecureConfig(true).ToMiddleware()))},
		{name: "echo RequestID (default gen)", f: one(emw.RequestID())},
		{name: "echo RequestID + gantry gen", f: one(emw.RequestIDWithConfig(emw.RequestIDConfig{Generator: gen}))},
		{name: "gantry stack, all pieces", f: serveOp(gantryStack(nil), "")},
		{name: "gantry stack without access log", f: serveOp(gantryStackLog(nil, false), "")},
	}
	interleave(vs, rounds, slice, nil)
	base := vs[0]
	for _, v := range vs[1:] {
		var d []float64
		for i := range v.ns {
			d = append(d, v.ns[i]-base.ns[i])
		}
		fmt.Printf("%-32s %+8.0f ns %+6.1f allocs\n", v.name, harness.Median(d), harness.Median(v.al)-harness.Median(base.al))
	}
	fmt.Println()
}

func pass(ok bool) string {
	if ok {
		return "MET"
	}
	return "NOT MET"
}

func check(h http.Handler, token, name string) {
	if err := harness.Check(h, request(token), http.StatusOK); err != nil {
		fmt.Fprintf(os.Stderr, "bench: %s: %v\n", name, err)
		os.Exit(1)
	}
}

// ---- wrk ----

// serveChild is the -serve mode: one server in this process, on one core.
func serveChild(name string) {
	var e *echo.Echo
	switch name {
	case "bare":
		e = bare()
	case "gantry":
		e = gantryStack(nil)
	case "gantry-buffered", "gantry-unbuffered": // the log written to a pipe read by another process, as stderr to a log collector
		sink := exec.Command("cat")
		sink.Stdout = io.Discard
		pipe := must(sink.StdinPipe())
		if err := sink.Start(); err != nil {
			fmt.Fprintln(os.Stderr, "bench: start log reader:", err)
			os.Exit(1)
		}
		var w io.Writer = pipe // one write(2) per request
		if name == "gantry-buffered" {
			w = must(middleware.NewLogBuffer(pipe, middleware.LogBufferConfig{})) // the process ends without Close: a bench
		}
		e = gantryStackLogTo(nil, "", w)
	case "typical":
		e = typical(false)
	case "bare-hdrs", "bare-hdr9old": // bare echo plus precomputed response headers: the wire cost of headers alone
		e = newEcho()
		var keys []string
		var vals [][]string
		if name == "bare-hdrs" { // exactly the headers the stack sends on this request
			keys, vals = stackHeaders()
		} else { // the 9 the stack sent before the RateLimit fields and Referrer-Policy changed (10 keys with Content-Type)
			keys = []string{"X-Request-Id", "X-Content-Type-Options", "X-Frame-Options", "Referrer-Policy", "Strict-Transport-Security", "Vary", "Ratelimit-Limit", "Ratelimit-Remaining", "Ratelimit-Reset"}
			vals = [][]string{{"k3v9q2m7d1x8a-1z"}, {"nosniff"}, {"DENY"}, {"strict-origin-when-cross-origin"}, {"max-age=31536000; includeSubDomains"}, {"Origin, Accept-Encoding"}, {"100"}, {"99"}, {"1"}}
		}
		e.Use(func(next echo.HandlerFunc) echo.HandlerFunc {
			return func(c echo.Context) error {
				h := c.Response().Header()
				for i, k := range keys {
					h[k] = vals[i]
				}
				return next(c)
			}
		})
		e.GET("/hello", hello)
	default:
		if p, ok := strings.CutPrefix(name, "gantry-no"); ok {
			e = gantryStackWithout(nil, p)
			break
		}
		fmt.Fprintln(os.Stderr, "unknown server", name)
		os.Exit(2)
	}
	ln := must(net.Listen("tcp", "127.0.0.1:0"))
	if path := os.Getenv("BENCH_CPUPROFILE"); path != "" { // profile the first 10 s
		f := must(os.Create(path))
		_ = pprof.StartCPUProfile(f)
		time.AfterFunc(10*time.Second, func() { pprof.StopCPUProfile(); f.Close() })
	}
	fmt.Println("LISTEN", ln.Addr().String())
	srv := &http.Server{Handler: e, ReadHeaderTimeout: 10 * time.Second}
	go func() { _, _ = io.Copy(io.Discard, os.Stdin); os.Exit(0) }() // exit with the parent
	_ = srv.Serve(ln)
}

// stackHeaders returns the response headers (Content-Type aside, which the
// handler sets) that the gantry stack sends on GET /hello.
func stackHeaders() (keys []string, vals [][]string) {
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, "http://"+host+"/hello", nil)
	req.RemoteAddr = host + ":40000"
	gantryStackWithout(nil, "log").ServeHTTP(rec, req)
	for _, k := range slices.Sorted(maps.Keys(rec.Header())) {
		if k != echo.HeaderContentType {
			keys, vals = append(keys, k), append(vals, slices.Clone(rec.Header()[k]))
		}
	}
	return keys, vals
}

type child struct {
	name, addr string
	cmd        *exec.Cmd
	rps, cpu   []float64
}

func startChild(name string) *child {
	exe := must(os.Executable())
	cmd := exec.Command("taskset", "-c", "0", exe, "-serve", name)
	cmd.Env = append(os.Environ(), "GOMAXPROCS=1")
	_ = must(cmd.StdinPipe()) // closed when this process exits: the child exits too
	out := must(cmd.StdoutPipe())
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "bench: start server:", err)
		os.Exit(1)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "LISTEN ") {
		fmt.Fprintln(os.Stderr, "bench: server did not start:", line, err)
		os.Exit(1)
	}
	return &child{name: name, addr: strings.TrimSpace(strings.TrimPrefix(line, "LISTEN ")), cmd: cmd}
}

var (
	rpsRe  = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)
	reqsRe = regexp.MustCompile(`([0-9]+) requests in`)
)

// runWrk loads addr for d and returns req/s and the request count.
func runWrk(addr string, d time.Duration) (rps, requests float64) {
	out, err := exec.Command("taskset", "-c", "1", "wrk", "-t1", "-c64", "-d"+strconv.Itoa(int(d.Seconds()))+"s", "http://"+addr+"/hello").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench: wrk: %v\n%s", err, out)
		os.Exit(1)
	}
	m, n := rpsRe.FindSubmatch(out), reqsRe.FindSubmatch(out)
	if m == nil || n == nil {
		fmt.Fprintf(os.Stderr, "bench: wrk output without Requests/sec:\n%s", out)
		os.Exit(1)
	}
	if strings.Contains(string(out), "Non-2xx") {
		fmt.Fprintf(os.Stderr, "bench: non-2xx answers from %s:\n%s", addr, out)
		os.Exit(1)
	}
	return must(strconv.ParseFloat(string(m[1]), 64)), must(strconv.ParseFloat(string(n[1]), 64))
}

// cpuTime is the CPU time (user + system) process pid has used so far.
func cpuTime(pid int) time.Duration {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:]) // fields from 3 on
	ut, _ := strconv.ParseInt(f[11], 10, 64)                 // field 14
	st, _ := strconv.ParseInt(f[12], 10, 64)                 // field 15
	return time.Duration(ut+st) * 10 * time.Millisecond      // USER_HZ = 100
}

func network(rounds int, d time.Duration) {
	if _, err := exec.LookPath("wrk"); err != nil {
		fmt.Println("## wrk not installed (apt-get install -y wrk): network figures skipped")
		return
	}
	fmt.Printf("## Over loopback: server on CPU 0 (GOMAXPROCS=1), wrk -t1 -c64 on CPU 1, %s windows, %d rounds\n", d, rounds)
	cs := []*child{startChild("bare"), startChild("gantry"), startChild("typical"), startChild("bare-hdrs"), startChild("gantry-nolog"), startChild("gantry-buffered"), startChild("gantry-unbuffered"), startChild("bare-hdr9old")}
	defer func() {
		for _, c := range cs {
			_ = c.cmd.Process.Kill()
			_ = c.cmd.Wait()
		}
	}()
	for _, c := range cs {
		runWrk(c.addr, time.Second) // warm
	}
	for r := range rounds {
		for _, c := range cs {
			before := cpuTime(c.cmd.Process.Pid)
			rps, n := runWrk(c.addr, d)
			c.rps = append(c.rps, rps)
			c.cpu = append(c.cpu, float64(cpuTime(c.cmd.Process.Pid)-before)/n) // ns per request
		}
		fmt.Fprintf(os.Stderr, "  round %d/%d: req/s bare %.0f, gantry %.0f (%.2f×), typical %.0f (%.2f×); server CPU µs/req %.1f %.1f %.1f\n", r+1, rounds,
			cs[0].rps[r], cs[1].rps[r], cs[1].rps[r]/cs[0].rps[r], cs[2].rps[r], cs[2].rps[r]/cs[0].rps[r],
			cs[0].cpu[r]/1e3, cs[1].cpu[r]/1e3, cs[2].cpu[r]/1e3)
	}
	ratio := harness.MedianRatio
	// On a shared machine req/s swings with other load; the server's own
	// CPU time per request does not, and on one saturated core req/s is
	// its inverse: bare's CPU/request ÷ ours is the throughput ratio.
	fmt.Printf("%-34s %8s %9s  %s\n", "", "req/s", "CPU/req", "× bare by req/s, by CPU/req")
	row := func(c *child, label, note string) {
		fmt.Printf("%-34s %8.0f %7.1fµs  %.2f×, %.2f×%s\n", label, harness.Median(c.rps), harness.Median(c.cpu)/1e3, ratio(c.rps, cs[0].rps), ratio(cs[0].cpu, c.cpu), note)
	}
	hk, _ := stackHeaders()
	row(cs[0], "bare echo", "")
	row(cs[1], "gantry default stack", fmt.Sprintf(" (goal ≥ 0.80: %s)", pass(ratio(cs[0].cpu, cs[1].cpu) >= 0.80)))
	row(cs[2], "typical echo stack, no JWT", fmt.Sprintf("; gantry %.2f× its throughput", ratio(cs[2].cpu, cs[1].cpu)))
	row(cs[3], "bare + the stack's headers, no code", fmt.Sprintf(" (what its %d headers alone cost on the wire: %s)", len(hk), strings.Join(hk, ", ")))
	row(cs[4], "gantry default stack, no access log", "")
	row(cs[5], "gantry, log buffered to a pipe", fmt.Sprintf(" (%.2f× bare+headers, goal ≥ 0.90: %s; %.2f× no log, goal ≥ 0.90: %s)",
		ratio(cs[3].cpu, cs[5].cpu), pass(ratio(cs[3].cpu, cs[5].cpu) >= 0.90), ratio(cs[4].cpu, cs[5].cpu), pass(ratio(cs[4].cpu, cs[5].cpu) >= 0.90)))
	row(cs[6], "gantry, log unbuffered to a pipe", fmt.Sprintf(" (%.2f× no log: one write(2) per request)", ratio(cs[4].cpu, cs[6].cpu)))
	row(cs[7], "bare + the 9 headers of before", " (RateLimit-Limit/-Remaining/-Reset, Referrer-Policy: 10 keys)")
	fmt.Println()
}

// ---- rate-limit stores ----

// hammer runs check from g goroutines for d and returns checks per second;
// goroutine w checks i = w, w+g, ….
func hammer(g int, d time.Duration, check func(i int) error) float64 {
	perSec, _, err := harness.Throughput(g, d, func(_, i int) error { return check(i) })
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench: check:", err)
		os.Exit(1)
	}
	return perSec
}

func redisBench(rounds int, d time.Duration) {
	url := os.Getenv("REDIS_URL")
	if url == "" {
		url = "redis://127.0.0.1:6379/0"
	}
	opt := must(redis.ParseURL(url))
	opt.PoolSize = 64
	ctx := context.Background()
	var trips harness.RoundTripCounter
	rdb := redis.NewClient(opt)
	defer rdb.Close()
	if err := rdb.Ping(ctx).Err(); err != nil {
		fmt.Printf("## Redis at %s unreachable (%v): Redis figures skipped\n\n", url, err)
		return
	}
	rdb.AddHook(&trips)
	prefix := "bench:" + harness.RandomHex(6) + ":"
	defer func() { // every key has a TTL; delete them anyway
		for _, pat := range []string{prefix + "*", "rate:" + prefix + "*"} {
			iter := rdb.Scan(ctx, 0, pat, 1000).Iterator()
			for iter.Next(ctx) {
				rdb.Del(ctx, iter.Val())
			}
		}
	}()
	const keys = 1000
	names := make([]string, keys)
	for i := range names {
		names[i] = "k" + strconv.Itoa(i)
	}
	ours := must(middleware.NewRedisStore(middleware.RedisStoreConfig{Client: rdb, Prefix: prefix}))
	lim := middleware.Limit{Rate: 1_000_000, Period: time.Second, Burst: 1000}
	peer := redis_rate.NewLimiter(rdb)
	plim := redis_rate.Limit{Rate: 1_000_000, Burst: 1000, Period: time.Second}
	oursCheck := func(i int) error { _, err := ours.Allow(ctx, names[i%keys], lim); return err }
	peerCheck := func(i int) error { _, err := peer.Allow(ctx, prefix+names[i%keys], plim); return err }
	_ = oursCheck(0) // load the scripts
	_ = peerCheck(0)
	fmt.Printf("## Redis rate limiter, 32 goroutines, %d keys, %s windows\n", keys, d)
	var o, p, rt []float64
	for r := range rounds {
		t0 := trips.Count()
		start := time.Now()
		oc := hammer(32, d, oursCheck)
		checks := oc * time.Since(start).Seconds()
		rt = append(rt, float64(trips.Count()-t0)/checks)
		o = append(o, oc)
		p = append(p, hammer(32, d, peerCheck))
		fmt.Fprintf(os.Stderr, "  round %d/%d\n", r+1, rounds)
	}
	ratio := harness.MedianRatio(o, p)
	fmt.Printf("%-32s %10.0f checks/s  %.2f round trips per check\n", "gantry RedisStore (GCRA)", harness.Median(o), harness.Median(rt))
	fmt.Printf("%-32s %10.0f checks/s\n", "go-redis/redis_rate v10", harness.Median(p))
	fmt.Printf("gantry / redis_rate: %.2f× (goal ≥ 1.0: %s)\n\n", ratio, pass(ratio >= 0.995))
}

func memoryBench(rounds int, d time.Duration) {
	prev := runtime.GOMAXPROCS(1)
	defer runtime.GOMAXPROCS(prev)
	const keys = 1024
	names := make([]string, keys)
	for i := range names {
		names[i] = "10.0." + strconv.Itoa(i/256) + "." + strconv.Itoa(i%256)
	}
	ours := middleware.NewMemoryStore(middleware.MemoryStoreConfig{})
	lim := middleware.Limit{Rate: 1_000_000, Period: time.Second, Burst: 1000}
	peer := emw.NewRateLimiterMemoryStoreWithConfig(emw.RateLimiterMemoryStoreConfig{Rate: rate.Limit(1_000_000), Burst: 1000})
	ctx := context.Background()
	var o, p []float64
	for range rounds {
		o = append(o, hammer(1, d, func(i int) error { _, err := ours.Allow(ctx, names[i%keys], lim); return err }))
		p = append(p, hammer(1, d, func(i int) error { _, err := peer.Allow(names[i%keys]); return err }))
	}
	ratio := harness.MedianRatio(o, p)
	fmt.Printf("## Memory rate limiter, one core (GOMAXPROCS=1), %d keys\n", keys)
	fmt.Printf("%-32s %10.0f checks/s  (goal ≥ 2,000,000: %s)\n", "gantry MemoryStore (GCRA)", harness.Median(o), pass(harness.Median(o) >= 2e6))
	fmt.Printf("%-32s %10.0f checks/s  gantry %.2f× it\n\n", "echo RateLimiterMemoryStore", harness.Median(p), ratio)
}

func main() {
	serve := flag.String("serve", "", "internal: serve one stack (bare, gantry, typical) for the wrk mode")
	rounds := flag.Int("rounds", 7, "interleaved rounds")
	slice := flag.Duration("slice", 250*time.Millisecond, "in-process slice per variant and round")
	withWrk := flag.Bool("wrk", false, "also measure req/s over loopback with wrk")
	wrkDur := flag.Duration("wrk-window", 3*time.Second, "wrk window per server and round")
	only := flag.String("only", "", "run one part: inproc, pieces, wrk, redis, memory")
	flag.Parse()
	if *serve != "" {
		serveChild(*serve)
		return
	}
	fmt.Printf("# Gantry HTTP middleware benchmarks (%s, %d CPUs, %s)\n\n", runtime.Version(), runtime.NumCPU(), time.Now().UTC().Format(time.RFC3339))
	tokens := must(auth.NewTokens(auth.TokensConfig{SecretKey: secret}))
	pair := must(tokens.IssuePair(context.Background(), "user-1", nil, nil))
	check(bare(), "", "bare")
	check(gantryStack(nil), "", "gantry")
	check(typical(false), "", "typical")
	check(gantryStack(tokens), pair.AccessToken, "gantry+auth")
	check(typical(true), echoJWTToken(), "typical+jwt")
	run := func(part string) bool { return *only == "" || *only == part }
	if run("inproc") {
		inProcess(*rounds, *slice, tokens, pair.AccessToken)
	}
	if run("pieces") {
		pieces(*rounds, *slice/2)
	}
	if (*withWrk && *only == "") || *only == "wrk" {
		network(max(*rounds/2, 3), *wrkDur)
	}
	if run("redis") {
		redisBench(max(*rounds/2, 3), time.Second)
	}
	if run("memory") {
		memoryBench(*rounds, 300*time.Millisecond)
	}
}
