// Package middleware is Gantry's production middleware: the default stack
// the server installs ([Stack]), and each piece usable alone in echo's
// XxxConfig{Skipper, ...}.ToMiddleware() style: structured access log,
// Prometheus metrics, rate limiting on Redis or memory, trusted hosts,
// security headers, CORS, request deadlines, sessions and the client-IP
// extractor.
//
// The package never imports server or auth: errors it returns are [*Error]
// values the server's envelope reads (HTTPStatus, ErrorType,
// PublicMessage), wrapping sentinels such as [ErrInvalidHost],
// [ErrRateLimited] and [ErrLimiterUnavailable]; the authenticated subject
// reaches the access log and rate-limit keys through a func the app
// passes.
//
// # The default stack and its order
//
// [NewStack] compiles a [StackConfig] into ONE echo middleware. echo v4
// re-wraps every e.Use layer on every request (one closure allocation per
// layer), so twelve layers cost ~12 allocations before any of them works;
// one composed layer costs one. Outermost first:
//
//  1. request id: a valid incoming X-Request-ID ([ValidRequestID]) is kept,
//     else [NewRequestIDGenerator] makes one; set before anything can fail,
//     so every envelope and log line carries it
//  2. access log and metrics: they run after the rest and see the final
//     status, because the stack renders errors itself (c.Error)
//  3. recover: a panic becomes a 500 (logged with its stack and request
//     id); http.ErrAbortHandler is re-panicked as net/http expects
//  4. security headers ([SecureConfig]), on every response, errors included
//  5. trusted hosts ([TrustedHostsConfig]): 400 invalid_host
//  6. CORS ([CORSConfig], echo's): only for requests with an Origin and
//     preflights; others just get Vary: Origin
//  7. rate limit ([RateLimitConfig]): after CORS, so a browser can read a
//     429; before any body is read, so refusing is cheap
//  8. decompress (echo's Decompress) of gzip request bodies
//  9. body limit (echo's BodyLimit), inside decompress: it counts the
//     decompressed bytes, so a 130 KB gzip bomb gets 413 after reading at
//     most the limit
//  10. gzip of responses (echo's Gzip, MinLength 1000): only when the
//     client sends Accept-Encoding: gzip
//  11. request deadline ([TimeoutConfig]): 504 timeout when the handler
//     fails with context.DeadlineExceeded
//
// Pieces 8–11 wrap the handler only when they have work to do (a body, a
// Content-Encoding, an Accept-Encoding), so a plain GET pays for none of
// them. The server maps config.Settings onto this (see server/stack.go).
//
// # Reused from echo, and written here
//
// Reused as they are, configured: CORS (with validation echo lacks: no
// default origin, "*" refused with credentials), Gzip (MinLength 1000),
// Decompress (MaxDecompressedSize = body limit), BodyLimit, the
// ExtractIPDirect/ExtractIPFromXFFHeader IP extractors, and echo's
// RequestID and Recover semantics (inlined in the stack: valid ids kept,
// panics rendered as errors).
//
// Written here, each measured against echo's as one e.Use layer over bare
// echo on the development machine (cd bench && go run ./http -only pieces;
// the figures include the 1 allocation every layer costs):
//
//   - Request deadline: echo's ContextTimeout costs +1.7 µs and +6
//     allocations (context.WithTimeout starts a timer and links the
//     context into its parent on every request); [TimeoutConfig] starts
//     the timer only when a handler first calls ctx.Done (a DB or Redis
//     call does), +0.9 µs and +3. It was the largest single cost of the
//     stack and alone would have spent 6 of the 10 allocations allowed.
//   - Security headers: echo's Secure costs +1.4 µs and +5 allocations
//     (Header().Set per header per request), sends the obsolete
//     X-XSS-Protection and sends HSTS only on TLS requests (never behind a
//     TLS-terminating proxy); [SecureConfig] assigns precomputed slices,
//     +0.15 µs and +1.
//   - Request ids: echo's default generator (32 random characters) costs
//     +1.3 µs; [NewRequestIDGenerator] (random prefix + counter) +0.15 µs.
//     echo's RequestID also keeps any incoming value, log injection
//     included.
//   - Rate limiting: echo's RateLimiter store has no context, no remaining
//     or reset values (so no RateLimit headers) and no Redis store.
//   - Metrics: echoprometheus labels by the Host header and, by default,
//     by the raw path of 404s; [Metrics] labels by route template only and
//     caches label children per (method, route, status).
//   - Access log: echo's RequestLogger calls a func with a values struct;
//     [AccessLogConfig] writes one slog record directly (no caller PC walk).
//
// # Rate limiting
//
// A [Store] counts requests with GCRA: [NewRedisStore] in one Lua script
// (one round trip, one key, Redis server time, a TTL on every write, safe
// on Redis Cluster and any redis.UniversalClient), [NewMemoryStore] in
// sharded maps with a key cap. GCRA admits Burst requests at once and then
// one every Period/Rate: it refills continuously rather than at window
// edges, so "100 per minute" never admits 200 around a boundary. Keys come
// from [KeyByIP], [KeyBySubject] or [KeyByHeader]; a Name scopes a limiter
// (a stricter "login" limit on one route shares the store). When the store
// fails or exceeds Timeout (100ms default) the [FailurePolicy] decides:
// [FailOpen] serves, [FailClosed] answers 503.
//
// # Client addresses
//
// Always set echo.Echo.IPExtractor with [IPExtractor]: with no trusted
// proxies the client is the TCP peer; X-Forwarded-For is believed only
// from the listed proxy CIDRs. echo's default believes any client's header,
// so a client rotating it would escape every IP-keyed limit.
//
// # Sessions
//
// [Sessions] reads and writes AES-256-GCM sealed cookies (key derived from
// SECRET_KEY by HKDF-SHA256; HttpOnly, SameSite=Lax, Secure in
// production), holding the data itself or, with a [SessionStore]
// ([RedisSessionStore], [MemorySessionStore]), only the session id.
// [Sessions.Renew] at login defeats session fixation; [Sessions.Destroy]
// at logout revokes server-side sessions.
package middleware
