package jobs_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/jobs"
)

// stepArgs is a job that reports progress N times, waiting for a go-ahead
// on its test's channel before each report, and fails its first attempt if
// FailOnce.
type stepArgs struct {
	Key      string `json:"key"`
	N        int    `json:"n"`
	FailOnce bool   `json:"fail_once,omitempty"`
}

func (stepArgs) Kind() string { return "stepper" }

type stepper struct{ gates map[string]chan struct{} }

func (s stepper) Work(ctx context.Context, j *jobs.Job[stepArgs]) error {
	if j.Args.FailOnce && j.Attempt == 1 {
		return errors.New("first attempt fails")
	}
	for i := 1; i <= j.Args.N; i++ {
		select {
		case <-s.gates[j.Args.Key]:
		case <-ctx.Done():
			return ctx.Err()
		}
		if err := j.Progress(ctx, int64(i), int64(j.Args.N), fmt.Sprintf("step %d", i)); err != nil {
			return err
		}
	}
	return j.SetResult(map[string]int{"done": j.Args.N})
}

func TestWatch(t *testing.T) {
	for _, bk := range kdBackends() {
		t.Run(bk.name, func(t *testing.T) {
			t.Parallel()
			t.Run("ProgressAndFinal", func(t *testing.T) { t.Parallel(); testWatchProgress(t, bk.nb) })
			t.Run("Resume", func(t *testing.T) { t.Parallel(); testWatchResume(t, bk.nb) })
			t.Run("CancelAndLeave", func(t *testing.T) { t.Parallel(); testWatchCancel(t, bk.nb) })
			t.Run("ManyWatchers", func(t *testing.T) { t.Parallel(); testWatchMany(t, bk.nb) })
		})
	}
}

func watchEnv(t *testing.T, nb newBackendFunc, keys ...string) (*env, map[string]chan struct{}) {
	e := newEnv(t, nb)
	gates := map[string]chan struct{}{}
	for _, k := range keys {
		gates[k] = make(chan struct{}, 100)
	}
	w := jobs.NewWorkers()
	jobs.AddWorker[stepArgs](w, stepper{gates})
	e.run(jobs.RunnerConfig{Workers: w})
	return e, gates
}

// next returns the next event, failing after a while.
func next(t *testing.T, ch <-chan jobs.Event) (jobs.Event, bool) {
	t.Helper()
	select {
	case ev, ok := <-ch:
		return ev, ok
	case <-time.After(10 * time.Second):
		t.Fatal("no event in 10 s")
	}
	return jobs.Event{}, false
}

func describe(ev jobs.Event) string {
	s := string(ev.Type) + ":" + string(ev.State)
	if ev.Progress != nil {
		s += fmt.Sprintf(":%d/%d", ev.Progress.Current, ev.Progress.Total)
	}
	if ev.Attempt > 0 && ev.Type == jobs.EventState {
		s += fmt.Sprintf("#%d", ev.Attempt)
	}
	return s
}

// A watcher sees the snapshot, the start, a failed attempt, the retry's
// start, ten progress reports in order and the final state with the result;
// then the channel closes.
func testWatchProgress(t *testing.T, nb newBackendFunc) {
	e, gates := watchEnv(t, nb, "p")
	info := e.enqueue(stepArgs{Key: "p", N: 10, FailOnce: true}, jobs.Delay(200*time.Millisecond))
	ch, err := e.insp.Watch(t.Context(), info.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for {
		ev, ok := next(t, ch)
		if !ok {
			break
		}
		if ev.ID == "" {
			t.Errorf("event %+v without an id", ev)
		}
		got = append(got, describe(ev))
		if ev.State == jobs.StateActive && ev.Attempt == 2 && ev.Type == jobs.EventState {
			for range 10 {
				gates["p"] <- struct{}{}
			}
		}
		if ev.Final() && string(ev.Result) != `{"done":10}` {
			t.Errorf("final event result = %s", ev.Result)
		}
		if ev.State == jobs.StateRetrying && !strings.Contains(ev.Error, "first attempt fails") {
			t.Errorf("retrying event error = %q", ev.Error)
		}
	}
	want := []string{"state:scheduled", "state:active#1", "state:retrying#1", "state:active#2"}
	for i := 1; i <= 10; i++ {
		want = append(want, fmt.Sprintf("progress:active:%d/10", i))
	}
	want = append(want, "state:succeeded#2")
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("events:\n got %v\nwant %v", got, want)
	}
}

// A watch stopped mid-way and resumed with the last event's id gets the
// events after it and no snapshot; a garbage id starts with a snapshot.
func testWatchResume(t *testing.T, nb newBackendFunc) {
	e, gates := watchEnv(t, nb, "r")
	info := e.enqueue(stepArgs{Key: "r", N: 4})
	ctx, stop := context.WithCancel(t.Context())
	ch, err := e.insp.Watch(ctx, info.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	gates["r"] <- struct{}{}
	var last jobs.Event
	for last.Type != jobs.EventProgress || last.Progress.Current != 1 {
		last, _ = next(t, ch)
	}
	stop()
	for range ch { // drains and closes: the watch goroutine is gone
	}
	gates["r"] <- struct{}{}
	gates["r"] <- struct{}{}
	e.waitProgress(info.ID, 3)
	ch, err = e.insp.Watch(t.Context(), info.ID, last.ID)
	if err != nil {
		t.Fatal(err)
	}
	gates["r"] <- struct{}{}
	var got []string
	for ev := range ch {
		got = append(got, describe(ev))
	}
	if want := "progress:active:2/4 progress:active:3/4 progress:active:4/4 state:succeeded#1"; strings.Join(got, " ") != want {
		t.Errorf("resumed events = %v; want %s", got, want)
	}
	// A finished job watched with a bad id: one snapshot, then the end.
	ch, err = e.insp.Watch(t.Context(), info.ID, "not-an-id")
	if err != nil {
		t.Fatal(err)
	}
	got = nil
	for ev := range ch {
		got = append(got, describe(ev))
	}
	if strings.Join(got, " ") != "state:succeeded:4/4#1" {
		t.Errorf("snapshot of a finished job = %v", got)
	}
	if _, err := e.insp.Watch(t.Context(), "nope", ""); !errors.Is(err, jobs.ErrNotFound) {
		t.Errorf("Watch(unknown) = %v; want ErrNotFound", err)
	}
}

func (e *env) waitProgress(id string, n int64) {
	e.t.Helper()
	waitFor(e.t, "progress", 10*time.Second, func() bool {
		info, err := e.insp.Job(e.t.Context(), id)
		return err == nil && info.Progress != nil && info.Progress.Current >= n
	})
}

// Cancelling a watched job ends the watch with a cancelled event; a watcher
// that goes away closes its channel within a blocking read.
func testWatchCancel(t *testing.T, nb newBackendFunc) {
	e, _ := watchEnv(t, nb, "c", "l")
	info := e.enqueue(stepArgs{Key: "c", N: 1})
	ch, err := e.insp.Watch(t.Context(), info.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	for ev, _ := next(t, ch); ev.State != jobs.StateActive; ev, _ = next(t, ch) {
	}
	if err := e.insp.Cancel(t.Context(), info.ID); err != nil {
		t.Fatal(err)
	}
	var last jobs.Event
	for ev := range ch { // an event from before the snapshot may come first
		last = ev
	}
	if last.State != jobs.StateCancelled || !last.Final() {
		t.Errorf("last event after cancel: %+v", last)
	}

	other := e.enqueue(stepArgs{Key: "l", N: 1})
	ctx, leave := context.WithCancel(t.Context())
	ch, err = e.insp.Watch(ctx, other.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	next(t, ch)
	leave()
	closed := make(chan struct{})
	go func() {
		for range ch {
		}
		close(closed)
	}()
	select {
	case <-closed:
	case <-time.After(3 * time.Second):
		t.Fatal("the watch did not end within 3 s of its context")
	}
}

// 20 watchers opened at once on one job each see its 5 progress reports in
// order and its final state, then their channels close.
func testWatchMany(t *testing.T, nb newBackendFunc) {
	e, gates := watchEnv(t, nb, "m")
	info := e.enqueue(stepArgs{Key: "m", N: 5})
	const n = 20
	chans := make([]<-chan jobs.Event, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			ch, err := e.insp.Watch(t.Context(), info.ID, "")
			if err != nil {
				t.Error(err)
				return
			}
			chans[i] = ch
		}()
	}
	close(start)
	wg.Wait()
	for range 5 {
		gates["m"] <- struct{}{}
	}
	for i, ch := range chans {
		if ch == nil {
			continue
		}
		var progress []int64
		var last jobs.Event
		for ev := range ch {
			if ev.Type == jobs.EventProgress {
				progress = append(progress, ev.Progress.Current)
			}
			last = ev
		}
		// The snapshot is read when the watch's goroutine starts: reports
		// made before it are in it, and a snapshot already final ends the
		// watch. So each sees the tail of 1..5, in order, without gaps.
		for j, p := range progress {
			if p != int64(5-len(progress)+j+1) {
				t.Errorf("watcher %d: progress %v; want the tail of 1..5 in order", i, progress)
				break
			}
		}
		if last.State != jobs.StateSucceeded || !last.Final() {
			t.Errorf("watcher %d: last event %+v; want succeeded", i, last)
		}
	}
}
