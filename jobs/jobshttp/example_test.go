package jobshttp_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/gantry-dev/gantry/jobs"
	"github.com/gantry-dev/gantry/jobs/jobshttp"
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
