package middleware_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/gantry-dev/gantry/middleware"
)

// TestLiftDeadline: a streaming handler that lifts the deadline runs past
// it with a live context, whether or not the deadline's timer had started,
// through the piece alone, nested pieces and the stack; contexts derived
// before the lift keep the deadline; the context still ends with the
// request.
func TestLiftDeadline(t *testing.T) {
	t.Parallel()
	const timeout = 50 * time.Millisecond
	piece, _ := middleware.TimeoutConfig{Timeout: timeout}.ToMiddleware()
	outer, _ := middleware.TimeoutConfig{Timeout: 2 * timeout}.ToMiddleware()
	stack, err := middleware.NewStack(middleware.StackConfig{Logger: discardLogger(), Timeout: timeout})
	if err != nil {
		t.Fatal(err)
	}
	nested := func(next echo.HandlerFunc) echo.HandlerFunc { return outer(piece(next)) }
	for _, mw := range []struct {
		name string
		mw   echo.MiddlewareFunc
	}{{"piece", piece}, {"nested", nested}, {"stack", stack.Middleware()}} {
		for _, startFirst := range []bool{false, true} {
			name := mw.name + "/timer idle"
			if startFirst {
				name = mw.name + "/timer started"
			}
			t.Run(name, func(t *testing.T) {
				var after context.Context
				var problems []string
				rec := serve(t, mw.mw, httptest.NewRequest(http.MethodGet, "/", nil), func(c echo.Context) error {
					var before context.Context
					if startFirst {
						var cancel context.CancelFunc
						before, cancel = context.WithCancel(c.Request().Context()) // starts the timer
						defer cancel()
					}
					if !middleware.LiftDeadline(c) {
						problems = append(problems, "LiftDeadline found no deadline")
					}
					ctx := c.Request().Context()
					if _, ok := ctx.Deadline(); ok {
						problems = append(problems, "deadline still visible")
					}
					var cancel context.CancelFunc
					after, cancel = context.WithCancel(ctx)
					defer cancel()
					select {
					case <-ctx.Done():
						problems = append(problems, "context ended at the lifted deadline: "+ctx.Err().Error())
					case <-after.Done():
						problems = append(problems, "derived context ended at the lifted deadline")
					case <-time.After(4 * timeout):
					}
					if ctx.Err() != nil {
						problems = append(problems, "Err after the deadline: "+ctx.Err().Error())
					}
					if before != nil && !errors.Is(before.Err(), context.DeadlineExceeded) {
						problems = append(problems, "a context derived before the lift lost its deadline")
					}
					return c.String(http.StatusOK, "streamed")
				})
				if rec.Code != http.StatusOK || len(problems) > 0 {
					t.Errorf("status %d %s; problems %q", rec.Code, rec.Body, problems)
				}
				select { // the handler returned: what derives from its context ends
				case <-after.Done():
				case <-time.After(time.Second):
					t.Error("derived context still live after the request")
				}
			})
		}
	}
	t.Run("no deadline", func(t *testing.T) {
		c := echo.New().NewContext(httptest.NewRequest(http.MethodGet, "/", nil), httptest.NewRecorder())
		if middleware.LiftDeadline(c) {
			t.Error("LiftDeadline = true without a deadline")
		}
	})
	t.Run("client gone still ends a lifted context", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		req := httptest.NewRequest(http.MethodGet, "/", nil).WithContext(ctx)
		var err error
		serve(t, piece, req, func(c echo.Context) error {
			middleware.LiftDeadline(c)
			cancel()
			select {
			case <-c.Request().Context().Done():
				err = c.Request().Context().Err()
			case <-time.After(time.Second):
			}
			return nil
		})
		if !errors.Is(err, context.Canceled) {
			t.Errorf("lifted context after the client went: %v; want Canceled", err)
		}
	})
}
