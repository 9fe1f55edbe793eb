package auth

import (
	"github.com/labstack/echo/v4"
)

// Guard is an authorization requirement on the [Principal] the middleware
// stored. Guards never verify tokens themselves, so a route cannot forget
// to await a verification: without a principal, they answer 401.
//
// A Guard is a plain value so that documentation generators can read what a
// route needs (bearer auth plus these scopes or roles); use its Middleware
// on the route:
//
//	g := auth.RequireScopes("posts:write")
//	e.POST("/posts", create, g.Middleware())
//	// an OpenAPI builder records g.Scopes for this route
type Guard struct {
	Scopes    []string // all required
	AnyScopes []string // at least one required, when not empty
	Roles     []string // all required
	Superuser bool     // the principal must be a superuser
}

// RequireScopes requires every one of scopes.
func RequireScopes(scopes ...string) Guard { return Guard{Scopes: scopes} }

// RequireAnyScope requires at least one of scopes.
func RequireAnyScope(scopes ...string) Guard { return Guard{AnyScopes: scopes} }

// RequireRoles requires every one of roles.
func RequireRoles(roles ...string) Guard { return Guard{Roles: roles} }

// RequireSuperuser requires a superuser (see [Principal].Superuser).
func RequireSuperuser() Guard { return Guard{Superuser: true} }

// Check returns nil when p satisfies g, [ErrMissingToken] when p is nil,
// and a [*ScopeError] naming what is missing otherwise (403).
func (g Guard) Check(p *Principal) error {
	if p == nil {
		return ErrMissingToken
	}
	var missing []string
	for _, s := range g.Scopes {
		if !p.HasScope(s) {
			missing = append(missing, s)
		}
	}
	if len(missing) > 0 {
		return &ScopeError{Err: ErrInsufficientScope, Missing: missing}
	}
	if len(g.AnyScopes) > 0 {
		ok := false
		for _, s := range g.AnyScopes {
			if p.HasScope(s) {
				ok = true
				break
			}
		}
		if !ok {
			return &ScopeError{Err: ErrInsufficientScope, Missing: g.AnyScopes, Any: true}
		}
	}
	for _, r := range g.Roles {
		if !p.HasRole(r) {
			missing = append(missing, r)
		}
	}
	if len(missing) > 0 {
		return &ScopeError{Err: ErrForbidden, Missing: missing}
	}
	if g.Superuser && !p.Superuser {
		return &ScopeError{Err: ErrForbidden, Missing: []string{RoleSuperuser}}
	}
	return nil
}

// Middleware returns echo middleware enforcing g. Put it after the
// authentication middleware (on the group or the route).
func (g Guard) Middleware() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			p, _ := PrincipalFrom(c)
			if err := g.Check(p); err != nil {
				WriteHeaders(c, err)
				return err
			}
			return next(c)
		}
	}
}

// SecurityScheme is the name documentation generators give the bearer-token
// scheme the middleware implements.
const SecurityScheme = "bearer"

// Security describes g for API documentation: the bearer scheme and the
// scopes it requires (all of Scopes, then AnyScopes). With the openapi
// package, openapi.Secure(guard) both installs and documents a guard.
func (g Guard) Security() (scheme string, scopes []string) {
	scopes = append(append([]string(nil), g.Scopes...), g.AnyScopes...)
	return SecurityScheme, scopes
}
