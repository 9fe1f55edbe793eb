package middleware

import (
	"fmt"
	"io"
	"net/http"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
)

// BodyLimitConfig caps request bodies: reading more than Limit bytes (or
// a body whose Content-Length says so) fails with 413 payload_too_large
// (an *echo.HTTPError, which echo's binders pass on, wrapping an
// *http.MaxBytesError, which multipart parsing passes on).
// Inside the stack the cap counts decompressed bytes, so a gzip bomb stops
// at Limit.
//
// The cap is set on the request body, not checked on the spot: a body
// already capped, by the stack's BodyLimit or an outer BodyLimitConfig
// middleware, gets this Limit instead, higher or lower. So a group or a
// route sets its own limit beside the server-wide one, without skippers:
// an upload route raises it, a login route lowers it. A handler that never
// reads the body is never refused.
type BodyLimitConfig struct {
	// Skipper leaves the body as it is; default none.
	Skipper middleware.Skipper
	// Limit is the largest body in bytes; it must be positive.
	Limit int64
}

// ToMiddleware returns the body-limit middleware; errors wrap
// [ErrInvalidConfig].
func (cfg BodyLimitConfig) ToMiddleware() (echo.MiddlewareFunc, error) {
	bl, err := cfg.compile()
	if err != nil {
		return nil, err
	}
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			bl.applyTo(c)
			return next(c)
		}
	}, nil
}

// bodyLimit is the compiled [BodyLimitConfig], shared by ToMiddleware and
// the stack.
type bodyLimit struct {
	skip  middleware.Skipper
	limit int64
}

func (cfg BodyLimitConfig) compile() (*bodyLimit, error) {
	if cfg.Limit <= 0 {
		return nil, fmt.Errorf("%w: body limit must be positive", ErrInvalidConfig)
	}
	return &bodyLimit{skip: cfg.Skipper, limit: cfg.Limit}, nil
}

// apply caps req's body at the limit, or moves the cap already on it.
func (bl *bodyLimit) apply(req *http.Request) {
	if req.Body == nil || req.Body == http.NoBody {
		return
	}
	if cb, ok := req.Body.(*cappedBody); ok {
		cb.limit = bl.limit
		return
	}
	req.Body = &cappedBody{rc: req.Body, limit: bl.limit, length: req.ContentLength}
}

// applyTo is apply honouring the Skipper (the stack's path).
func (bl *bodyLimit) applyTo(c echo.Context) {
	if bl.skip == nil || !bl.skip(c) {
		bl.apply(c.Request())
	}
}

// cappedBody fails reads past limit; length is the declared
// Content-Length (-1 when unknown), refused at the first read when above
// limit.
type cappedBody struct {
	rc     io.ReadCloser
	limit  int64
	length int64
	n      int64
}

func (b *cappedBody) Read(p []byte) (int, error) {
	if b.length > b.limit || b.n > b.limit {
		return 0, b.tooLarge()
	}
	if rem := b.limit - b.n + 1; int64(len(p)) > rem { // never read far past the limit
		p = p[:rem]
	}
	n, err := b.rc.Read(p)
	b.n += int64(n)
	if b.n > b.limit {
		return n, b.tooLarge()
	}
	return n, err
}

// tooLarge is the read error past the limit: a 413 *echo.HTTPError
// (echo's binders pass it on as it is) wrapping an *http.MaxBytesError
// (what handlers parsing multipart forms look for).
func (b *cappedBody) tooLarge() error {
	return echo.NewHTTPError(http.StatusRequestEntityTooLarge, http.StatusText(http.StatusRequestEntityTooLarge)).
		SetInternal(&http.MaxBytesError{Limit: b.limit})
}

func (b *cappedBody) Close() error { return b.rc.Close() }

// wrap returns next behind the cap (the stack's path when a body is
// decompressed first).
func (bl *bodyLimit) wrap(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		bl.applyTo(c)
		return next(c)
	}
}
