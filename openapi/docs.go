package openapi

import (
	"bytes"
	"cmp"
	"fmt"
	"html/template"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
)

// Default asset URLs of the docs pages: public CDN copies, as FastAPI
// uses. Point [DocsConfig] at self-hosted copies where browsers cannot
// reach the CDN or a content security policy forbids it.
const (
	DefaultSwaggerUIJS  = "https://cdn.jsdelivr.net/npm/swagger-ui-dist@5/swagger-ui-bundle.js"
	DefaultSwaggerUICSS = "https://cdn.jsdelivr.net/npm/swagger-ui-dist@5/swagger-ui.css"
	// DefaultSwaggerUIPresetJS is loaded only when the page lists several
	// documents: its top bar holds the selector between them.
	DefaultSwaggerUIPresetJS = "https://cdn.jsdelivr.net/npm/swagger-ui-dist@5/swagger-ui-standalone-preset.js"
	DefaultRedocJS           = "https://cdn.jsdelivr.net/npm/redoc@2/bundles/redoc.standalone.js"
)

// DocsConfig says whether and where the documents and the docs pages are
// served. The zero value serves them with the defaults below; production
// sets Disabled (config.Settings.DocsConfig does).
type DocsConfig struct {
	// Disabled mounts nothing: the documents, /docs and /redoc all answer
	// 404, as the seed does in production.
	Disabled bool
	// Title is the pages' title. Default the first API's title.
	Title string
	// DocsPath is where the Swagger UI page is served. Default "/docs";
	// "-" leaves it out.
	DocsPath string
	// RedocPath is where the ReDoc page is served. Default "/redoc"; "-"
	// leaves it out.
	RedocPath string
	// AssetsURL, when set, is the base URL of self-hosted copies of the
	// assets: the defaults below become AssetsURL + "/swagger-ui-bundle.js",
	// "/swagger-ui.css", "/redoc.standalone.js" and "/favicon-32x32.png" (the
	// files of the swagger-ui-dist and redoc npm packages).
	AssetsURL string
	// SwaggerUIJS, SwaggerUICSS, SwaggerUIPresetJS and RedocJS are the
	// pages' asset URLs. Defaults [DefaultSwaggerUIJS],
	// [DefaultSwaggerUICSS], [DefaultSwaggerUIPresetJS] and
	// [DefaultRedocJS] (or the files under AssetsURL).
	SwaggerUIJS       string
	SwaggerUICSS      string
	SwaggerUIPresetJS string
	RedocJS           string
	// Favicon is the pages' icon URL; default none (or AssetsURL +
	// "/favicon-32x32.png").
	Favicon string
}

func (c DocsConfig) withDefaults(apis []*API) DocsConfig {
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
	c.SwaggerUIJS = cmp.Or(c.SwaggerUIJS, DefaultSwaggerUIJS)
	c.SwaggerUICSS = cmp.Or(c.SwaggerUICSS, DefaultSwaggerUICSS)
	c.SwaggerUIPresetJS = cmp.Or(c.SwaggerUIPresetJS, DefaultSwaggerUIPresetJS)
	c.RedocJS = cmp.Or(c.RedocJS, DefaultRedocJS)
	return c
}

// Mount serves, on e, each API's document at its [API.DocumentPath]
// (e.g. /api/v1/openapi.json), a Swagger UI page at DocsPath listing every
// document (a selector switches between versions) and a ReDoc page at
// RedocPath (the first document; ?doc=N picks the N-th, from 0). When
// c.Disabled it mounts nothing. The pages load their scripts from the
// configured asset URLs; the documents are built once and cached.
func (c DocsConfig) Mount(e *echo.Echo, apis ...*API) error {
	if c.Disabled {
		return nil
	}
	if len(apis) == 0 {
		return fmt.Errorf("%w: no API to document", ErrInvalidConfig)
	}
	c = c.withDefaults(apis)
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
	if c.DocsPath != "-" {
		page, err := render(swaggerPage, map[string]any{"C": c, "Docs": docs})
		if err != nil {
			return err
		}
		e.GET(c.DocsPath, htmlHandler(page))
	}
	if c.RedocPath != "-" {
		pages := make([][]byte, len(docs))
		for i := range docs {
			var err error
			if pages[i], err = render(redocPage, map[string]any{"C": c, "Docs": docs, "Doc": docs[i]}); err != nil {
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

type docLink struct{ Name, URL string }

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
<script src="{{.C.SwaggerUIJS}}"></script>
{{- if gt (len .Docs) 1}}
<script src="{{.C.SwaggerUIPresetJS}}"></script>
<script>
window.ui = SwaggerUIBundle({
  urls: [{{range .Docs}}{url: {{.URL}}, name: {{.Name}}},{{end}}],
  dom_id: "#swagger-ui",
  layout: "StandaloneLayout",
  deepLinking: true,
  showExtensions: true,
  persistAuthorization: true,
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
  plugins: [SwaggerUIBundle.plugins.DownloadUrl],
});
</script>
{{- else}}
<script>
window.ui = SwaggerUIBundle({
  url: {{(index .Docs 0).URL}},
  dom_id: "#swagger-ui",
  layout: "BaseLayout",
  deepLinking: true,
  showExtensions: true,
  persistAuthorization: true,
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
});
</script>
{{- end}}
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
<style>body { margin: 0; padding: 0; } nav { font-family: sans-serif; padding: 8px 16px; border-bottom: 1px solid #ddd; } nav a { margin-right: 16px; }</style>
</head>
<body>
{{if gt (len .Docs) 1}}<nav>{{range $i, $d := .Docs}}<a href="?doc={{$i}}">{{$d.Name}}</a> {{end}}</nav>{{end}}
<redoc spec-url="{{.Doc.URL}}"{{if gt (len .Docs) 1}} scroll-y-offset="nav"{{end}}></redoc>
<script src="{{.C.RedocJS}}"></script>
</body>
</html>
`))
