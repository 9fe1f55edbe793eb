package openapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/gantry-dev/gantry/openapi"
	"github.com/gantry-dev/gantry/openapi/openapitest"
	"github.com/gantry-dev/gantry/server"
	"github.com/gantry-dev/gantry/server/servertest"
)

// The blog below is the service under test: typed routes of every kind
// beside a plain echo handler.

type Author struct {
	Name  string `json:"name"`
	Email string `json:"email" validate:"email"`
}

type Post struct {
	ID        int64     `json:"id"`
	Title     string    `json:"title" validate:"required,min=3,max=100"`
	Status    string    `json:"status" validate:"oneof=draft published"`
	Tags      []string  `json:"tags"`
	Author    *Author   `json:"author"`
	Summary   *string   `json:"summary,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

type CreatePost struct {
	Title  string   `json:"title" validate:"required,min=3,max=100"`
	Status string   `json:"status" validate:"required,oneof=draft published"`
	Email  string   `json:"email,omitempty" validate:"omitempty,email"`
	Tags   []string `json:"tags,omitempty" validate:"max=5,dive,min=1,max=20"`
}

type CreateIn struct {
	Body CreatePost
}

type GetIn struct {
	ID int64 `path:"id" validate:"min=1" doc:"Post id"`
}

type ListIn struct {
	Limit  int        `query:"limit" default:"20" validate:"min=1,max=100"`
	Status string     `query:"status" validate:"omitempty,oneof=draft published"`
	Tag    []string   `query:"tag"`
	Since  *time.Time `query:"since"`
}

type PostList struct {
	Items []Post `json:"items"`
	Total int    `json:"total"`
}

type DeleteIn struct {
	ID  int64  `path:"id"`
	Key string `header:"X-Confirm" validate:"required"`
}

var created = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func samplePost(id int64) Post {
	return Post{ID: id, Title: "Hello", Status: "draft", Tags: []string{"go"},
		Author: &Author{Name: "Ann", Email: "ann@example.com"}, CreatedAt: created}
}

// fakeGuard lets a request through when it carries "Bearer good".
type fakeGuard struct{ scopes []string }

func (g fakeGuard) Middleware() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			switch c.Request().Header.Get("Authorization") {
			case "":
				c.Response().Header().Set("WWW-Authenticate", "Bearer")
				return server.NewError(http.StatusUnauthorized, "missing token")
			case "Bearer good":
				return next(c)
			}
			return server.NewError(http.StatusForbidden, "insufficient scope")
		}
	}
}

func (g fakeGuard) Security() (string, []string) { return "bearer", g.scopes }

// blog registers the blog's routes on a new server and returns the server
// and its v1 API.
func blog(tb testing.TB) (*server.Server, *openapi.API) {
	tb.Helper()
	s, err := server.New(server.Config{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		tb.Fatal(err)
	}
	api, err := openapi.New(s.Echo(), "/api/v1", openapi.Config{Title: "Blog", Version: "1.2.3", Errors: []int{http.StatusTooManyRequests}})
	if err != nil {
		tb.Fatal(err)
	}
	posts := api.Group("/posts", openapi.Tags("posts"))
	openapi.Get(posts, "", func(ctx context.Context, in *ListIn) (*PostList, error) {
		out := &PostList{Items: []Post{}}
		for i := range min(in.Limit, 3) {
			p := samplePost(int64(i + 1))
			if in.Status != "" {
				p.Status = in.Status
			}
			out.Items = append(out.Items, p)
		}
		out.Total = len(out.Items)
		return out, nil
	}, openapi.Summary("List posts"))
	openapi.Get(posts, "/{id}", func(ctx context.Context, in *GetIn) (*Post, error) {
		if in.ID == 404 {
			return nil, server.NewError(http.StatusNotFound, "post not found")
		}
		p := samplePost(in.ID)
		s := "short"
		p.Summary = &s
		openapi.EchoContext(ctx).Response().Header().Set("ETag", `"v1"`)
		return &p, nil
	}, openapi.Summary("Get a post"), openapi.Errors(http.StatusNotFound))
	openapi.Post(posts, "", func(ctx context.Context, in *CreateIn) (*Post, error) {
		p := samplePost(7)
		p.Title, p.Status, p.Tags, p.Author = in.Body.Title, in.Body.Status, in.Body.Tags, nil
		if p.Tags == nil {
			p.Tags = []string{}
		}
		return &p, nil
	}, openapi.Summary("Create a post"), openapi.Status(http.StatusCreated),
		openapi.Secure(fakeGuard{scopes: []string{"posts:write"}}))
	openapi.Delete(posts, "/{id}", func(ctx context.Context, in *DeleteIn) (*openapi.Empty, error) {
		return nil, nil
	}, openapi.Secure(fakeGuard{scopes: []string{"posts:write"}}, fakeGuard{scopes: []string{"admin"}}))
	openapi.Get(api, "/ping", func(ctx context.Context, _ *openapi.Empty) (*map[string]string, error) {
		return &map[string]string{"pong": "ok"}, nil
	}, openapi.Tags("meta"), openapi.OperationID("ping"))
	api.Echo().GET("/plain", func(c echo.Context) error { return c.String(http.StatusOK, "plain") })
	if err := (openapi.DocsConfig{}).Mount(s.Echo(), api); err != nil {
		tb.Fatal(err)
	}
	return s, api
}

func do(tb testing.TB, method, url, body string, hdr ...string) (*http.Response, []byte) {
	tb.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(tb.Context(), method, url, r)
	if err != nil {
		tb.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatal(err)
	}
	return resp, b
}

func TestDocumentIsValidOpenAPI31(t *testing.T) {
	s, _ := blog(t)
	base := servertest.Start(t, s)
	doc := openapitest.Fetch(t, base+"/api/v1/openapi.json")
	if errs := openapitest.DocumentErrors(doc); len(errs) > 0 {
		t.Fatalf("DocumentErrors(blog) = %v; want none\n%s", errs, doc)
	}
	// The validator is not a rubber stamp: broken documents fail it.
	for _, bad := range []string{
		`{"openapi":"3.1.0","paths":{}}`,
		`{"openapi":"3.1.0","info":{"title":"x","version":"1"},"paths":{"/a":{"get":{"responses":{"200":{"content":{}}}}}}}`,
		`{"openapi":"3.0.3","info":{"title":"x","version":"1"},"paths":{}}`,
	} {
		if errs := openapitest.DocumentErrors([]byte(bad)); len(errs) == 0 {
			t.Errorf("DocumentErrors(%s) = none; want errors", bad)
		}
	}
}

func TestEveryRouteAppears(t *testing.T) {
	s, api := blog(t)
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	b, err := api.JSON()
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	var got []string
	for p, item := range doc.Paths {
		for m := range item {
			got = append(got, strings.ToUpper(m)+" "+p)
		}
	}
	slices.Sort(got)
	want := []string{
		"DELETE /api/v1/posts/{id}",
		"GET /api/v1/ping",
		"GET /api/v1/posts",
		"GET /api/v1/posts/{id}",
		"POST /api/v1/posts",
	}
	if !slices.Equal(got, want) || doc.OpenAPI != "3.1.0" {
		t.Errorf("document operations = %v (openapi %q); want %v (3.1.0)", got, doc.OpenAPI, want)
	}
	// And each is served by echo, beside the plain handler.
	var routes []string
	for _, r := range s.Echo().Routes() {
		if strings.HasPrefix(r.Path, "/api/v1") {
			routes = append(routes, r.Method+" "+r.Path)
		}
	}
	for _, w := range append(slices.Clone(want), "GET /api/v1/plain") {
		method, path, _ := strings.Cut(w, " ")
		path = strings.NewReplacer("{", ":", "}", "").Replace(path)
		if !slices.Contains(routes, method+" "+path) {
			t.Errorf("echo routes %v lack %s %s", routes, method, path)
		}
	}
	base := servertest.Start(t, s)
	if resp, body := do(t, "GET", base+"/api/v1/plain", ""); resp.StatusCode != 200 || string(body) != "plain" {
		t.Errorf("GET /api/v1/plain = %d %q; want 200 plain", resp.StatusCode, body)
	}
}

func TestRequestsBreakingTheSchemaGet4xx(t *testing.T) {
	s, api := blog(t)
	base := servertest.Start(t, s)
	b, _ := api.JSON()
	chk := openapitest.New(t, b)
	auth := []string{"Authorization", "Bearer good"}
	tests := []struct {
		name         string
		method, path string
		body         string
		hdr          []string
		status       int
		typ          string
		field        string // a details entry names it
		message      string // substring of the message
	}{
		{name: "path param not an integer", method: "GET", path: "/api/v1/posts/abc", status: 404, typ: "not_found", field: "id", message: `path parameter "id" must be an integer`}, // names no post (issue 11, defect 7)
		{name: "path param below minimum", method: "GET", path: "/api/v1/posts/0", status: 422, typ: "validation_error", field: "id", message: "request validation failed"},
		{name: "query param wrong type", method: "GET", path: "/api/v1/posts?limit=ten", status: 400, typ: "invalid_parameter", field: "limit", message: `query parameter "limit" must be an integer`},
		{name: "query param above maximum", method: "GET", path: "/api/v1/posts?limit=1000", status: 422, typ: "validation_error", field: "limit"},
		{name: "query enum violation", method: "GET", path: "/api/v1/posts?status=archived", status: 422, typ: "validation_error", field: "status"},
		{name: "query date-time malformed", method: "GET", path: "/api/v1/posts?since=yesterday", status: 400, typ: "invalid_parameter", field: "since", message: "date-time"},
		{name: "body missing required", method: "POST", path: "/api/v1/posts", body: `{"status":"draft"}`, hdr: auth, status: 422, typ: "validation_error", field: "title"},
		{name: "body wrong type", method: "POST", path: "/api/v1/posts", body: `{"title":5,"status":"draft"}`, hdr: auth, status: 400, typ: "invalid_json", message: `field "title" must be a string`},
		{name: "body enum violation", method: "POST", path: "/api/v1/posts", body: `{"title":"Hello","status":"gone"}`, hdr: auth, status: 422, typ: "validation_error", field: "status"},
		{name: "body too short", method: "POST", path: "/api/v1/posts", body: `{"title":"Hi","status":"draft"}`, hdr: auth, status: 422, typ: "validation_error", field: "title"},
		{name: "body bad email", method: "POST", path: "/api/v1/posts", body: `{"title":"Hello","status":"draft","email":"nope"}`, hdr: auth, status: 422, typ: "validation_error", field: "email"},
		{name: "body item too long", method: "POST", path: "/api/v1/posts", body: `{"title":"Hello","status":"draft","tags":["` + strings.Repeat("x", 21) + `"]}`, hdr: auth, status: 422, typ: "validation_error", field: "tags[0]"},
		{name: "no body", method: "POST", path: "/api/v1/posts", hdr: auth, status: 400, typ: "bad_request", message: "request body is required"},
		{name: "missing required header", method: "DELETE", path: "/api/v1/posts/3", hdr: auth, status: 422, typ: "validation_error", field: "X-Confirm"},
		{name: "no credentials", method: "POST", path: "/api/v1/posts", body: `{"title":"Hello","status":"draft"}`, status: 401, typ: "unauthorized"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := do(t, tt.method, base+tt.path, tt.body, tt.hdr...)
			var env server.Envelope
			if err := json.Unmarshal(body, &env); err != nil {
				t.Fatalf("%s %s: body %s is not an envelope: %v", tt.method, tt.path, body, err)
			}
			if resp.StatusCode != tt.status || env.Error.Code != tt.status || env.Error.Type != tt.typ {
				t.Errorf("%s %s = %d %s; want %d %s: %s", tt.method, tt.path, resp.StatusCode, env.Error.Type, tt.status, tt.typ, body)
			}
			if !strings.Contains(env.Error.Message, tt.message) {
				t.Errorf("message = %q; want it to contain %q", env.Error.Message, tt.message)
			}
			if strings.Contains(string(body), "int64") || strings.Contains(string(body), "strconv") {
				t.Errorf("body %s names Go types or functions", body)
			}
			if tt.field != "" {
				var details []server.FieldError
				raw, _ := json.Marshal(env.Error.Details)
				_ = json.Unmarshal(raw, &details)
				if !slices.ContainsFunc(details, func(d server.FieldError) bool { return d.Field == tt.field }) {
					t.Errorf("details = %s; want an entry for %q", raw, tt.field)
				}
			}
			// The independent validator agrees the request breaks the document.
			var rd io.Reader
			if tt.body != "" {
				rd = strings.NewReader(tt.body)
			}
			req, _ := http.NewRequest(tt.method, base+tt.path, rd)
			if tt.body != "" {
				req.Header.Set("Content-Type", "application/json")
			}
			for i := 0; i+1 < len(tt.hdr); i += 2 {
				req.Header.Set(tt.hdr[i], tt.hdr[i+1])
			}
			if errs := chk.RequestErrors(req); len(errs) == 0 {
				t.Errorf("RequestErrors(%s %s) = none; the document should forbid what the server refuses", tt.method, tt.path)
			}
		})
	}
}

func TestValidRequestsPassBothSides(t *testing.T) {
	s, api := blog(t)
	base := servertest.Start(t, s)
	b, _ := api.JSON()
	chk := openapitest.New(t, b)
	for _, c := range []struct{ method, path, body string }{
		{"GET", "/api/v1/posts?limit=2&status=published&tag=a&tag=b&since=2026-01-01T00:00:00Z", ""},
		{"POST", "/api/v1/posts", `{"title":"Hello","status":"draft","tags":["go"]}`},
	} {
		req, _ := http.NewRequest(c.method, base+c.path, strings.NewReader(c.body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer good")
		if errs := chk.RequestErrors(req); len(errs) > 0 {
			t.Errorf("RequestErrors(%s %s) = %v; want none", c.method, c.path, errs)
		}
		resp, body := do(t, c.method, base+c.path, c.body, "Authorization", "Bearer good")
		if resp.StatusCode/100 != 2 {
			t.Errorf("%s %s = %d %s; want 2xx", c.method, c.path, resp.StatusCode, body)
		}
	}
}

func TestResponsesMatchTheDocument(t *testing.T) {
	s, _ := blog(t)
	base := servertest.Start(t, s)
	doc := openapitest.Fetch(t, base+"/api/v1/openapi.json")
	auth := http.Header{"Authorization": {"Bearer good"}}
	chk := openapitest.ValidateResponses(t, doc, base,
		openapitest.Call{Path: "/api/v1/posts", Status: 200},
		openapitest.Call{Path: "/api/v1/posts?limit=1&status=published", Status: 200},
		openapitest.Call{Path: "/api/v1/posts?limit=x", Status: 400},
		openapitest.Call{Path: "/api/v1/posts?limit=0", Status: 422},
		openapitest.Call{Path: "/api/v1/posts/1", Status: 200},
		openapitest.Call{Path: "/api/v1/posts/404", Status: 404},
		openapitest.Call{Method: "POST", Path: "/api/v1/posts", Body: `{"title":"Hello","status":"draft"}`, Header: auth, Status: 201},
		openapitest.Call{Method: "POST", Path: "/api/v1/posts", Body: `{"title":"Hello","status":"draft"}`, Status: 401},
		openapitest.Call{Method: "POST", Path: "/api/v1/posts", Body: `{"title":"Hello"`, Header: auth, Status: 400},
		openapitest.Call{Method: "POST", Path: "/api/v1/posts", Body: `{"title":"Hello","status":"draft"}`, Header: http.Header{"Authorization": {"Bearer bad"}, "Content-Type": {"text/plain"}}, Status: 403},
		openapitest.Call{Method: "DELETE", Path: "/api/v1/posts/3", Header: http.Header{"Authorization": {"Bearer good"}, "X-Confirm": {"yes"}}, Status: 204},
		openapitest.Call{Path: "/api/v1/ping", Status: 200},
	)
	chk.RequireExercised()
}

// The checker is not a rubber stamp either: a response the document does
// not describe fails it.
func TestCheckerCatchesDrift(t *testing.T) {
	s, api := blog(t)
	// A handler that answers something else than its type says.
	s.Echo().GET("/api/v1/drift", func(c echo.Context) error {
		return c.JSON(200, map[string]any{"id": "not-a-number", "title": 1})
	})
	base := servertest.Start(t, s)
	b, _ := api.JSON()
	chk := openapitest.New(t, b)
	for _, tt := range []struct{ name, path string }{
		{"wrong body", "/api/v1/posts/1"},
		{"undocumented status", "/api/v1/posts/1"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", base+tt.path, nil)
			resp := &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"application/json"}},
				Body: io.NopCloser(strings.NewReader(`{"id":"x","title":1}`)), Request: req}
			if tt.name == "undocumented status" {
				resp.StatusCode = 418
				resp.Body = io.NopCloser(strings.NewReader(`{}`))
			}
			if errs := chk.ResponseErrors(req, resp); len(errs) == 0 {
				t.Errorf("ResponseErrors(%s) = none; want errors", tt.name)
			}
		})
	}
}

func TestEchoContextAndPlainErrors(t *testing.T) {
	s, _ := blog(t)
	base := servertest.Start(t, s)
	resp, _ := do(t, "GET", base+"/api/v1/posts/1", "")
	if got := resp.Header.Get("ETag"); got != `"v1"` {
		t.Errorf("ETag = %q; want \"v1\" set through EchoContext", got)
	}
	if openapi.EchoContext(t.Context()) != nil {
		t.Error("EchoContext(outside a handler) != nil")
	}
	_, body := do(t, "GET", base+"/api/v1/posts/404", "")
	var env server.Envelope
	if err := json.Unmarshal(body, &env); err != nil || env.Error.Code != 404 || env.Error.Message != "post not found" {
		t.Errorf("GET /posts/404 = %s; want the 404 envelope", body)
	}
	_ = errors.New
}
