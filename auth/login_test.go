package auth_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/auth"
	"github.com/gantry-dev/gantry/auth/authtest"
	"github.com/gantry-dev/gantry/internal/testenv"
)

// TestLoginLockoutAcrossAddresses: 10 failures on one account from 10
// different source addresses, then the 11th attempt (even with the right
// password, from an 11th address) answers 429 with Retry-After.
func TestLoginLockoutAcrossAddresses(t *testing.T) {
	rdb, prefix := testenv.Redis(t)
	for _, backend := range []string{"memory", "redis"} {
		t.Run(backend, func(t *testing.T) {
			lc := auth.LoginLimiterConfig{}
			if backend == "redis" {
				lc = auth.LoginLimiterConfig{Redis: rdb, Prefix: prefix}
			}
			a := newTestApp(t, appOptions{limiter: lc})
			a.addUser(t, "u1", "alice", "right")
			a.addUser(t, "u2", "bob", "right")
			for i := 1; i <= 11; i++ {
				client := clientFrom(fmt.Sprintf("127.0.0.%d", i+1))
				pw := "wrong"
				if i == 11 {
					pw = "right"
				}
				r := a.doWith(t, client, http.MethodPost, "/login", "", map[string]string{"account": "alice", "password": pw})
				want := 401
				if i == 11 {
					want = 429
				}
				if r.Status != want {
					t.Fatalf("attempt %d from 127.0.0.%d = %d %s; want %d", i, i+1, r.Status, r.Body, want)
				}
				if i == 11 {
					ra, err := strconv.Atoi(r.Header.Get("Retry-After"))
					if err != nil || ra < 1 || ra > 15*60 {
						t.Errorf("Retry-After = %q; want 1..900 seconds", r.Header.Get("Retry-After"))
					}
					if r.Env.Error.Type != "too_many_attempts" {
						t.Errorf("type = %q", r.Env.Error.Type)
					}
				}
			}
			// another account is not affected
			if r := a.do(t, "POST", "/login", "", map[string]string{"account": "bob", "password": "right"}); r.Status != 200 {
				t.Errorf("other account = %d; want 200", r.Status)
			}
		})
	}
}

func TestLoginLimiterWindow(t *testing.T) {
	clock := authtest.NewClock(testStart)
	l, err := auth.NewLoginLimiter(auth.LoginLimiterConfig{Limit: 3, Window: time.Minute, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	for i := range 3 {
		acct := []string{"Alice@example.com", "alice@example.com ", " ALICE@example.com"}[i]
		if err := l.Reserve(ctx, acct); err != nil {
			t.Fatalf("attempt %d: %v", i+1, err)
		}
	}
	err = l.Reserve(ctx, "ALICE@example.com")
	var re *auth.RetryError
	if !errors.As(err, &re) || !errors.Is(err, auth.ErrTooManyAttempts) || re.RetryAfter != time.Minute {
		t.Fatalf("Reserve after 3 attempts = %v; want RetryError of 1m", err)
	}
	clock.Advance(time.Minute)
	if err := l.Reserve(ctx, "alice@example.com"); err != nil {
		t.Errorf("Reserve after the window = %v; want nil", err)
	}
	_ = l.Reset(ctx, "alice@example.com")
	for i := range 3 {
		if err := l.Reserve(ctx, "alice@example.com"); err != nil {
			t.Errorf("Reserve %d after Reset = %v", i+1, err)
		}
	}
	// a released attempt (password never checked) is given back
	if err := l.Release(ctx, "alice@example.com"); err != nil {
		t.Fatal(err)
	}
	if err := l.Reserve(ctx, "alice@example.com"); err != nil {
		t.Errorf("Reserve after Release = %v; want nil", err)
	}
	if err := l.Reserve(ctx, "alice@example.com"); !errors.Is(err, auth.ErrTooManyAttempts) {
		t.Errorf("Reserve past the limit = %v; want ErrTooManyAttempts", err)
	}
}

// TestLongPasswordsOverHTTP: the documented 72-byte behaviour end to end.
func TestLongPasswordsOverHTTP(t *testing.T) {
	a := newTestApp(t, appOptions{})
	p72 := strings.Repeat("a", 72)
	a.addUser(t, "u1", "long", p72)
	a.addUser(t, "u2", "emoji", strings.Repeat("😀", 64))
	tests := []struct {
		account, password string
		want              int
	}{
		{"long", p72, 200},
		{"long", p72 + "x", 401},
		{"long", p72[:71], 401},
		{"emoji", strings.Repeat("😀", 64), 200},
		{"emoji", strings.Repeat("😀", 63), 401},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s/%d bytes", tt.account, len(tt.password)), func(t *testing.T) {
			r := a.do(t, "POST", "/login", "", map[string]string{"account": tt.account, "password": tt.password})
			if r.Status != tt.want {
				t.Errorf("login = %d; want %d", r.Status, tt.want)
			}
		})
	}
}

// TestLoginTiming: an unknown account and a wrong password answer the
// same status and body, and their median latencies are within 10%.
func TestLoginTiming(t *testing.T) {
	a := newTestApp(t, appOptions{hasher: auth.HasherConfig{BcryptCost: 8}, limiter: auth.LoginLimiterConfig{Limit: 1000}})
	a.addUser(t, "u1", "alice", "right")
	strip := func(b []byte) string {
		var env map[string]map[string]any
		_ = json.Unmarshal(b, &env)
		delete(env["error"], "request_id")
		delete(env["error"], "timestamp")
		out, _ := json.Marshal(env)
		return string(out)
	}
	unknown := a.do(t, "POST", "/login", "", map[string]string{"account": "nobody", "password": "x"})
	wrong := a.do(t, "POST", "/login", "", map[string]string{"account": "alice", "password": "x"})
	if unknown.Status != 401 || wrong.Status != 401 || strip(unknown.Body) != strip(wrong.Body) {
		t.Fatalf("unknown = %d %s, wrong = %d %s; want the same 401", unknown.Status, unknown.Body, wrong.Status, wrong.Body)
	}
	measure := func(account string) time.Duration {
		start := time.Now()
		a.do(t, "POST", "/login", "", map[string]string{"account": account, "password": "x"})
		return time.Since(start)
	}
	var ratio float64
	for attempt := 1; attempt <= 3; attempt++ { // the machine is shared: allow retries
		var u, w []time.Duration
		for range 15 {
			u = append(u, measure("nobody"))
			w = append(w, measure("alice"))
		}
		slices.Sort(u)
		slices.Sort(w)
		ratio = float64(u[7]) / float64(w[7])
		t.Logf("attempt %d: median unknown %v, wrong password %v, ratio %.3f", attempt, u[7], w[7], ratio)
		if ratio > 0.9 && ratio < 1.1 {
			return
		}
	}
	t.Errorf("median latency ratio unknown/wrong = %.3f; want within 10%%", ratio)
}

// limiterContract is what every LoginLimiter backend does, on one account
// with Limit 3 and a one-minute window.
func limiterContract(t *testing.T, l *auth.LoginLimiter) {
	t.Helper()
	ctx := t.Context()
	const acct = "carol@example.com"
	for i := range 3 {
		if err := l.Reserve(ctx, acct); err != nil {
			t.Fatalf("attempt %d = %v; want nil", i+1, err)
		}
	}
	err := l.Reserve(ctx, " Carol@Example.com")
	var re *auth.RetryError
	if !errors.As(err, &re) || !errors.Is(err, auth.ErrTooManyAttempts) || re.RetryAfter <= 0 || re.RetryAfter > time.Minute {
		t.Fatalf("attempt 4 = %v; want RetryError within the 1m window", err)
	}
	if err := l.Reserve(ctx, "dave@example.com"); err != nil {
		t.Errorf("another account = %v; want nil", err)
	}
	if err := l.Release(ctx, acct); err != nil {
		t.Fatal(err)
	}
	if err := l.Reserve(ctx, acct); err != nil {
		t.Errorf("after Release = %v; want nil", err)
	}
	if err := l.Reserve(ctx, acct); !errors.Is(err, auth.ErrTooManyAttempts) {
		t.Errorf("past the limit again = %v; want ErrTooManyAttempts", err)
	}
	if err := l.Reset(ctx, acct); err != nil {
		t.Fatal(err)
	}
	if err := l.Reserve(ctx, acct); err != nil {
		t.Errorf("after Reset = %v; want nil", err)
	}
	// releasing more than was reserved never goes below zero
	for range 5 {
		_ = l.Release(ctx, acct)
	}
	for i := range 3 {
		if err := l.Reserve(ctx, acct); err != nil {
			t.Errorf("attempt %d after over-release = %v; want nil", i+1, err)
		}
	}
	if err := l.Reserve(ctx, acct); !errors.Is(err, auth.ErrTooManyAttempts) {
		t.Errorf("over-release lifted the limit: %v", err)
	}
}

// TestLoginLimiterContract runs limiterContract on both backends.
func TestLoginLimiterContract(t *testing.T) {
	rdb, prefix := testenv.Redis(t)
	for _, backend := range []string{"memory", "redis"} {
		t.Run(backend, func(t *testing.T) {
			lc := auth.LoginLimiterConfig{Limit: 3, Window: time.Minute}
			if backend == "redis" {
				lc.Redis, lc.Prefix = rdb, prefix
			}
			l, err := auth.NewLoginLimiter(lc)
			if err != nil {
				t.Fatal(err)
			}
			limiterContract(t, l)
		})
	}
}
