package crud

import (
	"errors"
	"net/http"

	"github.com/gantry-dev/gantry/apierror"
)

// Error is the error type of package crud, [apierror.Error]: it carries the
// HTTP status, the envelope type and the details that the server's error
// handler reads through HTTPStatus, ErrorType, ErrorDetails and
// PublicMessage, so handlers can return it as is.
//
// Every *Error the package returns is derived from one of the sentinels
// below and matches it with [errors.Is] (errors.Is(err, crud.ErrNotFound)).
// Its public message never contains SQL text or driver messages; the cause
// is kept for logs and errors.As (e.g. to a *pgconn.PgError) but is not
// shown to clients. Its details, when it has any, are [Problem]s.
type Error = apierror.Error

// Problem is one entry of an error's details: the field (query parameter,
// patch key or column) and what is wrong with it ([apierror.Problem]).
type Problem = apierror.Problem

// sentinel returns a crud sentinel: its Error text starts with "crud: ".
func sentinel(status int, typ, message string) *Error {
	return apierror.New(status, message).WithType(typ).WithOrigin("crud")
}

// The sentinel errors of package crud. Errors returned by the package wrap or
// match one of them (errors.Is). Derive a variant with the With methods
// (e.g. crud.ErrInvalidQuery.WithProblems(crud.Problem{Field: "q", Reason:
// "too long"})): the sentinels themselves never change.
var (
	// ErrNotFound means no visible row has the id (404).
	ErrNotFound = sentinel(http.StatusNotFound, "not_found", "not found")
	// ErrConflict means a unique constraint was violated or an update was
	// made against a stale version (409).
	ErrConflict = sentinel(http.StatusConflict, "conflict", "conflict")
	// ErrForeignKey means a foreign-key constraint was violated: a create or
	// update referenced a missing row (422), or a delete would orphan rows
	// that still reference this one (409).
	ErrForeignKey = sentinel(http.StatusConflict, "foreign_key_violation", "foreign key violation")
	// ErrInvalidQuery means a list query (filters, sort, pagination, cursor)
	// was refused before reaching the database (400). Its details list every
	// problem found.
	ErrInvalidQuery = sentinel(http.StatusBadRequest, "invalid_query", "invalid query")
	// ErrInvalidPatch means an update body was refused: unknown, read-only
	// or duplicated keys, or values of the wrong type (422). Nothing was
	// written.
	ErrInvalidPatch = sentinel(http.StatusUnprocessableEntity, "invalid_patch", "invalid patch")
	// ErrInvalidValue means the database refused a value: a NOT NULL or
	// CHECK constraint (422).
	ErrInvalidValue = sentinel(http.StatusUnprocessableEntity, "invalid_value", "invalid value")
	// ErrUnavailable means the database could not be reached: the
	// connection was refused or broken, the server is shutting down or
	// starting up, SQLite stayed locked past its busy timeout, or no pooled
	// connection became free within DBConfig.PoolTimeout (503). The
	// statement did not run, or its outcome is unknown for a connection
	// lost mid-write; retrying later may succeed. The cause is kept for logs.
	ErrUnavailable = sentinel(http.StatusServiceUnavailable, "database_unavailable", "the database is unavailable; retry shortly")
)

// newError returns an error of kind with the message, the problems and the
// cause; status 0 keeps kind's.
func newError(kind *Error, status int, message string, details []Problem, cause error) *Error {
	e := kind.WithMessage(message)
	if status != 0 {
		e = e.WithStatus(status)
	}
	if len(details) > 0 {
		e = e.WithProblems(details...)
	}
	if cause != nil {
		e = e.Wrap(cause)
	}
	return e
}

// Problems returns the details of the first *Error in err's chain, or nil.
func Problems(err error) []Problem {
	var e *Error
	if errors.As(err, &e) {
		return e.Problems()
	}
	return nil
}
