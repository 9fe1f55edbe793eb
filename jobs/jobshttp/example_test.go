package jobshttp_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/gantry-dev/gantry/jobs"
	"github.com/gantry-dev/gantry/jobs/jobshttp"
	"github.com/gantry-dev/gantry/openapi"
	"github.com/gantry-dev/gantry/server"
	"github.com/labstack/echo/v4"
)

// Resize is a job: its Kind is stored with each job and must stay stable.
type Resize struct {
	ImageID int `json:"image_id"`
}

func (Resize) Kind() string { return "resize" }

func ExampleStatusConfig_ToHandler() {
	backend := jobs.NewMemoryBackend()
	client, _ := jobs.NewClient(backend, jobs.ClientConfig{})
	info, _ := client.Enqueue(context.Background(), Resize{ImageID: 1}, jobs.Owner("alice"))

	status, _ := jobshttp.StatusConfig{
		Inspector: jobs.NewInspector(backend),
		// Only the user who started a job sees it; others get 404.
		Owner: func(c echo.Context) (string, error) { return c.Request().Header.Get("X-User"), nil },
	}.ToHandler()
	e := echo.New()
	e.GET("/tasks/:id", status)

	for _, user := range []string{"alice", "bob"} {
		req := httptest.NewRequest(http.MethodGet, "/tasks/"+info.ID, nil)
		req.Header.Set("X-User", user)
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		fmt.Println(user, rec.Code)
	}
	// Output:
	// alice 200
	// bob 404
}

func ExampleDashboard_Mount() {
	backend := jobs.NewMemoryBackend()
	client, _ := jobs.NewClient(backend, jobs.ClientConfig{})
	info, _ := client.Enqueue(context.Background(), Resize{ImageID: 7})

	srv, _ := server.New(server.Config{Logger: slog.New(slog.DiscardHandler)})
	// The service chooses the prefix and guards it (echo middleware on
	// admin.Echo(), added before Mount); the dashboard authenticates nothing.
	admin, _ := openapi.New(srv.Echo(), "/admin/jobs", openapi.Config{Title: "Jobs admin"})
	dash, _ := jobshttp.NewDashboard(jobshttp.DashboardConfig{
		Inspector: jobs.NewInspector(backend),
		ReadOnly:  true, // look, don't touch: actions answer 403
		Redact:    jobs.RedactFields("password"),
		Logger:    slog.New(slog.DiscardHandler), // one line per action
	})
	dash.Mount(admin, openapi.Tags("admin"))

	for _, r := range []struct{ method, path string }{
		{http.MethodGet, "/admin/jobs/"},                                 // the overview page
		{http.MethodGet, "/admin/jobs/api/jobs/" + info.ID},              // a job as JSON
		{http.MethodPost, "/admin/jobs/api/jobs/" + info.ID + "/cancel"}, // refused: read-only
	} {
		rec := httptest.NewRecorder()
		srv.Echo().ServeHTTP(rec, httptest.NewRequest(r.method, r.path, nil))
		var job struct{ State string }
		_ = json.Unmarshal(rec.Body.Bytes(), &job)
		fmt.Println(strings.TrimSpace(fmt.Sprint(r.method, " ", rec.Code, " ", job.State)))
	}
	// Output:
	// GET 200
	// GET 200 pending
	// POST 403
}

func ExampleEventsConfig_ToHandler() {
	backend := jobs.NewMemoryBackend()
	client, _ := jobs.NewClient(backend, jobs.ClientConfig{})
	inspector := jobs.NewInspector(backend)
	info, _ := client.Enqueue(context.Background(), Resize{ImageID: 1}, jobs.Owner("alice"))
	_ = inspector.Cancel(context.Background(), info.ID) // ended: its stream is the final state alone

	events, _ := jobshttp.EventsConfig{
		Inspector: inspector,
		Owner:     func(c echo.Context) (string, error) { return c.Request().Header.Get("X-User"), nil },
	}.ToHandler()
	e := echo.New()
	e.GET("/tasks/:id/events", events)

	for _, user := range []string{"alice", "bob"} {
		req := httptest.NewRequest(http.MethodGet, "/tasks/"+info.ID+"/events", nil)
		req.Header.Set("X-User", user)
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		fmt.Println(user, rec.Code, rec.Header().Get("Content-Type"))
		if rec.Code == http.StatusOK {
			fmt.Print(strings.ReplaceAll(rec.Body.String(), info.ID, "<id>"))
		}
	}
	// Output:
	// alice 200 text/event-stream
	// id: 0-0
	// event: state
	// data: {"id":"<id>","type":"state","state":"cancelled"}
	//
	// bob 404 application/json
}
