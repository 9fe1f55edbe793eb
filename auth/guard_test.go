package auth_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/gantry-dev/gantry/auth"
	"github.com/gantry-dev/gantry/auth/authtest"
)

func TestGuards(t *testing.T) {
	a := newTestApp(t, appOptions{})
	mint := func(scopes []string, roles ...string) string {
		c := authtest.Claims(a.Tokens, "u1", scopes...)
		c.Roles = roles
		return authtest.Mint(t, a.Tokens, c)
	}
	tests := []struct {
		name, path, token string
		want              int
		wantType          string
		wantMsg           string // substring of the envelope message
	}{
		{"all scopes present", "/posts", mint([]string{"posts:read", "posts:write"}), 200, "", ""},
		{"missing scope", "/posts", mint([]string{"posts:read"}), 403, "insufficient_scope", "posts:write"},
		{"no scopes at all", "/posts", mint(nil), 403, "insufficient_scope", "posts:read, posts:write"},
		{"any scope: one of them", "/any", mint([]string{"b"}), 200, "", ""},
		{"any scope: none", "/any", mint([]string{"c"}), 403, "insufficient_scope", "a, b"},
		{"role present", "/editor", mint(nil, "editor"), 200, "", ""},
		{"role missing", "/editor", mint(nil, "viewer"), 403, "forbidden", "editor"},
		{"superuser by role", "/admin", mint(nil, auth.RoleSuperuser), 200, "", ""},
		{"not superuser", "/admin", mint(nil, "editor"), 403, "forbidden", "superuser"},
		{"no token", "/posts", "", 401, "missing_token", ""},
		{"guard without the middleware: no principal", "/unprotected-guard", "", 401, "missing_token", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := a.do(t, http.MethodGet, tt.path, tt.token, nil)
			if r.Status != tt.want {
				t.Fatalf("GET %s = %d %s; want %d", tt.path, r.Status, r.Body, tt.want)
			}
			if tt.want == 200 {
				return
			}
			if r.Env.Error.Type != tt.wantType || !strings.Contains(r.Env.Error.Message, tt.wantMsg) {
				t.Errorf("envelope = %q %q; want %q containing %q", r.Env.Error.Type, r.Env.Error.Message, tt.wantType, tt.wantMsg)
			}
			if tt.wantType == "insufficient_scope" && !strings.HasPrefix(r.Header.Get("WWW-Authenticate"), `Bearer error="insufficient_scope"`) {
				t.Errorf("WWW-Authenticate = %q", r.Header.Get("WWW-Authenticate"))
			}
			if tt.want == 401 && r.Header.Get("WWW-Authenticate") != "Bearer" {
				t.Errorf("WWW-Authenticate = %q; want Bearer", r.Header.Get("WWW-Authenticate"))
			}
		})
	}
}

// TestSuperuserFromLoader: with a UserLoader, the user decides, not the token.
func TestSuperuserFromLoader(t *testing.T) {
	a := newTestApp(t, appOptions{useLoader: true})
	u := a.addUser(t, "u1", "alice", "pw")
	u.Superuser = true
	a.Users.add(u)
	c := authtest.Claims(a.Tokens, "u1")
	tok := authtest.Mint(t, a.Tokens, c)
	if r := a.do(t, "GET", "/admin", tok, nil); r.Status != 200 {
		t.Errorf("superuser = %d; want 200", r.Status)
	}
	a.Users.mu.Lock()
	a.Users.byID["u1"].Superuser = false
	a.Users.mu.Unlock()
	if r := a.do(t, "GET", "/admin", tok, nil); r.Status != 403 {
		t.Errorf("demoted superuser = %d; want 403 on the next request", r.Status)
	}
	c.Roles = []string{auth.RoleSuperuser} // the token's claim does not override the user
	if r := a.do(t, "GET", "/admin", authtest.Mint(t, a.Tokens, c), nil); r.Status != 403 {
		t.Errorf("superuser role in token but not in user = %d; want 403", r.Status)
	}
}

func TestGuardCheck(t *testing.T) {
	p := &auth.Principal{Subject: "u", Scopes: []string{"a"}}
	if err := auth.RequireScopes("a").Check(p); err != nil {
		t.Errorf("Check = %v; want nil", err)
	}
	err := auth.RequireScopes("a", "b", "c").Check(p)
	se, ok := err.(*auth.ScopeError)
	if !ok || strings.Join(se.Missing, ",") != "b,c" {
		t.Errorf("Check = %v; want ScopeError missing b,c", err)
	}
	if err := auth.RequireScopes("a").Check(nil); err != auth.ErrMissingToken {
		t.Errorf("Check(nil) = %v; want ErrMissingToken", err)
	}
}

func TestGuardSecurity(t *testing.T) {
	tests := []struct {
		name string
		g    auth.Guard
		want []string
	}{
		{"scopes", auth.RequireScopes("posts:write", "posts:read"), []string{"posts:write", "posts:read"}},
		{"any scope", auth.RequireAnyScope("a", "b"), []string{"a", "b"}},
		{"roles only", auth.RequireRoles("admin"), nil},
		{"superuser", auth.RequireSuperuser(), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			scheme, scopes := tt.g.Security()
			if scheme != "bearer" || !slices.Equal(scopes, tt.want) {
				t.Errorf("Security() = %q, %v; want bearer, %v", scheme, scopes, tt.want)
			}
		})
	}
}
