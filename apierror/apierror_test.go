package apierror_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/gantry-dev/gantry/apierror"
)

// TestNoExportedFields is what makes `pkg.ErrX.Status = 200` a compile
// error: an *Error has no field an importer can assign.
func TestNoExportedFields(t *testing.T) {
	typ := reflect.TypeFor[apierror.Error]()
	for f := range typ.Fields() {
		if f.IsExported() {
			t.Errorf("apierror.Error has the exported field %s; a sentinel could be changed through it", f.Name)
		}
	}
}

// snapshot is everything an importer can read of an error.
type snapshot struct {
	Status  int
	Type    string
	Message string
	Details string
	Text    string
	Cause   error
}

func snap(e *apierror.Error) snapshot {
	d, _ := json.Marshal(e.ErrorDetails())
	return snapshot{e.HTTPStatus(), e.ErrorType(), e.PublicMessage(), string(d), e.Error(), e.Unwrap()}
}

// TestSentinelCannotChange derives every variant the exported API allows
// from a sentinel, changes everything it hands back, and checks that the
// sentinel reads exactly as before.
func TestSentinelCannotChange(t *testing.T) {
	cause := errors.New("driver: connection reset")
	errNotFound := apierror.New(http.StatusNotFound, "not found").WithType("not_found").WithOrigin("shop")
	errInvalid := apierror.New(http.StatusBadRequest, "invalid query").WithType("invalid_query").
		WithProblems(apierror.Problem{Field: "limit", Reason: "too large"})
	errBind := apierror.New(http.StatusUnprocessableEntity, "request validation failed").
		WithFieldErrors(apierror.FieldError{Field: "email", Rule: "email", Message: "must be a valid email address"})
	for _, sentinel := range []*apierror.Error{errNotFound, errInvalid, errBind} {
		t.Run(sentinel.PublicMessage(), func(t *testing.T) {
			before := snap(sentinel)
			problems := []apierror.Problem{{Field: "a", Reason: "b"}}
			fields := []apierror.FieldError{{Field: "a", Rule: "r", Message: "m"}}
			variants := []*apierror.Error{
				sentinel.WithType("other"),
				sentinel.WithStatus(http.StatusTeapot),
				sentinel.WithMessage("changed"),
				sentinel.WithOrigin("elsewhere"),
				sentinel.WithProblems(problems...),
				sentinel.WithFieldErrors(fields...),
				sentinel.WithProblems(),
				sentinel.WithFieldErrors(),
				sentinel.Wrap(cause),
				sentinel.WithMessage("a").WithStatus(409).Wrap(cause).WithType("b"),
			}
			// Change what was passed in and what comes back.
			problems[0].Field = "mutated"
			fields[0].Field = "mutated"
			for _, v := range append(variants, sentinel) {
				switch d := v.ErrorDetails().(type) {
				case []apierror.Problem:
					d[0].Field = "mutated"
				case []apierror.FieldError:
					d[0].Field = "mutated"
				}
				if p := v.Problems(); len(p) > 0 {
					p[0].Reason = "mutated"
				}
				if f := v.FieldErrors(); len(f) > 0 {
					f[0].Message = "mutated"
				}
			}
			if got := snap(sentinel); got != before {
				t.Errorf("sentinel after deriving = %+v; want %+v", got, before)
			}
			for i, v := range variants {
				if v == sentinel {
					t.Errorf("variant %d is the sentinel itself; want a copy", i)
				}
				if !errors.Is(v, sentinel) {
					t.Errorf("errors.Is(variant %d, sentinel) = false; want true", i)
				}
				if strings.Contains(v.Error(), "mutated") {
					t.Errorf("variant %d = %q; a slice it was given or gave out changed it", i, v.Error())
				}
			}
			if got := variants[4].Problems(); len(got) != 1 || got[0] != (apierror.Problem{Field: "a", Reason: "b"}) {
				t.Errorf("WithProblems(a: b).Problems() = %v; want [{a b}]", got)
			}
		})
	}
}

func TestIs(t *testing.T) {
	errA := apierror.New(404, "a")
	errB := apierror.New(404, "a")
	child := errA.WithMessage("child")
	grandchild := child.WithType("x").Wrap(errB)
	tests := []struct {
		name        string
		err, target error
		want        bool
	}{
		{"itself", errA, errA, true},
		{"child of its sentinel", child, errA, true},
		{"grandchild of both ancestors", grandchild, errA, true},
		{"grandchild of its parent", grandchild, child, true},
		{"grandchild of its cause", grandchild, errB, true},
		{"wrapped with fmt", fmt.Errorf("load: %w", child), errA, true},
		{"sentinel is not its child", errA, child, false},
		{"equal fields are not the same sentinel", errA, errB, false},
		{"child of another sentinel", child, errB, false},
		{"plain error", errors.New("a"), errA, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := errors.Is(tt.err, tt.target); got != tt.want {
				t.Errorf("errors.Is(%v, %v) = %v; want %v", tt.err, tt.target, got, tt.want)
			}
		})
	}
}

func TestErrorText(t *testing.T) {
	cause := errors.New("pq: duplicate key")
	tests := []struct {
		name string
		err  *apierror.Error
		want string
	}{
		{"message", apierror.New(400, "bad"), "bad"},
		{"origin", apierror.New(404, "not found").WithOrigin("crud"), "crud: not found"},
		{"cause", apierror.New(409, "conflict").WithOrigin("crud").Wrap(cause), "crud: conflict: pq: duplicate key"},
		{"problems", apierror.New(400, "invalid query").WithOrigin("crud").WithProblems(
			apierror.Problem{Field: "limit", Reason: "too large"}, apierror.Problem{Field: "sort", Reason: "unknown"}),
			"crud: invalid query (limit: too large; sort: unknown)"},
		{"field errors", apierror.New(422, "request validation failed").WithFieldErrors(
			apierror.FieldError{Field: "email", Rule: "email", Message: "must be a valid email address"}),
			"request validation failed (email: must be a valid email address)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.err.Error(); got != tt.want {
				t.Errorf("Error() = %q; want %q", got, tt.want)
			}
			if strings.Contains(tt.err.PublicMessage(), "pq:") || strings.Contains(tt.err.PublicMessage(), ": ") {
				t.Errorf("PublicMessage() = %q; want the message alone", tt.err.PublicMessage())
			}
		})
	}
}

func TestErrorTypeAndDetails(t *testing.T) {
	e := apierror.New(http.StatusTooManyRequests, "slow down")
	if got := e.ErrorType(); got != "rate_limited" {
		t.Errorf("ErrorType() without WithType = %q; want rate_limited", got)
	}
	if got := e.ErrorDetails(); got != nil {
		t.Errorf("ErrorDetails() without details = %#v; want untyped nil (omitted from the envelope)", got)
	}
	if got := e.WithProblems().ErrorDetails(); got != nil {
		t.Errorf("WithProblems().ErrorDetails() = %#v; want nil", got)
	}
	b, _ := json.Marshal(e.WithFieldErrors(apierror.FieldError{Field: "f", Rule: "min", Message: "m"}).ErrorDetails())
	if want := `[{"field":"f","rule":"min","message":"m"}]`; string(b) != want {
		t.Errorf("field error details = %s; want %s", b, want)
	}
	b, _ = json.Marshal(e.WithProblems(apierror.Problem{Field: "f", Reason: "r"}).ErrorDetails())
	if want := `[{"field":"f","reason":"r"}]`; string(b) != want {
		t.Errorf("problem details = %s; want %s", b, want)
	}
	b, _ = json.Marshal([]apierror.MissingPermission{{Missing: "posts:write"}})
	if want := `[{"missing":"posts:write"}]`; string(b) != want {
		t.Errorf("missing permission details = %s; want %s", b, want)
	}
}

// TestTypeForStatus checks the table against net/http's status texts, which
// the package copies so that it needs no net/http.
func TestTypeForStatus(t *testing.T) {
	named := map[int]string{400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
		405: "method_not_allowed", 409: "conflict", 413: "payload_too_large", 415: "unsupported_media_type",
		422: "validation_error", 429: "rate_limited", 500: "internal_error", 502: "internal_error",
		503: "service_unavailable", 504: "timeout"}
	for status := 400; status <= 599; status++ {
		want, ok := named[status]
		switch {
		case ok:
		case status >= 500:
			want = "internal_error"
		default:
			want = strings.ToLower(strings.ReplaceAll(http.StatusText(status), " ", "_"))
		}
		if got := apierror.TypeForStatus(status); got != want {
			t.Errorf("TypeForStatus(%d) = %q; want %q", status, got, want)
		}
	}
}
