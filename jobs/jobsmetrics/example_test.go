package jobsmetrics_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/gantry-dev/gantry/jobs"
	"github.com/gantry-dev/gantry/jobs/jobsmetrics"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// The client, runner and scheduler report through one Metrics; the queue
// sizes are read when the registry is scraped.
func Example() {
	backend := jobs.NewMemoryBackend()
	reg := prometheus.NewRegistry()
	m, err := jobsmetrics.New(jobsmetrics.Config{Registerer: reg, Backend: backend, Queues: []string{"default"}})
	if err != nil {
		panic(err)
	}
	client, err := jobs.NewClient(backend, jobs.ClientConfig{Metrics: m})
	if err != nil {
		panic(err)
	}
	// A runner and a scheduler take it the same way:
	// jobs.RunnerConfig{Workers: ws, Metrics: m}, jobs.SchedulerConfig{Client: client, Metrics: m}.
	for i := range 2 {
		if _, err := client.Enqueue(context.Background(), noteArgs{N: i}); err != nil {
			panic(err)
		}
	}
	err = testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP gantry_jobs_enqueued_total Jobs enqueued.
# TYPE gantry_jobs_enqueued_total counter
gantry_jobs_enqueued_total{kind="note",queue="default"} 2
`), "gantry_jobs_enqueued_total")
	fmt.Println("enqueued_total:", err == nil)
	n, _ := testutil.GatherAndCount(reg, "gantry_jobs_queue_size")
	fmt.Println("queue_size series:", n)
	// Output:
	// enqueued_total: true
	// queue_size series: 5
}
