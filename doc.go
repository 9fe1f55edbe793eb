// Package gantry is the overview of Gantry, a set of small packages for
// building production HTTP APIs in Go on echo v4, sqlx and go-redis: the Go
// answer to the "FastAPI in production" patterns. This package holds no
// code; import the packages below.
//
// # The packages
//
//   - [github.com/gantry-dev/gantry/config]: typed settings loaded from
//     defaults, a config file, .env and the environment, validated (every bad
//     field at once, production rules) and redacted when printed; the edge
//     where settings become the other packages' options
//     (Settings.ServerConfig, Settings.DocsConfig, Settings.DatabaseConfig)
//     and where [config.OpenRedis] builds the go-redis client (one server,
//     Sentinel or Cluster) from REDIS_URL.
//   - [github.com/gantry-dev/gantry/apierror]: the error contract: the one
//     HTTP-aware error type (status, envelope type, public message, details,
//     a cause for logs; sentinels nobody can change), the interfaces the
//     server's envelope is rendered by, and the three shapes of an
//     envelope's details. Standard library only.
//   - [github.com/gantry-dev/gantry/server]: the server builder, from
//     explicit options: lifespan hooks, the default middleware stack, sessions, versioned groups, one JSON error
//     envelope, request binding and validation, health routes and a graceful
//     drain in Run(ctx).
//   - [github.com/gantry-dev/gantry/middleware]: what echo lacks: access
//     log, Prometheus metrics, Redis or memory rate limiting (falling back
//     to a local limit when Redis fails), gzip that leaves encoded and ranged
//     responses alone, trusted hosts, a header limit, per-route body limits,
//     sessions; echo's own CORS and secure headers, configured well. Each
//     piece works alone, and the default stack is built from the same pieces.
//   - [github.com/gantry-dev/gantry/auth]: password hashing, JWT access and
//     refresh tokens with rotation and revocation, scope and role guards.
//   - [github.com/gantry-dev/gantry/crud]: a generic Repository[T] over sqlx
//     for PostgreSQL and SQLite with allow-listed filters and sorting, offset
//     and cursor pages, soft delete, counting, transactions and migrations;
//     [crud.Open] opens the pool from plain options, and [crud.ErrUnavailable]
//     (503) says the database cannot be reached.
//   - [github.com/gantry-dev/gantry/jobs]: Redis-backed retrying job queues
//     with periodic schedules, progress and results, workflows (chain,
//     group, chord), idempotent enqueue by id and a watch of a job's
//     changes, plus a memory backend; no HTTP, no SQL and no Prometheus in
//     it. [github.com/gantry-dev/gantry/jobs/outbox] enqueues inside a
//     database transaction (an outbox table and its relay, for PostgreSQL
//     and SQLite). Its web surfaces and metrics live in
//     sub-packages: [github.com/gantry-dev/gantry/jobs/jobshttp] serves a
//     job's status and the operator's dashboard (pages and a JSON API in the
//     OpenAPI document, assets embedded); [github.com/gantry-dev/gantry/jobs/jobscli]
//     is the operator's command line (queues, ls, show, retry, delete,
//     cancel, pause, resume, schedules, workers, workflow) for any service's binary;
//     [github.com/gantry-dev/gantry/jobs/jobsmetrics] records the jobs'
//     Prometheus metrics through the core's jobs.Observer. All three are
//     built on the core's jobs.Inspector.
//   - [github.com/gantry-dev/gantry/report]: the hook for unexpected errors
//     (5xx answers, panics, jobs that fail for good), set on server.Config
//     and, through [github.com/gantry-dev/gantry/jobs/jobsreport], on the
//     job runners; [github.com/gantry-dev/gantry/report/sentryreport] sends
//     them to Sentry, scrubbed.
//   - [github.com/gantry-dev/gantry/tracing]: OpenTelemetry wiring: the
//     server span in the default stack (server.MiddlewareConfig.TracerProvider),
//     SQL spans through crud.DBConfig.Driver, Redis spans (config.TraceRedis),
//     trace ids in log lines, and, in [github.com/gantry-dev/gantry/jobs/jobsotel],
//     a job's trace context carried from its enqueue to a span per attempt.
//     [github.com/gantry-dev/gantry/tracing/otlp] builds the provider from the
//     OTEL_* environment (apart, so its exporters stay out of binaries that
//     do not trace). Off (TRACING_ENABLED unset), nothing is added.
//   - [github.com/gantry-dev/gantry/health]: liveness and readiness checks.
//   - [github.com/gantry-dev/gantry/openapi]: typed routes, list routes bound
//     to crud queries ([openapi.Query]), multipart uploads ([openapi.File],
//     checked by an [openapi.UploadPolicy]) and downloads, and the OpenAPI 3.1
//     document generated from the same types, so the two cannot disagree.
//
// Packages ending in "test" (servertest, authtest, crudtest, jobstest) are
// fakes and helpers for your own tests, as net/http/httptest is.
//
// # How they fit
//
// Nothing is global: main loads the settings, opens the database and Redis,
// builds each component with its Config and passes them where they are
// needed. The packages never import each other, except server, which uses
// health and middleware, and openapi, which builds on server and binds crud
// queries. Settings reach them at the edge: config turns config.Settings
// into their options, and no library package imports config. Every package
// that returns client errors returns apierror values (or its own type
// asserted against apierror's interfaces), so crud, auth, jobs and
// middleware errors render as the server's envelope while importing only
// that leaf package.
//
//	var cfg config.Settings
//	if err := config.Load(&cfg); err != nil {
//		return err
//	}
//	db, err := crud.Open(ctx, cfg.DatabaseConfig())
//	if err != nil {
//		return err
//	}
//	scfg := cfg.ServerConfig()
//	scfg.Logger = cfg.NewLogger(os.Stderr)
//	srv, err := server.New(scfg)
//	if err != nil {
//		return err
//	}
//	srv.AddHook(server.Hook{Name: "database", Stop: func(context.Context) error { return db.Close() }})
//	srv.Health().Register("database", health.SQL(db))
//	v1 := srv.Group("/api/v1")
//	v1.GET("/posts/:id", getPost)
//	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
//	defer stop()
//	return srv.Run(ctx)
//
// The example application in examples/app assembles all of it; it is a module
// of its own (github.com/gantry-dev/gantry/examples/app), so its dependencies
// stay out of Gantry's go.mod, and a service can start as a copy of it.
package gantry
