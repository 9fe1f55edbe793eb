package openapitest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pb33f/jsonschema/v6"
	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	"github.com/pb33f/libopenapi-validator/config"
	liberrors "github.com/pb33f/libopenapi-validator/errors"
	"github.com/pb33f/libopenapi-validator/schema_validation"
	"github.com/pb33f/libopenapi/datamodel"
)

// DocumentErrors validates doc as an OpenAPI 3.1 document (against the
// specification's JSON Schema, with every schema in it compiled) and
// returns one line per problem; none means valid.
func DocumentErrors(doc []byte) []string {
	d, err := parse(doc)
	if err != nil {
		return []string{"parse: " + err.Error()}
	}
	if v := d.GetVersion(); !strings.HasPrefix(v, "3.1") {
		return []string{fmt.Sprintf("openapi version %q, want 3.1.x", v)}
	}
	var out []string
	if ok, errs := schema_validation.ValidateOpenAPIDocument(d); !ok {
		out = append(out, describe(errs)...)
	}
	if _, errs := d.BuildV3Model(); errs != nil {
		out = append(out, "build model: "+errs.Error())
	}
	return append(out, schemaErrors(doc)...)
}

// schemaErrors compiles every schema of doc (components and those of each
// operation's parameters, request body and responses) against the JSON
// Schema 2020-12 meta-schema, the dialect of OpenAPI 3.1: the
// specification's own schema accepts any object as a schema.
func schemaErrors(doc []byte) []string {
	var root map[string]any
	if err := json.Unmarshal(doc, &root); err != nil {
		return []string{"parse: " + err.Error()}
	}
	const base = "mem:///openapi.json"
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	if err := c.AddResource(base, root); err != nil {
		return []string{"schemas: " + err.Error()}
	}
	var locs []string
	obj := func(v any) map[string]any { m, _ := v.(map[string]any); return m }
	content := func(ptr string, v any) {
		for mt := range obj(obj(v)["content"]) {
			locs = append(locs, ptr+"/content/"+escape(mt)+"/schema")
		}
	}
	params := func(ptr string, v any) {
		list, _ := v.([]any)
		for i := range list {
			if _, ok := obj(list[i])["schema"]; ok {
				locs = append(locs, fmt.Sprintf("%s/parameters/%d/schema", ptr, i))
			}
		}
	}
	for name := range obj(obj(root["components"])["schemas"]) {
		locs = append(locs, "/components/schemas/"+escape(name))
	}
	for path, item := range obj(root["paths"]) {
		pp := "/paths/" + escape(path)
		params(pp, obj(item)["parameters"])
		for method, op := range obj(item) {
			if method == "parameters" || obj(op) == nil {
				continue
			}
			op := obj(op)
			mp := pp + "/" + escape(method)
			params(mp, op["parameters"])
			if rb := obj(op["requestBody"]); rb != nil {
				content(mp+"/requestBody", rb)
			}
			for code, resp := range obj(op["responses"]) {
				content(mp+"/responses/"+escape(code), resp)
			}
		}
	}
	slices.Sort(locs)
	var out []string
	for _, loc := range locs {
		if _, err := c.Compile(base + "#" + loc); err != nil {
			out = append(out, fmt.Sprintf("schema %s: %v", loc, err))
		}
	}
	return out
}

// escape makes s one JSON Pointer token inside a URL fragment.
func escape(s string) string {
	s = strings.NewReplacer("~", "~0", "/", "~1").Replace(s)
	return url.PathEscape(s)
}

// quiet silences the libraries' own logging; problems come back as errors.
func quiet() *slog.Logger { return slog.New(slog.DiscardHandler) }

func parse(doc []byte) (libopenapi.Document, error) {
	cfg := datamodel.NewDocumentConfiguration()
	cfg.Logger = quiet()
	return libopenapi.NewDocumentWithConfiguration(doc, cfg)
}

// ValidateDocument fails tb unless doc is a valid OpenAPI 3.1 document.
func ValidateDocument(tb testing.TB, doc []byte) {
	tb.Helper()
	for _, e := range DocumentErrors(doc) {
		tb.Errorf("openapitest: invalid document: %s", e)
	}
}

// Fetch GETs url (a document such as http://127.0.0.1:PORT/api/v1/openapi.json)
// and returns its body; it fails tb unless the answer is a 200.
func Fetch(tb testing.TB, url string) []byte {
	tb.Helper()
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Get(url)
	if err != nil {
		tb.Fatalf("openapitest: GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatalf("openapitest: GET %s: read: %v", url, err)
	}
	if resp.StatusCode != http.StatusOK {
		tb.Fatalf("openapitest: GET %s = %d; want 200: %s", url, resp.StatusCode, b)
	}
	return b
}

// Checker checks requests and responses against one document. It is safe
// for concurrent use. Build it with [New].
type Checker struct {
	tb  testing.TB
	mu  sync.Mutex
	v   validator.Validator
	ops []*docOp
}

type docOp struct {
	method, path string
	re           *regexp.Regexp
	seen         bool
}

var paramRE = regexp.MustCompile(`\\\{[^}/]+\\\}`)

// New returns a Checker for doc. It fails tb at once if doc is not a
// valid OpenAPI 3.1 document.
func New(tb testing.TB, doc []byte) *Checker {
	tb.Helper()
	if errs := DocumentErrors(doc); len(errs) > 0 {
		tb.Fatalf("openapitest: invalid document:\n\t%s", strings.Join(errs, "\n\t"))
	}
	d, err := parse(doc)
	if err != nil {
		tb.Fatalf("openapitest: parse document: %v", err)
	}
	v, errs := validator.NewValidator(d, config.WithFormatAssertions(), config.WithLogger(quiet()))
	if len(errs) > 0 {
		tb.Fatalf("openapitest: build validator: %v", errs)
	}
	m, berr := d.BuildV3Model()
	if berr != nil {
		tb.Fatalf("openapitest: build model: %v", berr)
	}
	c := &Checker{tb: tb, v: v}
	for path, item := range m.Model.Paths.PathItems.FromOldest() {
		re := regexp.MustCompile("^" + paramRE.ReplaceAllString(regexp.QuoteMeta(path), `[^/]+`) + "$")
		for method := range item.GetOperations().KeysFromOldest() {
			c.ops = append(c.ops, &docOp{method: strings.ToUpper(method), path: path, re: re})
		}
	}
	slices.SortFunc(c.ops, func(a, b *docOp) int { return strings.Compare(a.path+" "+a.method, b.path+" "+b.method) })
	return c
}

// Operations lists the document's operations as "METHOD /path/{param}".
func (c *Checker) Operations() []string {
	out := make([]string, 0, len(c.ops))
	for _, op := range c.ops {
		out = append(out, op.method+" "+op.path)
	}
	return out
}

// RequestErrors returns what makes req break the document (unknown path
// or method, a parameter or body that does not match its schema, missing
// credentials); none means req is valid. req's body is read and restored.
func (c *Checker) RequestErrors(req *http.Request) []string {
	if req.Body != nil && req.Body != http.NoBody {
		b, err := io.ReadAll(req.Body)
		if err != nil {
			return []string{"read request body: " + err.Error()}
		}
		req.Body.Close()
		req.Body = io.NopCloser(bytes.NewReader(b))
		defer func() { req.Body = io.NopCloser(bytes.NewReader(b)) }()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if ok, errs := c.v.ValidateHttpRequestSync(req); !ok {
		return describe(errs)
	}
	return nil
}

// ResponseErrors returns what makes resp, the answer to req, break the
// document: an undocumented status or content type, or a body that does
// not match the documented schema. resp's body is read and restored.
func (c *Checker) ResponseErrors(req *http.Request, resp *http.Response) []string {
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(b))
	if err != nil {
		return []string{"read response body: " + err.Error()}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.mark(req)
	ok, errs := c.v.ValidateHttpResponse(req, resp)
	resp.Body = io.NopCloser(bytes.NewReader(b))
	if !ok {
		return describe(errs)
	}
	return nil
}

// CheckResponse fails the test if resp, the answer to req, breaks the
// document; see [Checker.ResponseErrors].
func (c *Checker) CheckResponse(req *http.Request, resp *http.Response) {
	c.tb.Helper()
	if errs := c.ResponseErrors(req, resp); len(errs) > 0 {
		c.tb.Errorf("openapitest: %s %s -> %d breaks the document:\n\t%s",
			req.Method, req.URL.Path, resp.StatusCode, strings.Join(errs, "\n\t"))
	}
}

func (c *Checker) mark(req *http.Request) {
	for _, op := range c.ops {
		if op.method == req.Method && op.re.MatchString(req.URL.Path) {
			op.seen = true
			return
		}
	}
}

// Transport returns a RoundTripper that sends each request through next
// (http.DefaultTransport when nil) and checks its response against the
// document, failing the test on a mismatch.
func (c *Checker) Transport(next http.RoundTripper) http.RoundTripper {
	if next == nil {
		next = http.DefaultTransport
	}
	return roundTripper(func(req *http.Request) (*http.Response, error) {
		resp, err := next.RoundTrip(req)
		if err != nil {
			return nil, err
		}
		c.CheckResponse(req, resp)
		return resp, nil
	})
}

// Client returns an http.Client (10 s timeout) whose responses are
// checked against the document.
func (c *Checker) Client() *http.Client {
	return &http.Client{Transport: c.Transport(nil), Timeout: 10 * time.Second}
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// Unexercised lists the documented operations ("METHOD /path") no checked
// response has answered yet.
func (c *Checker) Unexercised() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, op := range c.ops {
		if !op.seen {
			out = append(out, op.method+" "+op.path)
		}
	}
	return out
}

// RequireExercised fails the test if some documented operation was never
// called through the Checker: a contract test that forgot a route.
func (c *Checker) RequireExercised() {
	c.tb.Helper()
	if missing := c.Unexercised(); len(missing) > 0 {
		c.tb.Errorf("openapitest: documented operations never exercised:\n\t%s", strings.Join(missing, "\n\t"))
	}
}

// Call is one request of [ValidateResponses].
type Call struct {
	Method string      // default GET
	Path   string      // under the base URL, with the query: "/api/v1/posts?limit=2"
	Header http.Header // e.g. Authorization
	Body   string      // sent as application/json when not empty
	Status int         // the status wanted; 0 accepts any
}

// ValidateResponses sends each call to baseURL with a client whose
// responses are checked against doc, and fails the test on a response
// that breaks the document or a status other than the one wanted. It
// returns the Checker, for [Checker.RequireExercised].
func ValidateResponses(tb testing.TB, doc []byte, baseURL string, calls ...Call) *Checker {
	tb.Helper()
	c := New(tb, doc)
	client := c.Client()
	for _, call := range calls {
		method := call.Method
		if method == "" {
			method = http.MethodGet
		}
		var body io.Reader
		if call.Body != "" {
			body = strings.NewReader(call.Body)
		}
		req, err := http.NewRequestWithContext(tb.Context(), method, baseURL+call.Path, body)
		if err != nil {
			tb.Fatalf("openapitest: %s %s: %v", method, call.Path, err)
		}
		for k, vs := range call.Header {
			req.Header[k] = vs
		}
		if call.Body != "" && req.Header.Get("Content-Type") == "" {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := client.Do(req)
		if err != nil {
			tb.Errorf("openapitest: %s %s: %v", method, call.Path, err)
			continue
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if call.Status != 0 && resp.StatusCode != call.Status {
			tb.Errorf("openapitest: %s %s = %d; want %d: %s", method, call.Path, resp.StatusCode, call.Status, b)
		}
	}
	return c
}

func describe(errs []*liberrors.ValidationError) []string {
	var out []string
	for _, e := range errs {
		line := e.Message
		if e.Reason != "" && e.Reason != e.Message {
			line += ": " + e.Reason
		}
		for _, f := range e.SchemaValidationErrors {
			loc := f.FieldPath
			if loc == "" {
				loc = f.KeywordLocation
			}
			line += fmt.Sprintf(" [%s: %s]", loc, f.Reason)
		}
		out = append(out, line)
	}
	return out
}
