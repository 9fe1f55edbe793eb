package jobscli_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/gantry-dev/gantry/jobs"
	"github.com/gantry-dev/gantry/jobs/jobscli"
)

type welcomeEmail struct {
	UserID int64 `json:"user_id"`
}

func (welcomeEmail) Kind() string { return "welcome_email" }

// A service offers the jobs commands under its own sub-command, "app jobs",
// and maps the error to its exit status.
func Example() {
	ctx := context.Background()
	backend := jobs.NewMemoryBackend() // a service's operators use its Redis backend
	client, _ := jobs.NewClient(backend, jobs.ClientConfig{})
	_, _ = client.Enqueue(ctx, welcomeEmail{UserID: 7}, jobs.Queue("email"))

	cmd := jobscli.Command{
		Inspector: jobs.NewInspector(backend),
		Name:      "app jobs",
		Stdout:    os.Stdout,
		Stderr:    io.Discard, // the usage text of usage errors
		Logger:    slog.New(slog.DiscardHandler),
	}
	for _, args := range [][]string{
		{"pause", "email"},
		{"ls", "--queue", "email"},
		{"show", "nosuchjob"},
	} {
		if err := cmd.Run(ctx, args); err != nil {
			fmt.Printf("app jobs: %v (exit %d)\n", err, jobscli.ExitCode(err))
		}
	}
	// Output:
	// paused queue email: workers take no new jobs from it; running jobs finish
	// app jobs: ls: --state is required (exit 2)
	// app jobs: no job with id "nosuchjob" (unknown, or finished longer ago than its retention) (exit 1)
}
