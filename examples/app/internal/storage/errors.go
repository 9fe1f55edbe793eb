package storage

import (
	"errors"
	"net/http"
)

// Sentinel errors. Client errors returned by this package are [*Error]
// values wrapping one of these, so test for them with errors.Is.
var (
	// ErrNotFound means no object has the given ID (or the ID is malformed).
	ErrNotFound = errors.New("storage: object not found")
	// ErrTooLarge means an upload is over the size limit.
	ErrTooLarge = errors.New("storage: file too large")
)

// Error is an error caused by the client. It carries the HTTP status the
// server answers with and a message that is safe to show; it wraps one of
// the package's sentinel errors.
type Error struct {
	// Status is the HTTP status: 404 or 413.
	Status int
	// Message describes the problem to the client, e.g. "file is larger
	// than 10485760 bytes".
	Message string
	// Err is the sentinel error (ErrNotFound or ErrTooLarge).
	Err error
}

func newError(status int, sentinel error, msg string) *Error {
	return &Error{Status: status, Message: msg, Err: sentinel}
}

// Error returns the sentinel's text followed by the message.
func (e *Error) Error() string { return e.Err.Error() + ": " + e.Message }

// Unwrap returns the sentinel error.
func (e *Error) Unwrap() error { return e.Err }

// HTTPStatus returns the HTTP status of the error.
func (e *Error) HTTPStatus() int { return e.Status }

// ErrorType returns the error envelope's type, derived from the status.
func (e *Error) ErrorType() string {
	switch e.Status {
	case http.StatusNotFound:
		return "not_found"
	case http.StatusRequestEntityTooLarge:
		return "payload_too_large"
	case http.StatusUnsupportedMediaType:
		return "unsupported_media_type"
	}
	return "bad_request"
}

// PublicMessage returns the message shown to the client.
func (e *Error) PublicMessage() string { return e.Message }
