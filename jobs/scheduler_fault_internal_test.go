package jobs

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/internal/testenv"
	"github.com/redis/go-redis/v9"
)

// tickLog records every tick enqueue a backend accepted, across instances.
type tickLog struct {
	mu sync.Mutex
	at map[string]map[time.Time][]time.Time // schedule → tick → when enqueued
}

func (l *tickLog) ticks(name string) []time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []time.Time
	for tk := range l.at[name] {
		out = append(out, tk)
	}
	slices.SortFunc(out, time.Time.Compare)
	return out
}

// recordTicks wraps a backend and records the tick enqueues it accepts.
type recordTicks struct {
	Backend
	log *tickLog
}

func (r recordTicks) enqueue(ctx context.Context, now time.Time, reqs []*enqueueReq) error {
	err := r.Backend.enqueue(ctx, now, reqs)
	if err != nil {
		return err
	}
	r.log.mu.Lock()
	defer r.log.mu.Unlock()
	for _, q := range reqs {
		if q.guard == guardTick && !q.dup {
			if r.log.at[q.gkey] == nil {
				r.log.at[q.gkey] = map[time.Time][]time.Time{}
			}
			r.log.at[q.gkey][q.gtick] = append(r.log.at[q.gkey][q.gtick], time.Now())
		}
	}
	return nil
}

// ownRedis runs a redis-server on port with an fsynced append-only file in a
// temp dir; kill stops it by its pid, start starts it again on the same data.
type ownRedis struct {
	t    *testing.T
	port int
	dir  string
	cmd  *exec.Cmd
}

func startOwnRedis(t *testing.T, port int) *ownRedis {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		testenv.Unavailable(t, "redis-server", "apt-get install redis-server", err)
	}
	s := &ownRedis{t: t, port: port, dir: t.TempDir()}
	s.start()
	t.Cleanup(s.kill)
	return s
}

func (s *ownRedis) addr() string { return "127.0.0.1:" + strconv.Itoa(s.port) }

func (s *ownRedis) start() {
	s.t.Helper()
	s.cmd = exec.Command("redis-server", "--port", strconv.Itoa(s.port), "--bind", "127.0.0.1", "--dir", s.dir,
		"--save", "", "--appendonly", "yes", "--appendfsync", "always")
	if err := s.cmd.Start(); err != nil {
		s.t.Fatalf("start redis-server: %v", err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		conn, err := net.DialTimeout("tcp", s.addr(), 100*time.Millisecond)
		if err == nil {
			conn.Close()
			return
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("redis-server on %d did not start: %v", s.port, err)
		}
	}
}

func (s *ownRedis) kill() {
	if s.cmd != nil && s.cmd.Process != nil {
		_ = s.cmd.Process.Kill()
		_ = s.cmd.Wait()
		s.cmd = nil
	}
}

type periodicArgs struct{}

func (periodicArgs) Kind() string { return "periodic" }

// TestSchedulerMisfireRedisDown stops the schedulers' Redis for 8 s across a
// tick of a 10 s schedule (longer than any retry window of the old
// scheduler), with a 1 s schedule next to it, and two scheduler instances.
// The 10 s tick is enqueued once, late, when Redis is back; the 1 s ticks
// missed during the outage are enqueued once, as the latest of them; every
// tick is enqueued once across the two instances, and the queues hold one
// job per recorded tick.
func TestSchedulerMisfireRedisDown(t *testing.T) {
	t.Parallel()
	srv := startOwnRedis(t, 7140)
	log := &tickLog{at: map[string]map[time.Time][]time.Time{}}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var wg sync.WaitGroup
	defer wg.Wait()
	var logs testenv.Buffer
	for range 2 { // two instances, each with its own Redis client, as two processes
		rdb := redis.NewClient(&redis.Options{Addr: srv.addr(), DialTimeout: 200 * time.Millisecond, MaxRetries: -1})
		defer rdb.Close()
		b, _ := NewRedisBackend(rdb, RedisConfig{})
		c, _ := NewClient(recordTicks{b, log}, ClientConfig{})
		s, _ := NewScheduler(SchedulerConfig{Client: c, Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
		for _, p := range []PeriodicJob{
			{Name: "slow", Spec: "@every 10s", Args: periodicArgs{}, Options: []Option{Queue("slow")}},
			{Name: "fast", Spec: "@every 1s", Args: periodicArgs{}, Options: []Option{Queue("fast")}},
		} {
			if err := s.Add(p); err != nil {
				t.Fatal(err)
			}
		}
		wg.Add(1)
		go func() { defer wg.Done(); _ = s.Run(ctx) }()
	}

	// T: the first 10 s boundary at least 1.5 s from now. Redis is down
	// from T-0.5s to T+7.5s; the test looks until T+9.5s, before T+10s.
	T := time.Now().Add(1500 * time.Millisecond).Truncate(10 * time.Second).Add(10 * time.Second)
	time.Sleep(time.Until(T.Add(-500 * time.Millisecond)))
	down := time.Now()
	srv.kill()
	time.Sleep(time.Until(T.Add(7500 * time.Millisecond)))
	srv.start()
	up := time.Now()
	time.Sleep(time.Until(T.Add(9500 * time.Millisecond)))
	cancel()
	wg.Wait()
	t.Logf("Redis down from %s to %s (T = %s)", down.Format("15:04:05.000"), up.Format("15:04:05.000"), T.Format("15:04:05"))

	log.mu.Lock()
	for name, ticks := range log.at {
		for tk, at := range ticks {
			if len(at) != 1 {
				t.Errorf("schedule %s tick %s enqueued %d times; want once", name, tk.Format("15:04:05"), len(at))
			}
		}
	}
	slowLate := log.at["slow"][T]
	log.mu.Unlock()

	var slow []time.Time
	for _, tk := range log.ticks("slow") {
		if tk.After(down) {
			slow = append(slow, tk)
		}
	}
	var fast []time.Time
	for _, tk := range log.ticks("fast") {
		if tk.After(down) {
			fast = append(fast, tk)
		}
	}
	t.Logf("10 s schedule ticks after Redis went down: %v, enqueued at %v; 1 s schedule: %v", fmtTimes(slow), fmtTimes(slowLate), fmtTimes(fast))
	if len(slow) != 1 || !slow[0].Equal(T) || len(slowLate) != 1 || slowLate[0].Before(up) {
		t.Errorf("10 s schedule: ticks after Redis went down = %v, tick %s enqueued at %v; want tick %s once, enqueued late after Redis came back at %s",
			fmtTimes(slow), T.Format("15:04:05"), fmtTimes(slowLate), T.Format("15:04:05"), up.Format("15:04:05.000"))
	}

	// The ticks of the outage fire once, as the latest due when Redis
	// answers again (at most one retry period after it is back), then each
	// tick on time.
	if len(fast) < 2 || fast[0].Before(up.Add(-time.Second)) || fast[0].After(up.Add(schedRetryMax)) {
		t.Errorf("1 s schedule: ticks after Redis went down = %v; want the first one (the outage's ticks, fired once) within a second before %s or %v after",
			fmtTimes(fast), up.Format("15:04:05.000"), schedRetryMax)
	}
	for i := 1; i < len(fast); i++ {
		if d := fast[i].Sub(fast[i-1]); d != time.Second {
			t.Errorf("1 s schedule: ticks %v: a gap of %v after Redis was back; want every tick", fmtTimes(fast), d)
			break
		}
	}

	rdb := redis.NewClient(&redis.Options{Addr: srv.addr()})
	defer rdb.Close()
	b, _ := NewRedisBackend(rdb, RedisConfig{})
	for _, q := range []string{"slow", "fast"} {
		s, err := b.sizes(t.Context(), q, time.Now())
		if n := len(log.ticks(q)); err != nil || s.Pending != int64(n) {
			t.Errorf("queue %s holds %d jobs, %v; want %d, one per recorded tick", q, s.Pending, err, n)
		}
	}
	if t.Failed() {
		t.Logf("scheduler logs:\n%s", logs.String())
	}
}

func fmtTimes(ts []time.Time) string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.Format("15:04:05.000")
	}
	return fmt.Sprint(out)
}

// TestSchedulerMisfireGrace: at start, a schedule's missed ticks fire once
// (as the latest) if within MisfireGrace, or are skipped with a warning and
// a TickSkipped reported to the Observer (ticks_skipped_total in jobsmetrics).
func TestSchedulerMisfireGrace(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		grace   time.Duration
		enqueue int64 // jobs enqueued for the 5 missed hourly ticks
		skipped float64
	}{
		{"default grace 1h", 0, 1, 0},
		{"no limit", -1, 1, 0},
		{"grace shorter than the lateness", time.Nanosecond, 0, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := NewMemoryBackend()
			c, _ := NewClient(b, ClientConfig{})
			hour := time.Now().Truncate(time.Hour)
			// The schedule last fired 5 hours ago: the ticks of the 4 hours
			// after it and of this hour were missed.
			if _, err := c.Enqueue(t.Context(), periodicArgs{}, Queue("h"), tickAt("hourly", hour.Add(-5*time.Hour))); err != nil {
				t.Fatal(err)
			}
			m := newCountObserver()
			var logs testenv.Buffer
			s, _ := NewScheduler(SchedulerConfig{Client: c, MisfireGrace: tt.grace, Metrics: m, Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
			if err := s.Add(PeriodicJob{Name: "hourly", Spec: "@hourly", Args: periodicArgs{}, Options: []Option{Queue("h")}}); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
			defer cancel()
			_ = s.Run(ctx)
			sz, _ := b.sizes(t.Context(), "h", time.Now())
			if got := sz.Pending - 1; got != tt.enqueue {
				t.Errorf("jobs enqueued for the missed ticks = %d; want %d", got, tt.enqueue)
			}
			if got := m.skips("hourly"); got != tt.skipped {
				t.Errorf("ticks_skipped_total{schedule=hourly} = %v; want %v", got, tt.skipped)
			}
			last, _ := b.lastTick(t.Context(), "h", "hourly")
			if tt.enqueue == 1 && !last.Equal(hour) {
				t.Errorf("last tick = %v; want this hour's %v (the latest missed)", last, hour)
			}
			if skippedLog := strings.Contains(logs.String(), "periodic tick skipped"); skippedLog != (tt.skipped > 0) {
				t.Errorf("log says a tick was skipped: %v; want %v\n%s", skippedLog, tt.skipped > 0, logs.String())
			}
		})
	}
}
