package jobs_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"

	"testing"
	"time"

	"github.com/gantry-dev/gantry/jobs"
)

// wfArgs is the one kind of the workflow suite: Name labels the step, Fail
// makes it fail for good, Block makes it wait for its context.
type wfArgs struct {
	Name  string `json:"name"`
	Fail  bool   `json:"fail,omitempty"`
	Block bool   `json:"block,omitempty"`
}

func (wfArgs) Kind() string { return "wf" }

// wfRecorder runs wfArgs jobs: each records its run and the names of its
// inputs, and sets its name as its result.
type wfRecorder struct {
	mu     sync.Mutex
	order  []string
	runs   map[string]int
	inputs map[string][]jobs.StepResult
	causes map[string]error
}

func newWFRecorder() *wfRecorder {
	return &wfRecorder{runs: map[string]int{}, inputs: map[string][]jobs.StepResult{}, causes: map[string]error{}}
}

func (w *wfRecorder) Work(ctx context.Context, j *jobs.Job[wfArgs]) error {
	in, err := j.Inputs(ctx)
	if err != nil {
		return err
	}
	w.mu.Lock()
	w.order = append(w.order, j.Args.Name)
	w.runs[j.Args.Name]++
	w.inputs[j.Args.Name] = in
	w.mu.Unlock()
	if j.Args.Block {
		<-ctx.Done()
		w.mu.Lock()
		w.causes[j.Args.Name] = context.Cause(ctx)
		w.mu.Unlock()
		return ctx.Err()
	}
	if j.Args.Fail {
		return jobs.SkipRetry(errors.New(j.Args.Name + " failed"))
	}
	return j.SetResult(j.Args.Name)
}

// names returns the names the inputs of step name carried as results, or
// "!state" for an input without one.
func (w *wfRecorder) names(name string) []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []string
	for _, in := range w.inputs[name] {
		var s string
		if err := in.Decode(&s); err != nil {
			s = "!" + string(in.State)
		}
		out = append(out, s)
	}
	return out
}

func (w *wfRecorder) count(name string) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.runs[name]
}

func (w *wfRecorder) index(name string) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Index(w.order, name)
}

func wfStep(name string, opts ...jobs.Option) jobs.Node {
	return jobs.Step(wfArgs{Name: name}, opts...)
}

// wfEnv starts a runner with the recorder on queues default, a and b.
func wfEnv(t *testing.T, nb newBackendFunc, conc int) (*env, *wfRecorder) {
	e := newEnv(t, nb)
	rec := newWFRecorder()
	w := jobs.NewWorkers()
	jobs.AddWorker[wfArgs](w, rec)
	e.run(jobs.RunnerConfig{Workers: w, Concurrency: conc,
		Queues: map[string]jobs.QueueConfig{"default": {Priority: 1}, "a": {Priority: 1}, "b": {Priority: 1}}})
	return e, rec
}

func (e *env) waitWorkflow(id string, state jobs.WorkflowState, within time.Duration) *jobs.WorkflowInfo {
	e.t.Helper()
	var last *jobs.WorkflowInfo
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		wi, err := e.insp.Workflow(e.t.Context(), id)
		if err == nil {
			last = wi
			if wi.State == state {
				return wi
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	b, _ := json.Marshal(last)
	e.t.Fatalf("workflow %s: %s after %v; want %s", id, b, within, state)
	return nil
}

func stepStates(wi *jobs.WorkflowInfo) []jobs.StepState {
	out := make([]jobs.StepState, len(wi.Steps))
	for i, s := range wi.Steps {
		out[i] = s.State
	}
	return out
}

func runWorkflowSuite(t *testing.T, nb newBackendFunc) {
	t.Run("Chain", func(t *testing.T) { t.Parallel(); testWFChain(t, nb) })
	t.Run("ChordNested", func(t *testing.T) { t.Parallel(); testWFNested(t, nb) })
	t.Run("FailureSkipsAndOnFailure", func(t *testing.T) { t.Parallel(); testWFFailure(t, nb) })
	t.Run("ChordPartial", func(t *testing.T) { t.Parallel(); testWFPartial(t, nb) })
	t.Run("Cancel", func(t *testing.T) { t.Parallel(); testWFCancel(t, nb) })
	t.Run("CancelOneStep", func(t *testing.T) { t.Parallel(); testWFCancelStep(t, nb) })
	t.Run("ChordBurst", func(t *testing.T) { t.Parallel(); testWFChordBurst(t, nb) })
	t.Run("Retention", func(t *testing.T) { t.Parallel(); testWFRetention(t, nb) })
	t.Run("Invalid", func(t *testing.T) { t.Parallel(); testWFInvalid(t, nb) })
	t.Run("DuplicateFirstStep", func(t *testing.T) { t.Parallel(); testWFDuplicate(t, nb) })
}

// A first step refused by its Unique key (held by another job) never runs
// and counts as done: the steps after it run, the workflow ends.
func testWFDuplicate(t *testing.T, nb newBackendFunc) {
	e, rec := wfEnv(t, nb, 4)
	if _, err := e.c.Enqueue(t.Context(), noteArgs{}, jobs.Unique("once", time.Minute)); err != nil {
		t.Fatal(err)
	}
	wi, err := e.c.EnqueueWorkflow(t.Context(), jobs.Chord(jobs.Group(wfStep("d1", jobs.Unique("once", time.Minute)), wfStep("d2")), wfStep("dcb")))
	if err != nil {
		t.Fatal(err)
	}
	if wi.Steps[0].State != jobs.StepDuplicate {
		t.Errorf("step 0 at enqueue = %s; want duplicate", wi.Steps[0].State)
	}
	done := e.waitWorkflow(wi.ID, jobs.WorkflowSucceeded, 10*time.Second)
	if got := stepStates(done); !slices.Equal(got, []jobs.StepState{jobs.StepDuplicate, jobs.StepSucceeded, jobs.StepSucceeded}) {
		t.Errorf("states = %v", got)
	}
	if rec.count("d1") != 0 || rec.count("dcb") != 1 {
		t.Errorf("runs = %v", rec.runs)
	}
	rec.mu.Lock()
	in := rec.inputs["dcb"]
	rec.mu.Unlock()
	if len(in) != 2 || in[0].State != jobs.StepDuplicate || in[1].State != jobs.StepSucceeded {
		t.Errorf("callback inputs = %+v", in)
	}
}

// A chain across queues runs in order, each step reading the one before;
// the workflow, its steps and their jobs end succeeded.
func testWFChain(t *testing.T, nb newBackendFunc) {
	e, rec := wfEnv(t, nb, 4)
	wi, err := e.c.EnqueueWorkflow(t.Context(), jobs.Chain(wfStep("a"), wfStep("b", jobs.Queue("a")), wfStep("c", jobs.Queue("b"))))
	if err != nil {
		t.Fatal(err)
	}
	if got := stepStates(wi); !slices.Equal(got, []jobs.StepState{jobs.StepReleased, jobs.StepWaiting, jobs.StepWaiting}) {
		t.Errorf("states at enqueue = %v", got)
	}
	done := e.waitWorkflow(wi.ID, jobs.WorkflowSucceeded, 10*time.Second)
	if rec.index("a") != 0 || rec.index("b") != 1 || rec.index("c") != 2 {
		t.Errorf("order = %v; want a, b, c", rec.order)
	}
	if got := rec.names("b"); !slices.Equal(got, []string{"a"}) {
		t.Errorf("b's inputs = %v; want [a]", got)
	}
	if got := rec.names("c"); !slices.Equal(got, []string{"b"}) {
		t.Errorf("c's inputs = %v; want [b]", got)
	}
	if len(rec.names("a")) != 0 {
		t.Errorf("a's inputs = %v; want none", rec.names("a"))
	}
	for i, s := range done.Steps {
		if s.State != jobs.StepSucceeded || s.JobID != fmt.Sprintf("%s.%d", wi.ID, i) || string(s.Result) == "" {
			t.Errorf("step %d = %+v", i, s)
		}
		if j, err := e.insp.Job(t.Context(), s.JobID); err != nil || j.State != jobs.StateSucceeded || j.Queue != s.Queue {
			t.Errorf("job of step %d = %+v, %v", i, j, err)
		}
	}
	if done.Steps[1].Queue != "a" || done.Steps[2].Queue != "b" || done.FinishedAt.IsZero() {
		t.Errorf("workflow = %+v", done)
	}
}

// Chain(x, Group(y, Chord(Group(c1, c2, c3), cb)), z): z waits for y and cb,
// cb for c1..c3, and inputs come in the order given.
func testWFNested(t *testing.T, nb newBackendFunc) {
	e, rec := wfEnv(t, nb, 8)
	root := jobs.Chain(wfStep("x"),
		jobs.Group(wfStep("y"), jobs.Chord(jobs.Group(wfStep("c1"), wfStep("c2", jobs.Queue("a")), wfStep("c3")), wfStep("cb"))),
		wfStep("z"))
	wi, err := e.c.EnqueueWorkflow(t.Context(), root)
	if err != nil {
		t.Fatal(err)
	}
	e.waitWorkflow(wi.ID, jobs.WorkflowSucceeded, 10*time.Second)
	if got := rec.names("cb"); !slices.Equal(got, []string{"c1", "c2", "c3"}) {
		t.Errorf("cb's inputs = %v", got)
	}
	if got := rec.names("z"); !slices.Equal(got, []string{"y", "cb"}) {
		t.Errorf("z's inputs = %v", got)
	}
	for _, n := range []string{"y", "c1", "c2", "c3"} {
		if got := rec.names(n); !slices.Equal(got, []string{"x"}) {
			t.Errorf("%s's inputs = %v; want [x]", n, got)
		}
		if rec.index(n) < rec.index("x") || rec.index(n) > rec.index("z") {
			t.Errorf("order %v: %s not between x and z", rec.order, n)
		}
	}
	if rec.index("cb") < rec.index("c3") || rec.index("cb") < rec.index("c1") || rec.count("cb") != 1 {
		t.Errorf("order %v, cb runs %d", rec.order, rec.count("cb"))
	}
}

// A step failing for good skips what depends on it (transitively), the
// others still run, and the OnFailure step runs once with the failure.
func testWFFailure(t *testing.T, nb newBackendFunc) {
	e, rec := wfEnv(t, nb, 4)
	root := jobs.Group(
		jobs.Chain(wfStep("a"), jobs.Step(wfArgs{Name: "b", Fail: true}), wfStep("c"), wfStep("d")),
		wfStep("other"))
	wi, err := e.c.EnqueueWorkflow(t.Context(), root, jobs.OnFailure(wfStep("fix")))
	if err != nil {
		t.Fatal(err)
	}
	done := e.waitWorkflow(wi.ID, jobs.WorkflowFailed, 10*time.Second)
	want := []jobs.StepState{jobs.StepSucceeded, jobs.StepFailed, jobs.StepSkipped, jobs.StepSkipped, jobs.StepSucceeded, jobs.StepSucceeded}
	if got := stepStates(done); !slices.Equal(got, want) {
		t.Errorf("states = %v; want %v", got, want)
	}
	if rec.count("c") != 0 || rec.count("d") != 0 || rec.count("fix") != 1 || rec.count("other") != 1 {
		t.Errorf("runs = %v", rec.runs)
	}
	rec.mu.Lock()
	in := rec.inputs["fix"]
	rec.mu.Unlock()
	if len(in) != 1 || in[0].Step != 1 || in[0].State != jobs.StepFailed || !contains(in[0].Error, "b failed") {
		t.Errorf("fix's inputs = %+v; want step 1 failed with its error", in)
	}
	if !done.Steps[5].OnFailure || done.Steps[1].Error == "" {
		t.Errorf("steps = %+v", done.Steps)
	}
	// Without a failure the OnFailure step is skipped.
	wi2, err := e.c.EnqueueWorkflow(t.Context(), wfStep("fine"), jobs.OnFailure(wfStep("unused")))
	if err != nil {
		t.Fatal(err)
	}
	ok := e.waitWorkflow(wi2.ID, jobs.WorkflowSucceeded, 10*time.Second)
	if got := stepStates(ok); !slices.Equal(got, []jobs.StepState{jobs.StepSucceeded, jobs.StepSkipped}) || rec.count("unused") != 0 {
		t.Errorf("states = %v, unused runs %d", got, rec.count("unused"))
	}
}

// A chord whose member fails: its callback is skipped, unless Partial,
// where it runs once and sees the failure among its inputs.
func testWFPartial(t *testing.T, nb newBackendFunc) {
	e, rec := wfEnv(t, nb, 4)
	members := func(p string) jobs.Node {
		return jobs.Group(wfStep(p+"1"), jobs.Step(wfArgs{Name: p + "2", Fail: true}), wfStep(p+"3"))
	}
	strict, err := e.c.EnqueueWorkflow(t.Context(), jobs.Chord(members("s"), wfStep("scb")))
	if err != nil {
		t.Fatal(err)
	}
	partial, err := e.c.EnqueueWorkflow(t.Context(), jobs.Chord(members("p"), wfStep("pcb"), jobs.Partial()))
	if err != nil {
		t.Fatal(err)
	}
	s := e.waitWorkflow(strict.ID, jobs.WorkflowFailed, 10*time.Second)
	p := e.waitWorkflow(partial.ID, jobs.WorkflowFailed, 10*time.Second)
	if s.Steps[3].State != jobs.StepSkipped || rec.count("scb") != 0 {
		t.Errorf("strict callback: %+v, runs %d", s.Steps[3], rec.count("scb"))
	}
	if p.Steps[3].State != jobs.StepSucceeded || rec.count("pcb") != 1 || !p.Steps[3].Partial {
		t.Errorf("partial callback: %+v, runs %d", p.Steps[3], rec.count("pcb"))
	}
	if got := rec.names("pcb"); !slices.Equal(got, []string{"p1", "!failed", "p3"}) {
		t.Errorf("pcb's inputs = %v", got)
	}
}

// Cancelling a workflow cancels its running step's context, skips the
// rest, and a second cancel is refused.
func testWFCancel(t *testing.T, nb newBackendFunc) {
	e, rec := wfEnv(t, nb, 4)
	wi, err := e.c.EnqueueWorkflow(t.Context(), jobs.Chain(jobs.Step(wfArgs{Name: "long", Block: true}), wfStep("next")))
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the first step to run", 5*time.Second, func() bool { return rec.count("long") == 1 })
	if err := e.insp.CancelWorkflow(t.Context(), wi.ID); err != nil {
		t.Fatal(err)
	}
	done := e.waitWorkflow(wi.ID, jobs.WorkflowCancelled, 5*time.Second)
	if got := stepStates(done); !slices.Equal(got, []jobs.StepState{jobs.StepCancelled, jobs.StepSkipped}) {
		t.Errorf("states = %v", got)
	}
	e.waitState(wi.Steps[0].JobID, jobs.StateCancelled, 5*time.Second)
	var cause error
	waitFor(t, "the running step to see its context cancelled", 5*time.Second, func() bool {
		rec.mu.Lock()
		defer rec.mu.Unlock()
		cause = rec.causes["long"]
		return cause != nil
	})
	if !errors.Is(cause, jobs.ErrCancelled) {
		t.Errorf("the running step's cause = %v; want ErrCancelled", cause)
	}
	time.Sleep(100 * time.Millisecond)
	if rec.count("next") != 0 {
		t.Errorf("next ran %d times after the cancel", rec.count("next"))
	}
	if err := e.insp.CancelWorkflow(t.Context(), wi.ID); !errors.Is(err, jobs.ErrFinished) {
		t.Errorf("second cancel = %v; want ErrFinished", err)
	}
	if err := e.insp.CancelWorkflow(t.Context(), "00000000000000000000"); !errors.Is(err, jobs.ErrNotFound) {
		t.Errorf("cancel of an unknown workflow = %v; want ErrNotFound", err)
	}
}

// A pending step cancelled on its own through the Inspector ends its
// workflow's dependents (no runner would report it).
func testWFCancelStep(t *testing.T, nb newBackendFunc) {
	e := newEnv(t, nb) // no runner: the first step stays pending
	wi, err := e.c.EnqueueWorkflow(t.Context(), jobs.Chain(wfStep("p"), wfStep("q")))
	if err != nil {
		t.Fatal(err)
	}
	if err := e.insp.Cancel(t.Context(), wi.Steps[0].JobID); err != nil {
		t.Fatal(err)
	}
	done := e.waitWorkflow(wi.ID, jobs.WorkflowFailed, 5*time.Second)
	if got := stepStates(done); !slices.Equal(got, []jobs.StepState{jobs.StepCancelled, jobs.StepSkipped}) {
		t.Errorf("states = %v", got)
	}
}

// 300 members finishing at once on 50 workers release the callback once.
func testWFChordBurst(t *testing.T, nb newBackendFunc) {
	e, rec := wfEnv(t, nb, 50)
	var ms []jobs.Node
	for i := range 300 {
		ms = append(ms, wfStep(fmt.Sprintf("m%d", i)))
	}
	wi, err := e.c.EnqueueWorkflow(t.Context(), jobs.Chord(jobs.Group(ms...), wfStep("sum")))
	if err != nil {
		t.Fatal(err)
	}
	e.waitWorkflow(wi.ID, jobs.WorkflowSucceeded, 30*time.Second)
	time.Sleep(100 * time.Millisecond)
	if n := rec.count("sum"); n != 1 {
		t.Errorf("callback ran %d times; want 1", n)
	}
	if got := rec.names("sum"); len(got) != 300 || got[0] != "m0" || got[299] != "m299" {
		t.Errorf("callback's inputs: %d, first %v", len(got), got[:min(3, len(got))])
	}
}

// The workflow's state goes after its retention.
func testWFRetention(t *testing.T, nb newBackendFunc) {
	e, _ := wfEnv(t, nb, 2)
	wi, err := e.c.EnqueueWorkflow(t.Context(), wfStep("r"), jobs.WorkflowRetention(300*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	e.waitWorkflow(wi.ID, jobs.WorkflowSucceeded, 5*time.Second)
	waitFor(t, "the workflow to expire", 5*time.Second, func() bool {
		_, err := e.insp.Workflow(t.Context(), wi.ID)
		return errors.Is(err, jobs.ErrNotFound)
	})
}

func testWFInvalid(t *testing.T, nb newBackendFunc) {
	e := newEnv(t, nb)
	for _, tt := range []struct {
		name string
		root jobs.Node
		opts []jobs.WorkflowOption
	}{
		{"nil", nil, nil},
		{"empty chain", jobs.Chain(), nil},
		{"empty group", jobs.Group(), nil},
		{"nil args", jobs.Step(nil), nil},
		{"nil in chain", jobs.Chain(wfStep("a"), nil), nil},
		{"chord without callback", jobs.Chord(jobs.Group(wfStep("a")), nil), nil},
		{"job id", jobs.Step(wfArgs{}, jobs.JobID("mine")), nil},
		{"unique on a waiting step", jobs.Chain(wfStep("a"), wfStep("b", jobs.Unique("k", time.Minute))), nil},
		{"process at on a waiting step", jobs.Chain(wfStep("a"), wfStep("b", jobs.ProcessAt(time.Now().Add(time.Hour)))), nil},
		{"on failure not a step", wfStep("a"), []jobs.WorkflowOption{jobs.OnFailure(jobs.Chain(wfStep("x")))}},
	} {
		if _, err := e.c.EnqueueWorkflow(t.Context(), tt.root, tt.opts...); err == nil {
			t.Errorf("%s: EnqueueWorkflow = nil error", tt.name)
		}
	}
	if s, _ := e.insp.Sizes(t.Context(), "default"); s.Pending != 0 {
		t.Errorf("pending = %d after refused workflows; want 0", s.Pending)
	}
	// A JobID shaped like a step's is refused outside workflows.
	if _, err := e.c.Enqueue(t.Context(), noteArgs{}, jobs.JobID("0123456789abcdefghij.1")); err == nil {
		t.Error("Enqueue with a step-shaped JobID = nil error")
	}
}
