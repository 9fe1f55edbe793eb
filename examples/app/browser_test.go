package main

// The browser test drives the jobs dashboard in headless Chromium (Debian's
// chromium package, never a downloaded browser) through chromedp, against
// the real binary on PostgreSQL + Redis with the worker and the scheduler
// in processes of their own: sign in, see the queues, watch a failing job
// reach the dead set, retry it from its page, pause a queue and see the
// worker leave its jobs alone, resume it, read the schedules, sign out with
// the header's button, and read the API docs. Each page is saved as a PNG in
// $GANTRY_SCREENSHOTS (or a temporary directory) for people to look at.
//
// Without Chromium the test is skipped, except under CI=true, where it
// fails (like a missing PostgreSQL or Redis: see internal/testenv).

import (
	"bytes"
	"context"
	"encoding/json"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/gantry-dev/gantry/examples/app/internal/testenv"
)

// scheduleZone is the time zone of the test's scheduler process.
const scheduleZone = "Europe/Berlin"

// browserBudget bounds the browser's part of the test (the binary's build,
// shared with the end-to-end tests, comes before it).
const browserBudget = 90 * time.Second

// chromium returns the browser to drive: $CHROMIUM, else chromium on PATH
// (Debian's /usr/bin/chromium). It skips the test when there is none, or
// fails it under CI=true.
func chromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p
	}
	p, err := exec.LookPath("chromium")
	if err != nil {
		testenv.Unavailable(t, "Chromium", "apt-get install -y chromium", err)
	}
	return p
}

// screenshotDir is $GANTRY_SCREENSHOTS (created if needed) or a directory
// of the test's own.
func screenshotDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("GANTRY_SCREENSHOTS")
	if dir == "" {
		return t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// tab is one Chromium tab driven by the test.
type tab struct {
	t     *testing.T
	ctx   context.Context
	base  string
	shots string

	mu         sync.Mutex
	exceptions []string // uncaught JavaScript exceptions, with the page they happened on
	foreign    []string // requests to another host than the app's
}

// newTab starts Chromium with a fresh profile and opens a 1280×800 tab.
// Confirmation dialogs (the dashboard asks before pausing a queue) are
// accepted, and uncaught exceptions recorded.
func newTab(t *testing.T, ctx context.Context, base string) *tab {
	t.Helper()
	out := &testenv.Buffer{}
	alloc, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(chromium(t)),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("no-default-browser-check", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.WindowSize(1280, 800),
		chromedp.CombinedOutput(out),
	)
	tctx, cancelTab := chromedp.NewContext(alloc)
	tb := &tab{t: t, ctx: tctx, base: base, shots: screenshotDir(t)}
	t.Cleanup(func() {
		if t.Failed() {
			tb.shot("failure")
			t.Logf("chromium output:\n%s", tail(out.String(), 3000))
		}
		cancelTab()
		cancelAlloc()
	})
	if err := chromedp.Do(tctx, chromedp.EmulateViewport(1280, 800)); err != nil { // starts the browser and opens the tab
		t.Fatalf("start chromium: %v\n%s", err, out.String())
	}
	dialogs := chromedp.Events(tctx, page.JavascriptDialogOpening)
	exceptions := chromedp.Events(tctx, runtime.ExceptionThrown)
	requests := chromedp.Events(tctx, network.RequestWillBeSent)
	app, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for ev, err := range requests {
			if err != nil {
				return
			}
			u, err := url.Parse(ev.Request.URL)
			if err != nil || (u.Scheme != "data" && u.Host != app.Host) {
				tb.mu.Lock()
				tb.foreign = append(tb.foreign, ev.Request.URL)
				tb.mu.Unlock()
			}
		}
	}()
	go func() {
		for _, err := range dialogs {
			if err != nil {
				return
			}
			_, _ = chromedp.Call(tctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: true})
		}
	}()
	go func() {
		for ev, err := range exceptions {
			if err != nil {
				return
			}
			msg := ev.ExceptionDetails.Text
			if ex := ev.ExceptionDetails.Exception; ex != nil && ex.Description != "" {
				msg += " " + ex.Description
			}
			tb.mu.Lock()
			tb.exceptions = append(tb.exceptions, msg+" (at "+ev.ExceptionDetails.URL+")")
			tb.mu.Unlock()
		}
	}()
	return tb
}

// do runs actions, failing the test with what it was doing.
func (tb *tab) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	tb.t.Helper()
	if err := chromedp.Do(tb.ctx, actions...); err != nil {
		loc, _ := chromedp.Run(tb.ctx, chromedp.Location())
		tb.t.Fatalf("%s (at %s): %v", what, loc, err)
	}
}

// open navigates to path and waits for sel.
func (tb *tab) open(path, sel string) {
	tb.t.Helper()
	tb.do("open "+path, chromedp.Navigate(tb.base+path), chromedp.WaitVisible(chromedp.CSS(sel)))
}

// text returns the trimmed text of the first element sel matches.
func (tb *tab) text(sel string) string {
	tb.t.Helper()
	s, err := chromedp.Run(tb.ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		tb.t.Fatalf("text of %s: %v", sel, err)
	}
	return strings.TrimSpace(s)
}

// eval evaluates a JavaScript expression.
func eval[T any](tb *tab, expr string) T {
	tb.t.Helper()
	v, err := chromedp.Run(tb.ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		tb.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// waitJS waits until a JavaScript expression is truthy on the open page.
func (tb *tab) waitJS(what, expr string, timeout time.Duration) {
	tb.t.Helper()
	if _, err := chromedp.Run(tb.ctx, chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(timeout))); err != nil {
		tb.shot("timeout")
		tb.t.Fatalf("%s: not within %s: %v", what, timeout, err)
	}
}

// location returns the path and query of the open page.
func (tb *tab) location() string {
	tb.t.Helper()
	loc, err := chromedp.Run(tb.ctx, chromedp.Location())
	if err != nil {
		tb.t.Fatal(err)
	}
	u, err := url.Parse(loc)
	if err != nil {
		tb.t.Fatal(err)
	}
	return u.RequestURI()
}

// shot saves the viewport as name.png.
func (tb *tab) shot(name string) {
	tb.t.Helper()
	png, err := chromedp.Run(tb.ctx, chromedp.CaptureScreenshot())
	if err != nil {
		tb.t.Logf("screenshot %s: %v", name, err)
		return
	}
	path := filepath.Join(tb.shots, name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		tb.t.Errorf("save screenshot: %v", err)
	}
}

// noExceptions fails the test if a page threw.
func (tb *tab) noExceptions() {
	tb.t.Helper()
	tb.mu.Lock()
	defer tb.mu.Unlock()
	for _, e := range tb.exceptions {
		tb.t.Errorf("uncaught exception in the page: %s", e)
	}
}

// onlyLocal fails the test if a page fetched anything from another host:
// the dashboard and the docs work on a network without internet access.
func (tb *tab) onlyLocal() {
	tb.t.Helper()
	tb.mu.Lock()
	defer tb.mu.Unlock()
	for _, u := range tb.foreign {
		tb.t.Errorf("a page fetched %s, from another host", u)
	}
}

// js quotes s as a JavaScript string.
func js(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// testID is the CSS selector of an element by its data-testid.
func testID(id string) string { return `[data-testid="` + id + `"]` }

// brokenPNG starts like a PNG, so the upload's content check takes it for
// one, and then is not: the image chain's resize step fails for good
// (jobs.SkipRetry: "a bad image stays bad").
var brokenPNG = append([]byte("\x89PNG\r\n\x1a\n"), bytes.Repeat([]byte("not an image "), 20)...)

func TestBrowserDashboard(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Chromium and the app's processes")
	}
	t.Parallel()
	chromium(t) // skip (or fail on CI) before starting anything
	dsn := testenv.PostgresDSN(t)
	_, prefix := testenv.Redis(t)
	addr, data := freeAddr(t), t.TempDir()
	env := append(baseEnv(addr, data), "DATABASE_URL="+dsn, "REDIS_URL="+testenv.RedisURL(), "REDIS_KEY_PREFIX="+prefix)
	appBinary(t)
	migrate := start(t, env, "migrate", "up")
	select {
	case <-migrate.done:
		if migrate.err != nil {
			t.Fatalf("migrate up: %v\n%s", migrate.err, migrate.out.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("migrate up did not finish")
	}
	api := start(t, env, "serve")
	worker := start(t, env, "worker")
	// The scheduler in a time zone of its own, so the schedules page shows
	// the scheduler's zone, not the server's.
	scheduler := start(t, append(slices.Clone(env), "TIMEZONE="+scheduleZone), "scheduler")
	base := "http://" + addr
	waitHealthy(t, base, api)

	began := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), browserBudget)
	t.Cleanup(cancel) // after the tab's cleanup, which saves a screenshot of a failure
	b := newTab(t, ctx, base)
	t.Logf("screenshots in %s", b.shots)

	// The queues need jobs: an e-mail that is sent, through the API.
	root := login(t, base, "root", "root-password-1")
	root.awaitTask(str(root.want(202, "POST", "/api/v1/tasks/send-email", map[string]string{"to_email": "ops@example.com", "subject": "Hello", "content": "secret reset link"})["task_id"]))

	// Signed out, the dashboard leads to the sign-in page.
	b.open(adminHome, "#login-form")
	if loc := b.location(); loc != adminLogin+"?next="+url.QueryEscape(adminHome) {
		t.Errorf("signed out, %s led to %s; want the sign-in page with next", adminHome, loc)
	}
	b.shot("01-sign-in")
	b.do("sign in with a wrong password",
		chromedp.SendKeys(chromedp.CSS("#username"), "root"),
		chromedp.SendKeys(chromedp.CSS("#password"), "not-the-password"),
		chromedp.Submit(chromedp.CSS("#login-form")),
		chromedp.WaitVisible(chromedp.CSS("#login-error")))
	b.shot("02-sign-in-refused")
	b.do("sign in",
		chromedp.SetValue(chromedp.CSS("#username"), "root"),
		chromedp.SendKeys(chromedp.CSS("#password"), "root-password-1"),
		chromedp.Submit(chromedp.CSS("#login-form")),
		chromedp.WaitVisible(chromedp.CSS(testID("queues-table"))))
	if loc := b.location(); loc != adminHome {
		t.Errorf("after sign-in the browser is at %s; want %s", loc, adminHome)
	}
	if who := eval[string](b, `document.querySelector('[data-testid="account"]')?.textContent.trim() ?? ""`); who != "admin@example.com" {
		t.Errorf("the header names %q as signed in; want the superuser's e-mail, admin@example.com", who)
	}

	// The overview lists the queue, and as the failing job runs, its dead
	// count turns to 1 without a reload.
	if n := eval[int](b, `document.querySelectorAll('[data-testid="queue-row"][data-queue="email"]').length`); n != 1 {
		t.Errorf("the overview has %d rows of the email queue; want 1", n)
	}
	file := root.want(201, "POST", "/api/v1/files", fileBody(t, "broken.png", brokenPNG))
	imageQueue := `document.querySelector('[data-testid="queue-row"][data-queue="image"]')`
	deadCell := imageQueue + `?.querySelector('[data-testid="count-dead"]')?.textContent.trim()`
	// The image task is a chain (resize, thumbnail, notify): its first
	// step, a job of its own, is the one that dies; the rest never run.
	chain := str(root.want(202, "POST", "/api/v1/tasks/process-image", map[string]any{
		"file_id": str(file["id"]), "operations": []map[string]any{{"op": "grayscale"}}})["task_id"])
	steps, _ := root.want(200, "GET", "/api/v1/tasks/"+chain, nil)["steps"].([]any)
	if len(steps) != 3 {
		t.Fatalf("the image task has steps %v; want resize, thumbnail, notify", steps)
	}
	task := str(steps[0].(map[string]any)["task_id"])
	b.waitJS("the image queue's dead count reaches 1 on the open overview", deadCell+` === "1"`, 20*time.Second)
	b.shot("03-overview")
	if st := root.want(200, "GET", "/api/v1/tasks/"+chain, nil); str(st["state"]) != "dead" {
		t.Errorf("the image task with its first step dead is %v; want dead", st)
	}

	// The queue's dead jobs, then the job's page with its error.
	b.do("open the image queue's dead jobs",
		chromedp.Click(chromedp.CSS(`[data-testid="queue-row"][data-queue="image"] a[data-testid="queue-link"]`)),
		chromedp.WaitVisible(chromedp.CSS(testID("queue-header"))),
		chromedp.Click(chromedp.CSS(testID("state-tab-dead"))),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="job-row"] `+testID("job-link"))))
	if loc := b.location(); loc != adminJobs+"/queues/image?state=dead" {
		t.Errorf("the dead tab of the image queue is %s", loc)
	}
	b.shot("04-queue-dead")
	b.do("open the dead job", chromedp.Click(chromedp.CSS(`[data-testid="job-link"][href$=`+js(url.PathEscape(task))+`]`)), chromedp.WaitVisible(chromedp.CSS(testID("job"))))
	if st := b.text(testID("job-state")); st != "dead" {
		t.Errorf("job state %q; want dead", st)
	}
	firstError := b.text(testID("job-error"))
	if !strings.Contains(strings.ToLower(firstError), "png") {
		t.Errorf("job error %q; want the image's problem", firstError)
	}
	// The image job reported progress before it died: history, not a
	// live bar.
	if h := eval[string](b, `document.querySelector('[data-testid="job-progress-heading"]')?.textContent.trim() ?? ""`); h != "Last reported progress" {
		t.Errorf("the dead job's progress is headed %q; want Last reported progress", h)
	}
	if n := eval[int](b, `document.querySelectorAll('[data-testid="job"] progress').length`); n != 0 {
		t.Errorf("the dead job's page shows %d progress bars; want none", n)
	}
	b.shot("05-job-dead")

	// Retry from its page: it runs again on the worker and dies again, its
	// error now of the new attempt.
	before := jobFinished(t, root, task)
	b.do("retry the job", chromedp.Click(chromedp.CSS(testID("job-retry"))), chromedp.WaitVisible(chromedp.CSS(testID("flash"))))
	deadline := time.Now().Add(20 * time.Second)
	for {
		st, fin := jobState(t, root, task), jobFinished(t, root, task)
		if st == "dead" && fin.After(before) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the retried job is %s, finished %v (before the retry: %v); want dead again, later", st, fin, before)
		}
		time.Sleep(100 * time.Millisecond)
	}
	b.do("reload the job", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(testID("job-state"))))
	if st := b.text(testID("job-state")); st != "dead" {
		t.Errorf("after the retry, job state %q; want dead", st)
	}
	b.shot("06-job-retried")

	// Pause the email queue: a job enqueued now stays pending while the
	// worker fetches, several times over; resumed, it runs.
	b.open(adminJobs+"/queues/email", testID("pause-queue"))
	b.do("pause the email queue", chromedp.Click(chromedp.CSS(testID("pause-queue"))), chromedp.WaitVisible(chromedp.CSS(testID("queue-paused"))))
	time.Sleep(1200 * time.Millisecond) // a worker honours a pause within one fetch (IdleWait, 1 s)
	held := str(root.want(202, "POST", "/api/v1/tasks/send-email", map[string]string{"to_email": "later@example.com", "subject": "Held", "content": "Wait for it"})["task_id"])
	time.Sleep(3500 * time.Millisecond) // several fetches
	if st := str(root.want(200, "GET", "/api/v1/tasks/"+held, nil)["state"]); st != "pending" {
		t.Errorf("a job of the paused queue is %s after 3.5 s; want pending", st)
	}
	b.do("reload the paused queue", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(testID("queue-paused"))))
	if n := b.text(testID("state-count-pending")); n != "1" {
		t.Errorf("the paused queue shows %q pending; want 1", n)
	}
	b.shot("07-queue-paused")

	// The held job's arguments show its address; the e-mail's text is
	// hidden.
	b.do("open the held job", chromedp.Click(chromedp.CSS(`[data-testid="job-link"][href$=`+js(url.PathEscape(held))+`]`)), chromedp.WaitVisible(chromedp.CSS(testID("job-payload"))))
	if payload := b.text(testID("job-payload")); !strings.Contains(payload, "later@example.com") || !strings.Contains(payload, "[redacted]") || strings.Contains(payload, "Wait for it") {
		t.Errorf("the e-mail job's arguments show %q; want the address and the text redacted", payload)
	}
	b.shot("08-job-redacted")
	b.open(adminHome, `[data-testid="queue-row"][data-queue="email"] [data-testid="queue-paused"]`)
	b.shot("09-overview-paused")
	b.open(adminJobs+"/queues/email", testID("resume-queue"))

	b.do("resume the email queue", chromedp.Click(chromedp.CSS(testID("resume-queue"))), chromedp.WaitVisible(chromedp.CSS(testID("queue-running"))))
	root.awaitTask(held)
	b.shot("10-queue-resumed")

	// Back on the overview; the worker process on the workers page; the
	// schedules (no scheduler runs here).
	b.open(adminHome, testID("queues-table"))
	// Nothing waits in the email queue any more: no latency to show.
	if lat := b.text(`[data-testid="queue-row"][data-queue="email"] ` + testID("queue-latency")); lat != "–" {
		t.Errorf("the email queue, nothing pending, shows latency %q; want –", lat)
	}
	b.shot("11-overview-after")
	b.open(adminJobs+"/workers", testID("page-title"))
	b.shot("12-workers")
	if n := eval[int](b, `document.querySelectorAll('[data-testid="worker-row"]').length`); n != 1 {
		t.Errorf("the workers page lists %d workers; want 1, the worker process", n)
	}
	// The schedules: the app's periodic jobs, as the scheduler process
	// published them, in its time zone, each with a next fire.
	b.open(adminJobs+"/schedules", testID("schedules-table"))
	type schedule struct{ Name, Spec, Zone, Next string }
	rows := eval[[]schedule](b, `[...document.querySelectorAll('[data-testid="schedule-row"]')].map(r => ({
		Name: r.querySelector('[data-testid="schedule-name"]').textContent.trim(),
		Spec: r.querySelector('[data-testid="schedule-spec"]').textContent.trim(),
		Zone: r.querySelector('[data-testid="schedule-zone"]').textContent.trim(),
		Next: r.querySelector('[data-testid="schedule-next"] time')?.getAttribute("datetime") ?? ""}))`)
	want := map[string]string{"cleanup-temp-files": "0 2 * * *", "send-daily-report": "0 9 * * *", "health-check": "@every 60s"}
	if len(rows) != len(want) {
		t.Errorf("the schedules page lists %d schedules (%v); want the app's %d", len(rows), rows, len(want))
	}
	for _, r := range rows {
		if spec, ok := want[r.Name]; !ok || r.Spec != spec {
			t.Errorf("schedule %q has spec %q; want %q", r.Name, r.Spec, spec)
		}
		if r.Zone != scheduleZone {
			t.Errorf("schedule %q is in time zone %q; want the scheduler's, %s", r.Name, r.Zone, scheduleZone)
		}
		if next, err := time.Parse(time.RFC3339Nano, r.Next); err != nil || !next.After(began) {
			t.Errorf("schedule %q fires next at %q; want a time after the test began", r.Name, r.Next)
		}
	}
	b.shot("13-schedules")
	b.noExceptions()

	// Sign out with the header's button: the dashboard leads to the
	// sign-in page again.
	if n := eval[int](b, `document.querySelectorAll('[data-testid="sign-out"]').length`); n != 1 {
		t.Fatalf("the schedules page has %d sign-out buttons; want 1 in its header", n)
	}
	b.do("sign out", chromedp.Click(chromedp.CSS(testID("sign-out"))), chromedp.WaitVisible(chromedp.CSS("#login-form")))
	if loc := b.location(); loc != adminLogin {
		t.Errorf("after signing out the browser is at %s; want %s", loc, adminLogin)
	}
	b.open(adminHome, "#login-form")

	// The API docs list the operations, with nothing fetched from another
	// host.
	b.do("open /docs", chromedp.Navigate(base+"/docs"))
	if _, err := chromedp.Run(b.ctx, chromedp.Poll[chromedp.Void](`document.querySelectorAll(".opblock").length > 0`,
		chromedp.WithPollingInterval(200*time.Millisecond), chromedp.WithPollingTimeout(15*time.Second))); err != nil {
		t.Errorf("/docs lists no operation within 15 s (Swagger UI not loaded?): %v", err)
	} else if ops := eval[string](b, `[...document.querySelectorAll(".opblock-summary-path")].map(e => e.textContent).join(" ")`); !strings.Contains(ops, "/auth/login") {
		t.Errorf("/docs lists %q; want the API's operations", ops)
	}
	if docs := eval[string](b, `[...document.querySelectorAll("select option")].map(o => o.textContent).join(" | ")`); !strings.Contains(docs, adminJobs) {
		t.Errorf("/docs offers the documents %q; want the dashboard's (%s) among them", docs, adminJobs)
	}
	b.shot("14-docs")
	b.onlyLocal()
	t.Logf("browser part took %s", time.Since(began).Round(100*time.Millisecond))

	scheduler.stop(t)
	worker.stop(t)
	api.stop(t)
}

// jobState and jobFinished read a job through the dashboard's API with a
// bearer token.
func jobState(t *testing.T, c *client, id string) string {
	t.Helper()
	return str(c.want(200, "GET", adminJobsAPI+"/jobs/"+url.PathEscape(id), nil)["state"])
}

func jobFinished(t *testing.T, c *client, id string) time.Time {
	t.Helper()
	out := c.want(200, "GET", adminJobsAPI+"/jobs/"+url.PathEscape(id), nil)
	if out["finished_at"] == nil {
		return time.Time{}
	}
	fin, err := time.Parse(time.RFC3339Nano, str(out["finished_at"]))
	if err != nil {
		t.Fatalf("job %s: finished_at %v: %v", id, out["finished_at"], err)
	}
	return fin
}
