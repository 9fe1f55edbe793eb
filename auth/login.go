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
// (memory backend, 10 attempts per 15 minutes).
type LoginLimiterConfig struct {
	// Limit is the number of password checks allowed per account within
	// Window; default 10. A successful login clears the count; the attempt
	// after Limit failures answers 429.
	Limit int
	// Window is counted from the first attempt; default 15 minutes.
	Window time.Duration
	// Redis, when set, keeps the counters in Redis so every instance
	// shares them; otherwise they live in process memory. Each account is
	// one key, so it works on a Redis Cluster.
	Redis redis.UniversalClient
	// Prefix starts Redis keys; default "auth:".
	Prefix string
	// Timeout bounds each Redis call; default 300ms.
	Timeout time.Duration
	// Now is the clock of the memory backend; default time.Now.
	Now func() time.Time
}

// LoginLimiter counts login attempts per account (not per address), so
// spreading a password guessing attack over many addresses does not help.
// Accounts are compared case-insensitively after trimming spaces. It is
// safe for concurrent use.
//
// An attempt is counted before the password is checked, atomically
// ([LoginLimiter.Reserve]), so concurrent guesses cannot all pass a check
// made before any of them was counted: with N concurrent wrong guesses, at
// most Limit reach the password hasher.
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

func (l *LoginLimiter) unavailable(err error) error {
	return wrap(ErrStoreUnavailable, fmt.Errorf("login limiter: %w", err))
}

// reserveScript counts one attempt on KEYS[1] unless ARGV[1] are counted
// already; the window (ARGV[2] ms) starts with the first. It returns
// {1, 0} when counted, {0, ms left in the window} when refused.
var reserveScript = redis.NewScript(`
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
local ttl = redis.call('PTTL', KEYS[1])
if n >= tonumber(ARGV[1]) then
  if ttl < 0 then
    redis.call('PEXPIRE', KEYS[1], ARGV[2])
    ttl = tonumber(ARGV[2])
  end
  return {0, ttl}
end
redis.call('INCR', KEYS[1])
if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return {1, 0}
`)

// Reserve counts one login attempt for account before its password is
// checked. It returns nil when the attempt may go ahead, a [*RetryError]
// wrapping [ErrTooManyAttempts] (429, with the time until the window ends)
// when Limit attempts are already counted in the window, or an error
// wrapping [ErrStoreUnavailable]. The check and the count are one atomic
// step. After the password check, call [LoginLimiter.Reset] on success;
// on failure the attempt stays counted. Call [LoginLimiter.Release] when
// the password was not checked after all.
func (l *LoginLimiter) Reserve(ctx context.Context, account string) error {
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
		if c.n >= l.cfg.Limit {
			return l.tooMany(c.until.Sub(now))
		}
		c.n++
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, l.cfg.Timeout)
	defer cancel()
	res, err := reserveScript.Run(ctx, l.cfg.Redis, []string{k}, l.cfg.Limit, l.cfg.Window.Milliseconds()).Int64Slice()
	if err != nil {
		return l.unavailable(err)
	}
	if len(res) != 2 {
		return l.unavailable(fmt.Errorf("unexpected reply %v", res))
	}
	if res[0] == 0 {
		return l.tooMany(max(time.Duration(res[1])*time.Millisecond, time.Second))
	}
	return nil
}

// releaseScript gives back one attempt counted on KEYS[1].
var releaseScript = redis.NewScript(`
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
if n > 1 then return redis.call('DECR', KEYS[1]) end
if n == 1 then redis.call('DEL', KEYS[1]) end
return 0
`)

// Release gives back an attempt counted by [LoginLimiter.Reserve] whose
// password was never checked (the user lookup failed, the hasher was
// busy), so that errors on the server's side do not lock users out.
func (l *LoginLimiter) Release(ctx context.Context, account string) error {
	k := l.key(account)
	if l.cfg.Redis == nil {
		l.mu.Lock()
		defer l.mu.Unlock()
		if c := l.counts[k]; c != nil && c.n > 0 {
			c.n--
		}
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, l.cfg.Timeout)
	defer cancel()
	if err := releaseScript.Run(ctx, l.cfg.Redis, []string{k}).Err(); err != nil {
		return l.unavailable(err)
	}
	return nil
}

// Reset clears account's count, after a successful login.
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
		return l.unavailable(err)
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

// PasswordHasher is what an [Authenticator] needs to check passwords.
// [*Hasher] implements it; tests wrap it to count or gate the checks.
type PasswordHasher interface {
	// Verify reports whether password matches the encoded hash.
	Verify(password, encoded string) (bool, error)
	// DummyVerify spends the time of one Verify and always fails.
	DummyVerify(password string) error
	// NeedsRehash reports whether encoded should be replaced.
	NeedsRehash(encoded string) bool
	// Hash returns the encoded hash of password.
	Hash(password string) (string, error)
}

var _ PasswordHasher = (*Hasher)(nil)

// Authenticator checks an account's password the careful way: the
// attempt is counted by the per-account limiter before anything else, a
// dummy verification runs when the account is unknown (so both failures
// take the same time and return the same [ErrInvalidCredentials]), a
// success clears the count, and a rehash follows when the stored hash is
// outdated. U is the app's user type.
type Authenticator[U any] struct {
	// Hasher verifies passwords; required. A [*Hasher] usually.
	Hasher PasswordHasher
	// Limiter, when set, counts attempts per account.
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
// password alike, a [*RetryError] wrapping [ErrTooManyAttempts] (429) or
// [ErrBusy] (503; call [WriteHeaders] for Retry-After),
// [ErrStoreUnavailable], or Lookup's own error.
//
// The attempt is reserved in the Limiter first and stays counted when the
// password is wrong; it is given back when the password could not be
// checked (Lookup failed, the hasher was busy) and the count is cleared
// when it is right.
func (a *Authenticator[U]) Authenticate(ctx context.Context, account, password string) (U, error) {
	var zero U
	if a.Limiter != nil {
		if err := a.Limiter.Reserve(ctx, account); err != nil {
			return zero, err
		}
	}
	u, hash, ok, err := a.check(ctx, account, password)
	if a.Limiter != nil {
		var lerr error
		switch {
		case err != nil:
			lerr = a.Limiter.Release(ctx, account)
		case ok:
			lerr = a.Limiter.Reset(ctx, account)
		}
		if err == nil && lerr != nil {
			return zero, lerr
		}
	}
	if err != nil {
		return zero, err
	}
	if !ok {
		return zero, ErrInvalidCredentials
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

// check looks the account up and verifies the password; err means the
// password could not be checked.
func (a *Authenticator[U]) check(ctx context.Context, account, password string) (U, string, bool, error) {
	u, hash, err := a.Lookup(ctx, account)
	switch {
	case errors.Is(err, ErrUserNotFound):
		return u, "", false, a.Hasher.DummyVerify(password)
	case err != nil:
		return u, "", false, err
	}
	ok, err := a.Hasher.Verify(password, hash)
	return u, hash, ok, err
}
