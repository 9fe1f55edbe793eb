package openapi

import (
	"fmt"
	"reflect"
	"slices"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/gantry-dev/gantry/crud"
	"github.com/gantry-dev/gantry/server"
)

// QuerySpecer names the allow-list of a [Query] field by type: its
// QuerySpec method, called once on the zero value when the route is
// registered, returns the crud.QuerySpec the field binds and documents.
//
//	type postsQuery struct{}
//
//	func (postsQuery) QuerySpec() crud.QuerySpec { return postSpec }
type QuerySpecer interface {
	QuerySpec() crud.QuerySpec
}

// Query is an input field (named or embedded, without a tag) that binds
// the query string to a crud.Query with crud.ParseQuery, under the
// allow-list S names, and documents every parameter that allow-list
// accepts: each filter as its own parameter (author_id, created_at[gte],
// author_id[in] as a comma-separated array, title[contains] with
// minLength 1), sort as a comma-separated array of the sortable keys
// (each also with '-'), limit, offset (unless CursorOnly), cursor,
// include_total and, when AllowDeleted, deleted; with their types, enums
// (FilterSpec.Values) and bounds.
//
// limit and offset are checked like other typed parameters (400 when not
// an integer, 422 out of range); anything else crud.ParseQuery refuses
// answers its 400. Other query parameters of the same input are left to
// their own fields (they join the spec's Ignore list).
type Query[S QuerySpecer] struct {
	crud.Query
}

func (*Query[S]) querySpec() crud.QuerySpec {
	var s S
	return s.QuerySpec()
}

func (q *Query[S]) setQuery(v crud.Query) { q.Query = v }

// queryField is implemented by every *Query[S].
type queryField interface {
	querySpec() crud.QuerySpec
	setQuery(crud.Query)
}

var queryFieldType = reflect.TypeFor[queryField]()

// isQueryField reports whether a field of type t is a [Query].
func isQueryField(t reflect.Type) bool {
	return t.Kind() == reflect.Struct && reflect.PointerTo(t).Implements(queryFieldType)
}

// queryBinding is the [Query] field of an input.
type queryBinding struct {
	index []int
	spec  crud.QuerySpec // with the other query fields in Ignore
	// bounds as crud applies them (its defaults filled in)
	defLimit, maxLimit, maxOffset, maxIn, maxSort int
	idColumn                                      string
}

func newQueryBinding(t reflect.Type, index []int) *queryBinding {
	spec := reflect.New(t).Interface().(queryField).querySpec()
	qb := &queryBinding{index: index, spec: spec,
		defLimit: cmpOr(spec.DefaultLimit, 20), maxLimit: cmpOr(spec.MaxLimit, 100), maxOffset: cmpOr(spec.MaxOffset, 10000),
		maxIn: cmpOr(spec.MaxIn, 100), maxSort: cmpOr(spec.MaxSort, 3), idColumn: spec.IDColumn}
	qb.defLimit = min(qb.defLimit, qb.maxLimit)
	if qb.idColumn == "" {
		qb.idColumn = "id"
	}
	return qb
}

func cmpOr(n, def int) int {
	if n <= 0 {
		return def
	}
	return n
}

// names lists the query parameters the spec accepts, in document order.
func (qb *queryBinding) names() []string {
	var out []string
	for _, p := range qb.params() {
		out = append(out, p.Name)
	}
	return out
}

// bind parses the query string into the field. limit and offset get the
// typed parameters' treatment (bad: a 400 detail; out of range: a 422
// detail, appended to invalid); the rest is crud.ParseQuery's.
func (qb *queryBinding) bind(c echo.Context, in reflect.Value, v validate) (bad, invalid []server.FieldError, err error) {
	values := c.QueryParams()
	for _, pg := range []struct {
		name  string
		rules string
		skip  bool
	}{
		{"limit", fmt.Sprintf("min=1,max=%d", qb.maxLimit), false},
		{"offset", fmt.Sprintf("min=0,max=%d", qb.maxOffset), qb.spec.CursorOnly},
	} {
		vals := values[pg.name]
		if pg.skip || len(vals) != 1 {
			continue // absent, repeated or refused: crud.ParseQuery says so
		}
		var n int
		if parseScalar(reflect.ValueOf(&n).Elem(), vals[0]) != nil {
			bad = append(bad, server.FieldError{Field: pg.name, Rule: "type", Message: "must be an integer"})
			continue
		}
		invalid = append(invalid, v(n, pg.name, pg.rules)...)
	}
	if len(bad) > 0 || len(invalid) > 0 {
		return bad, invalid, nil
	}
	q, err := crud.ParseQuery(values, qb.spec)
	if err != nil {
		return nil, nil, err
	}
	in.FieldByIndex(qb.index).Addr().Interface().(queryField).setQuery(q)
	return nil, nil, nil
}

// validate checks value against rules and returns the details naming the
// parameter name.
type validate func(value any, name, rules string) []server.FieldError

// params documents the parameters the spec accepts.
func (qb *queryBinding) params() []*Parameter {
	s := qb.spec
	var out []*Parameter
	add := func(name, desc string, schema *Schema, explode *bool) {
		out = append(out, &Parameter{Name: name, In: inQuery, Description: desc, Schema: schema, Explode: explode})
	}
	no := ptr(false)
	fields := make([]string, 0, len(s.Filters))
	for f := range s.Filters {
		fields = append(fields, f)
	}
	slices.Sort(fields)
	for _, f := range fields {
		fs := s.Filters[f]
		ops := fs.Ops
		if len(ops) == 0 {
			ops = []crud.Op{crud.Eq}
		}
		for _, op := range ops {
			name := f
			if op != crud.Eq {
				name = f + "[" + string(op) + "]"
			}
			switch op {
			case crud.IsNull:
				add(name, f+" is null (true) or not (false)", &Schema{Type: "boolean"}, nil)
			case crud.In:
				add(name, f+" is one of these comma-separated values", &Schema{Type: "array", Items: filterValue(fs),
					MinItems: ptr(1), MaxItems: ptr(qb.maxIn)}, no)
			case crud.Contains:
				add(name, f+" contains this text, ignoring case", &Schema{Type: "string", MinLength: ptr(1)}, nil)
			case crud.Prefix:
				add(name, f+" starts with this text, ignoring case", &Schema{Type: "string", MinLength: ptr(1)}, nil)
			default:
				add(name, f+" "+opText[op]+" this value", filterValue(fs), nil)
			}
		}
	}
	keys := []any{qb.idColumn, "-" + qb.idColumn}
	for _, k := range s.Sort {
		if k != qb.idColumn {
			keys = append(keys, k, "-"+k)
		}
	}
	sortDoc := "Comma-separated sort keys, '-' for descending; the id breaks ties"
	if s.DefaultSort != "" {
		sortDoc += "; default " + s.DefaultSort
	}
	add("sort", sortDoc, &Schema{Type: "array", Items: &Schema{Type: "string", Enum: keys}, MinItems: ptr(1), MaxItems: ptr(qb.maxSort)}, no)
	add("limit", "Page size", &Schema{Type: "integer", Format: "int64", Minimum: ptr(1.0), Maximum: ptr(float64(qb.maxLimit)), Default: qb.defLimit}, nil)
	if !s.CursorOnly {
		add("offset", "Rows to skip; use the cursor for deeper pages", &Schema{Type: "integer", Format: "int64", Minimum: ptr(0.0), Maximum: ptr(float64(qb.maxOffset)), Default: 0}, nil)
	}
	cursorDoc := "next_cursor of the previous page, with the same sort"
	if !s.CursorOnly {
		cursorDoc += "; not with offset"
	}
	add("cursor", cursorDoc, &Schema{Type: "string", MinLength: ptr(1)}, nil)
	add("include_total", "Count the matching rows into total", &Schema{Type: "boolean", Default: false}, nil)
	if s.AllowDeleted {
		add("deleted", "Soft-deleted rows: left out (exclude), included, or only them", &Schema{Type: "string", Enum: []any{"exclude", "include", "only"}, Default: "exclude"}, nil)
	}
	return out
}

var opText = map[crud.Op]string{
	crud.Eq: "equals", crud.Ne: "differs from", crud.Lt: "is less than", crud.Lte: "is at most",
	crud.Gt: "is greater than", crud.Gte: "is at least",
}

// filterValue is the schema of one value of a filter.
func filterValue(fs crud.FilterSpec) *Schema {
	var s *Schema
	switch fs.Type {
	case crud.Int:
		s = &Schema{Type: "integer", Format: "int64"}
	case crud.Float:
		s = &Schema{Type: "number", Format: "double"}
	case crud.Bool:
		s = &Schema{Type: "boolean"}
	case crud.Time:
		s = &Schema{Type: "string", Format: "date-time"}
	default:
		s = &Schema{Type: "string"}
	}
	for _, v := range fs.Values {
		if tv, err := filterEnumValue(fs.Type, v); err == nil {
			s.Enum = append(s.Enum, tv)
		}
	}
	return s
}

func filterEnumValue(t crud.ValueType, v string) (any, error) {
	switch t {
	case crud.Int:
		return strconv.ParseInt(v, 10, 64)
	case crud.Float:
		return strconv.ParseFloat(v, 64)
	case crud.Bool:
		return strconv.ParseBool(v)
	}
	return v, nil
}
