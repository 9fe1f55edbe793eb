package jobs

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// The operator API's conformance tests: each runs on the memory and the
// Redis backend and asserts the same outcome on both.

type rareArgs struct{}

func (rareArgs) Kind() string { return "rare" }

// statArgs fails its first Fail attempts.
type statArgs struct {
	Fail int `json:"fail"`
}

func (statArgs) Kind() string { return "stat" }

// listAll pages through a queue's jobs in one state and returns their ids
// in page order, with the pages' sizes.
func listAll(t *testing.T, insp *Inspector, queue string, opt ListOptions) (ids []string, sizes []int) {
	t.Helper()
	for range 10000 {
		page, err := insp.List(t.Context(), queue, opt)
		if err != nil {
			t.Fatalf("List(%+v): %v", opt, err)
		}
		for _, j := range page.Jobs {
			if j.State != opt.State || j.Queue != queue {
				t.Errorf("listed %s in %s/%s; want state %s in %s", j.ID, j.Queue, j.State, opt.State, queue)
			}
			ids = append(ids, j.ID)
		}
		sizes = append(sizes, len(page.Jobs))
		if page.Next == "" {
			return ids, sizes
		}
		opt.Cursor = page.Next
	}
	t.Fatal("List never ended")
	return nil, nil
}

// inState makes n jobs in state on d's queue, in the order the state lists
// them oldest first, and returns their ids in that order.
func inState(d *drv, state State, n int) []string {
	d.t.Helper()
	ids := make([]string, n)
	switch state {
	case StatePending:
		for i := range ids {
			ids[i] = d.enqueue()
		}
	case StateScheduled:
		for i := range ids {
			ids[i] = d.enqueue(Delay(time.Duration(i+1) * time.Hour))
		}
	case StateCancelled:
		for i := range ids {
			ids[i] = d.enqueue(Delay(time.Hour), Retention(time.Duration(i+1)*time.Hour))
			d.mustCancel(ids[i])
		}
	default:
		for i := range ids {
			ids[i] = d.enqueue()
		}
		for i := range ids {
			m := d.lease(fmt.Sprint("L", i))
			if m.ID != ids[i] {
				d.t.Fatalf("leased %s; want %s", m.ID, ids[i])
			}
			tok := fmt.Sprint("L", i)
			switch state {
			case StateActive:
				d.b.heartbeat(d.t.Context(), d.queue, []leaseRef{{m.ID, tok}}, time.Now(), time.Duration(i+2)*time.Minute)
			case StateRetrying:
				d.fetch("X", 0, 0, ackRetryIn(m, tok, "e", time.Duration(i+1)*time.Hour))
			case StateSucceeded:
				a := ackOK(m, tok)
				a.retention = time.Duration(i+1) * time.Hour
				d.fetch("X", 0, 0, a)
			case StateDead:
				d.fetch("X", 0, 0, ackDeadWith(m, tok, "boom"))
				time.Sleep(2 * time.Millisecond) // distinct death times
			}
		}
	}
	return ids
}

func reversed(xs []string) []string {
	out := slices.Clone(xs)
	slices.Reverse(out)
	return out
}

func newDrv(t *testing.T, tb testBackend) (*drv, func() []string) {
	b, left := tb.new(t)
	d := &drv{t: t, b: b, queue: "default"}
	d.c, _ = NewClient(b, ClientConfig{})
	return d, left
}

// TestListStates lists 23 jobs of each state in pages of 5 (and one page
// of 1,000), in both orders: every job once, in the state's order.
func TestListStates(t *testing.T) {
	t.Parallel()
	states := []State{StatePending, StateScheduled, StateRetrying, StateActive, StateDead, StateSucceeded, StateCancelled}
	for _, tb := range testBackends() {
		for _, state := range states {
			t.Run(tb.name+"/"+string(state), func(t *testing.T) {
				t.Parallel()
				d, _ := newDrv(t, tb)
				want := inState(d, state, 23)
				insp := NewInspector(d.b)
				for _, order := range []Order{OldestFirst, NewestFirst} {
					w := want
					if order == NewestFirst {
						w = reversed(want)
					}
					got, sizes := listAll(t, insp, "default", ListOptions{State: state, Order: order, Limit: 5})
					if !slices.Equal(got, w) || !slices.Equal(sizes, []int{5, 5, 5, 5, 3}) {
						t.Errorf("%s %s in pages of 5: %v (sizes %v); want %v in 5,5,5,5,3", state, order, got, sizes, w)
					}
					got, sizes = listAll(t, insp, "default", ListOptions{State: state, Order: order, Limit: 1000})
					if !slices.Equal(got, w) || len(sizes) != 1 {
						t.Errorf("%s %s in one page: %v (%d pages); want %v in 1", state, order, got, len(sizes), w)
					}
				}
				// The default order: oldest first for unfinished states,
				// newest first for finished ones.
				page, err := insp.List(t.Context(), "default", ListOptions{State: state, Limit: 1})
				w := want[0]
				if state.finished() {
					w = want[len(want)-1]
				}
				if err != nil || len(page.Jobs) != 1 || page.Jobs[0].ID != w {
					t.Errorf("default order, first job: %+v, %v; want %s", page, err, w)
				}
				// Another queue and another state list nothing.
				if page, err := insp.List(t.Context(), "other", ListOptions{State: state}); err != nil || len(page.Jobs) != 0 || page.Next != "" {
					t.Errorf("List(other queue) = %+v, %v; want an empty last page", page, err)
				}
			})
		}
	}
}

// TestListMoving pages while jobs move: the next page resumes right after
// the last job shown, whatever was added or taken meanwhile.
func TestListMoving(t *testing.T) {
	t.Parallel()
	for _, tb := range testBackends() {
		t.Run(tb.name, func(t *testing.T) {
			t.Parallel()
			d, _ := newDrv(t, tb)
			insp := NewInspector(d.b)
			ids := inState(d, StatePending, 20)
			ctx := t.Context()

			// Oldest first: runners take the 3 oldest, 2 jobs arrive.
			p1, err := insp.List(ctx, "default", ListOptions{State: StatePending, Limit: 5})
			if err != nil || len(p1.Jobs) != 5 {
				t.Fatalf("page 1: %+v, %v", p1, err)
			}
			d.fetch("R", 3, time.Minute)
			added := []string{d.enqueue(), d.enqueue()}
			p2, err := insp.List(ctx, "default", ListOptions{State: StatePending, Limit: 5, Cursor: p1.Next})
			if err != nil || fmt.Sprint(pageIDs(p2)) != fmt.Sprint(ids[5:10]) {
				t.Errorf("oldest first after 3 taken, 2 added: page 2 = %v, %v; want %v", pageIDs(p2), err, ids[5:10])
			}
			// The job the cursor names is taken too: the next page starts at
			// the same position, never fails.
			d.fetch("R", 8, time.Minute) // ids[3..10] leased
			p3, err := insp.List(ctx, "default", ListOptions{State: StatePending, Limit: 5, Cursor: p2.Next})
			if err != nil || p3 == nil {
				t.Fatalf("page 3 after its anchor left: %v", err)
			}

			// Newest first: 3 jobs arrive between pages.
			all := append(slices.Clone(ids[11:]), added...)
			n1, err := insp.List(ctx, "default", ListOptions{State: StatePending, Order: NewestFirst, Limit: 4})
			if err != nil || fmt.Sprint(pageIDs(n1)) != fmt.Sprint(reversed(all)[:4]) {
				t.Fatalf("newest page 1 = %v, %v; want %v", pageIDs(n1), err, reversed(all)[:4])
			}
			d.enqueue()
			d.enqueue()
			d.enqueue()
			n2, err := insp.List(ctx, "default", ListOptions{State: StatePending, Order: NewestFirst, Limit: 4, Cursor: n1.Next})
			if err != nil || fmt.Sprint(pageIDs(n2)) != fmt.Sprint(reversed(all)[4:8]) {
				t.Errorf("newest first after 3 added: page 2 = %v, %v; want %v", pageIDs(n2), err, reversed(all)[4:8])
			}
			// A deleted job in the middle is skipped; a cancelled one too.
			if err := insp.Delete(ctx, reversed(all)[8]); err != nil {
				t.Fatal(err)
			}
			d.mustCancel(reversed(all)[9])
			n3, err := insp.List(ctx, "default", ListOptions{State: StatePending, Order: NewestFirst, Limit: 2, Cursor: n2.Next})
			if err != nil || fmt.Sprint(pageIDs(n3)) != fmt.Sprint(reversed(all)[10:]) || n3.Next != "" {
				t.Errorf("newest page 3 past a deleted and a cancelled job = %v, %v; want %v and the end", pageIDs(n3), err, reversed(all)[10:])
			}

			// A sorted set: the job the cursor names is deleted, one job is
			// added before the cursor and one after.
			d2, _ := newDrv(t, tb)
			sched := inState(d2, StateScheduled, 10)
			insp2 := NewInspector(d2.b)
			s1, err := insp2.List(ctx, "default", ListOptions{State: StateScheduled, Limit: 4})
			if err != nil || fmt.Sprint(pageIDs(s1)) != fmt.Sprint(sched[:4]) {
				t.Fatalf("scheduled page 1 = %v, %v; want %v", pageIDs(s1), err, sched[:4])
			}
			if err := insp2.Delete(ctx, sched[3]); err != nil {
				t.Fatal(err)
			}
			d2.enqueue(Delay(30 * time.Minute)) // before the cursor: not shown
			late := d2.enqueue(Delay(100 * time.Hour))
			got, _ := listAll(t, insp2, "default", ListOptions{State: StateScheduled, Limit: 4, Cursor: s1.Next})
			if want := append(slices.Clone(sched[4:]), late); !slices.Equal(got, want) {
				t.Errorf("scheduled after the cursor's job was deleted: %v; want %v", got, want)
			}
		})
	}
}

func pageIDs(p *JobPage) []string {
	if p == nil {
		return nil
	}
	var ids []string
	for _, j := range p.Jobs {
		ids = append(ids, j.ID)
	}
	return ids
}

// TestListKind filters by kind: a page examines at most 1,000 entries and
// says where to go on, in every state.
func TestListKind(t *testing.T) {
	t.Parallel()
	for _, tb := range testBackends() {
		t.Run(tb.name, func(t *testing.T) {
			t.Parallel()
			d, _ := newDrv(t, tb)
			insp := NewInspector(d.b)
			args := make([]Args, 1500)
			for i := range args {
				args[i] = fenceArgs{}
			}
			args[1200], args[1300] = rareArgs{}, rareArgs{}
			infos, err := d.c.EnqueueMany(t.Context(), args)
			if err != nil {
				t.Fatal(err)
			}
			opt := ListOptions{State: StatePending, Kind: "rare", Limit: 10}
			p1, err := insp.List(t.Context(), "default", opt)
			if err != nil || len(p1.Jobs) != 0 || p1.Next == "" {
				t.Fatalf("rare, page 1 = %d jobs, next %q, %v; want none and a next cursor (1,000 entries examined)", len(p1.Jobs), p1.Next, err)
			}
			opt.Cursor = p1.Next
			p2, err := insp.List(t.Context(), "default", opt)
			if want := []string{infos[1200].ID, infos[1300].ID}; err != nil || !slices.Equal(pageIDs(p2), want) || p2.Next != "" {
				t.Errorf("rare, page 2 = %v, next %q, %v; want %v and the end", pageIDs(p2), p2.Next, err, want)
			}
			got, _ := listAll(t, insp, "default", ListOptions{State: StatePending, Kind: "fence", Limit: 400, Order: NewestFirst})
			if len(got) != 1498 {
				t.Errorf("fence newest first: %d jobs; want 1498", len(got))
			}
			got, _ = listAll(t, insp, "default", ListOptions{State: StatePending, Kind: "none"})
			if len(got) != 0 {
				t.Errorf("kind none: %d jobs; want 0", len(got))
			}

			// Every other state: kinds read from the index or the records.
			for _, state := range []State{StateScheduled, StateDead, StateSucceeded} {
				d2, _ := newDrv(t, tb)
				ids := inState(d2, state, 6)
				rare := ""
				switch state {
				case StateScheduled:
					info, err := d2.c.Enqueue(t.Context(), rareArgs{}, Delay(3*time.Hour+time.Minute))
					if err != nil {
						t.Fatal(err)
					}
					rare = info.ID
				default:
					info, err := d2.c.Enqueue(t.Context(), rareArgs{}, MaxRetry(0))
					if err != nil {
						t.Fatal(err)
					}
					rare = info.ID
					m := d2.lease("K")
					if state == StateDead {
						d2.fetch("X", 0, 0, ackDeadWith(m, "K", "x"))
					} else {
						d2.fetch("X", 0, 0, ackOK(m, "K"))
					}
				}
				i2 := NewInspector(d2.b)
				got, _ := listAll(t, i2, "default", ListOptions{State: state, Kind: "rare", Limit: 2})
				if !slices.Equal(got, []string{rare}) {
					t.Errorf("%s kind rare: %v; want [%s]", state, got, rare)
				}
				got, _ = listAll(t, i2, "default", ListOptions{State: state, Kind: "fence", Limit: 4})
				if len(got) != len(ids) {
					t.Errorf("%s kind fence: %d jobs; want %d", state, len(got), len(ids))
				}
			}
		})
	}
}

// TestListBadInput: cursors List did not make for these options, and
// unknown states and orders, are 400s.
func TestListBadInput(t *testing.T) {
	t.Parallel()
	enc := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	for _, tb := range testBackends() {
		t.Run(tb.name, func(t *testing.T) {
			t.Parallel()
			d, _ := newDrv(t, tb)
			inState(d, StateScheduled, 3)
			insp := NewInspector(d.b)
			p, err := insp.List(t.Context(), "default", ListOptions{State: StateScheduled, Limit: 1})
			if err != nil || p.Next == "" {
				t.Fatalf("List: %+v, %v", p, err)
			}
			good := p.Next
			cases := []struct {
				name string
				opt  ListOptions
				want error
			}{
				{"garbage", ListOptions{State: StateScheduled, Cursor: "!!!not base64"}, ErrInvalidCursor},
				{"not JSON", ListOptions{State: StateScheduled, Cursor: enc("hello")}, ErrInvalidCursor},
				{"JSON array", ListOptions{State: StateScheduled, Cursor: enc("[1,2]")}, ErrInvalidCursor},
				{"two values", ListOptions{State: StateScheduled, Cursor: enc(`{"v":1,"s":"scheduled","o":"oldest","i":"x"}{}`)}, ErrInvalidCursor},
				{"wrong version", ListOptions{State: StateScheduled, Cursor: enc(`{"v":2,"s":"scheduled","o":"oldest","i":"x"}`)}, ErrInvalidCursor},
				{"unknown field", ListOptions{State: StateScheduled, Cursor: enc(`{"v":1,"s":"scheduled","o":"oldest","i":"x","z":1}`)}, ErrInvalidCursor},
				{"no id", ListOptions{State: StateScheduled, Cursor: enc(`{"v":1,"s":"scheduled","o":"oldest","i":""}`)}, ErrInvalidCursor},
				{"separator in id", ListOptions{State: StateScheduled, Cursor: enc("{\"v\":1,\"s\":\"scheduled\",\"o\":\"oldest\",\"i\":\"a\\u001fb\"}")}, ErrInvalidCursor},
				{"negative position", ListOptions{State: StateScheduled, Cursor: enc(`{"v":1,"s":"scheduled","o":"oldest","i":"x","p":-1}`)}, ErrInvalidCursor},
				{"negative score", ListOptions{State: StateScheduled, Cursor: enc(`{"v":1,"s":"scheduled","o":"oldest","i":"x","c":-5}`)}, ErrInvalidCursor},
				{"too long", ListOptions{State: StateScheduled, Cursor: strings.Repeat("A", 2000)}, ErrInvalidCursor},
				{"other state", ListOptions{State: StateRetrying, Cursor: good}, ErrInvalidCursor},
				{"other order", ListOptions{State: StateScheduled, Order: NewestFirst, Cursor: good}, ErrInvalidCursor},
				{"other kind", ListOptions{State: StateScheduled, Kind: "fence", Cursor: good}, ErrInvalidCursor},
				{"unknown state", ListOptions{State: "sleeping"}, ErrInvalidList},
				{"no state", ListOptions{}, ErrInvalidList},
				{"unknown order", ListOptions{State: StateScheduled, Order: "sideways"}, ErrInvalidList},
			}
			for _, c := range cases {
				_, err := insp.List(t.Context(), "default", c.opt)
				var ae *Error
				if !errors.Is(err, c.want) || !errors.As(err, &ae) || ae.HTTPStatus() != 400 {
					t.Errorf("%s: List = %v; want %v (HTTP 400)", c.name, err, c.want)
				}
			}
			// A forged cursor of the right shape naming no job is no error.
			forged := enc(`{"v":1,"s":"scheduled","o":"oldest","i":"nosuchjob","c":1}`)
			if p, err := insp.List(t.Context(), "default", ListOptions{State: StateScheduled, Cursor: forged}); err != nil || len(p.Jobs) != 3 {
				t.Errorf("forged cursor before every job: %+v, %v; want the 3 jobs", p, err)
			}
			if ErrInvalidCursor.ErrorType() != "invalid_cursor" {
				t.Errorf("ErrInvalidCursor type = %q; want invalid_cursor", ErrInvalidCursor.ErrorType())
			}
		})
	}
}

// TestAttemptErrors: each failed attempt's error and time, the last 10,
// while retrying and once dead; RetryDead starts afresh.
func TestAttemptErrors(t *testing.T) {
	t.Parallel()
	for _, tb := range testBackends() {
		t.Run(tb.name, func(t *testing.T) {
			t.Parallel()
			d, _ := newDrv(t, tb)
			insp := NewInspector(d.b)
			id := d.enqueue(MaxRetry(20))
			start := time.Now().Add(-time.Second)
			for i := 1; i <= 3; i++ {
				d.fetch("X", 0, 0, ackRetryIn(d.lease("A"), "A", fmt.Sprintf("e%d\x1ewith\x1dseparators", i), -time.Second))
			}
			info, err := insp.Job(t.Context(), id)
			if err != nil || len(info.Errors) != 3 || info.Errors[2].Attempt != 3 || info.Errors[2].Error != "e3 with separators" ||
				info.LastError != "e3 with separators" || info.Errors[0].At.Before(start) || info.Errors[0].At.After(time.Now()) {
				t.Fatalf("after 3 failures: %+v, %v; want 3 errors, the last e3 at attempt 3", info, err)
			}
			for i := 4; i <= 12; i++ {
				d.fetch("X", 0, 0, ackRetryIn(d.lease("A"), "A", fmt.Sprint("e", i), -time.Second))
			}
			d.fetch("X", 0, 0, ackDeadWith(d.lease("A"), "A", "final"))
			info, err = insp.Job(t.Context(), id)
			if err != nil || info.State != StateDead || len(info.Errors) != MaxAttemptErrors || info.LastError != "final" {
				t.Fatalf("dead after 13 attempts: %+v, %v; want %d errors, last final", info, err, MaxAttemptErrors)
			}
			var got []string
			for _, e := range info.Errors {
				got = append(got, fmt.Sprint(e.Attempt, ":", e.Error))
			}
			if want := "[4:e4 5:e5 6:e6 7:e7 8:e8 9:e9 10:e10 11:e11 12:e12 13:final]"; fmt.Sprint(got) != want {
				t.Errorf("errors = %v; want %s", got, want)
			}
			for i := 1; i < len(info.Errors); i++ {
				if info.Errors[i].At.Before(info.Errors[i-1].At) {
					t.Errorf("errors out of time order: %+v", info.Errors)
				}
			}
			// Listed jobs carry their errors too.
			page, err := insp.List(t.Context(), "default", ListOptions{State: StateDead})
			if err != nil || len(page.Jobs) != 1 || len(page.Jobs[0].Errors) != MaxAttemptErrors {
				t.Errorf("dead page = %+v, %v; want the job with its errors", page, err)
			}
			if err := insp.RetryNow(t.Context(), id); err != nil {
				t.Fatal(err)
			}
			if info, err := insp.Job(t.Context(), id); err != nil || info.State != StatePending || len(info.Errors) != 0 || info.Attempts != 0 {
				t.Errorf("after RetryNow of a dead job: %+v, %v; want pending afresh", info, err)
			}
			// A job cancelled after failing keeps its errors.
			d, _ = newDrv(t, tb)
			insp = NewInspector(d.b)
			id2 := d.enqueue(MaxRetry(5))
			d.fetch("X", 0, 0, ackRetryIn(d.lease("A"), "A", "only", time.Hour))
			d.mustCancel(id2)
			if info, err := insp.Job(t.Context(), id2); err != nil || len(info.Errors) != 1 || info.LastError != "only" {
				t.Errorf("cancelled after a failure: %+v, %v; want its one error", info, err)
			}
		})
	}
}

// TestRetryNowAndDelete acts on a job in each state.
func TestRetryNowAndDelete(t *testing.T) {
	t.Parallel()
	states := []State{StatePending, StateScheduled, StateRetrying, StateActive, StateDead, StateSucceeded, StateCancelled}
	for _, tb := range testBackends() {
		for _, state := range states {
			t.Run(tb.name+"/"+string(state), func(t *testing.T) {
				t.Parallel()
				ctx := t.Context()
				// RetryNow
				d, _ := newDrv(t, tb)
				insp := NewInspector(d.b)
				id := inState(d, state, 1)[0]
				other := d.enqueue() // runs after a retried scheduled or retrying job, before a dead one
				before, _ := insp.Job(ctx, id)
				err := insp.RetryNow(ctx, id)
				switch state {
				case StateDead, StateRetrying, StateScheduled:
					info, jerr := insp.Job(ctx, id)
					if err != nil || jerr != nil || info.State != StatePending {
						t.Fatalf("RetryNow(%s) = %v; job %+v, %v; want pending", state, err, info, jerr)
					}
					if state == StateDead && info.Attempts != 0 || state == StateRetrying && info.Attempts != before.Attempts {
						t.Errorf("attempts after RetryNow(%s) = %d (were %d)", state, info.Attempts, before.Attempts)
					}
					if m := d.lease("N"); state != StateDead && m.ID != id || state == StateDead && m.ID != other {
						t.Errorf("next job leased after RetryNow(%s): %s; want %s", state, m.ID, map[bool]string{true: other, false: id}[state == StateDead])
					}
				default:
					if !errors.Is(err, ErrFinished) {
						t.Errorf("RetryNow(%s) = %v; want ErrFinished", state, err)
					}
				}
				if err := insp.RetryNow(ctx, "nosuchjob"); !errors.Is(err, ErrNotFound) {
					t.Errorf("RetryNow(unknown) = %v; want ErrNotFound", err)
				}

				// Delete
				d2, left := newDrv(t, tb)
				insp2 := NewInspector(d2.b)
				id2 := inState(d2, state, 1)[0]
				err = insp2.Delete(ctx, id2)
				if state == StateActive {
					if !errors.Is(err, ErrFinished) {
						t.Errorf("Delete(active) = %v; want ErrFinished", err)
					}
					return
				}
				if err != nil {
					t.Fatalf("Delete(%s) = %v", state, err)
				}
				if _, err := insp2.Job(ctx, id2); !errors.Is(err, ErrNotFound) {
					t.Errorf("Job after Delete(%s) = %v; want ErrNotFound", state, err)
				}
				if err := insp2.Delete(ctx, id2); !errors.Is(err, ErrNotFound) {
					t.Errorf("second Delete(%s) = %v; want ErrNotFound", state, err)
				}
				if st, err := insp2.Stats(ctx, "default", 5); err != nil || st.QueueSizes != (QueueSizes{Queue: "default"}) || len(stateKinds(st)) != 0 {
					t.Errorf("stats after Delete(%s) = %+v, %v; want nothing counted", state, st, err)
				}
				for _, s := range states {
					if p, err := insp2.List(ctx, "default", ListOptions{State: s}); err != nil || len(p.Jobs) != 0 {
						t.Errorf("List(%s) after Delete(%s) = %v, %v; want none", s, state, pageIDs(p), err)
					}
				}
				if got := d2.fetch("R", 10, time.Minute); len(got) != 0 { // drops a deleted pending job's entry
					t.Errorf("fetch after Delete(%s) leased %d jobs; want none", state, len(got))
				}
				if l := withoutCounters(left()); len(l) != 0 {
					t.Errorf("left after Delete(%s) and a fetch: %v; want nothing", state, l)
				}
			})
		}
	}
}

// stateKinds returns the kinds Stats counts in some state.
func stateKinds(st *QueueStats) []KindStats {
	var out []KindStats
	for _, k := range st.Kinds {
		if k.Pending+k.Scheduled+k.Retrying+k.Dead > 0 {
			out = append(out, k)
		}
	}
	return out
}

// withoutCounters drops the per-minute counters from a leftovers list.
func withoutCounters(keys []string) []string {
	return slices.DeleteFunc(keys, func(k string) bool { return strings.Contains(k, "}:m:") })
}

// makeDead puts n jobs straight into the dead set.
func makeDead(t *testing.T, b Backend, c *Client, n int) []string {
	t.Helper()
	args := make([]Args, n)
	for i := range args {
		args[i] = fenceArgs{}
	}
	infos, err := c.EnqueueMany(t.Context(), args)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := b.fetch(t.Context(), &fetchReq{queue: "default", n: n, token: "D", now: time.Now(), lease: time.Minute, deadMax: 10000, deadAge: time.Hour})
	if err != nil || len(resp.jobs) != n {
		t.Fatalf("lease %d: %v", n, err)
	}
	acks := make([]*ack, n)
	for i, l := range resp.jobs {
		m, _ := decodeMessage(l.raw)
		acks[i] = ackDeadWith(m, "D", "boom")
	}
	if _, err := b.fetch(t.Context(), &fetchReq{queue: "default", acks: acks, now: time.Now(), lease: time.Minute, deadMax: 10000, deadAge: time.Hour}); err != nil {
		t.Fatal(err)
	}
	ids := make([]string, n)
	for i, info := range infos {
		ids[i] = info.ID
	}
	return ids
}

// TestAllDead retries then deletes 1,200 dead jobs (three batches).
func TestAllDead(t *testing.T) {
	t.Parallel()
	for _, tb := range testBackends() {
		t.Run(tb.name, func(t *testing.T) {
			t.Parallel()
			b, left := tb.new(t)
			c, _ := NewClient(b, ClientConfig{})
			insp := NewInspector(b)
			ctx := t.Context()
			ids := makeDead(t, b, c, 1200)
			n, err := insp.RetryAllDead(ctx, "default")
			if s, serr := insp.Sizes(ctx, "default"); err != nil || n != 1200 || serr != nil || s.Pending != 1200 || s.Dead != 0 {
				t.Fatalf("RetryAllDead = %d, %v; sizes %+v; want 1200 pending", n, err, s)
			}
			if info, err := insp.Job(ctx, ids[700]); err != nil || info.State != StatePending || info.Attempts != 0 || info.LastError != "" {
				t.Errorf("a retried job: %+v, %v; want pending afresh", info, err)
			}
			if n, err := insp.RetryAllDead(ctx, "default"); n != 0 || err != nil {
				t.Errorf("RetryAllDead again = %d, %v; want 0", n, err)
			}
			if n, err := insp.DeleteAllDead(ctx, "nosuchqueue"); n != 0 || err != nil {
				t.Errorf("DeleteAllDead(unknown queue) = %d, %v; want 0", n, err)
			}
			// Die again, then go for good.
			resp, err := b.fetch(ctx, &fetchReq{queue: "default", n: 1200, token: "E", now: time.Now(), lease: time.Minute, deadMax: 10000, deadAge: time.Hour})
			if err != nil || len(resp.jobs) != 1200 {
				t.Fatalf("re-lease: %d, %v", len(resp.jobs), err)
			}
			acks := make([]*ack, len(resp.jobs))
			for i, l := range resp.jobs {
				m, _ := decodeMessage(l.raw)
				acks[i] = ackDeadWith(m, "E", "boom")
			}
			if _, err := b.fetch(ctx, &fetchReq{queue: "default", acks: acks, now: time.Now(), lease: time.Minute, deadMax: 10000, deadAge: time.Hour}); err != nil {
				t.Fatal(err)
			}
			n, err = insp.DeleteAllDead(ctx, "default")
			if s, serr := insp.Sizes(ctx, "default"); err != nil || n != 1200 || serr != nil || s != (QueueSizes{Queue: "default"}) {
				t.Fatalf("DeleteAllDead = %d, %v; sizes %+v; want nothing left", n, err, s)
			}
			if l := withoutCounters(left()); len(l) != 0 {
				t.Errorf("left after DeleteAllDead: %v; want nothing", l)
			}
		})
	}
}

// TestBurstRetryAllDead: two RetryAllDead race each other and a runner
// working the queue: each of 1,200 dead jobs becomes pending exactly once,
// and runs exactly once.
func TestBurstRetryAllDead(t *testing.T) {
	t.Parallel()
	for _, tb := range testBackends() {
		t.Run(tb.name, func(t *testing.T) {
			t.Parallel()
			b, _ := tb.new(t)
			c, _ := NewClient(b, ClientConfig{})
			insp := NewInspector(b)
			ids := makeDead(t, b, c, 1200)
			var mu sync.Mutex
			runs := map[string]int{}
			ws := NewWorkers()
			AddWorker(ws, WorkerFunc[fenceArgs](func(_ context.Context, j *Job[fenceArgs]) error {
				mu.Lock()
				runs[j.ID]++
				mu.Unlock()
				return nil
			}))
			r, err := NewRunner(b, RunnerConfig{Workers: ws, Concurrency: 16, Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(t.Context())
			done := make(chan error, 1)
			go func() { done <- r.Run(ctx) }()
			var moved atomic.Int64
			var failed atomic.Int32
			burst(2, func(int) {
				n, err := insp.RetryAllDead(t.Context(), "default")
				if err != nil {
					failed.Add(1)
				}
				moved.Add(int64(n))
			})
			waitUntil(t, 30*time.Second, func() bool {
				s, _ := insp.Sizes(t.Context(), "default")
				return s.Succeeded == 1200
			})
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Run = %v", err)
			}
			if moved.Load() != 1200 || failed.Load() != 0 {
				t.Errorf("two RetryAllDead moved %d in all (%d failed); want 1200", moved.Load(), failed.Load())
			}
			mu.Lock()
			defer mu.Unlock()
			twice := 0
			for _, id := range ids {
				if runs[id] != 1 {
					twice++
				}
			}
			if len(runs) != 1200 || twice != 0 {
				t.Errorf("%d jobs ran, %d not exactly once; want 1200 each once", len(runs), twice)
			}
		})
	}
}

func waitUntil(t *testing.T, within time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %v", within)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestStats runs a mix of outcomes through a real runner: the counts by
// state and kind, the latency and the per-minute history agree with what
// happened, on both backends alike.
func TestStats(t *testing.T) {
	t.Parallel()
	results := make([]*QueueStats, 2)
	for bi, tb := range testBackends() {
		t.Run(tb.name, func(t *testing.T) {
			b, _ := tb.new(t)
			c, _ := NewClient(b, ClientConfig{})
			insp := NewInspector(b)
			ctx := t.Context()
			empty, err := insp.Stats(ctx, "default", 0)
			if err != nil || len(empty.History) != 15 || empty.Latency != 0 || len(empty.Kinds) != 0 {
				t.Fatalf("empty queue's stats = %+v, %v; want 15 empty minutes", empty, err)
			}
			ws := NewWorkers()
			AddWorker(ws, WorkerFunc[statArgs](func(_ context.Context, j *Job[statArgs]) error {
				if j.Attempt <= j.Args.Fail {
					return fmt.Errorf("attempt %d", j.Attempt)
				}
				return nil
			}))
			AddWorker(ws, WorkerFunc[rareArgs](func(context.Context, *Job[rareArgs]) error { return nil }))
			// 5 succeed at once, 3 fail once then succeed, 2 fail 3 times: dead.
			var all []Args
			for range 5 {
				all = append(all, statArgs{})
			}
			for range 3 {
				all = append(all, statArgs{Fail: 1})
			}
			for range 2 {
				all = append(all, statArgs{Fail: 9})
			}
			all = append(all, rareArgs{})
			if _, err := c.EnqueueMany(ctx, all, MaxRetry(2)); err != nil {
				t.Fatal(err)
			}
			r, err := NewRunner(b, RunnerConfig{Workers: ws, Concurrency: 4, Logger: slog.New(slog.DiscardHandler),
				Retry: func(int, error) time.Duration { return 10 * time.Millisecond }, MaintenanceInterval: 20 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			rctx, cancel := context.WithCancel(ctx)
			done := make(chan error, 1)
			go func() { done <- r.Run(rctx) }()
			waitUntil(t, 20*time.Second, func() bool {
				s, _ := insp.Sizes(ctx, "default")
				return s.Succeeded == 9 && s.Dead == 2
			})
			cancel()
			<-done
			// Left waiting: 4 pending (one enqueued 200 ms ago), 2 scheduled.
			if _, err := c.Enqueue(ctx, statArgs{}); err != nil {
				t.Fatal(err)
			}
			time.Sleep(200 * time.Millisecond)
			for range 3 {
				if _, err := c.Enqueue(ctx, rareArgs{}); err != nil {
					t.Fatal(err)
				}
			}
			for range 2 {
				if _, err := c.Enqueue(ctx, statArgs{}, Delay(time.Hour)); err != nil {
					t.Fatal(err)
				}
			}
			st, err := insp.Stats(ctx, "default", 3)
			if err != nil {
				t.Fatal(err)
			}
			if st.Pending != 4 || st.Scheduled != 2 || st.Dead != 2 || st.Succeeded != 9 || st.Queue != "default" {
				t.Errorf("sizes = %+v; want 4 pending, 2 scheduled, 2 dead, 9 succeeded", st.QueueSizes)
			}
			if st.Latency < 200*time.Millisecond || st.Latency > 5*time.Second {
				t.Errorf("latency = %v; want the age of the oldest pending job, about 200 ms", st.Latency)
			}
			// Attempts: 5 + 3×2 + 2×3 of stat (3 + 6 failed), 1 of rare.
			want := []KindStats{
				{Kind: "rare", Pending: 3, Processed: 1},
				{Kind: "stat", Pending: 1, Scheduled: 2, Dead: 2, Processed: 17, Failed: 9},
			}
			if fmt.Sprint(st.Kinds) != fmt.Sprint(want) {
				t.Errorf("kinds = %+v; want %+v", st.Kinds, want)
			}
			var p, f int64
			for i, m := range st.History {
				p, f = p+m.Processed, f+m.Failed
				if i > 0 && !m.Minute.Equal(st.History[i-1].Minute.Add(time.Minute)) {
					t.Errorf("history minutes not consecutive: %+v", st.History)
				}
			}
			now := time.Now().UTC().Truncate(time.Minute)
			if len(st.History) != 3 || p != 18 || f != 9 || st.History[2].Minute.After(now) || st.History[2].Minute.Before(now.Add(-time.Minute)) {
				t.Errorf("history = %+v; want 3 minutes ending now, 18 processed, 9 failed in all", st.History)
			}
			if st.KindsSample != kindsSample {
				t.Errorf("KindsSample = %d; want %d", st.KindsSample, kindsSample)
			}
			st.Latency, st.History = 0, nil
			results[bi] = st
		})
	}
	if results[0] != nil && results[1] != nil && fmt.Sprint(*results[0]) != fmt.Sprint(*results[1]) {
		t.Errorf("memory and Redis disagree:\n%+v\n%+v", *results[0], *results[1])
	}
}

// TestInspectRedisDown: every operator call fails with an error (not a
// sentinel a handler would turn into a 4xx) when Redis cannot be reached.
func TestInspectRedisDown(t *testing.T) {
	t.Parallel()
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: 200 * time.Millisecond})
	defer rdb.Close()
	b, err := NewRedisBackend(rdb, RedisConfig{})
	if err != nil {
		t.Fatal(err)
	}
	insp := NewInspector(b)
	ctx := t.Context()
	calls := map[string]func() error{
		"List":          func() error { _, err := insp.List(ctx, "q", ListOptions{State: StatePending}); return err },
		"List dead":     func() error { _, err := insp.List(ctx, "q", ListOptions{State: StateDead, Kind: "k"}); return err },
		"Stats":         func() error { _, err := insp.Stats(ctx, "q", 5); return err },
		"RetryNow":      func() error { return insp.RetryNow(ctx, "id") },
		"Delete":        func() error { return insp.Delete(ctx, "id") },
		"RetryAllDead":  func() error { _, err := insp.RetryAllDead(ctx, "q"); return err },
		"DeleteAllDead": func() error { _, err := insp.DeleteAllDead(ctx, "q"); return err },
	}
	for name, call := range calls {
		err := call()
		var ae *Error
		if err == nil || errors.As(err, &ae) {
			t.Errorf("%s with Redis down = %v; want a plain error", name, err)
		}
	}
}

// TestStatsUnknownQueue: a queue nothing was enqueued to has empty stats.
func TestStatsUnknownQueue(t *testing.T) {
	t.Parallel()
	for _, tb := range testBackends() {
		t.Run(tb.name, func(t *testing.T) {
			b, _ := tb.new(t)
			st, err := NewInspector(b).Stats(t.Context(), "nosuchqueue", 90)
			if err != nil || st.QueueSizes != (QueueSizes{Queue: "nosuchqueue"}) || len(st.History) != 60 || len(st.Kinds) != 0 || st.Latency != 0 {
				t.Errorf("Stats(unknown queue, 90 minutes) = %+v, %v; want zeros over 60 minutes", st, err)
			}
		})
	}
}

// TestPendingArgs: a pending job's arguments and retry limit show on its
// page and in lists on both backends, the pending list being where Redis
// keeps them.
func TestPendingArgs(t *testing.T) {
	t.Parallel()
	for _, tb := range testBackends() {
		t.Run(tb.name, func(t *testing.T) {
			t.Parallel()
			d, _ := newDrv(t, tb)
			insp := NewInspector(d.b)
			first := d.enqueue() // the next to run
			info, err := d.c.Enqueue(t.Context(), statArgs{Fail: 7}, Queue("default"), MaxRetry(4))
			if err != nil {
				t.Fatal(err)
			}
			last := d.enqueue() // the last enqueued
			for _, id := range []string{first, info.ID, last} {
				j, err := insp.Job(t.Context(), id)
				if err != nil || j.State != StatePending || j.Payload == nil || j.MaxRetry == 0 {
					t.Errorf("Job(%s) = %+v, %v; want pending with payload and retry limit", id, j, err)
				}
			}
			j, _ := insp.Job(t.Context(), info.ID)
			if j == nil || string(j.Payload) != `{"fail":7}` || j.MaxRetry != 4 {
				t.Errorf("Job(%s) = %+v; want payload {\"fail\":7}, max retry 4", info.ID, j)
			}
			page, err := insp.List(t.Context(), "default", ListOptions{State: StatePending, Kind: "stat"})
			if err != nil || len(page.Jobs) != 1 || string(page.Jobs[0].Payload) != `{"fail":7}` || page.Jobs[0].MaxRetry != 4 {
				t.Errorf("List(stat) = %+v, %v; want the job with its payload and retry limit", page, err)
			}
		})
	}
}

// TestQueueStatsJSON: latency travels as whole milliseconds, both ways.
func TestQueueStatsJSON(t *testing.T) {
	in := QueueStats{QueueSizes: QueueSizes{Queue: "q", Pending: 3, Paused: true}, Latency: 1500*time.Millisecond + 400*time.Microsecond,
		Kinds: []KindStats{{Kind: "k", Pending: 3}}}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil || m["latency_ms"] != float64(1500) || m["queue"] != "q" || m["pending"] != float64(3) || m["paused"] != true {
		t.Errorf("QueueStats JSON = %s; want latency_ms 1500 beside the sizes", b)
	}
	var out QueueStats
	if err := json.Unmarshal(b, &out); err != nil || out.Latency != 1500*time.Millisecond || out.Pending != 3 || out.Queue != "q" || len(out.Kinds) != 1 {
		t.Errorf("decoded %+v, %v; want the stats back with latency 1.5 s", out, err)
	}
}

// TestBurstDeleteRacingRunner: 600 Deletes race a runner working the same
// 600 pending jobs. A job runs at most once; a Delete that succeeded leaves
// nothing of its job (a deleted pending job is never run later, which would
// leave a succeeded record); a Delete refused as ErrFinished met the job
// running, and that job ran; nothing stays pending or active.
func TestBurstDeleteRacingRunner(t *testing.T) {
	t.Parallel()
	for _, tb := range testBackends() {
		t.Run(tb.name, func(t *testing.T) {
			t.Parallel()
			d, _ := newDrv(t, tb)
			insp := NewInspector(d.b)
			ids := inState(d, StatePending, 600)
			var mu sync.Mutex
			runs := map[string]int{}
			ws := NewWorkers()
			AddWorker(ws, WorkerFunc[fenceArgs](func(_ context.Context, j *Job[fenceArgs]) error {
				mu.Lock()
				runs[j.ID]++
				mu.Unlock()
				time.Sleep(time.Millisecond)
				return nil
			}))
			r, err := NewRunner(d.b, RunnerConfig{Workers: ws, Concurrency: 8, Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(t.Context())
			done := make(chan error, 1)
			go func() { done <- r.Run(ctx) }()
			errs := make([]error, len(ids))
			burst(len(ids), func(i int) { errs[i] = insp.Delete(t.Context(), ids[i]) })
			waitUntil(t, 30*time.Second, func() bool {
				s, _ := insp.Sizes(t.Context(), "default")
				return s.Pending == 0 && s.Active == 0
			})
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Run = %v", err)
			}
			mu.Lock()
			defer mu.Unlock()
			var deleted, refused int
			for i, id := range ids {
				if runs[id] > 1 {
					t.Errorf("job %s ran %d times", id, runs[id])
				}
				info, jerr := insp.Job(t.Context(), id)
				switch {
				case errs[i] == nil:
					deleted++
					if !errors.Is(jerr, ErrNotFound) {
						t.Errorf("deleted job %s: Job = %+v, %v; want ErrNotFound", id, info, jerr)
					}
				case errors.Is(errs[i], ErrFinished):
					refused++
					if runs[id] != 1 || jerr != nil || info.State != StateSucceeded {
						t.Errorf("job %s refused as running: ran %d times, Job = %+v, %v; want run once, succeeded", id, runs[id], info, jerr)
					}
				default:
					t.Errorf("Delete(%s) = %v; want nil or ErrFinished", id, errs[i])
				}
			}
			if deleted+refused != len(ids) || deleted == 0 {
				t.Errorf("%d deleted + %d refused; want all %d, some deleted", deleted, refused, len(ids))
			}
			t.Logf("%d deleted, %d refused while running, %d ran", deleted, refused, len(runs))
		})
	}
}
