package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"time"
)

// Enqueuer is what application code needs to start jobs. Both [*Client] and
// the fake in package jobstest satisfy it: take an Enqueuer in handlers so
// tests can swap in the fake.
type Enqueuer interface {
	Enqueue(ctx context.Context, args Args, opts ...Option) (*JobInfo, error)
	EnqueueMany(ctx context.Context, args []Args, opts ...Option) ([]*JobInfo, error)
}

var _ Enqueuer = (*Client)(nil)

// ClientConfig configures a [Client]. The zero value is valid.
type ClientConfig struct {
	// Routes maps a job kind to its default queue (Celery's task_routes); the
	// Queue option overrides it. Kinds not listed go to DefaultQueue.
	Routes map[string]string
	// DefaultQueue is the queue of unrouted jobs. Default "default".
	DefaultQueue string
	// MaxRetry is the default number of retries after the first attempt.
	// Default 25; set -1 for none (MaxRetry(0) per call does the same).
	MaxRetry int
	// Retention is how long a finished job stays readable. Default 1 h.
	Retention time.Duration
	// Metrics, if set, is told of every job stored ([Observer.Enqueued]);
	// see package [github.com/gantry-dev/gantry/jobs/jobsmetrics].
	Metrics Observer
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Headers, if set, is called with each enqueue's context and returns
	// key/value pairs stored with the job (e.g. the W3C traceparent of the
	// request that enqueued it), readable by the worker as Job.Headers and
	// by RunnerConfig.Wrap. At most 4 KiB once URL-encoded; keys and
	// values are strings, so a secret put there is stored in clear.
	Headers func(ctx context.Context) map[string]string
}

func (c ClientConfig) withDefaults() ClientConfig {
	if c.DefaultQueue == "" {
		c.DefaultQueue = "default"
	}
	switch {
	case c.MaxRetry == 0:
		c.MaxRetry = 25
	case c.MaxRetry < 0:
		c.MaxRetry = 0
	}
	if c.Retention <= 0 {
		c.Retention = time.Hour
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	c.Metrics = observer(c.Metrics)
	return c
}

// maxHeaders bounds a job's encoded headers.
const maxHeaders = 4096

// Client enqueues jobs on a [Backend]. It is safe for concurrent use and
// holds no resources of its own: closing the backend's Redis client is the
// caller's job.
type Client struct {
	b   Backend
	cfg ClientConfig
}

// NewClient returns a Client on b.
func NewClient(b Backend, cfg ClientConfig) (*Client, error) {
	if b == nil {
		return nil, errors.New("jobs: invalid client config: nil backend")
	}
	return &Client{b: b, cfg: cfg.withDefaults()}, nil
}

// Enqueue stores a job with args and returns its info (the id is
// JobInfo.ID). The kind's [KindDefaults] apply first, then opts. It returns
// [ErrDuplicate] when a [Unique] key is held.
func (c *Client) Enqueue(ctx context.Context, args Args, opts ...Option) (*JobInfo, error) {
	now := c.cfg.Now()
	r, err := c.request(ctx, args, now, opts)
	if err != nil {
		return nil, err
	}
	if err := c.b.enqueue(ctx, now, []*enqueueReq{r}); err != nil {
		return nil, fmt.Errorf("jobs: enqueue %s: %w", r.msg.Kind, err)
	}
	if r.dup {
		return nil, fmt.Errorf("jobs: enqueue %s: %w", r.msg.Kind, ErrDuplicate)
	}
	if o := c.cfg.Metrics; o != nil {
		o.Enqueued(r.queue, r.msg.Kind, 1)
	}
	return r.info(), nil
}

// EnqueueMany stores many jobs with the same options in one pipelined round
// trip per 1,000 jobs (per queue). Each item gets its own kind's
// [KindDefaults] under opts. Jobs refused by a [Unique] key get a nil
// entry in the result; the other entries line up with args.
func (c *Client) EnqueueMany(ctx context.Context, args []Args, opts ...Option) ([]*JobInfo, error) {
	items := make([]Item, len(args))
	for i, a := range args {
		items[i] = Item{Args: a, Options: opts}
	}
	return c.EnqueueItems(ctx, items)
}

// Item is one job of [Client.EnqueueItems]: its args and its own options.
type Item struct {
	Args    Args
	Options []Option
}

// EnqueueItems stores jobs that each have their own options (an outbox
// relay's rows, each with its [JobID]) in one round trip, as EnqueueMany
// does: one script call per 1,000 jobs of a queue, pipelined. Each item
// gets its kind's [KindDefaults] under its options. Jobs refused by a
// [Unique] key or a [JobID] already known get a nil entry; the other
// entries line up with items. An invalid item fails the whole call before
// anything is stored.
func (c *Client) EnqueueItems(ctx context.Context, items []Item) ([]*JobInfo, error) {
	now := c.cfg.Now()
	reqs := make([]*enqueueReq, len(items))
	for i, it := range items {
		r, err := c.request(ctx, it.Args, now, it.Options)
		if err != nil {
			return nil, fmt.Errorf("jobs: enqueue many: item %d: %w", i, err)
		}
		reqs[i] = r
	}
	if err := c.b.enqueue(ctx, now, reqs); err != nil {
		return nil, fmt.Errorf("jobs: enqueue many: %w", err)
	}
	out := make([]*JobInfo, len(reqs))
	for i, r := range reqs {
		if !r.dup {
			out[i] = r.info()
			if o := c.cfg.Metrics; o != nil {
				o.Enqueued(r.queue, r.msg.Kind, 1)
			}
		}
	}
	return out, nil
}

// Check reports whether an enqueue of args with opts would be refused
// before anything is stored — nil args, a kind that cannot be stored, an
// invalid [JobID], a [Unique] key without a ttl — without storing
// anything or marshalling args. Code that records jobs to enqueue later
// (package jobs/outbox) checks them with it inside its own transaction.
func Check(args Args, opts ...Option) error {
	if args == nil {
		return errors.New("jobs: enqueue nil args")
	}
	_, err := check(args, OptionsFor(args, opts...))
	return err
}

// check validates args and their resolved options, and returns the kind.
func check(args Args, o EnqueueOptions) (string, error) {
	kind := args.Kind()
	if err := checkKind(kind); err != nil {
		return "", fmt.Errorf("jobs: %T: %w", args, err)
	}
	if o.ID != "" {
		if err := checkID(o.ID, o.wfStep); err != nil {
			return "", fmt.Errorf("jobs: %s: %w", kind, err)
		}
	}
	if o.UniqueKey != "" && o.UniqueTTL <= 0 && o.tickName == "" {
		return "", fmt.Errorf("jobs: unique key %q needs a positive ttl", o.UniqueKey)
	}
	return kind, nil
}

func (c *Client) request(ctx context.Context, args Args, now time.Time, opts []Option) (*enqueueReq, error) {
	if args == nil {
		return nil, errors.New("jobs: enqueue nil args")
	}
	o := OptionsFor(args, opts...)
	kind, err := check(args, o)
	if err != nil {
		return nil, err
	}
	payload, err := json.Marshal(args)
	if err != nil {
		return nil, fmt.Errorf("jobs: marshal %s: %w", kind, err)
	}
	queue := o.Queue
	if queue == "" {
		queue = c.cfg.Routes[kind]
	}
	if queue == "" {
		queue = c.cfg.DefaultQueue
	}
	if o.MaxRetry < 0 {
		o.MaxRetry = c.cfg.MaxRetry
	}
	if o.Retention <= 0 {
		o.Retention = c.cfg.Retention
	}
	id := o.ID
	if id == "" {
		id = newID()
	}
	var headers string
	if c.cfg.Headers != nil {
		if hs := c.cfg.Headers(ctx); len(hs) > 0 {
			vs := make(url.Values, len(hs))
			for k, v := range hs {
				vs.Set(k, v)
			}
			if headers = vs.Encode(); len(headers) > maxHeaders {
				return nil, fmt.Errorf("jobs: %s: headers of %d bytes exceed %d", kind, len(headers), maxHeaders)
			}
		}
	}
	m := &message{ID: id, Headers: headers, MaxRetry: o.MaxRetry, TimeoutMs: o.Timeout.Milliseconds(),
		RetentionMs: o.Retention.Milliseconds(), EnqueuedMs: now.UnixMilli(), Kind: kind, Payload: payload}
	r := &enqueueReq{queue: queue, msg: m, raw: m.encode(), owner: o.Owner, once: o.ID != ""}
	switch {
	case !o.ProcessAt.IsZero():
		r.due = o.ProcessAt
	case o.Delay > 0:
		r.due = now.Add(o.Delay)
	}
	switch {
	case o.tickName != "":
		r.guard, r.gkey, r.gtick = guardTick, o.tickName, o.tickAt
	case o.UniqueKey != "":
		r.guard, r.gkey, r.gttl = guardUnique, o.UniqueKey, o.UniqueTTL
	}
	return r, nil
}

func (r *enqueueReq) info() *JobInfo {
	st := StatePending
	if !r.due.IsZero() && r.due.After(msToTime(r.msg.EnqueuedMs)) {
		st = StateScheduled
	}
	return &JobInfo{ID: r.msg.ID, Kind: r.msg.Kind, Queue: r.queue, State: st, MaxRetry: r.msg.MaxRetry,
		Payload: r.msg.Payload, Owner: r.owner, EnqueuedAt: msToTime(r.msg.EnqueuedMs), ProcessAt: r.due}
}
