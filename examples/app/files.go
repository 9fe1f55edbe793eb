package main

import (
	"context"
	"io"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/gantry-dev/gantry/crud"
	"github.com/gantry-dev/gantry/openapi"
)

// File is a row of the files table: the metadata of an object in storage,
// with its owner.
type File struct {
	ID          string    `db:"id" json:"id"`
	OwnerID     int64     `db:"owner_id" json:"owner_id"`
	Name        string    `db:"name" json:"name"`
	ContentType string    `db:"content_type" json:"content_type"`
	Size        int64     `db:"size" json:"size"`
	CreatedAt   time.Time `db:"created_at" json:"created_at"`
	URL         string    `db:"-" json:"url"`
}

func (a *app) withURL(f File) File {
	f.URL = a.cfg.APIV1Prefix + "/files/" + f.ID
	return f
}

// routesFiles registers the file routes on v1: upload (multipart, under
// uploadLimit, the body limit raised for it, and idempotent: the options
// idem, after the limit, so the body fingerprinted is capped by it) and
// download, both documented like every other route.
func (a *app) routesFiles(v1 *openapi.API, uploadLimit echo.MiddlewareFunc, idem []openapi.Option) {
	tag := openapi.Tags("files")
	upload := append([]openapi.Option{tag, openapi.Middleware(uploadLimit), openapi.Secure(signedIn)}, idem...)
	openapi.Post(v1, "/files", a.uploadFile, with(upload, openapi.Status(http.StatusCreated),
		openapi.Upload(a.upload), openapi.Summary("Upload a file (multipart/form-data, part \"file\")"),
		openapi.Description("The file is checked by size (MAX_FILE_SIZE: 413), by extension (ALLOWED_EXTENSIONS: 415) "+
			"and by its content, which must be what its extension implies (a script named .png: 415)."))...)
	openapi.Get(v1, "/files/{id}", a.downloadFile, tag, openapi.Secure(signedIn),
		openapi.Summary("Download a file (its owner or an admin)"), openapi.Errors(http.StatusNotFound))
}

// UploadForm is the multipart body of POST /files.
type UploadForm struct {
	File openapi.File `form:"file" doc:"The file to store."`
}

// UploadIn is the input of POST /files.
type UploadIn struct {
	Body UploadForm
}

// uploadFile is POST /files: one multipart part named "file", already
// checked by size, extension and sniffed content when it gets here.
func (a *app) uploadFile(ctx context.Context, in *UploadIn) (*File, error) {
	u, _ := currentUser(ctx)
	fh := &in.Body.File
	f, err := a.storeFile(ctx, u.ID, fh.Name, fh.ContentType, fh.Open())
	if err != nil {
		return nil, err
	}
	return &f, nil
}

// storeFile puts an object in storage and records it for its owner.
func (a *app) storeFile(ctx context.Context, owner int64, name, ctype string, src io.Reader) (File, error) {
	obj, err := a.storage.Put(ctx, name, ctype, src)
	if err != nil {
		return File{}, err
	}
	f := File{ID: obj.ID, OwnerID: owner, Name: obj.Name, ContentType: obj.ContentType, Size: obj.Size}
	if err := a.files.Create(ctx, &f); err != nil {
		_ = a.storage.Delete(context.WithoutCancel(ctx), obj.ID)
		return File{}, err
	}
	return a.withURL(f), nil
}

// ownFile returns the file if the caller owns it or is an admin, else
// ErrNotFound.
func (a *app) ownFile(ctx context.Context, id string) (File, error) {
	f, err := a.files.Get(ctx, id)
	if err != nil {
		return File{}, err
	}
	u, p := currentUser(ctx)
	if f.OwnerID != u.ID && !isAdmin(p) {
		return File{}, crud.ErrNotFound
	}
	return a.withURL(f), nil
}

// FileIDIn names a file in the path.
type FileIDIn struct {
	ID string `path:"id" doc:"The file's id"`
}

// downloadFile is GET /files/{id}, for its owner or an admin: the bytes as
// an attachment, with range requests.
func (a *app) downloadFile(ctx context.Context, in *FileIDIn) (*openapi.Download, error) {
	f, err := a.ownFile(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	rc, obj, err := a.storage.Open(ctx, f.ID)
	if err != nil {
		return nil, err
	}
	return &openapi.Download{Content: rc, ContentType: obj.ContentType, Name: obj.Name, ModTime: obj.CreatedAt}, nil
}
