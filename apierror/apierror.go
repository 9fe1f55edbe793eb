package apierror

import (
	"slices"
	"strings"
)

// HTTPStatuser is implemented by an error that chooses the HTTP status of
// its response. The server's error handler finds it anywhere in an error
// chain with errors.As; the error that implements it may also implement
// [ErrorTyper], [ErrorDetailer] and [PublicMessager].
type HTTPStatuser interface {
	HTTPStatus() int
}

// ErrorTyper is implemented by an error that names its envelope "type",
// e.g. "invalid_token". Without it (or with an empty type) the server uses
// [TypeForStatus].
type ErrorTyper interface {
	ErrorType() string
}

// ErrorDetailer is implemented by an error that carries envelope "details":
// nil, or a JSON array of one shape ([FieldError], [Problem] or
// [MissingPermission] for every error type of Gantry).
type ErrorDetailer interface {
	ErrorDetails() any
}

// PublicMessager is implemented by an error whose envelope "message" differs
// from its Error text (which may hold causes meant for logs only). Without
// it the server shows Error().
type PublicMessager interface {
	PublicMessage() string
}

// Interface is the whole contract the server's error envelope is rendered
// by. Every error type Gantry exports for clients implements it; a package
// that declares its own asserts it at compile time:
//
//	var _ apierror.Interface = (*ScopeError)(nil)
type Interface interface {
	error
	HTTPStatuser
	ErrorTyper
	ErrorDetailer
	PublicMessager
}

var _ Interface = (*Error)(nil)

// Error is an error with an HTTP status, an envelope type, a public message,
// optional details and an optional cause. Create one with [New]; the With
// methods and [Error.Wrap] return changed copies, so an *Error held in a
// package variable (a sentinel) can be shared and never changes.
//
// A copy matches the error it was derived from, and every error that one
// matches, with [errors.Is]: errors.Is(ErrNotFound.WithMessage("x"),
// ErrNotFound) holds, errors.Is(ErrNotFound, ErrNotFound.WithMessage("x"))
// does not. An *Error is safe for concurrent use.
type Error struct {
	parent  *Error // the error this one was derived from; nil for one made by New
	status  int
	typ     string
	message string
	origin  string
	details any // nil, []FieldError or []Problem
	cause   error
}

// New returns an error answered with status and shown to clients as
// message. Its envelope type defaults to [TypeForStatus](status).
func New(status int, message string) *Error {
	return &Error{status: status, message: message}
}

// derive returns a copy of e that matches e (and what e matches) with
// errors.Is.
func (e *Error) derive() *Error {
	c := *e
	c.parent = e
	return &c
}

// WithType returns a copy of e whose envelope type is typ.
func (e *Error) WithType(typ string) *Error {
	c := e.derive()
	c.typ = typ
	return c
}

// WithStatus returns a copy of e answered with status.
func (e *Error) WithStatus(status int) *Error {
	c := e.derive()
	c.status = status
	return c
}

// WithMessage returns a copy of e shown to clients as message.
func (e *Error) WithMessage(message string) *Error {
	c := e.derive()
	c.message = message
	return c
}

// WithOrigin returns a copy of e whose Error text (not its public message)
// starts with origin and a colon, e.g. "crud: not found". Packages set it on
// their sentinels.
func (e *Error) WithOrigin(origin string) *Error {
	c := e.derive()
	c.origin = origin
	return c
}

// WithFieldErrors returns a copy of e whose details are fields (copied),
// replacing any details e had; none leaves it without details.
func (e *Error) WithFieldErrors(fields ...FieldError) *Error {
	c := e.derive()
	c.details = nil
	if len(fields) > 0 {
		c.details = slices.Clone(fields)
	}
	return c
}

// WithProblems returns a copy of e whose details are problems (copied),
// replacing any details e had; none leaves it without details.
func (e *Error) WithProblems(problems ...Problem) *Error {
	c := e.derive()
	c.details = nil
	if len(problems) > 0 {
		c.details = slices.Clone(problems)
	}
	return c
}

// Wrap returns a copy of e with cause as what [Error.Unwrap] returns. The
// cause's text joins the Error text for logs; it is never shown to clients.
func (e *Error) Wrap(cause error) *Error {
	c := e.derive()
	c.cause = cause
	return c
}

// Error returns the origin, the public message, the details and the cause,
// as text for logs: "crud: invalid query (limit: must be at most 100)".
func (e *Error) Error() string {
	var b strings.Builder
	if e.origin != "" {
		b.WriteString(e.origin)
		b.WriteString(": ")
	}
	b.WriteString(e.message)
	switch d := e.details.(type) {
	case []FieldError:
		for i, f := range d {
			writeItem(&b, i, len(d), f.Field, f.Message)
		}
	case []Problem:
		for i, p := range d {
			writeItem(&b, i, len(d), p.Field, p.Reason)
		}
	}
	if e.cause != nil {
		b.WriteString(": ")
		b.WriteString(e.cause.Error())
	}
	return b.String()
}

func writeItem(b *strings.Builder, i, n int, field, text string) {
	if i == 0 {
		b.WriteString(" (")
	} else {
		b.WriteString("; ")
	}
	b.WriteString(field)
	b.WriteString(": ")
	b.WriteString(text)
	if i == n-1 {
		b.WriteString(")")
	}
}

// Unwrap returns the cause given to [Error.Wrap], or nil.
func (e *Error) Unwrap() error { return e.cause }

// Is reports whether target is an error e was derived from, directly or
// through other copies.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	if !ok {
		return false
	}
	for p := e.parent; p != nil; p = p.parent {
		if p == t {
			return true
		}
	}
	return false
}

// HTTPStatus returns the HTTP status of the response.
func (e *Error) HTTPStatus() int { return e.status }

// ErrorType returns the envelope type: the one given to [Error.WithType],
// or [TypeForStatus] of the status.
func (e *Error) ErrorType() string {
	if e.typ != "" {
		return e.typ
	}
	return TypeForStatus(e.status)
}

// ErrorDetails returns a copy of the details, a []FieldError or a
// []Problem, or nil when there are none.
func (e *Error) ErrorDetails() any {
	switch d := e.details.(type) {
	case []FieldError:
		return slices.Clone(d)
	case []Problem:
		return slices.Clone(d)
	}
	return nil
}

// FieldErrors returns a copy of the details when they are field errors,
// or nil.
func (e *Error) FieldErrors() []FieldError {
	d, _ := e.details.([]FieldError)
	return slices.Clone(d)
}

// Problems returns a copy of the details when they are problems, or nil.
func (e *Error) Problems() []Problem {
	d, _ := e.details.([]Problem)
	return slices.Clone(d)
}

// PublicMessage returns the message shown to clients.
func (e *Error) PublicMessage() string { return e.message }
