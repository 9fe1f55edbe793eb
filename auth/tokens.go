package auth

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// TokensConfig configures [Tokens]. Apart from the key, the zero value is
// valid.
type TokensConfig struct {
	// SecretKey is the HS256 secret (the app's SECRET_KEY), at least
	// [MinHMACKeyBytes] long. Set SecretKey or Keys, not both.
	SecretKey string
	// Keys is the key set: Keys[0] signs new tokens (its kid goes in the
	// header), every key verifies. Rotate by putting a new key first and
	// keeping the old one until its tokens expire.
	Keys []Key
	// Issuer is the "iss" written and required; default "gantry".
	Issuer string
	// Audience is the "aud" written and required; default "gantry".
	Audience string
	// AccessTTL is the access token lifetime; default 30 minutes.
	AccessTTL time.Duration
	// RefreshTTL is the refresh token lifetime; default 7 days. Each
	// refresh issues a new refresh token with a fresh RefreshTTL.
	RefreshTTL time.Duration
	// Leeway tolerates clock skew on exp, nbf and iat; default 30s,
	// negative means none. At most 5 minutes.
	Leeway time.Duration
	// Store keeps revocations. Default: a new [MemoryStore], which is
	// right for one instance only; services with several instances pass a
	// [RedisStore].
	Store Store
	// Users, when set, is consulted on Refresh: an unknown or inactive user
	// cannot refresh.
	Users UserLoader
	// CacheSize bounds the cache of verified access tokens; default 10000,
	// negative disables it. A hit skips the signature check and decoding
	// only: expiry and revocation are checked on every request.
	CacheSize int
	// MaxTokenBytes refuses longer tokens before decoding them; default 8192.
	MaxTokenBytes int
	// Now is the clock; default time.Now.
	Now func() time.Time
}

func (c TokensConfig) withDefaults() TokensConfig {
	if c.Issuer == "" {
		c.Issuer = "gantry"
	}
	if c.Audience == "" {
		c.Audience = "gantry"
	}
	if c.AccessTTL <= 0 {
		c.AccessTTL = 30 * time.Minute
	}
	if c.RefreshTTL <= 0 {
		c.RefreshTTL = 7 * 24 * time.Hour
	}
	switch {
	case c.Leeway == 0:
		c.Leeway = 30 * time.Second
	case c.Leeway < 0:
		c.Leeway = 0
	}
	if c.Store == nil {
		c.Store = NewMemoryStore()
	}
	if c.CacheSize == 0 {
		c.CacheSize = 10000
	}
	if c.MaxTokenBytes <= 0 {
		c.MaxTokenBytes = 8192
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// Tokens issues, verifies, rotates and revokes access and refresh tokens.
// It is safe for concurrent use.
type Tokens struct {
	cfg    TokensConfig
	keys   *keySet
	parser *jwt.Parser
	cache  *tokenCache // nil when disabled
}

// NewTokens returns a Tokens, or an error if cfg has no usable key or
// invalid settings.
func NewTokens(cfg TokensConfig) (*Tokens, error) {
	cfg = cfg.withDefaults()
	keys := cfg.Keys
	switch {
	case cfg.SecretKey != "" && len(keys) > 0:
		return nil, errors.New("auth: set TokensConfig.SecretKey or Keys, not both")
	case cfg.SecretKey != "":
		k, err := NewHMACKey("", []byte(cfg.SecretKey))
		if err != nil {
			return nil, err
		}
		keys = []Key{k}
	}
	ks, err := newKeySet(keys)
	if err != nil {
		return nil, err
	}
	if cfg.Leeway > 5*time.Minute {
		return nil, errors.New("auth: TokensConfig.Leeway over 5 minutes")
	}
	t := &Tokens{cfg: cfg, keys: ks}
	t.parser = jwt.NewParser(
		jwt.WithValidMethods(ks.algs),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithIssuer(cfg.Issuer),
		jwt.WithAudience(cfg.Audience),
		jwt.WithLeeway(cfg.Leeway),
		jwt.WithTimeFunc(cfg.Now),
		jwt.WithStrictDecoding(),
	)
	if cfg.CacheSize > 0 {
		t.cache = newTokenCache(cfg.CacheSize)
	}
	return t, nil
}

// Config returns the configuration in use, defaults filled in.
func (t *Tokens) Config() TokensConfig { return t.cfg }

// Store returns the revocation store in use.
func (t *Tokens) Store() Store { return t.cfg.Store }

// Pair is the answer to a login or a refresh, shaped as an OAuth 2.0
// token response.
type Pair struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	TokenType    string `json:"token_type"` // "bearer"
	ExpiresIn    int    `json:"expires_in"` // access token lifetime in seconds
	// The claims of the two tokens, for the server's own use.
	Access  *Claims `json:"-"`
	Refresh *Claims `json:"-"`
}

// String keeps tokens out of printed output.
func (p Pair) String() string { return "auth.Pair{REDACTED}" }

// LogValue keeps tokens out of logs.
func (p Pair) LogValue() slog.Value { return slog.StringValue("REDACTED") }

func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// Sign signs c exactly as given with the current key. Most callers want
// [Tokens.IssuePair]; Sign serves custom tokens and tests.
func (t *Tokens) Sign(c *Claims) (string, error) {
	k := t.keys.signing
	tok := jwt.NewWithClaims(k.method, c)
	if k.id != "" {
		tok.Header["kid"] = k.id
	}
	s, err := tok.SignedString(k.sign)
	if err != nil {
		return "", fmt.Errorf("auth: sign: %w", err)
	}
	return s, nil
}

// IssuePair issues an access and a refresh token for subject, in a new
// refresh family. It does no I/O.
func (t *Tokens) IssuePair(ctx context.Context, subject string, scopes, roles []string) (Pair, error) {
	return t.issue(subject, newID(), scopes, roles, t.cfg.Now().Truncate(time.Millisecond))
}

// issue signs a pair issued at now (millisecond precision).
func (t *Tokens) issue(subject, family string, scopes, roles []string, now time.Time) (Pair, error) {
	if subject == "" {
		return Pair{}, errors.New("auth: empty subject")
	}
	base := Claims{
		Subject: subject, Issuer: t.cfg.Issuer, Audience: []string{t.cfg.Audience},
		Family: family, Scopes: scopes, Roles: roles, IssuedAt: now, NotBefore: now,
	}
	access, refresh := base, base
	access.ID, access.Type, access.ExpiresAt = newID(), TypeAccess, now.Add(t.cfg.AccessTTL)
	refresh.ID, refresh.Type, refresh.ExpiresAt = newID(), TypeRefresh, now.Add(t.cfg.RefreshTTL)
	at, err := t.Sign(&access)
	if err != nil {
		return Pair{}, err
	}
	rt, err := t.Sign(&refresh)
	if err != nil {
		return Pair{}, err
	}
	return Pair{
		AccessToken: at, RefreshToken: rt, TokenType: "bearer",
		ExpiresIn: int(t.cfg.AccessTTL / time.Second), Access: &access, Refresh: &refresh,
	}, nil
}

// Parse verifies raw's signature and claims (algorithm pinned to the key,
// exp required, iss, aud, iat, nbf with the leeway, token type) without
// consulting the store. It returns [ErrInvalidToken] or [ErrTokenExpired],
// wrapping the cause.
func (t *Tokens) Parse(raw string, typ TokenType) (*Claims, error) {
	c := new(Claims)
	if err := t.parse(raw, typ, c); err != nil {
		return nil, err
	}
	return c, nil
}

func (t *Tokens) parse(raw string, typ TokenType, c *Claims) error {
	if raw == "" {
		return ErrMissingToken
	}
	if len(raw) > t.cfg.MaxTokenBytes {
		return wrap(ErrInvalidToken, errors.New("token too large"))
	}
	var w wireClaims
	if _, err := t.parser.ParseWithClaims(raw, &w, t.keys.keyFunc); err != nil {
		if errors.Is(err, jwt.ErrTokenExpired) {
			return wrap(ErrTokenExpired, err)
		}
		return wrap(ErrInvalidToken, err)
	}
	switch {
	case w.Typ != typ:
		return wrap(ErrInvalidToken, fmt.Errorf("token type %q, want %q", w.Typ, typ))
	case w.Sub == "":
		return wrap(ErrInvalidToken, errors.New("missing sub"))
	case w.Jti == "":
		return wrap(ErrInvalidToken, errors.New("missing jti"))
	case w.Iat.IsZero():
		return wrap(ErrInvalidToken, errors.New("missing iat"))
	}
	w.to(c)
	return nil
}

func (t *Tokens) ref(c *Claims, now time.Time) TokenRef {
	return TokenRef{
		Subject: c.Subject, ID: c.ID, Family: c.Family, IssuedAt: c.IssuedAt,
		TTL:       c.ExpiresAt.Sub(now) + t.cfg.Leeway,
		FamilyTTL: t.cfg.RefreshTTL + t.cfg.Leeway,
	}
}

// storeErr maps a store answer to the package's errors: decisions pass
// through, failures become ErrStoreUnavailable.
func storeErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrTokenRevoked), errors.Is(err, ErrRefreshReused):
		return err
	}
	return wrap(ErrStoreUnavailable, err)
}

// authenticate verifies an access token, through the cache when possible,
// and checks it against the store. It is the middleware's hot path.
func (t *Tokens) authenticate(ctx context.Context, raw string) (*cachedToken, error) {
	var e *cachedToken
	if t.cache != nil {
		e = t.cache.get(raw)
	}
	if e != nil {
		if t.cfg.Now().After(e.deadline) {
			t.cache.remove(raw)
			return nil, ErrTokenExpired
		}
	} else {
		e = new(cachedToken) // claims, principal and ref in one allocation
		c := &e.claims
		if err := t.parse(raw, TypeAccess, c); err != nil {
			return nil, err
		}
		e.principal = principalOf(c)
		e.ref = TokenRef{Subject: c.Subject, ID: c.ID, Family: c.Family, IssuedAt: c.IssuedAt}
		e.deadline = c.ExpiresAt.Add(t.cfg.Leeway)
		if t.cache != nil {
			t.cache.put(raw, e, t.cfg.Now())
		}
	}
	if err := t.cfg.Store.Check(ctx, e.ref); err != nil {
		return nil, storeErr(err)
	}
	return e, nil
}

// Verify verifies an access token like the middleware does (signature,
// claims, revocation) and returns its claims, which are shared: do not
// modify them. Errors: [ErrMissingToken], [ErrInvalidToken],
// [ErrTokenExpired], [ErrTokenRevoked], [ErrStoreUnavailable].
func (t *Tokens) Verify(ctx context.Context, raw string) (*Claims, error) {
	e, err := t.authenticate(ctx, raw)
	if err != nil {
		return nil, err
	}
	return &e.claims, nil
}

// Refresh rotates a refresh token: it verifies it, consumes it atomically
// in the store, and issues a new pair in the same family with the same
// scopes and roles. A refresh token presented a second time gets
// [ErrRefreshReused] and its whole family, including the access tokens
// issued with it, is revoked (RFC 9700 §4.14.2); so of two concurrent
// refreshes with one token, exactly one succeeds. Other errors:
// [ErrInvalidToken] (bad token, or an access token), [ErrTokenExpired],
// [ErrTokenRevoked], [ErrInactiveUser], [ErrStoreUnavailable].
func (t *Tokens) Refresh(ctx context.Context, refreshToken string) (Pair, error) {
	c, err := t.Parse(refreshToken, TypeRefresh)
	if err != nil {
		return Pair{}, err
	}
	if err := storeErr(t.cfg.Store.Consume(ctx, t.ref(c, t.cfg.Now()))); err != nil {
		return Pair{}, err
	}
	if t.cfg.Users != nil {
		if _, err := loadActive(ctx, t.cfg.Users, c.Subject); err != nil {
			return Pair{}, err
		}
	}
	return t.issue(c.Subject, c.Family, c.Scopes, c.Roles, t.cfg.Now().Truncate(time.Millisecond))
}

// Revoke revokes the token c (logout): its id until it expires and its
// whole refresh family, so the refresh token issued with it stops working
// too. Pass the claims of the request's access token
// ([Principal].Claims), or of a refresh token from [Tokens.Parse]. The
// next request with a revoked token is refused.
func (t *Tokens) Revoke(ctx context.Context, c *Claims) error {
	if c == nil || c.Subject == "" {
		return errors.New("auth: revoke: no claims")
	}
	return storeErr(t.cfg.Store.Revoke(ctx, t.ref(c, t.cfg.Now())))
}

// RevokeAllForUser revokes every token of subject issued until now (logout
// everywhere, deactivation), including any issued within the current
// millisecond. Tokens issued from the next millisecond on are valid; to
// revoke and hand the caller a fresh pair at once (password change), use
// [Tokens.ReissueAll].
//
// "Now" is this instance's clock, the clock that dates tokens (iat): the
// cut-off must be on the clock of the tokens it is compared with. Instances
// whose clocks differ by d disagree by d: a token issued up to d after the
// cut-off by an instance running behind is revoked, one issued up to d
// before it by an instance running ahead survives. Keep instances' clocks
// synchronised (NTP) well within Leeway.
func (t *Tokens) RevokeAllForUser(ctx context.Context, subject string) error {
	_, err := t.revokeAll(ctx, subject)
	return err
}

// ReissueAll revokes every token of subject issued until now, as
// [Tokens.RevokeAllForUser] does, and issues a new pair in a new family that
// the revocation does not cover: it is dated at the revocation's boundary,
// less than a millisecond ahead, which the leeway absorbs (with no leeway
// it becomes valid within that millisecond).
func (t *Tokens) ReissueAll(ctx context.Context, subject string, scopes, roles []string) (Pair, error) {
	nbf, err := t.revokeAll(ctx, subject)
	if err != nil {
		return Pair{}, err
	}
	return t.issue(subject, newID(), scopes, roles, nbf)
}

// revokeAll stores subject's not-before time and returns it.
func (t *Tokens) revokeAll(ctx context.Context, subject string) (time.Time, error) {
	if subject == "" {
		return time.Time{}, errors.New("auth: revoke all: empty subject")
	}
	ttl := max(t.cfg.RefreshTTL, t.cfg.AccessTTL) + t.cfg.Leeway
	// Millisecond precision, like iat: every token issued up to the end of
	// the current millisecond is revoked, the caller's own included (a
	// logout-all must not spare the token that asked for it).
	nbf := t.cfg.Now().Truncate(time.Millisecond).Add(time.Millisecond)
	return nbf, storeErr(t.cfg.Store.RevokeSubject(ctx, subject, nbf, ttl))
}

// bearer extracts the token from an Authorization header value.
func bearer(h string) (string, bool) {
	const p = "Bearer "
	if len(h) > len(p) && strings.EqualFold(h[:len(p)], p) {
		return strings.TrimSpace(h[len(p):]), true
	}
	return "", false
}
