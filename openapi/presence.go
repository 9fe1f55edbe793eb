package openapi

import (
	"bytes"
	"encoding/json"
	"io"
	"reflect"
	"strconv"
	"strings"
	"sync"

	"github.com/gantry-dev/gantry/server"
)

// presencePlan is what the schema of a body type says that encoding/json
// does not enforce: which properties must be present and which may not be
// null, for the type's properties and those of nested objects and lists
// of objects. It is built once per route.
type presencePlan struct {
	list   bool // the value is an array whose items follow items
	items  *presencePlan
	fields []presenceField
}

type presenceField struct {
	name               string
	required, nullable bool
	sub                *presencePlan // nested object or list; nil: nothing to check
}

// newPresencePlan returns the plan of type t, or nil when there is
// nothing to check (a type that decodes itself, a scalar).
func newPresencePlan(t reflect.Type, depth int) *presencePlan {
	t = derefType(t)
	if depth > 16 || !selfDescribed(t) {
		return nil
	}
	switch t.Kind() {
	case reflect.Slice, reflect.Array:
		if items := newPresencePlan(t.Elem(), depth+1); items != nil {
			return &presencePlan{list: true, items: items}
		}
		return nil
	case reflect.Struct:
	default:
		return nil
	}
	p := &presencePlan{}
	for _, f := range jsonFields(t) {
		required, nullable := presence(f.typ, ruleRequired(f.tag.Get("validate")), f.omitEmpty)
		pf := presenceField{name: f.name, required: required, nullable: nullable || acceptsNull(f.typ), sub: newPresencePlan(f.typ, depth+1)}
		p.fields = append(p.fields, pf)
	}
	return p
}

// check appends to out a detail for each property of the JSON value raw
// that breaks the plan: "required" when missing, "not_null" when null
// where the schema does not allow it. raw was decoded already, so it is
// valid JSON; what is not the expected object or array is left alone.
func (p *presencePlan) check(raw []byte, prefix string, out []server.FieldError) []server.FieldError {
	if p.list {
		it := scanner{b: raw}
		if !it.open('[') {
			return out
		}
		for i := 0; it.nextElement(); i++ {
			out = p.items.check(it.val, prefix+"["+strconv.Itoa(i)+"]", out)
		}
		return out
	}
	it := scanner{b: raw}
	if !it.open('{') {
		return out
	}
	var seenBits uint64
	var seenMore []bool // past 64 fields
	if len(p.fields) > 64 {
		seenMore = make([]bool, len(p.fields))
	}
	for it.nextMember() {
		for i := range p.fields {
			f := &p.fields[i]
			if !keyIs(it.key, f.name) {
				continue
			}
			if i < 64 {
				seenBits |= 1 << i
			} else {
				seenMore[i] = true
			}
			if isNull(it.val) {
				if !f.nullable {
					out = append(out, server.FieldError{Field: join(prefix, f.name), Rule: "not_null", Message: "must not be null"})
				}
			} else if f.sub != nil {
				out = f.sub.check(it.val, join(prefix, f.name), out)
			}
			break
		}
	}
	for i := range p.fields {
		seen := (i < 64 && seenBits&(1<<i) != 0) || (i >= 64 && seenMore[i])
		if f := &p.fields[i]; f.required && !seen {
			out = append(out, server.FieldError{Field: join(prefix, f.name), Rule: "required", Message: "is required"})
		}
	}
	return out
}

func join(prefix, name string) string {
	if prefix == "" {
		return name
	}
	return prefix + "." + name
}

// keyIs reports whether the raw JSON string content key names name.
func keyIs(key []byte, name string) bool {
	if bytes.IndexByte(key, '\\') < 0 {
		return string(key) == name
	}
	var s string
	return json.Unmarshal(append(append([]byte{'"'}, key...), '"'), &s) == nil && s == name
}

func isNull(v []byte) bool { return string(v) == "null" }

// selfDescribed reports whether t's JSON form is the one reflection
// describes (not a type with its own UnmarshalJSON or schema).
func selfDescribed(t reflect.Type) bool {
	p := reflect.PointerTo(t)
	return t != timeType && !p.Implements(jsonUnmarshaler) && !p.Implements(textUnmarshal) &&
		!p.Implements(providerType) && !t.Implements(providerType)
}

// acceptsNull reports whether the schema of t, whatever the field, takes
// null: any value (an interface, a type that decodes itself).
func acceptsNull(t reflect.Type) bool {
	t = derefType(t)
	return t.Kind() == reflect.Interface || !selfDescribed(t)
}

// ruleRequired reports a required rule before any dive.
func ruleRequired(tag string) bool {
	for r := range strings.SplitSeq(tag, ",") {
		if r == "dive" {
			return false
		}
		if r == "required" {
			return true
		}
	}
	return false
}

// ---- a scanner over JSON already known to be valid ----

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index after the string that starts at b[i] ('"').
func skipString(b []byte, i int) int {
	for i++; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return len(b)
}

// skipValue returns the index after the value that starts at b[i].
func skipValue(b []byte, i int) int {
	if i >= len(b) {
		return len(b)
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for i < len(b) {
			switch b[i] {
			case '"':
				i = skipString(b, i)
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return len(b)
	}
	for i < len(b) && !strings.ContainsRune(",}] \t\r\n", rune(b[i])) {
		i++
	}
	return i
}

// scanner walks the members of an object or the elements of an array.
type scanner struct {
	b        []byte
	i        int
	first    bool
	key, val []byte
}

// open steps into the object ('{') or array ('[') b holds; false if it
// holds something else.
func (s *scanner) open(c byte) bool {
	s.i = skipSpace(s.b, 0)
	if s.i >= len(s.b) || s.b[s.i] != c {
		return false
	}
	s.i++
	s.first = true
	return true
}

// more steps over the comma before every member or element but the first;
// false at the end.
func (s *scanner) more() bool {
	s.i = skipSpace(s.b, s.i)
	if !s.first {
		if s.i >= len(s.b) || s.b[s.i] != ',' {
			return false
		}
		s.i = skipSpace(s.b, s.i+1)
	}
	s.first = false
	return s.i < len(s.b) && s.b[s.i] != '}' && s.b[s.i] != ']'
}

// nextMember reads the next member into key (the raw string content) and val.
func (s *scanner) nextMember() bool {
	if !s.more() || s.b[s.i] != '"' {
		return false
	}
	end := skipString(s.b, s.i)
	s.key = s.b[s.i+1 : max(end-1, s.i+1)]
	s.i = skipSpace(s.b, end)
	if s.i >= len(s.b) || s.b[s.i] != ':' {
		return false
	}
	s.i = skipSpace(s.b, s.i+1)
	vend := skipValue(s.b, s.i)
	s.val = s.b[s.i:vend]
	s.i = vend
	return true
}

// nextElement reads the next element into val.
func (s *scanner) nextElement() bool {
	if !s.more() {
		return false
	}
	vend := skipValue(s.b, s.i)
	s.val = s.b[s.i:vend]
	s.i = vend
	return true
}

// teeBody reads a request body while keeping a copy in buf.
type teeBody struct {
	rc  io.ReadCloser
	buf bytes.Buffer
}

func (t *teeBody) Read(p []byte) (int, error) {
	n, err := t.rc.Read(p)
	t.buf.Write(p[:n])
	return n, err
}

func (t *teeBody) Close() error { return t.rc.Close() }

// teePool keeps one route's teeBody values.
type teePool struct{ p sync.Pool }

func (tp *teePool) get(rc io.ReadCloser) *teeBody {
	t, ok := tp.p.Get().(*teeBody)
	if !ok {
		t = new(teeBody)
	}
	t.rc = rc
	return t
}

func (tp *teePool) put(t *teeBody) {
	t.rc = nil
	if t.buf.Cap() > 64<<10 {
		return // let a big body's buffer go
	}
	t.buf.Reset()
	tp.p.Put(t)
}
