// Package row is the engine that crud.Repository and crudtest.MemStore
// share: the column layout of a struct (db tags), the conversion of values
// (Go values, query-string text, JSON) into a column's type, the checks of
// a filter's operator and value, and the HMAC-signed list cursors. The two
// stores differ only where storage differs (SQL or a slice), so their
// validation, messages and cursors cannot drift apart.
package row

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

	"github.com/gantry-dev/gantry/internal/boolstr"
)

// Kind is how a column's Go type is compared, parsed and filtered.
type Kind uint8

const (
	KindOther Kind = iota
	KindInt
	KindUint
	KindFloat
	KindString
	KindBool
	KindTime
)

// Field describes one column of a struct.
type Field struct {
	Column   string
	Quoted   string // the column as a quoted identifier ("name", quotes doubled)
	Index    []int
	Type     reflect.Type // declared type
	Base     reflect.Type // Type without the pointer
	Nullable bool         // pointer or sql.Null*-like scanner
	Kind     Kind
}

// Info is the column layout of a struct type, computed once per type.
type Info struct {
	Fields []Field
	ByCol  map[string]int // column name to index in Fields
}

// structCache maps reflect.Type to *Info. It only ever caches facts
// derived from types, so it is not configuration.
var structCache sync.Map

var (
	// TimeType is the reflect.Type of time.Time.
	TimeType    = reflect.TypeFor[time.Time]()
	scannerType = reflect.TypeFor[sql.Scanner]()
	valuerType  = reflect.TypeFor[driver.Valuer]()
	textUnmType = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// InfoOf returns the layout of the struct type t: one Field per exported
// field (embedded structs flattened), named by its db tag or its lower-cased
// name; "-" skips a field. It fails when t is not a struct or maps a
// column twice.
func InfoOf(t reflect.Type) (*Info, error) {
	if v, ok := structCache.Load(t); ok {
		return v.(*Info), nil
	}
	if t.Kind() != reflect.Struct {
		return nil, fmt.Errorf("crud: %v is not a struct", t)
	}
	si := &Info{ByCol: map[string]int{}}
	if err := si.walk(t, nil); err != nil {
		return nil, err
	}
	v, _ := structCache.LoadOrStore(t, si)
	return v.(*Info), nil
}

func (si *Info) walk(t reflect.Type, prefix []int) error {
	for i := range t.NumField() {
		sf := t.Field(i)
		tag, hasTag := sf.Tag.Lookup("db")
		name, _, _ := strings.Cut(tag, ",")
		if name == "-" {
			continue
		}
		idx := append(append([]int(nil), prefix...), i)
		if sf.Anonymous && !hasTag && sf.Type.Kind() == reflect.Struct && sf.Type != TimeType {
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
		if _, dup := si.ByCol[name]; dup {
			return fmt.Errorf("crud: %v: column %q is mapped twice", t, name)
		}
		f := Field{Column: name, Quoted: QuoteIdent(name), Index: idx, Type: sf.Type, Base: sf.Type}
		if sf.Type.Kind() == reflect.Pointer {
			f.Base = sf.Type.Elem()
			f.Nullable = true
		} else if reflect.PointerTo(sf.Type).Implements(scannerType) && sf.Type.Kind() == reflect.Struct &&
			sf.Type != TimeType && strings.HasPrefix(sf.Type.Name(), "Null") {
			f.Nullable = true // sql.NullString and friends
		}
		f.Kind = kindOf(f.Base)
		si.ByCol[name] = len(si.Fields)
		si.Fields = append(si.Fields, f)
	}
	return nil
}

func kindOf(t reflect.Type) Kind {
	if t == TimeType {
		return KindTime
	}
	if t.Implements(valuerType) || reflect.PointerTo(t).Implements(scannerType) {
		if t.Kind() == reflect.String {
			return KindString
		}
		return KindOther
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return KindInt
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return KindUint
	case reflect.Float32, reflect.Float64:
		return KindFloat
	case reflect.String:
		return KindString
	case reflect.Bool:
		return KindBool
	}
	return KindOther
}

// Ordered reports whether lt/lte/gt/gte make sense for the field.
func (f *Field) Ordered() bool {
	switch f.Kind {
	case KindInt, KindUint, KindFloat, KindString, KindTime:
		return true
	}
	return false
}

// Convert turns v into a value of the field's base type, ready to bind.
// Strings are parsed (integers, floats, booleans, RFC 3339 times,
// TextUnmarshalers such as uuid.UUID), json.RawMessage is decoded, Go values
// are converted when the conversion is lossless. Text that is not UTF-8 is
// refused. Times become UTC with microsecond precision, the precision
// PostgreSQL keeps.
func (f *Field) Convert(v any) (any, error) {
	if raw, ok := v.(json.RawMessage); ok {
		p := reflect.New(f.Base)
		if err := json.Unmarshal(raw, p.Interface()); err != nil {
			return nil, fmt.Errorf("must be %s", f.Describe())
		}
		return Normalize(p.Elem().Interface()), nil
	}
	if s, ok := v.(string); ok && !utf8.ValidString(s) {
		return nil, errors.New("must be UTF-8 text") // PostgreSQL refuses it with a 500 otherwise
	}
	if reflect.TypeOf(v) == f.Base && f.Kind != KindTime {
		return v, nil // the common case: no conversion, no allocation
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() == reflect.Pointer && !rv.IsNil() && rv.Type().Elem() == f.Base {
		rv = rv.Elem()
	}
	if rv.Type() == f.Base {
		return Normalize(rv.Interface()), nil
	}
	if s, ok := v.(string); ok {
		return f.Parse(s)
	}
	switch f.Kind {
	case KindInt:
		switch {
		case rv.CanInt():
			out := reflect.New(f.Base).Elem()
			if out.OverflowInt(rv.Int()) {
				break
			}
			out.SetInt(rv.Int())
			return out.Interface(), nil
		case rv.CanUint() && rv.Uint() <= 1<<63-1:
			out := reflect.New(f.Base).Elem()
			if out.OverflowInt(int64(rv.Uint())) {
				break
			}
			out.SetInt(int64(rv.Uint()))
			return out.Interface(), nil
		case rv.CanFloat() && rv.Float() == float64(int64(rv.Float())):
			out := reflect.New(f.Base).Elem()
			if out.OverflowInt(int64(rv.Float())) {
				break
			}
			out.SetInt(int64(rv.Float()))
			return out.Interface(), nil
		}
	case KindUint:
		if rv.CanUint() || (rv.CanInt() && rv.Int() >= 0) {
			u := uint64(0)
			if rv.CanUint() {
				u = rv.Uint()
			} else {
				u = uint64(rv.Int())
			}
			out := reflect.New(f.Base).Elem()
			if !out.OverflowUint(u) {
				out.SetUint(u)
				return out.Interface(), nil
			}
		}
	case KindFloat:
		switch {
		case rv.CanFloat():
			return rv.Convert(f.Base).Interface(), nil
		case rv.CanInt():
			return reflect.ValueOf(float64(rv.Int())).Convert(f.Base).Interface(), nil
		}
	default:
		if rv.Type().ConvertibleTo(f.Base) && rv.Kind() == f.Base.Kind() {
			return Normalize(rv.Convert(f.Base).Interface()), nil
		}
	}
	return nil, fmt.Errorf("must be %s", f.Describe())
}

// Parse parses a query-string value for the field.
func (f *Field) Parse(s string) (any, error) {
	out := reflect.New(f.Base).Elem()
	switch f.Kind {
	case KindInt:
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || out.OverflowInt(n) {
			return nil, fmt.Errorf("must be %s", f.Describe())
		}
		out.SetInt(n)
	case KindUint:
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil || out.OverflowUint(n) {
			return nil, fmt.Errorf("must be %s", f.Describe())
		}
		out.SetUint(n)
	case KindFloat:
		x, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsNaN(x) || math.IsInf(x, 0) || out.OverflowFloat(x) {
			return nil, fmt.Errorf("must be %s", f.Describe())
		}
		out.SetFloat(x)
	case KindBool:
		b, err := ParseBool(s)
		if err != nil {
			return nil, fmt.Errorf("must be %s", f.Describe())
		}
		out.SetBool(b)
	case KindTime:
		tm, err := ParseTime(s)
		if err != nil {
			return nil, fmt.Errorf("must be %s", f.Describe())
		}
		return Normalize(tm), nil
	case KindString:
		if f.Base.Kind() == reflect.String && !reflect.PointerTo(f.Base).Implements(textUnmType) {
			if !utf8.ValidString(s) {
				return nil, errors.New("must be UTF-8 text")
			}
			out.SetString(s)
			return out.Interface(), nil
		}
		fallthrough
	default:
		if reflect.PointerTo(f.Base).Implements(textUnmType) {
			if err := out.Addr().Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(s)); err != nil {
				return nil, fmt.Errorf("must be %s", f.Describe())
			}
			return out.Interface(), nil
		}
		return nil, fmt.Errorf("cannot be given as text")
	}
	return out.Interface(), nil
}

// Describe names the values the field accepts, for error messages: "an
// integer", "true or false", "an RFC 3339 time"...
func (f *Field) Describe() string {
	switch f.Kind {
	case KindInt, KindUint:
		return "an integer"
	case KindFloat:
		return "a finite number"
	case KindBool:
		return "true or false"
	case KindTime:
		return "an RFC 3339 time"
	case KindString:
		return "a string"
	}
	return "a valid " + f.Base.String()
}

// ParseBool accepts true/false, t/f, yes/no, y/n, on/off and 1/0 in any
// ASCII case: the grammar of internal/boolstr, which config and openapi's
// typed parameters share, so ?published=yes means true on every route.
func ParseBool(s string) (bool, error) {
	if b, ok := boolstr.Parse(s); ok {
		return b, nil
	}
	return false, errors.New("not a boolean")
}

// Normalize puts times in UTC with microsecond precision.
func Normalize(v any) any {
	if t, ok := v.(time.Time); ok {
		return t.UTC().Truncate(time.Microsecond)
	}
	return v
}

// ParseTime parses an RFC 3339 time whose UTC year is 0 to 9999, so that
// it can be written back as RFC 3339.
func ParseTime(s string) (time.Time, error) {
	tm, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, err
	}
	if y := tm.UTC().Year(); y < 0 || y > 9999 {
		return time.Time{}, errors.New("year out of range")
	}
	return tm, nil
}

// QuoteIdent quotes an identifier for PostgreSQL and SQLite ("name", with
// embedded quotes doubled).
func QuoteIdent(s string) string {
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}
