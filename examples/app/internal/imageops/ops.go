package imageops

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/gantry-dev/gantry/apierror"
)

// Operation names, the values of [Op.Op].
const (
	OpResize    = "resize"
	OpRotate    = "rotate"
	OpGrayscale = "grayscale"
	OpBlur      = "blur"
	OpThumbnail = "thumbnail"
)

// Limits on an operation list.
const (
	// MaxOps is the most operations a list may hold.
	MaxOps = 20
	// MaxDimension is the largest width or height an operation may ask for.
	MaxDimension = 10000
	// MaxSigma is the largest blur sigma.
	MaxSigma = 50
)

// Op is one operation. Only the parameters of its kind may be set; see the
// package documentation.
type Op struct {
	// Op is the operation: [OpResize], [OpRotate], [OpGrayscale], [OpBlur]
	// or [OpThumbnail].
	Op string `json:"op"`
	// Width and Height are in pixels (resize, thumbnail).
	Width  int `json:"width,omitempty"`
	Height int `json:"height,omitempty"`
	// Angle is 90, 180 or 270 degrees counter-clockwise (rotate).
	Angle int `json:"angle,omitempty"`
	// Sigma is the blur's standard deviation in pixels (blur).
	Sigma float64 `json:"sigma,omitempty"`
}

// String describes the operation, e.g. "resize to 200x0"; progress
// messages use it.
func (o Op) String() string {
	switch o.Op {
	case OpResize:
		return fmt.Sprintf("resize to %dx%d", o.Width, o.Height)
	case OpRotate:
		return fmt.Sprintf("rotate %d°", o.Angle)
	case OpBlur:
		return "blur sigma " + strconv.FormatFloat(o.Sigma, 'g', -1, 64)
	case OpThumbnail:
		return fmt.Sprintf("thumbnail within %dx%d", o.Width, o.Height)
	}
	return o.Op
}

// Parse decodes a JSON array of operations and validates it as [Validate]
// does. Unknown fields, wrong types and trailing data are errors too. Every
// error is an [*Error] with status 422 wrapping [ErrInvalidOps].
func Parse(data []byte) ([]Op, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var ops []Op
	if err := dec.Decode(&ops); err != nil {
		return nil, invalidOps("operations", jsonProblem(err))
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, invalidOps("operations", "unexpected data after the list")
	}
	if err := Validate(ops); err != nil {
		return nil, err
	}
	return ops, nil
}

// jsonProblem turns a decoding error into a message for the client.
func jsonProblem(err error) string {
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) {
		if typeErr.Field == "" {
			return "must be a list of operations"
		}
		return fmt.Sprintf("%s must be a %s", typeErr.Field, jsonType(typeErr.Type.Kind().String()))
	}
	return "invalid JSON: " + strings.TrimPrefix(err.Error(), "json: ")
}

func jsonType(kind string) string {
	switch kind {
	case "int", "int64", "float64":
		return "number"
	}
	return kind
}

// Validate checks a list of operations: 1 to [MaxOps] of them, each a
// known operation with exactly its own parameters in range. It returns the
// first problem as an [*Error] with status 422 wrapping [ErrInvalidOps],
// whose field is e.g. "operations[2].sigma".
func Validate(ops []Op) error {
	if len(ops) == 0 {
		return invalidOps("operations", "at least one operation is required")
	}
	if len(ops) > MaxOps {
		return invalidOps("operations", fmt.Sprintf("at most %d operations are allowed", MaxOps))
	}
	for i, op := range ops {
		if err := op.validate(); err != nil {
			err.Field = fmt.Sprintf("operations[%d]%s", i, err.Field)
			return err
		}
	}
	return nil
}

// validate checks one operation; the returned error's Field is relative
// (".width", or "" for the operation itself).
func (o Op) validate() *Error {
	var allowed []string // the parameters this op takes
	switch o.Op {
	case OpResize:
		allowed = []string{"width", "height"}
		if o.Width == 0 && o.Height == 0 {
			return invalidOps("", "resize needs a width, a height or both")
		}
	case OpThumbnail:
		allowed = []string{"width", "height"}
		if o.Width == 0 {
			return invalidOps(".width", "is required")
		}
		if o.Height == 0 {
			return invalidOps(".height", "is required")
		}
	case OpRotate:
		allowed = []string{"angle"}
		if o.Angle != 90 && o.Angle != 180 && o.Angle != 270 {
			return invalidOps(".angle", "must be 90, 180 or 270")
		}
	case OpBlur:
		allowed = []string{"sigma"}
		if !(o.Sigma > 0 && o.Sigma <= MaxSigma) {
			return invalidOps(".sigma", fmt.Sprintf("must be greater than 0 and at most %d", MaxSigma))
		}
	case OpGrayscale:
	case "":
		return invalidOps(".op", "is required")
	default:
		return invalidOps(".op", fmt.Sprintf("unknown operation %q; want resize, rotate, grayscale, blur or thumbnail", o.Op))
	}
	for _, p := range []struct {
		name string
		set  bool
	}{{"width", o.Width != 0}, {"height", o.Height != 0}, {"angle", o.Angle != 0}, {"sigma", o.Sigma != 0}} {
		if p.set && !slices.Contains(allowed, p.name) {
			return invalidOps("."+p.name, "does not apply to "+o.Op)
		}
	}
	for _, d := range []struct {
		name string
		v    int
	}{{"width", o.Width}, {"height", o.Height}} {
		if d.v < 0 || d.v > MaxDimension {
			return invalidOps("."+d.name, fmt.Sprintf("must be between 1 and %d", MaxDimension))
		}
	}
	return nil
}

// Sentinel errors; the package's errors are [*Error] values wrapping one.
var (
	// ErrInvalidOps means an operation list is malformed (HTTP 422).
	ErrInvalidOps = errors.New("imageops: invalid operations")
	// ErrInvalidImage means the input is not a decodable image (HTTP 422).
	ErrInvalidImage = errors.New("imageops: invalid image")
	// ErrUnsupportedFormat means the input is not PNG, JPEG or GIF (HTTP
	// 415).
	ErrUnsupportedFormat = errors.New("imageops: unsupported image format")
	// ErrTooLarge means the input, or a resize's result, is over the
	// configured limits (HTTP 413 for the input, 422 for a resize).
	ErrTooLarge = errors.New("imageops: image too large")
)

// Error is an error caused by the input: the operations or the image.
type Error struct {
	// Status is the HTTP status: 413, 415 or 422.
	Status int
	// Field names the offending field, e.g. "operations[1].angle"; empty
	// when the image itself is at fault.
	Field string
	// Message describes the problem, safe to show to the client.
	Message string
	// Err is the sentinel error.
	Err error
}

func invalidOps(field, msg string) *Error {
	return &Error{Status: http.StatusUnprocessableEntity, Field: field, Message: msg, Err: ErrInvalidOps}
}

// Error returns the sentinel's text, the field and the message.
func (e *Error) Error() string {
	if e.Field != "" {
		return e.Err.Error() + ": " + e.Field + ": " + e.Message
	}
	return e.Err.Error() + ": " + e.Message
}

// Unwrap returns the sentinel error.
func (e *Error) Unwrap() error { return e.Err }

// HTTPStatus returns the HTTP status.
func (e *Error) HTTPStatus() int { return e.Status }

// ErrorType returns the envelope type derived from the status.
func (e *Error) ErrorType() string {
	switch e.Status {
	case http.StatusRequestEntityTooLarge:
		return "payload_too_large"
	case http.StatusUnsupportedMediaType:
		return "unsupported_media_type"
	}
	return "validation_error"
}

// PublicMessage returns "<field>: <message>", or the message alone.
func (e *Error) PublicMessage() string {
	if e.Field != "" {
		return e.Field + ": " + e.Message
	}
	return e.Message
}

// ErrorDetails returns one [apierror.FieldError] with the rule "operations"
// when a field is at fault, else nil.
func (e *Error) ErrorDetails() any {
	if e.Field == "" {
		return nil
	}
	return []apierror.FieldError{{Field: e.Field, Rule: "operations", Message: e.Message}}
}
