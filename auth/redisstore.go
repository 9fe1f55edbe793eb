package auth

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisStoreConfig configures a [RedisStore].
type RedisStoreConfig struct {
	// Client is the Redis client or cluster client; required. The store
	// never closes it. Create it with ContextTimeoutEnabled: true so that
	// Timeout also bounds a server that accepts connections but hangs;
	// without it, go-redis falls back to its ReadTimeout (default 3s).
	Client redis.UniversalClient
	// Prefix starts every key; default "auth:".
	Prefix string
	// Timeout bounds every call, so that an unreachable Redis fails
	// requests closed quickly; default 300ms.
	Timeout time.Duration
}

// RedisStore is a [Store] on Redis, shared by every instance of a service.
// Each record is a key whose TTL is the remaining life of the token it
// describes, so nothing outlives its use. All keys of one subject share the
// hash tag {subject}: Check is one MGET and Consume one script call, one
// round trip each, on a single server or a Redis Cluster. Its scripts use
// no Redis 7 feature (no PEXPIRE GT): any Redis from 6 serves.
//
// It is safe for concurrent use.
type RedisStore struct {
	rdb     redis.UniversalClient
	prefix  string
	timeout time.Duration
}

var _ Store = (*RedisStore)(nil)

// NewRedisStore returns a RedisStore, or an error if cfg has no client.
func NewRedisStore(cfg RedisStoreConfig) (*RedisStore, error) {
	if cfg.Client == nil {
		return nil, errors.New("auth: RedisStoreConfig.Client is required")
	}
	if cfg.Prefix == "" {
		cfg.Prefix = "auth:"
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 300 * time.Millisecond
	}
	return &RedisStore{rdb: cfg.Client, prefix: cfg.Prefix, timeout: cfg.Timeout}, nil
}

// Key layout: <prefix>{<subject>}:<kind>[:<id>].
func (s *RedisStore) key(subject, kind, id string) string {
	k := s.prefix + "{" + subject + "}:" + kind
	if id != "" {
		k += ":" + id
	}
	return k
}

func ttlMillis(d time.Duration) int64 { return max(d.Milliseconds(), 1) }

// Check implements [Store] with one MGET.
func (s *RedisStore) Check(ctx context.Context, ref TokenRef) error {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	keys := []string{s.key(ref.Subject, "u", ""), s.key(ref.Subject, "t", ref.ID)}
	if ref.Family != "" {
		keys = append(keys, s.key(ref.Subject, "f", ref.Family))
	}
	vals, err := s.rdb.MGet(ctx, keys...).Result()
	if err != nil {
		return fmt.Errorf("auth: redis check: %w", err)
	}
	for _, v := range vals[1:] {
		if v != nil {
			return ErrTokenRevoked
		}
	}
	if v, ok := vals[0].(string); ok {
		nbf, err := strconv.ParseInt(v, 10, 64)
		if err != nil || ref.IssuedAt.UnixMilli() < nbf {
			return ErrTokenRevoked
		}
	}
	return nil
}

// consumeScript: KEYS = not-before, revoked id, consumed id[, family];
// ARGV = issued-at ms, consumed ttl ms, family ttl ms. Returns 0 ok,
// 1 revoked, 2 reused. A token without family has no family key: its
// reuse revokes nothing more, as in the memory store.
var consumeScript = redis.NewScript(`
local nbf = redis.call('GET', KEYS[1])
if nbf and tonumber(ARGV[1]) < tonumber(nbf) then return 1 end
if redis.call('EXISTS', KEYS[2]) == 1 then return 1 end
if KEYS[4] and redis.call('EXISTS', KEYS[4]) == 1 then return 1 end
if redis.call('SET', KEYS[3], '1', 'NX', 'PX', ARGV[2]) then return 0 end
if KEYS[4] then redis.call('SET', KEYS[4], '1', 'PX', ARGV[3]) end
return 2
`)

// Consume implements [Store] with one script call.
func (s *RedisStore) Consume(ctx context.Context, ref TokenRef) error {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	keys := []string{s.key(ref.Subject, "u", ""), s.key(ref.Subject, "t", ref.ID), s.key(ref.Subject, "c", ref.ID)}
	if ref.Family != "" {
		keys = append(keys, s.key(ref.Subject, "f", ref.Family))
	}
	n, err := consumeScript.Run(ctx, s.rdb, keys, ref.IssuedAt.UnixMilli(), ttlMillis(ref.TTL), ttlMillis(ref.FamilyTTL)).Int()
	if err != nil {
		return fmt.Errorf("auth: redis consume: %w", err)
	}
	switch n {
	case 0:
		return nil
	case 1:
		return ErrTokenRevoked
	default:
		return ErrRefreshReused
	}
}

// revokeScript marks each of KEYS for ARGV[i] ms, keeping a longer
// remaining life already set (PTTL is -2 for a missing key).
var revokeScript = redis.NewScript(`
for i, k in ipairs(KEYS) do
  local ttl = tonumber(ARGV[i])
  if redis.call('PTTL', k) < ttl then redis.call('SET', k, '1', 'PX', ttl) end
end
return 0
`)

// Revoke implements [Store] with one script call.
func (s *RedisStore) Revoke(ctx context.Context, ref TokenRef) error {
	var keys []string
	var ttls []any
	if ref.ID != "" {
		keys, ttls = append(keys, s.key(ref.Subject, "t", ref.ID)), append(ttls, ttlMillis(ref.TTL))
	}
	if ref.Family != "" {
		keys, ttls = append(keys, s.key(ref.Subject, "f", ref.Family)), append(ttls, ttlMillis(ref.FamilyTTL))
	}
	if len(keys) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	if err := revokeScript.Run(ctx, s.rdb, keys, ttls...).Err(); err != nil {
		return fmt.Errorf("auth: redis revoke: %w", err)
	}
	return nil
}

// raiseScript sets KEYS[1] to ARGV[1] unless it holds a larger number, and
// its life to ARGV[2] ms unless it has longer left. It computes the longer
// life itself rather than use PEXPIRE's GT flag, which needs Redis 7.
var raiseScript = redis.NewScript(`
local ttl = tonumber(ARGV[2])
local left = redis.call('PTTL', KEYS[1])
if left > ttl then ttl = left end
local cur = redis.call('GET', KEYS[1])
if cur and tonumber(cur) >= tonumber(ARGV[1]) then
  redis.call('PEXPIRE', KEYS[1], ttl)
  return 0
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ttl)
return 1
`)

// RevokeSubject implements [Store].
func (s *RedisStore) RevokeSubject(ctx context.Context, subject string, notBefore time.Time, ttl time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	err := raiseScript.Run(ctx, s.rdb, []string{s.key(subject, "u", "")}, notBefore.UnixMilli(), ttlMillis(ttl)).Err()
	if err != nil {
		return fmt.Errorf("auth: redis revoke subject: %w", err)
	}
	return nil
}
