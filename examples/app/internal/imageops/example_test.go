package imageops_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/png"
	"log"

	"github.com/gantry-dev/gantry/examples/app/internal/imageops"
)

// The image job parses the operations from its arguments, runs them and
// reports progress after each one.
func Example() {
	ops, err := imageops.Parse([]byte(`[{"op":"resize","width":200},{"op":"rotate","angle":90},{"op":"grayscale"}]`))
	if err != nil {
		log.Fatal(err) // a handler returns it: 422 with the field in the details
	}

	var src bytes.Buffer
	png.Encode(&src, image.NewRGBA(image.Rect(0, 0, 400, 300))) // the uploaded file

	p, err := imageops.New(imageops.Config{}) // 40-megapixel cap, 20 MiB input cap
	if err != nil {
		log.Fatal(err)
	}
	var out bytes.Buffer
	res, err := p.Process(context.Background(), &out, &src, ops, func(done, total int, msg string) {
		fmt.Printf("%d/%d %s\n", done, total, msg)
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.ContentType, res.Width, res.Height)
	// Output:
	// 1/3 resize to 200x0
	// 2/3 rotate 90°
	// 3/3 grayscale
	// image/png 150 200
}

func ExampleParse() {
	_, err := imageops.Parse([]byte(`[{"op":"resize","width":200},{"op":"rotate","angle":45}]`))

	var e *imageops.Error
	if errors.As(err, &e) {
		fmt.Println(e.HTTPStatus(), e.PublicMessage())
	}
	// Output: 422 operations[1].angle: must be 90, 180 or 270
}
