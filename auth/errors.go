package auth

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
)

// Error is the error type of package auth. It carries the HTTP status, the
// envelope type and the public message the server's error handler renders,
// through the HTTPStatus, ErrorType, ErrorDetails and PublicMessage methods.
//
// The package's sentinel errors are *Error values compared by identity, so
// errors.Is(err, auth.ErrTokenRevoked) works on any error that wraps them.
// Errors that need fields ([ScopeError], [RetryError]) wrap a sentinel.
type Error struct {
	Status  int    // HTTP status
	Type    string // envelope type, e.g. "invalid_token"
	Message string // shown to the client
}

func (e *Error) Error() string { return "auth: " + e.Message }

// HTTPStatus returns the HTTP status of e.
func (e *Error) HTTPStatus() int { return e.Status }

// ErrorType returns the envelope type of e.
func (e *Error) ErrorType() string { return e.Type }

// PublicMessage returns the message shown to the client.
func (e *Error) PublicMessage() string { return e.Message }

// Sentinel errors. Each is an *Error with the status and envelope type shown.
var (
	// ErrMissingToken: no bearer token in the request (401 "missing_token").
	ErrMissingToken = &Error{http.StatusUnauthorized, "missing_token", "missing bearer token"}
	// ErrInvalidToken: a token that is malformed, badly signed, of the
	// wrong type, issuer or audience, not yet valid, or too large (401 "invalid_token").
	ErrInvalidToken = &Error{http.StatusUnauthorized, "invalid_token", "invalid token"}
	// ErrTokenExpired: a token past its expiry plus the leeway (401 "token_expired").
	ErrTokenExpired = &Error{http.StatusUnauthorized, "token_expired", "token expired"}
	// ErrTokenRevoked: a token revoked by logout, by reuse detection of its
	// refresh family, or issued before its subject's not-before time (401 "token_revoked").
	ErrTokenRevoked = &Error{http.StatusUnauthorized, "token_revoked", "token revoked"}
	// ErrRefreshReused: a refresh token presented a second time; its whole
	// family is revoked when this is returned (401 "token_revoked"). It
	// wraps nothing but is reported with the same type as [ErrTokenRevoked].
	ErrRefreshReused = &Error{http.StatusUnauthorized, "token_revoked", "refresh token already used"}
	// ErrInactiveUser: the token's user is unknown or inactive (401 "inactive_user").
	ErrInactiveUser = &Error{http.StatusUnauthorized, "inactive_user", "user inactive or unknown"}
	// ErrInvalidCredentials: wrong account or password; the same error for
	// both so that a client cannot tell which (401 "invalid_credentials").
	ErrInvalidCredentials = &Error{http.StatusUnauthorized, "invalid_credentials", "invalid account or password"}
	// ErrInsufficientScope: the principal lacks a required scope (403
	// "insufficient_scope"); returned wrapped in a [ScopeError].
	ErrInsufficientScope = &Error{http.StatusForbidden, "insufficient_scope", "insufficient scope"}
	// ErrForbidden: the principal lacks a required role or is not a
	// superuser (403 "forbidden"); returned wrapped in a [ScopeError].
	ErrForbidden = &Error{http.StatusForbidden, "forbidden", "insufficient privileges"}
	// ErrTooManyAttempts: the account's failed logins reached the limit
	// (429 "too_many_attempts"); returned wrapped in a [RetryError].
	ErrTooManyAttempts = &Error{http.StatusTooManyRequests, "too_many_attempts", "too many failed login attempts"}
	// ErrStoreUnavailable: the revocation or login store did not answer in
	// time; protected routes fail closed (503 "service_unavailable").
	ErrStoreUnavailable = &Error{http.StatusServiceUnavailable, "service_unavailable", "authentication service unavailable"}
	// ErrBusy: every password hashing slot stayed taken for the hasher's
	// queue wait (503 "service_unavailable"); returned wrapped in a
	// [RetryError], so the answer carries Retry-After.
	ErrBusy = &Error{http.StatusServiceUnavailable, "service_unavailable", "too many password checks in progress, retry later"}
	// ErrPasswordTooLong: a password longer than the hasher's limit (422 "validation_error").
	ErrPasswordTooLong = &Error{http.StatusUnprocessableEntity, "validation_error", "password too long"}
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
func (e *ScopeError) HTTPStatus() int { return e.Err.Status }

// ErrorType returns the sentinel's type.
func (e *ScopeError) ErrorType() string { return e.Err.Type }

// PublicMessage names what is missing.
func (e *ScopeError) PublicMessage() string {
	what := "scope"
	if e.Err == ErrForbidden {
		what = "role"
	}
	if len(e.Missing) == 1 && e.Missing[0] == RoleSuperuser && e.Err == ErrForbidden {
		return "superuser required"
	}
	if e.Any {
		return "requires any " + what + " of: " + strings.Join(e.Missing, ", ")
	}
	return "missing " + what + ": " + strings.Join(e.Missing, ", ")
}

// ErrorDetails returns one entry per missing scope or role.
func (e *ScopeError) ErrorDetails() any {
	d := make([]map[string]string, len(e.Missing))
	for i, m := range e.Missing {
		d[i] = map[string]string{"missing": m}
	}
	return d
}

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
func (e *RetryError) HTTPStatus() int { return e.Err.Status }

// ErrorType returns the sentinel's type.
func (e *RetryError) ErrorType() string { return e.Err.Type }

// PublicMessage returns the sentinel's message.
func (e *RetryError) PublicMessage() string { return e.Err.Message }

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
		if se.Err == ErrInsufficientScope {
			h.Set(echo.HeaderWWWAuthenticate, `Bearer error="insufficient_scope", scope="`+strings.Join(se.Missing, " ")+`"`)
		}
		return
	}
	var ae *Error
	if !errors.As(err, &ae) || ae.Status != http.StatusUnauthorized {
		return
	}
	switch ae {
	case ErrMissingToken:
		h.Set(echo.HeaderWWWAuthenticate, "Bearer")
	case ErrInvalidCredentials:
		// a login failure, not a bearer token problem
	default:
		h.Set(echo.HeaderWWWAuthenticate, `Bearer error="invalid_token", error_description="`+ae.Message+`"`)
	}
}
