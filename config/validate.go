package config

import (
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gantry-dev/gantry/report/sentryreport"
)

// The environments ENVIRONMENT accepts.
const (
	EnvDevelopment = "development"
	EnvStaging     = "staging"
	EnvProduction  = "production"
	EnvTest        = "test"
)

// MinSecretKeyLen is the shortest SECRET_KEY accepted in staging and
// production, in bytes.
const MinSecretKeyLen = 32

var (
	environments   = []string{EnvDevelopment, EnvStaging, EnvProduction, EnvTest}
	logLevels      = []string{"debug", "info", "warn", "error"}
	logFormats     = []string{"json", "text"}
	algorithms     = []string{"HS256", "HS384", "HS512"}
	databaseScheme = []string{"postgres", "postgresql", "sqlite", "sqlite3", "file"}
	redisSchemes   = []string{"redis", "rediss", "unix", "redis-sentinel", "rediss-sentinel", "redis-cluster", "rediss-cluster"}
)

// validate normalizes s in place and returns every problem found.
func (s *Settings) validate(ld *loader) []FieldError {
	var errs []FieldError
	bad := func(env, value, reason string) {
		if !ld.undecoded[env] {
			errs = append(errs, ld.fe(env, value, reason))
		}
	}
	oneOf := func(env string, v *string, allowed []string, fold func(string) string) {
		*v = fold(strings.TrimSpace(*v))
		if !slices.Contains(allowed, *v) {
			bad(env, *v, "must be one of "+strings.Join(allowed, ", "))
		}
	}

	oneOf("ENVIRONMENT", &s.Environment, environments, strings.ToLower)
	if strings.EqualFold(s.LogLevel, "warning") {
		s.LogLevel = "warn"
	}
	oneOf("LOG_LEVEL", &s.LogLevel, logLevels, strings.ToLower)
	if strings.TrimSpace(s.LogFormat) == "" { // readable by a person in development, JSON elsewhere
		s.LogFormat = "json"
		if s.Environment == EnvDevelopment {
			s.LogFormat = "text"
		}
	}
	oneOf("LOG_FORMAT", &s.LogFormat, logFormats, strings.ToLower)
	oneOf("ALGORITHM", &s.Algorithm, algorithms, strings.ToUpper)

	if r := checkAddr(s.HTTPAddr); r != "" {
		bad("HTTP_ADDR", s.HTTPAddr, r)
	}
	if s.MetricsAddr != "" {
		if r := checkAddr(s.MetricsAddr); r != "" {
			bad("METRICS_ADDR", s.MetricsAddr, r)
		}
	}

	for _, d := range []struct {
		env string
		v   time.Duration
	}{
		{"HTTP_READ_HEADER_TIMEOUT", s.ReadHeaderTimeout}, {"HTTP_READ_TIMEOUT", s.ReadTimeout},
		{"HTTP_WRITE_TIMEOUT", s.WriteTimeout}, {"HTTP_IDLE_TIMEOUT", s.IdleTimeout},
		{"SHUTDOWN_TIMEOUT", s.ShutdownTimeout}, {"SHUTDOWN_PRE_DRAIN_DELAY", s.PreDrainDelay},
		{"REQUEST_TIMEOUT", s.RequestTimeout}, {"SESSION_MAX_AGE", s.SessionMaxAge},
		{"DATABASE_POOL_TIMEOUT", s.DatabasePoolTimeout},
	} {
		if d.v < 0 {
			bad(d.env, d.v.String(), "must not be negative")
		}
	}
	for _, n := range []struct {
		env      string
		v        int64
		positive bool
	}{
		{"HTTP_MAX_HEADER_BYTES", int64(s.MaxHeaderBytes), true},
		{"MAX_BODY_SIZE", s.MaxBodySize, true},
		{"ACCESS_TOKEN_EXPIRE_MINUTES", int64(s.AccessTokenExpireMinutes), true},
		{"REFRESH_TOKEN_EXPIRE_DAYS", int64(s.RefreshTokenExpireDays), true},
		{"DATABASE_POOL_SIZE", int64(s.DatabasePoolSize), true},
		{"DATABASE_MAX_OVERFLOW", int64(s.DatabaseMaxOverflow), false},
		{"REDIS_POOL_SIZE", int64(s.RedisPoolSize), true},
		{"RATE_LIMIT_REQUESTS", int64(s.RateLimitRequests), true},
	} {
		switch {
		case n.v < 0:
			bad(n.env, strconv.FormatInt(n.v, 10), "must not be negative")
		case n.v == 0 && n.positive:
			bad(n.env, "0", "must be greater than 0")
		}
	}
	if s.RateLimitWindow <= 0 {
		bad("RATE_LIMIT_WINDOW", s.RateLimitWindow.String(), "must be greater than 0")
	}

	if r := checkURL(s.DatabaseURL, databaseScheme, false); r != "" {
		bad("DATABASE_URL", Redacted(s.DatabaseURL), r)
	}
	if r := checkURL(s.RedisURL, redisSchemes, true); r != "" {
		bad("REDIS_URL", Redacted(s.RedisURL), r)
	}
	if s.SentryDSN != "" {
		if err := sentryreport.CheckDSN(s.SentryDSN); err != nil {
			bad("SENTRY_DSN", "", err.Error()) // the DSN is a secret: never quoted
		}
	}
	if s.SentrySampleRate <= 0 || s.SentrySampleRate > 1 {
		bad("SENTRY_SAMPLE_RATE", strconv.FormatFloat(s.SentrySampleRate, 'g', -1, 64), "must be greater than 0 and at most 1")
	}

	for i, p := range s.TrustedProxies {
		if pfx, err := netip.ParsePrefix(p); err == nil {
			s.TrustedProxies[i] = pfx.Masked().String()
		} else if addr, err := netip.ParseAddr(p); err == nil {
			s.TrustedProxies[i] = netip.PrefixFrom(addr, addr.BitLen()).String()
		} else {
			bad("TRUSTED_PROXIES", p, "is not a CIDR or IP address")
		}
	}

	wildcardOrigin := false
	for i, o := range s.CORSOrigins {
		if o == "*" {
			wildcardOrigin = true
			continue
		}
		norm, ok := origin(o)
		if !ok {
			bad("BACKEND_CORS_ORIGINS", o, "is not an origin (use scheme://host[:port] or *)")
			continue
		}
		s.CORSOrigins[i] = norm
	}
	if wildcardOrigin && s.CORSAllowCredentials {
		bad("BACKEND_CORS_ORIGINS", "*", "cannot be combined with "+ld.name("CORS_ALLOW_CREDENTIALS")+"=true (list the allowed origins instead)")
	}

	for _, l := range []struct {
		name string
		list []string
	}{{"CORS_ALLOW_METHODS", s.CORSAllowMethods}, {"CORS_ALLOW_HEADERS", s.CORSAllowHeaders}} {
		if len(l.list) > 1 && slices.Contains(l.list, "*") {
			bad(l.name, strings.Join(l.list, ","), "* must be the only entry (it allows any)")
		}
	}

	if s.Environment == EnvProduction || s.Environment == EnvStaging {
		env := s.Environment
		switch {
		case s.SecretKey == "":
			bad("SECRET_KEY", "", "must be set in "+env)
		case len(s.SecretKey) < MinSecretKeyLen:
			bad("SECRET_KEY", "", fmt.Sprintf("must be at least %d bytes in %s (got %d)", MinSecretKeyLen, env, len(s.SecretKey)))
		}
	}
	if s.Environment == EnvProduction {
		if s.Debug {
			bad("DEBUG", "true", "must be off in production")
		}
		switch {
		case len(s.AllowedHosts) == 0:
			bad("ALLOWED_HOSTS", "", "must list the served host names in production")
		case slices.Contains(s.AllowedHosts, "*"):
			bad("ALLOWED_HOSTS", strings.Join(s.AllowedHosts, ","), "must not contain * in production (list the served host names)")
		}
	}
	return errs
}

// checkAddr returns why addr is not a host:port listen address, or "".
func checkAddr(addr string) string {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "is not a host:port address"
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return "has an invalid port"
	}
	return ""
}

// checkURL returns why raw is not a URL with one of the schemes, or "". An
// empty raw is fine.
func checkURL(raw string, schemes []string, needHost bool) string {
	if raw == "" {
		return ""
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" {
		return "is not a URL (want " + strings.Join(schemes, "://, ") + "://)"
	}
	scheme := strings.ToLower(u.Scheme)
	if !slices.Contains(schemes, scheme) {
		return "has scheme " + strconv.Quote(u.Scheme) + " (want " + strings.Join(schemes, ", ") + ")"
	}
	if needHost && scheme != "unix" && u.Host == "" {
		return "has no host"
	}
	return ""
}

// origin normalizes a CORS origin to scheme://host[:port], reporting whether
// o is one.
func origin(o string) (string, bool) {
	u, err := url.Parse(o)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
		u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return "", false
	}
	return u.Scheme + "://" + strings.ToLower(u.Host), true
}
