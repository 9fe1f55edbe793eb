package openapi_test

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"testing"

	"github.com/gantry-dev/gantry/openapi"
	"github.com/gantry-dev/gantry/openapi/openapitest"
)

// TestHeaderParameter: a header read by middleware is documented as a
// string header parameter with a 400 response, on a route or a whole
// group; an input field bound to the same header (any case) is
// documented instead, once.
func TestHeaderParameter(t *testing.T) {
	api := newAPI(t)
	idem := openapi.HeaderParameter(openapi.Parameter{Name: "Idempotency-Key", Description: "Retry-safe key"})
	none := func(context.Context, *openapi.Empty) (*openapi.Empty, error) { return nil, nil }
	type In struct {
		Key string `header:"idempotency-key" validate:"required"`
	}
	bound := func(context.Context, *In) (*openapi.Empty, error) { return nil, nil }
	openapi.Post(api, "/orders", none, idem)
	openapi.Post(api.Group("", openapi.HeaderParameter(openapi.Parameter{Name: "X-Required", Required: true, Schema: &openapi.Schema{Type: "string", MinLength: new(1)}})), "/grouped", none)
	openapi.Post(api, "/bound", bound, idem)
	openapi.Post(api, "/plain", none)
	for _, tt := range []struct{ path, want string }{
		{"/api/v1/orders", `[{Idempotency-Key header Retry-safe key false string}] [204 400 431 500]`},
		{"/api/v1/grouped", `[{X-Required header  true string}] [204 400 431 500]`},
		{"/api/v1/bound", `[{idempotency-key header  true string}] [204 400 422 431 500]`},
		{"/api/v1/plain", `[] [204 431 500]`},
	} {
		op := api.Document().Paths[tt.path]["post"]
		params := []string{}
		for _, p := range op.Parameters {
			params = append(params, fmt.Sprintf("{%s %s %s %v %v}", p.Name, p.In, p.Description, p.Required, p.Schema.Type))
		}
		if got := fmt.Sprintf("%v %v", params, slices.Sorted(maps.Keys(op.Responses))); got != tt.want {
			t.Errorf("POST %s: parameters, responses = %s; want %s", tt.path, got, tt.want)
		}
	}
	b, err := api.JSON()
	if err != nil {
		t.Fatal(err)
	}
	openapitest.ValidateDocument(t, b)
}
