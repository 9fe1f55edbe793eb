// Package middleware is Gantry's production middleware: the default stack
// the server installs ([Stack]), and each piece usable alone in echo's
// XxxConfig{Skipper, ...}.ToMiddleware() style: structured access log,
// Prometheus metrics, rate limiting on Redis or memory, trusted hosts,
// security headers, CORS, request deadlines, sessions, idempotency keys
// and the client-IP extractor.
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
// [NewStack] compiles a [StackConfig] into ONE echo middleware (one e.Use
// layer: echo re-wraps every layer on every request). It is built from the
// same compiled pieces as each XxxConfig.ToMiddleware, Skippers included,
// so a piece answers a request the same alone and inside the stack.
// Outermost first:
//
//  1. request id ([RequestIDConfig]): a valid incoming X-Request-ID
//     ([ValidRequestID]) is kept, else [NewRequestIDGenerator] makes one;
//     set before anything can fail, so every envelope and log line
//     carries it
//  2. access log ([AccessLogConfig]) and metrics ([Metrics]): they run
//     after the rest and see the final status, because the stack renders
//     errors itself (c.Error)
//  3. recover ([RecoverConfig]): a panic becomes a 500 (logged with its
//     stack and request id); http.ErrAbortHandler is re-panicked as
//     net/http expects
//  4. security headers ([SecureConfig]), on every response, errors included
//  5. header limit ([HeaderLimitConfig]): 431 for a request head over the
//     limit
//  6. trusted hosts ([TrustedHostsConfig]): 400 invalid_host
//  7. CORS ([CORSConfig], echo's, with the preflight's methods and headers
//     checked): only for requests with an Origin and preflights; others
//     just get Vary: Origin
//  8. rate limit ([RateLimitConfig]): after CORS, so a browser can read a
//     429; before any body is read, so refusing is cheap
//  9. decompress (echo's Decompress) of gzip request bodies
//  10. body limit ([BodyLimitConfig]), inside decompress: it counts the
//     decompressed bytes, so a 130 KB gzip bomb gets 413 after reading at
//     most the limit; a group or route may move the cap up or down
//  11. gzip of responses ([GzipConfig], MinLength 1000): only when the
//     client accepts gzip, and never a response already encoded
//     (promhttp's own gzip) or partial (206, Content-Range)
//  12. request deadline ([TimeoutConfig]): 504 timeout when the handler
//     fails with context.DeadlineExceeded
//
// Pieces 9–12 wrap the handler only when they have work to do (a body, a
// Content-Encoding, an Accept-Encoding), so a plain GET pays for none of
// them. Package server configures the stack from its Config.
//
// # Reused from echo, and written here
//
// Reused as they are, configured: CORS (with validation echo lacks: no
// default origin, "*" refused with credentials; and preflights asking for
// a method or header not allowed are refused), Decompress, and the
// ExtractIPDirect/ExtractIPFromXFFHeader IP extractors. Request ids keep
// echo's RequestID semantics and recover echo's Recover semantics.
//
// Written here: the request deadline ([TimeoutConfig] starts its timer
// only when a handler first calls ctx.Done), security headers
// ([SecureConfig] assigns precomputed header values and sends HSTS behind
// TLS-terminating proxies too), request ids ([NewRequestIDGenerator]:
// random prefix and counter; incoming ids are validated, so none can
// inject into logs), response gzip ([GzipConfig] passes encoded and ranged
// responses through and sends Vary once), the body limit
// ([BodyLimitConfig] caps the body itself, so a route can move the cap),
// rate limiting (a context-aware [Store] with remaining and reset values
// and a Redis store), metrics ([Metrics] labels by route template only)
// and the access log ([AccessLogConfig] writes one slog record directly;
// [LogBuffer] is the writer to put under its handler: lines gathered in
// memory and written in blocks, never blocking a request, drops counted).
// bench/README.md has what each costs beside echo's.
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
// (a stricter "login" limit on one route shares the store) and names the
// policy in the response fields of draft-ietf-httpapi-ratelimit-headers:
// RateLimit ("login";r=1;t=30) on every limited response, RateLimit-Policy
// ("login";q=2;w=60) and Retry-After with a 429. IPv6 clients are keyed by
// their /64, and every key is at most 128 bytes.
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
// # Idempotency keys
//
// [IdempotencyConfig] is opt-in per route or group (it is not part of the
// stack): a client that retries an unsafe request with the same
// Idempotency-Key header (Stripe's convention, IETF
// draft-ietf-httpapi-idempotency-key-header) runs it once. The first
// response (status, the headers the handler set, the body byte for byte)
// is stored for 24h per key and client (authenticated subject, else
// address); a repeat gets it with Idempotent-Replayed: true. The same key
// on a different request (method, path and query, body SHA-256) is a 422,
// a repeat while the first runs a 409 (Retry-After: 1), a bad key a 400.
// A 5xx is not stored: the key is released and a retry runs. A response
// over MaxResponseSize (1 MiB) is served but not stored, and a repeat of
// it is a 422 idempotency_response_not_stored, never a second run.
//
// [NewRedisIdempotencyStore] reserves a key atomically (one Lua script:
// GET, else SET with a lease in PX), so a burst of the same key on many
// instances runs once; the reservation of an instance that dies expires
// after Lease (1m). [NewMemoryIdempotencyStore] serves one instance,
// bounded in bytes. When the store fails the request is answered 503 (the
// client retries with the same key, which is safe), or run unprotected
// with FailOpen; failures are logged once per outage and counted in
// gantry_idempotency_store_failures_total.
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
