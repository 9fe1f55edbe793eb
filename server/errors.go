package server

import (
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
)

// An error carries its own HTTP status by implementing this method; the
// error handler finds it anywhere in the chain with errors.As. Packages such
// as crud, auth and jobs implement it without importing server.
type httpStatuser interface{ HTTPStatus() int }

// An error may name its envelope "type" (e.g. "invalid_token").
type errorTyper interface{ ErrorType() string }

// An error may carry envelope "details" (e.g. one entry per invalid field).
type errorDetailer interface{ ErrorDetails() any }

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

// Error is an error with an HTTP status, an envelope type and optional
// details. Handlers return it (or wrap it) to answer with a chosen status;
// its Message is shown to the client as written.
type Error struct {
	Status  int
	Type    string // default derived from Status, e.g. "not_found"
	Message string
	Details any
	Err     error // the cause, logged but never shown
}

// NewError returns an *Error with the given status and message.
func NewError(status int, message string) *Error {
	return &Error{Status: status, Message: message}
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Message + ": " + e.Err.Error()
	}
	return e.Message
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// HTTPStatus returns the status.
func (e *Error) HTTPStatus() int { return e.Status }

// ErrorType returns the envelope type.
func (e *Error) ErrorType() string {
	if e.Type != "" {
		return e.Type
	}
	return TypeForStatus(e.Status)
}

// ErrorDetails returns the details.
func (e *Error) ErrorDetails() any { return e.Details }

// PublicMessage is the text shown to the client.
func (e *Error) PublicMessage() string { return e.Message }

// TypeForStatus returns the default envelope type of an HTTP status.
func TypeForStatus(status int) string {
	switch status {
	case http.StatusBadRequest:
		return "bad_request"
	case http.StatusUnauthorized:
		return "unauthorized"
	case http.StatusForbidden:
		return "forbidden"
	case http.StatusNotFound:
		return "not_found"
	case http.StatusMethodNotAllowed:
		return "method_not_allowed"
	case http.StatusConflict:
		return "conflict"
	case http.StatusRequestEntityTooLarge:
		return "payload_too_large"
	case http.StatusUnsupportedMediaType:
		return "unsupported_media_type"
	case http.StatusUnprocessableEntity:
		return "validation_error"
	case http.StatusTooManyRequests:
		return "rate_limited"
	case http.StatusServiceUnavailable:
		return "service_unavailable"
	case http.StatusGatewayTimeout:
		return "timeout"
	}
	if status >= 500 {
		return "internal_error"
	}
	return strings.ToLower(strings.ReplaceAll(http.StatusText(status), " ", "_"))
}

type publicMessager interface{ PublicMessage() string }

// classify turns any error into the envelope's status, type, message and details.
func classify(err error) (status int, typ, msg string, details any) {
	status = http.StatusInternalServerError
	var he *echo.HTTPError
	var hs httpStatuser
	switch {
	case errors.As(err, &hs):
		status = hs.HTTPStatus()
		var carrier error = hs.(error)
		if t, ok := carrier.(errorTyper); ok {
			typ = t.ErrorType()
		}
		if d, ok := carrier.(errorDetailer); ok {
			details = d.ErrorDetails()
		}
		if p, ok := carrier.(publicMessager); ok {
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
// an [Envelope] and logs server errors with the request id.
func errorHandler(log *slog.Logger, now func() time.Time) echo.HTTPErrorHandler {
	return func(err error, c echo.Context) {
		if c.Response().Committed {
			return
		}
		status, typ, msg, details := classify(err)
		req := c.Request()
		rid := c.Response().Header().Get(echo.HeaderXRequestID)
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
