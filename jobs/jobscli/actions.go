package jobscli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/gantry-dev/gantry/jobs"
)

// Result is what an action prints with --json.
type Result struct {
	// Action is "retry", "delete", "cancel", "retry_all_dead",
	// "delete_all_dead", "pause", "resume" or "cancel_workflow".
	Action string `json:"action"`
	// JobID and Kind name the job of a single-job action.
	JobID string `json:"job_id,omitempty"`
	Kind  string `json:"kind,omitempty"`
	// Workflow is the workflow of cancel_workflow.
	Workflow string `json:"workflow,omitempty"`
	// Queue is the job's queue, or the queue acted on ("" for a
	// workflow, whose steps may be on several).
	Queue string `json:"queue"`
	// Count is how many jobs the action changed: 1 for a single job, the
	// number moved for a bulk action, 0 for pause and resume, the steps
	// not yet ended (waiting or released) for cancel_workflow.
	Count int `json:"count"`
	// Actor is who acted (Command.Actor).
	Actor string `json:"actor"`
}

// stateError reports a job whose state does not allow an action.
type stateError struct {
	id     string
	state  jobs.State
	action string
	want   string
}

func (e *stateError) Error() string {
	return fmt.Sprintf("job %s is %s: %s takes %s", e.id, stateName(e.state), e.action, e.want)
}

func (e *stateError) Unwrap() error { return jobs.ErrFinished }

// audit logs an action with who did it and how it ended.
func (r *run) audit(res Result, err error) {
	attrs := []slog.Attr{slog.String("action", res.Action), slog.String("actor", r.Actor)}
	if res.JobID != "" {
		attrs = append(attrs, slog.String("job_id", res.JobID), slog.String("kind", res.Kind))
	}
	if res.Workflow != "" {
		attrs = append(attrs, slog.String("workflow", res.Workflow), slog.Int("count", res.Count))
	} else {
		attrs = append(attrs, slog.String("queue", res.Queue))
	}
	if strings.HasSuffix(res.Action, "_all_dead") {
		attrs = append(attrs, slog.Int("count", res.Count)) // also the jobs moved before a failure
	}
	level, msg := slog.LevelInfo, "jobs: "+res.Action
	if err != nil {
		level, msg = slog.LevelWarn, "jobs: "+res.Action+" failed"
		attrs = append(attrs, slog.String("error", err.Error()))
	}
	r.Logger.LogAttrs(r.ctx, level, msg, attrs...)
}

// single runs a one-job action: the job is read first, for its queue and
// kind in the log and the output, and for a clear error when its state
// does not allow the action.
func (r *run) single(name string, args []string, want string, do func(id string) error, done func(w io.Writer, info *jobs.JobInfo) error) error {
	fs := r.flags(name)
	pos, err := r.parse(fs, args, 1, 1)
	if err != nil {
		return err
	}
	return r.singleJob(name, pos[0], want, do, done)
}

func (r *run) singleJob(name, id, want string, do func(id string) error, done func(w io.Writer, info *jobs.JobInfo) error) error {
	info, err := r.job(id)
	if err != nil {
		return err
	}
	res := Result{Action: name, JobID: info.ID, Kind: info.Kind, Queue: info.Queue, Count: 1, Actor: r.Actor}
	err = do(info.ID)
	switch {
	case errors.Is(err, jobs.ErrNotFound):
		err = &notFoundError{id: id}
	case errors.Is(err, jobs.ErrFinished):
		if now, e := r.Inspector.Job(r.ctx, id); e == nil {
			info.State = now.State
		}
		err = &stateError{id: id, state: info.State, action: name, want: want}
	}
	r.audit(res, err)
	if err != nil {
		return err
	}
	return r.out(res, func(w io.Writer) error { return done(w, info) })
}

func (r *run) retry(args []string) error {
	return r.jobOrAllDead(args, "retry", "retried", "requeued", "a dead, retrying or scheduled job", "pending now",
		r.Inspector.RetryNow, r.Inspector.RetryAllDead)
}

func (r *run) delete(args []string) error {
	return r.jobOrAllDead(args, "delete", "deleted", "deleted", "a job that is not running (cancel it first)", "",
		r.Inspector.Delete, r.Inspector.DeleteAllDead)
}

// jobOrAllDead runs retry or delete: on one job (ID), or with --all-dead
// --queue Q on every dead job of Q. verb and bulkVerb name the outcome for
// one job and for the dead set, want the states the action takes, after
// (if set) the job's new state.
func (r *run) jobOrAllDead(args []string, name, verb, bulkVerb, want, after string,
	one func(context.Context, string) error, all func(context.Context, string) (int, error)) error {
	fs := r.flags(name)
	allDead := fs.Bool("all-dead", false, "every dead job of --queue")
	queue := fs.String("queue", "", "queue of --all-dead")
	pos, err := r.parse(fs, args, 0, 1)
	if err != nil {
		return err
	}
	if *allDead || *queue != "" {
		return r.bulk(name, pos, *allDead, *queue, all, bulkVerb)
	}
	if len(pos) == 0 {
		return &UsageError{Command: name, Message: "missing argument: a job id, or --all-dead --queue Q"}
	}
	return r.singleJob(name, pos[0], want,
		func(id string) error { return one(r.ctx, id) },
		func(w io.Writer, info *jobs.JobInfo) error {
			_, err := fmt.Fprintf(w, "%s job %s (%s, queue %s, was %s)", verb,
				info.ID, clean(info.Kind), clean(info.Queue), stateName(info.State))
			if err == nil && after != "" {
				_, err = fmt.Fprint(w, ": "+after)
			}
			if err == nil {
				_, err = fmt.Fprintln(w)
			}
			return err
		})
}

func (r *run) cancel(args []string) error {
	return r.single("cancel", args, "a pending, scheduled, retrying or running job",
		func(id string) error { return r.Inspector.Cancel(r.ctx, id) },
		func(w io.Writer, info *jobs.JobInfo) error {
			_, err := fmt.Fprintf(w, "cancelled job %s (%s, queue %s, was %s)\n",
				info.ID, clean(info.Kind), clean(info.Queue), stateName(info.State))
			if err == nil && info.State == jobs.StateActive {
				_, err = fmt.Fprintln(w, "its worker stops it at its next heartbeat")
			}
			return err
		})
}

// bulk runs retry or delete --all-dead --queue Q.
func (r *run) bulk(name string, pos []string, allDead bool, queue string, do func(context.Context, string) (int, error), verb string) error {
	switch {
	case !allDead:
		return &UsageError{Command: name, Message: "--queue goes with --all-dead"}
	case queue == "":
		return &UsageError{Command: name, Message: "--all-dead needs --queue"}
	case len(pos) > 0:
		return &UsageError{Command: name, Message: fmt.Sprintf("unexpected argument %q: --all-dead takes no job id", pos[0])}
	}
	if err := r.queueExists(queue); err != nil {
		return err
	}
	n, err := do(r.ctx, queue)
	res := Result{Action: name + "_all_dead", Queue: queue, Count: n, Actor: r.Actor}
	r.audit(res, err)
	if err != nil {
		if n > 0 {
			return fmt.Errorf("%s %s of queue %s, then: %w", verb, plural(n, "dead job"), queue, err)
		}
		return err
	}
	return r.out(res, func(w io.Writer) error {
		if n == 0 {
			_, err := fmt.Fprintf(w, "no dead jobs in queue %s\n", clean(queue))
			return err
		}
		_, err := fmt.Fprintf(w, "%s %s of queue %s\n", verb, plural(n, "dead job"), clean(queue))
		return err
	})
}

func (r *run) pause(name string, args []string) error {
	fs := r.flags(name)
	pos, err := r.parse(fs, args, 1, 1)
	if err != nil {
		return err
	}
	q := pos[0]
	if err := r.queueExists(q); err != nil {
		return err
	}
	before, err := r.Inspector.Sizes(r.ctx, q)
	if err != nil {
		return err
	}
	res := Result{Action: name, Queue: q, Actor: r.Actor}
	if name == "pause" {
		err = r.Inspector.Pause(r.ctx, q)
	} else {
		err = r.Inspector.Resume(r.ctx, q)
	}
	r.audit(res, err)
	if err != nil {
		return err
	}
	return r.out(res, func(w io.Writer) error {
		var err error
		switch {
		case name == "pause" && before.Paused:
			_, err = fmt.Fprintf(w, "queue %s was already paused\n", clean(q))
		case name == "pause":
			_, err = fmt.Fprintf(w, "paused queue %s: workers take no new jobs from it; running jobs finish\n", clean(q))
		case !before.Paused:
			_, err = fmt.Fprintf(w, "queue %s was not paused\n", clean(q))
		default:
			_, err = fmt.Fprintf(w, "resumed queue %s: workers take its jobs again\n", clean(q))
		}
		return err
	})
}
