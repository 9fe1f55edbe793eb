package openapi

import (
	"bytes"
	"cmp"
	"fmt"
	"html/template"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/gantry-dev/gantry/openapi/internal/docsassets"
)

// SwaggerUIVersion and RedocVersion are the releases of Swagger UI (npm
// swagger-ui-dist) and ReDoc (npm redoc) embedded in the binary, which
// the docs pages load by default, and the ones [DocsConfig.CDN] loads.
const (
	SwaggerUIVersion = docsassets.SwaggerUIVersion
	RedocVersion     = docsassets.RedocVersion
)

// The jsDelivr URLs [DocsConfig.CDN] loads, pinned at the embedded
// releases.
const (
	CDNSwaggerUIJS  = "https://cdn.jsdelivr.net/npm/swagger-ui-dist@" + SwaggerUIVersion + "/swagger-ui-bundle.js"
	CDNSwaggerUICSS = "https://cdn.jsdelivr.net/npm/swagger-ui-dist@" + SwaggerUIVersion + "/swagger-ui.css"
	// CDNSwaggerUIPresetJS is loaded only when the page lists several
	// documents: its top bar holds the selector between them.
	CDNSwaggerUIPresetJS = "https://cdn.jsdelivr.net/npm/swagger-ui-dist@" + SwaggerUIVersion + "/swagger-ui-standalone-preset.js"
	CDNRedocJS           = "https://cdn.jsdelivr.net/npm/redoc@" + RedocVersion + "/bundles/redoc.standalone.js"
)

// DocsConfig says whether and where the documents and the docs pages are
// served. The zero value serves them with the defaults below, every
// script and style from the binary itself; production sets Disabled
// (config.Settings.DocsConfig does).
type DocsConfig struct {
	// Disabled mounts nothing: the documents, /docs, /redoc and their
	// assets all answer 404, as the seed does in production.
	Disabled bool
	// Title is the pages' title. Default the first API's title.
	Title string
	// DocsPath is where the Swagger UI page is served. Default "/docs";
	// "-" leaves it out.
	DocsPath string
	// RedocPath is where the ReDoc page is served. Default "/redoc"; "-"
	// leaves it out.
	RedocPath string
	// CDN loads Swagger UI and ReDoc from jsDelivr (the CDN* URLs, at the
	// embedded releases) instead of the copies embedded in the binary.
	// The pages' own start-up script and style are served from the
	// binary either way.
	CDN bool
	// AssetsURL, when set, is the base URL of self-hosted copies of the
	// assets: the pages load AssetsURL + "/swagger-ui-bundle.js",
	// "/swagger-ui.css", "/swagger-ui-standalone-preset.js",
	// "/redoc.standalone.js" and "/favicon-32x32.png" (the files of the
	// swagger-ui-dist and redoc npm packages). It wins over CDN.
	AssetsURL string
	// SwaggerUIJS, SwaggerUICSS, SwaggerUIPresetJS and RedocJS are the
	// pages' asset URLs, each winning over AssetsURL and CDN. Defaults
	// the embedded copies, served under DocsPath + "/assets/" (RedocPath
	// + "/assets/" when DocsPath is "-").
	SwaggerUIJS       string
	SwaggerUICSS      string
	SwaggerUIPresetJS string
	RedocJS           string
	// Favicon is the pages' icon URL; default the embedded
	// favicon-32x32.png (or AssetsURL + "/favicon-32x32.png").
	Favicon string
}

// withDefaults fills in the paths and title, and the asset URLs from
// AssetsURL, CDN or urls (the embedded copies' URLs by path).
func (c DocsConfig) withDefaults(apis []*API, urls map[string]string) DocsConfig {
	c.DocsPath = cmp.Or(c.DocsPath, "/docs")
	c.RedocPath = cmp.Or(c.RedocPath, "/redoc")
	if c.Title == "" && len(apis) > 0 {
		c.Title = apis[0].Title()
	}
	if base := strings.TrimSuffix(c.AssetsURL, "/"); base != "" {
		c.SwaggerUIJS = cmp.Or(c.SwaggerUIJS, base+"/swagger-ui-bundle.js")
		c.SwaggerUICSS = cmp.Or(c.SwaggerUICSS, base+"/swagger-ui.css")
		c.SwaggerUIPresetJS = cmp.Or(c.SwaggerUIPresetJS, base+"/swagger-ui-standalone-preset.js")
		c.RedocJS = cmp.Or(c.RedocJS, base+"/redoc.standalone.js")
		c.Favicon = cmp.Or(c.Favicon, base+"/favicon-32x32.png")
	}
	if c.CDN {
		c.SwaggerUIJS = cmp.Or(c.SwaggerUIJS, CDNSwaggerUIJS)
		c.SwaggerUICSS = cmp.Or(c.SwaggerUICSS, CDNSwaggerUICSS)
		c.SwaggerUIPresetJS = cmp.Or(c.SwaggerUIPresetJS, CDNSwaggerUIPresetJS)
		c.RedocJS = cmp.Or(c.RedocJS, CDNRedocJS)
	}
	c.SwaggerUIJS = cmp.Or(c.SwaggerUIJS, urls[docsassets.SwaggerUIJS])
	c.SwaggerUICSS = cmp.Or(c.SwaggerUICSS, urls[docsassets.SwaggerUICSS])
	c.SwaggerUIPresetJS = cmp.Or(c.SwaggerUIPresetJS, urls[docsassets.SwaggerUIPresetJS])
	c.RedocJS = cmp.Or(c.RedocJS, urls[docsassets.RedocJS])
	c.Favicon = cmp.Or(c.Favicon, urls[docsassets.Favicon])
	return c
}

// assetsPath is where the embedded files are served: under the first
// page's path.
func (c DocsConfig) assetsPath() string {
	p := c.DocsPath
	if p == "-" {
		p = c.RedocPath
	}
	return strings.TrimSuffix(p, "/") + "/assets"
}

// Mount serves, on e, each API's document at its [API.DocumentPath]
// (e.g. /api/v1/openapi.json), a Swagger UI page at DocsPath listing every
// document (a selector switches between versions) and a ReDoc page at
// RedocPath (the first document; ?doc=N picks the N-th, from 0). When
// c.Disabled it mounts nothing. The documents are built once and cached.
//
// The embedded scripts, styles and icon are served under DocsPath +
// "/assets/" with names that change with their content, so they are sent
// with Cache-Control: immutable for a year and an ETag. The pages hold no
// inline script (the Swagger UI page's start-up code is one of those
// files), so they work under a Content-Security-Policy of script-src
// 'self'; ReDoc injects its styles and needs style-src 'unsafe-inline'.
func (c DocsConfig) Mount(e *echo.Echo, apis ...*API) error {
	if c.Disabled {
		return nil
	}
	if len(apis) == 0 {
		return fmt.Errorf("%w: no API to document", ErrInvalidConfig)
	}
	c.DocsPath = cmp.Or(c.DocsPath, "/docs")
	c.RedocPath = cmp.Or(c.RedocPath, "/redoc")
	for _, p := range []string{c.DocsPath, c.RedocPath} {
		if p != "-" && !strings.HasPrefix(p, "/") {
			return fmt.Errorf("%w: docs path %q must start with /", ErrInvalidConfig, p)
		}
	}
	var docs []docLink
	seen := map[string]bool{}
	for _, a := range apis {
		path := a.DocumentPath()
		if seen[path] {
			return fmt.Errorf("%w: two APIs serve %s", ErrInvalidConfig, path)
		}
		seen[path] = true
		name := a.Title()
		if a.Prefix() != "" {
			name += " (" + a.Prefix() + ")"
		}
		docs = append(docs, docLink{Name: name, URL: path})
		e.GET(path, func(ec echo.Context) error {
			b, err := a.JSON()
			if err != nil {
				return err
			}
			return ec.Blob(http.StatusOK, echo.MIMEApplicationJSON, b)
		})
	}
	if c.DocsPath == "-" && c.RedocPath == "-" {
		return nil
	}

	assets, err := docsassets.Load()
	if err != nil {
		return err
	}
	urls := make(map[string]string, len(assets))
	byName := make(map[string]docsassets.Asset, len(assets))
	for _, a := range assets {
		urls[a.Path] = c.assetsPath() + "/" + a.Name
		byName[a.Name] = a
	}
	c = c.withDefaults(apis, urls)
	e.Match([]string{http.MethodGet, http.MethodHead}, c.assetsPath()+"/:name", assetHandler(byName))

	if c.DocsPath != "-" {
		layout := "BaseLayout"
		if len(docs) > 1 {
			layout = "StandaloneLayout"
		}
		page, err := render(swaggerPage, map[string]any{
			"C":      c,
			"Multi":  len(docs) > 1,
			"Init":   urls[docsassets.SwaggerInitJS],
			"Config": swaggerConfig{URLs: docs, Layout: layout},
		})
		if err != nil {
			return err
		}
		e.GET(c.DocsPath, htmlHandler(page))
	}
	if c.RedocPath != "-" {
		pages := make([][]byte, len(docs))
		for i := range docs {
			var err error
			if pages[i], err = render(redocPage, map[string]any{"C": c, "Docs": docs, "Doc": docs[i], "CSS": urls[docsassets.RedocCSS]}); err != nil {
				return err
			}
		}
		e.GET(c.RedocPath, func(ec echo.Context) error {
			i := 0
			if q := ec.QueryParam("doc"); q != "" {
				if _, err := fmt.Sscan(q, &i); err != nil || i < 0 || i >= len(pages) {
					return echo.NewHTTPError(http.StatusNotFound, "no such document")
				}
			}
			return htmlHandler(pages[i])(ec)
		})
	}
	return nil
}

type docLink struct {
	Name string `json:"name"`
	URL  string `json:"url"`
}

// swaggerConfig is what the Swagger UI page's start-up script reads from
// the page's JSON block.
type swaggerConfig struct {
	URLs   []docLink `json:"urls"`
	Layout string    `json:"layout"`
}

func render(t *template.Template, data any) ([]byte, error) {
	var buf bytes.Buffer
	if err := t.Execute(&buf, data); err != nil {
		return nil, fmt.Errorf("openapi: render docs page: %w", err)
	}
	return buf.Bytes(), nil
}

func htmlHandler(page []byte) echo.HandlerFunc {
	return func(c echo.Context) error {
		return c.HTMLBlob(http.StatusOK, page)
	}
}

// assetHandler serves the embedded files by their fingerprinted names:
// immutable for a year, with an ETag (a matching If-None-Match gets 304)
// and ranges; the stack gzips them for clients that accept it.
func assetHandler(byName map[string]docsassets.Asset) echo.HandlerFunc {
	return func(c echo.Context) error {
		a, ok := byName[c.Param("name")]
		if !ok {
			return echo.NewHTTPError(http.StatusNotFound, "no such asset")
		}
		h := c.Response().Header()
		h.Set(echo.HeaderContentType, a.ContentType)
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
		h.Set("ETag", a.ETag)
		http.ServeContent(c.Response(), c.Request(), "", time.Time{}, bytes.NewReader(a.Data))
		return nil
	}
}

var swaggerPage = template.Must(template.New("swagger").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.C.Title}} - Swagger UI</title>
<link rel="stylesheet" href="{{.C.SwaggerUICSS}}">
{{with .C.Favicon}}<link rel="icon" href="{{.}}">{{end}}
</head>
<body>
<div id="swagger-ui"></div>
<script id="swagger-ui-config" type="application/json">{{.Config}}</script>
<script src="{{.C.SwaggerUIJS}}"></script>
{{- if .Multi}}
<script src="{{.C.SwaggerUIPresetJS}}"></script>
{{- end}}
<script src="{{.Init}}"></script>
</body>
</html>
`))

var redocPage = template.Must(template.New("redoc").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.C.Title}} - ReDoc</title>
{{with .C.Favicon}}<link rel="icon" href="{{.}}">{{end}}
<link rel="stylesheet" href="{{.CSS}}">
</head>
<body>
{{if gt (len .Docs) 1}}<nav>{{range $i, $d := .Docs}}<a href="?doc={{$i}}">{{$d.Name}}</a> {{end}}</nav>{{end}}
<redoc spec-url="{{.Doc.URL}}"{{if gt (len .Docs) 1}} scroll-y-offset="nav"{{end}}></redoc>
<script src="{{.C.RedocJS}}"></script>
</body>
</html>
`))
