package jobs_test

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/gantry-dev/gantry/jobs"
	"github.com/redis/go-redis/v9"
)

// Resize is a job: its Kind is stored with each job and must stay stable.
type Resize struct {
	ImageID int `json:"image_id"`
	Width   int `json:"width"`
}

func (Resize) Kind() string { return "resize" }

func Example() {
	ctx := context.Background()
	backend := jobs.NewMemoryBackend() // jobs.NewRedisBackend(rdb, ...) in production

	workers := jobs.NewWorkers()
	jobs.AddWorker(workers, jobs.WorkerFunc[Resize](func(ctx context.Context, j *jobs.Job[Resize]) error {
		_ = j.Progress(ctx, 1, 1, "resized")
		return j.SetResult(map[string]string{"url": fmt.Sprintf("/img/%d-%d.png", j.Args.ImageID, j.Args.Width)})
	}))

	client, _ := jobs.NewClient(backend, jobs.ClientConfig{Routes: map[string]string{"resize": "images"}})
	info, _ := client.Enqueue(ctx, Resize{ImageID: 7, Width: 640}, jobs.MaxRetry(3))
	fmt.Println("queued on", info.Queue)

	runner, _ := jobs.NewRunner(backend, jobs.RunnerConfig{
		Workers: workers,
		Queues:  map[string]jobs.QueueConfig{"images": {Priority: 2}, "default": {Priority: 1}},
		Logger:  slog.New(slog.DiscardHandler),
	})
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error)
	go func() { done <- runner.Run(runCtx) }()

	insp := jobs.NewInspector(backend)
	for {
		got, err := insp.Job(ctx, info.ID)
		if err == nil && got.State == jobs.StateSucceeded {
			fmt.Println(got.State, string(got.Result))
			break
		}
		time.Sleep(time.Millisecond)
	}
	stop()
	fmt.Println(<-done)
	// Output:
	// queued on images
	// succeeded {"url":"/img/7-640.png"}
	// <nil>
}

func ExampleScheduler() {
	backend := jobs.NewMemoryBackend()
	client, _ := jobs.NewClient(backend, jobs.ClientConfig{})
	sched, _ := jobs.NewScheduler(jobs.SchedulerConfig{Client: client})
	err := sched.Add(jobs.PeriodicJob{
		Name: "nightly-resize",
		Spec: "CRON_TZ=Asia/Tokyo 0 3 * * *", // 03:00 in Tokyo, once across all instances
		Args: Resize{Width: 128},
	})
	fmt.Println(err)
	err = sched.Add(jobs.PeriodicJob{Name: "bad", Spec: "every minute", Args: Resize{}})
	fmt.Println(err != nil)
	// go sched.Run(ctx)
	// Output:
	// <nil>
	// true
}

func ExampleNewRedisBackend() {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"}) // or redis.NewClusterClient
	defer rdb.Close()                                              // the caller owns the client
	backend, err := jobs.NewRedisBackend(rdb, jobs.RedisConfig{Prefix: "myapp:"})
	if err != nil {
		panic(err)
	}
	defer backend.Close() // waits for enqueues in flight; leaves rdb open
	_, _ = jobs.NewClient(backend, jobs.ClientConfig{})
}
