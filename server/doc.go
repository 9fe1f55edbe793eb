// Package server builds a production HTTP server on echo v4: lifespan hooks,
// a default middleware stack, versioned route groups, one error envelope,
// JSON binding with validation, health routes and a graceful drain.
//
// # Building
//
// [New] takes a [Config] whose zero value is valid: explicit options, no
// settings type (config.Settings.ServerConfig turns loaded settings into
// one). Register routes on [Server.Group] (e.g. "/api/v1")
// or on [Server.Echo] for anything Server does not wrap, add [Hook]s, then
// call [Server.Run] from main with a context that signal.NotifyContext ends.
// The library never installs signal handlers or exits the process.
//
// # Lifespan
//
// Hooks start in registration order before the listener opens. If one fails,
// the hooks already started stop in reverse and Run returns the error. When
// Run's context ends: readiness turns 503, Config.PreDrainDelay passes so
// load balancers notice, the listener closes, in-flight requests finish
// within Config.ShutdownTimeout (stragglers are then cut), and every stop
// hook runs in reverse, each bounded by its timeout; their errors are joined.
//
// # Errors
//
// Every non-2xx response, echo's own 404/405/413 included, is one JSON
// envelope:
//
//	{"error": {"code": 422, "type": "validation_error", "message": "...",
//	  "details": [...], "request_id": "...", "path": "...", "timestamp": "..."}}
//
// Errors choose their status without importing this package: the handler
// looks through the error chain (errors.As) for the first
// [apierror.HTTPStatuser] (a method HTTPStatus() int), and reads
// ErrorType() string, ErrorDetails() any and PublicMessage() string from it
// when present (the contract is [apierror.Interface], in the leaf package
// apierror that every package returning client errors imports). [Error],
// built with [NewError] and its With methods, is that type for handlers. A 5xx other than 503/504 always says "internal server
// error"; its cause is logged with the request id and never sent.
//
// # Error reporting
//
// With Config.Reporter set ([report.Reporter]), each unexpected error is
// reported once, with the request id, method, route template, status and
// the user id of MiddlewareConfig.Subject: every 5xx but 503 and 504, and
// every recovered panic (with its value and stack, even after the response
// was committed). 4xx answers are never reported.
//
// # Binding
//
// [Bind] decodes a JSON body only (query parameters never leak into it) and
// validates it with go-playground/validator tags, reporting fields by their
// JSON names. Types that implement [StrictJSON] refuse unknown fields.
//
// # Middleware
//
// The default stack is one composed middleware ([middleware.Stack]),
// outermost first: request id, access log and metrics, recover, security
// headers, header limit (431 beyond Config.MaxHeaderBytes; the listener
// accepts [HeaderMargin] more so the stack can answer with the envelope),
// trusted hosts, CORS, rate limit, decompress, body limit, gzip and the
// request deadline. Config's options switch the pieces on and configure
// them (nil CORS, RateLimit or AllowedHosts: off); [MiddlewareConfig]
// supplies objects (the metrics registry, the subject for the access log).
// Routes and groups add their own middleware after it, and set their own
// limits without skippers: [Server.RateLimit] for a stricter rate limit,
// middleware.BodyLimitConfig for a body cap above or below
// Config.MaxBodySize.
//
// # Sessions
//
// With Config.Sessions, [Server.Sessions] reads and writes sealed session
// cookies (HttpOnly, SameSite=Lax, Secure unless Insecure), the data in
// the configured store (memory, or Redis shared by instances).
//
// # Health
//
// Each Server has a [health.Registry] ([Server.Health]) mounted at /health,
// /health/ready and /health/detailed; its readiness answers 503 as soon as
// the drain begins.
//
// Echo is reused for routing and its HTTPError; go-playground/validator for
// validation; the stack's pieces are described in package middleware (echo's
// CORS, Decompress and BodyLimit run inside it; request ids, security
// headers, response gzip and the request deadline are our own, for the
// reasons given there).
package server
