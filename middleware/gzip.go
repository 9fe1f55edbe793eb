package middleware

import (
	"bufio"
	"compress/gzip"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
)

// GzipConfig configures response compression, the stack's piece 10, usable
// alone. A response is compressed only when the client accepts gzip, it is
// at least MinLength bytes (or is flushed early), and it is not already
// encoded or partial: a response that carries Content-Encoding (e.g.
// promhttp's own gzip) or Content-Range, a 206, 204 or 304, and one marked
// Cache-Control: no-transform pass through untouched, and so does a
// text/event-stream (server-sent events: each event must reach the client
// when it is flushed, and proxies and browsers handle a compressed stream
// badly). Vary: Accept-Encoding
// is sent once, whoever else adds it, on every response the piece wraps;
// when the client does not accept gzip the piece only adds Vary and does
// not wrap (so costs nothing), and a handler adding its own Vary:
// Accept-Encoding then sends it beside the piece's ([MetricsHandler] merges
// them).
//
// Written here rather than reusing echo's Gzip, which compresses a
// response that is already gzip-encoded a second time (a Prometheus
// scrape then fails with "INVALID is not a valid start token"),
// compresses 206 partial content, and adds a second Vary: Accept-Encoding
// to handlers that send their own.
type GzipConfig struct {
	// Skipper skips compression; default none.
	Skipper middleware.Skipper
	// Level is the gzip level; default gzip.DefaultCompression.
	Level int
	// MinLength is the smallest body compressed, in bytes; default 1000.
	// Shorter bodies are buffered and sent as they are.
	MinLength int
}

// ToMiddleware returns the gzip middleware, or an error wrapping
// [ErrInvalidConfig] for an invalid Level or a negative MinLength.
func (cfg GzipConfig) ToMiddleware() (echo.MiddlewareFunc, error) {
	g, err := newGzipper(cfg.Level, cfg.MinLength)
	if err != nil {
		return nil, err
	}
	g.skip = cfg.Skipper
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if g.skipped(c) {
				return next(c)
			}
			addVary(c.Response().Header(), echo.HeaderAcceptEncoding)
			if !acceptsGzip(c.Request()) {
				return next(c)
			}
			return g.serve(c, next)
		}
	}, nil
}

// skipped reports whether the Skipper skips c.
func (g *gzipper) skipped(c echo.Context) bool { return g.skip != nil && g.skip(c) }

// gzipper is the compiled gzip piece, shared by [GzipConfig] and the stack.
type gzipper struct {
	skip             middleware.Skipper
	level, minLength int
	zws              sync.Pool // *gzip.Writer
	ws               sync.Pool // *gzipWriter
}

func newGzipper(level, minLength int) (*gzipper, error) {
	if level == 0 {
		level = gzip.DefaultCompression
	}
	if level < gzip.HuffmanOnly || level > gzip.BestCompression {
		return nil, fmt.Errorf("%w: gzip level %d", ErrInvalidConfig, level)
	}
	if minLength < 0 {
		return nil, fmt.Errorf("%w: negative gzip MinLength", ErrInvalidConfig)
	}
	if minLength == 0 {
		minLength = 1000
	}
	g := &gzipper{level: level, minLength: minLength}
	g.zws.New = func() any {
		zw, _ := gzip.NewWriterLevel(nil, g.level) // level validated above
		return zw
	}
	g.ws.New = func() any { return &gzipWriter{g: g} }
	return g, nil
}

// serve runs next with the response writer wrapped; the caller has checked
// that the client accepts gzip and has set Vary.
func (g *gzipper) serve(c echo.Context, next echo.HandlerFunc) error {
	res := c.Response()
	w := g.ws.Get().(*gzipWriter)
	w.rw = res.Writer
	res.Writer = w
	defer func() { // also when next panics: the recover renders through rw
		w.finish()
		res.Writer = w.rw
		w.rw = nil
		g.ws.Put(w)
	}()
	return next(c)
}

// wrap returns next behind the gzip writer (the stack's path).
func (g *gzipper) wrap(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error { return g.serve(c, next) }
}

const (
	gzPending     = iota // header not sent; body buffered below minLength
	gzPassthrough        // not compressed: header and body went through as they are
	gzCompressing        // Content-Encoding: gzip sent, body goes through zw
)

// gzipWriter delays the header until it knows whether the body is
// compressed: at the header when the response is not eligible, at
// minLength bytes, at Flush, or at the end.
type gzipWriter struct {
	g           *gzipper
	rw          http.ResponseWriter
	zw          *gzip.Writer
	buf         []byte
	code        int
	state       int
	wroteHeader bool
}

func (w *gzipWriter) Header() http.Header { return w.rw.Header() }

func (w *gzipWriter) WriteHeader(code int) {
	if code < 200 { // informational (103 Early Hints): not the response yet
		w.rw.WriteHeader(code)
		return
	}
	if w.wroteHeader {
		return
	}
	w.wroteHeader, w.code = true, code
	if !compressible(code, w.rw.Header()) {
		w.state = gzPassthrough
		dedupeVary(w.rw.Header())
		w.rw.WriteHeader(code)
	}
}

func (w *gzipWriter) Write(b []byte) (int, error) {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	switch w.state {
	case gzPassthrough:
		return w.rw.Write(b)
	case gzCompressing:
		return w.zw.Write(b)
	}
	if len(w.buf)+len(b) < w.g.minLength {
		w.buf = append(w.buf, b...)
		return len(b), nil
	}
	if err := w.startGzip(b); err != nil {
		return 0, err
	}
	return len(b), nil
}

// startGzip sends the header with Content-Encoding: gzip and compresses
// the buffer, then more (the write that crossed minLength).
func (w *gzipWriter) startGzip(more []byte) error {
	h := w.rw.Header()
	if _, ok := h[echo.HeaderContentType]; !ok { // net/http would sniff the gzip bytes
		sniff := w.buf
		if len(sniff) < 512 {
			sniff = append(sniff[:len(sniff):len(sniff)], more[:min(len(more), 512-len(sniff))]...)
		}
		h[echo.HeaderContentType] = []string{http.DetectContentType(sniff)}
	}
	h[echo.HeaderContentEncoding] = []string{"gzip"}
	delete(h, echo.HeaderContentLength)
	dedupeVary(h)
	w.state = gzCompressing
	w.rw.WriteHeader(w.code)
	w.zw = w.g.zws.Get().(*gzip.Writer)
	w.zw.Reset(w.rw)
	if len(w.buf) > 0 {
		if _, err := w.zw.Write(w.buf); err != nil {
			return err
		}
		w.buf = w.buf[:0]
	}
	if len(more) > 0 {
		_, err := w.zw.Write(more)
		return err
	}
	return nil
}

// Flush compresses what is buffered (the final size is unknown) and
// flushes it to the client.
func (w *gzipWriter) Flush() {
	if w.state == gzPending {
		if !w.wroteHeader {
			w.WriteHeader(http.StatusOK)
		}
		if w.state == gzPending {
			_ = w.startGzip(nil)
		}
	}
	if w.state == gzCompressing {
		_ = w.zw.Flush()
	}
	_ = http.NewResponseController(w.rw).Flush()
}

// finish ends the response: a pending one goes out uncompressed (short,
// or a header only), a compressed one gets its gzip trailer. A response
// never started stays untouched, for the error handler to write.
func (w *gzipWriter) finish() {
	switch w.state {
	case gzPending:
		if w.wroteHeader {
			dedupeVary(w.rw.Header())
			w.rw.WriteHeader(w.code)
			if len(w.buf) > 0 {
				_, _ = w.rw.Write(w.buf)
			}
		}
	case gzCompressing:
		_ = w.zw.Close()
		w.zw.Reset(nil)
		w.g.zws.Put(w.zw)
		w.zw = nil
	}
	if cap(w.buf) > 64<<10 {
		w.buf = nil
	}
	w.buf, w.state, w.code, w.wroteHeader = w.buf[:0], gzPending, 0, false
}

// Unwrap lets http.ResponseController reach the connection.
func (w *gzipWriter) Unwrap() http.ResponseWriter { return w.rw }

// Hijack hands over the connection (websockets).
func (w *gzipWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return http.NewResponseController(w.rw).Hijack()
}

// compressible reports whether a response with this status and header may
// be gzip-encoded: not already encoded, not partial, not bodiless, not
// marked no-transform, and not an event stream.
func compressible(code int, h http.Header) bool {
	switch code {
	case http.StatusNoContent, http.StatusPartialContent, http.StatusNotModified:
		return false
	}
	if len(h[echo.HeaderContentEncoding]) > 0 || len(h["Content-Range"]) > 0 {
		return false
	}
	if ct := h[echo.HeaderContentType]; len(ct) > 0 && isEventStream(ct[0]) {
		return false
	}
	for _, v := range h["Cache-Control"] {
		if strings.Contains(strings.ToLower(v), "no-transform") {
			return false
		}
	}
	return true
}

// isEventStream reports whether a Content-Type is text/event-stream.
func isEventStream(ct string) bool {
	const es = "text/event-stream"
	ct = strings.TrimLeft(ct, " \t")
	return len(ct) >= len(es) && strings.EqualFold(ct[:len(es)], es) &&
		(len(ct) == len(es) || ct[len(es)] == ';' || ct[len(es)] == ' ' || ct[len(es)] == '\t')
}

// acceptsGzip reports whether the request's Accept-Encoding admits gzip
// (a "gzip" or "*" coding without q=0).
func acceptsGzip(req *http.Request) bool {
	for _, v := range req.Header[echo.HeaderAcceptEncoding] {
		if v == "gzip" {
			return true
		}
		for part := range strings.SplitSeq(v, ",") {
			name, params, _ := strings.Cut(part, ";")
			name = strings.TrimSpace(name)
			if !strings.EqualFold(name, "gzip") && name != "*" {
				continue
			}
			q, ok := strings.CutPrefix(strings.TrimSpace(params), "q=")
			if !ok {
				q, ok = strings.CutPrefix(strings.TrimSpace(params), "Q=")
			}
			if ok && isZeroQ(strings.TrimSpace(q)) {
				continue
			}
			return true
		}
	}
	return false
}

// isZeroQ reports whether a qvalue is 0 ("0", "0.", "0.000").
func isZeroQ(q string) bool {
	if q == "" || q[0] != '0' {
		return false
	}
	return strings.Trim(q[1:], ".0") == ""
}

// addVary adds token to Vary unless a Vary line already names it.
func addVary(h http.Header, token string) {
	if varyHas(h[echo.HeaderVary], token) {
		return
	}
	h[echo.HeaderVary] = append(h[echo.HeaderVary], token)
}

func varyHas(lines []string, token string) bool {
	for _, v := range lines {
		for t := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

// dedupeVary merges the Vary lines into one when a token repeats (the
// stack and a handler such as promhttp both naming Accept-Encoding);
// otherwise it leaves them as they are, without allocating.
func dedupeVary(h http.Header) {
	lines := h[echo.HeaderVary]
	if len(lines) < 2 && (len(lines) == 0 || !strings.Contains(lines[0], ",")) {
		return
	}
	var toks []string
	dup := false
	for _, v := range lines {
		for t := range strings.SplitSeq(v, ",") {
			t = strings.TrimSpace(t)
			if t == "" {
				continue
			}
			seen := false
			for _, s := range toks {
				if strings.EqualFold(s, t) {
					seen = true
					break
				}
			}
			if seen {
				dup = true
				continue
			}
			toks = append(toks, t)
		}
	}
	if dup {
		h[echo.HeaderVary] = []string{strings.Join(toks, ", ")}
	}
}

// varyOnce dedupes Vary when the header goes out (for handlers that add
// their own Vary under the stack's, such as promhttp).
type varyOnce struct {
	http.ResponseWriter
	wrote bool
}

func (w *varyOnce) WriteHeader(code int) {
	if !w.wrote && code >= 200 {
		w.wrote = true
		dedupeVary(w.Header())
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *varyOnce) Write(b []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

func (w *varyOnce) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *varyOnce) Flush() { _ = http.NewResponseController(w.ResponseWriter).Flush() }
