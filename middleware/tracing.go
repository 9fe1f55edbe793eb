package middleware

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// TracingScope is the instrumentation scope name of the server spans.
const TracingScope = "github.com/gantry-dev/gantry/middleware"

// TracingConfig configures the server span of each request: one span of
// kind server, named "METHOD /route/:template" (the method alone for a
// request that matched no route), a child of the trace context the request
// carries (W3C traceparent and tracestate by default), with the attributes
// http.request.method, http.route and http.response.status_code only: no
// path, query, client address or user agent, so no attribute is of high
// cardinality or carries personal data. A 5xx marks the span as an error
// (the handler's error recorded on it); a 4xx does not (it is the client's).
//
// In the stack ([StackConfig].Tracing) the span wraps everything else:
// the access log line, every log line written with the request's context
// and the latency histogram's exemplar see it.
type TracingConfig struct {
	// Skipper skips tracing (e.g. health probes); default none.
	Skipper middleware.Skipper
	// TracerProvider creates the tracer; required. A nil TracingConfig,
	// not a no-op provider, is what costs nothing.
	TracerProvider trace.TracerProvider
	// Propagator extracts the incoming trace context; default W3C Trace
	// Context (propagation.TraceContext). The process-wide otel globals are
	// never read.
	Propagator propagation.TextMapPropagator
}

type tracer struct {
	skip   middleware.Skipper
	tracer trace.Tracer
	prop   propagation.TextMapPropagator
}

func (cfg TracingConfig) compile() (*tracer, error) {
	if cfg.TracerProvider == nil {
		return nil, fmt.Errorf("%w: tracing needs a TracerProvider", ErrInvalidConfig)
	}
	t := &tracer{skip: cfg.Skipper, tracer: cfg.TracerProvider.Tracer(TracingScope), prop: cfg.Propagator}
	if t.prop == nil {
		t.prop = propagation.TraceContext{}
	}
	return t, nil
}

// ToMiddleware returns the tracing middleware alone (the stack has it built
// in: prefer [StackConfig].Tracing). Errors wrap [ErrInvalidConfig].
func (cfg TracingConfig) ToMiddleware() (echo.MiddlewareFunc, error) {
	t, err := cfg.compile()
	if err != nil {
		return nil, err
	}
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if t.skip != nil && t.skip(c) {
				return next(c)
			}
			span := t.start(c)
			err := next(c)
			if err != nil {
				c.Error(err)
			}
			t.end(c, span, err)
			return nil
		}
	}, nil
}

// start starts the request's span and puts it in the request's context.
func (t *tracer) start(c echo.Context) trace.Span {
	req := c.Request()
	ctx := t.prop.Extract(req.Context(), propagation.HeaderCarrier(req.Header))
	method := normMethod(req.Method)
	route := c.Path()
	name := method
	attrs := make([]attribute.KeyValue, 0, 3)
	attrs = append(attrs, attribute.String("http.request.method", method))
	if route != "" {
		name = method + " " + route
		attrs = append(attrs, attribute.String("http.route", route))
	}
	ctx, span := t.tracer.Start(ctx, name, trace.WithSpanKind(trace.SpanKindServer), trace.WithAttributes(attrs...))
	c.SetRequest(req.WithContext(ctx))
	return span
}

// end records the final status and ends span.
func (t *tracer) end(c echo.Context, span trace.Span, err error) {
	status := c.Response().Status
	span.SetAttributes(attribute.Int("http.response.status_code", status))
	if status >= 500 {
		if err != nil {
			span.RecordError(err)
		}
		span.SetStatus(codes.Error, strconv.Itoa(status)+" "+http.StatusText(status))
	}
	span.End()
}
