package middleware

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/prometheus/client_golang/prometheus"
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
//
// After three failures in a row (a single slow call is decided by the
// policy alone) the limiter does not call the store for one second:
// requests are decided by the policy at once, then one request probes the
// store, and the first success puts it back in charge. Each trip is logged
// once (warn) through [RateLimitConfig.Logger], the return at info, and
// every request decided without the store is counted in
// gantry_ratelimit_fallbacks_total{limiter} on [RateLimitConfig.Registerer].
type FailurePolicy int

const (
	// FailLocal, the default, decides by a local in-memory GCRA limiter of
	// the same Limit ([MemoryStore]): each instance then admits at most
	// the limit on its own, so an outage of Redis neither takes routes
	// down nor lets a burst through. The local limiter also counts every
	// request the store admits and caps it, so a client is never given a
	// second quota by a slow moment (requests decided locally during a
	// timeout are unknown to the store): on one instance, never more than
	// the limit is admitted, whatever mix of answers and timeouts. It costs
	// one in-memory check (~100 ns) per request. (A [MemoryStore] itself
	// never fails.)
	FailLocal FailurePolicy = iota
	// FailOpen admits the request. Use it only where any limit is worse
	// than none while the store is out.
	FailOpen
	// FailClosed answers 503 ([ErrLimiterUnavailable]). Use it for routes
	// where an unlimited client is worse than no service, such as login.
	FailClosed
)

// retryStoreAfter is how long the limiter leaves a failed store alone,
// once tripAfter calls in a row have failed.
const (
	retryStoreAfter = time.Second
	tripAfter       = 3
)

// KeyFunc returns the key a request is limited by. An empty key skips
// limiting for that request (e.g. no API key sent: leave it to another
// limiter).
type KeyFunc func(c echo.Context) string

// KeyByIP limits by client address as echo's RealIP reports it: an IPv4
// address by itself, an IPv6 address by its /64 (one host is usually given
// a whole /64, so keying by the full address would hand it 2^64 quotas),
// an IPv4-mapped IPv6 address as the IPv4 one. Set echo.IPExtractor with
// [IPExtractor] first, or clients choose their own key through
// X-Forwarded-For. [KeyByIPPrefix] sets other prefix lengths.
func KeyByIP() KeyFunc { return KeyByIPPrefix(32, 64) }

// KeyByIPPrefix is [KeyByIP] with the prefix lengths given: IPv4
// addresses are keyed by their first ipv4Bits bits (0–32), IPv6 ones by
// their first ipv6Bits (0–128); out-of-range values are clamped. A RealIP
// that is not an address is used as it is.
func KeyByIPPrefix(ipv4Bits, ipv6Bits int) KeyFunc {
	ipv4Bits, ipv6Bits = min(max(ipv4Bits, 0), 32), min(max(ipv6Bits, 0), 128)
	return func(c echo.Context) string { return ipKey(c.RealIP(), ipv4Bits, ipv6Bits) }
}

// KeyBySubject limits by the authenticated subject that subject returns (the
// app passes e.g. a func reading auth's principal; middleware never imports
// auth). Requests without a subject fall back to [KeyByIP]'s key.
func KeyBySubject(subject func(echo.Context) string) KeyFunc {
	return func(c echo.Context) string {
		if s := subject(c); s != "" {
			return "sub:" + s
		}
		return ipKey(c.RealIP(), 32, 64)
	}
}

// KeyByHeader limits by the value of an API-key header; requests without
// it are not limited by this limiter. (Like every key, one longer than 128
// bytes is replaced by its SHA-256, so no client sets the size of a key.)
func KeyByHeader(name string) KeyFunc {
	name = http.CanonicalHeaderKey(name)
	return func(c echo.Context) string {
		if v := c.Request().Header[name]; len(v) > 0 && v[0] != "" {
			return "key:" + v[0]
		}
		return ""
	}
}

// RateLimitConfig configures the rate-limit middleware. Its response
// fields follow draft-ietf-httpapi-ratelimit-headers (-09/-10): every
// limited response carries
//
//	RateLimit: "default";r=99;t=1
//
// (the policy's name, the requests still admitted right now and the
// seconds until the quota is full again); a refused one is a 429
// "rate_limited" error ([ErrRateLimited]) that also carries the policy and
// Retry-After (seconds):
//
//	RateLimit-Policy: "default";q=100;w=60
//	Retry-After: 1
//
// q and w are Limit.Rate per Limit.Period in whole seconds (a Period that
// is not a whole number of seconds is rounded up, and q scaled to the
// same rate, rounded down). A client idle for long may spend up to Limit.Burst at
// once, so r may exceed q when Burst > Rate. The fields that draft -06 and
// earlier defined (RateLimit-Limit, -Remaining, -Reset) are not sent.
type RateLimitConfig struct {
	// Skipper skips limiting; default none.
	Skipper middleware.Skipper
	// Store holds the counters; required (e.g. [NewMemoryStore] or
	// [NewRedisStore]).
	Store Store
	// Limit is the rate; required.
	Limit Limit
	// Name scopes the keys so that route-scoped limiters sharing one Store
	// count separately (e.g. "login"), and names the policy in the
	// RateLimit fields; default "" (the key alone, and the policy
	// "default"). It must be printable ASCII (0x20–0x7E): it is sent as a
	// structured-field string, with any quote or backslash escaped.
	Name string
	// KeyFunc picks the key; default [KeyByIP].
	KeyFunc KeyFunc
	// Policy is applied when the store fails; default [FailLocal].
	Policy FailurePolicy
	// Timeout bounds each store call: for a [RedisStore], the Redis round
	// trip itself, once the call holds one of the store's connection slots
	// (see QueueTimeout); default 100ms. (go-redis honours it on reads
	// only with Options.ContextTimeoutEnabled or a ReadTimeout at most this
	// long; [NewRedisStore] documents it.)
	Timeout time.Duration
	// QueueTimeout bounds the wait for a connection slot of a [RedisStore]
	// (at most its MaxInFlight calls at once, so a call holding a slot
	// does not queue in go-redis's pool behind other checks): under a
	// burst checks wait their turn instead of timing out and being
	// decided by the policy (a check that waits longer is decided by the
	// policy too, but does not count as a store failure). Default 1s, or
	// Timeout when longer.
	QueueTimeout time.Duration
	// Logger receives store failures and recoveries; default
	// slog.Default(). The stack, and the server's RateLimit method for
	// route-scoped limiters, pass the server's logger.
	Logger *slog.Logger
	// Registerer receives gantry_ratelimit_fallbacks_total{limiter} (the
	// requests decided without the store); nil records none. Limiters
	// sharing a Registerer share the counter, labelled by Name ("default"
	// when empty).
	Registerer prometheus.Registerer
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
	queue   time.Duration
	log     *slog.Logger
	// redis is set when store is a *RedisStore: its calls take a slot
	// first, and the timeout covers only the call.
	redis *RedisStore
	// local decides under FailLocal while the store fails; it also
	// records what the store admits.
	local *MemoryStore
	// down is 0 while the store is in charge, else the unix ns until which
	// it is left alone.
	down      atomic.Int64
	fails     atomic.Int32 // failures since the last success
	fallbacks prometheus.Counter
	// Header values are shared immutable []string: assigning one to the
	// header map costs no allocation.
	fieldPrefix []byte     // `"<policy>";r=`, the constant start of RateLimit
	fields      []rlCache  // index = remaining, up to maxPrecomputed
	policyHdr   []string   // RateLimit-Policy, sent with a 429
	secondsHdr  [][]string // Retry-After, index = seconds, up to maxPrecomputed
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
	if err := validPolicyName(cfg.Name); err != nil {
		return nil, err
	}
	if cfg.Policy != FailLocal && cfg.Policy != FailOpen && cfg.Policy != FailClosed {
		return nil, fmt.Errorf("%w: unknown rate limit failure policy %d", ErrInvalidConfig, cfg.Policy)
	}
	l := &limiter{
		skipper: cfg.Skipper,
		store:   cfg.Store,
		limit:   cfg.Limit,
		key:     cfg.KeyFunc,
		policy:  cfg.Policy,
		timeout: cfg.Timeout,
		queue:   cfg.QueueTimeout,
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
	if l.queue <= 0 {
		l.queue = max(time.Second, l.timeout)
	}
	if l.log == nil {
		l.log = slog.Default()
	}
	l.memory, _ = cfg.Store.(*MemoryStore)
	l.redis, _ = cfg.Store.(*RedisStore)
	if l.memory == nil && l.policy == FailLocal {
		l.local = NewMemoryStore(MemoryStoreConfig{})
	}
	if l.memory == nil && cfg.Registerer != nil {
		c, err := fallbackCounter(cfg.Registerer)
		if err != nil {
			return nil, err
		}
		name := cfg.Name
		if name == "" {
			name = "default"
		}
		l.fallbacks = c.WithLabelValues(name)
	}
	policy := sfString(cmp.Or(cfg.Name, "default"))
	l.fieldPrefix = append([]byte(policy), ";r="...)
	l.fields = make([]rlCache, min(cfg.Limit.burst(), maxPrecomputed)+1)
	q, w := cfg.Limit.window()
	l.policyHdr = []string{policy + ";q=" + strconv.Itoa(q) + ";w=" + strconv.Itoa(w)}
	l.secondsHdr = make([][]string, maxPrecomputed+1)
	for i := range l.secondsHdr {
		l.secondsHdr[i] = []string{strconv.Itoa(i)}
	}
	return l, nil
}

const (
	hdrRateLimit  = "Ratelimit" // canonical form of RateLimit
	hdrPolicy     = "Ratelimit-Policy"
	hdrRetryAfter = "Retry-After"
)

func (l *limiter) intHdr(table [][]string, v int) []string {
	if v >= 0 && v < len(table) {
		return table[v]
	}
	return []string{strconv.Itoa(v)}
}

// rlCache holds the RateLimit value last built for one remaining count.
// For a given remaining count the seconds to reset vary little (by at
// most the emission interval), so a busy client finds its field here and
// the header costs no allocation; a miss builds and stores a new one.
type rlCache struct{ p atomic.Pointer[rlField] }

type rlField struct {
	t int
	v [1]string
}

// rateLimitField returns the RateLimit value `"<policy>";r=<r>;t=<t>`.
func (l *limiter) rateLimitField(r, t int) []string {
	var c *rlCache
	if r >= 0 && r < len(l.fields) {
		c = &l.fields[r]
		if f := c.p.Load(); f != nil && f.t == t {
			return f.v[:]
		}
	}
	var buf [64]byte
	b := append(buf[:0], l.fieldPrefix...)
	b = strconv.AppendInt(b, int64(r), 10)
	b = append(b, ";t="...)
	b = strconv.AppendInt(b, int64(t), 10)
	f := &rlField{t: t, v: [1]string{string(b)}}
	if c != nil {
		c.p.Store(f)
	}
	return f.v[:]
}

// window returns the policy's quota and window for RateLimit-Policy: Rate
// per Period, the Period rounded up to whole seconds and the quota scaled
// to it, rounded down (never above the rate).
func (l Limit) window() (quota, seconds int) {
	w := (l.Period + time.Second - 1) / time.Second
	if time.Duration(w)*time.Second == l.Period {
		return l.Rate, int(w)
	}
	q := int(float64(l.Rate) * float64(time.Duration(w)*time.Second) / float64(l.Period))
	return q, int(w)
}

// validPolicyName refuses a [RateLimitConfig.Name] that cannot be sent as a
// structured-field string (RFC 9651 §3.3.3: printable ASCII only).
func validPolicyName(name string) error {
	for i := 0; i < len(name); i++ {
		if c := name[i]; c < 0x20 || c > 0x7e {
			return fmt.Errorf("%w: rate limit Name %q: only printable ASCII (0x20-0x7E) can be sent in the RateLimit fields", ErrInvalidConfig, name)
		}
	}
	return nil
}

// sfString returns name as a structured-field string: quoted, with
// backslash and quote escaped. name is printable ASCII ([validPolicyName]).
func sfString(name string) string {
	b := make([]byte, 0, len(name)+2)
	b = append(b, '"')
	for i := 0; i < len(name); i++ {
		if c := name[i]; c == '"' || c == '\\' {
			b = append(b, '\\')
		}
		b = append(b, name[i])
	}
	return string(append(b, '"'))
}

// seconds rounds d up to whole seconds (headers speak seconds).
func seconds(d time.Duration) int {
	if d <= 0 {
		return 0
	}
	return int((d + time.Second - 1) / time.Second)
}

// fallbackCounter registers (or finds, when another limiter registered
// it first) the fallback counter on reg.
func fallbackCounter(reg prometheus.Registerer) (*prometheus.CounterVec, error) {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "gantry",
		Name:      "ratelimit_fallbacks_total",
		Help:      "Requests the rate limiter decided without its store (failing or over its timeout): by the local limit, or by the failure policy.",
	}, []string{"limiter"})
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(*prometheus.CounterVec); ok {
				return existing, nil
			}
		}
		return nil, fmt.Errorf("%w: rate limit fallback counter: %w", ErrInvalidConfig, err)
	}
	return c, nil
}

// maxKeyLen bounds the keys the limiter stores: a longer key (a long API
// key header, a forged address) is replaced by a hash.
const maxKeyLen = 128

// boundKey returns key, or "h:" and its SHA-256 when it is longer than
// maxKeyLen (76 bytes).
func boundKey(key string) string {
	if len(key) <= maxKeyLen {
		return key
	}
	sum := sha256.Sum256([]byte(key))
	return "h:" + hex.EncodeToString(sum[:])
}

// errStoreResting is the failure of a check that did not call the store
// because it failed less than retryStoreAfter ago.
var errStoreResting = errors.New("store failed recently; not called")

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
	key = boundKey(key)
	var res Result
	var err error
	if l.memory != nil {
		res = l.memory.allow(key, l.limit, now)
	} else {
		res, err = l.remote(c.Request().Context(), key, now)
	}
	if err != nil {
		if l.fallbacks != nil {
			l.fallbacks.Inc()
		}
		switch l.policy {
		case FailClosed:
			return newError(http.StatusServiceUnavailable, "rate limiter unavailable").Wrap(fmt.Errorf("%w: %w", ErrLimiterUnavailable, err))
		case FailOpen:
			return nil
		}
		res = l.local.allow(key, l.limit, now)
	}
	h := c.Response().Header()
	h[hdrRateLimit] = l.rateLimitField(max(res.Remaining, 0), seconds(res.ResetAfter))
	if res.Allowed {
		return nil
	}
	retry := max(seconds(res.RetryAfter), 1)
	h[hdrPolicy] = l.policyHdr
	h[hdrRetryAfter] = l.intHdr(l.secondsHdr, retry)
	return newError(http.StatusTooManyRequests, "rate limit exceeded, retry in "+strconv.Itoa(retry)+"s").WithType("rate_limited").Wrap(ErrRateLimited)
}

// remote asks the store, unless it failed less than retryStoreAfter ago
// (then one caller probes it when that time is up). Store failures and
// recoveries are logged once each.
func (l *limiter) remote(ctx context.Context, key string, now time.Time) (Result, error) {
	t := now.UnixNano()
	probing := false // this caller won the probe of a resting store
	if d := l.down.Load(); d != 0 {
		if t < d || !l.down.CompareAndSwap(d, t+int64(retryStoreAfter)) {
			return Result{}, errStoreResting
		}
		probing = true
	}
	var res Result
	var err error
	if l.redis != nil {
		down := &l.down
		if probing {
			down = nil
		}
		res, err = l.redis.allowWithin(ctx, key, l.limit, l.timeout, l.queue, down)
	} else {
		cctx, cancel := context.WithTimeout(ctx, l.timeout)
		res, err = l.store.Allow(cctx, key, l.limit)
		cancel()
	}
	if err != nil {
		// resting, an instance too busy to get a slot, or a client gone
		// away: none of these says the store is failing
		if errors.Is(err, errStoreResting) || errors.Is(err, errNoSlot) || ctx.Err() != nil {
			return Result{}, err
		}
		if !probing && l.fails.Add(1) < tripAfter {
			return Result{}, err // one slow call is not an outage
		}
		if l.down.Swap(time.Now().Add(retryStoreAfter).UnixNano()) == 0 {
			l.log.LogAttrs(ctx, slog.LevelWarn, "rate limit store failing; deciding without it",
				slog.String("policy", l.policy.String()), slog.String("key", key), slog.String("error", err.Error()),
				slog.Duration("retry_after", retryStoreAfter))
		}
		return Result{}, err
	}
	if l.fails.Load() != 0 {
		l.fails.Store(0)
	}
	if probing {
		l.down.Store(0)
		l.log.LogAttrs(ctx, slog.LevelInfo, "rate limit store back")
	}
	if l.local != nil && res.Allowed {
		// The local limit counts what the store admits and caps it: a
		// request decided locally during a timeout is unknown to the store,
		// so the store alone would hand this instance a second quota.
		if lr := l.local.allow(key, l.limit, now); !lr.Allowed {
			res = lr
		}
	}
	return res, nil
}

// String returns "local", "open" or "closed".
func (p FailurePolicy) String() string {
	switch p {
	case FailLocal:
		return "local"
	case FailOpen:
		return "open"
	case FailClosed:
		return "closed"
	}
	return "FailurePolicy(" + strconv.Itoa(int(p)) + ")"
}
