package jobs_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/jobs"
)

// kdArgs is a kind with defaults for every field a call site can set.
type kdArgs struct {
	N int `json:"n"`
}

func (kdArgs) Kind() string { return "kd" }

func (kdArgs) JobDefaults() []jobs.Option {
	return []jobs.Option{jobs.Queue("kdq"), jobs.MaxRetry(2), jobs.Timeout(3 * time.Second), jobs.Retention(time.Second)}
}

// mailArgs is a kind unique per address per campaign, by a key derived from
// its args.
type mailArgs struct {
	Campaign string        `json:"campaign"`
	To       string        `json:"to"`
	TTL      time.Duration `json:"-"` // default a minute
}

func (mailArgs) Kind() string { return "kd_mail" }

func (a mailArgs) JobDefaults() []jobs.Option {
	ttl := a.TTL
	if ttl == 0 {
		ttl = time.Minute
	}
	return []jobs.Option{jobs.Unique("mail:"+a.Campaign+":"+a.To, ttl)}
}

func kdBackends() []struct {
	name string
	nb   newBackendFunc
} {
	return []struct {
		name string
		nb   newBackendFunc
	}{
		{"memory", func(*testing.T) jobs.Backend { return jobs.NewMemoryBackend() }},
		{"redis", newRedisBackend},
	}
}

func TestKindDefaults(t *testing.T) {
	for _, bk := range kdBackends() {
		t.Run(bk.name, func(t *testing.T) {
			t.Parallel()
			t.Run("AppliedAndOverridden", func(t *testing.T) { t.Parallel(); testKDOverrides(t, bk.nb) })
			t.Run("EnqueueMany", func(t *testing.T) { t.Parallel(); testKDMany(t, bk.nb) })
			t.Run("Scheduler", func(t *testing.T) { t.Parallel(); testKDScheduler(t, bk.nb) })
			t.Run("NextRetry", func(t *testing.T) { t.Parallel(); testKDNextRetry(t, bk.nb) })
			t.Run("DerivedUnique", func(t *testing.T) { t.Parallel(); testKDUnique(t, bk.nb) })
			t.Run("DerivedUniqueBurst", func(t *testing.T) { t.Parallel(); testKDUniqueBurst(t, bk.nb) })
		})
	}
}

// The kind's defaults reach the stored job and the worker; each call-site
// option overrides its own field and leaves the others at the kind's.
func testKDOverrides(t *testing.T, nb newBackendFunc) {
	e := newEnv(t, nb)
	tests := []struct {
		name      string
		opts      []jobs.Option
		queue     string
		maxRetry  int
		timeout   time.Duration
		retention bool // true: kept past the kind's 1 s retention
	}{
		{"defaults", nil, "kdq", 2, 3 * time.Second, false},
		{"queue", []jobs.Option{jobs.Queue("kdq2")}, "kdq2", 2, 3 * time.Second, false},
		{"max retry", []jobs.Option{jobs.MaxRetry(0)}, "kdq", 0, 3 * time.Second, false},
		{"timeout", []jobs.Option{jobs.Timeout(5 * time.Second)}, "kdq", 2, 5 * time.Second, false},
		{"retention", []jobs.Option{jobs.Retention(time.Hour)}, "kdq", 2, 3 * time.Second, true},
	}
	var seen sync.Map // id → timeout the worker saw
	ws := jobs.NewWorkers()
	jobs.AddWorker(ws, jobs.WorkerFunc[kdArgs](func(_ context.Context, j *jobs.Job[kdArgs]) error {
		seen.Store(j.ID, j.Timeout)
		return nil
	}))
	ids := make([]string, len(tests))
	for i, tt := range tests {
		info := e.enqueue(kdArgs{N: i}, tt.opts...)
		if info.Queue != tt.queue || info.MaxRetry != tt.maxRetry {
			t.Errorf("%s: Enqueue info queue %q max retry %d; want %q %d", tt.name, info.Queue, info.MaxRetry, tt.queue, tt.maxRetry)
		}
		ids[i] = info.ID
		got, err := e.insp.Job(t.Context(), info.ID)
		if err != nil || got.Queue != tt.queue || got.MaxRetry != tt.maxRetry {
			t.Errorf("%s: stored as %+v, %v; want queue %q max retry %d", tt.name, got, err, tt.queue, tt.maxRetry)
		}
	}
	e.run(jobs.RunnerConfig{Workers: ws, Queues: map[string]jobs.QueueConfig{"kdq": {}, "kdq2": {}}})
	for i, tt := range tests {
		e.waitState(ids[i], jobs.StateSucceeded, 10*time.Second)
		if got, _ := seen.Load(ids[i]); got != tt.timeout {
			t.Errorf("%s: worker saw timeout %v; want %v", tt.name, got, tt.timeout)
		}
	}
	for i, tt := range tests {
		if !tt.retention {
			waitFor(t, tt.name+" expiry after the kind's retention", 10*time.Second, func() bool {
				_, err := e.insp.Job(t.Context(), ids[i])
				return errors.Is(err, jobs.ErrNotFound)
			})
		}
	}
	for i, tt := range tests {
		if _, err := e.insp.Job(t.Context(), ids[i]); tt.retention && err != nil {
			t.Errorf("%s: Job after the kind's retention = %v; want kept (call-site 1 h)", tt.name, err)
		}
	}
}

// EnqueueMany applies each item's own kind defaults, under the call's options.
func testKDMany(t *testing.T, nb newBackendFunc) {
	e := newEnv(t, nb)
	args := []jobs.Args{kdArgs{N: 1}, noteArgs{N: 2}, mailArgs{Campaign: "c", To: "a@x"}, mailArgs{Campaign: "c", To: "a@x"}}
	infos, err := e.c.EnqueueMany(t.Context(), args)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		queue    string
		maxRetry int
	}{{"kdq", 2}, {"default", 25}, {"default", 25}}
	for i, w := range want {
		got, err := e.insp.Job(t.Context(), infos[i].ID)
		if err != nil || got.Queue != w.queue || got.MaxRetry != w.maxRetry {
			t.Errorf("item %d stored as %+v, %v; want queue %q max retry %d", i, got, err, w.queue, w.maxRetry)
		}
	}
	if infos[3] != nil {
		t.Errorf("item 3 (same derived unique key as item 2) = %+v; want nil (duplicate)", infos[3])
	}
	infos, err = e.c.EnqueueMany(t.Context(), []jobs.Args{kdArgs{N: 3}, noteArgs{N: 4}}, jobs.Queue("many"))
	if err != nil {
		t.Fatal(err)
	}
	for i, mr := range []int{2, 25} {
		got, err := e.insp.Job(t.Context(), infos[i].ID)
		if err != nil || got.Queue != "many" || got.MaxRetry != mr {
			t.Errorf("with Queue(many): item %d stored as %+v, %v; want queue many, max retry %d", i, got, err, mr)
		}
	}
}

// A periodic job's ticks get its kind's defaults.
func testKDScheduler(t *testing.T, nb newBackendFunc) {
	e := newEnv(t, nb)
	s, err := jobs.NewScheduler(jobs.SchedulerConfig{Client: e.c, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Add(jobs.PeriodicJob{Name: "kd", Spec: "@every 1s", Args: kdArgs{N: 1}}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { defer close(done); _ = s.Run(ctx) }()
	var got []*jobs.JobInfo
	waitFor(t, "a tick on the kind's queue", 5*time.Second, func() bool {
		got, _ = e.insp.Jobs(t.Context(), "kdq", jobs.StatePending, jobs.Page{Limit: 10})
		return len(got) > 0
	})
	cancel()
	<-done
	if got[0].Kind != "kd" || got[0].MaxRetry != 2 {
		t.Errorf("tick stored as %+v; want kind kd, max retry 2", got[0])
	}
	if d, _ := e.insp.Jobs(t.Context(), "default", jobs.StatePending, jobs.Page{Limit: 10}); len(d) != 0 {
		t.Errorf("default queue holds %d ticks; want 0", len(d))
	}
}

// delayWorker always fails and picks its retry delay with next.
type delayWorker struct {
	next func(attempt int, err error) time.Duration
	seen chan string // "attempt err" passed to NextRetry
}

func (delayWorker) Work(_ context.Context, j *jobs.Job[kdArgs]) error {
	return fmt.Errorf("boom %d", j.Attempt)
}

func (w delayWorker) NextRetry(j *jobs.Job[kdArgs], err error) time.Duration {
	w.seen <- fmt.Sprintf("%d %v", j.Attempt, err)
	return w.next(j.Attempt, err)
}

// The worker's NextRetry sets the delay of a retry; 0, negative or a panic
// falls back to the runner's policy (2 h here).
func testKDNextRetry(t *testing.T, nb newBackendFunc) {
	tests := []struct {
		name string
		next func(int, error) time.Duration
		want time.Duration
	}{
		{"worker", func(a int, _ error) time.Duration { return time.Duration(60*a) * time.Second }, time.Minute},
		{"zero", func(int, error) time.Duration { return 0 }, 2 * time.Hour},
		{"negative", func(int, error) time.Duration { return -time.Second }, 2 * time.Hour},
		{"panic", func(int, error) time.Duration { panic("oops") }, 2 * time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, nb)
			w := delayWorker{next: tt.next, seen: make(chan string, 10)}
			ws := jobs.NewWorkers()
			jobs.AddWorker[kdArgs](ws, w)
			id := e.enqueue(kdArgs{N: 1}, jobs.Queue("default")).ID
			start := time.Now()
			e.run(jobs.RunnerConfig{Workers: ws, Retry: func(int, error) time.Duration { return 2 * time.Hour }})
			info := e.waitState(id, jobs.StateRetrying, 10*time.Second)
			end := time.Now()
			if info.ProcessAt.Before(start.Add(tt.want-time.Second)) || info.ProcessAt.After(end.Add(tt.want+time.Second)) {
				t.Errorf("retry ProcessAt %v is %v after the start; want about %v", info.ProcessAt, info.ProcessAt.Sub(start), tt.want)
			}
			select {
			case s := <-w.seen:
				if s != "1 boom 1" {
					t.Errorf("NextRetry got %q; want attempt 1 and the worker's error", s)
				}
			default:
				t.Error("NextRetry was not called")
			}
		})
	}
}

// A unique key derived from the args refuses the same key within its ttl,
// accepts it after, accepts other args, and yields to a call-site Unique.
func testKDUnique(t *testing.T, nb newBackendFunc) {
	e := newEnv(t, nb)
	short := 200 * time.Millisecond
	tests := []struct {
		name  string
		args  mailArgs
		opts  []jobs.Option
		sleep time.Duration // before the enqueue
		dup   bool
	}{
		{"first", mailArgs{Campaign: "c1", To: "a@x"}, nil, 0, false},
		{"same key", mailArgs{Campaign: "c1", To: "a@x"}, nil, 0, true},
		{"other address", mailArgs{Campaign: "c1", To: "b@x"}, nil, 0, false},
		{"other campaign", mailArgs{Campaign: "c2", To: "a@x"}, nil, 0, false},
		{"call-site key", mailArgs{Campaign: "c1", To: "a@x"}, []jobs.Option{jobs.Unique("own", time.Minute)}, 0, false},
		{"call-site key again", mailArgs{Campaign: "c9", To: "z@x"}, []jobs.Option{jobs.Unique("own", time.Minute)}, 0, true},
		{"short first", mailArgs{Campaign: "c3", To: "a@x", TTL: short}, nil, 0, false},
		{"short within ttl", mailArgs{Campaign: "c3", To: "a@x", TTL: short}, nil, 0, true},
		{"short after ttl", mailArgs{Campaign: "c3", To: "a@x", TTL: short}, nil, short + 100*time.Millisecond, false},
	}
	for _, tt := range tests {
		time.Sleep(tt.sleep)
		_, err := e.c.Enqueue(t.Context(), tt.args, tt.opts...)
		if tt.dup && !errors.Is(err, jobs.ErrDuplicate) || !tt.dup && err != nil {
			t.Errorf("%s: Enqueue = %v; want duplicate %v", tt.name, err, tt.dup)
		}
	}
	s, err := e.insp.Sizes(t.Context(), "default")
	if want := int64(6); err != nil || s.Pending != want {
		t.Errorf("pending = %+v, %v; want %d", s, err, want)
	}
}

// 50 goroutines enqueueing the same derived key at once store exactly one job.
func testKDUniqueBurst(t *testing.T, nb newBackendFunc) {
	e := newEnv(t, nb)
	var ok, dup atomic.Int32
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			_, err := e.c.Enqueue(t.Context(), mailArgs{Campaign: "burst", To: "a@x"})
			switch {
			case err == nil:
				ok.Add(1)
			case errors.Is(err, jobs.ErrDuplicate):
				dup.Add(1)
			default:
				t.Errorf("Enqueue = %v", err)
			}
		}()
	}
	close(start)
	wg.Wait()
	s, err := e.insp.Sizes(t.Context(), "default")
	if ok.Load() != 1 || dup.Load() != 49 || err != nil || s.Pending != 1 {
		t.Errorf("stored %d, duplicates %d, pending %+v (%v); want 1, 49, 1", ok.Load(), dup.Load(), s, err)
	}
}
