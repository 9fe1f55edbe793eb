package middleware

import (
	"fmt"
	"log/slog"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
)

// StackConfig configures [Stack]: the default middleware stack as ONE
// echo middleware. A nil pointer (or zero value) switches a piece off;
// each piece is also available alone (its XxxConfig.ToMiddleware).
// The order is fixed and documented in the package doc.
type StackConfig struct {
	// Logger receives recovered panics and limiter failures; default
	// slog.Default().
	Logger *slog.Logger
	// DisableRequestID turns off request ids (X-Request-ID: a valid
	// incoming one is kept, else one is generated).
	DisableRequestID bool
	// RequestIDGenerator makes new ids; default [NewRequestIDGenerator]().
	RequestIDGenerator func() string
	// DisableRecover lets panics through (to echo's default handling).
	DisableRecover bool
	// AccessLog configures the access log; nil turns it off.
	AccessLog *AccessLogConfig
	// Metrics records Prometheus metrics; nil turns them off.
	Metrics *Metrics
	// Secure configures the security headers; nil turns them off.
	Secure *SecureConfig
	// TrustedHosts configures the Host allow-list; nil turns it off.
	TrustedHosts *TrustedHostsConfig
	// CORS configures CORS (echo's middleware); nil turns it off.
	CORS *CORSConfig
	// RateLimit configures the stack-wide rate limit; nil turns it off.
	// Its Logger defaults to the stack's Logger and its Registerer to the
	// one Metrics was built with.
	// Route-scoped limits (login) are separate RateLimitConfig middlewares
	// on those routes.
	RateLimit *RateLimitConfig
	// BodyLimit caps request bodies in bytes, after decompression (echo's
	// BodyLimit and Decompress); 0 turns the limit off.
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
	genID      func() string
	recover    bool
	access     *accessLog
	metrics    *Metrics
	secure     *headerSet
	hosts      *hostChecker
	hostsSkip  middleware.Skipper
	checkHosts bool
	cors       echo.MiddlewareFunc
	corsSkip   middleware.Skipper
	limiter    *limiter
	bodyLimit  echo.MiddlewareFunc
	decompress echo.MiddlewareFunc
	gzip       *gzipper
	timeout    time.Duration
	vary       [4][]string // index: bit 0 Origin, bit 1 Accept-Encoding
}

// NewStack compiles cfg; errors wrap [ErrInvalidConfig].
func NewStack(cfg StackConfig) (*Stack, error) {
	s := &Stack{log: cfg.Logger, recover: !cfg.DisableRecover}
	if s.log == nil {
		s.log = slog.Default()
	}
	if !cfg.DisableRequestID {
		s.genID = cfg.RequestIDGenerator
		if s.genID == nil {
			s.genID = NewRequestIDGenerator()
		}
	}
	if cfg.AccessLog != nil {
		s.access = newAccessLog(*cfg.AccessLog)
	}
	s.metrics = cfg.Metrics
	if cfg.Secure != nil {
		if cfg.Secure.Skipper != nil {
			return nil, fmt.Errorf("%w: Stack: Secure.Skipper is not supported inside the stack", ErrInvalidConfig)
		}
		s.secure = cfg.Secure.headers()
	}
	if cfg.TrustedHosts != nil {
		hc, err := newHostChecker(cfg.TrustedHosts.AllowedHosts)
		if err != nil {
			return nil, err
		}
		s.hosts, s.hostsSkip, s.checkHosts = hc, cfg.TrustedHosts.Skipper, hc != nil
	}
	if cfg.CORS != nil {
		ec, err := cfg.CORS.echoConfig()
		if err != nil {
			return nil, err
		}
		s.cors, s.corsSkip = middleware.CORSWithConfig(ec), cfg.CORS.Skipper
	}
	if cfg.RateLimit != nil {
		rc := *cfg.RateLimit
		if rc.Logger == nil {
			rc.Logger = s.log
		}
		if rc.Registerer == nil && s.metrics != nil {
			rc.Registerer = s.metrics.reg
		}
		l, err := newLimiter(rc)
		if err != nil {
			return nil, err
		}
		s.limiter = l
	}
	if cfg.BodyLimit < 0 {
		return nil, fmt.Errorf("%w: Stack: negative BodyLimit", ErrInvalidConfig)
	}
	if cfg.BodyLimit > 0 {
		s.bodyLimit = middleware.BodyLimitWithConfig(middleware.BodyLimitConfig{Limit: strconv.FormatInt(cfg.BodyLimit, 10) + "B"})
	}
	if !cfg.DisableDecompress {
		dc := middleware.DecompressConfig{}
		if cfg.BodyLimit > 0 {
			dc.MaxDecompressedSize = cfg.BodyLimit
		}
		s.decompress = middleware.DecompressWithConfig(dc)
	}
	if cfg.GzipMinLength >= 0 {
		ml := cfg.GzipMinLength
		if ml == 0 {
			ml = 1000
		}
		g, err := newGzipper(0, ml)
		if err != nil {
			return nil, err
		}
		s.gzip = g
	}
	if cfg.Timeout < 0 {
		return nil, fmt.Errorf("%w: Stack: negative Timeout", ErrInvalidConfig)
	}
	s.timeout = cfg.Timeout
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
	start := time.Now() // one clock read serves latency, deadline and limiter
	observe := s.metrics != nil && (s.metrics.skipper == nil || !s.metrics.skipper(c))
	logged := s.access != nil && !s.access.skip(c)
	req, res := c.Request(), c.Response()
	var rid string
	if s.genID != nil {
		if v := req.Header[echo.HeaderXRequestID]; len(v) > 0 && ValidRequestID(v[0]) {
			rid = v[0]
		} else {
			rid = s.genID()
		}
		res.Header()[echo.HeaderXRequestID] = []string{rid}
	}
	if observe {
		s.metrics.inFlight.Inc()
		defer s.metrics.inFlight.Dec() // also when a panic passes (ErrAbortHandler, DisableRecover)
	}
	if err := s.guarded(c, next, start); err != nil {
		c.Error(err)
	}
	if observe || logged {
		d := time.Since(start)
		if observe {
			s.metrics.observe(c, d)
		}
		if logged {
			s.logRequest(c, d, rid)
		}
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
	if s.recover {
		defer func() {
			if r := recover(); r != nil {
				if r == http.ErrAbortHandler {
					panic(r)
				}
				err = s.recovered(c, r)
			}
		}()
	}
	req := c.Request()
	h := c.Response().Header()
	if s.secure != nil {
		s.secure.apply(h)
	}
	if s.checkHosts && (s.hostsSkip == nil || !s.hostsSkip(c)) && !s.hosts.allowed(req.Host) {
		return errInvalidHost
	}
	vary := 0
	if s.cors != nil {
		if len(req.Header[echo.HeaderOrigin]) > 0 || req.Method == http.MethodOptions {
			if s.corsSkip == nil || !s.corsSkip(c) {
				return s.cors(func(c echo.Context) error { return s.inner(c, next, s.varyGzip(), start) })(c)
			}
		} else {
			vary |= 1
		}
	}
	return s.inner(c, next, vary|s.varyGzip(), start)
}

// varyGzip returns the Vary bit of Accept-Encoding: set whenever gzip is
// on, whether or not this client accepts it (the gzip writer never adds a
// second one).
func (s *Stack) varyGzip() int {
	if s.gzip != nil {
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
	// The rest wraps next only where it has work to do: echo's
	// middlewares allocate per wrap, and most requests need none of them.
	req := c.Request()
	h := next
	if s.gzip != nil && acceptsGzip(req) {
		h = s.gzip.wrap(h)
	}
	if req.Body != nil && req.Body != http.NoBody {
		if s.bodyLimit != nil { // inside Decompress: it limits the decompressed body
			h = s.bodyLimit(h)
		}
		if s.decompress != nil && len(req.Header[echo.HeaderContentEncoding]) > 0 {
			h = s.decompress(h)
		}
	}
	if s.timeout > 0 {
		return withDeadline(c, start.Add(s.timeout), h)
	}
	return h(c)
}

func (s *Stack) recovered(c echo.Context, r any) error {
	buf := make([]byte, 8<<10)
	buf = buf[:runtime.Stack(buf, false)]
	req := c.Request()
	s.log.LogAttrs(req.Context(), slog.LevelError, "panic recovered",
		slog.String("request_id", c.Response().Header().Get(echo.HeaderXRequestID)),
		slog.String("method", req.Method), slog.String("path", req.URL.Path),
		slog.Any("panic", r), slog.String("stack", string(buf)))
	if c.Response().Committed {
		return nil // too late for an error response; the log has it
	}
	return newError(http.StatusInternalServerError, "internal server error").Wrap(fmt.Errorf("%w: %v", ErrPanic, r))
}
