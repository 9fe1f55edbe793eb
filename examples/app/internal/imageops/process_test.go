package imageops_test

import (
	"bytes"
	"compress/zlib"
	"context"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/examples/app/internal/imageops"
)

var (
	red  = color.NRGBA{R: 255, A: 255}
	blue = color.NRGBA{B: 255, A: 255}
)

// halves returns a w×h image, red on the left half and blue on the right,
// so orientation survives every operation.
func halves(w, h int) image.Image {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			c := red
			if x >= w/2 {
				c = blue
			}
			img.SetNRGBA(x, y, c)
		}
	}
	return img
}

func encode(tb testing.TB, img image.Image, format string) []byte {
	tb.Helper()
	var buf bytes.Buffer
	var err error
	switch format {
	case "png":
		err = png.Encode(&buf, img)
	case "jpeg":
		err = jpeg.Encode(&buf, img, &jpeg.Options{Quality: 95})
	case "gif":
		err = gif.Encode(&buf, img, nil)
	}
	if err != nil {
		tb.Fatalf("encode %s: %v", format, err)
	}
	return buf.Bytes()
}

func newProcessor(tb testing.TB, cfg imageops.Config) *imageops.Processor {
	tb.Helper()
	p, err := imageops.New(cfg)
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	return p
}

// near reports whether c is within 40 of want in every channel (JPEG and
// resampling blur colours a little).
func near(c color.Color, want color.NRGBA) bool {
	got := color.NRGBAModel.Convert(c).(color.NRGBA)
	d := func(a, b uint8) bool { return max(a, b)-min(a, b) <= 40 }
	return d(got.R, want.R) && d(got.G, want.G) && d(got.B, want.B)
}

func TestProcess(t *testing.T) {
	src := halves(40, 20)
	tests := []struct {
		name       string
		format     string // input
		cfg        imageops.Config
		ops        []imageops.Op
		wantFormat string
		wantW      int
		wantH      int
		check      func(t *testing.T, img image.Image)
	}{
		{name: "resize width keeps aspect", format: "png", ops: []imageops.Op{{Op: "resize", Width: 20}}, wantFormat: "png", wantW: 20, wantH: 10},
		{name: "resize height keeps aspect", format: "png", ops: []imageops.Op{{Op: "resize", Height: 5}}, wantFormat: "png", wantW: 10, wantH: 5},
		{name: "resize both", format: "png", ops: []imageops.Op{{Op: "resize", Width: 7, Height: 30}}, wantFormat: "png", wantW: 7, wantH: 30},
		{
			name: "rotate 90 counter-clockwise", format: "png", ops: []imageops.Op{{Op: "rotate", Angle: 90}}, wantFormat: "png", wantW: 20, wantH: 40,
			check: func(t *testing.T, img image.Image) {
				// The left (red) half ends up at the bottom.
				if !near(img.At(10, 35), red) || !near(img.At(10, 5), blue) {
					t.Errorf("bottom %v, top %v; want red at the bottom, blue on top", img.At(10, 35), img.At(10, 5))
				}
			},
		},
		{
			name: "rotate 180", format: "png", ops: []imageops.Op{{Op: "rotate", Angle: 180}}, wantFormat: "png", wantW: 40, wantH: 20,
			check: func(t *testing.T, img image.Image) {
				if !near(img.At(5, 10), blue) || !near(img.At(35, 10), red) {
					t.Errorf("left %v, right %v; want blue left, red right", img.At(5, 10), img.At(35, 10))
				}
			},
		},
		{
			name: "rotate 270", format: "png", ops: []imageops.Op{{Op: "rotate", Angle: 270}}, wantFormat: "png", wantW: 20, wantH: 40,
			check: func(t *testing.T, img image.Image) {
				if !near(img.At(10, 5), red) || !near(img.At(10, 35), blue) {
					t.Errorf("top %v, bottom %v; want red on top", img.At(10, 5), img.At(10, 35))
				}
			},
		},
		{
			name: "grayscale", format: "png", ops: []imageops.Op{{Op: "grayscale"}}, wantFormat: "png", wantW: 40, wantH: 20,
			check: func(t *testing.T, img image.Image) {
				for _, pt := range []image.Point{{5, 5}, {35, 5}} {
					c := color.NRGBAModel.Convert(img.At(pt.X, pt.Y)).(color.NRGBA)
					if c.R != c.G || c.G != c.B {
						t.Errorf("pixel %v = %v; want gray", pt, c)
					}
				}
			},
		},
		{
			name: "blur mixes the border", format: "png", ops: []imageops.Op{{Op: "blur", Sigma: 3}}, wantFormat: "png", wantW: 40, wantH: 20,
			check: func(t *testing.T, img image.Image) {
				c := color.NRGBAModel.Convert(img.At(20, 10)).(color.NRGBA)
				if c.R < 40 || c.B < 40 {
					t.Errorf("pixel at the border = %v; want red and blue mixed", c)
				}
			},
		},
		{name: "thumbnail fits the box", format: "png", ops: []imageops.Op{{Op: "thumbnail", Width: 10, Height: 10}}, wantFormat: "png", wantW: 10, wantH: 5},
		{name: "thumbnail never enlarges", format: "png", ops: []imageops.Op{{Op: "thumbnail", Width: 400, Height: 400}}, wantFormat: "png", wantW: 40, wantH: 20},
		{
			name: "jpeg stays jpeg", format: "jpeg", ops: []imageops.Op{{Op: "resize", Width: 20}, {Op: "rotate", Angle: 180}}, wantFormat: "jpeg", wantW: 20, wantH: 10,
			check: func(t *testing.T, img image.Image) {
				if !near(img.At(2, 5), blue) || !near(img.At(17, 5), red) {
					t.Errorf("left %v, right %v; want blue left, red right", img.At(2, 5), img.At(17, 5))
				}
			},
		},
		{name: "gif stays gif", format: "gif", ops: []imageops.Op{{Op: "grayscale"}}, wantFormat: "gif", wantW: 40, wantH: 20},
		{name: "forced png", format: "jpeg", cfg: imageops.Config{Format: "png"}, ops: []imageops.Op{{Op: "grayscale"}}, wantFormat: "png", wantW: 40, wantH: 20},
		{name: "exactly at the pixel cap", format: "png", cfg: imageops.Config{MaxPixels: 800}, ops: []imageops.Op{{Op: "grayscale"}}, wantFormat: "png", wantW: 40, wantH: 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newProcessor(t, tt.cfg)
			var out bytes.Buffer
			res, err := p.Process(t.Context(), &out, bytes.NewReader(encode(t, src, tt.format)), tt.ops, nil)
			if err != nil {
				t.Fatalf("Process: %v", err)
			}
			img, format, err := image.Decode(bytes.NewReader(out.Bytes()))
			if err != nil {
				t.Fatalf("decode output: %v", err)
			}
			wantType := map[string]string{"png": "image/png", "jpeg": "image/jpeg", "gif": "image/gif"}[tt.wantFormat]
			if format != tt.wantFormat || res.Format != tt.wantFormat || res.ContentType != wantType {
				t.Errorf("output format %s, Result %+v; want %s (%s)", format, res, tt.wantFormat, wantType)
			}
			b := img.Bounds()
			if b.Dx() != tt.wantW || b.Dy() != tt.wantH || res.Width != tt.wantW || res.Height != tt.wantH {
				t.Errorf("output %dx%d, Result %dx%d; want %dx%d", b.Dx(), b.Dy(), res.Width, res.Height, tt.wantW, tt.wantH)
			}
			if tt.check != nil {
				tt.check(t, img)
			}
		})
	}
}

func TestProcessProgress(t *testing.T) {
	type call struct {
		done, total int
		msg         string
	}
	var calls []call
	ops := []imageops.Op{{Op: "resize", Width: 20}, {Op: "rotate", Angle: 90}, {Op: "grayscale"}}
	_, err := newProcessor(t, imageops.Config{}).Process(t.Context(), new(bytes.Buffer), bytes.NewReader(encode(t, halves(40, 20), "png")), ops,
		func(done, total int, msg string) { calls = append(calls, call{done, total, msg}) })
	if err != nil {
		t.Fatalf("Process: %v", err)
	}
	want := []call{{1, 3, "resize to 20x0"}, {2, 3, "rotate 90°"}, {3, 3, "grayscale"}}
	if !slices.Equal(calls, want) {
		t.Errorf("progress calls = %v; want %v", calls, want)
	}
}

// pngDeclaring returns a valid, tiny PNG stream whose header declares w×h
// pixels: the decompression bomb's shape.
func pngDeclaring(w, h uint32) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	chunk := func(typ string, data []byte) {
		binary.Write(&b, binary.BigEndian, uint32(len(data)))
		b.WriteString(typ)
		b.Write(data)
		crc := crc32.NewIEEE()
		crc.Write([]byte(typ))
		crc.Write(data)
		binary.Write(&b, binary.BigEndian, crc.Sum32())
	}
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 8, 2 // 8-bit RGB
	chunk("IHDR", ihdr)
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	zw.Write(make([]byte, 64<<10)) // the first rows, all zero: compresses to ~100 bytes
	zw.Close()
	chunk("IDAT", z.Bytes())
	chunk("IEND", nil)
	return b.Bytes()
}

func TestProcessDecompressionBomb(t *testing.T) {
	bomb := pngDeclaring(100000, 100000)
	if len(bomb) > 1024 {
		t.Fatalf("bomb is %d bytes; want under 1 KiB", len(bomb))
	}
	p := newProcessor(t, imageops.Config{})

	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	var out bytes.Buffer
	_, err := p.Process(t.Context(), &out, bytes.NewReader(bomb), []imageops.Op{{Op: "grayscale"}}, nil)
	took := time.Since(start)
	runtime.ReadMemStats(&after)

	var e *imageops.Error
	if !errors.Is(err, imageops.ErrTooLarge) || !errors.As(err, &e) || e.HTTPStatus() != 413 {
		t.Fatalf("Process(bomb) err = %v; want ErrTooLarge with status 413", err)
	}
	if e.PublicMessage() != "image is 100000x100000 pixels; the limit is 40000000 pixels" {
		t.Errorf("message = %q", e.PublicMessage())
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 8<<20 {
		t.Errorf("refusing the bomb allocated %d bytes; want it refused from the header alone", alloc)
	}
	if took > time.Second || out.Len() != 0 {
		t.Errorf("took %v and wrote %d bytes; want a prompt refusal and no output", took, out.Len())
	}
}

func TestProcessBadInput(t *testing.T) {
	valid := encode(t, halves(40, 20), "png")
	grayscale := []imageops.Op{{Op: "grayscale"}}
	tests := []struct {
		name       string
		cfg        imageops.Config
		in         []byte
		ops        []imageops.Op
		wantErr    error
		wantStatus int
		wantField  string
	}{
		{name: "one pixel over the cap", cfg: imageops.Config{MaxPixels: 799}, in: valid, ops: grayscale, wantErr: imageops.ErrTooLarge, wantStatus: 413},
		{name: "file over MaxBytes", cfg: imageops.Config{MaxBytes: int64(len(valid)) - 1}, in: valid, ops: grayscale, wantErr: imageops.ErrTooLarge, wantStatus: 413},
		{name: "resize over the cap", cfg: imageops.Config{MaxPixels: 1000}, in: valid, ops: []imageops.Op{{Op: "grayscale"}, {Op: "resize", Width: 100}},
			wantErr: imageops.ErrTooLarge, wantStatus: 422, wantField: "operations[1]"},
		{name: "bmp", in: append([]byte("BM"), make([]byte, 100)...), ops: grayscale, wantErr: imageops.ErrUnsupportedFormat, wantStatus: 415},
		{name: "svg", in: []byte(`<svg xmlns="http://www.w3.org/2000/svg"/>`), ops: grayscale, wantErr: imageops.ErrUnsupportedFormat, wantStatus: 415},
		{name: "php", in: []byte("<?php phpinfo(); ?>"), ops: grayscale, wantErr: imageops.ErrUnsupportedFormat, wantStatus: 415},
		{name: "empty", in: nil, ops: grayscale, wantErr: imageops.ErrUnsupportedFormat, wantStatus: 415},
		{name: "truncated png", in: valid[:len(valid)/2], ops: grayscale, wantErr: imageops.ErrInvalidImage, wantStatus: 422},
		{name: "png header only", in: valid[:8], ops: grayscale, wantErr: imageops.ErrInvalidImage, wantStatus: 422},
		{name: "zero-sized png", in: pngDeclaring(0, 10), ops: grayscale, wantErr: imageops.ErrInvalidImage, wantStatus: 422},
		{name: "invalid ops checked first", in: nil, ops: []imageops.Op{{Op: "explode"}}, wantErr: imageops.ErrInvalidOps, wantStatus: 422, wantField: "operations[0].op"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			_, err := newProcessor(t, tt.cfg).Process(t.Context(), &out, bytes.NewReader(tt.in), tt.ops, nil)
			var e *imageops.Error
			if !errors.Is(err, tt.wantErr) || !errors.As(err, &e) {
				t.Fatalf("Process err = %v; want an *imageops.Error wrapping %v", err, tt.wantErr)
			}
			if e.HTTPStatus() != tt.wantStatus || e.Field != tt.wantField || e.PublicMessage() == "" {
				t.Errorf("error status %d field %q message %q; want %d %q", e.HTTPStatus(), e.Field, e.PublicMessage(), tt.wantStatus, tt.wantField)
			}
			if out.Len() != 0 {
				t.Errorf("wrote %d bytes on error; want none", out.Len())
			}
		})
	}
}

func TestProcessCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	ops := []imageops.Op{{Op: "grayscale"}, {Op: "blur", Sigma: 1}, {Op: "grayscale"}}
	var out bytes.Buffer
	var done int
	_, err := newProcessor(t, imageops.Config{}).Process(ctx, &out, bytes.NewReader(encode(t, halves(40, 20), "png")), ops,
		func(d, _ int, _ string) { done = d; cancel() })
	if !errors.Is(err, context.Canceled) || done != 1 || out.Len() != 0 {
		t.Errorf("Process after cancel: err %v, %d ops done, %d bytes written; want context.Canceled after 1 op, nothing written", err, done, out.Len())
	}
}

func TestNewInvalid(t *testing.T) {
	tests := []struct {
		name string
		cfg  imageops.Config
	}{
		{name: "negative pixels", cfg: imageops.Config{MaxPixels: -1}},
		{name: "negative bytes", cfg: imageops.Config{MaxBytes: -1}},
		{name: "quality too high", cfg: imageops.Config{JPEGQuality: 101}},
		{name: "unknown format", cfg: imageops.Config{Format: "webp"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := imageops.New(tt.cfg); err == nil {
				t.Errorf("New(%+v) succeeded; want an error", tt.cfg)
			}
		})
	}
}
