// Package jobs runs typed background jobs: named queues with priorities and
// per-queue caps, retries with exponential backoff, a bounded dead set,
// periodic schedules that fire once across any number of instances,
// progress and results readable by id, an inspector and an [Observer] for
// metrics. Its HTTP surfaces (the status handler, GET /tasks/{id}) live in
// package [github.com/gantry-dev/gantry/jobs/jobshttp] and its Prometheus
// metrics in package [github.com/gantry-dev/gantry/jobs/jobsmetrics], so this
// package imports neither echo, nor net/http, nor prometheus. It
// plays Celery's role in the FastAPI guide Gantry ports, and is built to
// beat hibiken/asynq on its own benchmark (see bench/jobs).
//
// # Jobs, workers, clients
//
// A job's arguments are a user type implementing [Args]; its Kind is stored
// with the job, so it must not change when the Go type is renamed. A
// [Worker] (or [WorkerFunc]) of that type is registered with [AddWorker]:
//
//	type WelcomeEmail struct{ UserID int64 `json:"user_id"` }
//	func (WelcomeEmail) Kind() string { return "welcome_email" }
//
//	ws := jobs.NewWorkers()
//	jobs.AddWorker(ws, jobs.WorkerFunc[WelcomeEmail](func(ctx context.Context, j *jobs.Job[WelcomeEmail]) error {
//		return mailer.SendWelcome(ctx, j.Args.UserID)
//	}))
//
// A [Client] enqueues ([Client.Enqueue], [Client.EnqueueMany]) with per-call
// options ([Queue], [MaxRetry], [Timeout], [Delay], [ProcessAt], [Unique],
// [Retention], [Owner]). Application code should depend on the small
// [Enqueuer] interface, which package jobstest fakes. A [Runner] fetches and
// runs jobs until its context ends; a [Scheduler] enqueues [PeriodicJob]s;
// an [Inspector] reads and manages jobs; jobshttp.StatusConfig builds the
// echo handler for GET /tasks/{id}.
//
// # Backends
//
// [NewRedisBackend] is the production engine: standalone Redis, Sentinel or
// Cluster through any redis.UniversalClient. Every multi-key change is one
// Lua script whose keys share the queue's hash tag ("<prefix>{q:<queue>}:…")
// and are all passed in KEYS, so it runs unchanged on Redis Cluster.
// [NewMemoryBackend] has the same semantics in process (lost on restart) and
// is the embedded default; both pass the same behavioural test suite.
//
// A RedisBackend built on the caller's client never closes it (asynq's
// rule); [RedisBackend.Close] refuses new enqueues ([ErrClosed]), waits for
// those in flight, and closes the client only if it opened it from
// RedisConfig.Options.
//
// # Delivery guarantee
//
// Delivery is at-least-once: a job runs until a worker acknowledges it, and
// can run more than once — when a worker dies or loses its lease after
// starting a job but before its acknowledgement reaches Redis, the job runs
// again. Workers must therefore be idempotent (use the job id, or a natural
// key, to skip work already done). A job is never run by two live workers at
// the same time while its lease is held.
//
// # Leases and recovery timings
//
// A fetch leases jobs for RunnerConfig.LeaseDuration (default 10 s) under a
// per-fetch token. While a job runs, its runner extends the lease every
// HeartbeatInterval (default 2.5 s). Every acknowledgement (success, retry,
// failure, hand-back) carries the token, and Redis refuses it if the lease
// has expired or the job was leased again since: a worker paused past its
// lease cannot acknowledge. Expired leases are returned to their queue by
// any runner's maintenance pass, every MaintenanceInterval (default 1 s),
// counting one attempt. With the defaults, the jobs of a worker killed with
// SIGKILL run again within 11 s (lease 10 s + one maintenance pass; the
// fault test asserts 15 s). A job whose attempts are used up this way goes
// to the dead set instead of running again. Leases are judged by the
// backend's clock (Redis TIME; the memory backend's process clock), so a
// runner whose clock is skewed neither shortens nor lengthens anyone's lease;
// enqueue delays ([Delay], [ProcessAt]) use the client's clock.
//
// # Throughput and idle cost
//
// One script call acknowledges the previous batch of a queue and leases up
// to FetchBatch (default 32) new jobs, never more than free slots, so a busy
// runner makes well under one round trip per job; Fetchers dispatch loops
// (default 2) keep that many round trips in flight. An idle runner blocks on
// Redis (BLMOVE on the queue's pending list, IdleWait 1 s at a time) and
// picks up a new job within milliseconds; its idle cost is about one
// blocking command and one maintenance script per queue per second.
// Scheduled jobs and retries become runnable at their time, give or take
// one MaintenanceInterval when the runner is busy.
//
// # Retries and the dead set
//
// A failed attempt (an error, a panic, or a timeout through the job's
// context) is retried after RunnerConfig.Retry's delay (default
// [ExponentialBackoff] from 1 s to 1 h with jitter) until MaxRetry (default
// 25) retries are used up; then the job goes to the dead set. Errors
// wrapping [ErrSkipRetry] ([SkipRetry]) and payloads that do not decode go
// to the dead set at once. A job whose kind this runner has no worker for
// (an older runner during a rolling deploy) is handed back without using an
// attempt, with a back-off growing from 1 s to 1 min, and waits up to
// RunnerConfig.UnknownKindWait (default 24 h) for a runner that knows it;
// then it goes dead ([ErrUnknownKind]). A panic is stored as LastError
// "jobs: panic: <value>"; its stack goes to the log with the job's id, kind
// and queue, never to LastError. Each queue's dead set keeps at
// most DeadMaxSize jobs (default 10,000) for at most DeadMaxAge (default 7
// days); [Inspector.RetryDead] and [Inspector.DeleteDead] manage it.
//
// # Per-kind defaults
//
// An [Args] type may implement [KindDefaults]: JobDefaults returns the
// [Option] values every job of its kind starts with (queue, [MaxRetry],
// [Timeout], [Unique], [Retention], ...). [Client.Enqueue], each item of
// [Client.EnqueueMany] and the [Scheduler]'s ticks apply them first, then the
// call's options, so a call-site option overrides its own field only; both
// override ClientConfig.Routes and the client's MaxRetry and Retention.
// JobDefaults is called on the args being enqueued, so a unique key can be
// derived from them, e.g. Unique("mail:"+a.Campaign+":"+a.To, 24*time.Hour)
// stores one mail per address per campaign and refuses the others with
// [ErrDuplicate] until the ttl ends (a nil entry in EnqueueMany's result).
// The delay before a retry belongs to the worker: a [Worker] that also
// implements [RetryDelayer] picks it from the failed attempt and its error;
// a result of 0 or less falls back to RunnerConfig.Retry. Nothing of this is
// stored beyond the resolved options, so queued jobs are unchanged.
//
// # Idempotent enqueue
//
// [JobID] gives a job the caller's id and refuses (with [ErrDuplicate]) a
// second enqueue of that id while the first job is unfinished or within its
// retention, on the same atomic step that stores it: an outbox relay that
// crashed after enqueueing and before deleting its row, or a client retrying
// after a timeout, does not start the job twice.
//
// # Workflows
//
// [Client.EnqueueWorkflow] enqueues jobs with an order between them in one
// call: [Chain] runs steps one after another, [Group] in parallel, [Chord]
// runs a callback once every member of a group has finished; they nest.
//
//	wf, err := client.EnqueueWorkflow(ctx,
//		jobs.Chain(
//			jobs.Step(Resize{ImageID: 7}),
//			jobs.Chord(jobs.Group(jobs.Step(Thumb{ImageID: 7, W: 64}), jobs.Step(Thumb{ImageID: 7, W: 256})),
//				jobs.Step(Publish{ImageID: 7}), jobs.Partial()),
//		),
//		jobs.OnFailure(jobs.Step(Alert{ImageID: 7})))
//
// Each step is an ordinary job with its own queue, retries and timeout; its
// id is the workflow's id, a dot and the step's number. A step reads the
// outcomes of the steps it waited for with [Job.Inputs] (results decoded by
// [StepResult.Decode]). A step that fails for good skips the steps that
// depend on it; a chord callback built with [Partial] runs anyway and sees
// which members failed; the [OnFailure] step runs once with the failed steps.
// [Inspector.Workflow] shows the workflow and each step's state;
// [Inspector.CancelWorkflow] cancels it (pending steps never run, running
// ones see [ErrCancelled]).
//
// Delivery stays at-least-once per step. The workflow's state is one Redis
// hash with its own hash tag ({w:<id>}), so each transition is one atomic
// script in one slot while the steps' queues may live in other slots of a
// Cluster. A runner records a step's outcome there before acknowledging the
// step, then enqueues the steps it released under the [JobID] guard: a
// worker SIGKILLed in between runs the step again, its outcome is recorded
// once, and the release it repeats is refused as a duplicate. Completions
// are counted in the workflow's hash, so of a chord's members finishing at
// the same moment exactly one releases the callback. A step costs one
// round trip to the workflow's hash after it ran (plus one to enqueue what it
// released), and [Job.Inputs] one more when called; see bench/README.md.
//
// # Shutdown
//
// When its context ends, [Runner.Run] stops fetching, lets running jobs
// finish for up to ShutdownTimeout (default 10 s) while still acknowledging
// them and extending their leases. At the deadline it first acknowledges the
// jobs that have finished, so none runs again, then cancels the rest (context
// cause [ErrShutdown]), gives them 100 ms to return, and hands them back to
// the front of their queue without counting an attempt. The dispatcher looks
// for the end of its context and for due heartbeats between every two
// fetches, so neither waits for a backlog to drain.
//
// # Cancelling
//
// [Inspector.Cancel] cancels a pending, scheduled or retrying job at once and
// a running one through its context (cause [ErrCancelled]). A cancelled job
// stays cancelled whatever its handler then returns, on both backends.
//
// # Progress, results, retention
//
// Inside Work, [Job.Progress] stores progress at once and [Job.SetResult]
// stores a result with the success. Both are readable by id
// ([Inspector.Job], jobshttp's status handler) until the job's retention
// (default 1 h, the seed's result_expires) runs out; after that the job is gone
// ([ErrNotFound]). Everything finished expires, so Redis memory stays bounded.
//
// # Periodic jobs
//
// A [Scheduler] takes cron specs (robfig/cron/v3, with CRON_TZ= or
// SchedulerConfig.Location) and "@every <duration>" intervals aligned to the
// Unix epoch. Any number of instances may run: the enqueue of tick T is
// accepted only if the schedule's last tick, stored with the job atomically,
// is before T, so each tick is enqueued once. A due tick is kept, and
// retried, until the backend accepts it: ticks missed while the backend was
// down (or the scheduler was stopped) fire once, late, as the latest one due,
// if at most SchedulerConfig.MisfireGrace late (default 1 h); older ones are
// skipped with a warning and counted in ticks_skipped_total.
//
// # Operating
//
// The [Inspector] is the operator's API, which the dashboard
// ([github.com/gantry-dev/gantry/jobs/jobshttp]) and the command line
// ([github.com/gantry-dev/gantry/jobs/jobscli]) are built on:
//   - [Inspector.Stats]: a queue's counts by state, latency (age of the
//     oldest pending job), per-kind breakdown and per-minute throughput and
//     failures (counters written once per ack batch, kept 2 h);
//   - [Inspector.List]: cursor pages of a queue's jobs in one state, oldest
//     or newest first, filtered by kind; a page costs what the page holds
//     (at most 1,000 entries examined), never what the queue holds;
//   - [Inspector.Job] with the error of each failed attempt
//     ([JobInfo.Errors], the last [MaxAttemptErrors]);
//   - actions: [Inspector.RetryNow], [Inspector.Delete], [Inspector.Cancel],
//     [Inspector.RetryAllDead] and [Inspector.DeleteAllDead] (in bounded
//     batches), [Inspector.Pause] and [Inspector.Resume] (a runner sees a
//     pause at its next fetch);
//   - [Inspector.Workers]: the runners online, from the record each one
//     refreshes on its heartbeat; [Inspector.Schedules]: each periodic job
//     of the schedulers running, with its next and last fire and the job it
//     made. Records of a process that died expire after three heartbeats.
//
// # Metrics
//
// The client, runner and scheduler report what they do to the [Observer] set
// in their config's Metrics field: jobs enqueued, each attempt's outcome
// (OutcomeSucceeded, OutcomeRetried, OutcomeDead, OutcomeCancelled,
// OutcomeRequeued) and run time, periodic ticks skipped. Package
// [github.com/gantry-dev/gantry/jobs/jobsmetrics] implements it with
// Prometheus counters, a histogram and a queue depth gauge read through
// [Inspector.Sizes] at scrape time. A nil Observer records nothing.
//
// # Reused libraries
//
// go-redis v9 (client, scripts), robfig/cron/v3 (cron parsing); prometheus
// client_golang only in jobsmetrics, echo v4 only in jobshttp. asynq is not used:
// its design (one job per round trip, polling when idle, minute-long orphan
// recovery, no fencing, duplicate periodic ticks across instances, keys
// built in scripts) is what this package improves on.
package jobs
