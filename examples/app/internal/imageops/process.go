package imageops

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"math"
	"net/http"
	"strings"

	"github.com/disintegration/imaging"
)

// Defaults of a zero [Config].
const (
	// DefaultMaxPixels is the default cap on width × height: 40
	// megapixels, 160 MB decoded.
	DefaultMaxPixels = 40_000_000
	// DefaultMaxBytes is the default cap on the encoded input: 20 MiB.
	DefaultMaxBytes = 20 << 20
	// DefaultJPEGQuality is the default JPEG quality: 85, as the seed.
	DefaultJPEGQuality = 85
)

// Config configures a [Processor]. The zero value is valid.
type Config struct {
	// MaxPixels caps the width × height of the input, read from its header
	// before decoding, and of every resize. Default [DefaultMaxPixels].
	MaxPixels int
	// MaxBytes caps the encoded input. Default [DefaultMaxBytes].
	MaxBytes int64
	// JPEGQuality is the quality of JPEG output, 1 to 100. Default
	// [DefaultJPEGQuality].
	JPEGQuality int
	// Format is the output format: "" (the input's format) or "png".
	Format string
}

// ProgressFunc receives progress: done of total operations have been
// applied, and msg describes the last one (e.g. "resize to 200x0"). It is
// called on the goroutine running Process.
type ProgressFunc func(done, total int, msg string)

// Result describes the encoded output.
type Result struct {
	// Format is "png", "jpeg" or "gif".
	Format string
	// ContentType is the output's media type, e.g. "image/png".
	ContentType string
	// Extension is the output's file name extension, e.g. ".png".
	Extension string
	// Width and Height are the output's dimensions in pixels.
	Width, Height int
}

// Processor applies operation lists to images. Create it with [New]; it is
// safe for concurrent use.
type Processor struct {
	cfg Config
}

// New returns a Processor, or an error if cfg is invalid.
func New(cfg Config) (*Processor, error) {
	if cfg.MaxPixels == 0 {
		cfg.MaxPixels = DefaultMaxPixels
	}
	if cfg.MaxBytes == 0 {
		cfg.MaxBytes = DefaultMaxBytes
	}
	if cfg.JPEGQuality == 0 {
		cfg.JPEGQuality = DefaultJPEGQuality
	}
	var errs []error
	if cfg.MaxPixels < 0 {
		errs = append(errs, fmt.Errorf("negative MaxPixels %d", cfg.MaxPixels))
	}
	if cfg.MaxBytes < 0 {
		errs = append(errs, fmt.Errorf("negative MaxBytes %d", cfg.MaxBytes))
	}
	if cfg.JPEGQuality < 1 || cfg.JPEGQuality > 100 {
		errs = append(errs, fmt.Errorf("JPEGQuality %d out of range 1..100", cfg.JPEGQuality))
	}
	if cfg.Format != "" && cfg.Format != "png" {
		errs = append(errs, fmt.Errorf("unknown Format %q; want \"\" or \"png\"", cfg.Format))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("imageops: invalid config: %w", err)
	}
	return &Processor{cfg: cfg}, nil
}

// Process reads an image from src, applies ops in order and writes the
// result to dst. It calls progress (if not nil) after each operation, and
// checks ctx before each one. ops are validated first, as by [Validate].
//
// The output is written only once every operation succeeded, but a failing
// dst may have received part of it; encode into a buffer (or the store's
// temporary file) when that matters. Errors caused by the input are
// [*Error] values; see the package documentation.
func (p *Processor) Process(ctx context.Context, dst io.Writer, src io.Reader, ops []Op, progress ProgressFunc) (Result, error) {
	if err := Validate(ops); err != nil {
		return Result{}, err
	}
	img, format, err := p.decode(src)
	if err != nil {
		return Result{}, err
	}
	for i, op := range ops {
		if err := ctx.Err(); err != nil {
			return Result{}, err
		}
		var opErr *Error
		img, opErr = p.apply(img, op)
		if opErr != nil {
			opErr.Field = fmt.Sprintf("operations[%d]%s", i, opErr.Field)
			return Result{}, opErr
		}
		if progress != nil {
			progress(i+1, len(ops), op.String())
		}
	}
	if err := ctx.Err(); err != nil {
		return Result{}, err
	}

	if p.cfg.Format != "" {
		format = p.cfg.Format
	}
	res := Result{Format: format, Width: img.Bounds().Dx(), Height: img.Bounds().Dy()}
	var enc imaging.Format
	switch format {
	case "jpeg":
		enc, res.ContentType, res.Extension = imaging.JPEG, "image/jpeg", ".jpg"
	case "gif":
		enc, res.ContentType, res.Extension = imaging.GIF, "image/gif", ".gif"
	default:
		enc, res.ContentType, res.Extension = imaging.PNG, "image/png", ".png"
	}
	if err := imaging.Encode(dst, img, enc, imaging.JPEGQuality(p.cfg.JPEGQuality)); err != nil {
		return Result{}, fmt.Errorf("imageops: encode %s: %w", format, err)
	}
	return res, nil
}

// decode reads at most MaxBytes, recognises the format by its signature,
// checks the declared dimensions, and only then decodes the pixels.
func (p *Processor) decode(src io.Reader) (image.Image, string, error) {
	data, err := io.ReadAll(io.LimitReader(src, p.cfg.MaxBytes+1))
	if err != nil {
		return nil, "", fmt.Errorf("imageops: read input: %w", err)
	}
	if int64(len(data)) > p.cfg.MaxBytes {
		return nil, "", &Error{Status: http.StatusRequestEntityTooLarge, Err: ErrTooLarge,
			Message: fmt.Sprintf("image file is larger than %d bytes", p.cfg.MaxBytes)}
	}

	var decodeConfig func(io.Reader) (image.Config, error)
	format := sniff(data)
	switch format {
	case "png":
		decodeConfig = png.DecodeConfig
	case "jpeg":
		decodeConfig = jpeg.DecodeConfig
	case "gif":
		decodeConfig = gif.DecodeConfig
	default:
		return nil, "", &Error{Status: http.StatusUnsupportedMediaType, Err: ErrUnsupportedFormat,
			Message: "image must be PNG, JPEG or GIF"}
	}
	cfg, err := decodeConfig(bytes.NewReader(data))
	if err != nil {
		return nil, "", invalidImage(format)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return nil, "", invalidImage(format)
	}
	if int64(cfg.Width)*int64(cfg.Height) > int64(p.cfg.MaxPixels) {
		return nil, "", &Error{Status: http.StatusRequestEntityTooLarge, Err: ErrTooLarge,
			Message: fmt.Sprintf("image is %dx%d pixels; the limit is %d pixels", cfg.Width, cfg.Height, p.cfg.MaxPixels)}
	}

	var img image.Image
	switch format {
	case "png":
		img, err = png.Decode(bytes.NewReader(data))
	case "gif":
		img, err = gif.Decode(bytes.NewReader(data))
	case "jpeg":
		// imaging applies the EXIF orientation, so phone photos stand upright.
		img, err = imaging.Decode(bytes.NewReader(data), imaging.AutoOrientation(true))
	}
	if err != nil {
		return nil, "", invalidImage(format)
	}
	return img, format, nil
}

func invalidImage(format string) *Error {
	return &Error{Status: http.StatusUnprocessableEntity, Err: ErrInvalidImage,
		Message: "image data is not a valid " + strings.ToUpper(format)}
}

// sniff recognises PNG, JPEG and GIF by their signatures.
func sniff(data []byte) string {
	switch {
	case bytes.HasPrefix(data, []byte("\x89PNG\r\n\x1a\n")):
		return "png"
	case bytes.HasPrefix(data, []byte("\xff\xd8\xff")):
		return "jpeg"
	case bytes.HasPrefix(data, []byte("GIF87a")), bytes.HasPrefix(data, []byte("GIF89a")):
		return "gif"
	}
	return ""
}

// apply runs one validated operation.
func (p *Processor) apply(img image.Image, op Op) (image.Image, *Error) {
	switch op.Op {
	case OpResize:
		w, h := op.Width, op.Height
		srcW, srcH := img.Bounds().Dx(), img.Bounds().Dy()
		if w == 0 {
			w = max(1, int(math.Round(float64(h)*float64(srcW)/float64(srcH))))
		}
		if h == 0 {
			h = max(1, int(math.Round(float64(w)*float64(srcH)/float64(srcW))))
		}
		if int64(w)*int64(h) > int64(p.cfg.MaxPixels) {
			return nil, &Error{Status: http.StatusUnprocessableEntity, Err: ErrTooLarge,
				Message: fmt.Sprintf("resize to %dx%d exceeds the limit of %d pixels", w, h, p.cfg.MaxPixels)}
		}
		return imaging.Resize(img, w, h, imaging.Lanczos), nil
	case OpThumbnail:
		return imaging.Fit(img, op.Width, op.Height, imaging.Lanczos), nil
	case OpRotate:
		switch op.Angle {
		case 90:
			return imaging.Rotate90(img), nil
		case 180:
			return imaging.Rotate180(img), nil
		default:
			return imaging.Rotate270(img), nil
		}
	case OpGrayscale:
		return imaging.Grayscale(img), nil
	case OpBlur:
		return imaging.Blur(img, op.Sigma), nil
	}
	return nil, invalidOps(".op", "unknown operation "+op.Op) // unreachable after Validate
}
