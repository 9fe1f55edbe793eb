package config

import "time"

// Settings holds every setting a Gantry service reads. Apps embed it in their
// own settings struct. Each field's environment variable is its `env` tag;
// its default is its `default` tag.
//
// NOTE for the implementer of Load: field names and types here are the
// contract other packages build on; add tags and methods freely, but tell the
// lead before renaming a field.
type Settings struct {
	// Project
	ProjectName string // PROJECT_NAME, default "Gantry App"
	Version     string // VERSION, default "1.0.0"
	Description string // DESCRIPTION
	Environment string // ENVIRONMENT: development (default), staging, production, test
	Debug       bool   // DEBUG

	// HTTP server
	HTTPAddr          string        // HTTP_ADDR, default ":8000"
	ReadHeaderTimeout time.Duration // HTTP_READ_HEADER_TIMEOUT, default 10s
	ReadTimeout       time.Duration // HTTP_READ_TIMEOUT, default 30s
	WriteTimeout      time.Duration // HTTP_WRITE_TIMEOUT, default 30s
	IdleTimeout       time.Duration // HTTP_IDLE_TIMEOUT, default 120s
	MaxHeaderBytes    int           // HTTP_MAX_HEADER_BYTES, default 65536
	ShutdownTimeout   time.Duration // SHUTDOWN_TIMEOUT, default 15s
	PreDrainDelay     time.Duration // SHUTDOWN_PRE_DRAIN_DELAY, default 0
	RequestTimeout    time.Duration // REQUEST_TIMEOUT, default 30s (handler context deadline)
	MaxBodySize       int64         // MAX_BODY_SIZE, default 1 MiB (non-upload bodies)
	TrustedProxies    []string      // TRUSTED_PROXIES: CIDRs whose X-Forwarded-For is believed; default none

	// API
	APIV1Prefix string // API_V1_STR, default "/api/v1"
	APIV2Prefix string // API_V2_STR, default "/api/v2"
	DocsEnabled *bool  // DOCS_ENABLED: default on outside production, off in production

	// Security
	SecretKey                string        // SECRET_KEY; required (>= 32 bytes) in production
	AccessTokenExpireMinutes int           // ACCESS_TOKEN_EXPIRE_MINUTES, default 30
	RefreshTokenExpireDays   int           // REFRESH_TOKEN_EXPIRE_DAYS, default 7
	Algorithm                string        // ALGORITHM, default "HS256"
	SessionMaxAge            time.Duration // SESSION_MAX_AGE (bare integers are seconds), default 1h
	CORSOrigins              []string      // BACKEND_CORS_ORIGINS
	CORSAllowCredentials     bool          // CORS_ALLOW_CREDENTIALS
	AllowedHosts             []string      // ALLOWED_HOSTS, default ["*"] (refused in production)

	// Database
	DatabaseURL         string        // DATABASE_URL; empty means the embedded SQLite default of the app
	DatabasePoolSize    int           // DATABASE_POOL_SIZE, default 5
	DatabaseMaxOverflow int           // DATABASE_MAX_OVERFLOW, default 10
	DatabasePoolTimeout time.Duration // DATABASE_POOL_TIMEOUT (bare integers are seconds), default 30s

	// Redis
	RedisURL      string // REDIS_URL; empty means memory backends
	RedisPoolSize int    // REDIS_POOL_SIZE, default 10

	// Logging
	LogLevel  string // LOG_LEVEL: debug, info (default), warn, error
	LogFormat string // LOG_FORMAT: json (default) or text

	// Rate limiting
	RateLimitRequests int           // RATE_LIMIT_REQUESTS, default 100
	RateLimitWindow   time.Duration // RATE_LIMIT_WINDOW (bare integers are seconds), default 60s

	// Uploads
	MaxFileSize       int64    // MAX_FILE_SIZE, default 10 MiB
	AllowedExtensions []string // ALLOWED_EXTENSIONS, default jpg,jpeg,png,gif,pdf

	// Email
	SMTPHost     string // EMAIL_SMTP_HOST
	SMTPPort     int    // EMAIL_SMTP_PORT
	SMTPUser     string // EMAIL_SMTP_USER
	SMTPPassword string // EMAIL_SMTP_PASSWORD (secret)
	SMTPFrom     string // EMAIL_SMTP_FROM

	// Monitoring
	SentryDSN         string // SENTRY_DSN (secret)
	PrometheusEnabled bool   // PROMETHEUS_ENABLED, default true
	MetricsAddr       string // METRICS_ADDR: serve /metrics on its own listener when set
}
