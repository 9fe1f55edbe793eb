package report

import "context"

// Kinds of [Event].
const (
	KindHTTP = "http" // a request's 5xx answer or a handler's panic
	KindJob  = "job"  // a job's panic or its final failure
)

// Reporter receives unexpected errors. Report is called on the goroutine
// that handled the request or ran the job, so it must not block for long
// (queue the event and send it elsewhere); it must be safe for concurrent
// use. The owner of a Reporter that buffers flushes it at shutdown, after
// the server and the job runners have stopped.
type Reporter interface {
	Report(ctx context.Context, e Event)
}

// ReporterFunc adapts an ordinary function to a [Reporter].
type ReporterFunc func(ctx context.Context, e Event)

// Report calls f(ctx, e).
func (f ReporterFunc) Report(ctx context.Context, e Event) { f(ctx, e) }

var _ Reporter = ReporterFunc(nil)

// Event is one unexpected error and where it happened. Its fields are
// chosen to carry no secret: see the package documentation. Release and
// environment are the Reporter's own configuration, not the event's.
type Event struct {
	// Kind is [KindHTTP] or [KindJob].
	Kind string
	// Err is the error. For a panic it is the error the recovery made of
	// it (its text names the panic value).
	Err error
	// Panic is the recovered value when the error is a panic, else nil;
	// Stack is the panicking goroutine's stack (runtime/debug.Stack's
	// format), else nil.
	Panic any
	Stack []byte

	// HTTP events: the request id (X-Request-ID), the method, the route
	// template ("/api/v1/users/:id"; never the path with its ids, nor the
	// query) and the status answered.
	RequestID string
	Method    string
	Route     string
	Status    int

	// Job events: the job's id, kind and queue, the attempt (1 for the
	// first run) and the retries the job allowed.
	JobID    string
	JobKind  string
	Queue    string
	Attempt  int
	MaxRetry int

	// UserID is the opaque id of the authenticated user, if known (never a
	// name, email or token).
	UserID string
}

// IsPanic reports whether e is a recovered panic.
func (e Event) IsPanic() bool { return e.Stack != nil || e.Panic != nil }
