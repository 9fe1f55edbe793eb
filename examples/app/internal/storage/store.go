package storage

import (
	"context"
	"io"
	"mime"
	"time"
)

// Store keeps files. [Dir] implements it on a local directory; an object
// store can implement it instead. Implementations are safe for concurrent
// use.
type Store interface {
	// Put stores the content read from r under a new ID and returns its
	// description. name is the client's file name, kept for display only;
	// contentType is the type to serve it with (the one openapi.UploadPolicy checked).
	// Put fails with [ErrTooLarge] when r yields more bytes than the
	// store's limit, and stores nothing in that case.
	Put(ctx context.Context, name, contentType string, r io.Reader) (Object, error)
	// Open returns the content and description of the object with the
	// given ID, or [ErrNotFound]. The caller must close the reader.
	Open(ctx context.Context, id string) (io.ReadCloser, Object, error)
	// Delete removes the object with the given ID, or returns
	// [ErrNotFound] if there is none.
	Delete(ctx context.Context, id string) error
}

// Object describes a stored file.
type Object struct {
	// ID identifies the object; the store chooses it.
	ID string `json:"id"`
	// Name is the client's file name without any directory part or
	// control characters. Use it for display and Content-Disposition only.
	Name string `json:"name"`
	// ContentType is the media type the object is served with.
	ContentType string `json:"content_type"`
	// Size is the length of the content in bytes.
	Size int64 `json:"size"`
	// CreatedAt is when the object was stored, in UTC.
	CreatedAt time.Time `json:"created_at"`
}

// ContentDisposition returns a Content-Disposition header value that makes
// browsers download the object under its name ("attachment;
// filename=…"), encoding non-ASCII names as RFC 2231 requires. Serve
// downloads with it and with "X-Content-Type-Options: nosniff" so an
// uploaded file is never rendered as a page of your site.
func (o Object) ContentDisposition() string {
	return mime.FormatMediaType("attachment", map[string]string{"filename": o.Name})
}
