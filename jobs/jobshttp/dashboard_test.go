package jobshttp_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/redis/go-redis/v9"

	"github.com/gantry-dev/gantry/internal/testenv"
	"github.com/gantry-dev/gantry/jobs"
	"github.com/gantry-dev/gantry/jobs/jobshttp"
	"github.com/gantry-dev/gantry/openapi"
	"github.com/gantry-dev/gantry/openapi/openapitest"
	"github.com/gantry-dev/gantry/server"
	"github.com/gantry-dev/gantry/server/servertest"
)

const mount = "/admin/jobs"

// chargeArgs is the job that fails for good: its card must not show.
type chargeArgs struct {
	Card   string `json:"card"`
	Amount int    `json:"amount"`
}

func (chargeArgs) Kind() string { return "charge" }

type mailArgs struct {
	To string `json:"to"`
}

func (mailArgs) Kind() string { return "mail" }

// backends are the jobs backends every dashboard test runs on.
var backends = []struct {
	name string
	open func(t *testing.T) jobs.Backend
}{
	{"memory", func(*testing.T) jobs.Backend { return jobs.NewMemoryBackend() }},
	{"redis", func(t *testing.T) jobs.Backend {
		rdb, prefix := testenv.Redis(t)
		b, err := jobs.NewRedisBackend(rdb, jobs.RedisConfig{Prefix: prefix})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}},
}

// dash is a running service with the dashboard mounted at /admin/jobs on a
// seeded backend.
type dash struct {
	base   string
	b      jobs.Backend
	insp   *jobs.Inspector
	client *jobs.Client
	api    *openapi.API
	logs   *testenv.Buffer
	seed   seeded
}

// seeded names the jobs seed made: queue "default" holds three pending
// notes and one scheduled note, "email" one pending mail, "critical" one
// dead charge.
type seeded struct {
	pending   []string // default, oldest first
	scheduled string
	mail      string
	dead      string
}

// start mounts the dashboard with cfg on b; guards run on every page and
// API route, as the mounting service's would.
func start(t *testing.T, b jobs.Backend, cfg jobshttp.DashboardConfig, guards ...echo.MiddlewareFunc) *dash {
	t.Helper()
	d := &dash{b: b, insp: jobs.NewInspector(b), logs: &testenv.Buffer{}}
	var err error
	if d.client, err = jobs.NewClient(b, jobs.ClientConfig{}); err != nil {
		t.Fatal(err)
	}
	cfg.Inspector = d.insp
	cfg.Logger = slog.New(slog.NewJSONHandler(d.logs, nil))
	if cfg.Actor == nil {
		cfg.Actor = func(c echo.Context) string { return c.Request().Header.Get("X-User") }
	}
	dashboard, err := jobshttp.NewDashboard(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(server.Config{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	if d.api, err = openapi.New(srv.Echo(), mount, openapi.Config{Title: "Jobs admin"}); err != nil {
		t.Fatal(err)
	}
	d.api.Echo().Use(guards...)
	dashboard.Mount(d.api)
	d.base = servertest.Start(t, srv)
	return d
}

// seedJobs fills the backend as [seeded] says; the dead job got there by
// failing its one attempt on a runner.
func (d *dash) seedJobs(t *testing.T) {
	t.Helper()
	ctx := t.Context()
	for i := range 3 {
		info, err := d.client.Enqueue(ctx, noteArgs{N: i})
		if err != nil {
			t.Fatal(err)
		}
		d.seed.pending = append(d.seed.pending, info.ID)
		time.Sleep(2 * time.Millisecond) // distinct enqueue times: a stable order
	}
	info, err := d.client.Enqueue(ctx, noteArgs{N: 9}, jobs.Delay(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	d.seed.scheduled = info.ID
	if info, err = d.client.Enqueue(ctx, mailArgs{To: "ops@example.com"}, jobs.Queue("email")); err != nil {
		t.Fatal(err)
	}
	d.seed.mail = info.ID
	d.seed.dead = d.deadJob(t, "critical")
}

// deadJob enqueues a charge to queue and runs it once on a runner whose
// worker fails it for good; it returns the job's id once the job is dead.
func (d *dash) deadJob(t *testing.T, queue string) string {
	t.Helper()
	ctx := t.Context()
	info, err := d.client.Enqueue(ctx, chargeArgs{Card: "4242424242424242", Amount: 5}, jobs.Queue(queue), jobs.MaxRetry(0))
	if err != nil {
		t.Fatal(err)
	}
	ws := jobs.NewWorkers()
	jobs.AddWorker(ws, jobs.WorkerFunc[chargeArgs](func(context.Context, *jobs.Job[chargeArgs]) error {
		return jobs.SkipRetry(errors.New("card declined"))
	}))
	r, err := jobs.NewRunner(d.b, jobs.RunnerConfig{
		Workers: ws, Queues: map[string]jobs.QueueConfig{queue: {}}, Concurrency: 1,
		IdleWait: 50 * time.Millisecond, Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- r.Run(rctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("runner: %v", err)
		}
	}()
	waitFor(t, "the charge to be dead", func() bool {
		j, err := d.insp.Job(ctx, info.ID)
		return err == nil && j.State == jobs.StateDead
	})
	return info.ID
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// call sends a request as user alice and returns the status and body.
func (d *dash) call(t *testing.T, method, path string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, d.base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-User", "alice")
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, b
}

// getJSON calls path and decodes the answer into a map.
func (d *dash) getJSON(t *testing.T, method, path string) (int, map[string]any) {
	t.Helper()
	code, b := d.call(t, method, path)
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s %s = %d, not JSON: %s", method, path, code, b)
	}
	return code, m
}

// field walks a decoded JSON value along keys and indexes: field(m,
// "queues", 0, "name").
func field(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				return nil
			}
			v = m[k]
		case int:
			a, ok := v.([]any)
			if !ok || k >= len(a) {
				return nil
			}
			v = a[k]
		}
	}
	return v
}

func errType(m map[string]any) any { return field(m, "error", "type") }

func TestDashboardAPIReads(t *testing.T) {
	for _, bk := range backends {
		t.Run(bk.name, func(t *testing.T) {
			d := start(t, bk.open(t), jobshttp.DashboardConfig{Redact: jobs.RedactFields("card")})
			d.seedJobs(t)
			api := mount + "/api"

			code, m := d.getJSON(t, "GET", api+"/queues")
			if code != 200 {
				t.Fatalf("GET /api/queues = %d %v", code, m)
			}
			names := []any{}
			for _, q := range field(m, "queues").([]any) {
				names = append(names, field(q, "name"))
			}
			if want := []any{"critical", "default", "email"}; !equalJSON(names, want) {
				t.Errorf("queues = %v; want %v", names, want)
			}
			def := field(m, "queues", 1)
			for k, want := range map[string]float64{"pending": 3, "scheduled": 1, "dead": 0} {
				if got := field(def, "counts", k); got != want {
					t.Errorf("default counts.%s = %v; want %v", k, got, want)
				}
			}
			if got := field(m, "queues", 0, "counts", "dead"); got != 1.0 {
				t.Errorf("critical counts.dead = %v; want 1", got)
			}
			if h, ok := field(def, "history").([]any); !ok || len(h) != 15 {
				t.Errorf("default history = %v; want 15 minutes", field(def, "history"))
			}
			if _, ok := field(def, "latency_ms").(float64); !ok {
				t.Errorf("default latency_ms = %v; want a number", field(def, "latency_ms"))
			}
			if code, m = d.getJSON(t, "GET", api+"/queues?minutes=5"); code != 200 || len(field(m, "queues", 1, "history").([]any)) != 5 {
				t.Errorf("GET /api/queues?minutes=5 = %d, history %v; want 5 minutes", code, field(m, "queues", 1, "history"))
			}

			code, m = d.getJSON(t, "GET", api+"/queues/default")
			if code != 200 || field(m, "name") != "default" || field(m, "counts", "pending") != 3.0 || field(m, "paused") != false {
				t.Errorf("GET /api/queues/default = %d %v", code, m)
			}

			code, m = d.getJSON(t, "GET", api+"/queues/default/jobs?state=pending&order=oldest")
			if code != 200 || field(m, "state") != "pending" || field(m, "queue") != "default" {
				t.Fatalf("GET jobs = %d %v", code, m)
			}
			if got := ids(m); !equalJSON(got, d.seed.pending) {
				t.Errorf("pending oldest first = %v; want %v", got, d.seed.pending)
			}
			if field(m, "next") != nil {
				t.Errorf("one page has next %v", field(m, "next"))
			}
			code, m = d.getJSON(t, "GET", api+"/queues/default/jobs?state=pending&order=newest")
			if want := reversed(d.seed.pending); code != 200 || !equalJSON(ids(m), want) {
				t.Errorf("pending newest first = %d %v; want %v", code, ids(m), want)
			}

			// Cursor pages: two of two, then one; together the three jobs.
			code, m = d.getJSON(t, "GET", api+"/queues/default/jobs?state=pending&order=oldest&limit=2")
			next, _ := field(m, "next").(string)
			if code != 200 || len(ids(m)) != 2 || next == "" {
				t.Fatalf("first page of 2 = %d %v", code, m)
			}
			got := ids(m)
			code, m = d.getJSON(t, "GET", api+"/queues/default/jobs?state=pending&order=oldest&limit=2&cursor="+url.QueryEscape(next))
			if code != 200 || len(ids(m)) != 1 || field(m, "next") != nil {
				t.Fatalf("second page = %d %v", code, m)
			}
			if got = append(got, ids(m)...); !equalJSON(got, d.seed.pending) {
				t.Errorf("pages = %v; want %v", got, d.seed.pending)
			}

			code, m = d.getJSON(t, "GET", api+"/queues/default/jobs?state=pending&kind=mail")
			if code != 200 || len(ids(m)) != 0 {
				t.Errorf("kind=mail on default = %d %v; want no job", code, m)
			}
			code, m = d.getJSON(t, "GET", api+"/queues/email/jobs?kind=mail")
			if code != 200 || !equalJSON(ids(m), []string{d.seed.mail}) {
				t.Errorf("kind=mail on email (default state pending) = %d %v", code, m)
			}
			code, m = d.getJSON(t, "GET", api+"/queues/default/jobs?state=scheduled")
			if code != 200 || !equalJSON(ids(m), []string{d.seed.scheduled}) || field(m, "jobs", 0, "process_at") == nil {
				t.Errorf("scheduled = %d %v", code, m)
			}

			code, m = d.getJSON(t, "GET", api+"/jobs/"+d.seed.dead)
			if code != 200 || field(m, "state") != "dead" || field(m, "kind") != "charge" || field(m, "queue") != "critical" {
				t.Fatalf("GET dead job = %d %v", code, m)
			}
			if field(m, "payload", "card") != "[redacted]" || field(m, "payload", "amount") != 5.0 {
				t.Errorf("payload = %v; want the card redacted and the amount shown", field(m, "payload"))
			}
			if !strings.Contains(field(m, "last_error").(string), "card declined") {
				t.Errorf("last_error = %v", field(m, "last_error"))
			}
			if field(m, "errors", 0, "error") == nil || !strings.Contains(field(m, "errors", 0, "error").(string), "card declined") || field(m, "errors", 0, "at") == nil {
				t.Errorf("errors = %v; want the attempt's error with its time", field(m, "errors"))
			}
			code, m = d.getJSON(t, "GET", api+"/jobs/"+d.seed.pending[0])
			if code != 200 || field(m, "state") != "pending" || field(m, "kind") != "note" {
				t.Errorf("GET pending job = %d %v", code, m)
			}

			code, m = d.getJSON(t, "GET", api+"/schedules")
			if _, ok := field(m, "schedules").([]any); code != 200 || !ok {
				t.Errorf("GET /api/schedules = %d %v; want an array", code, m)
			}
			code, m = d.getJSON(t, "GET", api+"/workers")
			if _, ok := field(m, "workers").([]any); code != 200 || !ok {
				t.Errorf("GET /api/workers = %d %v; want an array", code, m)
			}
		})
	}
}

func TestDashboardAPIErrors(t *testing.T) {
	for _, bk := range backends {
		t.Run(bk.name, func(t *testing.T) {
			d := start(t, bk.open(t), jobshttp.DashboardConfig{})
			d.seedJobs(t)
			api := mount + "/api"
			tests := []struct {
				method, path string
				code         int
				typ          string
			}{
				{"GET", "/jobs/nope", 404, "not_found"},
				{"POST", "/jobs/nope/retry", 404, "not_found"},
				{"POST", "/jobs/nope/delete", 404, "not_found"},
				{"POST", "/jobs/nope/cancel", 404, "not_found"},
				{"GET", "/queues/nope", 404, "not_found"},
				{"GET", "/queues/nope/jobs", 404, "not_found"},
				{"POST", "/queues/nope/pause", 404, "not_found"},
				{"POST", "/queues/nope/resume", 404, "not_found"},
				{"POST", "/queues/nope/dead/retry", 404, "not_found"},
				{"POST", "/queues/nope/dead/delete", 404, "not_found"},
				{"GET", "/queues/default/jobs?state=bogus", 422, ""},
				{"GET", "/queues/default/jobs?order=sideways", 422, ""},
				{"GET", "/queues/default/jobs?limit=100000", 422, ""},
				{"GET", "/queues/default/jobs?limit=0", 422, ""},
				{"GET", "/queues/default/jobs?limit=abc", 400, "invalid_parameter"},
				{"GET", "/queues/default/jobs?cursor=" + url.QueryEscape("\x00\xff"), 422, ""},
				{"GET", "/queues/default/jobs?cursor=" + strings.Repeat("a", 2000), 422, ""},
				{"GET", "/queues/default/jobs?cursor=not-a-cursor-of-this-list", 400, ""},
				{"GET", "/queues?minutes=61", 422, ""},
				// A pending job cannot be retried now: it is not dead,
				// retrying or scheduled.
				{"POST", "/jobs/" + d.seed.pending[0] + "/retry", 409, "conflict"},
			}
			for _, tt := range tests {
				code, m := d.getJSON(t, tt.method, api+tt.path)
				if code != tt.code {
					t.Errorf("%s %s = %d %v; want %d", tt.method, tt.path, code, m, tt.code)
					continue
				}
				if field(m, "error", "code") != float64(tt.code) || field(m, "error", "message") == "" {
					t.Errorf("%s %s: envelope %v", tt.method, tt.path, m)
				}
				if tt.typ != "" && errType(m) != tt.typ {
					t.Errorf("%s %s: type %v; want %s", tt.method, tt.path, errType(m), tt.typ)
				}
			}
		})
	}
}

func TestDashboardActions(t *testing.T) {
	for _, bk := range backends {
		t.Run(bk.name, func(t *testing.T) {
			d := start(t, bk.open(t), jobshttp.DashboardConfig{})
			d.seedJobs(t)
			ctx := t.Context()
			api := mount + "/api"
			state := func(id string) jobs.State {
				j, err := d.insp.Job(ctx, id)
				if errors.Is(err, jobs.ErrNotFound) {
					return "gone"
				}
				if err != nil {
					t.Fatal(err)
				}
				return j.State
			}
			paused := func(q string) bool {
				s, err := d.insp.Sizes(ctx, q)
				if err != nil {
					t.Fatal(err)
				}
				return s.Paused
			}
			d2 := d.deadJob(t, "critical")
			d3 := d.deadJob(t, "critical")
			d4 := d.deadJob(t, "critical")

			type check func() (string, bool)
			steps := []struct {
				path     string
				affected float64
				check    check
			}{
				{"/jobs/" + d.seed.dead + "/retry", 1, func() (string, bool) { s := state(d.seed.dead); return string(s), s == jobs.StatePending }},
				{"/jobs/" + d.seed.pending[0] + "/cancel", 1, func() (string, bool) {
					s := state(d.seed.pending[0])
					return string(s), s == jobs.StateCancelled
				}},
				{"/jobs/" + d.seed.pending[1] + "/delete", 1, func() (string, bool) { s := state(d.seed.pending[1]); return string(s), s == "gone" }},
				{"/jobs/" + d.seed.scheduled + "/retry", 1, func() (string, bool) {
					s := state(d.seed.scheduled)
					return string(s), s == jobs.StatePending
				}},
				{"/queues/default/pause", 1, func() (string, bool) { p := paused("default"); return "paused " + boolText(p), p }},
				{"/queues/default/resume", 1, func() (string, bool) { p := paused("default"); return "paused " + boolText(p), !p }},
				{"/queues/critical/dead/retry", 3, func() (string, bool) {
					s2, s3, s4 := state(d2), state(d3), state(d4)
					return string(s2) + "," + string(s3) + "," + string(s4), s2 == jobs.StatePending && s3 == jobs.StatePending && s4 == jobs.StatePending
				}},
			}
			for _, st := range steps {
				code, m := d.getJSON(t, "POST", api+st.path)
				if code != 200 || field(m, "affected") != st.affected {
					t.Errorf("POST %s = %d %v; want 200 affecting %v", st.path, code, m, st.affected)
					continue
				}
				if got, ok := st.check(); !ok {
					t.Errorf("after POST %s: %s", st.path, got)
				}
			}

			// A queue of its own: a runner on critical would fail the jobs
			// just retried there.
			d5, d6 := d.deadJob(t, "graveyard"), d.deadJob(t, "graveyard")
			code, m := d.getJSON(t, "POST", api+"/queues/graveyard/dead/delete")
			if code != 200 || field(m, "affected") != 2.0 || state(d5) != "gone" || state(d6) != "gone" {
				t.Errorf("bulk delete = %d %v; d5 %s d6 %s", code, m, state(d5), state(d6))
			}

			// Every action wrote one line: action, target, actor, result.
			lines := logLines(t, d.logs.String())
			want := []struct{ action, target string }{
				{"retry", d.seed.dead}, {"cancel", d.seed.pending[0]}, {"delete", d.seed.pending[1]},
				{"retry", d.seed.scheduled}, {"pause", "default"}, {"resume", "default"},
				{"retry_dead", "critical"}, {"delete_dead", "graveyard"},
			}
			if len(lines) != len(want) {
				t.Fatalf("%d log lines; want %d:\n%s", len(lines), len(want), d.logs.String())
			}
			for i, w := range want {
				l := lines[i]
				if l["action"] != w.action || l["target"] != w.target || l["actor"] != "alice" || l["result"] != "ok" || l["msg"] != "jobs dashboard action" {
					t.Errorf("log line %d = %v; want action %s target %s actor alice result ok", i, l, w.action, w.target)
				}
			}

			// A failed action is logged with its result too.
			if code, _ := d.call(t, "POST", api+"/jobs/nope/cancel"); code != 404 {
				t.Errorf("cancel unknown = %d", code)
			}
			lines = logLines(t, d.logs.String())
			if l := lines[len(lines)-1]; len(lines) != len(want)+1 || l["action"] != "cancel" || l["target"] != "nope" || l["result"] != "error" || l["actor"] != "alice" {
				t.Errorf("failed action logged as %v", l)
			}
		})
	}
}

func TestDashboardReadOnly(t *testing.T) {
	for _, bk := range backends {
		t.Run(bk.name, func(t *testing.T) {
			d := start(t, bk.open(t), jobshttp.DashboardConfig{ReadOnly: true})
			d.seedJobs(t)
			ctx := t.Context()
			api := mount + "/api"
			for _, path := range []string{
				"/jobs/" + d.seed.dead + "/retry", "/jobs/" + d.seed.dead + "/delete", "/jobs/" + d.seed.pending[0] + "/cancel",
				"/queues/default/pause", "/queues/default/resume", "/queues/critical/dead/retry", "/queues/critical/dead/delete",
			} {
				code, m := d.getJSON(t, "POST", api+path)
				if code != 403 || errType(m) != "read_only" {
					t.Errorf("POST %s = %d %v; want 403 read_only", path, code, m)
				}
			}
			if j, _ := d.insp.Job(ctx, d.seed.dead); j == nil || j.State != jobs.StateDead {
				t.Errorf("dead job after refused actions: %v", j)
			}
			if j, _ := d.insp.Job(ctx, d.seed.pending[0]); j == nil || j.State != jobs.StatePending {
				t.Errorf("pending job after refused cancel: %v", j)
			}
			if s, _ := d.insp.Sizes(ctx, "default"); s.Paused {
				t.Error("queue paused by a read-only dashboard")
			}
			lines := logLines(t, d.logs.String())
			if len(lines) != 7 {
				t.Fatalf("%d log lines; want one per refused action:\n%s", len(lines), d.logs.String())
			}
			for _, l := range lines {
				if l["actor"] != "alice" || !strings.HasPrefix(l["result"].(string), "refused") {
					t.Errorf("refused action logged as %v", l)
				}
			}

			// No action in any page; the read-only badge shows.
			for _, path := range []string{"/", "/queues/critical?state=dead", "/queues/default", "/jobs/" + d.seed.dead, "/jobs/" + d.seed.pending[0]} {
				code, b := d.call(t, "GET", mount+path)
				if code != 200 {
					t.Errorf("GET %s = %d", path, code)
				}
				for _, s := range []string{"data-action", `data-testid="job-retry"`, `data-testid="pause-queue"`, `data-testid="retry-all-dead"`} {
					if strings.Contains(string(b), s) {
						t.Errorf("read-only page %s has %s", path, s)
					}
				}
				if !strings.Contains(string(b), `data-testid="read-only"`) {
					t.Errorf("read-only page %s has no read-only badge", path)
				}
			}
		})
	}
}

func TestDashboardCSRFMeta(t *testing.T) {
	b := jobs.NewMemoryBackend()
	with := start(t, b, jobshttp.DashboardConfig{CSRFToken: func(echo.Context) string { return `tok"<123>` }})
	without := start(t, b, jobshttp.DashboardConfig{})
	with.seedJobs(t)
	for _, path := range []string{"/", "/queues/default", "/jobs/" + with.seed.dead, "/workers", "/schedules", "/jobs/nope"} {
		_, page := with.call(t, "GET", mount+path)
		if !strings.Contains(string(page), `<meta name="csrf-token" content="tok&#34;&lt;123&gt;">`) {
			t.Errorf("GET %s: no escaped csrf-token meta in\n%s", path, head(page))
		}
		_, page = without.call(t, "GET", mount+path)
		if strings.Contains(string(page), "csrf-token") {
			t.Errorf("GET %s without CSRFToken renders a csrf-token meta", path)
		}
	}
}

func TestDashboardPages(t *testing.T) {
	for _, bk := range backends {
		t.Run(bk.name, func(t *testing.T) {
			d := start(t, bk.open(t), jobshttp.DashboardConfig{Title: "Acme jobs", Redact: jobs.RedactFields("card")})
			d.seedJobs(t)
			tests := []struct {
				path  string
				code  int
				want  []string
				avoid []string
			}{
				{"/", 200, []string{
					"<title>Queues · Acme jobs</title>", `data-testid="queues-table"`,
					`data-testid="queue-row" data-queue="critical"`, `data-testid="queue-row" data-queue="default"`, `data-testid="queue-row" data-queue="email"`,
					`data-testid="count-pending"`, `data-testid="count-dead"`, `data-testid="queue-latency"`, `data-testid="throughput-chart"`,
					`data-testid="queue-chart"`, `data-testid="kinds-table"`, `data-testid="kind-row" data-queue="critical" data-kind="charge"`,
					`data-testid="job-search"`, `id="stats-data"`, `data-testid="total-pending"`,
				}, []string{`data-testid="queue-paused"`}},
				{"/queues/default", 200, []string{
					`data-testid="queue-header" data-queue="default"`, `data-testid="state-tab-pending"`, `data-testid="state-tab-dead"`,
					`data-testid="job-row" data-job-id="` + d.seed.pending[0] + `"`, `data-testid="kind-filter"`,
					`data-testid="order-newest"`, `data-testid="order-oldest"`, `data-testid="pause-queue"`, `data-testid="job-row-cancel"`,
				}, []string{`data-testid="page-next"`, `data-testid="retry-all-dead"`}},
				{"/queues/critical?state=dead", 200, []string{
					`data-testid="job-row" data-job-id="` + d.seed.dead + `"`, `data-testid="retry-all-dead"`, `data-testid="delete-all-dead"`,
					`data-testid="job-row-retry"`, `card declined`,
				}, nil},
				{"/queues/default?state=succeeded", 200, []string{`data-testid="no-jobs"`}, nil},
				{"/jobs/" + d.seed.dead, 200, []string{
					`data-testid="job-state" data-state="dead"`, `data-testid="job-kind">charge<`, `data-testid="job-queue">critical<`,
					`data-testid="job-attempts"`, `data-testid="job-errors"`, `data-testid="job-error"`, `card declined`,
					`data-testid="job-payload"`, `&#34;card&#34;: &#34;[redacted]&#34;`, `data-testid="job-retry"`, `data-testid="job-delete"`,
				}, []string{"4242424242424242", `data-testid="job-cancel"`}},
				{"/jobs/" + d.seed.pending[0], 200, []string{`data-testid="job-state" data-state="pending"`, `data-testid="job-cancel"`, `data-testid="job-no-errors"`}, []string{`data-testid="job-retry"`}},
				{"/jobs/nope", 404, []string{`data-testid="not-found"`, "Job not found"}, nil},
				{"/queues/nope", 404, []string{`data-testid="not-found"`, "Queue not found"}, nil},
				{"/queues/default?state=bogus", 400, []string{`data-testid="error-message"`, "state"}, nil},
				{"/queues/default?order=up", 400, []string{`data-testid="error-message"`, "order"}, nil},
				{"/queues/default?cursor=%01", 400, []string{`data-testid="error-message"`, "cursor"}, nil},
				{"/jobs?id=", 400, []string{`data-testid="error-message"`}, nil},
				{"/schedules", 200, []string{`data-testid="page-title">Schedules<`}, nil},
				{"/workers", 200, []string{`data-testid="page-title">Workers<`}, nil},
			}
			for _, tt := range tests {
				code, b := d.call(t, "GET", mount+tt.path)
				if code != tt.code {
					t.Errorf("GET %s = %d; want %d\n%s", tt.path, code, tt.code, head(b))
					continue
				}
				for _, w := range tt.want {
					if !strings.Contains(string(b), w) {
						t.Errorf("GET %s: no %s", tt.path, w)
					}
				}
				for _, a := range tt.avoid {
					if strings.Contains(string(b), a) {
						t.Errorf("GET %s: has %s", tt.path, a)
					}
				}
			}
		})
	}
}

func TestDashboardPaging(t *testing.T) {
	d := start(t, jobs.NewMemoryBackend(), jobshttp.DashboardConfig{})
	var all []string
	for i := range 120 {
		info, err := d.client.Enqueue(t.Context(), noteArgs{N: i})
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, info.ID)
	}
	seen := map[string]bool{}
	path := mount + "/queues/default?order=oldest"
	var prevs []string
	for page := 0; ; page++ {
		code, b := d.call(t, "GET", path)
		if code != 200 {
			t.Fatalf("page %d %s = %d", page, path, code)
		}
		for _, id := range all {
			if strings.Contains(string(b), `data-job-id="`+id+`"`) {
				seen[id] = true
			}
		}
		if page > 0 != strings.Contains(string(b), `data-testid="page-prev"`) {
			t.Errorf("page %d: previous link shown = %v", page, !(page > 0))
		}
		prevs = append(prevs, path)
		next := attr(string(b), `data-testid="page-next"`, "href")
		if next == "" {
			if page != 2 {
				t.Errorf("last page is %d; want 2 (50 + 50 + 20)", page)
			}
			// Previous from the last page leads to the second one.
			prev := attr(string(b), `data-testid="page-prev"`, "href")
			if prev != prevs[1] {
				t.Errorf("previous of the last page = %q; want %q", prev, prevs[1])
			}
			break
		}
		path = next
		if page > 5 {
			t.Fatal("more pages than jobs")
		}
	}
	if len(seen) != len(all) {
		t.Errorf("pages showed %d of %d jobs", len(seen), len(all))
	}
}

// attr returns the value of attribute name in the tag that holds marker.
func attr(page, marker, name string) string {
	i := strings.Index(page, marker)
	if i < 0 {
		return ""
	}
	start := strings.LastIndex(page[:i], "<")
	end := i + strings.Index(page[i:], ">")
	tag := page[start:end]
	j := strings.Index(tag, name+`="`)
	if j < 0 {
		return ""
	}
	v := tag[j+len(name)+2:]
	v = v[:strings.Index(v, `"`)]
	return strings.ReplaceAll(v, "&amp;", "&")
}

func TestDashboardSearchAndAssets(t *testing.T) {
	d := start(t, jobs.NewMemoryBackend(), jobshttp.DashboardConfig{})
	req, _ := http.NewRequestWithContext(t.Context(), "GET", d.base+mount+"/jobs?id=+abc%2Fdef+", nil)
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != mount+"/jobs/abc%2Fdef" {
		t.Errorf("search = %d %q; want 303 to %s/jobs/abc%%2Fdef", res.StatusCode, res.Header.Get("Location"), mount)
	}
	if code, _ := d.call(t, "GET", mount); code != http.StatusMovedPermanently {
		t.Errorf("GET %s = %d; want 301 to the trailing slash", mount, code)
	}

	res, err = http.Get(d.base + mount + "/")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(res.Body)
	res.Body.Close()
	csp := res.Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") {
		t.Errorf("CSP = %q", csp)
	}
	// Nothing is loaded from another host.
	for _, s := range []string{"http://", "https://", "//cdn", "fonts.googleapis"} {
		if strings.Contains(string(page), s) {
			t.Errorf("overview page references %q", s)
		}
	}
	for _, asset := range []struct {
		href, ctype string
		must        []string
	}{
		// Numbers align, and tables stack on a phone.
		{attr(string(page), `rel="stylesheet"`, "href"), "text/css", []string{"font-variant-numeric: tabular-nums", "@media (max-width: 700px)", "system-ui"}},
		// Actions send the CSRF token; the overview polls the API.
		{attr(string(page), `<script src=`, "src"), "javascript", []string{`"X-CSRF-Token"`, `prefix + "/api/queues"`}},
	} {
		if !strings.HasPrefix(asset.href, mount+"/static/") || !strings.Contains(asset.href, "?v=") {
			t.Errorf("asset href %q; want a versioned %s/static/ URL", asset.href, mount)
			continue
		}
		res, err := http.Get(d.base + asset.href)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 || !strings.Contains(res.Header.Get("Content-Type"), asset.ctype) || !strings.Contains(res.Header.Get("Cache-Control"), "immutable") {
			t.Errorf("GET %s = %d %s %q", asset.href, res.StatusCode, res.Header.Get("Content-Type"), res.Header.Get("Cache-Control"))
		}
		for _, m := range asset.must {
			if !strings.Contains(string(b), m) {
				t.Errorf("%s has no %s", asset.href, m)
			}
		}
		for _, s := range []string{"http://", "https://"} {
			if strings.Contains(strings.ReplaceAll(string(b), "http://www.w3.org/2000/svg", ""), s) {
				t.Errorf("%s references %q", asset.href, s)
			}
		}
	}
	for _, p := range []string{"/static/nope.css", "/static/..%2fdashboard.go"} {
		if code, _ := d.call(t, "GET", mount+p); code != 404 {
			t.Errorf("GET %s = %d; want 404", p, code)
		}
	}
}

// TestDashboardBackendDown: a backend that cannot be reached answers 503
// with the envelope (the API) or an error page (the pages).
func TestDashboardBackendDown(t *testing.T) {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", DialTimeout: 200 * time.Millisecond, MaxRetries: -1})
	t.Cleanup(func() { rdb.Close() })
	b, err := jobs.NewRedisBackend(rdb, jobs.RedisConfig{Prefix: testenv.Name("down:") + ":"})
	if err != nil {
		t.Fatal(err)
	}
	d := start(t, b, jobshttp.DashboardConfig{})
	for _, path := range []string{"/api/queues", "/api/queues/default", "/api/queues/default/jobs", "/api/jobs/abc"} {
		code, m := d.getJSON(t, "GET", mount+path)
		if code != 503 || errType(m) != "jobs_unavailable" {
			t.Errorf("GET %s = %d %v; want 503 jobs_unavailable", path, code, m)
		}
	}
	for _, path := range []string{"/api/jobs/abc/retry", "/api/queues/default/pause"} {
		if code, m := d.getJSON(t, "POST", mount+path); code != 503 {
			t.Errorf("POST %s = %d %v; want 503", path, code, m)
		}
	}
	for _, path := range []string{"/", "/queues/default", "/jobs/abc"} {
		code, page := d.call(t, "GET", mount+path)
		if code != 503 || !strings.Contains(string(page), "unavailable") {
			t.Errorf("GET %s = %d; want a 503 page\n%s", path, code, head(page))
		}
	}
}

func TestDashboardOpenAPI(t *testing.T) {
	d := start(t, jobs.NewMemoryBackend(), jobshttp.DashboardConfig{})
	d.seedJobs(t)
	wf := d.enqueueWorkflow(t, jobs.Chain(wfStep("a"), wfStep("b")), jobs.OnFailure(wfStep("fix")))
	doc, err := d.api.JSON()
	if err != nil {
		t.Fatal(err)
	}
	var parsed struct {
		Paths map[string]map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(doc, &parsed); err != nil {
		t.Fatal(err)
	}
	routes := map[string][]string{
		"/queues":                     {"get"},
		"/queues/{queue}":             {"get"},
		"/queues/{queue}/jobs":        {"get"},
		"/queues/{queue}/pause":       {"post"},
		"/queues/{queue}/resume":      {"post"},
		"/queues/{queue}/dead/retry":  {"post"},
		"/queues/{queue}/dead/delete": {"post"},
		"/jobs/{id}":                  {"get"},
		"/jobs/{id}/retry":            {"post"},
		"/jobs/{id}/delete":           {"post"},
		"/jobs/{id}/cancel":           {"post"},
		"/workflows/{id}":             {"get"},
		"/workflows/{id}/cancel":      {"post"},
		"/schedules":                  {"get"},
		"/workers":                    {"get"},
	}
	for p, methods := range routes {
		for _, m := range methods {
			if _, ok := parsed.Paths[mount+"/api"+p][m]; !ok {
				t.Errorf("document has no %s %s/api%s", m, mount, p)
			}
		}
	}
	if len(parsed.Paths) != len(routes) {
		t.Errorf("document has %d paths; want the %d API routes (pages are not documented)", len(parsed.Paths), len(routes))
	}

	// Every route answers as documented, errors included.
	api := mount + "/api"
	chk := openapitest.ValidateResponses(t, doc, d.base,
		openapitest.Call{Method: "GET", Path: api + "/queues", Status: 200},
		openapitest.Call{Method: "GET", Path: api + "/queues/default", Status: 200},
		openapitest.Call{Method: "GET", Path: api + "/queues/nope", Status: 404},
		openapitest.Call{Method: "GET", Path: api + "/queues/default/jobs?state=pending&limit=2", Status: 200},
		openapitest.Call{Method: "GET", Path: api + "/queues/default/jobs?state=bogus", Status: 422},
		openapitest.Call{Method: "GET", Path: api + "/jobs/" + d.seed.dead, Status: 200},
		openapitest.Call{Method: "GET", Path: api + "/jobs/nope", Status: 404},
		openapitest.Call{Method: "POST", Path: api + "/jobs/" + d.seed.dead + "/retry", Status: 200},
		openapitest.Call{Method: "POST", Path: api + "/jobs/" + d.seed.pending[0] + "/cancel", Status: 200},
		openapitest.Call{Method: "POST", Path: api + "/jobs/" + d.seed.pending[0] + "/cancel", Status: 409},
		openapitest.Call{Method: "POST", Path: api + "/jobs/" + d.seed.pending[1] + "/delete", Status: 200},
		openapitest.Call{Method: "POST", Path: api + "/queues/default/pause", Status: 200},
		openapitest.Call{Method: "POST", Path: api + "/queues/default/resume", Status: 200},
		openapitest.Call{Method: "POST", Path: api + "/queues/critical/dead/retry", Status: 200},
		openapitest.Call{Method: "POST", Path: api + "/queues/critical/dead/delete", Status: 200},
		openapitest.Call{Method: "GET", Path: api + "/schedules", Status: 200},
		openapitest.Call{Method: "GET", Path: api + "/workers", Status: 200},
		openapitest.Call{Method: "GET", Path: api + "/workflows/" + wf.ID, Status: 200},
		openapitest.Call{Method: "GET", Path: api + "/workflows/00000000000000000000", Status: 404},
		openapitest.Call{Method: "POST", Path: api + "/workflows/" + wf.ID + "/cancel", Status: 200},
		openapitest.Call{Method: "POST", Path: api + "/workflows/" + wf.ID + "/cancel", Status: 409},
		openapitest.Call{Method: "POST", Path: api + "/workflows/00000000000000000000/cancel", Status: 404},
	)
	chk.RequireExercised()
}

func ids(m map[string]any) []string {
	out := []string{}
	js, _ := field(m, "jobs").([]any)
	for _, j := range js {
		out = append(out, field(j, "id").(string))
	}
	return out
}

func reversed(s []string) []string {
	out := make([]string, len(s))
	for i, v := range s {
		out[len(s)-1-i] = v
	}
	return out
}

func equalJSON(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

func boolText(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

func logLines(t *testing.T, s string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(s), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line %q: %v", l, err)
		}
		if m["msg"] == "jobs dashboard action" {
			out = append(out, m)
		}
	}
	return out
}

func head(b []byte) string {
	if len(b) > 600 {
		return string(b[:600]) + "…"
	}
	return string(b)
}

// TestDashboardWorkersAndSchedules runs a runner and a scheduler and finds
// them, by their heartbeats, in the API and the pages.
func TestDashboardWorkersAndSchedules(t *testing.T) {
	for _, bk := range backends {
		t.Run(bk.name, func(t *testing.T) {
			d := start(t, bk.open(t), jobshttp.DashboardConfig{})
			ctx, cancel := context.WithCancel(t.Context())
			ws := jobs.NewWorkers()
			jobs.AddWorker(ws, jobs.WorkerFunc[noteArgs](func(context.Context, *jobs.Job[noteArgs]) error { return nil }))
			r, err := jobs.NewRunner(d.b, jobs.RunnerConfig{
				Workers: ws, Queues: map[string]jobs.QueueConfig{"default": {Priority: 3}, "email": {}}, Concurrency: 4,
				Logger: slog.New(slog.DiscardHandler),
			})
			if err != nil {
				t.Fatal(err)
			}
			s, err := jobs.NewScheduler(jobs.SchedulerConfig{Client: d.client, Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Add(jobs.PeriodicJob{Name: "tick", Spec: "@every 1s", Args: noteArgs{N: 1}}); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 2)
			go func() { done <- r.Run(ctx) }()
			go func() { done <- s.Run(ctx) }()
			t.Cleanup(func() {
				cancel()
				for range 2 {
					if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
						t.Errorf("run: %v", err)
					}
				}
			})

			var m map[string]any
			waitFor(t, "the runner's heartbeat", func() bool {
				code, got := d.getJSON(t, "GET", mount+"/api/workers")
				m = got
				w, _ := field(got, "workers").([]any)
				return code == 200 && len(w) == 1
			})
			w := field(m, "workers", 0)
			if field(w, "host") == "" || field(w, "pid") == nil || field(w, "concurrency") != 4.0 ||
				field(w, "queues", "default") != 3.0 || field(w, "queues", "email") != 1.0 || field(w, "heartbeat_at") == nil {
				t.Errorf("worker = %v", w)
			}
			waitFor(t, "the schedule's first fire", func() bool {
				code, got := d.getJSON(t, "GET", mount+"/api/schedules")
				m = got
				return code == 200 && field(got, "schedules", 0, "last_job_id") != nil
			})
			sc := field(m, "schedules", 0)
			if field(sc, "name") != "tick" || field(sc, "spec") != "@every 1s" || field(sc, "kind") != "note" || field(sc, "queue") != "default" || field(sc, "next") == nil {
				t.Errorf("schedule = %v", sc)
			}
			if code, b := d.call(t, "GET", mount+"/workers"); code != 200 || !strings.Contains(string(b), `data-testid="worker-row"`) {
				t.Errorf("GET /workers = %d, no worker-row", code)
			}
			if code, b := d.call(t, "GET", mount+"/schedules"); code != 200 || !strings.Contains(string(b), `data-testid="schedule-row" data-schedule="tick"`) ||
				!strings.Contains(string(b), `data-testid="schedule-last-job"`) || !strings.Contains(string(b), `<code data-testid="schedule-spec">@every 1s</code>`) ||
				!strings.Contains(string(b), `data-testid="schedule-zone">UTC<`) || !strings.Contains(string(b), `data-testid="schedule-next"><time datetime=`) {
				t.Errorf("GET /schedules = %d: no row of tick with its last job, spec, time zone and next fire", code)
			}
		})
	}
}

// TestDashboardJobArguments: a job's page shows its arguments in every
// state, not only once it is dead.
func TestDashboardJobArguments(t *testing.T) {
	for _, bk := range backends {
		t.Run(bk.name, func(t *testing.T) {
			d := start(t, bk.open(t), jobshttp.DashboardConfig{})
			d.seedJobs(t)
			for _, id := range []string{d.seed.pending[2], d.seed.scheduled} {
				code, m := d.getJSON(t, "GET", mount+"/api/jobs/"+id)
				if code != 200 || field(m, "payload") == nil || field(m, "max_retry") != 25.0 {
					t.Errorf("GET %s job = %d %v; want its payload and max_retry 25 (Inspector.Job must return them)", field(m, "state"), code, m)
				}
			}
			code, b := d.call(t, "GET", mount+"/jobs/"+d.seed.pending[2])
			if code != 200 || !strings.Contains(string(b), `&#34;n&#34;: 2`) {
				t.Errorf("GET pending job page = %d without its arguments", code)
			}
		})
	}
}

func TestDashboardAccount(t *testing.T) {
	b := jobs.NewMemoryBackend()
	account := func(c echo.Context) (string, string) {
		return c.Request().Header.Get("X-User"), "/admin/logout?from=<jobs>"
	}
	withCSRF := start(t, b, jobshttp.DashboardConfig{Account: account, CSRFToken: func(echo.Context) string { return `tok"<1>` }})
	noCSRF := start(t, b, jobshttp.DashboardConfig{Account: account})
	unset := start(t, b, jobshttp.DashboardConfig{CSRFToken: func(echo.Context) string { return "tok" }})
	withCSRF.seedJobs(t)
	get := func(d *dash, path, user string) string {
		t.Helper()
		req, err := http.NewRequestWithContext(t.Context(), "GET", d.base+mount+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		if user != "" {
			req.Header.Set("X-User", user)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		body, err := io.ReadAll(res.Body)
		if err != nil {
			t.Fatal(err)
		}
		return string(body)
	}
	const (
		label   = `<span class="account-label" data-testid="account" title="Signed in as ops&#43;&lt;b&gt;@example.com &amp; co">ops&#43;&lt;b&gt;@example.com &amp; co</span>`
		form    = `<form class="account" action="/admin/logout?from=%3cjobs%3e" method="post" data-testid="account-form">`
		token   = `<input type="hidden" name="csrf_token" value="tok&#34;&lt;1&gt;">`
		button  = `<button type="submit" class="btn small" data-testid="sign-out">Sign out</button>`
		user    = `ops+<b>@example.com & co`
		rawUser = `ops+<b>@example.com`
	)
	tests := []struct {
		name  string
		d     *dash
		user  string
		want  []string
		avoid []string
	}{
		{"signed in, with CSRF", withCSRF, user, []string{label, form, token, button}, []string{rawUser}},
		{"signed in, no CSRF", noCSRF, user, []string{label, form, button}, []string{"csrf_token", rawUser}},
		{"no label", withCSRF, "", nil, []string{`data-testid="account"`, `data-testid="sign-out"`, "/admin/logout"}},
		{"Account unset", unset, user, nil, []string{`data-testid="account"`, `data-testid="sign-out"`, "csrf_token", "ops+"}},
	}
	for _, tt := range tests {
		for _, path := range []string{"/", "/queues/default", "/jobs/" + withCSRF.seed.dead, "/workers", "/schedules", "/jobs/nope"} {
			page := get(tt.d, path, tt.user)
			for _, w := range tt.want {
				if !strings.Contains(page, w) {
					t.Errorf("%s: GET %s: no %s in\n%s", tt.name, path, w, head([]byte(page)))
				}
			}
			for _, a := range tt.avoid {
				if strings.Contains(page, a) {
					t.Errorf("%s: GET %s: has %s", tt.name, path, a)
				}
			}
		}
	}
}

// stepArgs is a job that reports progress, then ends as End says: "hold"
// keeps running until the test lets it go, "fail" dies, "ok" succeeds.
type stepArgs struct {
	End string `json:"end"`
}

func (stepArgs) Kind() string { return "step" }

// TestDashboardJobProgress: a running job's progress is a live bar; a
// finished job's is what it last reported, with no bar.
func TestDashboardJobProgress(t *testing.T) {
	for _, bk := range backends {
		t.Run(bk.name, func(t *testing.T) {
			d := start(t, bk.open(t), jobshttp.DashboardConfig{})
			ctx := t.Context()
			release := make(chan struct{})
			ws := jobs.NewWorkers()
			jobs.AddWorker(ws, jobs.WorkerFunc[stepArgs](func(ctx context.Context, j *jobs.Job[stepArgs]) error {
				if err := j.Progress(ctx, 3, 10, "rows copied"); err != nil {
					return err
				}
				switch j.Args.End {
				case "hold":
					select {
					case <-release:
					case <-ctx.Done():
					}
					return nil
				case "fail":
					return jobs.SkipRetry(errors.New("disk full"))
				}
				return nil
			}))
			r, err := jobs.NewRunner(d.b, jobs.RunnerConfig{
				Workers: ws, Queues: map[string]jobs.QueueConfig{"default": {}}, Concurrency: 3,
				IdleWait: 50 * time.Millisecond, Logger: slog.New(slog.DiscardHandler),
			})
			if err != nil {
				t.Fatal(err)
			}
			rctx, cancel := context.WithCancel(ctx)
			done := make(chan error, 1)
			go func() { done <- r.Run(rctx) }()
			defer func() {
				close(release)
				cancel()
				if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
					t.Errorf("runner: %v", err)
				}
			}()
			ids := map[string]string{}
			for _, end := range []string{"hold", "fail", "ok"} {
				info, err := d.client.Enqueue(ctx, stepArgs{End: end}, jobs.MaxRetry(0))
				if err != nil {
					t.Fatal(err)
				}
				ids[end] = info.ID
			}
			for end, state := range map[string]jobs.State{"hold": jobs.StateActive, "fail": jobs.StateDead, "ok": jobs.StateSucceeded} {
				waitFor(t, "the "+end+" job to be "+string(state)+" with progress", func() bool {
					j, err := d.insp.Job(ctx, ids[end])
					return err == nil && j.State == state && j.Progress != nil
				})
			}
			tests := []struct {
				end   string
				want  []string
				avoid []string
			}{
				{"hold", []string{`data-testid="job-progress-heading">Progress<`, `<progress max="10" value="3">30%</progress>`, "3 / 10", "rows copied"},
					[]string{"Last reported", "data-final"}},
				{"fail", []string{`data-testid="job-progress-heading">Last reported progress<`, `data-testid="job-progress" data-final`, "3 / 10", "rows copied", "before the job died"},
					[]string{"<progress", ">Progress<"}},
				{"ok", []string{`data-testid="job-progress-heading">Last reported progress<`, `data-testid="job-progress" data-final`, "3 / 10", "before the job succeeded"},
					[]string{"<progress", ">Progress<"}},
			}
			for _, tt := range tests {
				code, page := d.call(t, "GET", mount+"/jobs/"+ids[tt.end])
				if code != 200 {
					t.Fatalf("GET the %s job = %d\n%s", tt.end, code, head(page))
				}
				for _, w := range tt.want {
					if !strings.Contains(string(page), w) {
						t.Errorf("the %s job's page: no %s", tt.end, w)
					}
				}
				for _, a := range tt.avoid {
					if strings.Contains(string(page), a) {
						t.Errorf("the %s job's page: has %s", tt.end, a)
					}
				}
			}
		})
	}
}

// TestDashboardLatency: a queue with pending jobs shows their latency; one
// with nothing pending shows "–", not "0", on the overview and its page.
func TestDashboardLatency(t *testing.T) {
	d := start(t, jobs.NewMemoryBackend(), jobshttp.DashboardConfig{})
	d.seedJobs(t) // default: pending notes; critical: one dead charge
	time.Sleep(5 * time.Millisecond)
	_, overview := d.call(t, "GET", mount+"/")
	row := func(queue string) string {
		s := string(overview)
		i := strings.Index(s, `data-testid="queue-row" data-queue="`+queue+`"`)
		if i < 0 {
			t.Fatalf("the overview has no row of %s", queue)
		}
		return s[i : i+strings.Index(s[i:], "</tr>")]
	}
	const cell = `data-testid="queue-latency" data-field="latency">`
	if r := row("critical"); !strings.Contains(r, cell+"–<") {
		t.Errorf("the critical queue, nothing pending, has no latency of –:\n%s", r)
	}
	if r := row("default"); strings.Contains(r, cell+"–<") || strings.Contains(r, cell+"0<") || !strings.Contains(r, cell) {
		t.Errorf("the default queue, with pending jobs, does not show their latency:\n%s", r)
	}
	for queue, want := range map[string]bool{"critical": true, "default": false} {
		_, page := d.call(t, "GET", mount+"/queues/"+queue)
		if got := strings.Contains(string(page), `data-testid="queue-latency">–<`); got != want {
			t.Errorf("the %s queue's page shows latency – = %v; want %v", queue, got, want)
		}
	}
}
