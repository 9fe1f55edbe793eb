package jobs_test

import (
	"bufio"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/internal/testenv"
	"github.com/gantry-dev/gantry/jobs"
)

// TestPanicStackStaysInLog: a job that panics stores "panic: <value>" as its
// LastError, readable by its owner; the stack goes to the log only, with the
// job's id, kind and queue.
func TestPanicStackStaysInLog(t *testing.T) {
	t.Parallel()
	for name, nb := range map[string]newBackendFunc{
		"memory": func(*testing.T) jobs.Backend { return jobs.NewMemoryBackend() },
		"redis":  newRedisBackend,
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, nb)
			ws := jobs.NewWorkers()
			jobs.AddWorker(ws, jobs.WorkerFunc[noteArgs](func(context.Context, *jobs.Job[noteArgs]) error {
				var m map[string]int
				m["boom"]++ // a real runtime panic: assignment to entry in nil map
				return nil
			}))
			id := e.enqueue(noteArgs{N: 1}, jobs.MaxRetry(1)).ID
			var logs testenv.Buffer
			e.run(jobs.RunnerConfig{Workers: ws, Logger: slog.New(slog.NewJSONHandler(&logs, nil))})

			info := e.waitState(id, jobs.StateDead, 10*time.Second)
			for _, leak := range []string{"goroutine", ".go:", "\n"} {
				if strings.Contains(info.LastError, leak) {
					t.Errorf("LastError = %q; contains %q (a stack trace)", info.LastError, leak)
				}
			}
			if want := "panic: assignment to entry in nil map"; !strings.Contains(info.LastError, want) {
				t.Errorf("LastError = %q; want it to say %q", info.LastError, want)
			}

			stacks := 0
			sc := bufio.NewScanner(strings.NewReader(logs.String()))
			sc.Buffer(nil, 1<<20)
			for sc.Scan() {
				var rec map[string]any
				if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
					t.Fatalf("log line %q: %v", sc.Text(), err)
				}
				stack, _ := rec["stack"].(string)
				if stack == "" {
					continue
				}
				stacks++
				if rec["id"] != id || rec["kind"] != "note" || rec["queue"] != "default" || rec["level"] != "ERROR" {
					t.Errorf("panic log line = %v; want level ERROR with id %s, kind note, queue default", rec, id)
				}
				if !strings.Contains(stack, "goroutine") || !strings.Contains(stack, "panic_test.go:") {
					t.Errorf("logged stack = %q; want the goroutine's stack through panic_test.go", stack)
				}
			}
			if stacks != 2 {
				t.Errorf("%d log lines with a stack; want 2 (one per attempt)\n%s", stacks, logs.String())
			}
		})
	}
}
