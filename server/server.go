package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/gantry-dev/gantry/health"
	"github.com/gantry-dev/gantry/middleware"
)

// Hook is a named piece of the server's lifespan, the seed's `lifespan`:
// Start runs before the listener opens, Stop after the drain. Either may be
// nil.
type Hook struct {
	Name string
	// Start runs in registration order. If it fails, the Stop functions of
	// the hooks already started run in reverse and Run returns the error.
	Start func(ctx context.Context) error
	// Stop runs in reverse registration order after in-flight requests have
	// drained, bounded by Timeout. Every Stop runs, whatever the others return.
	Stop func(ctx context.Context) error
	// Timeout bounds Stop. Zero means Config.StopHookTimeout.
	Timeout time.Duration
}

// Server is an echo v4 application with a lifespan, a default middleware
// stack and one error envelope. Build it with [New], register routes on
// [Server.Echo] or [Server.Group], then call [Server.Run].
//
// Routes and hooks must be registered before Run; after that a Server is safe
// for concurrent use.
type Server struct {
	cfg      Config
	log      *slog.Logger
	echo     *echo.Echo
	health   *health.Registry
	hooks    []Hook
	reg      prometheus.Registerer // the metrics registry; nil without metrics
	sessions *middleware.Sessions  // nil without Config.Sessions

	draining []func(bool) // told when the drain begins
	running  atomic.Bool
	addr     atomic.Pointer[net.Addr]
	ready    chan struct{}
	once     sync.Once
}

// New returns a Server with the default middleware stack installed, or an
// error if cfg is invalid.
func New(cfg Config) (*Server, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("server: invalid config: %w", err)
	}
	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	e.Logger.SetOutput(discard{})
	s := &Server{
		cfg:   cfg,
		log:   cfg.Logger.With("component", "server"),
		echo:  e,
		ready: make(chan struct{}),
	}
	e.HTTPErrorHandler = errorHandler(s.log, cfg.Now, cfg.Reporter, cfg.Middleware.Subject)
	e.Validator = newValidator()
	e.IPExtractor = echo.ExtractIPDirect() // never trust X-Forwarded-For by default
	if err := s.installStack(); err != nil {
		return nil, fmt.Errorf("server: middleware: %w", err)
	}
	s.health = cfg.Health
	if s.health == nil {
		s.health = health.New(health.Config{Production: cfg.Production, Logger: cfg.Logger, Now: cfg.Now})
	}
	s.OnDrain(s.health.SetDraining)
	if !cfg.DisableHealthRoutes {
		s.health.Mount(e)
	}
	return s, nil
}

// Echo returns the underlying echo instance, for anything Server does not wrap.
func (s *Server) Echo() *echo.Echo { return s.echo }

// Group returns a route group under prefix, such as "/api/v1". The
// middleware given runs after the default stack, for this group only.
func (s *Server) Group(prefix string, m ...echo.MiddlewareFunc) *echo.Group {
	return s.echo.Group(prefix, m...)
}

// Health returns the server's health registry, to register checks on.
func (s *Server) Health() *health.Registry { return s.health }

// Logger returns the server's logger.
func (s *Server) Logger() *slog.Logger { return s.log }

// Config returns the server's configuration with defaults filled in.
func (s *Server) Config() Config { return s.cfg }

// AddHook appends a lifespan hook. It must be called before Run.
func (s *Server) AddHook(h Hook) {
	if s.running.Load() {
		panic("server: AddHook called after Run")
	}
	s.hooks = append(s.hooks, h)
}

// OnDrain registers f to be told when the graceful drain begins (true). The
// health registry uses it to turn readiness to 503.
func (s *Server) OnDrain(f func(draining bool)) { s.draining = append(s.draining, f) }

// Ready is closed once the listener is open and serving.
func (s *Server) Ready() <-chan struct{} { return s.ready }

// Addr returns the address the server listens on, or nil before it does.
func (s *Server) Addr() net.Addr {
	if a := s.addr.Load(); a != nil {
		return *a
	}
	return nil
}

// Run runs the start hooks, listens on Config.Addr and serves until ctx
// ends. Then it drains: readiness turns 503, after PreDrainDelay the listener
// closes, in-flight requests finish within ShutdownTimeout (connections still
// open after it are closed), and the stop hooks run in reverse order. Run
// returns nil after a clean shutdown; the joined errors of the drain and stop
// hooks otherwise. It never installs signal handlers: main does that with
// signal.NotifyContext. Run may be called once.
func (s *Server) Run(ctx context.Context) error {
	return s.serve(ctx, nil)
}

// Serve is Run on a listener the caller opened (tests use 127.0.0.1:0). The
// start hooks still run before the first connection is accepted. Serve takes
// ownership of ln and closes it.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	return s.serve(ctx, ln)
}

func (s *Server) serve(ctx context.Context, ln net.Listener) error {
	if !s.running.CompareAndSwap(false, true) {
		if ln != nil {
			ln.Close()
		}
		return errors.New("server: Run called twice")
	}
	started, err := s.start(ctx)
	if err != nil {
		if ln != nil {
			ln.Close()
		}
		return errors.Join(err, s.stop(ctx, started))
	}
	if ln == nil {
		if ln, err = net.Listen("tcp", s.cfg.Addr); err != nil {
			return errors.Join(fmt.Errorf("server: listen: %w", err), s.stop(ctx, started))
		}
	}
	a := ln.Addr()
	s.addr.Store(&a)
	srv := &http.Server{
		Handler:           s.echo,
		ReadHeaderTimeout: s.cfg.ReadHeaderTimeout,
		ReadTimeout:       s.cfg.ReadTimeout,
		WriteTimeout:      s.cfg.WriteTimeout,
		IdleTimeout:       s.cfg.IdleTimeout,
		MaxHeaderBytes:    s.cfg.MaxHeaderBytes + HeaderMargin, // the stack answers 431 up to the margin
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	s.once.Do(func() { close(s.ready) })
	s.log.LogAttrs(ctx, slog.LevelInfo, "listening", slog.String("addr", a.String()))

	select {
	case err := <-errc: // the listener failed: nothing to drain
		return errors.Join(fmt.Errorf("server: serve: %w", err), s.stop(ctx, started))
	case <-ctx.Done():
	}
	return s.drain(ctx, srv, errc, started)
}

func (s *Server) drain(ctx context.Context, srv *http.Server, errc <-chan error, started []Hook) error {
	ctx = context.WithoutCancel(ctx)
	begin := time.Now()
	s.log.LogAttrs(ctx, slog.LevelInfo, "draining", slog.Duration("pre_drain_delay", s.cfg.PreDrainDelay),
		slog.Duration("timeout", s.cfg.ShutdownTimeout))
	for _, f := range s.draining {
		f(true)
	}
	if d := s.cfg.PreDrainDelay; d > 0 {
		time.Sleep(d)
	}
	var errs []error
	sctx, cancel := context.WithTimeout(ctx, s.cfg.ShutdownTimeout)
	err := srv.Shutdown(sctx)
	cancel()
	if err != nil {
		errs = append(errs, fmt.Errorf("server: drain: %w", err))
		_ = srv.Close() // cut what is left
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		errs = append(errs, fmt.Errorf("server: serve: %w", err))
	}
	errs = append(errs, s.stop(ctx, started))
	err = errors.Join(errs...)
	level := slog.LevelInfo
	if err != nil {
		level = slog.LevelError
	}
	s.log.LogAttrs(ctx, level, "stopped", slog.Duration("took", time.Since(begin)), slog.Any("error", err))
	return err
}

// start runs the start hooks in order and returns those that started.
func (s *Server) start(ctx context.Context) ([]Hook, error) {
	var started []Hook
	for _, h := range s.hooks {
		if h.Start != nil {
			if err := h.Start(ctx); err != nil {
				return started, fmt.Errorf("server: start hook %q: %w", h.Name, err)
			}
		}
		started = append(started, h)
	}
	return started, nil
}

// stop runs the stop hooks of started in reverse, each bounded by its
// timeout, and joins their errors. A hook that overruns its timeout is left
// behind (its error says so) and the next one runs.
func (s *Server) stop(ctx context.Context, started []Hook) error {
	ctx = context.WithoutCancel(ctx)
	var errs []error
	for i := len(started) - 1; i >= 0; i-- {
		h := started[i]
		if h.Stop == nil {
			continue
		}
		timeout := h.Timeout
		if timeout <= 0 {
			timeout = s.cfg.StopHookTimeout
		}
		hctx, cancel := context.WithTimeout(ctx, timeout)
		done := make(chan error, 1)
		go func() { done <- h.Stop(hctx) }()
		var err error
		select {
		case err = <-done:
		case <-hctx.Done():
			err = fmt.Errorf("did not return within %s: %w", timeout, hctx.Err())
		}
		cancel()
		if err != nil {
			err = fmt.Errorf("server: stop hook %q: %w", h.Name, err)
			s.log.LogAttrs(ctx, slog.LevelError, "stop hook failed", slog.String("hook", h.Name), slog.String("error", err.Error()))
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
