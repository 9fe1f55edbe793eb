package main

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/gantry-dev/gantry/config"
	"github.com/gantry-dev/gantry/jobs"
	"github.com/gantry-dev/gantry/report/sentryreport/sentryreporttest"
	"github.com/gantry-dev/gantry/server/servertest"
)

// newReportingApp opens the app on the embedded defaults with env on top.
func newReportingApp(t *testing.T, env map[string]string) *app {
	t.Helper()
	base := map[string]string{
		"DATA_DIR": t.TempDir(), "SECRET_KEY": strings.Repeat("report-key-", 4),
		"PASSWORD_HASH_COST": "4", "ENVIRONMENT": "test", "VERSION": "9.9.9",
	}
	for k, v := range env {
		base[k] = v
	}
	cfg := new(settings)
	if err := config.Load(cfg, config.WithEnv(base), config.WithDotEnv(""), config.WithLogger(slog.New(slog.DiscardHandler))); err != nil {
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
	return a
}

func TestReportUnset(t *testing.T) {
	a := newReportingApp(t, nil)
	if a.reporter != nil || a.errorReporter() != nil || a.jobWrap() != nil {
		t.Errorf("no SENTRY_DSN: reporter %v, wrap set %v; want none", a.reporter, a.jobWrap() != nil)
	}
}

// With SENTRY_DSN the app's server reports a panic and its worker a job
// that fails for good; closing the app flushes both to the stand-in.
func TestReportSentry(t *testing.T) {
	ing := sentryreporttest.NewServer(t)
	ing.SetDelay(50 * time.Millisecond) // events still in flight unless the close flushes
	a := newReportingApp(t, map[string]string{"SENTRY_DSN": ing.DSN()})
	srv, err := a.newServer()
	if err != nil {
		t.Fatal(err)
	}
	srv.Echo().GET("/boom/:id", func(echo.Context) error { panic("report test") })
	base := servertest.Start(t, srv)

	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, base+"/boom/1?token=qu3ry-secret", nil)
	req.Header.Set("Authorization", "Bearer b3arer-secret-123")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusInternalServerError {
		t.Fatalf("GET /boom/1 = %d; want 500", res.StatusCode)
	}

	run, err := a.newWorker("image=1")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.WithoutCancel(t.Context()))
	done := make(chan error, 1)
	go func() { done <- run(ctx) }()
	job, err := a.client.Enqueue(t.Context(), ResizeImage{FileID: "no-such-file", UserID: 1})
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if info, err := a.inspect.Job(t.Context(), job.ID); err == nil && info.State == jobs.StateDead {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the image job did not end dead")
		}
	}
	cancel()
	<-done
	if err := a.Close(); err != nil { // the reporter's hook flushes
		t.Fatal(err)
	}
	evs := ing.Events()
	if len(evs) != 2 {
		t.Fatalf("events = %d; want 2 (the panic, the dead job)", len(evs))
	}
	kinds := map[string]sentryreporttest.Event{}
	for _, ev := range evs {
		kinds[ev.Tag("gantry.kind")] = ev
		if ev.String("release") != "9.9.9" || ev.String("environment") != "test" {
			t.Errorf("release %q environment %q; want 9.9.9, test", ev.String("release"), ev.String("environment"))
		}
	}
	if h := kinds["http"]; h.Tag("http.route") != "/boom/:id" || h.Tag("request_id") == "" || h.String("level") != "fatal" {
		t.Errorf("http event tags %v", h.JSON["tags"])
	}
	if j := kinds["job"]; j.Tag("job.id") != job.ID || j.Tag("job.kind") != "resize_image" {
		t.Errorf("job event tags %v", j.JSON["tags"])
	}
	for _, s := range []string{"qu3ry-secret", "b3arer-secret-123", "/boom/1"} {
		if strings.Contains(string(ing.Bytes()), s) {
			t.Errorf("the envelopes contain %q", s)
		}
	}
}
