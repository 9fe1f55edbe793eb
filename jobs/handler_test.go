package jobs_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/jobs"
	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestStatusHandler(t *testing.T) {
	b := jobs.NewMemoryBackend()
	c, _ := jobs.NewClient(b, jobs.ClientConfig{})
	info, err := c.Enqueue(t.Context(), noteArgs{N: 5}, jobs.Owner("u1"))
	if err != nil {
		t.Fatal(err)
	}
	h, err := jobs.StatusConfig{Inspector: jobs.NewInspector(b), Owner: func(c echo.Context) (string, error) {
		if u := c.Request().Header.Get("X-User"); u != "" {
			return u, nil
		}
		return "", echo.ErrUnauthorized
	}}.ToHandler()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, id, user string
		wantCode       int
		wantErr        error
	}{
		{"owner sees the job", info.ID, "u1", http.StatusOK, nil},
		{"other user gets 404", info.ID, "u2", 0, jobs.ErrNotFound},
		{"unknown id gets 404", "nope", "u1", 0, jobs.ErrNotFound},
		{"no user passes the hook's error", info.ID, "", 0, echo.ErrUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := echo.New()
			req := httptest.NewRequest(http.MethodGet, "/tasks/"+tt.id, nil)
			if tt.user != "" {
				req.Header.Set("X-User", tt.user)
			}
			rec := httptest.NewRecorder()
			ctx := e.NewContext(req, rec)
			ctx.SetParamNames("id")
			ctx.SetParamValues(tt.id)
			err := h(ctx)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("handler = %v; want %v", err, tt.wantErr)
			}
			if tt.wantErr == jobs.ErrNotFound {
				var hs interface{ HTTPStatus() int }
				if !errors.As(err, &hs) || hs.HTTPStatus() != http.StatusNotFound {
					t.Errorf("error %v has no HTTPStatus 404", err)
				}
			}
			if tt.wantCode != 0 {
				var got map[string]any
				if rec.Code != tt.wantCode || json.Unmarshal(rec.Body.Bytes(), &got) != nil || got["state"] != "pending" || got["kind"] != "note" {
					t.Errorf("response = %d %s; want 200 with the pending note job", rec.Code, rec.Body)
				}
				if _, ok := got["owner"]; ok || strings.Contains(rec.Body.String(), `"u1"`) {
					t.Errorf("response %s leaks the owner", rec.Body)
				}
			}
		})
	}
}

func TestMetrics(t *testing.T) {
	for _, nb := range []struct {
		name string
		f    newBackendFunc
	}{{"memory", func(*testing.T) jobs.Backend { return jobs.NewMemoryBackend() }}, {"redis", newRedisBackend}} {
		t.Run(nb.name, func(t *testing.T) {
			reg := prometheus.NewPedanticRegistry()
			b := nb.f(t)
			m, err := jobs.NewMetrics(jobs.MetricsConfig{Registerer: reg, Backend: b, Queues: []string{"default"}})
			if err != nil {
				t.Fatal(err)
			}
			c, _ := jobs.NewClient(b, jobs.ClientConfig{Metrics: m})
			e := &env{t: t, b: b, c: c, insp: jobs.NewInspector(b)}
			ws := jobs.NewWorkers()
			jobs.AddWorker(ws, jobs.WorkerFunc[noteArgs](func(_ context.Context, j *jobs.Job[noteArgs]) error {
				if j.Args.N == 0 {
					return jobs.SkipRetry(errors.New("no"))
				}
				return nil
			}))
			for i := range 3 {
				e.enqueue(noteArgs{N: i})
			}
			e.enqueue(noteArgs{N: 9}, jobs.Delay(time.Hour))
			e.run(jobs.RunnerConfig{Workers: ws, Metrics: m})
			waitFor(t, "3 processed", 5*time.Second, func() bool {
				return testutil.ToFloat64(mustVec(t, reg, "gantry_jobs_processed_total", "succeeded")) == 2 &&
					testutil.ToFloat64(mustVec(t, reg, "gantry_jobs_processed_total", "dead")) == 1
			})
			want := `
# HELP gantry_jobs_queue_size Jobs in a queue by state.
# TYPE gantry_jobs_queue_size gauge
gantry_jobs_queue_size{queue="default",state="active"} 0
gantry_jobs_queue_size{queue="default",state="dead"} 1
gantry_jobs_queue_size{queue="default",state="pending"} 0
gantry_jobs_queue_size{queue="default",state="retrying"} 0
gantry_jobs_queue_size{queue="default",state="scheduled"} 1
`
			if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "gantry_jobs_queue_size"); err != nil {
				t.Error(err)
			}
			if n, _ := testutil.GatherAndCount(reg, "gantry_jobs_enqueued_total"); n != 1 {
				t.Errorf("enqueued_total series = %d; want 1", n)
			}
		})
	}
}

// mustVec returns the processed_total counter for outcome.
func mustVec(t *testing.T, reg *prometheus.Registry, name, outcome string) prometheus.Collector {
	t.Helper()
	return &oneSeries{reg: reg, name: name, outcome: outcome}
}

// oneSeries exposes one series of a gathered counter as a collector for testutil.ToFloat64.
type oneSeries struct {
	reg           *prometheus.Registry
	name, outcome string
}

func (s *oneSeries) Describe(ch chan<- *prometheus.Desc) {
	ch <- prometheus.NewDesc("x", "x", nil, nil)
}

func (s *oneSeries) Collect(ch chan<- prometheus.Metric) {
	mfs, _ := s.reg.Gather()
	var v float64
	for _, mf := range mfs {
		if mf.GetName() != s.name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "outcome" && l.GetValue() == s.outcome {
					v += m.GetCounter().GetValue()
				}
			}
		}
	}
	ch <- prometheus.MustNewConstMetric(prometheus.NewDesc("x", "x", nil, nil), prometheus.CounterValue, v)
}
