package jobs

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisConfig configures [NewRedisBackend]. The zero value is valid with a
// client.
type RedisConfig struct {
	// Prefix starts every key. Default "gantry:". A queue's keys are
	// "<prefix>{q:<queue>}:<part>", so all keys of a queue share one hash
	// tag and one Redis Cluster slot.
	Prefix string
	// Options, when NewRedisBackend is given no client, opens one with
	// redis.NewUniversalClient (one address: a single server; MasterName
	// set: Sentinel; several addresses: Cluster). The backend owns that
	// client, and [RedisBackend.Close] closes it. Setting Options and
	// passing a client is an error.
	Options *redis.UniversalOptions
	// HandOffTimeout bounds the round trip that stores enqueues which waited
	// while another enqueue was in flight (concurrent Enqueue calls of
	// runnable jobs share round trips; the backend sends the waiting ones
	// together, on a goroutine it owns, when the round trip ahead of them
	// ends). Each waiting caller still stops waiting when its own context
	// ends. Default 10 s.
	HandOffTimeout time.Duration
}

// RedisBackend stores queues and jobs in Redis (standalone, Sentinel or
// Cluster, through any redis.UniversalClient). Safe for concurrent use.
//
// Ownership follows asynq's rule: a backend built on the caller's client
// never closes it; one that opened its client from RedisConfig.Options
// closes it in [RedisBackend.Close].
type RedisBackend struct {
	rdb            redis.UniversalClient
	owned          bool // rdb was opened by NewRedisBackend: Close closes it
	prefix         string
	handOffTimeout time.Duration
	keys           sync.Map // queue name → *qkeys
	known          sync.Map // queue name → *atomic.Int64: when to add it to the queue set again (Unix ns)

	mu      sync.Mutex // guards busy, waiting and closed
	busy    bool       // an enqueue round trip is in flight
	waiting []*waitingEnqueue
	closed  bool
	wg      sync.WaitGroup // enqueues in flight and hand-off goroutines
}

type waitingEnqueue struct {
	r    *enqueueReq
	done chan error
}

var _ Backend = (*RedisBackend)(nil)

type qkeys struct {
	base, p, l, ld, s, r, sd, d, ok, ctl, x, ix string
	fetchKeys                                   []string // the 10 fixed keys of fetchScript
}

// NewRedisBackend returns a backend on rdb; the caller keeps ownership of
// rdb, and [RedisBackend.Close] leaves it open. With a nil rdb, it opens a
// client from cfg.Options and owns it: Close closes it.
func NewRedisBackend(rdb redis.UniversalClient, cfg RedisConfig) (*RedisBackend, error) {
	switch {
	case rdb == nil && cfg.Options == nil:
		return nil, errors.New("jobs: invalid redis config: nil client and no Options")
	case rdb != nil && cfg.Options != nil:
		return nil, errors.New("jobs: invalid redis config: both a client and Options")
	}
	if cfg.Prefix == "" {
		cfg.Prefix = "gantry:"
	}
	if strings.ContainsAny(cfg.Prefix, "{}") {
		return nil, errors.New("jobs: invalid redis config: prefix must not contain braces")
	}
	if cfg.HandOffTimeout <= 0 {
		cfg.HandOffTimeout = 10 * time.Second
	}
	b := &RedisBackend{rdb: rdb, prefix: cfg.Prefix, handOffTimeout: cfg.HandOffTimeout}
	if rdb == nil {
		b.rdb, b.owned = redis.NewUniversalClient(cfg.Options), true
	}
	return b, nil
}

// Close stops the backend. Enqueues that start afterwards fail with
// [ErrClosed]; Close waits for the enqueues in flight, including the
// round trip that stores enqueues waiting behind them (bounded by
// RedisConfig.HandOffTimeout), so no goroutine of the backend outlives it.
// Then it closes the client if NewRedisBackend opened it; a client the
// caller passed stays open. Stop the runners and schedulers using the
// backend first. Calling Close again returns nil.
func (b *RedisBackend) Close() error {
	b.mu.Lock()
	already := b.closed
	b.closed = true
	b.mu.Unlock()
	b.wg.Wait()
	if already || !b.owned {
		return nil
	}
	return b.rdb.Close()
}

// enter counts an enqueue in flight, or reports that the backend is closed.
func (b *RedisBackend) enter() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return false
	}
	b.wg.Add(1)
	return true
}

func (b *RedisBackend) k(queue string) *qkeys {
	if v, ok := b.keys.Load(queue); ok {
		return v.(*qkeys)
	}
	base := b.prefix + "{q:" + queue + "}:"
	k := &qkeys{base: base, p: base + "p", l: base + "l", ld: base + "ld", s: base + "s", r: base + "r",
		sd: base + "sd", d: base + "d", ok: base + "ok", ctl: base + "ctl", x: base + "x", ix: base + "ix"}
	k.fetchKeys = []string{k.p, k.l, k.ld, k.s, k.r, k.sd, k.d, k.ok, k.ctl, k.x, k.ix}
	v, _ := b.keys.LoadOrStore(queue, k)
	return v.(*qkeys)
}

func (k *qkeys) job(id string) string { return k.base + "j:" + id }

// minute is the key of the queue's counters of one Unix minute.
func (k *qkeys) minute(m int64) string { return k.base + "m:" + strconv.FormatInt(m, 10) }

// errorField makes an error message safe for the error lists of records
// and hashes, whose separators are 0x1d, 0x1e and 0x1f.
func errorField(msg string) string {
	if !strings.ContainsAny(msg, "\x1d\x1e\x1f") {
		return msg
	}
	return strings.NewReplacer("\x1d", " ", "\x1e", " ", "\x1f", " ").Replace(msg)
}

// parseErrors decodes an error list ("\x1eattempt\x1dms\x1derror"
// entries).
func parseErrors(s string) []AttemptError {
	var out []AttemptError
	for _, e := range strings.Split(s, "\x1e")[1:] {
		f := strings.SplitN(e, "\x1d", 3)
		if len(f) != 3 {
			continue
		}
		out = append(out, AttemptError{Attempt: int(atoi64(f[0])), At: msToTime(atoi64(f[1])), Error: f[2]})
	}
	return out
}

// registerEvery is how often enqueues and a runner's maintenance add their
// queue to the set of queue names again, so that the set (which the
// Inspector looks jobs up by) heals within a second after a FLUSHALL or a
// restart of a Redis without persistence.
const registerEvery = time.Second

// register adds queue to the set of queue names, at most once per
// registerEvery.
func (b *RedisBackend) register(ctx context.Context, queue string) error {
	now := time.Now().UnixNano()
	v, ok := b.known.Load(queue)
	if ok && now < v.(*atomic.Int64).Load() {
		return nil
	}
	if err := b.rdb.SAdd(ctx, b.prefix+"queues", queue).Err(); err != nil {
		return err
	}
	if !ok {
		v, _ = b.known.LoadOrStore(queue, new(atomic.Int64))
	}
	v.(*atomic.Int64).Store(now + int64(registerEvery))
	return nil
}

const enqueueChunk = 1000

var ackKinds = map[ackKind]string{ackSuccess: "s", ackRetry: "r", ackDead: "d", ackRequeue: "q", ackCancelled: "c"}

// enqueue stores reqs. Runnable, unguarded jobs take enqueueNowScript: one
// alone shares a round trip with concurrent enqueues (coalesce), several go
// in one pipelined round trip (enqueueNow). Delayed or guarded jobs
// ([Unique], periodic ticks) take enqueueScript, which reports duplicates.
// Either way it is one script call per 1,000 jobs of a queue, and one round
// trip in all.
func (b *RedisBackend) enqueue(ctx context.Context, now time.Time, reqs []*enqueueReq) error {
	if !b.enter() {
		return ErrClosed
	}
	defer b.wg.Done()
	runnable := true
	for _, r := range reqs {
		if r.guard != guardNone || r.once || r.due.After(now) {
			runnable = false
			break
		}
	}
	switch {
	case runnable && len(reqs) == 1:
		if err := b.register(ctx, reqs[0].queue); err != nil {
			return err
		}
		return b.coalesce(ctx, reqs[0])
	case runnable:
		return b.enqueueNow(ctx, reqs)
	}
	calls, err := b.scriptCalls(ctx, reqs, 1, 7, func(k *qkeys) ([]string, []any) {
		return []string{k.p, k.s, k.sd, k.ix}, []any{now.UnixMilli(), 0}
	}, func(c *scriptCall, k *qkeys, r *enqueueReq) {
		gk, garg := b.guard(k, r)
		c.keys = append(c.keys, gk)
		once := 0
		if r.once {
			once = 1
		}
		c.args = append(c.args, r.msg.ID, r.raw, dueMs(r.due), int(r.guard), garg, meta(r), once)
	})
	if err != nil {
		return err
	}
	for _, c := range calls {
		c.args[1] = len(c.reqs)
	}
	cmds, err := runCalls(ctx, b.rdb, enqueueScript, calls)
	if err != nil {
		return err
	}
	for i, c := range calls {
		res, err := cmds[i].Slice()
		if err != nil {
			return err
		}
		for j, r := range c.reqs {
			if v, _ := res[j].(int64); v == 0 {
				r.dup = true
			}
		}
	}
	return nil
}

// scriptCall is one script call of an enqueue and the jobs it stores.
type scriptCall struct {
	keys []string
	args []any
	reqs []*enqueueReq
}

// scriptCalls groups reqs into one call per 1,000 jobs of a queue,
// registering each queue: head gives a call's fixed keys and arguments, add
// appends one job's (keysPer and argsPer of them).
func (b *RedisBackend) scriptCalls(ctx context.Context, reqs []*enqueueReq, keysPer, argsPer int,
	head func(*qkeys) ([]string, []any), add func(*scriptCall, *qkeys, *enqueueReq)) ([]*scriptCall, error) {
	var calls []*scriptCall
	open := map[string]*scriptCall{}
	n := min(len(reqs), enqueueChunk)
	for _, r := range reqs {
		k := b.k(r.queue)
		c := open[r.queue]
		if c == nil || len(c.reqs) == enqueueChunk {
			if err := b.register(ctx, r.queue); err != nil {
				return nil, err
			}
			keys, args := head(k)
			c = &scriptCall{keys: slices.Grow(keys, keysPer*n), args: slices.Grow(args, argsPer*n), reqs: make([]*enqueueReq, 0, n)}
			open[r.queue] = c
			calls = append(calls, c)
		}
		add(c, k, r)
		c.reqs = append(c.reqs, r)
	}
	return calls, nil
}

// runCalls runs calls of s in one round trip: a lone call with s.Run, more
// in one pipeline.
func runCalls(ctx context.Context, rdb redis.UniversalClient, s *redis.Script, calls []*scriptCall) ([]*redis.Cmd, error) {
	if len(calls) == 1 {
		cmd := s.Run(ctx, rdb, calls[0].keys, calls[0].args...)
		if err := cmd.Err(); err != nil && !errors.Is(err, redis.Nil) {
			return nil, err
		}
		return []*redis.Cmd{cmd}, nil
	}
	return runPipelined(ctx, rdb, s, len(calls), func(i int) ([]string, []any) { return calls[i].keys, calls[i].args })
}

// coalesce stores one runnable job. When another enqueue is in flight, the
// job waits and goes with every job that arrived meanwhile in the next
// round trip (automatic pipelining), so concurrent Enqueue calls share
// round trips while a lone caller never waits.
func (b *RedisBackend) coalesce(ctx context.Context, r *enqueueReq) error {
	b.mu.Lock()
	if b.busy {
		w := &waitingEnqueue{r: r, done: make(chan error, 1)}
		b.waiting = append(b.waiting, w)
		b.mu.Unlock()
		select {
		case err := <-w.done:
			return err
		case <-ctx.Done():
			return ctx.Err() // the job may still be stored: not acknowledged
		}
	}
	b.busy = true
	b.mu.Unlock()
	k := b.k(r.queue)
	err := enqueueNowScript.Run(ctx, b.rdb, []string{k.p, k.ix}, r.msg.ID, r.raw, meta(r)).Err()
	b.handOff(context.WithoutCancel(ctx))
	return err
}

// handOff sends the jobs that waited, on a goroutine of its own, or marks
// the backend idle. Its caller holds a count of b.wg (an enqueue in flight,
// or the previous hand-off goroutine), so the new goroutine is counted
// before Close can see the count reach zero.
func (b *RedisBackend) handOff(ctx context.Context) {
	b.mu.Lock()
	ws := b.waiting
	b.waiting = nil
	if len(ws) == 0 {
		b.busy = false
		b.mu.Unlock()
		return
	}
	b.wg.Add(1)
	b.mu.Unlock()
	go func() {
		defer b.wg.Done()
		reqs := make([]*enqueueReq, len(ws))
		for i, w := range ws {
			reqs[i] = w.r
		}
		tctx, cancel := context.WithTimeout(ctx, b.handOffTimeout)
		err := b.enqueueNow(tctx, reqs)
		cancel()
		for _, w := range ws {
			w.done <- err
		}
		b.handOff(ctx)
	}()
}

// enqueueNow stores runnable, unguarded jobs in one pipelined round trip of
// one script call per 1,000 jobs of a queue.
func (b *RedisBackend) enqueueNow(ctx context.Context, reqs []*enqueueReq) error {
	calls, err := b.scriptCalls(ctx, reqs, 0, 3, func(k *qkeys) ([]string, []any) {
		return []string{k.p, k.ix}, nil
	}, func(c *scriptCall, _ *qkeys, r *enqueueReq) {
		c.args = append(c.args, r.msg.ID, r.raw, meta(r))
	})
	if err != nil {
		return err
	}
	_, err = runCalls(ctx, b.rdb, enqueueNowScript, calls)
	return err
}

func (b *RedisBackend) guard(k *qkeys, r *enqueueReq) (key string, arg int64) {
	switch r.guard {
	case guardUnique:
		return k.base + "u:" + r.gkey, max(r.gttl.Milliseconds(), 1)
	case guardTick:
		return k.base + "t:" + r.gkey, r.gtick.UnixMilli()
	}
	return k.ix, 0
}

// dueMs rounds up, so a job never runs before its time.
func dueMs(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return (t.UnixNano() + int64(time.Millisecond) - 1) / int64(time.Millisecond)
}

func meta(r *enqueueReq) string {
	return r.msg.Kind + sep + strconv.FormatInt(r.msg.EnqueuedMs, 10) + sep + strings.ReplaceAll(r.owner, sep, " ")
}

// runPipelined runs n calls of s in one pipeline. Calls refused with
// NOSCRIPT (Redis restarted, or a cluster node never saw the script) are run
// again one by one with s.Run, which loads the script.
func runPipelined(ctx context.Context, rdb redis.UniversalClient, s *redis.Script, n int, arg func(int) ([]string, []any)) ([]*redis.Cmd, error) {
	pipe := rdb.Pipeline()
	cmds := make([]*redis.Cmd, n)
	for i := range n {
		keys, args := arg(i)
		cmds[i] = s.EvalSha(ctx, pipe, keys, args...)
	}
	_, _ = pipe.Exec(ctx)
	for i, cmd := range cmds {
		err := cmd.Err()
		if err != nil && redis.HasErrorPrefix(err, "NOSCRIPT") {
			keys, args := arg(i)
			cmds[i] = s.Run(ctx, rdb, keys, args...)
			err = cmds[i].Err()
		}
		if err != nil && !errors.Is(err, redis.Nil) {
			return nil, err
		}
	}
	return cmds, nil
}

func (b *RedisBackend) fetch(ctx context.Context, f *fetchReq) (*fetchResp, error) {
	if f.maint {
		if err := b.register(ctx, f.queue); err != nil {
			return nil, err
		}
	}
	k := b.k(f.queue)
	keys := make([]string, 12, 12+len(f.acks))
	copy(keys, k.fetchKeys)
	keys[11] = k.minute(minuteOf(f.now))
	args := make([]any, 9, 9+10*len(f.acks))
	maint := "0"
	if f.maint {
		maint = "1"
	}
	now := f.now.UnixMilli()
	args[0], args[1], args[2], args[3] = now, f.n, max(f.lease.Milliseconds(), 1), f.token
	args[4], args[5], args[6], args[7] = maint, f.deadMax, max(f.deadAge.Milliseconds(), 1), len(f.acks)
	args[8] = statsTTL.Milliseconds()
	for _, a := range f.acks {
		keys = append(keys, k.job(a.id))
		args = append(args, a.id, a.token, ackKinds[a.kind], a.attempts, messageKind(a.raw))
		switch a.kind {
		case ackSuccess:
			args = append(args, max(a.retention.Milliseconds(), 1), progressField(a.progress), a.result)
		case ackRetry:
			args = append(args, a.raw, a.due.UnixMilli(), errorField(a.errMsg))
		case ackDead:
			args = append(args, a.raw, errorField(a.errMsg), progressField(a.progress))
		case ackRequeue:
			args = append(args, a.raw)
		case ackCancelled:
			args = append(args, max(a.retention.Milliseconds(), 1), progressField(a.progress))
		}
	}
	nextAt := len(args)
	args = append(args, 0)
	for _, a := range f.acks {
		for _, r := range a.next {
			args = append(args, r.msg.ID, r.raw, meta(r))
		}
	}
	args[nextAt] = (len(args) - nextAt - 1) / 3
	res, err := fetchScript.Run(ctx, b.rdb, keys, args...).Slice()
	if err != nil {
		return nil, err
	}
	if len(res) != 4 {
		return nil, fmt.Errorf("jobs: unexpected fetch reply %v", res)
	}
	resp := &fetchResp{}
	msgs, _ := res[0].([]any)
	resp.jobs = make([]leased, 0, len(msgs))
	for _, m := range msgs {
		s, _ := m.(string)
		resp.jobs = append(resp.jobs, leased{raw: s, token: f.token})
	}
	p, _ := res[1].(int64)
	resp.paused = p == 1
	if nd, _ := res[2].(int64); nd > 0 {
		resp.nextDue = time.UnixMilli(nd)
	}
	rf, _ := res[3].(int64)
	resp.refused = int(rf)
	return resp, nil
}

func (b *RedisBackend) wait(ctx context.Context, queues []string, d time.Duration) error {
	if len(queues) == 0 {
		return nil
	}
	p := b.k(queues[0]).p
	err := b.rdb.BLMove(ctx, p, p, "RIGHT", "RIGHT", d).Err()
	if errors.Is(err, redis.Nil) {
		return nil
	}
	return err
}

func (b *RedisBackend) heartbeat(ctx context.Context, queue string, refs []leaseRef, now time.Time, lease time.Duration) (lost, cancelled []string, err error) {
	if len(refs) == 0 {
		return nil, nil, nil
	}
	k := b.k(queue)
	args := make([]any, 2, 2+2*len(refs))
	args[0], args[1] = now.UnixMilli(), max(lease.Milliseconds(), 1)
	for _, r := range refs {
		args = append(args, r.id, r.token)
	}
	res, err := heartbeatScript.Run(ctx, b.rdb, []string{k.l, k.ld, k.ctl}, args...).Slice()
	if err != nil {
		return nil, nil, err
	}
	return strs(res[0]), strs(res[1]), nil
}

func progressField(p *Progress) string {
	if p == nil {
		return sep + sep
	}
	return strconv.FormatInt(p.Current, 10) + sep + strconv.FormatInt(p.Total, 10) + sep + p.Message
}

func strs(v any) []string {
	xs, _ := v.([]any)
	out := make([]string, 0, len(xs))
	for _, x := range xs {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

func (b *RedisBackend) setProgress(ctx context.Context, queue, id string, p Progress) error {
	k := b.k(queue)
	return progressScript.Run(ctx, b.rdb, []string{k.job(id), k.ix}, id, p.Current, p.Total, p.Message).Err()
}

func (b *RedisBackend) readJobs(ctx context.Context, queues []string, ids []string) ([]*JobInfo, error) {
	cmds, err := runPipelined(ctx, b.rdb, jobScript, len(ids), func(i int) ([]string, []any) {
		k := b.k(queues[i])
		return []string{k.job(ids[i]), k.ix, k.ld, k.s, k.r, k.sd}, []any{ids[i]}
	})
	if err != nil {
		return nil, err
	}
	out := make([]*JobInfo, len(ids))
	for i, cmd := range cmds {
		res, err := cmd.Slice()
		if err != nil || len(res) < 2 {
			continue // redis.Nil: not in this queue
		}
		out[i] = parseJob(queues[i], ids[i], res)
	}
	return out, nil
}

func (b *RedisBackend) job(ctx context.Context, queues []string, id string, _ time.Time) (*JobInfo, error) {
	ids := make([]string, len(queues))
	for i := range ids {
		ids[i] = id
	}
	infos, err := b.readJobs(ctx, queues, ids)
	if err != nil {
		return nil, err
	}
	for _, info := range infos {
		if info != nil {
			if info.State == StatePending && info.Payload == nil {
				b.pendingMessage(ctx, info)
			}
			return info, nil
		}
	}
	return nil, ErrNotFound
}

// pendingScan bounds the entries read at each end of a pending list to find
// a pending job's message.
const pendingScan = 1000

// pendingMessage fills a pending job's payload and retry limit, which live
// only in its queue's list entry, if the entry is among the pendingScan
// next to run or last enqueued; deeper in a long queue they stay unknown
// (the job's list page shows them).
func (b *RedisBackend) pendingMessage(ctx context.Context, info *JobInfo) {
	raw, err := pendingMessageScript.Run(ctx, b.rdb, []string{b.k(info.Queue).p}, info.ID, pendingScan).Text()
	if err == nil {
		setMessage(info, raw)
	}
}

// setMessage sets a pending job's payload and retry limit from its queue
// entry raw, if raw decodes.
func setMessage(info *JobInfo, raw string) {
	if m, err := decodeMessage(raw); err == nil {
		info.Payload, info.MaxRetry = m.Payload, m.MaxRetry
	}
}

// parseJob derives a job's info from jobScript's reply.
func parseJob(queue, id string, res []any) *JobInfo {
	info := &JobInfo{ID: id, Queue: queue}
	if res[0] == "f" {
		rec, _ := res[1].(string)
		f := strings.SplitN(rec, sep, 11)
		if len(f) != 11 {
			return nil
		}
		switch f[0] {
		case "ok":
			info.State = StateSucceeded
			if f[10] != "" {
				info.Result = []byte(f[10])
			}
		case "dead":
			info.State = StateDead
			if m, err := decodeMessage(f[10]); err == nil {
				info.Payload, info.MaxRetry = m.Payload, m.MaxRetry
			}
		default:
			info.State = StateCancelled
		}
		info.Attempts = int(atoi64(f[1]))
		info.FinishedAt = msToTime(atoi64(f[2]))
		info.Kind, info.EnqueuedAt, info.Owner = f[3], msToTime(atoi64(f[4])), f[5]
		if f[6] != "" {
			info.Progress = &Progress{Current: atoi64(f[6]), Total: atoi64(f[7]), Message: f[8]}
		}
		info.LastError = f[9]
		if strings.HasPrefix(f[9], "\x1e") {
			info.Errors = parseErrors(f[9])
			info.LastError = ""
			if n := len(info.Errors); n > 0 {
				info.LastError = info.Errors[n-1].Error
			}
		}
		return info
	}
	if len(res) < 7 {
		return nil
	}
	meta, _ := res[1].(string)
	mf := strings.SplitN(meta, sep, 3)
	if len(mf) == 3 {
		info.Kind, info.EnqueuedAt, info.Owner = mf[0], msToTime(atoi64(mf[1])), mf[2]
	}
	if h, ok := res[2].([]any); ok {
		for i := 0; i+1 < len(h); i += 2 {
			v, _ := h[i+1].(string)
			if f, _ := h[i].(string); len(f) > 1 && f[0] == 'E' {
				if ms, msg, ok := strings.Cut(v, "\x1d"); ok {
					info.Errors = append(info.Errors, AttemptError{Attempt: int(atoi64(f[1:])), At: msToTime(atoi64(ms)), Error: msg})
				}
				continue
			}
			switch h[i] {
			case "a":
				info.Attempts = int(atoi64(v))
			case "e":
				info.LastError = v
			case "pc":
				if info.Progress == nil {
					info.Progress = &Progress{}
				}
				info.Progress.Current = atoi64(v)
			case "pt":
				if info.Progress == nil {
					info.Progress = &Progress{}
				}
				info.Progress.Total = atoi64(v)
			case "pm":
				if info.Progress == nil {
					info.Progress = &Progress{}
				}
				info.Progress.Message = v
			}
		}
	}
	if len(info.Errors) > 0 {
		slices.SortStableFunc(info.Errors, func(x, y AttemptError) int { return x.Attempt - y.Attempt })
		info.Errors = info.Errors[max(0, len(info.Errors)-MaxAttemptErrors):]
	}
	var raw string
	switch {
	case res[3] != nil:
		info.State = StateActive
		_, raw, _ = strings.Cut(res[3].(string), sep)
	case res[4] != nil:
		info.State, info.ProcessAt = StateScheduled, msToTime(scoreOf(res[4]))
		raw, _ = res[6].(string)
	case res[5] != nil:
		info.State, info.ProcessAt = StateRetrying, msToTime(scoreOf(res[5]))
		raw, _ = res[6].(string)
	default:
		info.State = StatePending
	}
	if m, err := decodeMessage(raw); err == nil {
		info.Payload, info.MaxRetry = m.Payload, m.MaxRetry
	}
	return info
}

func scoreOf(v any) int64 {
	switch x := v.(type) {
	case string:
		f, _ := strconv.ParseFloat(x, 64)
		return int64(f)
	case int64:
		return x
	}
	return 0
}

func atoi64(s string) int64 {
	n, _ := strconv.ParseInt(s, 10, 64)
	return n
}

func scriptResult(n int64, err error) error {
	switch {
	case err != nil:
		return err
	case n == 0:
		return ErrNotFound
	case n < 0:
		return ErrFinished
	}
	return nil
}

func (b *RedisBackend) retryDead(ctx context.Context, queue, id string) error {
	k := b.k(queue)
	return scriptResult(retryDeadScript.Run(ctx, b.rdb, []string{k.job(id), k.d, k.p, k.ix}, id).Int64())
}

func (b *RedisBackend) deleteDead(ctx context.Context, queue, id string) error {
	k := b.k(queue)
	return scriptResult(deleteDeadScript.Run(ctx, b.rdb, []string{k.job(id), k.d, k.ix}, id).Int64())
}

func (b *RedisBackend) cancel(ctx context.Context, queue, id string, now time.Time) error {
	k := b.k(queue)
	return scriptResult(cancelScript.Run(ctx, b.rdb, []string{k.job(id), k.s, k.r, k.sd, k.ld, k.ctl, k.x, k.ix},
		id, now.UnixMilli(), time.Hour.Milliseconds()).Int64())
}

func (b *RedisBackend) setPaused(ctx context.Context, queue string, paused bool) error {
	if err := b.register(ctx, queue); err != nil {
		return err
	}
	if paused {
		return b.rdb.HSet(ctx, b.k(queue).ctl, "!paused", "1").Err()
	}
	return b.rdb.HDel(ctx, b.k(queue).ctl, "!paused").Err()
}

func (b *RedisBackend) sizes(ctx context.Context, queue string, _ time.Time) (QueueSizes, error) {
	k := b.k(queue)
	n, err := sizesScript.Run(ctx, b.rdb, []string{k.p, k.s, k.r, k.l, k.d, k.ok, k.ctl, k.x}).Int64Slice()
	if err != nil {
		return QueueSizes{}, err
	}
	if len(n) != 8 {
		return QueueSizes{}, fmt.Errorf("jobs: unexpected sizes reply %v", n)
	}
	return QueueSizes{Queue: queue, Pending: n[0], Scheduled: n[1], Retrying: n[2], Active: n[3],
		Dead: n[4], Succeeded: n[5], Cancelled: n[6], Paused: n[7] == 1}, nil
}

func (b *RedisBackend) queues(ctx context.Context) ([]string, error) {
	qs, err := b.rdb.SMembers(ctx, b.prefix+"queues").Result()
	if err != nil {
		return nil, err
	}
	slices.Sort(qs)
	return qs, nil
}

func (b *RedisBackend) lastTick(ctx context.Context, queue, name string) (time.Time, error) {
	v, err := b.rdb.Get(ctx, b.k(queue).base+"t:"+name).Int64()
	if errors.Is(err, redis.Nil) {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, err
	}
	return msToTime(v), nil
}

// zsetOf returns the sorted set holding a queue's jobs in state, and
// whether its jobs are finished (kept as records).
func (k *qkeys) zsetOf(state State) (key string, finished bool) {
	switch state {
	case StateScheduled:
		return k.s, false
	case StateRetrying:
		return k.r, false
	case StateActive:
		return k.l, false
	case StateDead:
		return k.d, true
	case StateSucceeded:
		return k.ok, true
	}
	return k.x, true
}

func (b *RedisBackend) window(ctx context.Context, queue string, w *windowReq) ([]winEntry, error) {
	k := b.k(queue)
	mode, key, finished := "l", k.p, false
	if w.state != StatePending {
		mode = "z"
		key, finished = k.zsetOf(w.state)
	}
	newest, kinds := "0", "0"
	if w.newest {
		newest = "1"
	}
	if w.kinds && !finished {
		kinds = "1"
	}
	var aid string
	var ascore int64
	var apos int
	if c := w.after; c != nil {
		aid, ascore, apos = c.I, c.C, c.P
	}
	res, err := windowScript.Run(ctx, b.rdb, []string{key, k.ctl, k.ix}, mode, newest, aid, ascore, apos, w.n, kinds, pendingDrift).Slice()
	if err != nil {
		return nil, err
	}
	if len(res) != 6 {
		return nil, fmt.Errorf("jobs: unexpected window reply %v", res)
	}
	start, _ := res[0].(int64)
	ids, ks, scores, raws := strs(res[1]), strs(res[2]), strs(res[4]), strs(res[5])
	out := make([]winEntry, len(ids))
	for i, id := range ids {
		out[i] = winEntry{id: id, pos: int(start) + i}
		if i < len(raws) {
			out[i].raw = raws[i]
		}
		if i < len(ks) {
			out[i].kind = ks[i]
		}
		if i < len(scores) {
			f, _ := strconv.ParseFloat(scores[i], 64)
			out[i].score = int64(f)
		}
	}
	marked, _ := res[3].([]any)
	for _, m := range marked {
		if i, ok := m.(int64); ok && i >= 1 && int(i) <= len(out) {
			out[i-1].skip = true
		}
	}
	if w.kinds && finished && len(out) > 0 {
		keys := make([]string, len(out))
		for i, e := range out {
			keys[i] = k.job(e.id)
		}
		vals, err := b.rdb.MGet(ctx, keys...).Result()
		if err != nil {
			return nil, err
		}
		for i, v := range vals {
			if rec, ok := v.(string); ok {
				if f := strings.SplitN(rec, sep, 5); len(f) == 5 {
					out[i].kind = f[3]
				}
			}
		}
	}
	return out, nil
}

// jobsByID reads a page of one queue's jobs in one script call. A pending
// job's payload and retry limit live only in its list entry, which the
// window read (es[i].raw).
func (b *RedisBackend) jobsByID(ctx context.Context, queue string, es []winEntry, _ time.Time) ([]*JobInfo, error) {
	k := b.k(queue)
	keys := make([]string, 5, 5+len(es))
	keys[0], keys[1], keys[2], keys[3], keys[4] = k.ix, k.ld, k.s, k.r, k.sd
	args := make([]any, len(es))
	for i, e := range es {
		keys = append(keys, k.job(e.id))
		args[i] = e.id
	}
	res, err := jobsScript.Run(ctx, b.rdb, keys, args...).Slice()
	if err != nil {
		return nil, err
	}
	out := make([]*JobInfo, len(es))
	for i, r := range res {
		if i >= len(es) {
			break
		}
		if rs, ok := r.([]any); ok && len(rs) >= 2 {
			out[i] = parseJob(queue, es[i].id, rs)
			if out[i] != nil && out[i].State == StatePending {
				setMessage(out[i], es[i].raw)
			}
		}
	}
	return out, nil
}

func (b *RedisBackend) stats(ctx context.Context, queue string, minutes int, now time.Time) (*QueueStats, error) {
	k := b.k(queue)
	cur := minuteOf(now)
	keys := []string{k.p, k.ctl, k.s, k.r, k.sd, k.d}
	for m := cur - int64(minutes) + 1; m <= cur; m++ {
		keys = append(keys, k.minute(m))
	}
	res, err := statsScript.Run(ctx, b.rdb, keys, kindsSample).Slice()
	if err != nil {
		return nil, err
	}
	if len(res) != 6 {
		return nil, fmt.Errorf("jobs: unexpected stats reply %v", res)
	}
	st := &QueueStats{}
	if ms, _ := res[0].(int64); ms > 0 {
		st.Latency = now.Sub(time.UnixMilli(ms))
	}
	kinds := map[string]*KindStats{}
	ks := func(kind string) *KindStats {
		if kinds[kind] == nil {
			kinds[kind] = &KindStats{Kind: kind}
		}
		return kinds[kind]
	}
	for i, field := range []func(*KindStats) *int64{
		func(s *KindStats) *int64 { return &s.Pending },
		func(s *KindStats) *int64 { return &s.Scheduled },
		func(s *KindStats) *int64 { return &s.Retrying },
	} {
		flat, _ := res[1+i].([]any)
		for j := 0; j+1 < len(flat); j += 2 {
			kind, _ := flat[j].(string)
			n, _ := flat[j+1].(int64)
			*field(ks(kind)) += n
		}
	}
	if dead := strs(res[4]); len(dead) > 0 {
		dk := make([]string, len(dead))
		for i, id := range dead {
			dk[i] = k.job(id)
		}
		vals, err := b.rdb.MGet(ctx, dk...).Result()
		if err != nil {
			return nil, err
		}
		for _, v := range vals {
			if rec, ok := v.(string); ok {
				if f := strings.SplitN(rec, sep, 5); len(f) == 5 && f[3] != "" {
					ks(f[3]).Dead++
				}
			}
		}
	}
	hist, _ := res[5].([]any)
	for i := range minutes {
		ms := MinuteStats{Minute: time.Unix((cur-int64(minutes)+1+int64(i))*60, 0).UTC()}
		if i < len(hist) {
			h := strs(hist[i])
			for j := 0; j+1 < len(h); j += 2 {
				f, n := h[j], atoi64(h[j+1])
				if len(f) < 3 {
					continue
				}
				if f[0] == 'p' {
					ms.Processed += n
					ks(f[2:]).Processed += n
				} else {
					ms.Failed += n
					ks(f[2:]).Failed += n
				}
			}
		}
		st.History = append(st.History, ms)
	}
	st.Kinds = sortedKinds(kinds)
	return st, nil
}

func (b *RedisBackend) retryNow(ctx context.Context, queue, id string) error {
	k := b.k(queue)
	n, err := retryNowScript.Run(ctx, b.rdb, []string{k.job(id), k.s, k.r, k.sd, k.p, k.ix, k.d}, id).Int64()
	if err == nil && n == 2 {
		return b.retryDead(ctx, queue, id)
	}
	return scriptResult(n, err)
}

func (b *RedisBackend) remove(ctx context.Context, queue, id string) error {
	k := b.k(queue)
	return scriptResult(deleteScript.Run(ctx, b.rdb, []string{k.job(id), k.s, k.r, k.sd, k.d, k.ok, k.x, k.ix, k.ctl, k.ld}, id).Int64())
}

func (b *RedisBackend) deadBatch(ctx context.Context, queue string, retry bool, n int) (int, int64, error) {
	k := b.k(queue)
	ids, err := b.rdb.ZRange(ctx, k.d, 0, int64(n-1)).Result()
	if err != nil || len(ids) == 0 {
		return 0, 0, err
	}
	keys := make([]string, 3, 3+len(ids))
	keys[0], keys[1], keys[2] = k.d, k.p, k.ix
	args := make([]any, 1, 1+len(ids))
	args[0] = "d"
	if retry {
		args[0] = "r"
	}
	for _, id := range ids {
		keys = append(keys, k.job(id))
		args = append(args, id)
	}
	res, err := deadBatchScript.Run(ctx, b.rdb, keys, args...).Int64Slice()
	if err != nil {
		return 0, 0, err
	}
	if len(res) != 2 {
		return 0, 0, fmt.Errorf("jobs: unexpected dead batch reply %v", res)
	}
	return int(res[0]), res[1], nil
}
