package sentryreport_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/gantry-dev/gantry/jobs"
	"github.com/gantry-dev/gantry/jobs/jobsreport"
	"github.com/gantry-dev/gantry/report/sentryreport"
	"github.com/gantry-dev/gantry/report/sentryreport/sentryreporttest"
	"github.com/gantry-dev/gantry/server"
	"github.com/gantry-dev/gantry/server/servertest"
)

// Secrets a request or a job carries; none may reach the ingestion server.
const (
	bodyPassword = "hunter2-body-password"
	bearerToken  = "tok3n-bearer-abcdef"
	cookieValue  = "c00kie-session-value"
	queryToken   = "qu3ry-access-token"
	payloadToken = "payl0ad-secret-string"
	dsnKey       = "publickey"
)

// newReporter returns a Reporter posting to a fresh stand-in.
func newReporter(t *testing.T) (*sentryreport.Reporter, *sentryreporttest.Server) {
	t.Helper()
	ing := sentryreporttest.NewServer(t)
	rep, err := sentryreport.New(sentryreport.Config{DSN: ing.DSN(), Release: "gantry-test@1.2.3", Environment: "staging"})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { _ = rep.Close(context.Background()) })
	return rep, ing
}

// closeAndCount flushes rep, then returns what arrived.
func closeAndCount(t *testing.T, rep *sentryreport.Reporter, ing *sentryreporttest.Server) []sentryreporttest.Event {
	t.Helper()
	if err := rep.Close(t.Context()); err != nil {
		t.Fatalf("Close: %v", err)
	}
	return ing.Events()
}

// newAPI serves a server reporting to rep; the subject (user id) is "user-42".
func newAPI(t *testing.T, rep *sentryreport.Reporter) string {
	t.Helper()
	srv, err := server.New(server.Config{
		Logger:     slog.New(slog.DiscardHandler),
		Reporter:   rep,
		Middleware: server.MiddlewareConfig{Subject: func(echo.Context) string { return "user-42" }},
	})
	if err != nil {
		t.Fatal(err)
	}
	g := srv.Group("/api/v1")
	g.POST("/items/:id", func(c echo.Context) error {
		_, _ = io.ReadAll(c.Request().Body)
		return errors.New("db: insert failed")
	})
	g.GET("/leaky/:id", func(c echo.Context) error {
		// An error text that quotes what it should not: the scrubber's case.
		return fmt.Errorf("upstream refused password=%s with Authorization: Bearer %s", bodyPassword, bearerToken)
	})
	g.GET("/missing/:id", func(c echo.Context) error { return server.NewError(http.StatusNotFound, "no such item") })
	g.POST("/invalid", func(c echo.Context) error { return server.NewError(http.StatusUnprocessableEntity, "bad field") })
	g.GET("/busy", func(c echo.Context) error { return server.NewError(http.StatusServiceUnavailable, "try later") })
	g.GET("/panic/:id", func(c echo.Context) error { panic("kaput " + c.Param("id")) })
	g.GET("/late-panic", func(c echo.Context) error {
		_ = c.String(http.StatusOK, "partial")
		panic("after commit")
	})
	return servertest.Start(t, srv)
}

// send makes a request carrying every kind of secret: a password in the
// JSON body, a bearer token, a cookie and a token in the query.
func send(t *testing.T, method, url string) *http.Response {
	t.Helper()
	body := `{"username":"ann","password":"` + bodyPassword + `"}`
	req, err := http.NewRequestWithContext(t.Context(), method, url+"?access_token="+queryToken, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+bearerToken)
	req.Header.Set("Cookie", "session="+cookieValue)
	req.Header.Set("X-Request-ID", "req-abc-123")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res
}

// assertNoSecrets fails if any secret of the request or job appears
// anywhere in what the ingestion server received.
func assertNoSecrets(t *testing.T, ing *sentryreporttest.Server) {
	t.Helper()
	raw := ing.Bytes()
	for _, s := range []string{bodyPassword, bearerToken, cookieValue, queryToken, payloadToken, "hunter2", "access_token"} {
		if bytes.Contains(raw, []byte(s)) {
			t.Errorf("the envelopes contain %q", s)
		}
	}
}

func TestReportHTTP(t *testing.T) {
	tests := []struct {
		name, method, path string
		status             int
		want               int    // events
		level, route       string // of the event, when one
		panicValue         string
	}{
		{name: "500", method: http.MethodPost, path: "/api/v1/items/1001", status: 500, want: 1, level: "error", route: "/api/v1/items/:id"},
		{name: "500 whose error quotes secrets", method: http.MethodGet, path: "/api/v1/leaky/7", status: 500, want: 1, level: "error", route: "/api/v1/leaky/:id"},
		{name: "panic", method: http.MethodGet, path: "/api/v1/panic/9", status: 500, want: 1, level: "fatal", route: "/api/v1/panic/:id", panicValue: "kaput 9"},
		{name: "panic after commit", method: http.MethodGet, path: "/api/v1/late-panic", status: 200, want: 1, level: "fatal", route: "/api/v1/late-panic", panicValue: "after commit"},
		{name: "404 from a handler", method: http.MethodGet, path: "/api/v1/missing/3", status: 404},
		{name: "404 no route", method: http.MethodGet, path: "/api/v1/nowhere", status: 404},
		{name: "405", method: http.MethodDelete, path: "/api/v1/invalid", status: 405},
		{name: "422", method: http.MethodPost, path: "/api/v1/invalid", status: 422},
		{name: "503", method: http.MethodGet, path: "/api/v1/busy", status: 503},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rep, ing := newReporter(t)
			base := newAPI(t, rep)
			if res := send(t, tt.method, base+tt.path); res.StatusCode != tt.status {
				t.Fatalf("%s %s = %d; want %d", tt.method, tt.path, res.StatusCode, tt.status)
			}
			evs := closeAndCount(t, rep, ing)
			if len(evs) != tt.want {
				t.Fatalf("events = %d; want %d", len(evs), tt.want)
			}
			assertNoSecrets(t, ing)
			if tt.want == 0 {
				return
			}
			ev := evs[0]
			for k, want := range map[string]string{"release": "gantry-test@1.2.3", "environment": "staging", "level": tt.level, "transaction": tt.method + " " + tt.route} {
				if got := ev.String(k); got != want {
					t.Errorf("event %s = %q; want %q", k, got, want)
				}
			}
			for k, want := range map[string]string{"request_id": "req-abc-123", "http.route": tt.route, "http.method": tt.method, "gantry.kind": "http"} {
				if got := ev.Tag(k); got != want {
					t.Errorf("tag %s = %q; want %q", k, got, want)
				}
			}
			if user, _ := ev.JSON["user"].(map[string]any); user["id"] != "user-42" || len(user) != 1 {
				t.Errorf("user = %v; want only id user-42", user)
			}
			if _, ok := ev.JSON["request"]; ok {
				t.Errorf("event has a request: %v", ev.JSON["request"])
			}
			if tt.route != tt.path && bytes.Contains(ing.Bytes(), []byte(tt.path)) {
				t.Errorf("the envelopes contain the raw path %s", tt.path)
			}
			if tt.panicValue != "" {
				checkPanic(t, ev, tt.panicValue, "sentryreport_test.go")
			}
		})
	}
}

// checkPanic checks a panic event: its exception, and a stack whose
// innermost frames include the panicking function's file.
func checkPanic(t *testing.T, ev sentryreporttest.Event, value, file string) {
	t.Helper()
	vals, _ := ev.JSON["exception"].([]any)
	if len(vals) != 1 {
		t.Fatalf("exception = %v; want one value", ev.JSON["exception"])
	}
	ex := vals[0].(map[string]any)
	if ex["type"] != "panic" || ex["value"] != value {
		t.Errorf("exception = %v %v; want panic %q", ex["type"], ex["value"], value)
	}
	st, _ := ex["stacktrace"].(map[string]any)
	frames, _ := st["frames"].([]any)
	if len(frames) < 2 {
		t.Fatalf("frames = %v; want the stack", st)
	}
	if last, _ := frames[len(frames)-1].(map[string]any)["abs_path"].(string); !strings.HasSuffix(last, file) {
		t.Errorf("innermost frame in %q; want %s (the panicking function)", last, file)
	}
	if bytes.Contains(ev.Raw, []byte(`"context_line"`)) || bytes.Contains(ev.Raw, []byte(`"pre_context"`)) {
		t.Errorf("frames carry source lines: %s", ev.Raw)
	}
}

// burst: N concurrent failing requests give N events, each once.
func TestReportHTTPBurst(t *testing.T) {
	rep, ing := newReporter(t)
	base := newAPI(t, rep)
	const n = 40
	start := make(chan struct{})
	errs := make(chan error, n)
	for range n {
		go func() {
			<-start
			res, err := http.Get(base + "/api/v1/panic/1")
			if err == nil {
				res.Body.Close()
			}
			errs <- err
		}()
	}
	close(start)
	for range n {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if evs := closeAndCount(t, rep, ing); len(evs) != n {
		t.Errorf("events = %d; want %d", len(evs), n)
	}
}

// secretArgs is a job whose payload holds a secret.
type secretArgs struct {
	Mode  string `json:"mode"` // "panic", "flaky" (fails once), "dead", "skip", "ok"
	Token string `json:"token"`
}

func (secretArgs) Kind() string { return "secret_job" }

func TestReportJobs(t *testing.T) {
	tests := []struct {
		name     string
		mode     string
		maxRetry int
		state    jobs.State
		want     int
		level    string
		attempt  string
	}{
		{name: "panic", mode: "panic", maxRetry: 0, state: jobs.StateDead, want: 1, level: "fatal", attempt: "1"},
		{name: "panic on each attempt", mode: "panic", maxRetry: 1, state: jobs.StateDead, want: 2, level: "fatal"},
		{name: "fails then succeeds", mode: "flaky", maxRetry: 2, state: jobs.StateSucceeded},
		{name: "fails for good", mode: "dead", maxRetry: 2, state: jobs.StateDead, want: 1, level: "error", attempt: "3"},
		{name: "skips retries", mode: "skip", maxRetry: 5, state: jobs.StateDead, want: 1, level: "error", attempt: "1"},
		{name: "succeeds", mode: "ok", maxRetry: 2, state: jobs.StateSucceeded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rep, ing := newReporter(t)
			b := jobs.NewMemoryBackend()
			var runs atomic.Int32
			w := jobs.NewWorkers()
			jobs.AddWorker(w, jobs.WorkerFunc[secretArgs](func(ctx context.Context, j *jobs.Job[secretArgs]) error {
				runs.Add(1)
				switch {
				case j.Args.Mode == "panic":
					panic("job kaput")
				case j.Args.Mode == "flaky" && j.Attempt == 1, j.Args.Mode == "dead":
					return errors.New("smtp: connection refused")
				case j.Args.Mode == "skip":
					return jobs.SkipRetry(errors.New("recipient unknown"))
				}
				return nil
			}))
			r, err := jobs.NewRunner(b, jobs.RunnerConfig{
				Workers: w, Logger: slog.New(slog.DiscardHandler), Wrap: jobsreport.Wrap(rep),
				Retry: func(int, error) time.Duration { return 10 * time.Millisecond },
			})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.WithoutCancel(t.Context()))
			done := make(chan error, 1)
			go func() { done <- r.Run(ctx) }()
			c, err := jobs.NewClient(b, jobs.ClientConfig{})
			if err != nil {
				t.Fatal(err)
			}
			info, err := c.Enqueue(t.Context(), secretArgs{Mode: tt.mode, Token: payloadToken}, jobs.MaxRetry(tt.maxRetry))
			if err != nil {
				t.Fatal(err)
			}
			insp := jobs.NewInspector(b)
			deadline := time.Now().Add(10 * time.Second)
			for {
				ji, err := insp.Job(t.Context(), info.ID)
				if err == nil && ji.State == tt.state {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("job state = %+v, %v; want %s", ji, err, tt.state)
				}
				time.Sleep(5 * time.Millisecond)
			}
			cancel()
			if err := <-done; err != nil {
				t.Fatalf("Run = %v", err)
			}
			evs := closeAndCount(t, rep, ing)
			if len(evs) != tt.want {
				t.Fatalf("events = %d; want %d (runs %d)", len(evs), tt.want, runs.Load())
			}
			assertNoSecrets(t, ing)
			for i, ev := range evs {
				for k, want := range map[string]string{"job.id": info.ID, "job.kind": "secret_job", "job.queue": "default", "gantry.kind": "job"} {
					if got := ev.Tag(k); got != want {
						t.Errorf("event %d: tag %s = %q; want %q", i, k, got, want)
					}
				}
				if tt.attempt != "" && ev.Tag("job.attempt") != tt.attempt {
					t.Errorf("event %d: attempt = %q; want %s", i, ev.Tag("job.attempt"), tt.attempt)
				}
				if ev.String("level") != tt.level || ev.String("transaction") != "job secret_job" || ev.String("release") != "gantry-test@1.2.3" {
					t.Errorf("event %d: level %q transaction %q release %q", i, ev.String("level"), ev.String("transaction"), ev.String("release"))
				}
				if tt.mode == "panic" {
					checkPanic(t, ev, "job kaput", "sentryreport_test.go")
				}
			}
		})
	}
}

// Events queued when the process shuts down are sent by Flush and Close,
// not lost: the stand-in records each envelope only after a delay, so
// without the wait they would still be in flight when these return.
func TestFlushAndClose(t *testing.T) {
	rep, ing := newReporter(t)
	ing.SetDelay(100 * time.Millisecond)
	base := newAPI(t, rep)
	const n = 3
	for range n {
		send(t, http.MethodPost, base+"/api/v1/items/1")
	}
	if err := rep.Flush(t.Context()); err != nil {
		t.Fatalf("Flush: %v", err)
	}
	if got := len(ing.Events()); got != n {
		t.Errorf("events after Flush = %d; want %d", got, n)
	}
	for range n {
		send(t, http.MethodPost, base+"/api/v1/items/1")
	}
	if err := rep.Close(t.Context()); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if got := len(ing.Events()); got != 2*n {
		t.Errorf("events after Close = %d; want %d", got, 2*n)
	}
	// After Close, reports are dropped without blocking or panicking.
	send(t, http.MethodPost, base+"/api/v1/items/1")
}

func TestNewInvalid(t *testing.T) {
	const secretDSN = "https://" + dsnKey + "-zzsecret@"
	tests := []struct {
		name string
		cfg  sentryreport.Config
	}{
		{"empty DSN", sentryreport.Config{}},
		{"not http", sentryreport.Config{DSN: "ftp://key@host/1"}},
		{"no key", sentryreport.Config{DSN: "https://host/1"}},
		{"no project", sentryreport.Config{DSN: secretDSN + "host"}},
		{"bad rate", sentryreport.Config{DSN: "https://key@host/1", SampleRate: 1.5}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep, err := sentryreport.New(tt.cfg)
			if err == nil {
				rep.Close(t.Context())
				t.Fatal("New = nil error; want one")
			}
			if strings.Contains(err.Error(), "zzsecret") {
				t.Errorf("error %q quotes the DSN", err)
			}
		})
	}
}
