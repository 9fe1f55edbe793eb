package storage

import (
	"mime"
	"path/filepath"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

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
