package jobs

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisConfig configures [NewRedisBackend]. The zero value is valid.
type RedisConfig struct {
	// Prefix starts every key. Default "gantry:". A queue's keys are
	// "<prefix>{q:<queue>}:<part>", so all keys of a queue share one hash
	// tag and one Redis Cluster slot.
	Prefix string
}

// RedisBackend stores queues and jobs in Redis (standalone, Sentinel or
// Cluster, through any redis.UniversalClient). It never closes the client it
// was given. Safe for concurrent use.
type RedisBackend struct {
	rdb    redis.UniversalClient
	prefix string
	keys   sync.Map // queue name → *qkeys
	known  sync.Map // queue names already added to the queue set
}

var _ Backend = (*RedisBackend)(nil)

type qkeys struct {
	base, p, l, ld, s, r, sd, d, ok, ctl, x string
	fetchKeys                                []string // the 10 fixed keys of fetchScript
}

// NewRedisBackend returns a backend on rdb. The caller keeps ownership of rdb.
func NewRedisBackend(rdb redis.UniversalClient, cfg RedisConfig) (*RedisBackend, error) {
	if rdb == nil {
		return nil, errors.New("jobs: invalid redis config: nil client")
	}
	if cfg.Prefix == "" {
		cfg.Prefix = "gantry:"
	}
	if strings.ContainsAny(cfg.Prefix, "{}") {
		return nil, errors.New("jobs: invalid redis config: prefix must not contain braces")
	}
	return &RedisBackend{rdb: rdb, prefix: cfg.Prefix}, nil
}

func (b *RedisBackend) k(queue string) *qkeys {
	if v, ok := b.keys.Load(queue); ok {
		return v.(*qkeys)
	}
	base := b.prefix + "{q:" + queue + "}:"
	k := &qkeys{base: base, p: base + "p", l: base + "l", ld: base + "ld", s: base + "s", r: base + "r",
		sd: base + "sd", d: base + "d", ok: base + "ok", ctl: base + "ctl", x: base + "x"}
	k.fetchKeys = []string{k.p, k.l, k.ld, k.s, k.r, k.sd, k.d, k.ok, k.ctl, k.x}
	v, _ := b.keys.LoadOrStore(queue, k)
	return v.(*qkeys)
}

func (k *qkeys) job(id string) string { return k.base + "j:" + id }

func (b *RedisBackend) register(ctx context.Context, queue string) error {
	if _, ok := b.known.Load(queue); ok {
		return nil
	}
	if err := b.rdb.SAdd(ctx, b.prefix+"queues", queue).Err(); err != nil {
		return err
	}
	b.known.Store(queue, true)
	return nil
}

const enqueueChunk = 1000

func (b *RedisBackend) enqueue(ctx context.Context, now time.Time, reqs []*enqueueReq) error {
	type call struct {
		keys []string
		args []any
		reqs []*enqueueReq
	}
	var calls []*call
	open := map[string]*call{}
	for _, r := range reqs {
		c := open[r.queue]
		if c == nil || len(c.reqs) == enqueueChunk {
			if err := b.register(ctx, r.queue); err != nil {
				return err
			}
			k := b.k(r.queue)
			n := min(len(reqs), enqueueChunk)
			c = &call{keys: make([]string, 3, 3+2*n), args: make([]any, 2, 2+7*n)}
			c.keys[0], c.keys[1], c.keys[2] = k.p, k.s, k.sd
			c.args[0] = now.UnixMilli()
			open[r.queue] = c
			calls = append(calls, c)
		}
		k := b.k(r.queue)
		jk := k.job(r.msg.ID)
		gk, garg := jk, int64(0)
		switch r.guard {
		case guardUnique:
			gk, garg = k.base+"u:"+r.gkey, max(r.gttl.Milliseconds(), 1)
		case guardTick:
			gk, garg = k.base+"t:"+r.gkey, r.gtick.UnixMilli()
		}
		var due int64
		if !r.due.IsZero() {
			due = r.due.UnixMilli()
		}
		c.keys = append(c.keys, jk, gk)
		c.args = append(c.args, r.msg.ID, r.raw, due, int(r.guard), garg, r.msg.Kind, r.owner)
		c.reqs = append(c.reqs, r)
	}
	for _, c := range calls {
		c.args[1] = len(c.reqs)
	}
	var results []any
	if len(calls) == 1 {
		res, err := enqueueScript.Run(ctx, b.rdb, calls[0].keys, calls[0].args...).Slice()
		if err != nil {
			return err
		}
		results = []any{res}
	} else {
		cmds, err := runPipelined(ctx, b.rdb, enqueueScript, len(calls), func(i int) ([]string, []any) { return calls[i].keys, calls[i].args })
		if err != nil {
			return err
		}
		for _, cmd := range cmds {
			res, err := cmd.Slice()
			if err != nil {
				return err
			}
			results = append(results, res)
		}
	}
	for i, c := range calls {
		res := results[i].([]any)
		for j, r := range c.reqs {
			if v, _ := res[j].(int64); v == 0 {
				r.dup = true
			}
		}
	}
	return nil
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
	k := b.k(f.queue)
	keys := make([]string, 10, 10+len(f.acks))
	copy(keys, k.fetchKeys)
	args := make([]any, 8, 8+10*len(f.acks))
	maint := "0"
	if f.maint {
		maint = "1"
	}
	now := f.now.UnixMilli()
	args[0], args[1], args[2], args[3] = now, f.n, now+f.lease.Milliseconds(), f.token
	args[4], args[5], args[6], args[7] = maint, f.deadMax, max(f.deadAge.Milliseconds(), 1), len(f.acks)
	for _, a := range f.acks {
		keys = append(keys, k.job(a.id))
		var due int64
		if !a.due.IsZero() {
			due = a.due.UnixMilli()
		}
		args = append(args, a.id, a.token, string(rune(a.kind)), a.raw, due, a.errMsg, a.result,
			max(a.retention.Milliseconds(), 1), a.attempts, a.started.UnixMilli())
	}
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
	args[0], args[1] = now.UnixMilli(), now.Add(lease).UnixMilli()
	for _, r := range refs {
		args = append(args, r.id, r.token)
	}
	res, err := heartbeatScript.Run(ctx, b.rdb, []string{k.l, k.ld, k.ctl}, args...).Slice()
	if err != nil {
		return nil, nil, err
	}
	return strs(res[0]), strs(res[1]), nil
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
	return b.rdb.HSet(ctx, b.k(queue).job(id), "pc", p.Current, "pt", p.Total, "pm", p.Message).Err()
}

// jobReads are the reads that make up one job's info.
type jobReads struct {
	queue string
	h     *redis.MapStringStringCmd
	ld    *redis.StringCmd
	sd    *redis.StringCmd
	s, r  *redis.FloatCmd
}

func (b *RedisBackend) readJobs(ctx context.Context, queues []string, ids []string) ([]*jobReads, error) {
	pipe := b.rdb.Pipeline()
	var reads []*jobReads
	for i, q := range queues {
		k := b.k(q)
		id := ids[i]
		reads = append(reads, &jobReads{queue: q, h: pipe.HGetAll(ctx, k.job(id)), ld: pipe.HGet(ctx, k.ld, id),
			sd: pipe.HGet(ctx, k.sd, id), s: pipe.ZScore(ctx, k.s, id), r: pipe.ZScore(ctx, k.r, id)})
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, err
	}
	return reads, nil
}

func (b *RedisBackend) job(ctx context.Context, queues []string, id string, _ time.Time) (*JobInfo, error) {
	if len(queues) == 0 {
		return nil, ErrNotFound
	}
	ids := make([]string, len(queues))
	for i := range ids {
		ids[i] = id
	}
	reads, err := b.readJobs(ctx, queues, ids)
	if err != nil {
		return nil, err
	}
	for _, rd := range reads {
		if info := rd.info(id); info != nil {
			return info, nil
		}
	}
	return nil, ErrNotFound
}

// info derives a job's state from its hash and its queue entries.
func (rd *jobReads) info(id string) *JobInfo {
	h := rd.h.Val()
	if len(h) == 0 {
		return nil
	}
	info := &JobInfo{ID: id, Kind: h["k"], Queue: rd.queue, Owner: h["o"], LastError: h["e"]}
	info.EnqueuedAt = msToTime(atoi64(h["t"]))
	info.StartedAt = msToTime(atoi64(h["st"]))
	info.FinishedAt = msToTime(atoi64(h["f"]))
	info.Attempts = int(atoi64(h["a"]))
	if r := h["r"]; r != "" {
		info.Result = []byte(r)
	}
	if _, ok := h["pc"]; ok {
		info.Progress = &Progress{Current: atoi64(h["pc"]), Total: atoi64(h["pt"]), Message: h["pm"]}
	}
	raw := h["m"]
	switch h["s"] {
	case "ok":
		info.State = StateSucceeded
	case "dead":
		info.State = StateDead
	case "c":
		info.State = StateCancelled
	default:
		switch {
		case rd.ld.Err() == nil:
			info.State = StateActive
			_, raw, _ = strings.Cut(rd.ld.Val(), sep)
		case rd.s.Err() == nil:
			info.State, info.ProcessAt, raw = StateScheduled, msToTime(int64(rd.s.Val())), rd.sd.Val()
		case rd.r.Err() == nil:
			info.State, info.ProcessAt, raw = StateRetrying, msToTime(int64(rd.r.Val())), rd.sd.Val()
		default:
			info.State = StatePending
		}
	}
	if m, err := decodeMessage(raw); err == nil {
		info.Payload, info.MaxRetry = m.Payload, m.MaxRetry
	}
	return info
}

func atoi64(s string) int64 {
	n, _ := strconv.ParseInt(s, 10, 64)
	return n
}

func infoFromMessage(queue, raw string, state State) *JobInfo {
	m, err := decodeMessage(raw)
	if err != nil {
		return &JobInfo{ID: messageID(raw), Queue: queue, State: state}
	}
	return &JobInfo{ID: m.ID, Kind: m.Kind, Queue: queue, State: state, Attempts: m.Retried, MaxRetry: m.MaxRetry,
		Payload: m.Payload, EnqueuedAt: msToTime(m.EnqueuedMs)}
}

func (b *RedisBackend) list(ctx context.Context, queue string, state State, offset, limit int, now time.Time) ([]*JobInfo, error) {
	k := b.k(queue)
	stop := int64(offset + limit - 1)
	switch state {
	case StatePending:
		raws, err := b.rdb.LRange(ctx, k.p, -int64(offset+limit), -int64(offset+1)).Result()
		if err != nil {
			return nil, err
		}
		out := make([]*JobInfo, 0, len(raws))
		for i := len(raws) - 1; i >= 0; i-- {
			out = append(out, infoFromMessage(queue, raws[i], StatePending))
		}
		return out, nil
	case StateScheduled, StateRetrying, StateActive:
		z, data := k.s, k.sd
		if state == StateRetrying {
			z = k.r
		} else if state == StateActive {
			z, data = k.l, k.ld
		}
		zs, err := b.rdb.ZRangeWithScores(ctx, z, int64(offset), stop).Result()
		if err != nil || len(zs) == 0 {
			return nil, err
		}
		ids := make([]string, len(zs))
		for i, e := range zs {
			ids[i] = e.Member.(string)
		}
		vals, err := b.rdb.HMGet(ctx, data, ids...).Result()
		if err != nil {
			return nil, err
		}
		out := make([]*JobInfo, 0, len(ids))
		for i, v := range vals {
			s, ok := v.(string)
			if !ok {
				continue
			}
			if state == StateActive {
				_, s, _ = strings.Cut(s, sep)
			}
			info := infoFromMessage(queue, s, state)
			if state != StateActive {
				info.ProcessAt = msToTime(int64(zs[i].Score))
			}
			out = append(out, info)
		}
		return out, nil
	case StateDead, StateSucceeded, StateCancelled:
		z := k.d
		if state == StateSucceeded {
			z = k.ok
		} else if state == StateCancelled {
			z = k.x
		}
		ids, err := b.rdb.ZRevRange(ctx, z, int64(offset), stop).Result()
		if err != nil || len(ids) == 0 {
			return nil, err
		}
		qs := make([]string, len(ids))
		for i := range qs {
			qs[i] = queue
		}
		reads, err := b.readJobs(ctx, qs, ids)
		if err != nil {
			return nil, err
		}
		out := make([]*JobInfo, 0, len(ids))
		for i, rd := range reads {
			if info := rd.info(ids[i]); info != nil && info.State == state {
				out = append(out, info)
			}
		}
		return out, nil
	}
	return nil, fmt.Errorf("jobs: unknown state %q", state)
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
	return scriptResult(retryDeadScript.Run(ctx, b.rdb, []string{k.job(id), k.d, k.p}, id).Int64())
}

func (b *RedisBackend) deleteDead(ctx context.Context, queue, id string) error {
	k := b.k(queue)
	return scriptResult(deleteDeadScript.Run(ctx, b.rdb, []string{k.job(id), k.d}, id).Int64())
}

func (b *RedisBackend) cancel(ctx context.Context, queue, id string, now time.Time) error {
	k := b.k(queue)
	return scriptResult(cancelScript.Run(ctx, b.rdb, []string{k.job(id), k.s, k.r, k.sd, k.ld, k.ctl, k.x},
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

func (b *RedisBackend) sizes(ctx context.Context, queue string, now time.Time) (QueueSizes, error) {
	k := b.k(queue)
	pipe := b.rdb.Pipeline()
	p, s, r, l, d := pipe.LLen(ctx, k.p), pipe.ZCard(ctx, k.s), pipe.ZCard(ctx, k.r), pipe.ZCard(ctx, k.l), pipe.ZCard(ctx, k.d)
	ok := pipe.ZCount(ctx, k.ok, strconv.FormatInt(now.UnixMilli(), 10), "+inf")
	paused := pipe.HExists(ctx, k.ctl, "!paused")
	if _, err := pipe.Exec(ctx); err != nil {
		return QueueSizes{}, err
	}
	return QueueSizes{Queue: queue, Pending: p.Val(), Scheduled: s.Val(), Retrying: r.Val(), Active: l.Val(),
		Dead: d.Val(), Succeeded: ok.Val(), Paused: paused.Val()}, nil
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
