package openapi

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/gantry-dev/gantry/server"
)

// File is a file uploaded in a multipart/form-data request body. A typed
// input whose Body struct has a field of type File (required) or *File
// (optional), tagged `form:"name"`, is bound from multipart/form-data
// instead of JSON, and documented so: the field is a property of format
// binary, the other form fields (strings, numbers, booleans, tagged
// `form:"name"` as well) are text properties. A file is checked while it is
// read, before the handler runs, against its [UploadPolicy] (from [Upload]
// or the field's `maxSize` and `accept` tags): over the size limit the
// request is refused with 413, with an extension not allowed or content
// that is not what the extension implies with 415, a required part
// missing or given twice with 422, a body that is not multipart/form-data
// with 415, and a malformed one with 400.
//
//	type UploadForm struct {
//		File    openapi.File `form:"file" accept:"png,jpg" maxSize:"1048576"`
//		Caption *string      `form:"caption" validate:"omitempty,max=200"`
//	}
//	openapi.Post(api, "/files", upload) // upload receives *struct{ Body UploadForm }
//
// A File's content is held in memory (at most its policy's MaxSize).
type File struct {
	// Name is the client's file name without any directory part, control
	// characters or invalid UTF-8, at most 255 bytes; "file" when nothing
	// is left. Use it for display and Content-Disposition only.
	Name string
	// Size is the length of the content in bytes.
	Size int64
	// ContentType is the checked media type, from the extension once the
	// sniffed content agreed with it; never the client's header.
	ContentType string

	data []byte
}

// Open returns a reader of the file's content.
func (f *File) Open() io.ReadSeeker { return bytes.NewReader(f.data) }

// Bytes returns the file's content. The caller must not modify it.
func (f *File) Bytes() []byte { return f.data }

// Upload sets the [UploadPolicy] of the route's [File] fields that do not
// declare their own with `maxSize` or `accept` tags. Register panics if the
// policy is invalid ([UploadPolicy.CheckConfig]).
func Upload(p UploadPolicy) Option {
	return func(op *operation) { op.upload = &p }
}

// Limits of a multipart body besides the files' own.
const (
	maxFormParts = 64      // parts of any name, known or not
	maxTextPart  = 1 << 16 // bytes of one text field, or of an unknown part
	maxFileName  = 255     // bytes of a cleaned file name
)

var fileType = reflect.TypeFor[File]()

// formBinder binds a Body struct from multipart/form-data.
type formBinder struct {
	fields []formField
}

// formField is one `form` field of the Body struct.
type formField struct {
	name     string
	index    []int
	typ      reflect.Type
	tag      reflect.StructTag
	file     bool // File or *File
	optional bool // a pointer, without validate:"required"
	policy   UploadPolicy
}

// newFormBinder returns the multipart binder of body, or nil when body is
// not a form (it has no File field and no form tag): such a body is JSON.
func newFormBinder(body reflect.Type, route *UploadPolicy) (*formBinder, error) {
	if body == nil || body.Kind() != reflect.Struct {
		return nil, nil
	}
	isForm := false
	for i := range body.NumField() {
		sf := body.Field(i)
		if _, ok := sf.Tag.Lookup("form"); ok || derefType(sf.Type) == fileType {
			isForm = true
		}
	}
	if !isForm {
		return nil, nil
	}
	if route != nil {
		if err := route.CheckConfig(); err != nil {
			return nil, err
		}
	}
	fb := &formBinder{}
	seen := map[string]bool{}
	for i := range body.NumField() {
		sf := body.Field(i)
		if !sf.IsExported() {
			continue
		}
		name, ok := sf.Tag.Lookup("form")
		name = strings.TrimSpace(strings.Split(name, ",")[0])
		if !ok || name == "" || name == "-" {
			return nil, fmt.Errorf("form body %s: field %s has no form tag", body, sf.Name)
		}
		if seen[name] {
			return nil, fmt.Errorf("form body %s: form field %q declared twice", body, name)
		}
		seen[name] = true
		f := formField{name: name, index: sf.Index, typ: sf.Type, tag: sf.Tag,
			optional: sf.Type.Kind() == reflect.Pointer && !slices.Contains(strings.Split(sf.Tag.Get("validate"), ","), "required")}
		switch {
		case sf.Type == fileType || (sf.Type.Kind() == reflect.Pointer && sf.Type.Elem() == fileType):
			f.file = true
			if route != nil {
				f.policy = *route
			}
			if err := f.tagPolicy(); err != nil {
				return nil, fmt.Errorf("form body %s: field %s: %w", body, sf.Name, err)
			}
		case parsable(sf.Type, false):
		default:
			return nil, fmt.Errorf("form body %s: field %s: form fields cannot be of type %s", body, sf.Name, sf.Type)
		}
		fb.fields = append(fb.fields, f)
	}
	return fb, nil
}

// tagPolicy applies the field's maxSize and accept tags over the route's
// policy.
func (f *formField) tagPolicy() error {
	if s, ok := f.tag.Lookup("maxSize"); ok {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n <= 0 {
			return fmt.Errorf("maxSize tag %q is not a positive number of bytes", s)
		}
		f.policy.MaxSize = n
	}
	if s, ok := f.tag.Lookup("accept"); ok {
		f.policy.Extensions = strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '|' })
	}
	return f.policy.CheckConfig()
}

// bindBody decodes the request body into dst (a pointer to the Body type):
// multipart/form-data for a form, JSON otherwise.
func (b *binder) bindBody(c echo.Context, dst reflect.Value) error {
	if b.form == nil {
		return server.Bind(c, dst.Interface())
	}
	if err := b.form.bind(c.Request(), dst.Elem()); err != nil {
		return err
	}
	return c.Validate(dst.Interface())
}

// bind reads the multipart body of req into the form struct v.
func (fb *formBinder) bind(req *http.Request, v reflect.Value) error {
	mt, params, err := mime.ParseMediaType(req.Header.Get(echo.HeaderContentType))
	if err != nil || mt != echo.MIMEMultipartForm || params["boundary"] == "" {
		return server.NewError(http.StatusUnsupportedMediaType, "content type must be multipart/form-data")
	}
	if req.Body == nil || req.Body == http.NoBody {
		return server.NewError(http.StatusBadRequest, "request body is required")
	}
	got := make([]bool, len(fb.fields))
	var invalid []server.FieldError
	mr := multipart.NewReader(req.Body, params["boundary"])
	for parts := 0; ; parts++ {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return formError(err)
		}
		if parts >= maxFormParts {
			part.Close()
			return server.NewError(http.StatusRequestEntityTooLarge, fmt.Sprintf("multipart body has more than %d parts", maxFormParts))
		}
		i := slices.IndexFunc(fb.fields, func(f formField) bool { return f.name == part.FormName() })
		if i < 0 { // not ours: skipped, within limits
			_, err := readPart(part, maxTextPart)
			part.Close()
			if err != nil {
				return err
			}
			continue
		}
		f := &fb.fields[i]
		if got[i] {
			part.Close()
			invalid = append(invalid, server.FieldError{Field: f.name, Rule: "unique", Message: "must be given once"})
			continue
		}
		got[i] = true
		fv := v.FieldByIndex(f.index)
		if f.file {
			fe, err := f.bindFile(part, fv)
			part.Close()
			if err != nil {
				return err
			}
			if fe != nil {
				invalid = append(invalid, *fe)
			}
			continue
		}
		data, err := readPart(part, maxTextPart)
		part.Close()
		if err != nil {
			return err
		}
		if !utf8.Valid(data) || parseOne(fv, string(data)) != nil {
			fv.SetZero()
			invalid = append(invalid, server.FieldError{Field: f.name, Rule: "type", Message: "must be " + describe(derefType(f.typ))})
		}
	}
	for i, f := range fb.fields {
		if !got[i] && !f.optional {
			invalid = append(invalid, server.FieldError{Field: f.name, Rule: "required", Message: "is required"})
		}
	}
	if len(invalid) > 0 {
		return server.NewError(http.StatusUnprocessableEntity, "request validation failed").WithType("validation_error").WithFieldErrors(invalid...)
	}
	return nil
}

// bindFile reads a file part into fv (File or *File) and checks it. A part
// that is not a file is a field error; a file the policy refuses is a 413
// or 415 *server.Error.
func (f *formField) bindFile(part *multipart.Part, fv reflect.Value) (*server.FieldError, error) {
	if part.FileName() == "" {
		_, err := readPart(part, maxTextPart)
		if err != nil {
			return nil, err
		}
		return &server.FieldError{Field: f.name, Rule: "file", Message: "must be a file (a part with a filename)"}, nil
	}
	maxSize := f.policy.maxSize()
	data, err := readPart(part, maxSize)
	if err != nil {
		var se *server.Error
		if errors.As(err, &se) && se.HTTPStatus() == http.StatusRequestEntityTooLarge {
			return nil, server.NewError(http.StatusRequestEntityTooLarge, fmt.Sprintf("file %q is larger than %d bytes", f.name, maxSize)).WithFieldErrors(server.FieldError{Field: f.name, Rule: "max_size", Message: fmt.Sprintf("must be at most %d bytes", maxSize)}).Wrap(ErrFileTooLarge)
		}
		return nil, err
	}
	name := CleanFilename(part.FileName())
	ctype, err := f.policy.Validate(name, int64(len(data)), data)
	if err != nil {
		var se *server.Error
		if errors.As(err, &se) {
			return nil, se.WithFieldErrors(server.FieldError{Field: f.name, Rule: "file_type", Message: se.PublicMessage()})
		}
		return nil, err
	}
	file := &File{Name: name, Size: int64(len(data)), ContentType: ctype, data: data}
	if fv.Kind() == reflect.Pointer {
		fv.Set(reflect.ValueOf(file))
	} else {
		fv.Set(reflect.ValueOf(*file))
	}
	return nil, nil
}

// readPart reads at most limit bytes of a part: more is a 413, a broken
// body a 400 (or the 413 of the server's body limit).
func readPart(part *multipart.Part, limit int64) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(part, limit+1))
	if err != nil {
		return nil, formError(err)
	}
	if int64(len(data)) > limit {
		return nil, server.NewError(http.StatusRequestEntityTooLarge, fmt.Sprintf("part %q is larger than %d bytes", part.FormName(), limit))
	}
	return data, nil
}

// formError maps an error reading a multipart body to the envelope: 413
// past the server's body limit, 400 for a malformed body.
func formError(err error) error {
	var mbe *http.MaxBytesError
	var he *echo.HTTPError
	if errors.As(err, &mbe) || (errors.As(err, &he) && he.Code == http.StatusRequestEntityTooLarge) {
		return server.NewError(http.StatusRequestEntityTooLarge, "request body too large").Wrap(err)
	}
	return server.NewError(http.StatusBadRequest, "malformed multipart/form-data body").WithType("invalid_multipart").Wrap(err)
}

// CleanFilename returns the client's file name fit for display and a
// Content-Disposition header: no directory part (either slash), no
// control characters or invalid UTF-8, no surrounding space, at most 255
// bytes; "file" when nothing is left, or for "." and "..".
func CleanFilename(name string) string {
	name = strings.ReplaceAll(name, `\`, "/")
	name = name[strings.LastIndexByte(name, '/')+1:]
	name = strings.ToValidUTF8(name, "")
	name = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == utf8.RuneError {
			return -1
		}
		return r
	}, name)
	name = strings.TrimSpace(name)
	for len(name) > maxFileName {
		_, size := utf8.DecodeLastRuneInString(name)
		name = name[:len(name)-size]
	}
	name = strings.TrimSpace(name)
	if name == "" || name == "." || name == ".." {
		return "file"
	}
	return name
}

// bodyContent documents the request body: multipart/form-data for a
// form, JSON otherwise.
func (b *binder) bodyContent(g *schemaGen) map[string]MediaType {
	if b.form == nil {
		return map[string]MediaType{echo.MIMEApplicationJSON: {Schema: g.schemaOf(b.bodyTyp)}}
	}
	s := &Schema{Type: "object", Properties: map[string]*Schema{}}
	enc := map[string]Encoding{}
	for _, f := range b.form.fields {
		var ps *Schema
		if f.file {
			exts := f.policy.extensions()
			ps = &Schema{Type: "string", Format: "binary", Description: fmt.Sprintf(
				"A file of at most %d bytes named *.%s; its content must be of the type its extension implies.",
				f.policy.maxSize(), strings.Join(exts, ", *."))}
			if d := f.tag.Get("doc"); d != "" {
				ps.Description = d + " " + ps.Description
			}
			var types []string
			for _, ext := range exts {
				if t, _, ok := contentTypes(ext); ok && !slices.Contains(types, t) {
					types = append(types, t)
				}
			}
			if len(types) > 0 {
				enc[f.name] = Encoding{ContentType: strings.Join(types, ", ")}
			}
		} else {
			ps, _ = g.fieldSchema(derefType(f.typ), f.tag, false, false)
		}
		s.Properties[f.name] = ps
		s.order = append(s.order, f.name)
		if !f.optional {
			s.Required = append(s.Required, f.name)
		}
	}
	if len(enc) == 0 {
		enc = nil
	}
	return map[string]MediaType{echo.MIMEMultipartForm: {Schema: s, Encoding: enc}}
}
