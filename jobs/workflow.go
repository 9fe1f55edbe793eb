package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// A workflow is jobs with an order between them, enqueued in one call:
// [Chain] runs its steps one after another, [Group] runs them in parallel,
// [Chord] runs a callback once after every member of a group has finished.
// They nest: a chain of groups, a chord inside a chain. Each step is an
// ordinary job (its own queue, retries, timeout, retention) whose id is the
// workflow's id, a dot and the step's number; a step reads the outcome of
// the steps it waited for with [Job.Inputs].
//
// The workflow's own state (each step's state, result and error, and how
// many of its dependencies are still open) lives apart from the queues: on
// Redis in one hash under the hash tag {w:<id>}, so every transition is one
// atomic script in one slot, and steps may live on queues in other slots of
// a Redis Cluster. A runner records a step's outcome there before it
// acknowledges the step; the steps that outcome makes runnable are then
// enqueued with their fixed ids and the [JobID] guard, so a worker killed
// between the two writes loses nothing (the step runs again, its outcome is
// recorded once and the release is repeated, refused as a duplicate if it
// had happened), and a chord's callback is released by exactly one member,
// the one whose outcome brought the count of open members to zero.
//
// When a step fails for good (its retries spent, or cancelled), the steps
// that depend on it are skipped, transitively, except a chord callback built
// with [Partial], which runs once every member has finished and sees which
// failed; the workflow's [OnFailure] step, if any, runs once with the
// failed steps as its inputs. The workflow ends when every step has ended;
// its state is kept for its [WorkflowRetention] after that.

// Node is a part of a workflow: a [Step], [Chain], [Group] or [Chord].
type Node interface {
	// add appends the node's steps to b, each depending on deps (partial:
	// the entry steps run even when a dependency failed), and returns the
	// steps that end the node.
	add(b *wfBuilder, deps []int, partial bool) ([]int, error)
}

// Step is one job of a workflow: args and its enqueue options (the kind's
// [KindDefaults] apply first, as with [Client.Enqueue]). A step that waits
// for others may use [Delay] (counted from the moment it becomes runnable)
// but not [ProcessAt], [Unique] or [JobID]: the workflow names its jobs.
func Step(args Args, opts ...Option) Node { return &stepNode{args: args, opts: opts} }

// Chain runs nodes one after another: each starts when the one before it
// has succeeded, and its entry steps' [Job.Inputs] are the steps that ended
// the one before (one for a step, every member for a group).
func Chain(nodes ...Node) Node { return &chainNode{nodes: nodes} }

// Group runs nodes in parallel.
func Group(nodes ...Node) Node { return &groupNode{nodes: nodes} }

// Chord runs callback once after every step that ends group has finished;
// the callback's [Job.Inputs] are their outcomes, in order. By default it
// runs only if they all succeeded; with [Partial] it runs anyway and its
// inputs tell which failed.
func Chord(group Node, callback Node, opts ...ChordOption) Node {
	c := &chordNode{group: group, callback: callback}
	for _, o := range opts {
		if o != nil {
			o(c)
		}
	}
	return c
}

// ChordOption configures a [Chord].
type ChordOption func(*chordNode)

// Partial lets a chord's callback run when some members failed for good;
// [Job.Inputs] reports each member's state and error.
func Partial() ChordOption { return func(c *chordNode) { c.partial = true } }

type stepNode struct {
	args Args
	opts []Option
}

type chainNode struct{ nodes []Node }

type groupNode struct{ nodes []Node }

type chordNode struct {
	group, callback Node
	partial         bool
}

func (n *stepNode) add(b *wfBuilder, deps []int, partial bool) ([]int, error) {
	if len(b.steps) >= MaxWorkflowSteps {
		return nil, fmt.Errorf("more than %d steps", MaxWorkflowSteps)
	}
	if n.args == nil {
		return nil, errors.New("a step with nil args")
	}
	b.steps = append(b.steps, wfStep{args: n.args, opts: n.opts, deps: deps, partial: partial})
	return []int{len(b.steps) - 1}, nil
}

func (n *chainNode) add(b *wfBuilder, deps []int, partial bool) ([]int, error) {
	if len(n.nodes) == 0 {
		return nil, errors.New("an empty chain")
	}
	cur := deps
	for i, c := range n.nodes {
		if c == nil {
			return nil, errors.New("a nil node in a chain")
		}
		var err error
		if cur, err = c.add(b, cur, partial && i == 0); err != nil {
			return nil, err
		}
	}
	return cur, nil
}

func (n *groupNode) add(b *wfBuilder, deps []int, partial bool) ([]int, error) {
	if len(n.nodes) == 0 {
		return nil, errors.New("an empty group")
	}
	var out []int
	for _, c := range n.nodes {
		if c == nil {
			return nil, errors.New("a nil node in a group")
		}
		ends, err := c.add(b, deps, partial)
		if err != nil {
			return nil, err
		}
		out = append(out, ends...)
	}
	return out, nil
}

func (n *chordNode) add(b *wfBuilder, deps []int, partial bool) ([]int, error) {
	if n.group == nil || n.callback == nil {
		return nil, errors.New("a chord without a group or a callback")
	}
	ends, err := n.group.add(b, deps, partial)
	if err != nil {
		return nil, err
	}
	return n.callback.add(b, ends, n.partial)
}

// MaxWorkflowSteps bounds the steps of one workflow.
const MaxWorkflowSteps = 10000

type wfBuilder struct{ steps []wfStep }

type wfStep struct {
	args    Args
	opts    []Option
	deps    []int
	partial bool
	onFail  bool
	req     *enqueueReq
	delay   time.Duration
}

// WorkflowOption configures a workflow as a whole.
type WorkflowOption func(*workflowOptions)

type workflowOptions struct {
	onFailure Node
	owner     string
	retention time.Duration
}

// OnFailure adds a step that runs once if any step of the workflow fails
// for good (or is cancelled on its own); its [Job.Inputs] are the failed
// steps. It must be a single [Step].
func OnFailure(step Node) WorkflowOption { return func(o *workflowOptions) { o.onFailure = step } }

// WorkflowOwner records who started the workflow, on the workflow and on
// each step that sets no [Owner] of its own.
func WorkflowOwner(owner string) WorkflowOption { return func(o *workflowOptions) { o.owner = owner } }

// WorkflowRetention sets how long the workflow's state stays readable after
// its last step ended (default the client's Retention). Each step keeps its
// own retention as a job.
func WorkflowRetention(d time.Duration) WorkflowOption {
	return func(o *workflowOptions) { o.retention = d }
}

// WorkflowState is a workflow's place in its life cycle.
type WorkflowState string

// The states of a workflow.
const (
	WorkflowRunning   WorkflowState = "running"   // some step has not ended
	WorkflowSucceeded WorkflowState = "succeeded" // every step succeeded
	WorkflowFailed    WorkflowState = "failed"    // a step failed for good; the others ended
	WorkflowCancelled WorkflowState = "cancelled" // cancelled through the Inspector
)

// StepState is a workflow step's place in its life cycle.
type StepState string

// The states of a step. A released step is a job in its queue: pending,
// running or retrying (see [Inspector.Job] by its JobID).
const (
	StepWaiting   StepState = "waiting"   // waits for the steps it depends on
	StepReleased  StepState = "released"  // enqueued: pending, active or retrying
	StepSucceeded StepState = "succeeded" // its job succeeded
	StepFailed    StepState = "failed"    // its job failed for good
	StepCancelled StepState = "cancelled" // cancelled, alone or with its workflow
	StepSkipped   StepState = "skipped"   // never ran: a step it depends on failed, or the workflow ended without needing it
	// StepDuplicate is a first step refused at enqueue by its [Unique] key
	// (another job holds it): it counts as done for the steps after it.
	StepDuplicate StepState = "duplicate"
)

func stepState(c string) StepState {
	switch c {
	case "w":
		return StepWaiting
	case "r":
		return StepReleased
	case "s":
		return StepSucceeded
	case "f":
		return StepFailed
	case "c":
		return StepCancelled
	case "k":
		return StepSkipped
	case "u":
		return StepDuplicate
	}
	return StepState(c)
}

// StepResult is the outcome of a step as another step sees it through
// [Job.Inputs].
type StepResult struct {
	Step   int             `json:"step"`
	JobID  string          `json:"job_id"`
	Kind   string          `json:"kind"`
	State  StepState       `json:"state"`
	Result json.RawMessage `json:"result,omitempty"` // what the step's job set with SetResult
	Error  string          `json:"error,omitempty"`  // the last error of a failed or cancelled step
}

// Decode unmarshals the step's result into v.
func (r StepResult) Decode(v any) error {
	if len(r.Result) == 0 {
		return fmt.Errorf("jobs: step %d (%s) has no result", r.Step, r.State)
	}
	return json.Unmarshal(r.Result, v)
}

// WorkflowInfo describes a workflow as stored.
type WorkflowInfo struct {
	ID         string        `json:"id"`
	State      WorkflowState `json:"state"`
	Owner      string        `json:"-"`
	CreatedAt  time.Time     `json:"created_at"`
	FinishedAt time.Time     `json:"finished_at,omitzero"`
	Steps      []StepInfo    `json:"steps"`
}

// StepInfo is one step of a [WorkflowInfo].
type StepInfo struct {
	Step      int             `json:"step"`
	JobID     string          `json:"job_id"`
	Kind      string          `json:"kind"`
	Queue     string          `json:"queue"`
	State     StepState       `json:"state"`
	DependsOn []int           `json:"depends_on,omitempty"`
	Partial   bool            `json:"partial,omitempty"`    // runs even if a dependency failed
	OnFailure bool            `json:"on_failure,omitempty"` // the workflow's OnFailure step
	Result    json.RawMessage `json:"result,omitempty"`
	Error     string          `json:"error,omitempty"`
}

// WorkflowEnqueuer is implemented by [*Client]: take it where code starts
// workflows, as [Enqueuer] for jobs.
type WorkflowEnqueuer interface {
	EnqueueWorkflow(ctx context.Context, root Node, opts ...WorkflowOption) (*WorkflowInfo, error)
}

var _ WorkflowEnqueuer = (*Client)(nil)

// EnqueueWorkflow stores the workflow root and enqueues the steps that wait
// for nothing. The returned info holds the workflow's id and each step's
// job id. It costs two round trips on Redis (the workflow's state, then the
// first steps, pipelined per queue).
//
// If the process dies between the two, the workflow is recorded but its
// first steps were never enqueued: EnqueueWorkflow has then returned no
// info, and the caller's retry makes a new workflow; the orphan is visible
// to [Inspector.Workflow] only by id and holds no job.
func (c *Client) EnqueueWorkflow(ctx context.Context, root Node, opts ...WorkflowOption) (*WorkflowInfo, error) {
	if root == nil {
		return nil, errors.New("jobs: enqueue workflow: nil root")
	}
	var o workflowOptions
	for _, f := range opts {
		if f != nil {
			f(&o)
		}
	}
	if o.retention <= 0 {
		o.retention = c.cfg.Retention
	}
	b, onFail, err := layout(root, o)
	if err != nil {
		return nil, fmt.Errorf("jobs: enqueue workflow: %w", err)
	}
	now := c.cfg.Now()
	w := &wfDef{id: newID(), owner: o.owner, created: now, retention: o.retention, onFail: onFail}
	for i := range b.steps {
		s := &b.steps[i]
		so := OptionsFor(s.args, s.opts...)
		waits := len(s.deps) > 0 || s.onFail
		switch {
		case so.ID != "":
			return nil, fmt.Errorf("jobs: enqueue workflow: step %d (%s): JobID is the workflow's to set", i, s.args.Kind())
		case waits && (so.UniqueKey != "" || !so.ProcessAt.IsZero()):
			return nil, fmt.Errorf("jobs: enqueue workflow: step %d (%s) waits for others: Unique and ProcessAt are not allowed", i, s.args.Kind())
		}
		sopts := append(append([]Option{}, s.opts...), stepJobID(stepID(w.id, i)))
		if so.Owner == "" && o.owner != "" {
			sopts = append(sopts, Owner(o.owner))
		}
		if waits {
			s.delay = so.Delay
			sopts = append(sopts, Delay(0))
		}
		r, err := c.request(ctx, s.args, now, sopts)
		if err != nil {
			return nil, fmt.Errorf("jobs: enqueue workflow: step %d: %w", i, err)
		}
		s.req = r
	}
	w.steps = b.steps
	if err := c.b.createWorkflow(ctx, w); err != nil {
		return nil, fmt.Errorf("jobs: enqueue workflow: %w", err)
	}
	var roots []*enqueueReq
	var rootSteps []int
	for i := range w.steps {
		if s := &w.steps[i]; len(s.deps) == 0 && !s.onFail {
			roots = append(roots, s.req)
			rootSteps = append(rootSteps, i)
		}
	}
	if err := c.b.enqueue(ctx, now, roots); err != nil {
		return nil, fmt.Errorf("jobs: enqueue workflow %s: %w", w.id, err)
	}
	info := w.info()
	for n, r := range roots {
		if !r.dup {
			continue
		}
		// Refused by its Unique key: never runs, counts as done.
		i := rootSteps[n]
		out := stepOutcome{state: 'u', value: "refused as a duplicate: its unique key is held"}
		if err := finishStep(ctx, c.b, w.id, i, out, now); err != nil {
			return nil, fmt.Errorf("jobs: enqueue workflow %s: %w", w.id, err)
		}
		info.Steps[i].State, info.Steps[i].Error = StepDuplicate, out.value
	}
	if o := c.cfg.Metrics; o != nil {
		for _, r := range roots {
			if !r.dup {
				o.Enqueued(r.queue, r.msg.Kind, 1)
			}
		}
	}
	return info, nil
}

// layout lays out root's steps, then the OnFailure step if any (its index,
// or -1).
func layout(root Node, o workflowOptions) (*wfBuilder, int, error) {
	b := &wfBuilder{}
	if _, err := root.add(b, nil, false); err != nil {
		return nil, 0, err
	}
	onFail := -1
	if o.onFailure != nil {
		s, ok := o.onFailure.(*stepNode)
		if !ok {
			return nil, 0, errors.New("OnFailure takes a single Step")
		}
		if _, err := s.add(b, nil, false); err != nil {
			return nil, 0, err
		}
		onFail = len(b.steps) - 1
		b.steps[onFail].onFail = true
	}
	return b, onFail, nil
}

// WorkflowStep is one step of a workflow as [Steps] lays it out.
type WorkflowStep struct {
	Args      Args
	Options   []Option // as given to Step
	DependsOn []int
	Partial   bool // runs even if a step it depends on failed
	OnFailure bool // the workflow's OnFailure step (last)
}

// Steps lays out the workflow root (with opts' OnFailure step last) as
// [Client.EnqueueWorkflow] numbers and links its steps (a [WorkflowOwner]
// added to the steps without an owner), storing nothing:
// for fakes such as package jobstest, and for tests of code that builds
// workflows. It returns the errors EnqueueWorkflow would for the shape.
func Steps(root Node, opts ...WorkflowOption) ([]WorkflowStep, error) {
	if root == nil {
		return nil, errors.New("jobs: workflow: nil root")
	}
	var o workflowOptions
	for _, f := range opts {
		if f != nil {
			f(&o)
		}
	}
	b, _, err := layout(root, o)
	if err != nil {
		return nil, fmt.Errorf("jobs: workflow: %w", err)
	}
	out := make([]WorkflowStep, len(b.steps))
	for i, s := range b.steps {
		so := s.opts
		if o.owner != "" && OptionsFor(s.args, s.opts...).Owner == "" {
			so = append(append([]Option{}, s.opts...), Owner(o.owner))
		}
		out[i] = WorkflowStep{Args: s.args, Options: so, DependsOn: s.deps, Partial: s.partial, OnFailure: s.onFail}
	}
	return out, nil
}

// wfDef is a workflow as EnqueueWorkflow builds it.
type wfDef struct {
	id        string
	owner     string
	created   time.Time
	retention time.Duration
	onFail    int
	steps     []wfStep
}

func (w *wfDef) info() *WorkflowInfo {
	wi := &WorkflowInfo{ID: w.id, State: WorkflowRunning, Owner: w.owner, CreatedAt: w.created}
	for i, s := range w.steps {
		st := StepWaiting
		if len(s.deps) == 0 && !s.onFail {
			st = StepReleased
		}
		wi.Steps = append(wi.Steps, StepInfo{Step: i, JobID: s.req.msg.ID, Kind: s.req.msg.Kind, Queue: s.req.queue,
			State: st, DependsOn: s.deps, Partial: s.partial, OnFailure: s.onFail})
	}
	return wi
}

// fields returns the workflow's state as the field/value pairs of its
// Redis hash (the memory backend keeps the same map). Per workflow: meta
// (created ms, retention ms, steps, on-failure step or -1, owner, separated
// by 0x1f), state, open (steps other than the on-failure one not ended yet),
// failed ("1" once a step failed); per step i: s<i> (state: w, r, s, f, c,
// k), n<i> (dependencies not ended), a<i> and d<i> (the steps it depends on
// and that depend on it, comma-separated), p<i> ("1": partial), k<i>
// (kind), m<i> (the release record: queue, delay ms, owner, message,
// separated by 0x1f) and, once ended, o<i> (result) or e<i> (error).
func (w *wfDef) fields() []any {
	deps := make([][]int, len(w.steps)) // dependents
	for i, s := range w.steps {
		for _, d := range s.deps {
			deps[d] = append(deps[d], i)
		}
	}
	open := len(w.steps)
	if w.onFail >= 0 {
		open--
	}
	f := make([]any, 0, 8+len(w.steps)*14)
	f = append(f, "meta", strings.Join([]string{strconv.FormatInt(w.created.UnixMilli(), 10),
		strconv.FormatInt(max(w.retention.Milliseconds(), 1), 10), strconv.Itoa(len(w.steps)),
		strconv.Itoa(w.onFail), strings.ReplaceAll(w.owner, sep, " ")}, sep),
		"state", string(WorkflowRunning), "open", open)
	for i, s := range w.steps {
		is := strconv.Itoa(i)
		st := "w"
		if len(s.deps) == 0 && !s.onFail {
			st = "r"
		}
		f = append(f, "s"+is, st, "n"+is, len(s.deps), "k"+is, s.req.msg.Kind,
			"m"+is, s.req.queue+sep+strconv.FormatInt(s.delay.Milliseconds(), 10)+sep+strings.ReplaceAll(s.req.owner, sep, " ")+sep+s.req.raw)
		if len(s.deps) > 0 {
			f = append(f, "a"+is, joinInts(s.deps))
		}
		if len(deps[i]) > 0 {
			f = append(f, "d"+is, joinInts(deps[i]))
		}
		if s.partial {
			f = append(f, "p"+is, "1")
		}
	}
	return f
}

func joinInts(v []int) string {
	var b strings.Builder
	for i, n := range v {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(n))
	}
	return b.String()
}

func splitInts(s string) []int {
	if s == "" {
		return nil
	}
	parts := strings.Split(s, ",")
	out := make([]int, 0, len(parts))
	for _, p := range parts {
		if n, err := strconv.Atoi(p); err == nil {
			out = append(out, n)
		}
	}
	return out
}

// stepID is the job id of step i of workflow wf.
func stepID(wf string, i int) string { return wf + "." + strconv.Itoa(i) }

// stepJobID sets a workflow step's job id (JobID refuses ids of that shape).
func stepJobID(id string) Option {
	return func(o *EnqueueOptions) { o.ID, o.wfStep = id, true }
}

// parseStepID reports whether id is a workflow step's job id (a 20
// character id the package made, a dot, a step number) and returns its
// parts. [JobID] refuses ids of this shape.
func parseStepID(id string) (wf string, step int, ok bool) {
	wf, n, found := strings.Cut(id, ".")
	if !found || len(wf) != 20 || n == "" || len(n) > 5 || (len(n) > 1 && n[0] == '0') {
		return "", 0, false
	}
	for i := 0; i < len(wf); i++ {
		if c := wf[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'v') {
			return "", 0, false
		}
	}
	for i := 0; i < len(n); i++ {
		if n[i] < '0' || n[i] > '9' {
			return "", 0, false
		}
	}
	step, _ = strconv.Atoi(n) // at most 5 digits
	return wf, step, true
}

// stepOutcome is what a step's attempt means for its workflow.
type stepOutcome struct {
	state byte   // 's' succeeded, 'f' failed for good, 'c' cancelled, 'u' refused as a duplicate
	value string // the result (s) or the error (f, c)
}

// release is a step that an outcome made runnable.
type release struct {
	step  int
	queue string
	delay time.Duration
	owner string
	raw   string
}

func parseRelease(step int, rec string) (release, bool) {
	f := strings.SplitN(rec, sep, 4)
	if len(f) != 4 {
		return release{}, false
	}
	ms, _ := strconv.ParseInt(f[1], 10, 64)
	return release{step: step, queue: f[0], delay: time.Duration(ms) * time.Millisecond, owner: f[2], raw: f[3]}, true
}

// enqueueReleased enqueues the steps an outcome released, with their fixed
// ids: a step already enqueued (a repeated release) is refused by the id
// guard and skipped.
func enqueueReleased(ctx context.Context, b Backend, rs []release, now time.Time) error {
	if len(rs) == 0 {
		return nil
	}
	reqs := make([]*enqueueReq, 0, len(rs))
	for _, r := range rs {
		req, err := releaseReq(r, now)
		if err != nil {
			return err
		}
		reqs = append(reqs, req)
	}
	return b.enqueue(ctx, now, reqs)
}

// releaseReq is the enqueue of a released step, enqueued now.
func releaseReq(r release, now time.Time) (*enqueueReq, error) {
	m, err := decodeMessage(r.raw)
	if err != nil {
		return nil, fmt.Errorf("jobs: workflow step %d: %w", r.step, err)
	}
	m.EnqueuedMs = now.UnixMilli()
	req := &enqueueReq{queue: r.queue, msg: m, raw: m.encode(), owner: r.owner, once: true}
	if r.delay > 0 {
		req.due = now.Add(r.delay)
	}
	return req, nil
}

// finishStep records a step's outcome in its workflow and enqueues the
// steps it released. A workflow gone (past its retention) is not an error.
func finishStep(ctx context.Context, b Backend, wf string, step int, out stepOutcome, now time.Time) error {
	rs, err := b.stepDone(ctx, wf, step, out, now)
	if err != nil {
		return err
	}
	return enqueueReleased(ctx, b, rs, now)
}

// Inputs returns the outcomes of the steps this workflow step waited for,
// in the order they were given (a chord's members, the step before in a
// chain); for the workflow's [OnFailure] step, the failed steps. It is nil
// for a job outside a workflow or a step that waited for nothing. One
// round trip to the backend.
func (j *Job[T]) Inputs(ctx context.Context) ([]StepResult, error) {
	wf, step, ok := parseStepID(j.ID)
	if !ok || j.rt == nil || j.rt.b == nil {
		return nil, nil
	}
	return j.rt.b.stepInputs(ctx, wf, step)
}

// Workflow returns the id of the workflow this job is a step of, or "".
func (j *Job[T]) Workflow() string {
	wf, _, _ := parseStepID(j.ID)
	return wf
}

// Workflow returns a workflow's state and its steps'. It returns
// [ErrNotFound] for an unknown id or a workflow past its retention.
func (i *Inspector) Workflow(ctx context.Context, id string) (*WorkflowInfo, error) {
	if len(id) != 20 {
		return nil, ErrNotFound
	}
	return i.b.workflow(ctx, id)
}

// CancelWorkflow cancels a running workflow: its waiting steps will never
// run, and its released steps are cancelled as jobs (pending ones never
// start, running ones see their context cancelled with [ErrCancelled]). A
// step released in the same instant may still run once; its outcome is
// recorded but releases nothing. It returns [ErrFinished] if the workflow
// had already ended.
func (i *Inspector) CancelWorkflow(ctx context.Context, id string) error {
	if len(id) != 20 {
		return ErrNotFound
	}
	rs, err := i.b.cancelWorkflow(ctx, id, i.now())
	if err != nil {
		return err
	}
	var errs []error
	for _, r := range rs {
		err := i.b.cancel(ctx, r.queue, stepID(id, r.step), i.now())
		if err != nil && !errors.Is(err, ErrNotFound) && !errors.Is(err, ErrFinished) {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("jobs: cancel workflow %s: %w", id, err)
	}
	return nil
}

// endStep tells a step's workflow that the Inspector ended the step's job
// (cancelled or deleted while pending), since no runner will.
func (i *Inspector) endStep(ctx context.Context, id, why string) error {
	wf, step, ok := parseStepID(id)
	if !ok {
		return nil
	}
	return finishStep(ctx, i.b, wf, step, stepOutcome{state: 'c', value: why}, i.now())
}
