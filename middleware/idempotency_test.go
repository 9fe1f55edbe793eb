package middleware_test

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/gantry-dev/gantry/internal/testenv"
	"github.com/gantry-dev/gantry/middleware"
)

// orderApp serves POST /orders behind the idempotency middleware: the
// handler counts its runs and answers what the test's respond returns
// (default: 201 with the run number, a Location and a Content-Type).
type orderApp struct {
	ts   *httptest.Server
	runs atomic.Int64
	// respond writes the response of run n.
	respond func(c echo.Context, n int64) error
}

func newOrderApp(t *testing.T, cfg middleware.IdempotencyConfig) *orderApp {
	t.Helper()
	a := &orderApp{}
	e := newEcho()
	e.IPExtractor, _ = middleware.IPExtractor(nil)
	if cfg.Logger == nil {
		cfg.Logger = discardLogger()
	}
	mw, err := cfg.ToMiddleware()
	if err != nil {
		t.Fatal(err)
	}
	h := func(c echo.Context) error {
		n := a.runs.Add(1)
		if a.respond != nil {
			return a.respond(c, n)
		}
		body, _ := io.ReadAll(c.Request().Body)
		c.Response().Header().Set("Location", "/orders/"+strconv.FormatInt(n, 10))
		return c.JSON(http.StatusCreated, map[string]any{"id": n, "echo": string(body)})
	}
	e.POST("/orders", h, mw)
	e.GET("/orders", h, mw)
	a.ts = httptest.NewServer(e)
	t.Cleanup(a.ts.Close)
	return a
}

// post sends POST path with the key (none when "") and body.
func post(t *testing.T, url, key, body string, hdr ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set(middleware.IdempotencyKeyHeader, key)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Add(hdr[i], hdr[i+1])
	}
	return doReq(t, nil, req)
}

func memIdem() middleware.IdempotencyStore {
	return middleware.NewMemoryIdempotencyStore(middleware.MemoryIdempotencyStoreConfig{})
}

// TestIdempotencyReplay: a repeat gets the first response byte for byte,
// with its headers and the replay header, and the handler runs once; the
// handler saw the whole body both times it was needed.
func TestIdempotencyReplay(t *testing.T) {
	t.Parallel()
	for _, st := range idemStores(t) {
		t.Run(st.name, func(t *testing.T) {
			t.Parallel()
			a := newOrderApp(t, middleware.IdempotencyConfig{Store: st.store})
			key := testenv.Name("order-")
			res1, body1 := post(t, a.ts.URL+"/orders", key, `{"item":"book"}`)
			if res1.StatusCode != http.StatusCreated || res1.Header.Get(middleware.IdempotentReplayedHeader) != "" {
				t.Fatalf("first POST = %d replayed=%q %s; want 201, not replayed", res1.StatusCode, res1.Header.Get(middleware.IdempotentReplayedHeader), body1)
			}
			if !bytes.Contains(body1, []byte(`"echo":"{\"item\":\"book\"}"`)) {
				t.Fatalf("handler did not see the body: %s", body1)
			}
			for i := range 3 {
				res, body := post(t, a.ts.URL+"/orders", key, `{"item":"book"}`)
				if res.StatusCode != http.StatusCreated || !bytes.Equal(body, body1) {
					t.Fatalf("repeat %d = %d %q; want 201 %q", i, res.StatusCode, body, body1)
				}
				if got := res.Header.Get(middleware.IdempotentReplayedHeader); got != "true" {
					t.Errorf("repeat %d: %s = %q; want true", i, middleware.IdempotentReplayedHeader, got)
				}
				for _, h := range []string{"Location", "Content-Type"} {
					if res.Header.Get(h) != res1.Header.Get(h) {
						t.Errorf("repeat %d: %s = %q; want %q", i, h, res.Header.Get(h), res1.Header.Get(h))
					}
				}
			}
			if n := a.runs.Load(); n != 1 {
				t.Fatalf("handler ran %d times; want 1", n)
			}
			// no key, or a GET with a key: not keyed, runs every time
			post(t, a.ts.URL+"/orders", "", `{}`)
			get(t, a.ts.URL+"/orders", map[string]string{middleware.IdempotencyKeyHeader: key})
			if n := a.runs.Load(); n != 3 {
				t.Fatalf("handler ran %d times after an unkeyed POST and a GET; want 3", n)
			}
		})
	}
}

// TestIdempotencyKeyReuse422: the same key with another method, path,
// query or body is a 422 envelope, and the handler does not run.
func TestIdempotencyKeyReuse422(t *testing.T) {
	t.Parallel()
	for _, st := range idemStores(t) {
		t.Run(st.name, func(t *testing.T) {
			t.Parallel()
			a := newOrderApp(t, middleware.IdempotencyConfig{Store: st.store})
			a.ts.Config.Handler.(*echo.Echo).PUT("/orders", func(c echo.Context) error { a.runs.Add(1); return c.NoContent(204) },
				mustIdem(t, middleware.IdempotencyConfig{Store: st.store}))
			key := testenv.Name("k")
			if res, _ := post(t, a.ts.URL+"/orders", key, `{"n":1}`); res.StatusCode != http.StatusCreated {
				t.Fatalf("first POST = %d", res.StatusCode)
			}
			for _, tt := range []struct{ name, method, url, body string }{
				{"other body", http.MethodPost, "/orders", `{"n":2}`},
				{"other query", http.MethodPost, "/orders?x=1", `{"n":1}`},
				{"other method", http.MethodPut, "/orders", `{"n":1}`},
			} {
				req, _ := http.NewRequest(tt.method, a.ts.URL+tt.url, strings.NewReader(tt.body))
				req.Header.Set(middleware.IdempotencyKeyHeader, key)
				res, body := doReq(t, nil, req)
				env := decodeEnvelope(t, body)
				if res.StatusCode != http.StatusUnprocessableEntity || env.Error.Type != "idempotency_key_reused" {
					t.Errorf("%s: %d %s; want 422 idempotency_key_reused", tt.name, res.StatusCode, body)
				}
			}
			if n := a.runs.Load(); n != 1 {
				t.Fatalf("handler ran %d times; want 1", n)
			}
		})
	}
}

func mustIdem(t *testing.T, cfg middleware.IdempotencyConfig) echo.MiddlewareFunc {
	t.Helper()
	cfg.Logger = discardLogger()
	mw, err := cfg.ToMiddleware()
	if err != nil {
		t.Fatal(err)
	}
	return mw
}

// TestIdempotencyInProgress409: a repeat while the first runs is a 409
// envelope with Retry-After; once the first is done the repeat replays.
func TestIdempotencyInProgress409(t *testing.T) {
	t.Parallel()
	for _, st := range idemStores(t) {
		t.Run(st.name, func(t *testing.T) {
			t.Parallel()
			a := newOrderApp(t, middleware.IdempotencyConfig{Store: st.store})
			started, release := make(chan struct{}), make(chan struct{})
			a.respond = func(c echo.Context, n int64) error {
				close(started)
				<-release
				return c.String(http.StatusCreated, "order "+strconv.FormatInt(n, 10))
			}
			key := testenv.Name("k")
			first := make(chan []byte)
			go func() {
				_, b := post(t, a.ts.URL+"/orders", key, "x")
				first <- b
			}()
			<-started
			res, body := post(t, a.ts.URL+"/orders", key, "x")
			env := decodeEnvelope(t, body)
			if res.StatusCode != http.StatusConflict || env.Error.Type != "idempotency_in_progress" || res.Header.Get("Retry-After") != "1" {
				t.Errorf("repeat in flight = %d Retry-After=%q %s; want 409 idempotency_in_progress, Retry-After 1", res.StatusCode, res.Header.Get("Retry-After"), body)
			}
			close(release)
			b1 := <-first
			if _, b := post(t, a.ts.URL+"/orders", key, "x"); !bytes.Equal(b, b1) || string(b1) != "order 1" {
				t.Errorf("repeat after = %q; want the first %q (order 1)", b, b1)
			}
		})
	}
}

// TestIdempotency5xxNotStored: a 5xx (returned as an error or written)
// releases the key, so a retry runs; its 2xx is then stored.
func TestIdempotency5xxNotStored(t *testing.T) {
	t.Parallel()
	for _, st := range idemStores(t) {
		for _, mode := range []string{"error", "written", "panic"} {
			t.Run(st.name+"/"+mode, func(t *testing.T) {
				t.Parallel()
				a := newOrderApp(t, middleware.IdempotencyConfig{Store: st.store})
				a.ts.Config.Handler.(*echo.Echo).Use(func(next echo.HandlerFunc) echo.HandlerFunc {
					return func(c echo.Context) (err error) {
						defer func() {
							if r := recover(); r != nil {
								err = echo.NewHTTPError(http.StatusInternalServerError, "panic")
							}
						}()
						return next(c)
					}
				})
				a.respond = func(c echo.Context, n int64) error {
					if n == 1 {
						switch mode {
						case "error":
							return echo.NewHTTPError(http.StatusBadGateway, "upstream down")
						case "written":
							return c.String(http.StatusServiceUnavailable, "busy")
						default:
							panic("boom")
						}
					}
					return c.String(http.StatusCreated, "created "+strconv.FormatInt(n, 10))
				}
				key := testenv.Name("k")
				if res, _ := post(t, a.ts.URL+"/orders", key, "x"); res.StatusCode < 500 {
					t.Fatalf("first = %d; want 5xx", res.StatusCode)
				}
				res, body := post(t, a.ts.URL+"/orders", key, "x")
				if res.StatusCode != http.StatusCreated || string(body) != "created 2" || res.Header.Get(middleware.IdempotentReplayedHeader) != "" {
					t.Fatalf("retry after a 5xx = %d %q; want 201 created 2, run again", res.StatusCode, body)
				}
				if res, body := post(t, a.ts.URL+"/orders", key, "x"); string(body) != "created 2" || res.Header.Get(middleware.IdempotentReplayedHeader) != "true" {
					t.Fatalf("third = %d %q; want the replay of created 2", res.StatusCode, body)
				}
				if n := a.runs.Load(); n != 2 {
					t.Fatalf("handler ran %d times; want 2", n)
				}
			})
		}
	}
}

// TestIdempotency4xxStored: a handler's 4xx error is rendered and stored
// like any response: a repeat gets the same envelope, replayed.
func TestIdempotency4xxStored(t *testing.T) {
	t.Parallel()
	a := newOrderApp(t, middleware.IdempotencyConfig{Store: memIdem()})
	a.respond = func(c echo.Context, n int64) error {
		return echo.NewHTTPError(http.StatusNotFound, "no such item "+strconv.FormatInt(n, 10))
	}
	res1, b1 := post(t, a.ts.URL+"/orders", "k", "x")
	res2, b2 := post(t, a.ts.URL+"/orders", "k", "x")
	if res1.StatusCode != 404 || res2.StatusCode != 404 || !bytes.Equal(b1, b2) || res2.Header.Get(middleware.IdempotentReplayedHeader) != "true" {
		t.Fatalf("404 then repeat = %d %q, %d %q replayed=%q; want the same 404, replayed", res1.StatusCode, b1, res2.StatusCode, b2, res2.Header.Get(middleware.IdempotentReplayedHeader))
	}
	if n := a.runs.Load(); n != 1 {
		t.Fatalf("handler ran %d times; want 1", n)
	}
}

// TestIdempotencySizeBound: a response over MaxResponseSize is served in
// full but not stored; a repeat is a 422 idempotency_response_not_stored
// and does not run the handler; one at the bound is replayed.
func TestIdempotencySizeBound(t *testing.T) {
	t.Parallel()
	for _, st := range idemStores(t) {
		t.Run(st.name, func(t *testing.T) {
			t.Parallel()
			a := newOrderApp(t, middleware.IdempotencyConfig{Store: st.store, MaxResponseSize: 100})
			a.respond = func(c echo.Context, _ int64) error {
				body, _ := io.ReadAll(c.Request().Body)
				n, _ := strconv.Atoi(string(body))
				return c.String(http.StatusOK, strings.Repeat("a", n))
			}
			for _, tt := range []struct {
				size     int
				replayed bool
			}{{100, true}, {101, false}, {5000, false}} {
				key := testenv.Name("k")
				body := strconv.Itoa(tt.size)
				if res, b := post(t, a.ts.URL+"/orders", key, body); res.StatusCode != 200 || len(b) != tt.size {
					t.Fatalf("first of %d bytes = %d, %d bytes", tt.size, res.StatusCode, len(b))
				}
				runs := a.runs.Load()
				res, b := post(t, a.ts.URL+"/orders", key, body)
				if tt.replayed {
					if res.StatusCode != 200 || len(b) != tt.size || res.Header.Get(middleware.IdempotentReplayedHeader) != "true" {
						t.Errorf("repeat of %d bytes = %d, %d bytes; want the replay", tt.size, res.StatusCode, len(b))
					}
				} else if env := decodeEnvelope(t, b); res.StatusCode != 422 || env.Error.Type != "idempotency_response_not_stored" {
					t.Errorf("repeat of %d bytes = %d %s; want 422 idempotency_response_not_stored", tt.size, res.StatusCode, b)
				}
				if a.runs.Load() != runs {
					t.Errorf("repeat of %d bytes ran the handler", tt.size)
				}
			}
		})
	}
}

// TestIdempotencyExpiry: after TTL the key is free and runs again.
func TestIdempotencyExpiry(t *testing.T) {
	t.Parallel()
	for _, st := range idemStores(t) {
		t.Run(st.name, func(t *testing.T) {
			t.Parallel()
			a := newOrderApp(t, middleware.IdempotencyConfig{Store: st.store, TTL: 100 * time.Millisecond})
			key := testenv.Name("k")
			post(t, a.ts.URL+"/orders", key, "x")
			if _, b := post(t, a.ts.URL+"/orders", key, "x"); !bytes.Contains(b, []byte(`"id":1`)) {
				t.Fatalf("repeat within TTL = %s; want run 1", b)
			}
			time.Sleep(250 * time.Millisecond)
			res, b := post(t, a.ts.URL+"/orders", key, "x")
			if !bytes.Contains(b, []byte(`"id":2`)) || res.Header.Get(middleware.IdempotentReplayedHeader) != "" {
				t.Fatalf("repeat after TTL = %s; want run 2, not replayed", b)
			}
		})
	}
}

// TestIdempotencyCrashedLease: a reservation left by an instance that
// died (never completed) blocks the key with 409 until its lease ends,
// then a retry runs.
func TestIdempotencyCrashedLease(t *testing.T) {
	t.Parallel()
	rdb, prefix := testenv.Redis(t)
	st, err := middleware.NewRedisIdempotencyStore(middleware.RedisIdempotencyStoreConfig{Client: rdb, Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	a := newOrderApp(t, middleware.IdempotencyConfig{Store: st})
	fp := middleware.RequestFingerprint(http.MethodPost, "/orders", []byte("x"))
	if _, ok, err := st.Reserve(t.Context(), "ip:127.0.0.1:k", fp, "dead-instance", 200*time.Millisecond); !ok || err != nil {
		t.Fatalf("Reserve = %v, %v", ok, err)
	}
	if res, _ := post(t, a.ts.URL+"/orders", "k", "x"); res.StatusCode != http.StatusConflict {
		t.Fatalf("during the dead lease = %d; want 409", res.StatusCode)
	}
	time.Sleep(300 * time.Millisecond)
	if res, _ := post(t, a.ts.URL+"/orders", "k", "x"); res.StatusCode != http.StatusCreated || a.runs.Load() != 1 {
		t.Fatalf("after the lease = %d, %d runs; want 201, 1 run", res.StatusCode, a.runs.Load())
	}
}

// TestIdempotencyBadKeys: invalid keys are 400 envelopes; Required makes
// a missing one 400 too; valid ones run.
func TestIdempotencyBadKeys(t *testing.T) {
	t.Parallel()
	a := newOrderApp(t, middleware.IdempotencyConfig{Store: memIdem(), MaxKeyLength: 16})
	req := newOrderApp(t, middleware.IdempotencyConfig{Store: memIdem(), Required: true})
	tests := []struct {
		name   string
		app    *orderApp
		keys   []string // nil: no header
		status int
	}{
		{"uuid", a, []string{"8e03978e-40d5"}, 201},
		{"quoted", a, []string{`"quoted-key"`}, 201},
		{"at max length", a, []string{strings.Repeat("k", 16)}, 201},
		{"inner space", a, []string{"a b"}, 201},
		{"too long", a, []string{strings.Repeat("k", 17)}, 400},
		{"non ascii", a, []string{"clé"}, 400},
		{"control", a, []string{"a\x01b"}, 400},
		{"del", a, []string{"a\x7f"}, 400},
		{"empty quotes", a, []string{`""`}, 400},
		{"quote inside", a, []string{`"a"b"`}, 400},
		{"two headers", a, []string{"a", "b"}, 400},
		{"missing, optional", a, nil, 201},
		{"missing, required", req, nil, 400},
		{"present, required", req, []string{"k1"}, 201},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := tt.app.runs.Load()
			r := httptest.NewRequest(http.MethodPost, "/orders", strings.NewReader(testenv.Name("")))
			if tt.keys != nil {
				r.Header[middleware.IdempotencyKeyHeader] = tt.keys
			}
			rec := httptest.NewRecorder()
			tt.app.ts.Config.Handler.ServeHTTP(rec, r)
			if rec.Code != tt.status {
				t.Fatalf("keys %q = %d %s; want %d", tt.keys, rec.Code, rec.Body, tt.status)
			}
			ran := tt.app.runs.Load() != before
			if tt.status == 400 {
				if env := decodeEnvelope(t, rec.Body.Bytes()); env.Error.Type != "invalid_idempotency_key" || ran {
					t.Fatalf("keys %q: type %q, ran %v; want invalid_idempotency_key, not run", tt.keys, env.Error.Type, ran)
				}
			}
		})
	}
}

// TestIdempotencyScopedBySubject: the same key from two subjects (or two
// addresses) is two keys; the subject is what the Subject func returns.
func TestIdempotencyScopedBySubject(t *testing.T) {
	t.Parallel()
	a := newOrderApp(t, middleware.IdempotencyConfig{Store: memIdem(), Subject: func(c echo.Context) string { return c.Request().Header.Get("X-User") }})
	for _, user := range []string{"alice", "bob", "alice", ""} {
		post(t, a.ts.URL+"/orders", "same", "x", "X-User", user)
	}
	if n := a.runs.Load(); n != 3 {
		t.Fatalf("handler ran %d times for alice, bob, alice, anonymous; want 3", n)
	}
}

// TestIdempotencyBodyLimit: a body over the limit in force is a 413 and
// reserves nothing; the key then runs with a body within it.
func TestIdempotencyBodyLimit(t *testing.T) {
	t.Parallel()
	a := newOrderApp(t, middleware.IdempotencyConfig{Store: memIdem()})
	bl, err := middleware.BodyLimitConfig{Limit: 10}.ToMiddleware()
	if err != nil {
		t.Fatal(err)
	}
	a.ts.Config.Handler.(*echo.Echo).Pre(bl)
	if res, b := post(t, a.ts.URL+"/orders", "k", strings.Repeat("x", 11)); res.StatusCode != http.StatusRequestEntityTooLarge || a.runs.Load() != 0 {
		t.Fatalf("body over the limit = %d %s, %d runs; want 413, none", res.StatusCode, b, a.runs.Load())
	}
	if res, _ := post(t, a.ts.URL+"/orders", "k", "small"); res.StatusCode != http.StatusCreated {
		t.Fatalf("then within the limit = %d; want 201", res.StatusCode)
	}
}

// TestIdempotencyStoreDown: with Redis unreachable the middleware answers
// 503 by default and runs the request under FailOpen; both count the
// failure and log one warning.
func TestIdempotencyStoreDown(t *testing.T) {
	t.Parallel()
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:7479", MaxRetries: -1, DialTimeout: 200 * time.Millisecond})
	t.Cleanup(func() { rdb.Close() })
	st, err := middleware.NewRedisIdempotencyStore(middleware.RedisIdempotencyStoreConfig{Client: rdb})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name     string
		failOpen bool
		status   int
	}{{"closed", false, 503}, {"open", true, 201}} {
		t.Run(tt.name, func(t *testing.T) {
			reg := prometheus.NewRegistry()
			logs := &testenv.Buffer{}
			a := newOrderApp(t, middleware.IdempotencyConfig{Store: st, FailOpen: tt.failOpen, Registerer: reg, Logger: slogJSON(logs)})
			for range 3 {
				res, b := post(t, a.ts.URL+"/orders", "k", "x")
				if res.StatusCode != tt.status {
					t.Fatalf("with Redis down = %d %s; want %d", res.StatusCode, b, tt.status)
				}
				if tt.status == 503 && decodeEnvelope(t, b).Error.Code != 503 {
					t.Fatalf("503 body is not an envelope: %s", b)
				}
			}
			if got := counterSum(t, reg, "gantry_idempotency_store_failures_total"); got != 3 {
				t.Errorf("failures counted = %v; want 3", got)
			}
			warns := 0
			for _, r := range logRecords(t, logs) {
				if r["level"] == "WARN" {
					warns++
				}
			}
			if warns != 1 {
				t.Errorf("%d warnings logged; want 1 (once per outage): %s", warns, logs)
			}
		})
	}
}

func TestIdempotencyConfigInvalid(t *testing.T) {
	t.Parallel()
	for _, cfg := range []middleware.IdempotencyConfig{
		{},
		{Store: memIdem(), TTL: -1},
		{Store: memIdem(), MaxResponseSize: -1},
	} {
		if _, err := cfg.ToMiddleware(); err == nil {
			t.Errorf("ToMiddleware(%+v) = nil error; want ErrInvalidConfig", cfg)
		}
	}
}

func slogJSON(w io.Writer) *slog.Logger { return slog.New(slog.NewJSONHandler(w, nil)) }
