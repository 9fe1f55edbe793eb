package jobsotel

import (
	"context"
	"errors"
	"strconv"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/gantry-dev/gantry/jobs"
)

// Scope is the instrumentation scope name of the jobs' spans.
const Scope = "github.com/gantry-dev/gantry/jobs/jobsotel"

// Config configures the jobs' tracing. The zero value propagates the
// caller's trace context in headers but starts no span (no provider).
type Config struct {
	// TracerProvider creates the spans: the attempts' and the untraced
	// enqueues'. Nil: Headers only propagates an existing context and Wrap
	// runs attempts untraced.
	TracerProvider trace.TracerProvider
	// Propagator writes and reads the headers; default W3C Trace Context
	// (traceparent, tracestate). The otel globals are never read.
	Propagator propagation.TextMapPropagator
}

func (c Config) prop() propagation.TextMapPropagator {
	if c.Propagator != nil {
		return c.Propagator
	}
	return propagation.TraceContext{}
}

// Headers returns a func for jobs.ClientConfig.Headers: the trace context
// of the enqueue's ctx, or of a root "jobs.enqueue" span started for an
// enqueue that has none (see the package doc). It returns nil (no
// headers) when there is nothing to propagate.
func (c Config) Headers() func(context.Context) map[string]string {
	prop := c.prop()
	var tracer trace.Tracer
	if c.TracerProvider != nil {
		tracer = c.TracerProvider.Tracer(Scope)
	}
	return func(ctx context.Context) map[string]string {
		if !trace.SpanContextFromContext(ctx).IsValid() {
			if tracer == nil {
				return nil
			}
			var span trace.Span
			ctx, span = tracer.Start(ctx, "jobs.enqueue", trace.WithSpanKind(trace.SpanKindProducer))
			defer span.End()
			if !span.SpanContext().IsValid() {
				return nil
			}
		}
		h := make(propagation.MapCarrier, 2)
		prop.Inject(ctx, h)
		if len(h) == 0 {
			return nil
		}
		return h
	}
}

// Wrap returns a jobs.WrapFunc for jobs.RunnerConfig.Wrap that runs each
// attempt in its own span linked to the enqueuer's trace (see the package
// doc). Without a TracerProvider it returns nil: no wrap, no cost.
func (c Config) Wrap() jobs.WrapFunc {
	if c.TracerProvider == nil {
		return nil
	}
	prop := c.prop()
	tracer := c.TracerProvider.Tracer(Scope)
	return func(ctx context.Context, a *jobs.Attempt, next func(context.Context) error) error {
		opts := []trace.SpanStartOption{
			trace.WithNewRoot(), trace.WithSpanKind(trace.SpanKindConsumer),
			trace.WithAttributes(
				attribute.String("messaging.destination.name", a.Queue),
				attribute.String("messaging.message.id", a.ID),
				attribute.String("jobs.kind", a.Kind),
				attribute.Int("jobs.attempt", a.Number),
			),
		}
		if len(a.Headers) > 0 {
			lctx := prop.Extract(context.Background(), propagation.MapCarrier(a.Headers))
			if sc := trace.SpanContextFromContext(lctx); sc.IsValid() {
				opts = append(opts, trace.WithLinks(trace.Link{SpanContext: sc}))
			}
		}
		ctx, span := tracer.Start(ctx, "jobs.run "+a.Kind, opts...)
		defer span.End() // a panic in next is the runner's PanicError: next returns
		err := next(ctx)
		if err != nil {
			var pe *jobs.PanicError
			if errors.As(err, &pe) {
				// The message only: the stack goes to the runner's log.
				span.RecordError(errors.New(pe.Error()))
			} else {
				span.RecordError(err)
			}
			span.SetAttributes(attribute.Bool("jobs.final", a.Final(err)))
			span.SetStatus(codes.Error, "attempt "+strconv.Itoa(a.Number)+" failed")
		}
		return err
	}
}
