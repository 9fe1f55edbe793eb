package openapi_test

import (
	"bytes"
	"errors"
	"image"
	"image/gif"
	"image/jpeg"
	"image/png"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gantry-dev/gantry/openapi"
	"github.com/gantry-dev/gantry/server"
)

func encoded(tb testing.TB, format string) []byte {
	tb.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 4, 4))
	var buf bytes.Buffer
	var err error
	switch format {
	case "png":
		err = png.Encode(&buf, img)
	case "jpeg":
		err = jpeg.Encode(&buf, img, nil)
	case "gif":
		err = gif.Encode(&buf, img, nil)
	}
	if err != nil {
		tb.Fatalf("encode %s: %v", format, err)
	}
	return buf.Bytes()
}

func TestUploadPolicyValidate(t *testing.T) {
	pngData, jpegData, gifData := encoded(t, "png"), encoded(t, "jpeg"), encoded(t, "gif")
	pdfData := []byte("%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n")
	php := []byte("<?php system($_GET['c']); ?>")
	html := []byte("<!DOCTYPE html><script>alert(1)</script>")
	textPolicy := openapi.UploadPolicy{Extensions: []string{".TXT", "csv", "png"}}

	tests := []struct {
		name       string
		policy     openapi.UploadPolicy
		file       string
		size       int64 // -1: len(head)
		head       []byte
		want       string
		wantErr    error
		wantStatus int
	}{
		{name: "png", file: "cat.png", head: pngData, want: "image/png"},
		{name: "upper-case extension", file: "CAT.PNG", head: pngData, want: "image/png"},
		{name: "jpg", file: "cat.jpg", head: jpegData, want: "image/jpeg"},
		{name: "jpeg", file: "cat.jpeg", head: jpegData, want: "image/jpeg"},
		{name: "gif", file: "cat.gif", head: gifData, want: "image/gif"},
		{name: "pdf", file: "doc.pdf", head: pdfData, want: "application/pdf"},
		{name: "only the first 512 bytes count", file: "cat.png", head: append(pngData, make([]byte, 4096)...), want: "image/png"},
		{name: "php script named png", file: "x.png", head: php, wantErr: openapi.ErrFileType, wantStatus: 415},
		{name: "html named png", file: "x.png", head: html, wantErr: openapi.ErrFileType, wantStatus: 415},
		{name: "jpeg named png", file: "x.png", head: jpegData, wantErr: openapi.ErrFileType, wantStatus: 415},
		{name: "png named php", file: "shell.php", head: pngData, wantErr: openapi.ErrFileType, wantStatus: 415},
		{name: "double extension", file: "x.png.php", head: pngData, wantErr: openapi.ErrFileType, wantStatus: 415},
		{name: "no extension", file: "passwd", head: pngData, wantErr: openapi.ErrFileType, wantStatus: 415},
		{name: "traversal name", file: "../../etc/passwd", head: pngData, wantErr: openapi.ErrFileType, wantStatus: 415},
		{name: "trailing dot", file: "x.png.", head: pngData, wantErr: openapi.ErrFileType, wantStatus: 415},
		{name: "empty png", file: "x.png", head: nil, wantErr: openapi.ErrFileType, wantStatus: 415},
		{name: "over default size", file: "big.png", size: openapi.DefaultMaxUploadSize + 1, head: pngData, wantErr: openapi.ErrFileTooLarge, wantStatus: 413},
		{name: "at default size", file: "big.png", size: openapi.DefaultMaxUploadSize, head: pngData, want: "image/png"},
		{name: "over custom size", policy: openapi.UploadPolicy{MaxSize: 100}, file: "a.png", size: 101, head: pngData, wantErr: openapi.ErrFileTooLarge, wantStatus: 413},
		{name: "size checked before type", policy: openapi.UploadPolicy{MaxSize: 100}, file: "a.php", size: 101, head: php, wantErr: openapi.ErrFileTooLarge, wantStatus: 413},
		{name: "unknown size", file: "a.png", size: -1, head: pngData, want: "image/png"},
		{name: "text", policy: textPolicy, file: "notes.txt", head: []byte("hello, world\n"), want: "text/plain; charset=utf-8"},
		{name: "csv served as csv", policy: textPolicy, file: "data.csv", head: []byte("a,b\n1,2\n"), want: "text/csv; charset=utf-8"},
		{name: "html named txt", policy: textPolicy, file: "notes.txt", head: html, wantErr: openapi.ErrFileType, wantStatus: 415},
		{name: "utf-16 text", policy: textPolicy, file: "notes.txt", head: []byte("\xfe\xff\x00h\x00i"), wantErr: openapi.ErrFileType, wantStatus: 415},
		{name: "latin-1 text", policy: textPolicy, file: "notes.txt", head: []byte("caf\xe9\n"), wantErr: openapi.ErrFileType, wantStatus: 415},
		{name: "text cut inside a rune at 512 bytes", policy: textPolicy, file: "notes.txt", size: 1000, head: []byte(strings.Repeat("a", 511) + "é"), want: "text/plain; charset=utf-8"},
		{name: "short text ending inside a rune", policy: textPolicy, file: "notes.txt", head: []byte("caf\xc3"), wantErr: openapi.ErrFileType, wantStatus: 415},
		{name: "pdf not in custom list", policy: textPolicy, file: "doc.pdf", head: pdfData, wantErr: openapi.ErrFileType, wantStatus: 415},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			size := tt.size
			if size == 0 {
				size = int64(len(tt.head))
			}
			got, err := tt.policy.Validate(tt.file, size, tt.head)
			if got != tt.want || !errors.Is(err, tt.wantErr) {
				t.Fatalf("Validate(%q, %d) = %q, %v; want %q, %v", tt.file, size, got, err, tt.want, tt.wantErr)
			}
			if tt.wantErr == nil {
				return
			}
			var se *server.Error
			if !errors.As(err, &se) {
				t.Fatalf("error %v is not a *server.Error", err)
			}
			if se.HTTPStatus() != tt.wantStatus || se.PublicMessage() == "" || se.ErrorType() == "" {
				t.Errorf("status, type, message = %d, %q, %q; want %d and a type and message",
					se.HTTPStatus(), se.ErrorType(), se.PublicMessage(), tt.wantStatus)
			}
		})
	}
}

func TestUploadPolicyMessages(t *testing.T) {
	_, err := openapi.UploadPolicy{}.Validate("x.png", 30, []byte("<?php echo 1; ?>"))
	var se *server.Error
	if !errors.As(err, &se) || se.PublicMessage() != `file content (text/plain) does not match its extension "png"` {
		t.Errorf("Validate(php as png) error = %v", err)
	}
	_, err = openapi.UploadPolicy{}.Validate("x.exe", 30, nil)
	if !errors.As(err, &se) || se.PublicMessage() != `file type "exe" is not allowed; allowed: jpg, jpeg, png, gif, pdf` {
		t.Errorf("Validate(x.exe) error = %v", err)
	}
}

func TestUploadPolicyCheckConfig(t *testing.T) {
	tests := []struct {
		name    string
		policy  openapi.UploadPolicy
		wantErr bool
	}{
		{name: "zero", policy: openapi.UploadPolicy{}},
		{name: "known", policy: openapi.UploadPolicy{Extensions: []string{"png", ".JPG", "xlsx", "txt"}}},
		{name: "unknown", policy: openapi.UploadPolicy{Extensions: []string{"png", "exe"}}, wantErr: true},
		{name: "negative size", policy: openapi.UploadPolicy{MaxSize: -1}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.policy.CheckConfig(); (err != nil) != tt.wantErr {
				t.Errorf("CheckConfig() = %v; want error %v", err, tt.wantErr)
			}
		})
	}
}

// multipartFile builds a real multipart request and returns the parsed
// header of its one file field, as an echo handler would get it.
func multipartFile(tb testing.TB, filename string, content []byte) *multipart.FileHeader {
	tb.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, err := mw.CreateFormFile("file", filename)
	if err != nil {
		tb.Fatal(err)
	}
	fw.Write(content)
	mw.Close()
	req := httptest.NewRequest(http.MethodPost, "/api/v1/files", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	if err := req.ParseMultipartForm(1 << 20); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { req.MultipartForm.RemoveAll() })
	return req.MultipartForm.File["file"][0]
}

func TestUploadPolicyValidateFile(t *testing.T) {
	pngData := encoded(t, "png")
	tests := []struct {
		name, file string
		content    []byte
		want       string
		wantErr    error
	}{
		{name: "png", file: "cat.png", content: pngData, want: "image/png"},
		{name: "php as png", file: "x.png", content: []byte("<?php phpinfo(); ?>"), wantErr: openapi.ErrFileType},
		{name: "too large", file: "big.png", content: append(pngData, make([]byte, 2000)...), wantErr: openapi.ErrFileTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fh := multipartFile(t, tt.file, tt.content)
			got, err := openapi.UploadPolicy{MaxSize: 1000}.ValidateFile(fh)
			if got != tt.want || !errors.Is(err, tt.wantErr) {
				t.Errorf("ValidateFile(%q) = %q, %v; want %q, %v", tt.file, got, err, tt.want, tt.wantErr)
			}
		})
	}
	if !strings.HasPrefix(string(pngData), "\x89PNG") {
		t.Fatal("test image is not a PNG")
	}
}
