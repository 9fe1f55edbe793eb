package openapi

import (
	"reflect"
	"slices"

	"github.com/labstack/echo/v4"
)

// operation is one registered typed route.
type operation struct {
	method, path string
	id           string
	summary      string
	description  string
	responseDoc  string
	tags         []string
	status       int
	errors       []int
	security     []securityRequirement
	optional     []securityRequirement
	middleware   []echo.MiddlewareFunc
	deprecated   bool
	hidden       bool
	headers      []Parameter // HeaderParameter: headers read by middleware

	in, out reflect.Type
	binder  *binder
	noBody  bool
	upload  *UploadPolicy // Upload: the route's File fields' policy
}

type securityRequirement struct {
	scheme string
	scopes []string
}

// Option configures a typed route, or every route of a group ([API.Group]).
type Option func(*operation)

// Summary sets the operation's one-line summary.
func Summary(s string) Option { return func(op *operation) { op.summary = s } }

// Description sets the operation's description (CommonMark).
func Description(s string) Option { return func(op *operation) { op.description = s } }

// ResponseDescription describes the success response; default the status
// text ("OK", "Created").
func ResponseDescription(s string) Option { return func(op *operation) { op.responseDoc = s } }

// Tags adds tags that group the operation in the docs.
func Tags(tags ...string) Option {
	return func(op *operation) { op.tags = append(slices.Clone(op.tags), tags...) }
}

// OperationID sets the operation id; the default is derived from the
// method and path ("getPostsById" for GET /posts/{id}).
func OperationID(id string) Option { return func(op *operation) { op.id = id } }

// Status sets the success status (2xx), e.g. 201 for a route that creates.
func Status(code int) Option { return func(op *operation) { op.status = code } }

// Errors documents error statuses the handler returns besides those
// implied by the route (e.g. 404, 409); each is documented with the error
// envelope as its schema.
func Errors(codes ...int) Option {
	return func(op *operation) { op.errors = append(slices.Clone(op.errors), codes...) }
}

// Deprecated marks the operation deprecated in the document.
func Deprecated() Option { return func(op *operation) { op.deprecated = true } }

// Hidden leaves the route out of the document; it is still served.
func Hidden() Option { return func(op *operation) { op.hidden = true } }

// Middleware adds echo middleware to the route, after any added before it
// (a group's options come first). It is not documented.
func Middleware(m ...echo.MiddlewareFunc) Option {
	return func(op *operation) { op.middleware = append(slices.Clone(op.middleware), m...) }
}

// HeaderParameter documents a request header that middleware on the
// route reads, rather than the input (e.g. Idempotency-Key): p with In
// set to "header" (a nil Schema documents a string), and a 400 response
// for a bad value. It installs nothing, and an input field bound to the
// same header is documented instead.
func HeaderParameter(p Parameter) Option {
	p.In = inHeader
	if p.Schema == nil {
		p.Schema = &Schema{Type: "string"}
	}
	return func(op *operation) { op.headers = append(slices.Clone(op.headers), p) }
}

// Guard is an authorization requirement that both protects a route and
// documents how: Middleware enforces it (answering 401 or 403), Security
// names the scheme ("bearer", or one from [Config.SecuritySchemes]) and
// the scopes it requires. auth.Guard implements it.
type Guard interface {
	Middleware() echo.MiddlewareFunc
	Security() (scheme string, scopes []string)
}

// Secure installs each guard's middleware on the route (in order, after
// the middleware added before it) and documents its security requirement:
// security: [{bearer: [scopes]}], with 401 and 403 responses. Several
// guards are all required; their scopes are merged per scheme.
func Secure(guards ...Guard) Option {
	return func(op *operation) {
		op.middleware = slices.Clone(op.middleware)
		op.security = slices.Clone(op.security)
		for _, g := range guards {
			scheme, scopes := g.Security()
			if scheme == "" {
				scheme = "bearer"
			}
			op.middleware = append(op.middleware, g.Middleware())
			op.security = append(op.security, securityRequirement{scheme: scheme, scopes: slices.Clone(scopes)})
		}
	}
}

// Security documents a security requirement for a route protected some
// other way (group middleware, a proxy): the named scheme with scopes. It
// installs nothing.
func Security(scheme string, scopes ...string) Option {
	return func(op *operation) {
		op.security = append(slices.Clone(op.security), securityRequirement{scheme: scheme, scopes: slices.Clone(scopes)})
	}
}

// OptionalSecurity documents that the route reads a credential of the
// named scheme when one is sent, without requiring it (the answer may
// depend on who asks), and answers 401 when the credential sent is bad
// (malformed, expired, revoked, alg=none): security: [{}, {scheme:
// scopes}] and a 401 response. It installs nothing: use it where an
// authentication middleware that skips requests without credentials runs
// in front of the route, e.g. on an API's group. A route that also has
// [Secure] or [Security] documents those instead: a credential is then
// required.
func OptionalSecurity(scheme string, scopes ...string) Option {
	return func(op *operation) {
		op.optional = append(slices.Clone(op.optional), securityRequirement{scheme: scheme, scopes: slices.Clone(scopes)})
	}
}
