package middleware_test

import (
	"bytes"
	"compress/gzip"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/gantry-dev/gantry/middleware"
)

// TestGzipStandaloneAndStack runs the same cases through the standalone
// gzip piece and through the composed stack (which inlines it): both must
// answer alike.
func TestGzipStandaloneAndStack(t *testing.T) {
	t.Parallel()
	big := strings.Repeat("gantry ", 1000)
	var pre bytes.Buffer
	zw := gzip.NewWriter(&pre)
	_, _ = zw.Write([]byte(big))
	_ = zw.Close()
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector())
	scrape := promhttp.HandlerFor(reg, promhttp.HandlerOpts{})

	tests := []struct {
		name    string
		handler echo.HandlerFunc
		hdr     map[string]string
		status  int
		encoded bool   // the response carries Content-Encoding: gzip
		want    string // the body after decoding gzip once ("" = skip)
		prom    bool   // the decoded body must parse as the text format
	}{
		{name: "big", handler: text(big), hdr: gz, status: 200, encoded: true, want: big},
		{name: "big, no accept-encoding", handler: text(big), status: 200, want: big},
		{name: "big, gzip;q=0", handler: text(big), hdr: map[string]string{"Accept-Encoding": "gzip;q=0, identity"}, status: 200, want: big},
		{name: "small", handler: text("tiny"), hdr: gz, status: 200, want: "tiny"},
		{name: "already gzip-encoded", handler: func(c echo.Context) error {
			c.Response().Header().Set("Content-Encoding", "gzip")
			c.Response().Header().Add("Vary", "Accept-Encoding")
			return c.Blob(http.StatusOK, "text/plain", pre.Bytes())
		}, hdr: gz, status: 200, encoded: true, want: big},
		{name: "promhttp", handler: echo.WrapHandler(scrape), hdr: gz, status: 200, encoded: true, prom: true},
		{name: "metrics handler", handler: echo.WrapHandler(middleware.MetricsHandler(reg)), hdr: gz, status: 200, encoded: true, prom: true},
		{name: "metrics handler, no accept-encoding", handler: echo.WrapHandler(middleware.MetricsHandler(reg)), status: 200, prom: true},
		{name: "range 206", handler: serveFile, hdr: map[string]string{"Accept-Encoding": "gzip", "Range": "bytes=100-4099"}, status: 206, want: string(fileContent[100:4100])},
		{name: "whole file", handler: serveFile, hdr: gz, status: 200, encoded: true, want: string(fileContent)},
		{name: "no-transform", handler: func(c echo.Context) error {
			c.Response().Header().Set("Cache-Control", "no-transform")
			return c.String(http.StatusOK, big)
		}, hdr: gz, status: 200, want: big},
		{name: "flushed stream", handler: func(c echo.Context) error {
			c.Response().Header().Set("Content-Type", "application/x-ndjson")
			c.Response().WriteHeader(http.StatusOK)
			_, _ = c.Response().Write([]byte("{}\n"))
			c.Response().Flush() // compressed from here: the final size is unknown
			_, _ = c.Response().Write([]byte("{}\n"))
			return nil
		}, hdr: gz, status: 200, encoded: true, want: "{}\n{}\n"},
		// server-sent events pass through: each event reaches the client as flushed
		{name: "event stream", handler: func(c echo.Context) error {
			c.Response().Header().Set("Content-Type", "text/event-stream")
			c.Response().WriteHeader(http.StatusOK)
			_, _ = c.Response().Write([]byte("data: 1\n\n"))
			c.Response().Flush()
			_, _ = c.Response().Write([]byte("data: " + big + "\n\n"))
			return nil
		}, hdr: gz, status: 200, want: "data: 1\n\ndata: " + big + "\n\n"},
		{name: "event stream with charset, unflushed and big", handler: func(c echo.Context) error {
			return c.Blob(http.StatusOK, "Text/Event-Stream; charset=utf-8", []byte("data: "+big+"\n\n"))
		}, hdr: gz, status: 200, want: "data: " + big + "\n\n"},
		{name: "204", handler: func(c echo.Context) error { return c.NoContent(http.StatusNoContent) }, hdr: gz, status: 204},
		// errors are rendered outside the piece, uncompressed (as echo's Gzip does)
		{name: "error", handler: func(c echo.Context) error { return echo.NewHTTPError(http.StatusTeapot, big) }, hdr: gz, status: 418},
	}
	standalone, err := middleware.GzipConfig{}.ToMiddleware()
	if err != nil {
		t.Fatal(err)
	}
	stack, err := middleware.NewStack(middleware.StackConfig{Logger: discardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	for _, piece := range []struct {
		name string
		mw   echo.MiddlewareFunc
	}{{"standalone", standalone}, {"stack", stack.Middleware()}} {
		for _, tt := range tests {
			t.Run(piece.name+"/"+tt.name, func(t *testing.T) {
				req := httptest.NewRequest(http.MethodGet, "/", nil)
				for k, v := range tt.hdr {
					req.Header.Set(k, v)
				}
				rec := serve(t, piece.mw, req, tt.handler)
				if rec.Code != tt.status {
					t.Fatalf("status = %d; want %d", rec.Code, tt.status)
				}
				body := rec.Body.Bytes()
				if got := rec.Header().Get("Content-Encoding") == "gzip"; got != tt.encoded {
					t.Fatalf("Content-Encoding = %q; want gzip %v", rec.Header().Get("Content-Encoding"), tt.encoded)
				}
				if tt.encoded {
					body = gunzip(t, body)
					if rec.Header().Get("Content-Length") != "" {
						t.Errorf("Content-Length %s sent with a gzip body", rec.Header().Get("Content-Length"))
					}
				}
				if tt.want != "" && string(body) != tt.want {
					t.Errorf("body = %d bytes %q…; want %d bytes %q…", len(body), body[:min(len(body), 16)], len(tt.want), tt.want[:min(len(tt.want), 16)])
				}
				if tt.prom {
					p := expfmt.NewTextParser(model.UTF8Validation)
					if _, err := p.TextToMetricFamilies(bytes.NewReader(body)); err != nil {
						t.Errorf("scrape does not parse: %v (starts %q)", err, body[:min(len(body), 16)])
					}
				}
				if n := varyTokens(rec.Header(), "Accept-Encoding"); n != 1 {
					t.Errorf("Vary = %q: Accept-Encoding %d times; want once", rec.Header().Values("Vary"), n)
				}
			})
		}
	}
}

var gz = map[string]string{"Accept-Encoding": "gzip"}

func text(s string) echo.HandlerFunc {
	return func(c echo.Context) error { return c.String(http.StatusOK, s) }
}

func serveFile(c echo.Context) error {
	http.ServeContent(c.Response(), c.Request(), "file.txt", time.Unix(1700000000, 0), bytes.NewReader(fileContent))
	return nil
}

func TestGzipConfigErrors(t *testing.T) {
	t.Parallel()
	for _, cfg := range []middleware.GzipConfig{{Level: 42}, {MinLength: -1}} {
		if _, err := cfg.ToMiddleware(); err == nil {
			t.Errorf("GzipConfig%+v.ToMiddleware() = nil error; want ErrInvalidConfig", cfg)
		}
	}
}
