package middleware

import (
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"go.opentelemetry.io/otel/trace"
)

// StackConfig configures [Stack]: the default middleware stack as ONE
// echo middleware. Each piece is the same piece its XxxConfig.ToMiddleware
// builds alone, Skipper included; a nil pointer (or zero value) switches a
// piece off. The order is fixed and documented in the package doc.
type StackConfig struct {
	// Logger receives recovered panics and limiter failures; default
	// slog.Default().
	Logger *slog.Logger
	// RequestID configures request ids ([RequestIDConfig]).
	RequestID RequestIDConfig
	// DisableRequestID turns off request ids.
	DisableRequestID bool
	// Recover configures the recovery of panics ([RecoverConfig]); its
	// Logger defaults to the stack's Logger.
	Recover RecoverConfig
	// DisableRecover lets panics through (to echo's default handling).
	DisableRecover bool
	// AccessLog configures the access log; nil turns it off.
	AccessLog *AccessLogConfig
	// Metrics records Prometheus metrics; nil turns them off.
	Metrics *Metrics
	// Tracing starts an OpenTelemetry server span per request
	// ([TracingConfig]), outermost, so the access log, the request's log
	// lines and the latency exemplar carry its ids; nil turns it off and
	// costs nothing.
	Tracing *TracingConfig
	// Secure configures the security headers; nil turns them off.
	Secure *SecureConfig
	// HeaderLimit refuses request heads over HeaderLimit.Limit bytes
	// with 431; nil turns it off.
	HeaderLimit *HeaderLimitConfig
	// TrustedHosts configures the Host allow-list; nil turns it off.
	TrustedHosts *TrustedHostsConfig
	// CORS configures CORS; nil turns it off.
	CORS *CORSConfig
	// RateLimit configures the stack-wide rate limit; nil turns it off.
	// Its Logger defaults to the stack's Logger and its Registerer to the
	// one Metrics was built with. Limits of a group or route are further
	// RateLimitConfig middlewares on them.
	RateLimit *RateLimitConfig
	// BodyLimit caps request bodies in bytes, after decompression
	// ([BodyLimitConfig]: a group or route may set its own cap, higher or
	// lower); 0 turns the limit off.
	BodyLimit int64
	// DisableDecompress leaves Content-Encoding: gzip bodies compressed.
	DisableDecompress bool
	// GzipMinLength is the smallest response compressed ([GzipConfig]'s
	// MinLength); default 1000; negative turns response compression off.
	GzipMinLength int
	// Timeout is the deadline of the request context (see
	// [TimeoutConfig]); a handler failing with context.DeadlineExceeded
	// answers 504 "timeout" ([ErrTimeout]); 0 turns it off.
	Timeout time.Duration
}

// Stack is the composed default middleware. Create it with [NewStack];
// safe for concurrent use.
type Stack struct {
	log        *slog.Logger
	requestID  *requestIDs
	recover    *recoverer
	access     *accessLog
	tracer     *tracer
	metrics    *Metrics
	secure     *secure
	headers    *headerLimit
	hosts      *trustedHosts
	cors       *cors
	limiter    *limiter
	body       *bodyLimit
	decompress echo.MiddlewareFunc
	gzip       *gzipper
	deadline   *deadline
	vary       [4][]string // index: bit 0 Origin, bit 1 Accept-Encoding
}

// NewStack compiles cfg; errors wrap [ErrInvalidConfig].
func NewStack(cfg StackConfig) (*Stack, error) {
	s := &Stack{log: cfg.Logger}
	if s.log == nil {
		s.log = slog.Default()
	}
	if !cfg.DisableRequestID {
		s.requestID = cfg.RequestID.compile()
	}
	if !cfg.DisableRecover {
		s.recover = cfg.Recover.compile(s.log)
	}
	if cfg.AccessLog != nil {
		s.access = newAccessLog(*cfg.AccessLog)
	}
	s.metrics = cfg.Metrics
	var err error
	if cfg.Tracing != nil {
		if s.tracer, err = cfg.Tracing.compile(); err != nil {
			return nil, err
		}
	}
	if cfg.Secure != nil {
		s.secure = cfg.Secure.compile()
	}
	if cfg.HeaderLimit != nil {
		if s.headers, err = cfg.HeaderLimit.compile(); err != nil {
			return nil, err
		}
	}
	if cfg.TrustedHosts != nil {
		if s.hosts, err = cfg.TrustedHosts.compile(); err != nil {
			return nil, err
		}
		if s.hosts.hc == nil { // "*": nothing to check
			s.hosts = nil
		}
	}
	if cfg.CORS != nil {
		if s.cors, err = cfg.CORS.compile(); err != nil {
			return nil, err
		}
	}
	if cfg.RateLimit != nil {
		rc := *cfg.RateLimit
		if rc.Logger == nil {
			rc.Logger = s.log
		}
		if rc.Registerer == nil && s.metrics != nil {
			rc.Registerer = s.metrics.reg
		}
		if s.limiter, err = newLimiter(rc); err != nil {
			return nil, err
		}
	}
	if cfg.BodyLimit < 0 {
		return nil, fmt.Errorf("%w: Stack: negative BodyLimit", ErrInvalidConfig)
	}
	if cfg.BodyLimit > 0 {
		if s.body, err = (BodyLimitConfig{Limit: cfg.BodyLimit}).compile(); err != nil {
			return nil, err
		}
	}
	if !cfg.DisableDecompress {
		dc := middleware.DecompressConfig{}
		if s.body != nil {
			dc.MaxDecompressedSize = -1 // the body limit counts the decompressed bytes
		}
		s.decompress = middleware.DecompressWithConfig(dc)
	}
	if cfg.GzipMinLength >= 0 {
		if s.gzip, err = newGzipper(0, cfg.GzipMinLength); err != nil {
			return nil, err
		}
	}
	if cfg.Timeout < 0 {
		return nil, fmt.Errorf("%w: Stack: negative Timeout", ErrInvalidConfig)
	}
	if cfg.Timeout > 0 {
		s.deadline = &deadline{timeout: cfg.Timeout}
	}
	for i := range s.vary { // one header line, e.g. "Vary: Origin, Accept-Encoding"
		var v []string
		if i&1 != 0 {
			v = append(v, echo.HeaderOrigin)
		}
		if i&2 != 0 {
			v = append(v, echo.HeaderAcceptEncoding)
		}
		if len(v) > 0 {
			s.vary[i] = []string{strings.Join(v, ", ")}[:1:1]
		}
	}
	return s, nil
}

// Middleware returns the stack as one echo middleware: install it with a
// single e.Use (echo re-wraps every e.Use layer on every request, so one
// layer instead of twelve saves allocations and time).
//
// The stack renders errors itself (c.Error) so the access log and metrics
// see the final status: middlewares outside it see nil.
func (s *Stack) Middleware() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error { return s.serve(c, next) }
	}
}

func (s *Stack) serve(c echo.Context, next echo.HandlerFunc) error {
	if s.tracer != nil && (s.tracer.skip == nil || !s.tracer.skip(c)) {
		return s.traced(c, next)
	}
	return s.serveSpan(c, next, nil)
}

// traced serves c inside its server span (a function of its own, so the
// untraced path pays for no deferred call).
func (s *Stack) traced(c echo.Context, next echo.HandlerFunc) error {
	span := s.tracer.start(c)
	defer span.End() // also when a panic passes; ending twice is a no-op
	return s.serveSpan(c, next, span)
}

// serveSpan serves c; span is the request's server span, or nil.
func (s *Stack) serveSpan(c echo.Context, next echo.HandlerFunc, span trace.Span) error {
	start := time.Now() // one clock read serves latency, deadline and limiter
	observe := s.metrics != nil && (s.metrics.skipper == nil || !s.metrics.skipper(c))
	logged := s.access != nil && !s.access.skip(c)
	var rid string
	if s.requestID != nil {
		rid = s.requestID.assign(c)
	}
	if observe {
		s.metrics.inFlight.Inc()
		defer s.metrics.inFlight.Dec() // also when a panic passes (ErrAbortHandler, DisableRecover)
	}
	err := s.guarded(c, next, start)
	if err != nil {
		c.Error(err)
	}
	if observe || logged {
		d := time.Since(start)
		if observe {
			if span != nil {
				s.metrics.observeExemplar(c, d, span.SpanContext())
			} else {
				s.metrics.observe(c, d)
			}
		}
		if logged {
			s.logRequest(c, d, rid)
		}
	}
	if span != nil {
		s.tracer.end(c, span, err)
	}
	return nil
}

func (s *Stack) logRequest(c echo.Context, d time.Duration, rid string) {
	req, res := c.Request(), c.Response()
	level := levelFor(res.Status)
	ctx := req.Context()
	al := s.access
	if !al.logger.Enabled(ctx, level) {
		return
	}
	bytesIn := max(req.ContentLength, 0)
	route := c.Path()
	if route == "" {
		route = UnmatchedRoute
	}
	var subject string
	if al.subject != nil {
		subject = al.subject(c)
	}
	logRequest(ctx, al.logger, level, req.Method, route, req.URL.Path, res.Status, d, bytesIn, res.Size, rid, c.RealIP(), subject)
}

// guarded runs the rest of the stack under recover.
func (s *Stack) guarded(c echo.Context, next echo.HandlerFunc, start time.Time) (err error) {
	if s.recover != nil && (s.recover.skip == nil || !s.recover.skip(c)) {
		defer func() {
			if r := recover(); r != nil {
				err = s.recover.recovered(c, r)
			}
		}()
	}
	if s.secure != nil {
		s.secure.apply(c)
	}
	if s.headers != nil {
		if err := s.headers.check(c); err != nil {
			return err
		}
	}
	if s.hosts != nil {
		if err := s.hosts.check(c); err != nil {
			return err
		}
	}
	vary := s.varyGzip(c)
	if s.cors != nil && (s.cors.skip == nil || !s.cors.skip(c)) {
		if s.cors.applies(c.Request()) {
			v := vary // captured by value: vary itself stays on the stack
			return s.cors.serve(c, func(c echo.Context) error { return s.inner(c, next, v, start) })
		}
		vary |= 1
	}
	return s.inner(c, next, vary, start)
}

// varyGzip returns the Vary bit of Accept-Encoding: set whenever gzip is
// on for c, whether or not this client accepts it (the gzip writer never
// adds a second one).
func (s *Stack) varyGzip(c echo.Context) int {
	if s.gzip != nil && !s.gzip.skipped(c) {
		return 2
	}
	return 0
}

func (s *Stack) inner(c echo.Context, next echo.HandlerFunc, vary int, start time.Time) error {
	if vary != 0 {
		h := c.Response().Header()
		if len(h[echo.HeaderVary]) == 0 {
			h[echo.HeaderVary] = s.vary[vary]
		} else {
			h[echo.HeaderVary] = append(h[echo.HeaderVary], s.vary[vary]...)
		}
	}
	if s.limiter != nil && (s.limiter.skipper == nil || !s.limiter.skipper(c)) {
		if err := s.limiter.check(c, start); err != nil {
			return err
		}
	}
	// The rest wraps next only where it has work to do: wrapping
	// allocates, and most requests need none of it.
	req := c.Request()
	h := next
	if vary&2 != 0 && acceptsGzip(req) {
		h = s.gzip.wrap(h)
	}
	if req.Body != nil && req.Body != http.NoBody {
		if s.decompress != nil && len(req.Header[echo.HeaderContentEncoding]) > 0 {
			if s.body != nil { // inside Decompress: it caps the decompressed body
				h = s.body.wrap(h)
			}
			h = s.decompress(h)
		} else if s.body != nil {
			s.body.applyTo(c)
		}
	}
	if s.deadline != nil {
		return s.deadline.serve(c, start, h)
	}
	return h(c)
}
