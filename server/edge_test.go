package server_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/gantry-dev/gantry/config"
	"github.com/gantry-dev/gantry/internal/testenv"
	"github.com/gantry-dev/gantry/middleware"
	"github.com/gantry-dev/gantry/server"
	"github.com/gantry-dev/gantry/server/servertest"
)

const sessionSecret = "0123456789abcdef0123456789abcdef-server-test"

func quiet() *slog.Logger { return slog.New(slog.DiscardHandler) }

// TestHeaderLimit: a head over MaxHeaderBytes but inside the listener's
// margin gets the envelope's 431 from the stack; one far beyond the margin
// is refused by net/http itself, with its plain-text 431, before any
// handler runs.
func TestHeaderLimit(t *testing.T) {
	t.Parallel()
	const limit = 4096
	s, err := server.New(server.Config{MaxHeaderBytes: limit, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	s.Echo().GET("/ok", func(c echo.Context) error { return c.String(http.StatusOK, "ok") })
	base := servertest.Start(t, s)
	tests := []struct {
		name     string
		pad      int
		want     int
		envelope bool
	}{
		{"well under", 1000, 200, false},
		{"at the limit minus the rest of the head", limit - 300, 200, false},
		{"just over", limit + 100, 431, true},
		{"at the end of the margin", limit + server.HeaderMargin - 200, 431, true},
		// net/http reads MaxHeaderBytes + 4096 before refusing by itself.
		{"far over: net/http's own answer", limit + server.HeaderMargin + 8192, 431, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, body := do(t, http.MethodGet, base+"/ok", "", nil, map[string]string{"X-Pad": strings.Repeat("p", tt.pad)})
			if res.StatusCode != tt.want {
				t.Fatalf("head with %d bytes of padding = %d %q; want %d", tt.pad, res.StatusCode, body, tt.want)
			}
			isJSON := strings.HasPrefix(res.Header.Get("Content-Type"), "application/json")
			if tt.want != 431 {
				return
			}
			if !tt.envelope {
				if isJSON {
					t.Errorf("far over: got JSON %q; net/http answers before the stack", body)
				}
				return
			}
			var env envelope
			if err := json.Unmarshal(body, &env); err != nil || !isJSON {
				t.Fatalf("431 body %q (Content-Type %q) is not the envelope: %v", body, res.Header.Get("Content-Type"), err)
			}
			if env.Error.Code != 431 || env.Error.RequestID == "" || res.Header.Get("X-Content-Type-Options") != "nosniff" {
				t.Errorf("envelope = %+v; want code 431 with a request id and the security headers", env.Error)
			}
		})
	}
}

// TestSessionsFromSettings: SESSION_MAX_AGE, SameSite=Lax and Secure in
// production reach the cookie; the session round-trips through the
// memory store ServerConfig installs, and through Redis.
func TestSessionsFromSettings(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		env        string
		redis      bool
		wantSecure bool
	}{
		{"development, memory store", config.EnvDevelopment, false, false},
		{"production, memory store", config.EnvProduction, false, true},
		{"production, redis store", config.EnvProduction, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			st := config.Settings{Environment: tt.env, SecretKey: sessionSecret, SessionMaxAge: 90 * time.Minute}
			cfg := st.ServerConfig()
			cfg.Logger = quiet()
			if cfg.Sessions == nil {
				t.Fatal("ServerConfig with a SECRET_KEY has no sessions")
			}
			if tt.redis {
				rdb, prefix := testenv.Redis(t)
				store, err := middleware.NewRedisSessionStore(rdb, prefix+"session:")
				if err != nil {
					t.Fatal(err)
				}
				cfg.Sessions.Store = store
			}
			s, err := server.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			sm := s.Sessions()
			s.Echo().POST("/cart", func(c echo.Context) error {
				sess, err := sm.Get(c)
				if err != nil {
					return err
				}
				sess.Set("cart", c.QueryParam("items"))
				if err := sm.Save(c, sess); err != nil {
					return err
				}
				return c.NoContent(http.StatusNoContent)
			})
			s.Echo().GET("/cart", func(c echo.Context) error {
				sess, err := sm.Get(c)
				if err != nil {
					return err
				}
				return c.String(http.StatusOK, sess.Get("cart"))
			})
			base := servertest.Start(t, s)
			res, _ := do(t, http.MethodPost, base+"/cart?items=3", "", nil, nil)
			cookies := res.Cookies()
			if res.StatusCode != 204 || len(cookies) != 1 {
				t.Fatalf("POST /cart = %d with cookies %v", res.StatusCode, res.Header.Values("Set-Cookie"))
			}
			ck := cookies[0]
			if ck.MaxAge != 5400 || ck.SameSite != http.SameSiteLaxMode || !ck.HttpOnly || ck.Secure != tt.wantSecure {
				t.Errorf("cookie %q: Max-Age %d SameSite %v HttpOnly %v Secure %v; want 5400, Lax, true, %v",
					res.Header.Get("Set-Cookie"), ck.MaxAge, ck.SameSite, ck.HttpOnly, ck.Secure, tt.wantSecure)
			}
			res, body := do(t, http.MethodGet, base+"/cart", "", nil, map[string]string{"Cookie": ck.Name + "=" + ck.Value})
			if res.StatusCode != 200 || string(body) != "3" {
				t.Errorf("GET /cart with the cookie = %d %q; want 200 \"3\"", res.StatusCode, body)
			}
		})
	}
	t.Run("no secret key, no sessions", func(t *testing.T) {
		if cfg := (config.Settings{}).ServerConfig(); cfg.Sessions != nil {
			t.Errorf("Sessions = %+v; want nil", cfg.Sessions)
		}
	})
}

// TestCORSFromSettings: allowed methods, headers and exposed headers come
// from the settings; a preflight asking for a header they allow passes,
// one asking for another is refused (no Access-Control-Allow-Origin).
func TestCORSFromSettings(t *testing.T) {
	t.Parallel()
	start := func(st config.Settings) string {
		cfg := st.ServerConfig()
		cfg.Logger = quiet()
		s, err := server.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		s.Echo().Any("/items", func(c echo.Context) error { return c.String(http.StatusOK, "ok") })
		return servertest.Start(t, s)
	}
	const origin = "https://app.example.com"
	listed := start(config.Settings{
		CORSOrigins: []string{origin}, CORSAllowCredentials: true,
		CORSAllowMethods: []string{"GET", "PUT"}, CORSAllowHeaders: []string{"Content-Type", "X-Tenant"},
		CORSExposeHeaders: []string{"X-Total-Count"},
	})
	var star config.Settings
	if err := config.Load(&star, config.WithDotEnv(""), config.WithLogger(quiet()), config.WithEnv(map[string]string{
		"BACKEND_CORS_ORIGINS": origin, "CORS_ALLOW_CREDENTIALS": "true",
	})); err != nil {
		t.Fatal(err)
	}
	seed := start(star) // CORS_ALLOW_METHODS and CORS_ALLOW_HEADERS default to *

	tests := []struct {
		name        string
		base        string
		method      string
		headers     string
		wantAllowed bool
		wantHeaders string // Access-Control-Allow-Headers, when allowed
	}{
		{"listed custom header", listed, http.MethodPut, "x-tenant", true, "Content-Type,X-Tenant"},
		{"listed headers, any case", listed, http.MethodPut, "Content-Type, X-TENANT", true, "Content-Type,X-Tenant"},
		{"header not listed", listed, http.MethodPut, "x-tenant, x-secret", false, ""},
		{"method not listed", listed, http.MethodDelete, "", false, ""},
		{"POST is always allowed", listed, http.MethodPost, "content-type", true, "Content-Type,X-Tenant"},
		{"seed's *: any header, reflected", seed, http.MethodDelete, "x-anything, content-type", true, "x-anything, content-type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hdr := map[string]string{"Origin": origin, "Access-Control-Request-Method": tt.method}
			if tt.headers != "" {
				hdr["Access-Control-Request-Headers"] = tt.headers
			}
			res, _ := do(t, http.MethodOptions, tt.base+"/items", "", nil, hdr)
			acao := res.Header.Get("Access-Control-Allow-Origin")
			if res.StatusCode != http.StatusNoContent || (acao == origin) != tt.wantAllowed {
				t.Fatalf("preflight = %d, Access-Control-Allow-Origin %q; want 204, allowed %v", res.StatusCode, acao, tt.wantAllowed)
			}
			if tt.wantAllowed {
				if got := res.Header.Get("Access-Control-Allow-Headers"); tt.headers != "" && got != tt.wantHeaders {
					t.Errorf("Access-Control-Allow-Headers = %q; want %q", got, tt.wantHeaders)
				}
				safelisted := tt.method == http.MethodGet || tt.method == http.MethodHead || tt.method == http.MethodPost // need no listing (Fetch)
				if got := res.Header.Get("Access-Control-Allow-Methods"); !safelisted && !strings.Contains(got, tt.method) {
					t.Errorf("Access-Control-Allow-Methods = %q; want it to list %s", got, tt.method)
				}
			} else if res.Header.Get("Access-Control-Allow-Methods") != "" || res.Header.Get("Access-Control-Allow-Headers") != "" {
				t.Errorf("refused preflight carries %v", res.Header)
			}
		})
	}
	t.Run("exposed headers", func(t *testing.T) {
		res, _ := do(t, http.MethodGet, listed+"/items", "", nil, map[string]string{"Origin": origin})
		if got := res.Header.Get("Access-Control-Expose-Headers"); got != "X-Total-Count" {
			t.Errorf("Access-Control-Expose-Headers = %q; want X-Total-Count", got)
		}
		res, _ = do(t, http.MethodGet, seed+"/items", "", nil, map[string]string{"Origin": origin})
		if got := res.Header.Get("Access-Control-Expose-Headers"); !strings.Contains(got, "X-Request-Id") && !strings.Contains(got, "X-Request-ID") {
			t.Errorf("default Access-Control-Expose-Headers = %q; want X-Request-ID among them", got)
		}
	})
}

// TestRouteBodyLimit: a group or route sets its own body cap, lower or
// higher than the server's MaxBodySize, gzip bodies counted decompressed.
func TestRouteBodyLimit(t *testing.T) {
	t.Parallel()
	s, err := server.New(server.Config{MaxBodySize: 16, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	read := func(c echo.Context) error {
		b, err := io.ReadAll(c.Request().Body)
		if err != nil {
			return err
		}
		return c.String(http.StatusOK, string(b))
	}
	lower, err := middleware.BodyLimitConfig{Limit: 8}.ToMiddleware()
	if err != nil {
		t.Fatal(err)
	}
	higher, err := middleware.BodyLimitConfig{Limit: 64}.ToMiddleware()
	if err != nil {
		t.Fatal(err)
	}
	s.Echo().POST("/plain", read)
	s.Group("/login", lower).POST("", read)
	s.Echo().POST("/upload", read, higher)
	base := servertest.Start(t, s)
	gz := func(n int) io.Reader {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		_, _ = zw.Write(bytes.Repeat([]byte("z"), n))
		_ = zw.Close()
		return &buf
	}
	tests := []struct {
		path string
		size int
		gzip bool
		want int
	}{
		{"/plain", 16, false, 200},
		{"/plain", 17, false, 413},
		{"/login", 8, false, 200},
		{"/login", 9, false, 413},
		{"/upload", 64, false, 200},
		{"/upload", 65, false, 413},
		{"/upload", 60, true, 200},
		{"/upload", 200, true, 413},
		{"/plain", 60, true, 413},
	}
	for _, tt := range tests {
		body := io.Reader(strings.NewReader(strings.Repeat("x", tt.size)))
		hdr := map[string]string{}
		if tt.gzip {
			body, hdr["Content-Encoding"] = gz(tt.size), "gzip"
		}
		res, out := do(t, http.MethodPost, base+tt.path, "", body, hdr)
		if res.StatusCode != tt.want {
			t.Errorf("POST %s with %d bytes (gzip %v) = %d %s; want %d", tt.path, tt.size, tt.gzip, res.StatusCode, out, tt.want)
			continue
		}
		if tt.want == 413 {
			var env envelope
			if err := json.Unmarshal(out, &env); err != nil || env.Error.Type != "payload_too_large" {
				t.Errorf("POST %s: 413 body %q; want the payload_too_large envelope", tt.path, out)
			}
		} else if len(out) != tt.size {
			t.Errorf("POST %s: handler read %d bytes; want %d", tt.path, len(out), tt.size)
		}
	}
}
