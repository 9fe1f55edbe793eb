// Package auth authenticates API requests with JWT access and refresh
// tokens and authorizes them with scopes and roles; it also hashes
// passwords and slows down password guessing.
//
// It ports the intent of the FastAPI guide's security.py, not its flaws:
// revocation stores token ids, never tokens; refresh tokens rotate and
// reuse is detected; guards read the principal the middleware verified
// instead of verifying again; a login takes as long for an unknown account
// as for a wrong password.
//
// # Tokens
//
// [Tokens] issues and verifies tokens on github.com/golang-jwt/jwt/v5.
// [TokensConfig].SecretKey gives HS256; [TokensConfig].Keys gives a key set
// ([NewEd25519Key], [NewRSAKey], [NewHMACKey], [NewVerifyKey]) where the
// first key signs (its "kid" goes in the header) and every key verifies, so
// keys rotate without logging anyone out. Key ids are looked up in memory
// only. Each key accepts its own algorithm only, so "alg: none" and an
// HS256 token keyed with a public key fail. The parser requires exp and
// checks iss, aud, iat and nbf with a small leeway (default 30s); the
// "token_type" claim keeps access and refresh tokens apart. Claims
// ([Claims]) carry sub, jti, a refresh family, scopes ("scope", space
// separated) and roles; times have millisecond precision.
//
// [Tokens.IssuePair] answers a login with an access and a refresh token.
// [Tokens.Refresh] consumes a refresh token atomically and issues a new
// pair in the same family; a refresh token presented twice revokes its
// whole family (RFC 9700 §4.14.2), so of two concurrent refreshes exactly
// one succeeds. [Tokens.Revoke] logs a session out (the token and its
// family); [Tokens.RevokeAllForUser] revokes everything a user holds
// (logout everywhere, password change).
//
// # Revocation
//
// A [Store] holds revoked token ids, revoked families, consumed refresh
// tokens and per-user not-before times, each for the remaining life of the
// tokens concerned. [MemoryStore] serves one instance and tests;
// [RedisStore] serves many (one MGET per request, one script call per
// refresh, keys hash-tagged by user for Redis Cluster). When the store does
// not answer within its timeout, requests fail closed with 503
// ([ErrStoreUnavailable]).
//
// Verified access tokens are cached (bounded, keyed by the raw token) so a
// client reusing its token costs well under a microsecond; expiry and
// revocation are still checked on every request, so a logout applies to
// the very next request.
//
// # Middleware and guards
//
// [JWTConfig.ToMiddleware] (or [JWT]) reads "Authorization: Bearer" (or a
// cookie), verifies the token, optionally loads the user through the app's
// [UserLoader] and refuses inactive users, and stores the [Principal] in
// the request's context: read it with [PrincipalFrom] in handlers or
// [FromContext] in code that only has the context. Failures answer 401
// with WWW-Authenticate (RFC 6750) and the server's error envelope.
//
// [RequireScopes], [RequireAnyScope], [RequireRoles] and [RequireSuperuser]
// return a [Guard]; put its Middleware on a route or group after the
// authentication middleware. A missing scope answers 403 naming it. Guards
// are plain values so a documentation generator can read a route's
// requirements.
//
// # Passwords and logins
//
// [Hasher] hashes with bcrypt (default, cost 12) or argon2id (PHC strings,
// 64 MiB, 3 passes) and verifies both, so deployments can migrate;
// [Hasher.NeedsRehash] says when. bcrypt's 72-byte limit is handled by
// pre-hashing every password with HMAC-SHA256, at registration and at
// login alike: see [Hasher]. The Hasher computes at most
// [HasherConfig].MaxConcurrent hashes at once (default max(2, GOMAXPROCS)),
// so a burst of logins cannot exhaust memory; past the bound it answers
// 503 with Retry-After ([ErrBusy]). [LoginLimiter] counts login attempts
// per account (default 10 per 15 minutes) in memory or Redis, before the
// password is checked and atomically, so concurrent guesses cannot slip
// past it, and answers 429 with Retry-After beyond; a successful login
// clears the count. [Authenticator] puts these together for a login
// handler, including a dummy verification for unknown accounts.
//
// # Errors
//
// Every error a client may see is an [*Error] sentinel (apierror.Error,
// which nobody can change) or wraps one, with the apierror.Interface
// methods (HTTPStatus, ErrorType, ErrorDetails, PublicMessage), which gantry's server
// renders as its error envelope; apps on plain echo need an error handler
// that honours HTTPStatus. Call [WriteHeaders] before returning an auth
// error from your own handler (login, refresh) to add WWW-Authenticate or
// Retry-After.
//
// # Testing
//
// Package authtest mints tokens for any claims, provides a memory store and
// a settable clock, so handlers behind this middleware are tested without
// Redis.
package auth
