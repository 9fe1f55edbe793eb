package middleware_test

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/gantry-dev/gantry/server"
)

// fileContent is what GET /file serves through http.ServeContent.
var fileContent = func() []byte {
	var b bytes.Buffer
	for i := range 2000 {
		fmt.Fprintf(&b, "line %05d\n", i)
	}
	return b.Bytes()
}()

// varyTokens counts the Vary tokens equal to name across every Vary line.
func varyTokens(h http.Header, name string) int {
	n := 0
	for _, v := range h.Values("Vary") {
		for tok := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(tok), name) {
				n++
			}
		}
	}
	return n
}

func gunzip(tb testing.TB, b []byte) []byte {
	tb.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		tb.Fatalf("gunzip: %v (body starts %q)", err, b[:min(len(b), 16)])
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		tb.Fatalf("gunzip: %v", err)
	}
	return out
}

// TestStackMetricsScrapeGzip scrapes /metrics (promhttp, which compresses
// by itself) through the full default stack as Prometheus does: with
// Accept-Encoding: gzip, decoding exactly once.
func TestStackMetricsScrapeGzip(t *testing.T) {
	t.Parallel()
	// the Go and process collectors make the compressed scrape larger than
	// the stack's MinLength, as in every real app
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	base, _, _ := gantry(t, baseSettings(), server.MiddlewareConfig{Registerer: reg, Gatherer: reg})
	client := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	for _, ae := range []string{"gzip", ""} {
		t.Run("accept-encoding="+ae, func(t *testing.T) {
			req := mustReq(t, http.MethodGet, base+"/metrics")
			req.Host = "api.example.com"
			if ae != "" {
				req.Header.Set("Accept-Encoding", ae)
			}
			res, body := doReq(t, client, req)
			if res.StatusCode != 200 {
				t.Fatalf("GET /metrics = %d", res.StatusCode)
			}
			if ce := res.Header.Get("Content-Encoding"); ce != ae {
				t.Fatalf("Content-Encoding = %q; want %q", ce, ae)
			}
			if ae == "gzip" {
				body = gunzip(t, body)
			}
			parser := expfmt.NewTextParser(model.UTF8Validation)
			families, err := parser.TextToMetricFamilies(bytes.NewReader(body))
			if err != nil {
				t.Fatalf("parse the scrape: %v (body starts %q)", err, body[:min(len(body), 32)])
			}
			if families["gantry_http_requests_in_flight"] == nil || families["go_goroutines"] == nil {
				t.Errorf("scrape has %d families, not gantry_http_requests_in_flight and go_goroutines", len(families))
			}
			if n := varyTokens(res.Header, "Accept-Encoding"); n != 1 {
				t.Errorf("Vary = %q: Accept-Encoding %d times; want once", res.Header.Values("Vary"), n)
			}
		})
	}
}

// TestStackRangeNotCompressed: a ranged file download (206) passes the
// stack's gzip untouched; the whole file (200) is compressed.
func TestStackRangeNotCompressed(t *testing.T) {
	t.Parallel()
	base, _, _ := gantry(t, baseSettings(), server.MiddlewareConfig{})
	client := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	req := mustReq(t, http.MethodGet, base+"/file")
	req.Host = "api.example.com"
	req.Header.Set("Accept-Encoding", "gzip")
	req.Header.Set("Range", "bytes=100-4099")
	res, body := doReq(t, client, req)
	if res.StatusCode != http.StatusPartialContent || res.Header.Get("Content-Encoding") != "" {
		t.Fatalf("ranged GET = %d, Content-Encoding %q; want 206 and none", res.StatusCode, res.Header.Get("Content-Encoding"))
	}
	if !bytes.Equal(body, fileContent[100:4100]) {
		t.Errorf("206 body = %d bytes starting %q; want bytes 100-4099 of the file", len(body), body[:min(len(body), 16)])
	}
	req.Header.Del("Range")
	res, body = doReq(t, client, req)
	if res.StatusCode != 200 || res.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("whole GET = %d, Content-Encoding %q; want 200 gzip", res.StatusCode, res.Header.Get("Content-Encoding"))
	}
	if got := gunzip(t, body); !bytes.Equal(got, fileContent) {
		t.Errorf("whole file decoded to %d bytes; want %d", len(got), len(fileContent))
	}
}
