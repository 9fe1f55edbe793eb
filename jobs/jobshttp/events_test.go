package jobshttp_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/redis/go-redis/v9"

	"github.com/gantry-dev/gantry/internal/testenv"
	"github.com/gantry-dev/gantry/jobs"
	"github.com/gantry-dev/gantry/jobs/jobshttp"
	"github.com/gantry-dev/gantry/server"
	"github.com/gantry-dev/gantry/server/servertest"
)

// tickArgs is a job that reports progress N times, each after a go-ahead
// from its test (a gate), then succeeds with {"done": N}.
type tickArgs struct {
	N int `json:"n"`
}

func (tickArgs) Kind() string { return "ticker" }

// tickWorker runs tickArgs; wait blocks until the job may take its next
// step.
func tickWorker(wait func(ctx context.Context, id string) error) jobs.WorkerFunc[tickArgs] {
	return func(ctx context.Context, j *jobs.Job[tickArgs]) error {
		for i := 1; i <= j.Args.N; i++ {
			if err := wait(ctx, j.ID); err != nil {
				return err
			}
			if err := j.Progress(ctx, int64(i), int64(j.Args.N), fmt.Sprintf("step %d", i)); err != nil {
				return err
			}
		}
		return j.SetResult(map[string]int{"done": j.Args.N})
	}
}

// redisGate is where a worker on Redis waits for its go-aheads.
func redisGate(rdb *redis.Client, prefix string) func(ctx context.Context, id string) error {
	return func(ctx context.Context, id string) error {
		for {
			err := rdb.BLPop(ctx, 500*time.Millisecond, prefix+"gate:"+id).Err()
			if !errors.Is(err, redis.Nil) {
				return err
			}
		}
	}
}

// TestHelperEventsWorker is not a test: the Redis events tests run the
// test binary again with JOBSHTTP_EVENTS_HELPER=1 to get a worker in
// another process than the API.
func TestHelperEventsWorker(t *testing.T) {
	if os.Getenv("JOBSHTTP_EVENTS_HELPER") != "1" {
		t.Skip("helper process for the events tests")
	}
	opt, err := redis.ParseURL(os.Getenv("JOBSHTTP_REDIS_URL"))
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opt)
	defer rdb.Close()
	prefix := os.Getenv("JOBSHTTP_PREFIX")
	b, err := jobs.NewRedisBackend(rdb, jobs.RedisConfig{Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	ws := jobs.NewWorkers()
	jobs.AddWorker(ws, tickWorker(redisGate(rdb, prefix)))
	r, err := jobs.NewRunner(b, jobs.RunnerConfig{Workers: ws, Concurrency: 4, IdleWait: 100 * time.Millisecond,
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	_ = r.Run(context.Background()) // runs until killed
}

// eventsEnv is an API serving the events handler at /tasks/:id/events
// (the caller named by X-User) on a backend whose ticker jobs run in a
// worker, in another process on Redis.
type eventsEnv struct {
	client  *jobs.Client
	insp    *jobs.Inspector
	base    string
	release func(t *testing.T, id string, n int) // lets job id take n steps
	// returned receives when each handler returned
	returned chan time.Time
}

func newEventsEnv(t *testing.T, backend string, cfg jobshttp.EventsConfig) *eventsEnv {
	t.Helper()
	env := &eventsEnv{returned: make(chan time.Time, 16)}
	var b jobs.Backend
	switch backend {
	case "memory":
		mb := jobs.NewMemoryBackend()
		b = mb
		var mu sync.Mutex
		gates := map[string]chan struct{}{}
		gate := func(id string) chan struct{} {
			mu.Lock()
			defer mu.Unlock()
			if gates[id] == nil {
				gates[id] = make(chan struct{}, 100)
			}
			return gates[id]
		}
		env.release = func(_ *testing.T, id string, n int) {
			for range n {
				gate(id) <- struct{}{}
			}
		}
		ws := jobs.NewWorkers()
		jobs.AddWorker(ws, tickWorker(func(ctx context.Context, id string) error {
			select {
			case <-gate(id):
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}))
		r, err := jobs.NewRunner(mb, jobs.RunnerConfig{Workers: ws, Concurrency: 4, IdleWait: 50 * time.Millisecond, ShutdownTimeout: 100 * time.Millisecond,
			Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- r.Run(ctx) }()
		t.Cleanup(func() { cancel(); <-done })
	case "redis":
		rdb, prefix := testenv.Redis(t)
		rb, err := jobs.NewRedisBackend(rdb, jobs.RedisConfig{Prefix: prefix})
		if err != nil {
			t.Fatal(err)
		}
		b = rb
		env.release = func(t *testing.T, id string, n int) {
			for range n {
				if err := rdb.RPush(context.Background(), prefix+"gate:"+id, 1).Err(); err != nil {
					t.Fatal(err)
				}
			}
		}
		cmd := exec.Command(os.Args[0], "-test.run=^TestHelperEventsWorker$")
		cmd.Env = append(os.Environ(), "JOBSHTTP_EVENTS_HELPER=1", "JOBSHTTP_REDIS_URL="+testenv.RedisURL(), "JOBSHTTP_PREFIX="+prefix)
		if err := cmd.Start(); err != nil {
			t.Fatalf("start the worker process: %v", err)
		}
		t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	}
	env.client, _ = jobs.NewClient(b, jobs.ClientConfig{})
	env.insp = jobs.NewInspector(b)
	cfg.Inspector = env.insp
	cfg.Owner = func(c echo.Context) (string, error) {
		if u := c.Request().Header.Get("X-User"); u != "" {
			return u, nil
		}
		return "", echo.ErrUnauthorized
	}
	h, err := cfg.ToHandler()
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(server.Config{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	srv.Echo().GET("/tasks/:id/events", func(c echo.Context) error {
		defer func() { env.returned <- time.Now() }()
		return h(c)
	})
	env.base = servertest.Start(t, srv)
	return env
}

func (env *eventsEnv) enqueue(t *testing.T, n int, owner string) string {
	t.Helper()
	info, err := env.client.Enqueue(t.Context(), tickArgs{N: n}, jobs.Owner(owner))
	if err != nil {
		t.Fatal(err)
	}
	return info.ID
}

// sseEvent is one event as a client parses it.
type sseEvent struct {
	id, name string
	data     jobshttp.EventData
	comments int // keep-alive comments before it
}

func (e sseEvent) String() string {
	s := e.name + ":" + string(e.data.State)
	if p := e.data.Progress; p != nil && e.name == "progress" {
		s += fmt.Sprintf(":%d/%d", p.Current, p.Total)
	}
	return s
}

// stream is an open event stream.
type stream struct {
	res  *http.Response
	r    *bufio.Reader
	stop context.CancelFunc // the client goes away
}

// open GETs the events of job id as user, with a Last-Event-ID when
// lastID is not empty, and returns the response (the stream when 200).
func (env *eventsEnv) open(t *testing.T, client *http.Client, id, user, lastID string) *stream {
	t.Helper()
	ctx, stop := context.WithCancel(t.Context())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, env.base+"/tasks/"+id+"/events", nil)
	if user != "" {
		req.Header.Set("X-User", user)
	}
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	res, err := client.Do(req)
	if err != nil {
		stop()
		t.Fatal(err)
	}
	t.Cleanup(func() { stop(); res.Body.Close() })
	return &stream{res: res, r: bufio.NewReader(res.Body), stop: stop}
}

// next reads the next event; io.EOF when the stream ended. It fails the
// test after 10 s without one.
func (s *stream) next(t *testing.T) (sseEvent, error) {
	t.Helper()
	type result struct {
		ev  sseEvent
		err error
	}
	got := make(chan result, 1)
	go func() {
		var ev sseEvent
		var data strings.Builder
		for {
			line, err := s.r.ReadString('\n')
			if err != nil {
				if err == io.EOF && (line != "" || data.Len() > 0 || ev.name != "") {
					err = io.ErrUnexpectedEOF
				}
				got <- result{err: err}
				return
			}
			line = strings.TrimSuffix(line, "\n")
			switch {
			case line == "" && ev.name == "" && data.Len() == 0:
				// the end of a comment block
			case line == "":
				err := json.Unmarshal([]byte(data.String()), &ev.data)
				got <- result{ev, err}
				return
			case strings.HasPrefix(line, ":"):
				ev.comments++
			case strings.HasPrefix(line, "id: "):
				ev.id = line[4:]
			case strings.HasPrefix(line, "event: "):
				ev.name = line[7:]
			case strings.HasPrefix(line, "data: "):
				data.WriteString(line[6:])
			default:
				got <- result{err: fmt.Errorf("unexpected line %q", line)}
				return
			}
		}
	}()
	select {
	case r := <-got:
		return r.ev, r.err
	case <-time.After(10 * time.Second):
		t.Fatal("no event within 10 s")
		return sseEvent{}, nil
	}
}

// rest reads events until the stream ends.
func (s *stream) rest(t *testing.T) []sseEvent {
	t.Helper()
	var evs []sseEvent
	for {
		ev, err := s.next(t)
		if errors.Is(err, io.EOF) {
			return evs
		}
		if err != nil {
			t.Fatalf("after %v: %v", evs, err)
		}
		evs = append(evs, ev)
	}
}

var eventBackends = []string{"memory", "redis"}

// TestEventsProgress: a job reporting progress 10 times, run by a worker
// in another process on Redis (in-process on memory), is seen as state
// events up to its start, exactly 10 progress events in order, and the
// final state with the result; then the stream ends.
func TestEventsProgress(t *testing.T) {
	t.Parallel()
	for _, backend := range eventBackends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			env := newEventsEnv(t, backend, jobshttp.EventsConfig{})
			id := env.enqueue(t, 10, "alice")
			s := env.open(t, http.DefaultClient, id, "alice", "")
			if s.res.StatusCode != http.StatusOK || s.res.Header.Get("Content-Type") != "text/event-stream" {
				t.Fatalf("response %d %s", s.res.StatusCode, s.res.Header.Get("Content-Type"))
			}
			first, err := s.next(t)
			if err != nil {
				t.Fatal(err)
			}
			env.release(t, id, 10)
			evs := append([]sseEvent{first}, s.rest(t)...)
			var progress []string
			for i, ev := range evs {
				if ev.id == "" || ev.data.ID != id {
					t.Errorf("event %d %v: id %q, job id %q", i, ev, ev.id, ev.data.ID)
				}
				switch {
				case ev.name == "progress":
					progress = append(progress, ev.String())
				case i == len(evs)-1:
				case len(progress) > 0 || ev.name != "state" || ev.data.State != jobs.StatePending && ev.data.State != jobs.StateActive:
					t.Errorf("event %d: %v; want the pending or active state before any progress", i, ev)
				}
			}
			var want []string
			for i := 1; i <= 10; i++ {
				want = append(want, fmt.Sprintf("progress:active:%d/10", i))
			}
			if strings.Join(progress, " ") != strings.Join(want, " ") {
				t.Errorf("progress events %v; want %v", progress, want)
			}
			last := evs[len(evs)-1]
			if last.name != "state" || last.data.State != jobs.StateSucceeded || string(last.data.Result) != `{"done":10}` {
				t.Errorf("last event %v %s; want the succeeded state with the result", last, last.data.Result)
			}
			if p := evs[len(evs)-2]; p.name != "progress" || p.data.Progress.Message != "step 10" {
				t.Errorf("event before the last %v %+v; want progress 10 with its message", p, p.data.Progress)
			}
		})
	}
}

// TestEventsResume: a client that goes away after progress 4 and comes
// back with Last-Event-ID gets progress 5 to 10 and the final state, none
// of what it saw again; a reconnect after the end gets the final state
// alone at once (the snapshot case); a bad id starts with a snapshot.
func TestEventsResume(t *testing.T) {
	t.Parallel()
	for _, backend := range eventBackends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			env := newEventsEnv(t, backend, jobshttp.EventsConfig{})
			id := env.enqueue(t, 10, "alice")
			s := env.open(t, http.DefaultClient, id, "alice", "")
			seen := map[string]bool{}
			var last sseEvent
			for released := false; last.name != "progress" || last.data.Progress.Current != 4; {
				ev, err := s.next(t)
				if err != nil {
					t.Fatal(err)
				}
				seen[ev.id], last = true, ev
				if !released {
					env.release(t, id, 4)
					released = true
				}
			}
			s.stop()
			env.release(t, id, 3)
			waitFor(t, "progress 7", func() bool {
				info, err := env.insp.Job(t.Context(), id)
				return err == nil && info.Progress != nil && info.Progress.Current == 7
			})
			s = env.open(t, http.DefaultClient, id, "alice", last.id)
			first, err := s.next(t)
			if err != nil {
				t.Fatal(err)
			}
			env.release(t, id, 3)
			evs := append([]sseEvent{first}, s.rest(t)...)
			var got []string
			for _, ev := range evs {
				if seen[ev.id] {
					t.Errorf("event %s %v seen before the disconnect came again", ev.id, ev)
				}
				got = append(got, ev.String())
			}
			want := "progress:active:5/10 progress:active:6/10 progress:active:7/10 progress:active:8/10 progress:active:9/10 progress:active:10/10 state:succeeded"
			if strings.Join(got, " ") != want {
				t.Errorf("resumed events %v; want %s", got, want)
			}

			final := evs[len(evs)-1]
			start := time.Now()
			s = env.open(t, http.DefaultClient, id, "alice", final.id)
			evs = s.rest(t)
			if len(evs) != 1 || evs[0].String() != "state:succeeded" || string(evs[0].data.Result) != `{"done":10}` || time.Since(start) > 2*time.Second {
				t.Errorf("reconnect after the end: %v in %v; want the final state alone, at once", evs, time.Since(start))
			}
		})
	}
}

// TestEventsRefused: what is not the caller's never starts a stream: the
// error envelope answers instead.
func TestEventsRefused(t *testing.T) {
	t.Parallel()
	env := newEventsEnv(t, "memory", jobshttp.EventsConfig{})
	id := env.enqueue(t, 1, "alice")
	tests := []struct {
		name, id, user string
		want           int
	}{
		{"another user's job", id, "bob", http.StatusNotFound},
		{"unknown job", "nope", "alice", http.StatusNotFound},
		{"nobody", id, "", http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := env.open(t, http.DefaultClient, tt.id, tt.user, "")
			body, _ := io.ReadAll(s.res.Body)
			var env struct {
				Error struct {
					Code int    `json:"code"`
					Type string `json:"type"`
				} `json:"error"`
			}
			if s.res.StatusCode != tt.want || json.Unmarshal(body, &env) != nil || env.Error.Code != tt.want {
				t.Errorf("response %d %s; want %d with the error envelope", s.res.StatusCode, body, tt.want)
			}
			if strings.Contains(string(body), "data:") {
				t.Errorf("a stream started: %s", body)
			}
		})
	}
	if _, err := (jobshttp.EventsConfig{}).ToHandler(); err == nil {
		t.Error("EventsConfig without Inspector: no error")
	}
	if _, err := (jobshttp.EventsConfig{Inspector: env.insp, KeepAlive: -1}).ToHandler(); err == nil {
		t.Error("EventsConfig with a negative KeepAlive: no error")
	}
}

// TestEventsKeepAlive: an idle stream carries a keep-alive comment every
// KeepAlive.
func TestEventsKeepAlive(t *testing.T) {
	t.Parallel()
	env := newEventsEnv(t, "memory", jobshttp.EventsConfig{KeepAlive: 50 * time.Millisecond})
	id := env.enqueue(t, 2, "alice")
	s := env.open(t, http.DefaultClient, id, "alice", "")
	if _, err := s.next(t); err != nil { // the snapshot
		t.Fatal(err)
	}
	time.Sleep(400 * time.Millisecond)
	env.release(t, id, 1)
	for {
		ev, err := s.next(t)
		if err != nil {
			t.Fatal(err)
		}
		if ev.name == "progress" {
			if ev.comments < 3 {
				t.Errorf("%d keep-alive comments in 400 ms; want one every 50 ms", ev.comments)
			}
			return
		}
	}
}

// TestEventsDisconnectLeavesNothing: a client that goes away mid-stream
// (the job active, reporting progress) ends the handler within 2 s, and no
// goroutine is left behind: the count returns to what it was, and no
// goroutine is in the handler or a watch. Not parallel: it counts the
// process's goroutines.
func TestEventsDisconnectLeavesNothing(t *testing.T) {
	for _, backend := range eventBackends {
		t.Run(backend, func(t *testing.T) {
			env := newEventsEnv(t, backend, jobshttp.EventsConfig{KeepAlive: 100 * time.Millisecond})
			id := env.enqueue(t, 10, "alice")
			env.release(t, id, 1)
			waitFor(t, "progress 1", func() bool {
				info, err := env.insp.Job(t.Context(), id)
				return err == nil && info.Progress != nil && info.Progress.Current == 1
			})
			tr := &http.Transport{}
			client := &http.Client{Transport: tr}
			before := settledGoroutines()

			s := env.open(t, client, id, "alice", "")
			if _, err := s.next(t); err != nil {
				t.Fatal(err)
			}
			env.release(t, id, 2)
			for n := 0; n < 2; {
				ev, err := s.next(t)
				if err != nil {
					t.Fatal(err)
				}
				if ev.name == "progress" {
					n++
				}
			}
			gone := time.Now()
			s.stop()
			tr.CloseIdleConnections()
			select {
			case at := <-env.returned:
				if d := at.Sub(gone); d > 2*time.Second {
					t.Errorf("the handler returned %v after the client went; want within 2 s", d)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("the handler did not return within 5 s of the client going")
			}
			deadline := time.Now().Add(5 * time.Second)
			for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
				time.Sleep(20 * time.Millisecond)
			}
			if n := runtime.NumGoroutine(); n > before {
				t.Errorf("%d goroutines after the client went; %d before", n, before)
			}
			if leaked := goroutinesIn("jobshttp.EventsConfig.ToHandler", "jobs.(*Inspector).watch"); leaked != "" {
				t.Errorf("goroutines left in the handler or a watch:\n%s", leaked)
			}
		})
	}
}

// settledGoroutines returns the goroutine count once it stops moving.
func settledGoroutines() int {
	n := runtime.NumGoroutine()
	for range 20 {
		time.Sleep(25 * time.Millisecond)
		m := runtime.NumGoroutine()
		if m == n {
			return n
		}
		n = m
	}
	return n
}

// goroutinesIn returns the stacks of the goroutines with a frame matching
// one of funcs.
func goroutinesIn(funcs ...string) string {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var out []string
	for g := range strings.SplitSeq(string(buf), "\n\n") {
		for _, f := range funcs {
			if strings.Contains(g, f) {
				out = append(out, g)
				break
			}
		}
	}
	return strings.Join(out, "\n\n")
}

// TestEventsStop: closing Stop (the server draining) ends an open stream
// at once, its job still running; a reconnect with the last id resumes.
func TestEventsStop(t *testing.T) {
	t.Parallel()
	stop := make(chan struct{})
	env := newEventsEnv(t, "memory", jobshttp.EventsConfig{Stop: stop})
	id := env.enqueue(t, 3, "alice")
	s := env.open(t, http.DefaultClient, id, "alice", "")
	_, err := s.next(t)
	if err != nil {
		t.Fatal(err)
	}
	close(stop)
	began := time.Now()
	if ev, err := s.next(t); err == nil {
		t.Fatalf("after Stop: event %v; want the end of the stream", ev)
	}
	if d := time.Since(began); d > 2*time.Second {
		t.Errorf("the stream ended %v after Stop; want at once", d)
	}
	if info, err := env.insp.Job(t.Context(), id); err != nil || info.State == jobs.StateSucceeded {
		t.Errorf("job = %+v, %v; want it still unfinished", info, err)
	}

}
