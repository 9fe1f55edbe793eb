package config

import (
	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel/trace"

	"github.com/gantry-dev/gantry/tracing"
)

// TracingConfig returns what package tracing/otlp's NewProvider needs from
// the settings, and whether TRACING_ENABLED is set: the service name
// (OTEL_SERVICE_NAME wins over it), VERSION as service.version and
// ENVIRONMENT as deployment.environment.name. The exporter, sampler and
// batching come from the standard OTEL_* variables. With tracing off, pass
// a nil provider on (server.MiddlewareConfig.TracerProvider, [TraceRedis],
// crud.DBConfig.Driver left nil): nothing is traced and nothing costs
// anything. config itself links no exporter.
func (s Settings) TracingConfig() (tracing.ProviderConfig, bool) {
	return tracing.ProviderConfig{ServiceName: s.ProjectName, ServiceVersion: s.Version, Environment: s.Environment}, s.TracingEnabled
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
