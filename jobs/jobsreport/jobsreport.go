package jobsreport

import (
	"context"
	"errors"

	"github.com/gantry-dev/gantry/jobs"
	"github.com/gantry-dev/gantry/report"
)

// Wrap returns a jobs.WrapFunc that runs each attempt and reports it to
// rep when it panicked or failed for good (see the package documentation).
// It returns the attempt's error unchanged. A nil rep returns nil (no
// wrap).
func Wrap(rep report.Reporter) jobs.WrapFunc {
	if rep == nil {
		return nil
	}
	return func(ctx context.Context, a *jobs.Attempt, next func(context.Context) error) error {
		err := next(ctx)
		if err == nil {
			return nil
		}
		ev := report.Event{
			Kind:     report.KindJob,
			Err:      err,
			JobID:    a.ID,
			JobKind:  a.Kind,
			Queue:    a.Queue,
			Attempt:  a.Number,
			MaxRetry: a.MaxRetry,
		}
		var pe *jobs.PanicError
		switch {
		case errors.As(err, &pe):
			ev.Panic, ev.Stack = pe.Value, pe.Stack
		case endedByRunner(ctx), !a.Final(err):
			return err
		}
		rep.Report(ctx, ev)
		return err
	}
}

// endedByRunner reports whether the attempt's context was ended by the
// runner or an operator rather than by the job's own failure.
func endedByRunner(ctx context.Context) bool {
	cause := context.Cause(ctx)
	return cause != nil && (errors.Is(cause, jobs.ErrShutdown) || errors.Is(cause, jobs.ErrCancelled) || errors.Is(cause, jobs.ErrLeaseLost))
}
