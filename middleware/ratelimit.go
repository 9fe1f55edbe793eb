package middleware

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
)

// Limit is a rate: Rate requests per Period, of which up to Burst may come
// at once. The algorithm is GCRA (generic cell rate algorithm): one request
// is admitted every Period/Rate on average, and a client that has been idle
// may spend Burst requests at once.
type Limit struct {
	Rate   int           // requests per Period; must be > 0
	Period time.Duration // must be > 0
	Burst  int           // 0 means Rate (the whole quota may be spent at once)
}

// PerMinute returns a Limit of n requests per minute with burst n.
func PerMinute(n int) Limit { return Limit{Rate: n, Period: time.Minute} }

// PerSecond returns a Limit of n requests per second with burst n.
func PerSecond(n int) Limit { return Limit{Rate: n, Period: time.Second} }

func (l Limit) burst() int {
	if l.Burst <= 0 {
		return l.Rate
	}
	return l.Burst
}

// interval is the emission interval Period/Rate.
func (l Limit) interval() time.Duration { return l.Period / time.Duration(l.Rate) }

func (l Limit) validate() error {
	if l.Rate <= 0 || l.Period <= 0 {
		return fmt.Errorf("%w: rate limit needs Rate > 0 and Period > 0, got %d per %s", ErrInvalidConfig, l.Rate, l.Period)
	}
	if l.interval() <= 0 {
		return fmt.Errorf("%w: rate limit %d per %s is finer than 1ns", ErrInvalidConfig, l.Rate, l.Period)
	}
	return nil
}

// Result is the outcome of one [Store.Allow] call.
type Result struct {
	Allowed    bool          // the request is admitted
	Limit      int           // the burst (the most requests admitted at once)
	Remaining  int           // requests still admitted right now
	ResetAfter time.Duration // until the key is back to a full quota
	RetryAfter time.Duration // until the next request is admitted (0 when Allowed)
}

// Store keeps rate-limit state. Allow counts one request for key against
// limit atomically; implementations are safe for concurrent use. Errors are
// the store's own (e.g. Redis unreachable): the middleware applies its
// [FailurePolicy] to them.
type Store interface {
	Allow(ctx context.Context, key string, limit Limit) (Result, error)
}

// FailurePolicy says what the rate-limit middleware does when its [Store]
// fails or exceeds [RateLimitConfig.Timeout].
type FailurePolicy int

const (
	// FailOpen admits the request (logged at warn). The default: an outage
	// of Redis must not take general routes down.
	FailOpen FailurePolicy = iota
	// FailClosed answers 503 ([ErrLimiterUnavailable]). Use it for routes
	// where an unlimited client is worse than no service, such as login.
	FailClosed
)

// KeyFunc returns the key a request is limited by. An empty key skips
// limiting for that request (e.g. no API key sent: leave it to another
// limiter).
type KeyFunc func(c echo.Context) string

// KeyByIP limits by client address as echo's RealIP reports it: set
// echo.IPExtractor with [IPExtractor] first, or clients choose their own key
// through X-Forwarded-For.
func KeyByIP() KeyFunc { return func(c echo.Context) string { return c.RealIP() } }

// KeyBySubject limits by the authenticated subject that subject returns (the
// app passes e.g. a func reading auth's principal; middleware never imports
// auth). Requests without a subject fall back to the client IP.
func KeyBySubject(subject func(echo.Context) string) KeyFunc {
	return func(c echo.Context) string {
		if s := subject(c); s != "" {
			return "sub:" + s
		}
		return c.RealIP()
	}
}

// KeyByHeader limits by the value of an API-key header; requests without
// it are not limited by this limiter.
func KeyByHeader(name string) KeyFunc {
	name = http.CanonicalHeaderKey(name)
	return func(c echo.Context) string {
		if v := c.Request().Header[name]; len(v) > 0 && v[0] != "" {
			return "key:" + v[0]
		}
		return ""
	}
}

// RateLimitConfig configures the rate-limit middleware. Every limited
// response carries RateLimit-Limit, RateLimit-Remaining and RateLimit-Reset
// (seconds); a refused one is a 429 "rate_limited" error ([ErrRateLimited])
// with Retry-After (seconds) set.
type RateLimitConfig struct {
	// Skipper skips limiting; default none.
	Skipper middleware.Skipper
	// Store holds the counters; required (e.g. [NewMemoryStore] or
	// [NewRedisStore]).
	Store Store
	// Limit is the rate; required.
	Limit Limit
	// Name scopes the keys so that route-scoped limiters sharing one Store
	// count separately (e.g. "login"); default "" (the key alone).
	Name string
	// KeyFunc picks the key; default [KeyByIP].
	KeyFunc KeyFunc
	// Policy is applied when the store fails; default [FailOpen].
	Policy FailurePolicy
	// Timeout bounds each store call; default 100ms. (go-redis honours it
	// on reads only with Options.ContextTimeoutEnabled or a ReadTimeout at
	// most this long; [NewRedisStore] documents it.)
	Timeout time.Duration
	// Logger receives store failures; default slog.Default().
	Logger *slog.Logger
}

// ToMiddleware returns the rate-limit middleware, or an error wrapping
// [ErrInvalidConfig].
func (cfg RateLimitConfig) ToMiddleware() (echo.MiddlewareFunc, error) {
	l, err := newLimiter(cfg)
	if err != nil {
		return nil, err
	}
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if l.skipper != nil && l.skipper(c) {
				return next(c)
			}
			if err := l.check(c, time.Now()); err != nil {
				return err
			}
			return next(c)
		}
	}, nil
}

// limiter is the compiled form of a RateLimitConfig, shared by the
// standalone middleware and the composed stack.
type limiter struct {
	skipper middleware.Skipper
	store   Store
	limit   Limit
	prefix  string
	key     KeyFunc
	policy  FailurePolicy
	timeout time.Duration
	log     *slog.Logger
	// precomputed header values: assigning a shared immutable []string to
	// the header map costs no allocation.
	limitHdr     []string
	remainingHdr [][]string // index = remaining, up to maxPrecomputed
	secondsHdr   [][]string // index = seconds, up to maxPrecomputed
	// memory is set when store is a *MemoryStore: called directly, it
	// needs no context with timeout.
	memory *MemoryStore
}

const maxPrecomputed = 4096

func newLimiter(cfg RateLimitConfig) (*limiter, error) {
	if cfg.Store == nil {
		return nil, fmt.Errorf("%w: rate limit needs a Store", ErrInvalidConfig)
	}
	if err := cfg.Limit.validate(); err != nil {
		return nil, err
	}
	if cfg.Policy != FailOpen && cfg.Policy != FailClosed {
		return nil, fmt.Errorf("%w: unknown rate limit failure policy %d", ErrInvalidConfig, cfg.Policy)
	}
	l := &limiter{
		skipper: cfg.Skipper,
		store:   cfg.Store,
		limit:   cfg.Limit,
		key:     cfg.KeyFunc,
		policy:  cfg.Policy,
		timeout: cfg.Timeout,
		log:     cfg.Logger,
	}
	if cfg.Name != "" {
		l.prefix = cfg.Name + ":"
	}
	if l.key == nil {
		l.key = KeyByIP()
	}
	if l.timeout <= 0 {
		l.timeout = 100 * time.Millisecond
	}
	if l.log == nil {
		l.log = slog.Default()
	}
	l.memory, _ = cfg.Store.(*MemoryStore)
	l.limitHdr = []string{strconv.Itoa(cfg.Limit.burst())}
	n := min(cfg.Limit.burst(), maxPrecomputed)
	l.remainingHdr = make([][]string, n+1)
	for i := range l.remainingHdr {
		l.remainingHdr[i] = []string{strconv.Itoa(i)}
	}
	l.secondsHdr = make([][]string, maxPrecomputed+1)
	for i := range l.secondsHdr {
		l.secondsHdr[i] = []string{strconv.Itoa(i)}
	}
	return l, nil
}

const (
	hdrLimit      = "Ratelimit-Limit" // canonical form of RateLimit-Limit
	hdrRemaining  = "Ratelimit-Remaining"
	hdrReset      = "Ratelimit-Reset"
	hdrRetryAfter = "Retry-After"
)

func (l *limiter) intHdr(table [][]string, v int) []string {
	if v >= 0 && v < len(table) {
		return table[v]
	}
	return []string{strconv.Itoa(v)}
}

// seconds rounds d up to whole seconds (headers speak seconds).
func seconds(d time.Duration) int {
	if d <= 0 {
		return 0
	}
	return int((d + time.Second - 1) / time.Second)
}

// check counts the request and sets the headers; it returns the error to
// answer with, or nil to go on.
func (l *limiter) check(c echo.Context, now time.Time) error {
	key := l.key(c)
	if key == "" {
		return nil
	}
	if l.prefix != "" {
		key = l.prefix + key
	}
	var res Result
	var err error
	if l.memory != nil {
		res = l.memory.allow(key, l.limit, now)
	} else {
		ctx, cancel := context.WithTimeout(c.Request().Context(), l.timeout)
		res, err = l.store.Allow(ctx, key, l.limit)
		cancel()
	}
	if err != nil {
		if l.policy == FailClosed {
			l.log.LogAttrs(c.Request().Context(), slog.LevelError, "rate limiter unavailable, refusing request",
				slog.String("key", key), slog.String("error", err.Error()))
			return &Error{Status: http.StatusServiceUnavailable, Message: "rate limiter unavailable", Err: fmt.Errorf("%w: %w", ErrLimiterUnavailable, err)}
		}
		l.log.LogAttrs(c.Request().Context(), slog.LevelWarn, "rate limiter unavailable, admitting request",
			slog.String("key", key), slog.String("error", err.Error()))
		return nil
	}
	h := c.Response().Header()
	h[hdrLimit] = l.limitHdr
	h[hdrRemaining] = l.intHdr(l.remainingHdr, res.Remaining)
	h[hdrReset] = l.intHdr(l.secondsHdr, seconds(res.ResetAfter))
	if res.Allowed {
		return nil
	}
	retry := max(seconds(res.RetryAfter), 1)
	h[hdrRetryAfter] = l.intHdr(l.secondsHdr, retry)
	return &Error{Status: http.StatusTooManyRequests, Type: "rate_limited", Message: "rate limit exceeded, retry in " + strconv.Itoa(retry) + "s", Err: ErrRateLimited}
}
