package openapi

import (
	"bytes"
	"encoding/json"
	"slices"
)

// The OpenAPI 3.1 object model, only as much of it as the generator writes.
// Fields marshal to the names the specification uses; empty fields are left
// out. Maps marshal with sorted keys, so a document's JSON is deterministic.

// Document is an OpenAPI 3.1 document, as [API.Document] builds it.
type Document struct {
	OpenAPI    string              `json:"openapi"`
	Info       Info                `json:"info"`
	Servers    []Server            `json:"servers,omitempty"`
	Paths      map[string]PathItem `json:"paths"`
	Components *Components         `json:"components,omitempty"`
	Tags       []Tag               `json:"tags,omitempty"`
}

// Info is the document's title, version and description.
type Info struct {
	Title       string `json:"title"`
	Version     string `json:"version"`
	Description string `json:"description,omitempty"`
}

// Server is a base URL the API is reachable at.
type Server struct {
	URL         string `json:"url"`
	Description string `json:"description,omitempty"`
}

// Tag describes a tag that operations use to group themselves.
type Tag struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
}

// PathItem holds the operations of one path, keyed by lower-case method
// ("get", "post", ...).
type PathItem map[string]*Operation

// Operation is one method on one path.
type Operation struct {
	OperationID string                `json:"operationId"`
	Summary     string                `json:"summary,omitempty"`
	Description string                `json:"description,omitempty"`
	Tags        []string              `json:"tags,omitempty"`
	Parameters  []*Parameter          `json:"parameters,omitempty"`
	RequestBody *RequestBody          `json:"requestBody,omitempty"`
	Responses   map[string]*Response  `json:"responses"`
	Security    []map[string][]string `json:"security,omitempty"`
	Deprecated  bool                  `json:"deprecated,omitempty"`
}

// Parameter is a path, query or header parameter.
type Parameter struct {
	Name        string  `json:"name"`
	In          string  `json:"in"`
	Description string  `json:"description,omitempty"`
	Required    bool    `json:"required,omitempty"`
	Deprecated  bool    `json:"deprecated,omitempty"`
	Explode     *bool   `json:"explode,omitempty"`
	Schema      *Schema `json:"schema"`
}

// RequestBody is an operation's JSON request body.
type RequestBody struct {
	Description string               `json:"description,omitempty"`
	Required    bool                 `json:"required,omitempty"`
	Content     map[string]MediaType `json:"content"`
}

// Response is one documented response of an operation.
type Response struct {
	Description string               `json:"description"`
	Content     map[string]MediaType `json:"content,omitempty"`
}

// MediaType gives the schema of a body in one media type.
type MediaType struct {
	Schema *Schema `json:"schema"`
	// Encoding says, per property of a multipart body, the content types
	// its part may have.
	Encoding map[string]Encoding `json:"encoding,omitempty"`
}

// Encoding is how one property of a multipart body is sent.
type Encoding struct {
	ContentType string `json:"contentType,omitempty"` // comma-separated media types the part may have
}

// Components holds the named schemas and security schemes a document
// refers to with $ref.
type Components struct {
	Schemas         map[string]*Schema         `json:"schemas,omitempty"`
	SecuritySchemes map[string]*SecurityScheme `json:"securitySchemes,omitempty"`
}

// SecurityScheme describes how a route is protected (OpenAPI's Security
// Scheme Object). The bearer scheme is
// {Type: "http", Scheme: "bearer", BearerFormat: "JWT"}.
type SecurityScheme struct {
	Type         string `json:"type"`
	Description  string `json:"description,omitempty"`
	Scheme       string `json:"scheme,omitempty"`
	BearerFormat string `json:"bearerFormat,omitempty"`
	Name         string `json:"name,omitempty"` // apiKey: header, query or cookie name
	In           string `json:"in,omitempty"`   // apiKey: "header", "query" or "cookie"
}

// Schema is a JSON Schema (draft 2020-12, the dialect of OpenAPI 3.1). Type
// is a string, or a []string such as ["string", "null"] for a nullable value.
// The zero Schema accepts any value.
type Schema struct {
	Ref                  string             `json:"$ref,omitempty"`
	Type                 any                `json:"type,omitempty"`
	Format               string             `json:"format,omitempty"`
	Title                string             `json:"title,omitempty"`
	Description          string             `json:"description,omitempty"`
	Enum                 []any              `json:"enum,omitempty"`
	Default              any                `json:"default,omitempty"`
	Examples             []any              `json:"examples,omitempty"`
	Properties           map[string]*Schema `json:"properties,omitempty"`
	Required             []string           `json:"required,omitempty"`
	AdditionalProperties *Schema            `json:"additionalProperties,omitempty"`
	Items                *Schema            `json:"items,omitempty"`
	AnyOf                []*Schema          `json:"anyOf,omitempty"`
	Minimum              *float64           `json:"minimum,omitempty"`
	Maximum              *float64           `json:"maximum,omitempty"`
	ExclusiveMinimum     *float64           `json:"exclusiveMinimum,omitempty"`
	ExclusiveMaximum     *float64           `json:"exclusiveMaximum,omitempty"`
	MinLength            *int               `json:"minLength,omitempty"`
	MaxLength            *int               `json:"maxLength,omitempty"`
	Pattern              string             `json:"pattern,omitempty"`
	MinItems             *int               `json:"minItems,omitempty"`
	MaxItems             *int               `json:"maxItems,omitempty"`
	MinProperties        *int               `json:"minProperties,omitempty"`
	MaxProperties        *int               `json:"maxProperties,omitempty"`
	ContentEncoding      string             `json:"contentEncoding,omitempty"`
	ReadOnly             bool               `json:"readOnly,omitempty"`
	WriteOnly            bool               `json:"writeOnly,omitempty"`
	Deprecated           bool               `json:"deprecated,omitempty"`

	order []string // property names in declaration order
}

// MarshalJSON writes the schema with its properties in the order the Go
// struct declares its fields (the docs pages show them so); properties
// added by hand follow, sorted.
func (s *Schema) MarshalJSON() ([]byte, error) {
	type plain Schema
	if len(s.Properties) == 0 {
		return json.Marshal((*plain)(s))
	}
	p := *(*plain)(s)
	p.Properties = nil
	head, err := json.Marshal(&p)
	if err != nil {
		return nil, err
	}
	keys := make([]string, 0, len(s.Properties))
	for _, k := range s.order {
		if _, ok := s.Properties[k]; ok && !slices.Contains(keys, k) {
			keys = append(keys, k)
		}
	}
	rest := make([]string, 0, len(s.Properties)-len(keys))
	for k := range s.Properties {
		if !slices.Contains(keys, k) {
			rest = append(rest, k)
		}
	}
	slices.Sort(rest)
	var b bytes.Buffer
	b.Write(head[:len(head)-1])
	if len(head) > 2 {
		b.WriteByte(',')
	}
	b.WriteString(`"properties":{`)
	for i, k := range append(keys, rest...) {
		if i > 0 {
			b.WriteByte(',')
		}
		kb, _ := json.Marshal(k)
		b.Write(kb)
		b.WriteByte(':')
		vb, err := json.Marshal(s.Properties[k])
		if err != nil {
			return nil, err
		}
		b.Write(vb)
	}
	b.WriteString("}}")
	return b.Bytes(), nil
}

// SchemaProvider is implemented by types that describe their own JSON
// schema, such as a string type whose values are a fixed set of constants
// (reflection cannot list Go constants):
//
//	func (Status) OpenAPISchema() *openapi.Schema {
//		return &openapi.Schema{Type: "string", Enum: []any{"draft", "published"}}
//	}
//
// The generator calls it on the zero value. A named type's schema still
// becomes a component referred to with $ref.
type SchemaProvider interface {
	OpenAPISchema() *Schema
}
