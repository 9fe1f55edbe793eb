package openapi

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/go-playground/validator/v10"
	"github.com/labstack/echo/v4"
)

// Version is the OpenAPI version of the documents this package writes.
const Version = "3.1.0"

// Config describes the document of one [API]. The zero value is valid.
type Config struct {
	// Title is the API's name in the document. Default "API".
	Title string
	// Version is the API's version (not OpenAPI's). Default "1.0.0".
	Version string
	// Description is the document's description (CommonMark).
	Description string
	// Servers lists base URLs for "Try it out". Paths in the document are
	// absolute (they include the prefix), so the default, none, means the
	// host serving the document.
	Servers []Server
	// Tags describes the tags operations use; tags not listed here still
	// appear on their operations.
	Tags []Tag
	// Errors are error statuses documented on every operation besides
	// the ones each route implies (400 and 422 for input, 413 and 415 for a
	// body, 401 and 403 when secured, 431 and 500 always), e.g. 429 when a rate
	// limiter runs in front of every route.
	Errors []int
	// SecuritySchemes are the schemes guards and [Security] may name, by
	// name; "bearer" (HTTP bearer, JWT) is always defined unless replaced
	// here.
	SecuritySchemes map[string]*SecurityScheme
	// Validator checks path, query and header parameters against their
	// validate tags; pass the validator that knows your custom rules.
	// Default a new go-playground validator. (Bodies are validated by the
	// echo instance's Validator, through server.Bind.) Failures are
	// reported with server.ValidationError, so their messages are the
	// binding helper's.
	Validator *validator.Validate
}

// API records typed routes registered under one path prefix (one API
// version) and builds their OpenAPI 3.1 document. Create it with [New];
// register routes with [Get], [Post], [Put], [Patch], [Delete] or
// [Register]; share its document through [DocsConfig.Mount].
//
// Register routes at start-up, before serving (echo's router is not safe
// for concurrent registration); Document, JSON and the routes themselves
// are safe for concurrent use.
type API struct {
	spec  *spec
	group *echo.Group
	base  string // path under the prefix where this group starts
	opts  []Option
}

// spec is what an API and its sub-groups share.
type spec struct {
	cfg      Config
	prefix   string
	validate *validator.Validate

	mu      sync.Mutex
	ops     []*operation
	ids     map[string]string // operationId -> "METHOD path"
	docJSON []byte            // cached document, reset on registration
}

// New returns an API whose routes live under prefix (e.g. "/api/v1", or ""
// for the root) on e, and whose document [DocsConfig.Mount] serves at
// prefix + "/openapi.json". Plain echo handlers keep working beside typed
// routes: register them on [API.Echo] or on any group of e.
//
// Typed routes bind their bodies with server.Bind, so e must have a
// Validator: use the echo instance of a server.Server.
func New(e *echo.Echo, prefix string, cfg Config) (*API, error) {
	if prefix != "" && (!strings.HasPrefix(prefix, "/") || strings.HasSuffix(prefix, "/")) {
		return nil, fmt.Errorf("%w: prefix %q must start and must not end with /", ErrInvalidConfig, prefix)
	}
	if cfg.Title == "" {
		cfg.Title = "API"
	}
	if cfg.Version == "" {
		cfg.Version = "1.0.0"
	}
	for _, st := range cfg.Errors {
		if st < 400 || st > 599 {
			return nil, fmt.Errorf("%w: error status %d is not 4xx or 5xx", ErrInvalidConfig, st)
		}
	}
	schemes := map[string]*SecurityScheme{"bearer": {Type: "http", Scheme: "bearer", BearerFormat: "JWT"}}
	for name, s := range cfg.SecuritySchemes {
		if s == nil {
			return nil, fmt.Errorf("%w: security scheme %q is nil", ErrInvalidConfig, name)
		}
		schemes[name] = s
	}
	cfg.SecuritySchemes = schemes
	v := cfg.Validator
	if v == nil {
		v = validator.New(validator.WithRequiredStructEnabled())
	}
	return &API{
		spec:  &spec{cfg: cfg, prefix: prefix, validate: v, ids: map[string]string{}},
		group: e.Group(prefix),
	}, nil
}

// ErrInvalidConfig is returned by [New] and [DocsConfig.Mount] for a
// configuration they cannot use.
var ErrInvalidConfig = errors.New("openapi: invalid config")

// Prefix returns the path prefix the API was created with.
func (a *API) Prefix() string { return a.spec.prefix }

// DocumentPath returns where [DocsConfig.Mount] serves the document:
// prefix + "/openapi.json".
func (a *API) DocumentPath() string { return a.spec.prefix + "/openapi.json" }

// Title returns the document's title.
func (a *API) Title() string { return a.spec.cfg.Title }

// Echo returns the echo group of this API (or sub-group), for plain echo
// handlers and middleware. Routes added to it directly are not documented.
func (a *API) Echo() *echo.Group { return a.group }

// Group returns a sub-group under prefix (relative to this group) that
// shares the API's document. Its options apply to every route registered
// on it before the route's own: e.g. Group("/admin", Secure(admin),
// Tags("admin")).
func (a *API) Group(prefix string, opts ...Option) *API {
	return &API{
		spec:  a.spec,
		group: a.group.Group(prefix),
		base:  a.base + prefix,
		opts:  append(slices.Clone(a.opts), opts...),
	}
}

// Handler is a typed route handler: it receives the request's context
// (with the echo.Context reachable through [EchoContext]) and the bound,
// validated input, and returns the output sent as JSON or an error the
// server renders as its error envelope. In is a struct whose fields are
// tagged `path:"name"`, `query:"name"` or `header:"Name"`, plus an
// optional Body field holding the JSON body (a pointer when the body is
// optional). Use [Empty] for a route without input, or as Out for one that
// answers 204 No Content.
type Handler[In, Out any] func(ctx context.Context, in *In) (*Out, error)

// Empty is the input of a route that reads nothing from the request, and
// the output of a route that answers 204 No Content (its handler may
// return nil).
type Empty struct{}

var emptyType = reflect.TypeFor[Empty]()

type echoContextKey struct{}

// EchoContext returns the echo.Context of the request a typed handler is
// serving, for headers, cookies and anything else the input and output
// structs do not cover; nil outside a typed handler.
func EchoContext(ctx context.Context) echo.Context {
	c, _ := ctx.Value(echoContextKey{}).(echo.Context)
	return c
}

// Get registers a typed GET route; see [Register].
func Get[In, Out any](a *API, path string, h Handler[In, Out], opts ...Option) {
	Register(a, http.MethodGet, path, h, opts...)
}

// Post registers a typed POST route; see [Register]. Add Status(201) for
// a route that creates.
func Post[In, Out any](a *API, path string, h Handler[In, Out], opts ...Option) {
	Register(a, http.MethodPost, path, h, opts...)
}

// Put registers a typed PUT route; see [Register].
func Put[In, Out any](a *API, path string, h Handler[In, Out], opts ...Option) {
	Register(a, http.MethodPut, path, h, opts...)
}

// Patch registers a typed PATCH route; see [Register].
func Patch[In, Out any](a *API, path string, h Handler[In, Out], opts ...Option) {
	Register(a, http.MethodPatch, path, h, opts...)
}

// Delete registers a typed DELETE route; see [Register].
func Delete[In, Out any](a *API, path string, h Handler[In, Out], opts ...Option) {
	Register(a, http.MethodDelete, path, h, opts...)
}

// Register adds a typed route for method and path (relative to the
// group; "/posts/{id}", or echo's "/posts/:id") and records it in the
// API's document. The route binds In from the request (see [Handler]),
// answering 404 for a path parameter that does not parse or is not
// written canonically, 400 for a query or header parameter that does not
// parse and 422 for values that break their validate rules, calls h, and writes *Out as JSON with
// the route's status: 200 by default, 204 when Out is [Empty], or the one
// [Status] sets.
//
// Register panics, as http.ServeMux.Handle does, on a mistake in the
// registration itself: In is not a struct or has a field it cannot bind,
// a path parameter without a matching `path` field (or the reverse), a
// duplicate operation id or method and path, or an undefined security
// scheme. Such mistakes surface at start-up, never on a request.
func Register[In, Out any](a *API, method, path string, h Handler[In, Out], opts ...Option) {
	op := &operation{method: strings.ToUpper(method)}
	for _, o := range a.opts {
		o(op)
	}
	for _, o := range opts {
		o(op)
	}
	inT, outT := reflect.TypeFor[In](), reflect.TypeFor[Out]()
	where := op.method + " " + a.spec.prefix + a.base + path
	fail := func(format string, args ...any) {
		panic(fmt.Sprintf("openapi: %s: %s", where, fmt.Sprintf(format, args...)))
	}
	b, err := newBinder(inT, a.spec.validate)
	if err != nil {
		fail("%v", err)
	}
	echoPath, names := echoPath(path)
	var pathParams []string
	for _, p := range b.params {
		if p.in == inPath {
			pathParams = append(pathParams, p.name)
		}
	}
	if !sameSet(names, pathParams) {
		fail("path parameters %v do not match the input's path fields %v", names, pathParams)
	}
	op.in, op.out, op.binder = inT, outT, b
	if b.form, err = newFormBinder(b.bodyTyp, op.upload); err != nil {
		fail("%v", err)
	}
	if b.form != nil {
		b.presence = nil // a multipart body is checked part by part (multipart.go)
	}
	switch {
	case op.status == 0 && outT == emptyType:
		op.status = http.StatusNoContent
	case op.status == 0:
		op.status = http.StatusOK
	case op.status < 200 || op.status > 299:
		fail("status %d is not 2xx", op.status)
	}
	op.noBody = outT == emptyType || op.status == http.StatusNoContent || op.status == http.StatusResetContent
	for _, r := range append(slices.Clone(op.security), op.optional...) {
		if _, ok := a.spec.cfg.SecuritySchemes[r.scheme]; !ok {
			fail("undefined security scheme %q (add it to Config.SecuritySchemes)", r.scheme)
		}
	}
	op.path = openAPIPath(a.spec.prefix + a.base + echoPath) // as echo's group joins them
	if op.path == "" {
		op.path = "/"
	}
	if op.id == "" {
		op.id = operationID(op.method, strings.TrimPrefix(op.path, a.spec.prefix))
	}
	if err := a.spec.add(op); err != nil {
		fail("%v", err)
	}
	a.group.Add(op.method, echoPath, op.handler(func(ctx context.Context, in any) (any, error) {
		out, err := h(ctx, in.(*In))
		if out == nil {
			return nil, err
		}
		return out, err
	}), op.middleware...)
}

func (s *spec) add(op *operation) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := op.method + " " + op.path
	for _, o := range s.ops {
		if o.method+" "+o.path == key {
			return fmt.Errorf("route registered twice")
		}
	}
	if other, ok := s.ids[op.id]; ok {
		return fmt.Errorf("operation id %q already used by %s", op.id, other)
	}
	s.ids[op.id] = key
	s.ops = append(s.ops, op)
	s.docJSON = nil
	return nil
}

// handler adapts a type-erased typed handler to echo.
func (op *operation) handler(h func(context.Context, any) (any, error)) echo.HandlerFunc {
	b := op.binder
	inT := op.in
	status, noBody := op.status, op.noBody
	return func(c echo.Context) error {
		in := reflect.New(inT)
		if inT != emptyType {
			if err := b.bind(c, in); err != nil {
				return err
			}
		}
		ctx := context.WithValue(c.Request().Context(), echoContextKey{}, c)
		out, err := h(ctx, in.Interface())
		if err != nil {
			return err
		}
		if noBody {
			return c.NoContent(status)
		}
		if out == nil {
			return fmt.Errorf("openapi: %s %s: handler returned neither output nor error", op.method, op.path)
		}
		if d, ok := out.(*Download); ok {
			return d.respond(c, status)
		}
		if s, ok := out.(*EventStream); ok && s.Serve != nil {
			return s.Serve(c)
		}
		return c.JSON(status, out)
	}
}

// echoPath turns "/posts/{id}" (or "/posts/:id") into echo's
// "/posts/:id" and lists the parameter names.
func echoPath(p string) (string, []string) {
	segs := strings.Split(p, "/")
	var names []string
	for i, s := range segs {
		switch {
		case strings.HasPrefix(s, "{") && strings.HasSuffix(s, "}"):
			segs[i] = ":" + s[1:len(s)-1]
			names = append(names, s[1:len(s)-1])
		case strings.HasPrefix(s, ":"):
			names = append(names, s[1:])
		}
	}
	return strings.Join(segs, "/"), names
}

// openAPIPath turns echo's "/posts/:id" into "/posts/{id}".
func openAPIPath(p string) string {
	segs := strings.Split(p, "/")
	for i, s := range segs {
		if strings.HasPrefix(s, ":") {
			segs[i] = "{" + s[1:] + "}"
		}
	}
	return strings.Join(segs, "/")
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// operationID derives an id from the method and the path under the
// prefix: GET /posts/{id}/comments is "getPostsByIdComments".
func operationID(method, path string) string {
	var b strings.Builder
	b.WriteString(strings.ToLower(method))
	for _, seg := range strings.Split(path, "/") {
		if strings.HasPrefix(seg, "{") {
			b.WriteString("By")
			seg = strings.Trim(seg, "{}")
		}
		for _, w := range strings.FieldsFunc(seg, func(r rune) bool { return r == '-' || r == '_' || r == '.' || r == ' ' }) {
			b.WriteString(strings.ToUpper(w[:1]) + w[1:])
		}
	}
	return b.String()
}

// Document builds the API's OpenAPI 3.1 document from the routes
// registered so far. Each call builds a new document, which the caller
// may modify.
func (a *API) Document() *Document {
	s := a.spec
	s.mu.Lock()
	ops := slices.Clone(s.ops)
	s.mu.Unlock()
	return s.build(ops)
}

// JSON returns the document as JSON, built once and cached until another
// route is registered.
func (a *API) JSON() ([]byte, error) {
	s := a.spec
	s.mu.Lock()
	cached, ops := s.docJSON, slices.Clone(s.ops)
	s.mu.Unlock()
	if cached != nil {
		return cached, nil
	}
	b, err := json.Marshal(s.build(ops))
	if err != nil {
		return nil, fmt.Errorf("openapi: marshal document: %w", err)
	}
	s.mu.Lock()
	if len(s.ops) == len(ops) {
		s.docJSON = b
	}
	s.mu.Unlock()
	return b, nil
}

func (s *spec) build(ops []*operation) *Document {
	g := newSchemaGen()
	envelope := errorSchemas(g)
	doc := &Document{
		OpenAPI: Version,
		Info:    Info{Title: s.cfg.Title, Version: s.cfg.Version, Description: s.cfg.Description},
		Servers: s.cfg.Servers,
		Tags:    s.cfg.Tags,
		Paths:   map[string]PathItem{},
	}
	usedSchemes := map[string]*SecurityScheme{}
	for _, op := range ops {
		if op.hidden {
			continue
		}
		o := &Operation{
			OperationID: op.id,
			Summary:     op.summary,
			Description: op.description,
			Tags:        op.tags,
			Deprecated:  op.deprecated,
			Responses:   map[string]*Response{},
		}
		b := op.binder
		for _, p := range b.params {
			ps, required := g.fieldSchema(p.typ, p.tag, true, false)
			param := &Parameter{Name: p.name, In: p.in, Required: required || p.in == inPath, Schema: ps}
			param.Description, ps.Description = ps.Description, ""
			o.Parameters = append(o.Parameters, param)
		}
		if b.query != nil {
			o.Parameters = append(o.Parameters, b.query.params()...)
		}
		errs := slices.Clone(s.cfg.Errors)
		errs = append(errs, op.errors...)
		for _, h := range op.headers {
			if slices.ContainsFunc(o.Parameters, func(p *Parameter) bool { return p.In == inHeader && strings.EqualFold(p.Name, h.Name) }) {
				continue
			}
			o.Parameters = append(o.Parameters, &h)
			errs = append(errs, http.StatusBadRequest)
		}
		// 431 is the server's for a request head beyond its limit, 500 for
		// anything that goes wrong; any route can answer either.
		errs = append(errs, http.StatusRequestHeaderFieldsTooLarge, http.StatusInternalServerError)
		if len(b.params) > 0 || b.body != nil || b.query != nil {
			errs = append(errs, http.StatusBadRequest, http.StatusUnprocessableEntity)
		}
		if slices.ContainsFunc(b.params, func(p param) bool { return p.in == inPath }) {
			errs = append(errs, http.StatusNotFound)
		}
		if b.body != nil {
			o.RequestBody = &RequestBody{
				Required: !b.bodyOpt,
				Content:  b.bodyContent(g),
			}
			errs = append(errs, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType)
		}
		switch {
		case len(op.security) > 0:
			o.Security = []map[string][]string{requirement(op.security, s.cfg.SecuritySchemes, usedSchemes)}
			errs = append(errs, http.StatusUnauthorized, http.StatusForbidden)
		case len(op.optional) > 0:
			// {} first: no credential at all is fine too.
			o.Security = []map[string][]string{{}, requirement(op.optional, s.cfg.SecuritySchemes, usedSchemes)}
			errs = append(errs, http.StatusUnauthorized)
		}
		resp := &Response{Description: cmp.Or(op.responseDoc, http.StatusText(op.status))}
		if !op.noBody {
			resp.Content = responseContent(g, op.out)
		}
		o.Responses[strconv.Itoa(op.status)] = resp
		slices.Sort(errs)
		for _, st := range slices.Compact(errs) {
			o.Responses[strconv.Itoa(st)] = &Response{
				Description: http.StatusText(st),
				Content:     map[string]MediaType{echo.MIMEApplicationJSON: {Schema: &Schema{Ref: envelope}}},
			}
		}
		item := doc.Paths[op.path]
		if item == nil {
			item = PathItem{}
			doc.Paths[op.path] = item
		}
		item[strings.ToLower(op.method)] = o
	}
	doc.Components = &Components{Schemas: g.schemas}
	if len(usedSchemes) > 0 {
		doc.Components.SecuritySchemes = usedSchemes
	}
	return doc
}

// requirement merges security requirements per scheme (scopes sorted and
// deduplicated) and records the schemes used.
func requirement(reqs []securityRequirement, schemes, used map[string]*SecurityScheme) map[string][]string {
	req := map[string][]string{}
	for _, r := range reqs {
		req[r.scheme] = append(req[r.scheme], r.scopes...)
		used[r.scheme] = schemes[r.scheme]
	}
	for k, v := range req {
		slices.Sort(v)
		req[k] = slices.Compact(v)
		if req[k] == nil {
			req[k] = []string{}
		}
	}
	return req
}
