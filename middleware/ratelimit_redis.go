package middleware

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// gcraScript is the whole check: one EVALSHA, one key, server time (so
// instances with skewed clocks agree), and the key is written only with a
// PX expiry equal to the time it takes to be back to a full quota — no key
// ever lives without a TTL. Times are microseconds.
//
// KEYS[1] key; ARGV[1] emission interval (µs); ARGV[2] burst.
// Returns {allowed 0|1, remaining, reset_after µs, retry_after µs}.
const gcraScript = `
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local tat = tonumber(redis.call('GET', KEYS[1]))
if tat == nil or tat < now then tat = now end
local newtat = tat + interval
local diff = now - (newtat - burst * interval)
if diff < 0 then
  return {0, 0, tat - now, -diff}
end
local ttl = math.ceil((newtat - now) / 1000)
if ttl < 1 then ttl = 1 end
redis.call('SET', KEYS[1], string.format('%d', newtat), 'PX', ttl)
return {1, math.floor(diff / interval), newtat - now, 0}
`

// RedisStoreConfig configures a [RedisStore].
type RedisStoreConfig struct {
	// Client is the Redis client (a *redis.Client, *redis.ClusterClient or
	// *redis.Ring); required. The store never closes it. For the failure
	// policy's timeout to bound a check on a hung server, create the
	// client with ContextTimeoutEnabled: true (or a ReadTimeout no longer
	// than [RateLimitConfig.Timeout]); a refused connection fails at once
	// either way.
	Client redis.UniversalClient
	// Prefix is prepended to every key; default "ratelimit:".
	Prefix string
	// MaxInFlight caps the checks the rate-limit middleware has in flight
	// on this store at once; default the client's PoolSize (go-redis's
	// default 10 per CPU when it is not a *redis.Client, ClusterClient or
	// Ring). A check first waits for one of these slots
	// ([RateLimitConfig.QueueTimeout]), and only then does its
	// [RateLimitConfig.Timeout] start: the timeout measures the Redis call,
	// not the queue for a pooled connection, so a burst waits its turn
	// rather than timing out. Other users of the same client can still hold
	// connections; give the limiter a client of its own when they are busy.
	MaxInFlight int
}

// RedisStore is a [Store] on Redis shared by every instance of a service:
// GCRA in one Lua script, so each check is exactly one round trip and exact
// under any concurrency. Each check touches a single key, so it is safe on
// Redis Cluster for any key; every key carries a TTL. Safe for concurrent use.
type RedisStore struct {
	rdb    redis.UniversalClient
	prefix string
	script *redis.Script
	slots  chan struct{}
}

var _ Store = (*RedisStore)(nil)

// NewRedisStore returns a RedisStore, or an error wrapping [ErrInvalidConfig].
func NewRedisStore(cfg RedisStoreConfig) (*RedisStore, error) {
	if cfg.Client == nil {
		return nil, fmt.Errorf("%w: redis store needs a Client", ErrInvalidConfig)
	}
	if cfg.Prefix == "" {
		cfg.Prefix = "ratelimit:"
	}
	n := cfg.MaxInFlight
	if n <= 0 {
		n = poolSize(cfg.Client)
	}
	return &RedisStore{rdb: cfg.Client, prefix: cfg.Prefix, script: redis.NewScript(gcraScript), slots: make(chan struct{}, n)}, nil
}

// poolSize is the connection pool size of rdb (per node for a cluster).
func poolSize(rdb redis.UniversalClient) int {
	n := 0
	switch c := rdb.(type) {
	case *redis.Client:
		n = c.Options().PoolSize
	case *redis.ClusterClient:
		n = c.Options().PoolSize
	case *redis.Ring:
		n = c.Options().PoolSize
	}
	if n <= 0 {
		n = 10 * runtime.GOMAXPROCS(0)
	}
	return n
}

// errNoSlot is the failure of a check that found no call slot free in
// time: this instance is overloaded, which says nothing of Redis.
var errNoSlot = errors.New("no call slot free")

// allowWithin is the middleware's call: it waits up to queue for a slot,
// then, unless down (when not nil) says the store failed meanwhile, runs
// the check with budget as its timeout.
func (s *RedisStore) allowWithin(ctx context.Context, key string, limit Limit, budget, queue time.Duration, down *atomic.Int64) (Result, error) {
	select {
	case s.slots <- struct{}{}:
	default:
		timer := time.NewTimer(queue)
		select {
		case s.slots <- struct{}{}:
			timer.Stop()
		case <-timer.C:
			return Result{}, fmt.Errorf("middleware: redis rate limit: %w within %s", errNoSlot, queue)
		case <-ctx.Done():
			timer.Stop()
			return Result{}, ctx.Err()
		}
	}
	defer func() { <-s.slots }()
	if down != nil && down.Load() != 0 {
		return Result{}, errStoreResting
	}
	cctx, cancel := context.WithTimeout(ctx, budget)
	defer cancel()
	return s.Allow(cctx, key, limit)
}

// Allow counts one request for key in one round trip (EVALSHA; the script
// is loaded on first use).
func (s *RedisStore) Allow(ctx context.Context, key string, limit Limit) (Result, error) {
	if err := limit.validate(); err != nil {
		return Result{}, err
	}
	interval := limit.interval().Microseconds()
	if interval < 1 {
		return Result{}, fmt.Errorf("%w: redis rate limit %d per %s is finer than 1µs", ErrInvalidConfig, limit.Rate, limit.Period)
	}
	burst := limit.burst()
	v, err := s.script.Run(ctx, s.rdb, []string{s.prefix + key}, strconv.FormatInt(interval, 10), strconv.Itoa(burst)).Int64Slice()
	if err != nil {
		return Result{}, fmt.Errorf("middleware: redis rate limit: %w", err)
	}
	if len(v) != 4 {
		return Result{}, fmt.Errorf("middleware: redis rate limit: unexpected reply %v", v)
	}
	return Result{
		Allowed:    v[0] == 1,
		Limit:      burst,
		Remaining:  int(v[1]),
		ResetAfter: time.Duration(v[2]) * time.Microsecond,
		RetryAfter: time.Duration(v[3]) * time.Microsecond,
	}, nil
}
