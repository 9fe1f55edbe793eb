package auth_test

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/auth"
	"github.com/gantry-dev/gantry/auth/authtest"
	"github.com/gantry-dev/gantry/internal/testenv"
	"github.com/redis/go-redis/v9"
)

// TestStoreConformance runs the one Store conformance suite against every
// store: memory, authtest's, Redis and Redis Cluster.
func TestStoreConformance(t *testing.T) {
	t.Run("memory", func(t *testing.T) {
		authtest.RunStoreTests(t, func(*testing.T) auth.Store { return auth.NewMemoryStore() })
	})
	t.Run("authtest", func(t *testing.T) {
		authtest.RunStoreTests(t, func(*testing.T) auth.Store { return authtest.NewStore() })
	})
	t.Run("redis", func(t *testing.T) {
		rdb, prefix := testenv.Redis(t)
		authtest.RunStoreTests(t, func(t *testing.T) auth.Store { return redisStoreOn(t, rdb, prefix) })
	})
	t.Run("redis cluster", func(t *testing.T) {
		addr := startClusterNode(t)
		rdb := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{addr}, ContextTimeoutEnabled: true})
		t.Cleanup(func() { rdb.Close() })
		authtest.RunStoreTests(t, func(t *testing.T) auth.Store { return redisStoreOn(t, rdb, "auth:") })
	})
}

// redisStoreOn returns a Redis store under a fresh sub-prefix of prefix.
func redisStoreOn(t *testing.T, rdb redis.UniversalClient, prefix string) auth.Store {
	t.Helper()
	var b [6]byte
	_, _ = rand.Read(b[:])
	rs, err := auth.NewRedisStore(auth.RedisStoreConfig{Client: rdb, Prefix: prefix + hex.EncodeToString(b[:]) + ":", Timeout: 5e9})
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

// TestRevokedRefreshWithoutFamily: a refresh token with no family, once
// revoked, cannot be refreshed, on either store (issue 11, defect 9).
func TestRevokedRefreshWithoutFamily(t *testing.T) {
	for _, st := range testStores(t) {
		t.Run(st.name, func(t *testing.T) {
			tokens := authtest.NewTokens(t, auth.TokensConfig{Store: st.store})
			c := authtest.Claims(tokens, "u1")
			c.Type, c.Family, c.ExpiresAt = auth.TypeRefresh, "", c.IssuedAt.Add(time.Hour)
			rt := authtest.Mint(t, tokens, c)
			parsed, err := tokens.Parse(rt, auth.TypeRefresh)
			if err != nil {
				t.Fatal(err)
			}
			if err := tokens.Revoke(t.Context(), parsed); err != nil {
				t.Fatal(err)
			}
			if _, err := tokens.Refresh(t.Context(), rt); !errors.Is(err, auth.ErrTokenRevoked) {
				t.Errorf("refresh of a revoked token without family = %v; want ErrTokenRevoked", err)
			}
		})
	}
}
