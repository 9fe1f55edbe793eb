package openapitest_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/gantry-dev/gantry/openapi/openapitest"
)

// A document with a query parameter of each kind and a body with a
// required, a nullable and an optional property.
const listDoc = `{
  "openapi": "3.1.0",
  "info": {"title": "Pets", "version": "1"},
  "paths": {
    "/pets": {
      "get": {
        "parameters": [
          {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 50, "default": 20}},
          {"name": "kind", "in": "query", "schema": {"type": "string", "enum": ["cat", "dog"]}},
          {"name": "q", "in": "query", "schema": {"type": "string", "minLength": 2}},
          {"name": "ids", "in": "query", "explode": false, "schema": {"type": "array", "items": {"type": "integer"}, "minItems": 1}}
        ],
        "responses": {"200": {"description": "OK"}}
      },
      "post": {
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Pet"}}}},
        "responses": {"201": {"description": "Created"}}
      }
    }
  },
  "components": {"schemas": {"Pet": {
    "type": "object",
    "required": ["name"],
    "properties": {
      "name": {"type": "string", "minLength": 1, "examples": ["Rex"]},
      "tag": {"type": ["string", "null"]},
      "born": {"type": "string", "format": "date-time"}
    }
  }}}
}`

// TestRequestsAgreeWithTheChecker: each generated request is valid or not
// as the independent validator sees it, and the variants cover each rule.
func TestRequestsAgreeWithTheChecker(t *testing.T) {
	chk := openapitest.New(t, []byte(listDoc))
	reqs := openapitest.Requests(t, []byte(listDoc))
	var names []string
	for _, r := range reqs {
		names = append(names, r.Operation+": "+r.Name)
		req, err := r.NewRequest(t.Context(), "http://example.test")
		if err != nil {
			t.Fatal(err)
		}
		if errs := chk.RequestErrors(req); (len(errs) == 0) != r.Valid {
			t.Errorf("%s %s (%s, body %s): checker says %v; generator says valid %v", r.Method, r.Path, r.Name, r.Body, errs, r.Valid)
		}
	}
	for _, want := range []string{
		"GET /pets: example", "GET /pets: minimal", "GET /pets: query limit", "GET /pets: query limit above its maximum",
		"GET /pets: query limit not a number", "GET /pets: query kind outside its enum", "GET /pets: query q below its minLength",
		"GET /pets: query ids not a number",
		"POST /pets: example", "POST /pets: full body", "POST /pets: body without name", "POST /pets: body with name null",
		"POST /pets: body with born null", "POST /pets: body without Content-Type",
	} {
		if !slices.Contains(names, want) {
			t.Errorf("no request %q among:\n\t%s", want, strings.Join(names, "\n\t"))
		}
	}
	if slices.Contains(names, "POST /pets: body with tag null") {
		t.Error("generated tag null as invalid; the schema allows null")
	}
	for _, r := range reqs {
		if r.Operation == "POST /pets" && r.Name == "example" && r.Body != `{"name":"Rex"}` {
			t.Errorf("example body = %s; want the document's example", r.Body)
		}
		if r.Name == "body without Content-Type" {
			req, _ := r.NewRequest(t.Context(), "http://example.test")
			if req.Header.Get("Content-Type") != "" || req.Method != http.MethodPost {
				t.Errorf("body without Content-Type sends %q", req.Header.Get("Content-Type"))
			}
		}
	}
}
