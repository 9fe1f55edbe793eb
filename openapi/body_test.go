package openapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/gantry-dev/gantry/openapi"
	"github.com/gantry-dev/gantry/openapi/openapitest"
	"github.com/gantry-dev/gantry/server/servertest"
)

type noteAuthor struct {
	Name string `json:"name" validate:"required"`
}

type noteBody struct {
	Title  string      `json:"title" validate:"required"`
	Public bool        `json:"public"`           // required: never omitted
	Note   *string     `json:"note"`             // nullable
	Color  *string     `json:"color,omitempty"`  // optional, not null
	Tags   []string    `json:"tags,omitempty"`   // optional, not null
	Author *noteAuthor `json:"author,omitempty"` // optional object
	Extra  any         `json:"extra,omitempty"`  // any value, null too
}

// TestBodyPresenceMatchesTheSchema: what the schema says of each property
// (required, nullable) is what the route enforces, and a body needs its
// documented Content-Type.
func TestBodyPresenceMatchesTheSchema(t *testing.T) {
	s, _ := blog(t)
	api, err := openapi.New(s.Echo(), "/api/b", openapi.Config{})
	if err != nil {
		t.Fatal(err)
	}
	openapi.Post(api, "/notes", func(_ context.Context, in *struct{ Body noteBody }) (*noteBody, error) { return &in.Body, nil })
	if err := (openapi.DocsConfig{}).Mount(s.Echo(), api); err != nil {
		t.Fatal(err)
	}
	base := servertest.Start(t, s)
	chk := openapitest.New(t, openapitest.Fetch(t, base+"/api/b/openapi.json"))
	for _, tt := range []struct {
		name, body string
		noType     bool
		want       int
		field      string
	}{
		{"all there", `{"title":"t","public":false,"note":null}`, false, 200, ""},
		{"nullable set", `{"title":"t","public":true,"note":"n","color":"red","tags":[],"author":{"name":"a"},"extra":null}`, false, 200, ""},
		{"required bool missing", `{"title":"t","note":null}`, false, 422, "public"},
		{"required bool null", `{"title":"t","public":null,"note":null}`, false, 422, "public"},
		{"nullable may be absent", `{"title":"t","public":true}`, false, 200, ""},
		{"omitempty pointer null", `{"title":"t","public":true,"note":null,"color":null}`, false, 422, "color"},
		{"omitempty list null", `{"title":"t","public":true,"note":null,"tags":null}`, false, 422, "tags"},
		{"nested required missing", `{"title":"t","public":true,"note":null,"author":{}}`, false, 422, "author.name"},
		{"nested object null", `{"title":"t","public":true,"note":null,"author":null}`, false, 422, "author"},
		{"no content type", `{"title":"t","public":false,"note":null}`, true, 415, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := openapitest.Request{Method: "POST", Path: "/api/b/notes", Body: tt.body, NoType: tt.noType, Header: http.Header{}}
			req, err := r.NewRequest(t.Context(), base)
			if err != nil {
				t.Fatal(err)
			}
			docOK := len(chk.RequestErrors(req)) == 0
			if docOK != (tt.want == 200) {
				t.Errorf("document allows %s: %v; want %v", tt.body, docOK, tt.want == 200)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var env struct {
				Error struct {
					Details []struct{ Field string } `json:"details"`
				} `json:"error"`
			}
			_ = json.NewDecoder(resp.Body).Decode(&env)
			if resp.StatusCode != tt.want {
				t.Fatalf("POST %s = %d; want %d", tt.body, resp.StatusCode, tt.want)
			}
			if tt.field != "" {
				var fields []string
				for _, d := range env.Error.Details {
					fields = append(fields, d.Field)
				}
				if strings.Join(fields, ",") != tt.field {
					t.Errorf("details name %v; want %s", fields, tt.field)
				}
			}
		})
	}
}

// FuzzBody sends arbitrary bodies and query strings to a route with a
// JSON body and a Query field: the answer is 200 or a 4xx the route
// documents, never a 5xx, and a 200 carries every property the schema
// requires.
func FuzzBody(f *testing.F) {
	for _, s := range [][2]string{
		{`{"title":"t","public":false,"note":null}`, "owner_id[in]=1,2&sort=-created_at&limit=5"},
		{`{"title":"t","public":null,"author":{"name":null},"tags":[null]}`, "limit=0&offset=-1"},
		{`{"title":"t","public":true,"note":"n","author":[]}`, "state=gone&title[contains]="},
		{`[{"title":1}]`, "limit=1&limit=2&sort=,"},
		{`{"title":"t","public":true,"note":null}{}`, "%zz"},
		{`null`, ""},
	} {
		f.Add(s[0], s[1])
	}
	s, _ := blog(f)
	api, err := openapi.New(s.Echo(), "/api/f", openapi.Config{})
	if err != nil {
		f.Fatal(err)
	}
	openapi.Post(api, "/notes", func(_ context.Context, in *struct {
		openapi.Query[itemsSpec]
		Body noteBody
	}) (*noteBody, error) {
		return &in.Body, nil
	})
	h := s.Echo()
	f.Fuzz(func(t *testing.T, body, query string) {
		target := "/api/f/notes"
		if query != "" {
			target += "?" + query
		}
		req := httptest.NewRequest(http.MethodPost, "http://example.test/", strings.NewReader(body))
		u, err := url.Parse(target)
		if err != nil {
			t.Skip()
		}
		req.URL, req.RequestURI = u, target
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		switch rec.Code {
		case 200:
			var out map[string]json.RawMessage
			if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil || out["title"] == nil || string(out["public"]) == "null" {
				t.Fatalf("POST %q ?%s = 200 %s; want the required properties", body, query, rec.Body)
			}
		case 400, 413, 415, 422:
		default:
			t.Fatalf("POST %q ?%s = %d %s; want 200 or a documented 4xx", body, query, rec.Code, rec.Body)
		}
	})
}
