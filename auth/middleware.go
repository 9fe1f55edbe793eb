package auth

import (
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
)

// JWTConfig configures the authentication middleware.
type JWTConfig struct {
	// Skipper skips the middleware for some requests; default none.
	Skipper middleware.Skipper
	// Tokens verifies the tokens; required.
	Tokens *Tokens
	// Users, when set, loads the token's user on every request; unknown and
	// inactive users get 401 [ErrInactiveUser], and the principal's User and
	// Superuser come from it.
	Users UserLoader
	// CookieName, when set, is read for the token when the request has no
	// Authorization header.
	CookieName string
}

// ToMiddleware returns the middleware, or an error if cfg is invalid.
//
// For each request it reads "Authorization: Bearer <token>" (or the
// cookie), verifies the token as [Tokens.Verify] does, loads the user when
// Users is set, and stores the [Principal] in the request's context. On
// failure it sets WWW-Authenticate (RFC 6750) and returns the error:
// [ErrMissingToken], [ErrInvalidToken], [ErrTokenExpired],
// [ErrTokenRevoked] and [ErrInactiveUser] are 401, [ErrStoreUnavailable]
// is 503 (fail closed).
func (cfg JWTConfig) ToMiddleware() (echo.MiddlewareFunc, error) {
	if cfg.Tokens == nil {
		return nil, errors.New("auth: JWTConfig.Tokens is required")
	}
	if cfg.Skipper == nil {
		cfg.Skipper = middleware.DefaultSkipper
	}
	t, users, cookie := cfg.Tokens, cfg.Users, cfg.CookieName
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if cfg.Skipper(c) {
				return next(c)
			}
			req := c.Request()
			raw, err := extract(req, cookie)
			if err != nil {
				WriteHeaders(c, err)
				return err
			}
			ctx := req.Context()
			e, err := t.authenticate(ctx, raw)
			if err != nil {
				WriteHeaders(c, err)
				return err
			}
			p := &e.principal
			if users != nil {
				u, err := loadActive(ctx, users, p.Subject)
				if err != nil {
					WriteHeaders(c, err)
					return err
				}
				cp := *p
				cp.User, cp.Superuser = u, u.IsSuperuser()
				p = &cp
			}
			c.SetRequest(req.WithContext(NewContext(ctx, p)))
			return next(c)
		}
	}, nil
}

// JWT returns the middleware for t with default settings. It panics only if
// t is nil.
func JWT(t *Tokens) echo.MiddlewareFunc {
	mw, err := JWTConfig{Tokens: t}.ToMiddleware()
	if err != nil {
		panic(err)
	}
	return mw
}

func extract(req *http.Request, cookie string) (string, error) {
	if vals := req.Header["Authorization"]; len(vals) > 0 {
		if len(vals) > 1 {
			return "", ErrInvalidToken
		}
		raw, ok := bearer(vals[0])
		if !ok || raw == "" {
			return "", ErrInvalidToken
		}
		return raw, nil
	}
	if cookie != "" {
		if ck, err := req.Cookie(cookie); err == nil && ck.Value != "" {
			return ck.Value, nil
		}
	}
	return "", ErrMissingToken
}
