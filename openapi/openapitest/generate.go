package openapitest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// Request is one request [Requests] generates from a document: a request
// the document allows (Valid) or a variant that breaks it in one named
// way.
type Request struct {
	Operation string // "METHOD /path/{param}", as the document writes it
	Name      string // what the request is, e.g. "example", "minimal", "body without title"
	Valid     bool   // whether the document allows the request
	Method    string
	Path      string // the path with parameters filled in, and the query string
	Header    http.Header
	Body      string // JSON, or a multipart/form-data body when ContentType says so; "" for none
	// ContentType is the body's media type when it is not
	// application/json (a multipart body with its boundary).
	ContentType string
	NoType      bool // send Body without a Content-Type
}

// NewRequest builds the HTTP request r describes against baseURL: the
// body with Content-Type application/json unless NoType, and r.Header.
func (r Request) NewRequest(ctx context.Context, baseURL string) (*http.Request, error) {
	var body io.Reader
	if r.Body != "" {
		body = strings.NewReader(r.Body)
	}
	req, err := http.NewRequestWithContext(ctx, r.Method, baseURL+r.Path, body)
	if err != nil {
		return nil, err
	}
	for k, vs := range r.Header {
		req.Header[k] = slices.Clone(vs)
	}
	if r.Body != "" && !r.NoType {
		ct := r.ContentType
		if ct == "" {
			ct = "application/json"
		}
		req.Header.Set("Content-Type", ct)
	}
	return req, nil
}

// Requests generates requests for every operation of doc, from the
// document alone (it shares no code with the generator of the document):
//
//   - "example": every parameter and property that has examples (or a
//     default) set to its first one, the rest required ones at their
//     lower bound;
//   - "minimal": required parameters and properties only, each at its
//     lower bound (minimum, minLength, minItems, first enum value);
//   - "query NAME": minimal plus one optional parameter at its lower
//     bound, one request per parameter;
//   - "full body": every property at its lower bound;
//
// and variants the document forbids (Valid false): "body without P" for
// each required property, "body with P null" for each property that is
// not nullable, "body without Content-Type", and "query NAME" out of its
// enum, below its minLength, above its maximum or not of its type. Path
// parameters are filled in the same way. Operations come in the
// document's order of paths, methods sorted; send them with
// [Request.NewRequest] and check the answers with a [Checker].
func Requests(tb interface{ Fatalf(string, ...any) }, doc []byte) []Request {
	var d struct {
		Paths      map[string]map[string]json.RawMessage `json:"paths"`
		Components struct {
			Schemas map[string]any `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(doc, &d); err != nil {
		tb.Fatalf("openapitest: decode document: %v", err)
	}
	g := &gen{schemas: d.Components.Schemas}
	paths := make([]string, 0, len(d.Paths))
	for p := range d.Paths {
		paths = append(paths, p)
	}
	slices.Sort(paths)
	var out []Request
	for _, p := range paths {
		methods := make([]string, 0, len(d.Paths[p]))
		for m := range d.Paths[p] {
			switch m {
			case "get", "put", "post", "delete", "options", "head", "patch", "trace":
				methods = append(methods, m)
			}
		}
		slices.Sort(methods)
		for _, m := range methods {
			var op genOp
			if err := json.Unmarshal(d.Paths[p][m], &op); err != nil {
				tb.Fatalf("openapitest: decode %s %s: %v", m, p, err)
			}
			out = append(out, g.operation(strings.ToUpper(m), p, &op)...)
		}
	}
	return out
}

type genOp struct {
	Parameters []struct {
		Name     string         `json:"name"`
		In       string         `json:"in"`
		Required bool           `json:"required"`
		Explode  *bool          `json:"explode"`
		Schema   map[string]any `json:"schema"`
	} `json:"parameters"`
	RequestBody *struct {
		Required bool `json:"required"`
		Content  map[string]struct {
			Schema   map[string]any `json:"schema"`
			Encoding map[string]struct {
				ContentType string `json:"contentType"`
			} `json:"encoding"`
		} `json:"content"`
	} `json:"requestBody"`
}

type gen struct {
	schemas map[string]any
}

// resolve follows $ref and takes the first branch of anyOf that is not null.
func (g *gen) resolve(s map[string]any) map[string]any {
	for range 32 {
		if ref, ok := s["$ref"].(string); ok {
			next, _ := g.schemas[strings.TrimPrefix(ref, "#/components/schemas/")].(map[string]any)
			if next == nil {
				return map[string]any{}
			}
			s = next
			continue
		}
		if alts, ok := s["anyOf"].([]any); ok {
			for _, b := range alts {
				if bs, ok := b.(map[string]any); ok && bs["type"] != "null" {
					s = bs
					break
				}
			}
			if _, still := s["anyOf"]; still {
				return s
			}
			continue
		}
		return s
	}
	return s
}

// typeOf returns the schema's type, the first that is not "null".
func typeOf(s map[string]any) string {
	switch t := s["type"].(type) {
	case string:
		return t
	case []any:
		for _, x := range t {
			if x != "null" {
				return fmt.Sprint(x)
			}
		}
	}
	return ""
}

// nullable reports whether the schema accepts null.
func (g *gen) nullable(s map[string]any) bool {
	if _, ok := s["$ref"]; ok {
		return false
	}
	if alts, ok := s["anyOf"].([]any); ok {
		for _, b := range alts {
			if bs, ok := b.(map[string]any); ok && (bs["type"] == "null" || g.nullable(bs)) {
				return true
			}
		}
		return false
	}
	switch t := s["type"].(type) {
	case nil:
		return true // any value
	case []any:
		return slices.Contains(t, any("null"))
	}
	return false
}

func num(v any) (float64, bool) {
	f, ok := v.(float64)
	return f, ok
}

// value builds a value of schema s: its example (or default) when
// examples is set, else its lower bound; all properties of an object
// when full, else the required ones.
func (g *gen) value(s map[string]any, examples, full bool, depth int) any {
	if depth > 8 {
		return nil
	}
	s = g.resolve(s)
	if examples {
		if ex, ok := s["examples"].([]any); ok && len(ex) > 0 {
			return ex[0]
		}
		if d, ok := s["default"]; ok {
			return d
		}
	}
	if enum, ok := s["enum"].([]any); ok {
		for _, e := range enum {
			if e != nil {
				return e
			}
		}
	}
	switch typeOf(s) {
	case "string":
		switch s["format"] {
		case "email":
			return "a@example.com"
		case "date":
			return "2026-01-01"
		case "date-time":
			return "2026-01-01T00:00:00Z"
		case "uuid":
			return "00000000-0000-4000-8000-000000000000"
		case "uri":
			return "https://example.com/"
		case "ipv4":
			return "127.0.0.1"
		case "ipv6":
			return "::1"
		case "hostname":
			return "example.com"
		}
		n, _ := num(s["minLength"])
		return strings.Repeat("x", int(n))
	case "integer":
		if m, ok := num(s["minimum"]); ok {
			return m
		}
		if m, ok := num(s["exclusiveMinimum"]); ok {
			return m + 1
		}
		return 0.0
	case "number":
		if m, ok := num(s["minimum"]); ok {
			return m
		}
		if m, ok := num(s["exclusiveMinimum"]); ok {
			return m + 0.5
		}
		return 0.0
	case "boolean":
		return false
	case "array":
		n, _ := num(s["minItems"])
		items, _ := s["items"].(map[string]any)
		out := make([]any, int(n))
		for i := range out {
			out[i] = g.value(items, examples, full, depth+1)
		}
		return out
	case "object":
		out := map[string]any{}
		props, _ := s["properties"].(map[string]any)
		req, _ := s["required"].([]any)
		for name, p := range props {
			ps, _ := p.(map[string]any)
			_, hasEx := ps["examples"]
			if full || slices.Contains(req, any(name)) || (examples && hasEx) {
				out[name] = g.value(ps, examples, full, depth+1)
			}
		}
		return out
	}
	return nil // any value: null is one
}

// text writes a parameter value as a query or path string.
func text(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(v)
	case []any:
		parts := make([]string, len(v))
		for i, x := range v {
			parts[i] = text(x)
		}
		return strings.Join(parts, ",")
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// param is one parameter with the value a request gives it; omit leaves
// it out.
type paramValue struct {
	name, in string
	value    string
	omit     bool
}

func (g *gen) operation(method, path string, op *genOp) []Request {
	opName := method + " " + path
	var body map[string]any
	bodyRequired := false
	var form map[string]string // multipart body: part name -> the content types its encoding allows
	if op.RequestBody != nil {
		if c, ok := op.RequestBody.Content["application/json"]; ok {
			body, bodyRequired = c.Schema, op.RequestBody.Required
		} else if c, ok := op.RequestBody.Content["multipart/form-data"]; ok {
			body, bodyRequired = c.Schema, op.RequestBody.Required
			form = map[string]string{}
			for name, e := range c.Encoding {
				form[name] = e.ContentType
			}
		}
	}
	base := func(examples bool) []paramValue {
		var ps []paramValue
		for _, p := range op.Parameters {
			pv := paramValue{name: p.Name, in: p.In, omit: !p.Required && p.In != "path"}
			if s := g.resolve(p.Schema); examples && s["examples"] != nil {
				pv.omit = false
			}
			pv.value = text(g.value(p.Schema, examples, false, 0))
			if pv.value == "" && p.In == "path" {
				pv.value = "x" // a path segment cannot be empty
			}
			ps = append(ps, pv)
		}
		return ps
	}
	build := func(name string, valid bool, ps []paramValue, b any, hasBody bool) Request {
		r := Request{Operation: opName, Name: name, Valid: valid, Method: method, Header: http.Header{}}
		p := path
		q := url.Values{}
		for _, pv := range ps {
			if pv.omit {
				continue
			}
			switch pv.in {
			case "path":
				p = strings.ReplaceAll(p, "{"+pv.name+"}", url.PathEscape(pv.value))
			case "query":
				q.Add(pv.name, pv.value)
			case "header":
				r.Header.Set(pv.name, pv.value)
			}
		}
		if len(q) > 0 {
			p += "?" + q.Encode()
		}
		r.Path = p
		if hasBody && form != nil {
			r.Body, r.ContentType = g.multipartBody(body, b, form)
		} else if hasBody {
			raw, _ := json.Marshal(b)
			r.Body = string(raw)
		}
		return r
	}
	var out []Request
	hasBody := body != nil
	out = append(out,
		build("example", true, base(true), valueIf(hasBody, func() any { return g.value(body, true, false, 0) }), hasBody),
		build("minimal", true, base(false), valueIf(hasBody, func() any { return g.value(body, false, false, 0) }), hasBody))
	if hasBody && !bodyRequired {
		out = append(out, build("no body", true, base(false), nil, false))
	}
	for i, p := range op.Parameters {
		if p.In != "query" && p.In != "header" {
			continue
		}
		s := g.resolve(p.Schema)
		with := func(name string, valid bool, v string) {
			ps := base(false)
			ps[i].omit, ps[i].value = false, v
			out = append(out, build(name, valid, ps, valueIf(hasBody, func() any { return g.value(body, false, false, 0) }), hasBody))
		}
		if !p.Required {
			with(p.In+" "+p.Name, true, text(g.value(p.Schema, false, false, 0)))
		}
		typ := typeOf(s)
		if typ == "array" {
			s, _ = s["items"].(map[string]any)
			s = g.resolve(s)
			typ = typeOf(s)
		}
		switch {
		case s["enum"] != nil:
			with(p.In+" "+p.Name+" outside its enum", false, "not-one-of-them")
		case typ == "integer" || typ == "number":
			with(p.In+" "+p.Name+" not a number", false, "x")
			if m, ok := num(s["maximum"]); ok {
				with(p.In+" "+p.Name+" above its maximum", false, text(m+1))
			}
		case typ == "boolean":
			with(p.In+" "+p.Name+" not a boolean", false, "maybe")
		case typ == "string":
			if m, ok := num(s["minLength"]); ok && m > 0 {
				with(p.In+" "+p.Name+" below its minLength", false, strings.Repeat("x", int(m)-1))
			}
		}
	}
	if !hasBody {
		return out
	}
	bs := g.resolve(body)
	if typeOf(bs) != "object" {
		return out
	}
	full, _ := g.value(body, false, true, 0).(map[string]any)
	out = append(out, build("full body", true, base(false), full, true))
	nt := build("body without Content-Type", false, base(false), g.value(body, false, false, 0), true)
	nt.NoType = true
	out = append(out, nt)
	req, _ := bs["required"].([]any)
	props, _ := bs["properties"].(map[string]any)
	names := make([]string, 0, len(props))
	for n := range props {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		if slices.Contains(req, any(n)) {
			b := g.value(body, false, true, 0).(map[string]any)
			delete(b, n)
			out = append(out, build("body without "+n, false, base(false), b, true))
		}
		if ps, _ := props[n].(map[string]any); form == nil && !g.nullable(ps) { // a form has no null
			b := g.value(body, false, true, 0).(map[string]any)
			b[n] = nil
			out = append(out, build("body with "+n+" null", false, base(false), b, true))
		}
	}
	return out
}

func valueIf(ok bool, f func() any) any {
	if !ok {
		return nil
	}
	return f()
}

// multipartBody encodes b as a multipart/form-data body for the object
// schema body: a property of format binary becomes a file part whose
// name and bytes are of the first content type its encoding lists that
// sampleFile knows (text/plain when none), every other property a text
// part. It returns the body and its Content-Type.
func (g *gen) multipartBody(body map[string]any, b any, form map[string]string) (string, string) {
	var buf strings.Builder
	mw := multipart.NewWriter(&buf)
	props, _ := g.resolve(body)["properties"].(map[string]any)
	values, _ := b.(map[string]any)
	names := make([]string, 0, len(values))
	for n := range values {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		ps := g.resolve(asMap(props[n]))
		if ps["format"] == "binary" {
			fname, data := sampleFile(form[n])
			w, _ := mw.CreateFormFile(n, fname)
			_, _ = w.Write(data)
			continue
		}
		_ = mw.WriteField(n, text(values[n]))
	}
	_ = mw.Close()
	return buf.String(), mw.FormDataContentType()
}

func asMap(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

// sampleFile returns a file name and the smallest bytes a content sniffer
// takes for the first media type in types (a comma-separated list, as an
// encoding's contentType) it knows; text/plain when it knows none.
func sampleFile(types string) (string, []byte) {
	for _, t := range strings.Split(types, ",") {
		switch strings.TrimSpace(t) {
		case "image/png":
			return "sample.png", []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00\x90wS\xde")
		case "image/gif":
			return "sample.gif", []byte("GIF89a\x01\x00\x01\x00\x00\x00\x00;")
		case "image/jpeg":
			return "sample.jpg", []byte("\xff\xd8\xff\xe0\x00\x10JFIF\x00")
		case "application/pdf":
			return "sample.pdf", []byte("%PDF-1.4\n%%EOF\n")
		}
	}
	return "sample.txt", []byte("sample\n")
}
