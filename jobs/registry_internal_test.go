package jobs

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

type regArgs struct {
	Block bool `json:"block,omitempty"`
}

func (regArgs) Kind() string { return "reg" }

// startRunner runs r until the test ends or stop is called; stop waits for
// Run to return.
func startRunner(t *testing.T, r *Runner) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.WithoutCancel(t.Context()))
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run = %v; want nil", err)
				}
			case <-time.After(20 * time.Second):
				t.Errorf("Run did not return 20 s after cancel")
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

func startScheduler(t *testing.T, s *Scheduler) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.WithoutCancel(t.Context()))
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case <-done:
			case <-time.After(20 * time.Second):
				t.Errorf("scheduler Run did not return 20 s after cancel")
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

func listWorkers(t *testing.T, insp *Inspector) []WorkerInfo {
	t.Helper()
	ws, err := insp.Workers(t.Context())
	if err != nil {
		t.Fatalf("Workers: %v", err)
	}
	return ws
}

func workerIDs(ws []WorkerInfo) []string {
	out := make([]string, len(ws))
	for i, w := range ws {
		out[i] = w.ID
	}
	return out
}

// TestInspectorWorkers runs two runners and checks what Inspector.Workers
// shows of them: their queues and concurrency, Busy following a blocking
// job, a runner whose Run returned gone at once, and one that stopped
// heartbeating without cleaning up (a crash) gone within its TTL.
func TestInspectorWorkers(t *testing.T) {
	t.Parallel()
	for _, tb := range testBackends() {
		t.Run(tb.name, func(t *testing.T) {
			t.Parallel()
			b, _ := tb.new(t)
			insp := NewInspector(b)
			c, _ := NewClient(b, ClientConfig{})
			started, release := make(chan string, 10), make(chan struct{})
			ws := NewWorkers()
			AddWorker(ws, WorkerFunc[regArgs](func(ctx context.Context, j *Job[regArgs]) error {
				started <- j.ID
				if j.Args.Block {
					<-release
				}
				return nil
			}))
			// TTL 1.5 s: a runner's last heartbeat may come up to 1 s (the
			// shortest blocking wait on Redis) before its Run returns.
			const hb = 500 * time.Millisecond
			quiet := slog.New(slog.DiscardHandler)
			r1, err := NewRunner(b, RunnerConfig{Workers: ws, Name: "mail", Concurrency: 4, LeaseDuration: time.Second, HeartbeatInterval: hb,
				Queues: map[string]QueueConfig{"a": {Priority: 3}, "b": {}}, MaintenanceInterval: 50 * time.Millisecond, IdleWait: 50 * time.Millisecond, Logger: quiet})
			if err != nil {
				t.Fatal(err)
			}
			r1.keepRecord = true // r1 "crashes": Run returns without removing its record
			r2, err := NewRunner(b, RunnerConfig{Workers: ws, Concurrency: 2, LeaseDuration: time.Second, HeartbeatInterval: hb,
				MaintenanceInterval: 50 * time.Millisecond, IdleWait: 50 * time.Millisecond, Logger: quiet})
			if err != nil {
				t.Fatal(err)
			}
			if got := listWorkers(t, insp); len(got) != 0 {
				t.Fatalf("Workers before any Run = %+v; want none", got)
			}
			before := time.Now().Add(-time.Second) // the backend's clock may differ a little
			stop1 := startRunner(t, r1)
			stop2 := startRunner(t, r2)
			var got []WorkerInfo
			regWait(t, "two workers", 5*time.Second, func() bool { got = listWorkers(t, insp); return len(got) == 2 })

			host, _ := os.Hostname()
			if got[0].ID == got[1].ID || !slices.Contains(workerIDs(got), r1.wid) || !slices.Contains(workerIDs(got), r2.wid) {
				t.Errorf("worker ids %v; want %s and %s", workerIDs(got), r1.wid, r2.wid)
			}
			if !slices.IsSortedFunc(got, func(a, b WorkerInfo) int { return strings.Compare(a.ID, b.ID) }) {
				t.Errorf("workers of one host and pid not sorted by id: %v", workerIDs(got))
			}
			for _, w := range got {
				want := WorkerInfo{ID: r2.wid, Host: host, PID: os.Getpid(), Queues: map[string]int{"default": 1}, Concurrency: 2}
				if w.ID == r1.wid {
					want = WorkerInfo{ID: r1.wid, Name: "mail", Host: host, PID: os.Getpid(), Queues: map[string]int{"a": 3, "b": 1}, Concurrency: 4}
				}
				if w.ID != want.ID || w.Name != want.Name || w.Host != want.Host || w.PID != want.PID ||
					w.Concurrency != want.Concurrency || !mapsEqual(w.Queues, want.Queues) || w.Busy != 0 {
					t.Errorf("worker = %+v; want %+v, not busy", w, want)
				}
				if !strings.HasPrefix(w.ID, host+":") || w.StartedAt.Before(before) || w.StartedAt.After(time.Now()) ||
					w.HeartbeatAt.Before(before) || w.HeartbeatAt.After(time.Now().Add(time.Second)) {
					t.Errorf("worker %s: started %v, heartbeat %v; want both since %v", w.ID, w.StartedAt, w.HeartbeatAt, before)
				}
			}

			// Busy follows a running job, refreshed at the heartbeat.
			info, err := c.Enqueue(t.Context(), regArgs{Block: true}, Queue("a"))
			if err != nil {
				t.Fatal(err)
			}
			if id := <-started; id != info.ID {
				t.Fatalf("started %s; want %s", id, info.ID)
			}
			busy := func(id string) int {
				for _, w := range listWorkers(t, insp) {
					if w.ID == id {
						return w.Busy
					}
				}
				return -1
			}
			regWait(t, "r1 busy 1", 2*time.Second, func() bool { return busy(r1.wid) == 1 })
			if n := busy(r2.wid); n != 0 {
				t.Errorf("r2 busy %d; want 0", n)
			}
			close(release)
			regWait(t, "r1 busy 0", 2*time.Second, func() bool { return busy(r1.wid) == 0 })

			// Heartbeats move HeartbeatAt.
			var hb1 time.Time
			for _, w := range listWorkers(t, insp) {
				if w.ID == r1.wid {
					hb1 = w.HeartbeatAt
				}
			}
			regWait(t, "a later heartbeat", 2*time.Second, func() bool {
				for _, w := range listWorkers(t, insp) {
					if w.ID == r1.wid && w.HeartbeatAt.After(hb1) {
						return true
					}
				}
				return false
			})

			// A runner whose Run returned is gone at once.
			stop2()
			if got := workerIDs(listWorkers(t, insp)); !slices.Equal(got, []string{r1.wid}) {
				t.Errorf("workers right after r2's Run returned = %v; want [%s]", got, r1.wid)
			}

			// A crashed runner stays until its record expires: 3 heartbeats,
			// at least 1 s, after its last.
			stop1()
			got = listWorkers(t, insp)
			if !slices.Equal(workerIDs(got), []string{r1.wid}) {
				t.Fatalf("workers right after r1 crashed = %v; want [%s] until its record expires", workerIDs(got), r1.wid)
			}
			last, ttl := got[0].HeartbeatAt, regTTL(hb)
			regWait(t, "the crashed runner's record to expire", ttl+2*time.Second, func() bool { return len(listWorkers(t, insp)) == 0 })
			// The backend's clock is this machine's (memory) or Redis's on
			// the same host: 50 ms of slack for rounding.
			if gone := time.Since(last); gone < ttl-50*time.Millisecond || gone > ttl+500*time.Millisecond {
				t.Errorf("crashed runner gone %v after its last heartbeat; want its TTL %v", gone, ttl)
			}
			if rb, ok := b.(*RedisBackend); ok {
				expectNoKeys(t, rb, rb.regKeys(regWorkers)...)
			}
		})
	}
}

func mapsEqual(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func expectNoKeys(t *testing.T, b *RedisBackend, keys ...string) {
	t.Helper()
	n, err := b.rdb.Exists(t.Context(), keys...).Result()
	if err != nil || n != 0 {
		t.Errorf("EXISTS %v = %d, %v; want 0: nothing left behind", keys, n, err)
	}
}

// TestInspectorSchedules runs two schedulers with the same entries and
// checks Inspector.Schedules: each entry listed once, with its spec, time
// zone, queue, kind and next tick; the last fire and the job it enqueued
// after a tick; entries of a scheduler whose Run returned kept while
// another runs them, and gone within their TTL once the last one crashed.
func TestInspectorSchedules(t *testing.T) {
	t.Parallel()
	for _, tb := range testBackends() {
		t.Run(tb.name, func(t *testing.T) {
			t.Parallel()
			b, _ := tb.new(t)
			insp := NewInspector(b)
			c, _ := NewClient(b, ClientConfig{})
			const hb = 100 * time.Millisecond
			ny, err := time.LoadLocation("America/New_York")
			if err != nil {
				t.Skip(err)
			}
			newSched := func() *Scheduler {
				s, err := NewScheduler(SchedulerConfig{Client: c, HeartbeatInterval: hb, Location: ny, Logger: slog.New(slog.DiscardHandler)})
				if err != nil {
					t.Fatal(err)
				}
				for _, p := range []PeriodicJob{
					{Name: "every", Spec: "@every 1s", Args: regArgs{}, Options: []Option{Queue("ticks")}},
					{Name: "nightly", Spec: "CRON_TZ=Asia/Tokyo 0 3 * * *", Args: regArgs{}},
					{Spec: "0 4 * * *", Args: fenceArgs{}},
				} {
					if err := s.Add(p); err != nil {
						t.Fatal(err)
					}
				}
				return s
			}
			s1, s2 := newSched(), newSched()
			s2.keepRecords = true
			if got, err := insp.Schedules(t.Context()); err != nil || len(got) != 0 {
				t.Fatalf("Schedules before any Run = %+v, %v; want none", got, err)
			}
			stop1, stop2 := startScheduler(t, s1), startScheduler(t, s2)
			var got []ScheduleInfo
			list := func() []ScheduleInfo {
				got, err := insp.Schedules(t.Context())
				if err != nil {
					t.Fatalf("Schedules: %v", err)
				}
				return got
			}
			regWait(t, "three schedules", 5*time.Second, func() bool { got = list(); return len(got) == 3 })
			tokyo, _ := time.LoadLocation("Asia/Tokyo")
			now := time.Now()
			want := []ScheduleInfo{
				{Name: "every", Spec: "@every 1s", TimeZone: "America/New_York", Queue: "ticks", Kind: "reg"},
				{Name: "fence", Spec: "0 4 * * *", TimeZone: "America/New_York", Queue: "default", Kind: "fence"},
				{Name: "nightly", Spec: "CRON_TZ=Asia/Tokyo 0 3 * * *", TimeZone: "Asia/Tokyo", Queue: "default", Kind: "reg"},
			}
			for i, s := range got {
				w := want[i]
				if s.Name != w.Name || s.Spec != w.Spec || s.TimeZone != w.TimeZone || s.Queue != w.Queue || s.Kind != w.Kind {
					t.Errorf("schedule %d = %+v; want %+v", i, s, w)
				}
			}
			if n := got[0].Next; n.Before(now.Add(-time.Second)) || n.After(now.Add(2*time.Second)) || n.Truncate(time.Second) != n {
				t.Errorf("every: Next = %v; want a whole second within 1 s of now (%v)", n, now)
			}
			if n := got[2].Next.In(tokyo); n.Hour() != 3 || n.Minute() != 0 || !n.After(now) || n.After(now.Add(24*time.Hour)) {
				t.Errorf("nightly: Next = %v; want the next 03:00 in Tokyo", n)
			}
			if n := got[1].Next.In(ny); n.Hour() != 4 || !n.After(now) {
				t.Errorf("fence: Next = %v; want the next 04:00 in the scheduler's Location", n)
			}
			if !got[2].LastFire.IsZero() || got[2].LastJobID != "" {
				t.Errorf("nightly never fired: LastFire %v, LastJobID %q; want zero", got[2].LastFire, got[2].LastJobID)
			}

			// After a tick: its time and the job it enqueued.
			var every ScheduleInfo
			regWait(t, "a fire of every", 4*time.Second, func() bool {
				every = list()[0]
				return !every.LastFire.IsZero() && every.LastJobID != ""
			})
			if every.LastFire.Truncate(time.Second) != every.LastFire || every.LastFire.After(time.Now()) {
				t.Errorf("every: LastFire = %v; want a past whole second", every.LastFire)
			}
			job, err := insp.Job(t.Context(), every.LastJobID)
			if err != nil || job.Kind != "reg" || job.Queue != "ticks" {
				t.Errorf("every's last job %s = %+v, %v; want a reg job in ticks", every.LastJobID, job, err)
			}
			if tick, err := b.lastTick(t.Context(), "ticks", "every"); err != nil || !tick.Equal(every.LastFire) {
				// The fire may have moved on meanwhile; it never lags the stored tick by more than a second.
				if err != nil || tick.Sub(every.LastFire) > time.Second {
					t.Errorf("lastTick = %v, %v; want LastFire %v", tick, err, every.LastFire)
				}
			}
			regWait(t, "Next after LastFire", 3*time.Second, func() bool {
				e := list()[0]
				return e.Next.Equal(e.LastFire.Add(time.Second))
			})

			// One scheduler's Run returns: the other still lists them.
			stop1()
			if got := list(); len(got) != 3 {
				t.Errorf("schedules after s1 stopped = %d; want 3 (s2 runs them)", len(got))
			}
			// The last one crashes: its entries expire.
			stop2()
			crashed := time.Now()
			if got := list(); len(got) != 3 {
				t.Errorf("schedules right after s2 crashed = %d; want 3 until they expire", len(got))
			}
			ttl := regTTL(hb)
			regWait(t, "the crashed scheduler's entries to expire", ttl+time.Second, func() bool { return len(list()) == 0 })
			if d := time.Since(crashed); d < ttl/2 {
				t.Errorf("entries gone after %v; want them kept about %v", d, ttl)
			}
			if rb, ok := b.(*RedisBackend); ok {
				expectNoKeys(t, rb, rb.regKeys(regSchedules)...)
			}

			// A new scheduler shows the last fire and job of the old ones
			// at once.
			last := list
			s3 := newSched()
			stop3 := startScheduler(t, s3)
			defer stop3()
			regWait(t, "schedules of s3", 5*time.Second, func() bool { got = last(); return len(got) == 3 })
			if got[0].LastFire.Before(every.LastFire) {
				t.Errorf("every after a restart: LastFire %v; want at least %v", got[0].LastFire, every.LastFire)
			}
			// s3 may have fired meanwhile: its job id follows its tick.
			regWait(t, "every's last job id", 3*time.Second, func() bool { e := last()[0]; return e.LastJobID != "" })
		})
	}
}

// TestRegistryRecords covers the storage under Workers and Schedules:
// records stored, replaced, deleted, expired by the backend's clock; a
// record that is not JSON skipped; last fires that never go back in time and
// that give way to a later tick enqueued without one.
func TestRegistryRecords(t *testing.T) {
	t.Parallel()
	for _, tb := range testBackends() {
		t.Run(tb.name, func(t *testing.T) {
			t.Parallel()
			b, _ := tb.new(t)
			rb := b.(registryBackend)
			ctx := t.Context()
			ids := func() []string {
				recs, err := rb.records(ctx, regWorkers)
				if err != nil {
					t.Fatal(err)
				}
				var out []string
				for _, r := range recs {
					out = append(out, r.id+"="+string(r.data))
				}
				slices.Sort(out)
				return out
			}
			put := func(ttl time.Duration, kv ...string) {
				t.Helper()
				var recs []regRecord
				for i := 0; i < len(kv); i += 2 {
					recs = append(recs, regRecord{id: kv[i], data: []byte(kv[i+1])})
				}
				if err := rb.putRecords(ctx, regWorkers, recs, ttl); err != nil {
					t.Fatal(err)
				}
			}
			put(time.Hour, "a", `{"host":"h1","pid":2}`, "b", `{"host":"h1","pid":1}`)
			put(time.Hour, "a", `{"host":"h0","pid":9}`) // replaces a
			put(300*time.Millisecond, "c", `not json`)
			if got, want := ids(), []string{`a={"host":"h0","pid":9}`, `b={"host":"h1","pid":1}`, "c=not json"}; !slices.Equal(got, want) {
				t.Errorf("records = %v; want %v", got, want)
			}
			if rs, err := rb.records(ctx, regSchedules); err != nil || len(rs) != 0 {
				t.Errorf("schedule records = %v, %v; want none (sets are separate)", rs, err)
			}
			insp := NewInspector(b)
			ws, err := insp.Workers(ctx)
			if err != nil || len(ws) != 2 || ws[0].ID != "a" || ws[1].ID != "b" {
				t.Errorf("Workers = %+v, %v; want a (h0) then b (h1), the record that is not JSON skipped", ws, err)
			}
			if rbr, ok := b.(*RedisBackend); ok {
				keys := rbr.regKeys(regWorkers)
				if n, err := rbr.rdb.HLen(ctx, keys[0]).Result(); err != nil || n != 3 {
					t.Errorf("HLEN %s = %d, %v; want 3", keys[0], n, err)
				}
				if n, err := rbr.rdb.ZCard(ctx, keys[1]).Result(); err != nil || n != 3 {
					t.Errorf("ZCARD %s = %d, %v; want 3", keys[1], n, err)
				}
				if !strings.Contains(keys[0], "{reg}") || !strings.HasPrefix(keys[1], keys[0]) {
					t.Errorf("keys %v; want one hash tag {reg}", keys)
				}
			}
			time.Sleep(400 * time.Millisecond)
			if got, want := ids(), []string{`a={"host":"h0","pid":9}`, `b={"host":"h1","pid":1}`}; !slices.Equal(got, want) {
				t.Errorf("records after c's TTL = %v; want %v", got, want)
			}
			if rbr, ok := b.(*RedisBackend); ok { // the read dropped c for good
				if n, err := rbr.rdb.HLen(ctx, rbr.regKeys(regWorkers)[0]).Result(); err != nil || n != 2 {
					t.Errorf("HLEN after expiry = %d, %v; want 2", n, err)
				}
			}
			if err := rb.delRecords(ctx, regWorkers, []string{"a", "b", "unknown"}); err != nil {
				t.Fatal(err)
			}
			if got := ids(); len(got) != 0 {
				t.Errorf("records after delete = %v; want none", got)
			}
			if rbr, ok := b.(*RedisBackend); ok {
				expectNoKeys(t, rbr, rbr.regKeys(regWorkers)...)
			}

			// Last fires.
			t0 := time.UnixMilli(1_700_000_000_000)
			keys := []schedKey{{"q1", "s"}, {"q1", "never"}, {"q2", "s"}}
			fires := func() []lastFire {
				t.Helper()
				f, err := rb.lastFires(ctx, keys)
				if err != nil {
					t.Fatal(err)
				}
				return f
			}
			if got := fires(); !slices.Equal(got, make([]lastFire, 3)) {
				t.Errorf("lastFires before any = %+v; want zeros", got)
			}
			c, _ := NewClient(b, ClientConfig{})
			tick := func(q string, at time.Time) string {
				t.Helper()
				info, err := c.Enqueue(ctx, regArgs{}, Queue(q), tickAt("s", at))
				if err != nil {
					t.Fatal(err)
				}
				return info.ID
			}
			id1 := tick("q1", t0)
			_ = rb.setLastFire(ctx, "q1", "s", t0, id1)
			id2 := tick("q1", t0.Add(time.Second))
			_ = rb.setLastFire(ctx, "q1", "s", t0.Add(time.Second), id2)
			_ = rb.setLastFire(ctx, "q1", "s", t0, id1) // late, older: ignored
			id3 := tick("q2", t0)
			_ = rb.setLastFire(ctx, "q2", "s", t0, id3)
			want := []lastFire{{t0.Add(time.Second), id2}, {}, {t0, id3}}
			if got := fires(); !slices.EqualFunc(got, want, lastFireEqual) {
				t.Errorf("lastFires = %+v; want %+v", got, want)
			}
			// A later tick enqueued whose job id was never recorded (the
			// scheduler died in between): its time, no job id.
			tick("q2", t0.Add(time.Minute))
			want[2] = lastFire{tick: t0.Add(time.Minute)}
			if got := fires(); !slices.EqualFunc(got, want, lastFireEqual) {
				t.Errorf("lastFires after an unrecorded tick = %+v; want %+v", got, want)
			}
		})
	}
}

func lastFireEqual(a, b lastFire) bool { return a.tick.Equal(b.tick) && a.jobID == b.jobID }

// TestRegistryRedisDown: with Redis unreachable, Workers and Schedules
// return an error, and a runner and a scheduler still start and stop.
func TestRegistryRedisDown(t *testing.T) {
	t.Parallel()
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: 200 * time.Millisecond})
	defer rdb.Close()
	b, err := NewRedisBackend(rdb, RedisConfig{Prefix: "down:"})
	if err != nil {
		t.Fatal(err)
	}
	insp := NewInspector(b)
	if ws, err := insp.Workers(t.Context()); err == nil || !strings.Contains(err.Error(), "list workers") {
		t.Errorf("Workers = %v, %v; want an error", ws, err)
	}
	if ss, err := insp.Schedules(t.Context()); err == nil || !strings.Contains(err.Error(), "list schedules") {
		t.Errorf("Schedules = %v, %v; want an error", ss, err)
	}
	ws := NewWorkers()
	AddWorker(ws, WorkerFunc[regArgs](func(context.Context, *Job[regArgs]) error { return nil }))
	r, err := NewRunner(b, RunnerConfig{Workers: ws, HeartbeatInterval: 50 * time.Millisecond, LeaseDuration: time.Second, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	c, _ := NewClient(b, ClientConfig{})
	s, _ := NewScheduler(SchedulerConfig{Client: c, HeartbeatInterval: 50 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)})
	_ = s.Add(PeriodicJob{Spec: "@every 1s", Args: regArgs{}})
	start := time.Now()
	stopR, stopS := startRunner(t, r), startScheduler(t, s)
	time.Sleep(300 * time.Millisecond)
	stopR()
	stopS()
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("runner and scheduler on a Redis that is down took %v to start and stop; want a few hundred ms", d)
	}
}

// noRegistry is a Backend that keeps no records.
type noRegistry struct{ Backend }

func TestInspectorNoRegistry(t *testing.T) {
	insp := NewInspector(noRegistry{NewMemoryBackend()})
	if _, err := insp.Workers(t.Context()); !errors.Is(err, errNoRegistry) {
		t.Errorf("Workers = %v; want errNoRegistry", err)
	}
	if _, err := insp.Schedules(t.Context()); !errors.Is(err, errNoRegistry) {
		t.Errorf("Schedules = %v; want errNoRegistry", err)
	}
}

func regWait(t *testing.T, what string, within time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", within, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestWorkersBurst starts 16 runners at once and stops them at once: while
// they run, Workers lists each once; once every Run returned, none.
func TestWorkersBurst(t *testing.T) {
	t.Parallel()
	for _, tb := range testBackends() {
		t.Run(tb.name, func(t *testing.T) {
			t.Parallel()
			b, _ := tb.new(t)
			insp := NewInspector(b)
			ws := NewWorkers()
			AddWorker(ws, WorkerFunc[regArgs](func(context.Context, *Job[regArgs]) error { return nil }))
			const n = 16
			runners := make([]*Runner, n)
			want := make([]string, n)
			for i := range runners {
				r, err := NewRunner(b, RunnerConfig{Workers: ws, Concurrency: 1, HeartbeatInterval: 100 * time.Millisecond, LeaseDuration: time.Second,
					IdleWait: 50 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)})
				if err != nil {
					t.Fatal(err)
				}
				runners[i], want[i] = r, r.wid
			}
			slices.Sort(want)
			stops := make([]func(), n)
			var wg sync.WaitGroup
			for i, r := range runners {
				wg.Go(func() { stops[i] = startRunner(t, r) })
			}
			wg.Wait()
			regWait(t, "16 workers", 5*time.Second, func() bool { return len(listWorkers(t, insp)) == n })
			if got := workerIDs(listWorkers(t, insp)); !slices.Equal(got, want) {
				t.Errorf("workers = %v; want %v", got, want)
			}
			for _, stop := range stops {
				wg.Go(stop)
			}
			wg.Wait()
			if got := listWorkers(t, insp); len(got) != 0 {
				t.Errorf("workers after every Run returned = %v; want none", workerIDs(got))
			}
		})
	}
}
