package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/config"
	"github.com/gantry-dev/gantry/jobs"
	"github.com/gantry-dev/gantry/server/servertest"
)

// TestTaskEventsRoute: GET /api/v1/tasks/{task_id}/events on the real
// server with the memory backend streams a task to its owner (the start,
// each progress report, the final state with the result, then the end),
// its final state to an admin, and to anyone else answers as the status
// route does: 404, or 401 without a token.
func TestTaskEventsRoute(t *testing.T) {
	t.Parallel()
	cfg := new(settings)
	env := map[string]string{"DATA_DIR": t.TempDir(), "SECRET_KEY": strings.Repeat("e", 32), "PASSWORD_HASH_COST": "4",
		"LOG_LEVEL": "error", "REDIS_URL": "", "DATABASE_URL": ""}
	if err := config.Load(cfg, config.WithDotEnv(""), config.WithEnv(env), config.WithLogger(slog.New(slog.DiscardHandler))); err != nil {
		t.Fatal(err)
	}
	a, err := newApp(t.Context(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Close() })
	if err := a.migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	srv, err := a.newServer()
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeApp{app: a, base: servertest.Start(t, srv)}
	_, alice := f.user(t, "alice", false)
	_, bob := f.user(t, "bob", false)
	_, root := f.user(t, "root", true)

	// The e-mail queue's worker here reports three steps, each when the
	// test lets it.
	gate := make(chan struct{}, 10)
	ws := jobs.NewWorkers()
	jobs.AddWorker(ws, jobs.WorkerFunc[SendEmail](func(ctx context.Context, j *jobs.Job[SendEmail]) error {
		for i := 1; i <= 3; i++ {
			select {
			case <-gate:
			case <-ctx.Done():
				return ctx.Err()
			}
			if err := j.Progress(ctx, int64(i), 3, "step"); err != nil {
				return err
			}
		}
		return j.SetResult(map[string]string{"sent_to": j.Args.To})
	}))
	r, err := jobs.NewRunner(a.backend, jobs.RunnerConfig{Workers: ws, Queues: map[string]jobs.QueueConfig{"email": {}},
		IdleWait: 50 * time.Millisecond, ShutdownTimeout: 100 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	rctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(rctx) }()
	t.Cleanup(func() { stop(); <-done })

	status, out := f.call(t, alice, "POST", "/api/v1/tasks/send-email", `{"to_email":"c@example.com","subject":"Hi","content":"Hello"}`)
	id, _ := out["task_id"].(string)
	if status != http.StatusAccepted || id == "" {
		t.Fatalf("POST send-email = %d %v", status, out)
	}

	get := func(token, id string) *http.Response {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, f.base+"/api/v1/tasks/"+id+"/events", nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { res.Body.Close() })
		return res
	}
	res := get(alice, id)
	if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("owner: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	events := make(chan string, 20)
	go func() { // "name state [current] [result]" per event, closed at the end
		defer close(events)
		sc := bufio.NewScanner(res.Body)
		var name string
		for sc.Scan() {
			line := sc.Text()
			if v, ok := strings.CutPrefix(line, "event: "); ok {
				name = v
			}
			if v, ok := strings.CutPrefix(line, "data: "); ok {
				var d struct {
					ID       string          `json:"id"`
					State    string          `json:"state"`
					Progress *jobs.Progress  `json:"progress"`
					Result   json.RawMessage `json:"result"`
				}
				_ = json.Unmarshal([]byte(v), &d)
				s := name + " " + d.State
				if name == "progress" {
					s += fmt.Sprintf(" %d", d.Progress.Current)
				}
				if d.Result != nil {
					s += " " + string(d.Result)
				}
				if d.ID != id {
					s += " wrong id " + d.ID
				}
				events <- s
			}
		}
	}()
	var got []string
	for ev := range events {
		if got == nil {
			gate <- struct{}{}
			gate <- struct{}{}
			gate <- struct{}{}
			got = []string{}
		}
		// the snapshot and the start (pending, active) come first
		if len(got) > 0 || !strings.HasPrefix(ev, "state pending") && !strings.HasPrefix(ev, "state active") {
			got = append(got, ev)
		}
	}
	want := []string{"progress active 1", "progress active 2", "progress active 3", `state succeeded {"sent_to":"c@example.com"}`}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("owner's stream %q; want %q", got, want)
	}

	if res := get(root, id); res.StatusCode != http.StatusOK {
		t.Errorf("admin: %d; want 200", res.StatusCode)
	} else if body, _ := io.ReadAll(res.Body); !strings.Contains(string(body), "event: state") || !strings.Contains(string(body), `"state":"succeeded"`) {
		t.Errorf("admin's stream %q; want the final state", body)
	}
	for _, tt := range []struct {
		name, token, id string
		want            int
	}{
		{"another user", bob, id, http.StatusNotFound},
		{"no token", "", id, http.StatusUnauthorized},
		{"unknown task", alice, "00000000000000000000", http.StatusNotFound},
	} {
		res := get(tt.token, tt.id)
		body, _ := io.ReadAll(res.Body)
		if res.StatusCode != tt.want || !strings.Contains(string(body), `"error"`) {
			t.Errorf("%s: %d %s; want %d with the error envelope", tt.name, res.StatusCode, body, tt.want)
		}
	}
}

// TestTaskEventsEndOnDrain: SIGTERM (the server's context ending) with an
// event stream open ends the stream at once, so the drain finishes in
// well under SHUTDOWN_TIMEOUT (15 s) instead of waiting for the stream.
func TestTaskEventsEndOnDrain(t *testing.T) {
	t.Parallel()
	cfg := new(settings)
	env := map[string]string{"DATA_DIR": t.TempDir(), "SECRET_KEY": strings.Repeat("e", 32), "PASSWORD_HASH_COST": "4",
		"LOG_LEVEL": "error", "REDIS_URL": "", "DATABASE_URL": "", "SHUTDOWN_TIMEOUT": "15s"}
	if err := config.Load(cfg, config.WithDotEnv(""), config.WithEnv(env), config.WithLogger(slog.New(slog.DiscardHandler))); err != nil {
		t.Fatal(err)
	}
	a, err := newApp(t.Context(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Close() })
	if err := a.migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	srv, err := a.newServer()
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sctx, term := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(sctx, ln) }()
	<-srv.Ready()
	f := &fakeApp{app: a, base: "http://" + ln.Addr().String()}
	_, alice := f.user(t, "alice", false)
	status, out := f.call(t, alice, "POST", "/api/v1/tasks/send-email", `{"to_email":"c@example.com","subject":"Hi","content":"Hello"}`)
	id, _ := out["task_id"].(string)
	if status != http.StatusAccepted {
		t.Fatalf("POST send-email = %d %v", status, out)
	}
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, f.base+"/api/v1/tasks/"+id+"/events", nil)
	req.Header.Set("Authorization", "Bearer "+alice)
	res, err := http.DefaultClient.Do(req)
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("events: %v %v", res, err)
	}
	defer res.Body.Close()
	r := bufio.NewReader(res.Body)
	if line, err := r.ReadString('\n'); err != nil || !strings.HasPrefix(line, "id: ") && !strings.HasPrefix(line, "event: ") {
		t.Fatalf("first line %q, %v; want the snapshot event", line, err)
	}
	began := time.Now()
	term() // no runner: the job stays pending, the stream would stay open
	if _, err := io.Copy(io.Discard, r); err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Logf("stream read ended with %v", err)
	}
	select {
	case err := <-served:
		if err != nil {
			t.Errorf("Serve = %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the drain still waits 10 s after SIGTERM: the stream held it")
	}
	if d := time.Since(began); d > 3*time.Second {
		t.Errorf("drain took %v with a stream open; want well under SHUTDOWN_TIMEOUT", d)
	}
}
