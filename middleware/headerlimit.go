package middleware

import (
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
)

// HeaderLimitConfig refuses requests whose head (request line and header
// fields, counted as sent over HTTP/1.1) is longer than Limit bytes, with
// 431 Request Header Fields Too Large as an [*Error], so the client gets
// the error envelope. net/http itself answers a head beyond
// http.Server.MaxHeaderBytes (plus its own 4 KiB of slack) with a
// plain-text 431 before any handler runs; set MaxHeaderBytes a margin
// above Limit and this middleware answers the heads in between.
type HeaderLimitConfig struct {
	// Skipper lets a request through whatever its head; default none.
	Skipper middleware.Skipper
	// Limit is the largest head in bytes; it must be positive.
	Limit int
}

// ToMiddleware returns the header-limit middleware; errors wrap
// [ErrInvalidConfig].
func (cfg HeaderLimitConfig) ToMiddleware() (echo.MiddlewareFunc, error) {
	hl, err := cfg.compile()
	if err != nil {
		return nil, err
	}
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if err := hl.check(c); err != nil {
				return err
			}
			return next(c)
		}
	}, nil
}

// headerLimit is the compiled [HeaderLimitConfig], shared by ToMiddleware
// and the stack.
type headerLimit struct {
	skip  middleware.Skipper
	limit int
}

func (cfg HeaderLimitConfig) compile() (*headerLimit, error) {
	if cfg.Limit <= 0 {
		return nil, fmt.Errorf("%w: header limit must be positive", ErrInvalidConfig)
	}
	return &headerLimit{skip: cfg.Skipper, limit: cfg.Limit}, nil
}

// check returns the 431 error when c's request head is over the limit.
func (hl *headerLimit) check(c echo.Context) error {
	if headSize(c.Request()) <= hl.limit || (hl.skip != nil && hl.skip(c)) {
		return nil
	}
	return newError(http.StatusRequestHeaderFieldsTooLarge, "request header fields too large")
}

// headSize is the length of req's head as an HTTP/1.1 client sends it:
// "METHOD URI PROTO\r\n", one "Key: value\r\n" per field (Host included)
// and the blank line.
func headSize(req *http.Request) int {
	n := len(req.Method) + len(req.RequestURI) + len(req.Proto) + 4
	if len(req.Header["Host"]) == 0 && req.Host != "" {
		n += len("Host: \r\n") + len(req.Host)
	}
	for k, vs := range req.Header {
		for _, v := range vs {
			n += len(k) + len(v) + 4
		}
	}
	return n + 2
}
