package openapi_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/gantry-dev/gantry/config"
	"github.com/gantry-dev/gantry/openapi"
	"github.com/gantry-dev/gantry/server"
	"github.com/gantry-dev/gantry/server/servertest"
)

// versioned serves two API versions with the given docs settings.
func versioned(t *testing.T, docs openapi.DocsConfig) string {
	t.Helper()
	s, err := server.New(server.Config{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	v1, err := openapi.New(s.Echo(), "/api/v1", openapi.Config{Title: "Blog", Version: "1"})
	if err != nil {
		t.Fatal(err)
	}
	v2, err := openapi.New(s.Echo(), "/api/v2", openapi.Config{Title: "Blog", Version: "2"})
	if err != nil {
		t.Fatal(err)
	}
	openapi.Get(v1, "/posts/{id}", getPost)
	openapi.Get(v2, "/posts/{id}", getPost)
	openapi.Get(v2, "/posts", listPosts)
	if err := docs.Mount(s.Echo(), v1, v2); err != nil {
		t.Fatal(err)
	}
	return servertest.Start(t, s)
}

func settings(env string, docs *bool) *config.Settings {
	return &config.Settings{ProjectName: "Blog", Environment: env, DocsEnabled: docs}
}

func TestDocsServedOutsideProduction(t *testing.T) {
	tests := []struct {
		name     string
		docs     openapi.DocsConfig
		contains map[string][]string // path -> substrings of the body
		missing  []string            // paths that answer 404
	}{
		{
			name: "development defaults serve the embedded copies",
			docs: settings("development", nil).DocsConfig(),
			contains: map[string][]string{
				"/docs":                {`src="/docs/assets/swagger-ui-bundle.`, `href="/docs/assets/swagger-ui.`, `src="/docs/assets/swagger-ui-standalone-preset.`, `src="/docs/assets/swagger-init.`, `href="/docs/assets/favicon-32x32.`, `"layout":"StandaloneLayout"`, `{"name":"Blog (/api/v1)","url":"/api/v1/openapi.json"}`, `"url":"/api/v2/openapi.json"`, "<title>Blog - Swagger UI</title>"},
				"/redoc":               {`src="/docs/assets/redoc.standalone.`, `href="/docs/assets/redoc.`, `spec-url="/api/v1/openapi.json"`, `href="?doc=1"`},
				"/redoc?doc=1":         {`spec-url="/api/v2/openapi.json"`},
				"/api/v1/openapi.json": {`"openapi":"3.1.0"`, `"version":"1"`, `"/api/v1/posts/{id}"`},
				"/api/v2/openapi.json": {`"version":"2"`, `"/api/v2/posts"`},
			},
		},
		{
			name: "CDN option loads the pinned releases from jsDelivr",
			docs: openapi.DocsConfig{CDN: true},
			contains: map[string][]string{
				"/docs":  {`src="` + openapi.CDNSwaggerUIJS + `"`, `href="` + openapi.CDNSwaggerUICSS + `"`, `src="` + openapi.CDNSwaggerUIPresetJS + `"`, "@" + openapi.SwaggerUIVersion + "/", `src="/docs/assets/swagger-init.`},
				"/redoc": {`src="` + openapi.CDNRedocJS + `"`, "redoc@" + openapi.RedocVersion + "/", `href="/docs/assets/redoc.`},
			},
		},
		{
			name: "self-hosted assets and other paths",
			docs: openapi.DocsConfig{AssetsURL: "/static/docs/", DocsPath: "/api/docs", RedocPath: "-", RedocJS: "/x/redoc.js", CDN: true},
			contains: map[string][]string{
				"/api/docs": {`src="/static/docs/swagger-ui-bundle.js"`, `href="/static/docs/swagger-ui.css"`, `href="/static/docs/favicon-32x32.png"`, `src="/static/docs/swagger-ui-standalone-preset.js"`, `src="/api/docs/assets/swagger-init.`},
			},
			missing: []string{"/docs", "/redoc"},
		},
		{
			name: "ReDoc alone serves the assets under its own path",
			docs: openapi.DocsConfig{DocsPath: "-", RedocPath: "/reference"},
			contains: map[string][]string{
				"/reference": {`src="/reference/assets/redoc.standalone.`},
			},
			missing: []string{"/docs", "/redoc"},
		},
		{
			name: "docs forced on in production",
			docs: settings("production", ptr(true)).DocsConfig(),
			contains: map[string][]string{
				"/docs": {"swagger-ui"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base := versioned(t, tt.docs)
			for path, subs := range tt.contains {
				resp, body := do(t, "GET", base+path, "")
				if resp.StatusCode != http.StatusOK {
					t.Errorf("GET %s = %d; want 200", path, resp.StatusCode)
				}
				for _, s := range subs {
					if !strings.Contains(string(body), s) {
						t.Errorf("GET %s lacks %s:\n%s", path, s, body)
					}
				}
			}
			for _, path := range tt.missing {
				if resp, _ := do(t, "GET", base+path, ""); resp.StatusCode != http.StatusNotFound {
					t.Errorf("GET %s = %d; want 404 (moved or left out)", path, resp.StatusCode)
				}
			}
		})
	}
}

func TestDocsPageForOneDocument(t *testing.T) {
	s, _ := blog(t) // one API
	base := servertest.Start(t, s)
	resp, body := do(t, "GET", base+"/docs", "")
	for _, want := range []string{`"urls":[{"name":"Blog (/api/v1)","url":"/api/v1/openapi.json"}]`, `"layout":"BaseLayout"`} {
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), want) {
			t.Errorf("GET /docs = %d, lacks %s:\n%s", resp.StatusCode, want, body)
		}
	}
	if strings.Contains(string(body), "standalone-preset") {
		t.Errorf("GET /docs loads the standalone preset for one document:\n%s", body)
	}
}

func TestDocsAre404InProduction(t *testing.T) {
	tests := []struct {
		name string
		s    *config.Settings
	}{
		{"production", settings("production", nil)},
		{"turned off by DOCS_ENABLED", settings("development", ptr(false))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base := versioned(t, tt.s.DocsConfig())
			for _, path := range []string{"/docs", "/redoc", "/api/v1/openapi.json", "/api/v2/openapi.json"} {
				resp, body := do(t, "GET", base+path, "")
				var env server.Envelope
				if resp.StatusCode != http.StatusNotFound || json.Unmarshal(body, &env) != nil || env.Error.Code != 404 {
					t.Errorf("GET %s = %d %s; want the 404 envelope", path, resp.StatusCode, body)
				}
			}
			// The API itself is still served.
			if resp, body := do(t, "GET", base+"/api/v2/posts/1", ""); resp.StatusCode != http.StatusOK {
				t.Errorf("GET /api/v2/posts/1 = %d %s; want 200", resp.StatusCode, body)
			}
		})
	}
}

func TestMountRefusesBadConfig(t *testing.T) {
	s, err := server.New(server.Config{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	a, _ := openapi.New(s.Echo(), "/api/v1", openapi.Config{})
	b, _ := openapi.New(s.Echo(), "/api/v1", openapi.Config{})
	tests := []struct {
		name string
		cfg  openapi.DocsConfig
		apis []*openapi.API
	}{
		{"no API", openapi.DocsConfig{}, nil},
		{"relative docs path", openapi.DocsConfig{DocsPath: "docs"}, []*openapi.API{a}},
		{"two APIs on one prefix", openapi.DocsConfig{}, []*openapi.API{a, b}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.cfg.Mount(s.Echo(), tt.apis...); err == nil {
				t.Errorf("Mount(%+v) = nil; want an error", tt.cfg)
			}
		})
	}
	if err := (openapi.DocsConfig{Disabled: true}).Mount(s.Echo()); err != nil {
		t.Errorf("Mount(disabled) = %v; want nil", err)
	}
}

func getPost(_ context.Context, in *GetIn) (*Post, error) {
	p := samplePost(in.ID)
	return &p, nil
}

func listPosts(context.Context, *ListIn) (*PostList, error) {
	return &PostList{Items: []Post{}}, nil
}

func ptr[T any](v T) *T { return &v }
