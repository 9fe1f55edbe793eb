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
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "app:", err)
		os.Exit(1)
	}
}

// run loads the settings and runs one role until ctx ends.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cmd := "serve"
	if len(args) > 0 {
		cmd, args = args[0], args[1:]
	}
	boot := slog.New(slog.NewTextHandler(stderr, nil))
	cfg := new(settings)
	if err := config.Load(cfg, config.WithLogger(boot)); err != nil {
		return err
	}
	log := cfg.NewLogger(stderr).With("role", cmd)

	switch cmd {
	case "serve", "worker", "scheduler", "migrate":
	default:
		return fmt.Errorf("unknown command %q (want serve, worker, scheduler or migrate)", cmd)
	}
	a, err := newApp(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer a.Close()

	switch cmd {
	case "migrate":
		return a.migrateCommand(ctx, args, stdout)
	case "worker":
		fs := flag.NewFlagSet("worker", flag.ContinueOnError)
		queues := fs.String("queues", cfg.WorkerQueues, "queues to serve with their weights")
		if err := fs.Parse(args); err != nil {
			return err
		}
		if a.rdb == nil {
			return errors.New("worker needs REDIS_URL: on the embedded defaults serve runs the jobs itself")
		}
		return a.runWorker(ctx, *queues)
	case "scheduler":
		if a.rdb == nil {
			return errors.New("scheduler needs REDIS_URL: on the embedded defaults serve runs the schedule itself")
		}
		return a.runScheduler(ctx)
	}
	return a.serve(ctx, stdout)
}

// serve migrates, creates the first superuser and serves the API. On the
// embedded defaults it also runs the job worker and scheduler, since an
// in-memory queue has no other consumer.
func (a *app) serve(ctx context.Context, stdout io.Writer) error {
	if err := a.migrate(ctx); err != nil {
		return err
	}
	if err := a.bootstrap(ctx); err != nil {
		return err
	}
	srv, err := a.newServer()
	if err != nil {
		return err
	}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return srv.Run(gctx) })
	if a.rdb == nil {
		g.Go(func() error { return a.runWorker(gctx, a.cfg.WorkerQueues) })
		g.Go(func() error { return a.runScheduler(gctx) })
	}
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
	return g.Wait()
}

func (a *app) runWorker(ctx context.Context, queues string) error {
	qs, err := queueWeights(queues)
	if err != nil {
		return err
	}
	r, err := jobs.NewRunner(a.backend, jobs.RunnerConfig{
		Workers:     a.workers(),
		Queues:      qs,
		Concurrency: a.cfg.WorkerConcurrency,
		Logger:      a.log,
		Metrics:     a.jobMetrics,
	})
	if err != nil {
		return err
	}
	a.log.Info("worker started", "queues", queues, "concurrency", a.cfg.WorkerConcurrency)
	return r.Run(ctx)
}

func (a *app) runScheduler(ctx context.Context) error {
	s, err := jobs.NewScheduler(jobs.SchedulerConfig{Client: a.client, Location: a.zone, Logger: a.log})
	if err != nil {
		return err
	}
	for _, p := range periodic() {
		if err := s.Add(p); err != nil {
			return err
		}
	}
	a.log.Info("scheduler started", "timezone", a.zone.String())
	return s.Run(ctx)
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
