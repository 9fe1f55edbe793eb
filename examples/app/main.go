// Command app is Gantry's example service: the FastAPI guide's whole
// service — users, posts, files and background tasks — assembled from
// Gantry's packages.
//
// With no environment it runs on embedded defaults: SQLite under DATA_DIR,
// in-memory jobs (worker and scheduler in-process), rate limits and token
// revocation, and a generated development secret. With DATABASE_URL and
// REDIS_URL it runs on PostgreSQL and Redis, and its roles can run as
// separate processes, as Celery's do:
//
//	app [serve]                 the API (default)
//	app worker [-queues q=w,..] job workers
//	app scheduler               periodic jobs (any number of instances)
//	app migrate up|down|status  database migrations
//	app jobs COMMAND ...        the jobs, for operators (needs REDIS_URL):
//	                            queues, ls, show, retry, delete, cancel,
//	                            pause, resume, schedules, workers; see
//	                            "app jobs help"
//
// Errors end the process with status 1; a command line `app jobs` cannot
// parse, with status 2.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"golang.org/x/sync/errgroup"

	"github.com/gantry-dev/gantry/config"
	"github.com/gantry-dev/gantry/crud"
	"github.com/gantry-dev/gantry/jobs"
	"github.com/gantry-dev/gantry/jobs/jobscli"
	"github.com/gantry-dev/gantry/jobs/outbox"
	"github.com/gantry-dev/gantry/middleware"
	"github.com/gantry-dev/gantry/server"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "app:", err)
		os.Exit(jobscli.ExitCode(err)) // 2 for a usage error of app jobs, else 1
	}
}

// run loads the settings and runs one role until ctx ends.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cmd := "serve"
	if len(args) > 0 {
		cmd, args = args[0], args[1:]
	}
	cfg := new(settings)
	// Load's warnings wait for LOG_FORMAT: every line of the process has
	// one format (text in development, JSON elsewhere, by default).
	if err := config.Load(cfg, config.WithLogOutput(stderr)); err != nil {
		return err
	}
	// The log is written in blocks, not one write per line; closed (and
	// so flushed) when the role has stopped, after the server's drain.
	logs, err := middleware.NewLogBuffer(stderr, middleware.LogBufferConfig{})
	if err != nil {
		return err
	}
	defer logs.Close()
	log := cfg.NewLogger(logs).With("role", cmd)

	switch cmd {
	case "serve", "worker", "scheduler", "migrate":
	case "jobs": // needs Redis alone, not the rest of the app
		return jobsCommand(ctx, cfg, log, args, stdout, stderr)
	default:
		return fmt.Errorf("unknown command %q (want serve, worker, scheduler, migrate or jobs)", cmd)
	}
	a, err := newApp(ctx, cfg, log)
	if err != nil {
		return err
	}
	a.registry.MustRegister(logs) // gantry_log_dropped_lines_total

	switch cmd {
	case "migrate":
		return a.lifespan(ctx, func(ctx context.Context) error { return a.migrateCommand(ctx, args, stdout) })
	case "worker":
		fs := flag.NewFlagSet("worker", flag.ContinueOnError)
		queues := fs.String("queues", cfg.WorkerQueues, "queues to serve with their weights")
		if err := fs.Parse(args); err != nil {
			return errors.Join(err, a.Close())
		}
		if a.rdb == nil {
			return errors.Join(errors.New("worker needs REDIS_URL: on the embedded defaults serve runs the jobs itself"), a.Close())
		}
		return a.lifespan(ctx, func(ctx context.Context) error { return a.runWorker(ctx, *queues) })
	case "scheduler":
		if a.rdb == nil {
			return errors.Join(errors.New("scheduler needs REDIS_URL: on the embedded defaults serve runs the schedule itself"), a.Close())
		}
		return a.lifespan(ctx, a.runScheduler)
	}
	return a.serve(ctx, stdout)
}

// lifespan runs body for a role without a server, then the stop hooks of
// what newApp opened, in reverse, as the server does after its drain.
func (a *app) lifespan(ctx context.Context, body func(context.Context) error) error {
	err := body(ctx)
	return errors.Join(err, a.Close())
}

// serve builds the server and hands it the app's resources as lifespan
// hooks, in order: the database and Redis (opened by newApp, closed by
// their stop hooks), the migrations and first superuser, and on the
// embedded defaults the job worker and the scheduler, since an in-memory
// queue has no other consumer. The server runs the start hooks before it
// listens; if one fails, the ones already started stop in reverse and serve
// returns the error. After the drain every stop hook runs in reverse: the
// scheduler and worker finish before the connections they use close.
func (a *app) serve(ctx context.Context, stdout io.Writer) error {
	srv, err := a.newServer()
	if err != nil {
		return errors.Join(err, a.Close())
	}
	for _, h := range a.hooks {
		srv.AddHook(h)
	}
	a.hooks = nil // the server owns them now
	srv.AddHook(server.Hook{Name: "migrate", Start: func(ctx context.Context) error {
		if err := a.migrate(ctx); err != nil {
			return err
		}
		return a.bootstrap(ctx)
	}})
	// A worker or scheduler that fails while serving stops the server.
	parent := ctx
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	if a.rdb == nil {
		srv.AddHook(a.background("worker", cancel, func() (func(context.Context) error, error) { return a.newWorker(a.cfg.WorkerQueues) }))
		srv.AddHook(a.background("scheduler", cancel, a.newScheduler))
	}

	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return srv.Run(gctx) })
	g.Go(func() error {
		select {
		case <-srv.Ready():
			base := "http://" + srv.Addr().String()
			fmt.Fprintf(stdout, "listening on %s\n", base)
			if a.cfg.DocsOn() {
				fmt.Fprintf(stdout, "docs at %s/docs, OpenAPI at %s%s/openapi.json\n", base, base, a.cfg.APIV1Prefix)
			}
			if a.cfg.PrometheusEnabled {
				fmt.Fprintf(stdout, "metrics at %s/metrics\n", base)
			}
		case <-gctx.Done():
		}
		return nil
	})
	err = g.Wait()
	if parent.Err() == nil && ctx.Err() != nil {
		err = errors.Join(context.Cause(ctx), err) // a background role failed
	}
	return err
}

// background is the lifespan hook of a role that runs beside the server
// until it stops: Start builds it (an error fails the start) and runs it in
// a goroutine, Stop cancels it and waits for it to return. If it fails on
// its own, fail stops the server with its error.
func (a *app) background(name string, fail context.CancelCauseFunc, build func() (func(context.Context) error, error)) server.Hook {
	var (
		stop context.CancelFunc
		done chan error
	)
	return server.Hook{
		Name: name,
		Start: func(ctx context.Context) error {
			run, err := build()
			if err != nil {
				return err
			}
			rctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
			stop, done = cancel, make(chan error, 1)
			go func() {
				err := run(rctx)
				if err != nil && rctx.Err() == nil {
					fail(fmt.Errorf("%s: %w", name, err))
				}
				done <- err
			}()
			return nil
		},
		Stop: func(ctx context.Context) error {
			stop()
			select {
			case err := <-done:
				a.log.LogAttrs(ctx, slog.LevelInfo, "closed", slog.String("hook", name))
				if errors.Is(err, context.Canceled) {
					err = nil
				}
				return err
			case <-ctx.Done():
				return ctx.Err()
			}
		},
	}
}

func (a *app) runWorker(ctx context.Context, queues string) error {
	run, err := a.newWorker(queues)
	if err != nil {
		return err
	}
	return run(ctx)
}

// newWorker builds the job runner for queues ("default=3,email=3") and the
// outbox relay (which enqueues the jobs committed with outbox.EnqueueTx;
// any number of workers may relay at once), and returns their Run.
func (a *app) newWorker(queues string) (func(context.Context) error, error) {
	qs, err := queueWeights(queues)
	if err != nil {
		return nil, err
	}
	r, err := jobs.NewRunner(a.backend, jobs.RunnerConfig{
		Workers:     a.workers(),
		Queues:      qs,
		Concurrency: a.cfg.WorkerConcurrency,
		Logger:      a.log,
		Metrics:     a.jobMetrics,
		Wrap:        jobs.ChainWrap(a.jobTracing().Wrap(), a.jobWrap()), // spans (TRACING_ENABLED) around error reports (SENTRY_DSN)
	})
	if err != nil {
		return nil, err
	}
	var relay *outbox.Relay
	if a.db != nil { // tests of the workers alone run without a database
		if relay, err = outbox.NewRelay(outbox.RelayConfig{DB: a.db, Client: a.client, Logger: a.log}); err != nil {
			return nil, err
		}
	}
	a.log.Info("worker started", "queues", queues, "concurrency", a.cfg.WorkerConcurrency)
	return func(ctx context.Context) error {
		g, ctx := errgroup.WithContext(ctx)
		g.Go(func() error { return r.Run(ctx) })
		if relay != nil {
			g.Go(func() error { return relay.Run(ctx) })
		}
		return g.Wait()
	}, nil
}

func (a *app) runScheduler(ctx context.Context) error {
	run, err := a.newScheduler()
	if err != nil {
		return err
	}
	return run(ctx)
}

// newScheduler builds the scheduler of the periodic jobs and returns its
// Run.
func (a *app) newScheduler() (func(context.Context) error, error) {
	s, err := jobs.NewScheduler(jobs.SchedulerConfig{Client: a.client, Location: a.zone, Logger: a.log})
	if err != nil {
		return nil, err
	}
	for _, p := range periodic() {
		if err := s.Add(p); err != nil {
			return nil, err
		}
	}
	a.log.Info("scheduler started", "timezone", a.zone.String())
	return s.Run, nil
}

func (a *app) migrateCommand(ctx context.Context, args []string, stdout io.Writer) error {
	sub := "up"
	if len(args) > 0 {
		sub = args[0]
	}
	switch sub {
	case "up":
		return a.migrate(ctx)
	case "down":
		v, err := crud.MigrateDown(ctx, a.db.DB, a.dialect, a.migrations(), ".")
		if err == nil {
			fmt.Fprintln(stdout, "rolled back", v)
		}
		return err
	case "status":
		st, err := crud.MigrateStatus(ctx, a.db.DB, a.dialect, a.migrations(), ".")
		if err != nil {
			return err
		}
		for _, s := range st {
			fmt.Fprintf(stdout, "%+v\n", s)
		}
		return nil
	}
	return fmt.Errorf("unknown migrate command %q (want up, down or status)", sub)
}
