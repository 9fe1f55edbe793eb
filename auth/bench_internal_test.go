package auth

import (
	"context"
	"github.com/labstack/echo/v4"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

const benchSecret = "bench-secret-key-0123456789abcdef0123"

func benchTokens(b *testing.B, cache int) (*Tokens, string) {
	t, err := NewTokens(TokensConfig{SecretKey: benchSecret, CacheSize: cache})
	if err != nil {
		b.Fatal(err)
	}
	p, _ := t.IssuePair(context.Background(), "user-1", []string{"posts:read"}, nil)
	return t, p.AccessToken
}

func BenchmarkParse(b *testing.B) {
	t, tok := benchTokens(b, -1)
	b.Run("ours", func(b *testing.B) {
		b.ReportAllocs()
		var c Claims
		for b.Loop() {
			if err := t.parse(tok, TypeAccess, &c); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("golang-jwt", func(b *testing.B) {
		b.ReportAllocs()
		p := jwt.NewParser(jwt.WithValidMethods([]string{"HS256"}), jwt.WithExpirationRequired(), jwt.WithIssuedAt(),
			jwt.WithIssuer("gantry"), jwt.WithAudience("gantry"), jwt.WithLeeway(30*time.Second))
		kf := func(*jwt.Token) (any, error) { return []byte(benchSecret), nil }
		for b.Loop() {
			if _, err := p.ParseWithClaims(tok, &jwt.RegisteredClaims{}, kf); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("verify-uncached", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := t.Verify(context.Background(), tok); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkMiddlewareHit(b *testing.B) {
	t, tok := benchTokens(b, 1000)
	mw := JWT(t)
	e := echo.New()
	e.GET("/me", func(c echo.Context) error { return c.NoContent(204) }, mw)
	req := httptest.NewRequest("GET", "/me", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	w := httptest.NewRecorder()
	b.ReportAllocs()
	for b.Loop() {
		e.ServeHTTP(w, req)
	}
}
