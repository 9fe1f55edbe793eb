package middleware_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/gantry-dev/gantry/middleware"
)

// FuzzIPExtractor feeds the client-address extractor arbitrary trusted
// proxy lists, peers and X-Forwarded-For headers: it never panics, an
// untrusted peer's header is ignored, and what it returns is the peer's
// address or a parsable address from the header.
func FuzzIPExtractor(f *testing.F) {
	f.Add("10.0.0.0/8", "10.1.2.3:443", "203.0.113.7, 10.9.9.9")
	f.Add("10.0.0.1", "198.51.100.1:5000", "1.2.3.4")
	f.Add("::/0, 0.0.0.0/0", "[2001:db8::1]:80", "2001:db8::2, ::ffff:1.2.3.4, garbage")
	f.Add("", "127.0.0.1:1", "evil")
	f.Add("192.168.0.0/16", "192.168.1.1:1", "")
	f.Add("bad-cidr/99", "1.1.1.1:1", "2.2.2.2")
	f.Fuzz(func(t *testing.T, trusted, remoteAddr, xff string) {
		ipx, err := middleware.IPExtractor(strings.Split(trusted, ","))
		if err != nil {
			return // a configuration error, reported at start-up
		}
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.RemoteAddr = remoteAddr
		for v := range strings.SplitSeq(xff, "\n") {
			req.Header.Add(echo.HeaderXForwardedFor, v)
		}
		got := ipx(req)
		direct := echo.ExtractIPDirect()(req)
		if got == direct {
			return
		}
		if _, err := netip.ParseAddr(got); err != nil {
			t.Fatalf("IPExtractor(%q) on peer %q, XFF %q = %q: neither the peer nor an address", trusted, remoteAddr, xff, got)
		}
		peer, err := netip.ParseAddr(direct)
		if err != nil {
			t.Fatalf("header believed from a peer %q that is not an address", remoteAddr)
		}
		if !trustedBy(trusted, peer) {
			t.Fatalf("IPExtractor(%q) believed XFF %q from untrusted peer %s: %q", trusted, xff, peer, got)
		}
	})
}

// trustedBy reports whether ip is in one of the comma-separated entries.
func trustedBy(list string, ip netip.Addr) bool {
	for p := range strings.SplitSeq(list, ",") {
		p = strings.TrimSpace(p)
		if pre, err := netip.ParsePrefix(p); err == nil && (pre.Contains(ip.Unmap()) || pre.Contains(ip)) {
			return true
		}
		if a, err := netip.ParseAddr(p); err == nil && (a == ip || a.Unmap() == ip.Unmap()) {
			return true
		}
	}
	return false
}

// keyRecorder is a Store that admits everything and keeps the last key.
type keyRecorder struct {
	mu  sync.Mutex
	key string
}

func (r *keyRecorder) Allow(_ context.Context, key string, limit middleware.Limit) (middleware.Result, error) {
	r.mu.Lock()
	r.key = key
	r.mu.Unlock()
	return middleware.Result{Allowed: true, Limit: limit.Rate}, nil
}

// FuzzRateLimitKey derives rate-limit keys from arbitrary addresses,
// forwarded headers, API keys and subjects: no panic, every stored key is
// at most 128 bytes, and an address is keyed by an address or a prefix.
func FuzzRateLimitKey(f *testing.F) {
	f.Add("[2001:db8:1:2::9]:1", "", "", "", 32, 64, uint8(0))
	f.Add("10.0.0.1:1", "2001:db8::1", "", "", 24, 48, uint8(0))
	f.Add("10.0.0.1:1", "::ffff:203.0.113.9", "", "", 32, 64, uint8(0))
	f.Add("10.0.0.1:1", "", strings.Repeat("k", 300), "", 32, 64, uint8(1))
	f.Add("10.0.0.1:1", "not an ip", "", "user-1", 32, 64, uint8(2))
	f.Add("[fe80::1%eth0]:1", "", "", "", -7, 999, uint8(0))
	f.Fuzz(func(t *testing.T, remoteAddr, xff, apiKey, subject string, v4, v6 int, which uint8) {
		var key middleware.KeyFunc
		switch which % 3 {
		case 0:
			key = middleware.KeyByIPPrefix(v4, v6)
		case 1:
			key = middleware.KeyByHeader("X-API-Key")
		default:
			key = middleware.KeyBySubject(func(echo.Context) string { return subject })
		}
		rec := &keyRecorder{}
		mw, err := middleware.RateLimitConfig{Store: rec, Limit: middleware.PerMinute(10), Name: "api", KeyFunc: key, Logger: discardLogger()}.ToMiddleware()
		if err != nil {
			t.Fatal(err)
		}
		e := echo.New()
		ipx, _ := middleware.IPExtractor([]string{"0.0.0.0/0", "::/0"}) // believe the fuzzed header
		e.IPExtractor = ipx
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.RemoteAddr = remoteAddr
		if xff != "" {
			req.Header.Set(echo.HeaderXForwardedFor, xff)
		}
		if apiKey != "" {
			req.Header.Set("X-API-Key", apiKey)
		}
		c := e.NewContext(req, httptest.NewRecorder())
		raw := key(c)
		if err := mw(func(echo.Context) error { return nil })(c); err != nil {
			t.Fatalf("limiter failed: %v", err)
		}
		if raw != "" && len(rec.key) > 128 {
			t.Fatalf("stored key is %d bytes; want at most 128", len(rec.key))
		}
		if which%3 != 0 {
			return
		}
		if _, err := netip.ParseAddr(c.RealIP()); err == nil {
			if _, perr := netip.ParsePrefix(raw); perr != nil {
				if _, aerr := netip.ParseAddr(raw); aerr != nil {
					t.Fatalf("key of address %q = %q: neither an address nor a prefix", c.RealIP(), raw)
				}
			}
		}
	})
}

// FuzzCORSPreflight feeds a preflight arbitrary Access-Control-Request-Method
// and -Headers values: it never panics, and it is allowed exactly when the
// method is listed or safelisted and every comma-separated header name,
// trimmed and in any case, is listed.
func FuzzCORSPreflight(f *testing.F) {
	f.Add("PUT", "x-tenant, content-type")
	f.Add("DELETE", "")
	f.Add("POST", "X-TENANT,,  ,x-secret")
	f.Add("put", "\tx-tenant\t")
	f.Add("GET", "content-type,x-tenant,x-tenant")
	allowed := map[string]bool{"content-type": true, "x-tenant": true}
	mw, err := middleware.CORSConfig{
		AllowOrigins: []string{"https://app.example.com"},
		AllowMethods: []string{"GET", "PUT"},
		AllowHeaders: []string{"Content-Type", "X-Tenant"},
	}.ToMiddleware()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, method, headers string) {
		req := httptest.NewRequest(http.MethodOptions, "/", nil)
		req.Header.Set("Origin", "https://app.example.com")
		req.Header["Access-Control-Request-Method"] = []string{method}
		req.Header["Access-Control-Request-Headers"] = []string{headers}
		rec := serve(t, mw, req, nil)
		want := method == "" || method == "GET" || method == "HEAD" || method == "POST" || method == "PUT"
		for name := range strings.SplitSeq(headers, ",") {
			if name = strings.ToLower(strings.TrimSpace(name)); name != "" && !allowed[name] {
				want = false
			}
		}
		if got := rec.Header().Get("Access-Control-Allow-Origin") != ""; got != want {
			t.Errorf("method %q headers %q: allowed %v; want %v", method, headers, got, want)
		}
	})
}

// FuzzRateLimitPolicyName feeds the rate limiter arbitrary policy names: a
// name with a byte outside printable ASCII is refused at configuration,
// any other is sent in RateLimit and RateLimit-Policy as a structured-field
// string that parses back to exactly the name, quotes and backslashes
// included.
func FuzzRateLimitPolicyName(f *testing.F) {
	f.Add("")
	f.Add("login")
	f.Add(`say "hi"`)
	f.Add(`\`)
	f.Add(`\"`)
	f.Add("tab\there")
	f.Add("caf\u00e9")
	f.Fuzz(func(t *testing.T, name string) {
		printable := true
		for i := range len(name) {
			printable = printable && name[i] >= 0x20 && name[i] <= 0x7e
		}
		mw, err := middleware.RateLimitConfig{Store: middleware.NewMemoryStore(middleware.MemoryStoreConfig{}), Limit: middleware.PerMinute(1), Name: name, Logger: discardLogger()}.ToMiddleware()
		if !printable {
			if !errors.Is(err, middleware.ErrInvalidConfig) {
				t.Fatalf("Name %q: err = %v; want ErrInvalidConfig", name, err)
			}
			return
		}
		if err != nil {
			t.Fatalf("Name %q: %v", name, err)
		}
		want := name
		if want == "" {
			want = "default"
		}
		e := newEcho()
		e.IPExtractor = echo.ExtractIPDirect()
		e.GET("/", func(c echo.Context) error { return c.NoContent(http.StatusNoContent) }, mw)
		var rec *httptest.ResponseRecorder
		for range 2 {
			rec = httptest.NewRecorder()
			e.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
		}
		if rec.Code != http.StatusTooManyRequests {
			t.Fatalf("2nd request = %d; want 429", rec.Code)
		}
		for h, keys := range map[string][]string{"RateLimit": {"r", "t"}, "RateLimit-Policy": {"q", "w"}} {
			v := rec.Header().Get(h)
			got, params, err := parseRateLimitItem(v)
			if err != nil || got != want || len(params) != 2 {
				t.Fatalf("%s %q: name %q params %v err %v; want name %q", h, v, got, params, err, want)
			}
			for _, k := range keys {
				if _, ok := params[k]; !ok {
					t.Fatalf("%s %q: no %s", h, v, k)
				}
			}
		}
	})
}
