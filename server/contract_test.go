package server_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/go-playground/validator/v10"
	"github.com/labstack/echo/v4"

	"github.com/gantry-dev/gantry/apierror"
	"github.com/gantry-dev/gantry/auth"
	"github.com/gantry-dev/gantry/crud"
	"github.com/gantry-dev/gantry/jobs"
	"github.com/gantry-dev/gantry/middleware"
	"github.com/gantry-dev/gantry/server"
	"github.com/gantry-dev/gantry/server/servertest"
)

// Every error type the library exports for clients meets the whole contract
// the envelope is rendered by.
var (
	_ apierror.Interface = (*server.Error)(nil)
	_ apierror.Interface = (*middleware.Error)(nil)
	_ apierror.Interface = (*auth.Error)(nil)
	_ apierror.Interface = (*auth.ScopeError)(nil)
	_ apierror.Interface = (*auth.RetryError)(nil)
	_ apierror.Interface = (*crud.Error)(nil)
	_ apierror.Interface = (*jobs.Error)(nil)
)

// TestErrorContract renders one error of every exported error type and
// sentinel family through a real server and checks the envelope a client
// reads: status, type, message and the exact details.
func TestErrorContract(t *testing.T) {
	tests := []struct {
		name        string
		err         error
		wantStatus  int
		wantType    string
		wantMessage string
		wantDetails string // raw JSON; "" means absent
	}{
		{name: "server.NewError", err: server.NewError(http.StatusConflict, "username taken"),
			wantStatus: 409, wantType: "conflict", wantMessage: "username taken"},
		{name: "server field errors", err: server.NewError(http.StatusUnprocessableEntity, "request validation failed").
			WithType("validation_error").WithFieldErrors(server.FieldError{Field: "email", Rule: "email", Message: "must be a valid email address"}),
			wantStatus: 422, wantType: "validation_error", wantMessage: "request validation failed",
			wantDetails: `[{"field":"email","rule":"email","message":"must be a valid email address"}]`},
		{name: "middleware.Error wrapping its sentinel", err: fmt.Errorf("limit: %w",
			server.NewError(http.StatusTooManyRequests, "rate limit exceeded, retry in 2s").WithType("rate_limited").Wrap(middleware.ErrRateLimited)),
			wantStatus: 429, wantType: "rate_limited", wantMessage: "rate limit exceeded, retry in 2s"},
		{name: "auth sentinel", err: auth.ErrInvalidToken,
			wantStatus: 401, wantType: "invalid_token", wantMessage: "invalid token"},
		{name: "auth sentinel wrapped", err: fmt.Errorf("verify: %w", auth.ErrTokenRevoked),
			wantStatus: 401, wantType: "token_revoked", wantMessage: "token revoked"},
		{name: "auth.ScopeError", err: &auth.ScopeError{Err: auth.ErrInsufficientScope, Missing: []string{"posts:write", "posts:delete"}},
			wantStatus: 403, wantType: "insufficient_scope", wantMessage: "missing scope: posts:write, posts:delete",
			wantDetails: `[{"missing":"posts:write"},{"missing":"posts:delete"}]`},
		{name: "auth.ScopeError role", err: &auth.ScopeError{Err: auth.ErrForbidden, Missing: []string{"admin", "editor"}, Any: true},
			wantStatus: 403, wantType: "forbidden", wantMessage: "requires any role of: admin, editor",
			wantDetails: `[{"missing":"admin"},{"missing":"editor"}]`},
		{name: "auth.RetryError", err: &auth.RetryError{Err: auth.ErrTooManyAttempts, RetryAfter: 3 * time.Second},
			wantStatus: 429, wantType: "too_many_attempts", wantMessage: "too many failed login attempts"},
		{name: "crud sentinel", err: fmt.Errorf("get post 7: %w", crud.ErrNotFound),
			wantStatus: 404, wantType: "not_found", wantMessage: "not found"},
		{name: "crud problems", err: crud.ErrInvalidQuery.WithMessage("invalid query parameters").
			WithProblems(crud.Problem{Field: "limit", Reason: "must be at most 100"}),
			wantStatus: 400, wantType: "invalid_query", wantMessage: "invalid query parameters",
			wantDetails: `[{"field":"limit","reason":"must be at most 100"}]`},
		{name: "crud cause hidden", err: crud.ErrConflict.WithMessage("a row with the same unique value already exists").Wrap(errSecret),
			wantStatus: 409, wantType: "conflict", wantMessage: "a row with the same unique value already exists"},
		{name: "jobs sentinel", err: fmt.Errorf("status: %w", jobs.ErrNotFound),
			wantStatus: 404, wantType: "not_found", wantMessage: "job not found"},
		{name: "jobs conflict", err: jobs.ErrDuplicate,
			wantStatus: 409, wantType: "conflict", wantMessage: "duplicate job"},
		{name: "5xx hides message and details", err: server.NewError(http.StatusInternalServerError, "db password is hunter2").
			WithProblems(apierror.Problem{Field: "x", Reason: "y"}),
			wantStatus: 500, wantType: "internal_error", wantMessage: "internal server error"},
	}
	s, _ := newTestServer(t, server.Config{})
	g := s.Group("/contract")
	for i, tt := range tests {
		g.GET(fmt.Sprintf("/%d", i), func(echo.Context) error { return tt.err })
	}
	base := servertest.Start(t, s)
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := http.Get(fmt.Sprintf("%s/contract/%d", base, i))
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			var env struct {
				Error struct {
					Code    int             `json:"code"`
					Type    string          `json:"type"`
					Message string          `json:"message"`
					Details json.RawMessage `json:"details"`
				} `json:"error"`
			}
			if err := json.Unmarshal(body, &env); err != nil {
				t.Fatalf("body %s: %v", body, err)
			}
			e := env.Error
			if resp.StatusCode != tt.wantStatus || e.Code != tt.wantStatus || e.Type != tt.wantType ||
				e.Message != tt.wantMessage || string(e.Details) != tt.wantDetails {
				t.Errorf("GET = %d %s; want %d with code %d, type %q, message %q, details %s",
					resp.StatusCode, body, tt.wantStatus, tt.wantStatus, tt.wantType, tt.wantMessage, tt.wantDetails)
			}
		})
	}
}

// TestSentinelsAreImmutable: the library's exported sentinels are
// *apierror.Error values (no exported fields), and a variant derived from
// one leaves it as it was while still matching it.
func TestSentinelsAreImmutable(t *testing.T) {
	sentinels := map[string]*apierror.Error{
		"auth.ErrInvalidToken": auth.ErrInvalidToken, "auth.ErrForbidden": auth.ErrForbidden,
		"crud.ErrNotFound": crud.ErrNotFound, "crud.ErrInvalidQuery": crud.ErrInvalidQuery,
		"jobs.ErrNotFound": jobs.ErrNotFound, "jobs.ErrDuplicate": jobs.ErrDuplicate,
	}
	for name, s := range sentinels {
		t.Run(name, func(t *testing.T) {
			status, typ, msg, text := s.HTTPStatus(), s.ErrorType(), s.PublicMessage(), s.Error()
			v := s.WithStatus(http.StatusOK).WithType("ok").WithMessage("fine").
				WithProblems(crud.Problem{Field: "f", Reason: "r"}).Wrap(errors.New("cause"))
			if !errors.Is(v, s) {
				t.Errorf("errors.Is(variant, %s) = false; want true", name)
			}
			if s.HTTPStatus() != status || s.ErrorType() != typ || s.PublicMessage() != msg ||
				s.Error() != text || s.ErrorDetails() != nil || s.Unwrap() != nil {
				t.Errorf("%s after deriving a variant = %d %q %q %q %v; want %d %q %q %q and no details or cause",
					name, s.HTTPStatus(), s.ErrorType(), s.PublicMessage(), s.Error(), s.ErrorDetails(), status, typ, msg, text)
			}
		})
	}
}

// TestOneDetailsShapePerType: the errors the library's own producers return
// (binding, crud's query and patch parsers, auth's guards) carry one details
// shape per envelope type, so a client can decode details by type alone.
func TestOneDetailsShapePerType(t *testing.T) {
	_, queryErr := crud.ParseQuery(url.Values{"limit": {"x"}, "sort": {"nope"}}, crud.QuerySpec{})
	_, patchErr := crud.ParsePatch([]byte(`{"id": 1, "title": 2}`), "title")
	type bad struct {
		Email string `json:"email" validate:"required,email"`
	}
	bindErr := server.ValidationError(validator.New().Struct(bad{Email: "x"}).(validator.ValidationErrors))
	produced := []error{
		queryErr, patchErr, bindErr,
		&auth.ScopeError{Err: auth.ErrInsufficientScope, Missing: []string{"posts:write"}},
		&auth.ScopeError{Err: auth.ErrForbidden, Missing: []string{"admin"}},
	}
	shapes := map[string]string{}
	for _, err := range produced {
		var e apierror.Interface
		if !errors.As(err, &e) {
			t.Fatalf("%v is not an apierror.Interface", err)
		}
		d := e.ErrorDetails()
		if d == nil {
			t.Fatalf("%s: no details; the test needs errors that carry them", e.ErrorType())
		}
		shape := fmt.Sprintf("%T", d)
		if prev, ok := shapes[e.ErrorType()]; ok && prev != shape {
			t.Errorf("type %q carries details %s and %s", e.ErrorType(), prev, shape)
		}
		shapes[e.ErrorType()] = shape
	}
	want := map[string]string{
		"invalid_query": "[]apierror.Problem", "invalid_patch": "[]apierror.Problem",
		"validation_error":   "[]apierror.FieldError",
		"insufficient_scope": "[]apierror.MissingPermission", "forbidden": "[]apierror.MissingPermission",
	}
	for typ, shape := range want {
		if shapes[typ] != shape {
			t.Errorf("type %q carries %q; want %q (all: %v)", typ, shapes[typ], shape, shapes)
		}
	}
}
