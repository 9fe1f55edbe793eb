// Package sentryreport is the Sentry implementation of [report.Reporter],
// built on github.com/getsentry/sentry-go (the maintained SDK: its client
// batches, rate-limits and retries; we only build and scrub the events).
//
//	rep, err := sentryreport.New(sentryreport.Config{DSN: dsn, Release: "1.4.2", Environment: "production"})
//	srv, err := server.New(server.Config{Reporter: rep})
//	runner, err := jobs.NewRunner(backend, jobs.RunnerConfig{Workers: ws, Wrap: jobsreport.Wrap(rep)})
//	defer rep.Close(ctx) // after srv and runner have stopped: flushes what is queued
//
// (config.Settings.SentryReporter builds it from SENTRY_DSN,
// SENTRY_RELEASE, SENTRY_ENVIRONMENT and SENTRY_SAMPLE_RATE.)
//
// # Events
//
// Each [report.Event] becomes one Sentry event: the error chain as
// exceptions (a panic as an unhandled "panic" exception, its stack parsed
// into frames, level fatal), the transaction "POST /api/v1/items/:id" or
// "job send_invoice", tags (request_id, http.route, http.method,
// http.status_code; job.id, job.kind, job.queue, job.attempt), the user's
// opaque id, and the release and environment of [Config].
//
// # Scrubbing
//
// The events carry no request data to begin with. As a second line of
// defence every event passes a BeforeSend scrubber: it drops any request
// (body, cookies, headers, query), breadcrumbs, attachments, frame
// variables and source lines; keeps only the user's id; and redacts what
// looks like a credential in messages, exception values, tags and
// contexts: URL passwords, Authorization credentials (Bearer, Basic),
// JSON Web Tokens, and the values of keys naming a secret (password=…,
// "token": "…", Cookie: …, api_key, dsn). The client sends no personal
// data, and source lines around frames are never read.
//
// # Tests
//
// Package [github.com/gantry-dev/gantry/report/sentryreport/sentryreporttest]
// stands in for Sentry's ingestion server on loopback.
package sentryreport
