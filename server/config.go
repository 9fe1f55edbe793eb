package server

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/gantry-dev/gantry/config"
	"github.com/gantry-dev/gantry/health"
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

	// MaxHeaderBytes caps request headers. Default 64 KiB.
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
	// negative value means no cap. Routes that take uploads raise it for
	// themselves.
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

	// Settings, when set, gives the default middleware stack the settings it
	// reads (CORS origins, allowed hosts, trusted proxies, rate limits, log
	// format, metrics). Nil means a zero Settings: request id, access log,
	// recover, security headers, body limit, gzip and the deadline are on;
	// trusted hosts, CORS, rate limiting and metrics, which need settings,
	// are off. Use [FromSettings] with config.Load's result for the full stack.
	Settings *config.Settings

	// Middleware gives the default middleware stack what settings cannot
	// (metrics registry, rate-limit store, subject func); see stack.go.
	Middleware MiddlewareConfig
}

// FromSettings returns the Config the settings describe. Fields that the
// settings do not cover (Logger, Now) are left for the caller to set.
//
// In settings a zero timeout means "none" (net/http's meaning), so it maps to
// a negative Config value.
func FromSettings(s *config.Settings) Config {
	none := func(d time.Duration) time.Duration {
		if d == 0 {
			return -1
		}
		return d
	}
	return Config{
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
		Settings:          s,
	}
}

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
	if c.Settings == nil {
		c.Settings = &config.Settings{}
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
