package row

import "fmt"

// Problem is one refused part of a query or patch: the parameter (or
// column) and why, as crud.Problem shows it to clients.
type Problem struct {
	Field  string
	Reason string
}

// MaxParamName bounds a parameter name repeated in a Problem.
const MaxParamName = 64

// Shown returns name as a Problem names it: cut to MaxParamName bytes.
func Shown(name string) string {
	if len(name) > MaxParamName {
		return name[:MaxParamName] + "…"
	}
	return name
}

// Table is what both stores know of a table when they check a query: its
// layout, its id column, the cursor signer and the largest page.
type Table struct {
	Info     *Info
	ID       *Field
	Signer   *Signer
	MaxLimit int
}

// Filter checks a filter on the column named field; it returns the column
// and the value to compare with (see [Field.FilterValue]), or the reason
// the filter is refused.
func (t *Table) Filter(field, op string, v any) (*Field, any, string) {
	i, ok := t.Info.ByCol[field]
	if !ok {
		return nil, nil, "unknown field"
	}
	f := &t.Info.Fields[i]
	cv, reason := f.FilterValue(op, v)
	return f, cv, reason
}

// Page is the validated sort and page of a list query.
type Page struct {
	Sort       []Key // the keys asked for, then the id unless asked for
	After      []any // the cursor's position, one value per key; nil without a cursor
	Limit      int
	Offset     int
	Cursorable bool // no key is nullable: pages can carry a next cursor
}

// The query-string names of the page parameters, used in Problems.
const (
	ParamSort   = "sort"
	ParamLimit  = "limit"
	ParamOffset = "offset"
	ParamCursor = "cursor"
)

// Page checks the sort keys (n of them, key(i) giving the i-th column and
// direction), the limit (0 means 20, or MaxLimit if smaller), the offset
// and the cursor, appending what is wrong to probs. The cursor is opened
// only when nothing else is wrong; a cursor that does not open is the only
// problem returned.
func (t *Table) Page(n int, key func(i int) (string, bool), limit, offset int, cursor string, probs []Problem) (Page, []Problem) {
	p := Page{Limit: limit, Offset: offset, Cursorable: true, Sort: make([]Key, 0, n+1)}
	add := func(field, reason string) { probs = append(probs, Problem{Field: field, Reason: reason}) }
	if p.Limit == 0 {
		p.Limit = min(20, t.MaxLimit)
	}
	if p.Limit < 1 || p.Limit > t.MaxLimit {
		add(ParamLimit, fmt.Sprintf("must be an integer from 1 to %d", t.MaxLimit))
	}
	if p.Offset < 0 {
		add(ParamOffset, "must not be negative")
	}
	if cursor != "" && p.Offset != 0 {
		add(ParamCursor, "cannot be combined with offset")
	}
	hasID := false
	for i := range n {
		col, desc := key(i)
		fi, ok := t.Info.ByCol[col]
		switch {
		case !ok:
			add(ParamSort, "unknown sort field")
			continue
		case !t.Info.Fields[fi].Sortable():
			add(ParamSort, "cannot sort by "+col)
			continue
		}
		if hasKey(p.Sort, col) {
			add(ParamSort, "repeated sort key")
			continue
		}
		f := &t.Info.Fields[fi]
		p.Sort = append(p.Sort, Key{F: f, Desc: desc})
		hasID = hasID || f == t.ID
		if f.Nullable {
			p.Cursorable = false
		}
	}
	if !hasID {
		p.Sort = append(p.Sort, Key{F: t.ID})
	}
	if cursor != "" && len(probs) == 0 {
		if !p.Cursorable {
			add(ParamCursor, "cursor pagination cannot sort on a nullable field")
		} else {
			after, err := t.Signer.Open(cursor, p.Sort)
			if err != nil {
				return p, []Problem{{Field: ParamCursor, Reason: err.Error()}}
			}
			p.After = after
		}
	}
	return p, probs
}

func hasKey(keys []Key, col string) bool {
	for _, k := range keys {
		if k.F.Column == col {
			return true
		}
	}
	return false
}
