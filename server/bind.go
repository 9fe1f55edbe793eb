package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strings"

	"github.com/go-playground/validator/v10"
	"github.com/labstack/echo/v4"
)

// StrictJSON is implemented by request types that refuse JSON fields they do
// not declare. Bind answers 400 naming the unknown field.
type StrictJSON interface {
	StrictJSON()
}

// Bind decodes the JSON request body into dst and validates it with the
// server's validator (go-playground/validator tags).
//
// Only the body binds: query and path parameters never leak into it. The
// body must be one JSON value of Content-Type application/json (or
// +json). Failures come back as errors the error handler renders: 415 for
// another content type, 400 for an empty body, malformed JSON, a wrong type
// or trailing data, 413 for a body over the limit, and 422 with one
// [FieldError] per invalid field. Messages name JSON fields and JSON types,
// never Go types.
func Bind(c echo.Context, dst any) error {
	req := c.Request()
	if ct := req.Header.Get(echo.HeaderContentType); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != echo.MIMEApplicationJSON && !strings.HasSuffix(mt, "+json")) {
			return NewError(http.StatusUnsupportedMediaType, "content type must be application/json")
		}
	}
	if err := decodeJSON(req.Body, dst); err != nil {
		return err
	}
	if err := c.Validate(dst); err != nil {
		return err
	}
	return nil
}

func decodeJSON(body io.Reader, dst any) error {
	if body == nil || body == http.NoBody {
		return NewError(http.StatusBadRequest, "request body is required")
	}
	dec := json.NewDecoder(body)
	if _, ok := dst.(StrictJSON); ok {
		dec.DisallowUnknownFields()
	}
	if err := dec.Decode(dst); err != nil {
		return jsonError(err)
	}
	// One value only: anything after it but white space is refused.
	if err := dec.Decode(&struct{}{}); err != io.EOF {
		if st := tooLarge(err); st != nil {
			return st
		}
		return NewError(http.StatusBadRequest, "request body must hold a single JSON value").WithType("invalid_json")
	}
	return nil
}

func tooLarge(err error) error {
	var mbe *http.MaxBytesError
	var he *echo.HTTPError
	switch {
	case errors.As(err, &mbe):
		return NewError(http.StatusRequestEntityTooLarge, fmt.Sprintf("request body exceeds %d bytes", mbe.Limit)).Wrap(err)
	case errors.As(err, &he) && he.Code == http.StatusRequestEntityTooLarge:
		return NewError(http.StatusRequestEntityTooLarge, "request body too large").Wrap(err)
	}
	return nil
}

func jsonError(err error) error {
	if st := tooLarge(err); st != nil {
		return st
	}
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	bad := func(msg string) error {
		return NewError(http.StatusBadRequest, msg).WithType("invalid_json").Wrap(err)
	}
	switch {
	case errors.Is(err, io.EOF):
		return NewError(http.StatusBadRequest, "request body is required")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return bad("malformed JSON: unexpected end of input")
	case errors.As(err, &se):
		return bad(fmt.Sprintf("malformed JSON at byte %d", se.Offset))
	case errors.As(err, &te):
		if te.Field == "" {
			return bad(fmt.Sprintf("request body must be %s, not %s", jsonKind(te.Type), te.Value))
		}
		return bad(fmt.Sprintf("field %q must be %s, not %s", te.Field, jsonKind(te.Type), te.Value))
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return bad("unknown field " + strings.TrimPrefix(err.Error(), "json: unknown field "))
	}
	return bad("malformed JSON")
}

// jsonKind names the JSON type a Go type decodes from.
func jsonKind(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.String:
		return "a string"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Map, reflect.Struct:
		return "an object"
	}
	return "a valid value"
}

// structValidator adapts go-playground/validator to echo.Validator, naming
// fields by their JSON names. Each Server has its own.
type structValidator struct{ v *validator.Validate }

func newValidator() *structValidator {
	v := validator.New(validator.WithRequiredStructEnabled())
	v.RegisterTagNameFunc(func(f reflect.StructField) string {
		for _, tag := range []string{"json", "query", "param", "header", "form"} {
			name, _, _ := strings.Cut(f.Tag.Get(tag), ",")
			if name == "-" {
				return ""
			}
			if name != "" {
				return name
			}
		}
		return f.Name
	})
	return &structValidator{v: v}
}

// Validate implements echo.Validator.
func (sv *structValidator) Validate(i any) error {
	err := sv.v.Struct(i)
	if err == nil {
		return nil
	}
	var verrs validator.ValidationErrors
	if !errors.As(err, &verrs) {
		var inv *validator.InvalidValidationError
		if errors.As(err, &inv) {
			return nil // not a struct: nothing to validate
		}
		return err
	}
	return ValidationError(verrs)
}

// ValidationError converts validator errors to a 422 [Error] whose details
// list one [FieldError] per field.
func ValidationError(verrs validator.ValidationErrors) *Error {
	details := make([]FieldError, 0, len(verrs))
	for _, fe := range verrs {
		field := fe.Namespace()
		if _, rest, ok := strings.Cut(field, "."); ok {
			field = rest // drop the top-level type name
		}
		details = append(details, FieldError{Field: field, Rule: fe.Tag(), Message: ruleMessage(fe)})
	}
	return NewError(http.StatusUnprocessableEntity, "request validation failed").WithType("validation_error").WithFieldErrors(details...)
}

func ruleMessage(fe validator.FieldError) string {
	p := fe.Param()
	isStr := fe.Kind() == reflect.String
	isList := fe.Kind() == reflect.Slice || fe.Kind() == reflect.Map || fe.Kind() == reflect.Array
	switch fe.Tag() {
	case "required", "required_if", "required_unless", "required_with", "required_without":
		return "is required"
	case "email":
		return "must be a valid email address"
	case "url", "http_url":
		return "must be a valid URL"
	case "uuid", "uuid4":
		return "must be a valid UUID"
	case "oneof":
		return "must be one of: " + strings.ReplaceAll(p, " ", ", ")
	case "min", "gte":
		switch {
		case isStr:
			return "must be at least " + p + " characters long"
		case isList:
			return "must have at least " + p + " items"
		}
		return "must be at least " + p
	case "max", "lte":
		switch {
		case isStr:
			return "must be at most " + p + " characters long"
		case isList:
			return "must have at most " + p + " items"
		}
		return "must be at most " + p
	case "len":
		if isStr {
			return "must be exactly " + p + " characters long"
		}
		return "must have length " + p
	case "gt":
		return "must be greater than " + p
	case "lt":
		return "must be less than " + p
	case "alphanum":
		return "must contain only letters and digits"
	case "datetime":
		return "must be a date-time in the layout " + p
	}
	if p != "" {
		return fmt.Sprintf("failed the %q rule (%s)", fe.Tag(), p)
	}
	return fmt.Sprintf("failed the %q rule", fe.Tag())
}
