package jobscli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gantry-dev/gantry/jobs"
)

func (r *run) queues(args []string) error {
	fs := r.flags("queues")
	minutes := fs.Int("minutes", 15, "window of PROCESSED and FAILED")
	if _, err := r.parse(fs, args, 0, 0); err != nil {
		return err
	}
	if *minutes < 1 || *minutes > 60 {
		return &UsageError{Command: "queues", Message: fmt.Sprintf("--minutes %d: want 1 to 60", *minutes)}
	}
	names, err := r.Inspector.Queues(r.ctx)
	if err != nil {
		return err
	}
	slices.Sort(names)
	all := make([]*jobs.QueueStats, 0, len(names))
	for _, q := range names {
		st, err := r.Inspector.Stats(r.ctx, q, *minutes)
		if err != nil {
			return fmt.Errorf("queue %s: %w", q, err)
		}
		all = append(all, st)
	}
	return r.out(all, func(w io.Writer) error {
		if len(all) == 0 {
			_, err := fmt.Fprintln(w, "no queues: no job was ever enqueued")
			return err
		}
		win := strconv.Itoa(*minutes) + "m"
		t := newTable("QUEUE", "PAUSED", ">PENDING", ">SCHEDULED", ">RUNNING", ">RETRYING", ">DEAD",
			">SUCCEEDED", ">CANCELLED", ">LATENCY", ">PROCESSED "+win, ">FAILED "+win)
		for _, s := range all {
			var done, failed int64
			for _, m := range s.History {
				done += m.Processed
				failed += m.Failed
			}
			paused, latency := "no", "-"
			if s.Paused {
				paused = "yes"
			}
			switch {
			case s.Latency >= time.Second:
				latency = duration(s.Latency)
			case s.Latency > 0:
				latency = "<1s"
			}
			t.add(s.Queue, paused, count(s.Pending), count(s.Scheduled), count(s.Active), count(s.Retrying),
				count(s.Dead), count(s.Succeeded), count(s.Cancelled), latency, count(done), count(failed))
		}
		return t.write(w, true)
	})
}

func (r *run) ls(args []string) error {
	fs := r.flags("ls")
	queue := fs.String("queue", "", "queue")
	state := fs.String("state", "", "state")
	kind := fs.String("kind", "", "only jobs of this kind")
	order := fs.String("order", "", "newest or oldest")
	limit := fs.Int("limit", 50, "page size")
	cursor := fs.String("cursor", "", "the cursor of the page")
	if _, err := r.parse(fs, args, 0, 0); err != nil {
		return err
	}
	bad := func(format string, a ...any) error {
		return &UsageError{Command: "ls", Message: fmt.Sprintf(format, a...)}
	}
	if *queue == "" {
		return bad("--queue is required")
	}
	if *state == "" {
		return bad("--state is required")
	}
	st, ok := parseState(*state)
	if !ok {
		return bad("unknown state %q (want pending, scheduled, running, retrying, succeeded, dead or cancelled)", *state)
	}
	opt := jobs.ListOptions{State: st, Kind: *kind, Cursor: *cursor, Limit: *limit}
	switch *order {
	case "":
	case "newest", "oldest":
		opt.Order = jobs.Order(*order)
	default:
		return bad("unknown order %q (want newest or oldest)", *order)
	}
	if *limit < 1 || *limit > 1000 {
		return bad("--limit %d: want 1 to 1000", *limit)
	}
	if err := r.queueExists(*queue); err != nil {
		return err
	}
	page, err := r.Inspector.List(r.ctx, *queue, opt)
	var hs interface{ HTTPStatus() int }
	if err != nil && errors.As(err, &hs) && hs.HTTPStatus() == 400 {
		return bad("%v", err) // a cursor that does not parse
	}
	if err != nil {
		return err
	}
	if page.Jobs == nil {
		page.Jobs = []*jobs.JobInfo{}
	}
	for _, j := range page.Jobs {
		r.redact(j)
	}
	return r.out(page, func(w io.Writer) error {
		if len(page.Jobs) == 0 {
			what := stateName(st) + " jobs"
			if *kind != "" {
				what = stateName(st) + " " + clean(*kind) + " jobs"
			}
			where := "in"
			if page.Next != "" {
				where = "on this page of" // a kind filter scans a bounded stretch
			}
			if _, err := fmt.Fprintf(w, "no %s %s queue %s\n", what, where, clean(*queue)); err != nil {
				return err
			}
		} else if err := r.jobTable(st, page.Jobs).write(w, true); err != nil {
			return err
		}
		if page.Next == "" {
			return nil
		}
		next := []string{r.Name, "ls", "--queue", shellQuote(*queue), "--state", string(st)}
		if *kind != "" {
			next = append(next, "--kind", shellQuote(*kind))
		}
		if *order != "" {
			next = append(next, "--order", *order)
		}
		if *limit != 50 {
			next = append(next, "--limit", strconv.Itoa(*limit))
		}
		next = append(next, "--cursor", shellQuote(page.Next))
		_, err := fmt.Fprintf(w, "\nnext page: %s\n", clean(strings.Join(next, " ")))
		return err
	})
}

// jobTable lays out a page of jobs in state st: the times that matter in
// that state, and the last error where there is one.
func (r *run) jobTable(st jobs.State, js []*jobs.JobInfo) *table {
	now := r.Now()
	cols := []string{"ID", "KIND", ">ATTEMPTS"}
	type col struct {
		name string
		cell func(j *jobs.JobInfo) string
	}
	enqueued := col{"ENQUEUED", func(j *jobs.JobInfo) string { return when(j.EnqueuedAt, now) }}
	runAt := func(name string) col {
		return col{name, func(j *jobs.JobInfo) string { return when(j.ProcessAt, now) }}
	}
	finished := func(name string) col {
		return col{name, func(j *jobs.JobInfo) string { return when(j.FinishedAt, now) }}
	}
	lastErr := col{"LAST ERROR", func(j *jobs.JobInfo) string { return truncate(clean(j.LastError), 60) }}
	var extra []col
	switch st {
	case jobs.StatePending:
		extra = []col{enqueued}
	case jobs.StateScheduled:
		extra = []col{runAt("RUNS"), enqueued}
	case jobs.StateRetrying:
		extra = []col{runAt("NEXT TRY"), lastErr}
	case jobs.StateActive:
		extra = []col{{"STARTED", func(j *jobs.JobInfo) string { return when(j.StartedAt, now) }}, {"PROGRESS", progress}, enqueued}
	case jobs.StateSucceeded:
		extra = []col{finished("FINISHED"), enqueued}
	case jobs.StateDead:
		extra = []col{finished("DIED"), lastErr}
	case jobs.StateCancelled:
		extra = []col{finished("CANCELLED"), lastErr}
	}
	for _, c := range extra {
		cols = append(cols, c.name)
	}
	t := newTable(cols...)
	for _, j := range js {
		cells := []string{j.ID, j.Kind, attempts(j)}
		for _, c := range extra {
			cells = append(cells, c.cell(j))
		}
		t.add(cells...)
	}
	return t
}

// attempts is "attempts made/attempts allowed", or the attempts made
// alone when the backend did not read the job's message (its payload is
// empty: a payload is at least "{}"), so MaxRetry is unknown, as for a
// pending or finished job on Redis.
func attempts(j *jobs.JobInfo) string {
	if len(j.Payload) == 0 {
		return strconv.Itoa(j.Attempts)
	}
	return strconv.Itoa(j.Attempts) + "/" + strconv.Itoa(j.MaxRetry+1)
}

func progress(j *jobs.JobInfo) string {
	p := j.Progress
	if p == nil {
		return "-"
	}
	s := strconv.FormatInt(p.Current, 10)
	if p.Total > 0 {
		s += "/" + strconv.FormatInt(p.Total, 10) + " (" + strconv.FormatInt(p.Current*100/p.Total, 10) + "%)"
	}
	if p.Message != "" {
		s += " " + truncate(clean(p.Message), 40)
	}
	return s
}

func (r *run) show(args []string) error {
	fs := r.flags("show")
	pos, err := r.parse(fs, args, 1, 1)
	if err != nil {
		return err
	}
	info, err := r.job(pos[0])
	if err != nil {
		return err
	}
	r.redact(info)
	return r.out(info, func(w io.Writer) error {
		now := r.Now()
		t := newTable("", "")
		t.add("ID", info.ID)
		t.add("Kind", info.Kind)
		t.add("Queue", info.Queue)
		t.add("State", stateName(info.State))
		if len(info.Payload) > 0 {
			t.add("Attempts", fmt.Sprintf("%d of %d", info.Attempts, info.MaxRetry+1))
		} else {
			t.add("Attempts", strconv.Itoa(info.Attempts))
		}
		t.add("Enqueued", whenLong(info.EnqueuedAt, now))
		if !info.ProcessAt.IsZero() {
			name := "Runs"
			if info.State == jobs.StateRetrying {
				name = "Next try"
			}
			t.add(name, whenLong(info.ProcessAt, now))
		}
		if !info.StartedAt.IsZero() {
			t.add("Started", whenLong(info.StartedAt, now))
		}
		if !info.FinishedAt.IsZero() {
			t.add("Finished", whenLong(info.FinishedAt, now))
		}
		if info.Progress != nil {
			t.add("Progress", progress(info))
		}
		if info.LastError != "" {
			t.add("Last error", truncate(clean(info.LastError), 200))
		}
		if err := t.write(w, false); err != nil {
			return err
		}
		var b strings.Builder
		if len(info.Errors) > 0 {
			b.WriteString("\nErrors:\n")
			et := newTable(">ATTEMPT", "AT", "ERROR")
			et.indent = "  "
			for _, e := range info.Errors {
				et.add(strconv.Itoa(e.Attempt), when(e.At, now), truncate(clean(e.Error), 200))
			}
			_ = et.write(&b, true)
		}
		for _, block := range []struct {
			name string
			raw  json.RawMessage
		}{{"Arguments", info.Payload}, {"Result", info.Result}} {
			if len(block.raw) == 0 {
				continue
			}
			fmt.Fprintf(&b, "\n%s:\n%s\n", block.name, indentJSON(block.raw, "  "))
		}
		_, err := io.WriteString(w, b.String())
		return err
	})
}

// indentJSON formats raw JSON for reading, each line indented; text that
// is not JSON is shown as it is, cleaned.
func indentJSON(raw json.RawMessage, indent string) string {
	var b bytes.Buffer
	if err := json.Indent(&b, raw, indent, "  "); err != nil {
		return indent + cleanBlock(string(raw))
	}
	return indent + cleanBlock(b.String())
}

func (r *run) schedules(args []string) error {
	fs := r.flags("schedules")
	if _, err := r.parse(fs, args, 0, 0); err != nil {
		return err
	}
	all, err := r.Inspector.Schedules(r.ctx)
	if err != nil {
		return err
	}
	if all == nil {
		all = []jobs.ScheduleInfo{}
	}
	return r.out(all, func(w io.Writer) error {
		if len(all) == 0 {
			_, err := fmt.Fprintln(w, "no schedules: no scheduler is running")
			return err
		}
		now := r.Now()
		t := newTable("NAME", "SPEC", "TIME ZONE", "QUEUE", "KIND", "NEXT", "LAST FIRE", "LAST JOB")
		for _, s := range all {
			t.add(s.Name, s.Spec, s.TimeZone, s.Queue, s.Kind, when(s.Next, now), when(s.LastFire, now), s.LastJobID)
		}
		return t.write(w, true)
	})
}

func (r *run) workers(args []string) error {
	fs := r.flags("workers")
	if _, err := r.parse(fs, args, 0, 0); err != nil {
		return err
	}
	all, err := r.Inspector.Workers(r.ctx)
	if err != nil {
		return err
	}
	if all == nil {
		all = []jobs.WorkerInfo{}
	}
	return r.out(all, func(w io.Writer) error {
		if len(all) == 0 {
			_, err := fmt.Fprintln(w, "no workers online")
			return err
		}
		now := r.Now()
		t := newTable("HOST", ">PID", "QUEUES", ">BUSY", "STARTED", "HEARTBEAT")
		for _, wk := range all {
			qs := make([]string, 0, len(wk.Queues))
			for _, q := range slices.Sorted(maps.Keys(wk.Queues)) {
				qs = append(qs, q+"="+strconv.Itoa(wk.Queues[q]))
			}
			t.add(wk.Host, strconv.Itoa(wk.PID), strings.Join(qs, ","), fmt.Sprintf("%d/%d", wk.Busy, wk.Concurrency),
				when(wk.StartedAt, now), relative(wk.HeartbeatAt, now))
		}
		return t.write(w, true)
	})
}
