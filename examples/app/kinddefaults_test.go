package main

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/examples/app/internal/mail"
	"github.com/gantry-dev/gantry/examples/app/internal/testenv"
	"github.com/gantry-dev/gantry/jobs"
)

// jobBackends are the backends the app runs its jobs on.
var jobBackends = []struct {
	name string
	new  func(t *testing.T) jobs.Backend
}{
	{"memory", func(*testing.T) jobs.Backend { return jobs.NewMemoryBackend() }},
	{"redis", func(t *testing.T) jobs.Backend {
		rdb, prefix := testenv.Redis(t)
		b, err := jobs.NewRedisBackend(rdb, jobs.RedisConfig{Prefix: prefix})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}},
}

// withJobs gives the fake app a real client and inspector on b, as openJobs
// does.
func withJobs(t *testing.T, f *fakeApp, b jobs.Backend) {
	t.Helper()
	c, err := jobs.NewClient(b, jobs.ClientConfig{Routes: routes})
	if err != nil {
		t.Fatal(err)
	}
	f.backend, f.client, f.jobs, f.flows, f.inspect = b, c, c, c, jobs.NewInspector(b)
}

// The e-mail task's kind carries max_retries=3, and its worker retries after
// 60·(n+1) seconds; the app's runner has no retry policy of its own.
func TestSendEmailRetryDefaults(t *testing.T) {
	t.Parallel()
	for n, want := range []time.Duration{time.Minute, 2 * time.Minute, 3 * time.Minute} {
		got := sendEmailWorker{}.NextRetry(&jobs.Job[SendEmail]{Attempt: n + 1}, errors.New("down"))
		if got != want {
			t.Errorf("NextRetry after %d retries = %v; want %v", n, got, want)
		}
	}
	for _, bk := range jobBackends {
		t.Run(bk.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeApp(t)
			withJobs(t, f, bk.new(t))
			f.mailer = mail.SenderFunc(func(context.Context, mail.Message) error { return errors.New("smtp down") })
			tests := []struct {
				name     string
				opts     []jobs.Option
				maxRetry int
			}{
				{"kind default", nil, 3},
				{"call site", []jobs.Option{jobs.MaxRetry(1)}, 1},
			}
			ids := make([]string, len(tests))
			for i, tt := range tests {
				info, err := f.client.Enqueue(t.Context(), SendEmail{To: "a@example.com", Subject: "S", Content: "C"}, tt.opts...)
				if err != nil || info.Queue != "email" || info.MaxRetry != tt.maxRetry {
					t.Fatalf("%s: Enqueue = %+v, %v; want queue email, max retry %d", tt.name, info, err, tt.maxRetry)
				}
				ids[i] = info.ID
			}
			run, err := f.newWorker("email=1")
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.WithoutCancel(t.Context()))
			done := make(chan error, 1)
			start := time.Now()
			go func() { done <- run(ctx) }()
			defer func() { cancel(); <-done }()
			for i, tt := range tests {
				var info *jobs.JobInfo
				deadline := time.Now().Add(10 * time.Second)
				for info == nil || info.State != jobs.StateRetrying {
					if time.Now().After(deadline) {
						t.Fatalf("%s: job %+v not retrying after 10 s", tt.name, info)
					}
					time.Sleep(20 * time.Millisecond)
					info, _ = f.inspect.Job(t.Context(), ids[i])
				}
				if wait := info.ProcessAt.Sub(start); wait < 59*time.Second || wait > 71*time.Second {
					t.Errorf("%s: first retry due %v after the start; want about 60 s", tt.name, wait)
				}
				if info.LastError != "smtp down" || info.MaxRetry != tt.maxRetry {
					t.Errorf("%s: retrying job %+v; want last error smtp down, max retry %d", tt.name, info, tt.maxRetry)
				}
			}
		})
	}
}
