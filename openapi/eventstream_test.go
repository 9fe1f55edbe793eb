package openapi_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/gantry-dev/gantry/openapi"
	"github.com/gantry-dev/gantry/openapi/openapitest"
	"github.com/gantry-dev/gantry/server"
)

type streamIn struct {
	ID int `path:"id"`
}

// TestEventStream: a typed route returning an EventStream streams with
// Serve after its checks pass, answers an error before the stream with the
// envelope, and is documented as text/event-stream.
func TestEventStream(t *testing.T) {
	t.Parallel()
	srv, err := server.New(server.Config{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	api, err := openapi.New(srv.Echo(), "/api", openapi.Config{Title: "t"})
	if err != nil {
		t.Fatal(err)
	}
	openapi.Get(api, "/things/{id}/events", func(_ context.Context, in *streamIn) (*openapi.EventStream, error) {
		if in.ID != 1 {
			return nil, server.NewError(http.StatusNotFound, "no such thing")
		}
		return &openapi.EventStream{Serve: func(c echo.Context) error {
			s, err := server.NewSSE(c)
			if err != nil {
				return err
			}
			return s.Send(server.SSEEvent{Event: "hello", Data: "1"})
		}}, nil
	}, openapi.Errors(http.StatusNotFound))

	for _, tt := range []struct {
		path, ctype, body string
		code              int
	}{
		{"/api/things/1/events", "text/event-stream", "event: hello\ndata: 1\n\n", 200},
		{"/api/things/2/events", "application/json", "", 404},
	} {
		rec := httptest.NewRecorder()
		srv.Echo().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, tt.path, nil))
		if rec.Code != tt.code || rec.Header().Get("Content-Type") != tt.ctype && rec.Header().Get("Content-Type") != tt.ctype+"; charset=UTF-8" ||
			tt.body != "" && rec.Body.String() != tt.body {
			t.Errorf("GET %s = %d %s %q; want %d %s %q", tt.path, rec.Code, rec.Header().Get("Content-Type"), rec.Body, tt.code, tt.ctype, tt.body)
		}
	}

	doc, err := api.JSON()
	if err != nil {
		t.Fatal(err)
	}
	if errs := openapitest.DocumentErrors(doc); len(errs) > 0 {
		t.Fatalf("document invalid: %v", errs)
	}
	var d struct {
		Paths map[string]map[string]struct {
			Responses map[string]struct {
				Content map[string]any `json:"content"`
			} `json:"responses"`
		} `json:"paths"`
	}
	_ = json.Unmarshal(doc, &d)
	content := d.Paths["/api/things/{id}/events"]["get"].Responses["200"].Content
	if _, ok := content["text/event-stream"]; !ok || len(content) != 1 {
		t.Errorf("200 content %v; want text/event-stream only", content)
	}
}
