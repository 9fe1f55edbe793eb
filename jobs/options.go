package jobs

import (
	"fmt"
	"time"
)

// Option is a per-call enqueue setting, e.g. jobs.Queue("email") or
// jobs.MaxRetry(5). Options override the [ClientConfig] defaults and routes.
type Option func(*EnqueueOptions)

// EnqueueOptions is the resolved set of [Option] values. Fakes such as
// jobstest read it through [ResolveOptions]; zero fields mean "use the
// client's default".
type EnqueueOptions struct {
	Queue     string        // queue name; default from ClientConfig.Routes, then "default"
	MaxRetry  int           // retries after the first attempt; -1 means unset
	Timeout   time.Duration // per-attempt run time limit; 0 uses RunnerConfig.JobTimeout
	ProcessAt time.Time     // earliest run time; zero means now
	Delay     time.Duration // run no earlier than now+Delay (ignored when ProcessAt is set)
	UniqueKey string        // if set, a second job with the same key in the same queue is refused while held
	UniqueTTL time.Duration // how long the unique key is held
	Retention time.Duration // how long state, progress and result stay readable after the job finishes
	Owner     string        // opaque owner id checked by the status handler
	ID        string        // the job's id, chosen by the caller; empty: a new random id

	wfStep   bool      // ID is a workflow step's (set by EnqueueWorkflow)
	tickName string    // scheduler: schedule name
	tickAt   time.Time // scheduler: tick time
}

// KindDefaults is implemented by an [Args] type whose kind has its own
// enqueue defaults: queue, max retries, timeout, uniqueness, retention, as
// ordinary [Option] values. JobDefaults is called on the args being enqueued,
// so a [Unique] key may be derived from them (e.g. one job per address per
// campaign). [Client.Enqueue], [Client.EnqueueMany] (per item) and the
// [Scheduler] apply them first; options given at the call override them, and
// they override [ClientConfig.Routes], DefaultQueue, MaxRetry and Retention.
// The delay before a retry is the worker's: see [RetryDelayer].
type KindDefaults interface {
	Args
	JobDefaults() []Option
}

// OptionsFor resolves the options an enqueue of args with opts uses: the
// kind's [KindDefaults] first, then opts. Fakes such as jobstest use it to see
// what [Client.Enqueue] would store.
func OptionsFor(args Args, opts ...Option) EnqueueOptions {
	return ResolveOptions(withDefaults(args, opts)...)
}

// withDefaults returns the kind's default options of args followed by opts.
func withDefaults(args Args, opts []Option) []Option {
	kd, ok := args.(KindDefaults)
	if !ok {
		return opts
	}
	def := kd.JobDefaults()
	if len(def) == 0 {
		return opts
	}
	return append(append(make([]Option, 0, len(def)+len(opts)), def...), opts...)
}

// ResolveOptions applies opts in order to an empty EnqueueOptions.
func ResolveOptions(opts ...Option) EnqueueOptions {
	o := EnqueueOptions{MaxRetry: -1}
	for _, f := range opts {
		if f != nil {
			f(&o)
		}
	}
	return o
}

// Queue puts the job on the named queue.
func Queue(name string) Option { return func(o *EnqueueOptions) { o.Queue = name } }

// MaxRetry sets how many times a failed job is retried (0: run once).
func MaxRetry(n int) Option {
	if n < 0 {
		n = 0
	}
	return func(o *EnqueueOptions) { o.MaxRetry = n }
}

// Timeout bounds each attempt: the job's context is cancelled after d.
// Timeouts under a minute use a timer on the job's context (ctx.Err() is
// context.DeadlineExceeded); longer ones are checked at the runner's
// heartbeats, so they fire up to RunnerConfig.HeartbeatInterval late and
// cancel the context with cause context.DeadlineExceeded (see context.Cause).
func Timeout(d time.Duration) Option { return func(o *EnqueueOptions) { o.Timeout = d } }

// Delay makes the job runnable d from now.
func Delay(d time.Duration) Option { return func(o *EnqueueOptions) { o.Delay = d } }

// ProcessAt makes the job runnable at t.
func ProcessAt(t time.Time) Option { return func(o *EnqueueOptions) { o.ProcessAt = t } }

// Unique refuses (with [ErrDuplicate]) any other job enqueued with the same
// key on the same queue during ttl from this enqueue. The key is held for the
// whole ttl, whatever happens to the job.
func Unique(key string, ttl time.Duration) Option {
	return func(o *EnqueueOptions) { o.UniqueKey, o.UniqueTTL = key, ttl }
}

// Retention sets how long a finished job's state, progress and result stay
// readable (default 1 h). Dead jobs are kept per RunnerConfig.DeadMaxAge.
func Retention(d time.Duration) Option { return func(o *EnqueueOptions) { o.Retention = d } }

// Owner records who started the job (e.g. a user id), for the status
// handler's owner check.
func Owner(owner string) Option { return func(o *EnqueueOptions) { o.Owner = owner } }

// JobID gives the job the caller's id instead of a random one, and makes
// the enqueue idempotent: while a job with that id is unfinished on the
// queue, or finished and still within its retention (dead jobs while they
// are kept), another enqueue with the id is refused with [ErrDuplicate] and
// stores nothing. An outbox relay or a retried request can then enqueue the
// same job twice without running it twice. An id is 1 to 128 bytes of
// ASCII letters, digits and "-_.:"; ids the jobs package makes are 20
// characters of digits and lower-case letters, so ids holding another byte
// (e.g. a "-") never meet them.
// An empty id means a random one, as without the option.
func JobID(id string) Option { return func(o *EnqueueOptions) { o.ID = id } }

// checkID reports whether id is a valid [JobID]. Ids shaped as a workflow
// step's (a 20-character id, a dot, a number) are the workflows' own.
func checkID(id string, step bool) error {
	if _, _, ok := parseStepID(id); ok && !step {
		return fmt.Errorf("job id %q has the shape of a workflow step's id", id)
	}
	if id == "" || len(id) > 128 {
		return fmt.Errorf("job id must be 1 to 128 bytes, got %d", len(id))
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_', c == '.', c == ':':
		default:
			return fmt.Errorf("job id %q holds %q: only letters, digits and -_.: are allowed", id, c)
		}
	}
	return nil
}

// tickAt marks an enqueue by the scheduler: at most one job per (name, at).
func tickAt(name string, at time.Time) Option {
	return func(o *EnqueueOptions) { o.tickName, o.tickAt = name, at }
}
