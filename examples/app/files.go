package main

import (
	"context"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/gantry-dev/gantry/crud"
	"github.com/gantry-dev/gantry/server"
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

// uploadFile is POST /files: one multipart part named "file", checked by
// size, extension and sniffed content (a script named .png is a 415).
func (a *app) uploadFile(c echo.Context) error {
	ctx := c.Request().Context()
	u, _ := currentUser(ctx)
	fh, err := c.FormFile("file")
	if err != nil {
		if errors.Is(err, http.ErrMissingFile) {
			return server.NewError(http.StatusBadRequest, `multipart field "file" is required`)
		}
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return server.NewError(http.StatusRequestEntityTooLarge, "file too large").Wrap(err)
		}
		return server.NewError(http.StatusBadRequest, "request must be multipart/form-data with a file").Wrap(err)
	}
	ctype, err := a.upload.ValidateFile(fh)
	if err != nil {
		return err
	}
	src, err := fh.Open()
	if err != nil {
		return err
	}
	defer src.Close()
	f, err := a.storeFile(ctx, u.ID, fh.Filename, ctype, src)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, f)
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

// downloadFile is GET /files/{id}, for its owner or an admin.
func (a *app) downloadFile(c echo.Context) error {
	ctx := c.Request().Context()
	f, err := a.ownFile(ctx, c.Param("id"))
	if err != nil {
		return err
	}
	rc, obj, err := a.storage.Open(ctx, f.ID)
	if err != nil {
		return err
	}
	defer rc.Close()
	h := c.Response().Header()
	h.Set(echo.HeaderContentType, obj.ContentType)
	h.Set(echo.HeaderContentDisposition, obj.ContentDisposition())
	h.Set("X-Content-Type-Options", "nosniff")
	if rs, ok := rc.(io.ReadSeeker); ok { // range requests for free
		http.ServeContent(c.Response(), c.Request(), "", obj.CreatedAt, rs)
		return nil
	}
	return c.Stream(http.StatusOK, obj.ContentType, rc)
}
