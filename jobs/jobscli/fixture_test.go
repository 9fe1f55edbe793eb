package jobscli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/internal/testenv"
	"github.com/gantry-dev/gantry/jobs"
	"github.com/gantry-dev/gantry/jobs/jobscli"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata")

// The job kinds of the fixture.
type reportArgs struct {
	Day string `json:"day"`
}

func (reportArgs) Kind() string { return "report" }

type chargeArgs struct {
	Card   string `json:"card"`
	Amount int    `json:"amount"`
}

func (chargeArgs) Kind() string { return "charge" }

type exportArgs struct {
	Table string `json:"table"`
}

func (exportArgs) Kind() string { return "export" }

type emailArgs struct {
	To      string `json:"to"`
	Subject string `json:"subject"`
}

func (emailArgs) Kind() string { return "send_email" }

type ghostArgs struct{}

func (ghostArgs) Kind() string { return "ghost" } // no worker knows it

// backends are the backends every test runs on.
var backends = []struct {
	name string
	new  func(t *testing.T) jobs.Backend
}{
	{"memory", func(*testing.T) jobs.Backend { return jobs.NewMemoryBackend() }},
	{"redis", func(t *testing.T) jobs.Backend {
		rdb, prefix := testenv.Redis(t)
		b, err := jobs.NewRedisBackend(rdb, jobs.RedisConfig{Prefix: prefix})
		if err != nil {
			t.Fatalf("NewRedisBackend: %v", err)
		}
		return b
	}},
}

// fixture is a backend seeded with jobs in every state, a runner serving
// queue "default" and a scheduler.
type fixture struct {
	t       *testing.T
	backend string
	b       jobs.Backend
	client  *jobs.Client
	insp    *jobs.Inspector
	ids     map[string]string // label → job id
	logs    *testenv.Buffer   // the Command's JSON log
	// cancelled receives the context cause of the running export job.
	cancelled  chan error
	stopRunner func()
}

const actor = "tester@test-host"

// seed fills b:
//
//	default: ok-1, ok-2 succeeded; dead-1, dead-2 (charge), dead-3 (ghost)
//	         dead; retrying (charge, next try in 2 h); running (export,
//	         progress 40/100); scheduled (in 2 h); cancelled
//	email:   pending-1..3 (send_email), the queue paused
//
// and runs a runner (default=1, concurrency 4) and a scheduler with one
// periodic job, "nightly-report", until the test ends.
func seed(t *testing.T, backend string, b jobs.Backend) *fixture {
	t.Helper()
	ctx := t.Context()
	client, err := jobs.NewClient(b, jobs.ClientConfig{})
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, backend: backend, b: b, client: client, insp: jobs.NewInspector(b),
		ids: map[string]string{}, logs: new(testenv.Buffer), cancelled: make(chan error, 1)}

	ws := jobs.NewWorkers()
	jobs.AddWorker(ws, jobs.WorkerFunc[reportArgs](func(ctx context.Context, j *jobs.Job[reportArgs]) error {
		return j.SetResult(map[string]any{"rows": 42, "day": j.Args.Day})
	}))
	jobs.AddWorker(ws, jobs.WorkerFunc[chargeArgs](func(ctx context.Context, j *jobs.Job[chargeArgs]) error {
		return errors.New("card declined: insufficient funds")
	}))
	jobs.AddWorker(ws, jobs.WorkerFunc[exportArgs](func(ctx context.Context, j *jobs.Job[exportArgs]) error {
		if err := j.Progress(ctx, 40, 100, "rows exported"); err != nil {
			return err
		}
		<-ctx.Done()
		select {
		case f.cancelled <- context.Cause(ctx):
		default:
		}
		return ctx.Err()
	}))
	r, err := jobs.NewRunner(b, jobs.RunnerConfig{
		Workers:             ws,
		Queues:              map[string]jobs.QueueConfig{"default": {}},
		Concurrency:         4,
		HeartbeatInterval:   100 * time.Millisecond,
		MaintenanceInterval: 50 * time.Millisecond,
		ShutdownTimeout:     200 * time.Millisecond,
		UnknownKindWait:     -1,
		Retry:               func(int, error) time.Duration { return 2 * time.Hour },
		Logger:              slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	f.stopRunner = goRun(t, r.Run)

	tokyo, err := time.LoadLocation("Asia/Tokyo")
	if err != nil {
		t.Fatal(err)
	}
	s, err := jobs.NewScheduler(jobs.SchedulerConfig{Client: client, Location: tokyo, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	// Once a year, so that it never fires while the test runs.
	if err := s.Add(jobs.PeriodicJob{Name: "nightly-report", Spec: "0 3 1 1 *", Args: reportArgs{Day: "new-year"}}); err != nil {
		t.Fatal(err)
	}
	goRun(t, s.Run)

	// One at a time, each waited for, so that the lists' order is fixed.
	f.enqueue("ok-1", reportArgs{Day: "2026-12-05"}, jobs.StateSucceeded)
	f.enqueue("ok-2", reportArgs{Day: "2026-12-06"}, jobs.StateSucceeded)
	f.enqueue("dead-1", chargeArgs{Card: "4242", Amount: 1999}, jobs.StateDead, jobs.MaxRetry(0))
	f.enqueue("dead-2", chargeArgs{Card: "4000", Amount: 500}, jobs.StateDead, jobs.MaxRetry(0))
	f.enqueue("dead-3", ghostArgs{}, jobs.StateDead, jobs.MaxRetry(0))
	f.enqueue("retrying", chargeArgs{Card: "5555", Amount: 250}, jobs.StateRetrying, jobs.MaxRetry(3))
	f.enqueue("running", exportArgs{Table: "orders"}, jobs.StateActive)
	waitFor(t, "the export's progress", func() bool {
		info, err := f.insp.Job(ctx, f.ids["running"])
		return err == nil && info.Progress != nil
	})
	f.enqueue("scheduled", reportArgs{Day: "2026-12-08"}, jobs.StateScheduled, jobs.Delay(2*time.Hour))
	f.enqueue("cancelled", reportArgs{Day: "2026-12-09"}, jobs.StateScheduled, jobs.Delay(2*time.Hour))
	if err := f.insp.Cancel(ctx, f.ids["cancelled"]); err != nil {
		t.Fatal(err)
	}
	for i, to := range []string{"ann@example.com", "bob@example.com", "cy@example.com"} {
		f.enqueue("pending-"+strconv.Itoa(i+1), emailArgs{To: to, Subject: "Welcome"}, jobs.StatePending, jobs.Queue("email"))
	}
	if err := f.insp.Pause(ctx, "email"); err != nil {
		t.Fatal(err)
	}
	return f
}

// enqueue enqueues a job under label and waits until it is in state want.
func (f *fixture) enqueue(label string, args jobs.Args, want jobs.State, opts ...jobs.Option) {
	f.t.Helper()
	info, err := f.client.Enqueue(f.t.Context(), args, opts...)
	if err != nil {
		f.t.Fatalf("Enqueue %s: %v", label, err)
	}
	id := info.ID
	f.ids[label] = id
	waitFor(f.t, label+" "+string(want), func() bool {
		info, err := f.insp.Job(f.t.Context(), id)
		return err == nil && info.State == want
	})
	// Lists order by millisecond times; a job done within the millisecond
	// of the one before would tie with it, in an order of their ids.
	time.Sleep(3 * time.Millisecond)
}

// goRun runs fn until the test ends, and returns a stop that cancels it
// and waits for it.
func goRun(t *testing.T, fn func(context.Context) error) (stop func()) {
	ctx, cancel := context.WithCancel(context.WithoutCancel(t.Context()))
	done := make(chan struct{})
	go func() { defer close(done); _ = fn(ctx) }()
	stop = func() { cancel(); <-done }
	t.Cleanup(stop)
	return stop
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// command returns the Command under test, writing to out.
func (f *fixture) command(stdout, stderr *bytes.Buffer) jobscli.Command {
	return jobscli.Command{
		Inspector: f.insp,
		Name:      "app jobs",
		Stdout:    stdout,
		Stderr:    stderr,
		Actor:     actor,
		Logger:    slog.New(slog.NewJSONHandler(f.logs, nil)),
		Now:       func() time.Time { return time.Now().UTC() },
		// Hide the card of charges and the address of emails.
		Redact: func(kind string, payload json.RawMessage) json.RawMessage {
			field := map[string]string{"charge": "card", "send_email": "to"}[kind]
			var m map[string]any
			if field == "" || json.Unmarshal(payload, &m) != nil {
				return payload
			}
			m[field] = "[redacted]"
			out, _ := json.Marshal(m)
			return out
		},
	}
}

// run runs one command line and returns its output.
func (f *fixture) run(args ...string) (stdout, stderr string, err error) {
	var o, e bytes.Buffer
	err = f.command(&o, &e).Run(f.t.Context(), args)
	return o.String(), e.String(), err
}

// mustRun runs a command line that must succeed.
func (f *fixture) mustRun(args ...string) string {
	f.t.Helper()
	out, stderr, err := f.run(args...)
	if err != nil {
		f.t.Fatalf("%s: %v\nstderr: %s", strings.Join(args, " "), err, stderr)
	}
	if stderr != "" {
		f.t.Errorf("%s wrote to stderr: %s", strings.Join(args, " "), stderr)
	}
	return out
}

var (
	reTime = regexp.MustCompile(`\d{4}-\d\d-\d\d \d\d:\d\d(:\d\d)?( [A-Z]{3,5}| [+-]\d{4})?|[A-Z][a-z]{2} \d\d \d\d:\d\d|\d\d:\d\d:\d\d`)
	reDur  = regexp.MustCompile(`<?\b\d+[dhms](\d+[hms])?\b`)
	reCur  = regexp.MustCompile(`--cursor (\S+)`)
	reID   = regexp.MustCompile(`\b[0-9a-v]{20}\b`)
	reCols = regexp.MustCompile(` {2,}`)
)

// normalize makes output comparable across runs: job ids become their
// labels, times <time>, durations <d>, the host and pid <host> and <pid>,
// cursors <cursor>; then the columns are aligned again, since the values
// replaced had other widths.
func (f *fixture) normalize(s string) string {
	for label, id := range f.ids {
		s = strings.ReplaceAll(s, id, "<"+label+">")
	}
	s = reID.ReplaceAllString(s, "<id>")
	s = reCur.ReplaceAllString(s, "--cursor <cursor>")
	s = reTime.ReplaceAllString(s, "<time>")
	s = reDur.ReplaceAllString(s, "<d>")
	host, _ := os.Hostname()
	pid := strconv.Itoa(os.Getpid())
	return realign(s, func(cell string) string {
		switch cell {
		case host:
			return "<host>"
		case pid:
			return "<pid>"
		}
		return cell
	})
}

// realign splits lines into cells at runs of two or more spaces and
// aligns runs of lines with the same number of cells, left, with the
// first line's indent.
func realign(s string, cell func(string) string) string {
	type row struct {
		indent string
		cells  []string
	}
	var rows []row
	for line := range strings.Lines(s) {
		line = strings.TrimRight(line, "\n")
		rest := strings.TrimLeft(line, " ")
		r := row{indent: line[:len(line)-len(rest)]}
		if rest != "" {
			r.cells = reCols.Split(rest, -1)
		}
		for i := range r.cells {
			r.cells[i] = cell(r.cells[i])
		}
		rows = append(rows, r)
	}
	var b strings.Builder
	for i := 0; i < len(rows); {
		j := i + 1
		for j < len(rows) && len(rows[j].cells) > 1 && len(rows[j].cells) == len(rows[i].cells) {
			j++
		}
		widths := make([]int, len(rows[i].cells))
		for _, r := range rows[i:j] {
			for k, c := range r.cells {
				widths[k] = max(widths[k], len([]rune(c)))
			}
		}
		for _, r := range rows[i:j] {
			line := rows[i].indent
			for k, c := range r.cells {
				if k < len(r.cells)-1 {
					c += strings.Repeat(" ", widths[k]-len([]rune(c))+2)
				}
				line += c
			}
			b.WriteString(line + "\n")
		}
		i = j
	}
	return b.String()
}

// golden compares got, normalized, with testdata/<backend>/<name>.golden,
// or rewrites the file with -update. Without a backend (help texts) the
// output is compared as it is, with testdata/<name>.golden.
func (f *fixture) golden(name, got string) {
	f.t.Helper()
	if f.backend != "" {
		got = f.normalize(got)
	}
	path := filepath.Join("testdata", f.backend, name+".golden")
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			f.t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			f.t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		f.t.Fatalf("%v (run go test -update to write it)", err)
	}
	if got != string(want) {
		f.t.Errorf("%s: output differs from %s (normalized):\n--- got\n%s--- want\n%s", name, path, got, want)
	}
}

// decode decodes one JSON value of the output into v, the way a script
// reads it: by the JSON field names.
func decode(t *testing.T, out string, v any) {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(out))
	if err := dec.Decode(v); err != nil {
		t.Fatalf("decode %T: %v\n%s", v, err, out)
	}
}
