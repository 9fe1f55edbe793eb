package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// lockedBuffer collects the child's output safely.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startApp builds the real binary and runs it with env added to a clean
// environment, returning its base URL and process.
func startApp(t *testing.T, env ...string) (string, *exec.Cmd, *lockedBuffer) {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "app")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	addr := freePort(t)
	cmd := exec.Command(bin)
	cmd.Dir = t.TempDir()
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "HTTP_ADDR=" + addr}, env...)
	out := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	base := "http://" + addr
	deadline := time.Now().Add(20 * time.Second)
	for {
		res, err := http.Get(base + "/health")
		if err == nil {
			res.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("app did not answer within 20s: %v\n%s", err, out)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return base, cmd, out
}

func TestAppOnEmbeddedDefaults(t *testing.T) {
	base, cmd, out := startApp(t)
	tests := []struct {
		path       string
		wantStatus int
		wantBody   string
	}{
		{"/health", 200, `"status":"healthy"`},
		{"/health/ready", 200, `"status":"healthy"`},
		{"/api/v1/info", 200, `"environment":"development"`},
		{"/nope", 404, `"type":"not_found"`},
	}
	for _, tt := range tests {
		res, err := http.Get(base + tt.path)
		if err != nil {
			t.Fatalf("GET %s: %v", tt.path, err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != tt.wantStatus || !strings.Contains(string(b), tt.wantBody) {
			t.Errorf("GET %s = %d %s; want %d with %s", tt.path, res.StatusCode, b, tt.wantStatus, tt.wantBody)
		}
		if tt.wantStatus == 404 {
			var env map[string]map[string]any
			if err := json.Unmarshal(b, &env); err != nil || env["error"]["request_id"] == "" {
				t.Errorf("404 body %s is not the envelope", b)
			}
		}
	}
	if strings.Contains(out.String(), "SECRET_KEY=") {
		t.Errorf("logs print a secret: %s", out)
	}
	// Ctrl-C: a clean exit.
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("app exited with %v after SIGINT\n%s", err, out)
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("app did not exit within 20s of SIGINT\n%s", out)
	}
}
