package config

import (
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"reflect"
	"strconv"
	"strings"
)

// RedactedText replaces a secret wherever settings are printed.
const RedactedText = "[REDACTED]"

// Redacted returns raw, a URL or DSN, safe to log: the password in its user
// info and query parameters that look secret (password, secret, token, key)
// are replaced by "xxxxx". A value that does not parse as a URL with a scheme
// (a key=value DSN, for instance), or that has an "@" outside its authority
// (user info net/url reads as a path or fragment), is replaced entirely by
// [RedactedText]. An
// empty raw stays empty.
func Redacted(raw string) string {
	if raw == "" {
		return ""
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" || strings.Contains(u.Opaque+u.Path+u.Fragment, "@") {
		// User info outside the authority (in an opaque part, a path
		// or a fragment) would print as it is: hide the whole value.
		return RedactedText
	}
	if u.User != nil {
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), "xxxxx")
		}
	}
	if u.RawQuery != "" {
		q, err := url.ParseQuery(u.RawQuery)
		if err != nil {
			u.RawQuery = RedactedText
		} else {
			changed := false
			for k := range q {
				if secretParam(k) {
					q[k] = []string{"xxxxx"}
					changed = true
				}
			}
			if changed {
				u.RawQuery = q.Encode()
			}
		}
	}
	return u.String()
}

// secretParam reports whether a query parameter name looks like it holds a
// secret.
func secretParam(name string) bool {
	n := strings.ToLower(name)
	for _, w := range []string{"pass", "pwd", "secret", "token", "key", "auth"} {
		if strings.Contains(n, w) {
			return true
		}
	}
	return false
}

// display returns the printable form of field f's value v, secrets redacted.
func display(f field, v reflect.Value) any {
	if f.secret != "" {
		s := v.String()
		switch {
		case s == "":
			return ""
		case f.secret == "url":
			return Redacted(s)
		}
		return RedactedText
	}
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return nil
		}
		v = v.Elem()
	}
	return v.Interface()
}

// settingsFields are the tagged fields of Settings (computed per call: cheap,
// and keeps the package free of mutable globals).
func settingsFields() []field {
	fs, err := fieldsOf(reflect.TypeFor[Settings]())
	if err != nil {
		panic(err) // Settings' own tags are checked by the tests
	}
	return fs
}

// String returns the settings like %+v would, with secrets redacted (the
// password inside DATABASE_URL and REDIS_URL masked). A struct that embeds
// Settings inherits this method, so it prints only the embedded Settings; use
// [Table] to print all of an app's settings.
func (s Settings) String() string {
	var b strings.Builder
	rv := reflect.ValueOf(s)
	b.WriteByte('{')
	for i, f := range settingsFields() {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(f.name)
		b.WriteByte(':')
		if d := display(f, rv.FieldByIndex(f.index)); d == nil {
			b.WriteString("<nil>")
		} else {
			fmt.Fprint(&b, d)
		}
	}
	b.WriteByte('}')
	return b.String()
}

// GoString returns the settings like %#v would, with secrets redacted.
func (s Settings) GoString() string {
	var b strings.Builder
	rv := reflect.ValueOf(s)
	b.WriteString("config.Settings{")
	for i, f := range settingsFields() {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(f.name)
		b.WriteByte(':')
		fv := rv.FieldByIndex(f.index)
		switch d := display(f, fv); {
		case d == nil:
			fmt.Fprintf(&b, "(%s)(nil)", fv.Type())
		case fv.Kind() == reflect.Pointer:
			fmt.Fprintf(&b, "&%#v", d)
		default:
			fmt.Fprintf(&b, "%#v", d)
		}
	}
	b.WriteByte('}')
	return b.String()
}

// Format implements fmt.Formatter so that every verb (%v, %+v, %s, %q, %d,
// %x, ...) prints the redacted [Settings.String], and %#v the redacted
// [Settings.GoString]: no verb reaches the raw secret fields.
func (s Settings) Format(f fmt.State, verb rune) {
	switch {
	case verb == 'v' && f.Flag('#'):
		_, _ = io.WriteString(f, s.GoString())
	case verb == 'q':
		_, _ = io.WriteString(f, strconv.Quote(s.String()))
	default:
		_, _ = io.WriteString(f, s.String())
	}
}

// LogValue implements slog.LogValuer: the settings as a group keyed by field
// name, secrets redacted.
func (s Settings) LogValue() slog.Value {
	fs := settingsFields()
	rv := reflect.ValueOf(s)
	attrs := make([]slog.Attr, 0, len(fs))
	for _, f := range fs {
		attrs = append(attrs, slog.Any(f.name, display(f, rv.FieldByIndex(f.index))))
	}
	return slog.GroupValue(attrs...)
}

var (
	_ fmt.Stringer   = Settings{}
	_ fmt.GoStringer = Settings{}
	_ fmt.Formatter  = Settings{}
	_ slog.LogValuer = Settings{}
)
