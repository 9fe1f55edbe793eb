package openapi

import (
	"encoding"
	"encoding/json"
	"fmt"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
)

var (
	timeType        = reflect.TypeFor[time.Time]()
	providerType    = reflect.TypeFor[SchemaProvider]()
	jsonMarshaler   = reflect.TypeFor[json.Marshaler]()
	jsonUnmarshaler = reflect.TypeFor[json.Unmarshaler]()
	textMarshaler   = reflect.TypeFor[encoding.TextMarshaler]()
	textUnmarshal   = reflect.TypeFor[encoding.TextUnmarshaler]()
	componentChars  = regexp.MustCompile(`[^A-Za-z0-9_.-]`)
)

// schemaGen turns Go types into JSON Schemas, collecting every named struct
// type (and every named type with a SchemaProvider) as a component.
type schemaGen struct {
	names   map[reflect.Type]string // component name of each collected type
	taken   map[string]reflect.Type
	schemas map[string]*Schema
}

func newSchemaGen() *schemaGen {
	return &schemaGen{
		names:   map[reflect.Type]string{},
		taken:   map[string]reflect.Type{},
		schemas: map[string]*Schema{},
	}
}

// named registers t under the given component name (or a free variant of it).
func (g *schemaGen) name(t reflect.Type, want string) string {
	if n, ok := g.names[t]; ok {
		return n
	}
	n := want
	if other, ok := g.taken[n]; ok && other != t {
		// Same name in two packages: qualify with the package name, then count.
		if pkg := t.PkgPath(); pkg != "" {
			n = componentChars.ReplaceAllString(pkg[strings.LastIndexByte(pkg, '/')+1:], "") + "." + want
		}
		for i := 2; ; i++ {
			if _, ok := g.taken[n]; !ok {
				break
			}
			n = want + strconv.Itoa(i)
		}
	}
	g.names[t] = n
	g.taken[n] = t
	return n
}

// typeName is the component name of a named type: its Go name, with the
// type arguments of a generic type appended ("Page[x.Post]" is "PagePost").
func typeName(t reflect.Type) string {
	name := t.Name()
	base, args, generic := strings.Cut(name, "[")
	if !generic {
		return componentChars.ReplaceAllString(name, "")
	}
	var b strings.Builder
	b.WriteString(base)
	for _, arg := range splitTypeArgs(strings.TrimSuffix(args, "]")) {
		if i := strings.LastIndexByte(arg, '.'); i >= 0 {
			arg = arg[i+1:]
		}
		arg = componentChars.ReplaceAllString(arg, "")
		if arg == "" {
			continue
		}
		r := []rune(arg)
		r[0] = unicode.ToUpper(r[0])
		b.WriteString(string(r))
	}
	return b.String()
}

func splitTypeArgs(s string) []string {
	var out []string
	depth, start := 0, 0
	for i, r := range s {
		switch r {
		case '[':
			depth++
		case ']':
			depth--
		case ',':
			if depth == 0 {
				out = append(out, s[start:i])
				start = i + 1
			}
		}
	}
	return append(out, s[start:])
}

// schemaOf returns the schema of a value of type t: a $ref for component
// types, an inline schema otherwise. Pointers are followed; nullability is
// decided by the field that holds the pointer. Every call returns a fresh
// *Schema the caller may modify.
func (g *schemaGen) schemaOf(t reflect.Type) *Schema {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Name() != "" && (t.Implements(providerType) || reflect.PointerTo(t).Implements(providerType)) {
		return g.component(t, func() *Schema {
			p, ok := reflect.New(t).Elem().Interface().(SchemaProvider)
			if !ok {
				p = reflect.New(t).Interface().(SchemaProvider)
			}
			s := p.OpenAPISchema()
			if s == nil {
				return &Schema{}
			}
			c := *s
			return &c
		})
	}
	switch {
	case t == timeType:
		return &Schema{Type: "string", Format: "date-time"}
	case t.Implements(jsonMarshaler) || reflect.PointerTo(t).Implements(jsonMarshaler):
		return &Schema{} // encodes itself: any JSON value
	case t.Implements(textMarshaler) || reflect.PointerTo(t).Implements(textMarshaler):
		s := &Schema{Type: "string"}
		if t.Name() == "UUID" {
			s.Format = "uuid"
		}
		return s
	}
	switch t.Kind() {
	case reflect.Bool:
		return &Schema{Type: "boolean"}
	case reflect.Int8, reflect.Int16, reflect.Int, reflect.Int64:
		return &Schema{Type: "integer", Format: "int64"}
	case reflect.Int32:
		return &Schema{Type: "integer", Format: "int32"}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return &Schema{Type: "integer", Minimum: ptr(0.0)}
	case reflect.Float32:
		return &Schema{Type: "number", Format: "float"}
	case reflect.Float64:
		return &Schema{Type: "number", Format: "double"}
	case reflect.String:
		return &Schema{Type: "string"}
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 && !reflect.PointerTo(t.Elem()).Implements(textMarshaler) {
			return &Schema{Type: "string", ContentEncoding: "base64"}
		}
		return &Schema{Type: "array", Items: g.schemaOf(t.Elem())}
	case reflect.Array:
		n := t.Len()
		return &Schema{Type: "array", Items: g.schemaOf(t.Elem()), MinItems: &n, MaxItems: ptr(n)}
	case reflect.Map:
		return &Schema{Type: "object", AdditionalProperties: g.schemaOf(t.Elem())}
	case reflect.Struct:
		if t.Name() == "" {
			return g.structSchema(t)
		}
		return g.component(t, func() *Schema { return g.structSchema(t) })
	}
	return &Schema{} // interfaces (and kinds JSON cannot encode): any value
}

// component collects t as a named schema built by build, once, and returns
// a reference to it. The name is taken before build runs, so recursive
// types refer to themselves.
func (g *schemaGen) component(t reflect.Type, build func() *Schema) *Schema {
	n, ok := g.names[t]
	if !ok {
		n = g.name(t, typeName(t))
	}
	if _, built := g.schemas[n]; !built {
		g.schemas[n] = &Schema{} // placeholder while building
		g.schemas[n] = build()
	}
	return &Schema{Ref: "#/components/schemas/" + n}
}

// field is one JSON property of a struct, found the way encoding/json finds it.
type field struct {
	name      string
	index     []int
	typ       reflect.Type
	omitEmpty bool // omitempty or omitzero: may be absent
	asString  bool // the ,string option
	tag       reflect.StructTag
}

// jsonFields lists the JSON properties of struct type t in declaration
// order, promoting the fields of embedded structs as encoding/json does (a
// shallower field hides a deeper one; two at the same depth hide each other).
func jsonFields(t reflect.Type) []field {
	type cand struct {
		f     field
		depth int
	}
	var all []cand
	var walk func(t reflect.Type, index []int, depth int, seen map[reflect.Type]bool)
	walk = func(t reflect.Type, index []int, depth int, seen map[reflect.Type]bool) {
		if seen[t] {
			return
		}
		seen[t] = true
		defer delete(seen, t)
		for i := range t.NumField() {
			sf := t.Field(i)
			tag := sf.Tag.Get("json")
			if tag == "-" {
				continue
			}
			name, opts, _ := strings.Cut(tag, ",")
			idx := append(append([]int(nil), index...), i)
			ft := sf.Type
			if sf.Anonymous {
				et := ft
				if et.Kind() == reflect.Pointer {
					et = et.Elem()
				}
				if name == "" && et.Kind() == reflect.Struct {
					walk(et, idx, depth+1, seen)
					continue
				}
				if !sf.IsExported() && et.Kind() != reflect.Struct {
					continue
				}
			} else if !sf.IsExported() {
				continue
			}
			if name == "" {
				name = sf.Name
			}
			f := field{name: name, index: idx, typ: ft, tag: sf.Tag}
			for o := range strings.SplitSeq(opts, ",") {
				switch o {
				case "omitempty", "omitzero":
					f.omitEmpty = true
				case "string":
					f.asString = true
				}
			}
			all = append(all, cand{f, depth})
		}
	}
	walk(t, nil, 0, map[reflect.Type]bool{})
	best := map[string]int{} // name -> shallowest depth
	count := map[[2]any]int{}
	for _, c := range all {
		if d, ok := best[c.f.name]; !ok || c.depth < d {
			best[c.f.name] = c.depth
		}
		count[[2]any{c.f.name, c.depth}]++
	}
	var out []field
	for _, c := range all {
		if best[c.f.name] == c.depth && count[[2]any{c.f.name, c.depth}] == 1 {
			out = append(out, c.f)
		}
	}
	return out
}

func (g *schemaGen) structSchema(t reflect.Type) *Schema {
	s := &Schema{Type: "object", Properties: map[string]*Schema{}}
	for _, f := range jsonFields(t) {
		fs, required := g.fieldSchema(f.typ, f.tag, f.omitEmpty, f.asString)
		s.Properties[f.name] = fs
		s.order = append(s.order, f.name)
		if required {
			s.Required = append(s.Required, f.name)
		}
	}
	return s
}

// fieldSchema is the schema of a struct field or parameter of type t:
// its type's schema with the validate tag's rules, the doc, default and
// example tags, and null allowed for a pointer that is not omitted when
// nil. required reports a `validate:"required"` rule, or a non-pointer
// field that is never omitted.
func (g *schemaGen) fieldSchema(t reflect.Type, tag reflect.StructTag, omitEmpty, asString bool) (s *Schema, required bool) {
	base := t
	for base.Kind() == reflect.Pointer {
		base = base.Elem()
	}
	s = g.schemaOf(base)
	if asString {
		switch base.Kind() {
		case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
			reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
			reflect.Float32, reflect.Float64:
			s = &Schema{Type: "string"}
		}
	}
	ruleRequired := applyRules(s, base, tag.Get("validate"))
	if d := tag.Get("doc"); d != "" {
		s.Description = d
	}
	if d, ok := tag.Lookup("default"); ok {
		if v, err := tagValue(base, d); err == nil {
			s.Default = v
		}
	}
	if e, ok := tag.Lookup("example"); ok {
		if v, err := tagValue(base, e); err == nil {
			s.Examples = []any{v}
		}
	}
	required, nullableField := presence(t, ruleRequired, omitEmpty)
	if nullableField {
		s = nullable(s)
	}
	return s, required
}

// presence says whether a JSON property of type t must be present
// (validate:"required", or a non-pointer field never omitted) and whether
// it may be null (a pointer never omitted, unless required). The schema
// says so, and the binder checks request bodies against the same answer.
func presence(t reflect.Type, ruleRequired, omitEmpty bool) (required, nullable bool) {
	isPtr := t.Kind() == reflect.Pointer
	return ruleRequired || (!isPtr && !omitEmpty), isPtr && !omitEmpty && !ruleRequired
}

// nullable lets s also accept null: ["T", "null"] for a typed schema (null
// joins an enum), anyOf [s, null] for a $ref.
func nullable(s *Schema) *Schema {
	switch typ := s.Type.(type) {
	case string:
		s.Type = []string{typ, "null"}
		if s.Enum != nil {
			s.Enum = append(s.Enum, nil)
		}
		return s
	case nil:
		if s.Ref == "" && s.AnyOf == nil {
			return s // accepts anything already
		}
	default:
		return s
	}
	return &Schema{AnyOf: []*Schema{{Ref: s.Ref}, {Type: "null"}}, Description: s.Description}
}

// tagValue parses a default or example tag as a value of type t.
func tagValue(t reflect.Type, s string) (any, error) {
	switch t.Kind() {
	case reflect.Bool:
		return strconv.ParseBool(s)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.ParseInt(s, 10, 64)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return strconv.ParseUint(s, 10, 64)
	case reflect.Float32, reflect.Float64:
		return strconv.ParseFloat(s, 64)
	case reflect.Slice:
		var out []any
		for part := range strings.SplitSeq(s, ",") {
			v, err := tagValue(t.Elem(), strings.TrimSpace(part))
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	}
	return s, nil
}

// applyRules adds to s what the go-playground/validator rules in tag say
// about a value of type t (formats, enum, bounds, patterns), and reports
// whether a rule makes the value required. Rules after "dive" apply to the
// items of a slice or map; rules with alternatives ("a|b") and rules with
// no JSON Schema equivalent are left out of the schema (the server still
// enforces them).
func applyRules(s *Schema, t reflect.Type, tag string) (required bool) {
	if tag == "" || tag == "-" {
		return false
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	rules := strings.Split(tag, ",")
	for i := 0; i < len(rules); i++ {
		rule := rules[i]
		if strings.Contains(rule, "|") {
			continue
		}
		name, param, _ := strings.Cut(rule, "=")
		switch name {
		case "dive":
			if s.Items != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
				applyRules(s.Items, t.Elem(), strings.Join(rules[i+1:], ","))
			} else if s.AdditionalProperties != nil && t.Kind() == reflect.Map {
				applyRules(s.AdditionalProperties, t.Elem(), strings.Join(skipKeys(rules[i+1:]), ","))
			}
			return required
		case "required":
			required = true
		case "email":
			s.Format = "email"
		case "url", "http_url", "uri":
			s.Format = "uri"
		case "uuid", "uuid3", "uuid4", "uuid5", "uuid_rfc4122", "uuid4_rfc4122":
			s.Format = "uuid"
		case "ipv4", "ip4_addr":
			s.Format = "ipv4"
		case "ipv6", "ip6_addr":
			s.Format = "ipv6"
		case "hostname", "hostname_rfc1123", "fqdn":
			s.Format = "hostname"
		case "datetime":
			switch param {
			case time.RFC3339, time.RFC3339Nano:
				s.Format = "date-time"
			case time.DateOnly:
				s.Format = "date"
			case time.TimeOnly:
				s.Format = "time"
			}
		case "oneof":
			s.Enum = nil
			for v := range strings.FieldsSeq(param) {
				if ev, err := tagValue(t, v); err == nil {
					s.Enum = append(s.Enum, ev)
				}
			}
		case "alphanum":
			s.Pattern = "^[a-zA-Z0-9]+$"
		case "alpha":
			s.Pattern = "^[a-zA-Z]+$"
		case "numeric":
			s.Pattern = `^[-+]?[0-9]+(?:\.[0-9]+)?$`
		case "startswith":
			s.Pattern = "^" + regexp.QuoteMeta(param)
		case "endswith":
			s.Pattern = regexp.QuoteMeta(param) + "$"
		case "min", "gte", "max", "lte", "gt", "lt", "len":
			bound(s, t, name, param)
		}
	}
	if required && s.Ref == "" {
		// required refuses the zero value: the empty string, list or map.
		switch t.Kind() {
		case reflect.String:
			if s.Type == "string" && s.MinLength == nil {
				s.MinLength = ptr(1)
			}
		case reflect.Slice:
			if s.Type == "array" && s.MinItems == nil {
				s.MinItems = ptr(1)
			} else if s.Type == "string" && s.MinLength == nil {
				s.MinLength = ptr(1)
			}
		case reflect.Map:
			if s.MinProperties == nil {
				s.MinProperties = ptr(1)
			}
		}
	}
	return required
}

func skipKeys(rules []string) []string {
	for i, r := range rules {
		if r == "keys" {
			for j := i; j < len(rules); j++ {
				if rules[j] == "endkeys" {
					return append(rules[:i:i], rules[j+1:]...)
				}
			}
			return nil
		}
	}
	return rules
}

// bound turns a size or value rule into minLength/maxLength (strings, in
// characters as the validator counts), minItems/maxItems (slices, arrays),
// minProperties/maxProperties (maps) or minimum/maximum (numbers).
func bound(s *Schema, t reflect.Type, rule, param string) {
	switch t.Kind() {
	case reflect.String, reflect.Slice, reflect.Array, reflect.Map:
		n, err := strconv.Atoi(param)
		if err != nil || s.Ref != "" {
			return
		}
		var lo, hi **int
		switch {
		case t.Kind() == reflect.String || (t.Kind() == reflect.Slice && s.Type == "string"):
			lo, hi = &s.MinLength, &s.MaxLength
		case t.Kind() == reflect.Map:
			lo, hi = &s.MinProperties, &s.MaxProperties
		default:
			lo, hi = &s.MinItems, &s.MaxItems
		}
		switch rule {
		case "min", "gte":
			*lo = ptr(n)
		case "max", "lte":
			*hi = ptr(n)
		case "gt":
			*lo = ptr(n + 1)
		case "lt":
			*hi = ptr(max(n-1, 0))
		case "len":
			*lo, *hi = ptr(n), ptr(n)
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		f, err := strconv.ParseFloat(param, 64)
		if err != nil {
			return
		}
		switch rule {
		case "min", "gte":
			s.Minimum = ptr(f)
		case "max", "lte":
			s.Maximum = ptr(f)
		case "gt":
			s.ExclusiveMinimum = ptr(f)
		case "lt":
			s.ExclusiveMaximum = ptr(f)
		case "len":
			s.Minimum, s.Maximum = ptr(f), ptr(f)
		}
	}
}

func ptr[T any](v T) *T { return &v }

// describe names a Go type in JSON terms for error messages.
func describe(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t == timeType:
		return "a date-time (RFC 3339)"
	case reflect.PointerTo(t).Implements(textUnmarshal):
		if t.Name() == "UUID" {
			return "a UUID"
		}
		return "a valid value"
	}
	switch t.Kind() {
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "an integer"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a non-negative integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.String:
		return "a string"
	}
	return fmt.Sprintf("a valid %s", strings.ToLower(t.Kind().String()))
}
