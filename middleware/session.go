package middleware

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/redis/go-redis/v9"
)

// SessionStore keeps server-side session data by id. Implementations are
// safe for concurrent use. Load returns [ErrSessionNotFound] for an unknown
// or expired id.
type SessionStore interface {
	Load(ctx context.Context, id string) (map[string]string, error)
	Save(ctx context.Context, id string, values map[string]string, ttl time.Duration) error
	Delete(ctx context.Context, id string) error
}

// SessionConfig configures [Sessions].
type SessionConfig struct {
	// SecretKey encrypts and authenticates the cookie (AES-256-GCM with a
	// key derived by HKDF-SHA256); required, at least 32 bytes.
	SecretKey string
	// Store keeps the data server-side (the cookie then holds only the
	// encrypted session id); nil keeps the data in the cookie itself
	// (size-limited to ~3 KB, and a copied cookie stays valid until it
	// expires: use a Store when logout must revoke).
	Store SessionStore
	// CookieName default "session".
	CookieName string
	// MaxAge of the session (cookie Max-Age, sealed expiry and store TTL);
	// default 1h (SESSION_MAX_AGE).
	MaxAge time.Duration
	// Insecure leaves the cookie's Secure flag off, for development over
	// plain HTTP only. Default false: cookies are Secure (sent only over
	// HTTPS, as production needs; browsers also send Secure cookies to
	// http://localhost).
	Insecure bool
	// Path default "/"; Domain default none (host-only).
	Path, Domain string
	// SameSite default http.SameSiteLaxMode.
	SameSite http.SameSite
}

// Sessions reads and writes sessions: cookies are HttpOnly, SameSite=Lax
// and Secure by default, encrypted and authenticated (a
// tampered or foreign cookie reads as a new, empty session). Safe for
// concurrent use.
//
// Sessions load on demand: a route that never calls [Sessions.Get] pays
// nothing. A handler calls Get, changes values, then [Sessions.Save]; at
// login [Sessions.Renew] (new id, old one deleted: a session fixed before
// login is worthless after it); at logout [Sessions.Destroy].
type Sessions struct {
	cfg  SessionConfig
	aead cipher.AEAD
}

// Session is one client's session. Not safe for concurrent use.
type Session struct {
	id     string
	values map[string]string
	isNew  bool
}

// ID returns the session id ("" for a cookie-store session never saved).
func (s *Session) ID() string { return s.id }

// IsNew reports whether the request carried no valid session.
func (s *Session) IsNew() bool { return s.isNew }

// Get returns a value, or "".
func (s *Session) Get(key string) string { return s.values[key] }

// Set sets a value; call [Sessions.Save] to keep it.
func (s *Session) Set(key, value string) { s.values[key] = value }

// Delete removes a value; call [Sessions.Save] to keep the change.
func (s *Session) Delete(key string) { delete(s.values, key) }

// Values returns a copy of the values.
func (s *Session) Values() map[string]string { return maps.Clone(s.values) }

// NewSessions returns a Sessions, or an error wrapping [ErrInvalidConfig].
func NewSessions(cfg SessionConfig) (*Sessions, error) {
	if len(cfg.SecretKey) < 32 {
		return nil, fmt.Errorf("%w: sessions need a SecretKey of at least 32 bytes", ErrInvalidConfig)
	}
	if cfg.CookieName == "" {
		cfg.CookieName = "session"
	}
	if cfg.MaxAge <= 0 {
		cfg.MaxAge = time.Hour
	}
	if cfg.Path == "" {
		cfg.Path = "/"
	}
	if cfg.SameSite == 0 {
		cfg.SameSite = http.SameSiteLaxMode
	}
	key, err := hkdf.Key(sha256.New, []byte(cfg.SecretKey), nil, "gantry session cookie v1", 32)
	if err != nil {
		return nil, fmt.Errorf("%w: derive session key: %w", ErrInvalidConfig, err)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	return &Sessions{cfg: cfg, aead: aead}, nil
}

// sealed is the cookie payload.
type sealed struct {
	ID      string            `json:"i,omitempty"` // server-side store
	Values  map[string]string `json:"v,omitempty"` // cookie store
	Expires int64             `json:"e"`           // unix seconds
}

const sessionCtxKey = "gantry.middleware.session"

// Get returns the request's session: the one its cookie names, or a new
// empty one when the cookie is absent, tampered with, expired or revoked.
// It is cached on the echo context. Errors are the store's (e.g. Redis
// down), never a bad cookie.
func (m *Sessions) Get(c echo.Context) (*Session, error) {
	if s, ok := c.Get(sessionCtxKey).(*Session); ok {
		return s, nil
	}
	s, err := m.load(c)
	if err != nil {
		return nil, err
	}
	c.Set(sessionCtxKey, s)
	return s, nil
}

func (m *Sessions) load(c echo.Context) (*Session, error) {
	fresh := &Session{values: map[string]string{}, isNew: true}
	ck, err := c.Cookie(m.cfg.CookieName)
	if err != nil {
		return fresh, nil
	}
	p, ok := m.open(ck.Value)
	if !ok || time.Now().Unix() >= p.Expires {
		return fresh, nil
	}
	if m.cfg.Store == nil {
		if p.Values == nil {
			p.Values = map[string]string{}
		}
		return &Session{id: p.ID, values: p.Values}, nil
	}
	vals, err := m.cfg.Store.Load(c.Request().Context(), p.ID)
	if errors.Is(err, ErrSessionNotFound) {
		return fresh, nil
	}
	if err != nil {
		return nil, fmt.Errorf("middleware: load session: %w", err)
	}
	if vals == nil {
		vals = map[string]string{}
	}
	return &Session{id: p.ID, values: vals}, nil
}

// Save writes the session (store and cookie). Call it before the response
// is written.
func (m *Sessions) Save(c echo.Context, s *Session) error {
	if s.id == "" {
		s.id = newSessionID()
	}
	p := sealed{ID: s.id, Expires: time.Now().Add(m.cfg.MaxAge).Unix()}
	if m.cfg.Store == nil {
		p.Values = s.values
	} else if err := m.cfg.Store.Save(c.Request().Context(), s.id, s.values, m.cfg.MaxAge); err != nil {
		return fmt.Errorf("middleware: save session: %w", err)
	}
	v, err := m.seal(p)
	if err != nil {
		return err
	}
	if len(v) > 4000 {
		return fmt.Errorf("middleware: session cookie of %d bytes is too large; use a server-side Store", len(v))
	}
	c.SetCookie(m.cookie(v, int(m.cfg.MaxAge/time.Second)))
	s.isNew = false
	c.Set(sessionCtxKey, s)
	return nil
}

// Renew gives the session a new id, keeping its values, and deletes the
// old id from the store: call it at login (and on privilege changes) so a
// session id planted before login is worthless after it.
func (m *Sessions) Renew(c echo.Context, s *Session) error {
	old := s.id
	s.id = newSessionID()
	if err := m.Save(c, s); err != nil {
		return err
	}
	if old != "" && m.cfg.Store != nil {
		if err := m.cfg.Store.Delete(c.Request().Context(), old); err != nil {
			return fmt.Errorf("middleware: renew session: delete old id: %w", err)
		}
	}
	return nil
}

// Destroy deletes the session from the store, clears its values and expires
// the cookie: call it at logout. With a server-side Store the old cookie
// is refused afterwards even if a copy is replayed.
func (m *Sessions) Destroy(c echo.Context, s *Session) error {
	if s.id != "" && m.cfg.Store != nil {
		if err := m.cfg.Store.Delete(c.Request().Context(), s.id); err != nil {
			return fmt.Errorf("middleware: destroy session: %w", err)
		}
	}
	clear(s.values)
	s.id, s.isNew = "", true
	c.SetCookie(m.cookie("", -1))
	return nil
}

func (m *Sessions) cookie(value string, maxAge int) *http.Cookie {
	return &http.Cookie{
		Name: m.cfg.CookieName, Value: value, Path: m.cfg.Path, Domain: m.cfg.Domain,
		MaxAge: maxAge, Secure: !m.cfg.Insecure, HttpOnly: true, SameSite: m.cfg.SameSite,
	}
}

func (m *Sessions) seal(p sealed) (string, error) {
	plain, err := json.Marshal(p)
	if err != nil {
		return "", fmt.Errorf("middleware: encode session: %w", err)
	}
	nonce := make([]byte, m.aead.NonceSize(), m.aead.NonceSize()+len(plain)+m.aead.Overhead())
	_, _ = rand.Read(nonce)
	out := m.aead.Seal(nonce, nonce, plain, []byte(m.cfg.CookieName))
	return base64.RawURLEncoding.EncodeToString(out), nil
}

func (m *Sessions) open(v string) (sealed, bool) {
	var p sealed
	raw, err := base64.RawURLEncoding.DecodeString(v)
	if err != nil || len(raw) < m.aead.NonceSize()+m.aead.Overhead() {
		return p, false
	}
	ns := m.aead.NonceSize()
	plain, err := m.aead.Open(nil, raw[:ns], raw[ns:], []byte(m.cfg.CookieName))
	if err != nil {
		return p, false
	}
	if json.Unmarshal(plain, &p) != nil {
		return p, false
	}
	return p, true
}

func newSessionID() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// RedisSessionStore is a [SessionStore] on Redis: one key per session
// (prefix + id, JSON), written with its TTL. Safe for concurrent use; it
// never closes the client.
type RedisSessionStore struct {
	rdb    redis.UniversalClient
	prefix string
}

var _ SessionStore = (*RedisSessionStore)(nil)

// NewRedisSessionStore returns a store using keys prefix+id (default
// prefix "session:"); it fails without a client.
func NewRedisSessionStore(rdb redis.UniversalClient, prefix string) (*RedisSessionStore, error) {
	if rdb == nil {
		return nil, fmt.Errorf("%w: redis session store needs a client", ErrInvalidConfig)
	}
	if prefix == "" {
		prefix = "session:"
	}
	return &RedisSessionStore{rdb: rdb, prefix: prefix}, nil
}

// Load returns the values, or [ErrSessionNotFound].
func (s *RedisSessionStore) Load(ctx context.Context, id string) (map[string]string, error) {
	b, err := s.rdb.Get(ctx, s.prefix+id).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, ErrSessionNotFound
	}
	if err != nil {
		return nil, err
	}
	var v map[string]string
	if err := json.Unmarshal(b, &v); err != nil {
		return nil, fmt.Errorf("middleware: decode session %s: %w", id, err)
	}
	return v, nil
}

// Save writes the values with the TTL.
func (s *RedisSessionStore) Save(ctx context.Context, id string, values map[string]string, ttl time.Duration) error {
	b, err := json.Marshal(values)
	if err != nil {
		return err
	}
	return s.rdb.Set(ctx, s.prefix+id, b, ttl).Err()
}

// Delete removes the session.
func (s *RedisSessionStore) Delete(ctx context.Context, id string) error {
	return s.rdb.Del(ctx, s.prefix+id).Err()
}

// MemorySessionStore is a [SessionStore] in process memory, for one
// instance and tests; expired sessions are dropped when met and swept on
// writes. Safe for concurrent use.
type MemorySessionStore struct {
	mu     sync.Mutex
	m      map[string]memSession
	writes int
}

type memSession struct {
	values  map[string]string
	expires time.Time
}

var _ SessionStore = (*MemorySessionStore)(nil)

// NewMemorySessionStore returns an empty store.
func NewMemorySessionStore() *MemorySessionStore {
	return &MemorySessionStore{m: map[string]memSession{}}
}

// Load returns a copy of the values, or [ErrSessionNotFound].
func (s *MemorySessionStore) Load(_ context.Context, id string) (map[string]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.m[id]
	if !ok || !time.Now().Before(e.expires) {
		delete(s.m, id)
		return nil, ErrSessionNotFound
	}
	return maps.Clone(e.values), nil
}

// Save stores a copy of the values.
func (s *MemorySessionStore) Save(_ context.Context, id string, values map[string]string, ttl time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	s.m[id] = memSession{values: maps.Clone(values), expires: now.Add(ttl)}
	if s.writes++; s.writes%256 == 0 {
		for k, e := range s.m {
			if !now.Before(e.expires) {
				delete(s.m, k)
			}
		}
	}
	return nil
}

// Delete removes the session.
func (s *MemorySessionStore) Delete(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, id)
	return nil
}
