// Package config loads a service's settings into a typed struct and checks
// them before the service starts.
//
// # Loading
//
// [Load] fills a [Settings], or an app struct that embeds it, from four
// layers, lowest precedence first:
//
//  1. the `default` struct tags;
//  2. a config file: YAML, JSON or TOML, named by [WithFile] or the
//     CONFIG_FILE variable (which wins);
//  3. a .env file in the working directory, if there is one ([WithDotEnv]);
//  4. the environment, optionally prefixed ([WithEnvPrefix]).
//
// The variables are the seed's (DATABASE_URL, REDIS_URL, SECRET_KEY,
// ACCESS_TOKEN_EXPIRE_MINUTES, BACKEND_CORS_ORIGINS, ...) plus what production
// needs (HTTP_ADDR, the http.Server timeouts, SHUTDOWN_TIMEOUT,
// TRUSTED_PROXIES). SETTINGS.md in this directory lists every one with its
// type, default and meaning; [Table] and [WriteMarkdown] produce the same for
// an app's own struct.
//
// Each Load builds its own viper instance (never viper's global one) and reads
// the environment through [WithEnv] or [WithLookupEnv] when given, so tests
// can load different settings in parallel without touching the process.
//
// # Values
//
// Lists accept "a,b,c" and JSON arrays (["a","b"]). Durations accept Go
// syntax ("90s", "1m30s") and whole numbers, which are seconds
// (RATE_LIMIT_WINDOW=60). Booleans accept true/false, 1/0, yes/no and on/off.
// An empty number, duration or boolean means its default; an empty
// DOCS_ENABLED leaves [Settings.DocsEnabled] nil ([Settings.DocsOn] decides).
//
// # Validation
//
// Load checks everything and returns one [*Error] listing every problem, each
// a [FieldError] naming the variable, the value and the reason:
//
//	config: 2 invalid settings: RATE_LIMIT_WINDOW: "abc" is not a duration (use 90s, 1m30s or whole seconds); SECRET_KEY: must be set in production
//
// Beyond types it checks ENVIRONMENT (development, staging, production, test),
// LOG_LEVEL, LOG_FORMAT, ALGORITHM, the DATABASE_URL and REDIS_URL schemes,
// TRUSTED_PROXIES CIDRs, CORS origins, listen addresses, and that sizes, pool
// sizes and durations are not negative. CORS origin * together with
// CORS_ALLOW_CREDENTIALS is refused everywhere.
//
// In production SECRET_KEY must be set explicitly and be at least
// [MinSecretKeyLen] bytes (in staging too: replicas must agree on one key),
// DEBUG must be off and ALLOWED_HOSTS must name the hosts (no *). In
// development and test a missing SECRET_KEY is replaced by a random one and
// Load logs a warning: tokens and sessions then die on restart.
//
// # Logs
//
// An empty LOG_FORMAT is text (for a person) in development and JSON in
// every other environment. [Settings.NewLogger] builds the process's
// logger; [WithLogOutput] holds Load's own warnings until the format is
// known, so the first line has the format of the rest.
//
// # Settings at the edge
//
// Settings are read by main and turned into each package's own options in
// one place each: [Settings.ServerConfig] gives server.Config (timeouts,
// limits, trusted proxies, hosts, CORS, rate limit, sessions, metrics) and
// [Settings.DocsConfig] openapi.DocsConfig. [Settings.SentryReporter]
// builds the Sentry error reporter from SENTRY_DSN, SENTRY_RELEASE (VERSION
// when empty), SENTRY_ENVIRONMENT (ENVIRONMENT when empty) and
// SENTRY_SAMPLE_RATE, or returns nil when SENTRY_DSN is empty; Load checks
// the DSN's shape without ever quoting it. No library package imports
// config.
//
// # Secrets
//
// SECRET_KEY, EMAIL_SMTP_PASSWORD, SENTRY_DSN and the password inside
// DATABASE_URL and REDIS_URL never print: [Settings.String],
// [Settings.GoString], [Settings.Format] (every fmt verb) and
// [Settings.LogValue] redact them, they are tagged json:"-", and error values
// leave them out. [Redacted] masks the password of any URL for logs. An app
// struct that embeds Settings inherits these methods, so fmt and slog print
// only its embedded Settings; [Table] lists all of its fields, redacted.
//
// # What is reused
//
// viper reads and parses the config files and holds the layers; godotenv
// parses .env files. Decoding into the struct is our own (reflection over
// the struct tags) rather than viper's Unmarshal: its mapstructure hooks know
// neither bare-seconds durations nor JSON lists inside strings, its errors
// name Go fields rather than the variables users set, and it cannot say which
// layer a bad value came from.
package config
