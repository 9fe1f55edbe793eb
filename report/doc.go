// Package report is the hook through which a service hears of its
// unexpected errors: the 5xx answers of its server, the panics of its
// handlers and jobs, and the jobs that failed for good.
//
// # The hook
//
// A [Reporter] receives one [Event] per unexpected error. The server
// (server.Config.Reporter) and the job runner (through the WrapFunc of
// package [github.com/gantry-dev/gantry/jobs/jobsreport]) build the events;
// package [github.com/gantry-dev/gantry/report/sentryreport] sends them to
// Sentry. A team using another service implements Report (a few lines, or a
// [ReporterFunc]) and passes its value in the same places.
//
// # What is reported
//
//   - HTTP: every 5xx answer except 503 and 504 (a drain, an unavailable
//     dependency and a request deadline are the service saying "not now",
//     watched through metrics), and every recovered panic, each once, with
//     the request id. 4xx answers are the client's errors and are never
//     reported.
//   - Jobs: every panic (on any attempt: it is a bug), and an error that
//     ends the job for good (jobs.Attempt.Final: the last attempt, or an
//     error that skips retries). An attempt that will be retried is not
//     reported, nor one cut short by the runner's shutdown.
//
// # What an event never carries
//
// An [Event] is built from fields chosen one by one: the route template
// (/users/:id, never the path with its ids), the method, the status, the
// request id, an opaque user id, or the job's id, kind, queue and attempt.
// It never holds a request's body, headers (Authorization, Cookie), query
// string, a job's payload, or anything from the settings. The error itself
// is the one part a program writes freely; a Reporter that sends events
// out of the process should scrub secrets from its text as a second line
// of defence, as sentryreport does.
//
// This package imports nothing of Gantry: the packages that build or
// consume events import it, not each other.
package report
