package jobshttp_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/gantry-dev/gantry/jobs"
	"github.com/gantry-dev/gantry/jobs/jobshttp"
)

// wfArgs is the workflow tests' one kind: Fail makes the step fail for
// good with an error naming a customer, Block makes it wait for its
// context; otherwise it sets Name as its result.
type wfArgs struct {
	Name  string `json:"name"`
	Fail  bool   `json:"fail,omitempty"`
	Block bool   `json:"block,omitempty"`
}

func (wfArgs) Kind() string { return "wf" }

func wfStep(name string) jobs.Node { return jobs.Step(wfArgs{Name: name}, jobs.MaxRetry(0)) }

// runWorkflows runs a runner for wfArgs on queue default until the test
// ends; started reports each step's name as it starts.
func (d *dash) runWorkflows(t *testing.T) (started chan string) {
	t.Helper()
	started = make(chan string, 100)
	ws := jobs.NewWorkers()
	jobs.AddWorker(ws, jobs.WorkerFunc[wfArgs](func(ctx context.Context, j *jobs.Job[wfArgs]) error {
		select {
		case started <- j.Args.Name:
		default:
		}
		switch {
		case j.Args.Block:
			<-ctx.Done()
			return ctx.Err()
		case j.Args.Fail:
			return jobs.SkipRetry(errors.New(j.Args.Name + " failed for ann@example.com"))
		}
		return j.SetResult(j.Args.Name)
	}))
	r, err := jobs.NewRunner(d.b, jobs.RunnerConfig{
		Workers: ws, Queues: map[string]jobs.QueueConfig{"default": {}}, Concurrency: 4,
		IdleWait: 20 * time.Millisecond, Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.WithoutCancel(t.Context()))
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("runner: %v", err)
		}
	})
	return started
}

func (d *dash) enqueueWorkflow(t *testing.T, root jobs.Node, opts ...jobs.WorkflowOption) *jobs.WorkflowInfo {
	t.Helper()
	wi, err := d.client.EnqueueWorkflow(t.Context(), root, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return wi
}

func (d *dash) waitWorkflow(t *testing.T, id string, state jobs.WorkflowState) {
	t.Helper()
	waitFor(t, "workflow "+id+" "+string(state), func() bool {
		wi, err := d.insp.Workflow(t.Context(), id)
		return err == nil && wi.State == state
	})
}

var reStepBox = regexp.MustCompile(`data-testid="workflow-step" data-step="(\d+)" data-state="(\w+)" data-level="(\d+)"`)

// boxes returns the step boxes a workflow page draws: step → "state@level".
func boxes(page string) map[string]string {
	out := map[string]string{}
	for _, m := range reStepBox.FindAllStringSubmatch(page, -1) {
		out[m[1]] = m[2] + "@" + m[3]
	}
	return out
}

// TestDashboardWorkflowPage runs a chain, a chord with a failed member and
// a partial callback, and a cancelled workflow, and reads their pages.
func TestDashboardWorkflowPage(t *testing.T) {
	for _, bk := range backends {
		t.Run(bk.name, func(t *testing.T) {
			d := start(t, bk.open(t), jobshttp.DashboardConfig{})
			started := d.runWorkflows(t)

			chain := d.enqueueWorkflow(t, jobs.Chain(wfStep("a"), wfStep("b"), wfStep("c")))
			chord := d.enqueueWorkflow(t, jobs.Chord(jobs.Group(wfStep("m1"), jobs.Step(wfArgs{Name: "m2", Fail: true}, jobs.MaxRetry(0)), wfStep("m3")),
				wfStep("sum"), jobs.Partial()), jobs.OnFailure(wfStep("fix")))
			cancelled := d.enqueueWorkflow(t, jobs.Chain(jobs.Step(wfArgs{Name: "long", Block: true}), wfStep("after")))
			d.waitWorkflow(t, chain.ID, jobs.WorkflowSucceeded)
			d.waitWorkflow(t, chord.ID, jobs.WorkflowFailed)
			for name := ""; name != "long"; {
				select {
				case name = <-started:
				case <-time.After(10 * time.Second):
					t.Fatal("the blocking step never started")
				}
			}
			if err := d.insp.CancelWorkflow(t.Context(), cancelled.ID); err != nil {
				t.Fatal(err)
			}
			d.waitWorkflow(t, cancelled.ID, jobs.WorkflowCancelled)

			tests := []struct {
				name  string
				id    string
				boxes map[string]string
				edges int
				want  []string
				avoid []string
			}{
				{"chain", chain.ID, map[string]string{"0": "succeeded@0", "1": "succeeded@1", "2": "succeeded@2"}, 2, []string{
					`data-testid="workflow-state" data-state="succeeded"`, `data-testid="workflow-finished-at"`, `data-testid="workflow-created-at"`,
					`href="` + mount + `/jobs/` + chain.ID + `.2" data-testid="workflow-step-link"`, `data-testid="workflow-graph"`,
					`data-testid="workflow-count" data-state="succeeded">3 succeeded<`,
				}, []string{`data-testid="workflow-cancel"`, `data-testid="workflow-level-summary"`}},
				// The failed member's error shows in its box and in the list;
				// the partial callback ran; the on-failure step is alone in
				// the last level.
				{"chord with a failure", chord.ID, map[string]string{"0": "succeeded@0", "1": "failed@0", "2": "succeeded@0", "3": "succeeded@1", "4": "succeeded@2"}, 3, []string{
					`data-testid="workflow-state" data-state="failed"`, `data-testid="workflow-step-error">m2 failed for ann@example.c…<`,
					`title="m2 failed for ann@example.com"`, `data-testid="workflow-on-failure"`, `data-testid="workflow-partial"`,
					`<td data-label="Waits for">0–2</td>`,
				}, []string{`data-testid="workflow-cancel"`}},
				// The skipped step never had a job: no link.
				{"cancelled", cancelled.ID, map[string]string{"0": "cancelled@0", "1": "skipped@1"}, 1, []string{
					`data-testid="workflow-state" data-state="cancelled"`, `href="` + mount + `/jobs/` + cancelled.ID + `.0"`,
				}, []string{`href="` + mount + `/jobs/` + cancelled.ID + `.1"`, `data-testid="workflow-cancel"`}},
			}
			for _, tt := range tests {
				code, b := d.call(t, "GET", mount+"/workflows/"+tt.id)
				page := string(b)
				if code != 200 {
					t.Errorf("%s: GET = %d\n%s", tt.name, code, head(b))
					continue
				}
				if got := boxes(page); !equalJSON(got, tt.boxes) {
					t.Errorf("%s: boxes (state@level) = %v; want %v", tt.name, got, tt.boxes)
				}
				if got := strings.Count(page, `data-testid="workflow-edge"`); got != tt.edges {
					t.Errorf("%s: %d edges; want %d", tt.name, got, tt.edges)
				}
				if got := strings.Count(page, `data-testid="workflow-step-row"`); got != len(tt.boxes) {
					t.Errorf("%s: %d rows in the step list; want %d", tt.name, got, len(tt.boxes))
				}
				for _, w := range tt.want {
					if !strings.Contains(page, w) {
						t.Errorf("%s: no %s", tt.name, w)
					}
				}
				for _, a := range tt.avoid {
					if strings.Contains(page, a) {
						t.Errorf("%s: has %s", tt.name, a)
					}
				}
			}

			// A step's job page links to its workflow; a plain job's does not.
			_, b := d.call(t, "GET", mount+"/jobs/"+chord.Steps[1].JobID)
			if want := `href="` + mount + `/workflows/` + chord.ID + `" data-testid="job-workflow">part of workflow <span class="mono">` + chord.ID + `</span>`; !strings.Contains(string(b), want) {
				t.Errorf("the step's job page has no link %s", want)
			}
			plain, err := d.client.Enqueue(t.Context(), noteArgs{N: 1}, jobs.Queue("other"))
			if err != nil {
				t.Fatal(err)
			}
			if _, b := d.call(t, "GET", mount+"/jobs/"+plain.ID); strings.Contains(string(b), `data-testid="job-workflow"`) {
				t.Error("a plain job's page links to a workflow")
			}

			// The API: the steps with their state, dependencies, result and error.
			code, m := d.getJSON(t, "GET", mount+"/api/workflows/"+chord.ID)
			if code != 200 || field(m, "id") != chord.ID || field(m, "state") != "failed" || field(m, "finished_at") == nil {
				t.Fatalf("GET /api/workflows/{chord} = %d %v", code, m)
			}
			if s := field(m, "steps", 1); field(s, "state") != "failed" || !strings.Contains(fmt.Sprint(field(s, "error")), "m2 failed") ||
				field(s, "job_id") != chord.ID+".1" || !equalJSON(field(s, "depends_on"), []int{}) {
				t.Errorf("step 1 = %v", s)
			}
			if s := field(m, "steps", 3); !equalJSON(field(s, "depends_on"), []int{0, 1, 2}) || field(s, "partial") != true || field(s, "result") != "sum" {
				t.Errorf("step 3 = %v", s)
			}
			if s := field(m, "steps", 4); field(s, "on_failure") != true || field(s, "state") != "succeeded" {
				t.Errorf("step 4 = %v", s)
			}
		})
	}
}

// TestDashboardWorkflowLarge: a 1,000-member chord stays a page an
// operator can use: the level of members collapses into a summary, and
// the step list pages.
func TestDashboardWorkflowLarge(t *testing.T) {
	d := start(t, jobs.NewMemoryBackend(), jobshttp.DashboardConfig{})
	var ms []jobs.Node
	for i := range 1000 {
		ms = append(ms, wfStep(fmt.Sprintf("m%d", i)))
	}
	wi := d.enqueueWorkflow(t, jobs.Chord(jobs.Group(ms...), wfStep("sum"))) // no runner: the members stay pending
	for _, i := range []int{10, 11, 12} {
		if err := d.insp.Cancel(t.Context(), wi.Steps[i].JobID); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "three members cancelled", func() bool {
		w, err := d.insp.Workflow(t.Context(), wi.ID)
		return err == nil && w.Steps[12].State == jobs.StepCancelled
	})

	code, b := d.call(t, "GET", mount+"/workflows/"+wi.ID)
	page := string(b)
	if code != 200 {
		t.Fatalf("GET = %d\n%s", code, head(b))
	}
	t.Logf("1,000-member chord: page %d bytes", len(b))
	if len(b) > 300_000 {
		t.Errorf("page is %d bytes; want under 300 KB", len(b))
	}
	// A member cancelled for good skips the callback (not Partial).
	want := map[string]string{"0": "released@0", "1": "released@0", "2": "released@0", "3": "released@0", "4": "released@0", "1000": "skipped@1"}
	if got := boxes(page); !equalJSON(got, want) {
		t.Errorf("boxes = %v; want the first 5 members and the callback", got)
	}
	for _, w := range []string{
		`data-testid="workflow-level-summary" data-level="0"`, `>995 more steps<`, `>992 released<`, `>3 cancelled<`,
		`data-testid="workflow-count" data-state="released">997 released<`, `data-testid="workflow-cancel"`,
	} {
		if !strings.Contains(page, w) {
			t.Errorf("no %s", w)
		}
	}
	// Members 0..4 each feed the callback; the summary stands for the rest.
	if got := strings.Count(page, `data-testid="workflow-edge"`); got != 6 {
		t.Errorf("%d edges; want 6", got)
	}
	if got := strings.Count(page, `data-testid="workflow-step-row"`); got != 100 {
		t.Errorf("first page: %d rows; want 100", got)
	}
	next := attr(page, `data-testid="workflow-page-next"`, "href")
	if next != mount+"/workflows/"+wi.ID+"?page=2#steps" {
		t.Errorf("next page = %q", next)
	}

	// The level's full list, paged: the last page holds members 900..999.
	level := attr(page, `data-testid="workflow-level-summary"`, "href")
	_, b = d.call(t, "GET", strings.TrimSuffix(level, "#steps")+"&page=10")
	last := string(b)
	if got := strings.Count(last, `data-testid="workflow-step-row"`); got != 100 || !strings.Contains(last, `data-step="999"`) ||
		strings.Contains(last, `data-testid="workflow-step-row" data-step="1000"`) || strings.Contains(last, `data-testid="workflow-page-next"`) {
		t.Errorf("level 0, page 10: %d rows, step 999 %v, callback %v", got, strings.Contains(last, `data-step="999"`), strings.Contains(last, `data-step="1000"`))
	}
	if _, b := d.call(t, "GET", mount+"/workflows/"+wi.ID+"?page=11"); !strings.Contains(string(b), `<td data-label="Waits for">0–999</td>`) {
		t.Error("the callback's row on page 11 does not say it waits for 0–999")
	}
	for _, q := range []string{"?page=12", "?level=2", "?level=x", "?page=0"} {
		if code, _ := d.call(t, "GET", mount+"/workflows/"+wi.ID+q); code != 400 {
			t.Errorf("GET %s = %d; want 400", q, code)
		}
	}
}

// TestDashboardWorkflowNotFound: an unknown id is a 404 page, and a 404
// with the envelope from the API.
func TestDashboardWorkflowNotFound(t *testing.T) {
	d := start(t, jobs.NewMemoryBackend(), jobshttp.DashboardConfig{})
	for _, id := range []string{"00000000000000000000", "nope"} {
		code, b := d.call(t, "GET", mount+"/workflows/"+id)
		if code != 404 || !strings.Contains(string(b), "Workflow not found") || !strings.Contains(string(b), `data-testid="not-found"`) {
			t.Errorf("GET /workflows/%s = %d\n%s", id, code, head(b))
		}
		for _, method := range []string{"GET", "POST"} {
			path := mount + "/api/workflows/" + id
			if method == "POST" {
				path += "/cancel"
			}
			code, m := d.getJSON(t, method, path)
			if code != 404 || errType(m) != "not_found" || field(m, "error", "message") != "workflow not found" {
				t.Errorf("%s %s = %d %v; want 404 not_found", method, path, code, m)
			}
		}
	}
}

// TestDashboardWorkflowLookup: the lookup form, and ids that go to the
// workflow's page.
func TestDashboardWorkflowLookup(t *testing.T) {
	d := start(t, jobs.NewMemoryBackend(), jobshttp.DashboardConfig{})
	wi := d.enqueueWorkflow(t, jobs.Chain(wfStep("a"), wfStep("b")))
	code, b := d.call(t, "GET", mount+"/workflows")
	if code != 200 || !strings.Contains(string(b), `data-testid="workflow-lookup"`) || !strings.Contains(string(b), `action="`+mount+`/workflows"`) {
		t.Errorf("GET /workflows = %d, no lookup form", code)
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, tt := range []struct{ q, want string }{
		{wi.ID, mount + "/workflows/" + wi.ID},
		{"+" + wi.ID + "+", mount + "/workflows/" + wi.ID},
		{wi.Steps[1].JobID, mount + "/workflows/" + wi.ID}, // a step's job id
		{"a%2Fb", mount + "/workflows/a%2Fb"},
	} {
		res, err := client.Get(d.base + mount + "/workflows?id=" + tt.q)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != tt.want {
			t.Errorf("lookup %q = %d %q; want 303 to %s", tt.q, res.StatusCode, res.Header.Get("Location"), tt.want)
		}
	}
	if code, _ := d.call(t, "GET", mount+"/workflows?id=+"); code != 400 {
		t.Errorf("lookup of a blank id = %d; want 400", code)
	}
}

// TestDashboardWorkflowCancel: the cancel action behind echo's CSRF
// guard: refused without the page's token, done with it, then 409; a
// read-only dashboard hides the button and refuses the action.
func TestDashboardWorkflowCancel(t *testing.T) {
	b := jobs.NewMemoryBackend()
	guard := middleware.CSRFWithConfig(middleware.CSRFConfig{CookiePath: "/"})
	token := func(c echo.Context) string { s, _ := c.Get("csrf").(string); return s }
	d := start(t, b, jobshttp.DashboardConfig{CSRFToken: token}, guard)
	ro := start(t, b, jobshttp.DashboardConfig{ReadOnly: true, CSRFToken: token}, guard)
	wi := d.enqueueWorkflow(t, jobs.Chain(wfStep("a"), wfStep("b"))) // no runner: it stays running

	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Jar: jar}
	do := func(method, url, tok string) (int, string) {
		t.Helper()
		req, err := http.NewRequestWithContext(t.Context(), method, url, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("X-User", "alice")
		if tok != "" {
			req.Header.Set("X-CSRF-Token", tok)
		}
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(body)
	}
	state := func() jobs.WorkflowState {
		w, err := d.insp.Workflow(t.Context(), wi.ID)
		if err != nil {
			t.Fatal(err)
		}
		return w.State
	}

	code, page := do("GET", d.base+mount+"/workflows/"+wi.ID, "")
	action := attr(page, `data-testid="workflow-cancel"`, "data-action")
	tok := attr(page, `name="csrf-token"`, "content")
	if code != 200 || action != mount+"/api/workflows/"+wi.ID+"/cancel" || tok == "" {
		t.Fatalf("workflow page = %d: cancel action %q, csrf token %q", code, action, tok)
	}
	for _, bad := range []string{"", "forged"} {
		if code, body := do("POST", d.base+action, bad); code != 400 && code != 403 {
			t.Errorf("cancel with token %q = %d %s; want refused (400 or 403)", bad, code, body)
		}
	}
	if s := state(); s != jobs.WorkflowRunning {
		t.Fatalf("workflow after refused cancels: %s; want running", s)
	}

	// Read-only: no button, and the action is refused even with the token.
	code, page = do("GET", ro.base+mount+"/workflows/"+wi.ID, "")
	if code != 200 || strings.Contains(page, "data-action") || !strings.Contains(page, `data-testid="read-only"`) {
		t.Errorf("read-only workflow page = %d with an action or without the badge", code)
	}
	tok = attr(page, `name="csrf-token"`, "content")
	if code, body := do("POST", ro.base+action, tok); code != 403 || !strings.Contains(body, `"read_only"`) {
		t.Errorf("read-only cancel = %d %s; want 403 read_only", code, body)
	}
	if s := state(); s != jobs.WorkflowRunning {
		t.Fatalf("workflow after the read-only cancel: %s; want running", s)
	}

	code, body := do("POST", d.base+action, tok)
	if code != 200 || !strings.Contains(body, `"action":"cancel_workflow"`) || !strings.Contains(body, `"affected":1`) {
		t.Fatalf("cancel = %d %s", code, body)
	}
	if s := state(); s != jobs.WorkflowCancelled {
		t.Errorf("workflow after cancel: %s; want cancelled", s)
	}
	if j, err := d.insp.Job(t.Context(), wi.Steps[0].JobID); err != nil || j.State != jobs.StateCancelled {
		t.Errorf("the released step's job after cancel: %+v, %v; want cancelled", j, err)
	}
	if code, body := do("POST", d.base+action, tok); code != 409 || !strings.Contains(body, `"conflict"`) || !strings.Contains(body, "already finished") {
		t.Errorf("second cancel = %d %s; want 409 conflict", code, body)
	}
	_, page = do("GET", d.base+mount+"/workflows/"+wi.ID, "")
	if strings.Contains(page, `data-testid="workflow-cancel"`) {
		t.Error("a cancelled workflow's page offers to cancel it")
	}
	lines := logLines(t, d.logs.String())
	if len(lines) != 2 || lines[0]["action"] != "cancel_workflow" || lines[0]["target"] != wi.ID || lines[0]["actor"] != "alice" ||
		lines[0]["result"] != "ok" || lines[1]["result"] != "error" {
		t.Errorf("action log = %v; want the cancel (ok) and the second one (error)", lines)
	}
}
