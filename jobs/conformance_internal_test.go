package jobs

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// drv drives a backend as a runner would, on one queue, counting refused
// acks.
type drv struct {
	t       *testing.T
	b       Backend
	c       *Client
	queue   string
	refused int
}

func (d *drv) enqueue(opts ...Option) string {
	d.t.Helper()
	info, err := d.c.Enqueue(d.t.Context(), fenceArgs{}, append([]Option{Queue(d.queue), MaxRetry(3), Retention(time.Hour)}, opts...)...)
	if err != nil {
		d.t.Fatalf("enqueue: %v", err)
	}
	return info.ID
}

// fetch acks and leases up to n jobs with token, doing maintenance.
func (d *drv) fetch(token string, n int, lease time.Duration, acks ...*ack) []leased {
	d.t.Helper()
	resp, err := d.b.fetch(d.t.Context(), &fetchReq{queue: d.queue, acks: acks, n: n, token: token, now: time.Now(),
		lease: lease, maint: true, deadMax: 100, deadAge: time.Hour})
	if err != nil {
		d.t.Fatalf("fetch: %v", err)
	}
	d.refused += resp.refused
	return resp.jobs
}

// lease leases the queue's next job with token and returns its message.
func (d *drv) lease(token string) *message {
	d.t.Helper()
	got := d.fetch(token, 1, time.Minute)
	if len(got) != 1 {
		d.t.Fatalf("lease %s: got %d jobs; want 1", token, len(got))
	}
	m, err := decodeMessage(got[0].raw)
	if err != nil {
		d.t.Fatal(err)
	}
	return m
}

// The acks a runner sends for an attempt of m leased with token.
func ackOK(m *message, token string) *ack {
	return &ack{id: m.ID, token: token, kind: ackSuccess, attempts: m.Retried + 1, retention: time.Hour, result: []byte(`1`)}
}

func ackRetryIn(m *message, token, errMsg string, in time.Duration) *ack {
	m2 := *m
	m2.Retried++
	return &ack{id: m.ID, token: token, kind: ackRetry, attempts: m.Retried + 1, raw: m2.encode(), due: time.Now().Add(in), errMsg: errMsg}
}

func ackDeadWith(m *message, token, errMsg string) *ack {
	return &ack{id: m.ID, token: token, kind: ackDead, attempts: m.Retried + 1, raw: m.encode(), errMsg: errMsg}
}

func ackCancel(m *message, token string) *ack {
	return &ack{id: m.ID, token: token, kind: ackCancelled, attempts: m.Retried + 1, retention: time.Hour}
}

func ackHandBack(m *message, token string) *ack {
	return &ack{id: m.ID, token: token, kind: ackRequeue, raw: m.encode()}
}

func (d *drv) cancel(id string) error {
	return NewInspector(d.b).Cancel(d.t.Context(), id)
}

// TestConformance runs each path of a job's life on both backends and
// asserts the same outcome on both: state, attempts, last error, refused
// acks and queue sizes.
func TestConformance(t *testing.T) {
	t.Parallel()
	type want struct {
		state    State
		attempts int
		lastErr  string
		refused  int
		sizes    QueueSizes // Queue is filled in
	}
	cases := []struct {
		name string
		run  func(d *drv) string // returns the job to inspect
		want want
	}{
		{"pending", func(d *drv) string { return d.enqueue() },
			want{StatePending, 0, "", 0, QueueSizes{Pending: 1}}},
		{"scheduled", func(d *drv) string { return d.enqueue(Delay(time.Hour)) },
			want{StateScheduled, 0, "", 0, QueueSizes{Scheduled: 1}}},
		{"leased", func(d *drv) string { id := d.enqueue(); d.lease("A"); return id },
			want{StateActive, 0, "", 0, QueueSizes{Active: 1}}},
		{"succeeded", func(d *drv) string { id := d.enqueue(); d.fetch("X", 0, 0, ackOK(d.lease("A"), "A")); return id },
			want{StateSucceeded, 1, "", 0, QueueSizes{Succeeded: 1}}},
		{"retrying", func(d *drv) string {
			id := d.enqueue()
			d.fetch("X", 0, 0, ackRetryIn(d.lease("A"), "A", "e1", time.Hour))
			return id
		}, want{StateRetrying, 1, "e1", 0, QueueSizes{Retrying: 1}}},
		{"retried then succeeded", func(d *drv) string {
			id := d.enqueue()
			d.fetch("X", 0, 0, ackRetryIn(d.lease("A"), "A", "e1", -time.Second))
			m := d.lease("B") // promoted by maintenance
			if m.Retried != 1 {
				d.t.Errorf("retried message: Retried = %d; want 1", m.Retried)
			}
			d.fetch("X", 0, 0, ackOK(m, "B"))
			return id
		}, want{StateSucceeded, 2, "", 0, QueueSizes{Succeeded: 1}}},
		{"dead", func(d *drv) string {
			id := d.enqueue()
			d.fetch("X", 0, 0, ackDeadWith(d.lease("A"), "A", "boom"))
			return id
		},
			want{StateDead, 1, "boom", 0, QueueSizes{Dead: 1}}},
		{"dead then retried", func(d *drv) string {
			id := d.enqueue()
			d.fetch("X", 0, 0, ackDeadWith(d.lease("A"), "A", "boom"))
			if err := NewInspector(d.b).RetryDead(d.t.Context(), id); err != nil {
				d.t.Errorf("RetryDead: %v", err)
			}
			return id
		}, want{StatePending, 0, "", 0, QueueSizes{Pending: 1}}},
		{"dead then deleted", func(d *drv) string {
			id := d.enqueue()
			d.fetch("X", 0, 0, ackDeadWith(d.lease("A"), "A", "boom"))
			if err := NewInspector(d.b).DeleteDead(d.t.Context(), id); err != nil {
				d.t.Errorf("DeleteDead: %v", err)
			}
			return id
		}, want{"", 0, "", 0, QueueSizes{}}},
		{"dead, then trimmed by the dead set's size", func(d *drv) string {
			id := d.enqueue()
			d.fetch("X", 0, 0, ackDeadWith(d.lease("A"), "A", "boom"))
			time.Sleep(5 * time.Millisecond) // dead in the same millisecond, either could be the oldest
			d.enqueue()
			m := d.lease("A")
			a := ackDeadWith(m, "A", "boom")
			if _, err := d.b.fetch(d.t.Context(), &fetchReq{queue: d.queue, acks: []*ack{a}, now: time.Now(), lease: time.Minute,
				deadMax: 1, deadAge: time.Hour}); err != nil {
				d.t.Fatal(err)
			}
			if err := NewInspector(d.b).RetryDead(d.t.Context(), id); !errors.Is(err, ErrNotFound) {
				d.t.Errorf("RetryDead(trimmed) = %v; want ErrNotFound", err)
			}
			return id
		}, want{"", 0, "", 0, QueueSizes{Dead: 1}}},
		{"handed back", func(d *drv) string { id := d.enqueue(); d.fetch("X", 0, 0, ackHandBack(d.lease("A"), "A")); return id },
			want{StatePending, 0, "", 0, QueueSizes{Pending: 1}}},
		{"lease expired, reclaimed, stale ack refused", func(d *drv) string {
			id := d.enqueue()
			got := d.fetch("A", 1, 100*time.Millisecond)
			if len(got) != 1 {
				d.t.Fatalf("leased %d; want 1", len(got))
			}
			m, _ := decodeMessage(got[0].raw)
			time.Sleep(200 * time.Millisecond)
			m2 := d.lease("B") // reclaimed: the lost attempt counts
			if m2.Retried != 1 {
				d.t.Errorf("reclaimed message: Retried = %d; want 1", m2.Retried)
			}
			d.fetch("X", 0, 0, ackOK(m, "A"))
			d.fetch("X", 0, 0, ackOK(m2, "B"))
			return id
		}, want{StateSucceeded, 2, "", 1, QueueSizes{Succeeded: 1}}},
		{"ack twice", func(d *drv) string {
			id := d.enqueue()
			m := d.lease("A")
			d.fetch("X", 0, 0, ackOK(m, "A"))
			d.fetch("X", 0, 0, ackDeadWith(m, "A", "late"))
			return id
		}, want{StateSucceeded, 1, "", 1, QueueSizes{Succeeded: 1}}},
		{"two acks in one batch", func(d *drv) string {
			id := d.enqueue()
			m := d.lease("A")
			d.fetch("X", 0, 0, ackRetryIn(m, "A", "e1", time.Hour), ackOK(m, "A"))
			return id
		}, want{StateRetrying, 1, "e1", 1, QueueSizes{Retrying: 1}}},
		{"unique refused while held", func(d *drv) string {
			id := d.enqueue(Unique("k", time.Minute))
			if _, err := d.c.Enqueue(d.t.Context(), fenceArgs{}, Queue(d.queue), Unique("k", time.Minute)); !errors.Is(err, ErrDuplicate) {
				d.t.Errorf("second unique enqueue: %v; want ErrDuplicate", err)
			}
			return id
		}, want{StatePending, 0, "", 0, QueueSizes{Pending: 1}}},
		{"unique free after its ttl", func(d *drv) string {
			d.enqueue(Unique("k", 50*time.Millisecond))
			time.Sleep(100 * time.Millisecond)
			return d.enqueue(Unique("k", time.Minute))
		}, want{StatePending, 0, "", 0, QueueSizes{Pending: 2}}},
		{"paused", func(d *drv) string {
			id := d.enqueue()
			_ = d.b.setPaused(d.t.Context(), d.queue, true)
			if got := d.fetch("A", 1, time.Minute); len(got) != 0 {
				d.t.Errorf("paused queue leased %d jobs; want 0", len(got))
			}
			return id
		}, want{StatePending, 0, "", 0, QueueSizes{Pending: 1, Paused: true}}},
		// Cancel, in every state it can meet.
		{"cancel pending", func(d *drv) string { id := d.enqueue(); d.mustCancel(id); return id },
			want{StateCancelled, 0, "", 0, QueueSizes{Cancelled: 1}}},
		{"cancel pending, then fetched", func(d *drv) string {
			id := d.enqueue()
			d.mustCancel(id)
			if got := d.fetch("A", 1, time.Minute); len(got) != 0 {
				d.t.Errorf("cancelled job leased")
			}
			return id
		}, want{StateCancelled, 0, "", 0, QueueSizes{Cancelled: 1}}},
		{"cancel scheduled", func(d *drv) string { id := d.enqueue(Delay(time.Hour)); d.mustCancel(id); return id },
			want{StateCancelled, 0, "", 0, QueueSizes{Cancelled: 1}}},
		{"cancel retrying", func(d *drv) string {
			id := d.enqueue()
			d.fetch("X", 0, 0, ackRetryIn(d.lease("A"), "A", "e1", time.Hour))
			d.mustCancel(id)
			return id
		}, want{StateCancelled, 1, "e1", 0, QueueSizes{Cancelled: 1}}},
		{"cancel leased, still running", func(d *drv) string { id := d.enqueue(); d.lease("A"); d.mustCancel(id); return id },
			want{StateCancelled, 0, "", 0, QueueSizes{Active: 1, Cancelled: 1}}},
		{"cancel leased, then success acked", func(d *drv) string {
			id := d.enqueue()
			m := d.lease("A")
			d.mustCancel(id)
			d.fetch("X", 0, 0, ackOK(m, "A"))
			return id
		}, want{StateCancelled, 1, "", 0, QueueSizes{Cancelled: 1}}},
		{"cancel leased, then retry acked", func(d *drv) string {
			id := d.enqueue()
			m := d.lease("A")
			d.mustCancel(id)
			d.fetch("X", 0, 0, ackRetryIn(m, "A", "e1", -time.Second))
			return id
		}, want{StateCancelled, 1, "", 0, QueueSizes{Cancelled: 1}}},
		{"cancel leased, then dead acked", func(d *drv) string {
			id := d.enqueue()
			m := d.lease("A")
			d.mustCancel(id)
			d.fetch("X", 0, 0, ackDeadWith(m, "A", "boom"))
			return id
		}, want{StateCancelled, 1, "", 0, QueueSizes{Cancelled: 1}}},
		{"cancel leased, then cancel acked", func(d *drv) string {
			id := d.enqueue()
			m := d.lease("A")
			d.mustCancel(id)
			d.fetch("X", 0, 0, ackCancel(m, "A"))
			return id
		}, want{StateCancelled, 1, "", 0, QueueSizes{Cancelled: 1}}},
		{"cancel leased, then handed back", func(d *drv) string {
			id := d.enqueue()
			m := d.lease("A")
			d.mustCancel(id)
			d.fetch("X", 0, 0, ackHandBack(m, "A"))
			if got := d.fetch("B", 1, time.Minute); len(got) != 0 {
				d.t.Errorf("handed-back cancelled job leased again")
			}
			return id
		}, want{StateCancelled, 0, "", 0, QueueSizes{Cancelled: 1}}},
		{"cancel leased, lease expired, reclaimed", func(d *drv) string {
			id := d.enqueue()
			m := d.fetch("A", 1, 100*time.Millisecond)
			d.mustCancel(id)
			time.Sleep(200 * time.Millisecond)
			if got := d.fetch("B", 1, time.Minute); len(got) != 0 {
				d.t.Errorf("reclaimed cancelled job leased again")
			}
			mm, _ := decodeMessage(m[0].raw)
			d.fetch("X", 0, 0, ackOK(mm, "A"))
			return id
		}, want{StateCancelled, 0, "", 1, QueueSizes{Cancelled: 1}}},
		{"progress, cancel, progress after the cancel", func(d *drv) string {
			id := d.enqueue()
			m := d.lease("A")
			ctx := d.t.Context()
			if err := d.b.setProgress(ctx, d.queue, id, Progress{Current: 1, Total: 2, Message: "half"}); err != nil {
				d.t.Errorf("setProgress: %v", err)
			}
			d.mustCancel(id)
			if err := d.b.setProgress(ctx, d.queue, id, Progress{Current: 2, Total: 2}); err != nil {
				d.t.Errorf("setProgress after the cancel: %v; want nil (dropped)", err)
			}
			d.fetch("X", 0, 0, ackOK(m, "A"))
			if info, err := d.b.job(ctx, []string{d.queue}, id, time.Now()); err != nil || info.Progress == nil ||
				*info.Progress != (Progress{Current: 1, Total: 2, Message: "half"}) {
				d.t.Errorf("progress = %+v, %v; want 1/2 half, as at the cancel", info, err)
			}
			return id
		}, want{StateCancelled, 1, "", 0, QueueSizes{Cancelled: 1}}},
		{"cancel finished", func(d *drv) string {
			id := d.enqueue()
			d.fetch("X", 0, 0, ackOK(d.lease("A"), "A"))
			if err := d.cancel(id); !errors.Is(err, ErrFinished) {
				d.t.Errorf("Cancel(succeeded) = %v; want ErrFinished", err)
			}
			return id
		}, want{StateSucceeded, 1, "", 0, QueueSizes{Succeeded: 1}}},
		{"cancel twice", func(d *drv) string {
			id := d.enqueue()
			d.mustCancel(id)
			if err := d.cancel(id); !errors.Is(err, ErrFinished) {
				d.t.Errorf("Cancel(cancelled) = %v; want ErrFinished", err)
			}
			return id
		}, want{StateCancelled, 0, "", 0, QueueSizes{Cancelled: 1}}},
		{"cancel unknown", func(d *drv) string {
			if err := d.cancel("nope"); !errors.Is(err, ErrNotFound) {
				d.t.Errorf("Cancel(unknown) = %v; want ErrNotFound", err)
			}
			return "nope"
		}, want{"", 0, "", 0, QueueSizes{}}},
	}
	for _, tb := range testBackends() {
		t.Run(tb.name, func(t *testing.T) {
			t.Parallel()
			b, _ := tb.new(t)
			c, _ := NewClient(b, ClientConfig{})
			for i, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					d := &drv{t: t, b: b, c: c, queue: fmt.Sprintf("q%d", i)}
					id := tc.run(d)
					var got want
					info, err := b.job(t.Context(), []string{d.queue}, id, time.Now())
					switch {
					case errors.Is(err, ErrNotFound):
					case err != nil:
						t.Fatalf("job: %v", err)
					default:
						got.state, got.attempts, got.lastErr = info.State, info.Attempts, info.LastError
					}
					got.refused = d.refused
					if got.sizes, err = b.sizes(t.Context(), d.queue, time.Now()); err != nil {
						t.Fatal(err)
					}
					tc.want.sizes.Queue = d.queue
					if got != tc.want {
						t.Errorf("got  %+v\nwant %+v", got, tc.want)
					}
					if l, err := NewInspector(b).Jobs(t.Context(), d.queue, StatePending, Page{Limit: 10}); err != nil || len(l) != int(tc.want.sizes.Pending) {
						t.Errorf("list(pending) = %d, %v; want %d", len(l), err, tc.want.sizes.Pending)
					}
				})
			}
		})
	}
}

// TestListPendingSkipsCancelled pages through a pending list holding
// cancelled jobs (dropped only when fetched): they are not listed, and the
// pages are cut from the jobs still pending, oldest first.
func TestListPendingSkipsCancelled(t *testing.T) {
	t.Parallel()
	for _, tb := range testBackends() {
		t.Run(tb.name, func(t *testing.T) {
			t.Parallel()
			b, _ := tb.new(t)
			d := &drv{t: t, b: b, queue: "default"}
			d.c, _ = NewClient(b, ClientConfig{})
			var want []string
			for i := range 450 { // more than one 200-entry chunk of the Redis script
				id := d.enqueue()
				if i%3 == 1 {
					d.mustCancel(id)
				} else {
					want = append(want, id)
				}
			}
			var got []string
			for off := 0; ; off += 7 {
				page, err := NewInspector(b).Jobs(t.Context(), "default", StatePending, Page{Offset: off, Limit: 7})
				if err != nil {
					t.Fatal(err)
				}
				for _, j := range page {
					got = append(got, j.ID)
				}
				if len(page) < 7 {
					break
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("pending pages: %d jobs listed; want the %d not cancelled, oldest first", len(got), len(want))
			}
			if s, err := b.sizes(t.Context(), "default", time.Now()); err != nil || s.Pending != int64(len(want)) || s.Cancelled != 150 {
				t.Errorf("sizes = %+v, %v; want %d pending, 150 cancelled", s, err, len(want))
			}
		})
	}
}

func (d *drv) mustCancel(id string) {
	d.t.Helper()
	if err := d.cancel(id); err != nil {
		d.t.Fatalf("Cancel: %v", err)
	}
}

// burst runs f on n goroutines released at once.
func burst(n int, f func(i int)) {
	var ready, done sync.WaitGroup
	start := make(chan struct{})
	ready.Add(n)
	done.Add(n)
	for i := range n {
		go func() {
			defer done.Done()
			ready.Done()
			<-start
			f(i)
		}()
	}
	ready.Wait()
	close(start)
	done.Wait()
}

// TestBurstLease: 16 fetchers at once on one queue of 500 jobs, batches of
// up to 7: every job is leased exactly once.
func TestBurstLease(t *testing.T) {
	t.Parallel()
	for _, tb := range testBackends() {
		t.Run(tb.name, func(t *testing.T) {
			t.Parallel()
			b, _ := tb.new(t)
			c, _ := NewClient(b, ClientConfig{})
			const jobs, fetchers = 500, 16
			args := make([]Args, jobs)
			for i := range args {
				args[i] = fenceArgs{}
			}
			if _, err := c.EnqueueMany(t.Context(), args); err != nil {
				t.Fatal(err)
			}
			var mu sync.Mutex
			leases := map[string]int{}
			var errs atomic.Int32
			burst(fetchers, func(i int) {
				for {
					resp, err := b.fetch(context.Background(), &fetchReq{queue: "default", n: 1 + i%7, token: fmt.Sprint("w", i),
						now: time.Now(), lease: time.Minute, maint: i%2 == 0, deadMax: 10, deadAge: time.Hour})
					if err != nil {
						errs.Add(1)
						return
					}
					if len(resp.jobs) == 0 {
						return
					}
					mu.Lock()
					for _, j := range resp.jobs {
						leases[messageID(j.raw)]++
					}
					mu.Unlock()
				}
			})
			total := 0
			for _, n := range leases {
				total += n
			}
			if errs.Load() != 0 || len(leases) != jobs || total != jobs {
				t.Errorf("%d fetchers: %d distinct jobs leased, %d leases, %d errors; want %d, %d, 0", fetchers, len(leases), total, errs.Load(), jobs, jobs)
			}
			if s, err := b.sizes(t.Context(), "default", time.Now()); err != nil || s.Active != jobs || s.Pending != 0 {
				t.Errorf("sizes = %+v, %v; want %d active", s, err, jobs)
			}
		})
	}
}

// TestBurstStaleAck: 50 jobs leased by A expire and are re-leased by B; A's
// 50 acks, sent at once from 50 goroutines, are all refused; B's are taken.
func TestBurstStaleAck(t *testing.T) {
	t.Parallel()
	for _, tb := range testBackends() {
		t.Run(tb.name, func(t *testing.T) {
			t.Parallel()
			b, _ := tb.new(t)
			d := &drv{t: t, b: b, queue: "default"}
			d.c, _ = NewClient(b, ClientConfig{})
			const n = 50
			for range n {
				d.enqueue()
			}
			a := d.fetch("A", n, 100*time.Millisecond)
			time.Sleep(200 * time.Millisecond)
			bl := d.fetch("B", n, time.Minute)
			if len(a) != n || len(bl) != n {
				t.Fatalf("A leased %d, B re-leased %d; want %d each", len(a), len(bl), n)
			}
			var refused, failed atomic.Int32
			send := func(l leased, token string) {
				m, _ := decodeMessage(l.raw)
				resp, err := b.fetch(context.Background(), &fetchReq{queue: "default", acks: []*ack{ackOK(m, token)}, now: time.Now(),
					lease: time.Minute, deadMax: 10, deadAge: time.Hour})
				if err != nil {
					failed.Add(1)
					return
				}
				refused.Add(int32(resp.refused))
			}
			burst(n, func(i int) { send(a[i], "A") })
			if refused.Load() != n || failed.Load() != 0 {
				t.Errorf("stale acks: %d refused, %d failed; want %d refused", refused.Load(), failed.Load(), n)
			}
			refused.Store(0)
			burst(n, func(i int) { send(bl[i], "B") })
			if refused.Load() != 0 || failed.Load() != 0 {
				t.Errorf("current acks: %d refused, %d failed; want 0", refused.Load(), failed.Load())
			}
			if s, err := b.sizes(t.Context(), "default", time.Now()); err != nil || s.Succeeded != n || s.Active != 0 {
				t.Errorf("sizes = %+v, %v; want %d succeeded", s, err, n)
			}
		})
	}
}

// TestBurstUnique: 64 goroutines enqueue the same unique key at once:
// exactly one job is stored.
func TestBurstUnique(t *testing.T) {
	t.Parallel()
	for _, tb := range testBackends() {
		t.Run(tb.name, func(t *testing.T) {
			t.Parallel()
			b, _ := tb.new(t)
			c, _ := NewClient(b, ClientConfig{})
			const n = 64
			var stored, dup, other atomic.Int32
			burst(n, func(int) {
				_, err := c.Enqueue(context.Background(), fenceArgs{}, Unique("report:7", time.Minute))
				switch {
				case err == nil:
					stored.Add(1)
				case errors.Is(err, ErrDuplicate):
					dup.Add(1)
				default:
					other.Add(1)
				}
			})
			if stored.Load() != 1 || dup.Load() != n-1 || other.Load() != 0 {
				t.Errorf("%d enqueues of one unique key: %d stored, %d duplicate, %d failed; want 1, %d, 0", n, stored.Load(), dup.Load(), other.Load(), n-1)
			}
			if s, err := b.sizes(t.Context(), "default", time.Now()); err != nil || s.Pending != 1 {
				t.Errorf("sizes = %+v, %v; want 1 pending", s, err)
			}
		})
	}
}

// TestBurstAck: 30 goroutines ack the same attempt at once (retry, success,
// dead in turn): one ack is taken, 29 refused, and the job makes exactly one
// state transition.
func TestBurstAck(t *testing.T) {
	t.Parallel()
	for _, tb := range testBackends() {
		t.Run(tb.name, func(t *testing.T) {
			t.Parallel()
			b, _ := tb.new(t)
			d := &drv{t: t, b: b, queue: "default"}
			d.c, _ = NewClient(b, ClientConfig{})
			id := d.enqueue()
			m := d.lease("A")
			const n = 30
			var refused, failed atomic.Int32
			burst(n, func(i int) {
				var a *ack
				switch i % 3 {
				case 0:
					a = ackRetryIn(m, "A", "e1", time.Hour)
				case 1:
					a = ackOK(m, "A")
				default:
					a = ackDeadWith(m, "A", "boom")
				}
				resp, err := b.fetch(context.Background(), &fetchReq{queue: "default", acks: []*ack{a}, now: time.Now(),
					lease: time.Minute, deadMax: 10, deadAge: time.Hour})
				if err != nil {
					failed.Add(1)
					return
				}
				refused.Add(int32(resp.refused))
			})
			if refused.Load() != n-1 || failed.Load() != 0 {
				t.Errorf("%d acks of one attempt: %d refused, %d failed; want %d refused", n, refused.Load(), failed.Load(), n-1)
			}
			s, err := b.sizes(t.Context(), "default", time.Now())
			if err != nil || s.Retrying+s.Succeeded+s.Dead != 1 || s.Active != 0 || s.Pending != 0 {
				t.Errorf("sizes = %+v, %v; want the job in exactly one of retrying, succeeded, dead", s, err)
			}
			info, err := b.job(t.Context(), []string{"default"}, id, time.Now())
			if err != nil || info.Attempts != 1 {
				t.Errorf("job = %+v, %v; want 1 attempt", info, err)
			}
		})
	}
}
