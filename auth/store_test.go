package auth_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/auth"
	"github.com/gantry-dev/gantry/auth/authtest"
	"github.com/gantry-dev/gantry/internal/testenv"
	"github.com/redis/go-redis/v9"
)

type namedStore struct {
	name  string
	store auth.Store
}

// testStores returns a memory store and a Redis store on the test server.
func testStores(t *testing.T) []namedStore {
	t.Helper()
	rdb, prefix := testenv.Redis(t)
	rs, err := auth.NewRedisStore(auth.RedisStoreConfig{Client: rdb, Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	return []namedStore{{"memory", auth.NewMemoryStore()}, {"redis", rs}}
}

// TestStoreContract runs the same decisions against both stores.
func TestStoreContract(t *testing.T) {
	t0 := time.Now().Truncate(time.Millisecond)
	for _, st := range testStores(t) {
		t.Run(st.name, func(t *testing.T) {
			ctx := t.Context()
			s := st.store
			ref := auth.TokenRef{Subject: "s1", ID: "j1", Family: "f1", IssuedAt: t0, TTL: time.Minute, FamilyTTL: time.Hour}
			steps := []struct {
				name string
				do   func() error
				want error
			}{
				{"fresh token passes", func() error { return s.Check(ctx, ref) }, nil},
				{"first consume", func() error { return s.Consume(ctx, ref) }, nil},
				{"second consume is reuse", func() error { return s.Consume(ctx, ref) }, auth.ErrRefreshReused},
				{"family revoked by reuse", func() error { return s.Check(ctx, auth.TokenRef{Subject: "s1", ID: "j2", Family: "f1", IssuedAt: t0}) }, auth.ErrTokenRevoked},
				{"other family passes", func() error { return s.Check(ctx, auth.TokenRef{Subject: "s1", ID: "j3", Family: "f2", IssuedAt: t0}) }, nil},
				{"revoke j3", func() error {
					return s.Revoke(ctx, auth.TokenRef{Subject: "s1", ID: "j3", TTL: time.Minute})
				}, nil},
				{"j3 revoked", func() error { return s.Check(ctx, auth.TokenRef{Subject: "s1", ID: "j3", Family: "f2", IssuedAt: t0}) }, auth.ErrTokenRevoked},
				{"j4 in f2 still passes", func() error { return s.Check(ctx, auth.TokenRef{Subject: "s1", ID: "j4", Family: "f2", IssuedAt: t0}) }, nil},
				{"revoke subject", func() error { return s.RevokeSubject(ctx, "s1", t0.Add(time.Second), time.Hour) }, nil},
				{"older token revoked", func() error { return s.Check(ctx, auth.TokenRef{Subject: "s1", ID: "j5", Family: "f3", IssuedAt: t0}) }, auth.ErrTokenRevoked},
				{"newer token passes", func() error {
					return s.Check(ctx, auth.TokenRef{Subject: "s1", ID: "j6", Family: "f3", IssuedAt: t0.Add(time.Second)})
				}, nil},
				{"older refresh cannot be consumed", func() error {
					return s.Consume(ctx, auth.TokenRef{Subject: "s1", ID: "j7", Family: "f4", IssuedAt: t0, TTL: time.Minute, FamilyTTL: time.Minute})
				}, auth.ErrTokenRevoked},
				{"an earlier not-before does not lower it", func() error { return s.RevokeSubject(ctx, "s1", t0, time.Hour) }, nil},
				{"still revoked", func() error { return s.Check(ctx, auth.TokenRef{Subject: "s1", ID: "j8", IssuedAt: t0}) }, auth.ErrTokenRevoked},
				{"other subject unaffected", func() error { return s.Check(ctx, auth.TokenRef{Subject: "s2", ID: "j9", IssuedAt: t0}) }, nil},
			}
			for _, step := range steps {
				if err := step.do(); !errors.Is(err, step.want) || (step.want == nil && err != nil) {
					t.Errorf("%s: err = %v; want %v", step.name, err, step.want)
				}
			}
		})
	}
}

// TestRedisKeysHaveTTL checks that every key the Redis store writes expires
// and that no token is stored.
func TestRedisKeysHaveTTL(t *testing.T) {
	rdb, prefix := testenv.Redis(t)
	rs, _ := auth.NewRedisStore(auth.RedisStoreConfig{Client: rdb, Prefix: prefix})
	a := newTestApp(t, appOptions{store: rs})
	a.addUser(t, "u1", "alice", "pw")
	p := a.login(t, "alice", "pw")
	a.refresh(t, p.RefreshToken)
	a.refresh(t, p.RefreshToken) // reuse
	p2 := a.login(t, "alice", "pw")
	a.do(t, "POST", "/logout", p2.AccessToken, nil)
	a.do(t, "POST", "/logout-all", a.login(t, "alice", "pw").AccessToken, nil)
	keys, err := rdb.Keys(t.Context(), prefix+"*").Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) < 4 {
		t.Errorf("keys = %v; want at least 4", keys)
	}
	for _, k := range keys {
		ttl := rdb.PTTL(t.Context(), k).Val()
		if ttl <= 0 || ttl > 8*24*time.Hour {
			t.Errorf("PTTL(%s) = %v; want within the refresh lifetime", k, ttl)
		}
		v := rdb.Get(t.Context(), k).Val()
		if len(v) > 20 {
			t.Errorf("%s holds %q: tokens must never be stored", k, v)
		}
	}
}

// roundTrips counts commands and pipelines sent through a client.
type roundTrips struct{ n atomic.Int64 }

func (h *roundTrips) DialHook(next redis.DialHook) redis.DialHook { return next }
func (h *roundTrips) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error { h.n.Add(1); return next(ctx, cmd) }
}
func (h *roundTrips) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error { h.n.Add(1); return next(ctx, cmds) }
}

// TestRedisOneRoundTripPerRequest checks that a protected request costs
// exactly one Redis round trip, cached token or not, and that a revocation
// takes effect on the very next request.
func TestRedisOneRoundTripPerRequest(t *testing.T) {
	rdb, prefix := testenv.Redis(t)
	hook := &roundTrips{}
	rdb.AddHook(hook)
	rs, _ := auth.NewRedisStore(auth.RedisStoreConfig{Client: rdb, Prefix: prefix})
	a := newTestApp(t, appOptions{store: rs})
	a.addUser(t, "u1", "alice", "pw")
	p := a.login(t, "alice", "pw")
	for i := range 5 {
		before := hook.n.Load()
		if r := a.do(t, "GET", "/me", p.AccessToken, nil); r.Status != 200 {
			t.Fatalf("GET /me = %d", r.Status)
		}
		if n := hook.n.Load() - before; n != 1 {
			t.Errorf("request %d: %d round trips; want 1", i, n)
		}
	}
	// revoke behind the app's back, through another client of the store
	c, err := a.Tokens.Parse(p.AccessToken, auth.TypeAccess)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Tokens.Revoke(t.Context(), c); err != nil {
		t.Fatal(err)
	}
	if r := a.do(t, "GET", "/me", p.AccessToken, nil); r.Status != 401 {
		t.Errorf("next request after revoke = %d; want 401", r.Status)
	}
}

// TestRedisDown points a Redis store at a closed port: protected routes
// answer 503 in the envelope, quickly, never 200.
func TestRedisDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // now nothing listens there
	rdb := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1})
	t.Cleanup(func() { rdb.Close() })
	rs, _ := auth.NewRedisStore(auth.RedisStoreConfig{Client: rdb, Timeout: 200 * time.Millisecond})
	a := newTestApp(t, appOptions{store: rs})
	a.addUser(t, "u1", "alice", "pw")
	tok := authtest.AccessToken(t, a.Tokens, "u1")
	for range 3 {
		start := time.Now()
		r := a.do(t, "GET", "/me", tok, nil)
		if took := time.Since(start); took > time.Second {
			t.Errorf("took %v; want well under 1s", took)
		}
		if r.Status != http.StatusServiceUnavailable || r.Env.Error.Type != "service_unavailable" {
			t.Fatalf("GET /me with Redis down = %d %s; want 503 service_unavailable", r.Status, r.Body)
		}
	}
	p := a.login(t, "alice", "pw")
	if r, _ := a.refresh(t, p.RefreshToken); r.Status != http.StatusServiceUnavailable {
		t.Errorf("refresh with Redis down = %d; want 503", r.Status)
	}
}

// TestRedisUnresponsive uses a listener that accepts and never answers:
// the store's timeout bounds the wait.
func TestRedisUnresponsive(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { c.Close() })
		}
	}()
	rdb := redis.NewClient(&redis.Options{Addr: ln.Addr().String(), MaxRetries: -1, ContextTimeoutEnabled: true})
	t.Cleanup(func() { rdb.Close() })
	rs, _ := auth.NewRedisStore(auth.RedisStoreConfig{Client: rdb, Timeout: 250 * time.Millisecond})
	tokens := authtest.NewTokens(t, auth.TokensConfig{Store: rs})
	start := time.Now()
	_, err = tokens.Verify(t.Context(), authtest.AccessToken(t, tokens, "u1"))
	if !errors.Is(err, auth.ErrStoreUnavailable) {
		t.Errorf("Verify = %v; want ErrStoreUnavailable", err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("took %v; want about 250ms", took)
	}
}
