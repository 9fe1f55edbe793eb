package config

import (
	"strings"
	"testing"
)

// FuzzParseRedisURL parses any REDIS_URL with a known password in its user
// info: it never panics, never shows the password in an error, and what
// it accepts has exactly one form set with at least one address.
func FuzzParseRedisURL(f *testing.F) {
	for _, s := range []string{
		"redis://HOST/0", "rediss://HOST:6380?pool_size=3", "unix:///run/r.sock?db=1",
		"redis-sentinel://HOST,[::1]:26379/master/2", "redis-cluster://HOST:7000,n2", "redis-sentinel://HOST",
		"redis-cluster://HOST/1", "redis-sentinel://HOST/m?sentinel_password=x", "redis://HOST:notaport/x",
		"redis-sentinel://,,/m", "redis-cluster://[::1", "http://HOST",
	} {
		f.Add(s)
	}
	const secret = "Zq8-secret-Xw3"
	f.Fuzz(func(t *testing.T, raw string) {
		scheme, rest, ok := strings.Cut(raw, "://")
		if !ok || strings.Contains(raw, "Zq8") {
			return
		}
		u := scheme + "://u:" + secret + "@" + rest
		o, err := ParseRedisURL(u)
		if err != nil {
			if strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), "Zq8") {
				t.Fatalf("ParseRedisURL(%q) error shows the password: %v", u, err)
			}
			return
		}
		n := 0
		switch {
		case o.Single != nil:
			n++
			if o.Single.Addr == "" {
				t.Fatalf("ParseRedisURL(%q): no address", u)
			}
		}
		if o.Sentinel != nil {
			n++
			if len(o.Sentinel.SentinelAddrs) == 0 || o.Sentinel.MasterName == "" || !strings.HasPrefix(o.Sentinel.Password, secret) {
				t.Fatalf("ParseRedisURL(%q) = %+v", u, o.Sentinel)
			}
		}
		if o.Cluster != nil {
			n++
			if len(o.Cluster.Addrs) == 0 || !strings.HasPrefix(o.Cluster.Password, secret) {
				t.Fatalf("ParseRedisURL(%q) = %+v", u, o.Cluster)
			}
		}
		if n != 1 {
			t.Fatalf("ParseRedisURL(%q) set %d forms", u, n)
		}
	})
}
