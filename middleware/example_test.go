package middleware_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/gantry-dev/gantry/middleware"
)

// The default stack as one middleware, standalone on echo (server.New
// installs it for you from its Config).
func ExampleNewStack() {
	reg := prometheus.NewRegistry()
	metrics, err := middleware.NewMetrics(middleware.MetricsConfig{Registerer: reg})
	if err != nil {
		panic(err)
	}
	stack, err := middleware.NewStack(middleware.StackConfig{
		Logger:       slog.New(slog.DiscardHandler),
		AccessLog:    &middleware.AccessLogConfig{Logger: slog.New(slog.DiscardHandler), SkipPaths: []string{"/metrics"}},
		Metrics:      metrics,
		Secure:       new(middleware.DefaultSecureConfig(true)),
		TrustedHosts: &middleware.TrustedHostsConfig{AllowedHosts: []string{"api.example.com"}},
		CORS:         &middleware.CORSConfig{AllowOrigins: []string{"https://app.example.com"}, AllowCredentials: true},
		RateLimit:    &middleware.RateLimitConfig{Store: middleware.NewMemoryStore(middleware.MemoryStoreConfig{}), Limit: middleware.PerMinute(100)},
		BodyLimit:    1 << 20,
		Timeout:      30 * time.Second,
	})
	if err != nil {
		panic(err)
	}
	e := echo.New()
	e.IPExtractor, _ = middleware.IPExtractor(nil) // the TCP peer is the client
	e.Use(stack.Middleware())
	e.GET("/hello", func(c echo.Context) error { return c.String(http.StatusOK, "hello") })
	e.GET("/metrics", echo.WrapHandler(middleware.MetricsHandler(reg)))

	req := httptest.NewRequest(http.MethodGet, "/hello", nil)
	req.Host = "api.example.com"
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, req)
	fmt.Println(rec.Code, rec.Body.String())
	for _, h := range []string{"Strict-Transport-Security", "X-Content-Type-Options", "RateLimit"} {
		fmt.Printf("%s: %s\n", h, rec.Header().Get(h))
	}
	fmt.Println("request id set:", rec.Header().Get("X-Request-ID") != "")
	// Output:
	// 200 hello
	// Strict-Transport-Security: max-age=31536000; includeSubDomains
	// X-Content-Type-Options: nosniff
	// RateLimit: "default";r=99;t=1
	// request id set: true
}

// A stricter, fail-closed limit on the login route beside the general one,
// sharing one store.
func ExampleRateLimitConfig() {
	store := middleware.NewMemoryStore(middleware.MemoryStoreConfig{})
	login, err := middleware.RateLimitConfig{
		Store:  store,
		Name:   "login",
		Limit:  middleware.PerMinute(2),
		Policy: middleware.FailClosed,
	}.ToMiddleware()
	if err != nil {
		panic(err)
	}
	e := echo.New()
	e.HTTPErrorHandler = statusOnly // server.New installs the envelope handler
	e.IPExtractor = echo.ExtractIPDirect()
	e.POST("/login", func(c echo.Context) error { return c.NoContent(http.StatusNoContent) }, login)
	for range 3 {
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/login", nil))
		fmt.Println(rec.Code)
		for _, h := range []string{"RateLimit", "RateLimit-Policy", "Retry-After"} {
			if v := rec.Header().Get(h); v != "" {
				fmt.Printf("  %s: %s\n", h, v)
			}
		}
	}
	// Output:
	// 204
	//   RateLimit: "login";r=1;t=30
	// 204
	//   RateLimit: "login";r=0;t=60
	// 429
	//   RateLimit: "login";r=0;t=60
	//   RateLimit-Policy: "login";q=2;w=60
	//   Retry-After: 30
}

// Several instances share limits through Redis; one round trip per check.
func ExampleNewRedisStore() {
	rdb := redis.NewClient(&redis.Options{
		Addr:                  "127.0.0.1:6379",
		ContextTimeoutEnabled: true, // lets RateLimitConfig.Timeout bound a hung Redis
	})
	defer rdb.Close()
	store, err := middleware.NewRedisStore(middleware.RedisStoreConfig{Client: rdb, Prefix: "myapp:ratelimit:"})
	if err != nil {
		panic(err)
	}
	_, _ = middleware.RateLimitConfig{Store: store, Limit: middleware.PerMinute(100), Policy: middleware.FailOpen}.ToMiddleware()
}

// X-Forwarded-For is believed only from the listed proxies.
func ExampleIPExtractor() {
	ipx, err := middleware.IPExtractor([]string{"10.0.0.0/8"})
	if err != nil {
		panic(err)
	}
	viaProxy := httptest.NewRequest(http.MethodGet, "/", nil)
	viaProxy.RemoteAddr = "10.1.2.3:5000"
	viaProxy.Header.Set("X-Forwarded-For", "203.0.113.7")
	direct := httptest.NewRequest(http.MethodGet, "/", nil)
	direct.RemoteAddr = "198.51.100.4:5000"
	direct.Header.Set("X-Forwarded-For", "1.2.3.4") // spoofed
	fmt.Println(ipx(viaProxy), ipx(direct))
	// Output: 203.0.113.7 198.51.100.4
}

func ExampleTrustedHostsConfig() {
	mw, err := middleware.TrustedHostsConfig{AllowedHosts: []string{"api.example.com", "*.example.org"}}.ToMiddleware()
	if err != nil {
		panic(err)
	}
	e := echo.New()
	e.HTTPErrorHandler = statusOnly
	e.Use(mw)
	e.GET("/", func(c echo.Context) error { return c.NoContent(http.StatusNoContent) })
	for _, host := range []string{"api.example.com:443", "eu.example.org", "evil.example"} {
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.Host = host
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		fmt.Println(host, rec.Code)
	}
	// Output:
	// api.example.com:443 204
	// eu.example.org 204
	// evil.example 400
}

// Login renews the session id; logout destroys it.
func ExampleSessions() {
	sessions, err := middleware.NewSessions(middleware.SessionConfig{
		SecretKey: strings.Repeat("k", 32), // config.Settings.SecretKey
		Store:     middleware.NewMemorySessionStore(),
		MaxAge:    time.Hour, // config.Settings.SessionMaxAge
		// cookies are Secure; Insecure: !settings.IsProduction() would allow plain-HTTP development
	})
	if err != nil {
		panic(err)
	}
	e := echo.New()
	e.POST("/login", func(c echo.Context) error {
		s, err := sessions.Get(c)
		if err != nil {
			return err
		}
		s.Set("user_id", "42")
		if err := sessions.Renew(c, s); err != nil { // new id: a planted cookie is worthless
			return err
		}
		return c.NoContent(http.StatusNoContent)
	})
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/login", nil))
	ck := rec.Result().Cookies()[0]
	fmt.Println(ck.Name, ck.HttpOnly, ck.Secure, ck.SameSite == http.SameSiteLaxMode, ck.MaxAge)
	// Output: session true true true 3600
}

func ExampleNewLogger() {
	log := middleware.NewLogger(os.Stdout, "json", slog.LevelInfo)
	log = slog.New(stripTime{log.Handler()})
	log.Info("ready", "addr", ":8000")
	// Output: {"level":"INFO","msg":"ready","addr":":8000"}
}

// stripTime drops the timestamp so the example output is stable.
type stripTime struct{ slog.Handler }

func (h stripTime) Handle(ctx context.Context, r slog.Record) error {
	r.Time = time.Time{}
	return h.Handler.Handle(ctx, r)
}

// statusOnly answers with the status an error carries (HTTPStatus), as
// the server's envelope handler does; echo's default handler would answer
// 500 for any error that is not an *echo.HTTPError.
func statusOnly(err error, c echo.Context) {
	var hs interface{ HTTPStatus() int }
	if errors.As(err, &hs) {
		_ = c.NoContent(hs.HTTPStatus())
		return
	}
	c.Echo().DefaultHTTPErrorHandler(err, c)
}

// A server-wide body cap of 16 bytes, raised to 64 on the upload route
// alone: the route's BodyLimitConfig replaces the stack's cap for it.
func ExampleBodyLimitConfig() {
	stack, err := middleware.NewStack(middleware.StackConfig{Logger: slog.New(slog.DiscardHandler), BodyLimit: 16})
	if err != nil {
		panic(err)
	}
	uploads, err := middleware.BodyLimitConfig{Limit: 64}.ToMiddleware()
	if err != nil {
		panic(err)
	}
	e := echo.New()
	e.Use(stack.Middleware())
	read := func(c echo.Context) error {
		b, err := io.ReadAll(c.Request().Body)
		if err != nil {
			return err
		}
		return c.String(http.StatusOK, fmt.Sprint(len(b), " bytes"))
	}
	e.POST("/notes", read)
	e.POST("/uploads", read, uploads)
	for _, path := range []string{"/notes", "/uploads"} {
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, path, strings.NewReader(strings.Repeat("x", 40))))
		fmt.Println(path, rec.Code, strings.TrimSpace(rec.Body.String()))
	}
	// Output:
	// /notes 413 {"message":"Request Entity Too Large"}
	// /uploads 200 40 bytes
}

// An order is created once however often a client retries it with the
// same Idempotency-Key: the repeat gets the first response, marked as a
// replay, and the same key on another request is refused.
func ExampleIdempotencyConfig() {
	orders := 0
	idem, err := middleware.IdempotencyConfig{
		// NewRedisIdempotencyStore when several instances serve the route
		Store: middleware.NewMemoryIdempotencyStore(middleware.MemoryIdempotencyStoreConfig{}),
		// scope keys by the authenticated subject (the client address when "")
		Subject: func(c echo.Context) string { return c.Request().Header.Get("X-User") },
	}.ToMiddleware()
	if err != nil {
		panic(err)
	}
	e := echo.New()
	e.HTTPErrorHandler = statusOnly // server.New installs the envelope handler
	e.IPExtractor, _ = middleware.IPExtractor(nil)
	e.POST("/orders", func(c echo.Context) error {
		orders++
		return c.JSON(http.StatusCreated, map[string]int{"order": orders})
	}, idem)

	send := func(body string) {
		req := httptest.NewRequest(http.MethodPost, "/orders", strings.NewReader(body))
		req.Header.Set("X-User", "alice")
		req.Header.Set(middleware.IdempotencyKeyHeader, "order-7f3a")
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		line := fmt.Sprintf("%d replayed=%q %s", rec.Code, rec.Header().Get(middleware.IdempotentReplayedHeader), rec.Body)
		fmt.Println(strings.TrimSpace(line))
	}
	send(`{"item":"book"}`)
	send(`{"item":"book"}`) // a retry
	send(`{"item":"pen"}`)  // the same key on another request
	fmt.Println("orders created:", orders)
	// Output:
	// 201 replayed="" {"order":1}
	// 201 replayed="true" {"order":1}
	// 422 replayed=""
	// orders created: 1
}
