package middleware_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/redis/go-redis/v9"

	"github.com/gantry-dev/gantry/internal/testenv"
	"github.com/gantry-dev/gantry/middleware"
)

// storeSuite checks GCRA semantics every Store must share.
func storeSuite(t *testing.T, newStore func(t *testing.T) (middleware.Store, string)) {
	t.Run("burst then refuse", func(t *testing.T) {
		st, key := newStore(t)
		lim := middleware.Limit{Rate: 5, Period: time.Minute}
		for i := range 5 {
			r, err := st.Allow(t.Context(), key, lim)
			if err != nil || !r.Allowed || r.Remaining != 4-i || r.Limit != 5 {
				t.Fatalf("Allow #%d = %+v, %v; want allowed, remaining %d", i, r, err, 4-i)
			}
		}
		r, err := st.Allow(t.Context(), key, lim)
		if err != nil || r.Allowed || r.Remaining != 0 {
			t.Fatalf("Allow #6 = %+v, %v; want refused", r, err)
		}
		// one request is admitted every 12s: retry within (0, 12s]
		if r.RetryAfter <= 0 || r.RetryAfter > 12*time.Second {
			t.Errorf("RetryAfter = %s; want in (0, 12s]", r.RetryAfter)
		}
		if r.ResetAfter <= 48*time.Second || r.ResetAfter > time.Minute {
			t.Errorf("ResetAfter = %s; want about 1m", r.ResetAfter)
		}
	})
	t.Run("keys are independent", func(t *testing.T) {
		st, key := newStore(t)
		lim := middleware.Limit{Rate: 1, Period: time.Minute}
		for _, k := range []string{key + "a", key + "b"} {
			if r, err := st.Allow(t.Context(), k, lim); err != nil || !r.Allowed {
				t.Errorf("Allow(%s) = %+v, %v; want allowed", k, r, err)
			}
		}
	})
	t.Run("recovers after the interval", func(t *testing.T) {
		st, key := newStore(t)
		lim := middleware.Limit{Rate: 2, Period: 200 * time.Millisecond, Burst: 1}
		if r, _ := st.Allow(t.Context(), key, lim); !r.Allowed {
			t.Fatal("first refused")
		}
		if r, _ := st.Allow(t.Context(), key, lim); r.Allowed {
			t.Fatal("second within the interval admitted")
		}
		time.Sleep(120 * time.Millisecond)
		if r, _ := st.Allow(t.Context(), key, lim); !r.Allowed {
			t.Fatalf("refused after the interval: %+v", r)
		}
	})
	t.Run("invalid limit", func(t *testing.T) {
		st, key := newStore(t)
		if _, err := st.Allow(t.Context(), key, middleware.Limit{}); !errors.Is(err, middleware.ErrInvalidConfig) {
			t.Errorf("Allow(zero limit) err = %v; want ErrInvalidConfig", err)
		}
	})
}

func TestMemoryStore(t *testing.T) {
	t.Parallel()
	storeSuite(t, func(t *testing.T) (middleware.Store, string) {
		return middleware.NewMemoryStore(middleware.MemoryStoreConfig{}), "k"
	})
}

func TestMemoryStoreBounded(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_700_000_000, 0)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	st := middleware.NewMemoryStore(middleware.MemoryStoreConfig{MaxKeys: 1000, Shards: 8, Now: clock})
	lim := middleware.Limit{Rate: 10, Period: time.Second}
	for i := range 10_000 {
		if _, err := st.Allow(t.Context(), "ip-"+strconv.Itoa(i), lim); err != nil {
			t.Fatal(err)
		}
	}
	if n := st.Len(); n > 1000 {
		t.Errorf("Len after 10,000 keys with cap 1,000 = %d; want <= 1000", n)
	}
	// once expired, new keys replace old ones instead of growing
	mu.Lock()
	now = now.Add(time.Hour)
	mu.Unlock()
	for i := range 1000 {
		_, _ = st.Allow(t.Context(), "new-"+strconv.Itoa(i), lim)
	}
	if n := st.Len(); n > 1000 {
		t.Errorf("Len = %d; want <= 1000", n)
	}
}

func TestMemoryStoreConcurrentExact(t *testing.T) {
	t.Parallel()
	st := middleware.NewMemoryStore(middleware.MemoryStoreConfig{})
	var ok atomic.Int64
	var wg sync.WaitGroup
	for range 500 {
		wg.Go(func() {
			if r, _ := st.Allow(t.Context(), "one", middleware.Limit{Rate: 100, Period: time.Hour}); r.Allowed {
				ok.Add(1)
			}
		})
	}
	wg.Wait()
	if ok.Load() != 100 {
		t.Errorf("admitted %d of 500 at limit 100; want exactly 100", ok.Load())
	}
}

func TestRedisStore(t *testing.T) {
	t.Parallel()
	rdb, prefix := testenv.Redis(t)
	storeSuite(t, func(t *testing.T) (middleware.Store, string) {
		st, err := middleware.NewRedisStore(middleware.RedisStoreConfig{Client: rdb, Prefix: prefix})
		if err != nil {
			t.Fatal(err)
		}
		return st, testenv.Name("k")
	})
	requireTTLs(t, rdb, prefix)
}

// requireTTLs fails if any key under prefix has no TTL.
func requireTTLs(t *testing.T, rdb redis.UniversalClient, prefix string) {
	t.Helper()
	keys, err := rdb.Keys(t.Context(), prefix+"*").Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		ttl, err := rdb.PTTL(t.Context(), k).Result()
		if err != nil {
			t.Fatal(err)
		}
		if ttl < 0 {
			t.Errorf("key %s has no TTL (PTTL %s)", k, ttl)
		}
	}
}

// limitedApp is an echo app limited by cfg behind a real listener.
func limitedApp(t *testing.T, cfg middleware.RateLimitConfig, trusted []string) *httptest.Server {
	t.Helper()
	e := newEcho()
	ipx, err := middleware.IPExtractor(trusted)
	if err != nil {
		t.Fatal(err)
	}
	e.IPExtractor = ipx
	if cfg.Logger == nil {
		cfg.Logger = discardLogger()
	}
	mw, err := cfg.ToMiddleware()
	if err != nil {
		t.Fatal(err)
	}
	e.Use(mw)
	e.GET("/", func(c echo.Context) error { return c.String(http.StatusOK, c.RealIP()) })
	ts := httptest.NewServer(e)
	t.Cleanup(ts.Close)
	return ts
}

// rateLimitField parses a RateLimit or RateLimit-Policy value as the one
// structured-field item Gantry sends: an sf-string (the policy name) and
// integer parameters, e.g. "api";r=2;t=20. It fails the test on anything
// else (RFC 9651 §3.3.3 strings, §3.3.1 integers, §3.1.2 parameters).
func rateLimitField(t *testing.T, v string) (name string, params map[string]int64) {
	t.Helper()
	name, params, err := parseRateLimitItem(v)
	if err != nil {
		t.Fatalf("field %q: %v", v, err)
	}
	return name, params
}

func parseRateLimitItem(v string) (string, map[string]int64, error) {
	if len(v) == 0 || v[0] != '"' {
		return "", nil, errors.New("no opening quote")
	}
	var name []byte
	i := 1
	for ; ; i++ {
		if i >= len(v) {
			return "", nil, errors.New("no closing quote")
		}
		c := v[i]
		if c == '\\' {
			i++
			if i >= len(v) || (v[i] != '"' && v[i] != '\\') {
				return "", nil, errors.New("bad escape")
			}
			name = append(name, v[i])
			continue
		}
		if c == '"' {
			i++
			break
		}
		if c < 0x20 || c > 0x7e {
			return "", nil, fmt.Errorf("byte %#x in string", c)
		}
		name = append(name, c)
	}
	params := map[string]int64{}
	for rest := v[i:]; rest != ""; {
		if rest[0] != ';' {
			return "", nil, fmt.Errorf("junk %q after item", rest)
		}
		kv := rest[1:]
		rest = ""
		if j := strings.IndexByte(kv, ';'); j >= 0 {
			kv, rest = kv[:j], kv[j:]
		}
		k, val, ok := strings.Cut(kv, "=")
		if !ok || k == "" || k[0] < 'a' || k[0] > 'z' || strings.Trim(k, "abcdefghijklmnopqrstuvwxyz0123456789_-.*") != "" {
			return "", nil, fmt.Errorf("bad parameter %q", kv)
		}
		if _, dup := params[k]; dup {
			return "", nil, fmt.Errorf("parameter %q twice", k)
		}
		if len(val) == 0 || len(val) > 15 || strings.TrimLeft(val, "0123456789") != "" {
			return "", nil, fmt.Errorf("parameter %s=%q is not a non-negative sf-integer", k, val)
		}
		n, err := strconv.ParseInt(val, 10, 64)
		if err != nil {
			return "", nil, err
		}
		params[k] = n
	}
	return string(name), params, nil
}

// TestRateLimitFields: every limited response carries one RateLimit field
// (policy name, r, t); the draft-06 fields are gone; only the 429 carries
// RateLimit-Policy (q, w) and Retry-After.
func TestRateLimitFields(t *testing.T) {
	t.Parallel()
	ts := limitedApp(t, middleware.RateLimitConfig{Store: middleware.NewMemoryStore(middleware.MemoryStoreConfig{}), Limit: middleware.PerMinute(3), Name: "api"}, nil)
	for i := range 3 {
		res, _ := get(t, ts.URL, nil)
		if res.StatusCode != 200 {
			t.Fatalf("request %d: %d; want 200", i, res.StatusCode)
		}
		if got := res.Header.Values("RateLimit"); len(got) != 1 {
			t.Fatalf("request %d: RateLimit fields %q; want exactly one", i, got)
		}
		name, p := rateLimitField(t, res.Header.Get("RateLimit"))
		if name != "api" || len(p) != 2 || p["r"] != int64(2-i) || p["t"] < 1 || p["t"] > 60 {
			t.Errorf("request %d: RateLimit %q = %q %v; want \"api\" r=%d and 1 <= t <= 60", i, res.Header.Get("RateLimit"), name, p, 2-i)
		}
		for _, h := range []string{"RateLimit-Policy", "Retry-After", "RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"} {
			if v := res.Header.Values(h); v != nil {
				t.Errorf("request %d (200) carries %s: %q", i, h, v)
			}
		}
	}
	res, body := get(t, ts.URL, nil)
	if res.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("4th status = %d; want 429", res.StatusCode)
	}
	if ra, _ := strconv.Atoi(res.Header.Get("Retry-After")); ra < 1 || ra > 20 {
		t.Errorf("Retry-After = %q; want 1..20 seconds", res.Header.Get("Retry-After"))
	}
	if env := decodeEnvelope(t, body); env.Error.Type != "rate_limited" {
		t.Errorf("429 type = %q; want rate_limited", env.Error.Type)
	}
	if name, p := rateLimitField(t, res.Header.Get("RateLimit")); name != "api" || p["r"] != 0 || p["t"] < 1 || p["t"] > 60 {
		t.Errorf("429 RateLimit = %q; want \"api\" r=0, 1 <= t <= 60", res.Header.Get("RateLimit"))
	}
	if got := res.Header.Values("RateLimit-Policy"); len(got) != 1 || got[0] != `"api";q=3;w=60` {
		t.Errorf("429 RateLimit-Policy = %q; want [\"api\";q=3;w=60]", got)
	}
	if name, p := rateLimitField(t, res.Header.Get("RateLimit-Policy")); name != "api" || p["q"] != 3 || p["w"] != 60 || len(p) != 2 {
		t.Errorf("429 RateLimit-Policy parsed = %q %v", name, p)
	}
	for _, h := range []string{"RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"} {
		if v := res.Header.Values(h); v != nil {
			t.Errorf("429 carries %s: %q", h, v)
		}
	}
}

// TestRateLimitPolicyName: the policy is "default" without a Name; a name
// with a quote or backslash is escaped and parses back to itself; a name
// that no sf-string can carry is refused at configuration.
func TestRateLimitPolicyName(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, want string
		ok         bool
	}{
		{"", "default", true},
		{"login", "login", true},
		{`say "hi"`, `say "hi"`, true},
		{`back\slash`, `back\slash`, true},
		{`\"`, `\"`, true},
		{"tab\there", "", false},
		{"new\nline", "", false},
		{"caf\u00e9", "", false},
		{"del\x7f", "", false},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%q", tt.name), func(t *testing.T) {
			t.Parallel()
			cfg := middleware.RateLimitConfig{Store: middleware.NewMemoryStore(middleware.MemoryStoreConfig{}), Limit: middleware.Limit{Rate: 1, Period: time.Minute}, Name: tt.name}
			if _, err := cfg.ToMiddleware(); !tt.ok {
				if !errors.Is(err, middleware.ErrInvalidConfig) {
					t.Fatalf("ToMiddleware() err = %v; want ErrInvalidConfig", err)
				}
				return
			}
			ts := limitedApp(t, cfg, nil)
			get(t, ts.URL, nil)
			res, _ := get(t, ts.URL, nil)
			if res.StatusCode != http.StatusTooManyRequests {
				t.Fatalf("2nd status = %d; want 429", res.StatusCode)
			}
			for _, h := range []string{"RateLimit", "RateLimit-Policy"} {
				if name, _ := rateLimitField(t, res.Header.Get(h)); name != tt.want {
					t.Errorf("%s %q names %q; want %q", h, res.Header.Get(h), name, tt.want)
				}
			}
		})
	}
}

// TestRateLimitPolicyWindow: q and w are Rate per Period in whole seconds;
// a Period of a fraction of a second is rounded up and q scaled to the
// same rate, never above it.
func TestRateLimitPolicyWindow(t *testing.T) {
	t.Parallel()
	tests := []struct {
		limit middleware.Limit
		want  string
	}{
		{middleware.PerMinute(100), `"default";q=100;w=60`},
		{middleware.PerSecond(7), `"default";q=7;w=1`},
		{middleware.Limit{Rate: 5, Period: 500 * time.Millisecond, Burst: 1}, `"default";q=10;w=1`},
		{middleware.Limit{Rate: 3, Period: 1500 * time.Millisecond, Burst: 1}, `"default";q=4;w=2`},
		{middleware.Limit{Rate: 10, Period: time.Hour, Burst: 1}, `"default";q=10;w=3600`},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			t.Parallel()
			lim := tt.limit
			lim.Burst = 1 // the second request is refused
			if lim.Period/time.Duration(lim.Rate) < 100*time.Millisecond {
				t.Fatalf("test limit %v refills too fast to be refused reliably", lim)
			}
			ts := limitedApp(t, middleware.RateLimitConfig{Store: middleware.NewMemoryStore(middleware.MemoryStoreConfig{}), Limit: lim}, nil)
			get(t, ts.URL, nil)
			res, _ := get(t, ts.URL, nil)
			if res.StatusCode != http.StatusTooManyRequests {
				t.Skipf("2nd request admitted (%d): the machine took longer than the interval", res.StatusCode)
			}
			if got := res.Header.Get("RateLimit-Policy"); got != tt.want {
				t.Errorf("RateLimit-Policy = %q; want %q", got, tt.want)
			}
		})
	}
}

func TestRateLimitKeys(t *testing.T) {
	t.Parallel()
	e := echo.New()
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.RemoteAddr = "203.0.113.9:1234"
	req.Header.Set("X-API-Key", "k1")
	c := e.NewContext(req, httptest.NewRecorder())
	tests := []struct {
		name string
		fn   middleware.KeyFunc
		want string
	}{
		{"ip", middleware.KeyByIP(), "203.0.113.9"},
		{"subject", middleware.KeyBySubject(func(echo.Context) string { return "user-7" }), "sub:user-7"},
		{"no subject falls back to ip", middleware.KeyBySubject(func(echo.Context) string { return "" }), "203.0.113.9"},
		{"api key", middleware.KeyByHeader("x-api-key"), "key:k1"},
		{"no api key skips", middleware.KeyByHeader("X-Other"), ""},
	}
	e.IPExtractor = echo.ExtractIPDirect()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.fn(c); got != tt.want {
				t.Errorf("key = %q; want %q", got, tt.want)
			}
		})
	}
}

func TestRateLimitRouteScoped(t *testing.T) {
	t.Parallel()
	store := middleware.NewMemoryStore(middleware.MemoryStoreConfig{})
	general, err := middleware.RateLimitConfig{Store: store, Limit: middleware.PerMinute(100)}.ToMiddleware()
	if err != nil {
		t.Fatal(err)
	}
	login, err := middleware.RateLimitConfig{Store: store, Name: "login", Limit: middleware.PerMinute(2), Policy: middleware.FailClosed}.ToMiddleware()
	if err != nil {
		t.Fatal(err)
	}
	e := newEcho()
	e.IPExtractor = echo.ExtractIPDirect()
	e.Use(general)
	e.POST("/login", func(c echo.Context) error { return c.NoContent(204) }, login)
	e.GET("/items", func(c echo.Context) error { return c.NoContent(204) })
	ts := httptest.NewServer(e)
	defer ts.Close()
	codes := []int{}
	for range 3 {
		res, _ := doReq(t, nil, mustReq(t, http.MethodPost, ts.URL+"/login"))
		codes = append(codes, res.StatusCode)
	}
	if codes[0] != 204 || codes[1] != 204 || codes[2] != 429 {
		t.Errorf("login codes = %v; want [204 204 429]", codes)
	}
	if res, _ := get(t, ts.URL+"/items", nil); res.StatusCode != 204 {
		t.Errorf("items after login limit = %d; want 204 (separate limit)", res.StatusCode)
	}
}

func mustReq(t *testing.T, method, url string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

func TestRateLimitXFFRotation(t *testing.T) {
	t.Parallel()
	lim := middleware.PerMinute(5)
	t.Run("untrusted client rotating X-Forwarded-For is one client", func(t *testing.T) {
		// 127.0.0.1 (the test client) is not a trusted proxy here
		ts := limitedApp(t, middleware.RateLimitConfig{Store: middleware.NewMemoryStore(middleware.MemoryStoreConfig{}), Limit: lim}, []string{"10.0.0.0/8"})
		admitted := 0
		for i := range 20 {
			res, body := get(t, ts.URL, map[string]string{"X-Forwarded-For": "198.51.100." + strconv.Itoa(i)})
			if res.StatusCode == 200 {
				admitted++
				if string(body) != "127.0.0.1" {
					t.Errorf("RealIP = %q; want the peer 127.0.0.1", body)
				}
			}
		}
		if admitted != 5 {
			t.Errorf("admitted %d of 20 rotating requests; want 5", admitted)
		}
	})
	t.Run("trusted proxy forwards distinct clients", func(t *testing.T) {
		ts := limitedApp(t, middleware.RateLimitConfig{Store: middleware.NewMemoryStore(middleware.MemoryStoreConfig{}), Limit: lim}, []string{"127.0.0.1/32"})
		for i := range 20 {
			ip := "198.51.100." + strconv.Itoa(i)
			res, body := get(t, ts.URL, map[string]string{"X-Forwarded-For": ip})
			if res.StatusCode != 200 || string(body) != ip {
				t.Fatalf("request %d via trusted proxy = %d %q; want 200 %q", i, res.StatusCode, body, ip)
			}
		}
		// the client a trusted proxy forwards cannot spoof further left
		for range 6 {
			get(t, ts.URL, map[string]string{"X-Forwarded-For": "1.2.3.4, 198.51.100.200"})
		}
		res, _ := get(t, ts.URL, map[string]string{"X-Forwarded-For": "9.9.9.9, 198.51.100.200"})
		if res.StatusCode != 429 {
			t.Errorf("spoofed left-most XFF = %d; want 429 (limited as 198.51.100.200)", res.StatusCode)
		}
	})
}

func TestIPExtractorConfig(t *testing.T) {
	t.Parallel()
	for _, in := range [][]string{{"nonsense"}, {"10.0.0.0/33"}} {
		if _, err := middleware.IPExtractor(in); !errors.Is(err, middleware.ErrInvalidConfig) {
			t.Errorf("IPExtractor(%q) err = %v; want ErrInvalidConfig", in, err)
		}
	}
	ipx, err := middleware.IPExtractor([]string{"192.0.2.1", " 10.0.0.0/8 "})
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.RemoteAddr = "192.0.2.1:5555"
	req.Header.Set("X-Forwarded-For", "203.0.113.7, 10.1.1.1")
	if got := ipx(req); got != "203.0.113.7" {
		t.Errorf("via single trusted address and trusted hop = %q; want 203.0.113.7", got)
	}
}

func TestRateLimitTwoInstancesOneRedis(t *testing.T) {
	t.Parallel()
	rdb, prefix := testenv.Redis(t)
	// GCRA refills continuously (one request per Period/Rate): a window of
	// an hour keeps refills out of a run that lasts about a second, so
	// exactly the burst of 100 may pass.
	var urls []string
	for range 2 { // two server instances, each with its own client, one Redis
		opt := rdb.Options()
		own := redis.NewClient(&redis.Options{Addr: opt.Addr, DB: opt.DB, Password: opt.Password, PoolSize: 64})
		t.Cleanup(func() { own.Close() })
		st, err := middleware.NewRedisStore(middleware.RedisStoreConfig{Client: own, Prefix: prefix})
		if err != nil {
			t.Fatal(err)
		}
		ts := limitedApp(t, middleware.RateLimitConfig{Store: st, Limit: middleware.Limit{Rate: 100, Period: time.Hour}, Timeout: 5 * time.Second, Policy: middleware.FailClosed}, nil)
		urls = append(urls, ts.URL)
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 300, MaxConnsPerHost: 250}}
	defer client.CloseIdleConnections()
	var ok, refused, other atomic.Int64
	var wg sync.WaitGroup
	for i := range 500 {
		wg.Go(func() {
			res, err := client.Get(urls[i%2])
			if err != nil {
				other.Add(1)
				return
			}
			res.Body.Close()
			switch res.StatusCode {
			case 200:
				ok.Add(1)
			case 429:
				refused.Add(1)
			default:
				other.Add(1)
			}
		})
	}
	wg.Wait()
	if ok.Load() != 100 || refused.Load() != 400 || other.Load() != 0 {
		t.Errorf("500 concurrent at limit 100 over two instances: %d admitted, %d refused, %d other; want 100/400/0", ok.Load(), refused.Load(), other.Load())
	}
	requireTTLs(t, rdb, prefix)
}

// roundTrips counts commands sent to Redis (one per process call).
type roundTrips struct{ n atomic.Int64 }

func (h *roundTrips) DialHook(next redis.DialHook) redis.DialHook { return next }
func (h *roundTrips) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error { h.n.Add(1); return next(ctx, cmd) }
}
func (h *roundTrips) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error { h.n.Add(1); return next(ctx, cmds) }
}

func TestRedisStoreOneRoundTrip(t *testing.T) {
	t.Parallel()
	rdb, prefix := testenv.Redis(t)
	hook := &roundTrips{}
	opt := rdb.Options()
	own := redis.NewClient(&redis.Options{Addr: opt.Addr, DB: opt.DB, Password: opt.Password})
	defer own.Close()
	st, _ := middleware.NewRedisStore(middleware.RedisStoreConfig{Client: own, Prefix: prefix})
	if _, err := st.Allow(t.Context(), "warm", middleware.PerMinute(10)); err != nil { // loads the script
		t.Fatal(err)
	}
	own.AddHook(hook)
	for i := range 50 {
		if _, err := st.Allow(t.Context(), "k"+strconv.Itoa(i%3), middleware.PerMinute(10)); err != nil {
			t.Fatal(err)
		}
	}
	if n := hook.n.Load(); n != 50 {
		t.Errorf("50 checks took %d round trips; want 50", n)
	}
}

func TestRedisUnavailablePolicy(t *testing.T) {
	t.Parallel()
	const timeout = 150 * time.Millisecond
	// a listener that accepts and never answers: a hung Redis
	hung, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer hung.Close()
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := hung.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c) // read nothing, answer nothing
			mu.Unlock()
		}
	}()
	defer func() {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	}()
	stopped := startRedis(t)
	stopped.Stop()

	for _, target := range []struct{ name, addr string }{{"stopped", stopped.Addr}, {"hung", hung.Addr().String()}} {
		for _, policy := range []struct {
			name   string
			p      middleware.FailurePolicy
			status int
		}{{"fail open", middleware.FailOpen, 200}, {"fail closed", middleware.FailClosed, 503}} {
			t.Run(target.name+"/"+policy.name, func(t *testing.T) {
				rdb := redis.NewClient(&redis.Options{Addr: target.addr, ContextTimeoutEnabled: true, MaxRetries: -1, DialTimeout: time.Second})
				defer rdb.Close()
				st, _ := middleware.NewRedisStore(middleware.RedisStoreConfig{Client: rdb})
				ts := limitedApp(t, middleware.RateLimitConfig{Store: st, Limit: middleware.PerMinute(10), Policy: policy.p, Timeout: timeout}, nil)
				for range 3 {
					start := time.Now()
					res, body := get(t, ts.URL, nil)
					took := time.Since(start)
					if res.StatusCode != policy.status {
						t.Fatalf("status = %d %s; want %d", res.StatusCode, body, policy.status)
					}
					if took > timeout+500*time.Millisecond { // slack for -race on a loaded CI box
						t.Errorf("answered in %s; want within the %s timeout (+slack)", took, timeout)
					}
					if policy.status == 503 && !containsAll(string(body), "503", "rate limiter unavailable") {
						t.Errorf("503 body = %s; want the envelope", body)
					}
				}
			})
		}
	}
}

func containsAll(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}

// TestRedisStoreCluster runs the store through a redis.ClusterClient on a
// one-node Redis Cluster of the test's own (all 16384 slots on one node):
// the script's single key routes like any command.
func TestRedisStoreCluster(t *testing.T) {
	t.Parallel()
	rs := startRedis(t, "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf")
	admin := redis.NewClient(&redis.Options{Addr: rs.Addr})
	defer admin.Close()
	if err := admin.Do(t.Context(), "CLUSTER", "ADDSLOTSRANGE", "0", "16383").Err(); err != nil {
		t.Fatalf("CLUSTER ADDSLOTSRANGE: %v", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		info, err := admin.ClusterInfo(t.Context()).Result()
		if err == nil && strings.Contains(info, "cluster_state:ok") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("cluster not ok: %q %v", info, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{rs.Addr}})
	defer cc.Close()
	st, err := middleware.NewRedisStore(middleware.RedisStoreConfig{Client: cc, Prefix: "rl:"})
	if err != nil {
		t.Fatal(err)
	}
	lim := middleware.Limit{Rate: 10, Period: time.Hour}
	for _, key := range []string{"a", "{user}:b", "c{x}d", "203.0.113.9"} {
		admitted := 0
		for range 15 {
			r, err := st.Allow(t.Context(), key, lim)
			if err != nil {
				t.Fatalf("Allow(%q) on a cluster: %v", key, err)
			}
			if r.Allowed {
				admitted++
			}
		}
		if admitted != 10 {
			t.Errorf("key %q: admitted %d of 15 at limit 10; want 10", key, admitted)
		}
	}
	requireTTLs(t, admin, "rl:")
}

// TestRateLimitFieldAllocs: once a client's key exists, the RateLimit
// field costs no allocation per request (the value is reused for the same
// remaining count and seconds), so the limiter adds none to the stack.
func TestRateLimitFieldAllocs(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("allocation counts need a non-race build")
	}
	mw, err := middleware.RateLimitConfig{Store: middleware.NewMemoryStore(middleware.MemoryStoreConfig{}), Limit: middleware.Limit{Rate: 1_000_000_000, Period: time.Second, Burst: 1000},
		KeyFunc: func(echo.Context) string { return "client" }}.ToMiddleware() // refills faster than requests come: r stays near 1000
	if err != nil {
		t.Fatal(err)
	}
	e := echo.New()
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	w := &discardWriter{h: http.Header{}}
	c := e.NewContext(req, w)
	h := mw(func(echo.Context) error { return nil })
	serve := func() {
		clear(w.h)
		c.Reset(req, w)
		if err := h(c); err != nil {
			t.Fatal(err)
		}
	}
	serve()
	if allocs := testing.AllocsPerRun(1000, serve); allocs > 0 {
		t.Errorf("limiter = %.1f allocs per request; want 0 (RateLimit %q)", allocs, w.h.Get("RateLimit"))
	}
	if _, p := rateLimitField(t, w.h.Get("RateLimit")); p["r"] < 990 {
		t.Errorf("RateLimit %q; want r near the burst", w.h.Get("RateLimit"))
	}
}
