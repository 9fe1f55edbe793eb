package config

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/gantry-dev/gantry/internal/boolstr"
)

// decode sets dst from raw, a value from viper: a string (default, .env,
// environment) or whatever the config file held (numbers, bools, lists). An
// empty value of a number, duration or boolean means its default, def. On
// failure it returns the reason phrase shown in a [FieldError].
func decode(dst reflect.Value, raw any, def string) (reason string) {
	t := dst.Type()
	if raw == nil {
		dst.SetZero()
		return ""
	}
	if t.Kind() == reflect.Slice && !reflect.PointerTo(t).Implements(textUnmarshalerType) {
		list, ok := toList(raw)
		if !ok {
			return "is not a list (use a,b,c or a JSON array of strings)"
		}
		if len(list) == 0 {
			dst.SetZero()
			return ""
		}
		dst.Set(reflect.ValueOf(list).Convert(t))
		return ""
	}
	s, ok := toScalar(raw)
	if !ok {
		return "is a list or table, not a single value"
	}
	s = strings.TrimSpace(s)
	if t.Kind() == reflect.Pointer {
		if s == "" {
			dst.SetZero()
			return ""
		}
		p := reflect.New(t.Elem())
		if r := decodeScalar(p.Elem(), s); r != "" {
			return r
		}
		dst.Set(p)
		return ""
	}
	if s == "" && t.Kind() != reflect.String {
		if def == "" {
			dst.SetZero()
			return ""
		}
		s = def
	}
	return decodeScalar(dst, s)
}

// decodeScalar parses s into dst, which is not a pointer or a list.
func decodeScalar(dst reflect.Value, s string) string {
	t := dst.Type()
	if tu, ok := dst.Addr().Interface().(interface{ UnmarshalText([]byte) error }); ok {
		if err := tu.UnmarshalText([]byte(s)); err != nil {
			return "is not valid: " + err.Error()
		}
		return ""
	}
	switch {
	case t == durationType:
		d, err := parseDuration(s)
		if err != nil {
			return "is not a duration (use 90s, 1m30s or whole seconds)"
		}
		dst.SetInt(int64(d))
	case t.Kind() == reflect.String:
		dst.SetString(s)
	case t.Kind() == reflect.Bool:
		b, ok := parseBool(s)
		if !ok {
			return "is not a boolean (use true or false)"
		}
		dst.SetBool(b)
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Int64:
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return numberReason(s, err)
		}
		if dst.OverflowInt(n) {
			return "is out of range"
		}
		dst.SetInt(n)
	case t.Kind() >= reflect.Uint && t.Kind() <= reflect.Uint64:
		if strings.HasPrefix(s, "-") {
			return "must not be negative"
		}
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return numberReason(s, err)
		}
		if dst.OverflowUint(n) {
			return "is out of range"
		}
		dst.SetUint(n)
	case t.Kind() == reflect.Float32 || t.Kind() == reflect.Float64:
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return "is not a number"
		}
		if dst.OverflowFloat(f) {
			return "is out of range"
		}
		dst.SetFloat(f)
	default:
		return "has an unsupported type " + t.String()
	}
	return ""
}

func numberReason(s string, err error) string {
	if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
		return "is out of range"
	}
	if _, ferr := strconv.ParseFloat(s, 64); ferr == nil {
		return "is not a whole number"
	}
	return "is not a number"
}

// parseDuration accepts Go duration syntax (90s, 1m30s) and bare integers,
// which are seconds (the seed's RATE_LIMIT_WINDOW=60).
func parseDuration(s string) (time.Duration, error) {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		if n > math.MaxInt64/int64(time.Second) || n < math.MinInt64/int64(time.Second) {
			return 0, fmt.Errorf("duration %q out of range", s)
		}
		return time.Duration(n) * time.Second, nil
	}
	return time.ParseDuration(s)
}

// parseBool accepts true/false, t/f, yes/no, y/n, on/off and 1/0 in any
// ASCII case: the grammar of internal/boolstr, shared with crud's filters
// and openapi's typed parameters.
func parseBool(s string) (value, ok bool) { return boolstr.Parse(s) }

// parseList accepts "a,b,c" and a JSON array of strings. Items are trimmed;
// empty items are dropped.
func parseList(s string) ([]string, bool) {
	s = strings.TrimSpace(s)
	var items []string
	if strings.HasPrefix(s, "[") {
		if err := json.Unmarshal([]byte(s), &items); err != nil {
			return nil, false
		}
	} else {
		items = strings.Split(s, ",")
	}
	out := items[:0]
	for _, it := range items {
		if it = strings.TrimSpace(it); it != "" {
			out = append(out, it)
		}
	}
	return out, true
}

// toList converts a raw viper value to a list of strings.
func toList(raw any) ([]string, bool) {
	switch v := raw.(type) {
	case string:
		return parseList(v)
	case []string:
		return parseList(strings.Join(v, ","))
	case []any:
		out := make([]string, 0, len(v))
		for _, it := range v {
			s, ok := toScalar(it)
			if !ok {
				return nil, false
			}
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
		return out, true
	}
	if s, ok := toScalar(raw); ok {
		return parseList(s)
	}
	return nil, false
}

// toScalar converts a raw viper value to its string form; lists and maps are
// refused.
func toScalar(raw any) (string, bool) {
	switch v := raw.(type) {
	case string:
		return v, true
	case bool:
		return strconv.FormatBool(v), true
	case int:
		return strconv.Itoa(v), true
	case int64:
		return strconv.FormatInt(v, 10), true
	case int32:
		return strconv.FormatInt(int64(v), 10), true
	case uint64:
		return strconv.FormatUint(v, 10), true
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64), true
	case float32:
		return strconv.FormatFloat(float64(v), 'f', -1, 32), true
	case time.Duration:
		return v.String(), true
	case time.Time:
		return v.Format(time.RFC3339Nano), true
	case []any, []string, map[string]any, map[any]any:
		return "", false
	}
	return fmt.Sprint(raw), true
}

// rawString is the offending value as shown in an error message.
func rawString(raw any) string {
	if s, ok := toScalar(raw); ok {
		return s
	}
	b, err := json.Marshal(raw)
	if err != nil {
		return fmt.Sprint(raw)
	}
	return string(b)
}
