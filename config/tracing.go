package config

import (
	"context"

	"github.com/redis/go-redis/v9"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/gantry-dev/gantry/tracing"
)

// NewTracerProvider returns the process's OpenTelemetry tracer provider
// when TRACING_ENABLED is set, and a shutdown func for the end of its
// lifespan (it flushes the spans still buffered; call it with a deadline,
// after the server has drained). The exporter, sampler, batching and
// resource come from the standard OTEL_* variables through the SDK's own
// handling ([tracing.NewProvider]); the service name is OTEL_SERVICE_NAME,
// else PROJECT_NAME, with VERSION and ENVIRONMENT as service.version and
// deployment.environment.name.
//
// With tracing off it returns a nil provider and a shutdown that does
// nothing: pass the nil on (server.MiddlewareConfig.TracerProvider,
// [TraceRedis], crud.DBConfig.Driver left nil) and nothing is traced
// and nothing costs anything.
func (s Settings) NewTracerProvider(ctx context.Context, opts ...sdktrace.TracerProviderOption) (*sdktrace.TracerProvider, func(context.Context) error, error) {
	if !s.TracingEnabled {
		return nil, func(context.Context) error { return nil }, nil
	}
	tp, err := tracing.NewProvider(ctx, tracing.ProviderConfig{
		ServiceName: s.ProjectName, ServiceVersion: s.Version, Environment: s.Environment, Options: opts,
	})
	if err != nil {
		return nil, nil, err
	}
	return tp, tp.Shutdown, nil
}

// RedisOption is an option of [OpenRedis].
type RedisOption func(*redisOptions)

type redisOptions struct {
	tp trace.TracerProvider
}

// TraceRedis makes the client [OpenRedis] returns trace its commands with
// tp (go-redis's redisotel: a span per command or pipeline, its name and
// never its arguments). A nil tp leaves the client untraced.
func TraceRedis(tp trace.TracerProvider) RedisOption {
	return func(o *redisOptions) { o.tp = tp }
}

func instrumentRedis(rdb redis.UniversalClient, opts []RedisOption) error {
	var o redisOptions
	for _, opt := range opts {
		opt(&o)
	}
	if o.tp == nil {
		return nil
	}
	return tracing.InstrumentRedis(rdb, o.tp)
}
