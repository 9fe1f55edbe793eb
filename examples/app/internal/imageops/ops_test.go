package imageops_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/gantry-dev/gantry/apierror"
	"github.com/gantry-dev/gantry/examples/app/internal/imageops"
)

func TestParse(t *testing.T) {
	tooMany := "[" + strings.Repeat(`{"op":"grayscale"},`, imageops.MaxOps) + `{"op":"grayscale"}]`
	tests := []struct {
		name      string
		in        string
		want      []imageops.Op
		wantField string // "" when valid
		wantMsg   string // substring of the message
	}{
		{
			name: "every operation",
			in:   `[{"op":"resize","width":200},{"op":"rotate","angle":90},{"op":"grayscale"},{"op":"blur","sigma":1.5},{"op":"thumbnail","width":64,"height":64}]`,
			want: []imageops.Op{{Op: "resize", Width: 200}, {Op: "rotate", Angle: 90}, {Op: "grayscale"}, {Op: "blur", Sigma: 1.5}, {Op: "thumbnail", Width: 64, Height: 64}},
		},
		{name: "resize by height", in: `[{"op":"resize","height":100}]`, want: []imageops.Op{{Op: "resize", Height: 100}}},
		{name: "explicit zero width", in: `[{"op":"resize","width":0,"height":100}]`, want: []imageops.Op{{Op: "resize", Height: 100}}},
		{name: "unknown op", in: `[{"op":"grayscale"},{"op":"sepia"}]`, wantField: "operations[1].op", wantMsg: `unknown operation "sepia"`},
		{name: "missing op", in: `[{"width":10}]`, wantField: "operations[0].op", wantMsg: "is required"},
		{name: "unknown field", in: `[{"op":"resize","widht":10}]`, wantField: "operations", wantMsg: `unknown field "widht"`},
		{name: "wrong type", in: `[{"op":"resize","width":"big"}]`, wantField: "operations", wantMsg: "must be a number"},
		{name: "fractional width", in: `[{"op":"resize","width":10.5}]`, wantField: "operations", wantMsg: "must be a number"},
		{name: "not a list", in: `{"op":"resize","width":10}`, wantField: "operations", wantMsg: "must be a list"},
		{name: "not JSON", in: `resize 10`, wantField: "operations", wantMsg: "invalid JSON"},
		{name: "trailing data", in: `[{"op":"grayscale"}] [{"op":"grayscale"}]`, wantField: "operations", wantMsg: "after the list"},
		{name: "empty list", in: `[]`, wantField: "operations", wantMsg: "at least one"},
		{name: "null", in: `null`, wantField: "operations", wantMsg: "at least one"},
		{name: "too many", in: tooMany, wantField: "operations", wantMsg: fmt.Sprintf("at most %d", imageops.MaxOps)},
		{name: "resize without size", in: `[{"op":"resize"}]`, wantField: "operations[0]", wantMsg: "needs a width"},
		{name: "negative width", in: `[{"op":"resize","width":-5}]`, wantField: "operations[0].width", wantMsg: "between 1 and"},
		{name: "huge height", in: `[{"op":"resize","height":100000}]`, wantField: "operations[0].height", wantMsg: "between 1 and"},
		{name: "rotate 45", in: `[{"op":"rotate","angle":45}]`, wantField: "operations[0].angle", wantMsg: "90, 180 or 270"},
		{name: "rotate without angle", in: `[{"op":"rotate"}]`, wantField: "operations[0].angle", wantMsg: "90, 180 or 270"},
		{name: "blur zero", in: `[{"op":"blur"}]`, wantField: "operations[0].sigma", wantMsg: "greater than 0"},
		{name: "blur too strong", in: `[{"op":"blur","sigma":51}]`, wantField: "operations[0].sigma", wantMsg: "at most 50"},
		{name: "thumbnail without height", in: `[{"op":"thumbnail","width":10}]`, wantField: "operations[0].height", wantMsg: "is required"},
		{name: "stray parameter", in: `[{"op":"grayscale","width":10}]`, wantField: "operations[0].width", wantMsg: "does not apply to grayscale"},
		{name: "angle on resize", in: `[{"op":"resize","width":10,"angle":90}]`, wantField: "operations[0].angle", wantMsg: "does not apply to resize"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := imageops.Parse([]byte(tt.in))
			if tt.wantField == "" {
				if err != nil || !slices.Equal(got, tt.want) {
					t.Errorf("Parse(%s) = %+v, %v; want %+v", tt.in, got, err, tt.want)
				}
				return
			}
			var e *imageops.Error
			if !errors.As(err, &e) || !errors.Is(err, imageops.ErrInvalidOps) {
				t.Fatalf("Parse(%s) = %+v, %v; want an *imageops.Error wrapping ErrInvalidOps", tt.in, got, err)
			}
			if e.HTTPStatus() != 422 || e.ErrorType() != "validation_error" || e.Field != tt.wantField || !strings.Contains(e.Message, tt.wantMsg) {
				t.Errorf("Parse(%s) error = %d %s %q %q; want 422 validation_error %q containing %q",
					tt.in, e.HTTPStatus(), e.ErrorType(), e.Field, e.Message, tt.wantField, tt.wantMsg)
			}
			details, _ := e.ErrorDetails().([]apierror.FieldError)
			if len(details) != 1 || details[0].Field != tt.wantField {
				t.Errorf("ErrorDetails() = %v; want one entry for %s", e.ErrorDetails(), tt.wantField)
			}
		})
	}
}

func TestOpString(t *testing.T) {
	tests := []struct {
		op   imageops.Op
		want string
	}{
		{imageops.Op{Op: "resize", Width: 200}, "resize to 200x0"},
		{imageops.Op{Op: "rotate", Angle: 270}, "rotate 270°"},
		{imageops.Op{Op: "grayscale"}, "grayscale"},
		{imageops.Op{Op: "blur", Sigma: 2.5}, "blur sigma 2.5"},
		{imageops.Op{Op: "thumbnail", Width: 64, Height: 48}, "thumbnail within 64x48"},
	}
	for _, tt := range tests {
		if got := tt.op.String(); got != tt.want {
			t.Errorf("%+v.String() = %q; want %q", tt.op, got, tt.want)
		}
	}
}
