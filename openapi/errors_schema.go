package openapi

import (
	"reflect"

	"github.com/gantry-dev/gantry/apierror"
	"github.com/gantry-dev/gantry/server"
)

// detailShapes are the shapes an error envelope's "details" takes, one per
// error type (see package apierror), each a component of the document.
var detailShapes = []struct {
	typ         reflect.Type
	name, items string
}{
	{reflect.TypeFor[apierror.FieldError](), "FieldError",
		"One invalid field or parameter of a request that failed binding or validation: " +
			`types "validation_error" (422) and "invalid_parameter" (400) from request binding, and a path parameter's 404.`},
	{reflect.TypeFor[apierror.Problem](), "Problem",
		"One refused field of a list query, update or stored value: " +
			`types "invalid_query" (400), "invalid_patch" and "invalid_value" (422).`},
	{reflect.TypeFor[apierror.MissingPermission](), "MissingPermission",
		"One scope or role the caller lacks (or \"superuser\"): " +
			`types "insufficient_scope" and "forbidden" (403).`},
}

// errorSchemas adds the error envelope the server writes (server.Envelope)
// as the component "ErrorEnvelope", and each shape of its details as a
// component of its own, and returns the envelope's $ref. The envelope's
// "details" is absent, or an array of exactly one of those shapes.
func errorSchemas(g *schemaGen) string {
	g.name(reflect.TypeFor[server.Envelope](), "ErrorEnvelope")
	g.name(reflect.TypeFor[server.ErrorBody](), "ErrorBody")
	ref := g.schemaOf(reflect.TypeFor[server.Envelope]()).Ref
	var shapes []*Schema
	for _, d := range detailShapes {
		g.name(d.typ, d.name)
		item := g.schemaOf(d.typ)
		if c := g.schemas[item.Ref[len("#/components/schemas/"):]]; c != nil {
			c.Description = d.items
		}
		shapes = append(shapes, &Schema{Type: "array", Items: item})
	}
	if body := g.schemas["ErrorBody"]; body != nil {
		if ts := body.Properties["timestamp"]; ts != nil && ts.Type == "string" {
			ts.Format = "date-time"
		}
		if d := body.Properties["details"]; d != nil {
			*d = Schema{
				Description: "What went wrong in detail, when the error has details: an array of one shape, " +
					"FieldError, Problem or MissingPermission, chosen by the error (see each shape for the types that carry it).",
				AnyOf: shapes,
			}
		}
	}
	return ref
}
