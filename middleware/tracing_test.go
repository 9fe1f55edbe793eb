package middleware_test

import (
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/gantry-dev/gantry/middleware"
)

// TestStackTracing checks the server span of the stack: named by the route
// template, the incoming traceparent honoured (its trace id kept, its
// sampled flag obeyed), 5xx an error and 4xx not, the span in the
// handler's context, the exemplar only when sampled; and with Tracing nil,
// no span at all.
func TestStackTracing(t *testing.T) {
	const tid = "4bf92f3577b34da6a3ce929d0e0e4736"
	tests := []struct {
		name, method, path, traceparent string
		traced                          bool
		wantName                        string
		wantStatus                      int
		wantError, wantExemplar         bool
	}{
		{name: "ok with traceparent", method: "GET", path: "/users/42", traceparent: "00-" + tid + "-00f067aa0ba902b7-01", traced: true, wantName: "GET /users/:id", wantStatus: 200, wantExemplar: true},
		{name: "not sampled upstream", method: "GET", path: "/users/42", traceparent: "00-" + tid + "-00f067aa0ba902b7-00", traced: true, wantStatus: 200},
		{name: "5xx is an error", method: "GET", path: "/boom", traced: true, wantName: "GET /boom", wantStatus: 500, wantError: true, wantExemplar: true},
		{name: "4xx is not", method: "GET", path: "/missing", traced: true, wantName: "GET", wantStatus: 404, wantExemplar: true},
		{name: "off", method: "GET", path: "/users/42", traceparent: "00-" + tid + "-00f067aa0ba902b7-01", wantStatus: 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rec := tracetest.NewSpanRecorder()
			tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
			reg := prometheus.NewRegistry()
			m, err := middleware.NewMetrics(middleware.MetricsConfig{Registerer: reg})
			if err != nil {
				t.Fatal(err)
			}
			sc := middleware.StackConfig{Logger: slog.New(slog.DiscardHandler), Metrics: m}
			if tt.traced {
				sc.Tracing = &middleware.TracingConfig{TracerProvider: tp}
			}
			s, err := middleware.NewStack(sc)
			if err != nil {
				t.Fatal(err)
			}
			e := echo.New()
			e.Use(s.Middleware())
			var inHandler trace.SpanContext
			e.GET("/users/:id", func(c echo.Context) error {
				inHandler = trace.SpanContextFromContext(c.Request().Context())
				return c.NoContent(http.StatusOK)
			})
			e.GET("/boom", func(c echo.Context) error { return errors.New("db down") })
			e.GET("/metrics", echo.WrapHandler(middleware.MetricsHandler(reg)))
			req := httptest.NewRequest(tt.method, tt.path, nil)
			if tt.traceparent != "" {
				req.Header.Set("traceparent", tt.traceparent)
			}
			w := httptest.NewRecorder()
			e.ServeHTTP(w, req)
			if w.Code != tt.wantStatus {
				t.Fatalf("status = %d; want %d", w.Code, tt.wantStatus)
			}
			spans := rec.Ended()
			if tt.wantName == "" {
				if len(spans) != 0 {
					t.Errorf("spans = %d; want none", len(spans))
				}
				if !tt.traced && inHandler.IsValid() {
					t.Errorf("tracing off, yet the handler's context has span %v", inHandler)
				}
			} else {
				if len(spans) != 1 {
					t.Fatalf("spans = %d; want 1", len(spans))
				}
				sp := spans[0]
				if sp.Name() != tt.wantName || sp.SpanKind() != trace.SpanKindServer {
					t.Errorf("span = %q (%v); want %q, server", sp.Name(), sp.SpanKind(), tt.wantName)
				}
				if tt.traceparent != "" && (sp.SpanContext().TraceID().String() != tid || sp.Parent().SpanID().String() != "00f067aa0ba902b7") {
					t.Errorf("span trace %s parent %s; want the traceparent's", sp.SpanContext().TraceID(), sp.Parent().SpanID())
				}
				if tt.path == "/users/42" && inHandler.SpanID() != sp.SpanContext().SpanID() {
					t.Errorf("handler's span %s; want the server span %s", inHandler.SpanID(), sp.SpanContext().SpanID())
				}
				if got := sp.Status().Code == codes.Error; got != tt.wantError {
					t.Errorf("span status = %v; want error %v", sp.Status(), tt.wantError)
				}
				for _, kv := range sp.Attributes() {
					switch kv.Key {
					case "http.request.method", "http.route", "http.response.status_code":
					default:
						t.Errorf("unexpected attribute %s=%s", kv.Key, kv.Value.Emit())
					}
				}
			}
			sreq := httptest.NewRequest(http.MethodGet, "/metrics", nil)
			sreq.Header.Set("Accept", "application/openmetrics-text; version=1.0.0")
			sw := httptest.NewRecorder()
			e.ServeHTTP(sw, sreq)
			body, _ := io.ReadAll(sw.Body)
			if got := strings.Contains(string(body), "# {span_id=") || strings.Contains(string(body), `trace_id="`); got != tt.wantExemplar {
				t.Errorf("exemplar in scrape = %v; want %v", got, tt.wantExemplar)
			}
		})
	}
}

// TestStackTracingNeedsProvider: a TracingConfig without a provider is a
// configuration error, not a silent no-op.
func TestStackTracingNeedsProvider(t *testing.T) {
	_, err := middleware.NewStack(middleware.StackConfig{Tracing: &middleware.TracingConfig{}})
	if !errors.Is(err, middleware.ErrInvalidConfig) {
		t.Errorf("NewStack(Tracing without provider) = %v; want ErrInvalidConfig", err)
	}
}

// BenchmarkStackTraced is BenchmarkStack with every request sampled (no
// exporter): the cost of tracing on.
func BenchmarkStackTraced(b *testing.B) {
	e := echo.New()
	e.Use(defaultStackWith(b, &middleware.TracingConfig{TracerProvider: sdktrace.NewTracerProvider()}).Middleware())
	benchEcho(b, e)
}
