package jobs_test

import (
	"context"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/internal/testenv"
	"github.com/gantry-dev/gantry/jobs"
)

// freshArgs is a kind that only the "new" workers of a rolling deploy know.
type freshArgs struct {
	N int `json:"n"`
}

func (freshArgs) Kind() string { return "fresh" }

// TestUnknownKindWaitsForWorker is a rolling deploy: an old runner meets a
// job of a kind it does not know. It hands the job back without using an
// attempt (the job has none to spare: MaxRetry 0), and a new runner that
// knows the kind, started next to it, runs the job once.
func TestUnknownKindWaitsForWorker(t *testing.T) {
	t.Parallel()
	for name, nb := range map[string]newBackendFunc{
		"memory": func(*testing.T) jobs.Backend { return jobs.NewMemoryBackend() },
		"redis":  newRedisBackend,
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, nb)
			old := jobs.NewWorkers()
			jobs.AddWorker(old, jobs.WorkerFunc[noteArgs](func(context.Context, *jobs.Job[noteArgs]) error { return nil }))
			var logs testenv.Buffer
			id := e.enqueue(freshArgs{N: 1}, jobs.MaxRetry(0)).ID
			e.run(jobs.RunnerConfig{Workers: old, Logger: slog.New(slog.NewJSONHandler(&logs, nil))})

			info := e.waitState(id, jobs.StateRetrying, 10*time.Second)
			if info.Attempts != 0 || !strings.Contains(info.LastError, `no worker for kind "fresh"`) {
				t.Errorf("job handed back by the old runner = attempts %d, error %q; want 0 attempts, an error saying no worker for kind \"fresh\"", info.Attempts, info.LastError)
			}
			if l := logs.String(); !strings.Contains(l, `"level":"WARN"`) || !strings.Contains(l, id) || !strings.Contains(l, "unknown to this runner") {
				t.Errorf("old runner's log = %s; want a warning with the job's id", l)
			}

			neu := jobs.NewWorkers()
			jobs.AddWorker(neu, jobs.WorkerFunc[noteArgs](func(context.Context, *jobs.Job[noteArgs]) error { return nil }))
			var runs atomic.Int32
			jobs.AddWorker(neu, jobs.WorkerFunc[freshArgs](func(context.Context, *jobs.Job[freshArgs]) error { runs.Add(1); return nil }))
			e.run(jobs.RunnerConfig{Workers: neu}) // next to the old one, which keeps running
			info = e.waitState(id, jobs.StateSucceeded, 30*time.Second)
			if info.Attempts != 1 || runs.Load() != 1 {
				t.Errorf("job after the new runner started = attempts %d, runs %d; want 1, 1", info.Attempts, runs.Load())
			}
		})
	}
}

// TestUnknownKindWaitBound: a kind nobody knows waits UnknownKindWait, then
// goes to the dead set with a clear error.
func TestUnknownKindWaitBound(t *testing.T) {
	t.Parallel()
	for name, nb := range map[string]newBackendFunc{
		"memory": func(*testing.T) jobs.Backend { return jobs.NewMemoryBackend() },
		"redis":  newRedisBackend,
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, nb)
			ws := jobs.NewWorkers()
			jobs.AddWorker(ws, jobs.WorkerFunc[noteArgs](func(context.Context, *jobs.Job[noteArgs]) error { return nil }))
			start := time.Now()
			id := e.enqueue(ghostArgs{}, jobs.MaxRetry(5)).ID
			e.run(jobs.RunnerConfig{Workers: ws, UnknownKindWait: 1500 * time.Millisecond})
			e.waitState(id, jobs.StateRetrying, 10*time.Second)
			info := e.waitState(id, jobs.StateDead, 20*time.Second)
			if d := time.Since(start); d < 1500*time.Millisecond {
				t.Errorf("dead after %v; want after UnknownKindWait 1.5 s", d)
			}
			if !strings.Contains(info.LastError, `no worker for kind "ghost" after waiting 1.5s`) || !strings.Contains(info.LastError, jobs.ErrUnknownKind.Error()) {
				t.Errorf("LastError = %q; want it to say no worker for kind \"ghost\" after waiting 1.5s, %v", info.LastError, jobs.ErrUnknownKind)
			}
		})
	}
}
