// Package jobsmetrics records the metrics of package
// [github.com/gantry-dev/gantry/jobs] with Prometheus collectors, so that
// the jobs core imports neither prometheus' client library nor, through it,
// net/http.
//
// [New] registers the collectors and returns a [Metrics], a [jobs.Observer]
// to set in the client, runner and scheduler configs:
//
//	m, err := jobsmetrics.New(jobsmetrics.Config{Registerer: reg, Backend: backend, Queues: []string{"default"}})
//	client, err := jobs.NewClient(backend, jobs.ClientConfig{Metrics: m})
//	runner, err := jobs.NewRunner(backend, jobs.RunnerConfig{Workers: ws, Metrics: m})
//	sched, err := jobs.NewScheduler(jobs.SchedulerConfig{Client: client, Metrics: m})
//
// The series, with <ns> the Config.Namespace (default "gantry"):
//
//   - <ns>_jobs_enqueued_total{queue,kind}: jobs stored by the client;
//   - <ns>_jobs_processed_total{queue,kind,outcome}: finished attempts, outcome
//     one of succeeded, retried, dead, cancelled, requeued;
//   - <ns>_jobs_duration_seconds{queue,kind}: attempt run time;
//   - <ns>_jobs_ticks_skipped_total{schedule}: periodic ticks skipped as later
//     than the scheduler's MisfireGrace;
//   - <ns>_jobs_queue_size{queue,state}: with Config.Backend and Config.Queues,
//     each queue's pending, scheduled, retrying, active and dead jobs, read at
//     scrape time with O(1) backend commands per queue;
//   - <ns>_jobs_queue_latency_seconds{queue}: with Config.Backend and
//     Config.Queues, the age of the pending job that runs next (0 when none
//     is pending), from [jobs.Inspector.Stats], read at most once per
//     Config.LatencyEvery (10s by default) whatever the scrape rate.
package jobsmetrics
