package middleware_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/gantry-dev/gantry/middleware"
)

// keyOf returns what key picks for a request from remoteAddr.
func keyOf(key middleware.KeyFunc, remoteAddr string) string {
	e := echo.New()
	e.IPExtractor = echo.ExtractIPDirect()
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.RemoteAddr = remoteAddr
	return key(e.NewContext(req, httptest.NewRecorder()))
}

func TestKeyByIP(t *testing.T) {
	t.Parallel()
	def := middleware.KeyByIP()
	tests := []struct {
		name string
		key  middleware.KeyFunc
		addr string
		want string
	}{
		{"ipv4", def, "203.0.113.7:1234", "203.0.113.7"},
		{"ipv6 by /64", def, "[2001:db8:1:2:3:4:5:6]:1", "2001:db8:1:2::/64"},
		{"ipv6 same /64", def, "[2001:db8:1:2:ffff::1]:1", "2001:db8:1:2::/64"},
		{"ipv6 next /64", def, "[2001:db8:1:3::1]:1", "2001:db8:1:3::/64"},
		{"ipv4-mapped ipv6", def, "[::ffff:203.0.113.7]:1", "203.0.113.7"},
		{"zone dropped", def, "[fe80::1%eth0]:1", "fe80::/64"},
		{"loopback v6", def, "[::1]:1", "::/64"},
		{"v4 /24", middleware.KeyByIPPrefix(24, 48), "203.0.113.7:1", "203.0.113.0/24"},
		{"v6 /48", middleware.KeyByIPPrefix(24, 48), "[2001:db8:1:2::9]:1", "2001:db8:1::/48"},
		{"v6 full", middleware.KeyByIPPrefix(32, 128), "[2001:db8:1:2::9]:1", "2001:db8:1:2::9"},
		{"clamped", middleware.KeyByIPPrefix(99, -5), "[2001:db8::9]:1", "::/0"},
		{"subject fallback by /64", middleware.KeyBySubject(func(echo.Context) string { return "" }), "[2001:db8:1:2::9]:1", "2001:db8:1:2::/64"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := keyOf(tt.key, tt.addr); got != tt.want {
				t.Errorf("key for %s = %q; want %q", tt.addr, got, tt.want)
			}
		})
	}
}

// TestRateLimitIPv6SharesA64: a host rotating addresses inside its /64
// is one client; its neighbour /64 is another.
func TestRateLimitIPv6SharesA64(t *testing.T) {
	t.Parallel()
	mw, err := middleware.RateLimitConfig{Store: middleware.NewMemoryStore(middleware.MemoryStoreConfig{}), Limit: middleware.PerMinute(1), Logger: discardLogger()}.ToMiddleware()
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		addr string
		want int
	}{
		{"[2001:db8:0:1::1]:5000", 200},
		{"[2001:db8:0:1::2]:5000", 429},
		{"[2001:db8:0:1:dead:beef:0:1]:5000", 429},
		{"[2001:db8:0:2::1]:5000", 200},
	} {
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.RemoteAddr = tt.addr
		if rec := serve(t, mw, req, nil); rec.Code != tt.want {
			t.Errorf("GET from %s = %d; want %d", tt.addr, rec.Code, tt.want)
		}
	}
}

// TestRateLimitKeyBounded: a 60 KB API key is stored as a short hash, and
// still limits that key alone.
func TestRateLimitKeyBounded(t *testing.T) {
	t.Parallel()
	var keys []string
	st := storeFunc(func(key string) { keys = append(keys, key) })
	mw, err := middleware.RateLimitConfig{Store: st, Limit: middleware.PerMinute(1), KeyFunc: middleware.KeyByHeader("X-API-Key"), Logger: discardLogger()}.ToMiddleware()
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{strings.Repeat("k", 60_000), strings.Repeat("k", 59_999) + "j"} {
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.Header.Set("X-API-Key", v)
		serve(t, mw, req, nil)
	}
	if len(keys) != 2 || keys[0] == keys[1] || len(keys[0]) > 128 || len(keys[1]) > 128 {
		t.Errorf("stored keys = %q; want two different keys of at most 128 bytes", keys)
	}
}

// storeFunc is a Store that admits everything and reports each key.
type storeFunc func(key string)

func (f storeFunc) Allow(_ context.Context, key string, limit middleware.Limit) (middleware.Result, error) {
	f(key)
	return middleware.Result{Allowed: true, Limit: limit.Rate, Remaining: limit.Rate - 1}, nil
}
