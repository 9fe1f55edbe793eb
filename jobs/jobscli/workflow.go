package jobscli

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/gantry-dev/gantry/jobs"
)

// workflowNotFoundError is the error of a command given an unknown
// workflow id.
type workflowNotFoundError struct{ id string }

func (e *workflowNotFoundError) Error() string {
	return fmt.Sprintf("no workflow with id %q (unknown, or finished longer ago than its retention)", e.id)
}

func (e *workflowNotFoundError) Unwrap() error { return jobs.ErrNotFound }

// workflowEndedError reports a cancel of a workflow that has ended.
type workflowEndedError struct {
	id    string
	state jobs.WorkflowState
}

func (e *workflowEndedError) Error() string {
	return fmt.Sprintf("workflow %s is %s: cancel takes a running workflow", e.id, e.state)
}

func (e *workflowEndedError) Unwrap() error { return jobs.ErrFinished }

// workflow runs "workflow ID" and "workflow cancel ID".
func (r *run) workflow(args []string) error {
	fs := r.flags("workflow")
	pos, err := r.parse(fs, args, 0, 2)
	if err != nil {
		return err
	}
	switch {
	case len(pos) == 0:
		return &UsageError{Command: "workflow", Message: "missing argument: a workflow id"}
	case pos[0] == "cancel" && len(pos) == 2:
		return r.cancelWorkflow(pos[1])
	case pos[0] == "cancel":
		return &UsageError{Command: "workflow", Message: "missing argument: the id of the workflow to cancel"}
	case len(pos) == 2:
		return &UsageError{Command: "workflow", Message: fmt.Sprintf("unexpected argument %q", pos[1])}
	}
	wi, err := r.readWorkflow(pos[0])
	if err != nil {
		return err
	}
	return r.out(wi, func(w io.Writer) error {
		now := r.Now()
		t := newTable("", "")
		t.add("ID", wi.ID)
		t.add("State", string(wi.State))
		t.add("Created", whenLong(wi.CreatedAt, now))
		if !wi.FinishedAt.IsZero() {
			t.add("Finished", whenLong(wi.FinishedAt, now))
		}
		t.add("Steps", stepSummary(wi.Steps))
		if err := t.write(w, false); err != nil {
			return err
		}
		st := newTable(">STEP", "KIND", "QUEUE", "STATE", "WAITS FOR", "JOB", "ERROR")
		for _, s := range wi.Steps {
			state := string(s.State)
			switch {
			case s.OnFailure:
				state += " (on failure)"
			case s.Partial:
				state += " (partial)"
			}
			job := ""
			if s.State != jobs.StepWaiting && s.State != jobs.StepSkipped {
				job = s.JobID // released or ended: its job exists
			}
			st.add(strconv.Itoa(s.Step), s.Kind, s.Queue, state, ranges(s.DependsOn), job, truncate(clean(s.Error), 80))
		}
		if _, err := fmt.Fprintln(w); err != nil {
			return err
		}
		return st.write(w, true)
	})
}

func (r *run) readWorkflow(id string) (*jobs.WorkflowInfo, error) {
	wi, err := r.Inspector.Workflow(r.ctx, id)
	if errors.Is(err, jobs.ErrNotFound) {
		return nil, &workflowNotFoundError{id: id}
	}
	return wi, err
}

// cancelWorkflow cancels a running workflow; the workflow is read first,
// for a clear error when it has ended and for what the cancel stopped.
func (r *run) cancelWorkflow(id string) error {
	wi, err := r.readWorkflow(id)
	if err != nil {
		return err
	}
	var open []jobs.StepInfo
	for _, s := range wi.Steps {
		if s.State == jobs.StepWaiting || s.State == jobs.StepReleased {
			open = append(open, s)
		}
	}
	res := Result{Action: "cancel_workflow", Workflow: wi.ID, Count: len(open), Actor: r.Actor}
	err = r.Inspector.CancelWorkflow(r.ctx, wi.ID)
	switch {
	case errors.Is(err, jobs.ErrNotFound):
		err = &workflowNotFoundError{id: id}
	case errors.Is(err, jobs.ErrFinished):
		state := wi.State
		if now, e := r.Inspector.Workflow(r.ctx, wi.ID); e == nil {
			state = now.State
		}
		err = &workflowEndedError{id: id, state: state}
	}
	if err != nil {
		res.Count = 0
	}
	r.audit(res, err)
	if err != nil {
		return err
	}
	return r.out(res, func(w io.Writer) error {
		_, err := fmt.Fprintf(w, "cancelled workflow %s: %s stopped (%s)\n", wi.ID, plural(len(open), "step"), stepSummary(open))
		return err
	})
}

// stepSummary counts steps by state: "6: 4 succeeded, 1 failed, 1 skipped".
func stepSummary(steps []jobs.StepInfo) string {
	order := []jobs.StepState{jobs.StepWaiting, jobs.StepReleased, jobs.StepSucceeded, jobs.StepFailed, jobs.StepCancelled, jobs.StepSkipped}
	n := map[jobs.StepState]int{}
	for _, s := range steps {
		if _, ok := n[s.State]; !ok && !slices.Contains(order, s.State) {
			order = append(order, s.State)
		}
		n[s.State]++
	}
	var parts []string
	for _, s := range order {
		if n[s] > 0 {
			parts = append(parts, strconv.Itoa(n[s])+" "+string(s))
		}
	}
	return strconv.Itoa(len(steps)) + ": " + strings.Join(parts, ", ")
}

// ranges writes step numbers with runs joined: "0-999", "2,4-6".
func ranges(v []int) string {
	var b strings.Builder
	for i := 0; i < len(v); {
		j := i
		for j+1 < len(v) && v[j+1] == v[j]+1 {
			j++
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(v[i]))
		if j > i {
			b.WriteString("-" + strconv.Itoa(v[j]))
		}
		i = j + 1
	}
	return b.String()
}
