package openapitest_test

import (
	"fmt"

	"github.com/gantry-dev/gantry/openapi/openapitest"
)

func ExampleDocumentErrors() {
	valid := `{"openapi":"3.1.0","info":{"title":"Shop","version":"1"},"paths":{}}`
	fmt.Println(len(openapitest.DocumentErrors([]byte(valid))))
	noInfo := `{"openapi":"3.1.0","paths":{}}`
	fmt.Println(len(openapitest.DocumentErrors([]byte(noInfo))) > 0)
	// Output:
	// 0
	// true
}
