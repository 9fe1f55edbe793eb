package middleware

import (
	"errors"
	"net/http"
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

// Error is an error with an HTTP status, in the shape the server's error
// envelope reads: it implements HTTPStatus, ErrorType, ErrorDetails and
// PublicMessage. Err is the sentinel (or cause) it wraps. echo's own
// DefaultHTTPErrorHandler does not read these methods (it answers 500 to
// any error that is not an *echo.HTTPError): use the middlewares with the
// server package's handler, or one that reads HTTPStatus.
type Error struct {
	Status  int    // HTTP status
	Type    string // envelope type, e.g. "invalid_host"; empty lets the server derive it from Status
	Message string // shown to the client
	Details any    // envelope details, or nil
	Err     error  // wrapped sentinel or cause
}

// Error returns the message and cause.
func (e *Error) Error() string {
	if e.Err != nil {
		return e.Message + ": " + e.Err.Error()
	}
	return e.Message
}

// Unwrap returns the wrapped sentinel or cause.
func (e *Error) Unwrap() error { return e.Err }

// HTTPStatus returns the HTTP status of the response.
func (e *Error) HTTPStatus() int { return e.Status }

// ErrorType returns the envelope type (may be empty).
func (e *Error) ErrorType() string { return e.Type }

// ErrorDetails returns the envelope details (may be nil).
func (e *Error) ErrorDetails() any { return e.Details }

// PublicMessage returns the message shown to the client.
func (e *Error) PublicMessage() string { return e.Message }

var errInvalidHost = &Error{Status: http.StatusBadRequest, Type: "invalid_host", Message: "host not allowed", Err: ErrInvalidHost}
