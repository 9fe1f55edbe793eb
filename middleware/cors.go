package middleware

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
)

// CORSConfig configures CORS through echo's own CORS middleware, with safe
// defaults and validation echo does not do: there is no default origin
// (never "*"), and "*" together with AllowCredentials is refused at
// construction. A credentialed request from an origin not listed gets no
// Access-Control-Allow-Origin, so the browser blocks it.
//
// Only requests with an Origin header and preflights (OPTIONS) go through
// CORS; the others just get Vary: Origin. A preflight asking for a method
// or a header the configuration does not allow is refused the way echo
// refuses an unlisted origin: 204 No Content without any
// Access-Control-Allow-* header, which the browser reads as "no".
type CORSConfig struct {
	// Skipper skips CORS handling; default none.
	Skipper middleware.Skipper
	// AllowOrigins lists origins ("https://app.example.com"), wildcard
	// subdomain patterns ("https://*.example.com") or "*" alone. Required.
	AllowOrigins []string
	// AllowCredentials sends Access-Control-Allow-Credentials: true.
	AllowCredentials bool
	// AllowMethods default GET, HEAD, PUT, PATCH, POST, DELETE; "*" alone
	// allows any method (a preflight's is answered with that default
	// list, or the route's methods). GET, HEAD and POST are always allowed,
	// as the Fetch standard has it.
	AllowMethods []string
	// AllowHeaders default Accept, Authorization, Content-Type,
	// X-Request-ID (matched without regard to case); "*" alone allows any
	// header: a preflight gets back the headers it asked for, which,
	// unlike a literal "*", browsers accept with credentials too.
	AllowHeaders []string
	// ExposeHeaders default X-Request-ID, RateLimit, RateLimit-Policy,
	// Retry-After.
	ExposeHeaders []string
	// MaxAge of preflight results in seconds; default 600; negative sends none.
	MaxAge int
}

// ToMiddleware validates the configuration and returns echo's CORS
// middleware configured with it; errors wrap [ErrInvalidConfig].
func (cfg CORSConfig) ToMiddleware() (echo.MiddlewareFunc, error) {
	co, err := cfg.compile()
	if err != nil {
		return nil, err
	}
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			switch {
			case co.skip != nil && co.skip(c):
				return next(c)
			case !co.applies(c.Request()):
				c.Response().Header().Add(echo.HeaderVary, echo.HeaderOrigin)
				return next(c)
			}
			return co.serve(c, next)
		}
	}, nil
}

// cors is the compiled [CORSConfig], shared by ToMiddleware and the stack.
type cors struct {
	skip    middleware.Skipper
	mw      echo.MiddlewareFunc // echo's, configured
	methods map[string]bool     // allowed beyond GET, HEAD, POST; nil: any
	headers map[string]bool     // lower case; nil: any
}

func (cfg CORSConfig) compile() (*cors, error) {
	ec, err := cfg.echoConfig()
	if err != nil {
		return nil, err
	}
	co := &cors{skip: cfg.Skipper, mw: middleware.CORSWithConfig(ec)}
	if !isStar(cfg.AllowMethods) {
		co.methods = map[string]bool{}
		methods := cfg.AllowMethods
		if methods == nil { // echo's default list
			methods = []string{http.MethodGet, http.MethodHead, http.MethodPut, http.MethodPatch, http.MethodPost, http.MethodDelete}
		}
		for _, m := range methods {
			co.methods[strings.ToUpper(m)] = true
		}
	}
	if ec.AllowHeaders != nil {
		co.headers = map[string]bool{}
		for _, h := range ec.AllowHeaders {
			co.headers[strings.ToLower(h)] = true
		}
	}
	return co, nil
}

// applies reports whether req needs CORS handling: it has an Origin, or
// it is a preflight. The others only need Vary: Origin.
func (co *cors) applies(req *http.Request) bool {
	return len(req.Header[echo.HeaderOrigin]) > 0 || req.Method == http.MethodOptions
}

// serve runs echo's CORS around next, after refusing a preflight that
// asks for a method or header not allowed.
func (co *cors) serve(c echo.Context, next echo.HandlerFunc) error {
	req := c.Request()
	if req.Method == http.MethodOptions && len(req.Header[echo.HeaderOrigin]) > 0 && !co.preflightAllowed(req.Header) {
		c.Response().Header().Add(echo.HeaderVary, echo.HeaderOrigin)
		return c.NoContent(http.StatusNoContent)
	}
	return co.mw(next)(c)
}

// preflightAllowed reports whether every method and header a preflight
// asks for is allowed.
func (co *cors) preflightAllowed(h http.Header) bool {
	if m := h.Get(echo.HeaderAccessControlRequestMethod); co.methods != nil && m != "" &&
		m != http.MethodGet && m != http.MethodHead && m != http.MethodPost && !co.methods[m] {
		return false
	}
	if co.headers == nil {
		return true
	}
	for _, line := range h.Values(echo.HeaderAccessControlRequestHeaders) {
		for name := range strings.SplitSeq(line, ",") {
			if name = strings.ToLower(strings.TrimSpace(name)); name != "" && !co.headers[name] {
				return false
			}
		}
	}
	return true
}

// isStar reports whether l is exactly ["*"].
func isStar(l []string) bool { return len(l) == 1 && l[0] == "*" }

func (cfg CORSConfig) echoConfig() (middleware.CORSConfig, error) {
	if len(cfg.AllowOrigins) == 0 {
		return middleware.CORSConfig{}, fmt.Errorf("%w: CORS needs AllowOrigins (there is no default)", ErrInvalidConfig)
	}
	for _, o := range cfg.AllowOrigins {
		if o == "*" {
			if cfg.AllowCredentials {
				return middleware.CORSConfig{}, fmt.Errorf("%w: CORS origin \"*\" cannot be combined with AllowCredentials", ErrInvalidConfig)
			}
			if len(cfg.AllowOrigins) > 1 {
				return middleware.CORSConfig{}, fmt.Errorf("%w: CORS origin \"*\" must be the only origin", ErrInvalidConfig)
			}
			continue
		}
		u, err := url.Parse(strings.Replace(o, "*.", "wildcard.", 1))
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
			return middleware.CORSConfig{}, fmt.Errorf("%w: CORS origin %q is not scheme://host[:port]", ErrInvalidConfig, o)
		}
		if strings.Count(o, "*") > 1 || (strings.Contains(o, "*") && !strings.Contains(o, "://*.")) {
			return middleware.CORSConfig{}, fmt.Errorf("%w: CORS origin %q: only a leading \"*.\" subdomain wildcard is supported", ErrInvalidConfig, o)
		}
	}
	origins := make([]string, len(cfg.AllowOrigins))
	for i, o := range cfg.AllowOrigins {
		origins[i] = strings.TrimSuffix(o, "/")
	}
	ec := middleware.CORSConfig{
		Skipper:          cfg.Skipper,
		AllowOrigins:     origins,
		AllowCredentials: cfg.AllowCredentials,
		AllowMethods:     cfg.AllowMethods,
		AllowHeaders:     cfg.AllowHeaders,
		ExposeHeaders:    cfg.ExposeHeaders,
		MaxAge:           cfg.MaxAge,
	}
	switch {
	case isStar(ec.AllowHeaders):
		ec.AllowHeaders = nil // echo answers a preflight with the headers it asked for
	case ec.AllowHeaders == nil:
		ec.AllowHeaders = []string{echo.HeaderAccept, echo.HeaderAuthorization, echo.HeaderContentType, echo.HeaderXRequestID}
	}
	if isStar(ec.AllowMethods) {
		ec.AllowMethods = nil // echo's default list, or the route's methods
	}
	for _, l := range [][]string{cfg.AllowMethods, cfg.AllowHeaders} {
		if len(l) > 1 && slices.Contains(l, "*") {
			return middleware.CORSConfig{}, fmt.Errorf("%w: CORS \"*\" must be the only method or header listed", ErrInvalidConfig)
		}
	}
	if ec.ExposeHeaders == nil {
		ec.ExposeHeaders = []string{echo.HeaderXRequestID, "RateLimit", "RateLimit-Policy", echo.HeaderRetryAfter}
	}
	switch {
	case ec.MaxAge == 0:
		ec.MaxAge = 600
	case ec.MaxAge < 0:
		ec.MaxAge = 0
	}
	return ec, nil
}
