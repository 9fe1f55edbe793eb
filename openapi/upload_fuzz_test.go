package openapi

import (
	"errors"
	"mime"
	"net/http"
	"path"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/gantry-dev/gantry/server"
)

// fuzzPolicy accepts images, PDF and text, so both the binary signatures
// and the UTF-8 text check are exercised.
var fuzzPolicy = UploadPolicy{MaxSize: 1 << 20, Extensions: []string{"png", "jpg", "jpeg", "gif", "pdf", "txt", "csv", "json", "xlsx"}}

// FuzzValidate checks the upload policy on any name, size and head: it
// never panics, refuses with a 413 or 415 *Error only, and whatever it
// accepts is within the size limit, has an allowed extension, and sniffs
// as the type that extension implies (so no script or page passes as an
// image).
func FuzzValidate(f *testing.F) {
	f.Add("cat.png", int64(67), []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"))
	f.Add("shell.png", int64(28), []byte("<?php system($_GET['c']); ?>"))
	f.Add("page.txt", int64(38), []byte("<!DOCTYPE html><script>alert(1)</script>"))
	f.Add("doc.PDF", int64(9), []byte("%PDF-1.7\n"))
	f.Add(`..\..\evil.jpg`, int64(4), []byte("\xff\xd8\xff\xe0"))
	f.Add("big.gif", int64(1<<21), []byte("GIF89a"))
	f.Add("notes.txt", int64(-1), []byte("\xfe\xffutf-16"))
	f.Add("book.xlsx", int64(4), []byte("PK\x03\x04"))
	f.Add("noext", int64(0), []byte{})
	f.Fuzz(func(t *testing.T, name string, size int64, head []byte) {
		ct, err := fuzzPolicy.Validate(name, size, head)
		if err != nil {
			var e *server.Error
			if !errors.As(err, &e) || ct != "" {
				t.Fatalf("Validate(%q, %d) = %q, %v; want a *server.Error and no type", name, size, ct, err)
			}
			switch {
			case e.HTTPStatus() == http.StatusRequestEntityTooLarge && errors.Is(err, ErrFileTooLarge):
			case e.HTTPStatus() == http.StatusUnsupportedMediaType && errors.Is(err, ErrFileType):
			default:
				t.Fatalf("Validate(%q, %d) = %v (status %d); want 413 ErrFileTooLarge or 415 ErrFileType", name, size, err, e.HTTPStatus())
			}
			if e.PublicMessage() == "" || strings.ContainsAny(e.PublicMessage(), "\r\n") {
				t.Fatalf("Validate(%q): public message %q", name, e.PublicMessage())
			}
			return
		}
		if size > fuzzPolicy.MaxSize {
			t.Fatalf("Validate(%q, %d) accepted a file over %d bytes", name, size, fuzzPolicy.MaxSize)
		}
		ext := strings.ToLower(strings.TrimPrefix(path.Ext(strings.ReplaceAll(name, `\`, "/")), "."))
		if !slices.Contains(fuzzPolicy.Extensions, ext) {
			t.Fatalf("Validate(%q) accepted extension %q", name, ext)
		}
		sniffed, serve, _ := contentTypes(ext)
		if ct != serve {
			t.Fatalf("Validate(%q) = %q; want %q", name, ct, serve)
		}
		got := http.DetectContentType(head[:min(len(head), sniffLen)])
		if !sameType(got, sniffed) {
			t.Fatalf("Validate(%q) accepted content sniffed as %q for %q", name, got, ext)
		}
		if strings.HasPrefix(sniffed, "text/") && !utf8UpToLastRune(head[:min(len(head), sniffLen)]) {
			t.Fatalf("Validate(%q) accepted invalid UTF-8 as text", name)
		}
		if mt, _, _ := mime.ParseMediaType(got); mt == "text/html" || mt == "text/xml" || strings.Contains(mt, "script") {
			t.Fatalf("Validate(%q) accepted active content %q", name, mt)
		}
	})
}

// utf8UpToLastRune reports whether b is UTF-8 but for at most its last,
// possibly cut, rune.
func utf8UpToLastRune(b []byte) bool {
	for cut := 0; cut < utf8.UTFMax && cut <= len(b); cut++ {
		if utf8.Valid(b[:len(b)-cut]) {
			return true
		}
	}
	return false
}
