package authtest_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/auth"
	"github.com/gantry-dev/gantry/auth/authtest"
	"github.com/labstack/echo/v4"
)

func TestMintAndMiddleware(t *testing.T) {
	clock := authtest.NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	tokens := authtest.NewTokens(t, auth.TokensConfig{Now: clock.Now})
	e := echo.New()
	e.GET("/me", func(c echo.Context) error {
		p, _ := auth.PrincipalFrom(c)
		return c.String(http.StatusOK, p.Subject)
	}, authtest.Middleware(t, tokens))
	get := func(tok string) int {
		req := httptest.NewRequest(http.MethodGet, "/me", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		return rec.Code
	}
	if code := get(authtest.AccessToken(t, tokens, "u1", "a")); code != http.StatusOK {
		t.Errorf("valid token = %d; want 200", code)
	}
	c := authtest.Claims(tokens, "u1")
	c.Issuer = "someone-else"
	if _, err := tokens.Verify(t.Context(), authtest.Mint(t, tokens, c)); !errors.Is(err, auth.ErrInvalidToken) {
		t.Errorf("minted token with another issuer: %v; want ErrInvalidToken", err)
	}
	tok := authtest.AccessToken(t, tokens, "u1")
	clock.Advance(time.Hour)
	if _, err := tokens.Verify(t.Context(), tok); !errors.Is(err, auth.ErrTokenExpired) {
		t.Errorf("after an hour: %v; want ErrTokenExpired", err)
	}
}

func TestNewKeys(t *testing.T) {
	tokens := authtest.NewTokens(t, auth.TokensConfig{Keys: authtest.NewKeys(t)})
	if _, err := tokens.Verify(t.Context(), authtest.AccessToken(t, tokens, "u1")); err != nil {
		t.Errorf("Verify(EdDSA token) = %v", err)
	}
}
