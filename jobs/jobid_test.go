package jobs_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/jobs"
)

func TestJobID(t *testing.T) {
	for _, bk := range kdBackends() {
		t.Run(bk.name, func(t *testing.T) {
			t.Parallel()
			t.Run("RefusedWhileKnown", func(t *testing.T) { t.Parallel(); testJobIDStates(t, bk.nb) })
			t.Run("AcceptedAfterRetention", func(t *testing.T) { t.Parallel(); testJobIDRetention(t, bk.nb) })
			t.Run("Burst", func(t *testing.T) { t.Parallel(); testJobIDBurst(t, bk.nb) })
			t.Run("EnqueueMany", func(t *testing.T) { t.Parallel(); testJobIDMany(t, bk.nb) })
		})
	}
}

// A job enqueued with JobID keeps that id, and a second enqueue with it is
// refused in every state the job passes through: pending, scheduled,
// succeeded within retention, dead.
func testJobIDStates(t *testing.T, nb newBackendFunc) {
	e := newEnv(t, nb)
	ctx := t.Context()
	dup := func(id string, opts ...jobs.Option) {
		t.Helper()
		_, err := e.c.Enqueue(ctx, noteArgs{N: 2}, append(opts, jobs.JobID(id))...)
		if !errors.Is(err, jobs.ErrDuplicate) {
			t.Fatalf("second Enqueue(JobID %q) = %v; want ErrDuplicate", id, err)
		}
	}
	info := e.enqueue(noteArgs{N: 1}, jobs.JobID("order-1"))
	if info.ID != "order-1" {
		t.Fatalf("ID = %q; want order-1", info.ID)
	}
	dup("order-1")
	dup("order-1", jobs.Delay(time.Hour)) // the guard does not depend on the new job's options
	e.enqueue(noteArgs{N: 1}, jobs.JobID("later-1"), jobs.Delay(time.Hour))
	dup("later-1")
	e.enqueue(noteArgs{N: 1}, jobs.JobID("fails-1"), jobs.MaxRetry(0))

	var runs atomic.Int32
	w := jobs.NewWorkers()
	jobs.AddWorker(w, jobs.WorkerFunc[noteArgs](func(_ context.Context, j *jobs.Job[noteArgs]) error {
		runs.Add(1)
		if j.ID == "fails-1" {
			return errors.New("boom")
		}
		return nil
	}))
	e.run(jobs.RunnerConfig{Workers: w})
	e.waitState("order-1", jobs.StateSucceeded, 5*time.Second)
	e.waitState("fails-1", jobs.StateDead, 5*time.Second)
	dup("order-1")
	dup("fails-1")
	time.Sleep(100 * time.Millisecond)
	if n := runs.Load(); n != 2 {
		t.Errorf("runs = %d; want 2 (each id once)", n)
	}
}

// After the finished job's retention the id is free again.
func testJobIDRetention(t *testing.T, nb newBackendFunc) {
	e := newEnv(t, nb)
	w := jobs.NewWorkers()
	jobs.AddWorker(w, jobs.WorkerFunc[noteArgs](func(context.Context, *jobs.Job[noteArgs]) error { return nil }))
	e.run(jobs.RunnerConfig{Workers: w})
	e.enqueue(noteArgs{}, jobs.JobID("short"), jobs.Retention(200*time.Millisecond))
	e.waitState("short", jobs.StateSucceeded, 5*time.Second)
	waitFor(t, "the id to be free after retention", 5*time.Second, func() bool {
		_, err := e.c.Enqueue(t.Context(), noteArgs{}, jobs.JobID("short"), jobs.Retention(200*time.Millisecond))
		return err == nil
	})
}

// 50 goroutines enqueue one id at once: exactly one job is stored.
func testJobIDBurst(t *testing.T, nb newBackendFunc) {
	e := newEnv(t, nb)
	var ok, dup atomic.Int32
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			_, err := e.c.Enqueue(t.Context(), noteArgs{}, jobs.JobID("burst.1"))
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
		t.Errorf("stored %d, duplicates %d, sizes %+v (%v); want 1, 49, 1 pending", ok.Load(), dup.Load(), s, err)
	}
}

// In one EnqueueMany the second item with an id already used in the batch
// is refused, and an invalid id fails the whole call before anything is
// stored.
func testJobIDMany(t *testing.T, nb newBackendFunc) {
	e := newEnv(t, nb)
	ctx := t.Context()
	c := e.c
	infos, err := c.EnqueueMany(ctx, []jobs.Args{noteArgs{N: 1}}, jobs.JobID("m-1"))
	if err != nil || infos[0] == nil || infos[0].ID != "m-1" {
		t.Fatalf("EnqueueMany = %v, %v", infos, err)
	}
	infos, err = c.EnqueueMany(ctx, []jobs.Args{noteArgs{N: 1}, noteArgs{N: 2}}, jobs.JobID("m-2"))
	if err != nil || infos[0] == nil || infos[1] != nil {
		t.Fatalf("EnqueueMany of one id twice = %v, %v; want the first stored, the second refused", infos, err)
	}
	for _, bad := range []string{"a b", "é", "a/b", string(make([]byte, 129)), "x\x1fy"} {
		if _, err := c.Enqueue(ctx, noteArgs{}, jobs.JobID(bad)); err == nil || errors.Is(err, jobs.ErrDuplicate) {
			t.Errorf("Enqueue(JobID %q) = %v; want an invalid-id error", bad, err)
		}
	}
	s, _ := e.insp.Sizes(ctx, "default")
	if s.Pending != 2 {
		t.Errorf("pending = %d; want 2", s.Pending)
	}
}

// EnqueueItems stores jobs with their own options in one call: each
// item's queue, id and retries apply to it alone, a known id gives a nil
// entry, and an invalid item fails the call before anything is stored.
func TestEnqueueItems(t *testing.T) {
	for _, bk := range kdBackends() {
		t.Run(bk.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, bk.nb)
			ctx := t.Context()
			e.enqueue(noteArgs{}, jobs.JobID("known"))
			infos, err := e.c.EnqueueItems(ctx, []jobs.Item{
				{Args: noteArgs{N: 1}, Options: []jobs.Option{jobs.JobID("i-1"), jobs.Queue("a"), jobs.MaxRetry(2)}},
				{Args: noteArgs{N: 2}, Options: []jobs.Option{jobs.JobID("known")}},
				{Args: otherArgs{N: 3}},
				{Args: noteArgs{N: 4}, Options: []jobs.Option{jobs.JobID("i-1"), jobs.Queue("a")}},
			})
			if err != nil {
				t.Fatal(err)
			}
			if infos[0] == nil || infos[0].ID != "i-1" || infos[0].Queue != "a" || infos[0].MaxRetry != 2 ||
				infos[1] != nil || infos[2] == nil || infos[2].Queue != "default" || infos[3] != nil {
				t.Fatalf("infos = %+v %+v %+v %+v", infos[0], infos[1], infos[2], infos[3])
			}
			if _, err := e.c.EnqueueItems(ctx, []jobs.Item{{Args: noteArgs{}}, {Args: nil}}); err == nil {
				t.Error("EnqueueItems with a nil Args = nil error")
			}
			sa, _ := e.insp.Sizes(ctx, "a")
			sd, _ := e.insp.Sizes(ctx, "default")
			if sa.Pending != 1 || sd.Pending != 2 {
				t.Errorf("pending a=%d default=%d; want 1 and 2", sa.Pending, sd.Pending)
			}
		})
	}
}

// Check refuses what Enqueue would, before anything is stored.
func TestCheck(t *testing.T) {
	for _, tt := range []struct {
		name string
		args jobs.Args
		opts []jobs.Option
		ok   bool
	}{
		{"plain", noteArgs{}, nil, true},
		{"job id", noteArgs{}, []jobs.Option{jobs.JobID("order-1")}, true},
		{"nil", nil, nil, false},
		{"bad kind", badKind{}, nil, false},
		{"bad id", noteArgs{}, []jobs.Option{jobs.JobID("a b")}, false},
		{"step-shaped id", noteArgs{}, []jobs.Option{jobs.JobID("0123456789abcdefghij.1")}, false},
		{"unique without ttl", noteArgs{}, []jobs.Option{jobs.Unique("k", 0)}, false},
	} {
		if err := jobs.Check(tt.args, tt.opts...); (err == nil) != tt.ok {
			t.Errorf("%s: Check = %v; want ok %v", tt.name, err, tt.ok)
		}
	}
}

type badKind struct{}

func (badKind) Kind() string { return "a\x1fb" }
