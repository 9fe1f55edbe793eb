package middleware_test

import (
	"log/slog"
	"net/http"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/gantry-dev/gantry/internal/testenv"
	"github.com/gantry-dev/gantry/middleware"
)

// burst sends n GETs to url at once (released together) and counts the
// 2xx and 429 answers; any other answer fails the test.
func burst(t *testing.T, url string, n int) (ok, limited int) {
	t.Helper()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: n, MaxConnsPerHost: 0}, Timeout: 30 * time.Second}
	defer client.CloseIdleConnections()
	start := make(chan struct{})
	var mu sync.Mutex
	var wg sync.WaitGroup
	other := map[int]int{}
	for range n {
		wg.Go(func() {
			<-start
			res, err := client.Get(url)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err != nil:
				other[-1]++
			case res.StatusCode/100 == 2:
				ok++
			case res.StatusCode == http.StatusTooManyRequests:
				limited++
			default:
				other[res.StatusCode]++
			}
			if err == nil {
				res.Body.Close()
			}
		})
	}
	close(start)
	wg.Wait()
	if len(other) > 0 {
		t.Errorf("burst of %d: answers other than 2xx/429 (status: count, -1 = error): %v", n, other)
	}
	return ok, limited
}

// counterSum is the sum of every series of the counter name in reg.
func counterSum(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() == name {
			for _, m := range mf.GetMetric() {
				sum += m.GetCounter().GetValue()
			}
		}
	}
	return sum
}

const fallbackMetric = "gantry_ratelimit_fallbacks_total"

// TestRateLimitBurstExact: 120 requests at once from one client against a
// limit of 40 per minute admit exactly 40, on either store.
func TestRateLimitBurstExact(t *testing.T) {
	t.Parallel()
	rdb, prefix := testenv.Redis(t)
	redisStore, err := middleware.NewRedisStore(middleware.RedisStoreConfig{Client: rdb, Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range []struct {
		name  string
		store middleware.Store
	}{{"memory", middleware.NewMemoryStore(middleware.MemoryStoreConfig{})}, {"redis", redisStore}} {
		t.Run(st.name, func(t *testing.T) {
			reg := prometheus.NewRegistry()
			logs := &testenv.Buffer{}
			ts := limitedApp(t, middleware.RateLimitConfig{Store: st.store, Limit: middleware.PerMinute(40), Name: testenv.Name("burst"), Registerer: reg,
				Logger: slog.New(slog.NewJSONHandler(logs, nil))}, nil)
			defer func() {
				if t.Failed() {
					t.Logf("limiter log: %s", logs)
				}
			}()
			ok, limited := burst(t, ts.URL, 120)
			if ok != 40 || limited != 80 {
				t.Errorf("burst of 120 at 40/min: %d admitted, %d refused; want exactly 40 and 80", ok, limited)
			}
			// a check starved of CPU for over its timeout on this loaded box
			// may be decided locally: the count holds either way
			t.Logf("%s = %v", fallbackMetric, counterSum(t, reg, fallbackMetric))
		})
	}
}

// TestRedisPausedFallsBackToLocalLimit pauses the limiter's Redis with
// SIGSTOP (a slow moment, not a refused connection) under a burst: the
// local GCRA still holds the limit, the fallbacks are counted and logged
// through the configured logger; after SIGCONT the limiter uses Redis again.
func TestRedisPausedFallsBackToLocalLimit(t *testing.T) {
	t.Parallel()
	rs := startRedis(t)
	rdb := redis.NewClient(&redis.Options{Addr: rs.Addr, ContextTimeoutEnabled: true, MaxRetries: -1})
	t.Cleanup(func() { rdb.Close() })
	st, err := middleware.NewRedisStore(middleware.RedisStoreConfig{Client: rdb, Prefix: "rl:"})
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	logs := &testenv.Buffer{}
	log := slog.New(slog.NewJSONHandler(logs, nil))
	ts := limitedApp(t, middleware.RateLimitConfig{Store: st, Limit: middleware.PerMinute(40), Name: "api", Registerer: reg, Logger: log}, nil)
	if ok, _ := burst(t, ts.URL, 1); ok != 1 { // one through Redis: warm
		t.Fatalf("first request refused")
	}

	pid := rs.cmd.Process.Pid
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	stopped := true
	t.Cleanup(func() {
		if stopped {
			_ = syscall.Kill(pid, syscall.SIGCONT)
		}
	})
	ok, limited := burst(t, ts.URL, 120)
	t.Logf("Redis paused: %d admitted, %d refused", ok, limited)
	if ok > 40 || ok == 0 {
		t.Errorf("burst of 120 at 40/min with Redis paused: %d admitted; want 1..40 (the local limit, one already spent)", ok)
	}
	fallbacks := counterSum(t, reg, fallbackMetric)
	if fallbacks == 0 {
		t.Errorf("%s = 0 after a burst with Redis paused; want > 0", fallbackMetric)
	}
	warned := 0
	for _, r := range logRecords(t, logs) {
		if r["level"] == "WARN" {
			warned++
		}
	}
	if warned == 0 {
		t.Errorf("no warning through the configured logger: %s", logs.String())
	}

	if err := syscall.Kill(pid, syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	stopped = false
	// back to Redis: within a few seconds a request is decided by Redis
	// again (its key is written) and the fallback count stops growing
	deadline := time.Now().Add(15 * time.Second)
	for {
		_ = rdb.Del(t.Context(), "rl:api:127.0.0.1").Err()
		before := counterSum(t, reg, fallbackMetric)
		burst(t, ts.URL, 1)
		n, err := rdb.Exists(t.Context(), "rl:api:127.0.0.1").Result()
		if err == nil && n == 1 && counterSum(t, reg, fallbackMetric) == before {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("limiter not back on Redis 15s after SIGCONT (key exists %d, err %v)", n, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
