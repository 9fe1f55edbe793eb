package openapi_test

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/url"
	"path"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"github.com/gantry-dev/gantry/openapi"
	"github.com/gantry-dev/gantry/openapi/internal/docsassets"
	"github.com/gantry-dev/gantry/server/servertest"
)

// ref is a URL a page makes the browser load, or an inline script.
type ref struct {
	tag, attr, url string
	inline         bool // a <script> without src the browser would run
}

// pageRefs parses a page and returns what it loads: script src, link
// href, img src, and inline scripts (a JSON data block is not one).
func pageRefs(t *testing.T, page []byte) []ref {
	t.Helper()
	doc, err := html.Parse(bytes.NewReader(page))
	if err != nil {
		t.Fatalf("parse page: %v\n%s", err, page)
	}
	var refs []ref
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			attrs := map[string]string{}
			for _, a := range n.Attr {
				attrs[a.Key] = a.Val
			}
			switch n.Data {
			case "script":
				switch {
				case attrs["src"] != "":
					refs = append(refs, ref{tag: "script", attr: "src", url: attrs["src"]})
				case attrs["type"] != "application/json":
					refs = append(refs, ref{tag: "script", inline: true})
				}
			case "link":
				refs = append(refs, ref{tag: "link", attr: "href", url: attrs["href"]})
			case "img":
				refs = append(refs, ref{tag: "img", attr: "src", url: attrs["src"]})
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	return refs
}

var wantTypes = map[string]string{
	".js":  "text/javascript; charset=utf-8",
	".css": "text/css; charset=utf-8",
	".png": "image/png",
}

// TestDocsPagesLoadOnlyTheirOwnAssets is the closed-network contract: the
// pages reference only same-origin URLs and no inline script, and every
// asset they reference answers 200 with its type, immutable caching, an
// ETag that yields 304, and gzip when asked.
func TestDocsPagesLoadOnlyTheirOwnAssets(t *testing.T) {
	multi := versioned(t, openapi.DocsConfig{})
	s, _ := blog(t)
	single := servertest.Start(t, s)
	pages := []struct{ base, path string }{
		{multi, "/docs"}, {multi, "/redoc"}, {multi, "/redoc?doc=1"}, {single, "/docs"}, {single, "/redoc"},
	}
	checked := map[string]bool{}
	for _, p := range pages {
		t.Run(p.path, func(t *testing.T) {
			resp, page := do(t, "GET", p.base+p.path, "")
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("GET %s = %d", p.path, resp.StatusCode)
			}
			refs := pageRefs(t, page)
			if len(refs) < 3 {
				t.Fatalf("GET %s references %d assets; want the UI's script, style and icon:\n%s", p.path, len(refs), page)
			}
			base, _ := url.Parse(p.base)
			for _, r := range refs {
				if r.inline {
					t.Errorf("GET %s has an inline script (blocked by script-src 'self'):\n%s", p.path, page)
					continue
				}
				u, err := base.Parse(r.url)
				if err != nil || u.Host != base.Host || !strings.HasPrefix(r.url, "/docs/assets/") {
					t.Errorf("GET %s: <%s %s=%q> is not under /docs/assets/ on this host", p.path, r.tag, r.attr, r.url)
					continue
				}
				if !checked[r.url] {
					checked[r.url] = true
					checkAsset(t, p.base, r.url)
				}
			}
		})
	}
	// Everything embedded and referenced was seen: the swagger page's
	// script, style, preset, start-up script, the icon, ReDoc and its css.
	if len(checked) != 7 {
		t.Errorf("pages referenced %d distinct assets; want 7: %v", len(checked), checked)
	}
}

func checkAsset(t *testing.T, base, u string) {
	t.Helper()
	resp, body := do(t, "GET", base+u, "", "Accept-Encoding", "identity")
	want := wantTypes[path.Ext(u)]
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != want || len(body) == 0 {
		t.Fatalf("GET %s = %d %q (%d bytes); want 200 %q", u, resp.StatusCode, resp.Header.Get("Content-Type"), len(body), want)
	}
	if cc := resp.Header.Get("Cache-Control"); cc != "public, max-age=31536000, immutable" {
		t.Errorf("GET %s Cache-Control = %q; want immutable for a year", u, cc)
	}
	etag := resp.Header.Get("ETag")
	if !strings.HasPrefix(etag, `"`) || len(etag) != 66 {
		t.Errorf("GET %s ETag = %q; want a quoted sha256", u, etag)
	}
	if resp, body := do(t, "GET", base+u, "", "If-None-Match", etag); resp.StatusCode != http.StatusNotModified || len(body) != 0 {
		t.Errorf("GET %s If-None-Match: its ETag = %d (%d bytes); want 304, empty", u, resp.StatusCode, len(body))
	}
	if resp, _ := do(t, "GET", base+u, "", "If-None-Match", `"other"`); resp.StatusCode != http.StatusOK {
		t.Errorf("GET %s If-None-Match: another ETag = %d; want 200", u, resp.StatusCode)
	}
	if resp, body := do(t, "HEAD", base+u, ""); resp.StatusCode != http.StatusOK || len(body) != 0 || resp.Header.Get("Content-Type") != want {
		t.Errorf("HEAD %s = %d %q (%d bytes); want 200, empty", u, resp.StatusCode, resp.Header.Get("Content-Type"), len(body))
	}
	if want == "image/png" || len(body) < 1000 {
		return // below the stack's gzip threshold, or already compressed
	}
	resp, gz := do(t, "GET", base+u, "", "Accept-Encoding", "gzip")
	if resp.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("GET %s Accept-Encoding: gzip: Content-Encoding %q; want gzip", u, resp.Header.Get("Content-Encoding"))
	}
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		t.Fatal(err)
	}
	plain, err := io.ReadAll(zr)
	if err != nil || !bytes.Equal(plain, body) {
		t.Errorf("GET %s gzip: %d bytes (%v) decompress to something else than the %d plain bytes", u, len(gz), err, len(body))
	}
}

// TestDocsAssetsServeTheEmbeddedFiles: each fingerprinted name serves the
// bytes of its embedded file, and names it does not serve are 404.
func TestDocsAssetsServeTheEmbeddedFiles(t *testing.T) {
	base := versioned(t, openapi.DocsConfig{})
	assets, err := docsassets.Load()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range assets {
		resp, body := do(t, "GET", base+"/docs/assets/"+a.Name, "")
		if resp.StatusCode != http.StatusOK || !bytes.Equal(body, a.Data) {
			t.Errorf("GET /docs/assets/%s = %d, %d bytes; want 200 and the %d bytes of %s", a.Name, resp.StatusCode, len(body), len(a.Data), a.Path)
		}
	}
	for _, name := range []string{
		"swagger-ui-bundle.js",              // unfingerprinted
		"swagger-ui-bundle.000000000000.js", // a release this binary does not hold
		"LICENSE",
		"..%2Fdocs.go",
	} {
		if resp, _ := do(t, "GET", base+"/docs/assets/"+name, ""); resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET /docs/assets/%s = %d; want 404", name, resp.StatusCode)
		}
	}
}

// TestDocsCDNOptionLoadsFromJsDelivr: with CDN the UI comes from jsDelivr
// at the pinned releases; the start-up script stays same-origin.
func TestDocsCDNOptionLoadsFromJsDelivr(t *testing.T) {
	base := versioned(t, openapi.DocsConfig{CDN: true})
	want := map[string][]string{
		"/docs":  {openapi.CDNSwaggerUICSS, openapi.CDNSwaggerUIJS, openapi.CDNSwaggerUIPresetJS},
		"/redoc": {openapi.CDNRedocJS},
	}
	for p, cdn := range want {
		_, page := do(t, "GET", base+p, "")
		var external []string
		for _, r := range pageRefs(t, page) {
			if strings.HasPrefix(r.url, "https://") {
				external = append(external, r.url)
			} else if !strings.HasPrefix(r.url, "/docs/assets/") {
				t.Errorf("GET %s: %s %q is neither the CDN nor /docs/assets/", p, r.tag, r.url)
			}
		}
		if strings.Join(external, " ") != strings.Join(cdn, " ") {
			t.Errorf("GET %s loads %v from other hosts; want %v", p, external, cdn)
		}
	}
}

// TestDocsAssetsAre404InProduction: the assets go with the pages.
func TestDocsAssetsAre404InProduction(t *testing.T) {
	assets, err := docsassets.Load()
	if err != nil {
		t.Fatal(err)
	}
	base := versioned(t, settings("production", nil).DocsConfig())
	for _, a := range assets {
		if resp, _ := do(t, "GET", base+"/docs/assets/"+a.Name, ""); resp.StatusCode != http.StatusNotFound {
			t.Errorf("production GET /docs/assets/%s = %d; want 404", a.Name, resp.StatusCode)
		}
	}
}
