package config

import (
	"encoding"
	"fmt"
	"reflect"
	"strings"
	"time"
)

// field is one tagged leaf of a settings struct.
type field struct {
	name   string // Go field path, e.g. "Settings.DatabaseURL"
	env    string // variable name without prefix, e.g. "DATABASE_URL"
	def    string // default tag
	hasDef bool   // whether a default tag is present
	doc    string // doc tag
	secret string // "", "true" or "url"
	index  []int  // reflect field index path from the root struct
	typ    reflect.Type
}

var (
	durationType        = reflect.TypeFor[time.Duration]()
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// fieldsOf lists the tagged fields of struct type t, descending into embedded
// (anonymous) structs. It reports programming errors: duplicate variable
// names, unsupported types and embedded pointers.
func fieldsOf(t reflect.Type) ([]field, error) {
	var out []field
	seen := map[string]string{}
	var walk func(t reflect.Type, index []int, path string) error
	walk = func(t reflect.Type, index []int, path string) error {
		for i := range t.NumField() {
			sf := t.Field(i)
			idx := append(append([]int(nil), index...), i)
			name := path + sf.Name
			env, tagged := sf.Tag.Lookup("env")
			if !tagged {
				if sf.Anonymous {
					if sf.Type.Kind() == reflect.Pointer {
						return fmt.Errorf("config: embedded pointer %s is not supported; embed the struct", name)
					}
					if sf.Type.Kind() == reflect.Struct {
						if err := walk(sf.Type, idx, name+"."); err != nil {
							return err
						}
					}
				}
				continue
			}
			if !sf.IsExported() {
				return fmt.Errorf("config: field %s has an env tag but is not exported", name)
			}
			if env == "" || env == "-" {
				continue
			}
			if strings.ContainsAny(env, ". =") {
				return fmt.Errorf("config: field %s: variable name %q must not contain '.', ' ' or '='", name, env)
			}
			if prev, ok := seen[env]; ok {
				return fmt.Errorf("config: variable %s is used by both %s and %s", env, prev, name)
			}
			seen[env] = name
			if !supported(sf.Type) {
				return fmt.Errorf("config: field %s has unsupported type %s", name, sf.Type)
			}
			def, hasDef := sf.Tag.Lookup("default")
			secret := sf.Tag.Get("secret")
			switch secret {
			case "", "true", "url":
			default:
				return fmt.Errorf("config: field %s: secret tag must be \"true\" or \"url\", not %q", name, secret)
			}
			out = append(out, field{
				name: name, env: env, def: def, hasDef: hasDef, doc: sf.Tag.Get("doc"),
				secret: secret, index: idx, typ: sf.Type,
			})
		}
		return nil
	}
	if err := walk(t, nil, ""); err != nil {
		return nil, err
	}
	return out, nil
}

// supported reports whether Load can decode into a field of type t.
func supported(t reflect.Type) bool {
	if reflect.PointerTo(t).Implements(textUnmarshalerType) {
		return true
	}
	switch t.Kind() {
	case reflect.String, reflect.Bool,
		reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		return true
	case reflect.Slice:
		return t.Elem().Kind() == reflect.String
	case reflect.Pointer:
		return t.Elem().Kind() != reflect.Pointer && supported(t.Elem())
	}
	return false
}

// typeName is the human type name shown in the settings table.
func typeName(t reflect.Type) string {
	switch {
	case t == durationType:
		return "duration"
	case t.Kind() == reflect.Pointer:
		return typeName(t.Elem()) + " (optional)"
	case reflect.PointerTo(t).Implements(textUnmarshalerType):
		return "text"
	case t.Kind() == reflect.Slice:
		return "list"
	case t.Kind() == reflect.Bool:
		return "bool"
	case t.Kind() == reflect.String:
		return "string"
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Uint64:
		return "integer"
	case t.Kind() == reflect.Float32 || t.Kind() == reflect.Float64:
		return "number"
	}
	return strings.ToLower(t.Kind().String())
}
