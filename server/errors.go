package server

import (
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/gantry-dev/gantry/apierror"
	"github.com/gantry-dev/gantry/middleware"
	"github.com/gantry-dev/gantry/report"
)

// Envelope is the body of every non-2xx response.
type Envelope struct {
	Error ErrorBody `json:"error"`
}

// ErrorBody is the content of an [Envelope].
type ErrorBody struct {
	Code      int    `json:"code"`
	Type      string `json:"type"`
	Message   string `json:"message"`
	Details   any    `json:"details,omitempty"`
	RequestID string `json:"request_id,omitempty"`
	Path      string `json:"path"`
	Timestamp string `json:"timestamp"`
}

// Error is the HTTP-aware error type of Gantry, [apierror.Error]: an error
// with a status, an envelope type, a public message, optional details and a
// cause kept for logs. Handlers return it (or wrap it) to answer with a
// chosen status:
//
//	return server.NewError(http.StatusConflict, "username taken").WithType("username_taken")
type Error = apierror.Error

// FieldError is one entry of a validation error's details, by the field's
// JSON name: [apierror.FieldError].
type FieldError = apierror.FieldError

// NewError returns an *Error with the given status and public message; its
// With methods set the type, details and cause.
func NewError(status int, message string) *Error {
	return apierror.New(status, message)
}

// TypeForStatus returns the default envelope type of an HTTP status, e.g.
// "not_found" for 404 (see [apierror.TypeForStatus]).
func TypeForStatus(status int) string { return apierror.TypeForStatus(status) }

// classify turns any error into the envelope's status, type, message and details.
func classify(err error) (status int, typ, msg string, details any) {
	status = http.StatusInternalServerError
	var he *echo.HTTPError
	var hs apierror.HTTPStatuser
	switch {
	case errors.As(err, &hs):
		status = hs.HTTPStatus()
		var carrier error = hs.(error)
		if t, ok := carrier.(apierror.ErrorTyper); ok {
			typ = t.ErrorType()
		}
		if d, ok := carrier.(apierror.ErrorDetailer); ok {
			details = d.ErrorDetails()
		}
		if p, ok := carrier.(apierror.PublicMessager); ok {
			msg = p.PublicMessage()
		} else {
			msg = carrier.Error()
		}
	case errors.As(err, &he):
		status = he.Code
		switch m := he.Message.(type) {
		case string:
			msg = m
		case error:
			msg = m.Error()
		}
		if msg == "" {
			msg = http.StatusText(status)
		}
	}
	if status < 400 || status > 599 {
		status = http.StatusInternalServerError
	}
	if typ == "" {
		typ = TypeForStatus(status)
	}
	if status >= 500 && status != http.StatusServiceUnavailable && status != http.StatusGatewayTimeout {
		msg = "internal server error" // never leak the cause of a 500
		details = nil
	}
	if msg == "" {
		msg = http.StatusText(status)
	}
	return status, typ, msg, details
}

// errorHandler returns the echo.HTTPErrorHandler that writes every error as
// an [Envelope], logs server errors with the request id and hands the
// unexpected ones to rep (when set; subject gives the user id).
func errorHandler(log *slog.Logger, now func() time.Time, rep report.Reporter, subject func(echo.Context) string) echo.HTTPErrorHandler {
	return func(err error, c echo.Context) {
		if c.Response().Committed {
			// Too late to answer; a panic after the response started is
			// still a bug to report (the recover middleware logged it).
			if pe := (*middleware.PanicError)(nil); rep != nil && errors.As(err, &pe) {
				reportError(rep, c, err, c.Response().Status, subject)
			}
			return
		}
		status, typ, msg, details := classify(err)
		req := c.Request()
		rid := c.Response().Header().Get(echo.HeaderXRequestID)
		if rep != nil && reportable(err, status) {
			reportError(rep, c, err, status, subject)
		}
		if status >= 500 {
			log.LogAttrs(req.Context(), slog.LevelError, "request failed",
				slog.String("request_id", rid),
				slog.String("method", req.Method),
				slog.String("path", req.URL.Path),
				slog.Int("status", status),
				slog.String("error", err.Error()))
		}
		if status == http.StatusServiceUnavailable && c.Response().Header().Get("Retry-After") == "" {
			// A 503 says when to retry (RFC 9110, 15.6.4): in a second,
			// unless whoever returned the error set it.
			c.Response().Header().Set("Retry-After", "1")
		}
		body := Envelope{Error: ErrorBody{
			Code:      status,
			Type:      typ,
			Message:   msg,
			Details:   details,
			RequestID: rid,
			Path:      req.URL.Path,
			Timestamp: now().UTC().Format(time.RFC3339),
		}}
		var werr error
		if req.Method == http.MethodHead {
			werr = c.NoContent(status)
		} else {
			werr = c.JSON(status, body)
		}
		if werr != nil {
			log.LogAttrs(req.Context(), slog.LevelWarn, "write error response", slog.String("error", werr.Error()))
		}
	}
}

// reportable reports whether an error answered with status is unexpected:
// a panic, or a 5xx other than 503 and 504 (the service saying "not now":
// a drain, an unavailable dependency, a request deadline).
func reportable(err error, status int) bool {
	if errors.Is(err, middleware.ErrPanic) {
		return true
	}
	return status >= 500 && status != http.StatusServiceUnavailable && status != http.StatusGatewayTimeout
}

// reportError hands err to rep with what identifies the request: its id,
// method, route template and status, and the subject as the user id;
// never its path, query, headers or body.
func reportError(rep report.Reporter, c echo.Context, err error, status int, subject func(echo.Context) string) {
	req := c.Request()
	route := c.Path()
	if route == "" {
		route = middleware.UnmatchedRoute
	}
	ev := report.Event{
		Kind:      report.KindHTTP,
		Err:       err,
		RequestID: c.Response().Header().Get(echo.HeaderXRequestID),
		Method:    req.Method,
		Route:     route,
		Status:    status,
	}
	if pe := (*middleware.PanicError)(nil); errors.As(err, &pe) {
		ev.Panic, ev.Stack = pe.Value, pe.Stack
	}
	if subject != nil {
		ev.UserID = subject(c)
	}
	rep.Report(req.Context(), ev)
}
