// Package otlp builds the process's OpenTelemetry TracerProvider from the
// standard OTEL_* environment (exporter, protocol, endpoint, sampler,
// batching, resource) through the SDK's own handling (contrib's
// autoexport). It is apart from package tracing because the exporters it
// links (OTLP over gRPC and HTTP among them) weigh on every binary: import
// it only in main, and only where tracing can be on.
package otlp

import (
	"context"
	"errors"
	"fmt"

	"go.opentelemetry.io/contrib/exporters/autoexport"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/gantry-dev/gantry/tracing"
)

// NewProvider returns a TracerProvider exporting through the exporter the
// OTEL_* environment describes (see the package doc), batched. The caller
// calls its Shutdown when the process stops, with a deadline: it flushes
// the spans still buffered. An invalid OTEL_* value is an error.
func NewProvider(ctx context.Context, cfg tracing.ProviderConfig) (*sdktrace.TracerProvider, error) {
	exp, err := autoexport.NewSpanExporter(ctx)
	if err != nil {
		return nil, fmt.Errorf("tracing: exporter: %w", err)
	}
	var attrs []attribute.KeyValue
	if cfg.ServiceName != "" {
		attrs = append(attrs, attribute.String("service.name", cfg.ServiceName))
	}
	if cfg.ServiceVersion != "" {
		attrs = append(attrs, attribute.String("service.version", cfg.ServiceVersion))
	}
	if cfg.Environment != "" {
		attrs = append(attrs, attribute.String("deployment.environment.name", cfg.Environment))
	}
	// Later detectors win: the environment (OTEL_SERVICE_NAME,
	// OTEL_RESOURCE_ATTRIBUTES) over the settings.
	res, err := resource.New(ctx, resource.WithTelemetrySDK(), resource.WithAttributes(attrs...), resource.WithFromEnv())
	if err != nil && !errors.Is(err, resource.ErrPartialResource) {
		_ = exp.Shutdown(ctx)
		return nil, fmt.Errorf("tracing: resource: %w", err)
	}
	opts := []sdktrace.TracerProviderOption{sdktrace.WithResource(res)}
	if !autoexport.IsNoneSpanExporter(exp) {
		opts = append(opts, sdktrace.WithBatcher(exp)) // OTEL_BSP_* apply
	}
	opts = append(opts, cfg.Options...)
	return sdktrace.NewTracerProvider(opts...), nil // the sampler: OTEL_TRACES_SAMPLER(_ARG), default parentbased_always_on
}
