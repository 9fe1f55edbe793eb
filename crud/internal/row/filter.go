package row

import (
	"fmt"
	"reflect"
	"unicode/utf8"
)

// MaxInValues bounds the values of an "in" filter built in code.
const MaxInValues = 1000

// FilterValue checks a filter on the field, op being one of crud's
// operators ("eq", "ne", "lt", "lte", "gt", "gte", "in", "contains",
// "prefix", "isnull"), and returns the value to compare with: v converted
// to the field's type; a []any of converted values for "in"; a bool for
// "isnull"; the text for "contains" and "prefix". A refused filter returns
// the reason, shown to clients.
func (f *Field) FilterValue(op string, v any) (any, string) {
	switch op {
	case "isnull":
		b, ok := v.(bool)
		if !ok {
			return nil, "isnull needs true or false"
		}
		return b, ""
	case "contains", "prefix":
		s, ok := v.(string)
		if !ok || s == "" || !f.IsText() {
			return nil, fmt.Sprintf("operator %s needs a non-empty text value on a text field", op)
		}
		if !utf8.ValidString(s) {
			return nil, "must be UTF-8 text"
		}
		return s, ""
	case "in":
		rv := reflect.ValueOf(v)
		if v == nil || (rv.Kind() != reflect.Slice && rv.Kind() != reflect.Array) {
			return nil, "in needs a list of values"
		}
		if rv.Len() == 0 || rv.Len() > MaxInValues {
			return nil, fmt.Sprintf("in needs 1 to %d values", MaxInValues)
		}
		list := make([]any, rv.Len())
		for j := range list {
			x := rv.Index(j).Interface()
			if x == nil {
				return nil, "in values cannot be null"
			}
			cv, err := f.Convert(x)
			if err != nil {
				return nil, "each value " + err.Error()
			}
			list[j] = cv
		}
		return list, ""
	case "eq", "ne", "lt", "lte", "gt", "gte":
		if op != "eq" && op != "ne" && !f.Ordered() {
			return nil, fmt.Sprintf("operator %s not supported on this field", op)
		}
		if v == nil {
			return nil, "value cannot be null; use isnull"
		}
		cv, err := f.Convert(v)
		if err != nil {
			return nil, err.Error()
		}
		return cv, ""
	}
	return nil, "unknown operator"
}

// IsText reports whether the field holds plain text that contains and
// prefix can match: a string kind whose Go type is a string.
func (f *Field) IsText() bool { return f.Kind == KindString && f.Base.Kind() == reflect.String }

// Sortable reports whether a list may sort by the field.
func (f *Field) Sortable() bool { return f.Kind != KindOther }
