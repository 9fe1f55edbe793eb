package auth_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/gantry-dev/gantry/auth"
	"github.com/labstack/echo/v4"
)

// Example shows a complete session: register, login, a protected request,
// refresh (rotation), reuse of the old refresh token, and logout.
func Example() {
	ctx := context.Background()
	tokens, _ := auth.NewTokens(auth.TokensConfig{SecretKey: "a-secret-of-at-least-32-bytes-long!"})
	hasher, _ := auth.NewHasher(auth.HasherConfig{BcryptCost: 4}) // low cost for the example only

	// Register: store the hash, never the password.
	users := map[string]string{} // account -> hash
	users["alice"], _ = hasher.Hash("correct horse battery staple")

	// Login.
	authn := &auth.Authenticator[string]{
		Hasher: hasher,
		Lookup: func(_ context.Context, account string) (string, string, error) {
			h, ok := users[account]
			if !ok {
				return "", "", auth.ErrUserNotFound
			}
			return account, h, nil
		},
	}
	_, err := authn.Authenticate(ctx, "alice", "wrong")
	fmt.Println("wrong password:", err)
	user, _ := authn.Authenticate(ctx, "alice", "correct horse battery staple")
	pair, _ := tokens.IssuePair(ctx, user, []string{"posts:read"}, nil)
	fmt.Println("login:", pair.TokenType, pair.ExpiresIn)

	// A protected route.
	e := echo.New()
	e.HTTPErrorHandler = func(err error, c echo.Context) { // gantry's server renders the envelope instead
		var hs interface{ HTTPStatus() int }
		if errors.As(err, &hs) {
			_ = c.NoContent(hs.HTTPStatus())
		}
	}
	e.GET("/posts", func(c echo.Context) error {
		p, _ := auth.PrincipalFrom(c)
		return c.String(http.StatusOK, "posts for "+p.Subject)
	}, auth.JWT(tokens), auth.RequireScopes("posts:read").Middleware())
	get := func(token string) string {
		req := httptest.NewRequest(http.MethodGet, "/posts", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		return strings.TrimSpace(fmt.Sprint(rec.Code, " ", rec.Body.String()))
	}
	fmt.Println("GET /posts:", get(pair.AccessToken))

	// Refresh: the old refresh token is consumed, a new pair issued.
	next, err := tokens.Refresh(ctx, pair.RefreshToken)
	fmt.Println("refresh:", err, next.RefreshToken != pair.RefreshToken)

	// Logout: the access token and its refresh family are revoked.
	claims, _ := tokens.Verify(ctx, next.AccessToken)
	fmt.Println("logout:", tokens.Revoke(ctx, claims))
	fmt.Println("GET /posts after logout:", get(next.AccessToken))
	_, err = tokens.Refresh(ctx, next.RefreshToken)
	fmt.Println("refresh after logout:", err)

	// Output:
	// wrong password: auth: invalid account or password
	// login: bearer 1800
	// GET /posts: 200 posts for alice
	// refresh: <nil> true
	// logout: <nil>
	// GET /posts after logout: 401
	// refresh after logout: auth: token revoked
}

// ExampleGuard shows what a documentation generator can read from a guard.
func ExampleGuard() {
	g := auth.RequireScopes("posts:write")
	fmt.Println(g.Scopes)
	err := g.Check(&auth.Principal{Subject: "u1", Scopes: []string{"posts:read"}})
	fmt.Println(err)
	// Output:
	// [posts:write]
	// auth: insufficient scope: missing scope: posts:write
}

// ExampleHasher shows registration and login with rehash on upgrade.
func ExampleHasher() {
	old, _ := auth.NewHasher(auth.HasherConfig{BcryptCost: 4})
	stored, _ := old.Hash("s3cret")

	current, _ := auth.NewHasher(auth.HasherConfig{Algorithm: auth.Argon2id, Argon2: auth.Argon2Params{Memory: 1024, Iterations: 1}})
	ok, _ := current.Verify("s3cret", stored)
	fmt.Println(ok, current.NeedsRehash(stored))
	// Output: true true
}

// ExampleLoginLimiter counts each attempt before the password is checked:
// with Limit 3, the fourth attempt is refused without reaching the hasher,
// even with the right password. A success clears the count.
func ExampleLoginLimiter() {
	ctx := context.Background()
	hasher, _ := auth.NewHasher(auth.HasherConfig{BcryptCost: 4})
	hash, _ := hasher.Hash("right")
	limiter, _ := auth.NewLoginLimiter(auth.LoginLimiterConfig{Limit: 3}) // add Redis: rdb to share it
	authn := &auth.Authenticator[string]{
		Hasher:  hasher,
		Limiter: limiter,
		Lookup: func(_ context.Context, account string) (string, string, error) {
			if account != "alice" {
				return "", "", auth.ErrUserNotFound
			}
			return "u1", hash, nil
		},
	}
	for _, pw := range []string{"wrong", "right", "wrong", "wrong", "wrong", "right"} {
		_, err := authn.Authenticate(ctx, "alice", pw)
		var re *auth.RetryError
		switch {
		case err == nil:
			fmt.Println(pw, "-> logged in")
		case errors.As(err, &re):
			fmt.Println(pw, "->", re.HTTPStatus(), re.ErrorType())
		default:
			fmt.Println(pw, "->", err)
		}
	}
	// Output:
	// wrong -> auth: invalid account or password
	// right -> logged in
	// wrong -> auth: invalid account or password
	// wrong -> auth: invalid account or password
	// wrong -> auth: invalid account or password
	// right -> 429 too_many_attempts
}
