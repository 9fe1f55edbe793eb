// Package gantry is the overview of Gantry, a set of small packages for
// building production HTTP APIs in Go on echo v4, sqlx and go-redis: the Go
// answer to the "FastAPI in production" patterns. This package holds no
// code; import the packages below.
//
// # The packages
//
//   - [github.com/gantry-dev/gantry/config]: typed settings loaded from
//     defaults, a config file, .env and the environment, validated (every bad
//     field at once, production rules) and redacted when printed.
//   - [github.com/gantry-dev/gantry/server]: the server builder: lifespan
//     hooks, the default middleware stack, versioned groups, one JSON error
//     envelope, request binding and validation, health routes and a graceful
//     drain in Run(ctx).
//   - [github.com/gantry-dev/gantry/middleware]: what echo lacks: access
//     log, Prometheus metrics, Redis or memory rate limiting (falling back
//     to a local limit when Redis fails), gzip that leaves encoded and ranged
//     responses alone, trusted hosts, sessions; echo's own CORS, secure
//     headers and body limit, configured well.
//   - [github.com/gantry-dev/gantry/auth]: password hashing, JWT access and
//     refresh tokens with rotation and revocation, scope and role guards.
//   - [github.com/gantry-dev/gantry/crud]: a generic Repository[T] over sqlx
//     for PostgreSQL and SQLite with allow-listed filters and sorting, offset
//     and cursor pages, soft delete, counting, transactions and migrations.
//   - [github.com/gantry-dev/gantry/jobs]: Redis-backed retrying job queues
//     with periodic schedules, progress and results, plus a memory backend;
//     no HTTP in it. Its web surfaces live in sub-packages:
//     [github.com/gantry-dev/gantry/jobs/jobshttp] serves a job's status.
//   - [github.com/gantry-dev/gantry/health]: liveness and readiness checks.
//   - [github.com/gantry-dev/gantry/openapi]: typed routes and the OpenAPI
//     3.1 document generated from them.
//
// Packages ending in "test" (servertest, authtest, crudtest, jobstest) are
// fakes and helpers for your own tests, as net/http/httptest is.
//
// # How they fit
//
// Nothing is global: main loads the settings, opens the database and Redis,
// builds each component with its Config and passes them where they are
// needed. The packages never import each other except server, which uses
// config, health and middleware; an error chooses its HTTP status through a
// method (HTTPStatus() int), so crud, auth and jobs errors render as the
// server's envelope without importing it.
//
//	var cfg config.Settings
//	if err := config.Load(&cfg); err != nil {
//		return err
//	}
//	scfg := server.FromSettings(&cfg)
//	scfg.Logger = cfg.NewLogger(os.Stderr)
//	srv, err := server.New(scfg)
//	if err != nil {
//		return err
//	}
//	srv.Health().Register("database", health.SQL(db))
//	v1 := srv.Group(cfg.APIV1Prefix)
//	v1.GET("/posts/:id", getPost)
//	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
//	defer stop()
//	return srv.Run(ctx)
//
// The example application in examples/app assembles all of it; it is a module
// of its own (github.com/gantry-dev/gantry/examples/app), so its dependencies
// stay out of Gantry's go.mod, and a service can start as a copy of it.
package gantry
