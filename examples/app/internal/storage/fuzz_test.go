package storage

import (
	"errors"
	"mime"
	"net/http"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// fuzzPolicy accepts images, PDF and text, so both the binary signatures
// and the UTF-8 text check are exercised.
var fuzzPolicy = Policy{MaxSize: 1 << 20, Extensions: []string{"png", "jpg", "jpeg", "gif", "pdf", "txt", "csv", "json", "xlsx"}}

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
			var e *Error
			if !errors.As(err, &e) || ct != "" {
				t.Fatalf("Validate(%q, %d) = %q, %v; want an *Error and no type", name, size, ct, err)
			}
			switch {
			case e.Status == http.StatusRequestEntityTooLarge && errors.Is(err, ErrTooLarge):
			case e.Status == http.StatusUnsupportedMediaType && errors.Is(err, ErrUnsupportedType):
			default:
				t.Fatalf("Validate(%q, %d) = %v (status %d); want 413 ErrTooLarge or 415 ErrUnsupportedType", name, size, err, e.Status)
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

// FuzzCleanName checks the display name kept for an upload: never a path
// (no separator, no "." or ".." and local under any directory), valid
// UTF-8 without control characters, at most 255 bytes, stable when cleaned
// again, and carried through Content-Disposition intact.
func FuzzCleanName(f *testing.F) {
	for _, s := range []string{
		"photo.png", "../../etc/passwd", `C:\Users\me\report.pdf`, "dir/", "..", ".", "",
		"  spaced.txt  ", "bad\r\nSet-Cookie: x.txt", "nul\x00.png", "bad\xffutf8.txt", "写真.png",
		"..\u2028..", "a/../../b", "/abs/olute", `\\server\share\x.png`, "name\u202egnp.exe", strings.Repeat("é", 200),
		"\"quoted\".png", "semi;colon.png", ". .", "..\t",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got := cleanName(in)
		switch {
		case got == "" || got == "." || got == "..":
			t.Fatalf("cleanName(%q) = %q", in, got)
		case strings.ContainsAny(got, `/\`):
			t.Fatalf("cleanName(%q) = %q holds a path separator", in, got)
		case !filepath.IsLocal(got) || filepath.Base(got) != got:
			t.Fatalf("cleanName(%q) = %q is not a local file name", in, got)
		case !utf8.ValidString(got) || len(got) > maxNameLen:
			t.Fatalf("cleanName(%q) = %q: invalid UTF-8 or %d bytes", in, got, len(got))
		case strings.IndexFunc(got, unicode.IsControl) >= 0:
			t.Fatalf("cleanName(%q) = %q holds a control character", in, got)
		case strings.TrimSpace(got) != got:
			t.Fatalf("cleanName(%q) = %q has outer spaces", in, got)
		case cleanName(got) != got:
			t.Fatalf("cleanName(%q) = %q, but cleanName(%q) = %q", in, got, got, cleanName(got))
		}
		if joined := filepath.Join("/srv/files", got); filepath.Dir(joined) != "/srv/files" {
			t.Fatalf("cleanName(%q) = %q leaves the directory: %s", in, got, joined)
		}
		cd := Object{Name: got}.ContentDisposition()
		if strings.ContainsAny(cd, "\r\n") {
			t.Fatalf("Content-Disposition of %q = %q", got, cd)
		}
		if _, params, err := mime.ParseMediaType(cd); err != nil || params["filename"] != got {
			t.Fatalf("Content-Disposition of %q = %q parses to %q, %v", got, cd, params["filename"], err)
		}
	})
}

// FuzzValidID checks the only gate between a client's string and a path:
// an accepted id is exactly 32 lowercase hex digits, and its paths stay
// inside the store.
func FuzzValidID(f *testing.F) {
	f.Add(newID())
	f.Add("../../etc/passwd")
	f.Add(strings.Repeat("0", 30) + "/.")
	f.Add(strings.Repeat("A", 32))
	f.Fuzz(func(t *testing.T, id string) {
		if !validID(id) {
			return
		}
		if len(id) != idLen || strings.Trim(id, "0123456789abcdef") != "" {
			t.Fatalf("validID(%q) = true", id)
		}
		data, meta := objectPaths(id)
		for _, p := range []string{data, meta} {
			if !filepath.IsLocal(p) || !strings.HasPrefix(p, objectsDir+"/") {
				t.Fatalf("objectPaths(%q) = %q leaves the store", id, p)
			}
		}
	})
}
