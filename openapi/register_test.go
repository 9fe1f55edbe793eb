package openapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/gantry-dev/gantry/openapi"
	"github.com/gantry-dev/gantry/openapi/openapitest"
	"github.com/gantry-dev/gantry/server"
	"github.com/gantry-dev/gantry/server/servertest"
)

func newAPI(tb testing.TB) *openapi.API {
	tb.Helper()
	s, err := server.New(server.Config{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		tb.Fatal(err)
	}
	api, err := openapi.New(s.Echo(), "/api/v1", openapi.Config{})
	if err != nil {
		tb.Fatal(err)
	}
	return api
}

// flatten turns a JSON document into "a.b[0].c" -> value lines.
func flatten(prefix string, v any, out map[string]string) {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			flatten(prefix+"."+k, e, out)
		}
	case []any:
		for i, e := range v {
			flatten(fmt.Sprintf("%s[%d]", prefix, i), e, out)
		}
	default:
		b, _ := json.Marshal(v)
		out[prefix] = string(b)
	}
}

func flatDoc(tb testing.TB, api *openapi.API) map[string]string {
	tb.Helper()
	b, err := api.JSON()
	if err != nil {
		tb.Fatal(err)
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		tb.Fatal(err)
	}
	out := map[string]string{}
	flatten("", v, out)
	return out
}

// variantA and variantB register the same route with types that differ in
// one output field and one input parameter: the documents must differ in
// exactly those places, with nothing else edited.
func variantA(tb testing.TB) *openapi.API {
	type In struct {
		Limit int `query:"limit"`
	}
	type Out struct {
		ID int64 `json:"id"`
	}
	api := newAPI(tb)
	openapi.Get(api, "/items", func(context.Context, *In) (*Out, error) { return &Out{}, nil })
	return api
}

func variantB(tb testing.TB) *openapi.API {
	type In struct {
		Limit int    `query:"limit"`
		Q     string `query:"q" validate:"required"`
	}
	type Out struct {
		ID   int64  `json:"id"`
		Name string `json:"name"`
	}
	api := newAPI(tb)
	openapi.Get(api, "/items", func(context.Context, *In) (*Out, error) { return &Out{}, nil })
	return api
}

func TestDocumentFollowsTheTypes(t *testing.T) {
	a, b := flatDoc(t, variantA(t)), flatDoc(t, variantB(t))
	var diff []string
	for k, v := range b {
		if a[k] != v {
			diff = append(diff, k+"="+v)
		}
	}
	for k := range a {
		if _, ok := b[k]; !ok {
			diff = append(diff, k+" removed")
		}
	}
	slices.Sort(diff)
	want := []string{
		`.components.schemas.Out.properties.name.type="string"`,
		`.components.schemas.Out.required[1]="name"`,
		`.paths./api/v1/items.get.parameters[1].in="query"`,
		`.paths./api/v1/items.get.parameters[1].name="q"`,
		`.paths./api/v1/items.get.parameters[1].required=true`,
		`.paths./api/v1/items.get.parameters[1].schema.minLength=1`, // required refuses ""
		`.paths./api/v1/items.get.parameters[1].schema.type="string"`,
	}
	if !slices.Equal(diff, want) {
		t.Errorf("document diff =\n\t%s\nwant\n\t%s", strings.Join(diff, "\n\t"), strings.Join(want, "\n\t"))
	}
}

// TestOptionalSecurity: a route that reads a credential when one is sent
// documents security [{}, {bearer: []}] and 401 (not 403); a route that
// also requires one documents the requirement alone; every route
// documents 431 and 500.
func TestOptionalSecurity(t *testing.T) {
	api := newAPI(t)
	public := api.Group("", openapi.OptionalSecurity("bearer"))
	none := func(context.Context, *openapi.Empty) (*openapi.Empty, error) { return nil, nil }
	openapi.Get(public, "/feed", none)
	openapi.Get(public, "/mine", none, openapi.Security("bearer", "read"))
	openapi.Get(api, "/open", none)
	for _, tt := range []struct{ path, want string }{
		{"/api/v1/feed", `[map[] map[bearer:[]]] [204 401 431 500]`},
		{"/api/v1/mine", `[map[bearer:[read]]] [204 401 403 431 500]`},
		{"/api/v1/open", `[] [204 431 500]`},
	} {
		op := api.Document().Paths[tt.path]["get"]
		if got := fmt.Sprintf("%v %v", op.Security, slices.Sorted(maps.Keys(op.Responses))); got != tt.want {
			t.Errorf("GET %s: security, responses = %s; want %s", tt.path, got, tt.want)
		}
	}
	b, _ := api.JSON()
	if !strings.Contains(string(b), `"security":[{},{"bearer":[]}]`) {
		t.Errorf("document does not write the optional requirement as [{},{\"bearer\":[]}]:\n%s", b)
	}
	openapitest.ValidateDocument(t, b)
	defer func() {
		if recover() == nil {
			t.Error("OptionalSecurity with an undefined scheme did not panic")
		}
	}()
	openapi.Get(api, "/bad", none, openapi.OptionalSecurity("cookie"))
}

func TestGroupOptions(t *testing.T) {
	s, err := server.New(server.Config{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	api, err := openapi.New(s.Echo(), "", openapi.Config{
		SecuritySchemes: map[string]*openapi.SecurityScheme{"apiKey": {Type: "apiKey", In: "header", Name: "X-API-Key"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	first, _ := api.JSON()
	admin := api.Group("/admin", openapi.Tags("admin"), openapi.Security("apiKey"), openapi.Errors(http.StatusConflict))
	openapi.Post(admin, "/reindex", func(context.Context, *openapi.Empty) (*openapi.Empty, error) { return nil, nil },
		openapi.Tags("ops"), openapi.Summary("Rebuild the index"), openapi.Deprecated())
	openapi.Get(admin, "/secret", func(context.Context, *openapi.Empty) (*openapi.Empty, error) { return nil, nil }, openapi.Hidden())
	second, _ := api.JSON()
	if string(first) == string(second) {
		t.Fatal("JSON() did not change after a registration (stale cache)")
	}
	op := api.Document().Paths["/admin/reindex"]["post"]
	if op == nil {
		t.Fatalf("document paths = %v; want /admin/reindex", api.Document().Paths)
	}
	got := fmt.Sprintf("%v %v %q %v %v", op.Tags, op.Security, op.Summary, op.Deprecated, slices.Sorted(maps.Keys(op.Responses)))
	want := `[admin ops] [map[apiKey:[]]] "Rebuild the index" true [204 401 403 409 431 500]`
	if got != want {
		t.Errorf("operation = %s; want %s", got, want)
	}
	if _, ok := api.Document().Paths["/admin/secret"]; ok {
		t.Error("a Hidden route is in the document")
	}
	if api.DocumentPath() != "/openapi.json" {
		t.Errorf("DocumentPath() = %q; want /openapi.json", api.DocumentPath())
	}
}

func TestRegisterPanicsOnMistakes(t *testing.T) {
	type NoTag struct {
		Limit int
	}
	type BadType struct {
		Filter struct{ A int } `query:"filter"`
	}
	type BadDefault struct {
		Limit int `query:"limit" default:"many"`
	}
	type SlicePath struct {
		IDs []int `path:"ids"`
	}
	type ID struct {
		ID int `path:"id"`
	}
	type Two struct {
		A int `query:"a" header:"A"`
	}
	type UnknownRule struct {
		Slug string `query:"slug" validate:"slugish"`
	}
	h := func(context.Context, *openapi.Empty) (*openapi.Empty, error) { return nil, nil }
	tests := []struct {
		name string
		reg  func(api *openapi.API)
		want string
	}{
		{"input not a struct", func(api *openapi.API) {
			openapi.Get(api, "/x", func(context.Context, *int) (*openapi.Empty, error) { return nil, nil })
		}, "is not a struct"},
		{"untagged field", func(api *openapi.API) {
			openapi.Get(api, "/x", func(context.Context, *NoTag) (*openapi.Empty, error) { return nil, nil })
		}, "Limit has no path, query or header tag"},
		{"unparsable parameter", func(api *openapi.API) {
			openapi.Get(api, "/x", func(context.Context, *BadType) (*openapi.Empty, error) { return nil, nil })
		}, "cannot be of type"},
		{"bad default", func(api *openapi.API) {
			openapi.Get(api, "/x", func(context.Context, *BadDefault) (*openapi.Empty, error) { return nil, nil })
		}, `default "many" is not an integer`},
		{"list in path", func(api *openapi.API) {
			openapi.Get(api, "/x/{ids}", func(context.Context, *SlicePath) (*openapi.Empty, error) { return nil, nil })
		}, "cannot be of type"},
		{"path parameter without field", func(api *openapi.API) { openapi.Get(api, "/x/{id}", h) }, "do not match"},
		{"path field without parameter", func(api *openapi.API) {
			openapi.Get(api, "/x", func(context.Context, *ID) (*openapi.Empty, error) { return nil, nil })
		}, "do not match"},
		{"two sources", func(api *openapi.API) {
			openapi.Get(api, "/x", func(context.Context, *Two) (*openapi.Empty, error) { return nil, nil })
		}, "has both query and header tags"},
		{"unknown validate rule", func(api *openapi.API) {
			openapi.Get(api, "/x", func(context.Context, *UnknownRule) (*openapi.Empty, error) { return nil, nil })
		}, `validate tag "slugish"`},
		{"status not 2xx", func(api *openapi.API) { openapi.Get(api, "/x", h, openapi.Status(302)) }, "status 302 is not 2xx"},
		{"route twice", func(api *openapi.API) {
			openapi.Get(api, "/x", h)
			openapi.Get(api, "/x", h, openapi.OperationID("other"))
		}, "registered twice"},
		{"operation id twice", func(api *openapi.API) {
			openapi.Get(api, "/x", h, openapi.OperationID("same"))
			openapi.Get(api, "/y", h, openapi.OperationID("same"))
		}, `operation id "same" already used by GET /api/v1/x`},
		{"undefined scheme", func(api *openapi.API) { openapi.Get(api, "/x", h, openapi.Security("oauth")) }, `undefined security scheme "oauth"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				r := recover()
				if r == nil || !strings.Contains(fmt.Sprint(r), tt.want) {
					t.Errorf("panic = %v; want one containing %q", r, tt.want)
				}
			}()
			tt.reg(newAPI(t))
		})
	}
}

func TestNewRefusesBadConfig(t *testing.T) {
	s, err := server.New(server.Config{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		prefix string
		cfg    openapi.Config
	}{
		{"relative prefix", "api", openapi.Config{}},
		{"trailing slash", "/api/", openapi.Config{}},
		{"success status as error", "/api", openapi.Config{Errors: []int{200}}},
		{"nil scheme", "/api", openapi.Config{SecuritySchemes: map[string]*openapi.SecurityScheme{"x": nil}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := openapi.New(s.Echo(), tt.prefix, tt.cfg); !errors.Is(err, openapi.ErrInvalidConfig) {
				t.Errorf("New(%q, %+v) = %v; want ErrInvalidConfig", tt.prefix, tt.cfg, err)
			}
		})
	}
}

func TestMiddlewareOrderAndDescriptions(t *testing.T) {
	s, err := server.New(server.Config{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	api, err := openapi.New(s.Echo(), "/api/v1", openapi.Config{})
	if err != nil {
		t.Fatal(err)
	}
	mark := func(name string) echo.MiddlewareFunc {
		return func(next echo.HandlerFunc) echo.HandlerFunc {
			return func(c echo.Context) error {
				c.Response().Header().Add("X-Order", name)
				return next(c)
			}
		}
	}
	type In struct {
		ID     int      `path:"id"`
		Accept []string `header:"X-Accept"`
	}
	type Out struct {
		Accept []string `json:"accept"`
	}
	g := api.Group("/things", openapi.Middleware(mark("group")))
	openapi.Put(g, "/{id}", func(_ context.Context, in *In) (*Out, error) { return &Out{Accept: in.Accept}, nil },
		openapi.Middleware(mark("route")), openapi.Description("Replaces a thing."), openapi.ResponseDescription("The thing as stored"))
	base := servertest.Start(t, s)
	resp, body := do(t, "PUT", base+"/api/v1/things/1", "", "X-Accept", "a")
	if got := strings.Join(resp.Header.Values("X-Order"), ","); got != "group,route" || string(body) != `{"accept":["a"]}`+"\n" {
		t.Errorf("PUT = %s, X-Order %q; want {\"accept\":[\"a\"]}, group,route", body, got)
	}
	op := api.Document().Paths["/api/v1/things/{id}"]["put"]
	if op.Description != "Replaces a thing." || op.Responses["200"].Description != "The thing as stored" {
		t.Errorf("operation = %q / %q; want the descriptions set", op.Description, op.Responses["200"].Description)
	}
}
