package config

import "time"

// Settings holds every setting a Gantry service reads. Apps embed it in their
// own settings struct and add fields with the same tags; [Load] fills them all.
//
// Each field's environment variable is its `env` tag and its default is its
// `default` tag; `doc` is the one-line meaning used by [Table] and
// SETTINGS.md, and `secret` marks values that never print ("true": the whole
// value; "url": the password inside a URL). Secret fields are also left out of
// JSON.
//
// The zero value is not a usable configuration (no defaults are applied):
// build Settings with [Load]. Settings is a plain value and safe to read
// concurrently; do not mutate it after the server started.
//
// Field names and types are the contract other packages build on.
type Settings struct {
	// Project
	ProjectName string `env:"PROJECT_NAME" default:"Gantry App" doc:"Service name, shown in docs and logs"`
	Version     string `env:"VERSION" default:"1.0.0" doc:"Service version"`
	Description string `env:"DESCRIPTION" doc:"One-line service description for the API docs"`
	Environment string `env:"ENVIRONMENT" default:"development" doc:"development, staging, production or test; production turns on the production rules"`
	Debug       bool   `env:"DEBUG" default:"false" doc:"Debug mode; refused in production"`

	// HTTP server
	HTTPAddr          string        `env:"HTTP_ADDR" default:":8000" doc:"Listen address host:port"`
	ReadHeaderTimeout time.Duration `env:"HTTP_READ_HEADER_TIMEOUT" default:"10s" doc:"http.Server ReadHeaderTimeout"`
	ReadTimeout       time.Duration `env:"HTTP_READ_TIMEOUT" default:"30s" doc:"http.Server ReadTimeout"`
	WriteTimeout      time.Duration `env:"HTTP_WRITE_TIMEOUT" default:"30s" doc:"http.Server WriteTimeout"`
	IdleTimeout       time.Duration `env:"HTTP_IDLE_TIMEOUT" default:"120s" doc:"http.Server IdleTimeout (keep-alive)"`
	MaxHeaderBytes    int           `env:"HTTP_MAX_HEADER_BYTES" default:"65536" doc:"http.Server MaxHeaderBytes"`
	ShutdownTimeout   time.Duration `env:"SHUTDOWN_TIMEOUT" default:"15s" doc:"How long the graceful drain may take"`
	PreDrainDelay     time.Duration `env:"SHUTDOWN_PRE_DRAIN_DELAY" default:"0s" doc:"Delay between readiness turning 503 and the drain, for load balancers"`
	RequestTimeout    time.Duration `env:"REQUEST_TIMEOUT" default:"30s" doc:"Handler context deadline"`
	MaxBodySize       int64         `env:"MAX_BODY_SIZE" default:"1048576" doc:"Largest request body in bytes (uploads excepted)"`
	TrustedProxies    []string      `env:"TRUSTED_PROXIES" doc:"CIDRs (or IPs) of proxies whose X-Forwarded-For is believed; none by default"`

	// API
	DocsEnabled *bool `env:"DOCS_ENABLED" doc:"Serve API docs; unset means on outside production, off in production"`

	// Security
	SecretKey                string        `env:"SECRET_KEY" secret:"true" json:"-" doc:"Signing key for tokens and sessions; required (>= 32 bytes) in staging and production, generated at random in development and test"`
	AccessTokenExpireMinutes int           `env:"ACCESS_TOKEN_EXPIRE_MINUTES" default:"30" doc:"Access token lifetime in minutes"`
	RefreshTokenExpireDays   int           `env:"REFRESH_TOKEN_EXPIRE_DAYS" default:"7" doc:"Refresh token lifetime in days"`
	Algorithm                string        `env:"ALGORITHM" default:"HS256" doc:"JWT signing algorithm: HS256, HS384 or HS512"`
	SessionMaxAge            time.Duration `env:"SESSION_MAX_AGE" default:"1h" doc:"Session cookie lifetime"`
	CORSOrigins              []string      `env:"BACKEND_CORS_ORIGINS" doc:"Allowed CORS origins (scheme://host[:port]) or *; none by default"`
	CORSAllowCredentials     bool          `env:"CORS_ALLOW_CREDENTIALS" default:"false" doc:"Allow credentials in CORS; refused together with origin *"`
	CORSAllowMethods         []string      `env:"CORS_ALLOW_METHODS" default:"*" doc:"Methods a cross-origin request may use, or * for any"`
	CORSAllowHeaders         []string      `env:"CORS_ALLOW_HEADERS" default:"*" doc:"Request headers a cross-origin request may send (any case), or * for any; a preflight asking for another is refused"`
	CORSExposeHeaders        []string      `env:"CORS_EXPOSE_HEADERS" doc:"Response headers a cross-origin script may read; empty means X-Request-ID, RateLimit, RateLimit-Policy and Retry-After"`
	AllowedHosts             []string      `env:"ALLOWED_HOSTS" default:"*" doc:"Host names the server answers to (*.example.com allowed); * is refused in production"`

	// Database
	DatabaseURL         string        `env:"DATABASE_URL" secret:"url" json:"-" doc:"postgres:// or sqlite:// URL; empty means the app's embedded SQLite default"`
	DatabasePoolSize    int           `env:"DATABASE_POOL_SIZE" default:"5" doc:"Idle connections kept open"`
	DatabaseMaxOverflow int           `env:"DATABASE_MAX_OVERFLOW" default:"10" doc:"Connections allowed above the pool size"`
	DatabasePoolTimeout time.Duration `env:"DATABASE_POOL_TIMEOUT" default:"30s" doc:"How long to wait for a free connection"`

	// Redis
	RedisURL      string `env:"REDIS_URL" secret:"url" json:"-" doc:"redis://, rediss:// or unix:// URL, redis-sentinel://host:port,…/master[/db] or redis-cluster://host:port,…; empty means in-memory backends"`
	RedisPoolSize int    `env:"REDIS_POOL_SIZE" default:"10" doc:"Redis connection pool size"`

	// Logging
	LogLevel  string `env:"LOG_LEVEL" default:"info" doc:"debug, info, warn or error"`
	LogFormat string `env:"LOG_FORMAT" doc:"json or text; empty means text in development, json in every other environment"`

	// Rate limiting
	RateLimitRequests int           `env:"RATE_LIMIT_REQUESTS" default:"100" doc:"Requests allowed per client per window"`
	RateLimitWindow   time.Duration `env:"RATE_LIMIT_WINDOW" default:"60s" doc:"Rate-limit window"`

	// Monitoring
	SentryDSN         string  `env:"SENTRY_DSN" secret:"true" json:"-" doc:"Sentry DSN; empty disables Sentry"`
	SentryRelease     string  `env:"SENTRY_RELEASE" doc:"Release named in error reports (a version or commit); empty means VERSION"`
	SentryEnvironment string  `env:"SENTRY_ENVIRONMENT" doc:"Environment named in error reports; empty means ENVIRONMENT"`
	SentrySampleRate  float64 `env:"SENTRY_SAMPLE_RATE" default:"1" doc:"Share of error events sent to Sentry, greater than 0 and at most 1"`
	PrometheusEnabled bool    `env:"PROMETHEUS_ENABLED" default:"true" doc:"Expose Prometheus metrics"`
	MetricsAddr       string  `env:"METRICS_ADDR" doc:"Serve /metrics on its own listener at this address; empty means on the main listener"`
	TracingEnabled    bool    `env:"TRACING_ENABLED" default:"false" doc:"OpenTelemetry tracing (HTTP, SQL, Redis, jobs spans; trace ids in logs and exemplars); the exporter, sampler and service name come from the standard OTEL_* variables"`
}
