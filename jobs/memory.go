package jobs

import (
	"cmp"
	"context"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// MemoryBackend keeps queues and jobs in this process. It has the same
// semantics as the Redis backend (leases with tokens, retries, dead set,
// retention, schedules) and is the embedded default and the base of test
// fakes; jobs do not survive a restart. Leases are judged by this process's
// clock, the one clock every runner on the backend shares (as the Redis
// backend judges them by Redis's). A page of [Inspector.List] in a state
// other than pending sorts that state's jobs (the Redis backend's page
// costs only the page). Safe for concurrent use.
type MemoryBackend struct {
	mu    sync.Mutex
	qs    map[string]*memQueue
	jobs  map[string]*memJob
	wake  chan struct{} // closed (and replaced) when a job becomes runnable
	reg   memRegistry   // runners' and schedulers' records
	wfs   map[string]*memWorkflow
	swept time.Time // last sweep of expired workflows

	evs    map[string]*memEvents // watched jobs' events
	evWake chan struct{}         // closed (and replaced) when an event is recorded
}

var _ Backend = (*MemoryBackend)(nil)

type memQueue struct {
	pending   []string // front is fetched first
	sched     map[string]*memDelayed
	leases    map[string]*memLease
	dead      map[string]time.Time
	cancelled map[string]bool
	paused    bool
	uniq      map[string]time.Time
	ticks     map[string]int64
	minutes   map[int64]map[string]int64 // Unix minute → "p:"/"f:" + kind → attempts
}

type memDelayed struct {
	raw   string
	due   time.Time
	retry bool
}

type memLease struct {
	token    string
	raw      string
	deadline time.Time
}

type memJob struct {
	info    JobInfo
	raw     string // dead jobs: their message, for RetryDead
	expires time.Time
}

// NewMemoryBackend returns an empty in-process backend.
func NewMemoryBackend() *MemoryBackend {
	return &MemoryBackend{qs: map[string]*memQueue{}, jobs: map[string]*memJob{}, wfs: map[string]*memWorkflow{}, evs: map[string]*memEvents{}, evWake: make(chan struct{}), wake: make(chan struct{})}
}

func (b *MemoryBackend) q(name string) *memQueue {
	q := b.qs[name]
	if q == nil {
		q = &memQueue{sched: map[string]*memDelayed{}, leases: map[string]*memLease{}, dead: map[string]time.Time{},
			cancelled: map[string]bool{}, uniq: map[string]time.Time{}, ticks: map[string]int64{}, minutes: map[int64]map[string]int64{}}
		b.qs[name] = q
	}
	return q
}

func (b *MemoryBackend) notify() {
	close(b.wake)
	b.wake = make(chan struct{})
}

func (b *MemoryBackend) enqueue(_ context.Context, now time.Time, reqs []*enqueueReq) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.enqueueLocked(now, reqs)
	return nil
}

// enqueueLocked stores reqs; b.mu is held.
func (b *MemoryBackend) enqueueLocked(now time.Time, reqs []*enqueueReq) {
	pushed := false
	for _, r := range reqs {
		q := b.q(r.queue)
		if r.once {
			if j := b.jobs[r.msg.ID]; j != nil && (j.expires.IsZero() || j.expires.After(now)) {
				r.dup = true
				continue
			}
		}
		switch r.guard {
		case guardUnique:
			if until, ok := q.uniq[r.gkey]; ok && until.After(now) {
				r.dup = true
				continue
			}
			q.uniq[r.gkey] = now.Add(r.gttl)
		case guardTick:
			if q.ticks[r.gkey] >= r.gtick.UnixMilli() {
				r.dup = true
				continue
			}
			q.ticks[r.gkey] = r.gtick.UnixMilli()
		}
		j := &memJob{info: JobInfo{ID: r.msg.ID, Kind: r.msg.Kind, Queue: r.queue, State: StatePending,
			MaxRetry: r.msg.MaxRetry, Payload: r.msg.Payload, Owner: r.owner, EnqueuedAt: msToTime(r.msg.EnqueuedMs)}}
		b.jobs[r.msg.ID] = j
		if r.due.After(now) {
			j.info.State, j.info.ProcessAt = StateScheduled, r.due
			q.sched[r.msg.ID] = &memDelayed{raw: r.raw, due: r.due}
		} else {
			q.pending = append(q.pending, r.raw)
			pushed = true
		}
	}
	if pushed {
		b.notify()
	}
}

func (b *MemoryBackend) fetch(_ context.Context, f *fetchReq) (*fetchResp, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	q := b.q(f.queue)
	resp := &fetchResp{}
	now := time.Now()  // the backend's clock, not the caller's
	var front []string // handed back or promoted: run next
	for _, a := range f.acks {
		if len(a.next) > 0 {
			b.enqueueLocked(now, a.next) // released workflow steps, with the ack
		}
		l := q.leases[a.id]
		if l == nil || l.token != a.token || l.deadline.Before(now) {
			resp.refused++
			continue
		}
		delete(q.leases, a.id)
		j := b.jobs[a.id]
		if a.kind != ackRequeue {
			q.count(now, ackJobKind(a, j), a.kind == ackRetry || a.kind == ackDead)
		}
		if q.cancelled[a.id] {
			// Cancelled meanwhile, whatever the attempt's outcome: the cancel
			// set the state, finish time and retention; count the attempt.
			delete(q.cancelled, a.id)
			if j != nil {
				j.info.Attempts, j.info.StartedAt = a.attempts, a.started
				b.emit(a.id, stateEvent(j, a.attempts))
			}
			continue
		}
		if j == nil {
			continue
		}
		j.info.Attempts, j.info.StartedAt = a.attempts, a.started
		if a.kind == ackRetry || a.kind == ackDead {
			j.info.Errors = appendAttemptError(j.info.Errors, AttemptError{Attempt: a.attempts, At: now.Truncate(time.Millisecond), Error: errorField(a.errMsg)})
		}
		switch a.kind {
		case ackSuccess:
			j.info.State, j.info.FinishedAt, j.info.Result, j.info.LastError, j.info.Errors = StateSucceeded, now, a.result, "", nil
			j.expires = now.Add(a.retention)
		case ackRetry:
			j.info.State, j.info.LastError, j.info.ProcessAt = StateRetrying, errorField(a.errMsg), a.due
			q.sched[a.id] = &memDelayed{raw: a.raw, due: a.due, retry: true}
		case ackDead:
			j.info.State, j.info.LastError, j.info.FinishedAt = StateDead, errorField(a.errMsg), now
			j.raw, j.expires = a.raw, now.Add(f.deadAge)
			q.dead[a.id] = now
			b.trimDead(q, f.deadMax, now.Add(-f.deadAge))
		case ackRequeue:
			j.info.State = StatePending
			front = append(front, a.raw)
		case ackCancelled:
			j.info.State, j.info.FinishedAt = StateCancelled, now
			j.expires = now.Add(a.retention)
		}
		b.emit(a.id, stateEvent(j, a.attempts))
	}
	if f.maint {
		var due []*memDelayed
		for id, d := range q.sched {
			if !d.due.After(now) {
				due = append(due, d)
				delete(q.sched, id)
				if j := b.jobs[id]; j != nil {
					j.info.State, j.info.ProcessAt = StatePending, time.Time{}
				}
			} else if resp.nextDue.IsZero() || d.due.Before(resp.nextDue) {
				resp.nextDue = d.due
			}
		}
		slices.SortFunc(due, func(x, y *memDelayed) int { return x.due.Compare(y.due) })
		for _, d := range due {
			front = append(front, d.raw)
		}
		for id, l := range q.leases {
			if l.deadline.Before(now) {
				delete(q.leases, id)
				front = append(front, bumpRetried(l.raw))
				if j := b.jobs[id]; j != nil && j.info.State == StateActive {
					j.info.State = StatePending
				}
			}
		}
		for id, j := range b.jobs {
			if !j.expires.IsZero() && j.expires.Before(now) {
				delete(b.jobs, id)
				if qq := b.qs[j.info.Queue]; qq != nil {
					delete(qq.dead, id)
				}
			}
		}
		b.trimDead(q, f.deadMax, now.Add(-f.deadAge))
		for key, until := range q.uniq {
			if !until.After(now) {
				delete(q.uniq, key)
			}
		}
	}
	if len(front) > 0 {
		q.pending = append(front, q.pending...)
	}
	if q.paused {
		resp.paused = true
		return resp, nil
	}
	for len(resp.jobs) < f.n && len(q.pending) > 0 {
		raw := q.pending[0]
		q.pending[0] = ""
		q.pending = q.pending[1:]
		id := messageID(raw)
		if q.cancelled[id] {
			// Dropped: its retention, unknown when it was cancelled in the
			// list, runs from the cancel.
			delete(q.cancelled, id)
			if j := b.jobs[id]; j != nil && j.info.State == StateCancelled {
				if m, err := decodeMessage(raw); err == nil && m.RetentionMs > 0 {
					j.expires = j.info.FinishedAt.Add(time.Duration(m.RetentionMs) * time.Millisecond)
				}
			}
			continue
		}
		q.leases[id] = &memLease{token: f.token, raw: raw, deadline: now.Add(f.lease)}
		if j := b.jobs[id]; j != nil {
			j.info.State, j.info.StartedAt = StateActive, now
			b.emit(id, stateEvent(j, j.info.Attempts+1))
		}
		resp.jobs = append(resp.jobs, leased{raw: raw, token: f.token})
	}
	return resp, nil
}

// bumpRetried counts one more used attempt in an encoded message.
func bumpRetried(raw string) string {
	id, rest, ok := strings.Cut(raw, sep)
	if !ok {
		return raw
	}
	r, rest2, ok := strings.Cut(rest, sep)
	n, err := strconv.Atoi(r)
	if !ok || err != nil {
		return raw
	}
	return id + sep + strconv.Itoa(n+1) + sep + rest2
}

func (b *MemoryBackend) trimDead(q *memQueue, max int, before time.Time) {
	for id, t := range q.dead {
		if t.Before(before) {
			delete(q.dead, id)
			delete(b.jobs, id)
		}
	}
	if max > 0 && len(q.dead) > max {
		type e struct {
			id string
			t  time.Time
		}
		all := make([]e, 0, len(q.dead))
		for id, t := range q.dead {
			all = append(all, e{id, t})
		}
		slices.SortFunc(all, func(x, y e) int { return x.t.Compare(y.t) })
		for _, x := range all[:len(all)-max] {
			delete(q.dead, x.id)
			delete(b.jobs, x.id)
		}
	}
}

func (b *MemoryBackend) wait(ctx context.Context, queues []string, d time.Duration) error {
	b.mu.Lock()
	for _, name := range queues {
		if q := b.qs[name]; q != nil && !q.paused && len(q.pending) > 0 {
			b.mu.Unlock()
			return nil
		}
	}
	ch := b.wake
	b.mu.Unlock()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ch:
	case <-t.C:
	case <-ctx.Done():
		return ctx.Err()
	}
	return nil
}

func (b *MemoryBackend) heartbeat(_ context.Context, queue string, refs []leaseRef, _ time.Time, lease time.Duration) (lost, cancelled []string, err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := time.Now()
	q := b.q(queue)
	for _, r := range refs {
		l := q.leases[r.id]
		if l == nil || l.token != r.token || l.deadline.Before(now) {
			lost = append(lost, r.id)
			continue
		}
		l.deadline = now.Add(lease)
		if q.cancelled[r.id] {
			cancelled = append(cancelled, r.id)
		}
	}
	return lost, cancelled, nil
}

func (b *MemoryBackend) setProgress(_ context.Context, _ string, id string, p Progress) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if j := b.jobs[id]; j != nil && !j.info.State.finished() {
		j.info.Progress = &p
		b.emit(id, Event{Type: EventProgress, State: StateActive, Progress: &p})
	}
	return nil
}

func (b *MemoryBackend) get(id string, now time.Time) *memJob {
	j := b.jobs[id]
	if j == nil || (!j.expires.IsZero() && j.expires.Before(now)) {
		return nil
	}
	return j
}

func (b *MemoryBackend) job(_ context.Context, _ []string, id string, now time.Time) (*JobInfo, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	j := b.get(id, now)
	if j == nil {
		return nil, ErrNotFound
	}
	info := j.info
	return &info, nil
}

func (b *MemoryBackend) retryDead(_ context.Context, queue, id string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	q := b.q(queue)
	j := b.get(id, time.Now())
	if j == nil {
		return ErrNotFound
	}
	if _, ok := q.dead[id]; !ok {
		return ErrFinished
	}
	delete(q.dead, id)
	m, err := decodeMessage(j.raw)
	if err != nil {
		return err
	}
	m.Retried = 0
	j.info.State, j.info.FinishedAt, j.expires, j.raw = StatePending, time.Time{}, time.Time{}, ""
	j.info.Attempts, j.info.LastError, j.info.Progress, j.info.Result, j.info.Errors = 0, "", nil, nil, nil // as on Redis: a fresh start
	q.pending = append(q.pending, m.encode())
	b.notify()
	return nil
}

func (b *MemoryBackend) deleteDead(_ context.Context, queue, id string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	q := b.q(queue)
	if b.get(id, time.Now()) == nil {
		return ErrNotFound
	}
	if _, ok := q.dead[id]; !ok {
		return ErrFinished
	}
	delete(q.dead, id)
	delete(b.jobs, id)
	return nil
}

func (b *MemoryBackend) cancel(_ context.Context, queue, id string, _ time.Time) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := time.Now()
	q := b.q(queue)
	j := b.get(id, now)
	if j == nil {
		return ErrNotFound
	}
	if j.info.State.finished() {
		return ErrFinished
	}
	retention := time.Hour
	raw := ""
	if d := q.sched[id]; d != nil {
		raw = d.raw
		delete(q.sched, id)
	} else if l := q.leases[id]; l != nil {
		raw = l.raw
		q.cancelled[id] = true
	} else {
		q.cancelled[id] = true
	}
	if m, err := decodeMessage(raw); err == nil && m.RetentionMs > 0 {
		retention = time.Duration(m.RetentionMs) * time.Millisecond
	}
	j.info.State, j.info.FinishedAt, j.expires = StateCancelled, now, now.Add(retention)
	b.emit(id, stateEvent(j, j.info.Attempts))
	return nil
}

func (b *MemoryBackend) setPaused(_ context.Context, queue string, paused bool) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.q(queue).paused = paused
	if !paused {
		b.notify()
	}
	return nil
}

func (b *MemoryBackend) sizes(_ context.Context, queue string, _ time.Time) (QueueSizes, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := time.Now()
	q := b.q(queue)
	s := QueueSizes{Queue: queue, Active: int64(len(q.leases)), Dead: int64(len(q.dead)), Paused: q.paused}
	for _, raw := range q.pending {
		if !q.cancelled[messageID(raw)] {
			s.Pending++
		}
	}
	for _, d := range q.sched {
		if d.retry {
			s.Retrying++
		} else {
			s.Scheduled++
		}
	}
	for _, j := range b.jobs {
		if j.info.Queue == queue && j.expires.After(now) {
			switch j.info.State {
			case StateSucceeded:
				s.Succeeded++
			case StateCancelled:
				s.Cancelled++
			}
		}
	}
	return s, nil
}

func (b *MemoryBackend) queues(context.Context) ([]string, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]string, 0, len(b.qs))
	for name := range b.qs {
		out = append(out, name)
	}
	slices.Sort(out)
	return out, nil
}

func (b *MemoryBackend) lastTick(_ context.Context, queue, name string) (time.Time, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return msToTime(b.q(queue).ticks[name]), nil
}

// ackJobKind returns the kind of an acked job: from its message, else from
// what the backend stored.
func ackJobKind(a *ack, j *memJob) string {
	if k := messageKind(a.raw); k != "" {
		return k
	}
	if j != nil {
		return j.info.Kind
	}
	return ""
}

// messageKind returns the kind of an encoded message, "" if malformed.
func messageKind(raw string) string {
	if raw == "" {
		return ""
	}
	m, err := decodeMessage(raw)
	if err != nil {
		return ""
	}
	return m.Kind
}

// appendAttemptError appends e, keeping the last MaxAttemptErrors.
func appendAttemptError(errs []AttemptError, e AttemptError) []AttemptError {
	errs = append(errs, e)
	if len(errs) > MaxAttemptErrors {
		errs = slices.Clone(errs[len(errs)-MaxAttemptErrors:])
	}
	return errs
}

// count adds one ended attempt of kind to the current minute's counters,
// dropping minutes past statsTTL.
func (q *memQueue) count(now time.Time, kind string, failed bool) {
	if kind == "" {
		return
	}
	m := minuteOf(now)
	c := q.minutes[m]
	if c == nil {
		c = map[string]int64{}
		q.minutes[m] = c
		for old := range q.minutes {
			if old <= m-int64(statsTTL/time.Minute) {
				delete(q.minutes, old)
			}
		}
	}
	c["p:"+kind]++
	if failed {
		c["f:"+kind]++
	}
}

// memEntry is one entry of a sorted state: what its Redis sorted set
// scores it by.
type memEntry struct {
	id    string
	score int64
}

// sorted returns a queue's jobs in state as Redis's sorted set of that
// state holds them: by score, then id.
func (b *MemoryBackend) sorted(queue string, state State) []memEntry {
	q := b.q(queue)
	var es []memEntry
	switch state {
	case StateScheduled, StateRetrying:
		for id, d := range q.sched {
			if d.retry == (state == StateRetrying) {
				es = append(es, memEntry{id, d.due.UnixMilli()})
			}
		}
	case StateActive:
		for id, l := range q.leases {
			es = append(es, memEntry{id, l.deadline.UnixMilli()})
		}
	case StateDead:
		for id, t := range q.dead {
			es = append(es, memEntry{id, t.UnixMilli()})
		}
	case StateSucceeded, StateCancelled:
		for id, j := range b.jobs {
			if j.info.Queue == queue && j.info.State == state {
				es = append(es, memEntry{id, j.expires.UnixMilli()})
			}
		}
	}
	slices.SortFunc(es, func(x, y memEntry) int { return cmp.Or(cmp.Compare(x.score, y.score), strings.Compare(x.id, y.id)) })
	return es
}

func (b *MemoryBackend) window(_ context.Context, queue string, w *windowReq) ([]winEntry, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	q := b.q(queue)
	var out []winEntry
	if w.state == StatePending {
		n := len(q.pending)
		at := func(i int) string { // i counted from the end the order starts at
			if w.newest {
				return q.pending[n-1-i]
			}
			return q.pending[i]
		}
		start := 0
		if w.after != nil {
			lo, hi := max(0, w.after.P-1-pendingDrift), min(n, w.after.P+pendingDrift)
			var ids []string
			for i := lo; i < hi; i++ {
				ids = append(ids, messageID(at(i)))
			}
			start = findPending(w.after, lo, ids)
		}
		for i := start; i < n && len(out) < w.n; i++ {
			raw := at(i)
			id := messageID(raw)
			e := winEntry{id: id, pos: i, skip: q.cancelled[id]}
			if w.kinds {
				e.kind = messageKind(raw)
			}
			out = append(out, e)
		}
		return out, nil
	}
	es := b.sorted(queue, w.state)
	if w.newest {
		slices.Reverse(es)
	}
	start := findAnchor(len(es), func(i int) (int64, string) { return es[i].score, es[i].id }, w.newest, w.after)
	for i := start; i < len(es) && len(out) < w.n; i++ {
		e := winEntry{id: es[i].id, score: es[i].score, pos: i}
		if j := b.jobs[e.id]; j != nil {
			e.kind = j.info.Kind
		}
		out = append(out, e)
	}
	return out, nil
}

func (b *MemoryBackend) jobsByID(_ context.Context, _ string, es []winEntry, now time.Time) ([]*JobInfo, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]*JobInfo, len(es))
	for i, e := range es {
		if j := b.get(e.id, now); j != nil {
			info := j.info
			info.Errors = slices.Clone(info.Errors)
			out[i] = &info
		}
	}
	return out, nil
}

func (b *MemoryBackend) stats(_ context.Context, queue string, minutes int, now time.Time) (*QueueStats, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	q := b.q(queue)
	st := &QueueStats{}
	kinds := map[string]*KindStats{}
	ks := func(k string) *KindStats {
		if kinds[k] == nil {
			kinds[k] = &KindStats{Kind: k}
		}
		return kinds[k]
	}
	seen := false
	for i, raw := range q.pending {
		if i == kindsSample {
			break
		}
		if q.cancelled[messageID(raw)] {
			continue
		}
		m, err := decodeMessage(raw)
		if err != nil {
			continue
		}
		if !seen {
			seen, st.Latency = true, now.Sub(time.UnixMilli(m.EnqueuedMs))
		}
		ks(m.Kind).Pending++
	}
	for _, state := range []State{StateScheduled, StateRetrying, StateDead} {
		es := b.sorted(queue, state)
		for _, e := range es[:min(len(es), kindsSample)] {
			kind := ""
			if state == StateDead {
				if j := b.jobs[e.id]; j != nil {
					kind = j.info.Kind
				}
			} else if d := q.sched[e.id]; d != nil {
				kind = messageKind(d.raw)
			}
			if kind == "" {
				continue
			}
			k := ks(kind)
			switch state {
			case StateScheduled:
				k.Scheduled++
			case StateRetrying:
				k.Retrying++
			default:
				k.Dead++
			}
		}
	}
	cur := minuteOf(now)
	for m := cur - int64(minutes) + 1; m <= cur; m++ {
		ms := MinuteStats{Minute: time.Unix(m*60, 0).UTC()}
		for f, n := range q.minutes[m] {
			kind := f[2:]
			if f[0] == 'p' {
				ms.Processed += n
				ks(kind).Processed += n
			} else {
				ms.Failed += n
				ks(kind).Failed += n
			}
		}
		st.History = append(st.History, ms)
	}
	st.Kinds = sortedKinds(kinds)
	return st, nil
}

func sortedKinds(kinds map[string]*KindStats) []KindStats {
	out := make([]KindStats, 0, len(kinds))
	for _, k := range kinds {
		out = append(out, *k)
	}
	slices.SortFunc(out, func(x, y KindStats) int { return strings.Compare(x.Kind, y.Kind) })
	return out
}

func (b *MemoryBackend) retryNow(ctx context.Context, queue, id string) error {
	b.mu.Lock()
	q := b.q(queue)
	j := b.get(id, time.Now())
	if j == nil {
		b.mu.Unlock()
		return ErrNotFound
	}
	if _, dead := q.dead[id]; dead {
		b.mu.Unlock()
		return b.retryDead(ctx, queue, id)
	}
	defer b.mu.Unlock()
	d := q.sched[id]
	if d == nil {
		return ErrFinished
	}
	delete(q.sched, id)
	q.pending = append([]string{d.raw}, q.pending...)
	j.info.State, j.info.ProcessAt = StatePending, time.Time{}
	b.notify()
	return nil
}

func (b *MemoryBackend) remove(_ context.Context, queue, id string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	q := b.q(queue)
	j := b.get(id, time.Now())
	if j == nil {
		return ErrNotFound
	}
	switch j.info.State {
	case StateActive:
		return ErrFinished
	case StatePending:
		q.cancelled[id] = true // dropped when a fetch reaches it, as on Redis
	case StateScheduled, StateRetrying:
		delete(q.sched, id)
	case StateDead:
		delete(q.dead, id)
	}
	delete(b.jobs, id)
	return nil
}

func (b *MemoryBackend) deadBatch(_ context.Context, queue string, retry bool, n int) (int, int64, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	q := b.q(queue)
	es := b.sorted(queue, StateDead)
	es = es[:min(len(es), n)]
	for _, e := range es {
		j := b.jobs[e.id]
		delete(q.dead, e.id)
		if !retry || j == nil {
			delete(b.jobs, e.id)
			continue
		}
		m, err := decodeMessage(j.raw)
		if err != nil {
			delete(b.jobs, e.id)
			continue
		}
		m.Retried = 0
		j.info.State, j.info.FinishedAt, j.expires, j.raw = StatePending, time.Time{}, time.Time{}, ""
		j.info.Attempts, j.info.LastError, j.info.Progress, j.info.Result, j.info.Errors = 0, "", nil, nil, nil
		q.pending = append(q.pending, m.encode())
	}
	if retry && len(es) > 0 {
		b.notify()
	}
	return len(es), int64(len(q.dead)), nil
}
