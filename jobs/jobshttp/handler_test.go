package jobshttp_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gantry-dev/gantry/jobs"
	"github.com/gantry-dev/gantry/jobs/jobshttp"
	"github.com/labstack/echo/v4"
)

func TestStatusHandler(t *testing.T) {
	b := jobs.NewMemoryBackend()
	c, _ := jobs.NewClient(b, jobs.ClientConfig{})
	info, err := c.Enqueue(t.Context(), noteArgs{N: 5}, jobs.Owner("u1"))
	if err != nil {
		t.Fatal(err)
	}
	h, err := jobshttp.StatusConfig{Inspector: jobs.NewInspector(b), Owner: func(c echo.Context) (string, error) {
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

type noteArgs struct {
	N int `json:"n"`
}

func (noteArgs) Kind() string { return "note" }
