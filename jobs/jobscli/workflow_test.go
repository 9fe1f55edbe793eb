package jobscli_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/internal/testenv"
	"github.com/gantry-dev/gantry/jobs"
	"github.com/gantry-dev/gantry/jobs/jobscli"
)

// stepArgs is the workflows' one kind: Fail makes the step fail for good.
type stepArgs struct {
	Name string `json:"name"`
	Fail bool   `json:"fail,omitempty"`
}

func (stepArgs) Kind() string { return "step" }

func step(name string, opts ...jobs.Option) jobs.Node {
	return jobs.Step(stepArgs{Name: name}, append([]jobs.Option{jobs.Queue("wf"), jobs.MaxRetry(0)}, opts...)...)
}

// seedWorkflows runs, on a runner of queue "wf", a chain that succeeds
// ("chain") and a chord whose member fails, with a partial callback and
// an on-failure step ("chord"); "held" waits on queue "held", which no
// runner serves.
func seedWorkflows(t *testing.T, backend string, b jobs.Backend) *fixture {
	t.Helper()
	client, err := jobs.NewClient(b, jobs.ClientConfig{})
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, backend: backend, b: b, client: client, insp: jobs.NewInspector(b),
		ids: map[string]string{}, logs: new(testenv.Buffer)}
	ws := jobs.NewWorkers()
	jobs.AddWorker(ws, jobs.WorkerFunc[stepArgs](func(ctx context.Context, j *jobs.Job[stepArgs]) error {
		if j.Args.Fail {
			return jobs.SkipRetry(errors.New(j.Args.Name + ": upstream refused\nsecond line"))
		}
		return j.SetResult(j.Args.Name)
	}))
	r, err := jobs.NewRunner(b, jobs.RunnerConfig{
		Workers: ws, Queues: map[string]jobs.QueueConfig{"wf": {}}, Concurrency: 4,
		IdleWait: 20 * time.Millisecond, Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	goRun(t, r.Run)
	for _, w := range []struct {
		label string
		root  jobs.Node
		opts  []jobs.WorkflowOption
		want  jobs.WorkflowState
	}{
		{"chain", jobs.Chain(step("fetch"), step("resize"), step("notify")), nil, jobs.WorkflowSucceeded},
		{"chord", jobs.Chord(jobs.Group(step("m1"), jobs.Step(stepArgs{Name: "m2", Fail: true}, jobs.Queue("wf"), jobs.MaxRetry(0)), step("m3")),
			step("sum"), jobs.Partial()), []jobs.WorkflowOption{jobs.OnFailure(step("alert"))}, jobs.WorkflowFailed},
		{"held", jobs.Chain(step("first", jobs.Queue("held")), jobs.Group(step("second"), step("third"))), nil, jobs.WorkflowRunning},
	} {
		wi, err := client.EnqueueWorkflow(t.Context(), w.root, w.opts...)
		if err != nil {
			t.Fatal(err)
		}
		f.ids[w.label] = wi.ID
		waitFor(t, w.label+" "+string(w.want), func() bool {
			got, err := f.insp.Workflow(t.Context(), wi.ID)
			return err == nil && got.State == w.want
		})
	}
	return f
}

// TestWorkflow shows workflows, cancels one, and checks the errors.
func TestWorkflow(t *testing.T) {
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			t.Parallel()
			f := seedWorkflows(t, be.name, be.new(t))
			f.golden("workflow-chain", f.mustRun("workflow", f.ids["chain"]))
			f.golden("workflow-chord-failed", f.mustRun("workflow", f.ids["chord"]))
			f.golden("workflow-running", f.mustRun("workflow", f.ids["held"]))

			var wi jobs.WorkflowInfo
			decode(t, f.mustRun("workflow", "--json", f.ids["chord"]), &wi)
			if wi.ID != f.ids["chord"] || wi.State != jobs.WorkflowFailed || len(wi.Steps) != 5 || wi.Steps[1].State != jobs.StepFailed ||
				!strings.Contains(wi.Steps[1].Error, "m2: upstream refused") || !wi.Steps[3].Partial || !wi.Steps[4].OnFailure || string(wi.Steps[3].Result) != `"sum"` {
				t.Errorf("workflow --json = %+v", wi)
			}

			f.golden("workflow-cancel", f.mustRun("workflow", "cancel", f.ids["held"]))
			got, err := f.insp.Workflow(t.Context(), f.ids["held"])
			if err != nil || got.State != jobs.WorkflowCancelled {
				t.Fatalf("held after cancel: %+v, %v; want cancelled", got, err)
			}
			if j, err := f.insp.Job(t.Context(), got.Steps[0].JobID); err != nil || j.State != jobs.StateCancelled {
				t.Errorf("the released step's job after cancel: %+v, %v; want cancelled", j, err)
			}
			f.golden("workflow-cancelled", f.mustRun("workflow", f.ids["held"]))

			// Refused: the workflow has ended; unknown ids.
			_, stderr, err := f.run("workflow", "cancel", f.ids["chain"])
			if !errors.Is(err, jobs.ErrFinished) || jobscli.ExitCode(err) != 1 || stderr != "" ||
				err.Error() != "workflow "+f.ids["chain"]+" is succeeded: cancel takes a running workflow" {
				t.Errorf("cancel of a finished workflow = %v (exit %d); want ErrFinished naming the state, exit 1", err, jobscli.ExitCode(err))
			}
			for _, args := range [][]string{{"workflow", "00000000000000000000"}, {"workflow", "cancel", "nope"}} {
				_, _, err := f.run(args...)
				if !errors.Is(err, jobs.ErrNotFound) || jobscli.ExitCode(err) != 1 || !strings.Contains(err.Error(), `no workflow with id "`+args[len(args)-1]+`"`) {
					t.Errorf("%q = %v (exit %d); want ErrNotFound naming the id, exit 1", args, err, jobscli.ExitCode(err))
				}
			}

			type line struct {
				Level, Msg, Action, Actor, Workflow, Error string
				Count                                      int
			}
			var lines []line
			for _, raw := range jsonLines(t, f.logs.String()) {
				var l struct {
					Level    string `json:"level"`
					Msg      string `json:"msg"`
					Action   string `json:"action"`
					Actor    string `json:"actor"`
					Workflow string `json:"workflow"`
					Error    string `json:"error"`
					Count    int    `json:"count"`
				}
				decode(t, raw, &l)
				lines = append(lines, line(l))
			}
			want := []line{
				{Level: "INFO", Msg: "jobs: cancel_workflow", Action: "cancel_workflow", Actor: actor, Workflow: f.ids["held"], Count: 3},
				{Level: "WARN", Msg: "jobs: cancel_workflow failed", Action: "cancel_workflow", Actor: actor, Workflow: f.ids["chain"],
					Error: "workflow " + f.ids["chain"] + " is succeeded: cancel takes a running workflow"},
			}
			if len(lines) != len(want) {
				t.Fatalf("audit log has %d lines; want %d:\n%s", len(lines), len(want), f.logs.String())
			}
			for i := range want {
				if lines[i] != want[i] {
					t.Errorf("audit line %d = %+v; want %+v", i, lines[i], want[i])
				}
			}
		})
	}
}

// TestWorkflowJSONCancel decodes the cancel's --json result.
func TestWorkflowJSONCancel(t *testing.T) {
	t.Parallel()
	b := jobs.NewMemoryBackend()
	c, _ := jobs.NewClient(b, jobs.ClientConfig{})
	wi, err := c.EnqueueWorkflow(t.Context(), jobs.Chain(step("a"), step("b"))) // no runner: running
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, insp: jobs.NewInspector(b), logs: new(testenv.Buffer)}
	var res jobscli.Result
	decode(t, f.mustRun("workflow", "cancel", wi.ID, "--json"), &res)
	if want := (jobscli.Result{Action: "cancel_workflow", Workflow: wi.ID, Count: 2, Actor: actor}); res != want {
		t.Errorf("workflow cancel --json = %+v; want %+v", res, want)
	}
}

func TestWorkflowUsage(t *testing.T) {
	t.Parallel()
	f := &fixture{t: t, insp: jobs.NewInspector(jobs.NewMemoryBackend()), logs: new(testenv.Buffer)}
	for _, tt := range []struct {
		args    []string
		message string
	}{
		{[]string{"workflow"}, "workflow: missing argument: a workflow id"},
		{[]string{"workflow", "cancel"}, "workflow: missing argument: the id of the workflow to cancel"},
		{[]string{"workflow", "a", "b"}, `workflow: unexpected argument "b"`},
		{[]string{"workflow", "cancel", "a", "b"}, `workflow: unexpected argument "b"`},
	} {
		_, stderr, err := f.run(tt.args...)
		var ue *jobscli.UsageError
		if !errors.As(err, &ue) || err.Error() != tt.message || !strings.Contains(stderr, "usage: app jobs workflow ID\n       app jobs workflow cancel ID") {
			t.Errorf("Run(%q) = %v, stderr %q; want a usage error %q", tt.args, err, stderr, tt.message)
		}
	}
}
