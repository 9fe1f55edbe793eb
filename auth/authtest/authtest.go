// Package authtest helps test code protected by package auth without
// Redis: tokens on a fixed test key with a memory revocation store, a
// settable clock, and minting of arbitrary (also invalid) tokens.
// [RunStoreTests] is the conformance suite of auth.Store implementations.
//
//	tokens := authtest.NewTokens(t, auth.TokensConfig{})
//	e.GET("/me", handler, authtest.Middleware(t, tokens))
//	req.Header.Set("Authorization", "Bearer "+authtest.AccessToken(t, tokens, "user-1", "posts:read"))
package authtest

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"sync"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/auth"
	"github.com/labstack/echo/v4"
)

// Secret is the HS256 secret NewTokens uses when the config names no key.
const Secret = "authtest-secret-key-0123456789abcdef"

// Clock is a settable clock, safe for concurrent use. Pass its Now method
// as a config's Now.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a Clock showing t.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Set sets the clock to t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// NewKeys returns a fresh key set for tests: an Ed25519 key with kid
// "test-ed25519" that signs, and an HS256 key with kid "test-hs256" that
// also verifies. Pass it as TokensConfig.Keys.
func NewKeys(tb testing.TB) []auth.Key {
	tb.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		tb.Fatalf("authtest: NewKeys: %v", err)
	}
	ed, err := auth.NewEd25519Key("test-ed25519", priv)
	if err != nil {
		tb.Fatalf("authtest: NewKeys: %v", err)
	}
	hs, err := auth.NewHMACKey("test-hs256", []byte(Secret))
	if err != nil {
		tb.Fatalf("authtest: NewKeys: %v", err)
	}
	return []auth.Key{ed, hs}
}

// NewStore returns an empty memory revocation store.
func NewStore() *auth.MemoryStore { return auth.NewMemoryStore() }

// NewTokens returns an *auth.Tokens for tests: cfg with the [Secret] key
// when it sets none, and a fresh memory store when it sets none.
func NewTokens(tb testing.TB, cfg auth.TokensConfig) *auth.Tokens {
	tb.Helper()
	if cfg.SecretKey == "" && len(cfg.Keys) == 0 {
		cfg.SecretKey = Secret
	}
	if cfg.Store == nil {
		cfg.Store = NewStore()
	}
	t, err := auth.NewTokens(cfg)
	if err != nil {
		tb.Fatalf("authtest: NewTokens: %v", err)
	}
	return t
}

// Claims returns valid access token claims for subject on t: its issuer
// and audience, issued now by t's clock, expiring after its AccessTTL, with
// a fresh id. Modify them and [Mint] them to build any token.
func Claims(t *auth.Tokens, subject string, scopes ...string) auth.Claims {
	cfg := t.Config()
	now := cfg.Now().Truncate(time.Millisecond)
	var b [12]byte
	_, _ = rand.Read(b[:])
	return auth.Claims{
		Subject: subject, Issuer: cfg.Issuer, Audience: []string{cfg.Audience},
		ID: base64.RawURLEncoding.EncodeToString(b[:]), Family: "", Type: auth.TypeAccess,
		Scopes: scopes, IssuedAt: now, NotBefore: now, ExpiresAt: now.Add(cfg.AccessTTL),
	}
}

// Mint signs c exactly as given with t's signing key.
func Mint(tb testing.TB, t *auth.Tokens, c auth.Claims) string {
	tb.Helper()
	s, err := t.Sign(&c)
	if err != nil {
		tb.Fatalf("authtest: Mint: %v", err)
	}
	return s
}

// AccessToken returns a valid access token for subject with scopes.
func AccessToken(tb testing.TB, t *auth.Tokens, subject string, scopes ...string) string {
	tb.Helper()
	return Mint(tb, t, Claims(t, subject, scopes...))
}

// Middleware returns t's authentication middleware.
func Middleware(tb testing.TB, t *auth.Tokens) echo.MiddlewareFunc {
	tb.Helper()
	mw, err := auth.JWTConfig{Tokens: t}.ToMiddleware()
	if err != nil {
		tb.Fatalf("authtest: Middleware: %v", err)
	}
	return mw
}
