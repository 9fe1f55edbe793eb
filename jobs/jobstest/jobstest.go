// Package jobstest helps test code that enqueues jobs and the workers that
// run them, without Redis.
//
// Application code should take a [jobs.Enqueuer]; tests pass a [*Client]
// from this package, then assert what was enqueued with [RequireEnqueued]
// and run the recorded jobs through the real workers with [Client.Work]:
//
//	fake := jobstest.NewClient()
//	handler := NewSignupHandler(fake) // takes a jobs.Enqueuer
//	// ... exercise the handler ...
//	email := jobstest.RequireEnqueued[WelcomeEmail](t, fake, jobs.Queue("email"))
//	if email.UserID != 42 { ... }
//	if err := fake.Work(t.Context(), workers); err != nil { ... }
package jobstest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/jobs"
)

// Job is one recorded enqueue.
type Job struct {
	Args    jobs.Args
	Options jobs.EnqueueOptions // as given, with Queue resolved
	Info    *jobs.JobInfo
	// Workflow is the id of the workflow the job is a step of
	// ([Client.EnqueueWorkflow]), "" for a plain job; Step its number.
	Workflow string
	Step     int
}

// Client is a fake [jobs.Enqueuer] that records jobs in memory. It honours
// [jobs.Unique] (returning [jobs.ErrDuplicate]) and is safe for concurrent
// use. The zero value is not usable: call [NewClient].
type Client struct {
	// Routes and DefaultQueue resolve queues as jobs.ClientConfig does.
	Routes       map[string]string
	DefaultQueue string // default "default"
	// Err, if set, is returned by every Enqueue call (to test error paths).
	Err error

	mu     sync.Mutex
	jobs   []Job
	unique map[string]time.Time
	seq    int
}

var _ jobs.Enqueuer = (*Client)(nil)

// NewClient returns an empty fake client.
func NewClient() *Client { return &Client{unique: map[string]time.Time{}} }

// Enqueue records args.
func (c *Client) Enqueue(_ context.Context, args jobs.Args, opts ...jobs.Option) (*jobs.JobInfo, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.enqueue(args, opts)
}

func (c *Client) enqueue(args jobs.Args, opts []jobs.Option) (*jobs.JobInfo, error) {
	if c.Err != nil {
		return nil, c.Err
	}
	if args == nil || args.Kind() == "" {
		return nil, errors.New("jobstest: args without a kind")
	}
	payload, err := json.Marshal(args)
	if err != nil {
		return nil, fmt.Errorf("jobstest: marshal %s: %w", args.Kind(), err)
	}
	o := jobs.OptionsFor(args, opts...)
	if o.Queue == "" {
		o.Queue = c.Routes[args.Kind()]
	}
	if o.Queue == "" {
		o.Queue = c.DefaultQueue
	}
	if o.Queue == "" {
		o.Queue = "default"
	}
	now := time.Now()
	if o.UniqueKey != "" {
		k := o.Queue + "\x00" + o.UniqueKey
		if until, ok := c.unique[k]; ok && until.After(now) {
			return nil, fmt.Errorf("jobstest: enqueue %s: %w", args.Kind(), jobs.ErrDuplicate)
		}
		c.unique[k] = now.Add(o.UniqueTTL)
	}
	c.seq++
	info := &jobs.JobInfo{ID: fmt.Sprintf("fake-%d", c.seq), Kind: args.Kind(), Queue: o.Queue, State: jobs.StatePending,
		MaxRetry: o.MaxRetry, Payload: payload, Owner: o.Owner, EnqueuedAt: now}
	switch {
	case !o.ProcessAt.IsZero():
		info.ProcessAt, info.State = o.ProcessAt, jobs.StateScheduled
	case o.Delay > 0:
		info.ProcessAt, info.State = now.Add(o.Delay), jobs.StateScheduled
	}
	c.jobs = append(c.jobs, Job{Args: args, Options: o, Info: info})
	return info, nil
}

// EnqueueMany records each of args; entries refused by a unique key are nil.
func (c *Client) EnqueueMany(_ context.Context, args []jobs.Args, opts ...jobs.Option) ([]*jobs.JobInfo, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]*jobs.JobInfo, len(args))
	for i, a := range args {
		info, err := c.enqueue(a, opts)
		if err != nil && !errors.Is(err, jobs.ErrDuplicate) {
			return nil, err
		}
		out[i] = info
	}
	return out, nil
}

var _ jobs.WorkflowEnqueuer = (*Client)(nil)

// EnqueueWorkflow records every step of the workflow as a job, in step
// order (waiting steps too: the fake runs nothing by itself), with job ids
// "<workflow id>.<step>" and the workflow's owner on steps without their
// own; Job.Workflow and Job.Step tell which. The returned info lists the
// steps as EnqueueWorkflow's does. [Client.Work] runs them in step order;
// Job.Inputs is nil there (no backend keeps outcomes).
func (c *Client) EnqueueWorkflow(_ context.Context, root jobs.Node, opts ...jobs.WorkflowOption) (*jobs.WorkflowInfo, error) {
	steps, err := jobs.Steps(root, opts...)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.Err != nil {
		return nil, c.Err
	}
	c.seq++
	wf := &jobs.WorkflowInfo{ID: fmt.Sprintf("fakewf%014d", c.seq), State: jobs.WorkflowRunning, CreatedAt: time.Now()}
	for i, s := range steps {
		info, err := c.enqueue(s.Args, s.Options)
		if err != nil {
			return nil, fmt.Errorf("jobstest: workflow step %d: %w", i, err)
		}
		info.ID = fmt.Sprintf("%s.%d", wf.ID, i)
		c.jobs[len(c.jobs)-1].Workflow, c.jobs[len(c.jobs)-1].Step = wf.ID, i
		st := jobs.StepWaiting
		if len(s.DependsOn) == 0 && !s.OnFailure {
			st = jobs.StepReleased
		}
		wf.Steps = append(wf.Steps, jobs.StepInfo{Step: i, JobID: info.ID, Kind: info.Kind, Queue: info.Queue, State: st,
			DependsOn: s.DependsOn, Partial: s.Partial, OnFailure: s.OnFailure})
	}
	return wf, nil
}

// Jobs returns the recorded jobs in enqueue order.
func (c *Client) Jobs() []Job {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Job(nil), c.jobs...)
}

// Reset forgets every recorded job and unique key.
func (c *Client) Reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.jobs, c.unique = nil, map[string]time.Time{}
}

// Work runs the recorded jobs, in order, through the workers registered in
// ws, synchronously and after a JSON round trip as in production, then
// forgets them. Jobs enqueued by those workers run too (up to 10,000 jobs).
// It returns the workers' errors joined, each prefixed with the job's kind.
func (c *Client) Work(ctx context.Context, ws *jobs.Workers) error {
	var errs []error
	for n := 0; n < 10000; n++ {
		c.mu.Lock()
		if len(c.jobs) == 0 {
			c.mu.Unlock()
			return errors.Join(errs...)
		}
		j := c.jobs[0]
		c.jobs = c.jobs[1:]
		c.mu.Unlock()
		if err := ws.Work(ctx, j.Args); err != nil {
			errs = append(errs, fmt.Errorf("%s %s: %w", j.Info.Kind, j.Info.ID, err))
		}
	}
	return errors.Join(append(errs, errors.New("jobstest: more than 10000 jobs; do workers enqueue forever?"))...)
}

// RequireEnqueued fails tb unless a job of T's kind was enqueued whose
// options match want (only the fields want sets are compared: Queue,
// MaxRetry, Timeout, Delay, ProcessAt, UniqueKey, Retention, Owner), and
// returns the first such job's args.
func RequireEnqueued[T jobs.Args](tb testing.TB, c *Client, want ...jobs.Option) T {
	tb.Helper()
	var zero T
	w := jobs.ResolveOptions(want...)
	recorded := c.Jobs()
	for _, j := range recorded {
		if j.Args.Kind() != zero.Kind() || !matches(j.Options, w) {
			continue
		}
		if v, ok := j.Args.(T); ok {
			return v
		}
		if p, ok := j.Args.(interface{ Kind() string }); ok { // *T enqueued for a T
			b, _ := json.Marshal(p)
			var v T
			if json.Unmarshal(b, &v) == nil {
				return v
			}
		}
	}
	tb.Fatalf("jobstest: no %s job enqueued with %s; recorded: %s", zero.Kind(), describe(w), list(recorded))
	return zero
}

// RequireNotEnqueued fails tb if a job of T's kind was enqueued.
func RequireNotEnqueued[T jobs.Args](tb testing.TB, c *Client) {
	tb.Helper()
	var zero T
	for _, j := range c.Jobs() {
		if j.Args.Kind() == zero.Kind() {
			tb.Fatalf("jobstest: %s job enqueued: %+v", zero.Kind(), j.Args)
		}
	}
}

// Work runs one job of args through w synchronously (after a JSON round
// trip) and returns the worker's error.
func Work[T jobs.Args](tb testing.TB, w jobs.Worker[T], args T) error {
	tb.Helper()
	ws := jobs.NewWorkers()
	jobs.AddWorker(ws, w)
	ctx := context.Background()
	if t, ok := tb.(interface{ Context() context.Context }); ok {
		ctx = t.Context()
	}
	return ws.Work(ctx, args)
}

func matches(got, want jobs.EnqueueOptions) bool {
	return (want.Queue == "" || got.Queue == want.Queue) &&
		(want.MaxRetry < 0 || got.MaxRetry == want.MaxRetry) &&
		(want.Timeout == 0 || got.Timeout == want.Timeout) &&
		(want.Delay == 0 || got.Delay == want.Delay) &&
		(want.ProcessAt.IsZero() || got.ProcessAt.Equal(want.ProcessAt)) &&
		(want.UniqueKey == "" || got.UniqueKey == want.UniqueKey) &&
		(want.Retention == 0 || got.Retention == want.Retention) &&
		(want.Owner == "" || got.Owner == want.Owner)
}

func describe(o jobs.EnqueueOptions) string {
	var parts []string
	add := func(cond bool, f string, v any) {
		if cond {
			parts = append(parts, fmt.Sprintf(f, v))
		}
	}
	add(o.Queue != "", "queue=%s", o.Queue)
	add(o.MaxRetry >= 0, "max_retry=%d", o.MaxRetry)
	add(o.Timeout != 0, "timeout=%v", o.Timeout)
	add(o.Delay != 0, "delay=%v", o.Delay)
	add(!o.ProcessAt.IsZero(), "process_at=%v", o.ProcessAt)
	add(o.UniqueKey != "", "unique=%s", o.UniqueKey)
	add(o.Retention != 0, "retention=%v", o.Retention)
	add(o.Owner != "", "owner=%s", o.Owner)
	if len(parts) == 0 {
		return "any options"
	}
	return strings.Join(parts, " ")
}

func list(js []Job) string {
	if len(js) == 0 {
		return "none"
	}
	var parts []string
	for _, j := range js {
		parts = append(parts, fmt.Sprintf("%s(queue=%s)", j.Info.Kind, j.Options.Queue))
	}
	return strings.Join(parts, ", ")
}
