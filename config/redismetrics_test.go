package config_test

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/gantry-dev/gantry/config"
	"github.com/gantry-dev/gantry/internal/testenv"
)

// metricValue returns the value of the one series name gathered from g.
func metricValue(t *testing.T, g prometheus.Gatherer, name string) float64 {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			m := mf.GetMetric()[0]
			if m.GetCounter() != nil {
				return m.GetCounter().GetValue()
			}
			return m.GetGauge().GetValue()
		}
	}
	t.Fatalf("no series %s", name)
	return 0
}

// TestRedisPoolCollector: on a pool of one connection opened by
// OpenRedis, holding the connection shows it in use; a second call waits
// (pending) and, once the first is released, counts as a wait with its
// duration.
func TestRedisPoolCollector(t *testing.T) {
	t.Parallel()
	testenv.Redis(t) // skips (or fails under CI) without the test Redis
	s := config.Settings{RedisURL: testenv.RedisURL(), RedisPoolSize: 1}
	rdb, err := config.OpenRedis(t.Context(), &s)
	if err != nil {
		t.Fatal(err)
	}
	defer rdb.Close()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(config.NewRedisPoolCollector(rdb, "main"))
	if got := metricValue(t, reg, "gantry_redis_pool_in_use_connections"); got != 0 {
		t.Fatalf("in use with nothing running = %v; want 0", got)
	}
	cn := rdb.(*redis.Client).Conn()
	if err := cn.Ping(t.Context()).Err(); err != nil {
		t.Fatal(err)
	}
	if got := metricValue(t, reg, "gantry_redis_pool_in_use_connections"); got != 1 {
		t.Errorf("in use while a Conn holds the only connection = %v; want 1", got)
	}
	if got := metricValue(t, reg, "gantry_redis_pool_open_connections"); got != 1 {
		t.Errorf("open = %v; want 1", got)
	}
	waits := metricValue(t, reg, "gantry_redis_pool_wait_count_total")
	done := make(chan error, 1)
	go func() { done <- rdb.Ping(t.Context()).Err() }()
	for deadline := time.Now().Add(5 * time.Second); metricValue(t, reg, "gantry_redis_pool_pending_requests") != 1; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("a call waiting for the held connection never showed in pending_requests")
		}
	}
	time.Sleep(50 * time.Millisecond)
	cn.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := metricValue(t, reg, "gantry_redis_pool_wait_count_total"); got != waits+1 {
		t.Errorf("wait count = %v; want %v", got, waits+1)
	}
	if got := metricValue(t, reg, "gantry_redis_pool_wait_duration_seconds_total"); got < 0.05 {
		t.Errorf("wait duration = %vs; want >= 0.05 (the call waited 50ms)", got)
	}
	if got := metricValue(t, reg, "gantry_redis_pool_in_use_connections"); got != 0 {
		t.Errorf("in use after both returned = %v; want 0", got)
	}
}
