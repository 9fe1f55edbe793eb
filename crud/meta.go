package crud

import (
	"database/sql"
	"database/sql/driver"
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// kind is how a column's Go type is compared, parsed and filtered.
type kind uint8

const (
	kindOther kind = iota
	kindInt
	kindUint
	kindFloat
	kindString
	kindBool
	kindTime
)

// field describes one column of a struct.
type field struct {
	column   string
	quoted   string // the column as a quoted identifier
	index    []int
	typ      reflect.Type // declared type
	base     reflect.Type // typ without the pointer
	nullable bool         // pointer or sql.Null*-like scanner
	kind     kind
}

// structInfo is the column layout of a struct type, computed once per type.
type structInfo struct {
	fields []field
	byCol  map[string]int
}

// structCache maps reflect.Type to *structInfo. It only ever caches facts
// derived from types, so it is not configuration.
var structCache sync.Map

var (
	timeType    = reflect.TypeFor[time.Time]()
	scannerType = reflect.TypeFor[sql.Scanner]()
	valuerType  = reflect.TypeFor[driver.Valuer]()
	textUnmType = reflect.TypeFor[encoding.TextUnmarshaler]()
)

func infoOf(t reflect.Type) (*structInfo, error) {
	if v, ok := structCache.Load(t); ok {
		return v.(*structInfo), nil
	}
	if t.Kind() != reflect.Struct {
		return nil, fmt.Errorf("crud: %v is not a struct", t)
	}
	si := &structInfo{byCol: map[string]int{}}
	if err := si.walk(t, nil); err != nil {
		return nil, err
	}
	v, _ := structCache.LoadOrStore(t, si)
	return v.(*structInfo), nil
}

func (si *structInfo) walk(t reflect.Type, prefix []int) error {
	for i := range t.NumField() {
		sf := t.Field(i)
		tag, hasTag := sf.Tag.Lookup("db")
		name, _, _ := strings.Cut(tag, ",")
		if name == "-" {
			continue
		}
		idx := append(append([]int(nil), prefix...), i)
		if sf.Anonymous && !hasTag && sf.Type.Kind() == reflect.Struct && sf.Type != timeType {
			if err := si.walk(sf.Type, idx); err != nil {
				return err
			}
			continue
		}
		if !sf.IsExported() {
			continue
		}
		if name == "" {
			name = strings.ToLower(sf.Name) // sqlx's default name mapper
		}
		if _, dup := si.byCol[name]; dup {
			return fmt.Errorf("crud: %v: column %q is mapped twice", t, name)
		}
		f := field{column: name, quoted: quoteIdent(name), index: idx, typ: sf.Type, base: sf.Type}
		if sf.Type.Kind() == reflect.Pointer {
			f.base = sf.Type.Elem()
			f.nullable = true
		} else if reflect.PointerTo(sf.Type).Implements(scannerType) && sf.Type.Kind() == reflect.Struct &&
			sf.Type != timeType && strings.HasPrefix(sf.Type.Name(), "Null") {
			f.nullable = true // sql.NullString and friends
		}
		f.kind = kindOf(f.base)
		si.byCol[name] = len(si.fields)
		si.fields = append(si.fields, f)
	}
	return nil
}

func kindOf(t reflect.Type) kind {
	if t == timeType {
		return kindTime
	}
	if t.Implements(valuerType) || reflect.PointerTo(t).Implements(scannerType) {
		if t.Kind() == reflect.String {
			return kindString
		}
		return kindOther
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return kindInt
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return kindUint
	case reflect.Float32, reflect.Float64:
		return kindFloat
	case reflect.String:
		return kindString
	case reflect.Bool:
		return kindBool
	}
	return kindOther
}

// ordered reports whether lt/lte/gt/gte make sense for the field.
func (f *field) ordered() bool {
	switch f.kind {
	case kindInt, kindUint, kindFloat, kindString, kindTime:
		return true
	}
	return false
}

// convert turns v into a value of the field's base type, ready to bind.
// Strings are parsed (integers, floats, booleans, RFC 3339 times,
// TextUnmarshalers such as uuid.UUID), json.RawMessage is decoded, Go values
// are converted when the conversion is lossless. Text that is not UTF-8 is
// refused. Times become UTC with microsecond precision, the precision
// PostgreSQL keeps.
func (f *field) convert(v any) (any, error) {
	if raw, ok := v.(json.RawMessage); ok {
		p := reflect.New(f.base)
		if err := json.Unmarshal(raw, p.Interface()); err != nil {
			return nil, fmt.Errorf("must be %s", f.describe())
		}
		return normalize(p.Elem().Interface()), nil
	}
	if s, ok := v.(string); ok && !utf8.ValidString(s) {
		return nil, errors.New("must be UTF-8 text") // PostgreSQL refuses it with a 500 otherwise
	}
	if reflect.TypeOf(v) == f.base && f.kind != kindTime {
		return v, nil // the common case: no conversion, no allocation
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() == reflect.Pointer && !rv.IsNil() && rv.Type().Elem() == f.base {
		rv = rv.Elem()
	}
	if rv.Type() == f.base {
		return normalize(rv.Interface()), nil
	}
	if s, ok := v.(string); ok {
		return f.parse(s)
	}
	switch f.kind {
	case kindInt:
		switch {
		case rv.CanInt():
			out := reflect.New(f.base).Elem()
			if out.OverflowInt(rv.Int()) {
				break
			}
			out.SetInt(rv.Int())
			return out.Interface(), nil
		case rv.CanUint() && rv.Uint() <= 1<<63-1:
			out := reflect.New(f.base).Elem()
			if out.OverflowInt(int64(rv.Uint())) {
				break
			}
			out.SetInt(int64(rv.Uint()))
			return out.Interface(), nil
		case rv.CanFloat() && rv.Float() == float64(int64(rv.Float())):
			out := reflect.New(f.base).Elem()
			if out.OverflowInt(int64(rv.Float())) {
				break
			}
			out.SetInt(int64(rv.Float()))
			return out.Interface(), nil
		}
	case kindUint:
		if rv.CanUint() || (rv.CanInt() && rv.Int() >= 0) {
			u := uint64(0)
			if rv.CanUint() {
				u = rv.Uint()
			} else {
				u = uint64(rv.Int())
			}
			out := reflect.New(f.base).Elem()
			if !out.OverflowUint(u) {
				out.SetUint(u)
				return out.Interface(), nil
			}
		}
	case kindFloat:
		switch {
		case rv.CanFloat():
			return rv.Convert(f.base).Interface(), nil
		case rv.CanInt():
			return reflect.ValueOf(float64(rv.Int())).Convert(f.base).Interface(), nil
		}
	default:
		if rv.Type().ConvertibleTo(f.base) && rv.Kind() == f.base.Kind() {
			return normalize(rv.Convert(f.base).Interface()), nil
		}
	}
	return nil, fmt.Errorf("must be %s", f.describe())
}

// parse parses a query-string value for the field.
func (f *field) parse(s string) (any, error) {
	out := reflect.New(f.base).Elem()
	switch f.kind {
	case kindInt:
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || out.OverflowInt(n) {
			return nil, fmt.Errorf("must be %s", f.describe())
		}
		out.SetInt(n)
	case kindUint:
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil || out.OverflowUint(n) {
			return nil, fmt.Errorf("must be %s", f.describe())
		}
		out.SetUint(n)
	case kindFloat:
		x, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsNaN(x) || math.IsInf(x, 0) || out.OverflowFloat(x) {
			return nil, fmt.Errorf("must be %s", f.describe())
		}
		out.SetFloat(x)
	case kindBool:
		b, err := parseBool(s)
		if err != nil {
			return nil, fmt.Errorf("must be %s", f.describe())
		}
		out.SetBool(b)
	case kindTime:
		tm, err := parseTime(s)
		if err != nil {
			return nil, fmt.Errorf("must be %s", f.describe())
		}
		return normalize(tm), nil
	case kindString:
		if f.base.Kind() == reflect.String && !reflect.PointerTo(f.base).Implements(textUnmType) {
			if !utf8.ValidString(s) {
				return nil, errors.New("must be UTF-8 text")
			}
			out.SetString(s)
			return out.Interface(), nil
		}
		fallthrough
	default:
		if reflect.PointerTo(f.base).Implements(textUnmType) {
			if err := out.Addr().Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(s)); err != nil {
				return nil, fmt.Errorf("must be %s", f.describe())
			}
			return out.Interface(), nil
		}
		return nil, fmt.Errorf("cannot be given as text")
	}
	return out.Interface(), nil
}

func (f *field) describe() string {
	switch f.kind {
	case kindInt, kindUint:
		return "an integer"
	case kindFloat:
		return "a finite number"
	case kindBool:
		return "true or false"
	case kindTime:
		return "an RFC 3339 time"
	case kindString:
		return "a string"
	}
	return "a valid " + f.base.String()
}

// parseBool accepts true/false and 1/0.
func parseBool(s string) (bool, error) {
	switch s {
	case "true", "1":
		return true, nil
	case "false", "0":
		return false, nil
	}
	return false, fmt.Errorf("not a boolean")
}

// normalize puts times in UTC with microsecond precision.
func normalize(v any) any {
	if t, ok := v.(time.Time); ok {
		return t.UTC().Truncate(time.Microsecond)
	}
	return v
}
