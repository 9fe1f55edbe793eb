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
//  10. gzip of responses ([GzipConfig], MinLength 1000): only when the
//     client accepts gzip, and never a response already encoded
//     (promhttp's own gzip) or partial (206, Content-Range)
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
// default origin, "*" refused with credentials), Decompress (MaxDecompressedSize = body limit), BodyLimit, the
// ExtractIPDirect/ExtractIPFromXFFHeader IP extractors, and echo's
// RequestID and Recover semantics (inlined in the stack: valid ids kept,
// panics rendered as errors).
//
// Written here, each measured against echo's as one e.Use layer over bare
// echo (cd bench && go run ./http -only pieces; quiet machine; the figures
// include the 1 allocation every layer costs):
//
//   - Request deadline: echo's ContextTimeout costs +0.50 µs and +6
//     allocations (context.WithTimeout starts a timer and links the
//     context into its parent on every request); [TimeoutConfig] starts
//     the timer only when a handler first calls ctx.Done (a DB or Redis
//     call does): +0.19 µs and +3. Reused, it alone would have spent 6 of
//     the 10 allocations the stack may use.
//   - Security headers: echo's Secure costs +0.22 µs and +5 allocations
//     (Header().Set per header per request), sends the obsolete
//     X-XSS-Protection and sends HSTS only on TLS requests (never behind a
//     TLS-terminating proxy); [SecureConfig] assigns precomputed slices:
//     +0.08 µs and +1.
//   - Request ids: echo's default generator (32 random characters) costs
//     +0.37 µs; [NewRequestIDGenerator] (random prefix + counter) +0.12 µs.
//     echo's RequestID also keeps any incoming value, log injection
//     included.
//   - Response gzip: echo's Gzip compresses an already gzip-encoded
//     response again (a Prometheus scrape of promhttp, which compresses
//     itself, then fails to parse), compresses 206 partial content and
//     repeats Vary: Accept-Encoding; [GzipConfig] passes encoded and
//     ranged responses through and sends Vary once.
//   - Rate limiting: echo's RateLimiter store has no context, no remaining
//     or reset values (so no RateLimit headers) and no Redis store.
//   - Metrics: echoprometheus labels by the Host header and, by default,
//     by the raw path of 404s; [Metrics] labels by route template only and
//     caches label children per (method, route, status).
//   - Access log: echo's RequestLogger calls a func with a values struct;
//     [AccessLogConfig] writes one slog record directly (no caller PC walk).
//
// # Speed
//
// On the development machine (cd bench && go run ./http -wrk), GET of a
// static JSON body: bare echo 0.11 µs and 1 allocation in-process; the
// full default stack (production settings, memory limiter, access log to
// io.Discard) 1.96 µs and 7 allocations, half the typical echo stack's
// 3.90 µs and 23. Of the stack, the slog access record is about 0.9 µs.
//
// Over loopback (server on one core) the stack keeps 0.70–0.73× of bare
// echo's requests/s, the same as the typical echo stack: the response
// headers the stack must send (X-Request-ID, four security headers, Vary,
// three RateLimit fields) cost more in net/http than all its code. With
// Content-Type they make 10 header keys, past Go's 8-entry small map, so
// net/http's header map and its per-response clone grow to table form:
// building, cloning and writing 8 keys costs 0.84 µs and 1 allocation, 9
// keys 1.64 µs and 7. Bare echo plus those 9 headers and no code keeps only
// 0.83–0.85× of bare.
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
// (a stricter "login" limit on one route shares the store). IPv6 clients
// are keyed by their /64, and every key is at most 128 bytes.
//
// When the store fails or a call exceeds Timeout (100ms by default,
// measured on the Redis call itself: a check first waits for one of the
// store's MaxInFlight slots, so a burst queues instead of timing out) the
// [FailurePolicy] decides: [FailLocal], the default, limits by an
// in-memory GCRA of the same limit on each instance (which also caps what
// Redis admits, so a slow moment never hands out a second quota);
// [FailOpen] serves; [FailClosed] answers 503. Three failures in a row
// leave the store alone for a second; trips are logged once through the
// configured logger and fallbacks counted in
// gantry_ratelimit_fallbacks_total.
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
// SECRET_KEY by HKDF-SHA256; HttpOnly, SameSite=Lax, and Secure unless
// SessionConfig.Insecure opts out for plain-HTTP development), holding the data itself or, with a [SessionStore]
// ([RedisSessionStore], [MemorySessionStore]), only the session id.
// [Sessions.Renew] at login defeats session fixation; [Sessions.Destroy]
// at logout revokes server-side sessions.
package middleware
