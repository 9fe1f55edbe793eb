package main

import (
	"context"

	"github.com/gantry-dev/gantry/jobs"
	"github.com/gantry-dev/gantry/jobs/jobsreport"
	errreport "github.com/gantry-dev/gantry/report"
)

// openReporter builds the error reporter when SENTRY_DSN is set (none
// otherwise). It is opened first so that its hook, which flushes the
// queued events, closes last: after the server, the worker and the
// scheduler have stopped.
func (a *app) openReporter() error {
	rep, err := a.cfg.SentryReporter()
	if err != nil || rep == nil {
		return err
	}
	a.reporter = rep
	a.closers = append(a.closers, func() error { return rep.Close(context.Background()) })
	return nil
}

// errorReporter is the reporter for server.Config.Reporter: nil when
// there is none (never a typed nil).
func (a *app) errorReporter() errreport.Reporter {
	if a.reporter == nil {
		return nil
	}
	return a.reporter
}

// jobWrap is the runners' Wrap: panics and jobs that fail for good go to
// the reporter; nil when there is none.
func (a *app) jobWrap() jobs.WrapFunc { return jobsreport.Wrap(a.errorReporter()) }
