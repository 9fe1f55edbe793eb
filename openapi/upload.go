package openapi

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"path"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/gantry-dev/gantry/server"
)

// sniffLen is how many bytes http.DetectContentType looks at.
const sniffLen = 512

// DefaultMaxUploadSize is the size limit of a zero [UploadPolicy]: 10 MiB.
const DefaultMaxUploadSize = 10 << 20

// UploadPolicy says which uploaded files a [File] field accepts: by size,
// by file name extension, and by content sniffed from the first 512 bytes,
// which must be what the extension implies. The zero value accepts files up
// to [DefaultMaxUploadSize] with the extensions of
// [DefaultUploadExtensions]. A policy is a value; it is safe to share.
//
// Declare it for a route with [Upload], or per field with the tags
// `maxSize:"bytes"` and `accept:"png,jpg"`.
type UploadPolicy struct {
	// MaxSize is the largest accepted file in bytes. Zero means
	// [DefaultMaxUploadSize].
	MaxSize int64
	// Extensions lists the accepted file name extensions, without the dot
	// and in any case ("png", "JPG"). Each must be one this package knows
	// the content of; see [UploadPolicy.CheckConfig]. Empty means
	// [DefaultUploadExtensions].
	Extensions []string
}

// DefaultUploadExtensions returns the extensions a zero [UploadPolicy]
// accepts: jpg, jpeg, png, gif and pdf.
func DefaultUploadExtensions() []string { return []string{"jpg", "jpeg", "png", "gif", "pdf"} }

// Errors a refused upload wraps (inside a *server.Error), for errors.Is.
var (
	// ErrFileTooLarge: a file is over its policy's MaxSize (413).
	ErrFileTooLarge = errors.New("openapi: file too large")
	// ErrFileType: a file's extension is not allowed, or its content is
	// not what its extension implies (415).
	ErrFileType = errors.New("openapi: unsupported file type")
)

// CheckConfig returns an error if the policy names an extension whose
// content this package cannot recognise (and so could never accept), or a
// negative size. Call it at start-up.
func (p UploadPolicy) CheckConfig() error {
	if p.MaxSize < 0 {
		return fmt.Errorf("openapi: invalid upload policy: MaxSize %d is negative", p.MaxSize)
	}
	var errs []error
	for _, ext := range p.extensions() {
		if _, _, ok := contentTypes(ext); !ok {
			errs = append(errs, fmt.Errorf("openapi: invalid upload policy: unknown extension %q", ext))
		}
	}
	return errors.Join(errs...)
}

// Validate checks an upload by its file name, its size in bytes (negative
// if unknown) and its first 512
// bytes (fewer if the file is shorter). It returns the content type to
// store the file with, or an [*Error]:
//
//   - [ErrTooLarge] (413) if size is over MaxSize;
//   - [ErrUnsupportedType] (415) if the name's extension is not in
//     Extensions, or if the type sniffed from head with
//     [http.DetectContentType] is not the one the extension implies (a PHP
//     script or an HTML page named x.png).
//
// The client's Content-Type header plays no part: the returned type comes
// from the extension, and only after the content agreed with it.
func (p UploadPolicy) Validate(name string, size int64, head []byte) (contentType string, err error) {
	maxSize := p.maxSize()
	if size > maxSize {
		return "", server.NewError(http.StatusRequestEntityTooLarge, fmt.Sprintf("file is larger than %d bytes", maxSize)).Wrap(ErrFileTooLarge)
	}

	allowed := p.extensions()
	ext := strings.ToLower(strings.TrimPrefix(path.Ext(strings.ReplaceAll(name, `\`, "/")), "."))
	if ext == "" || !slices.Contains(allowed, ext) {
		return "", server.NewError(http.StatusUnsupportedMediaType, fmt.Sprintf("file type %q is not allowed; allowed: %s", ext, strings.Join(allowed, ", "))).Wrap(ErrFileType)
	}
	want, serve, ok := contentTypes(ext)
	if !ok {
		return "", fmt.Errorf("openapi: invalid upload policy: unknown extension %q", ext)
	}

	more := len(head) > sniffLen || size > int64(len(head)) // the file goes on past head
	if len(head) > sniffLen {
		head = head[:sniffLen]
	}
	if got := http.DetectContentType(head); !sameType(got, want) {
		mediaType, _, _ := mime.ParseMediaType(got)
		return "", server.NewError(http.StatusUnsupportedMediaType, fmt.Sprintf("file content (%s) does not match its extension %q", mediaType, ext)).Wrap(ErrFileType)
	}
	// The sniffer calls any text without binary bytes UTF-8; check it is.
	if strings.HasPrefix(want, "text/") && !validUTF8Head(head, more) {
		return "", server.NewError(http.StatusUnsupportedMediaType, fmt.Sprintf("file content is not UTF-8 text, as its extension %q requires", ext)).Wrap(ErrFileType)
	}
	return serve, nil
}

// ValidateFile is [UploadPolicy.Validate] for a file of a multipart form: it
// reads the first 512 bytes of fh and checks them with fh.Filename and
// fh.Size.
func (p UploadPolicy) ValidateFile(fh *multipart.FileHeader) (contentType string, err error) {
	f, err := fh.Open()
	if err != nil {
		return "", fmt.Errorf("openapi: open upload: %w", err)
	}
	defer f.Close()
	head := make([]byte, sniffLen)
	n, err := io.ReadFull(f, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("openapi: read upload: %w", err)
	}
	return p.Validate(fh.Filename, fh.Size, head[:n])
}

func (p UploadPolicy) maxSize() int64 {
	if p.MaxSize == 0 {
		return DefaultMaxUploadSize
	}
	return p.MaxSize
}

func (p UploadPolicy) extensions() []string {
	if len(p.Extensions) == 0 {
		return DefaultUploadExtensions()
	}
	exts := make([]string, len(p.Extensions))
	for i, e := range p.Extensions {
		exts[i] = strings.ToLower(strings.TrimPrefix(strings.TrimSpace(e), "."))
	}
	return exts
}

// validUTF8Head reports whether head is UTF-8. When more of the file
// follows, a rune cut by the end of head is allowed.
func validUTF8Head(head []byte, more bool) bool {
	if utf8.Valid(head) {
		return true
	}
	if !more {
		return false
	}
	for cut := 1; cut < utf8.UTFMax && cut <= len(head); cut++ {
		if tail := head[len(head)-cut:]; utf8.RuneStart(tail[0]) && !utf8.FullRune(tail) {
			return utf8.Valid(head[:len(head)-cut])
		}
	}
	return false
}

// sameType compares a sniffed type with an expected one. Text must be
// UTF-8: "text/plain; charset=utf-16be" does not match "text/plain;
// charset=utf-8".
func sameType(sniffed, want string) bool {
	return strings.EqualFold(strings.ReplaceAll(sniffed, " ", ""), strings.ReplaceAll(want, " ", ""))
}

// contentTypes returns, for a known extension, the type
// http.DetectContentType reports for such content and the type to serve
// the file with. They differ where the sniffer sees only the container
// (an .xlsx file is a zip archive).
func contentTypes(ext string) (sniffed, serve string, ok bool) {
	const text = "text/plain; charset=utf-8"
	switch ext {
	case "jpg", "jpeg":
		return "image/jpeg", "image/jpeg", true
	case "png":
		return "image/png", "image/png", true
	case "gif":
		return "image/gif", "image/gif", true
	case "webp":
		return "image/webp", "image/webp", true
	case "bmp":
		return "image/bmp", "image/bmp", true
	case "pdf":
		return "application/pdf", "application/pdf", true
	case "zip":
		return "application/zip", "application/zip", true
	case "xlsx":
		return "application/zip", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", true
	case "docx":
		return "application/zip", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", true
	case "txt", "md", "log":
		return text, text, true
	case "csv":
		return text, "text/csv; charset=utf-8", true
	case "json":
		return text, "application/json", true
	case "mp3":
		return "audio/mpeg", "audio/mpeg", true
	case "mp4":
		return "video/mp4", "video/mp4", true
	case "webm":
		return "video/webm", "video/webm", true
	}
	return "", "", false
}
