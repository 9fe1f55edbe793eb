package crud

import (
	"errors"
	"fmt"
	"math"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gantry-dev/gantry/crud/internal/row"
)

// Op is a filter operator.
type Op string

// The filter operators. In the query string an operator follows the field
// in brackets: ?created_at[gte]=2024-01-01T00:00:00Z; a bare ?field=value is
// [Eq].
const (
	Eq       Op = "eq"       // field = value
	Ne       Op = "ne"       // field <> value (rows where field is NULL never match)
	Lt       Op = "lt"       // field < value
	Lte      Op = "lte"      // field <= value
	Gt       Op = "gt"       // field > value
	Gte      Op = "gte"      // field >= value
	In       Op = "in"       // field IN (values); comma-separated in the query string
	Contains Op = "contains" // case-insensitive substring match, strings only
	Prefix   Op = "prefix"   // case-insensitive prefix match, strings only
	IsNull   Op = "isnull"   // value true: field IS NULL; false: IS NOT NULL
)

func (o Op) valid() bool {
	switch o {
	case Eq, Ne, Lt, Lte, Gt, Gte, In, Contains, Prefix, IsNull:
		return true
	}
	return false
}

// Filter is one condition of a [Query]. Field is a column name (the db tag).
// Value is a value of the column's Go type, or a string parsed into it; for
// [In] a slice; for [IsNull] a bool.
type Filter struct {
	Field string
	Op    Op
	Value any
}

// Sort is one sort key: a column, ascending unless Desc.
type Sort struct {
	Field string
	Desc  bool
}

// String returns the key as written in a query string: "-field" when
// descending.
func (s Sort) String() string {
	if s.Desc {
		return "-" + s.Field
	}
	return s.Field
}

// Deleted selects rows by soft-delete state. The zero value hides
// soft-deleted rows.
type Deleted uint8

const (
	// ExcludeDeleted shows live rows only (the default).
	ExcludeDeleted Deleted = iota
	// WithDeleted shows live and soft-deleted rows.
	WithDeleted
	// OnlyDeleted shows soft-deleted rows only.
	OnlyDeleted
)

// Query selects a page of rows. The zero value lists the first page of live
// rows, ordered by id, with the default limit.
//
// Build it in code, or from a query string with [ParseQuery], which
// allow-lists fields. A Query built in code may use any column of the
// model; a [Repository] still validates columns, operators and values
// against the model and binds every value.
type Query struct {
	Filters []Filter
	// Sort keys; the id column is always appended as the final tiebreaker.
	// Empty means by id.
	Sort []Sort
	// Limit is the page size: 0 means 20; more than the store's MaxLimit
	// (100 by default) is refused.
	Limit int
	// Offset skips rows; it cannot be combined with Cursor.
	Offset int
	// Cursor continues after the last row of a previous page
	// ([Page.NextCursor]); it must come with the same Sort.
	Cursor string
	// IncludeTotal asks for [Page.Total], the number of rows matching the
	// filters (one more query).
	IncludeTotal bool
	// Deleted selects by soft-delete state.
	Deleted Deleted
}

// Page is one page of a list.
type Page[T any] struct {
	// Items are the rows of the page, never nil.
	Items []T `json:"items"`
	// Limit is the page size used.
	Limit int `json:"limit"`
	// Offset is the offset used (0 with a cursor).
	Offset int `json:"offset"`
	// HasMore reports whether rows follow this page.
	HasMore bool `json:"has_more"`
	// NextCursor continues after this page; empty on the last page or when
	// a sort key is a nullable column.
	NextCursor string `json:"next_cursor,omitempty"`
	// Total is the number of matching rows when [Query.IncludeTotal] was
	// set, else nil.
	Total *int64 `json:"total,omitempty"`
}

// ValueType says how [ParseQuery] parses a filter's value.
type ValueType uint8

const (
	// Auto keeps the value as a string; the store parses it into the
	// column's Go type and refuses it with [ErrInvalidQuery] if it does not
	// fit. Prefer an explicit type so that ParseQuery reports every problem
	// at once.
	Auto ValueType = iota
	// String is any UTF-8 text.
	String
	// Int is a base-10 int64.
	Int
	// Float is a finite float64 (NaN and infinities are refused).
	Float
	// Bool is true/false (or 1/0).
	Bool
	// Time is an RFC 3339 time, converted to UTC; its UTC year is 0 to 9999.
	Time
)

// FilterSpec allow-lists one filter field for [ParseQuery].
type FilterSpec struct {
	// Type parses the value.
	Type ValueType
	// Ops are the allowed operators; empty means [Eq] only.
	Ops []Op
	// Values, when not empty, are the only values accepted (as written in
	// the query string) by the operators that compare values: eq, ne and
	// each item of in. E.g. a role column: {"user", "admin"}.
	Values []string
}

// QuerySpec says which query-string parameters [ParseQuery] accepts. The
// zero value accepts only pagination (limit, offset, cursor, include_total)
// and sorting by id. It is safe for concurrent use once built.
type QuerySpec struct {
	// Filters maps each filterable column to its spec. Columns not listed
	// (hashed_password, is_superuser, ...) cannot be filtered on.
	Filters map[string]FilterSpec
	// Sort lists the sortable columns. The id column is always sortable.
	Sort []string
	// DefaultSort is used when the query string has no sort, e.g.
	// "-created_at". Empty means by id.
	DefaultSort string
	// DefaultLimit is the page size when limit is absent (default 20).
	DefaultLimit int
	// MaxLimit is the largest limit accepted (default 100); a larger limit
	// is refused with 400, not clamped. Raise the store's Config.MaxLimit
	// too when raising it above 100.
	MaxLimit int
	// MaxOffset is the largest offset accepted (default 10,000); deeper
	// pages must use the cursor.
	MaxOffset int
	// CursorOnly refuses offset: pages go by cursor only.
	CursorOnly bool
	// MaxIn is the most values an "in" filter takes (default 100).
	MaxIn int
	// MaxSort is the most sort keys accepted (default 3).
	MaxSort int
	// AllowDeleted accepts deleted=include|only. Leave it false on public
	// endpoints.
	AllowDeleted bool
	// IDColumn is the always-sortable id column (default "id").
	IDColumn string
	// Ignore lists further parameters the handler reads itself; ParseQuery
	// leaves them alone. Any other unknown parameter is refused.
	Ignore []string
}

func (s *QuerySpec) withDefaults() QuerySpec {
	c := *s
	if c.DefaultLimit <= 0 {
		c.DefaultLimit = 20
	}
	if c.MaxLimit <= 0 {
		c.MaxLimit = 100
	}
	if c.DefaultLimit > c.MaxLimit {
		c.DefaultLimit = c.MaxLimit
	}
	if c.MaxOffset <= 0 {
		c.MaxOffset = 10000
	}
	if c.MaxIn <= 0 {
		c.MaxIn = 100
	}
	if c.MaxSort <= 0 {
		c.MaxSort = 3
	}
	if c.IDColumn == "" {
		c.IDColumn = "id"
	}
	return c
}

// The reserved query-string parameters.
const (
	paramSort         = "sort"
	paramLimit        = "limit"
	paramOffset       = "offset"
	paramCursor       = "cursor"
	paramIncludeTotal = "include_total"
	paramDeleted      = "deleted"
)

// maxParamName bounds how much of a refused parameter name is echoed back.
const maxParamName = row.MaxParamName

// maxParams bounds the parameters of one query string (and the keys of one
// patch), and so the size of an error's details.
const maxParams = 64

// ParseQuery turns a query string into a [Query] allowed by spec. It never
// touches a database. On any problem it returns one [ErrInvalidQuery] (400)
// whose details list every problem found, one [Problem] per parameter.
//
// The accepted forms:
//
//	?author_id=3                       equality
//	?created_at[gte]=2024-01-01T00:00:00Z   operator in brackets (see [Op])
//	?author_id[in]=1,2,3               in-list, comma-separated
//	?title[contains]=go  ?title[prefix]=go   case-insensitive, wildcards escaped
//	?note[isnull]=true
//	?sort=-created_at,id               keys, '-' for descending
//	?limit=20&offset=40                1..MaxLimit, 0..MaxOffset; else 400
//	?cursor=...                        from Page.NextCursor, not with offset
//	?include_total=true
//	?deleted=include|only              only when spec.AllowDeleted
//
// Each parameter may appear once, and a query string has at most 64.
func ParseQuery(values url.Values, spec QuerySpec) (Query, error) {
	s := spec.withDefaults()
	if len(values) > maxParams {
		return Query{}, newError(ErrInvalidQuery, 0, "invalid query parameters",
			[]Problem{{Field: "query", Reason: fmt.Sprintf("at most %d parameters", maxParams)}}, nil)
	}
	q := Query{Limit: s.DefaultLimit}
	var probs []Problem
	add := func(field, reason string) {
		if len(field) > maxParamName {
			field = field[:maxParamName] + "…"
		}
		probs = append(probs, Problem{Field: field, Reason: reason})
	}
	keys := make([]string, 0, len(values))
	for k := range values {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	sortGiven := false
	for _, key := range keys {
		vals := values[key]
		if slices.Contains(s.Ignore, key) {
			continue
		}
		if key == "" {
			add("query", "empty parameter name")
			continue
		}
		if len(vals) != 1 {
			add(key, "given more than once")
			continue
		}
		val := vals[0]
		switch key {
		case paramSort:
			sortGiven = true
			keys, err := parseSortSpec(val, &s)
			if err != nil {
				add(key, err.Error())
				continue
			}
			q.Sort = keys
		case paramLimit:
			n, err := strconv.Atoi(val)
			if err != nil || n < 1 || n > s.MaxLimit {
				add(key, fmt.Sprintf("must be an integer from 1 to %d", s.MaxLimit))
				continue
			}
			q.Limit = n
		case paramOffset:
			if s.CursorOnly {
				add(key, "not allowed; page with the cursor")
				continue
			}
			n, err := strconv.Atoi(val)
			if err != nil || n < 0 || n > s.MaxOffset {
				add(key, fmt.Sprintf("must be an integer from 0 to %d; use the cursor for deeper pages", s.MaxOffset))
				continue
			}
			q.Offset = n
		case paramCursor:
			if val == "" || len(val) > row.MaxCursorLen {
				add(key, "invalid cursor")
				continue
			}
			q.Cursor = val
		case paramIncludeTotal:
			b, err := row.ParseBool(val)
			if err != nil {
				add(key, "must be true or false")
				continue
			}
			q.IncludeTotal = b
		case paramDeleted:
			if !s.AllowDeleted {
				add(key, "not allowed")
				continue
			}
			switch val {
			case "exclude":
				q.Deleted = ExcludeDeleted
			case "include":
				q.Deleted = WithDeleted
			case "only":
				q.Deleted = OnlyDeleted
			default:
				add(key, "must be exclude, include or only")
			}
		default:
			f, reason := parseFilter(key, val, &s)
			if reason != "" {
				add(key, reason)
				continue
			}
			q.Filters = append(q.Filters, f)
		}
	}
	if q.Cursor != "" && values.Has(paramOffset) {
		add(paramCursor, "cannot be combined with offset")
	}
	if !sortGiven && s.DefaultSort != "" {
		keys, err := ParseSort(s.DefaultSort)
		if err != nil {
			add(paramSort, "invalid default sort")
		}
		q.Sort = keys
	}
	if len(probs) > 0 {
		return Query{}, newError(ErrInvalidQuery, 0, "invalid query parameters", probs, nil)
	}
	return q, nil
}

// ParseSort parses comma-separated sort keys such as "-created_at,id"
// without checking them against an allow-list (a [Repository] still checks
// them against the model). It returns [ErrInvalidQuery] on empty or
// repeated keys.
func ParseSort(s string) ([]Sort, error) {
	var out []Sort
	for part := range strings.SplitSeq(s, ",") {
		k := Sort{Field: part}
		if rest, ok := strings.CutPrefix(part, "-"); ok {
			k = Sort{Field: rest, Desc: true}
		}
		if k.Field == "" {
			return nil, newError(ErrInvalidQuery, 0, "invalid sort", []Problem{{Field: paramSort, Reason: "empty sort key"}}, nil)
		}
		if slices.ContainsFunc(out, func(o Sort) bool { return o.Field == k.Field }) {
			return nil, newError(ErrInvalidQuery, 0, "invalid sort", []Problem{{Field: paramSort, Reason: "repeated sort key"}}, nil)
		}
		out = append(out, k)
	}
	return out, nil
}

func parseSortSpec(val string, s *QuerySpec) ([]Sort, error) {
	keys, err := ParseSort(val)
	if err != nil {
		return nil, errors.New(Problems(err)[0].Reason)
	}
	if len(keys) > s.MaxSort {
		return nil, fmt.Errorf("at most %d sort keys", s.MaxSort)
	}
	var bad []string
	for _, k := range keys {
		if k.Field != s.IDColumn && !slices.Contains(s.Sort, k.Field) {
			bad = append(bad, k.Field)
		}
	}
	if len(bad) > 0 {
		allowed := append([]string{s.IDColumn}, s.Sort...)
		if len(bad) == 1 && len(bad[0]) <= maxParamName && isIdent(bad[0]) {
			return nil, fmt.Errorf("cannot sort by %s; sortable: %s", bad[0], strings.Join(allowed, ", "))
		}
		return nil, fmt.Errorf("unknown sort field; sortable: %s", strings.Join(allowed, ", "))
	}
	return keys, nil
}

func isIdent(s string) bool {
	for _, r := range s {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return s != ""
}

// parseFilter parses "field" or "field[op]" = val; it returns a reason when
// the parameter is refused.
func parseFilter(key, val string, s *QuerySpec) (Filter, string) {
	name, o := key, Eq
	if i := strings.IndexByte(key, '['); i >= 0 {
		if !strings.HasSuffix(key, "]") {
			return Filter{}, "unknown parameter"
		}
		name, o = key[:i], Op(key[i+1:len(key)-1])
	}
	fs, ok := s.Filters[name]
	if !ok {
		return Filter{}, "unknown parameter or field not filterable"
	}
	if !o.valid() {
		return Filter{}, "unknown operator"
	}
	ops := fs.Ops
	if len(ops) == 0 {
		ops = []Op{Eq}
	}
	if !slices.Contains(ops, o) {
		return Filter{}, fmt.Sprintf("operator %s not allowed on this field", o)
	}
	f := Filter{Field: name, Op: o}
	switch o {
	case IsNull:
		b, err := row.ParseBool(val)
		if err != nil {
			return Filter{}, "must be true or false"
		}
		f.Value = b
	case In:
		parts := strings.Split(val, ",")
		if len(parts) > s.MaxIn {
			return Filter{}, fmt.Sprintf("at most %d values", s.MaxIn)
		}
		list := make([]any, len(parts))
		for i, p := range parts {
			if len(fs.Values) > 0 && !slices.Contains(fs.Values, p) {
				return Filter{}, "each value must be one of " + strings.Join(fs.Values, ", ")
			}
			v, reason := parseValue(p, fs.Type)
			if reason != "" {
				return Filter{}, "each value " + reason
			}
			list[i] = v
		}
		f.Value = list
	case Contains, Prefix:
		if fs.Type != Auto && fs.Type != String {
			return Filter{}, fmt.Sprintf("operator %s needs a text field", o)
		}
		if val == "" {
			return Filter{}, "must not be empty"
		}
		if !utf8.ValidString(val) {
			return Filter{}, "must be UTF-8 text"
		}
		f.Value = val
	default:
		if len(fs.Values) > 0 && (o == Eq || o == Ne) && !slices.Contains(fs.Values, val) {
			return Filter{}, "must be one of " + strings.Join(fs.Values, ", ")
		}
		v, reason := parseValue(val, fs.Type)
		if reason != "" {
			return Filter{}, reason
		}
		f.Value = v
	}
	return f, ""
}

func parseValue(s string, t ValueType) (any, string) {
	switch t {
	case Int:
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return nil, "must be an integer"
		}
		return n, ""
	case Float:
		x, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
			return nil, "must be a finite number"
		}
		return x, ""
	case Bool:
		b, err := row.ParseBool(s)
		if err != nil {
			return nil, "must be true or false"
		}
		return b, ""
	case Time:
		tm, err := row.ParseTime(s)
		if err != nil {
			return nil, "must be an RFC 3339 time such as 2024-01-01T00:00:00Z"
		}
		return tm.UTC(), ""
	}
	if !utf8.ValidString(s) {
		return nil, "must be UTF-8 text"
	}
	return s, ""
}
