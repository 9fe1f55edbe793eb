package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"

	"github.com/gantry-dev/gantry/config"
	"github.com/gantry-dev/gantry/jobs"
	"github.com/gantry-dev/gantry/jobs/jobscli"
)

// errJobsNeedRedis is the error of `app jobs` on the embedded defaults.
var errJobsNeedRedis = errors.New("jobs needs REDIS_URL: on the embedded defaults the jobs live in the memory of the serve process, where no other process can see them")

// jobsCommand runs `app jobs COMMAND ...`, the operator's commands of
// package jobscli, on the jobs in Redis: the same backend (REDIS_URL, keys
// under REDIS_KEY_PREFIX + "jobs:", as openJobs builds it) that serve,
// worker and scheduler use. It opens Redis alone, not the database.
// Actions are logged to log with the operating system user and host.
// Usage errors come back as *jobscli.UsageError, which main maps to exit
// status 2.
func jobsCommand(ctx context.Context, cfg *settings, log *slog.Logger, args []string, stdout, stderr io.Writer) error {
	cmd := jobscli.Command{Name: "app jobs", Stdout: stdout, Stderr: stderr, Logger: log, Redact: redactJobArgs}
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		// Help needs no Redis: any Inspector will do.
		cmd.Inspector = jobs.NewInspector(jobs.NewMemoryBackend())
		if err := cmd.Run(ctx, args); err != nil {
			return fmt.Errorf("jobs: %w", err)
		}
		return nil
	}
	if cfg.RedisURL == "" {
		return errJobsNeedRedis
	}
	rdb, err := config.OpenRedis(ctx, &cfg.Settings)
	if err != nil {
		return err
	}
	backend, err := jobs.NewRedisBackend(rdb, jobs.RedisConfig{Prefix: cfg.RedisKeyPrefix + "jobs:"})
	if err != nil {
		return errors.Join(err, rdb.Close())
	}
	cmd.Inspector = jobs.NewInspector(backend)
	if err = cmd.Run(ctx, args); err != nil {
		err = fmt.Errorf("jobs: %w", err)
	}
	return errors.Join(err, backend.Close(), rdb.Close())
}
