package middleware

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// The idempotency scripts each touch one key (safe on Redis Cluster) and
// compare whole values: a reservation's value names its token, so only
// the request that holds it completes or releases it.
const (
	// KEYS[1] key; ARGV[1] reservation value; ARGV[2] lease (ms).
	// Returns the existing value, or nil after reserving.
	idemReserveScript = `
local v = redis.call('GET', KEYS[1])
if v then return v end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return false
`
	// KEYS[1] key; ARGV[1] reservation value; ARGV[2] record; ARGV[3] ttl (ms).
	idemCompleteScript = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 1
`
	// KEYS[1] key; ARGV[1] reservation value.
	idemReleaseScript = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`
)

// RedisIdempotencyStoreConfig configures a [RedisIdempotencyStore].
type RedisIdempotencyStoreConfig struct {
	// Client is the Redis client (a *redis.Client, *redis.ClusterClient or
	// *redis.Ring); required. The store never closes it.
	Client redis.UniversalClient
	// Prefix is prepended to every key; default "idempotency:".
	Prefix string
}

// RedisIdempotencyStore is an [IdempotencyStore] on Redis, shared by every
// instance of a service: one key per record, JSON, always with an expiry
// (the lease while in flight, the TTL once done). Reserve is one Lua
// script (GET, else SET with PX), so exactly one of any concurrent
// Reserves wins, across instances; the lease is kept by Redis's clock, so
// the key of an instance that died frees itself. Safe for concurrent use.
type RedisIdempotencyStore struct {
	rdb      redis.UniversalClient
	prefix   string
	reserve  *redis.Script
	complete *redis.Script
	release  *redis.Script
}

var _ IdempotencyStore = (*RedisIdempotencyStore)(nil)

// NewRedisIdempotencyStore returns a RedisIdempotencyStore, or an error
// wrapping [ErrInvalidConfig].
func NewRedisIdempotencyStore(cfg RedisIdempotencyStoreConfig) (*RedisIdempotencyStore, error) {
	if cfg.Client == nil {
		return nil, fmt.Errorf("%w: redis idempotency store needs a Client", ErrInvalidConfig)
	}
	if cfg.Prefix == "" {
		cfg.Prefix = "idempotency:"
	}
	return &RedisIdempotencyStore{
		rdb: cfg.Client, prefix: cfg.Prefix,
		reserve:  redis.NewScript(idemReserveScript),
		complete: redis.NewScript(idemCompleteScript),
		release:  redis.NewScript(idemReleaseScript),
	}, nil
}

// idemValue is a record as stored (JSON; the body is base64).
type idemValue struct {
	Fingerprint string      `json:"f"`
	Token       string      `json:"t,omitempty"`
	Done        bool        `json:"d,omitempty"`
	Status      int         `json:"s,omitempty"`
	Header      http.Header `json:"h,omitempty"`
	Body        []byte      `json:"b,omitempty"`
}

func encodeIdem(rec IdempotencyRecord) (string, error) {
	v := idemValue{Fingerprint: rec.Fingerprint, Token: rec.Token, Done: rec.Done}
	if rec.Response != nil {
		v.Status, v.Header, v.Body = rec.Response.Status, rec.Response.Header, rec.Response.Body
	}
	b, err := json.Marshal(v)
	return string(b), err
}

func decodeIdem(s string) (IdempotencyRecord, error) {
	var v idemValue
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		return IdempotencyRecord{}, fmt.Errorf("middleware: decode idempotency record: %w", err)
	}
	rec := IdempotencyRecord{Fingerprint: v.Fingerprint, Token: v.Token, Done: v.Done}
	if v.Status != 0 {
		rec.Response = &IdempotentResponse{Status: v.Status, Header: v.Header, Body: v.Body}
		if rec.Response.Header == nil {
			rec.Response.Header = http.Header{}
		}
	}
	return rec, nil
}

// reservation is the value of key while token's request runs.
func reservation(fingerprint, token string) string {
	s, _ := encodeIdem(IdempotencyRecord{Fingerprint: fingerprint, Token: token})
	return s
}

func ms(d time.Duration) string { return strconv.FormatInt(max(d.Milliseconds(), 1), 10) }

// Reserve reserves key in one round trip (EVALSHA).
func (s *RedisIdempotencyStore) Reserve(ctx context.Context, key, fingerprint, token string, lease time.Duration) (IdempotencyRecord, bool, error) {
	v, err := s.reserve.Run(ctx, s.rdb, []string{s.prefix + key}, reservation(fingerprint, token), ms(lease)).Text()
	if errors.Is(err, redis.Nil) {
		return IdempotencyRecord{}, true, nil
	}
	if err != nil {
		return IdempotencyRecord{}, false, fmt.Errorf("middleware: redis idempotency reserve: %w", err)
	}
	rec, err := decodeIdem(v)
	return rec, false, err
}

// Complete stores rec in place of token's reservation.
func (s *RedisIdempotencyStore) Complete(ctx context.Context, key, token string, rec IdempotencyRecord, ttl time.Duration) error {
	rec.Token, rec.Done = "", true
	val, err := encodeIdem(rec)
	if err != nil {
		return fmt.Errorf("middleware: encode idempotency record: %w", err)
	}
	n, err := s.complete.Run(ctx, s.rdb, []string{s.prefix + key}, reservation(rec.Fingerprint, token), val, ms(ttl)).Int()
	if err != nil {
		return fmt.Errorf("middleware: redis idempotency complete: %w", err)
	}
	if n == 0 {
		return ErrIdempotencyLeaseLost
	}
	return nil
}

// Release deletes token's reservation. The reservation's value names the
// fingerprint too, so Release reads it first.
func (s *RedisIdempotencyStore) Release(ctx context.Context, key, token string) error {
	v, err := s.rdb.Get(ctx, s.prefix+key).Result()
	if errors.Is(err, redis.Nil) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("middleware: redis idempotency release: %w", err)
	}
	rec, err := decodeIdem(v)
	if err != nil || rec.Done || rec.Token != token {
		return nil // not token's reservation
	}
	if err := s.release.Run(ctx, s.rdb, []string{s.prefix + key}, v).Err(); err != nil {
		return fmt.Errorf("middleware: redis idempotency release: %w", err)
	}
	return nil
}
