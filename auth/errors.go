package auth

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/gantry-dev/gantry/apierror"
)

// Error is the error type of package auth's sentinels, [apierror.Error]: it
// carries the HTTP status, the envelope type and the public message the
// server's error handler renders.
//
// The sentinels are *Error values nobody can change; errors.Is(err,
// auth.ErrTokenRevoked) works on any error that wraps them or is derived
// from them with a With method. Errors that need fields ([ScopeError],
// [RetryError]) wrap a sentinel.
type Error = apierror.Error

// sentinel returns an auth sentinel: its Error text is "auth: " + message.
func sentinel(status int, typ, message string) *Error {
	return apierror.New(status, message).WithType(typ).WithOrigin("auth")
}

// Sentinel errors. Each is an *Error with the status and envelope type shown.
var (
	// ErrMissingToken: no bearer token in the request (401 "missing_token").
	ErrMissingToken = sentinel(http.StatusUnauthorized, "missing_token", "missing bearer token")
	// ErrInvalidToken: a token that is malformed, badly signed, of the
	// wrong type, issuer or audience, not yet valid, or too large (401 "invalid_token").
	ErrInvalidToken = sentinel(http.StatusUnauthorized, "invalid_token", "invalid token")
	// ErrTokenExpired: a token past its expiry plus the leeway (401 "token_expired").
	ErrTokenExpired = sentinel(http.StatusUnauthorized, "token_expired", "token expired")
	// ErrTokenRevoked: a token revoked by logout, by reuse detection of its
	// refresh family, or issued before its subject's not-before time (401 "token_revoked").
	ErrTokenRevoked = sentinel(http.StatusUnauthorized, "token_revoked", "token revoked")
	// ErrRefreshReused: a refresh token presented a second time; its whole
	// family is revoked when this is returned (401 "token_revoked"). It
	// wraps nothing but is reported with the same type as [ErrTokenRevoked].
	ErrRefreshReused = sentinel(http.StatusUnauthorized, "token_revoked", "refresh token already used")
	// ErrInactiveUser: the token's user is unknown or inactive (401 "inactive_user").
	ErrInactiveUser = sentinel(http.StatusUnauthorized, "inactive_user", "user inactive or unknown")
	// ErrInvalidCredentials: wrong account or password; the same error for
	// both so that a client cannot tell which (401 "invalid_credentials").
	ErrInvalidCredentials = sentinel(http.StatusUnauthorized, "invalid_credentials", "invalid account or password")
	// ErrInsufficientScope: the principal lacks a required scope (403
	// "insufficient_scope"); returned wrapped in a [ScopeError].
	ErrInsufficientScope = sentinel(http.StatusForbidden, "insufficient_scope", "insufficient scope")
	// ErrForbidden: the principal lacks a required role or is not a
	// superuser (403 "forbidden"); returned wrapped in a [ScopeError].
	ErrForbidden = sentinel(http.StatusForbidden, "forbidden", "insufficient privileges")
	// ErrTooManyAttempts: the account's failed logins reached the limit
	// (429 "too_many_attempts"); returned wrapped in a [RetryError].
	ErrTooManyAttempts = sentinel(http.StatusTooManyRequests, "too_many_attempts", "too many failed login attempts")
	// ErrStoreUnavailable: the revocation or login store did not answer in
	// time; protected routes fail closed (503 "service_unavailable").
	ErrStoreUnavailable = sentinel(http.StatusServiceUnavailable, "service_unavailable", "authentication service unavailable")
	// ErrBusy: every password hashing slot stayed taken for the hasher's
	// queue wait (503 "service_unavailable"); returned wrapped in a
	// [RetryError], so the answer carries Retry-After.
	ErrBusy = sentinel(http.StatusServiceUnavailable, "service_unavailable", "too many password checks in progress, retry later")
	// ErrPasswordTooLong: a password longer than the hasher's limit (422 "validation_error").
	ErrPasswordTooLong = sentinel(http.StatusUnprocessableEntity, "validation_error", "password too long")
	// ErrUserNotFound is what a [UserLoader] or an [Authenticator] lookup
	// returns (wrapped or not) for an unknown subject or account.
	ErrUserNotFound = errors.New("auth: user not found")
)

// wrapped is an *Error sentinel with a cause kept for logs.
type wrapped struct {
	sentinel *Error
	cause    error
}

func (w *wrapped) Error() string { return w.sentinel.Error() + ": " + w.cause.Error() }

// Unwrap returns the sentinel only: the cause (a jwt or Redis error, maybe
// a context deadline) is text for the logs, so that no middleware mistakes
// an auth failure for, say, a request timeout.
func (w *wrapped) Unwrap() error { return w.sentinel }

// wrap returns an error that is sentinel for errors.Is and the status
// lookup, and keeps cause's text for logs.
func wrap(sentinel *Error, cause error) error {
	if cause == nil {
		return sentinel
	}
	return &wrapped{sentinel, cause}
}

// ScopeError reports the scopes or roles a principal lacks. It wraps
// [ErrInsufficientScope] or [ErrForbidden]; its details list what is missing.
type ScopeError struct {
	Err     *Error   // ErrInsufficientScope or ErrForbidden
	Missing []string // scopes or roles lacking; "superuser" for RequireSuperuser
	Any     bool     // true when any one of Missing would have been enough
}

func (e *ScopeError) Error() string { return e.Err.Error() + ": " + e.PublicMessage() }

// Unwrap returns the sentinel.
func (e *ScopeError) Unwrap() error { return e.Err }

// HTTPStatus returns 403.
func (e *ScopeError) HTTPStatus() int { return e.Err.HTTPStatus() }

// ErrorType returns the sentinel's type.
func (e *ScopeError) ErrorType() string { return e.Err.ErrorType() }

// PublicMessage names what is missing.
func (e *ScopeError) PublicMessage() string {
	what := "scope"
	forbidden := errors.Is(e.Err, ErrForbidden)
	if forbidden {
		what = "role"
	}
	if len(e.Missing) == 1 && e.Missing[0] == RoleSuperuser && forbidden {
		return "superuser required"
	}
	if e.Any {
		return "requires any " + what + " of: " + strings.Join(e.Missing, ", ")
	}
	return "missing " + what + ": " + strings.Join(e.Missing, ", ")
}

// ErrorDetails returns one [apierror.MissingPermission] per missing scope
// or role.
func (e *ScopeError) ErrorDetails() any {
	d := make([]apierror.MissingPermission, len(e.Missing))
	for i, m := range e.Missing {
		d[i] = apierror.MissingPermission{Missing: m}
	}
	return d
}

var (
	_ apierror.Interface = (*ScopeError)(nil)
	_ apierror.Interface = (*RetryError)(nil)
)

// RetryError is an error after which the client may retry later. It wraps
// [ErrTooManyAttempts] (429) or [ErrBusy] (503); [WriteHeaders] turns
// RetryAfter into a Retry-After header.
type RetryError struct {
	Err        *Error
	RetryAfter time.Duration
}

func (e *RetryError) Error() string { return e.Err.Error() }

// Unwrap returns the sentinel.
func (e *RetryError) Unwrap() error { return e.Err }

// HTTPStatus returns the sentinel's status, 429 or 503.
func (e *RetryError) HTTPStatus() int { return e.Err.HTTPStatus() }

// ErrorType returns the sentinel's type.
func (e *RetryError) ErrorType() string { return e.Err.ErrorType() }

// ErrorDetails returns nil: a RetryError has no details.
func (e *RetryError) ErrorDetails() any { return nil }

// PublicMessage returns the sentinel's message.
func (e *RetryError) PublicMessage() string { return e.Err.PublicMessage() }

// RetryAfterSeconds returns RetryAfter rounded up to whole seconds, at least 1.
func (e *RetryError) RetryAfterSeconds() int {
	s := int((e.RetryAfter + time.Second - 1) / time.Second)
	return max(s, 1)
}

// WriteHeaders sets the response headers that go with an auth error before
// the handler returns it: WWW-Authenticate for 401 and 403 (RFC 6750) and
// Retry-After for [RetryError]. Other errors leave the headers alone. The
// middleware and guards call it themselves; a login or refresh handler calls
// it before returning an error from this package.
func WriteHeaders(c echo.Context, err error) {
	if err == nil {
		return
	}
	h := c.Response().Header()
	var re *RetryError
	if errors.As(err, &re) {
		h.Set("Retry-After", strconv.Itoa(re.RetryAfterSeconds()))
		return
	}
	var se *ScopeError
	if errors.As(err, &se) {
		if errors.Is(se.Err, ErrInsufficientScope) {
			h.Set(echo.HeaderWWWAuthenticate, `Bearer error="insufficient_scope", scope="`+strings.Join(se.Missing, " ")+`"`)
		}
		return
	}
	if errors.Is(err, ErrMissingToken) {
		h.Set(echo.HeaderWWWAuthenticate, "Bearer")
		return
	}
	// ErrInvalidCredentials is a login failure, not a bearer token problem.
	for _, s := range []*Error{ErrInvalidToken, ErrTokenExpired, ErrTokenRevoked, ErrRefreshReused, ErrInactiveUser} {
		if errors.Is(err, s) {
			h.Set(echo.HeaderWWWAuthenticate, `Bearer error="invalid_token", error_description="`+s.PublicMessage()+`"`)
			return
		}
	}
}
