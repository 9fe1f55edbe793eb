package jobs

import (
	"context"
	"fmt"
	"time"
)

// Inspector reads and manages jobs and queues: state by id, lists by queue
// and state, dead-set retry and delete, cancellation, pause and resume. It is
// safe for concurrent use.
type Inspector struct {
	b   Backend
	now func() time.Time
}

// NewInspector returns an Inspector on b.
func NewInspector(b Backend) *Inspector { return &Inspector{b: b, now: time.Now} }

// Page selects a slice of a list. Limit defaults to 50 and is capped at 1,000.
type Page struct {
	Offset, Limit int
}

// Job returns a job's state, attempts, progress, result, last error and
// timestamps. It returns [ErrNotFound] for unknown ids and for jobs past
// their retention.
func (i *Inspector) Job(ctx context.Context, id string) (*JobInfo, error) {
	if id == "" {
		return nil, ErrNotFound
	}
	qs, err := i.b.queues(ctx)
	if err != nil {
		return nil, fmt.Errorf("jobs: list queues: %w", err)
	}
	info, err := i.b.job(ctx, qs, id, i.now())
	if err != nil {
		return nil, fmt.Errorf("jobs: job %s: %w", id, err)
	}
	return info, nil
}

// Jobs lists a queue's jobs in one state by offset, in [Inspector.List]'s
// default order: pending oldest first, scheduled and retrying by next run
// time, active by lease deadline, succeeded, cancelled and dead newest
// first. It walks List's pages, so an offset costs what it skips; prefer
// List's cursors for deep pages.
func (i *Inspector) Jobs(ctx context.Context, queue string, state State, p Page) ([]*JobInfo, error) {
	if p.Limit <= 0 {
		p.Limit = 50
	}
	p.Limit = min(p.Limit, 1000)
	skip := max(p.Offset, 0)
	out := []*JobInfo{}
	opt := ListOptions{State: state}
	for {
		opt.Limit = min(skip+p.Limit-len(out), 1000)
		page, err := i.List(ctx, queue, opt)
		if err != nil {
			return nil, err
		}
		js := page.Jobs
		n := min(skip, len(js))
		skip -= n
		js = js[n:]
		out = append(out, js[:min(len(js), p.Limit-len(out))]...)
		if len(out) == p.Limit || page.Next == "" {
			return out, nil
		}
		opt.Cursor = page.Next
	}
}

// RetryDead moves a dead job back to its queue with its attempts reset.
// It returns [ErrNotFound] or, if the job is not dead, [ErrFinished].
func (i *Inspector) RetryDead(ctx context.Context, id string) error {
	info, err := i.Job(ctx, id)
	if err != nil {
		return err
	}
	if err := i.b.retryDead(ctx, info.Queue, id); err != nil {
		return fmt.Errorf("jobs: retry %s: %w", id, err)
	}
	return nil
}

// DeleteDead removes a dead job. It returns [ErrNotFound] or, if the job is
// not dead, [ErrFinished].
func (i *Inspector) DeleteDead(ctx context.Context, id string) error {
	info, err := i.Job(ctx, id)
	if err != nil {
		return err
	}
	if err := i.b.deleteDead(ctx, info.Queue, id); err != nil {
		return fmt.Errorf("jobs: delete %s: %w", id, err)
	}
	return nil
}

// Cancel cancels a pending, scheduled, retrying or running job: from then on
// its state is cancelled and stays so, whatever a running attempt returns
// (nil, an error, a panic); that attempt counts in Attempts when it ends, and
// LastError keeps the error of the last attempt that failed before the
// cancel. A running job sees its context cancelled (cause [ErrCancelled]) at
// its runner's next heartbeat (RunnerConfig.HeartbeatInterval, 2.5 s by
// default). The job is kept for its retention from the cancel, then nothing
// of it is left. It returns [ErrNotFound], or [ErrFinished] if the job
// already finished.
func (i *Inspector) Cancel(ctx context.Context, id string) error {
	info, err := i.Job(ctx, id)
	if err != nil {
		return err
	}
	if err := i.b.cancel(ctx, info.Queue, id, i.now()); err != nil {
		return fmt.Errorf("jobs: cancel %s: %w", id, err)
	}
	if err := i.endStep(ctx, id, ErrCancelled.Error()); err != nil {
		return fmt.Errorf("jobs: cancel %s: workflow: %w", id, err)
	}
	return nil
}

// Pause stops runners from fetching the queue's jobs; running ones finish.
func (i *Inspector) Pause(ctx context.Context, queue string) error {
	return i.b.setPaused(ctx, queue, true)
}

// Resume undoes [Inspector.Pause].
func (i *Inspector) Resume(ctx context.Context, queue string) error {
	return i.b.setPaused(ctx, queue, false)
}

// Sizes counts a queue's jobs by state.
func (i *Inspector) Sizes(ctx context.Context, queue string) (QueueSizes, error) {
	return i.b.sizes(ctx, queue, i.now())
}

// Queues lists the queues jobs were ever enqueued to.
func (i *Inspector) Queues(ctx context.Context) ([]string, error) {
	return i.b.queues(ctx)
}
