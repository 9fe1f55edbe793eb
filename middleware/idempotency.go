package middleware

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/prometheus/client_golang/prometheus"
)

// Header names of the idempotency middleware.
const (
	// IdempotencyKeyHeader is the request header carrying the key.
	IdempotencyKeyHeader = "Idempotency-Key"
	// IdempotentReplayedHeader is set to "true" on a replayed response.
	IdempotentReplayedHeader = "Idempotent-Replayed"
)

// Sentinel errors of [IdempotencyConfig]; each is wrapped in an [*Error].
var (
	// ErrInvalidIdempotencyKey is returned (as a 400
	// "invalid_idempotency_key") for a key that is empty, sent twice,
	// longer than MaxKeyLength or not printable ASCII, and for a missing
	// key when the config Requires one.
	ErrInvalidIdempotencyKey = errors.New("middleware: invalid idempotency key")
	// ErrIdempotencyKeyReused is returned (as a 422
	// "idempotency_key_reused") when a key is sent again with a different
	// request (method, path and query, or body).
	ErrIdempotencyKeyReused = errors.New("middleware: idempotency key reused for a different request")
	// ErrIdempotencyInProgress is returned (as a 409
	// "idempotency_in_progress", Retry-After: 1) when a request with the
	// same key is still running, on this instance or another.
	ErrIdempotencyInProgress = errors.New("middleware: request with this idempotency key in progress")
	// ErrIdempotencyNotStored is returned (as a 422
	// "idempotency_response_not_stored") for a repeat of a request that
	// completed but whose response was larger than MaxResponseSize (or
	// did not fit a full [MemoryIdempotencyStore]): it ran once and is not
	// run again, and its response cannot be replayed.
	ErrIdempotencyNotStored = errors.New("middleware: idempotent response not stored")
	// ErrIdempotencyUnavailable is returned (as a 503, Retry-After: 1)
	// when the [IdempotencyStore] fails or times out and FailOpen is off.
	ErrIdempotencyUnavailable = errors.New("middleware: idempotency store unavailable")
	// ErrIdempotencyLeaseLost is returned by an [IdempotencyStore]'s
	// Complete when the key no longer holds the caller's reservation (its
	// lease expired, and another request may have taken it).
	ErrIdempotencyLeaseLost = errors.New("middleware: idempotency reservation lost")
)

// IdempotentResponse is a stored response: its status, the headers the
// handler set and its body, byte for byte.
type IdempotentResponse struct {
	Status int
	Header http.Header
	Body   []byte
}

// IdempotencyRecord is what an [IdempotencyStore] holds for one key: a
// reservation while the first request runs (Done false, Token set), then
// its outcome (Done true) with the Response, or none when the response was
// not kept.
type IdempotencyRecord struct {
	// Fingerprint identifies the request (method, path and query, body).
	Fingerprint string
	// Token identifies the reservation while the request runs.
	Token string
	// Done is true once the request has completed.
	Done bool
	// Response is the response to replay; nil while the request runs or
	// when it was not kept.
	Response *IdempotentResponse
}

// IdempotencyStore keeps idempotency records by key, shared by every
// instance that must never run the same key twice. Implementations are
// safe for concurrent use and make Reserve atomic: of any number of
// concurrent Reserves of one key, across instances, exactly one succeeds.
type IdempotencyStore interface {
	// Reserve records key as in flight (a record with fingerprint and
	// token, Done false) that expires after lease, and returns true;
	// when the key already holds a record it changes nothing and returns
	// that record and false.
	Reserve(ctx context.Context, key, fingerprint, token string, lease time.Duration) (IdempotencyRecord, bool, error)
	// Complete replaces the reservation token holds with rec (Done),
	// kept for ttl. It returns [ErrIdempotencyLeaseLost] when key no
	// longer holds that reservation.
	Complete(ctx context.Context, key, token string, rec IdempotencyRecord, ttl time.Duration) error
	// Release deletes the reservation token holds, so the key can be used
	// again; it does nothing when key holds another record.
	Release(ctx context.Context, key, token string) error
}

// IdempotencyConfig configures the idempotency middleware, opt-in per
// route or group: a request with an Idempotency-Key header runs once per
// key and client, and a repeat gets the first response again.
//
// Only unsafe methods are keyed (safe ones, GET, HEAD, OPTIONS and TRACE,
// pass through). For a keyed request the middleware reads the body (it is
// restored for the handler; the body limit in force bounds it, so install
// the middleware after a route's own [BodyLimitConfig]) and fingerprints
// the method, the path with its query and the body's SHA-256. Then:
//
//   - the first request reserves the key in the store and runs; its
//     response (status, the headers the handler set except Set-Cookie,
//     and the body byte for byte) is stored for TTL, unless its status is
//     5xx: then the reservation is released and a retry runs again
//   - a repeat with the same fingerprint gets the stored response with
//     Idempotent-Replayed: true, without running the handler
//   - a repeat with a different fingerprint gets 422
//     ([ErrIdempotencyKeyReused])
//   - a repeat while the first still runs gets 409
//     ([ErrIdempotencyInProgress]), also from another instance on the
//     same store; a reservation whose instance died expires after Lease
//   - a repeat of a request whose response exceeded MaxResponseSize gets
//     422 ([ErrIdempotencyNotStored]): the request is not run twice, and
//     its response is gone; the client uses a new key to run it again
//
// Keys are scoped to the client: the authenticated subject Subject
// returns, else the client address (echo's RealIP: set
// echo.Echo.IPExtractor with [IPExtractor]), so one client cannot read
// another's response by guessing its key. Install the middleware after
// authentication and guards, so a refused request neither reserves nor
// stores a key.
//
// When the store fails or exceeds Timeout, the request is answered 503
// ([ErrIdempotencyUnavailable]: the client retries with the same key,
// which is safe), or with FailOpen run without protection. Either way it
// is logged (a warning when the store starts failing, info when it is
// back) and counted in gantry_idempotency_store_failures_total. A failure
// to store the response after the handler ran leaves the reservation to
// expire after Lease: repeats get 409 until then, and run again after.
type IdempotencyConfig struct {
	// Skipper skips the middleware; default none.
	Skipper middleware.Skipper
	// Store keeps the records; required ([NewRedisIdempotencyStore] for
	// several instances, [NewMemoryIdempotencyStore] for one).
	Store IdempotencyStore
	// Name scopes the keys, so that several idempotent route sets sharing
	// a Store never meet; default "" (the keys alone).
	Name string
	// Subject returns the authenticated subject of a request, or "" when
	// anonymous (the client address is used then); default none (every
	// request is scoped by its address).
	Subject func(echo.Context) string
	// Required answers 400 ([ErrInvalidIdempotencyKey]) to a keyed method
	// without the header; default false (such requests pass through).
	Required bool
	// TTL is how long a completed request's record is kept; default 24h.
	TTL time.Duration
	// Lease is how long a reservation holds the key while the first
	// request runs; it should exceed the request deadline. Default 1m.
	Lease time.Duration
	// MaxResponseSize is the largest response body stored, in bytes;
	// default 1 MiB. A larger response is served but not stored.
	MaxResponseSize int
	// MaxKeyLength is the longest key accepted, in bytes; default 255.
	MaxKeyLength int
	// FailOpen runs requests without protection while the store fails;
	// default false (503).
	FailOpen bool
	// Timeout bounds each store call; default 1s.
	Timeout time.Duration
	// Logger receives store failures and recoveries; default
	// slog.Default().
	Logger *slog.Logger
	// Registerer receives gantry_idempotency_store_failures_total{name}
	// (store calls that failed or timed out); nil records none.
	Registerer prometheus.Registerer
}

// ToMiddleware returns the idempotency middleware, or an error wrapping
// [ErrInvalidConfig].
func (cfg IdempotencyConfig) ToMiddleware() (echo.MiddlewareFunc, error) {
	m, err := newIdempotency(cfg)
	if err != nil {
		return nil, err
	}
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error { return m.serve(c, next) }
	}, nil
}

// Idempotency returns the idempotency middleware on store with the
// defaults of [IdempotencyConfig] and subject as its Subject (nil scopes
// by client address); it fails without a store.
func Idempotency(store IdempotencyStore, subject func(echo.Context) string) (echo.MiddlewareFunc, error) {
	return IdempotencyConfig{Store: store, Subject: subject}.ToMiddleware()
}

type idempotency struct {
	cfg      IdempotencyConfig
	prefix   string
	log      *slog.Logger
	failures prometheus.Counter
	failing  atomic.Bool
}

func newIdempotency(cfg IdempotencyConfig) (*idempotency, error) {
	if cfg.Store == nil {
		return nil, fmt.Errorf("%w: idempotency needs a Store", ErrInvalidConfig)
	}
	if cfg.TTL < 0 || cfg.Lease < 0 || cfg.MaxResponseSize < 0 || cfg.MaxKeyLength < 0 || cfg.Timeout < 0 {
		return nil, fmt.Errorf("%w: idempotency durations and sizes must not be negative", ErrInvalidConfig)
	}
	if cfg.TTL == 0 {
		cfg.TTL = 24 * time.Hour
	}
	if cfg.Lease == 0 {
		cfg.Lease = time.Minute
	}
	if cfg.MaxResponseSize == 0 {
		cfg.MaxResponseSize = 1 << 20
	}
	if cfg.MaxKeyLength == 0 {
		cfg.MaxKeyLength = 255
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = time.Second
	}
	if cfg.TTL < time.Millisecond || cfg.Lease < time.Millisecond {
		return nil, fmt.Errorf("%w: idempotency TTL and Lease must be at least 1ms", ErrInvalidConfig)
	}
	m := &idempotency{cfg: cfg, log: cfg.Logger}
	if m.log == nil {
		m.log = slog.Default()
	}
	if cfg.Name != "" {
		m.prefix = cfg.Name + ":"
	}
	if cfg.Registerer != nil {
		c := prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "gantry",
			Name:      "idempotency_store_failures_total",
			Help:      "Idempotency store calls that failed or timed out (the request was answered 503, or run without protection under FailOpen).",
		}, []string{"name"})
		if err := cfg.Registerer.Register(c); err != nil {
			var are prometheus.AlreadyRegisteredError
			existing, ok := (*prometheus.CounterVec)(nil), false
			if errors.As(err, &are) {
				existing, ok = are.ExistingCollector.(*prometheus.CounterVec)
			}
			if !ok {
				return nil, fmt.Errorf("%w: idempotency failure counter: %w", ErrInvalidConfig, err)
			}
			c = existing
		}
		m.failures = c.WithLabelValues(cmpOr(cfg.Name, "default"))
	}
	return m, nil
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// ParseIdempotencyKey returns the key of an Idempotency-Key header value:
// the value itself, or the string inside it when it is quoted (the
// structured-field string of draft-ietf-httpapi-idempotency-key-header,
// without escapes). A key is 1 to maxLen bytes of printable ASCII (space
// to tilde) and neither starts nor ends with a space; otherwise it
// returns an error wrapping [ErrInvalidIdempotencyKey].
func ParseIdempotencyKey(value string, maxLen int) (string, error) {
	k := value
	if len(k) >= 2 && k[0] == '"' && k[len(k)-1] == '"' {
		k = k[1 : len(k)-1]
		if k == "" || strings.ContainsAny(k, `"\`) {
			return "", fmt.Errorf("%w: quoted key is empty or holds a quote or backslash", ErrInvalidIdempotencyKey)
		}
	}
	switch {
	case k == "":
		return "", fmt.Errorf("%w: empty", ErrInvalidIdempotencyKey)
	case len(k) > maxLen:
		return "", fmt.Errorf("%w: longer than %d bytes", ErrInvalidIdempotencyKey, maxLen)
	case k[0] == ' ' || k[len(k)-1] == ' ':
		return "", fmt.Errorf("%w: starts or ends with a space", ErrInvalidIdempotencyKey)
	}
	for i := 0; i < len(k); i++ {
		if k[i] < 0x20 || k[i] > 0x7e {
			return "", fmt.Errorf("%w: byte %d is not printable ASCII", ErrInvalidIdempotencyKey, i)
		}
	}
	return k, nil
}

// RequestFingerprint returns the fingerprint a repeat must match: the
// hex SHA-256 of the method, the request target (path and query, as
// sent) and the SHA-256 of the body.
func RequestFingerprint(method, target string, body []byte) string {
	bh := sha256.Sum256(body)
	h := sha256.New()
	h.Write([]byte(method))
	h.Write([]byte{0})
	h.Write([]byte(target))
	h.Write([]byte{0})
	h.Write(bh[:])
	return hex.EncodeToString(h.Sum(nil))
}

func idemError(status int, typ, msg string, cause error) *Error {
	return newError(status, msg).WithType(typ).Wrap(cause)
}

// safeMethod reports whether the method is never keyed.
func safeMethod(m string) bool {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
		return true
	}
	return false
}

func (m *idempotency) serve(c echo.Context, next echo.HandlerFunc) error {
	req := c.Request()
	if (m.cfg.Skipper != nil && m.cfg.Skipper(c)) || safeMethod(req.Method) {
		return next(c)
	}
	vals := req.Header.Values(IdempotencyKeyHeader)
	switch {
	case len(vals) == 0 && !m.cfg.Required:
		return next(c)
	case len(vals) == 0:
		return idemError(http.StatusBadRequest, "invalid_idempotency_key", "the Idempotency-Key header is required", ErrInvalidIdempotencyKey)
	case len(vals) > 1:
		return idemError(http.StatusBadRequest, "invalid_idempotency_key", "send one Idempotency-Key header", ErrInvalidIdempotencyKey)
	}
	key, err := ParseIdempotencyKey(vals[0], m.cfg.MaxKeyLength)
	if err != nil {
		return idemError(http.StatusBadRequest, "invalid_idempotency_key",
			"the Idempotency-Key must be 1 to "+strconv.Itoa(m.cfg.MaxKeyLength)+" printable ASCII characters", err)
	}
	body, err := readBody(req)
	if err != nil {
		return err // a 413 from the body limit, or the client gone
	}
	fp := RequestFingerprint(req.Method, req.URL.RequestURI(), body)
	storeKey := m.storeKey(c, key)
	token := newToken()

	ctx, cancel := context.WithTimeout(req.Context(), m.cfg.Timeout)
	rec, reserved, err := m.cfg.Store.Reserve(ctx, storeKey, fp, token, m.cfg.Lease)
	cancel()
	if err != nil {
		if req.Context().Err() != nil {
			return req.Context().Err() // the client went away
		}
		m.storeFailed(req.Context(), "reserve", err)
		if m.cfg.FailOpen {
			return next(c)
		}
		return idemError(http.StatusServiceUnavailable, "", "idempotency store unavailable, retry with the same key", fmt.Errorf("%w: %w", ErrIdempotencyUnavailable, err))
	}
	m.storeWorked(req.Context())
	if !reserved {
		return m.repeat(c, rec, fp)
	}
	return m.run(c, next, storeKey, token, fp)
}

// repeat answers a request whose key holds rec.
func (m *idempotency) repeat(c echo.Context, rec IdempotencyRecord, fp string) error {
	switch {
	case rec.Fingerprint != fp:
		return idemError(http.StatusUnprocessableEntity, "idempotency_key_reused",
			"this Idempotency-Key was used for a different request", ErrIdempotencyKeyReused)
	case !rec.Done:
		c.Response().Header().Set(hdrRetryAfter, "1")
		return idemError(http.StatusConflict, "idempotency_in_progress",
			"a request with this Idempotency-Key is in progress, retry later", ErrIdempotencyInProgress)
	case rec.Response == nil:
		return idemError(http.StatusUnprocessableEntity, "idempotency_response_not_stored",
			"a request with this Idempotency-Key completed, but its response was too large to keep; use a new key to run it again", ErrIdempotencyNotStored)
	}
	res := rec.Response
	h := c.Response().Header()
	for k, v := range res.Header {
		h[k] = slices.Clone(v)
	}
	h.Set(IdempotentReplayedHeader, "true")
	c.Response().WriteHeader(res.Status)
	if len(res.Body) > 0 && !bodyless(res.Status) {
		_, err := c.Response().Write(res.Body)
		return err
	}
	return nil
}

// bodyless reports whether a response of status has no body.
func bodyless(status int) bool {
	return status == http.StatusNoContent || status == http.StatusNotModified || (status >= 100 && status < 200)
}

// run runs the handler under the reservation and stores its response.
func (m *idempotency) run(c echo.Context, next echo.HandlerFunc, storeKey, token, fp string) error {
	res := c.Response()
	w := &captureWriter{ResponseWriter: res.Writer, max: m.cfg.MaxResponseSize, before: res.Header().Clone()}
	res.Writer = w
	settled := false
	defer func() {
		res.Writer = w.ResponseWriter
		if !settled { // a panic: let a retry run
			m.release(c, storeKey, token)
		}
	}()
	if err := next(c); err != nil {
		// Render here, through the capture, so a 4xx envelope is stored
		// like any response; outer middleware sees the rendered status.
		c.Error(err)
	}
	status := res.Status
	if !res.Committed {
		status = http.StatusOK // net/http sends an empty 200
	}
	settled = true
	if status >= 500 || w.hijacked {
		m.release(c, storeKey, token)
		return nil
	}
	rec := IdempotencyRecord{Fingerprint: fp, Done: true}
	if !w.over {
		rec.Response = &IdempotentResponse{Status: status, Header: w.header, Body: w.buf.Bytes()}
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(c.Request().Context()), m.cfg.Timeout)
	defer cancel()
	if err := m.cfg.Store.Complete(ctx, storeKey, token, rec, m.cfg.TTL); err != nil {
		if errors.Is(err, ErrIdempotencyLeaseLost) {
			m.log.LogAttrs(ctx, slog.LevelWarn, "idempotency reservation expired before the request completed; response not stored",
				slog.String("key", storeKey), slog.Duration("lease", m.cfg.Lease))
			return nil
		}
		m.storeFailed(ctx, "complete", err)
		return nil
	}
	m.storeWorked(ctx)
	return nil
}

func (m *idempotency) release(c echo.Context, storeKey, token string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(c.Request().Context()), m.cfg.Timeout)
	defer cancel()
	if err := m.cfg.Store.Release(ctx, storeKey, token); err != nil {
		m.storeFailed(ctx, "release", err)
	}
}

// storeFailed counts a failure and logs the first of a run of them.
func (m *idempotency) storeFailed(ctx context.Context, op string, err error) {
	if m.failures != nil {
		m.failures.Inc()
	}
	if !m.failing.Swap(true) {
		m.log.LogAttrs(ctx, slog.LevelWarn, "idempotency store failing",
			slog.String("op", op), slog.Bool("fail_open", m.cfg.FailOpen), slog.String("error", err.Error()))
	}
}

func (m *idempotency) storeWorked(ctx context.Context) {
	if m.failing.Load() && m.failing.Swap(false) {
		m.log.LogAttrs(ctx, slog.LevelInfo, "idempotency store back")
	}
}

// storeKey is the record's key: Name, the client's scope and the key,
// replaced by a hash when long.
func (m *idempotency) storeKey(c echo.Context, key string) string {
	scope := ""
	if m.cfg.Subject != nil {
		if s := m.cfg.Subject(c); s != "" {
			scope = "sub:" + s
		}
	}
	if scope == "" {
		scope = "ip:" + ipKey(c.RealIP(), 32, 128)
	}
	k := m.prefix + scope + ":" + key
	if len(k) > 200 {
		sum := sha256.Sum256([]byte(k))
		return "h:" + hex.EncodeToString(sum[:])
	}
	return k
}

func newToken() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// readBody reads the whole body and puts an equal one back.
func readBody(req *http.Request) ([]byte, error) {
	if req.Body == nil || req.Body == http.NoBody {
		return nil, nil
	}
	b, err := io.ReadAll(req.Body)
	if err != nil {
		return nil, err
	}
	req.Body = &replayBody{Reader: bytes.NewReader(b), orig: req.Body}
	return b, nil
}

// replayBody serves the bytes read; Close closes the original body.
type replayBody struct {
	*bytes.Reader
	orig io.Closer
}

func (b *replayBody) Close() error { return b.orig.Close() }

// captureWriter passes a response through and keeps a copy: the headers
// the handler set (those that differ from before) and up to max body
// bytes (over is set beyond).
type captureWriter struct {
	http.ResponseWriter
	before   http.Header
	header   http.Header
	buf      bytes.Buffer
	max      int
	over     bool
	wrote    bool
	hijacked bool
}

// notReplayed are headers never stored: set per response by the server
// or outer middleware (length and encoding: the body is stored as the
// handler wrote it), or cookies.
var notReplayed = map[string]bool{
	"Content-Length": true, "Content-Encoding": true, "Transfer-Encoding": true, "Connection": true,
	"Date": true, "Set-Cookie": true, "Trailer": true, IdempotentReplayedHeader: true,
}

func (w *captureWriter) WriteHeader(code int) {
	if !w.wrote {
		w.wrote = true
		w.header = http.Header{}
		for k, v := range w.ResponseWriter.Header() {
			if notReplayed[k] || slices.Equal(w.before[k], v) {
				continue
			}
			w.header[k] = slices.Clone(v)
		}
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *captureWriter) Write(p []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	if !w.over {
		if w.buf.Len()+len(p) > w.max {
			w.over = true
			w.buf = bytes.Buffer{}
		} else {
			w.buf.Write(p)
		}
	}
	return w.ResponseWriter.Write(p)
}

// Flush flushes the underlying writer when it can.
func (w *captureWriter) Flush() {
	_ = http.NewResponseController(w.ResponseWriter).Flush()
}

// Hijack hands the connection over; its response is not stored.
func (w *captureWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	w.hijacked = true
	return http.NewResponseController(w.ResponseWriter).Hijack()
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *captureWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
