package openapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/gantry-dev/gantry/crud"
	"github.com/gantry-dev/gantry/openapi"
	"github.com/gantry-dev/gantry/openapi/openapitest"
	"github.com/gantry-dev/gantry/server/servertest"
)

type itemsSpec struct{}

func (itemsSpec) QuerySpec() crud.QuerySpec {
	return crud.QuerySpec{
		Filters: map[string]crud.FilterSpec{
			"owner_id": {Type: crud.Int, Ops: []crud.Op{crud.Eq, crud.In}},
			"state":    {Type: crud.String, Values: []string{"open", "closed"}},
			"title":    {Type: crud.String, Ops: []crud.Op{crud.Contains}},
		},
		Sort: []string{"created_at"}, DefaultSort: "-created_at", MaxLimit: 50,
	}
}

type cursorSpec struct{}

func (cursorSpec) QuerySpec() crud.QuerySpec { return crud.QuerySpec{CursorOnly: true} }

type listItems struct {
	openapi.Query[itemsSpec]
	Q string `query:"q" validate:"max=10"`
}

// TestQueryFieldBindsAndDocuments checks that a Query field hands the
// handler the parsed crud.Query, answers what crud.ParseQuery refuses
// (limit and offset as typed parameters), lets the input's other query
// fields be, and documents exactly the parameters it accepts.
func TestQueryFieldBindsAndDocuments(t *testing.T) {
	s, _ := blog(t)
	api, err := openapi.New(s.Echo(), "/api/q", openapi.Config{})
	if err != nil {
		t.Fatal(err)
	}
	type got struct {
		Query crud.Query
		Q     string
	}
	openapi.Get(api, "/items", func(_ context.Context, in *listItems) (*got, error) {
		return &got{Query: in.Query.Query, Q: in.Q}, nil
	})
	openapi.Get(api, "/pages", func(_ context.Context, in *struct{ Page openapi.Query[cursorSpec] }) (*openapi.Empty, error) {
		return nil, nil
	})
	if err := (openapi.DocsConfig{}).Mount(s.Echo(), api); err != nil {
		t.Fatal(err)
	}
	base := servertest.Start(t, s)

	resp, body := do(t, "GET", base+"/api/q/items?owner_id[in]=1,2&state=open&sort=created_at&limit=5&q=hi", "")
	var g got
	if resp.StatusCode != 200 || json.Unmarshal(body, &g) != nil {
		t.Fatalf("GET items = %d %s; want 200", resp.StatusCode, body)
	}
	if len(g.Query.Filters) != 2 || g.Query.Limit != 5 || g.Query.Sort[0].Field != "created_at" || g.Q != "hi" {
		t.Errorf("bound %+v; want two filters, limit 5, sort created_at, q hi", g)
	}
	for _, tt := range []struct {
		query string
		want  int
	}{
		{"limit=0", 422},
		{"limit=51", 422},
		{"offset=10001", 422},
		{"limit=abc", 400},
		{"limit=01", 400},
		{"state=gone", 400},
		{"title[contains]=", 400},
		{"sort=title", 400},
		{"nope=1", 400},
		{"q=" + strings.Repeat("x", 11), 422},
	} {
		if resp, body := do(t, "GET", base+"/api/q/items?"+tt.query, ""); resp.StatusCode != tt.want {
			t.Errorf("GET items?%s = %d %s; want %d", tt.query, resp.StatusCode, body, tt.want)
		}
	}
	if resp, body := do(t, "GET", base+"/api/q/pages?offset=1", ""); resp.StatusCode != 400 {
		t.Errorf("GET pages?offset=1 (cursor only) = %d %s; want 400", resp.StatusCode, body)
	}

	doc := openapitest.Fetch(t, base+"/api/q/openapi.json")
	openapitest.ValidateDocument(t, doc)
	var d struct {
		Paths map[string]map[string]struct {
			Parameters []struct {
				Name    string         `json:"name"`
				Explode *bool          `json:"explode"`
				Schema  map[string]any `json:"schema"`
			} `json:"parameters"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(doc, &d); err != nil {
		t.Fatal(err)
	}
	params := map[string]map[string]any{}
	var names []string
	for _, p := range d.Paths["/api/q/items"]["get"].Parameters {
		params[p.Name] = p.Schema
		names = append(names, p.Name)
	}
	want := "q owner_id owner_id[in] state title[contains] sort limit offset cursor include_total"
	if strings.Join(names, " ") != want {
		t.Errorf("parameters = %v; want %s", names, want)
	}
	check := func(name, key, want string) {
		t.Helper()
		b, _ := json.Marshal(params[name][key])
		if string(b) != want {
			t.Errorf("parameter %s: %s = %s; want %s", name, key, b, want)
		}
	}
	check("owner_id", "type", `"integer"`)
	check("owner_id[in]", "type", `"array"`)
	check("state", "enum", `["open","closed"]`)
	check("title[contains]", "minLength", `1`)
	check("sort", "items", `{"enum":["id","-id","created_at","-created_at"],"type":"string"}`)
	check("limit", "maximum", `50`)
	var pageNames []string
	for _, p := range d.Paths["/api/q/pages"]["get"].Parameters {
		pageNames = append(pageNames, p.Name)
	}
	if strings.Join(pageNames, " ") != "sort limit cursor include_total" {
		t.Errorf("cursor-only parameters = %v; want no offset", pageNames)
	}

	// The checker agrees: documented requests pass, the rest do not.
	chk := openapitest.New(t, doc)
	for _, tt := range []struct {
		query string
		valid bool
	}{
		{"owner_id[in]=1,2&sort=-created_at,id", true},
		{"state=open", true},
		{"state=gone", false},
		{"title[contains]=", false},
		{"limit=51", false},
	} {
		req, _ := http.NewRequest("GET", base+"/api/q/items?"+tt.query, nil)
		if errs := chk.RequestErrors(req); (len(errs) == 0) != tt.valid {
			t.Errorf("RequestErrors(items?%s) = %v; want valid %v", tt.query, errs, tt.valid)
		}
	}
}

func TestQueryFieldRegistrationMistakes(t *testing.T) {
	type clash struct {
		openapi.Query[itemsSpec]
		Limit int `query:"limit"`
	}
	type two struct {
		A openapi.Query[itemsSpec]
		B openapi.Query[cursorSpec]
	}
	for name, register := range map[string]func(*openapi.API){
		"clash": func(a *openapi.API) {
			openapi.Get(a, "/x", func(context.Context, *clash) (*openapi.Empty, error) { return nil, nil })
		},
		"two": func(a *openapi.API) {
			openapi.Get(a, "/y", func(context.Context, *two) (*openapi.Empty, error) { return nil, nil })
		},
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("Register did not panic")
				}
			}()
			register(newAPI(t))
		})
	}
}
