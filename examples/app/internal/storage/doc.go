// Package storage keeps uploaded files for the example app: a small [Store]
// interface, a directory implementation ([Dir]) and [CleanTemp] for the
// daily clean-up job.
//
// # The Store interface
//
// Handlers and jobs depend on [Store], not on [Dir], so an object store
// (S3, GCS, MinIO) can replace the directory by implementing three methods:
//
//	type Store interface {
//		Put(ctx context.Context, name, contentType string, r io.Reader) (Object, error)
//		Open(ctx context.Context, id string) (io.ReadCloser, Object, error)
//		Delete(ctx context.Context, id string) error
//	}
//
// An [Object] describes what was stored: a server-chosen ID, the client's
// file name (cleaned, for display and Content-Disposition only), the
// content type, the size and the creation time. Who owns an object is the
// application's business: keep it in the database row that points at the ID.
//
// # The directory store
//
// [NewDir] stores each object under a random 128-bit hexadecimal ID. No
// client-supplied string ever becomes part of a path: names live only in the
// metadata, and [Dir.Open] and [Dir.Delete] reject any ID that is not 32
// lowercase hex digits before touching the file system, so a name or ID such
// as "../../etc/passwd" is harmless. All file access also goes through an
// [os.Root], which refuses to leave the directory even if that check were
// wrong.
//
// Writes are atomic: the content is streamed into a temporary file (never
// more than [DirConfig.MaxSize] bytes, else [ErrTooLarge]), synced and
// renamed into place, and then a JSON sidecar with the metadata is written
// the same way. The sidecar is the commit marker: an object exists once its
// sidecar does, so a crash mid-write never exposes half a file. Temporary
// files a crash leaves behind sit in [Dir.TempDir], which [CleanTemp]
// empties.
//
// # Validating uploads
//
// Checking an upload before it is stored (its size, its extension, and its
// content sniffed from the first 512 bytes against the type the extension
// implies) is the library's: the example's upload route binds an
// openapi.File checked by an openapi.UploadPolicy, and stores the file
// under the content type that check returned, never the client's
// Content-Type header.
//
// # Errors
//
// Client errors are [*Error] values. Each carries the HTTP status the
// server's error handler renders (through HTTPStatus, ErrorType and
// PublicMessage methods; this package does not import the server) and wraps
// one of the sentinels [ErrNotFound] or [ErrTooLarge], so both errors.Is
// and errors.As work:
//
//	if errors.Is(err, storage.ErrNotFound) { … }
//
// Any other error (a full disk, a permission problem) is an internal error
// and renders as 500.
package storage
