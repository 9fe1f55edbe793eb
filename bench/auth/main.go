// Command auth measures Gantry's auth middleware beside echo-jwt v4 on
// golang-jwt v5, in one run, interleaved (A B A B in short slices; the
// figure reported is the median of the neighbour ratios), plus the cost of
// hashing a password at the default settings.
//
//	cd bench && go run ./auth            # about a minute
//	cd bench && go run ./auth -rounds 3  # shorter
package main

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"os"
	"slices"
	"time"

	"github.com/gantry-dev/gantry/auth"
	"github.com/gantry-dev/gantry/bench/internal/harness"
	"github.com/golang-jwt/jwt/v5"
	echojwt "github.com/labstack/echo-jwt/v4"
	"github.com/labstack/echo/v4"
	"github.com/redis/go-redis/v9"
)

const secret = "bench-secret-key-0123456789abcdef0123"

// op is one request (or one verification) to measure.
type op = func()

// serve is GET /me to h, with token as a bearer token if not empty.
func serve(h http.Handler, token string) op {
	return harness.Serve(h, harness.BearerRequest(http.MethodGet, "/me", token), "")
}

type result struct {
	name     string
	ns       []float64
	allocs   float64
	peerName string
}

func newEcho(mw echo.MiddlewareFunc) *echo.Echo {
	e := echo.New()
	h := func(c echo.Context) error { return c.NoContent(http.StatusNoContent) }
	if mw != nil {
		e.GET("/me", h, mw)
	} else {
		e.GET("/me", h)
	}
	return e
}

func must[T any](v T, err error) T {
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	return v
}

func main() {
	rounds := flag.Int("rounds", 5, "interleaved rounds")
	slice := flag.Duration("slice", 300*time.Millisecond, "time per measurement slice")
	redisURL := flag.String("redis", envOr("TEST_REDIS_URL", "redis://127.0.0.1:6379/0"), "Redis URL ('' to skip)")
	hashes := flag.Int("hashes", 5, "password hashes per algorithm")
	flag.Parse()
	ctx := context.Background()

	// Ours, with the memory store: cache on (reused token) and off (every
	// token first seen).
	cached := must(auth.NewTokens(auth.TokensConfig{SecretKey: secret}))
	uncached := must(auth.NewTokens(auth.TokensConfig{SecretKey: secret, CacheSize: -1}))
	pair := must(cached.IssuePair(ctx, "user-1", []string{"posts:read"}, nil))
	tok := pair.AccessToken

	// echo-jwt v4 with golang-jwt v5, its default MapClaims parser.
	peer := echojwt.JWT([]byte(secret))
	// golang-jwt's own verification with the same checks as ours.
	parser := jwt.NewParser(jwt.WithValidMethods([]string{"HS256"}), jwt.WithExpirationRequired(), jwt.WithIssuedAt(),
		jwt.WithIssuer("gantry"), jwt.WithAudience("gantry"), jwt.WithLeeway(30*time.Second))
	keyFunc := func(*jwt.Token) (any, error) { return []byte(secret), nil }
	golangJWT := func() {
		if _, err := parser.ParseWithClaims(tok, &jwt.RegisteredClaims{}, keyFunc); err != nil {
			panic(err)
		}
	}

	peerApp, hitApp, missApp := newEcho(peer), newEcho(auth.JWT(cached)), newEcho(auth.JWT(uncached))
	check(peerApp, tok, "echo-jwt")
	check(hitApp, tok, "ours")
	check(missApp, tok, "ours uncached")
	bare := serve(newEcho(nil), "")
	noop := serve(newEcho(func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error { return next(c) }
	}), "")
	echoJWT := serve(peerApp, tok)
	oursHit := serve(hitApp, tok)
	oursMiss := serve(missApp, tok)
	oursVerifyMiss := func() {
		if _, err := uncached.Verify(ctx, tok); err != nil {
			panic(err)
		}
	}

	type pairSpec struct {
		name, peerName string
		ours, peer     op
	}
	specs := []pairSpec{
		{"bare echo (no auth)", "echo-jwt", bare, echoJWT},
		{"echo + an empty route middleware", "echo-jwt", noop, echoJWT},
		{"ours, reused token, memory store", "echo-jwt", oursHit, echoJWT},
		{"ours, first-seen token, memory store", "echo-jwt", oursMiss, echoJWT},
		{"ours Verify, first-seen token (no echo)", "golang-jwt ParseWithClaims", oursVerifyMiss, golangJWT},
	}

	var rdb *redis.Client
	var roundTrips harness.RoundTripCounter
	if *redisURL != "" {
		opt := must(redis.ParseURL(*redisURL))
		opt.ContextTimeoutEnabled = true
		rdb = redis.NewClient(opt)
		defer rdb.Close()
		if err := rdb.Ping(ctx).Err(); err != nil {
			fmt.Println("redis unreachable, skipping the Redis rows:", err)
			rdb = nil
		}
	}
	if rdb != nil {
		rdb.AddHook(&roundTrips)
		rs := must(auth.NewRedisStore(auth.RedisStoreConfig{Client: rdb, Prefix: "bench:auth:" + harness.RandomHex(6) + ":"}))
		withRedis := must(auth.NewTokens(auth.TokensConfig{SecretKey: secret, Store: rs}))
		redisApp := newEcho(auth.JWT(withRedis))
		check(redisApp, tok, "ours+redis")
		oursRedis := serve(redisApp, tok)
		before := roundTrips.Count()
		for range 100 {
			oursRedis()
		}
		fmt.Printf("Redis round trips per request (reused token): %.2f\n", float64(roundTrips.Count()-before)/100)
		specs = append(specs, pairSpec{"ours, reused token, Redis store", "echo-jwt", oursRedis, echoJWT})
	}

	fmt.Printf("\n%d interleaved rounds of %v slices; in-process echo ServeHTTP, one goroutine\n", *rounds, *slice)
	results := make([]*result, len(specs))
	peers := make([]*result, len(specs))
	for i, s := range specs {
		results[i] = &result{name: s.name, peerName: s.peerName}
		peers[i] = &result{name: s.peerName}
	}
	for range *rounds {
		for i, s := range specs {
			// The peer's slice is split around ours (A B A), not
			// interleaved A B: its mean sits at ours' midpoint.
			pn0, pa := harness.Measure(s.peer, *slice/2)
			on, oa := harness.Measure(s.ours, *slice)
			pn1, _ := harness.Measure(s.peer, *slice/2)
			pn := (pn0 + pn1) / 2
			results[i].ns = append(results[i].ns, on)
			results[i].allocs = oa
			peers[i].ns = append(peers[i].ns, pn)
			peers[i].allocs = pa
		}
	}
	bareNs := harness.Median(results[0].ns)
	bareAllocs := results[0].allocs
	fmt.Printf("\n%-42s %10s %8s %12s %s\n", "", "ns/req", "allocs", "over bare", "ratio to peer (median)")
	for i, r := range results {
		over := ""
		if i > 0 && r.peerName == "echo-jwt" {
			over = fmt.Sprintf("+%.0f ns/%+.0f", harness.Median(r.ns)-bareNs, r.allocs-bareAllocs)
		}
		fmt.Printf("%-42s %10.0f %8.1f %12s %.3f× %s\n", r.name, harness.Median(r.ns), r.allocs, over, harness.MedianRatio(r.ns, peers[i].ns), r.peerName)
	}
	fmt.Printf("%-42s %10.0f %8.1f %12s\n", "echo-jwt v4 (golang-jwt v5, HS256)", harness.Median(peers[2].ns), peers[2].allocs,
		fmt.Sprintf("+%.0f ns/%+.0f", harness.Median(peers[2].ns)-bareNs, peers[2].allocs-bareAllocs))
	fmt.Printf("%-42s %10.0f %8.1f\n", "golang-jwt ParseWithClaims (no echo)", harness.Median(peers[4].ns), peers[4].allocs)
	fmt.Println("(echo allocates one closure per request for any route middleware: see the empty-middleware row)")

	// Password hashing at the defaults.
	fmt.Println()
	for _, cfg := range []auth.HasherConfig{{Algorithm: auth.Bcrypt}, {Algorithm: auth.Argon2id}} {
		h := must(auth.NewHasher(cfg))
		var ds []float64
		var enc string
		for range *hashes {
			start := time.Now()
			enc = must(h.Hash("correct horse battery staple"))
			ds = append(ds, float64(time.Since(start).Microseconds())/1000)
		}
		start := time.Now()
		ok := must(h.Verify("correct horse battery staple", enc))
		fmt.Printf("%-9s hash median %6.1f ms (min %.1f, max %.1f), verify %.1f ms ok=%v  %s\n", cfg.Algorithm,
			harness.Median(ds), slices.Min(ds), slices.Max(ds), float64(time.Since(start).Microseconds())/1000, ok, paramsOf(enc))
	}
}

func paramsOf(enc string) string {
	if len(enc) > 32 {
		return enc[:32] + "…"
	}
	return enc
}

// check makes sure h answers 204 to token: a middleware failing fast
// would look fast.
func check(h http.Handler, token, name string) {
	if err := harness.Check(h, harness.BearerRequest(http.MethodGet, "/me", token), http.StatusNoContent); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		os.Exit(1)
	}
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}
