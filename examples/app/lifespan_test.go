package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/examples/app/internal/testenv"
)

// TestServeLifespan runs the serve command in process and checks what its
// lifespan hooks close, and in which order: after the drain the scheduler
// and the worker stop before the connections they use (Redis, then the
// database) close; when a start hook fails, the server never listens and
// what opened before the failing hook closes, in reverse.
func TestServeLifespan(t *testing.T) {
	redisURL := "redis://127.0.0.1:6379/0"
	redisUp := true
	if c, err := net.DialTimeout("tcp", "127.0.0.1:6379", time.Second); err != nil {
		redisUp = false
	} else {
		c.Close()
	}
	tests := []struct {
		name       string
		env        map[string]string
		redis      bool
		wantErr    string
		wantClosed []string
	}{
		{name: "embedded", wantClosed: []string{"scheduler", "worker", "database"}},
		{name: "redis", redis: true, wantClosed: []string{"redis", "database"}},
		{name: "failing start", env: map[string]string{"FIRST_SUPERUSER_PASSWORD": ""},
			wantErr: "FIRST_SUPERUSER_PASSWORD", wantClosed: []string{"database"}},
		{name: "failing start with redis", redis: true, env: map[string]string{"FIRST_SUPERUSER_PASSWORD": ""},
			wantErr: "FIRST_SUPERUSER_PASSWORD", wantClosed: []string{"redis", "database"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.redis && !redisUp {
				t.Skip("no Redis on 127.0.0.1:6379")
			}
			env := map[string]string{
				"HTTP_ADDR":                "127.0.0.1:0",
				"DATA_DIR":                 t.TempDir(),
				"SECRET_KEY":               strings.Repeat("lifespan-key-", 4),
				"PASSWORD_HASH_COST":       "4",
				"FIRST_SUPERUSER":          "root",
				"FIRST_SUPERUSER_PASSWORD": "root-password-1",
				"LOG_LEVEL":                "info",
				"LOG_FORMAT":               "json",
				"REDIS_URL":                "",
				"REDIS_KEY_PREFIX":         fmt.Sprintf("lifespan-%d:", time.Now().UnixNano()),
			}
			if tt.redis {
				env["REDIS_URL"] = redisURL
			}
			for k, v := range tt.env {
				env[k] = v
			}
			for k, v := range env {
				t.Setenv(k, v)
			}
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			stdout, stderr := &testenv.Buffer{}, &testenv.Buffer{}
			done := make(chan error, 1)
			go func() { done <- run(ctx, []string{"serve"}, stdout, stderr) }()

			var err error
			if tt.wantErr == "" {
				deadline := time.Now().Add(30 * time.Second)
				for !strings.Contains(stdout.String(), "listening on") {
					if time.Now().After(deadline) {
						t.Fatalf("serve did not listen; logs:\n%s", stderr)
					}
					time.Sleep(20 * time.Millisecond)
				}
				cancel()
			}
			select {
			case err = <-done:
			case <-time.After(30 * time.Second):
				t.Fatalf("serve did not return; logs:\n%s", stderr)
			}
			if tt.wantErr == "" && err != nil {
				t.Fatalf("serve: %v; logs:\n%s", err, stderr)
			}
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("serve = %v; want an error naming %s", err, tt.wantErr)
				}
				if strings.Contains(stdout.String(), "listening on") {
					t.Errorf("serve listened although a start hook failed:\n%s", stdout)
				}
				if strings.Contains(stderr.String(), `"msg":"worker started"`) {
					t.Errorf("the worker started after the failing hook:\n%s", stderr)
				}
			}
			if got := closedHooks(t, stderr.String()); !slices.Equal(got, tt.wantClosed) {
				t.Errorf("closed %v; want %v; logs:\n%s", got, tt.wantClosed, stderr)
			}
		})
	}
}

// closedHooks lists the hooks the JSON log says closed, in order.
func closedHooks(t *testing.T, logs string) []string {
	t.Helper()
	var out []string
	for line := range strings.Lines(logs) {
		var rec struct {
			Msg  string `json:"msg"`
			Hook string `json:"hook"`
		}
		if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "closed" {
			out = append(out, rec.Hook)
		}
	}
	return out
}
