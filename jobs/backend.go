package jobs

import (
	"context"
	"time"
)

// Backend stores queues and jobs. The two implementations are
// [NewRedisBackend] (production, Redis Cluster safe) and [NewMemoryBackend]
// (embedded default and tests); both pass the same behavioural suite. The
// interface is sealed: its methods are unexported.
type Backend interface {
	enqueue(ctx context.Context, now time.Time, reqs []*enqueueReq) error
	fetch(ctx context.Context, f *fetchReq) (*fetchResp, error)
	wait(ctx context.Context, queues []string, d time.Duration) error
	heartbeat(ctx context.Context, queue string, leases []leaseRef, now time.Time, lease time.Duration) (lost, cancelled []string, err error)
	setProgress(ctx context.Context, queue, id string, p Progress) error
	job(ctx context.Context, queues []string, id string, now time.Time) (*JobInfo, error)
	retryDead(ctx context.Context, queue, id string) error
	deleteDead(ctx context.Context, queue, id string) error
	cancel(ctx context.Context, queue, id string, now time.Time) error
	setPaused(ctx context.Context, queue string, paused bool) error
	sizes(ctx context.Context, queue string, now time.Time) (QueueSizes, error)
	queues(ctx context.Context) ([]string, error)
	lastTick(ctx context.Context, queue, name string) (time.Time, error)

	// Workflows (see workflow.go): the state lives apart from the queues,
	// each transition atomic on its own.
	createWorkflow(ctx context.Context, w *wfDef) error
	stepDone(ctx context.Context, wf string, step int, out stepOutcome, now time.Time) ([]release, error)
	stepInputs(ctx context.Context, wf string, step int) ([]StepResult, error)
	workflow(ctx context.Context, id string) (*WorkflowInfo, error)
	cancelWorkflow(ctx context.Context, id string, now time.Time) ([]release, error)

	// Watching a job (see events.go): watchOpen opens or refreshes the
	// job's event stream and reports where to read from (after, if the
	// stream still holds it); watchRead waits up to wait for events after
	// a position and returns them and the new position.
	watchOpen(ctx context.Context, queue, id, after string, ttl time.Duration) (pos string, resumed bool, err error)
	watchRead(ctx context.Context, queue, id, after string, wait time.Duration) ([]Event, string, error)

	// The operator API (see inspect.go).
	window(ctx context.Context, queue string, w *windowReq) ([]winEntry, error)
	jobsByID(ctx context.Context, queue string, es []winEntry, now time.Time) ([]*JobInfo, error)
	stats(ctx context.Context, queue string, minutes int, now time.Time) (*QueueStats, error)
	retryNow(ctx context.Context, queue, id string) error
	remove(ctx context.Context, queue, id string) error
	// deadBatch retries (or deletes) up to n of the oldest dead jobs and
	// returns how many it moved and how many dead jobs are left.
	deadBatch(ctx context.Context, queue string, retry bool, n int) (moved int, left int64, err error)
}

// QueueSizes counts a queue's jobs by state. Succeeded and Cancelled count
// those still within their retention; a job cancelled while pending counts
// as cancelled, not pending.
type QueueSizes struct {
	Queue     string `json:"queue"`
	Pending   int64  `json:"pending"`
	Scheduled int64  `json:"scheduled"`
	Retrying  int64  `json:"retrying"`
	Active    int64  `json:"active"`
	Dead      int64  `json:"dead"`
	Succeeded int64  `json:"succeeded"`
	Cancelled int64  `json:"cancelled"`
	Paused    bool   `json:"paused"`
}

type guardMode int

const (
	guardNone   guardMode = iota
	guardUnique           // SET NX with TTL
	guardTick             // monotonic last-tick compare-and-set
)

type enqueueReq struct {
	queue string
	msg   *message
	raw   string
	owner string
	due   time.Time // zero: runnable now
	guard guardMode
	gkey  string        // unique key or schedule name
	gttl  time.Duration // unique ttl
	gtick time.Time     // tick time
	once  bool          // refused if a job with its id exists (JobID)
	dup   bool          // out: refused by its guard
}

type ackKind byte

const (
	ackSuccess   ackKind = 's'
	ackRetry     ackKind = 'r'
	ackDead      ackKind = 'd'
	ackRequeue   ackKind = 'q' // hand back without counting an attempt
	ackCancelled ackKind = 'c'
)

type ack struct {
	id, token string
	kind      ackKind
	raw       string // message to store: retry (attempt counted), requeue (unchanged), dead
	due       time.Time
	errMsg    string
	result    []byte
	progress  *Progress
	attempts  int
	started   time.Time
	retention time.Duration
	// next are workflow steps this job's outcome released on its own
	// queue, runnable now: stored with the ack, atomically, under the id
	// guard (whether or not the ack itself is accepted).
	next []*enqueueReq
}

type fetchReq struct {
	queue   string
	acks    []*ack
	n       int // jobs to lease; 0 only acks
	token   string
	now     time.Time
	lease   time.Duration
	maint   bool // promote due scheduled/retry jobs, reclaim expired leases, trim
	deadMax int
	deadAge time.Duration
}

type leased struct {
	raw   string
	token string
}

type fetchResp struct {
	jobs    []leased
	paused  bool
	nextDue time.Time // maint only: earliest scheduled/retry time, zero if none
	refused int       // acks refused (stale token or expired lease)
}

type leaseRef struct{ id, token string }
