// Package docsassets holds the files the openapi docs pages load by
// default: pinned releases of Swagger UI (npm swagger-ui-dist) and ReDoc
// (npm redoc's standalone bundle), copied byte for byte by update.sh with
// their licences, and the pages' own start-up script and style.
//
// SOURCES records each release's npm integrity and each file's sha256;
// TestPinnedVersions holds the files, SOURCES and the constants below to
// one another.
package docsassets

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"path"
	"strings"
)

// The embedded releases.
const (
	SwaggerUIVersion = "5.36.0" // npm swagger-ui-dist
	RedocVersion     = "2.5.4"  // npm redoc
)

// Paths of the served files in the embedded tree.
const (
	SwaggerUIJS       = "swagger-ui-dist/swagger-ui-bundle.js"
	SwaggerUICSS      = "swagger-ui-dist/swagger-ui.css"
	SwaggerUIPresetJS = "swagger-ui-dist/swagger-ui-standalone-preset.js"
	Favicon           = "swagger-ui-dist/favicon-32x32.png"
	RedocJS           = "redoc/redoc.standalone.js"
	SwaggerInitJS     = "page/swagger-init.js"
	RedocCSS          = "page/redoc.css"
)

var served = []string{SwaggerUIJS, SwaggerUICSS, SwaggerUIPresetJS, Favicon, RedocJS, SwaggerInitJS, RedocCSS}

//go:embed swagger-ui-dist/swagger-ui-bundle.js swagger-ui-dist/swagger-ui.css
//go:embed swagger-ui-dist/swagger-ui-standalone-preset.js swagger-ui-dist/favicon-32x32.png
//go:embed redoc/redoc.standalone.js page
var files embed.FS

// Asset is one served file.
type Asset struct {
	// Path is the file's path in the embedded tree, one of the constants
	// above.
	Path string
	// Name is the name it is served under: its base name with the first
	// 12 hex digits of its sha256 before the extension
	// (swagger-ui-bundle.b164c5a22535.js), so a new release gets a new URL
	// and the old one can be cached for good.
	Name string
	// ContentType is its media type with charset for text.
	ContentType string
	// ETag is a strong validator: its quoted sha256 in hex.
	ETag string
	Data []byte
}

// Load reads and fingerprints the served files, about 3.2 MB hashed once.
func Load() ([]Asset, error) {
	out := make([]Asset, 0, len(served))
	for _, p := range served {
		b, err := files.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("docsassets: %w", err)
		}
		sum := sha256.Sum256(b)
		hexSum := hex.EncodeToString(sum[:])
		ext := path.Ext(p)
		out = append(out, Asset{
			Path:        p,
			Name:        strings.TrimSuffix(path.Base(p), ext) + "." + hexSum[:12] + ext,
			ContentType: contentType(ext),
			ETag:        `"` + hexSum + `"`,
			Data:        b,
		})
	}
	return out, nil
}

func contentType(ext string) string {
	switch ext {
	case ".js":
		return "text/javascript; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	case ".png":
		return "image/png"
	}
	return "application/octet-stream"
}
