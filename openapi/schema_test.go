package openapi

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

type PostStatus string

func (PostStatus) OpenAPISchema() *Schema {
	return &Schema{Type: "string", Enum: []any{"draft", "published"}}
}

type Node struct {
	Name     string  `json:"name"`
	Children []*Node `json:"children,omitempty"`
}

type Page[T any] struct {
	Items []T `json:"items"`
}

type Base struct {
	ID      int64     `json:"id"`
	Created time.Time `json:"created_at"`
}

type Embeds struct {
	Base
	Name string `json:"name"`
}

type Rules struct {
	Email    string            `json:"email" validate:"required,email"`
	URL      string            `json:"url,omitempty" validate:"omitempty,url"`
	ID       string            `json:"id" validate:"uuid4"`
	Role     string            `json:"role" validate:"oneof=admin user"`
	Level    int               `json:"level" validate:"oneof=1 2 3"`
	Age      int               `json:"age" validate:"gte=0,lte=150"`
	Score    float64           `json:"score" validate:"gt=0,lt=1"`
	Name     string            `json:"name" validate:"min=2,max=50"`
	Code     string            `json:"code" validate:"len=6,alphanum"`
	Tags     []string          `json:"tags" validate:"max=10,dive,min=1"`
	Labels   map[string]string `json:"labels" validate:"max=3"`
	Either   string            `json:"either" validate:"email|url"`
	Day      string            `json:"day" validate:"datetime=2006-01-02"`
	Doc      string            `json:"doc" doc:"Shown to users" example:"hi"`
	Count    uint              `json:"count"`
	Ratio    float32           `json:"ratio"`
	Small    int32             `json:"small"`
	Raw      json.RawMessage   `json:"raw"`
	Any      any               `json:"any"`
	Bytes    []byte            `json:"bytes"`
	When     time.Time         `json:"when"`
	UID      uuid.UUID         `json:"uid"`
	Status   PostStatus        `json:"status"`
	Opt      *PostStatus       `json:"opt"`
	MaybeInt *int              `json:"maybe_int" validate:"omitempty,min=1"`
	Quiet    *int              `json:"quiet,omitempty"`
	AsString int64             `json:"as_string,string"`
	Fixed    [2]int            `json:"fixed"`
	Skipped  string            `json:"-"`
	hidden   string
	Default  string            `json:"default" default:"x"`
	KeyRules map[string]string `json:"key_rules" validate:"dive,keys,min=1,endkeys,max=5"`
	Nullable *[]int            `json:"nullable"`
}

type Pair[K comparable, V any] struct {
	Key K `json:"key"`
	Val V `json:"val"`
}

func TestSchemaOfTypes(t *testing.T) {
	g := newSchemaGen()
	ref := g.schemaOf(reflect.TypeFor[Rules]())
	if ref.Ref != "#/components/schemas/Rules" {
		t.Fatalf("schemaOf(Rules) = %+v; want a $ref to Rules", ref)
	}
	s := g.schemas["Rules"]
	tests := []struct {
		prop string
		want string // the property's schema as JSON
	}{
		{"email", `{"type":"string","format":"email","minLength":1}`}, // required refuses ""
		{"url", `{"type":"string","format":"uri"}`},
		{"id", `{"type":"string","format":"uuid"}`},
		{"role", `{"type":"string","enum":["admin","user"]}`},
		{"level", `{"type":"integer","format":"int64","enum":[1,2,3]}`},
		{"age", `{"type":"integer","format":"int64","minimum":0,"maximum":150}`},
		{"score", `{"type":"number","format":"double","exclusiveMinimum":0,"exclusiveMaximum":1}`},
		{"name", `{"type":"string","minLength":2,"maxLength":50}`},
		{"code", `{"type":"string","minLength":6,"maxLength":6,"pattern":"^[a-zA-Z0-9]+$"}`},
		{"tags", `{"type":"array","items":{"type":"string","minLength":1},"maxItems":10}`},
		{"labels", `{"type":"object","additionalProperties":{"type":"string"},"maxProperties":3}`},
		{"either", `{"type":"string"}`},
		{"day", `{"type":"string","format":"date"}`},
		{"doc", `{"type":"string","description":"Shown to users","examples":["hi"]}`},
		{"count", `{"type":"integer","minimum":0}`},
		{"ratio", `{"type":"number","format":"float"}`},
		{"small", `{"type":"integer","format":"int32"}`},
		{"raw", `{}`},
		{"any", `{}`},
		{"bytes", `{"type":"string","contentEncoding":"base64"}`},
		{"when", `{"type":"string","format":"date-time"}`},
		{"uid", `{"type":"string","format":"uuid"}`},
		{"status", `{"$ref":"#/components/schemas/PostStatus"}`},
		{"opt", `{"anyOf":[{"$ref":"#/components/schemas/PostStatus"},{"type":"null"}]}`},
		{"maybe_int", `{"type":["integer","null"],"format":"int64","minimum":1}`},
		{"quiet", `{"type":"integer","format":"int64"}`},
		{"as_string", `{"type":"string"}`},
		{"fixed", `{"type":"array","items":{"type":"integer","format":"int64"},"minItems":2,"maxItems":2}`},
		{"default", `{"type":"string","default":"x"}`},
		{"key_rules", `{"type":"object","additionalProperties":{"type":"string","maxLength":5}}`},
		{"nullable", `{"type":["array","null"],"items":{"type":"integer","format":"int64"}}`},
	}
	for _, tt := range tests {
		t.Run(tt.prop, func(t *testing.T) {
			got, _ := json.Marshal(s.Properties[tt.prop])
			if string(got) != tt.want {
				t.Errorf("schema of %s = %s; want %s", tt.prop, got, tt.want)
			}
		})
	}
	for _, absent := range []string{"Skipped", "hidden", "-"} {
		if _, ok := s.Properties[absent]; ok {
			t.Errorf("property %q present; want it left out", absent)
		}
	}
	wantReq := "email id role level age score name code tags labels either day doc count ratio small raw any bytes when uid status as_string fixed default key_rules"
	if got := strings.Join(s.Required, " "); got != wantReq {
		t.Errorf("required = %s; want %s", got, wantReq)
	}
	if got, _ := json.Marshal(g.schemas["PostStatus"]); string(got) != `{"type":"string","enum":["draft","published"]}` {
		t.Errorf("PostStatus component = %s; want its OpenAPISchema", got)
	}
}

func TestSchemaComponents(t *testing.T) {
	tests := []struct {
		name      string
		typ       reflect.Type
		wantRef   string
		component string
		want      string
	}{
		{"recursive", reflect.TypeFor[Node](), "Node", "Node",
			`{"type":"object","required":["name"],"properties":{"name":{"type":"string"},"children":{"type":"array","items":{"$ref":"#/components/schemas/Node"}}}}`},
		{"generic", reflect.TypeFor[Page[Node]](), "PageNode", "PageNode",
			`{"type":"object","required":["items"],"properties":{"items":{"type":"array","items":{"$ref":"#/components/schemas/Node"}}}}`},
		{"generic with two arguments", reflect.TypeFor[Pair[string, map[string]Node]](), "PairStringNode", "PairStringNode",
			`{"type":"object","required":["key","val"],"properties":{"key":{"type":"string"},"val":{"type":"object","additionalProperties":{"$ref":"#/components/schemas/Node"}}}}`},
		{"embedded fields promoted", reflect.TypeFor[Embeds](), "Embeds", "Embeds",
			`{"type":"object","required":["id","created_at","name"],"properties":{"id":{"type":"integer","format":"int64"},"created_at":{"type":"string","format":"date-time"},"name":{"type":"string"}}}`},
		{"pointer to struct", reflect.TypeFor[*Base](), "Base", "Base",
			`{"type":"object","required":["id","created_at"],"properties":{"id":{"type":"integer","format":"int64"},"created_at":{"type":"string","format":"date-time"}}}`},
		{"anonymous struct inline", reflect.TypeFor[struct {
			A string `json:"a"`
		}](), "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := newSchemaGen()
			s := g.schemaOf(tt.typ)
			if want := "#/components/schemas/" + tt.wantRef; tt.wantRef != "" && s.Ref != want {
				t.Fatalf("schemaOf(%s).Ref = %q; want %q", tt.typ, s.Ref, want)
			}
			if tt.wantRef == "" {
				if s.Ref != "" || s.Type != "object" || len(g.schemas) != 0 {
					t.Errorf("schemaOf(%s) = %+v with %d components; want an inline object", tt.typ, s, len(g.schemas))
				}
				return
			}
			if got, _ := json.Marshal(g.schemas[tt.component]); string(got) != tt.want {
				t.Errorf("component %s = %s; want %s", tt.component, got, tt.want)
			}
		})
	}
}

func TestComponentNamesDoNotCollide(t *testing.T) {
	type Base struct { // same name as the package-level Base
		X int `json:"x"`
	}
	g := newSchemaGen()
	a := g.schemaOf(reflect.TypeFor[Base]())
	b := g.schemaOf(reflect.TypeFor[testBase]())
	if a.Ref == b.Ref {
		t.Errorf("two types named Base share %s", a.Ref)
	}
	if len(g.schemas) != 2 {
		t.Errorf("components = %d; want 2", len(g.schemas))
	}
}

type testBase = Base // the package-level Base

func TestOperationID(t *testing.T) {
	tests := []struct{ method, path, want string }{
		{"GET", "/posts", "getPosts"},
		{"GET", "/posts/{id}", "getPostsById"},
		{"POST", "/posts/{post_id}/comments", "postPostsByPostIdComments"},
		{"DELETE", "/user-settings/{id}", "deleteUserSettingsById"},
		{"GET", "", "get"},
	}
	for _, tt := range tests {
		if got := operationID(tt.method, tt.path); got != tt.want {
			t.Errorf("operationID(%s, %s) = %q; want %q", tt.method, tt.path, got, tt.want)
		}
	}
}

func TestSchemaPropertyOrder(t *testing.T) {
	g := newSchemaGen()
	g.schemaOf(reflect.TypeFor[Node]())
	s := g.schemas["Node"]
	s.Properties["b_added"] = &Schema{Type: "string"}
	s.Properties["a_added"] = &Schema{Type: "string"}
	got, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	keys := []string{`"name"`, `"children"`, `"a_added"`, `"b_added"`}
	last := -1
	for _, k := range keys {
		i := strings.Index(string(got), k)
		if i < last {
			t.Fatalf("Marshal = %s; want properties in the order %v (declared, then added sorted)", got, keys)
		}
		last = i
	}
	var back map[string]any
	if err := json.Unmarshal(got, &back); err != nil || len(back["properties"].(map[string]any)) != 4 {
		t.Errorf("Marshal = %s is not the object it should be (%v)", got, err)
	}
}
