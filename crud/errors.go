package crud

import (
	"errors"
	"net/http"
	"strings"
)

// Error is the error type of package crud. It carries the HTTP status, the
// envelope type and the details that the server's error handler reads
// through HTTPStatus, ErrorType, ErrorDetails and PublicMessage, so handlers
// can return it as is.
//
// Every *Error belongs to one of the sentinel kinds below and matches it with
// [errors.Is] (errors.Is(err, crud.ErrNotFound)). Its public message never
// contains SQL text or driver messages; the cause (Err) is kept for logs and
// errors.As (e.g. to a *pgconn.PgError) but is not shown to clients.
type Error struct {
	kind    *Error // the sentinel this error belongs to; nil for a sentinel
	status  int
	typ     string
	message string
	details []Problem
	err     error
}

// Problem is one entry of an error's details: the field (query parameter,
// patch key or column) and what is wrong with it.
type Problem struct {
	Field  string `json:"field"`
	Reason string `json:"reason"`
}

// The sentinel errors of package crud. Errors returned by the package wrap or
// match one of them (errors.Is).
var (
	// ErrNotFound means no visible row has the id (404).
	ErrNotFound = &Error{status: http.StatusNotFound, typ: "not_found", message: "not found"}
	// ErrConflict means a unique constraint was violated or an update was
	// made against a stale version (409).
	ErrConflict = &Error{status: http.StatusConflict, typ: "conflict", message: "conflict"}
	// ErrForeignKey means a foreign-key constraint was violated: a create or
	// update referenced a missing row (422), or a delete would orphan rows
	// that still reference this one (409).
	ErrForeignKey = &Error{status: http.StatusConflict, typ: "foreign_key_violation", message: "foreign key violation"}
	// ErrInvalidQuery means a list query (filters, sort, pagination, cursor)
	// was refused before reaching the database (400). Its details list every
	// problem found.
	ErrInvalidQuery = &Error{status: http.StatusBadRequest, typ: "invalid_query", message: "invalid query"}
	// ErrInvalidPatch means an update body was refused: unknown, read-only
	// or duplicated keys, or values of the wrong type (422). Nothing was
	// written.
	ErrInvalidPatch = &Error{status: http.StatusUnprocessableEntity, typ: "validation_error", message: "invalid patch"}
	// ErrInvalidValue means the database refused a value: a NOT NULL or
	// CHECK constraint (422).
	ErrInvalidValue = &Error{status: http.StatusUnprocessableEntity, typ: "validation_error", message: "invalid value"}
	// ErrUnavailable means the database could not be reached: the
	// connection was refused or broken, the server is shutting down or
	// starting up, SQLite stayed locked past its busy timeout, or no pooled
	// connection became free within DBConfig.PoolTimeout (503). The
	// statement did not run, or its outcome is unknown for a connection
	// lost mid-write; retrying later may succeed. The cause is kept for logs.
	ErrUnavailable = &Error{status: http.StatusServiceUnavailable, typ: "database_unavailable", message: "the database is unavailable; retry shortly"}
)

func newError(kind *Error, status int, message string, details []Problem, cause error) *Error {
	if status == 0 {
		status = kind.status
	}
	return &Error{kind: kind, status: status, typ: kind.typ, message: message, details: details, err: cause}
}

// Error returns the public message followed by the cause, if any, for logs.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("crud: ")
	b.WriteString(e.message)
	for i, p := range e.details {
		if i == 0 {
			b.WriteString(" (")
		} else {
			b.WriteString("; ")
		}
		b.WriteString(p.Field)
		b.WriteString(": ")
		b.WriteString(p.Reason)
		if i == len(e.details)-1 {
			b.WriteString(")")
		}
	}
	if e.err != nil {
		b.WriteString(": ")
		b.WriteString(e.err.Error())
	}
	return b.String()
}

// Unwrap returns the cause (a driver error, for instance), or nil.
func (e *Error) Unwrap() error { return e.err }

// Is reports whether target is the sentinel kind of e.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && e.kind != nil && t == e.kind
}

// HTTPStatus returns the HTTP status the error should be answered with.
func (e *Error) HTTPStatus() int { return e.status }

// ErrorType returns the error envelope's type, such as "not_found",
// "conflict", "invalid_query" or "validation_error".
func (e *Error) ErrorType() string { return e.typ }

// ErrorDetails returns the problems found ([]Problem), or nil.
func (e *Error) ErrorDetails() any {
	if len(e.details) == 0 {
		return nil
	}
	return e.details
}

// Details returns the problems found, one per field; it is nil when there
// are none.
func (e *Error) Details() []Problem { return e.details }

// PublicMessage returns the message safe to show to clients: never SQL text
// nor a driver message.
func (e *Error) PublicMessage() string { return e.message }

// Problems returns the details of the first *Error in err's chain, or nil.
func Problems(err error) []Problem {
	var e *Error
	if errors.As(err, &e) {
		return e.details
	}
	return nil
}

// WithDetails returns a new error of e's kind (so errors.Is(err, e) holds)
// with e's status and message and the given details. Stores and handlers
// outside this package use it to report problems the way crud does, e.g.
// crud.ErrInvalidQuery.WithDetails(crud.Problem{Field: "q", Reason: "too long"}).
func (e *Error) WithDetails(details ...Problem) *Error {
	kind := e
	if e.kind != nil {
		kind = e.kind
	}
	return newError(kind, e.status, e.message, details, nil)
}
