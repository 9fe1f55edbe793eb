// Package tracing is Gantry's OpenTelemetry glue that belongs to no single
// package: the tracer provider configured by the standard OTEL_*
// variables, the slog handler that stamps log lines with the trace and
// span ids of their context, and the instrumentation of the SQL driver
// and of go-redis clients.
//
// Nothing here reads or sets the otel globals (otel.SetTracerProvider,
// otel.SetTextMapPropagator): the provider is passed to each piece.
//
// # The pieces
//
//   - otlp.NewProvider (package [github.com/gantry-dev/gantry/tracing/otlp],
//     apart so the exporters it links stay out of binaries that do not
//     trace) builds an SDK TracerProvider: the exporter from
//     OTEL_TRACES_EXPORTER and OTEL_EXPORTER_OTLP_* (autoexport: OTLP over
//     HTTP/protobuf by default, gRPC with OTEL_EXPORTER_OTLP_PROTOCOL=grpc),
//     the sampler from OTEL_TRACES_SAMPLER, the batch processor from
//     OTEL_BSP_*, the resource from OTEL_SERVICE_NAME and
//     OTEL_RESOURCE_ATTRIBUTES. The caller shuts it down (flushing what is
//     buffered) when the process stops.
//   - [LogHandler] wraps a slog.Handler: a record logged with a context
//     that carries a valid span gets trace_id and span_id attributes.
//   - [SQLDriver] returns the driver wrapper for crud.DBConfig.Driver:
//     a span per statement (github.com/XSAM/otelsql), the statement text
//     without argument values.
//   - [InstrumentRedis] adds go-redis's own redisotel tracing hook to a
//     client: a span per command or pipeline, the command name without its
//     arguments.
//
// The server span per request is the middleware stack's
// (middleware.TracingConfig, server.MiddlewareConfig.TracerProvider); the
// jobs' spans are package jobs/jobsotel's.
//
// # What is reused
//
// The OpenTelemetry SDK and its contrib autoexport (the OTEL_* handling is
// theirs, not ours), XSAM/otelsql for database/sql and go-redis's redisotel.
// The HTTP server span is our own piece of the stack rather than contrib's
// otelecho: otelecho is one more echo layer per request and records the
// client address, user agent and full URL, which the stack keeps out of
// spans.
package tracing
