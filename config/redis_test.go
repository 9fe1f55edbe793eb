package config

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

func TestParseRedisURL(t *testing.T) {
	const secret = "s3cr3t-Pa55"
	tests := []struct {
		name string
		url  string
		// want describes the result: "single addr db", "sentinel master
		// addr,addr db", "cluster addr,addr"; or the error text.
		want    string
		wantErr string
		user    string
		pass    string
		tls     bool
	}{
		{name: "single", url: "redis://localhost:6379/2", want: "single localhost:6379 2"},
		{name: "single default port", url: "redis://cache", want: "single cache:6379 0"},
		{name: "single credentials", url: "redis://app:" + secret + "@cache:6380/1?pool_size=7", want: "single cache:6380 1", user: "app", pass: secret},
		{name: "single tls", url: "rediss://cache:6380", want: "single cache:6380 0", tls: true},
		{name: "unix socket", url: "unix:///run/redis.sock?db=3", want: "single /run/redis.sock 3"},
		{name: "sentinel", url: "redis-sentinel://s1:26379,s2:26380/mymaster/4", want: "sentinel mymaster s1:26379,s2:26380 4"},
		{name: "sentinel default port and db", url: "redis-sentinel://s1,s2/mymaster", want: "sentinel mymaster s1:26379,s2:26379 0"},
		{name: "sentinel credentials", url: "redis-sentinel://:" + secret + "@s1/mymaster?dial_timeout=2s", want: "sentinel mymaster s1:26379 0", pass: secret},
		{name: "sentinel ipv6", url: "redis-sentinel://[::1]:26379,[fe80::1]/m", want: "sentinel m [::1]:26379,[fe80::1]:26379 0"},
		{name: "sentinel tls", url: "rediss-sentinel://s1/m", want: "sentinel m s1:26379 0", tls: true},
		{name: "cluster", url: "redis-cluster://n1:7000,n2:7001,n3", want: "cluster n1:7000,n2:7001,n3:6379"},
		{name: "cluster credentials", url: "redis-cluster://u:" + secret + "@n1:7000?read_only=true", want: "cluster n1:7000", user: "u", pass: secret},
		{name: "cluster tls", url: "rediss-cluster://n1:7000", want: "cluster n1:7000", tls: true},

		{name: "no scheme", url: "localhost:6379", wantErr: "is not a URL"},
		{name: "bad scheme", url: "http://u:" + secret + "@cache", wantErr: `has scheme "http"`},
		{name: "single bad port", url: "redis://:" + secret + "@cache:notaport/0", wantErr: "REDIS_URL"},
		{name: "single bad db", url: "redis://:" + secret + "@cache/abc", wantErr: "invalid database"},
		{name: "single unknown option", url: "redis://:" + secret + "@cache/0?colour=blue", wantErr: "unexpected option"},
		{name: "sentinel no master", url: "redis-sentinel://:" + secret + "@s1:26379", wantErr: "master's name"},
		{name: "sentinel too deep", url: "redis-sentinel://s1/m/1/2", wantErr: "master's name"},
		{name: "sentinel bad db", url: "redis-sentinel://:" + secret + "@s1/m/x", wantErr: "invalid database"},
		{name: "sentinel empty host", url: "redis-sentinel://:" + secret + "@s1,,s2/m", wantErr: "empty host"},
		{name: "sentinel bad port", url: "redis-sentinel://s1:26x/m", wantErr: "bad port"},
		{name: "sentinel password option", url: "redis-sentinel://s1/m?password=" + secret, wantErr: "not as master_name"},
		{name: "cluster db path", url: "redis-cluster://:" + secret + "@n1/1", wantErr: "no path"},
		{name: "cluster unknown option", url: "redis-cluster://n1?colour=blue", wantErr: "unexpected option"},
		{name: "cluster no host", url: "redis-cluster://:" + secret + "@", wantErr: "empty host"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := ParseRedisURL(tt.url)
			if tt.wantErr != "" {
				if err == nil {
					t.Fatalf("ParseRedisURL(%q) = %+v; want an error containing %q", tt.url, o, tt.wantErr)
				}
				if !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("error %q does not contain %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error %q shows the password", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseRedisURL(%q): %v", tt.url, err)
			}
			var got, user, pass string
			var tls bool
			switch {
			case o.Single != nil:
				got = fmt.Sprintf("single %s %d", o.Single.Addr, o.Single.DB)
				user, pass, tls = o.Single.Username, o.Single.Password, o.Single.TLSConfig != nil
			case o.Sentinel != nil:
				got = fmt.Sprintf("sentinel %s %s %d", o.Sentinel.MasterName, strings.Join(o.Sentinel.SentinelAddrs, ","), o.Sentinel.DB)
				user, pass, tls = o.Sentinel.Username, o.Sentinel.Password, o.Sentinel.TLSConfig != nil
				if o.Sentinel.SentinelPassword != "" {
					t.Errorf("sentinel password %q; the URL's user info is the master's", o.Sentinel.SentinelPassword)
				}
			case o.Cluster != nil:
				got = fmt.Sprintf("cluster %s", strings.Join(o.Cluster.Addrs, ","))
				user, pass, tls = o.Cluster.Username, o.Cluster.Password, o.Cluster.TLSConfig != nil
			}
			if got != tt.want {
				t.Errorf("ParseRedisURL(%q) = %s; want %s", tt.url, got, tt.want)
			}
			if user != tt.user || pass != tt.pass || tls != tt.tls {
				t.Errorf("credentials %q:%q tls %v; want %q:%q tls %v", user, pass, tls, tt.user, tt.pass, tt.tls)
			}
		})
	}
}

func TestParseRedisURLSentinelAuth(t *testing.T) {
	o, err := ParseRedisURL("redis-sentinel://app:pw@s1/m?sentinel_username=su&sentinel_password=sp")
	if err != nil {
		t.Fatal(err)
	}
	f := o.Sentinel
	if f.Username != "app" || f.Password != "pw" || f.SentinelUsername != "su" || f.SentinelPassword != "sp" {
		t.Fatalf("master %q:%q sentinel %q:%q; want app:pw and su:sp", f.Username, f.Password, f.SentinelUsername, f.SentinelPassword)
	}
}

func TestOpenRedis(t *testing.T) {
	t.Run("single", func(t *testing.T) {
		rdb, err := OpenRedis(t.Context(), &Settings{RedisURL: "redis://127.0.0.1:6379/0", RedisPoolSize: 3})
		if err != nil {
			t.Skipf("no Redis on 127.0.0.1:6379: %v", err)
		}
		defer rdb.Close()
		if got := rdb.PoolStats(); got == nil {
			t.Fatal("no pool stats")
		}
		if got := rdb.(interface{ Options() *redis.Options }).Options().PoolSize; got != 3 {
			t.Errorf("pool size %d; want REDIS_POOL_SIZE 3", got)
		}
	})
	t.Run("unreachable", func(t *testing.T) {
		const secret = "hunter22secret"
		ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
		defer cancel()
		_, err := OpenRedis(ctx, &Settings{RedisURL: "redis://:" + secret + "@127.0.0.1:7459/0?dial_timeout=200ms&max_retries=-1"})
		if err == nil {
			t.Fatal("OpenRedis on a closed port succeeded")
		}
		if strings.Contains(err.Error(), secret) || !strings.Contains(err.Error(), "127.0.0.1:7459") {
			t.Errorf("error %q: want the redacted URL, never the password", err)
		}
	})
	t.Run("empty", func(t *testing.T) {
		if _, err := OpenRedis(t.Context(), &Settings{}); err == nil {
			t.Fatal("OpenRedis without REDIS_URL succeeded")
		}
	})
}

// TestOpenRedisSentinel starts one redis-server (port 7440, with a
// password) and one sentinel (7441) monitoring it, and checks that a client
// opened from a redis-sentinel:// URL reaches the master through it.
func TestOpenRedisSentinel(t *testing.T) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skip("redis-server not installed")
	}
	const (
		master   = "127.0.0.1:7440"
		sentinel = "127.0.0.1:7441"
		pass     = "m4ster-pass"
	)
	dir := t.TempDir()
	startRedis(t, bin, master, "--port", "7440", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		"--requirepass", pass, "--dir", dir)
	conf := filepath.Join(dir, "sentinel.conf")
	err = os.WriteFile(conf, []byte("port 7441\nbind 127.0.0.1\n"+
		"sentinel monitor gantry 127.0.0.1 7440 1\n"+
		"sentinel auth-pass gantry "+pass+"\n"), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	startRedis(t, bin, sentinel, conf, "--sentinel")

	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	var rdb interface {
		Close() error
	}
	// The sentinel learns the master within a moment of starting.
	for {
		c, err := OpenRedis(ctx, &Settings{RedisURL: "redis-sentinel://:" + pass + "@" + sentinel + "/gantry/2", RedisPoolSize: 2})
		if err == nil {
			if err := c.Set(ctx, "gantry:sentinel", "ok", 0).Err(); err != nil {
				t.Fatalf("SET through the sentinel: %v", err)
			}
			info, err := c.Do(ctx, "CLIENT", "INFO").Text()
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(info, "db=2") {
				t.Errorf("CLIENT INFO %q; want db=2", info)
			}
			rdb = c
			break
		}
		if strings.Contains(err.Error(), pass) {
			t.Fatalf("error shows the password: %v", err)
		}
		if ctx.Err() != nil {
			t.Fatalf("OpenRedis through the sentinel: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	rdb.Close()

	// A wrong master name is refused by the sentinel, with a clear error.
	_, err = OpenRedis(ctx, &Settings{RedisURL: "redis-sentinel://:" + pass + "@" + sentinel + "/nosuch?max_retries=-1"})
	if err == nil || strings.Contains(err.Error(), pass) {
		t.Fatalf("OpenRedis with an unknown master: %v; want an error without the password", err)
	}
}

// startRedis runs redis-server with args, waits until addr accepts
// connections and stops it by its pid when the test ends.
func startRedis(t *testing.T, bin, addr string, args ...string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("redis-server %v did not listen on %s: %v", args, addr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
