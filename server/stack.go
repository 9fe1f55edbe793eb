package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/gantry-dev/gantry/health"
	"github.com/gantry-dev/gantry/middleware"
)

// MetricsPath is where the Prometheus metrics are served (on the app's
// listener unless Settings.MetricsAddr names another).
const MetricsPath = "/metrics"

// MiddlewareConfig holds what the default middleware stack needs beyond
// [config.Settings]: objects rather than settings. The zero value is valid.
type MiddlewareConfig struct {
	// Registerer receives the HTTP metrics, and Gatherer is what /metrics
	// serves. Default: a new registry of the server's own, with the Go and
	// process collectors. Set both (usually the same *prometheus.Registry)
	// to add the app's metrics to the same endpoint.
	Registerer prometheus.Registerer
	Gatherer   prometheus.Gatherer
	// RateLimitStore counts the stack-wide rate limit. Default a
	// [middleware.MemoryStore] (exact for one instance); pass a
	// [middleware.RedisStore] when several instances serve.
	RateLimitStore middleware.Store
	// Subject returns the authenticated subject of a request for the access
	// log, e.g. a func reading auth's principal; default none.
	Subject func(echo.Context) string
	// Customize, when set, gets the compiled stack configuration last, to
	// switch pieces off (set them nil) or replace them.
	Customize func(*middleware.StackConfig)
}

// installStack installs the default middleware stack as ONE echo
// middleware ([middleware.Stack]; echo re-wraps every e.Use layer on each
// request, one layer is cheaper). Outermost first:
//
//  1. request id: a valid incoming X-Request-ID is kept, else a fast unique id
//  2. access log (slog; level by status; health and metrics paths skipped)
//     and Prometheus metrics (route template labels): they see the final
//     status, errors included, because the stack renders errors itself
//  3. recover: a panic becomes a 500 envelope, logged with the stack and request id
//  4. security headers (nosniff, frame DENY, referrer policy; HSTS in production)
//  5. trusted hosts (Settings.AllowedHosts; health paths exempt so probes
//     by pod IP work): 400 invalid_host
//  6. CORS (echo's; Settings.CORSOrigins, CORSAllowCredentials): only
//     when the request has an Origin or is a preflight
//  7. rate limit (Settings.RateLimitRequests per RateLimitWindow per client
//     IP, IPv6 by /64; health and metrics exempt): RateLimit-* headers, 429 +
//     Retry-After; when the store fails or is slow, the same limit per
//     instance in memory (middleware.FailLocal), logged through
//     Config.Logger and counted on the metrics registry
//  8. decompress (echo's; gzip request bodies)
//  9. body limit (echo's; Config.MaxBodySize, applied to the decompressed
//     body, so a gzip bomb gets 413)
//  10. gzip responses (only with Accept-Encoding: gzip, from 1000 bytes;
//     responses already encoded, such as promhttp's, and 206 partial
//     content pass through untouched)
//  11. request deadline (Config.RequestTimeout on the request context; 504 on expiry)
//
// The client IP everywhere is echo's RealIP through
// [middleware.IPExtractor](Settings.TrustedProxies): the TCP peer, or
// X-Forwarded-For only from those proxies. With Settings.PrometheusEnabled,
// GET /metrics serves the Gatherer, or a separate listener does when
// Settings.MetricsAddr is set (started and stopped as a lifespan hook).
func (s *Server) installStack() error {
	e := s.echo
	st := s.cfg.Settings
	mc := s.cfg.Middleware

	ipx, err := middleware.IPExtractor(st.TrustedProxies)
	if err != nil {
		return err
	}
	e.IPExtractor = ipx

	exempt := map[string]bool{health.LivenessPath: true, health.ReadinessPath: true, health.DetailedPath: true, MetricsPath: true}
	skipExempt := func(c echo.Context) bool { return exempt[c.Request().URL.Path] }

	sc := middleware.StackConfig{
		Logger:    s.log,
		AccessLog: &middleware.AccessLogConfig{Logger: s.cfg.Logger, SkipPaths: []string{health.LivenessPath, health.ReadinessPath, MetricsPath}, Subject: mc.Subject},
		Secure:    new(middleware.DefaultSecureConfig(s.cfg.Production)),
		Timeout:   s.cfg.RequestTimeout,
	}
	if s.cfg.MaxBodySize > 0 {
		sc.BodyLimit = s.cfg.MaxBodySize
	}
	if len(st.AllowedHosts) > 0 {
		sc.TrustedHosts = &middleware.TrustedHostsConfig{AllowedHosts: st.AllowedHosts, Skipper: skipExempt}
	}
	if len(st.CORSOrigins) > 0 {
		sc.CORS = &middleware.CORSConfig{AllowOrigins: st.CORSOrigins, AllowCredentials: st.CORSAllowCredentials}
	}
	if st.RateLimitRequests > 0 {
		window := st.RateLimitWindow
		if window <= 0 {
			window = time.Minute
		}
		store := mc.RateLimitStore
		if store == nil {
			store = middleware.NewMemoryStore(middleware.MemoryStoreConfig{})
		}
		sc.RateLimit = &middleware.RateLimitConfig{
			Skipper: skipExempt,
			Store:   store,
			Limit:   middleware.Limit{Rate: st.RateLimitRequests, Period: window},
			Policy:  middleware.FailLocal, // a Redis outage or slow moment: the same limit per instance
		}
	}
	if st.PrometheusEnabled {
		reg, gat := mc.Registerer, mc.Gatherer
		if reg == nil && gat == nil {
			r := prometheus.NewRegistry()
			r.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
			reg, gat = r, r
		}
		if reg == nil || gat == nil {
			return errors.New("middleware config: set both Registerer and Gatherer, or neither")
		}
		s.reg = reg
		m, err := middleware.NewMetrics(middleware.MetricsConfig{Registerer: reg})
		if err != nil {
			return err
		}
		sc.Metrics = m
		h := middleware.MetricsHandler(gat)
		if st.MetricsAddr == "" {
			e.GET(MetricsPath, echo.WrapHandler(h))
		} else {
			s.AddHook(metricsListener(st.MetricsAddr, h))
		}
	}
	if sc.RateLimit != nil {
		sc.RateLimit.Logger, sc.RateLimit.Registerer = s.log, s.reg
	}
	if mc.Customize != nil {
		mc.Customize(&sc)
	}
	stack, err := middleware.NewStack(sc)
	if err != nil {
		return err
	}
	e.Use(stack.Middleware())
	return nil
}

// metricsListener serves /metrics on its own address for the server's lifetime.
func metricsListener(addr string, h http.Handler) Hook {
	var srv *http.Server
	errc := make(chan error, 1)
	return Hook{
		Name: "metrics listener " + addr,
		Start: func(ctx context.Context) error {
			ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", addr)
			if err != nil {
				return fmt.Errorf("metrics listener: %w", err)
			}
			mux := http.NewServeMux()
			mux.Handle("GET "+MetricsPath, h)
			srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
			go func() { errc <- srv.Serve(ln) }()
			return nil
		},
		Stop: func(ctx context.Context) error {
			err := srv.Shutdown(ctx)
			if serr := <-errc; serr != nil && !errors.Is(serr, http.ErrServerClosed) {
				err = errors.Join(err, serr)
			}
			return err
		},
	}
}

// RateLimit returns the rate-limit middleware cfg describes, for a group or
// route (e.g. a stricter login limit), with the server's logger and
// metrics registerer filled in where cfg leaves them nil: store failures
// are logged like the rest of the app, and fallbacks are counted in
// gantry_ratelimit_fallbacks_total on the /metrics the server serves
// (when Settings.PrometheusEnabled). Errors wrap middleware.ErrInvalidConfig.
func (s *Server) RateLimit(cfg middleware.RateLimitConfig) (echo.MiddlewareFunc, error) {
	if cfg.Logger == nil {
		cfg.Logger = s.log
	}
	if cfg.Registerer == nil {
		cfg.Registerer = s.reg
	}
	return cfg.ToMiddleware()
}
