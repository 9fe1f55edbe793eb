package auth_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/auth"
	"github.com/gantry-dev/gantry/auth/authtest"
	"github.com/gantry-dev/gantry/internal/testenv"
)

// gatedHasher wraps a Hasher, counts every password check (Verify and
// DummyVerify) and holds each one at the gate until it is opened.
type gatedHasher struct {
	auth.PasswordHasher
	calls atomic.Int64
	gate  chan struct{}
}

func (h *gatedHasher) wait() {
	h.calls.Add(1)
	if h.gate != nil {
		<-h.gate
	}
}

func (h *gatedHasher) Verify(password, encoded string) (bool, error) {
	h.wait()
	return h.PasswordHasher.Verify(password, encoded)
}

func (h *gatedHasher) DummyVerify(password string) error {
	h.wait()
	return h.PasswordHasher.DummyVerify(password)
}

// waitFor polls cond for up to 10s (counts, not timings: the deadline only
// ends a test that would otherwise hang).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Logf("gave up waiting for %s", what)
			return
		}
		time.Sleep(time.Millisecond)
	}
}

// TestLoginLockoutBurst: 200 concurrent wrong guesses against one account
// with Limit 10 reach the hasher at most 10 times, and the right password,
// sent while they are in flight, does not log in.
func TestLoginLockoutBurst(t *testing.T) {
	const n, limit = 200, 10
	rdb, prefix := testenv.Redis(t)
	for _, backend := range []string{"memory", "redis"} {
		t.Run(backend, func(t *testing.T) {
			lc := auth.LoginLimiterConfig{Limit: limit}
			if backend == "redis" {
				lc.Redis, lc.Prefix, lc.Timeout = rdb, prefix+backend+":", 5*time.Second
			}
			limiter, err := auth.NewLoginLimiter(lc)
			if err != nil {
				t.Fatal(err)
			}
			inner, err := auth.NewHasher(auth.HasherConfig{BcryptCost: 4})
			if err != nil {
				t.Fatal(err)
			}
			hash, _ := inner.Hash("right")
			h := &gatedHasher{PasswordHasher: inner, gate: make(chan struct{})}
			authn := &auth.Authenticator[string]{
				Hasher: h, Limiter: limiter,
				Lookup: func(_ context.Context, account string) (string, string, error) {
					if account != "alice" {
						return "", "", auth.ErrUserNotFound
					}
					return "u1", hash, nil
				},
			}
			ctx := t.Context()
			var refused, invalid, other atomic.Int64
			classify := func(err error) {
				switch {
				case errors.Is(err, auth.ErrTooManyAttempts):
					refused.Add(1)
				case errors.Is(err, auth.ErrInvalidCredentials):
					invalid.Add(1)
				default:
					other.Add(1)
					t.Errorf("wrong guess: %v", err)
				}
			}
			start := make(chan struct{})
			var wg sync.WaitGroup
			for range n {
				wg.Go(func() {
					<-start
					_, err := authn.Authenticate(ctx, "alice", "wrong")
					classify(err)
				})
			}
			close(start)
			// every wrong guess is either refused or held in the hasher
			waitFor(t, "the burst to pass the limiter", func() bool { return refused.Load()+h.calls.Load() >= n })
			inHasher := h.calls.Load()
			// the right password, sent while the wrong guesses are in flight
			var rightErr error
			done := make(chan struct{})
			go func() {
				defer close(done)
				_, rightErr = authn.Authenticate(ctx, "alice", "right")
			}()
			waitFor(t, "the right password to be decided", func() bool {
				select {
				case <-done:
					return true
				default:
					return h.calls.Load() > inHasher
				}
			})
			close(h.gate)
			<-done
			wg.Wait()
			t.Logf("%s: %d of %d wrong guesses reached the hasher; refused %d, 401 %d; right password: %v",
				backend, inHasher, n, refused.Load(), invalid.Load(), rightErr)
			if inHasher > limit {
				t.Errorf("%d wrong guesses reached the hasher; want at most %d", inHasher, limit)
			}
			if got := invalid.Load(); got != inHasher {
				t.Errorf("%d answered 401; want %d (one per password check)", got, inHasher)
			}
			if !errors.Is(rightErr, auth.ErrTooManyAttempts) {
				t.Errorf("right password during the burst = %v; want ErrTooManyAttempts", rightErr)
			}
			if _, err := authn.Authenticate(ctx, "alice", "right"); !errors.Is(err, auth.ErrTooManyAttempts) {
				t.Errorf("right password after the burst = %v; want ErrTooManyAttempts", err)
			}
			if got := h.calls.Load(); got > limit {
				t.Errorf("hasher reached %d times in all; want at most %d", got, limit)
			}
		})
	}
}

// TestLoginHasherBusyOverHTTP: while every hashing slot is taken, a login
// answers 503 in the envelope with Retry-After, and the attempt is given
// back to the limiter (the password was never checked).
func TestLoginHasherBusyOverHTTP(t *testing.T) {
	a := newTestApp(t, appOptions{
		hasher:  auth.HasherConfig{MaxConcurrent: 1, QueueWait: -1},
		limiter: auth.LoginLimiterConfig{Limit: 1},
	})
	a.addUser(t, "u1", "alice", "right")
	// a hash whose verification takes a while: the cost is read from it
	slowHash := "$argon2id$v=19$m=16384,t=20,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaA"
	held := make(chan struct{})
	go func() { // takes the only slot for a while (retrying while a probe has it)
		defer close(held)
		for {
			if _, err := a.Hasher.Verify("x", slowHash); !errors.Is(err, auth.ErrBusy) {
				return
			}
		}
	}()
	// probe until the slot is seen taken
	waitFor(t, "the slot to be taken", func() bool {
		_, err := a.Hasher.Verify("x", "$bcrypt-sha256$")
		return errors.Is(err, auth.ErrBusy)
	})
	r := a.do(t, "POST", "/login", "", map[string]string{"account": "alice", "password": "right"})
	<-held
	if r.Status != 503 || r.Env.Error.Type != "service_unavailable" || r.Header.Get("Retry-After") == "" {
		t.Fatalf("login while the hasher is busy = %d %s Retry-After %q; want 503 service_unavailable with Retry-After",
			r.Status, r.Body, r.Header.Get("Retry-After"))
	}
	// Limit is 1: had the busy attempt been counted, this would be 429
	if r := a.do(t, "POST", "/login", "", map[string]string{"account": "alice", "password": "right"}); r.Status != 200 {
		t.Errorf("login after the burst = %d %s; want 200", r.Status, r.Body)
	}
}

// TestRefreshRotationBurst: 50 concurrent refreshes of one refresh token
// through Tokens.Refresh on each store: exactly one gets a new pair, the
// rest are refused, and the family (the winner's new pair included) is
// revoked by the reuse. Then a logout races refreshes of a fresh token: the
// token is refreshed at most once, and never after the logout returned.
func TestRefreshRotationBurst(t *testing.T) {
	const n = 50
	for _, st := range testStores(t) {
		t.Run(st.name, func(t *testing.T) {
			ctx := t.Context()
			tokens := authtest.NewTokens(t, auth.TokensConfig{Store: st.store})
			p, err := tokens.IssuePair(ctx, "u1", nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			var okCount, refused atomic.Int64
			var winner atomic.Pointer[auth.Pair]
			start := make(chan struct{})
			var wg sync.WaitGroup
			for range n {
				wg.Go(func() {
					<-start
					np, err := tokens.Refresh(ctx, p.RefreshToken)
					switch {
					case err == nil:
						okCount.Add(1)
						winner.Store(&np)
					case errors.Is(err, auth.ErrRefreshReused), errors.Is(err, auth.ErrTokenRevoked):
						refused.Add(1)
					default:
						t.Errorf("refresh: %v", err)
					}
				})
			}
			close(start)
			wg.Wait()
			if okCount.Load() != 1 || refused.Load() != n-1 {
				t.Fatalf("%d refreshes succeeded, %d refused; want exactly 1 of %d", okCount.Load(), refused.Load(), n)
			}
			if _, err := tokens.Verify(ctx, winner.Load().AccessToken); !errors.Is(err, auth.ErrTokenRevoked) {
				t.Errorf("winner's access token after the reuse = %v; want ErrTokenRevoked", err)
			}

			// logout racing refreshes
			p2, _ := tokens.IssuePair(ctx, "u1", nil, nil)
			var refreshed, afterLogout atomic.Int64
			var loggedOut atomic.Bool
			start = make(chan struct{})
			for i := range n {
				wg.Go(func() {
					<-start
					if i == n/2 {
						if err := tokens.Revoke(ctx, p2.Access); err != nil {
							t.Errorf("logout: %v", err)
						}
						loggedOut.Store(true)
						return
					}
					was := loggedOut.Load()
					if _, err := tokens.Refresh(ctx, p2.RefreshToken); err == nil {
						refreshed.Add(1)
						if was {
							afterLogout.Add(1)
						}
					}
				})
			}
			close(start)
			wg.Wait()
			if refreshed.Load() > 1 || afterLogout.Load() > 0 {
				t.Errorf("refreshed %d times, %d after the logout returned; want at most once, never after", refreshed.Load(), afterLogout.Load())
			}
			if _, err := tokens.Refresh(ctx, p2.RefreshToken); !errors.Is(err, auth.ErrTokenRevoked) {
				t.Errorf("refresh after logout = %v; want ErrTokenRevoked", err)
			}
		})
	}
}

// TestLoginLockoutBurstOverHTTP is the audit's check from outside: 40
// concurrent wrong logins on one account answer exactly 10 times 401 (the
// password checks allowed) and 30 times 429 with Retry-After.
func TestLoginLockoutBurstOverHTTP(t *testing.T) {
	rdb, prefix := testenv.Redis(t)
	for _, backend := range []string{"memory", "redis"} {
		t.Run(backend, func(t *testing.T) {
			lc := auth.LoginLimiterConfig{}
			if backend == "redis" {
				lc = auth.LoginLimiterConfig{Redis: rdb, Prefix: prefix + "http:", Timeout: 5 * time.Second}
			}
			a := newTestApp(t, appOptions{limiter: lc})
			a.addUser(t, "u1", "alice", "right")
			var status [600]atomic.Int64
			var noRetryAfter atomic.Int64
			start := make(chan struct{})
			var wg sync.WaitGroup
			for range 40 {
				wg.Go(func() {
					<-start
					r := a.do(t, "POST", "/login", "", map[string]string{"account": "alice", "password": "wrong"})
					status[r.Status].Add(1)
					if r.Status == 429 && r.Header.Get("Retry-After") == "" {
						noRetryAfter.Add(1)
					}
				})
			}
			close(start)
			wg.Wait()
			if status[401].Load() != 10 || status[429].Load() != 30 || noRetryAfter.Load() != 0 {
				t.Errorf("401: %d, 429: %d (%d without Retry-After); want 10 and 30", status[401].Load(), status[429].Load(), noRetryAfter.Load())
			}
		})
	}
}
