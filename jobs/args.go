package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
)

// Args is the user type that carries a job's arguments. Kind names the job
// kind as stored in the queue: it must stay stable across deploys (renaming
// the Go type must not change it), because queued jobs are matched to their
// worker by it. Args are stored as JSON.
type Args interface{ Kind() string }

// Job is one run of a job as its worker sees it. It is valid only for the
// duration of the Work call.
type Job[T Args] struct {
	ID         string        // unique job id
	Queue      string        // queue the job was fetched from
	Args       T             // decoded arguments
	Attempt    int           // 1 for the first run, 2 for the first retry, ...
	MaxRetry   int           // retries allowed after the first attempt
	EnqueuedAt time.Time     // when the job was enqueued
	Timeout    time.Duration // run time limit of this attempt, 0 for none
	// Headers are what ClientConfig.Headers stored with the job at its
	// enqueue (e.g. a traceparent); nil if none.
	Headers map[string]string

	rt *jobRuntime
}

// Progress reports how far the job is. It is stored at once and readable by
// id through the [Inspector] and the status handler until the job's
// retention runs out. Progress is not fenced by the lease: call it only from
// the job's own Work.
func (j *Job[T]) Progress(ctx context.Context, current, total int64, message string) error {
	if j.rt == nil || j.rt.b == nil {
		return nil
	}
	p := Progress{Current: current, Total: total, Message: strings.ReplaceAll(message, sep, " ")}
	j.rt.last = &p
	return j.rt.b.setProgress(ctx, j.rt.queue, j.ID, p)
}

// SetResult stores v (marshalled as JSON) as the job's result. The result is
// saved together with the job's success, atomically, and kept for the job's
// retention; it is discarded if the attempt fails.
func (j *Job[T]) SetResult(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("jobs: marshal result: %w", err)
	}
	if j.rt != nil {
		j.rt.result = b
	}
	return nil
}

// jobRuntime links a running Job to the runner that started it.
type jobRuntime struct {
	b      Backend // nil: progress is discarded
	queue  string
	last   *Progress // last reported progress, kept with the final state
	result []byte
	// nextRetry, if set, is the worker's RetryDelayer bound to this job.
	nextRetry func(err error) time.Duration
}

// retryDelay returns the worker's wait before the next attempt after err, or
// 0 (also if NextRetry panics) to use the runner's policy.
func (rt *jobRuntime) retryDelay(err error) (d time.Duration) {
	if rt.nextRetry == nil {
		return 0
	}
	defer func() {
		if recover() != nil {
			d = 0
		}
	}()
	return rt.nextRetry(err)
}

// Worker runs jobs of one kind. Work must be idempotent: delivery is
// at-least-once, so a job may run more than once (see the package doc).
// Returning nil marks the job succeeded; an error schedules a retry unless it
// wraps [ErrSkipRetry] or the retries are used up.
type Worker[T Args] interface {
	Work(ctx context.Context, job *Job[T]) error
}

// RetryDelayer is implemented by a [Worker] that decides the wait before the
// next attempt of its kind's jobs itself, from the failed attempt
// (job.Attempt, 1-based) and its error. A result of 0 or less, or a panic,
// leaves the choice to [RunnerConfig].Retry. Whether a job is retried at all is still
// set by its MaxRetry and [ErrSkipRetry].
type RetryDelayer[T Args] interface {
	NextRetry(job *Job[T], err error) time.Duration
}

// WorkerFunc adapts an ordinary function to a [Worker].
type WorkerFunc[T Args] func(ctx context.Context, job *Job[T]) error

// Work calls f(ctx, job).
func (f WorkerFunc[T]) Work(ctx context.Context, job *Job[T]) error { return f(ctx, job) }

// Workers is the registry of workers by kind. Fill it with [AddWorker] at
// start-up, before the [Runner] starts; it is safe for concurrent use.
// The zero value is not usable: call [NewWorkers].
type Workers struct {
	mu sync.RWMutex
	m  map[string]workUnit
}

// NewWorkers returns an empty registry.
func NewWorkers() *Workers { return &Workers{m: make(map[string]workUnit)} }

// AddWorker registers w for the kind of T. It panics if the kind is already
// registered or empty (a programming error found at start-up); use
// [AddWorkerSafely] to get an error instead.
func AddWorker[T Args](ws *Workers, w Worker[T]) {
	if err := AddWorkerSafely(ws, w); err != nil {
		panic(err)
	}
}

// AddWorkerSafely registers w for the kind of T, or returns an error if the
// kind is empty or already registered.
func AddWorkerSafely[T Args](ws *Workers, w Worker[T]) error {
	var zero T
	kind := zero.Kind()
	if err := checkKind(kind); err != nil {
		return fmt.Errorf("jobs: %T: %w", zero, err)
	}
	ws.mu.Lock()
	defer ws.mu.Unlock()
	if _, dup := ws.m[kind]; dup {
		return fmt.Errorf("jobs: worker for kind %q already registered", kind)
	}
	ws.m[kind] = &typedUnit[T]{w: w}
	return nil
}

// Kinds returns the registered kinds.
func (ws *Workers) Kinds() []string {
	ws.mu.RLock()
	defer ws.mu.RUnlock()
	out := make([]string, 0, len(ws.m))
	for k := range ws.m {
		out = append(out, k)
	}
	return out
}

// Work runs args through its registered worker synchronously, after a JSON
// round trip as in production. Progress and results are discarded. It is meant
// for tests (see package jobstest) and returns [ErrUnknownKind] when no worker
// is registered for the kind.
func (ws *Workers) Work(ctx context.Context, args Args) error {
	payload, err := json.Marshal(args)
	if err != nil {
		return fmt.Errorf("jobs: marshal %s: %w", args.Kind(), err)
	}
	u := ws.lookup(args.Kind())
	if u == nil {
		return fmt.Errorf("jobs: %q: %w", args.Kind(), ErrUnknownKind)
	}
	m := &message{ID: newID(), Kind: args.Kind(), MaxRetry: 0, EnqueuedMs: time.Now().UnixMilli(), Payload: payload}
	return u.work(ctx, m, "", &jobRuntime{})
}

func (ws *Workers) lookup(kind string) workUnit {
	ws.mu.RLock()
	defer ws.mu.RUnlock()
	return ws.m[kind]
}

type workUnit interface {
	work(ctx context.Context, m *message, queue string, rt *jobRuntime) error
}

type typedUnit[T Args] struct{ w Worker[T] }

func (u *typedUnit[T]) work(ctx context.Context, m *message, queue string, rt *jobRuntime) error {
	var args T
	if err := json.Unmarshal(m.Payload, &args); err != nil {
		return &permanentError{fmt.Errorf("jobs: decode %s payload: %w: %w", m.Kind, ErrInvalidPayload, err)}
	}
	job := &Job[T]{
		ID: m.ID, Queue: queue, Args: args, Attempt: m.Retried + 1, MaxRetry: m.MaxRetry,
		EnqueuedAt: time.UnixMilli(m.EnqueuedMs), Timeout: time.Duration(m.TimeoutMs) * time.Millisecond, rt: rt,
		Headers: parseHeaders(m.Headers),
	}
	if rd, ok := u.w.(RetryDelayer[T]); ok {
		rt.nextRetry = func(err error) time.Duration { return rd.NextRetry(job, err) }
	}
	return u.w.Work(ctx, job)
}

// checkKind refuses a kind that cannot be stored: empty, or holding the
// message field separator.
func checkKind(kind string) error {
	switch {
	case kind == "":
		return errors.New("empty kind")
	case strings.Contains(kind, sep):
		return fmt.Errorf("kind %q holds the byte 0x1f", kind)
	}
	return nil
}
