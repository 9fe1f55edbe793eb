package main

// The fault test restarts PostgreSQL under the app's requests. It runs its
// own server (initdb + postgres as the postgres user, on a port of
// 25432-25439 and a data directory of its own), never the shared one on
// 5432 that other packages' tests use at the same moment.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/examples/app/internal/testenv"
)

// pgServer is a PostgreSQL server of a test's own.
type pgServer struct {
	t    *testing.T
	bin  string // the directory of initdb and postgres
	dir  string // owned by postgres: data/ and the socket
	port int
	cmd  *exec.Cmd
	done chan struct{}
	log  *testenv.Buffer
}

// startPostgres initializes a cluster in a temporary directory and starts
// it on a free port of 25432-25439 (below the kernel's ephemeral range, 32768+:
// while the server is down, the pool's reconnects could take its port as
// their own source port, or connect to themselves, and the restart could
// not bind). It is stopped when the test ends. The
// test is skipped (failed under CI=true) when PostgreSQL is not installed
// or cannot run as the postgres user.
func startPostgres(t *testing.T) *pgServer {
	t.Helper()
	bins, _ := filepath.Glob("/usr/lib/postgresql/*/bin/postgres")
	if len(bins) == 0 {
		testenv.Unavailable(t, "PostgreSQL binaries", "apt-get install postgresql", errors.New("no /usr/lib/postgresql/*/bin/postgres"))
	}
	pgUser, err := user.Lookup("postgres")
	if err != nil {
		testenv.Unavailable(t, "the postgres user", "apt-get install postgresql", err)
	}
	uid, _ := strconv.Atoi(pgUser.Uid)
	gid, _ := strconv.Atoi(pgUser.Gid)
	dir, err := os.MkdirTemp("", "gantry-pg-") // not t.TempDir: postgres must reach it
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chown(dir, uid, gid); err != nil {
		testenv.Unavailable(t, "a directory owned by postgres", "run the tests as root", err)
	}
	s := &pgServer{t: t, bin: filepath.Dir(bins[len(bins)-1]), dir: dir, log: &testenv.Buffer{}}
	out, err := exec.Command("runuser", "-u", "postgres", "--", filepath.Join(s.bin, "initdb"),
		"-D", filepath.Join(dir, "data"), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync").CombinedOutput()
	if err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	for port := 25432; port <= 25439; port++ {
		ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err == nil {
			ln.Close()
			s.port = port
			break
		}
	}
	if s.port == 0 {
		t.Fatal("no free port in 25432-25439")
	}
	s.start()
	t.Cleanup(s.stop)
	return s
}

// URL is the server's connection URL.
func (s *pgServer) URL() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable&connect_timeout=3", s.port)
}

// start runs postgres and waits until it accepts connections.
func (s *pgServer) start() {
	s.t.Helper()
	s.cmd = exec.Command("runuser", "-u", "postgres", "--", filepath.Join(s.bin, "postgres"),
		"-D", filepath.Join(s.dir, "data"), "-p", strconv.Itoa(s.port), "-k", s.dir,
		"-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "full_page_writes=off")
	s.cmd.Stdout, s.cmd.Stderr = s.log, s.log
	if err := s.cmd.Start(); err != nil {
		s.t.Fatalf("postgres: %v", err)
	}
	s.done = make(chan struct{})
	go func(cmd *exec.Cmd, done chan struct{}) { _ = cmd.Wait(); close(done) }(s.cmd, s.done)
	deadline := time.Now().Add(20 * time.Second)
	for {
		out, err := exec.Command(filepath.Join(s.bin, "pg_isready"), "-h", "127.0.0.1", "-p", strconv.Itoa(s.port), "-t", "1").CombinedOutput()
		if err == nil {
			return
		}
		select {
		case <-s.done:
			s.t.Fatalf("postgres exited:\n%s", s.log.String())
		default:
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("postgres not ready within 20s: %s\n%s", out, s.log.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// pid is the postmaster's process id, from its pid file (runuser is its
// parent).
func (s *pgServer) pid() int {
	s.t.Helper()
	raw, err := os.ReadFile(filepath.Join(s.dir, "data", "postmaster.pid"))
	if err != nil {
		s.t.Fatalf("postmaster.pid: %v", err)
	}
	first, _, _ := strings.Cut(string(raw), "\n")
	pid, err := strconv.Atoi(strings.TrimSpace(first))
	if err != nil || pid <= 1 {
		s.t.Fatalf("postmaster.pid: %q", first)
	}
	return pid
}

// stop shuts the server down fast (SIGINT: connections are terminated) and
// waits for it to exit.
func (s *pgServer) stop() {
	s.t.Helper()
	select {
	case <-s.done:
		return
	default:
	}
	if err := syscall.Kill(s.pid(), syscall.SIGINT); err != nil {
		s.t.Errorf("stop postgres: %v", err)
	}
	select {
	case <-s.done:
	case <-time.After(20 * time.Second):
		_ = syscall.Kill(s.pid(), syscall.SIGQUIT)
		<-s.done
		s.t.Error("postgres did not stop within 20s of SIGINT")
	}
}

// TestPostgresRestart restarts PostgreSQL under a steady load on the app:
// while it is down every answer is a 503 in the error envelope (or a 2xx),
// never a 500 and never slower than a bound; after it is back requests
// succeed again within seconds, on the same pool.
func TestPostgresRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a PostgreSQL server")
	}
	t.Parallel()
	pg := startPostgres(t)
	l := newLiveApp(t, map[string]string{"DATABASE_URL": pg.URL()})
	root := login(t, l.base, "root", "root-password-1")
	root.want(201, "POST", "/api/v1/posts", map[string]any{"title": "kept across the restart", "published": true})

	const slow = 5 * time.Second
	type outcome struct {
		ok, unavailable, other, slow, failed atomic.Int64
		mu                                   sync.Mutex
		examples                             []string
	}
	var phase atomic.Pointer[outcome]
	before, down, after := new(outcome), new(outcome), new(outcome)
	phase.Store(before)
	note := func(o *outcome, s string) {
		o.mu.Lock()
		defer o.mu.Unlock()
		if len(o.examples) < 5 {
			o.examples = append(o.examples, s)
		}
	}
	hc := &http.Client{Timeout: 2 * slow}
	paths := []string{"/api/v1/posts?limit=5", "/api/v1/users/me"} // a query, and authentication loading the user
	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := 0; ctx.Err() == nil; i++ {
				o := phase.Load()
				path := paths[(g+i)%len(paths)]
				req, _ := http.NewRequestWithContext(ctx, "GET", l.base+path, nil)
				req.Header.Set("Authorization", "Bearer "+root.token)
				began := time.Now()
				res, err := hc.Do(req)
				if took := time.Since(began); took > slow {
					o.slow.Add(1)
					note(o, fmt.Sprintf("%s took %v", path, took))
				}
				if err != nil {
					if ctx.Err() == nil {
						o.failed.Add(1)
						note(o, fmt.Sprintf("%s: %v", path, err))
					}
					continue
				}
				raw, _ := io.ReadAll(res.Body)
				res.Body.Close()
				if phase.Load() != o { // began before a switch, ended after: part of the gap
					o = down
				}
				var env struct {
					Error struct {
						Code    int    `json:"code"`
						Type    string `json:"type"`
						Message string `json:"message"`
					} `json:"error"`
				}
				switch {
				case res.StatusCode < 300:
					o.ok.Add(1)
				case res.StatusCode == http.StatusServiceUnavailable && json.Unmarshal(raw, &env) == nil &&
					env.Error.Code == 503 && env.Error.Type != "" && env.Error.Message != "" && res.Header.Get("Retry-After") != "":
					o.unavailable.Add(1)
				default:
					o.other.Add(1)
					note(o, fmt.Sprintf("%s = %d %s", path, res.StatusCode, raw))
				}
				time.Sleep(5 * time.Millisecond)
			}
		})
	}
	defer func() { cancel(); wg.Wait() }()

	report := func(name string, o *outcome) string {
		return fmt.Sprintf("%s: %d ok, %d 503, %d other, %d slow, %d failed; e.g. %q", name,
			o.ok.Load(), o.unavailable.Load(), o.other.Load(), o.slow.Load(), o.failed.Load(), o.examples)
	}
	time.Sleep(500 * time.Millisecond)

	phase.Store(down)
	pg.stop()
	time.Sleep(2 * time.Second)
	pg.start()

	// Back: requests succeed again within 10s.
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, _, _ := root.do("GET", "/api/v1/posts?limit=5", nil)
		if code == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no 200 within 10s of the restart (last %d); %s", code, report("down", down))
		}
		time.Sleep(100 * time.Millisecond)
	}
	phase.Store(after)
	time.Sleep(time.Second)
	cancel()
	wg.Wait()

	t.Log(report("before", before))
	t.Log(report("down", down))
	t.Log(report("after", after))
	if before.ok.Load() == 0 || before.other.Load()+before.unavailable.Load()+before.slow.Load()+before.failed.Load() != 0 {
		t.Errorf("before the restart, want only 2xx; %s", report("before", before))
	}
	if down.unavailable.Load() == 0 {
		t.Errorf("while PostgreSQL was down no request got a 503; %s", report("down", down))
	}
	if down.other.Load()+down.slow.Load()+down.failed.Load() != 0 {
		t.Errorf("while PostgreSQL was down, want only 503 envelopes or 2xx within %v; %s", slow, report("down", down))
	}
	if after.ok.Load() == 0 || after.other.Load()+after.unavailable.Load()+after.slow.Load()+after.failed.Load() != 0 {
		t.Errorf("after the restart, want only 2xx; %s", report("after", after))
	}
	root.want(200, "GET", "/api/v1/users/me", nil)
}
