package main

import (
	"encoding/json"
	"errors"
	"io/fs"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gantry-dev/gantry/config"
	"github.com/gantry-dev/gantry/examples/app/internal/testenv"
	"github.com/gantry-dev/gantry/jobs"
	"github.com/gantry-dev/gantry/jobs/jobscli"
)

// jobsEnv sets the environment run reads, on top of test defaults, and
// returns DATA_DIR.
func jobsEnv(t *testing.T, extra map[string]string) string {
	t.Helper()
	env := map[string]string{
		"DATA_DIR":           t.TempDir(),
		"SECRET_KEY":         strings.Repeat("jobs-cli-key-", 4),
		"PASSWORD_HASH_COST": "4",
		"LOG_LEVEL":          "info",
		"LOG_FORMAT":         "json",
		"DATABASE_URL":       "",
		"REDIS_URL":          "",
	}
	maps.Copy(env, extra)
	for k, v := range env {
		t.Setenv(k, v)
	}
	return env["DATA_DIR"]
}

// runApp runs the app's command line as main does, and returns what it
// wrote and its exit status.
func runApp(t *testing.T, args ...string) (stdout, stderr string, code int, err error) {
	t.Helper()
	var o, e testenv.Buffer
	err = run(t.Context(), args, &o, &e)
	return o.String(), e.String(), jobscli.ExitCode(err), err
}

// TestJobsCommandNeedsRedis checks that `app jobs` on the embedded
// defaults says it needs REDIS_URL (the jobs live in serve's memory),
// opens nothing, and that help and usage errors still work.
func TestJobsCommandNeedsRedis(t *testing.T) {
	data := jobsEnv(t, nil)
	for _, args := range [][]string{{"jobs", "queues"}, {"jobs", "retry", "--all-dead", "--queue", "email"}} {
		stdout, _, code, err := runApp(t, args...)
		if err == nil || err.Error() != "jobs needs REDIS_URL: on the embedded defaults the jobs live in the memory of the serve process, where no other process can see them" || code != 1 {
			t.Errorf("%q without REDIS_URL = %v (exit %d); want the REDIS_URL error, exit 1", args, err, code)
		}
		if stdout != "" {
			t.Errorf("%q printed %q", args, stdout)
		}
	}
	if _, err := os.Stat(filepath.Join(data, "app.db")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("app jobs opened the database: stat app.db = %v", err)
	}

	stdout, _, code, err := runApp(t, "jobs", "help")
	if err != nil || code != 0 || !strings.Contains(stdout, "usage: app jobs COMMAND") || !strings.Contains(stdout, "retry --all-dead --queue Q") {
		t.Errorf("app jobs help = %v (exit %d):\n%s", err, code, stdout)
	}
	_, stderr, code, err := runApp(t, "jobs")
	if code != 2 || err == nil || err.Error() != "jobs: missing command" || !strings.Contains(stderr, "usage: app jobs COMMAND") {
		t.Errorf("app jobs = %v (exit %d), stderr:\n%s\nwant the usage, exit 2", err, code, stderr)
	}
}

// TestJobsCommand runs `app jobs` against Redis: it sees the jobs the app
// enqueued (same keys as serve and worker), acts on them with the action
// logged, and maps usage errors to exit 2 and unknown ids to exit 1.
func TestJobsCommand(t *testing.T) {
	_, prefix := testenv.Redis(t)
	jobsEnv(t, map[string]string{"REDIS_URL": testenv.RedisURL(), "REDIS_KEY_PREFIX": prefix})

	// Enqueue as the app does.
	cfg := new(settings)
	if err := config.Load(cfg, config.WithLogger(slog.New(slog.DiscardHandler))); err != nil {
		t.Fatal(err)
	}
	a, err := newApp(t.Context(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Close() })
	job, err := a.client.Enqueue(t.Context(), SendEmail{To: "ann@example.com", Subject: "Hi", Content: "Welcome"})
	if err != nil {
		t.Fatal(err)
	}

	stdout, stderr, code, err := runApp(t, "jobs", "queues")
	if err != nil {
		t.Fatalf("app jobs queues: %v\n%s", err, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "QUEUE ") {
		t.Fatalf("app jobs queues =\n%s\nwant a header and the email queue", stdout)
	}
	if f := strings.Fields(lines[1]); f[0] != "email" || f[1] != "no" || f[2] != "1" {
		t.Errorf("email row = %q; want email, not paused, 1 pending", lines[1])
	}

	stdout, _, _, err = runApp(t, "jobs", "ls", "--queue", "email", "--state", "pending", "--json")
	var page jobs.JobPage
	if err != nil || json.Unmarshal([]byte(stdout), &page) != nil || len(page.Jobs) != 1 || page.Jobs[0].ID != job.ID || page.Jobs[0].Kind != "send_email" {
		t.Errorf("app jobs ls --json = %v:\n%s\nwant the job %s", err, stdout, job.ID)
	}

	// The e-mail's text is hidden from operators, as on the dashboard.
	stdout, _, _, err = runApp(t, "jobs", "show", job.ID)
	if err != nil || !strings.Contains(stdout, `"content": "[redacted]"`) || strings.Contains(stdout, "Welcome") || !strings.Contains(stdout, "ann@example.com") {
		t.Errorf("app jobs show %s = %v:\n%s\nwant the address shown and the content redacted", job.ID, err, stdout)
	}

	stdout, stderr, _, err = runApp(t, "jobs", "pause", "email")
	if err != nil || stdout != "paused queue email: workers take no new jobs from it; running jobs finish\n" {
		t.Errorf("app jobs pause email = %v: %q", err, stdout)
	}
	if sz, err := a.inspect.Sizes(t.Context(), "email"); err != nil || !sz.Paused {
		t.Errorf("email after pause: paused %v, %v; want paused", sz.Paused, err)
	}
	host, _ := os.Hostname()
	var rec struct {
		Msg, Role, Action, Actor, Queue string
	}
	for line := range strings.Lines(stderr) {
		if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "jobs: pause" {
			break
		}
	}
	if rec.Msg != "jobs: pause" || rec.Role != "jobs" || rec.Queue != "email" || !strings.Contains(rec.Actor, "@"+host) {
		t.Errorf("audit line = %+v; want the pause of email by user@%s\nlog:\n%s", rec, host, stderr)
	}

	stdout, _, code, err = runApp(t, "jobs", "show", "nosuchjob")
	if code != 1 || err == nil || !strings.Contains(err.Error(), `no job with id "nosuchjob"`) || stdout != "" {
		t.Errorf("app jobs show nosuchjob = %v (exit %d), stdout %q; want the id named, exit 1", err, code, stdout)
	}
	_, stderr, code, err = runApp(t, "jobs", "ls", "--queue", "email")
	if code != 2 || err == nil || err.Error() != "jobs: ls: --state is required" || !strings.Contains(stderr, "usage: app jobs ls --queue Q --state S") {
		t.Errorf("app jobs ls without --state = %v (exit %d), stderr:\n%s\nwant the usage, exit 2", err, code, stderr)
	}
}
