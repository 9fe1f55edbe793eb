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
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/gantry-dev/gantry/health"
	"github.com/gantry-dev/gantry/middleware"
)

// MetricsPath is where the Prometheus metrics are served (on the app's
// listener unless Config.MetricsAddr names another).
const MetricsPath = "/metrics"

// MiddlewareConfig holds the objects the default middleware stack uses
// beyond [Config]'s options. The zero value is valid.
type MiddlewareConfig struct {
	// Registerer receives the HTTP metrics, and Gatherer is what /metrics
	// serves. Default: a new registry of the server's own, with the Go and
	// process collectors. Set both (usually the same *prometheus.Registry)
	// to add the app's metrics to the same endpoint.
	Registerer prometheus.Registerer
	Gatherer   prometheus.Gatherer
	// Subject returns the authenticated subject of a request for the access
	// log, e.g. a func reading auth's principal; default none.
	Subject func(echo.Context) string
	// TracerProvider, if set, gives every request a server span
	// ([middleware.TracingConfig]; health and metrics paths excepted), its
	// ids in the access log line (through a logger built with
	// tracing.LogHandler) and on the latency histogram as exemplars. Nil,
	// the default, means no tracing piece in the stack at all.
	TracerProvider trace.TracerProvider
	// Propagator reads the incoming trace context; default W3C
	// traceparent/tracestate.
	Propagator propagation.TextMapPropagator
}

// installStack installs the default middleware stack as ONE echo
// middleware ([middleware.Stack]; echo re-wraps every e.Use layer on each
// request, one layer is cheaper). Outermost first:
//
//  0. tracing (MiddlewareConfig.TracerProvider): the request's server span,
//     child of an incoming W3C traceparent, named by the route template
//  1. request id: a valid incoming X-Request-ID is kept, else a fast unique id
//  2. access log (slog; level by status; health and metrics paths skipped)
//     and Prometheus metrics (route template labels): they see the final
//     status, errors included, because the stack renders errors itself
//  3. recover: a panic becomes a 500 envelope, logged with the stack and request id
//  4. security headers (nosniff, frame DENY; HSTS in production; no
//     Referrer-Policy, which only HTML needs: middleware.SecureConfig)
//  5. header limit: a head over Config.MaxHeaderBytes answers 431
//  6. trusted hosts (Config.AllowedHosts; health paths exempt so probes
//     by pod IP work): 400 invalid_host
//  7. CORS (Config.CORS): only when the request has an Origin or is a
//     preflight
//  8. rate limit (Config.RateLimit, per client IP by default, IPv6 by
//     /64; health and metrics exempt): the RateLimit field, 429 +
//     RateLimit-Policy and Retry-After; when the store fails or is slow, the same limit per
//     instance in memory (middleware.FailLocal), logged through
//     Config.Logger and counted on the metrics registry
//  9. decompress (echo's; gzip request bodies)
//  10. body limit (Config.MaxBodySize, applied to the decompressed
//     body, so a gzip bomb gets 413; groups and routes may set their own)
//  11. gzip responses (only with Accept-Encoding: gzip, from 1000 bytes;
//     responses already encoded, such as promhttp's, and 206 partial
//     content pass through untouched)
//  12. request deadline (Config.RequestTimeout on the request context; 504 on expiry)
//
// The client IP everywhere is echo's RealIP through
// [middleware.IPExtractor](Config.TrustedProxies): the TCP peer, or
// X-Forwarded-For only from those proxies. With Config.Metrics, GET
// /metrics serves the Gatherer, or a separate listener does when
// Config.MetricsAddr is set (started and stopped as a lifespan hook).
func (s *Server) installStack() error {
	e := s.echo
	cfg := s.cfg
	mc := cfg.Middleware

	ipx, err := middleware.IPExtractor(cfg.TrustedProxies)
	if err != nil {
		return err
	}
	e.IPExtractor = ipx

	exempt := map[string]bool{health.LivenessPath: true, health.ReadinessPath: true, health.DetailedPath: true, MetricsPath: true}
	skipExempt := func(c echo.Context) bool { return exempt[c.Request().URL.Path] }

	sc := middleware.StackConfig{
		Logger:      s.log,
		AccessLog:   &middleware.AccessLogConfig{Logger: cfg.Logger, SkipPaths: []string{health.LivenessPath, health.ReadinessPath, MetricsPath}, Subject: mc.Subject},
		Secure:      new(middleware.DefaultSecureConfig(cfg.Production)),
		HeaderLimit: &middleware.HeaderLimitConfig{Limit: cfg.MaxHeaderBytes},
		Timeout:     cfg.RequestTimeout,
		CORS:        cfg.CORS,
	}
	if cfg.MaxBodySize > 0 {
		sc.BodyLimit = cfg.MaxBodySize
	}
	if mc.TracerProvider != nil {
		sc.Tracing = &middleware.TracingConfig{TracerProvider: mc.TracerProvider, Propagator: mc.Propagator, Skipper: skipExempt}
	}
	if len(cfg.AllowedHosts) > 0 {
		sc.TrustedHosts = &middleware.TrustedHostsConfig{AllowedHosts: cfg.AllowedHosts, Skipper: skipExempt}
	}
	if cfg.RateLimit != nil {
		rl := *cfg.RateLimit
		if rl.Store == nil {
			rl.Store = middleware.NewMemoryStore(middleware.MemoryStoreConfig{})
		}
		if rl.Skipper == nil {
			rl.Skipper = skipExempt
		}
		sc.RateLimit = &rl
	}
	if cfg.Metrics {
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
		if cfg.MetricsAddr == "" {
			e.GET(MetricsPath, echo.WrapHandler(h))
		} else {
			s.AddHook(metricsListener(cfg.MetricsAddr, h))
		}
	}
	if sc.RateLimit != nil {
		if sc.RateLimit.Logger == nil {
			sc.RateLimit.Logger = s.log
		}
		if sc.RateLimit.Registerer == nil {
			sc.RateLimit.Registerer = s.reg
		}
	}
	if cfg.Sessions != nil {
		if s.sessions, err = middleware.NewSessions(*cfg.Sessions); err != nil {
			return err
		}
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
// (when Config.Metrics). It applies in addition to Config.RateLimit.
// Errors wrap middleware.ErrInvalidConfig.
func (s *Server) RateLimit(cfg middleware.RateLimitConfig) (echo.MiddlewareFunc, error) {
	if cfg.Logger == nil {
		cfg.Logger = s.log
	}
	if cfg.Registerer == nil {
		cfg.Registerer = s.reg
	}
	return cfg.ToMiddleware()
}

// Sessions returns the server's sessions (Config.Sessions), or nil when
// none are configured. Handlers call its Get, Save, Renew and Destroy.
func (s *Server) Sessions() *middleware.Sessions { return s.sessions }
