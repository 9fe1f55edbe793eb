package config

import (
	"time"

	"github.com/gantry-dev/gantry/middleware"
	"github.com/gantry-dev/gantry/openapi"
	"github.com/gantry-dev/gantry/server"
)

// ServerConfig returns the server.Config the settings describe: listen
// address, the http.Server timeouts and head limit, the drain, the body
// limit and request deadline, production mode, trusted proxies, allowed
// hosts, CORS (BACKEND_CORS_ORIGINS with CORS_ALLOW_METHODS,
// CORS_ALLOW_HEADERS and CORS_EXPOSE_HEADERS), the server-wide rate limit
// (RATE_LIMIT_REQUESTS per RATE_LIMIT_WINDOW per client address, in memory
// until the caller sets a shared Store), sessions (SESSION_MAX_AGE,
// SameSite=Lax, Secure cookies in production, a memory store until the
// caller sets a shared one) and metrics. It is the one place settings
// become server options; fields the settings do not cover (Logger, Now,
// Health, Middleware) are left for the caller.
//
// In settings a zero timeout means "none" (net/http's meaning), so it maps
// to a negative Config value.
func (s Settings) ServerConfig() server.Config {
	none := func(d time.Duration) time.Duration {
		if d == 0 {
			return -1
		}
		return d
	}
	cfg := server.Config{
		Addr:              s.HTTPAddr,
		ReadHeaderTimeout: none(s.ReadHeaderTimeout),
		ReadTimeout:       none(s.ReadTimeout),
		WriteTimeout:      none(s.WriteTimeout),
		IdleTimeout:       none(s.IdleTimeout),
		MaxHeaderBytes:    s.MaxHeaderBytes,
		ShutdownTimeout:   s.ShutdownTimeout,
		PreDrainDelay:     s.PreDrainDelay,
		MaxBodySize:       s.MaxBodySize,
		RequestTimeout:    none(s.RequestTimeout),
		Production:        s.IsProduction(),
		TrustedProxies:    s.TrustedProxies,
		AllowedHosts:      s.AllowedHosts,
		Metrics:           s.PrometheusEnabled,
		MetricsAddr:       s.MetricsAddr,
	}
	if len(s.CORSOrigins) > 0 {
		cfg.CORS = &middleware.CORSConfig{
			AllowOrigins:     s.CORSOrigins,
			AllowCredentials: s.CORSAllowCredentials,
			AllowMethods:     s.CORSAllowMethods,
			AllowHeaders:     s.CORSAllowHeaders,
			ExposeHeaders:    s.CORSExposeHeaders,
		}
	}
	if s.RateLimitRequests > 0 {
		window := s.RateLimitWindow
		if window <= 0 {
			window = time.Minute
		}
		cfg.RateLimit = &middleware.RateLimitConfig{
			Limit:  middleware.Limit{Rate: s.RateLimitRequests, Period: window},
			Policy: middleware.FailLocal, // a Redis outage or slow moment: the same limit per instance
		}
	}
	if len(s.SecretKey) >= MinSecretKeyLen {
		cfg.Sessions = &middleware.SessionConfig{
			SecretKey: s.SecretKey,
			Store:     middleware.NewMemorySessionStore(),
			MaxAge:    s.SessionMaxAge,
			Insecure:  !s.IsProduction(), // HTTPS-only cookies in production
		}
	}
	return cfg
}

// DocsConfig returns the openapi.DocsConfig the settings describe: served
// when [Settings.DocsOn] says so (DOCS_ENABLED, else everywhere but
// production), titled with the project name.
func (s Settings) DocsConfig() openapi.DocsConfig {
	return openapi.DocsConfig{Disabled: !s.DocsOn(), Title: s.ProjectName}
}
