package tracing

import (
	"context"
	"database/sql/driver"
	"fmt"
	"log/slog"

	"github.com/XSAM/otelsql"
	"github.com/redis/go-redis/extra/redisotel/v9"
	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel/attribute"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/embedded"
)

// ProviderConfig names the service for otlp.NewProvider (package
// [github.com/gantry-dev/gantry/tracing/otlp]) where the environment does
// not.
type ProviderConfig struct {
	// ServiceName is service.name unless OTEL_SERVICE_NAME (or
	// service.name in OTEL_RESOURCE_ATTRIBUTES) sets it.
	ServiceName string
	// ServiceVersion is service.version, if set.
	ServiceVersion string
	// Environment is deployment.environment.name, if set.
	Environment string
	// Options are appended to the provider's options (e.g. a
	// sdktrace.WithSpanProcessor for tests, or a sampler that wins over
	// OTEL_TRACES_SAMPLER).
	Options []sdktrace.TracerProviderOption
}

// Propagator is the propagator Gantry's pieces use by default: W3C Trace
// Context (traceparent, tracestate) and W3C Baggage.
func Propagator() propagation.TextMapPropagator {
	return propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})
}

// LogHandler returns h with the trace and span ids of each record's
// context added as the attributes trace_id and span_id (hex, as in
// traceparent), when that context carries a valid span. Records logged
// without a context (slog's non-Context methods) get none. It costs a
// context lookup per record: build loggers with it only when tracing is on
// (config's Settings.NewLogger does).
func LogHandler(h slog.Handler) slog.Handler {
	if _, ok := h.(*logHandler); ok {
		return h
	}
	return &logHandler{h: h}
}

type logHandler struct{ h slog.Handler }

func (l *logHandler) Enabled(ctx context.Context, level slog.Level) bool {
	return l.h.Enabled(ctx, level)
}

func (l *logHandler) Handle(ctx context.Context, r slog.Record) error {
	if ctx != nil {
		if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
			r = r.Clone()
			r.AddAttrs(slog.String("trace_id", sc.TraceID().String()), slog.String("span_id", sc.SpanID().String()))
		}
	}
	return l.h.Handle(ctx, r)
}

func (l *logHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &logHandler{h: l.h.WithAttrs(attrs)}
}

func (l *logHandler) WithGroup(name string) slog.Handler {
	return &logHandler{h: l.h.WithGroup(name)}
}

// SQLDriver returns a driver wrapper for crud.DBConfig.Driver that
// makes a span of each statement, transaction and prepare, children of
// the span in the statement's context, named by the call
// ("sql.conn.query", "sql.conn.exec", ...), with the statement text as
// db.query.text and never its argument values. Row iteration, pings,
// connection resets and connects make no span. system names the database
// (db.system.name: "postgresql", "sqlite").
func SQLDriver(tp trace.TracerProvider, system string) *SQLTracer {
	opts := []otelsql.Option{
		otelsql.WithTracerProvider(ChildOnly(tp)),
		otelsql.WithMeterProvider(metricnoop.NewMeterProvider()), // pool metrics are crud's Prometheus collectors
		otelsql.WithSpanOptions(otelsql.SpanOptions{
			OmitConnResetSession: true, OmitRows: true, OmitConnectorConnect: true,
		}),
	}
	if system != "" {
		opts = append(opts, otelsql.WithAttributes(attribute.String("db.system.name", system)))
	}
	return &SQLTracer{opts: opts}
}

// SQLTracer wraps database/sql drivers with spans; see [SQLDriver].
type SQLTracer struct{ opts []otelsql.Option }

// WrapDriver returns d with a span around each statement.
func (t *SQLTracer) WrapDriver(d driver.Driver) driver.Driver {
	return otelsql.WrapDriver(d, t.opts...)
}

// InstrumentRedis adds a tracing hook to rdb (a *redis.Client, a
// *redis.ClusterClient, whose every node gets it, or a Sentinel-backed
// client): a span per command or pipeline, child of the span in the
// command's context, with the command's name and never its arguments
// (keys and values may be tokens or personal data).
func InstrumentRedis(rdb redis.UniversalClient, tp trace.TracerProvider) error {
	if err := redisotel.InstrumentTracing(rdb, redisotel.WithTracerProvider(ChildOnly(tp)), redisotel.WithDBStatement(false), redisotel.WithCallerEnabled(false)); err != nil {
		return fmt.Errorf("tracing: redis: %w", err)
	}
	return nil
}

// ChildOnly returns a TracerProvider whose tracers start a span only under
// a span already in the context. SQL and Redis spans go through it: a
// statement of a request or a job is traced as its child, while the calls
// a process makes on its own — a job runner polling Redis, an outbox relay
// polling its table, a health check — start no trace of their own (with a
// parent-based sampler each would be a sampled root, many a second).
func ChildOnly(tp trace.TracerProvider) trace.TracerProvider {
	if tp == nil {
		return nil
	}
	return childOnly{tp: tp}
}

type childOnly struct {
	embedded.TracerProvider
	tp trace.TracerProvider
}

func (p childOnly) Tracer(name string, opts ...trace.TracerOption) trace.Tracer {
	return childOnlyTracer{t: p.tp.Tracer(name, opts...)}
}

type childOnlyTracer struct {
	embedded.Tracer
	t trace.Tracer
}

func (t childOnlyTracer) Start(ctx context.Context, name string, opts ...trace.SpanStartOption) (context.Context, trace.Span) {
	if !trace.SpanContextFromContext(ctx).IsValid() {
		return ctx, trace.SpanFromContext(ctx) // a non-recording span: nothing is exported
	}
	return t.t.Start(ctx, name, opts...)
}
