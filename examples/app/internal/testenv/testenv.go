// Package testenv gives the app's tests an isolated PostgreSQL schema and
// Redis key prefix on real servers, and a log buffer safe for concurrent
// writes. It is the app's own, so a service copied from this folder keeps
// its tests; it holds only what those tests use.
//
// The servers are found through TEST_DATABASE_URL (default
// postgres://postgres@127.0.0.1:5432/test?sslmode=disable) and TEST_REDIS_URL
// (default redis://127.0.0.1:6379/0). When a server does not answer, the test
// is skipped with a message saying how to start it, except under CI=true,
// where it fails: CI must never pass by skipping.
package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver
	"github.com/jmoiron/sqlx"
	"github.com/redis/go-redis/v9"
)

// DefaultDatabaseURL is used when TEST_DATABASE_URL is unset.
const DefaultDatabaseURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// DefaultRedisURL is used when TEST_REDIS_URL is unset.
const DefaultRedisURL = "redis://127.0.0.1:6379/0"

const (
	startPostgres = "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start"
	startRedis    = `redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no`
)

// DatabaseURL returns the PostgreSQL URL tests use.
func DatabaseURL() string {
	if u := os.Getenv("TEST_DATABASE_URL"); u != "" {
		return u
	}
	return DefaultDatabaseURL
}

// RedisURL returns the Redis URL tests use.
func RedisURL() string {
	if u := os.Getenv("TEST_REDIS_URL"); u != "" {
		return u
	}
	return DefaultRedisURL
}

// Unavailable skips tb, or fails it under CI=true, because a service is down.
func Unavailable(tb testing.TB, service, how string, err error) {
	tb.Helper()
	msg := fmt.Sprintf("%s unreachable (%v); start it with: %s", service, err, how)
	if os.Getenv("CI") == "true" {
		tb.Fatal(msg)
	}
	tb.Skip(msg)
}

// name returns a short random identifier, safe as a schema name or key part.
func name(prefix string) string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// PostgresDSN creates a fresh schema, drops it when the test ends, and returns
// a DSN whose connections use that schema as their search_path, for a test
// that starts the app as another process.
func PostgresDSN(tb testing.TB) string {
	tb.Helper()
	base := DatabaseURL()
	admin, err := sqlx.Open("pgx", base)
	if err != nil {
		tb.Fatalf("testenv: open %s: %v", base, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := admin.PingContext(ctx); err != nil {
		admin.Close()
		Unavailable(tb, "PostgreSQL at "+base, startPostgres, err)
	}
	schema := name("t_")
	if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		admin.Close()
		tb.Fatalf("testenv: create schema: %v", err)
	}
	tb.Cleanup(func() {
		defer admin.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := admin.ExecContext(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			tb.Errorf("testenv: drop schema %s: %v", schema, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		tb.Fatalf("testenv: parse %s: %v", base, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// Redis returns a client of the test Redis and a key prefix of the test's own
// ("test:<random>:"). Every key under the prefix is deleted when the test
// ends; tests must never FLUSHDB, since other tests share the server.
func Redis(tb testing.TB) (*redis.Client, string) {
	tb.Helper()
	opt, err := redis.ParseURL(RedisURL())
	if err != nil {
		tb.Fatalf("testenv: parse redis url: %v", err)
	}
	rdb := redis.NewClient(opt)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := rdb.Ping(ctx).Err(); err != nil {
		rdb.Close()
		Unavailable(tb, "Redis at "+RedisURL(), startRedis, err)
	}
	prefix := name("test:") + ":"
	tb.Cleanup(func() {
		defer rdb.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		deletePrefix(ctx, tb, rdb, prefix)
	})
	return rdb, prefix
}

// deletePrefix deletes every key that starts with prefix.
func deletePrefix(ctx context.Context, tb testing.TB, rdb *redis.Client, prefix string) {
	tb.Helper()
	pattern := strings.NewReplacer("*", `\*`, "?", `\?`, "[", `\[`).Replace(prefix) + "*"
	iter := rdb.Scan(ctx, 0, pattern, 1000).Iterator()
	var keys []string
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
	}
	if err := iter.Err(); err != nil {
		tb.Errorf("testenv: scan %s: %v", pattern, err)
		return
	}
	for _, k := range keys {
		if err := rdb.Del(ctx, k).Err(); err != nil {
			tb.Errorf("testenv: del %s: %v", k, err)
		}
	}
}
