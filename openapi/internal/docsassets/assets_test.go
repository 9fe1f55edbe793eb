package docsassets

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPinnedVersions holds the constants, SOURCES (written by update.sh
// from the npm registry) and the embedded files to one another: the
// versions agree, every file from npm (licences included) is listed with
// the sha256 it has, and each bundle announces the version it is pinned
// at.
func TestPinnedVersions(t *testing.T) {
	f, err := os.Open("SOURCES")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	versions := map[string]string{}
	sums := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		switch {
		case len(fields) == 0 || strings.HasPrefix(fields[0], "#"):
		case len(fields) == 3 && strings.HasPrefix(fields[2], "sha512-"):
			versions[fields[0]] = fields[1]
		case len(fields) == 2:
			sums[fields[1]] = fields[0]
		default:
			t.Errorf("SOURCES: unreadable line %q", sc.Text())
		}
	}
	if versions["swagger-ui-dist"] != SwaggerUIVersion || versions["redoc"] != RedocVersion {
		t.Errorf("SOURCES pins %v; the constants say swagger-ui-dist %s, redoc %s", versions, SwaggerUIVersion, RedocVersion)
	}

	onDisk := map[string]bool{}
	for _, dir := range []string{"swagger-ui-dist", "redoc"} {
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			onDisk[dir+"/"+e.Name()] = true
		}
	}
	for name, want := range sums {
		b, err := os.ReadFile(filepath.FromSlash(name))
		if err != nil {
			t.Errorf("SOURCES lists %s: %v", name, err)
			continue
		}
		sum := sha256.Sum256(b)
		if got := hex.EncodeToString(sum[:]); got != want {
			t.Errorf("%s has sha256 %s; SOURCES says %s (edited by hand? run update.sh)", name, got, want)
		}
		delete(onDisk, name)
	}
	for name := range onDisk {
		t.Errorf("%s is not in SOURCES (added by hand? run update.sh)", name)
	}
	for _, p := range []string{SwaggerUIJS, SwaggerUICSS, SwaggerUIPresetJS, Favicon, RedocJS,
		"swagger-ui-dist/LICENSE", "swagger-ui-dist/NOTICE", "redoc/LICENSE"} {
		if sums[p] == "" {
			t.Errorf("SOURCES does not list %s", p)
		}
	}

	for _, c := range []struct{ path, marker string }{
		{SwaggerUIJS, `PACKAGE_VERSION:"` + SwaggerUIVersion + `"`},
		{RedocJS, `" ReDoc Version: ","` + RedocVersion + `"`},
	} {
		b, err := files.ReadFile(c.path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(b, []byte(c.marker)) {
			t.Errorf("embedded %s does not contain %s: not the pinned release", c.path, c.marker)
		}
	}
}

// TestLoad: every served file loads with a fingerprinted name, its type
// and its ETag, and names are unique.
func TestLoad(t *testing.T) {
	assets, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	if len(assets) != len(served) {
		t.Fatalf("Load() = %d assets; want %d", len(assets), len(served))
	}
	names := map[string]bool{}
	for _, a := range assets {
		sum := sha256.Sum256(a.Data)
		hexSum := hex.EncodeToString(sum[:])
		if a.ETag != `"`+hexSum+`"` || !strings.Contains(a.Name, "."+hexSum[:12]+".") {
			t.Errorf("%s: name %q, ETag %s; want the sha256 %s in both", a.Path, a.Name, a.ETag, hexSum)
		}
		if a.ContentType == "application/octet-stream" || len(a.Data) == 0 {
			t.Errorf("%s: type %q, %d bytes", a.Path, a.ContentType, len(a.Data))
		}
		if names[a.Name] {
			t.Errorf("two assets are served as %s", a.Name)
		}
		names[a.Name] = true
	}
}
