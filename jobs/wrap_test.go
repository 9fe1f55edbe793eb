package jobs_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/jobs"
)

type ctxKey struct{}

type hdrArgs struct {
	Mode string `json:"mode"` // "ok", "fail" (then ok), "panic", "dead"
}

func (hdrArgs) Kind() string { return "hdr" }

// Headers from the enqueue's context reach the worker and the Wrap hook on
// every attempt; Wrap sees each attempt's number and outcome, a panic as a
// PanicError with its stack, and Final tells a retry from the end.
func TestHeadersAndWrap(t *testing.T) {
	for _, bk := range kdBackends() {
		t.Run(bk.name, func(t *testing.T) {
			t.Parallel()
			b := bk.nb(t)
			c, err := jobs.NewClient(b, jobs.ClientConfig{Headers: func(ctx context.Context) map[string]string {
				if v, ok := ctx.Value(ctxKey{}).(string); ok {
					return map[string]string{"traceparent": v, "tricky": "a=b&c\x1fd"}
				}
				return nil
			}})
			if err != nil {
				t.Fatal(err)
			}
			type seen struct {
				kind    string
				number  int
				headers map[string]string
				final   bool
				err     error
			}
			var mu sync.Mutex
			var attempts []seen
			var workerHeaders []map[string]string
			w := jobs.NewWorkers()
			jobs.AddWorker(w, jobs.WorkerFunc[hdrArgs](func(ctx context.Context, j *jobs.Job[hdrArgs]) error {
				mu.Lock()
				workerHeaders = append(workerHeaders, j.Headers)
				mu.Unlock()
				if ctx.Value(ctxKey{}) != "wrapped" {
					return errors.New("the worker did not get Wrap's context")
				}
				switch {
				case j.Args.Mode == "fail" && j.Attempt == 1, j.Args.Mode == "dead":
					return errors.New("boom")
				case j.Args.Mode == "panic":
					panic("kaput")
				}
				return nil
			}))
			e := &env{t: t, b: b, c: c, insp: jobs.NewInspector(b)}
			e.run(jobs.RunnerConfig{Workers: w, Wrap: func(ctx context.Context, a *jobs.Attempt, next func(context.Context) error) error {
				err := next(context.WithValue(ctx, ctxKey{}, "wrapped"))
				mu.Lock()
				attempts = append(attempts, seen{a.ID, a.Number, a.Headers, a.Final(err), err})
				mu.Unlock()
				return err
			}})
			ctx := context.WithValue(t.Context(), ctxKey{}, "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
			okJob, _ := c.Enqueue(ctx, hdrArgs{Mode: "fail"}, jobs.MaxRetry(1))
			panicJob, _ := c.Enqueue(ctx, hdrArgs{Mode: "panic"}, jobs.MaxRetry(0))
			plain, _ := c.Enqueue(t.Context(), hdrArgs{Mode: "dead"}, jobs.MaxRetry(0)) // no headers
			e.waitState(okJob.ID, jobs.StateSucceeded, 5*time.Second)
			e.waitState(panicJob.ID, jobs.StateDead, 5*time.Second)
			e.waitState(plain.ID, jobs.StateDead, 5*time.Second)
			mu.Lock()
			defer mu.Unlock()
			byJob := map[string][]seen{}
			for _, s := range attempts {
				byJob[s.kind] = append(byJob[s.kind], s)
			}
			ok := byJob[okJob.ID]
			if len(ok) != 2 || ok[0].number != 1 || ok[0].final || ok[1].number != 2 || !ok[1].final || ok[1].err != nil {
				t.Errorf("attempts of the retried job = %+v", ok)
			}
			for _, s := range ok {
				if s.headers["traceparent"] != ctx.Value(ctxKey{}) || s.headers["tricky"] != "a=b&c\x1fd" {
					t.Errorf("headers = %q", s.headers)
				}
			}
			p := byJob[panicJob.ID]
			var pe *jobs.PanicError
			if len(p) != 1 || !errors.As(p[0].err, &pe) || pe.Value != "kaput" || !strings.Contains(string(pe.Stack), "wrap_test.go") || !p[0].final {
				t.Errorf("panic attempt = %+v", p)
			}
			if d := byJob[plain.ID]; len(d) != 1 || d[0].headers != nil || !d[0].final {
				t.Errorf("attempt without headers = %+v", d)
			}
			with := 0 // the jobs run in any order: 3 attempts with headers, 1 without
			for _, h := range workerHeaders {
				if h["traceparent"] == ctx.Value(ctxKey{}) {
					with++
				}
			}
			if len(workerHeaders) != 4 || with != 3 {
				t.Errorf("worker headers = %v; want 3 attempts with the enqueue's headers and 1 without", workerHeaders)
			}
			info, _ := e.insp.Job(t.Context(), panicJob.ID)
			if info.LastError != "jobs: panic: kaput" {
				t.Errorf("LastError = %q", info.LastError)
			}
		})
	}
}

// ChainWrap runs its wraps first-outermost, passes contexts down, skips
// nils, and is nil when nothing is left.
func TestChainWrap(t *testing.T) {
	if jobs.ChainWrap() != nil || jobs.ChainWrap(nil, nil) != nil {
		t.Fatal("ChainWrap of nothing is not nil")
	}
	var order []string
	mk := func(name string) jobs.WrapFunc {
		return func(ctx context.Context, a *jobs.Attempt, next func(context.Context) error) error {
			order = append(order, name+">")
			err := next(context.WithValue(ctx, ctxKey{}, name))
			order = append(order, "<"+name)
			return err
		}
	}
	w := jobs.ChainWrap(mk("a"), nil, mk("b"))
	boom := errors.New("boom")
	err := w(t.Context(), &jobs.Attempt{}, func(ctx context.Context) error {
		order = append(order, "run:"+ctx.Value(ctxKey{}).(string))
		return boom
	})
	if !errors.Is(err, boom) || strings.Join(order, " ") != "a> b> run:b <b <a" {
		t.Errorf("err %v, order %v", err, order)
	}
}
