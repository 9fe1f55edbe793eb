// Package openapi registers typed routes on echo and documents them as
// OpenAPI 3.1, from the same Go types, so the document cannot drift from
// the code: FastAPI's /docs for Gantry.
//
// # Typed routes
//
// A [Handler] takes a context and an input struct and returns an output
// struct or an error:
//
//	type GetPost struct {
//		ID int64 `path:"id" validate:"min=1" doc:"Post id"`
//	}
//	type ListPosts struct {
//		Limit  int      `query:"limit" default:"20" validate:"min=1,max=100"`
//		Status string   `query:"status" validate:"omitempty,oneof=draft published"`
//		Tags   []string `query:"tag"`
//	}
//	type CreatePost struct {
//		Key  string `header:"Idempotency-Key"`
//		Body PostInput // the JSON body; *PostInput when optional
//	}
//
//	api, err := openapi.New(s.Echo(), "/api/v1", openapi.Config{Title: "Blog", Version: "1.0.0"})
//	openapi.Get(api, "/posts/{id}", getPost, openapi.Summary("Get a post"), openapi.Tags("posts"),
//		openapi.Errors(http.StatusNotFound))
//	openapi.Post(api, "/posts", createPost, openapi.Status(http.StatusCreated),
//		openapi.Secure(auth.RequireScopes("posts:write")))
//
// The route parses path, query and header parameters (400 with type
// "invalid_parameter" naming each query or header parameter that does not
// parse: `query parameter "limit" must be an integer`; 404 for a path
// parameter that does not, since it names no resource), validates them with their
// go-playground/validator tags, binds the body with server.Bind (so 415,
// 400, 413 and the field messages of 422 are exactly the binding helper's)
// and answers one 422 listing every invalid parameter and body field. The
// body is held to what its schema says where encoding/json is lenient: a
// required property must be present (rule "required"), null is refused
// where the schema does not allow it (rule "not_null"), in nested objects
// too, and a body without a Content-Type answers 415, since the document
// names application/json as its only type. The
// handler's *Out is written as JSON with status 200, the one [Status]
// sets, or 204 when Out is [Empty]. Errors render as the server's
// envelope. [EchoContext] reaches the echo.Context for headers and
// cookies. Plain echo handlers keep working beside typed ones, on
// [API.Echo] or any group.
//
// # Lists: filters, sort and pages
//
// A [Query] field binds the whole query string of a list route to a
// crud.Query, under the allow-list (crud.QuerySpec) its type parameter
// names, and documents every parameter that allow-list accepts, with its
// type, enum and bounds:
//
//	type postsSpec struct{}
//
//	func (postsSpec) QuerySpec() crud.QuerySpec {
//		return crud.QuerySpec{Filters: map[string]crud.FilterSpec{
//			"author_id": {Type: crud.Int, Ops: []crud.Op{crud.Eq, crud.In}},
//		}, Sort: []string{"created_at"}}
//	}
//
//	type ListPosts struct {
//		openapi.Query[postsSpec] // author_id, author_id[in], sort, limit, offset, cursor, include_total
//	}
//
//	func listPosts(ctx context.Context, in *ListPosts) (*Page, error) {
//		page, err := repo.List(ctx, in.Query.Query)
//		...
//	}
//
// What crud.ParseQuery refuses answers its 400; limit and offset are
// checked like other parameters (422 out of range).
//
// # Canonical parameters
//
// Numbers are read only as written canonically, so that two texts never
// name one resource: an integer is "0" or decimal digits without a leading
// zero, with a '-' only for a signed type and a non-zero value ("+1", " 1",
// "01", "1.0", "0x1", "1e3", "-0" and out-of-range values are refused); a
// float is a number as JSON writes it (no NaN, infinities, hex or '+'). A
// path parameter must moreover read back as the server writes it: a
// boolean is true or false, a uuid.UUID lower-case with hyphens, a
// time.Time as its MarshalText. Query and header parameters that break
// these rules answer 400, path parameters 404.
//
// Mistakes in a registration (an input field the route cannot bind, path
// parameters that do not match the input, an operation id used twice) make
// [Register] panic at start-up, as http.ServeMux does, never on a request.
//
// # The document
//
// Each [API] records its routes and builds its document on demand
// ([API.Document], [API.JSON]): operation ids (derived from method and
// path unless set), summaries, tags, parameters, request bodies, the
// success response, and an error response for every status the route can
// answer — 400 and 422 for input, 404 for a path parameter, 413 and 415
// for a body, 401 and 403 when secured, 401 when a credential is optional,
// 431 (a request head beyond the server's limit) and 500 always, plus [Config.Errors] and [Errors] — each with the
// server's envelope (server.Envelope, the component ErrorEnvelope) as its
// schema. The envelope's details, when present, are an array of one of the
// shapes of package apierror, each a component: FieldError (binding and
// validation), Problem (crud's queries, patches and values) and
// MissingPermission (auth's scope and role guards).
//
// Schemas come from the Go types by reflection, following encoding/json
// (field names, omitempty, embedded structs, ",string") and the validator
// tags: required from `validate:"required"` or a non-pointer field without
// omitempty (and then minLength, minItems or minProperties 1 for
// `validate:"required"`, which refuses the empty value); formats date-time (time.Time), email, uri, uuid, ipv4, ipv6,
// hostname, date; enum from oneof; minimum/maximum/exclusive bounds from
// min, max, gte, lte, gt, lt on numbers, minLength/maxLength on strings,
// minItems/maxItems on slices; rules after dive on the items; patterns for
// alphanum, alpha, numeric, startswith, endswith. A pointer not omitted
// when nil is nullable, in the 3.1 style (type: [integer, "null"], or
// anyOf with null for a $ref). Named struct types become components
// referred to with $ref (generic ones are named after their arguments:
// Page[Post] is PagePost). A type that implements [SchemaProvider]
// describes itself, e.g. a string type with a fixed set of values. Field
// tags doc, default and example fill description, default and examples.
// A nil slice encodes as null, which the documented array refuses: return
// empty slices (the contract test in openapitest catches the mistake).
//
// # Security
//
// [Secure] takes [Guard]s — anything with Middleware() and Security() (the
// auth package's guards) — installs their middleware on the route and
// documents security: [{bearer: [scopes]}] with the bearer HTTP scheme in
// components. [Security] documents a route protected some other way;
// [OptionalSecurity] a route that reads a credential when one is sent
// (security: [{}, {bearer: []}], 401 for a bad one) without requiring it.
//
// # Versions
//
// Each API prefix gets its own document: New(e, "/api/v1", ...) is served
// at /api/v1/openapi.json and New(e, "/api/v2", ...) at
// /api/v2/openapi.json, so each version has its own operation ids and
// components and a client generator sees one version at a time. Paths in
// each document are absolute (/api/v1/posts), as FastAPI writes them.
//
// # Serving the docs
//
// [DocsConfig.Mount] serves each document, a Swagger UI page at /docs
// (with a selector across versions) and a ReDoc page at /redoc. The pages
// load pinned releases of Swagger UI and ReDoc embedded in the binary
// ([SwaggerUIVersion], [RedocVersion]), served under /docs/assets/ with
// immutable caching, so they work on a network with no way out and
// reference no other host; [DocsConfig] CDN loads the same releases from
// jsDelivr instead, and AssetsURL (or one URL per asset) points them at
// other copies. The pages run no inline script, so a Content-Security-Policy
// of script-src 'self' suits them (ReDoc also needs style-src
// 'unsafe-inline'). config.Settings.DocsConfig turns them off where
// config.Settings.DocsOn says so (production, unless DOCS_ENABLED), and
// then nothing is mounted: every docs path and asset answers 404.
//
// # Why our own reflection
//
// The schema work is ours (about 500 lines), not invopop/jsonschema,
// kin-openapi or huma: the rules that matter here are our own tags
// (path/query/header, validator rules mapped to JSON Schema keywords,
// server.Envelope as every error's schema), which a general generator
// would need as many lines of hooks to express, and huma brings its own
// binding, validation and error model, a second system beside server.Bind
// and the envelope. The document model ([Document], [Schema], ...) is a
// few plain structs. What checks the output is independent:
// package openapitest validates documents and live responses with
// pb33f/libopenapi-validator.
package openapi
