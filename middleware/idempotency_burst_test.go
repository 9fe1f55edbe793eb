package middleware_test

import (
	"bytes"
	"net/http"
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

// TestIdempotencyBurstTwoInstances: 50 requests with the same key,
// released at once against two app instances (two echo servers, each its
// own middleware and Redis client) on one Redis, run the handler exactly
// once; every other answer is a 409 or the replay of that one response.
// The memory store is run the same way with one store shared in-process.
func TestIdempotencyBurstTwoInstances(t *testing.T) {
	t.Parallel()
	rdb, prefix := testenv.Redis(t)
	opt := rdb.Options()
	const n = 50
	for _, kind := range []string{"redis", "memory"} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			var runs atomic.Int64
			shared := middleware.NewMemoryIdempotencyStore(middleware.MemoryIdempotencyStoreConfig{})
			var urls []string
			for range 2 {
				var store middleware.IdempotencyStore = shared
				if kind == "redis" {
					c := redis.NewClient(&redis.Options{Addr: opt.Addr, DB: opt.DB, PoolSize: n})
					t.Cleanup(func() { c.Close() })
					var err error
					if store, err = middleware.NewRedisIdempotencyStore(middleware.RedisIdempotencyStoreConfig{Client: c, Prefix: prefix}); err != nil {
						t.Fatal(err)
					}
				}
				a := newOrderApp(t, middleware.IdempotencyConfig{Store: store, Timeout: 5 * time.Second})
				a.respond = func(c echo.Context, _ int64) error {
					k := runs.Add(1)
					time.Sleep(20 * time.Millisecond) // still in flight while the burst arrives
					return c.JSON(http.StatusCreated, map[string]any{"order": k})
				}
				urls = append(urls, a.ts.URL+"/orders")
			}
			key := testenv.Name("burst-")
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: n}, Timeout: 30 * time.Second}
			defer client.CloseIdleConnections()
			start := make(chan struct{})
			var mu sync.Mutex
			var wg sync.WaitGroup
			counts := map[string]int{}
			var bodies [][]byte
			for i := range n {
				wg.Go(func() {
					req, _ := http.NewRequest(http.MethodPost, urls[i%2], strings.NewReader(`{"item":"book"}`))
					req.Header.Set(middleware.IdempotencyKeyHeader, key)
					<-start
					res, err := client.Do(req)
					mu.Lock()
					defer mu.Unlock()
					if err != nil {
						counts["error"]++
						return
					}
					defer res.Body.Close()
					var b bytes.Buffer
					_, _ = b.ReadFrom(res.Body)
					switch {
					case res.StatusCode == http.StatusCreated && res.Header.Get(middleware.IdempotentReplayedHeader) == "true":
						counts["replayed"]++
						bodies = append(bodies, b.Bytes())
					case res.StatusCode == http.StatusCreated:
						counts["ran"]++
						bodies = append(bodies, b.Bytes())
					case res.StatusCode == http.StatusConflict:
						counts["409"]++
					default:
						counts[http.StatusText(res.StatusCode)]++
					}
				})
			}
			close(start)
			wg.Wait()
			t.Logf("%s burst of %d over two instances: %v, handler runs %d", kind, n, counts, runs.Load())
			if runs.Load() != 1 || counts["ran"] != 1 || counts["ran"]+counts["replayed"]+counts["409"] != n {
				t.Fatalf("handler ran %d times, answers %v; want exactly 1 run and every other answer 409 or a replay", runs.Load(), counts)
			}
			for _, b := range bodies {
				if !bytes.Equal(b, bodies[0]) {
					t.Fatalf("answers differ: %q vs %q", b, bodies[0])
				}
			}
			// afterwards either instance replays it
			for _, u := range urls {
				req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(`{"item":"book"}`))
				req.Header.Set(middleware.IdempotencyKeyHeader, key)
				res, b := doReq(t, client, req)
				if res.StatusCode != http.StatusCreated || !bytes.Equal(b, bodies[0]) || res.Header.Get(middleware.IdempotentReplayedHeader) != "true" {
					t.Fatalf("repeat after the burst = %d %q; want the replay of %q", res.StatusCode, b, bodies[0])
				}
			}
		})
	}
}
