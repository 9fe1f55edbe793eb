package middleware_test

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/gantry-dev/gantry/middleware"
)

// conformanceReq is one request of a piece's table.
type conformanceReq struct {
	name   string
	method string
	path   string
	header map[string]string
	body   string
	want   int // status both must answer; 0: any, as long as they agree
}

func (r conformanceReq) build() *http.Request {
	req := httptest.NewRequest(r.method, r.path, strings.NewReader(r.body))
	if r.body == "" {
		req = httptest.NewRequest(r.method, r.path, nil)
	}
	req.RemoteAddr = "10.1.2.3:4567"
	req.Host = "api.example.com"
	for k, v := range r.header {
		if k == "Host" {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	return req
}

// conformanceApp is an echo with the routes every table uses and mw
// installed by install.
func conformanceApp(install func(*echo.Echo)) *echo.Echo {
	e := newEcho()
	e.IPExtractor = echo.ExtractIPDirect()
	install(e)
	e.Any("/ok", func(c echo.Context) error { return c.String(http.StatusOK, "ok") })
	e.Any("/skip", func(c echo.Context) error { return c.String(http.StatusOK, "skipped") })
	e.GET("/panic", func(echo.Context) error { panic("boom") })
	e.GET("/big", func(c echo.Context) error { return c.String(http.StatusOK, strings.Repeat("gantry ", 400)) })
	e.GET("/slow", func(c echo.Context) error {
		select {
		case <-c.Request().Context().Done():
			return c.Request().Context().Err()
		case <-time.After(2 * time.Second):
			return c.NoContent(http.StatusOK)
		}
	})
	e.POST("/read", func(c echo.Context) error {
		b := make([]byte, 64)
		n := 0
		for {
			m, err := c.Request().Body.Read(b[n:])
			n += m
			if err != nil {
				if err.Error() == "EOF" {
					break
				}
				return err
			}
		}
		return c.String(http.StatusOK, string(b[:n]))
	})
	return e
}

// answer is what a client sees, with Vary reduced to its sorted tokens.
type answer struct {
	status int
	body   string
	header http.Header
}

func answerOf(rec *httptest.ResponseRecorder) answer {
	h := rec.Header().Clone()
	var vary []string
	for _, line := range h.Values("Vary") {
		for tok := range strings.SplitSeq(line, ",") {
			vary = append(vary, strings.TrimSpace(tok))
		}
	}
	slices.Sort(vary)
	h.Del("Vary")
	if len(vary) > 0 {
		h["Vary"] = []string{strings.Join(vary, ",")}
	}
	return answer{status: rec.Code, body: rec.Body.String(), header: h}
}

func skipPath(c echo.Context) bool { return c.Request().URL.Path == "/skip" }

// TestPiecesConform runs each piece's table through the piece alone
// (XxxConfig.ToMiddleware) and through a Stack with only that piece on:
// the answers must be the same, status, body and headers.
func TestPiecesConform(t *testing.T) {
	t.Parallel()
	off := func() middleware.StackConfig {
		return middleware.StackConfig{Logger: discardLogger(), DisableRequestID: true, DisableRecover: true, GzipMinLength: -1, DisableDecompress: true}
	}
	get := func(name, path string, h map[string]string) conformanceReq {
		return conformanceReq{name: name, method: http.MethodGet, path: path, header: h}
	}
	preflight := func(name, origin, method, headers string) conformanceReq {
		h := map[string]string{"Origin": origin, "Access-Control-Request-Method": method}
		if headers != "" {
			h["Access-Control-Request-Headers"] = headers
		}
		return conformanceReq{name: name, method: http.MethodOptions, path: "/ok", header: h}
	}
	gen := func() string { return "generated-id" }
	memStore := func() middleware.Store { return middleware.NewMemoryStore(middleware.MemoryStoreConfig{}) }
	tests := []struct {
		piece string
		alone func() (echo.MiddlewareFunc, error)
		stack func(*middleware.StackConfig)
		reqs  []conformanceReq
	}{
		{
			piece: "request id",
			alone: middleware.RequestIDConfig{Generator: gen, Skipper: skipPath}.ToMiddleware,
			stack: func(sc *middleware.StackConfig) {
				sc.DisableRequestID, sc.RequestID = false, middleware.RequestIDConfig{Generator: gen, Skipper: skipPath}
			},
			reqs: []conformanceReq{
				get("none", "/ok", nil),
				get("valid kept", "/ok", map[string]string{"X-Request-ID": "abc-123"}),
				get("invalid replaced", "/ok", map[string]string{"X-Request-ID": "a b\"}"}),
				get("skipped", "/skip", map[string]string{"X-Request-ID": "abc-123"}),
			},
		},
		{
			piece: "recover",
			alone: middleware.RecoverConfig{Logger: discardLogger()}.ToMiddleware,
			stack: func(sc *middleware.StackConfig) {
				sc.DisableRecover, sc.Recover = false, middleware.RecoverConfig{Logger: discardLogger()}
			},
			reqs: []conformanceReq{{name: "panic", method: http.MethodGet, path: "/panic", want: http.StatusInternalServerError}, get("fine", "/ok", nil)},
		},
		{
			piece: "security headers",
			alone: middleware.SecureConfig{HSTSMaxAge: 3600, Skipper: skipPath}.ToMiddleware,
			stack: func(sc *middleware.StackConfig) {
				sc.Secure = &middleware.SecureConfig{HSTSMaxAge: 3600, Skipper: skipPath}
			},
			reqs: []conformanceReq{get("set", "/ok", nil), get("skipped", "/skip", nil), get("on errors too", "/missing", nil)},
		},
		{
			piece: "header limit",
			alone: middleware.HeaderLimitConfig{Limit: 300, Skipper: skipPath}.ToMiddleware,
			stack: func(sc *middleware.StackConfig) {
				sc.HeaderLimit = &middleware.HeaderLimitConfig{Limit: 300, Skipper: skipPath}
			},
			reqs: []conformanceReq{
				get("small", "/ok", map[string]string{"X-Pad": strings.Repeat("a", 100)}),
				{name: "over", method: http.MethodGet, path: "/ok", header: map[string]string{"X-Pad": strings.Repeat("a", 300)}, want: http.StatusRequestHeaderFieldsTooLarge},
				get("long URI", "/ok?"+strings.Repeat("q", 300), nil),
				get("skipped", "/skip", map[string]string{"X-Pad": strings.Repeat("a", 300)}),
			},
		},
		{
			piece: "trusted hosts",
			alone: middleware.TrustedHostsConfig{AllowedHosts: []string{"api.example.com", "*.example.org"}, Skipper: skipPath}.ToMiddleware,
			stack: func(sc *middleware.StackConfig) {
				sc.TrustedHosts = &middleware.TrustedHostsConfig{AllowedHosts: []string{"api.example.com", "*.example.org"}, Skipper: skipPath}
			},
			reqs: []conformanceReq{
				get("listed", "/ok", nil),
				get("wildcard", "/ok", map[string]string{"Host": "a.example.org:8443"}),
				{name: "unlisted", method: http.MethodGet, path: "/ok", header: map[string]string{"Host": "evil.example"}, want: http.StatusBadRequest},
				get("skipped", "/skip", map[string]string{"Host": "evil.example"}),
			},
		},
		{
			piece: "CORS",
			alone: corsConformance().ToMiddleware,
			stack: func(sc *middleware.StackConfig) { sc.CORS = new(corsConformance()) },
			reqs: []conformanceReq{
				get("no origin", "/ok", nil),
				get("listed origin", "/ok", map[string]string{"Origin": "https://app.example.com"}),
				get("unlisted origin", "/ok", map[string]string{"Origin": "https://evil.example"}),
				get("skipped", "/skip", map[string]string{"Origin": "https://app.example.com"}),
				preflight("preflight allowed header", "https://app.example.com", http.MethodPut, "x-tenant, content-type"),
				preflight("preflight header not allowed", "https://app.example.com", http.MethodPut, "X-Secret"),
				preflight("preflight method not allowed", "https://app.example.com", http.MethodDelete, ""),
				preflight("preflight unlisted origin", "https://evil.example", http.MethodGet, ""),
			},
		},
		{
			piece: "rate limit",
			alone: func() (echo.MiddlewareFunc, error) {
				return middleware.RateLimitConfig{Store: memStore(), Limit: middleware.PerMinute(2), Skipper: skipPath, Logger: discardLogger()}.ToMiddleware()
			},
			stack: func(sc *middleware.StackConfig) {
				sc.RateLimit = &middleware.RateLimitConfig{Store: memStore(), Limit: middleware.PerMinute(2), Skipper: skipPath}
			},
			reqs: []conformanceReq{get("1", "/ok", nil), get("2", "/ok", nil), {name: "3 refused", method: http.MethodGet, path: "/ok", want: http.StatusTooManyRequests}, get("skipped", "/skip", nil)},
		},
		{
			piece: "body limit",
			alone: middleware.BodyLimitConfig{Limit: 8}.ToMiddleware,
			stack: func(sc *middleware.StackConfig) { sc.BodyLimit = 8 },
			reqs: []conformanceReq{
				{name: "at the limit", method: http.MethodPost, path: "/read", body: "12345678"},
				{name: "over", method: http.MethodPost, path: "/read", body: "123456789", want: http.StatusRequestEntityTooLarge},
				{name: "unread", method: http.MethodPost, path: "/ok", body: "123456789"},
			},
		},
		{
			piece: "gzip",
			alone: middleware.GzipConfig{Skipper: skipPath}.ToMiddleware,
			stack: func(sc *middleware.StackConfig) { sc.GzipMinLength = 0 },
			reqs: []conformanceReq{
				get("big, accepted", "/big", map[string]string{"Accept-Encoding": "gzip"}),
				get("big, not accepted", "/big", nil),
				get("small", "/ok", map[string]string{"Accept-Encoding": "gzip"}),
			},
		},
		{
			piece: "deadline",
			alone: middleware.TimeoutConfig{Timeout: 30 * time.Millisecond}.ToMiddleware,
			stack: func(sc *middleware.StackConfig) { sc.Timeout = 30 * time.Millisecond },
			reqs:  []conformanceReq{{name: "expires", method: http.MethodGet, path: "/slow", want: http.StatusGatewayTimeout}, get("fine", "/ok", nil)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.piece, func(t *testing.T) {
			t.Parallel()
			mw, err := tt.alone()
			if err != nil {
				t.Fatalf("ToMiddleware: %v", err)
			}
			alone := conformanceApp(func(e *echo.Echo) { e.Use(mw) })
			sc := off()
			tt.stack(&sc)
			st, err := middleware.NewStack(sc)
			if err != nil {
				t.Fatalf("NewStack: %v", err)
			}
			stacked := conformanceApp(func(e *echo.Echo) { e.Use(st.Middleware()) })
			for _, r := range tt.reqs {
				ra, rs := httptest.NewRecorder(), httptest.NewRecorder()
				alone.ServeHTTP(ra, r.build())
				stacked.ServeHTTP(rs, r.build())
				a, s := answerOf(ra), answerOf(rs)
				if a.status != s.status || a.body != s.body || !headersEqual(a.header, s.header) {
					t.Errorf("%s: alone %d %q %v; in the stack %d %q %v", r.name, a.status, a.body, a.header, s.status, s.body, s.header)
				}
				if r.want != 0 && a.status != r.want {
					t.Errorf("%s: status %d; want %d", r.name, a.status, r.want)
				}
			}
		})
	}
}

// corsConformance allows one origin, PUT beside the always-allowed
// methods, and two headers.
func corsConformance() middleware.CORSConfig {
	return middleware.CORSConfig{
		AllowOrigins:  []string{"https://app.example.com"},
		AllowMethods:  []string{http.MethodGet, http.MethodPut},
		AllowHeaders:  []string{"Content-Type", "X-Tenant"},
		ExposeHeaders: []string{"X-Request-ID"},
		Skipper:       skipPath,
	}
}

func headersEqual(a, b http.Header) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if !slices.Equal(v, b[k]) {
			return false
		}
	}
	return true
}
