package jobscli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gantry-dev/gantry/internal/testenv"
	"github.com/gantry-dev/gantry/jobs"
	"github.com/gantry-dev/gantry/jobs/jobscli"
)

// args resolves "@label" to the fixture's job id.
func (f *fixture) args(in []string) []string {
	out := slices.Clone(in)
	for i, a := range out {
		if label, ok := strings.CutPrefix(a, "@"); ok {
			id, ok := f.ids[label]
			if !ok {
				f.t.Fatalf("no job labelled %s", label)
			}
			out[i] = id
		}
	}
	return out
}

// waitRegistry waits until the runner and the scheduler are listed.
func (f *fixture) waitRegistry() {
	f.t.Helper()
	waitFor(f.t, "the runner's heartbeat with the export running", func() bool {
		ws, err := f.insp.Workers(f.t.Context())
		return err == nil && len(ws) == 1 && ws[0].Busy == 1
	})
	waitFor(f.t, "the scheduler's schedule", func() bool {
		ss, err := f.insp.Schedules(f.t.Context())
		return err == nil && len(ss) == 1
	})
}

// TestViews runs every read-only command on a seeded backend and compares
// the tables with the golden files.
func TestViews(t *testing.T) {
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			t.Parallel()
			f := seed(t, be.name, be.new(t))
			f.waitRegistry()
			for _, tt := range []struct {
				name string
				args []string
			}{
				{"queues", []string{"queues"}},
				{"ls-pending", []string{"ls", "--queue", "email", "--state", "pending"}},
				{"ls-scheduled", []string{"ls", "--queue", "default", "--state", "scheduled"}},
				{"ls-running", []string{"ls", "--queue", "default", "--state", "running"}},
				{"ls-retrying", []string{"ls", "--queue", "default", "--state", "retrying"}},
				{"ls-succeeded", []string{"ls", "--queue", "default", "--state", "succeeded"}},
				{"ls-dead", []string{"ls", "--queue", "default", "--state", "dead"}},
				{"ls-cancelled", []string{"ls", "--queue", "default", "--state", "cancelled"}},
				{"ls-dead-charge-oldest", []string{"ls", "--queue=default", "--state=dead", "--kind", "charge", "--order", "oldest"}},
				{"ls-empty", []string{"ls", "--queue", "email", "--state", "dead"}},
				{"ls-page", []string{"ls", "--queue", "email", "--state", "pending", "--limit", "2"}},
				{"show-dead", []string{"show", "@dead-1"}},
				{"show-dead-unknown-kind", []string{"show", "@dead-3"}},
				{"show-running", []string{"show", "@running"}},
				{"show-succeeded", []string{"show", "@ok-1"}},
				{"show-pending-redacted", []string{"show", "@pending-1"}},
				{"schedules", []string{"schedules"}},
				{"workers", []string{"workers"}},
			} {
				t.Run(tt.name, func(t *testing.T) {
					f.t = t
					f.golden(tt.name, f.mustRun(f.args(tt.args)...))
				})
			}
		})
	}
}

// TestPaging follows the next-page command ls prints, and the JSON cursor.
func TestPaging(t *testing.T) {
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			t.Parallel()
			f := seed(t, be.name, be.new(t))
			out := f.mustRun("ls", "--queue", "email", "--state", "pending", "--limit", "2")
			_, next, ok := strings.Cut(out, "next page: ")
			if !ok {
				t.Fatalf("no next page in:\n%s", out)
			}
			cmd := strings.Fields(next)
			if !slices.Equal(cmd[:9], []string{"app", "jobs", "ls", "--queue", "email", "--state", "pending", "--limit", "2"}) || cmd[9] != "--cursor" || len(cmd) != 11 {
				t.Fatalf("next page command = %q", next)
			}
			second := f.mustRun(cmd[2:]...)
			if !strings.Contains(second, f.ids["pending-3"]) || strings.Contains(second, f.ids["pending-1"]) || strings.Contains(second, "next page") {
				t.Errorf("second page =\n%s\nwant pending-3 alone and no next page", second)
			}

			var page struct {
				Jobs []struct {
					ID    string `json:"id"`
					State string `json:"state"`
				} `json:"jobs"`
				Next string `json:"next"`
			}
			decode(t, f.mustRun("ls", "--json", "--queue", "email", "--state", "pending", "--limit", "2"), &page)
			if len(page.Jobs) != 2 || page.Jobs[0].ID != f.ids["pending-1"] || page.Jobs[1].ID != f.ids["pending-2"] || page.Next == "" {
				t.Fatalf("first page = %+v; want pending-1, pending-2 and a cursor", page)
			}
			cursor := page.Next
			page.Jobs, page.Next = nil, ""
			decode(t, f.mustRun("ls", "--queue", "email", "--state", "pending", "--limit", "2", "--cursor", cursor, "--json"), &page)
			if len(page.Jobs) != 1 || page.Jobs[0].ID != f.ids["pending-3"] || page.Jobs[0].State != "pending" || page.Next != "" {
				t.Errorf("second page = %+v; want pending-3 and no cursor", page)
			}
		})
	}
}

// TestJSON decodes every view's --json output as a script would.
func TestJSON(t *testing.T) {
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			t.Parallel()
			f := seed(t, be.name, be.new(t))
			f.waitRegistry()

			t.Run("queues", func(t *testing.T) {
				var qs []struct {
					Queue     string   `json:"queue"`
					Pending   int64    `json:"pending"`
					Scheduled int64    `json:"scheduled"`
					Active    int64    `json:"active"`
					Retrying  int64    `json:"retrying"`
					Dead      int64    `json:"dead"`
					Succeeded int64    `json:"succeeded"`
					Cancelled int64    `json:"cancelled"`
					Paused    bool     `json:"paused"`
					LatencyMS *float64 `json:"latency_ms"`
					Kinds     []struct {
						Kind      string `json:"kind"`
						Scheduled int64  `json:"scheduled"`
						Retrying  int64  `json:"retrying"`
						Dead      int64  `json:"dead"`
						Failed    int64  `json:"failed"`
					} `json:"kinds"`
					History []struct {
						Minute    time.Time `json:"minute"`
						Processed int64     `json:"processed"`
						Failed    int64     `json:"failed"`
					} `json:"history"`
				}
				decode(t, f.mustRun("queues", "--json"), &qs)
				if len(qs) != 2 || qs[0].Queue != "default" || qs[1].Queue != "email" {
					t.Fatalf("queues = %+v; want default and email", qs)
				}
				d, e := qs[0], qs[1]
				if d.Pending != 0 || d.Scheduled != 1 || d.Active != 1 || d.Retrying != 1 || d.Dead != 3 || d.Succeeded != 2 || d.Cancelled != 1 || d.Paused {
					t.Errorf("default = %+v; want scheduled 1, active 1, retrying 1, dead 3, succeeded 2, cancelled 1, not paused", d)
				}
				if e.Pending != 3 || !e.Paused || e.LatencyMS == nil || *e.LatencyMS <= 0 || *e.LatencyMS > 60_000 {
					t.Errorf("email = %+v (latency_ms %s); want 3 pending, paused, a latency in milliseconds under a minute", e, ptr(e.LatencyMS))
				}
				var charge bool
				for _, k := range d.Kinds {
					if k.Kind == "charge" {
						charge = true
						if k.Dead != 2 || k.Retrying != 1 || k.Failed != 3 {
							t.Errorf("default's charge kind = %+v; want dead 2, retrying 1, failed 3", k)
						}
					}
				}
				if !charge {
					t.Errorf("default's kinds = %+v; want charge", d.Kinds)
				}
				var processed, failed int64
				for _, m := range d.History {
					processed, failed = processed+m.Processed, failed+m.Failed
				}
				if len(d.History) != 15 || processed < 5 || failed < 3 {
					t.Errorf("default's history: %d minutes, %d processed, %d failed; want 15 minutes, at least 5 processed and 3 failed", len(d.History), processed, failed)
				}
			})

			t.Run("ls", func(t *testing.T) {
				var page jobs.JobPage
				decode(t, f.mustRun("ls", "--queue", "default", "--state", "dead", "--json"), &page)
				var ids []string
				for _, j := range page.Jobs {
					ids = append(ids, j.ID)
					if j.State != jobs.StateDead || j.Queue != "default" {
						t.Errorf("job %s: state %s, queue %s; want dead, default", j.ID, j.State, j.Queue)
					}
				}
				if want := []string{f.ids["dead-3"], f.ids["dead-2"], f.ids["dead-1"]}; !slices.Equal(ids, want) || page.Next != "" {
					t.Errorf("dead ids = %v, next %q; want %v (newest first), no next", ids, page.Next, want)
				}
				decode(t, f.mustRun("ls", "--queue", "email", "--state", "dead", "--json"), &page)
				if page.Jobs == nil || len(page.Jobs) != 0 {
					t.Errorf("empty page jobs = %#v; want [] (not null)", page.Jobs)
				}
			})

			t.Run("show", func(t *testing.T) {
				var info jobs.JobInfo
				decode(t, f.mustRun("show", f.ids["dead-1"], "--json"), &info)
				var payload bytes.Buffer
				_ = json.Compact(&payload, info.Payload)
				if info.ID != f.ids["dead-1"] || info.State != jobs.StateDead || info.Kind != "charge" || info.Attempts != 1 ||
					info.MaxRetry != 0 || info.LastError != "card declined: insufficient funds" || info.FinishedAt.IsZero() ||
					payload.String() != `{"amount":1999,"card":"[redacted]"}` {
					t.Errorf("show dead-1 = %+v", info)
				}
				if len(info.Errors) != 1 || info.Errors[0].Attempt != 1 || info.Errors[0].Error != "card declined: insufficient funds" || info.Errors[0].At.IsZero() {
					t.Errorf("dead-1 errors = %+v; want attempt 1's", info.Errors)
				}
				info = jobs.JobInfo{}
				decode(t, f.mustRun("--json", "show", f.ids["pending-1"]), &info)
				if f.backend == "memory" { // Redis reads no pending job's payload by id
					payload.Reset()
					_ = json.Compact(&payload, info.Payload)
					if payload.String() != `{"subject":"Welcome","to":"[redacted]"}` {
						t.Errorf("pending-1 payload = %s; want the address redacted", info.Payload)
					}
				}
				page := new(jobs.JobPage)
				decode(t, f.mustRun("ls", "--json", "--queue", "default", "--state", "dead", "--kind", "charge"), page)
				for _, j := range page.Jobs {
					if p := string(j.Payload); strings.Contains(p, "4242") || strings.Contains(p, "4000") || !strings.Contains(p, `"card": "[redacted]"`) {
						t.Errorf("ls --json payload = %s; want the card redacted", p)
					}
				}
				if len(page.Jobs) != 2 {
					t.Errorf("ls --json --kind charge: %d jobs; want 2", len(page.Jobs))
				}
				info = jobs.JobInfo{}
				decode(t, f.mustRun("show", "--json", f.ids["running"]), &info)
				if info.State != jobs.StateActive || info.Progress == nil || info.Progress.Current != 40 || info.Progress.Total != 100 {
					t.Errorf("running = %+v, progress %+v; want active, 40/100", info, info.Progress)
				}
			})

			t.Run("schedules", func(t *testing.T) {
				var ss []jobs.ScheduleInfo
				decode(t, f.mustRun("schedules", "--json"), &ss)
				if len(ss) != 1 || ss[0].Name != "nightly-report" || ss[0].Spec != "0 3 1 1 *" || ss[0].TimeZone != "Asia/Tokyo" ||
					ss[0].Kind != "report" || ss[0].Queue != "default" || !ss[0].Next.After(time.Now()) {
					t.Errorf("schedules = %+v", ss)
				}
			})

			t.Run("workers", func(t *testing.T) {
				var ws []jobs.WorkerInfo
				decode(t, f.mustRun("workers", "--json"), &ws)
				host, _ := os.Hostname()
				if len(ws) != 1 || ws[0].PID != os.Getpid() || ws[0].Host != host || ws[0].Concurrency != 4 || ws[0].Busy != 1 ||
					ws[0].Queues["default"] != 1 || len(ws[0].Queues) != 1 || ws[0].HeartbeatAt.IsZero() {
					t.Errorf("workers = %+v; want this process, default=1, 1 of 4 busy", ws)
				}
			})
		})
	}
}

// TestActions runs every action, checks what it printed, what it changed
// in the backend, and the audit log line it wrote.
func TestActions(t *testing.T) {
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			t.Parallel()
			f := seed(t, be.name, be.new(t))
			ctx := t.Context()
			state := func(label string) jobs.State {
				t.Helper()
				info, err := f.insp.Job(ctx, f.ids[label])
				if errors.Is(err, jobs.ErrNotFound) {
					return "gone"
				}
				if err != nil {
					t.Fatal(err)
				}
				return info.State
			}

			// Cancel the running job while its runner runs: the worker sees it.
			f.golden("cancel-running", f.mustRun("cancel", f.ids["running"]))
			select {
			case cause := <-f.cancelled:
				if !errors.Is(cause, jobs.ErrCancelled) {
					t.Errorf("running job's context cause = %v; want ErrCancelled", cause)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("the running job's context was not cancelled")
			}
			waitFor(t, "running cancelled", func() bool { return state("running") == jobs.StateCancelled })
			f.stopRunner() // what follows must not be run again by it

			f.golden("retry-dead", f.mustRun("retry", f.ids["dead-1"]))
			if got := state("dead-1"); got != jobs.StatePending {
				t.Errorf("dead-1 after retry: %s; want pending", got)
			}

			var res jobscli.Result
			decode(t, f.mustRun("retry", "--json", f.ids["retrying"]), &res)
			if want := (jobscli.Result{Action: "retry", JobID: f.ids["retrying"], Kind: "charge", Queue: "default", Count: 1, Actor: actor}); res != want {
				t.Errorf("retry --json = %+v; want %+v", res, want)
			}
			if got := state("retrying"); got != jobs.StatePending {
				t.Errorf("retrying after retry: %s; want pending", got)
			}

			f.golden("delete-succeeded", f.mustRun("delete", f.ids["ok-1"]))
			if got := state("ok-1"); got != "gone" {
				t.Errorf("ok-1 after delete: %s; want gone", got)
			}

			// Refused by the job's state: exit 1, the state named.
			_, stderr, err := f.run("cancel", f.ids["dead-2"])
			if !errors.Is(err, jobs.ErrFinished) || jobscli.ExitCode(err) != 1 || stderr != "" ||
				err.Error() != "job "+f.ids["dead-2"]+" is dead: cancel takes a pending, scheduled, retrying or running job" {
				t.Errorf("cancel dead-2 = %v (exit %d, stderr %q); want ErrFinished naming the state, exit 1", err, jobscli.ExitCode(err), stderr)
			}
			_, _, err = f.run("retry", f.ids["pending-1"])
			if !errors.Is(err, jobs.ErrFinished) || !strings.Contains(err.Error(), "is pending: retry takes a dead, retrying or scheduled job") {
				t.Errorf("retry pending-1 = %v; want ErrFinished", err)
			}
			if got := state("dead-2"); got != jobs.StateDead {
				t.Errorf("dead-2 after refused cancel: %s; want dead", got)
			}

			f.golden("delete-all-dead", f.mustRun("delete", "--all-dead", "--queue", "default"))
			if a, b := state("dead-2"), state("dead-3"); a != "gone" || b != "gone" {
				t.Errorf("dead-2, dead-3 after delete --all-dead: %s, %s; want gone", a, b)
			}
			res = jobscli.Result{}
			decode(t, f.mustRun("retry", "--all-dead", "--queue", "default", "--json"), &res)
			if want := (jobscli.Result{Action: "retry_all_dead", Queue: "default", Count: 0, Actor: actor}); res != want {
				t.Errorf("retry --all-dead --json = %+v; want %+v", res, want)
			}
			f.golden("retry-all-dead-none", f.mustRun("retry", "--all-dead", "--queue", "default"))

			f.golden("pause-paused", f.mustRun("pause", "email"))
			f.golden("resume", f.mustRun("resume", "email"))
			if sz, err := f.insp.Sizes(ctx, "email"); err != nil || sz.Paused {
				t.Errorf("email after resume: paused %v, %v; want not paused", sz.Paused, err)
			}
			f.golden("pause", f.mustRun("pause", "default"))
			if sz, err := f.insp.Sizes(ctx, "default"); err != nil || !sz.Paused {
				t.Errorf("default after pause: paused %v, %v; want paused", sz.Paused, err)
			}
			res = jobscli.Result{}
			decode(t, f.mustRun("resume", "default", "--json"), &res)
			if want := (jobscli.Result{Action: "resume", Queue: "default", Actor: actor}); res != want {
				t.Errorf("resume --json = %+v; want %+v", res, want)
			}

			// The audit log: one line per action, with the actor; the
			// refused ones as warnings with their error.
			type line struct {
				Level  string `json:"level"`
				Msg    string `json:"msg"`
				Action string `json:"action"`
				Actor  string `json:"actor"`
				JobID  string `json:"job_id"`
				Queue  string `json:"queue"`
				Count  *int   `json:"count"`
				Error  string `json:"error"`
			}
			var got []line
			dec := jsonLines(t, f.logs.String())
			for _, raw := range dec {
				var l line
				decode(t, raw, &l)
				got = append(got, l)
			}
			two, zero := 2, 0
			want := []line{
				{Level: "INFO", Msg: "jobs: cancel", Action: "cancel", JobID: f.ids["running"], Queue: "default"},
				{Level: "INFO", Msg: "jobs: retry", Action: "retry", JobID: f.ids["dead-1"], Queue: "default"},
				{Level: "INFO", Msg: "jobs: retry", Action: "retry", JobID: f.ids["retrying"], Queue: "default"},
				{Level: "INFO", Msg: "jobs: delete", Action: "delete", JobID: f.ids["ok-1"], Queue: "default"},
				{Level: "WARN", Msg: "jobs: cancel failed", Action: "cancel", JobID: f.ids["dead-2"], Queue: "default",
					Error: "job " + f.ids["dead-2"] + " is dead: cancel takes a pending, scheduled, retrying or running job"},
				{Level: "WARN", Msg: "jobs: retry failed", Action: "retry", JobID: f.ids["pending-1"], Queue: "email",
					Error: "job " + f.ids["pending-1"] + " is pending: retry takes a dead, retrying or scheduled job"},
				{Level: "INFO", Msg: "jobs: delete_all_dead", Action: "delete_all_dead", Queue: "default", Count: &two},
				{Level: "INFO", Msg: "jobs: retry_all_dead", Action: "retry_all_dead", Queue: "default", Count: &zero},
				{Level: "INFO", Msg: "jobs: retry_all_dead", Action: "retry_all_dead", Queue: "default", Count: &zero},
				{Level: "INFO", Msg: "jobs: pause", Action: "pause", Queue: "email"},
				{Level: "INFO", Msg: "jobs: resume", Action: "resume", Queue: "email"},
				{Level: "INFO", Msg: "jobs: pause", Action: "pause", Queue: "default"},
				{Level: "INFO", Msg: "jobs: resume", Action: "resume", Queue: "default"},
			}
			for i := range want {
				want[i].Actor = actor
			}
			if len(got) != len(want) {
				t.Fatalf("audit log has %d lines; want %d:\n%s", len(got), len(want), f.logs.String())
			}
			for i := range want {
				g, w := got[i], want[i]
				if g.Count != nil && w.Count != nil && *g.Count == *w.Count {
					g.Count, w.Count = nil, nil
				}
				if g != w {
					t.Errorf("audit line %d = %+v; want %+v", i, got[i], want[i])
				}
			}
		})
	}
}

func ptr(f *float64) string {
	if f == nil {
		return "absent"
	}
	return strconv.FormatFloat(*f, 'f', -1, 64)
}

// jsonLines splits a JSON-lines log.
func jsonLines(t *testing.T, s string) []string {
	t.Helper()
	var out []string
	for l := range strings.Lines(s) {
		if strings.TrimSpace(l) != "" {
			out = append(out, l)
		}
	}
	return out
}

// TestUsageErrors checks that bad command lines exit 2 with a message
// saying what is wrong and the command's usage on stderr, and change
// nothing.
func TestUsageErrors(t *testing.T) {
	t.Parallel()
	f := &fixture{t: t, insp: jobs.NewInspector(jobs.NewMemoryBackend()), logs: new(testenv.Buffer)}
	tests := []struct {
		name    string
		args    []string
		message string // the error's text
		usage   string // in stderr
	}{
		{"no command", nil, "missing command", "usage: app jobs COMMAND"},
		{"unknown command", []string{"frobnicate"}, `unknown command "frobnicate"`, "usage: app jobs COMMAND"},
		{"flag before command", []string{"--queue", "q", "ls"}, "unknown flag --queue before the command", "usage: app jobs COMMAND"},
		{"unknown flag", []string{"queues", "--bogus"}, "queues: flag provided but not defined: -bogus", "usage: app jobs queues"},
		{"minutes out of range", []string{"queues", "--minutes", "61"}, "queues: --minutes 61: want 1 to 60", "usage: app jobs queues"},
		{"queues takes no argument", []string{"queues", "default"}, `queues: unexpected argument "default"`, "usage: app jobs queues"},
		{"ls without queue", []string{"ls", "--state", "dead"}, "ls: --queue is required", "usage: app jobs ls --queue Q --state S"},
		{"ls without state", []string{"ls", "--queue", "default"}, "ls: --state is required", "usage: app jobs ls"},
		{"ls unknown state", []string{"ls", "--queue", "default", "--state", "failed"}, `ls: unknown state "failed" (want pending, scheduled, running, retrying, succeeded, dead or cancelled)`, "States: pending"},
		{"ls bad order", []string{"ls", "--queue", "default", "--state", "dead", "--order", "random"}, `ls: unknown order "random" (want newest or oldest)`, "usage: app jobs ls"},
		{"ls limit zero", []string{"ls", "--queue", "default", "--state", "dead", "--limit", "0"}, "ls: --limit 0: want 1 to 1000", "usage: app jobs ls"},
		{"ls limit too big", []string{"ls", "--queue", "default", "--state", "dead", "--limit", "1001"}, "ls: --limit 1001: want 1 to 1000", "usage: app jobs ls"},
		{"ls limit not a number", []string{"ls", "--limit", "ten"}, `ls: invalid value "ten" for flag -limit: parse error`, "usage: app jobs ls"},
		{"show without id", []string{"show"}, "show: missing argument", "usage: app jobs show ID"},
		{"show two ids", []string{"show", "a", "b"}, `show: unexpected argument "b"`, "usage: app jobs show ID"},
		{"show two ids after --", []string{"show", "--json", "--", "a", "-b"}, `show: unexpected argument "-b"`, "usage: app jobs show ID"},
		{"retry without id", []string{"retry"}, "retry: missing argument: a job id, or --all-dead --queue Q", "       app jobs retry --all-dead --queue Q"},
		{"retry all dead without queue", []string{"retry", "--all-dead"}, "retry: --all-dead needs --queue", "usage: app jobs retry ID"},
		{"retry queue without all dead", []string{"retry", "--queue", "default"}, "retry: --queue goes with --all-dead", "usage: app jobs retry ID"},
		{"retry id and all dead", []string{"retry", "--all-dead", "--queue", "default", "abc"}, `retry: unexpected argument "abc": --all-dead takes no job id`, "usage: app jobs retry"},
		{"delete without id", []string{"delete"}, "delete: missing argument: a job id, or --all-dead --queue Q", "usage: app jobs delete ID"},
		{"delete all dead without queue", []string{"delete", "--all-dead"}, "delete: --all-dead needs --queue", "usage: app jobs delete"},
		{"cancel without id", []string{"cancel"}, "cancel: missing argument", "usage: app jobs cancel ID"},
		{"pause without queue", []string{"pause"}, "pause: missing argument", "usage: app jobs pause Q"},
		{"resume two queues", []string{"resume", "a", "b"}, `resume: unexpected argument "b"`, "usage: app jobs resume Q"},
		{"workers with argument", []string{"workers", "x"}, `workers: unexpected argument "x"`, "usage: app jobs workers"},
		{"schedules bad flag", []string{"schedules", "-x"}, "schedules: flag provided but not defined: -x", "usage: app jobs schedules"},
		{"help unknown command", []string{"help", "nope"}, `help: unknown command "nope"`, "usage: app jobs help"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stdout, stderr, err := f.run(tt.args...)
			var ue *jobscli.UsageError
			if !errors.As(err, &ue) || jobscli.ExitCode(err) != 2 {
				t.Fatalf("Run(%q) = %v (exit %d); want a *UsageError, exit 2", tt.args, err, jobscli.ExitCode(err))
			}
			if err.Error() != tt.message {
				t.Errorf("Run(%q) error = %q; want %q", tt.args, err, tt.message)
			}
			if !strings.Contains(stderr, tt.usage) {
				t.Errorf("Run(%q) stderr =\n%s\nwant it to contain %q", tt.args, stderr, tt.usage)
			}
			if stdout != "" {
				t.Errorf("Run(%q) stdout = %q; want nothing", tt.args, stdout)
			}
		})
	}
	if f.logs.String() != "" {
		t.Errorf("usage errors logged actions:\n%s", f.logs.String())
	}
}

// TestHelp checks help, -h and --help print to stdout and succeed.
func TestHelp(t *testing.T) {
	t.Parallel()
	f := &fixture{t: t, insp: jobs.NewInspector(jobs.NewMemoryBackend()), logs: new(testenv.Buffer)}
	for _, tt := range []struct {
		args   []string
		golden string
	}{
		{[]string{"help"}, "help"},
		{[]string{"--help"}, "help"},
		{[]string{"-h"}, "help"},
		{[]string{"help", "ls"}, "help-ls"},
		{[]string{"ls", "-h"}, "help-ls"},
		{[]string{"ls", "--help"}, "help-ls"},
		{[]string{"help", "retry"}, "help-retry"},
	} {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			f.t = t
			out := f.mustRun(tt.args...)
			f.golden(tt.golden, out)
		})
	}
}

// TestNotFound checks every command given an unknown job id or queue:
// exit 1, the id or queue named, nothing logged as done.
func TestNotFound(t *testing.T) {
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			t.Parallel()
			b := be.new(t)
			c, err := jobs.NewClient(b, jobs.ClientConfig{})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.Enqueue(t.Context(), emailArgs{To: "a@example.com"}, jobs.Queue("email")); err != nil {
				t.Fatal(err)
			}
			f := &fixture{t: t, backend: be.name, insp: jobs.NewInspector(b), logs: new(testenv.Buffer)}
			const id = "0123456789abcdefghij"
			for _, cmd := range []string{"show", "retry", "delete", "cancel"} {
				_, stderr, err := f.run(cmd, id)
				if !errors.Is(err, jobs.ErrNotFound) || jobscli.ExitCode(err) != 1 || stderr != "" ||
					err.Error() != `no job with id "`+id+`" (unknown, or finished longer ago than its retention)` {
					t.Errorf("%s unknown id = %v (exit %d, stderr %q); want ErrNotFound naming the id, exit 1", cmd, err, jobscli.ExitCode(err), stderr)
				}
			}
			for _, args := range [][]string{
				{"ls", "--queue", "nosuch", "--state", "dead"},
				{"pause", "nosuch"},
				{"resume", "nosuch"},
				{"retry", "--all-dead", "--queue", "nosuch"},
				{"delete", "--all-dead", "--queue", "nosuch"},
			} {
				_, _, err := f.run(args...)
				if jobscli.ExitCode(err) != 1 || err == nil || err.Error() != `no queue "nosuch" (queues: email)` {
					t.Errorf("%q = %v (exit %d); want the queue named, exit 1", args, err, jobscli.ExitCode(err))
				}
			}
			if sz, err := f.insp.Sizes(t.Context(), "nosuch"); err != nil || sz.Paused {
				t.Errorf("nosuch after pause: %+v, %v; want not paused", sz, err)
			}
			if strings.Contains(f.logs.String(), `"level":"INFO"`) {
				t.Errorf("unknown targets logged as done:\n%s", f.logs.String())
			}
		})
	}
}

// TestBadCursor checks a cursor that does not parse is a usage error.
func TestBadCursor(t *testing.T) {
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			t.Parallel()
			b := be.new(t)
			c, _ := jobs.NewClient(b, jobs.ClientConfig{})
			if _, err := c.Enqueue(t.Context(), emailArgs{To: "a@example.com"}, jobs.Queue("email")); err != nil {
				t.Fatal(err)
			}
			f := &fixture{t: t, insp: jobs.NewInspector(b), logs: new(testenv.Buffer)}
			_, stderr, err := f.run("ls", "--queue", "email", "--state", "pending", "--cursor", "%%%not-a-cursor")
			if jobscli.ExitCode(err) != 2 || !strings.Contains(stderr, "usage: app jobs ls") {
				t.Errorf("ls with a bad cursor = %v (exit %d), stderr %q; want a usage error", err, jobscli.ExitCode(err), stderr)
			}
		})
	}
}

// TestEmpty checks the views of a backend with nothing in it.
func TestEmpty(t *testing.T) {
	t.Parallel()
	f := &fixture{t: t, insp: jobs.NewInspector(jobs.NewMemoryBackend()), logs: new(testenv.Buffer)}
	for args, want := range map[string]string{
		"queues":    "no queues: no job was ever enqueued\n",
		"schedules": "no schedules: no scheduler is running\n",
		"workers":   "no workers online\n",
	} {
		if got := f.mustRun(args); got != want {
			t.Errorf("%s = %q; want %q", args, got, want)
		}
		if got := f.mustRun(args, "--json"); got != "[]\n" {
			t.Errorf("%s --json = %q; want []", args, got)
		}
	}
	if _, _, err := f.run("pause", "default"); err == nil || err.Error() != `no queue "default": no job was ever enqueued` {
		t.Errorf("pause on an empty backend = %v", err)
	}
}

// TestRedisDown checks the commands fail with exit 1, not a usage error,
// when Redis does not answer.
func TestRedisDown(t *testing.T) {
	t.Parallel()
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: 200 * time.Millisecond})
	t.Cleanup(func() { rdb.Close() })
	b, err := jobs.NewRedisBackend(rdb, jobs.RedisConfig{})
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, insp: jobs.NewInspector(b), logs: new(testenv.Buffer)}
	for _, args := range [][]string{
		{"queues"}, {"ls", "--queue", "q", "--state", "dead"}, {"show", "abc"}, {"retry", "abc"},
		{"pause", "q"}, {"workers"}, {"schedules"},
	} {
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		var o, e bytes.Buffer
		err := f.command(&o, &e).Run(ctx, args)
		cancel()
		if jobscli.ExitCode(err) != 1 || !strings.Contains(err.Error(), "connect") {
			t.Errorf("%q with Redis down = %v (exit %d); want the connection error, exit 1", args, err, jobscli.ExitCode(err))
		}
	}
}

// TestNilInspector checks Run refuses a Command without an Inspector.
func TestNilInspector(t *testing.T) {
	err := jobscli.Command{}.Run(t.Context(), []string{"queues"})
	if err == nil || jobscli.ExitCode(err) != 1 {
		t.Errorf("Run without Inspector = %v; want an error", err)
	}
}
