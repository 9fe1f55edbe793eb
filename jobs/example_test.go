package jobs_test

import (
	"context"
	"errors"
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

// Mail is a job kind with its own defaults: three retries, and one job per
// address per campaign.
type Mail struct {
	Campaign string `json:"campaign"`
	To       string `json:"to"`
}

func (Mail) Kind() string { return "mail" }

func (m Mail) JobDefaults() []jobs.Option {
	return []jobs.Option{jobs.MaxRetry(3), jobs.Unique("mail:"+m.Campaign+":"+m.To, 24*time.Hour)}
}

// mailWorker retries after 60·attempt seconds.
type mailWorker struct{}

func (mailWorker) Work(ctx context.Context, j *jobs.Job[Mail]) error { return nil }

func (mailWorker) NextRetry(j *jobs.Job[Mail], err error) time.Duration {
	return time.Duration(60*j.Attempt) * time.Second
}

func ExampleKindDefaults() {
	ctx := context.Background()
	client, _ := jobs.NewClient(jobs.NewMemoryBackend(), jobs.ClientConfig{})
	workers := jobs.NewWorkers()
	jobs.AddWorker[Mail](workers, mailWorker{}) // pass workers to jobs.NewRunner

	a, _ := client.Enqueue(ctx, Mail{Campaign: "spring", To: "ann@example.com"})
	fmt.Println(a.Queue, a.MaxRetry)
	_, err := client.Enqueue(ctx, Mail{Campaign: "spring", To: "ann@example.com"})
	fmt.Println(errors.Is(err, jobs.ErrDuplicate))
	b, _ := client.Enqueue(ctx, Mail{Campaign: "spring", To: "bob@example.com"}, jobs.Queue("mail"), jobs.MaxRetry(0))
	fmt.Println(b.Queue, b.MaxRetry)
	// Output:
	// default 3
	// true
	// mail 0
}

// Thumb and Publish are the steps of the workflow example.
type Thumb struct {
	ImageID int `json:"image_id"`
	Width   int `json:"width"`
}

func (Thumb) Kind() string { return "thumb" }

type Publish struct {
	ImageID int `json:"image_id"`
}

func (Publish) Kind() string { return "publish" }

// A chain whose second part is a chord: resize, then two thumbnails in
// parallel, then publish once both exist, reading their results.
func ExampleClient_EnqueueWorkflow() {
	ctx := context.Background()
	backend := jobs.NewMemoryBackend()
	workers := jobs.NewWorkers()
	jobs.AddWorker(workers, jobs.WorkerFunc[Resize](func(ctx context.Context, j *jobs.Job[Resize]) error {
		return j.SetResult(fmt.Sprintf("/img/%d-%d.png", j.Args.ImageID, j.Args.Width))
	}))
	jobs.AddWorker(workers, jobs.WorkerFunc[Thumb](func(ctx context.Context, j *jobs.Job[Thumb]) error {
		in, err := j.Inputs(ctx) // the resize step's outcome
		if err != nil {
			return err
		}
		var src string
		if err := in[0].Decode(&src); err != nil {
			return err
		}
		return j.SetResult(fmt.Sprintf("%s@%d", src, j.Args.Width))
	}))
	published := make(chan []string, 1)
	jobs.AddWorker(workers, jobs.WorkerFunc[Publish](func(ctx context.Context, j *jobs.Job[Publish]) error {
		in, err := j.Inputs(ctx) // both thumbnails, in the order given
		if err != nil {
			return err
		}
		var urls []string
		for _, r := range in {
			var u string
			_ = r.Decode(&u)
			urls = append(urls, u)
		}
		published <- urls
		return nil
	}))
	client, _ := jobs.NewClient(backend, jobs.ClientConfig{})
	wf, err := client.EnqueueWorkflow(ctx, jobs.Chain(
		jobs.Step(Resize{ImageID: 7, Width: 1024}),
		jobs.Chord(jobs.Group(jobs.Step(Thumb{ImageID: 7, Width: 64}), jobs.Step(Thumb{ImageID: 7, Width: 256})),
			jobs.Step(Publish{ImageID: 7})),
	))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(len(wf.Steps), "steps;", wf.Steps[0].State, wf.Steps[3].State)

	runner, _ := jobs.NewRunner(backend, jobs.RunnerConfig{Workers: workers, Logger: slog.New(slog.DiscardHandler)})
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error)
	go func() { done <- runner.Run(runCtx) }()
	fmt.Println(<-published)

	insp := jobs.NewInspector(backend)
	for {
		got, err := insp.Workflow(ctx, wf.ID)
		if err == nil && got.State != jobs.WorkflowRunning {
			fmt.Println(got.State)
			break
		}
		time.Sleep(time.Millisecond)
	}
	stop()
	<-done
	// Output:
	// 4 steps; released waiting
	// [/img/7-1024.png@64 /img/7-1024.png@256]
	// succeeded
}
