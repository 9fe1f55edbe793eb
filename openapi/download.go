package openapi

import (
	"io"
	"mime"
	"net/http"
	"reflect"
	"time"

	"github.com/labstack/echo/v4"
)

// Download is the output of a typed route that answers with a file's
// bytes instead of JSON, such as GET /files/{id}. It is sent as an
// attachment, with "X-Content-Type-Options: nosniff", so an uploaded file
// is never rendered as a page of the site; a Content that is an
// io.ReadSeeker also answers range and conditional requests
// (http.ServeContent). Content is closed after it is sent if it is an
// io.Closer. The document describes the response as binary of any media
// type.
type Download struct {
	// Content is the file's content.
	Content io.Reader
	// ContentType is the media type it is served with. Default
	// application/octet-stream.
	ContentType string
	// Name is the file name browsers save it under (Content-Disposition:
	// attachment; filename=…, encoded as RFC 2231 requires).
	Name string
	// ModTime is the Last-Modified time; zero leaves it out.
	ModTime time.Time
}

var downloadType = reflect.TypeFor[Download]()

// respond writes d with status (ignored for a seekable Content, whose
// status http.ServeContent picks: 200, 206 or 304).
func (d *Download) respond(c echo.Context, status int) error {
	if cl, ok := d.Content.(io.Closer); ok {
		defer cl.Close()
	}
	ctype := d.ContentType
	if ctype == "" {
		ctype = echo.MIMEOctetStream
	}
	h := c.Response().Header()
	h.Set(echo.HeaderContentType, ctype)
	h.Set("X-Content-Type-Options", "nosniff")
	if d.Name != "" {
		h.Set(echo.HeaderContentDisposition, mime.FormatMediaType("attachment", map[string]string{"filename": d.Name}))
	}
	if rs, ok := d.Content.(io.ReadSeeker); ok {
		http.ServeContent(c.Response(), c.Request(), "", d.ModTime, rs)
		return nil
	}
	if !d.ModTime.IsZero() {
		h.Set(echo.HeaderLastModified, d.ModTime.UTC().Format(http.TimeFormat))
	}
	return c.Stream(status, ctype, d.Content)
}

// responseContent documents a success response body: binary of any media
// type for a [Download], text/event-stream for an [EventStream], JSON
// otherwise.
func responseContent(g *schemaGen, out reflect.Type) map[string]MediaType {
	switch out {
	case downloadType:
		return map[string]MediaType{"*/*": {Schema: &Schema{Type: "string", Format: "binary"}}}
	case eventStreamType:
		return map[string]MediaType{"text/event-stream": {Schema: &Schema{Type: "string"}}}
	}
	return map[string]MediaType{echo.MIMEApplicationJSON: {Schema: g.schemaOf(out)}}
}
