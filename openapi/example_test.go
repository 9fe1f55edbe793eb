package openapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/gantry-dev/gantry/openapi"
	"github.com/gantry-dev/gantry/server"
)

type Item struct {
	ID    int64  `json:"id"`
	Name  string `json:"name" validate:"required,max=40"`
	Color string `json:"color,omitempty" validate:"omitempty,oneof=red green"`
}

type GetItem struct {
	ID int64 `path:"id" validate:"min=1" doc:"Item id"`
}

func Example() {
	s, err := server.New(server.Config{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		panic(err)
	}
	api, err := openapi.New(s.Echo(), "/api/v1", openapi.Config{Title: "Shop", Version: "1.0.0"})
	if err != nil {
		panic(err)
	}
	openapi.Get(api, "/items/{id}", func(ctx context.Context, in *GetItem) (*Item, error) {
		if in.ID != 1 {
			return nil, server.NewError(http.StatusNotFound, "item not found")
		}
		return &Item{ID: 1, Name: "Lamp"}, nil
	}, openapi.Summary("Get an item"), openapi.Tags("items"), openapi.Errors(http.StatusNotFound))
	// Serve /api/v1/openapi.json, /docs and /redoc (off in production).
	if err := (openapi.DocsConfig{}).Mount(s.Echo(), api); err != nil {
		panic(err)
	}

	doc := api.Document()
	op := doc.Paths["/api/v1/items/{id}"]["get"]
	fmt.Println(doc.OpenAPI, op.OperationID, op.Summary)
	for _, p := range op.Parameters {
		fmt.Printf("%s in %s, %s\n", p.Name, p.In, p.Description)
	}
	for _, code := range []string{"200", "404", "422"} {
		b, _ := json.Marshal(op.Responses[code].Content["application/json"].Schema)
		fmt.Println(code, string(b))
	}
	b, _ := json.Marshal(doc.Components.Schemas["Item"])
	fmt.Println(string(b))
	// Output:
	// 3.1.0 getItemsById Get an item
	// id in path, Item id
	// 200 {"$ref":"#/components/schemas/Item"}
	// 404 {"$ref":"#/components/schemas/ErrorEnvelope"}
	// 422 {"$ref":"#/components/schemas/ErrorEnvelope"}
	// {"type":"object","required":["id","name"],"properties":{"id":{"type":"integer","format":"int64"},"name":{"type":"string","minLength":1,"maxLength":40},"color":{"type":"string","enum":["red","green"]}}}
}
