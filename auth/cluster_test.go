package auth_test

import (
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/auth"
	"github.com/gantry-dev/gantry/internal/testenv"
	"github.com/redis/go-redis/v9"
)

// startClusterNode starts a one-node Redis Cluster owning every slot on a
// port of 7300–7309, stopped when the test ends. Redis refuses multi-key
// commands across slots even on one node, so this proves the key layout
// is cluster safe.
func startClusterNode(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		testenv.Unavailable(t, "redis-server binary", "apt-get install redis-server", err)
	}
	dir := t.TempDir()
	for port := 7300; port < 7310; port++ {
		addr := "127.0.0.1:" + strconv.Itoa(port)
		if c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond); err == nil {
			c.Close()
			continue // taken
		}
		cmd := exec.Command(bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--cluster-enabled", "yes",
			"--cluster-config-file", fmt.Sprintf("%s/nodes-%d.conf", dir, port), "--dir", dir,
			"--save", "", "--appendonly", "no")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		})
		rdb := redis.NewClient(&redis.Options{Addr: addr})
		defer rdb.Close()
		deadline := time.Now().Add(5 * time.Second)
		for rdb.Ping(t.Context()).Err() != nil {
			if time.Now().After(deadline) {
				t.Fatalf("redis cluster node on %s did not start", addr)
			}
			time.Sleep(20 * time.Millisecond)
		}
		if err := rdb.Do(t.Context(), "CLUSTER", "ADDSLOTSRANGE", 0, 16383).Err(); err != nil {
			t.Fatal(err)
		}
		for {
			info, _ := rdb.ClusterInfo(t.Context()).Result()
			if len(info) > 0 && contains(info, "cluster_state:ok") {
				return addr
			}
			if time.Now().After(deadline) {
				t.Fatalf("cluster not ok: %s", info)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	t.Skip("no free port in 7300–7309")
	return ""
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}

// TestRedisCluster runs the refresh flows and the login limiter on a
// cluster client.
func TestRedisCluster(t *testing.T) {
	addr := startClusterNode(t)
	rdb := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{addr}, ContextTimeoutEnabled: true})
	t.Cleanup(func() { rdb.Close() })
	rs, err := auth.NewRedisStore(auth.RedisStoreConfig{Client: rdb})
	if err != nil {
		t.Fatal(err)
	}
	a := newTestApp(t, appOptions{store: rs, limiter: auth.LoginLimiterConfig{Redis: rdb}})
	a.addUser(t, "u1", "alice", "pw")
	p := a.login(t, "alice", "pw")
	if r := a.do(t, "GET", "/me", p.AccessToken, nil); r.Status != 200 {
		t.Fatalf("GET /me = %d %s", r.Status, r.Body)
	}
	r, p2 := a.refresh(t, p.RefreshToken)
	if r.Status != 200 {
		t.Fatalf("refresh = %d %s", r.Status, r.Body)
	}
	if r, _ := a.refresh(t, p.RefreshToken); r.Status != 401 {
		t.Errorf("reuse = %d; want 401", r.Status)
	}
	if r := a.do(t, "GET", "/me", p2.AccessToken, nil); r.Status != 401 {
		t.Errorf("family after reuse = %d; want 401", r.Status)
	}
	p3 := a.login(t, "alice", "pw")
	a.Clock.Advance(time.Millisecond)
	if r := a.do(t, "POST", "/logout-all", p3.AccessToken, nil); r.Status != 204 {
		t.Errorf("logout-all = %d %s", r.Status, r.Body)
	}
	if r := a.do(t, "GET", "/me", p3.AccessToken, nil); r.Status != 401 {
		t.Errorf("after logout-all = %d; want 401", r.Status)
	}
	if r := a.do(t, "POST", "/login", "", map[string]string{"account": "alice", "password": "bad"}); r.Status != 401 {
		t.Errorf("bad login = %d; want 401", r.Status)
	}
	l, err := auth.NewLoginLimiter(auth.LoginLimiterConfig{Redis: rdb, Limit: 3, Window: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	limiterContract(t, l)
}
