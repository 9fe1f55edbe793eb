package config

import (
	"fmt"
	"io"
	"reflect"
	"strings"
)

// Setting describes one setting of a settings struct, for documentation and
// start-up logs.
type Setting struct {
	Var     string // variable name without prefix, e.g. "DATABASE_URL"
	Field   string // Go field path, e.g. "DatabaseURL" or "Settings.DatabaseURL"
	Type    string // "string", "integer", "bool", "duration", "list", ...
	Default string // the `default` tag; empty when there is none
	Doc     string // the `doc` tag
	Secret  bool   // whether the value is redacted when printed
	Value   string // the current value in v, secrets redacted
}

// Table describes every tagged field of v, a settings struct or a pointer to
// one (a [Settings], or an app struct embedding it), in field order. Value
// holds v's current value with secrets redacted, so Table of a loaded struct
// is safe to log in full. It returns an error wrapping [ErrInvalidTarget]
// when v is not a struct or its tags are wrong.
func Table(v any) ([]Setting, error) {
	rv := reflect.ValueOf(v)
	for rv.Kind() == reflect.Pointer && !rv.IsNil() {
		rv = rv.Elem()
	}
	if rv.Kind() != reflect.Struct {
		return nil, fmt.Errorf("%w: Table needs a struct, got %T", ErrInvalidTarget, v)
	}
	fs, err := fieldsOf(rv.Type())
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidTarget, err)
	}
	out := make([]Setting, len(fs))
	for i, f := range fs {
		val := ""
		if d := display(f, rv.FieldByIndex(f.index)); d != nil {
			val = fmt.Sprint(d)
			if l, ok := d.([]string); ok {
				val = strings.Join(l, ",")
			}
		}
		out[i] = Setting{
			Var: f.env, Field: f.name, Type: typeName(f.typ), Default: f.def, Doc: f.doc,
			Secret: f.secret != "", Value: val,
		}
	}
	return out, nil
}

// WriteMarkdown writes the settings table of v (see [Table]) as a Markdown
// table with the columns variable, type, default and meaning.
func WriteMarkdown(w io.Writer, v any) error {
	rows, err := Table(v)
	if err != nil {
		return err
	}
	var b strings.Builder
	b.WriteString("| Variable | Type | Default | Meaning |\n| --- | --- | --- | --- |\n")
	for _, r := range rows {
		def := "—"
		if r.Default != "" {
			def = "`" + r.Default + "`"
		}
		doc := r.Doc
		if r.Secret {
			doc += " (secret: never printed)"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", r.Var, r.Type, def, strings.ReplaceAll(doc, "|", `\|`))
	}
	_, err = io.WriteString(w, b.String())
	return err
}
