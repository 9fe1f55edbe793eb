// Package jobsotel carries OpenTelemetry traces through package
// [github.com/gantry-dev/gantry/jobs]: the enqueue stores the trace context
// of its caller in the job's headers, and each attempt runs in a span of
// its own LINKED to that context, so one request can be followed into the
// jobs it enqueued, on another machine, minutes later — and the jobs core
// imports no OpenTelemetry package.
//
//	cfg := jobsotel.Config{TracerProvider: tp}
//	client, err := jobs.NewClient(backend, jobs.ClientConfig{Headers: cfg.Headers()})
//	runner, err := jobs.NewRunner(backend, jobs.RunnerConfig{Workers: ws, Wrap: cfg.Wrap()})
//
// # Spans
//
// [Config.Headers] injects the W3C traceparent (and tracestate) of the
// span in the enqueue's context. An enqueue whose context carries no span
// — a periodic tick of jobs.Scheduler, a script — gets a root span of its
// own, "jobs.enqueue" (kind producer), so that its job still links to a
// trace, one per tick.
//
// [Config.Wrap] starts a span per attempt, "jobs.run <kind>" (kind
// consumer), a new root with a link to the enqueuer's span context: a link,
// not a parent, because the job runs later and elsewhere, and a parent
// would stretch the request's trace over minutes of queueing and retries.
// A retry is a new span with the same link. Its attributes are
// messaging.destination.name (the queue), messaging.message.id (the job
// id), jobs.kind and jobs.attempt; a failed attempt records its error
// (a panic's value, never its stack) and sets the error status, and
// jobs.final tells whether the failure ended the job. The worker's ctx
// carries the span, so its SQL, Redis and log lines (through
// tracing.LogHandler) belong to it, and jobs it enqueues link to it.
package jobsotel
