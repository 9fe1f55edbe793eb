package jobstest_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/jobs"
	"github.com/gantry-dev/gantry/jobs/jobstest"
)

type WelcomeEmail struct {
	UserID int64 `json:"user_id"`
}

func (WelcomeEmail) Kind() string { return "welcome_email" }

type Report struct {
	Month string `json:"month"`
}

func (Report) Kind() string { return "report" }

// signup is application code under test: it takes the small interface.
func signup(ctx context.Context, q jobs.Enqueuer, userID int64) error {
	_, err := q.Enqueue(ctx, WelcomeEmail{UserID: userID}, jobs.Queue("email"), jobs.MaxRetry(3))
	return err
}

func TestRequireEnqueued(t *testing.T) {
	fake := jobstest.NewClient()
	if err := signup(t.Context(), fake, 42); err != nil {
		t.Fatal(err)
	}
	got := jobstest.RequireEnqueued[WelcomeEmail](t, fake, jobs.Queue("email"), jobs.MaxRetry(3))
	if got.UserID != 42 {
		t.Errorf("UserID = %d; want 42", got.UserID)
	}
	jobstest.RequireNotEnqueued[Report](t, fake)

	// A mismatch fails with a useful message.
	ft := &fakeTB{TB: t}
	func() {
		defer func() { _ = recover() }()
		jobstest.RequireEnqueued[WelcomeEmail](ft, fake, jobs.Queue("other"))
	}()
	if want := "no welcome_email job enqueued with queue=other; recorded: welcome_email(queue=email)"; ft.msg != "jobstest: "+want {
		t.Errorf("failure message = %q; want %q", ft.msg, "jobstest: "+want)
	}
}

type fakeTB struct {
	testing.TB
	msg string
}

func (f *fakeTB) Helper() {}
func (f *fakeTB) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
	panic("fatal")
}

func TestWorkRunsRecordedJobs(t *testing.T) {
	fake := jobstest.NewClient()
	ws := jobs.NewWorkers()
	var sent []int64
	jobs.AddWorker(ws, jobs.WorkerFunc[WelcomeEmail](func(ctx context.Context, j *jobs.Job[WelcomeEmail]) error {
		sent = append(sent, j.Args.UserID)
		if j.Args.UserID == 2 {
			_, err := fake.Enqueue(ctx, Report{Month: "2026-11"}) // workers may enqueue more
			return err
		}
		return nil
	}))
	jobs.AddWorker(ws, jobs.WorkerFunc[Report](func(ctx context.Context, j *jobs.Job[Report]) error {
		return errors.New("no data")
	}))
	if _, err := fake.EnqueueMany(t.Context(), []jobs.Args{WelcomeEmail{UserID: 1}, WelcomeEmail{UserID: 2}}); err != nil {
		t.Fatal(err)
	}
	err := fake.Work(t.Context(), ws)
	if fmt.Sprint(sent) != "[1 2]" {
		t.Errorf("sent = %v; want [1 2]", sent)
	}
	if err == nil || !contains(err.Error(), "report fake-3: no data") {
		t.Errorf("Work = %v; want the report worker's error", err)
	}
	if n := len(fake.Jobs()); n != 0 {
		t.Errorf("%d jobs left after Work; want 0", n)
	}
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}

func TestUniqueAndErr(t *testing.T) {
	fake := jobstest.NewClient()
	if _, err := fake.Enqueue(t.Context(), Report{}, jobs.Unique("r", time.Minute)); err != nil {
		t.Fatal(err)
	}
	if _, err := fake.Enqueue(t.Context(), Report{}, jobs.Unique("r", time.Minute)); !errors.Is(err, jobs.ErrDuplicate) {
		t.Errorf("second unique Enqueue = %v; want ErrDuplicate", err)
	}
	fake.Err = errors.New("redis down")
	if err := signup(t.Context(), fake, 1); err == nil {
		t.Error("signup with a failing queue = nil; want the error")
	}
}

func TestWorkHelper(t *testing.T) {
	w := jobs.WorkerFunc[WelcomeEmail](func(ctx context.Context, j *jobs.Job[WelcomeEmail]) error {
		if j.Args.UserID == 0 {
			return jobs.SkipRetry(errors.New("no user"))
		}
		return nil
	})
	if err := jobstest.Work(t, w, WelcomeEmail{UserID: 1}); err != nil {
		t.Errorf("Work(1) = %v; want nil", err)
	}
	if err := jobstest.Work(t, w, WelcomeEmail{}); !errors.Is(err, jobs.ErrSkipRetry) {
		t.Errorf("Work(0) = %v; want ErrSkipRetry", err)
	}
}

func ExampleRequireEnqueued() {
	t := &testing.T{} // in a real test, the *testing.T
	fake := jobstest.NewClient()
	_ = signup(context.Background(), fake, 7)
	email := jobstest.RequireEnqueued[WelcomeEmail](t, fake, jobs.Queue("email"))
	fmt.Println(email.UserID)
	// Output: 7
}

// Invoice carries its kind's defaults, as a real Client applies them.
type Invoice struct {
	Customer string `json:"customer"`
}

func (Invoice) Kind() string { return "invoice" }

func (i Invoice) JobDefaults() []jobs.Option {
	return []jobs.Option{jobs.Queue("billing"), jobs.MaxRetry(5), jobs.Unique("invoice:"+i.Customer, time.Hour)}
}

// TestKindDefaults: the fake applies a kind's defaults before the call
// site's options, as jobs.Client does.
func TestKindDefaults(t *testing.T) {
	fake := jobstest.NewClient()
	if _, err := fake.Enqueue(t.Context(), Invoice{Customer: "acme"}); err != nil {
		t.Fatal(err)
	}
	jobstest.RequireEnqueued[Invoice](t, fake, jobs.Queue("billing"), jobs.MaxRetry(5))
	if _, err := fake.Enqueue(t.Context(), Invoice{Customer: "acme"}); !errors.Is(err, jobs.ErrDuplicate) {
		t.Errorf("second invoice for acme = %v; want ErrDuplicate from the kind's derived unique key", err)
	}
	if _, err := fake.Enqueue(t.Context(), Invoice{Customer: "initech"}, jobs.Queue("urgent"), jobs.MaxRetry(1)); err != nil {
		t.Fatal(err)
	}
	jobstest.RequireEnqueued[Invoice](t, fake, jobs.Queue("urgent"), jobs.MaxRetry(1))
}

type thumbArgs struct {
	W int `json:"w"`
}

func (thumbArgs) Kind() string { return "thumb" }

// The fake records every step of a workflow, waiting ones too, with ids and
// links as the real client lays them out.
func TestEnqueueWorkflow(t *testing.T) {
	fake := jobstest.NewClient()
	wf, err := fake.EnqueueWorkflow(t.Context(), jobs.Chain(
		jobs.Step(WelcomeEmail{UserID: 1}),
		jobs.Chord(jobs.Group(jobs.Step(thumbArgs{64}), jobs.Step(thumbArgs{256})), jobs.Step(Report{}), jobs.Partial()),
	), jobs.WorkflowOwner("u1"), jobs.OnFailure(jobs.Step(Report{})))
	if err != nil {
		t.Fatal(err)
	}
	js := fake.Jobs()
	if len(js) != 5 || len(wf.Steps) != 5 {
		t.Fatalf("recorded %d jobs, %d steps; want 5", len(js), len(wf.Steps))
	}
	for i, j := range js {
		if j.Workflow != wf.ID || j.Step != i || j.Info.ID != wf.Steps[i].JobID || j.Options.Owner != "u1" {
			t.Errorf("job %d = %+v (info %+v)", i, j, j.Info)
		}
	}
	if s := wf.Steps[3]; !s.Partial || len(s.DependsOn) != 2 || s.DependsOn[0] != 1 || wf.Steps[0].State != jobs.StepReleased || !wf.Steps[4].OnFailure {
		t.Errorf("steps = %+v", wf.Steps)
	}
	if got := jobstest.RequireEnqueued[thumbArgs](t, fake); got.W != 64 {
		t.Errorf("first thumb = %+v", got)
	}
	if _, err := fake.EnqueueWorkflow(t.Context(), jobs.Chain()); err == nil {
		t.Error("an empty chain was accepted")
	}
}
