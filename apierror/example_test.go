package apierror_test

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/gantry-dev/gantry/apierror"
)

// ErrOutOfStock is a sentinel of a user package: nobody can change it, and
// every variant derived from it still matches it.
var ErrOutOfStock = apierror.New(409, "out of stock").WithType("out_of_stock").WithOrigin("shop")

func Example() {
	err := fmt.Errorf("order 7: %w", ErrOutOfStock.WithMessage("only 2 left of item 42"))

	fmt.Println(errors.Is(err, ErrOutOfStock))
	var e apierror.Interface
	if errors.As(err, &e) {
		fmt.Println(e.HTTPStatus(), e.ErrorType(), e.PublicMessage())
	}
	fmt.Println(err)
	fmt.Println(ErrOutOfStock.PublicMessage())
	// Output:
	// true
	// 409 out_of_stock only 2 left of item 42
	// order 7: shop: only 2 left of item 42
	// out of stock
}

func ExampleError_WithFieldErrors() {
	err := apierror.New(422, "request validation failed").
		WithFieldErrors(apierror.FieldError{Field: "email", Rule: "email", Message: "must be a valid email address"})
	details, _ := json.Marshal(err.ErrorDetails())
	fmt.Println(err.ErrorType())
	fmt.Println(string(details))
	// Output:
	// validation_error
	// [{"field":"email","rule":"email","message":"must be a valid email address"}]
}
