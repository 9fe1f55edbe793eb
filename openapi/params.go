package openapi

import (
	"encoding"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/go-playground/validator/v10"
	"github.com/labstack/echo/v4"

	"github.com/gantry-dev/gantry/internal/boolstr"
	"github.com/gantry-dev/gantry/server"
)

// Where a parameter comes from: the value of its tag names it.
const (
	inPath   = "path"
	inQuery  = "query"
	inHeader = "header"
)

// param is one path, query or header field of an input struct.
type param struct {
	name   string
	in     string
	index  []int
	typ    reflect.Type
	tag    reflect.StructTag
	rules  string // validate tag
	def    []string
	hasDef bool
	list   bool // a slice: every value, not the first
	str    bool // string items: an empty value counts
}

// binder fills an input struct from a request: parameters parsed from
// strings, then validated, then the JSON body through server.Bind.
type binder struct {
	params   []param
	body     []int         // index of the Body field; nil when none
	bodyTyp  reflect.Type  // Body's type, pointer stripped
	bodyOpt  bool          // Body is a pointer: the body may be absent
	form     *formBinder   // Body is multipart/form-data (multipart.go); nil for JSON
	query    *queryBinding // the Query field; nil when none
	presence *presencePlan // what the body's schema requires; nil: nothing
	tees     teePool       // copies of bodies for presence
	v        *validator.Validate
}

func newBinder(t reflect.Type, v *validator.Validate) (*binder, error) {
	if t.Kind() != reflect.Struct {
		return nil, fmt.Errorf("input type %s is not a struct", t)
	}
	b := &binder{v: v}
	if err := b.collect(t, nil); err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for _, p := range b.params {
		key := p.in + ":" + strings.ToLower(p.name)
		if seen[key] {
			return nil, fmt.Errorf("input type %s: %s parameter %q declared twice", t, p.in, p.name)
		}
		seen[key] = true
	}
	if b.query != nil {
		spec := &b.query.spec
		for _, name := range b.query.names() {
			if seen[inQuery+":"+strings.ToLower(name)] {
				return nil, fmt.Errorf("input type %s: query parameter %q declared by a field and by the Query field", t, name)
			}
		}
		spec.Ignore = slices.Clone(spec.Ignore)
		for _, p := range b.params {
			if p.in == inQuery {
				spec.Ignore = append(spec.Ignore, p.name)
			}
		}
	}
	return b, nil
}

func (b *binder) collect(t reflect.Type, index []int) error {
	for i := range t.NumField() {
		sf := t.Field(i)
		idx := append(append([]int(nil), index...), i)
		var in, name string
		for _, where := range []string{inPath, inQuery, inHeader} {
			if n, ok := sf.Tag.Lookup(where); ok {
				if in != "" {
					return fmt.Errorf("input field %s has both %s and %s tags", sf.Name, in, where)
				}
				in, name = where, strings.TrimSpace(strings.Split(n, ",")[0])
			}
		}
		switch {
		case in == "" && isQueryField(sf.Type):
			if !sf.IsExported() {
				return fmt.Errorf("input field %s is not exported", sf.Name)
			}
			if b.query != nil {
				return errors.New("input has two Query fields")
			}
			b.query = newQueryBinding(sf.Type, idx)
		case in != "":
			if !sf.IsExported() {
				return fmt.Errorf("input field %s is not exported", sf.Name)
			}
			if name == "" || name == "-" {
				return fmt.Errorf("input field %s: empty %s parameter name", sf.Name, in)
			}
			if !parsable(sf.Type, in != inPath) {
				return fmt.Errorf("input field %s: %s parameters cannot be of type %s", sf.Name, in, sf.Type)
			}
			p := param{name: name, in: in, index: idx, typ: sf.Type, tag: sf.Tag, rules: sf.Tag.Get("validate"),
				list: isSlice(derefType(sf.Type)), str: elemType(sf.Type).Kind() == reflect.String}
			if d, ok := sf.Tag.Lookup("default"); ok {
				p.def, p.hasDef = []string{d}, true
				if isSlice(sf.Type) {
					p.def = strings.Split(d, ",")
				}
				if err := parseInto(reflect.New(sf.Type).Elem(), p.def); err != nil {
					return fmt.Errorf("input field %s: default %q is not %s", sf.Name, d, describe(elemType(sf.Type)))
				}
			}
			if err := knownRules(b.v, sf.Type, p.rules); err != nil {
				return fmt.Errorf("input field %s: %w", sf.Name, err)
			}
			b.params = append(b.params, p)
		case sf.Name == "Body":
			if b.body != nil {
				return errors.New("input has two Body fields")
			}
			b.body, b.bodyTyp = idx, sf.Type
			if sf.Type.Kind() == reflect.Pointer {
				b.bodyTyp, b.bodyOpt = sf.Type.Elem(), true
			}
			b.presence = newPresencePlan(b.bodyTyp, 0)
		case sf.Anonymous && sf.Type.Kind() == reflect.Struct:
			if err := b.collect(sf.Type, idx); err != nil {
				return err
			}
		case sf.IsExported():
			return fmt.Errorf("input field %s has no path, query or header tag and is not the Body field", sf.Name)
		}
	}
	return nil
}

// knownRules reports a validate tag the validator cannot run (it would
// panic on the first request otherwise).
func knownRules(v *validator.Validate, t reflect.Type, rules string) (err error) {
	if rules == "" {
		return nil
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("validate tag %q: %v", rules, r)
		}
	}()
	_ = v.Var(reflect.Zero(t).Interface(), rules)
	return nil
}

func isSlice(t reflect.Type) bool {
	return t.Kind() == reflect.Slice && !reflect.PointerTo(t).Implements(textUnmarshal)
}

func derefType(t reflect.Type) reflect.Type {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t
}

// elemType strips pointers and one slice level.
func elemType(t reflect.Type) reflect.Type {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if isSlice(t) {
		t = t.Elem()
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t
}

// parsable reports whether a parameter can be of type t: a scalar, a type
// with UnmarshalText (time.Time, uuid.UUID), a pointer to one, or (when
// lists are allowed) a slice of them.
func parsable(t reflect.Type, lists bool) bool {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if reflect.PointerTo(t).Implements(textUnmarshal) {
		return true
	}
	if t.Kind() == reflect.Slice {
		return lists && parsable(t.Elem(), false)
	}
	switch t.Kind() {
	case reflect.Bool, reflect.String,
		reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		return true
	}
	return false
}

// parseInto sets v (of a parsable type) from raw values: the first for a
// scalar, each for a slice.
func parseInto(v reflect.Value, raw []string) error {
	if v.Kind() == reflect.Pointer {
		p := reflect.New(v.Type().Elem())
		if err := parseInto(p.Elem(), raw); err != nil {
			return err
		}
		v.Set(p)
		return nil
	}
	if isSlice(v.Type()) {
		s := reflect.MakeSlice(v.Type(), len(raw), len(raw))
		for i, r := range raw {
			if err := parseInto(s.Index(i), []string{r}); err != nil {
				return err
			}
		}
		v.Set(s)
		return nil
	}
	return parseScalar(v, raw[0])
}

// parseOne sets v (a scalar or a pointer to one) from s.
func parseOne(v reflect.Value, s string) error {
	if v.Kind() == reflect.Pointer {
		p := reflect.New(v.Type().Elem())
		if err := parseOne(p.Elem(), s); err != nil {
			return err
		}
		v.Set(p)
		return nil
	}
	return parseScalar(v, s)
}

func parseScalar(v reflect.Value, s string) error {
	if u, ok := v.Addr().Interface().(encoding.TextUnmarshaler); ok {
		return u.UnmarshalText([]byte(s))
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(s)
	case reflect.Bool:
		b, ok := boolstr.Parse(s) // the grammar config and crud's filters use
		if !ok {
			return errNotBool
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if !canonicalInt(s, true) {
			return errNotCanonical
		}
		n, err := strconv.ParseInt(s, 10, v.Type().Bits())
		if err != nil {
			return err
		}
		v.SetInt(n)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if !canonicalInt(s, false) {
			return errNotCanonical
		}
		n, err := strconv.ParseUint(s, 10, v.Type().Bits())
		if err != nil {
			return err
		}
		v.SetUint(n)
	case reflect.Float32, reflect.Float64:
		if !jsonNumber(s) {
			return errNotCanonical
		}
		f, err := strconv.ParseFloat(s, v.Type().Bits()) // ±Inf past the type's range is an error
		if err != nil {
			return err
		}
		v.SetFloat(f)
	default:
		return fmt.Errorf("unsupported kind %s", v.Kind())
	}
	return nil
}

// errNotCanonical refuses a number not written as the grammar below says.
var errNotCanonical = errors.New("not a canonical number")

// errNotBool refuses a boolean that is none of internal/boolstr's words.
var errNotBool = errors.New("not a boolean")

// canonicalInt reports whether s is an integer written the one way the
// server writes it: "0", or decimal digits without a leading zero, with a
// '-' before them when signed allows (never "-0"). No '+', spaces,
// underscores, base prefixes, fractions or exponents: "+1", " 1", "01",
// "1.0", "0x1" and "1e3" are refused, so two texts never name one id.
func canonicalInt(s string, signed bool) bool {
	if signed && len(s) > 1 && s[0] == '-' {
		s = s[1:]
		if s[0] == '0' {
			return false
		}
	}
	if s == "" || (s[0] == '0' && len(s) > 1) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// jsonNumber reports whether s is a number as JSON writes one:
// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?. NaN, infinities, hex
// floats, underscores, '+' and bare dots are refused.
func jsonNumber(s string) bool {
	i := 0
	digits := func() int {
		j := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		return i - j
	}
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case digits() == 0:
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		if digits() == 0 {
			return false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if digits() == 0 {
			return false
		}
	}
	return i == len(s)
}

// canonicalPath reports whether the path parameter text s is written as
// the server writes the value v it parsed to: a boolean as true or false,
// a TextMarshaler (uuid.UUID, time.Time) as its MarshalText. Integers
// already had to be canonical to parse.
func canonicalPath(v reflect.Value, s string) bool {
	for v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return false
		}
		v = v.Elem()
	}
	if m, ok := v.Interface().(encoding.TextMarshaler); ok {
		b, err := m.MarshalText()
		return err == nil && string(b) == s
	}
	if v.CanAddr() {
		if m, ok := v.Addr().Interface().(encoding.TextMarshaler); ok {
			b, err := m.MarshalText()
			return err == nil && string(b) == s
		}
	}
	if v.Kind() == reflect.Bool {
		return strconv.FormatBool(v.Bool()) == s
	}
	return true
}

// value returns the value a request carries for a scalar parameter p:
// the first non-empty one (an empty string counts for string types).
func (p *param) value(c echo.Context) (string, bool) {
	keepEmpty := p.str
	switch p.in {
	case inPath:
		s := c.Param(p.name)
		if c.Request().URL.RawPath != "" { // echo routed on the escaped path
			if u, err := url.PathUnescape(s); err == nil {
				s = u
			}
		}
		return s, s != "" || keepEmpty
	case inQuery:
		for _, s := range c.QueryParams()[p.name] {
			if s != "" || keepEmpty {
				return s, true
			}
		}
	case inHeader:
		for _, s := range c.Request().Header.Values(p.name) {
			if s != "" || keepEmpty {
				return s, true
			}
		}
	}
	return "", false
}

// values returns the values a request carries for a list parameter p,
// leaving out empty ones unless the items are strings.
func (p *param) values(c echo.Context) []string {
	var vals []string
	switch p.in {
	case inQuery:
		vals = c.QueryParams()[p.name]
	case inHeader:
		vals = c.Request().Header.Values(p.name)
	}
	if p.str || !slices.Contains(vals, "") {
		return vals
	}
	kept := make([]string, 0, len(vals))
	for _, s := range vals {
		if s != "" {
			kept = append(kept, s)
		}
	}
	return kept
}

// bind fills in (a pointer to the input struct) from c. A path parameter
// that is missing, does not parse or is not written canonically answers
// 404: it names no resource. Query and header parameters that do not parse
// answer 400 naming each one; validation failures of parameters and body
// answer one 422 with a detail per field; the body's own failures (415,
// 400, 413) are server.Bind's.
func (b *binder) bind(c echo.Context, in reflect.Value) error {
	in = in.Elem()
	var bad []server.FieldError
	var msgs []string
	for i := range b.params {
		p := &b.params[i]
		if p.in != inPath {
			continue
		}
		f := in.FieldByIndex(p.index)
		s, ok := p.value(c)
		if !ok || parseOne(f, s) != nil || !canonicalPath(f, s) {
			f.SetZero()
			want := describe(elemType(p.typ))
			return server.NewError(http.StatusNotFound,
				fmt.Sprintf("not found: path parameter %q must be %s, written canonically", p.name, want)).
				WithFieldErrors(server.FieldError{Field: p.name, Rule: "type", Message: "must be " + want})
		}
	}
	for i := range b.params {
		p := &b.params[i]
		if p.in == inPath {
			continue
		}
		f := in.FieldByIndex(p.index)
		var err error
		if p.list {
			raw := p.values(c)
			if len(raw) == 0 {
				if !p.hasDef {
					continue
				}
				raw = p.def
			}
			err = parseInto(f, raw)
		} else {
			s, ok := p.value(c)
			if !ok {
				if !p.hasDef {
					continue
				}
				s = p.def[0]
			}
			err = parseOne(f, s)
		}
		if err != nil {
			f.SetZero()
			want := describe(elemType(p.typ))
			if p.list {
				want = "a list of " + strings.TrimPrefix(strings.TrimPrefix(want, "a "), "an ") + " values"
			}
			bad = append(bad, server.FieldError{Field: p.name, Rule: "type", Message: "must be " + want})
			msgs = append(msgs, fmt.Sprintf("%s parameter %q must be %s", p.in, p.name, want))
		}
	}
	var invalid []server.FieldError
	if b.query != nil {
		qbad, qinvalid, err := b.query.bind(c, in, b.check)
		if err != nil && len(bad) == 0 {
			return err
		}
		for _, d := range qbad {
			msgs = append(msgs, fmt.Sprintf("query parameter %q %s", d.Field, d.Message))
		}
		bad = append(bad, qbad...)
		invalid = qinvalid
	}
	if len(bad) > 0 {
		return server.NewError(http.StatusBadRequest, strings.Join(msgs, "; ")).
			WithType("invalid_parameter").WithFieldErrors(bad...)
	}
	for i := range b.params {
		p := &b.params[i]
		if p.rules == "" {
			continue
		}
		invalid = append(invalid, b.check(in.FieldByIndex(p.index).Interface(), p.name, p.rules)...)
	}
	if b.body != nil {
		req := c.Request()
		absent := req.Body == nil || req.Body == http.NoBody || (req.ContentLength == 0 && len(req.TransferEncoding) == 0)
		if !(b.bodyOpt && absent) {
			if !absent && b.form == nil && req.Header.Get(echo.HeaderContentType) == "" {
				// The document lists application/json as the body's only type.
				return server.NewError(http.StatusUnsupportedMediaType, "content type must be application/json")
			}
			var tee *teeBody
			if !absent && b.presence != nil {
				orig := req.Body
				tee = b.tees.get(orig)
				req.Body = tee
				defer func() { req.Body = orig; b.tees.put(tee) }()
			}
			dst := reflect.New(b.bodyTyp)
			if err := b.bindBody(c, dst); err != nil {
				var se *server.Error
				if !errors.As(err, &se) || se.HTTPStatus() != http.StatusUnprocessableEntity {
					return err
				}
				invalid = append(invalid, se.FieldErrors()...)
			}
			if tee != nil {
				for _, d := range b.presence.check(tee.buf.Bytes(), "", nil) {
					if !slices.ContainsFunc(invalid, func(e server.FieldError) bool { return e.Field == d.Field }) {
						invalid = append(invalid, d)
					}
				}
			}
			f := in.FieldByIndex(b.body)
			if b.bodyOpt {
				f.Set(dst)
			} else {
				f.Set(dst.Elem())
			}
		}
	}
	if len(invalid) > 0 {
		return server.NewError(http.StatusUnprocessableEntity, "request validation failed").
			WithType("validation_error").WithFieldErrors(invalid...)
	}
	return nil
}

// check validates value against rules and returns one detail per failed
// rule, named after the parameter name (items after dive as name[i]).
func (b *binder) check(value any, name, rules string) []server.FieldError {
	err := b.v.Var(value, rules)
	if err == nil {
		return nil
	}
	var verrs validator.ValidationErrors
	if !errors.As(err, &verrs) { // rules are checked at registration (knownRules)
		return []server.FieldError{{Field: name, Rule: "invalid", Message: "is invalid"}}
	}
	details := server.ValidationError(verrs).FieldErrors()
	for i := range details {
		if strings.HasPrefix(details[i].Field, "[") { // an item, after dive
			details[i].Field = name + details[i].Field
		} else {
			details[i].Field = name
		}
	}
	return details
}
