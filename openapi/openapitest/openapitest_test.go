package openapitest_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/gantry-dev/gantry/openapi/openapitest"
)

// A hand-written document, independent of package openapi.
const doc = `{
  "openapi": "3.1.0",
  "info": {"title": "Pets", "version": "1"},
  "paths": {
    "/pets/{id}": {
      "get": {
        "operationId": "getPet",
        "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "integer", "minimum": 1}}],
        "responses": {
          "200": {"description": "OK", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Pet"}}}},
          "404": {"description": "Not Found", "content": {"application/json": {"schema": {"type": "object", "required": ["error"]}}}}
        }
      }
    },
    "/pets": {
      "post": {
        "operationId": "createPet",
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Pet"}}}},
        "responses": {"201": {"description": "Created", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Pet"}}}}}
      }
    }
  },
  "components": {"schemas": {"Pet": {
    "type": "object",
    "required": ["id", "name", "born"],
    "properties": {
      "id": {"type": "integer"},
      "name": {"type": "string", "minLength": 1},
      "born": {"type": "string", "format": "date-time"},
      "tag": {"type": ["string", "null"]}
    }
  }}}
}`

// pets answers with whatever body the path asks for.
func pets(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/pets/1":
			io.WriteString(w, `{"id":1,"name":"Rex","born":"2020-01-01T00:00:00Z","tag":null}`)
		case "/pets/2": // breaks the schema: no name, born not a date-time
			io.WriteString(w, `{"id":2,"born":"yesterday"}`)
		case "/pets/3": // an undocumented status
			w.WriteHeader(http.StatusTeapot)
			io.WriteString(w, `{}`)
		case "/pets":
			w.WriteHeader(http.StatusCreated)
			io.WriteString(w, `{"id":9,"name":"Kit","born":"2021-01-01T00:00:00Z"}`)
		default:
			w.WriteHeader(http.StatusNotFound)
			io.WriteString(w, `{"error":{}}`)
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// recorder is a testing.TB that records failures instead of failing.
type recorder struct {
	testing.TB
	mu   sync.Mutex
	errs []string
}

func (r *recorder) Helper() {}
func (r *recorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

func TestCheckerPassesMatchingResponses(t *testing.T) {
	base := pets(t)
	chk := openapitest.ValidateResponses(t, []byte(doc), base,
		openapitest.Call{Path: "/pets/1", Status: 200},
		openapitest.Call{Path: "/pets/77", Status: 404},
		openapitest.Call{Method: "POST", Path: "/pets", Body: `{"id":9,"name":"Kit","born":"2021-01-01T00:00:00Z"}`, Status: 201},
	)
	chk.RequireExercised()
	if got := strings.Join(chk.Operations(), ", "); got != "POST /pets, GET /pets/{id}" {
		t.Errorf("Operations() = %s; want POST /pets, GET /pets/{id}", got)
	}
}

func TestCheckerFailsMismatches(t *testing.T) {
	base := pets(t)
	tests := []struct {
		name string
		path string
		want string
	}{
		{"body breaks schema", "/pets/2", "/pets/2 -> 200 breaks the document"},
		{"undocumented status", "/pets/3", "/pets/3 -> 418 breaks the document"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recorder{TB: t}
			chk := openapitest.New(rec, []byte(doc))
			resp, err := chk.Client().Get(base + tt.path)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body) // the body is still readable after the check
			resp.Body.Close()
			if len(body) == 0 {
				t.Error("response body was consumed by the check")
			}
			if len(rec.errs) != 1 || !strings.Contains(rec.errs[0], tt.want) {
				t.Errorf("failures = %q; want one containing %q", rec.errs, tt.want)
			}
			chk.RequireExercised()
			if len(rec.errs) != 2 || !strings.Contains(rec.errs[1], "POST /pets") {
				t.Errorf("RequireExercised failures = %q; want one naming POST /pets", rec.errs)
			}
		})
	}
}

func TestRequestErrors(t *testing.T) {
	chk := openapitest.New(t, []byte(doc))
	tests := []struct {
		name, method, path, body string
		valid                    bool
	}{
		{"valid get", "GET", "/pets/1", "", true},
		{"valid post", "POST", "/pets", `{"id":1,"name":"a","born":"2020-01-01T00:00:00Z"}`, true},
		{"path below minimum", "GET", "/pets/0", "", false},
		{"path not an integer", "GET", "/pets/x", "", false},
		{"unknown path", "GET", "/cats", "", false},
		{"body missing field", "POST", "/pets", `{"id":1}`, false},
		{"body wrong type", "POST", "/pets", `{"id":"1","name":"a","born":"2020-01-01T00:00:00Z"}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, "http://pets.test"+tt.path, strings.NewReader(tt.body))
			req.Header.Set("Content-Type", "application/json")
			errs := chk.RequestErrors(req)
			if (len(errs) == 0) != tt.valid {
				t.Errorf("RequestErrors(%s %s) = %q; want valid=%v", tt.method, tt.path, errs, tt.valid)
			}
			if b, _ := io.ReadAll(req.Body); string(b) != tt.body {
				t.Errorf("request body after check = %q; want %q restored", b, tt.body)
			}
		})
	}
}

func TestDocumentErrorsChecksSchemas(t *testing.T) {
	tests := []struct {
		name, schema string
		valid        bool
	}{
		{"valid", `{"type":["string","null"],"minLength":1}`, true},
		{"unknown type", `{"type":"integer32"}`, false},
		{"negative length", `{"type":"string","minLength":-1}`, false},
		{"required not a list", `{"type":"object","required":"name"}`, false},
		{"dangling ref", `{"$ref":"#/components/schemas/Nope"}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, where := range []string{"component", "response"} {
				d := `{"openapi":"3.1.0","info":{"title":"x","version":"1"},"paths":{},"components":{"schemas":{"A":` + tt.schema + `}}}`
				if where == "response" {
					d = `{"openapi":"3.1.0","info":{"title":"x","version":"1"},"paths":{"/a/{id}":{"get":{"parameters":[{"name":"id","in":"path","required":true,"schema":{"type":"string"}}],"responses":{"200":{"description":"OK","content":{"application/json":{"schema":` + tt.schema + `}}}}}}}}`
				}
				errs := openapitest.DocumentErrors([]byte(d))
				if (len(errs) == 0) != tt.valid {
					t.Errorf("DocumentErrors(%s in a %s) = %q; want valid=%v", tt.schema, where, errs, tt.valid)
				}
			}
		})
	}
}
