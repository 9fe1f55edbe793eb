package middleware_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/gantry-dev/gantry/internal/testenv"
	"github.com/gantry-dev/gantry/middleware"
)

const testSecret = "0123456789abcdef0123456789abcdef-test-secret"

// sessionApp serves /visit (anonymous session), /login (renew + user),
// /me and /logout (destroy).
func sessionApp(t *testing.T, cfg middleware.SessionConfig) *httptest.Server {
	t.Helper()
	sm, err := middleware.NewSessions(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e := newEcho()
	e.GET("/visit", func(c echo.Context) error {
		s, err := sm.Get(c)
		if err != nil {
			return err
		}
		s.Set("cart", "3 items")
		if err := sm.Save(c, s); err != nil {
			return err
		}
		return c.String(http.StatusOK, s.ID())
	})
	e.POST("/login", func(c echo.Context) error {
		s, err := sm.Get(c)
		if err != nil {
			return err
		}
		s.Set("user", "alice")
		if err := sm.Renew(c, s); err != nil {
			return err
		}
		return c.String(http.StatusOK, s.ID())
	})
	e.GET("/me", func(c echo.Context) error {
		s, err := sm.Get(c)
		if err != nil {
			return err
		}
		if s.Get("user") == "" {
			return echo.NewHTTPError(http.StatusUnauthorized, "not logged in")
		}
		return c.String(http.StatusOK, s.Get("user")+" "+s.Get("cart"))
	})
	e.POST("/logout", func(c echo.Context) error {
		s, err := sm.Get(c)
		if err != nil {
			return err
		}
		if err := sm.Destroy(c, s); err != nil {
			return err
		}
		return c.NoContent(http.StatusNoContent)
	})
	ts := httptest.NewServer(e)
	t.Cleanup(ts.Close)
	return ts
}

func sessionCookie(t *testing.T, res *http.Response) *http.Cookie {
	t.Helper()
	for _, c := range res.Cookies() {
		if c.Name == "session" {
			return c
		}
	}
	return nil
}

func sendWith(t *testing.T, method, url string, ck *http.Cookie) (*http.Response, string) {
	t.Helper()
	req := mustReq(t, method, url)
	if ck != nil {
		req.AddCookie(ck)
	}
	res, body := doReq(t, &http.Client{}, req)
	return res, string(body)
}

func TestSessions(t *testing.T) {
	t.Parallel()
	rdb, prefix := testenv.Redis(t)
	redisStore, err := middleware.NewRedisSessionStore(rdb, prefix+"session:")
	if err != nil {
		t.Fatal(err)
	}
	stores := []struct {
		name       string
		store      middleware.SessionStore
		revocation bool
	}{
		{"cookie", nil, false},
		{"memory", middleware.NewMemorySessionStore(), true},
		{"redis", redisStore, true},
	}
	for _, tt := range stores {
		t.Run(tt.name, func(t *testing.T) {
			ts := sessionApp(t, middleware.SessionConfig{SecretKey: testSecret, Store: tt.store, MaxAge: time.Hour})

			// attacker obtains an anonymous session and plants it in the victim's browser
			res, _ := sendWith(t, http.MethodGet, ts.URL+"/visit", nil)
			planted := sessionCookie(t, res)
			if planted == nil || !planted.HttpOnly || !planted.Secure || planted.SameSite != http.SameSiteLaxMode || planted.MaxAge != 3600 {
				t.Fatalf("session cookie = %+v; want HttpOnly, Secure, SameSite=Lax, Max-Age 3600", planted)
			}
			if strings.Contains(planted.Value, "3 items") {
				t.Fatal("cookie value is not encrypted")
			}
			// the victim logs in with the planted cookie: it is replaced
			res, _ = sendWith(t, http.MethodPost, ts.URL+"/login", planted)
			fresh := sessionCookie(t, res)
			if fresh == nil || fresh.Value == planted.Value {
				t.Fatal("login kept the pre-login session cookie")
			}
			if res, body := sendWith(t, http.MethodGet, ts.URL+"/me", fresh); res.StatusCode != 200 || body != "alice 3 items" {
				t.Fatalf("/me with the new cookie = %d %q", res.StatusCode, body)
			}
			// the planted cookie gives the attacker nothing
			if res, _ := sendWith(t, http.MethodGet, ts.URL+"/me", planted); res.StatusCode != 401 {
				t.Errorf("/me with the planted cookie = %d; want 401", res.StatusCode)
			}
			// logout: the cookie is expired, and (with a server-side store) refused if replayed
			res, _ = sendWith(t, http.MethodPost, ts.URL+"/logout", fresh)
			if gone := sessionCookie(t, res); gone == nil || gone.MaxAge >= 0 {
				t.Errorf("logout cookie = %+v; want expired", gone)
			}
			res, _ = sendWith(t, http.MethodGet, ts.URL+"/me", fresh)
			if tt.revocation && res.StatusCode != 401 {
				t.Errorf("/me with the logged-out cookie = %d; want 401", res.StatusCode)
			}
			// tampering reads as a new session
			bad := *fresh
			bad.Value = bad.Value[:len(bad.Value)-2] + "AA"
			if res, _ := sendWith(t, http.MethodGet, ts.URL+"/me", &bad); res.StatusCode != 401 {
				t.Errorf("/me with a tampered cookie = %d; want 401", res.StatusCode)
			}
		})
	}
	requireTTLs(t, rdb, prefix)
}

func TestSessionsForeignKeyAndExpiry(t *testing.T) {
	t.Parallel()
	a := sessionApp(t, middleware.SessionConfig{SecretKey: testSecret})
	b := sessionApp(t, middleware.SessionConfig{SecretKey: strings.Repeat("z", 40)})
	res, _ := sendWith(t, http.MethodPost, a.URL+"/login", nil)
	ck := sessionCookie(t, res)
	if res, _ := sendWith(t, http.MethodGet, b.URL+"/me", ck); res.StatusCode != 401 {
		t.Errorf("cookie from another key = %d; want 401", res.StatusCode)
	}
	short := sessionApp(t, middleware.SessionConfig{SecretKey: testSecret, MaxAge: time.Second})
	res, _ = sendWith(t, http.MethodPost, short.URL+"/login", nil)
	ck = sessionCookie(t, res)
	time.Sleep(2100 * time.Millisecond)
	if res, _ := sendWith(t, http.MethodGet, short.URL+"/me", ck); res.StatusCode != 401 {
		t.Errorf("expired sealed cookie replayed = %d; want 401", res.StatusCode)
	}
}

func TestSessionConfig(t *testing.T) {
	t.Parallel()
	if _, err := middleware.NewSessions(middleware.SessionConfig{SecretKey: "short"}); !errors.Is(err, middleware.ErrInvalidConfig) {
		t.Errorf("short key err = %v; want ErrInvalidConfig", err)
	}
	if _, err := middleware.NewRedisSessionStore(nil, ""); !errors.Is(err, middleware.ErrInvalidConfig) {
		t.Errorf("nil client err = %v; want ErrInvalidConfig", err)
	}
}

// TestSessionCookieSecureByDefault: without configuration the cookie is
// Secure; only an explicit Insecure (plain-HTTP development) drops it.
func TestSessionCookieSecureByDefault(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name     string
		insecure bool
		want     bool
	}{{"default", false, true}, {"insecure opt-out", true, false}} {
		t.Run(tt.name, func(t *testing.T) {
			ts := sessionApp(t, middleware.SessionConfig{SecretKey: testSecret, Insecure: tt.insecure})
			res, _ := sendWith(t, http.MethodGet, ts.URL+"/visit", nil)
			ck := sessionCookie(t, res)
			if ck == nil || ck.Secure != tt.want {
				t.Errorf("session cookie = %+v; want Secure %v", ck, tt.want)
			}
			res, _ = sendWith(t, http.MethodPost, ts.URL+"/logout", ck)
			if gone := sessionCookie(t, res); gone == nil || gone.Secure != tt.want {
				t.Errorf("logout cookie = %+v; want Secure %v", gone, tt.want)
			}
		})
	}
}
