package jobs

import (
	"errors"

	"github.com/gantry-dev/gantry/apierror"
)

// HTTP statuses the sentinels map to, as plain numbers: the core package
// imports no net/http (its web surfaces live in package jobshttp).
const (
	statusBadRequest = 400
	statusNotFound   = 404
	statusConflict   = 409
)

// Error is the error type of the sentinels below that map to an HTTP status,
// [apierror.Error]. The server's error handler finds the status with
// errors.As through HTTPStatus; compare with errors.Is against the
// sentinels, which never change.
type Error = apierror.Error

// sentinel returns a jobs sentinel: its Error text is "jobs: " + message.
func sentinel(status int, typ, message string) *Error {
	return apierror.New(status, message).WithType(typ).WithOrigin("jobs")
}

var (
	// ErrNotFound is returned when no job (or queue entry) has the given id,
	// or when the status handler's owner check refuses the caller. HTTP 404.
	ErrNotFound = sentinel(statusNotFound, "not_found", "job not found")
	// ErrDuplicate is returned by Enqueue when a job with the same unique key
	// is still held (see [Unique]). HTTP 409.
	ErrDuplicate = sentinel(statusConflict, "conflict", "duplicate job")
	// ErrFinished is returned when cancelling a job that already finished,
	// or retrying/deleting a job that is not dead. HTTP 409.
	ErrFinished = sentinel(statusConflict, "conflict", "job not in a state that allows this")
	// ErrInvalidCursor is returned by [Inspector.List] for a cursor it did
	// not make, or made for other options (state, order or kind). HTTP 400.
	ErrInvalidCursor = sentinel(statusBadRequest, "invalid_cursor", "invalid cursor")
	// ErrInvalidList is returned by [Inspector.List] for an unknown state
	// or order. HTTP 400.
	ErrInvalidList = sentinel(statusBadRequest, "invalid_request", "invalid list options")

	// ErrSkipRetry, wrapped by the error a worker returns (see [SkipRetry]),
	// sends the job to the dead set at once, with no further retries.
	ErrSkipRetry = errors.New("jobs: skip retry")
	// ErrUnknownKind means no worker is registered for a job's kind. A runner
	// hands such a job back, without using an attempt, until
	// RunnerConfig.UnknownKindWait has passed since it was enqueued; then it
	// goes to the dead set with an error wrapping ErrUnknownKind.
	ErrUnknownKind = errors.New("jobs: unknown kind")
	// ErrInvalidPayload means a job's payload could not be decoded into its
	// Args type; such a job goes to the dead set without retries.
	ErrInvalidPayload = errors.New("jobs: invalid payload")
	// ErrCancelled is the cause of a running job's context when the job is
	// cancelled through the [Inspector] (see context.Cause).
	ErrCancelled = errors.New("jobs: job cancelled")
	// ErrLeaseLost is the cause of a running job's context when its worker
	// lost the lease (it could not reach Redis in time, or was paused past the
	// lease); another worker may run the job, and this attempt's ack is refused.
	ErrLeaseLost = errors.New("jobs: lease lost")
	// ErrShutdown is the cause of a running job's context when the runner's
	// shutdown timeout ran out; the job is handed back without counting an attempt.
	ErrShutdown = errors.New("jobs: runner shut down")
	// ErrClosed is returned by enqueues on a [RedisBackend] after its Close.
	ErrClosed = errors.New("jobs: backend closed")
)

// SkipRetry wraps err so that the job goes to the dead set at once instead of
// being retried. errors.Is(SkipRetry(err), ErrSkipRetry) and
// errors.Is(SkipRetry(err), err) both hold.
func SkipRetry(err error) error {
	if err == nil {
		err = errors.New("jobs: failed")
	}
	return &permanentError{&skipErr{err}}
}

type skipErr struct{ err error }

func (e *skipErr) Error() string   { return e.err.Error() }
func (e *skipErr) Unwrap() []error { return []error{e.err, ErrSkipRetry} }

// permanentError marks a failure that must not be retried.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }
