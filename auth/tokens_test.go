package auth_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/auth"
	"github.com/gantry-dev/gantry/auth/authtest"
	"github.com/labstack/echo/v4"
)

func TestNewTokensConfig(t *testing.T) {
	k := mixedKeys(t)
	verifyOnly, _ := auth.NewVerifyKey("old", k.edPub)
	tests := []struct {
		name    string
		cfg     auth.TokensConfig
		wantErr bool
	}{
		{"secret key", auth.TokensConfig{SecretKey: authtest.Secret}, false},
		{"key set", auth.TokensConfig{Keys: k.keys}, false},
		{"no key", auth.TokensConfig{}, true},
		{"short secret", auth.TokensConfig{SecretKey: "short"}, true},
		{"both", auth.TokensConfig{SecretKey: authtest.Secret, Keys: k.keys}, true},
		{"verify-only key first", auth.TokensConfig{Keys: []auth.Key{verifyOnly}}, true},
		{"zero key", auth.TokensConfig{Keys: []auth.Key{{}}}, true},
		{"duplicate kid", auth.TokensConfig{Keys: []auth.Key{k.keys[0], k.keys[0]}}, true},
		{"huge leeway", auth.TokensConfig{SecretKey: authtest.Secret, Leeway: time.Hour}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := auth.NewTokens(tt.cfg)
			if (err != nil) != tt.wantErr {
				t.Errorf("NewTokens err = %v; want error %v", err, tt.wantErr)
			}
		})
	}
	if _, err := auth.NewHMACKey("x", []byte("short")); !errors.Is(err, auth.ErrWeakKey) {
		t.Errorf("NewHMACKey(short) = %v; want ErrWeakKey", err)
	}
}

// TestKeyRotation: tokens signed by the old key stay valid while it is in
// the set as a verification key, and stop when it is removed.
func TestKeyRotation(t *testing.T) {
	_, oldPriv, _ := ed25519.GenerateKey(rand.Reader)
	_, newPriv, _ := ed25519.GenerateKey(rand.Reader)
	oldKey, _ := auth.NewEd25519Key("2026-01", oldPriv)
	newKey, _ := auth.NewEd25519Key("2026-02", newPriv)
	oldVerify, _ := auth.NewVerifyKey("2026-01", oldPriv.Public())
	store := auth.NewMemoryStore()
	before := authtest.NewTokens(t, auth.TokensConfig{Keys: []auth.Key{oldKey}, Store: store})
	p, err := before.IssuePair(t.Context(), "u1", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	during := authtest.NewTokens(t, auth.TokensConfig{Keys: []auth.Key{newKey, oldVerify}, Store: store})
	if _, err := during.Verify(t.Context(), p.AccessToken); err != nil {
		t.Errorf("old token during rotation: %v", err)
	}
	p2, _ := during.IssuePair(t.Context(), "u1", nil, nil)
	if _, err := during.Verify(t.Context(), p2.AccessToken); err != nil {
		t.Errorf("new token: %v", err)
	}
	if _, err := before.Verify(t.Context(), p2.AccessToken); !errors.Is(err, auth.ErrInvalidToken) {
		t.Errorf("new token on a node without the new key: %v; want ErrInvalidToken", err)
	}
	after := authtest.NewTokens(t, auth.TokensConfig{Keys: []auth.Key{newKey}, Store: store})
	if _, err := after.Verify(t.Context(), p.AccessToken); !errors.Is(err, auth.ErrInvalidToken) {
		t.Errorf("old token after removal: %v; want ErrInvalidToken", err)
	}
	if _, err := after.Refresh(t.Context(), p2.RefreshToken); err != nil {
		t.Errorf("refresh of a new-key token: %v", err)
	}
}

// TestCachedTokenExpires: a cached token is refused as soon as its expiry
// plus leeway passes, and a revocation applies to cached tokens at once.
func TestCachedTokenExpires(t *testing.T) {
	clock := authtest.NewClock(testStart)
	tokens := authtest.NewTokens(t, auth.TokensConfig{Now: clock.Now, AccessTTL: time.Minute, Leeway: 10 * time.Second})
	p, _ := tokens.IssuePair(t.Context(), "u1", nil, nil)
	for range 3 {
		if _, err := tokens.Verify(t.Context(), p.AccessToken); err != nil {
			t.Fatal(err)
		}
	}
	clock.Advance(time.Minute + 10*time.Second)
	if _, err := tokens.Verify(t.Context(), p.AccessToken); err != nil {
		t.Errorf("at exp+leeway: %v; want valid", err)
	}
	clock.Advance(time.Millisecond)
	if _, err := tokens.Verify(t.Context(), p.AccessToken); !errors.Is(err, auth.ErrTokenExpired) {
		t.Errorf("after exp+leeway: %v; want ErrTokenExpired", err)
	}
	clock.Set(testStart)
	p2, _ := tokens.IssuePair(t.Context(), "u2", nil, nil)
	c, _ := tokens.Verify(t.Context(), p2.AccessToken) // now cached
	if err := tokens.Revoke(t.Context(), c); err != nil {
		t.Fatal(err)
	}
	if _, err := tokens.Verify(t.Context(), p2.AccessToken); !errors.Is(err, auth.ErrTokenRevoked) {
		t.Errorf("cached token after revoke: %v; want ErrTokenRevoked", err)
	}
}

// TestCacheBounded: many distinct tokens do not grow memory past the bound.
func TestCacheBounded(t *testing.T) {
	tokens := authtest.NewTokens(t, auth.TokensConfig{CacheSize: 64})
	for range 500 {
		tok := authtest.AccessToken(t, tokens, "u1")
		if _, err := tokens.Verify(t.Context(), tok); err != nil {
			t.Fatal(err)
		}
	}
	// nothing to observe from outside but correctness and no growth of the
	// store; the bound itself is checked in the internal test
}

func TestClaimsMillisecondPrecision(t *testing.T) {
	clock := authtest.NewClock(testStart.Add(123 * time.Millisecond))
	tokens := authtest.NewTokens(t, auth.TokensConfig{Now: clock.Now})
	p, _ := tokens.IssuePair(t.Context(), "u1", []string{"a", "b"}, []string{"r"})
	payload, _ := base64.RawURLEncoding.DecodeString(strings.Split(p.AccessToken, ".")[1])
	if !strings.Contains(string(payload), `"iat":1767323045.123`) || !strings.Contains(string(payload), `"scope":"a b"`) {
		t.Errorf("payload = %s; want iat with milliseconds and a space separated scope", payload)
	}
	c, err := tokens.Parse(p.AccessToken, auth.TypeAccess)
	if err != nil {
		t.Fatal(err)
	}
	if !c.IssuedAt.Equal(clock.Now()) || strings.Join(c.Scopes, ",") != "a,b" || c.Roles[0] != "r" || c.Family == "" {
		t.Errorf("claims = %+v", c)
	}
	// revoking at T revokes the tokens issued up to T (the caller's own
	// included, even in the same millisecond), not one issued at T+1ms
	if err := tokens.RevokeAllForUser(t.Context(), "u1"); err != nil {
		t.Fatal(err)
	}
	if _, err := tokens.Verify(t.Context(), p.AccessToken); !errors.Is(err, auth.ErrTokenRevoked) {
		t.Errorf("token issued in the logout-all millisecond: %v; want revoked", err)
	}
	clock.Advance(time.Millisecond)
	p2, _ := tokens.IssuePair(t.Context(), "u1", nil, nil)
	if _, err := tokens.Verify(t.Context(), p2.AccessToken); err != nil {
		t.Errorf("token issued 1ms after logout-all: %v; want valid", err)
	}
}

func TestReissueAll(t *testing.T) {
	clock := authtest.NewClock(testStart)
	tokens := authtest.NewTokens(t, auth.TokensConfig{Now: clock.Now})
	old, _ := tokens.IssuePair(t.Context(), "u1", []string{"a"}, nil)
	fresh, err := tokens.ReissueAll(t.Context(), "u1", []string{"a"}, []string{"r"})
	if err != nil {
		t.Fatal(err)
	}
	// Same millisecond, no clock advance: the old pair is dead, the new one lives.
	if _, err := tokens.Verify(t.Context(), old.AccessToken); !errors.Is(err, auth.ErrTokenRevoked) {
		t.Errorf("old access token after ReissueAll: %v; want revoked", err)
	}
	if _, err := tokens.Refresh(t.Context(), old.RefreshToken); err == nil {
		t.Error("old refresh token after ReissueAll refreshed")
	}
	c, err := tokens.Verify(t.Context(), fresh.AccessToken)
	if err != nil || c.Roles[0] != "r" {
		t.Errorf("new access token after ReissueAll: %+v, %v; want valid", c, err)
	}
	if _, err := tokens.Refresh(t.Context(), fresh.RefreshToken); err != nil {
		t.Errorf("new refresh token after ReissueAll: %v; want valid", err)
	}
	if _, err := tokens.ReissueAll(t.Context(), "", nil, nil); err == nil {
		t.Error("ReissueAll with an empty subject succeeded")
	}
}

func TestMiddlewareExtraction(t *testing.T) {
	tokens := authtest.NewTokens(t, auth.TokensConfig{})
	tok := authtest.AccessToken(t, tokens, "u1", "s")
	mw, err := auth.JWTConfig{Tokens: tokens, CookieName: "access_token",
		Skipper: func(c echo.Context) bool { return c.Path() == "/public" }}.ToMiddleware()
	if err != nil {
		t.Fatal(err)
	}
	e := echo.New()
	e.HTTPErrorHandler = statusErrorHandler
	h := func(c echo.Context) error {
		p, ok := auth.PrincipalFrom(c)
		q, ok2 := auth.FromContext(c.Request().Context())
		if !ok || !ok2 || p != q {
			return c.String(http.StatusOK, "anonymous")
		}
		return c.String(http.StatusOK, p.Subject)
	}
	e.GET("/me", h, mw)
	e.GET("/public", h, mw)
	tests := []struct {
		name   string
		path   string
		header []string
		cookie string
		want   int
		body   string
	}{
		{"bearer", "/me", []string{"Bearer " + tok}, "", 200, "u1"},
		{"lowercase scheme", "/me", []string{"bearer " + tok}, "", 200, "u1"},
		{"cookie", "/me", nil, tok, 200, "u1"},
		{"header wins over cookie", "/me", []string{"Bearer garbage"}, tok, 401, ""},
		{"basic scheme", "/me", []string{"Basic dTpw"}, "", 401, ""},
		{"empty bearer", "/me", []string{"Bearer "}, "", 401, ""},
		{"two headers", "/me", []string{"Bearer " + tok, "Bearer " + tok}, "", 401, ""},
		{"none", "/me", nil, "", 401, ""},
		{"skipped", "/public", nil, "", 200, "anonymous"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, tt.path, nil)
			for _, v := range tt.header {
				req.Header.Add("Authorization", v)
			}
			if tt.cookie != "" {
				req.AddCookie(&http.Cookie{Name: "access_token", Value: tt.cookie})
			}
			rec := httptest.NewRecorder()
			e.ServeHTTP(rec, req)
			if rec.Code != tt.want || (tt.body != "" && rec.Body.String() != tt.body) {
				t.Errorf("GET %s = %d %q; want %d %q", tt.path, rec.Code, rec.Body, tt.want, tt.body)
			}
		})
	}
}

func TestRevokeAndNewContext(t *testing.T) {
	p := &auth.Principal{Subject: "u1"}
	ctx := auth.NewContext(context.Background(), p)
	if got, ok := auth.FromContext(ctx); !ok || got != p {
		t.Errorf("FromContext = %v, %v", got, ok)
	}
	if _, ok := auth.FromContext(context.Background()); ok {
		t.Error("FromContext(empty) ok")
	}
}

// statusErrorHandler is the least an app without gantry's server needs: it
// honours HTTPStatus() like server's envelope handler does.
func statusErrorHandler(err error, c echo.Context) {
	var hs interface{ HTTPStatus() int }
	code := http.StatusInternalServerError
	if errors.As(err, &hs) {
		code = hs.HTTPStatus()
	}
	_ = c.JSON(code, map[string]string{"error": err.Error()})
}
