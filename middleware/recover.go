package middleware

import (
	"fmt"
	"log/slog"
	"net/http"
	"runtime"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
)

// RecoverConfig configures the recover middleware: a panic in the handler
// becomes a 500 error ([ErrPanic], message "internal server error"),
// logged at error level with its stack, method, path and request id;
// http.ErrAbortHandler is panicked again, as net/http expects. The error
// wraps a [*PanicError] with the value and stack, for error reporters.
// When the response was already committed nothing more is sent (the log
// has it), but the error still goes to echo's error handler, which must not
// write a committed response (the server's does not; it reports the panic).
// The zero value is valid.
type RecoverConfig struct {
	// Skipper lets a request's panics through; default none.
	Skipper middleware.Skipper
	// Logger receives recovered panics; default slog.Default().
	Logger *slog.Logger
}

// ToMiddleware returns the recover middleware; the error it turns a panic
// into goes to echo's error handler. It never fails; the error is there
// for the XxxConfig.ToMiddleware convention.
func (cfg RecoverConfig) ToMiddleware() (echo.MiddlewareFunc, error) {
	rc := cfg.compile(nil)
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) (err error) {
			if rc.skip != nil && rc.skip(c) {
				return next(c)
			}
			defer func() {
				if r := recover(); r != nil {
					err = rc.recovered(c, r)
				}
			}()
			return next(c)
		}
	}, nil
}

// recoverer is the compiled [RecoverConfig], shared by ToMiddleware and
// the stack.
type recoverer struct {
	skip middleware.Skipper
	log  *slog.Logger
}

// compile fills in the logger: cfg's, else def, else slog.Default().
func (cfg RecoverConfig) compile(def *slog.Logger) *recoverer {
	rc := &recoverer{skip: cfg.Skipper, log: cfg.Logger}
	if rc.log == nil {
		rc.log = def
	}
	if rc.log == nil {
		rc.log = slog.Default()
	}
	return rc
}

// PanicError is a handler's recovered panic: the 500 error the recover
// middleware returns wraps it (errors.As), and errors.Is(err, [ErrPanic])
// holds. Its text names the value; the stack is for logs and error
// reporters only, never for the client.
type PanicError struct {
	Value any
	Stack []byte // the panicking goroutine's stack (runtime.Stack), at most 8 KiB
}

func (e *PanicError) Error() string { return fmt.Sprintf("%v: %v", ErrPanic, e.Value) }

// Unwrap returns [ErrPanic], and the panic value when it is an error.
func (e *PanicError) Unwrap() []error {
	if err, ok := e.Value.(error); ok {
		return []error{ErrPanic, err}
	}
	return []error{ErrPanic}
}

// recovered turns the recovered value r into the error the request
// answers with (when the response is already committed, the error handler
// only reports it); it panics again with http.ErrAbortHandler.
func (rc *recoverer) recovered(c echo.Context, r any) error {
	if r == http.ErrAbortHandler {
		panic(r)
	}
	buf := make([]byte, 8<<10)
	buf = buf[:runtime.Stack(buf, false)]
	req := c.Request()
	rc.log.LogAttrs(req.Context(), slog.LevelError, "panic recovered",
		slog.String("request_id", c.Response().Header().Get(echo.HeaderXRequestID)),
		slog.String("method", req.Method), slog.String("path", req.URL.Path),
		slog.Any("panic", r), slog.String("stack", string(buf)))
	return newError(http.StatusInternalServerError, "internal server error").Wrap(&PanicError{Value: r, Stack: buf})
}
