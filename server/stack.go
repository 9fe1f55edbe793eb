package server

import (
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
)

// installStack installs the default middleware stack, outermost first:
//
//  1. request id: a valid incoming X-Request-ID is kept, anything else replaced
//  2. recover: a panic becomes a 500 envelope; the stack is logged with the request id
//  3. body limit: Config.MaxBodySize, 413 beyond it (chunked bodies included)
//  4. context timeout: Config.RequestTimeout on the request's context
//
// The middleware package grows this stack; its order is documented here.
func (s *Server) installStack() error {
	e := s.echo
	e.Use(requestID())
	e.Use(middleware.RecoverWithConfig(middleware.RecoverConfig{
		LogErrorFunc: func(c echo.Context, err error, stack []byte) error {
			s.log.LogAttrs(c.Request().Context(), slog.LevelError, "panic recovered",
				slog.String("request_id", c.Response().Header().Get(echo.HeaderXRequestID)),
				slog.String("error", err.Error()),
				slog.String("stack", string(stack)))
			return err
		},
	}))
	if s.cfg.MaxBodySize > 0 {
		e.Use(bodyLimit(s.cfg.MaxBodySize))
	}
	if s.cfg.RequestTimeout > 0 {
		e.Use(middleware.ContextTimeout(s.cfg.RequestTimeout))
	}
	return nil
}

// bodyLimit refuses bodies over limit bytes: at once when Content-Length says
// so, while reading otherwise (http.MaxBytesReader; Bind maps it to 413).
func bodyLimit(limit int64) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			req := c.Request()
			if req.ContentLength > limit {
				return &Error{Status: http.StatusRequestEntityTooLarge, Message: "request body too large"}
			}
			if req.Body != nil && req.Body != http.NoBody {
				req.Body = http.MaxBytesReader(c.Response(), req.Body, limit)
			}
			return next(c)
		}
	}
}

// requestID sets X-Request-ID on the response (and request): the incoming
// value when it is 1–128 visible ASCII characters of [A-Za-z0-9._:-], a new
// random id otherwise.
func requestID() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			req := c.Request()
			rid := req.Header.Get(echo.HeaderXRequestID)
			if !validRequestID(rid) {
				rid = newRequestID()
				req.Header.Set(echo.HeaderXRequestID, rid)
			}
			c.Response().Header().Set(echo.HeaderXRequestID, rid)
			return next(c)
		}
	}
}

func validRequestID(s string) bool {
	if len(s) == 0 || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		b := s[i]
		if !('a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || '0' <= b && b <= '9' || b == '-' || b == '_' || b == '.' || b == ':') {
			return false
		}
	}
	return true
}

func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
