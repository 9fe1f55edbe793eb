package outbox_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/gantry-dev/gantry/crud"
	"github.com/gantry-dev/gantry/jobs"
	"github.com/gantry-dev/gantry/jobs/outbox"
)

// WelcomeEmail is the job a registration starts.
type WelcomeEmail struct {
	To string `json:"to"`
}

func (WelcomeEmail) Kind() string { return "welcome_email" }

// A registration inserts the user and records the welcome e-mail in the
// same transaction: the second registration of the address fails, rolls
// back, and sends nothing. The relay moves the committed job to the queue.
func Example() {
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	dir, _ := os.MkdirTemp("", "outbox-example-")
	defer os.RemoveAll(dir)
	db, err := sqlx.Open("sqlite", crud.SQLiteDSN(filepath.Join(dir, "app.db")))
	if err != nil {
		panic(err)
	}
	defer db.Close()
	fsys, mdir, _ := outbox.Migrations(string(crud.SQLite))
	if _, err := crud.Migrate(ctx, db.DB, crud.SQLite, fsys, mdir, crud.VersionTable(outbox.VersionTable)); err != nil {
		panic(err)
	}
	db.MustExec("CREATE TABLE users (email TEXT PRIMARY KEY)")

	register := func(email string) error {
		return crud.InTx(ctx, db, func(ctx context.Context, tx *sqlx.Tx) error {
			if _, err := tx.ExecContext(ctx, "INSERT INTO users (email) VALUES (?)", email); err != nil {
				return err
			}
			_, err := outbox.EnqueueTx(ctx, tx, WelcomeEmail{To: email}, jobs.MaxRetry(3))
			return err
		})
	}
	fmt.Println("first registration:", register("ann@example.com") == nil)
	fmt.Println("second registration:", register("ann@example.com") == nil)

	backend := jobs.NewMemoryBackend()
	client, _ := jobs.NewClient(backend, jobs.ClientConfig{})
	relay, _ := outbox.NewRelay(outbox.RelayConfig{DB: db, Client: client, Logger: slog.New(slog.DiscardHandler)})
	sent := make(chan string, 10)
	ws := jobs.NewWorkers()
	jobs.AddWorker(ws, jobs.WorkerFunc[WelcomeEmail](func(_ context.Context, j *jobs.Job[WelcomeEmail]) error {
		sent <- j.Args.To
		return nil
	}))
	runner, _ := jobs.NewRunner(backend, jobs.RunnerConfig{Workers: ws, Logger: slog.New(slog.DiscardHandler)})
	done := make(chan struct{}, 2)
	go func() { _ = relay.Run(ctx); done <- struct{}{} }()
	go func() { _ = runner.Run(ctx); done <- struct{}{} }()

	fmt.Println("welcome sent to", <-sent)
	select {
	case to := <-sent:
		fmt.Println("and again to", to)
	case <-time.After(200 * time.Millisecond):
	}
	stop()
	<-done
	<-done
	// Output:
	// first registration: true
	// second registration: false
	// welcome sent to ann@example.com
}
