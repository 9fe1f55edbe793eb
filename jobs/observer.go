package jobs

import (
	"reflect"
	"time"
)

// The outcomes an [Observer] is told in Processed: how a job attempt ended.
const (
	// OutcomeSucceeded: the handler returned nil.
	OutcomeSucceeded = "succeeded"
	// OutcomeRetried: the attempt failed and the job will run again.
	OutcomeRetried = "retried"
	// OutcomeDead: the attempt failed and the job moved to the dead set.
	OutcomeDead = "dead"
	// OutcomeCancelled: the job was cancelled while it ran.
	OutcomeCancelled = "cancelled"
	// OutcomeRequeued: not an attempt; the job went back to its queue
	// (shutdown, or a kind this runner has no worker for).
	OutcomeRequeued = "requeued"
)

// Observer is told what the [Client], [Runner] and [Scheduler] do, for
// metrics: set it in ClientConfig.Metrics, RunnerConfig.Metrics and
// SchedulerConfig.Metrics. Package
// [github.com/gantry-dev/gantry/jobs/jobsmetrics] implements it with
// Prometheus collectors. A nil Observer, or a nil pointer (map, func) in
// one, records nothing.
//
// Its methods are called from many goroutines at once, on the path of every
// job, and must return quickly without blocking.
type Observer interface {
	// Enqueued reports n jobs of kind stored in queue.
	Enqueued(queue, kind string, n int)
	// Processed reports a job attempt of kind in queue that ended with
	// outcome (one of the Outcome constants) after running for d.
	Processed(queue, kind, outcome string, d time.Duration)
	// TickSkipped reports a periodic tick of schedule skipped as later than
	// SchedulerConfig.MisfireGrace.
	TickSkipped(schedule string)
}

// observer returns o, or nil if o holds a nil pointer, map, func, channel or
// slice, so that the hot path only checks for a nil interface.
func observer(o Observer) Observer {
	if o == nil {
		return nil
	}
	switch v := reflect.ValueOf(o); v.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Func, reflect.Chan, reflect.Slice:
		if v.IsNil() {
			return nil
		}
	}
	return o
}
