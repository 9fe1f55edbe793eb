package openapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/go-playground/validator/v10"
	"github.com/google/uuid"

	"github.com/gantry-dev/gantry/openapi"
	"github.com/gantry-dev/gantry/server/servertest"
)

type Patch struct {
	Title *string `json:"title,omitempty" validate:"omitempty,min=3"`
}

type EchoIn struct {
	ID     uuid.UUID  `path:"id"`
	Limit  int        `query:"limit" default:"20"`
	Tags   []string   `query:"tag"`
	Nums   []int      `query:"n" default:"1,2"`
	Since  *time.Time `query:"since"`
	Draft  *bool      `query:"draft"`
	Ratio  float64    `query:"ratio"`
	Trace  string     `header:"X-Trace"`
	Paging            // embedded parameters are promoted
	Body   *Patch
}

type Paging struct {
	Cursor string `query:"cursor"`
}

type EchoOut struct {
	ID     string     `json:"id"`
	Limit  int        `json:"limit"`
	Tags   []string   `json:"tags"`
	Nums   []int      `json:"nums"`
	Since  *time.Time `json:"since"`
	Draft  *bool      `json:"draft"`
	Ratio  float64    `json:"ratio"`
	Trace  string     `json:"trace"`
	Cursor string     `json:"cursor"`
	Body   *Patch     `json:"body"`
}

func TestBindingFillsTheInput(t *testing.T) {
	s, _ := blog(t)
	api, err := openapi.New(s.Echo(), "/api/echo", openapi.Config{})
	if err != nil {
		t.Fatal(err)
	}
	openapi.Patch(api, "/{id}", func(_ context.Context, in *EchoIn) (*EchoOut, error) {
		return &EchoOut{ID: in.ID.String(), Limit: in.Limit, Tags: in.Tags, Nums: in.Nums, Since: in.Since, Draft: in.Draft,
			Ratio: in.Ratio, Trace: in.Trace, Cursor: in.Cursor, Body: in.Body}, nil
	})
	base := servertest.Start(t, s)
	const id = "6f1c2a8e-8a4b-4d7e-9a55-0f8f8f3b2c10"
	tests := []struct {
		name  string
		query string
		body  string
		hdr   []string
		want  string
	}{
		{"defaults, nothing sent", "", "", nil,
			`{"id":"` + id + `","limit":20,"tags":null,"nums":[1,2],"since":null,"draft":null,"ratio":0,"trace":"","cursor":"","body":null}`},
		{"everything sent", "?limit=5&tag=a&tag=b&n=7&since=2026-01-02T03:04:05Z&draft=false&ratio=0.5&cursor=c1", `{"title":"New title"}`, []string{"X-Trace", "t-1"},
			`{"id":"` + id + `","limit":5,"tags":["a","b"],"nums":[7],"since":"2026-01-02T03:04:05Z","draft":false,"ratio":0.5,"trace":"t-1","cursor":"c1","body":{"title":"New title"}}`},
		// The boolean grammar crud's filters and config use (internal/boolstr).
		{"boolean words", "?draft=yes", "", nil,
			`{"id":"` + id + `","limit":20,"tags":null,"nums":[1,2],"since":null,"draft":true,"ratio":0,"trace":"","cursor":"","body":null}`},
		{"boolean words in any case", "?draft=OFF", "", nil,
			`{"id":"` + id + `","limit":20,"tags":null,"nums":[1,2],"since":null,"draft":false,"ratio":0,"trace":"","cursor":"","body":null}`},
		{"empty values count as absent but for strings", "?limit=&tag=&draft=", "", nil,
			`{"id":"` + id + `","limit":20,"tags":[""],"nums":[1,2],"since":null,"draft":null,"ratio":0,"trace":"","cursor":"","body":null}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := do(t, "PATCH", base+"/api/echo/"+id+tt.query, tt.body, tt.hdr...)
			if resp.StatusCode != http.StatusOK || string(body) != tt.want+"\n" {
				t.Errorf("PATCH %s = %d %s; want 200 %s", tt.query, resp.StatusCode, body, tt.want)
			}
		})
	}
	// Bad values of every kind name their parameter.
	for _, q := range []string{"?ratio=x", "?draft=maybe", "?n=1&n=x", "?since=2026"} {
		resp, body := do(t, "PATCH", base+"/api/echo/"+id+q, "")
		var env struct {
			Error struct {
				Type    string `json:"type"`
				Message string `json:"message"`
			} `json:"error"`
		}
		_ = json.Unmarshal(body, &env)
		if resp.StatusCode != 400 || env.Error.Type != "invalid_parameter" {
			t.Errorf("PATCH %s = %d %s; want 400 invalid_parameter", q, resp.StatusCode, body)
		}
	}
	if resp, body := do(t, "PATCH", base+"/api/echo/not-a-uuid", ""); resp.StatusCode != 404 { // names nothing
		t.Errorf("PATCH /not-a-uuid = %d %s; want 404", resp.StatusCode, body)
	}
	if resp, body := do(t, "PATCH", base+"/api/echo/"+id, `{"title":"x"}`); resp.StatusCode != 422 {
		t.Errorf("PATCH with a short title = %d %s; want 422", resp.StatusCode, body)
	}
	doc := api.Document().Paths["/api/echo/{id}"]["patch"]
	if doc.RequestBody == nil || doc.RequestBody.Required {
		t.Errorf("requestBody = %+v; want an optional body", doc.RequestBody)
	}
	if got := len(doc.Parameters); got != 9 {
		t.Errorf("parameters = %d; want 9 (embedded Paging promoted)", got)
	}
}

func TestCustomParameterRules(t *testing.T) {
	v := validator.New(validator.WithRequiredStructEnabled())
	if err := v.RegisterValidation("even", func(fl validator.FieldLevel) bool { return fl.Field().Int()%2 == 0 }); err != nil {
		t.Fatal(err)
	}
	s, _ := blog(t)
	api, err := openapi.New(s.Echo(), "/api/custom", openapi.Config{Validator: v})
	if err != nil {
		t.Fatal(err)
	}
	type In struct {
		N    int      `query:"n" validate:"even"`
		Tags []string `query:"tag" validate:"max=2,dive,min=2"`
	}
	openapi.Get(api, "/", func(_ context.Context, in *In) (*map[string]int, error) { return &map[string]int{"n": in.N}, nil })
	base := servertest.Start(t, s)
	if resp, body := do(t, "GET", base+"/api/custom/?n=4", ""); resp.StatusCode != 200 {
		t.Errorf("GET ?n=4 = %d %s; want 200", resp.StatusCode, body)
	}
	resp, body := do(t, "GET", base+"/api/custom/?n=3", "")
	if resp.StatusCode != 422 || !strings.Contains(string(body), `{"field":"n","rule":"even","message":"failed the \"even\" rule"}`) {
		t.Errorf("GET ?n=3 = %d %s; want 422 naming n and the even rule", resp.StatusCode, body)
	}
	resp, body = do(t, "GET", base+"/api/custom/?tag=ok&tag=x", "")
	if resp.StatusCode != 422 || !strings.Contains(string(body), `{"field":"tag[1]","rule":"min","message":"must be at least 2 characters long"}`) {
		t.Errorf("GET ?tag=ok&tag=x = %d %s; want 422 naming tag[1]", resp.StatusCode, body)
	}
}
