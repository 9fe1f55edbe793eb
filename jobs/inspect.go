package jobs

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// errNotImplemented marks the parts of the operator API still being built.
var errNotImplemented = errors.New("jobs: not implemented yet")

// Order is the direction of a job list.
type Order string

// The orders of [ListOptions].
const (
	// OldestFirst lists in the order the jobs will run (pending: next to
	// run first; scheduled and retrying: soonest due first; active: soonest
	// lease deadline first) or, for finished states, by the time kept in
	// their set: dead by when they died, succeeded and cancelled by when
	// their retention ends (finish time plus retention: finish order when
	// the jobs share one retention). Jobs with equal times are ordered by
	// id.
	OldestFirst Order = "oldest"
	// NewestFirst reverses OldestFirst.
	NewestFirst Order = "newest"
)

// ListOptions selects one page of a queue's jobs in one state.
type ListOptions struct {
	// State to list (required).
	State State
	// Kind, if set, keeps only jobs of this kind. A page examines at most
	// 1,000 entries (never the whole queue): with a kind filter, or past
	// many jobs cancelled or deleted while pending, it may hold fewer than
	// Limit jobs, even none, while Next is still set.
	Kind string
	// Order of the list. Default: OldestFirst for pending, scheduled,
	// retrying and active; NewestFirst for succeeded, dead and cancelled.
	Order Order
	// Cursor continues a previous page: its [JobPage.Next]. Empty starts
	// at the beginning. A cursor is opaque and stays valid while jobs move
	// in and out of the list (a job may then be skipped or shown twice,
	// never an error). A cursor made for other options (state, order,
	// kind) or not made by List is refused with [ErrInvalidCursor].
	Cursor string
	// Limit is the page size. Default 50, capped at 1,000.
	Limit int
}

// JobPage is one page of [Inspector.List].
type JobPage struct {
	Jobs []*JobInfo `json:"jobs"`
	// Next is the cursor of the following page, empty at the end.
	Next string `json:"next,omitempty"`
}

// QueueStats is a queue's state for an operator: counts by state, latency,
// kinds and recent throughput.
type QueueStats struct {
	QueueSizes
	// Latency is the age of the pending job that runs next, from when it
	// was enqueued (0 when none is pending), in milliseconds in JSON.
	Latency time.Duration `json:"latency_ms"`
	// Kinds breaks the queue's jobs down by kind, sorted by kind. The state
	// counts come from at most KindsSample jobs of each state (pending: the
	// next to run; scheduled and retrying: the soonest due; dead: the
	// oldest), so they are exact for a state holding no more jobs than
	// that and a lower bound otherwise; Processed and Failed are exact.
	Kinds []KindStats `json:"kinds"`
	// KindsSample is how many jobs of each state Kinds counts at most.
	KindsSample int `json:"kinds_sample"`
	// History holds one entry per minute, oldest first, ending with the
	// current (partial) minute.
	History []MinuteStats `json:"history"`
}

// MarshalJSON writes Latency as whole milliseconds (latency_ms).
func (s QueueStats) MarshalJSON() ([]byte, error) {
	type plain QueueStats
	return json.Marshal(struct {
		plain
		Latency int64 `json:"latency_ms"`
	}{plain(s), s.Latency.Milliseconds()})
}

// UnmarshalJSON reads what [QueueStats.MarshalJSON] writes.
func (s *QueueStats) UnmarshalJSON(b []byte) error {
	type plain QueueStats
	var v struct {
		*plain
		Latency int64 `json:"latency_ms"`
	}
	v.plain = (*plain)(s)
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	s.Latency = time.Duration(v.Latency) * time.Millisecond
	return nil
}

// KindStats counts one kind's jobs in a queue.
type KindStats struct {
	Kind string `json:"kind"`
	// Pending, Scheduled, Retrying, Dead count the kind's jobs in those
	// states.
	Pending   int64 `json:"pending"`
	Scheduled int64 `json:"scheduled"`
	Retrying  int64 `json:"retrying"`
	Dead      int64 `json:"dead"`
	// Processed and Failed count the kind's attempts over the History
	// window.
	Processed int64 `json:"processed"`
	Failed    int64 `json:"failed"`
}

// MinuteStats counts a queue's finished attempts in one minute.
type MinuteStats struct {
	Minute time.Time `json:"minute"`
	// Processed counts attempts that ended (succeeded, failed, cancelled);
	// Failed those that ended in an error (retried or dead). A job handed
	// back because no runner knew its kind counts as a failed attempt here.
	Processed int64 `json:"processed"`
	Failed    int64 `json:"failed"`
}

// AttemptError is the error of one failed attempt. A job keeps those of its
// last [MaxAttemptErrors] failed attempts.
type AttemptError struct {
	Attempt int       `json:"attempt"`
	At      time.Time `json:"at"`
	Error   string    `json:"error"`
}

// MaxAttemptErrors is how many failed attempts' errors a job keeps in
// [JobInfo.Errors] (the last ones).
const MaxAttemptErrors = 10

const (
	// kindScan bounds the entries one kind-filtered page examines.
	kindScan = 1000
	// pendingDrift is how far, in entries, the pending list may have moved
	// between two pages for the next page to find where the last one ended
	// (beyond that it resumes at the same position count).
	pendingDrift = 500
	// kindsSample is how many jobs of each state Stats counts by kind.
	kindsSample = 1000
	// deadBatch is how many dead jobs one script call of RetryAllDead and
	// DeleteAllDead moves.
	deadBatch = 500
	// statsTTL is how long a queue's per-minute counters are kept.
	statsTTL = 2 * time.Hour
)

// windowReq asks a backend for consecutive entries of one queue's list in
// one state and order, starting after an anchor.
type windowReq struct {
	state  State
	newest bool
	kinds  bool // fill winEntry.kind
	n      int  // entries to return at most
	after  *listCursor
	now    time.Time
}

// winEntry is one entry of a window: a job id with its score (sorted sets)
// or position (pending list, counted from the end the order starts at).
type winEntry struct {
	id    string
	score int64
	pos   int
	kind  string
	skip  bool   // pending entry of a cancelled or deleted job
	raw   string // the queued message, where the window holds it (Redis pending list)
}

// listCursor is the decoded form of [JobPage.Next]: the last entry a page
// examined.
type listCursor struct {
	V int    `json:"v"`
	S State  `json:"s"`
	O Order  `json:"o"`
	K string `json:"k,omitempty"`
	I string `json:"i"`           // id
	C int64  `json:"c,omitempty"` // score (sorted sets)
	P int    `json:"p,omitempty"` // position of the next entry (pending)
}

const maxCursorLen = 1024

func (c *listCursor) encode() string {
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeCursor parses a cursor made by List for the same state, order and
// kind; anything else is [ErrInvalidCursor].
func decodeCursor(s string, state State, order Order, kind string) (*listCursor, error) {
	if s == "" {
		return nil, nil
	}
	if len(s) > maxCursorLen {
		return nil, ErrInvalidCursor
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, ErrInvalidCursor
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	var c listCursor
	if err := dec.Decode(&c); err != nil || dec.More() {
		return nil, ErrInvalidCursor
	}
	if c.V != 1 || c.S != state || c.O != order || c.K != kind || c.I == "" || len(c.I) > 128 ||
		strings.ContainsAny(c.I, sep+"\x00") || c.P < 0 || c.P > 1<<40 || c.C < 0 {
		return nil, ErrInvalidCursor
	}
	return &c, nil
}

func validState(s State) bool {
	switch s {
	case StatePending, StateScheduled, StateRetrying, StateActive, StateSucceeded, StateDead, StateCancelled:
		return true
	}
	return false
}

// List returns one page of a queue's jobs in one state. Its cost is
// proportional to the page (with a kind filter, to the at most 1,000
// entries it examines), never to the size of the queue. It returns
// [ErrInvalidList] for an unknown state or order and [ErrInvalidCursor]
// for a cursor List did not make for these options.
func (i *Inspector) List(ctx context.Context, queue string, opt ListOptions) (*JobPage, error) {
	if !validState(opt.State) {
		return nil, fmt.Errorf("%w: unknown state %q", ErrInvalidList, opt.State)
	}
	switch opt.Order {
	case "":
		opt.Order = OldestFirst
		if opt.State.finished() {
			opt.Order = NewestFirst
		}
	case OldestFirst, NewestFirst:
	default:
		return nil, fmt.Errorf("%w: unknown order %q", ErrInvalidList, opt.Order)
	}
	if opt.Limit <= 0 {
		opt.Limit = 50
	}
	opt.Limit = min(opt.Limit, 1000)
	cur, err := decodeCursor(opt.Cursor, opt.State, opt.Order, opt.Kind)
	if err != nil {
		return nil, err
	}
	scan := max(opt.Limit, kindScan) // entries a page may skip: other kinds, jobs cancelled or deleted in the pending list, expired
	now := i.now()
	w := &windowReq{state: opt.State, newest: opt.Order == NewestFirst, kinds: opt.Kind != "", n: scan + 1, after: cur, now: now}
	es, err := i.b.window(ctx, queue, w)
	if err != nil {
		return nil, fmt.Errorf("jobs: list %s %s: %w", queue, opt.State, err)
	}
	kept, last, more := pick(es, w, opt.Kind, opt.Limit, scan)
	page := &JobPage{Jobs: []*JobInfo{}}
	if len(kept) > 0 {
		infos, err := i.b.jobsByID(ctx, queue, kept, now)
		if err != nil {
			return nil, fmt.Errorf("jobs: list %s %s: %w", queue, opt.State, err)
		}
		for _, info := range infos {
			if info != nil && info.State == opt.State && (opt.Kind == "" || info.Kind == opt.Kind) {
				page.Jobs = append(page.Jobs, info)
			}
		}
	}
	if more && last != nil {
		page.Next = (&listCursor{V: 1, S: opt.State, O: opt.Order, K: opt.Kind, I: last.id, C: last.score, P: last.pos + 1}).encode()
	}
	return page, nil
}

// pick walks a window: it examines at most scan entries and keeps up to
// limit of them, skipping entries at or before the cursor (sorted sets with
// equal scores), pending entries of cancelled or deleted jobs, finished
// entries past their retention, and other kinds. It returns the kept
// entries, the last entry examined and whether entries follow it.
func pick(es []winEntry, w *windowReq, kind string, limit, scan int) (kept []winEntry, last *winEntry, more bool) {
	nowMs := w.now.UnixMilli()
	expires := w.state == StateSucceeded || w.state == StateCancelled
	for i := range es {
		if i == scan {
			return kept, last, true
		}
		e := &es[i]
		last = e
		switch {
		case e.skip:
		case w.after != nil && w.state != StatePending && e.score == w.after.C &&
			((!w.newest && e.id <= w.after.I) || (w.newest && e.id >= w.after.I)):
		case expires && e.score < nowMs:
		case kind != "" && e.kind != kind:
		default:
			kept = append(kept, *e)
		}
		if len(kept) == limit {
			return kept, last, i+1 < len(es)
		}
	}
	return kept, last, false
}

// findAnchor returns where a window starts in a sorted list of (score, id)
// entries, ordered by score then id (both reversed when newest), as Redis
// finds it: just after the anchor if it is still there with its score,
// else at the first entry whose score is not before the anchor's (pick
// skips those with the anchor's score that sort before it).
func findAnchor(n int, at func(int) (int64, string), newest bool, c *listCursor) int {
	if c == nil {
		return 0
	}
	search := func(before func(s int64, id string) bool) int {
		lo, hi := 0, n
		for lo < hi {
			m := int(uint(lo+hi) >> 1)
			if s, id := at(m); before(s, id) {
				lo = m + 1
			} else {
				hi = m
			}
		}
		return lo
	}
	k := search(func(s int64, id string) bool {
		if newest {
			return s > c.C || (s == c.C && id > c.I)
		}
		return s < c.C || (s == c.C && id < c.I)
	})
	if k < n {
		if s, id := at(k); s == c.C && id == c.I {
			return k + 1
		}
	}
	return search(func(s int64, _ string) bool { return (newest && s > c.C) || (!newest && s < c.C) })
}

// findPending returns where a pending window starts: just after the
// cursor's job if it is found within pendingDrift entries of where it was,
// else at the cursor's position.
func findPending(c *listCursor, lo int, ids []string) int {
	if c == nil {
		return 0
	}
	for k, id := range ids {
		if id == c.I {
			return lo + k + 1
		}
	}
	return c.P
}

// Stats returns a queue's [QueueStats] over the last minutes (default 15,
// at most 60).
func (i *Inspector) Stats(ctx context.Context, queue string, minutes int) (*QueueStats, error) {
	if minutes <= 0 {
		minutes = 15
	}
	minutes = min(minutes, 60)
	now := i.now()
	sizes, err := i.b.sizes(ctx, queue, now)
	if err != nil {
		return nil, fmt.Errorf("jobs: stats %s: %w", queue, err)
	}
	st, err := i.b.stats(ctx, queue, minutes, now)
	if err != nil {
		return nil, fmt.Errorf("jobs: stats %s: %w", queue, err)
	}
	st.QueueSizes = sizes
	st.KindsSample = kindsSample
	if st.Latency < 0 {
		st.Latency = 0
	}
	return st, nil
}

// minuteOf returns the start of t's minute in Unix minutes.
func minuteOf(t time.Time) int64 { return t.Unix() / 60 }

// RetryNow makes a dead, retrying or scheduled job pending now. A
// retrying or scheduled job keeps its attempts and errors and runs next,
// as if its time had come; a dead job starts afresh (attempts and errors
// reset) at the back of the queue, as [Inspector.RetryDead] does. It
// returns [ErrNotFound], or [ErrFinished] for a job in another state.
func (i *Inspector) RetryNow(ctx context.Context, id string) error {
	info, err := i.Job(ctx, id)
	if err != nil {
		return err
	}
	if err := i.b.retryNow(ctx, info.Queue, id); err != nil {
		return fmt.Errorf("jobs: retry %s: %w", id, err)
	}
	return nil
}

// Delete removes a job that is not running: pending, scheduled, retrying,
// succeeded, dead or cancelled; nothing of it is left but, for a pending
// job, a marker that drops its queue entry when a runner next reaches it
// (so a delete never scans the queue). It returns [ErrNotFound], or
// [ErrFinished] for an active job (cancel it instead).
func (i *Inspector) Delete(ctx context.Context, id string) error {
	info, err := i.Job(ctx, id)
	if err != nil {
		return err
	}
	if err := i.b.remove(ctx, info.Queue, id); err != nil {
		return fmt.Errorf("jobs: delete %s: %w", id, err)
	}
	if err := i.endStep(ctx, id, "jobs: job deleted"); err != nil {
		return fmt.Errorf("jobs: delete %s: workflow: %w", id, err)
	}
	return nil
}

// RetryAllDead makes every dead job of queue pending again (attempts
// reset), oldest first, in batches of 500 jobs per backend call, and
// returns how many moved. Jobs that die while it runs may or may not be
// moved.
func (i *Inspector) RetryAllDead(ctx context.Context, queue string) (int, error) {
	return i.allDead(ctx, queue, true)
}

// DeleteAllDead removes every dead job of queue, in batches of 500 jobs
// per backend call, and returns how many went.
func (i *Inspector) DeleteAllDead(ctx context.Context, queue string) (int, error) {
	return i.allDead(ctx, queue, false)
}

func (i *Inspector) allDead(ctx context.Context, queue string, retry bool) (int, error) {
	total := 0
	rounds := -1
	for {
		n, left, err := i.b.deadBatch(ctx, queue, retry, deadBatch)
		total += n
		if err != nil {
			return total, fmt.Errorf("jobs: dead jobs of %s: %w", queue, err)
		}
		if rounds < 0 { // bound the rounds by the set's size at the start
			rounds = int((left+int64(n))/deadBatch) + 2
		}
		rounds--
		if left == 0 || rounds <= 0 {
			return total, nil
		}
		if err := ctx.Err(); err != nil {
			return total, err
		}
	}
}
