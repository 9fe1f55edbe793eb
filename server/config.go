package server

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/gantry-dev/gantry/health"
	"github.com/gantry-dev/gantry/middleware"
	"github.com/gantry-dev/gantry/report"
)

// Config configures a [Server]. The zero value is valid: every zero field
// takes the default its comment names.
type Config struct {
	// Addr is the TCP address Run listens on. Default ":8000".
	Addr string

	// ReadHeaderTimeout, ReadTimeout, WriteTimeout and IdleTimeout bound each
	// connection as in net/http. Defaults 10s, 30s, 30s and 120s; a negative
	// value means no timeout.
	ReadHeaderTimeout time.Duration
	ReadTimeout       time.Duration
	WriteTimeout      time.Duration
	IdleTimeout       time.Duration

	// MaxHeaderBytes caps the request head (request line and header
	// fields): a longer one answers 431 with the error envelope. Default
	// 64 KiB. The listener accepts [HeaderMargin] more, so that the stack
	// can answer.
	MaxHeaderBytes int

	// ShutdownTimeout bounds the graceful drain of in-flight requests once
	// Run's context ends. Default 15s.
	ShutdownTimeout time.Duration

	// PreDrainDelay keeps serving (with readiness answering 503) this long
	// before the listener closes, so load balancers stop sending new
	// requests first. Default 0.
	PreDrainDelay time.Duration

	// StopHookTimeout bounds each stop hook that sets no timeout of its own.
	// Default 10s.
	StopHookTimeout time.Duration

	// MaxBodySize caps request bodies (413 beyond it). Default 1 MiB; a
	// negative value means no cap. A group or route sets its own cap,
	// higher (uploads) or lower, with [middleware.BodyLimitConfig].
	MaxBodySize int64

	// RequestTimeout is the deadline put on each request's context. Default
	// 30s; negative means none.
	RequestTimeout time.Duration

	// Production hides details meant for developers (error texts in health
	// reports) and turns on production-only protections (HSTS).
	Production bool

	// Logger receives the server's logs. Default slog.Default(), read once in New.
	Logger *slog.Logger

	// Now is the clock used for envelope timestamps. Default time.Now.
	Now func() time.Time

	// Health is the registry served at /health, /health/ready and
	// /health/detailed; its readiness turns 503 when the drain begins. Nil
	// means a new, empty registry (add checks through [Server.Health]).
	Health *health.Registry

	// DisableHealthRoutes leaves the health routes unmounted, for apps that
	// serve them elsewhere.
	DisableHealthRoutes bool

	// TrustedProxies lists the CIDRs (or IPs) of proxies whose
	// X-Forwarded-For is believed; the client IP is the TCP peer otherwise
	// ([middleware.IPExtractor]).
	TrustedProxies []string

	// AllowedHosts is the Host allow-list ("*.example.com" allowed; "*"
	// allows all); nil turns the check off. Health paths are exempt, so
	// probes by pod IP work.
	AllowedHosts []string

	// CORS configures cross-origin requests; nil turns CORS off.
	CORS *middleware.CORSConfig

	// RateLimit is the server-wide rate limit; nil turns it off. Where it
	// leaves them unset: Store is a new [middleware.MemoryStore] (exact for
	// one instance; pass a [middleware.RedisStore] when several serve),
	// Skipper exempts the health and metrics paths, Logger and Registerer
	// are the server's. A group or route adds its own limit with
	// [Server.RateLimit].
	RateLimit *middleware.RateLimitConfig

	// Sessions, when set, makes [Server.Sessions] serve sessions with it
	// (cookies HttpOnly and SameSite=Lax; Secure unless Insecure). Nil
	// means no sessions.
	Sessions *middleware.SessionConfig

	// Metrics serves Prometheus metrics at [MetricsPath]: on the main
	// listener, or on MetricsAddr's own when set (started and stopped as a
	// lifespan hook).
	Metrics     bool
	MetricsAddr string

	// Middleware gives the default middleware stack the objects it uses
	// (metrics registry, subject func); see stack.go.
	Middleware MiddlewareConfig

	// Reporter, if set, hears of every unexpected error once, with the
	// request id: each 5xx answer but 503 and 504, and each recovered
	// panic, even one after the response was committed (see package
	// [report] for what an event carries and never carries). Its user id
	// is Middleware.Subject's. Nil reports nothing.
	Reporter report.Reporter
}

// HeaderMargin is how many bytes above MaxHeaderBytes the listener
// accepts: heads in the margin reach the stack, which answers 431 with the
// error envelope; beyond it net/http answers its own plain-text 431.
const HeaderMargin = 8 << 10

func (c Config) withDefaults() Config {
	if c.Addr == "" {
		c.Addr = ":8000"
	}
	def := func(d *time.Duration, v time.Duration) {
		switch {
		case *d == 0:
			*d = v
		case *d < 0:
			*d = 0 // net/http: zero means no timeout
		}
	}
	def(&c.ReadHeaderTimeout, 10*time.Second)
	def(&c.ReadTimeout, 30*time.Second)
	def(&c.WriteTimeout, 30*time.Second)
	def(&c.IdleTimeout, 120*time.Second)
	def(&c.RequestTimeout, 30*time.Second)
	if c.MaxHeaderBytes == 0 {
		c.MaxHeaderBytes = 64 << 10
	}
	if c.ShutdownTimeout == 0 {
		c.ShutdownTimeout = 15 * time.Second
	}
	if c.StopHookTimeout == 0 {
		c.StopHookTimeout = 10 * time.Second
	}
	if c.MaxBodySize == 0 {
		c.MaxBodySize = 1 << 20
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

func (c Config) validate() error {
	var errs []error
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		errs = append(errs, fmt.Errorf("addr %q: %w", c.Addr, err))
	}
	if c.MaxHeaderBytes < 0 {
		errs = append(errs, fmt.Errorf("max header bytes %d is negative", c.MaxHeaderBytes))
	}
	if c.ShutdownTimeout < 0 || c.PreDrainDelay < 0 || c.StopHookTimeout < 0 {
		errs = append(errs, errors.New("shutdown timeout, pre-drain delay and stop hook timeout must not be negative"))
	}
	return errors.Join(errs...)
}
