package auth

import (
	"context"
	"errors"
	"time"

	"github.com/labstack/echo/v4"
)

// Principal is the authenticated caller of a request, put in the request's
// context by the middleware. Read it with [PrincipalFrom] or [FromContext].
// It is shared between requests carrying the same token: treat it as
// read-only.
type Principal struct {
	Subject   string
	Scopes    []string
	Roles     []string
	TokenID   string
	Family    string
	IssuedAt  time.Time
	ExpiresAt time.Time
	// Superuser is true when the loaded User says so or, without a
	// UserLoader, when Roles holds [RoleSuperuser].
	Superuser bool
	// User is what the UserLoader returned; nil without one.
	User User
	// Claims are the verified token's claims, e.g. for [Tokens.Revoke].
	Claims *Claims
}

func principalOf(c *Claims) Principal {
	return Principal{
		Subject: c.Subject, Scopes: c.Scopes, Roles: c.Roles, TokenID: c.ID, Family: c.Family,
		IssuedAt: c.IssuedAt, ExpiresAt: c.ExpiresAt, Superuser: contains(c.Roles, RoleSuperuser), Claims: c,
	}
}

// HasScope reports whether p holds scope s.
func (p *Principal) HasScope(s string) bool { return contains(p.Scopes, s) }

// HasRole reports whether p holds role r.
func (p *Principal) HasRole(r string) bool { return contains(p.Roles, r) }

type principalKey struct{}

// NewContext returns a copy of ctx carrying p, e.g. to run a job or a
// service call on behalf of a principal.
func NewContext(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// FromContext returns the principal in ctx, if any. Code that receives the
// request's context (services, jobs started from a handler) can use it.
func FromContext(ctx context.Context) (*Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(*Principal)
	return p, ok && p != nil
}

// PrincipalFrom returns the principal the middleware stored for c's request.
func PrincipalFrom(c echo.Context) (*Principal, bool) {
	return FromContext(c.Request().Context())
}

// User is what an app's [UserLoader] returns for a token's subject.
type User interface {
	// IsActive reports whether the user may use the API at all.
	IsActive() bool
	// IsSuperuser reports whether [RequireSuperuser] lets the user through.
	IsSuperuser() bool
}

// UserLoader loads the user a token's subject names. It returns an error
// wrapping [ErrUserNotFound] for an unknown subject; other errors are
// treated as failures of the app's storage.
type UserLoader interface {
	LoadUser(ctx context.Context, subject string) (User, error)
}

// UserLoaderFunc adapts a function to a [UserLoader].
type UserLoaderFunc func(ctx context.Context, subject string) (User, error)

// LoadUser calls f.
func (f UserLoaderFunc) LoadUser(ctx context.Context, subject string) (User, error) {
	return f(ctx, subject)
}

// loadActive loads subject and refuses unknown and inactive users with
// ErrInactiveUser.
func loadActive(ctx context.Context, l UserLoader, subject string) (User, error) {
	u, err := l.LoadUser(ctx, subject)
	switch {
	case errors.Is(err, ErrUserNotFound):
		return nil, wrap(ErrInactiveUser, err)
	case err != nil:
		return nil, err
	case u == nil || !u.IsActive():
		return nil, ErrInactiveUser
	}
	return u, nil
}
