package authtest

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/auth"
)

// RunStoreTests is the conformance suite of [auth.Store]: it runs the same
// table of behaviours (check, consume, revoke, revoke-subject, families,
// record expiry) and the same bursts (concurrent consumption of one
// refresh token, revocation racing consumption, concurrent raises of a
// subject's not-before) against the store newStore returns, so that every
// implementation decides alike. newStore is called once per behaviour and
// must return an empty store (or one whose keys the test has not used).
//
// Records expire by the wall clock: a few behaviours sleep about 200ms.
func RunStoreTests(t *testing.T, newStore func(t *testing.T) auth.Store) {
	t0 := time.Now().Truncate(time.Millisecond)
	long := time.Hour
	ref := func(subject, id, family string, issued time.Time) auth.TokenRef {
		return auth.TokenRef{Subject: subject, ID: id, Family: family, IssuedAt: issued, TTL: long, FamilyTTL: long}
	}
	type step struct {
		name string
		do   func(ctx context.Context, s auth.Store) error
		want error // nil, auth.ErrTokenRevoked or auth.ErrRefreshReused
	}
	check := func(r auth.TokenRef) func(context.Context, auth.Store) error {
		return func(ctx context.Context, s auth.Store) error { return s.Check(ctx, r) }
	}
	consume := func(r auth.TokenRef) func(context.Context, auth.Store) error {
		return func(ctx context.Context, s auth.Store) error { return s.Consume(ctx, r) }
	}
	revoke := func(r auth.TokenRef) func(context.Context, auth.Store) error {
		return func(ctx context.Context, s auth.Store) error { return s.Revoke(ctx, r) }
	}
	revokeSubject := func(subject string, nbf time.Time, ttl time.Duration) func(context.Context, auth.Store) error {
		return func(ctx context.Context, s auth.Store) error { return s.RevokeSubject(ctx, subject, nbf, ttl) }
	}
	sleep := func(d time.Duration) func(context.Context, auth.Store) error {
		return func(context.Context, auth.Store) error { time.Sleep(d); return nil }
	}
	short := 50 * time.Millisecond
	wait := sleep(4 * short)
	withTTL := func(r auth.TokenRef, ttl, familyTTL time.Duration) auth.TokenRef {
		r.TTL, r.FamilyTTL = ttl, familyTTL
		return r
	}

	behaviours := []struct {
		name  string
		steps []step
	}{
		{"fresh tokens pass", []step{
			{"check", check(ref("s1", "a1", "f1", t0)), nil},
			{"consume", consume(ref("s1", "r1", "f1", t0)), nil},
			{"check without family", check(ref("s1", "a2", "", t0)), nil},
			{"consume without family", consume(ref("s1", "r2", "", t0)), nil},
		}},
		{"refresh reuse revokes the family", []step{
			{"first consume", consume(ref("s1", "r1", "f1", t0)), nil},
			{"second consume", consume(ref("s1", "r1", "f1", t0)), auth.ErrRefreshReused},
			{"an access token of the family", check(ref("s1", "a1", "f1", t0)), auth.ErrTokenRevoked},
			{"the rotated refresh token", consume(ref("s1", "r2", "f1", t0)), auth.ErrTokenRevoked},
			{"a third consume", consume(ref("s1", "r1", "f1", t0)), auth.ErrTokenRevoked},
			{"another family", check(ref("s1", "a3", "f2", t0)), nil},
			{"another family's refresh", consume(ref("s1", "r3", "f2", t0)), nil},
			{"another subject's same family name", check(ref("s2", "a4", "f1", t0)), nil},
		}},
		{"refresh reuse without family", []step{
			{"first consume", consume(ref("s1", "r1", "", t0)), nil},
			{"second consume", consume(ref("s1", "r1", "", t0)), auth.ErrRefreshReused},
			{"third consume", consume(ref("s1", "r1", "", t0)), auth.ErrRefreshReused},
			{"other tokens of the subject", consume(ref("s1", "r2", "", t0)), nil},
		}},
		{"revoked token with family", []step{
			{"revoke", revoke(auth.TokenRef{Subject: "s1", ID: "r1", TTL: long}), nil},
			{"check", check(ref("s1", "r1", "f1", t0)), auth.ErrTokenRevoked},
			{"consume", consume(ref("s1", "r1", "f1", t0)), auth.ErrTokenRevoked},
			{"the family's other tokens", check(ref("s1", "a2", "f1", t0)), nil},
		}},
		{"revoked token without family", []step{
			{"revoke", revoke(auth.TokenRef{Subject: "s1", ID: "r1", TTL: long}), nil},
			{"check", check(ref("s1", "r1", "", t0)), auth.ErrTokenRevoked},
			{"consume", consume(ref("s1", "r1", "", t0)), auth.ErrTokenRevoked},
			{"another token", consume(ref("s1", "r2", "", t0)), nil},
		}},
		{"revoking a consumed token", []step{
			{"consume", consume(ref("s1", "r1", "", t0)), nil},
			{"revoke", revoke(auth.TokenRef{Subject: "s1", ID: "r1", TTL: long}), nil},
			{"consume again", consume(ref("s1", "r1", "", t0)), auth.ErrTokenRevoked},
		}},
		{"logout revokes the token and its family", []step{
			{"revoke", revoke(ref("s1", "a1", "f1", t0)), nil},
			{"the token", check(ref("s1", "a1", "f1", t0)), auth.ErrTokenRevoked},
			{"its refresh token", consume(ref("s1", "r1", "f1", t0)), auth.ErrTokenRevoked},
			{"another family", check(ref("s1", "a2", "f2", t0)), nil},
		}},
		{"revoking a family only", []step{
			{"revoke", revoke(auth.TokenRef{Subject: "s1", Family: "f1", FamilyTTL: long}), nil},
			{"check", check(ref("s1", "a1", "f1", t0)), auth.ErrTokenRevoked},
			{"consume", consume(ref("s1", "r1", "f1", t0)), auth.ErrTokenRevoked},
			{"a token without family", check(ref("s1", "a2", "", t0)), nil},
		}},
		{"revoke subject", []step{
			{"revoke", revokeSubject("s1", t0.Add(time.Second), long), nil},
			{"older token", check(ref("s1", "a1", "f1", t0)), auth.ErrTokenRevoked},
			{"older token without family", check(ref("s1", "a2", "", t0)), auth.ErrTokenRevoked},
			{"older refresh", consume(ref("s1", "r1", "f1", t0)), auth.ErrTokenRevoked},
			{"one millisecond older", check(ref("s1", "a3", "f2", t0.Add(999*time.Millisecond))), auth.ErrTokenRevoked},
			{"issued at the cut-off", check(ref("s1", "a4", "f2", t0.Add(time.Second))), nil},
			{"newer refresh", consume(ref("s1", "r2", "f2", t0.Add(2*time.Second))), nil},
			{"an earlier cut-off does not lower it", revokeSubject("s1", t0, long), nil},
			{"still revoked", check(ref("s1", "a5", "", t0.Add(500*time.Millisecond))), auth.ErrTokenRevoked},
			{"a later cut-off raises it", revokeSubject("s1", t0.Add(3*time.Second), long), nil},
			{"revoked by the later one", check(ref("s1", "a6", "", t0.Add(2*time.Second))), auth.ErrTokenRevoked},
			{"other subject", check(ref("s2", "a7", "", t0)), nil},
		}},
		{"records expire", []step{
			{"revoke a token briefly", revoke(auth.TokenRef{Subject: "s1", ID: "a1", TTL: short}), nil},
			{"revoke a family briefly", revoke(auth.TokenRef{Subject: "s1", Family: "f2", FamilyTTL: short}), nil},
			{"revoke a subject briefly", revokeSubject("s2", t0.Add(time.Second), short), nil},
			{"consume briefly", consume(withTTL(ref("s1", "r3", "f3", t0), short, short)), nil},
			{"revoke a token for long", revoke(auth.TokenRef{Subject: "s1", ID: "a9", TTL: long}), nil},
			{"token revoked", check(ref("s1", "a1", "", t0)), auth.ErrTokenRevoked},
			{"family revoked", check(ref("s1", "a2", "f2", t0)), auth.ErrTokenRevoked},
			{"subject revoked", check(ref("s2", "a3", "", t0)), auth.ErrTokenRevoked},
			{"wait", wait, nil},
			{"token record expired", check(ref("s1", "a1", "", t0)), nil},
			{"family record expired", check(ref("s1", "a2", "f2", t0)), nil},
			{"subject record expired", check(ref("s2", "a3", "", t0)), nil},
			{"consumed record expired", consume(ref("s1", "r3", "f3", t0)), nil},
			{"long record kept", check(ref("s1", "a9", "", t0)), auth.ErrTokenRevoked},
		}},
		{"a shorter record never shortens a longer one", []step{
			{"revoke token for long", revoke(auth.TokenRef{Subject: "s1", ID: "a1", TTL: long}), nil},
			{"revoke token briefly", revoke(auth.TokenRef{Subject: "s1", ID: "a1", TTL: short}), nil},
			{"revoke family for long", revoke(auth.TokenRef{Subject: "s1", Family: "f1", FamilyTTL: long}), nil},
			{"revoke family briefly", revoke(auth.TokenRef{Subject: "s1", Family: "f1", FamilyTTL: short}), nil},
			{"revoke subject for long", revokeSubject("s2", t0.Add(time.Second), long), nil},
			{"earlier cut-off briefly", revokeSubject("s2", t0, short), nil},
			{"revoke subject s3 briefly", revokeSubject("s3", t0.Add(time.Second), short), nil},
			{"raise s3 for long", revokeSubject("s3", t0.Add(2*time.Second), long), nil},
			{"wait", wait, nil},
			{"token still revoked", check(ref("s1", "a1", "", t0)), auth.ErrTokenRevoked},
			{"family still revoked", check(ref("s1", "a2", "f1", t0)), auth.ErrTokenRevoked},
			{"subject still revoked", check(ref("s2", "a3", "", t0)), auth.ErrTokenRevoked},
			{"raised subject still revoked", check(ref("s3", "a4", "", t0.Add(time.Second))), auth.ErrTokenRevoked},
		}},
	}
	for _, b := range behaviours {
		t.Run(b.name, func(t *testing.T) {
			s := newStore(t)
			ctx := t.Context()
			for i, st := range b.steps {
				err := st.do(ctx, s)
				if st.want == nil && err != nil || st.want != nil && !errors.Is(err, st.want) {
					t.Errorf("step %d %q: err = %v; want %v", i+1, st.name, err, st.want)
				}
			}
		})
	}

	t.Run("burst: one refresh token consumed at once", func(t *testing.T) {
		s := newStore(t)
		const n = 50
		for _, family := range []string{"f1", ""} {
			r := ref("s1", "r-"+family, family, t0)
			var ok, reused, revoked atomic.Int64
			burst(n, func(int) {
				switch err := s.Consume(t.Context(), r); {
				case err == nil:
					ok.Add(1)
				case errors.Is(err, auth.ErrRefreshReused):
					reused.Add(1)
				case errors.Is(err, auth.ErrTokenRevoked):
					revoked.Add(1)
				default:
					t.Errorf("consume: %v", err)
				}
			})
			if ok.Load() != 1 || ok.Load()+reused.Load()+revoked.Load() != n || reused.Load() < 1 {
				t.Errorf("family %q: %d succeeded, %d reused, %d revoked; want exactly 1 success of %d", family, ok.Load(), reused.Load(), revoked.Load(), n)
			}
			if family != "" {
				if err := s.Check(t.Context(), ref("s1", "a1", family, t0)); !errors.Is(err, auth.ErrTokenRevoked) {
					t.Errorf("family after the burst: %v; want ErrTokenRevoked", err)
				}
			}
		}
	})

	t.Run("burst: revocation races consumption", func(t *testing.T) {
		s := newStore(t)
		const n = 50
		for _, family := range []string{"f1", ""} {
			r := ref("s1", "r-"+family, family, t0)
			var consumed atomic.Int64
			burst(n, func(i int) {
				if i%2 == 0 {
					if err := s.Revoke(t.Context(), r); err != nil {
						t.Errorf("revoke: %v", err)
					}
					return
				}
				if err := s.Consume(t.Context(), r); err == nil {
					consumed.Add(1)
				}
			})
			if c := consumed.Load(); c > 1 {
				t.Errorf("family %q: consumed %d times; want at most once", family, c)
			}
			if err := s.Consume(t.Context(), r); !errors.Is(err, auth.ErrTokenRevoked) {
				t.Errorf("family %q: consume after the burst: %v; want ErrTokenRevoked", family, err)
			}
			if err := s.Check(t.Context(), r); !errors.Is(err, auth.ErrTokenRevoked) {
				t.Errorf("family %q: check after the burst: %v; want ErrTokenRevoked", family, err)
			}
		}
	})

	t.Run("burst: concurrent cut-offs keep the latest", func(t *testing.T) {
		s := newStore(t)
		const n = 50
		burst(n, func(i int) {
			nbf := t0.Add(time.Duration(i+1) * time.Millisecond)
			if err := s.RevokeSubject(t.Context(), "s1", nbf, long); err != nil {
				t.Errorf("revoke subject: %v", err)
			}
		})
		last := t0.Add(n * time.Millisecond)
		if err := s.Check(t.Context(), ref("s1", "a1", "", last.Add(-time.Millisecond))); !errors.Is(err, auth.ErrTokenRevoked) {
			t.Errorf("token 1ms before the latest cut-off: %v; want ErrTokenRevoked", err)
		}
		if err := s.Check(t.Context(), ref("s1", "a2", "", last)); err != nil {
			t.Errorf("token at the latest cut-off: %v; want nil", err)
		}
	})
}

// burst runs f(0..n-1) in n goroutines released at once and waits for them.
func burst(n int, f func(i int)) {
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			f(i)
		})
	}
	close(start)
	wg.Wait()
}
