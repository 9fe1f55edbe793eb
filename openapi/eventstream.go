package openapi

import (
	"reflect"

	"github.com/labstack/echo/v4"
)

// EventStream is the output of a typed route that answers with
// server-sent events (text/event-stream) instead of JSON, such as
// GET /tasks/{id}/events: the typed handler checks what it must (an error
// it returns is answered with the error envelope), then returns an
// EventStream whose Serve writes the stream on the route's echo.Context
// (e.g. with server.NewSSE, or a handler from jobshttp.EventsConfig). The
// route's status is Serve's. The document describes the response as
// text/event-stream, its events as a string.
type EventStream struct {
	// Serve writes the stream.
	Serve echo.HandlerFunc
}

var eventStreamType = reflect.TypeFor[EventStream]()
