package auth_test

import (
	"crypto/x509"
	"encoding/pem"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/auth"
	"github.com/gantry-dev/gantry/auth/authtest"
	"github.com/golang-jwt/jwt/v5"
)

// signRaw signs c with any method, kid and key, bypassing auth's own checks.
func signRaw(tb testing.TB, m jwt.SigningMethod, kid string, key any, c auth.Claims) string {
	tb.Helper()
	tok := jwt.NewWithClaims(m, &c)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// TestAttacks sends each hostile token of the list to a protected
// route of an app whose key set mixes EdDSA (signing), RS256 and HS256.
func TestAttacks(t *testing.T) {
	k := mixedKeys(t)
	a := newTestApp(t, appOptions{tokens: auth.TokensConfig{Keys: k.keys, Leeway: 30 * time.Second}, useLoader: true})
	a.addUser(t, "u1", "alice", "pw")
	valid := func() auth.Claims { return authtest.Claims(a.Tokens, "u1") }
	now := a.Clock.Now()
	rsaPEM := func() []byte {
		der, err := x509.MarshalPKIXPublicKey(k.rsaPub)
		if err != nil {
			t.Fatal(err)
		}
		return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	}()

	tests := []struct {
		name     string
		token    func() string
		want     int
		wantType string
	}{
		{"valid token", func() string { return authtest.Mint(t, a.Tokens, valid()) }, 200, ""},
		{"alg none", func() string {
			return signRaw(t, jwt.SigningMethodNone, "ed1", jwt.UnsafeAllowNoneSignatureType, valid())
		}, 401, "invalid_token"},
		{"alg none without kid", func() string {
			return signRaw(t, jwt.SigningMethodNone, "", jwt.UnsafeAllowNoneSignatureType, valid())
		}, 401, "invalid_token"},
		{"HS256 signed with the Ed25519 public key as secret", func() string {
			return signRaw(t, jwt.SigningMethodHS256, "ed1", []byte(k.edPub), valid())
		}, 401, "invalid_token"},
		{"HS256 signed with the RSA public key PEM as secret", func() string {
			return signRaw(t, jwt.SigningMethodHS256, "rs1", rsaPEM, valid())
		}, 401, "invalid_token"},
		{"RS256 token naming the HMAC key", func() string {
			return signRaw(t, jwt.SigningMethodRS256, "hs1", k.rsa, valid())
		}, 401, "invalid_token"},
		{"signed by an unknown key", func() string {
			return signRaw(t, jwt.SigningMethodHS256, "hs1", []byte("another-secret-of-at-least-32-bytes!!"), valid())
		}, 401, "invalid_token"},
		{"HS256 with the real HMAC key is accepted", func() string {
			return signRaw(t, jwt.SigningMethodHS256, "hs1", k.hmac, valid())
		}, 200, ""},
		{"RS256 with the real RSA key is accepted", func() string {
			return signRaw(t, jwt.SigningMethodRS256, "rs1", k.rsa, valid())
		}, 200, ""},
		{"no exp", func() string {
			c := valid()
			c.ExpiresAt = time.Time{}
			return authtest.Mint(t, a.Tokens, c)
		}, 401, "invalid_token"},
		{"expired beyond leeway", func() string {
			c := valid()
			c.ExpiresAt = now.Add(-31 * time.Second)
			return authtest.Mint(t, a.Tokens, c)
		}, 401, "token_expired"},
		{"expired within leeway", func() string {
			c := valid()
			c.ExpiresAt = now.Add(-20 * time.Second)
			return authtest.Mint(t, a.Tokens, c)
		}, 200, ""},
		{"nbf in the future", func() string {
			c := valid()
			c.NotBefore = now.Add(2 * time.Minute)
			return authtest.Mint(t, a.Tokens, c)
		}, 401, "invalid_token"},
		{"iat in the future", func() string {
			c := valid()
			c.IssuedAt = now.Add(2 * time.Minute)
			return authtest.Mint(t, a.Tokens, c)
		}, 401, "invalid_token"},
		{"wrong iss", func() string {
			c := valid()
			c.Issuer = "evil"
			return authtest.Mint(t, a.Tokens, c)
		}, 401, "invalid_token"},
		{"missing iss", func() string {
			c := valid()
			c.Issuer = ""
			return authtest.Mint(t, a.Tokens, c)
		}, 401, "invalid_token"},
		{"wrong aud", func() string {
			c := valid()
			c.Audience = []string{"other-service"}
			return authtest.Mint(t, a.Tokens, c)
		}, 401, "invalid_token"},
		{"missing aud", func() string {
			c := valid()
			c.Audience = nil
			return authtest.Mint(t, a.Tokens, c)
		}, 401, "invalid_token"},
		{"refresh token as access token", func() string {
			c := valid()
			c.Type = auth.TypeRefresh
			return authtest.Mint(t, a.Tokens, c)
		}, 401, "invalid_token"},
		{"no token type", func() string {
			c := valid()
			c.Type = ""
			return authtest.Mint(t, a.Tokens, c)
		}, 401, "invalid_token"},
		{"kid ../../etc/passwd", func() string {
			return signRaw(t, jwt.SigningMethodHS256, "../../etc/passwd", k.hmac, valid())
		}, 401, "invalid_token"},
		{"kid of 4 KB", func() string {
			return signRaw(t, jwt.SigningMethodHS256, strings.Repeat("k", 4<<10), k.hmac, valid())
		}, 401, "invalid_token"},
		{"kid of 8 KB", func() string {
			return signRaw(t, jwt.SigningMethodHS256, strings.Repeat("k", 8<<10), k.hmac, valid())
		}, 401, "invalid_token"},
		{"1 MB bearer value", func() string { return strings.Repeat("A", 1<<20) }, 401, "invalid_token"},
		{"garbage", func() string { return "not.a.jwt" }, 401, "invalid_token"},
		{"unknown user", func() string { return authtest.Mint(t, a.Tokens, authtest.Claims(a.Tokens, "ghost")) }, 401, "inactive_user"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok := tt.token()
			lookups, storeCalls := a.Users.lookups.Load(), a.Store.calls.Load()
			start := time.Now()
			r := a.do(t, http.MethodGet, "/me", tok, nil)
			took := time.Since(start)
			if r.Status != tt.want {
				t.Fatalf("GET /me = %d %s; want %d", r.Status, r.Body, tt.want)
			}
			if tt.want != 401 {
				return
			}
			if r.Env.Error.Code != 401 || r.Env.Error.Type != tt.wantType {
				t.Errorf("envelope = %d %q; want 401 %q", r.Env.Error.Code, r.Env.Error.Type, tt.wantType)
			}
			if h := r.Header.Get("WWW-Authenticate"); !strings.HasPrefix(h, `Bearer error="invalid_token"`) {
				t.Errorf("WWW-Authenticate = %q; want Bearer error=\"invalid_token\"...", h)
			}
			if tt.wantType == "invalid_token" || tt.wantType == "token_expired" {
				// refused before any store or user lookup
				if n := a.Users.lookups.Load() - lookups; n != 0 {
					t.Errorf("user lookups = %d; want 0", n)
				}
				if n := a.Store.calls.Load() - storeCalls; n != 0 {
					t.Errorf("store calls = %d; want 0", n)
				}
			}
			if took > 2*time.Second {
				t.Errorf("took %v", took)
			}
		})
	}
}

// TestHugeTokenBoundedMemory checks that a 1 MB bearer value is refused
// without decoding it: the middleware allocates next to nothing for it.
func TestHugeTokenBoundedMemory(t *testing.T) {
	tokens := authtest.NewTokens(t, auth.TokensConfig{})
	huge := strings.Repeat("A", 1<<20)
	var ms0, ms1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms0)
	const n = 20
	for range n {
		if _, err := tokens.Verify(t.Context(), huge); err == nil {
			t.Fatal("Verify(1 MB) succeeded")
		}
	}
	runtime.ReadMemStats(&ms1)
	if per := (ms1.TotalAlloc - ms0.TotalAlloc) / n; per > 16<<10 {
		t.Errorf("Verify(1 MB) allocates %d bytes per call; want < 16 KiB", per)
	}
}

// TestRefreshAttacks covers the refresh endpoint: an access token there,
// reuse of a consumed refresh token, and concurrent refreshes.
func TestRefreshAttacks(t *testing.T) {
	for _, st := range testStores(t) {
		t.Run(st.name, func(t *testing.T) {
			a := newTestApp(t, appOptions{store: st.store, useLoader: true})
			a.addUser(t, "u1", "alice", "pw")

			t.Run("access token on the refresh endpoint", func(t *testing.T) {
				p := a.login(t, "alice", "pw")
				if r, _ := a.refresh(t, p.AccessToken); r.Status != 401 || r.Env.Error.Type != "invalid_token" {
					t.Errorf("refresh(access) = %d %s; want 401 invalid_token", r.Status, r.Body)
				}
			})
			t.Run("rotation", func(t *testing.T) {
				p := a.login(t, "alice", "pw")
				r, p2 := a.refresh(t, p.RefreshToken)
				if r.Status != 200 || p2.AccessToken == "" || p2.RefreshToken == p.RefreshToken {
					t.Fatalf("refresh = %d %s; want 200 and a new pair", r.Status, r.Body)
				}
				if r := a.do(t, "GET", "/me", p2.AccessToken, nil); r.Status != 200 {
					t.Errorf("GET /me with the new access token = %d; want 200", r.Status)
				}
			})
			t.Run("reused refresh token kills the family", func(t *testing.T) {
				p := a.login(t, "alice", "pw")
				r, p2 := a.refresh(t, p.RefreshToken)
				if r.Status != 200 {
					t.Fatalf("first refresh = %d %s", r.Status, r.Body)
				}
				if r, _ := a.refresh(t, p.RefreshToken); r.Status != 401 || r.Env.Error.Type != "token_revoked" {
					t.Errorf("reuse = %d %s; want 401 token_revoked", r.Status, r.Body)
				}
				if r, _ := a.refresh(t, p2.RefreshToken); r.Status != 401 {
					t.Errorf("refresh with the family's newest token after reuse = %d; want 401", r.Status)
				}
				for _, at := range []string{p.AccessToken, p2.AccessToken} {
					if r := a.do(t, "GET", "/me", at, nil); r.Status != 401 {
						t.Errorf("GET /me with a family access token after reuse = %d; want 401", r.Status)
					}
				}
				other := a.login(t, "alice", "pw") // another session survives
				if r := a.do(t, "GET", "/me", other.AccessToken, nil); r.Status != 200 {
					t.Errorf("GET /me in another family = %d; want 200", r.Status)
				}
			})
			t.Run("two concurrent refreshes", func(t *testing.T) {
				for range 5 {
					p := a.login(t, "alice", "pw")
					var wg sync.WaitGroup
					codes := make([]int, 2)
					start := make(chan struct{})
					for i := range codes {
						wg.Go(func() {
							<-start
							r, _ := a.refresh(t, p.RefreshToken)
							codes[i] = r.Status
						})
					}
					close(start)
					wg.Wait()
					if !(codes[0] == 200 && codes[1] == 401 || codes[0] == 401 && codes[1] == 200) {
						t.Fatalf("concurrent refreshes = %v; want one 200 and one 401", codes)
					}
				}
			})
			t.Run("token after logout", func(t *testing.T) {
				p := a.login(t, "alice", "pw")
				if r := a.do(t, "GET", "/me", p.AccessToken, nil); r.Status != 200 {
					t.Fatalf("before logout = %d", r.Status)
				}
				if r := a.do(t, "POST", "/logout", p.AccessToken, nil); r.Status != 204 {
					t.Fatalf("logout = %d %s", r.Status, r.Body)
				}
				if r := a.do(t, "GET", "/me", p.AccessToken, nil); r.Status != 401 || r.Env.Error.Type != "token_revoked" {
					t.Errorf("after logout = %d %s; want 401 token_revoked", r.Status, r.Body)
				}
				if r, _ := a.refresh(t, p.RefreshToken); r.Status != 401 {
					t.Errorf("refresh after logout = %d; want 401", r.Status)
				}
			})
			t.Run("logout everywhere", func(t *testing.T) {
				p1, p2 := a.login(t, "alice", "pw"), a.login(t, "alice", "pw")
				a.Clock.Advance(time.Millisecond)
				if r := a.do(t, "POST", "/logout-all", p1.AccessToken, nil); r.Status != 204 {
					t.Fatalf("logout-all = %d %s", r.Status, r.Body)
				}
				for _, tok := range []string{p1.AccessToken, p2.AccessToken} {
					if r := a.do(t, "GET", "/me", tok, nil); r.Status != 401 {
						t.Errorf("old token after logout-all = %d; want 401", r.Status)
					}
				}
				if r, _ := a.refresh(t, p2.RefreshToken); r.Status != 401 {
					t.Errorf("old refresh token after logout-all = %d; want 401", r.Status)
				}
				a.Clock.Advance(time.Millisecond)
				p3 := a.login(t, "alice", "pw")
				if r := a.do(t, "GET", "/me", p3.AccessToken, nil); r.Status != 200 {
					t.Errorf("new login after logout-all = %d; want 200", r.Status)
				}
			})
			t.Run("inactive user", func(t *testing.T) {
				a.addUser(t, "u9", "bob", "pw")
				p := a.login(t, "bob", "pw")
				a.Users.mu.Lock()
				a.Users.byID["u9"].Active = false
				a.Users.mu.Unlock()
				if r := a.do(t, "GET", "/me", p.AccessToken, nil); r.Status != 401 || r.Env.Error.Type != "inactive_user" {
					t.Errorf("GET /me as inactive = %d %s; want 401 inactive_user", r.Status, r.Body)
				}
				if r, _ := a.refresh(t, p.RefreshToken); r.Status != 401 {
					t.Errorf("refresh as inactive = %d; want 401", r.Status)
				}
			})
		})
	}
}
