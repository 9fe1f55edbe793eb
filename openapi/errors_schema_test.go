package openapi_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/gantry-dev/gantry/openapi"
)

// TestErrorDetailShapes: the document names each shape an error's details
// take, as its own component, and the envelope's details accept exactly
// those (an array of one of them).
func TestErrorDetailShapes(t *testing.T) {
	e := echo.New()
	api, err := openapi.New(e, "/api", openapi.Config{Title: "t", Version: "1"})
	if err != nil {
		t.Fatal(err)
	}
	type in struct {
		ID int `path:"id"`
	}
	type out struct{}
	openapi.Get(api, "/items/{id}", func(context.Context, *in) (*out, error) { return &out{}, nil })
	b, err := api.JSON()
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Components struct {
			Schemas map[string]*openapi.Schema `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	shapes := map[string][]string{
		"FieldError":        {"field", "rule", "message"},
		"Problem":           {"field", "reason"},
		"MissingPermission": {"missing"},
	}
	for name, props := range shapes {
		s := doc.Components.Schemas[name]
		if s == nil {
			t.Errorf("component %s missing; have %v", name, keys(doc.Components.Schemas))
			continue
		}
		for _, p := range props {
			if s.Properties[p] == nil {
				t.Errorf("%s has no property %q", name, p)
			}
		}
		if len(s.Required) != len(props) {
			t.Errorf("%s required = %v; want %v", name, s.Required, props)
		}
		if s.Description == "" {
			t.Errorf("%s has no description naming the error types that carry it", name)
		}
	}
	body := doc.Components.Schemas["ErrorBody"]
	if body == nil || body.Properties["details"] == nil {
		t.Fatalf("ErrorBody.details missing: %s", b)
	}
	got := map[string]bool{}
	for _, alt := range body.Properties["details"].AnyOf {
		if alt.Type != "array" || alt.Items == nil {
			t.Errorf("details alternative %+v; want an array of a shape", alt)
			continue
		}
		got[alt.Items.Ref] = true
	}
	for name := range shapes {
		if !got["#/components/schemas/"+name] {
			t.Errorf("ErrorBody.details.anyOf lacks an array of %s; has %v", name, got)
		}
	}
	if len(got) != len(shapes) {
		t.Errorf("ErrorBody.details.anyOf = %v; want exactly the %d shapes", got, len(shapes))
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
