// Package jobsreport hands the unexpected failures of jobs to a
// [report.Reporter]: [Wrap] returns the jobs.WrapFunc to set as
// jobs.RunnerConfig.Wrap.
//
//	runner, err := jobs.NewRunner(backend, jobs.RunnerConfig{Workers: ws, Wrap: jobsreport.Wrap(rep)})
//
// Reported, once per attempt that ends so:
//
//   - a panic in the worker ([jobs.PanicError]), on any attempt, with its
//     value and stack: a panic is a bug whether or not a retry follows;
//   - an error that ends the job for good ([jobs.Attempt.Final]: the last
//     attempt's, or one wrapping jobs.ErrSkipRetry).
//
// Not reported: an attempt that will be retried, a success, and an attempt
// ended by the runner rather than by the job (cancelled by an operator,
// cut at the shutdown deadline, its lease lost). The event carries the
// job's id, kind and queue and the attempt number, never its payload or
// headers.
//
// The package is apart from the jobs core so that the core imports no
// reporting package.
package jobsreport
