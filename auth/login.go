package auth

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// LoginLimiterConfig configures a [LoginLimiter]. The zero value is valid
// (memory backend, 10 failures per 15 minutes).
type LoginLimiterConfig struct {
	// Limit is the number of failed logins allowed per account within
	// Window; default 10. The next attempt answers 429.
	Limit int
	// Window is counted from the first failure; default 15 minutes.
	Window time.Duration
	// Redis, when set, keeps the counters in Redis so every instance
	// shares them; otherwise they live in process memory.
	Redis redis.UniversalClient
	// Prefix starts Redis keys; default "auth:".
	Prefix string
	// Timeout bounds each Redis call; default 300ms.
	Timeout time.Duration
	// Now is the clock of the memory backend; default time.Now.
	Now func() time.Time
}

// LoginLimiter counts failed logins per account (not per address), so
// spreading a password guessing attack over many addresses does not help.
// Accounts are compared case-insensitively after trimming spaces. It is
// safe for concurrent use.
type LoginLimiter struct {
	cfg LoginLimiterConfig

	mu     sync.Mutex
	counts map[string]*loginCount
}

type loginCount struct {
	n     int
	until time.Time
}

// NewLoginLimiter returns a LoginLimiter, or an error if cfg is invalid.
func NewLoginLimiter(cfg LoginLimiterConfig) (*LoginLimiter, error) {
	if cfg.Limit == 0 {
		cfg.Limit = 10
	}
	if cfg.Window == 0 {
		cfg.Window = 15 * time.Minute
	}
	if cfg.Prefix == "" {
		cfg.Prefix = "auth:"
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 300 * time.Millisecond
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Limit < 0 || cfg.Window < time.Second {
		return nil, errors.New("auth: LoginLimiterConfig: Limit must be positive and Window at least 1s")
	}
	return &LoginLimiter{cfg: cfg, counts: make(map[string]*loginCount)}, nil
}

func (l *LoginLimiter) key(account string) string {
	sum := sha256.Sum256([]byte(strings.ToLower(strings.TrimSpace(account))))
	return l.cfg.Prefix + "login:" + hex.EncodeToString(sum[:16])
}

func (l *LoginLimiter) tooMany(retry time.Duration) error {
	return &RetryError{Err: ErrTooManyAttempts, RetryAfter: retry}
}

// Check returns a [*RetryError] wrapping [ErrTooManyAttempts] (429, with
// the time until the window ends) when account has reached the limit, nil
// otherwise, or an error wrapping [ErrStoreUnavailable]. Call it before
// verifying the password.
func (l *LoginLimiter) Check(ctx context.Context, account string) error {
	k := l.key(account)
	if l.cfg.Redis == nil {
		now := l.cfg.Now()
		l.mu.Lock()
		defer l.mu.Unlock()
		c := l.counts[k]
		if c != nil && now.Before(c.until) && c.n >= l.cfg.Limit {
			return l.tooMany(c.until.Sub(now))
		}
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, l.cfg.Timeout)
	defer cancel()
	var get *redis.StringCmd
	var ttl *redis.DurationCmd
	_, err := l.cfg.Redis.Pipelined(ctx, func(p redis.Pipeliner) error {
		get = p.Get(ctx, k)
		ttl = p.PTTL(ctx, k)
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return wrap(ErrStoreUnavailable, fmt.Errorf("login limiter: %w", err))
	}
	n, _ := get.Int()
	if n >= l.cfg.Limit {
		return l.tooMany(max(ttl.Val(), time.Second))
	}
	return nil
}

// failScript increments KEYS[1], starting its window on the first failure.
var failScript = redis.NewScript(`
local n = redis.call('INCR', KEYS[1])
if n == 1 or redis.call('PTTL', KEYS[1]) < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return n
`)

// Fail records a failed login for account.
func (l *LoginLimiter) Fail(ctx context.Context, account string) error {
	k := l.key(account)
	if l.cfg.Redis == nil {
		now := l.cfg.Now()
		l.mu.Lock()
		defer l.mu.Unlock()
		c := l.counts[k]
		if c == nil || !now.Before(c.until) {
			if len(l.counts) > 100000 {
				l.sweep(now)
			}
			c = &loginCount{until: now.Add(l.cfg.Window)}
			l.counts[k] = c
		}
		c.n++
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, l.cfg.Timeout)
	defer cancel()
	if err := failScript.Run(ctx, l.cfg.Redis, []string{k}, l.cfg.Window.Milliseconds()).Err(); err != nil {
		return wrap(ErrStoreUnavailable, fmt.Errorf("login limiter: %w", err))
	}
	return nil
}

// Reset clears account's failures, after a successful login.
func (l *LoginLimiter) Reset(ctx context.Context, account string) error {
	k := l.key(account)
	if l.cfg.Redis == nil {
		l.mu.Lock()
		delete(l.counts, k)
		l.mu.Unlock()
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, l.cfg.Timeout)
	defer cancel()
	if err := l.cfg.Redis.Del(ctx, k).Err(); err != nil {
		return wrap(ErrStoreUnavailable, fmt.Errorf("login limiter: %w", err))
	}
	return nil
}

func (l *LoginLimiter) sweep(now time.Time) {
	for k, c := range l.counts {
		if !now.Before(c.until) {
			delete(l.counts, k)
		}
	}
}

// Authenticator checks an account's password the careful way: the
// per-account limiter first, a dummy verification when the account is
// unknown (so both failures take the same time and return the same
// [ErrInvalidCredentials]), failure counting, and a rehash when the stored
// hash is outdated. U is the app's user type.
type Authenticator[U any] struct {
	// Hasher verifies passwords; required.
	Hasher *Hasher
	// Limiter, when set, counts failures per account.
	Limiter *LoginLimiter
	// Lookup returns the user and its stored password hash, or an error
	// wrapping [ErrUserNotFound]; required.
	Lookup func(ctx context.Context, account string) (U, string, error)
	// Rehash, when set, is called after a successful login whose hash
	// [Hasher.NeedsRehash] flags, with the new hash to store. Its error is
	// returned.
	Rehash func(ctx context.Context, user U, newHash string) error
}

// Authenticate returns the user whose account and password match.
// Errors: [ErrInvalidCredentials] (401) for an unknown account or a wrong
// password alike, a [*RetryError] wrapping [ErrTooManyAttempts] (429; call
// [WriteHeaders] for Retry-After), [ErrStoreUnavailable], or Lookup's own
// error.
func (a *Authenticator[U]) Authenticate(ctx context.Context, account, password string) (U, error) {
	var zero U
	if a.Limiter != nil {
		if err := a.Limiter.Check(ctx, account); err != nil {
			return zero, err
		}
	}
	u, hash, err := a.Lookup(ctx, account)
	ok := false
	switch {
	case errors.Is(err, ErrUserNotFound):
		a.Hasher.DummyVerify(password)
	case err != nil:
		return zero, err
	default:
		if ok, err = a.Hasher.Verify(password, hash); err != nil {
			return zero, err
		}
	}
	if !ok {
		if a.Limiter != nil {
			if err := a.Limiter.Fail(ctx, account); err != nil {
				return zero, err
			}
		}
		return zero, ErrInvalidCredentials
	}
	if a.Limiter != nil {
		if err := a.Limiter.Reset(ctx, account); err != nil {
			return zero, err
		}
	}
	if a.Rehash != nil && a.Hasher.NeedsRehash(hash) {
		nh, err := a.Hasher.Hash(password)
		if err != nil {
			return zero, err
		}
		if err := a.Rehash(ctx, u, nh); err != nil {
			return zero, err
		}
	}
	return u, nil
}
