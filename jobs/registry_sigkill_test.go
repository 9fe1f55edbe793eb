package jobs_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/internal/testenv"
	"github.com/gantry-dev/gantry/jobs"
)

// TestWorkerRecordSIGKILL starts a runner in another process, sees it in
// Inspector.Workers with its pid, SIGKILLs it, and sees its record expire
// 3 heartbeat intervals after its last heartbeat, by Redis's clock.
func TestWorkerRecordSIGKILL(t *testing.T) {
	t.Parallel()
	rdb, prefix := testenv.Redis(t)
	b, _ := jobs.NewRedisBackend(rdb, jobs.RedisConfig{Prefix: prefix})
	insp := jobs.NewInspector(b)
	const heartbeat, ttl = 500 * time.Millisecond, 1500 * time.Millisecond
	cmd := helper(t, prefix, 3, time.Second, 2*time.Second, heartbeat)
	pid := cmd.Process.Pid
	var ws []jobs.WorkerInfo
	waitFor(t, "the helper's worker record", 20*time.Second, func() bool {
		var err error
		ws, err = insp.Workers(t.Context())
		return err == nil && len(ws) == 1
	})
	w := ws[0]
	if w.PID != pid || w.Concurrency != 3 || len(w.Queues) != 1 || w.Queues["default"] != 1 ||
		!strings.HasPrefix(w.ID, w.Host+":"+strconv.Itoa(pid)+":") {
		t.Errorf("worker = %+v; want pid %d, concurrency 3, queue default", w, pid)
	}
	// Its heartbeats go on.
	waitFor(t, "a later heartbeat", 5*time.Second, func() bool {
		ws, err := insp.Workers(t.Context())
		return err == nil && len(ws) == 1 && ws[0].HeartbeatAt.After(w.HeartbeatAt)
	})
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	ws, err := insp.Workers(t.Context())
	if err != nil || len(ws) != 1 {
		t.Fatalf("Workers right after SIGKILL = %+v, %v; want the record until it expires", ws, err)
	}
	last := ws[0].HeartbeatAt
	waitFor(t, "the killed worker's record to expire", ttl+5*time.Second, func() bool {
		ws, err := insp.Workers(t.Context())
		return err == nil && len(ws) == 0
	})
	if gone := time.Since(last); gone < ttl-50*time.Millisecond || gone > ttl+500*time.Millisecond {
		t.Errorf("killed worker gone %v after its last heartbeat; want its TTL %v", gone, ttl)
	}
	if n, err := rdb.Exists(t.Context(), prefix+"{reg}:workers", prefix+"{reg}:workers:x").Result(); err != nil || n != 0 {
		t.Errorf("EXISTS worker keys = %d, %v; want 0 once the record expired", n, err)
	}
}
