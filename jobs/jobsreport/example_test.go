package jobsreport_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/gantry-dev/gantry/jobs"
	"github.com/gantry-dev/gantry/jobs/jobsreport"
	"github.com/gantry-dev/gantry/report"
)

type sendInvoice struct {
	InvoiceID int `json:"invoice_id"`
}

func (sendInvoice) Kind() string { return "send_invoice" }

func ExampleWrap() {
	b := jobs.NewMemoryBackend()
	w := jobs.NewWorkers()
	jobs.AddWorker(w, jobs.WorkerFunc[sendInvoice](func(ctx context.Context, j *jobs.Job[sendInvoice]) error {
		return errors.New("smtp: connection refused") // every attempt fails
	}))
	reported := make(chan report.Event, 1)
	rep := report.ReporterFunc(func(_ context.Context, e report.Event) { reported <- e })
	r, _ := jobs.NewRunner(b, jobs.RunnerConfig{
		Workers: w, Wrap: jobsreport.Wrap(rep), Logger: slog.New(slog.DiscardHandler),
		Retry: func(int, error) time.Duration { return time.Millisecond },
	})
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	c, _ := jobs.NewClient(b, jobs.ClientConfig{})
	_, _ = c.Enqueue(ctx, sendInvoice{InvoiceID: 7}, jobs.MaxRetry(2))

	e := <-reported // the third attempt, the last: the first two were retried
	fmt.Println(e.Kind, e.JobKind, e.Queue, "attempt", e.Attempt, "error:", e.Err)
	stop()
	<-done
	// Output: job send_invoice default attempt 3 error: smtp: connection refused
}
