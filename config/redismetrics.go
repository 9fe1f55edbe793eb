package config

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
)

// RedisPoolStats is what [NewRedisPoolCollector] reads: any go-redis
// client (*redis.Client, *redis.ClusterClient, redis.UniversalClient).
type RedisPoolStats interface {
	PoolStats() *redis.PoolStats
}

// NewRedisPoolCollector returns a Prometheus collector of c's connection
// pool, read at scrape time (PoolStats copies counters: no Redis call),
// for the caller to register, as go-redis's own redisprometheus does. With
// pool the value of the label pool (e.g. "main"), the series are:
//
//	gantry_redis_pool_open_connections        gauge   connections open (idle and in use)
//	gantry_redis_pool_idle_connections        gauge   idle connections
//	gantry_redis_pool_in_use_connections      gauge   connections lent out
//	gantry_redis_pool_pending_requests        gauge   calls waiting for a connection
//	gantry_redis_pool_wait_count_total        counter calls that waited for a connection
//	gantry_redis_pool_wait_duration_seconds_total counter time spent waiting
//	gantry_redis_pool_timeouts_total          counter waits that timed out (PoolTimeout)
//	gantry_redis_pool_hits_total              counter connections found idle in the pool
//	gantry_redis_pool_misses_total            counter connections that had to be dialled
//
// They mirror the database pool's go_sql_* series of client_golang's
// collectors.NewDBStatsCollector. go-redis's extra/redisprometheus is not
// used: it is a module of its own and exports neither the connections in
// use nor the waits.
func NewRedisPoolCollector(c RedisPoolStats, pool string) prometheus.Collector {
	l := prometheus.Labels{"pool": pool}
	d := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc(prometheus.BuildFQName("gantry", "redis_pool", name), help, nil, l)
	}
	return &redisPoolCollector{c: c,
		open:     d("open_connections", "Redis connections open, idle and in use."),
		idle:     d("idle_connections", "Idle Redis connections."),
		inUse:    d("in_use_connections", "Redis connections in use."),
		pending:  d("pending_requests", "Redis calls waiting for a connection."),
		waits:    d("wait_count_total", "Redis calls that waited for a connection."),
		waitTime: d("wait_duration_seconds_total", "Time Redis calls spent waiting for a connection."),
		timeouts: d("timeouts_total", "Waits for a Redis connection that timed out."),
		hits:     d("hits_total", "Redis connections taken idle from the pool."),
		misses:   d("misses_total", "Redis connections that had to be dialled."),
	}
}

type redisPoolCollector struct {
	c                                                                   RedisPoolStats
	open, idle, inUse, pending, waits, waitTime, timeouts, hits, misses *prometheus.Desc
}

func (r *redisPoolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{r.open, r.idle, r.inUse, r.pending, r.waits, r.waitTime, r.timeouts, r.hits, r.misses} {
		ch <- d
	}
}

func (r *redisPoolCollector) Collect(ch chan<- prometheus.Metric) {
	s := r.c.PoolStats()
	if s == nil {
		return
	}
	g := func(d *prometheus.Desc, v float64) { ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v) }
	c := func(d *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v)
	}
	g(r.open, float64(s.TotalConns))
	g(r.idle, float64(s.IdleConns))
	g(r.inUse, float64(max(int64(s.TotalConns)-int64(s.IdleConns), 0)))
	g(r.pending, float64(s.PendingRequests))
	c(r.waits, float64(s.WaitCount))
	c(r.waitTime, float64(s.WaitDurationNs)/1e9)
	c(r.timeouts, float64(s.Timeouts))
	c(r.hits, float64(s.Hits))
	c(r.misses, float64(s.Misses))
}
