package openapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"strings"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/openapi"
	"github.com/gantry-dev/gantry/server"
)

// UploadBody is a multipart form: a required file checked by the route's
// policy, an optional note file with its own, and two text fields.
type UploadBody struct {
	File    openapi.File  `form:"file" doc:"The image."`
	Note    *openapi.File `form:"note" accept:"txt" maxSize:"64"`
	Caption *string       `form:"caption" validate:"omitempty,max=10"`
	Count   int           `form:"count"`
}

type uploadIn struct {
	Body UploadBody
}

// Stored is what the test upload route answers.
type Stored struct {
	Name        string `json:"name"`
	Size        int64  `json:"size"`
	ContentType string `json:"content_type"`
	Sum         int    `json:"sum"`
	Note        string `json:"note"`
	Caption     string `json:"caption"`
	Count       int    `json:"count"`
}

type idIn struct {
	ID string `path:"id"`
}

var downloadBytes = []byte("0123456789abcdefghij")

// uploadAPI serves POST /api/v1/files (PNG or GIF, at most 1000 bytes)
// and GET /api/v1/files/{id}.
func uploadAPI(tb testing.TB) (http.Handler, *openapi.API) {
	tb.Helper()
	s, err := server.New(server.Config{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		tb.Fatal(err)
	}
	api, err := openapi.New(s.Echo(), "/api/v1", openapi.Config{})
	if err != nil {
		tb.Fatal(err)
	}
	openapi.Post(api, "/files", func(_ context.Context, in *uploadIn) (*Stored, error) {
		f := in.Body.File
		b, _ := io.ReadAll(f.Open())
		out := &Stored{Name: f.Name, Size: f.Size, ContentType: f.ContentType, Sum: len(b), Count: in.Body.Count}
		if in.Body.Note != nil {
			out.Note = string(in.Body.Note.Bytes())
		}
		if in.Body.Caption != nil {
			out.Caption = *in.Body.Caption
		}
		return out, nil
	}, openapi.Status(http.StatusCreated), openapi.Upload(openapi.UploadPolicy{MaxSize: 1000, Extensions: []string{"png", "gif"}}))
	openapi.Get(api, "/files/{id}", func(_ context.Context, in *idIn) (*openapi.Download, error) {
		if in.ID != "1" {
			return nil, server.NewError(http.StatusNotFound, "no such file")
		}
		return &openapi.Download{Content: bytes.NewReader(downloadBytes), ContentType: "text/plain; charset=utf-8",
			Name: "données.txt", ModTime: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}, nil
	}, openapi.Errors(http.StatusNotFound))
	return s.Echo(), api
}

// pngBytes is a tiny PNG (a signature and an IHDR chunk: enough to sniff).
var pngBytes = []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00\x90wS\xde")

type part struct {
	name, filename string
	data           []byte
}

func multipartBody(tb testing.TB, parts ...part) (*bytes.Buffer, string) {
	tb.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, p := range parts {
		h := textproto.MIMEHeader{}
		if p.filename != "" {
			h.Set("Content-Disposition", fmt.Sprintf(`form-data; name=%q; filename=%q`, p.name, p.filename))
			h.Set("Content-Type", "application/octet-stream")
		} else {
			h.Set("Content-Disposition", fmt.Sprintf(`form-data; name=%q`, p.name))
		}
		w, err := mw.CreatePart(h)
		if err != nil {
			tb.Fatal(err)
		}
		w.Write(p.data)
	}
	mw.Close()
	return &buf, mw.FormDataContentType()
}

func post(h http.Handler, ctype string, body io.Reader) (int, []byte, http.Header) {
	req := httptest.NewRequest(http.MethodPost, "/api/v1/files", body)
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Code, rec.Body.Bytes(), rec.Header()
}

func TestMultipartUpload(t *testing.T) {
	h, _ := uploadAPI(t)
	file := func(name string, data []byte) part { return part{name: "file", filename: name, data: data} }
	count := part{name: "count", data: []byte("3")}
	tests := []struct {
		name       string
		parts      []part
		ctype      string // overrides the multipart content type
		raw        string // overrides the body
		wantStatus int
		wantType   string
		wantField  string // a detail's field
		wantRule   string // and rule
		want       Stored
	}{
		{name: "png", parts: []part{file("cat.png", pngBytes), count},
			wantStatus: 201, want: Stored{Name: "cat.png", Size: int64(len(pngBytes)), ContentType: "image/png", Sum: len(pngBytes), Count: 3}},
		{name: "all fields", parts: []part{count, {name: "caption", data: []byte("hi")}, {name: "note", filename: "n.txt", data: []byte("hello")}, file("C:\\x\\..\\cat.PNG", pngBytes)},
			wantStatus: 201, want: Stored{Name: "cat.PNG", Size: int64(len(pngBytes)), ContentType: "image/png", Sum: len(pngBytes), Note: "hello", Caption: "hi", Count: 3}},
		{name: "unknown parts are skipped", parts: []part{{name: "extra", data: []byte("x")}, file("cat.png", pngBytes), count},
			wantStatus: 201, want: Stored{Name: "cat.png", Size: int64(len(pngBytes)), ContentType: "image/png", Sum: len(pngBytes), Count: 3}},

		{name: "too large", parts: []part{file("big.png", append(append([]byte{}, pngBytes...), make([]byte, 1000)...)), count},
			wantStatus: 413, wantType: "payload_too_large", wantField: "file", wantRule: "max_size"},
		{name: "note over its own limit", parts: []part{file("cat.png", pngBytes), count, {name: "note", filename: "n.txt", data: bytes.Repeat([]byte("a"), 65)}},
			wantStatus: 413, wantField: "note", wantRule: "max_size"},
		{name: "extension not allowed", parts: []part{file("cat.jpg", pngBytes), count},
			wantStatus: 415, wantType: "unsupported_media_type", wantField: "file", wantRule: "file_type"},
		{name: "script named png", parts: []part{file("x.png", []byte("<?php system($_GET['c']); ?>")), count},
			wantStatus: 415, wantField: "file", wantRule: "file_type"},
		{name: "note not text", parts: []part{file("cat.png", pngBytes), count, {name: "note", filename: "n.txt", data: pngBytes}},
			wantStatus: 415, wantField: "note", wantRule: "file_type"},
		{name: "no file", parts: []part{count},
			wantStatus: 422, wantType: "validation_error", wantField: "file", wantRule: "required"},
		{name: "file without filename", parts: []part{{name: "file", data: pngBytes}, count},
			wantStatus: 422, wantField: "file", wantRule: "file"},
		{name: "file twice", parts: []part{file("a.png", pngBytes), file("b.png", pngBytes), count},
			wantStatus: 422, wantField: "file", wantRule: "unique"},
		{name: "missing text field", parts: []part{file("a.png", pngBytes)},
			wantStatus: 422, wantField: "count", wantRule: "required"},
		{name: "text field of the wrong type", parts: []part{file("a.png", pngBytes), {name: "count", data: []byte("three")}},
			wantStatus: 422, wantField: "count", wantRule: "type"},
		{name: "validate rule", parts: []part{file("a.png", pngBytes), count, {name: "caption", data: []byte("far too long a caption")}},
			wantStatus: 422, wantType: "validation_error"},
		{name: "json body", ctype: "application/json", raw: `{"file":"x"}`, wantStatus: 415},
		{name: "no content type", ctype: "-", raw: "x", wantStatus: 415},
		{name: "no boundary", ctype: "multipart/form-data", raw: "x", wantStatus: 415},
		{name: "malformed", ctype: "multipart/form-data; boundary=b", raw: "--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.png\"\r\n\r\nabc", wantStatus: 400},
		{name: "no parts", ctype: "multipart/form-data; boundary=b", raw: "--b--\r\n", wantStatus: 422, wantField: "file", wantRule: "required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body, ctype := multipartBody(t, tt.parts...)
			if tt.ctype != "" {
				ctype = tt.ctype
				if ctype == "-" {
					ctype = ""
				}
			}
			var r io.Reader = body
			if tt.raw != "" {
				r = strings.NewReader(tt.raw)
			}
			status, out, _ := post(h, ctype, r)
			if status != tt.wantStatus {
				t.Fatalf("status %d; want %d: %s", status, tt.wantStatus, out)
			}
			if status == 201 {
				var got Stored
				if err := json.Unmarshal(out, &got); err != nil || got != tt.want {
					t.Fatalf("answer %s (%v); want %+v", out, err, tt.want)
				}
				return
			}
			var env struct {
				Error struct {
					Code    int    `json:"code"`
					Type    string `json:"type"`
					Message string `json:"message"`
					Details []struct {
						Field, Rule, Message string
					} `json:"details"`
				} `json:"error"`
			}
			if err := json.Unmarshal(out, &env); err != nil || env.Error.Code != status || env.Error.Message == "" {
				t.Fatalf("not the error envelope: %s (%v)", out, err)
			}
			if tt.wantType != "" && env.Error.Type != tt.wantType {
				t.Errorf("type %q; want %q", env.Error.Type, tt.wantType)
			}
			if tt.wantField != "" {
				found := false
				for _, d := range env.Error.Details {
					found = found || (d.Field == tt.wantField && d.Rule == tt.wantRule && d.Message != "")
				}
				if !found {
					t.Errorf("details %+v; want field %q rule %q", env.Error.Details, tt.wantField, tt.wantRule)
				}
			}
		})
	}
}

// TestMultipartServerBodyLimit: past the server's own body limit the
// upload is a 413 envelope, not a 400.
func TestMultipartServerBodyLimit(t *testing.T) {
	s, err := server.New(server.Config{Logger: slog.New(slog.DiscardHandler), MaxBodySize: 2048})
	if err != nil {
		t.Fatal(err)
	}
	api, err := openapi.New(s.Echo(), "", openapi.Config{})
	if err != nil {
		t.Fatal(err)
	}
	openapi.Post(api, "/files", func(context.Context, *uploadIn) (*Stored, error) { return &Stored{}, nil },
		openapi.Upload(openapi.UploadPolicy{MaxSize: 1 << 20, Extensions: []string{"png"}}))
	body, ctype := multipartBody(t, part{name: "file", filename: "a.png", data: append(append([]byte{}, pngBytes...), make([]byte, 4096)...)})
	req := httptest.NewRequest(http.MethodPost, "/files", body)
	req.Header.Set("Content-Type", ctype)
	rec := httptest.NewRecorder()
	s.Echo().ServeHTTP(rec, req)
	if rec.Code != http.StatusRequestEntityTooLarge || !strings.Contains(rec.Body.String(), `"code":413`) {
		t.Fatalf("status %d %s; want a 413 envelope", rec.Code, rec.Body)
	}
}

func TestMultipartDocument(t *testing.T) {
	_, api := uploadAPI(t)
	doc := flatDoc(t, api)
	const body = ".paths./api/v1/files.post.requestBody"
	want := map[string]string{
		body + ".required": "true",
		body + ".content.multipart/form-data.schema.type":                         `"object"`,
		body + ".content.multipart/form-data.schema.properties.file.type":         `"string"`,
		body + ".content.multipart/form-data.schema.properties.file.format":       `"binary"`,
		body + ".content.multipart/form-data.schema.properties.note.format":       `"binary"`,
		body + ".content.multipart/form-data.schema.properties.caption.type":      `"string"`,
		body + ".content.multipart/form-data.schema.properties.caption.maxLength": "10",
		body + ".content.multipart/form-data.schema.properties.count.type":        `"integer"`,
		body + ".content.multipart/form-data.schema.required[0]":                  `"file"`,
		body + ".content.multipart/form-data.schema.required[1]":                  `"count"`,
		".paths./api/v1/files.post.responses.413.description":                     `"Request Entity Too Large"`,
		".paths./api/v1/files.post.responses.415.description":                     `"Unsupported Media Type"`,
		".paths./api/v1/files.post.responses.422.description":                     `"Unprocessable Entity"`,
		".paths./api/v1/files/{id}.get.responses.200.content.*/*.schema.format":   `"binary"`,
		".paths./api/v1/files/{id}.get.responses.404.description":                 `"Not Found"`,
	}
	for k, v := range want {
		if doc[k] != v {
			t.Errorf("%s = %s; want %s", k, doc[k], v)
		}
	}
	if _, ok := doc[body+".content.multipart/form-data.schema.required[2]"]; ok {
		t.Errorf("optional fields listed as required")
	}
	for _, k := range []string{body + ".content.application/json.schema.$ref", ".paths./api/v1/files/{id}.get.responses.200.content.application/json.schema.$ref"} {
		if _, ok := doc[k]; ok {
			t.Errorf("%s documented as JSON", k)
		}
	}
	d := doc[body+".content.multipart/form-data.schema.properties.file.description"]
	if !strings.Contains(d, "1000 bytes") || !strings.Contains(d, "*.png, *.gif") || !strings.HasPrefix(d, `"The image.`) {
		t.Errorf("file description %s; want its doc, size limit and extensions", d)
	}
	if d := doc[body+".content.multipart/form-data.schema.properties.note.description"]; !strings.Contains(d, "64 bytes") || !strings.Contains(d, "*.txt") {
		t.Errorf("note description %s; want its tag policy", d)
	}
}

func TestDownload(t *testing.T) {
	h, _ := uploadAPI(t)
	tests := []struct {
		name       string
		path       string
		hdr        map[string]string
		wantStatus int
		wantBody   string
	}{
		{name: "whole", path: "/api/v1/files/1", wantStatus: 200, wantBody: string(downloadBytes)},
		{name: "range", path: "/api/v1/files/1", hdr: map[string]string{"Range": "bytes=2-4"}, wantStatus: 206, wantBody: "234"},
		{name: "not modified", path: "/api/v1/files/1", hdr: map[string]string{"If-Modified-Since": "Fri, 02 Jan 2026 03:04:05 GMT"}, wantStatus: 304},
		{name: "missing", path: "/api/v1/files/2", wantStatus: 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, tt.path, nil)
			for k, v := range tt.hdr {
				req.Header.Set(k, v)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tt.wantStatus {
				t.Fatalf("status %d; want %d: %s", rec.Code, tt.wantStatus, rec.Body)
			}
			if tt.wantStatus == 404 {
				if !strings.Contains(rec.Body.String(), `"code":404`) {
					t.Errorf("404 body %s; want the envelope", rec.Body)
				}
				return
			}
			if rec.Body.String() != tt.wantBody {
				t.Errorf("body %q; want %q", rec.Body, tt.wantBody)
			}
			hd := rec.Header()
			if tt.wantStatus != 304 && (hd.Get("Content-Type") != "text/plain; charset=utf-8" ||
				hd.Get("Content-Disposition") != `attachment; filename*=utf-8''donn%C3%A9es.txt` ||
				hd.Get("X-Content-Type-Options") != "nosniff") {
				t.Errorf("headers %v", hd)
			}
		})
	}
}

func TestMultipartRegisterPanics(t *testing.T) {
	type noTag struct {
		File openapi.File `form:"file"`
		Name string
	}
	type badType struct {
		File openapi.File   `form:"file"`
		Meta map[string]int `form:"meta"`
	}
	type badSize struct {
		File openapi.File `form:"file" maxSize:"big"`
	}
	type badAccept struct {
		File openapi.File `form:"file" accept:"exe"`
	}
	type twice struct {
		A openapi.File `form:"file"`
		B openapi.File `form:"file"`
	}
	type plain struct {
		File openapi.File `form:"file"`
	}
	tests := []struct {
		name     string
		register func(*openapi.API)
		want     string
	}{
		{"field without form tag", func(a *openapi.API) {
			openapi.Post(a, "/x", func(context.Context, *struct{ Body noTag }) (*openapi.Empty, error) { return nil, nil })
		}, "has no form tag"},
		{"unsupported field type", func(a *openapi.API) {
			openapi.Post(a, "/x", func(context.Context, *struct{ Body badType }) (*openapi.Empty, error) { return nil, nil })
		}, "cannot be of type"},
		{"bad maxSize tag", func(a *openapi.API) {
			openapi.Post(a, "/x", func(context.Context, *struct{ Body badSize }) (*openapi.Empty, error) { return nil, nil })
		}, "maxSize"},
		{"unknown extension in tag", func(a *openapi.API) {
			openapi.Post(a, "/x", func(context.Context, *struct{ Body badAccept }) (*openapi.Empty, error) { return nil, nil })
		}, "unknown extension"},
		{"unknown extension in Upload", func(a *openapi.API) {
			openapi.Post(a, "/x", func(context.Context, *struct{ Body plain }) (*openapi.Empty, error) { return nil, nil },
				openapi.Upload(openapi.UploadPolicy{Extensions: []string{"exe"}}))
		}, "unknown extension"},
		{"form field twice", func(a *openapi.API) {
			openapi.Post(a, "/x", func(context.Context, *struct{ Body twice }) (*openapi.Empty, error) { return nil, nil })
		}, "declared twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				r := recover()
				if r == nil || !strings.Contains(fmt.Sprint(r), tt.want) {
					t.Fatalf("panic %v; want one containing %q", r, tt.want)
				}
			}()
			tt.register(newAPI(t))
		})
	}
}

// FuzzMultipartUpload sends any body under a fixed boundary to the upload
// route: it never answers 5xx, refuses with the envelope only, and what it
// accepts is a PNG or GIF within the size limit, under a clean name.
func FuzzMultipartUpload(f *testing.F) {
	seed := func(parts ...part) []byte {
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		mw.SetBoundary("XyZ")
		for _, p := range parts {
			var w io.Writer
			if p.filename != "" {
				w, _ = mw.CreateFormFile(p.name, p.filename)
			} else {
				w, _ = mw.CreateFormField(p.name)
			}
			w.Write(p.data)
		}
		mw.Close()
		return buf.Bytes()
	}
	f.Add(seed(part{"file", "cat.png", pngBytes}, part{"count", "", []byte("1")}))
	f.Add(seed(part{"file", "../../x.png", []byte("<?php ?>")}))
	f.Add(seed(part{"file", "a.gif", []byte("GIF89a")}, part{"note", "n.txt", []byte("\xff\xfe")}, part{"count", "", []byte("-0")}))
	f.Add(seed(part{"file", "a\r\nb.png", pngBytes}, part{"file", "b.png", pngBytes}))
	f.Add([]byte("--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename*=UTF-8''%E2%80%AE.png\r\n\r\n\x89PNG\r\n\x1a\n\r\n--XyZ--\r\n"))
	f.Add([]byte("--XyZ\r\n\r\n--XyZ--"))
	f.Add([]byte{})
	h, _ := uploadAPI(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		status, out, _ := post(h, "multipart/form-data; boundary=XyZ", bytes.NewReader(body))
		if status == 201 {
			var got Stored
			if err := json.Unmarshal(out, &got); err != nil {
				t.Fatalf("201 with %s: %v", out, err)
			}
			if got.Size > 1000 || (got.ContentType != "image/png" && got.ContentType != "image/gif") ||
				got.Name != openapi.CleanFilename(got.Name) || int64(got.Sum) != got.Size {
				t.Fatalf("accepted %+v", got)
			}
			return
		}
		switch status {
		case 400, 413, 415, 422:
		default:
			t.Fatalf("status %d: %s", status, out)
		}
		var env server.Envelope
		if err := json.Unmarshal(out, &env); err != nil || env.Error.Code != status {
			t.Fatalf("status %d without the envelope: %s", status, out)
		}
	})
}

// FuzzCleanFilename checks the display name of an upload: never a path,
// valid UTF-8 without control characters, at most 255 bytes, stable when
// cleaned again.
func FuzzCleanFilename(f *testing.F) {
	for _, s := range []string{
		"photo.png", "../../etc/passwd", `C:\Users\me\report.pdf`, "dir/", "..", ".", "", "  spaced.txt  ",
		"bad\r\nSet-Cookie: x.txt", "nul\x00.png", "bad\xffutf8.txt", "写真.png", "name\u202egnp.exe", strings.Repeat("é", 200),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got := openapi.CleanFilename(in)
		switch {
		case got == "" || got == "." || got == "..":
			t.Fatalf("CleanFilename(%q) = %q", in, got)
		case strings.ContainsAny(got, `/\`):
			t.Fatalf("CleanFilename(%q) = %q holds a path separator", in, got)
		case !utf8ValidNoControl(got) || len(got) > 255:
			t.Fatalf("CleanFilename(%q) = %q: invalid UTF-8, a control character or %d bytes", in, got, len(got))
		case strings.TrimSpace(got) != got:
			t.Fatalf("CleanFilename(%q) = %q has outer spaces", in, got)
		case openapi.CleanFilename(got) != got:
			t.Fatalf("CleanFilename(%q) = %q is not stable", in, got)
		}
	})
}

func utf8ValidNoControl(s string) bool {
	for _, r := range s {
		if r == '\uFFFD' || r < 0x20 || (r >= 0x7f && r < 0xa0) {
			return false
		}
	}
	return true
}
