package middleware

import (
	"errors"
	"net/http"

	"github.com/gantry-dev/gantry/apierror"
)

// Sentinel errors. Every error the middlewares return wraps one of them in
// an [*Error], so errors.Is works on what a handler or test receives.
var (
	// ErrInvalidHost is returned (as a 400 "invalid_host") when the Host
	// header is not in the allow-list of [TrustedHostsConfig].
	ErrInvalidHost = errors.New("middleware: invalid host")
	// ErrRateLimited is returned (as a 429 "rate_limited") when a
	// [RateLimitConfig] limit is exhausted.
	ErrRateLimited = errors.New("middleware: rate limit exceeded")
	// ErrLimiterUnavailable is returned (as a 503) when the rate-limit store
	// fails or times out and the policy is [FailClosed].
	ErrLimiterUnavailable = errors.New("middleware: rate limiter unavailable")
	// ErrPanic wraps a recovered panic (rendered as a 500).
	ErrPanic = errors.New("middleware: panic recovered")
	// ErrTimeout is returned (as a 504 "timeout") when a handler fails
	// because the request context deadline set by the stack expired.
	ErrTimeout = errors.New("middleware: request timed out")
	// ErrSessionNotFound is returned by a [SessionStore] when the session
	// id is unknown or expired.
	ErrSessionNotFound = errors.New("middleware: session not found")
	// ErrInvalidConfig wraps every configuration error of ToMiddleware and
	// the New functions.
	ErrInvalidConfig = errors.New("middleware: invalid config")
)

// Error is the error type the middlewares return: [apierror.Error], with a
// status, an envelope type, a public message and a cause (the sentinel it
// wraps, so errors.Is works). The server's error envelope renders it through
// the [apierror.Interface] methods. echo's own DefaultHTTPErrorHandler does
// not read them (it answers 500 to any error that is not an
// *echo.HTTPError): use the middlewares with the server package's handler,
// or one that reads HTTPStatus.
type Error = apierror.Error

var errInvalidHost = apierror.New(http.StatusBadRequest, "host not allowed").WithType("invalid_host").Wrap(ErrInvalidHost)

// newError returns an *Error with the status and public message.
func newError(status int, message string) *Error { return apierror.New(status, message) }
