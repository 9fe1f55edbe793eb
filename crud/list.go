package crud

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"unicode/utf8"

	"github.com/jmoiron/sqlx"
)

// plan is a validated query: columns resolved, values converted.
type plan struct {
	filters    []planFilter
	sort       []planSort // id tiebreaker included
	after      []any      // cursor values, one per sort key
	limit      int
	offset     int
	deleted    Deleted
	total      bool
	cursorable bool // every sort key is non-nullable
}

type planFilter struct {
	f     *field
	op    Op
	value any // converted; []any for In; bool for IsNull; string for Contains/Prefix
}

type planSort struct {
	f    *field
	desc bool
}

// plan validates q against the model; every problem is reported at once as
// an ErrInvalidQuery. forList also checks sort, limit and cursor.
func (m *model) plan(q Query, forList bool) (*plan, error) {
	p := &plan{deleted: q.Deleted, total: q.IncludeTotal, offset: q.Offset, limit: q.Limit}
	var probs []Problem
	add := func(field, reason string) {
		if len(field) > maxParamName {
			field = field[:maxParamName] + "…"
		}
		probs = append(probs, Problem{Field: field, Reason: reason})
	}
	if q.Deleted > OnlyDeleted {
		add(paramDeleted, "unknown value")
	}
	for _, f := range q.Filters {
		pf, reason := m.planFilter(f)
		if reason != "" {
			add(f.Field, reason)
			continue
		}
		p.filters = append(p.filters, pf)
	}
	if forList {
		if p.limit == 0 {
			p.limit = min(20, m.maxLimit)
		}
		if p.limit < 1 || p.limit > m.maxLimit {
			add(paramLimit, fmt.Sprintf("must be an integer from 1 to %d", m.maxLimit))
		}
		if p.offset < 0 {
			add(paramOffset, "must not be negative")
		}
		if q.Cursor != "" && p.offset != 0 {
			add(paramCursor, "cannot be combined with offset")
		}
		hasID := false
		p.cursorable = true
		for _, s := range q.Sort {
			i, ok := m.si.byCol[s.Field]
			switch {
			case !ok:
				add(paramSort, "unknown sort field")
				continue
			case m.si.fields[i].kind == kindOther:
				add(paramSort, "cannot sort by "+s.Field)
				continue
			}
			if hasDup(p.sort, s.Field) {
				add(paramSort, "repeated sort key")
				continue
			}
			f := &m.si.fields[i]
			p.sort = append(p.sort, planSort{f: f, desc: s.Desc})
			if f == m.id {
				hasID = true
			}
			if f.nullable {
				p.cursorable = false
			}
		}
		if !hasID {
			p.sort = append(p.sort, planSort{f: m.id})
		}
		if q.Cursor != "" && len(probs) == 0 {
			if !p.cursorable {
				add(paramCursor, "cursor pagination cannot sort on a nullable field")
			} else {
				raws, err := m.signer.open(q.Cursor, p.signature(), len(p.sort))
				if err != nil {
					return nil, err
				}
				for i, raw := range raws {
					v, err := p.sort[i].f.fromCursor(raw)
					if err != nil {
						return nil, newError(ErrInvalidQuery, 0, "invalid query parameters",
							[]Problem{{Field: paramCursor, Reason: "invalid or tampered cursor"}}, nil)
					}
					p.after = append(p.after, v)
				}
			}
		}
	}
	if len(probs) > 0 {
		return nil, newError(ErrInvalidQuery, 0, "invalid query parameters", probs, nil)
	}
	return p, nil
}

// signature is the sort as written in a query string, id tiebreaker
// included: the part of a query a cursor is bound to.
func (p *plan) signature() string { return string(p.appendSignature(nil)) }

func (p *plan) appendSignature(b []byte) []byte {
	for i, k := range p.sort {
		if i > 0 {
			b = append(b, ',')
		}
		if k.desc {
			b = append(b, '-')
		}
		b = append(b, k.f.column...)
	}
	return b
}

func hasDup(ss []planSort, col string) bool {
	for _, s := range ss {
		if s.f.column == col {
			return true
		}
	}
	return false
}

// maxInValues bounds an In filter built in code.
const maxInValues = 1000

func (m *model) planFilter(f Filter) (planFilter, string) {
	i, ok := m.si.byCol[f.Field]
	if !ok {
		return planFilter{}, "unknown field"
	}
	fd := &m.si.fields[i]
	pf := planFilter{f: fd, op: f.Op}
	switch f.Op {
	case IsNull:
		b, ok := f.Value.(bool)
		if !ok {
			return pf, "isnull needs true or false"
		}
		pf.value = b
	case Contains, Prefix:
		s, ok := f.Value.(string)
		if !ok || s == "" || fd.kind != kindString || fd.base.Kind() != reflect.String {
			return pf, fmt.Sprintf("operator %s needs a non-empty text value on a text field", f.Op)
		}
		if !utf8.ValidString(s) {
			return pf, "must be UTF-8 text"
		}
		pf.value = s
	case In:
		rv := reflect.ValueOf(f.Value)
		if f.Value == nil || (rv.Kind() != reflect.Slice && rv.Kind() != reflect.Array) {
			return pf, "in needs a list of values"
		}
		if rv.Len() == 0 || rv.Len() > maxInValues {
			return pf, fmt.Sprintf("in needs 1 to %d values", maxInValues)
		}
		list := make([]any, rv.Len())
		for j := range list {
			x := rv.Index(j).Interface()
			if x == nil {
				return pf, "in values cannot be null"
			}
			v, err := fd.convert(x)
			if err != nil {
				return pf, "each value " + err.Error()
			}
			list[j] = v
		}
		pf.value = list
	case Eq, Ne, Lt, Lte, Gt, Gte:
		if f.Op != Eq && f.Op != Ne && !fd.ordered() {
			return pf, fmt.Sprintf("operator %s not supported on this field", f.Op)
		}
		if f.Value == nil {
			return pf, "value cannot be null; use isnull"
		}
		v, err := fd.convert(f.Value)
		if err != nil {
			return pf, err.Error()
		}
		pf.value = v
	default:
		return pf, "unknown operator"
	}
	return pf, ""
}

// sqlBuilder accumulates SQL text and its bound arguments.
type sqlBuilder struct {
	d    Dialect
	b    strings.Builder
	args []any
}

func (s *sqlBuilder) bind(v any) {
	s.args = append(s.args, v)
	s.d.writePlaceholder(&s.b, len(s.args))
}

func (s *sqlBuilder) str(parts ...string) {
	for _, p := range parts {
		s.b.WriteString(p)
	}
}

// likeEscaper escapes LIKE wildcards in user text; '\' is the ESCAPE
// character on both dialects.
var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

// where writes the WHERE clause (soft-delete scope, filters and, with
// keyset, the cursor condition).
func (m *model) where(s *sqlBuilder, p *plan, keyset bool) {
	and := " WHERE "
	next := func() { s.str(and); and = " AND " }
	if m.deletedAt != nil {
		switch p.deleted {
		case ExcludeDeleted:
			next()
			s.str(m.deletedAt.quoted, " IS NULL")
		case OnlyDeleted:
			next()
			s.str(m.deletedAt.quoted, " IS NOT NULL")
		}
	} else if p.deleted == OnlyDeleted {
		next()
		s.str("1 = 0")
	}
	for _, f := range p.filters {
		next()
		col := f.f.quoted
		switch f.op {
		case Eq, Ne, Lt, Lte, Gt, Gte:
			s.str(col, " ", sqlOps[f.op], " ")
			s.bind(f.value)
		case In:
			s.str(col, " IN (")
			for i, v := range f.value.([]any) {
				if i > 0 {
					s.str(", ")
				}
				s.bind(v)
			}
			s.str(")")
		case IsNull:
			if f.value.(bool) {
				s.str(col, " IS NULL")
			} else {
				s.str(col, " IS NOT NULL")
			}
		case Contains, Prefix:
			pat := likeEscaper.Replace(f.value.(string)) + "%"
			if f.op == Contains {
				pat = "%" + pat
			}
			if m.d == Postgres {
				s.str(col, " ILIKE ")
				s.bind(pat)
			} else {
				s.str("lower(", col, ") LIKE lower(")
				s.bind(pat)
				s.str(")")
			}
			s.str(` ESCAPE '\'`)
		}
	}
	if keyset && p.after != nil {
		// (k1 > v1) OR (k1 = v1 AND k2 < v2) OR ... with > for ascending
		// and < for descending keys.
		next()
		s.str("(")
		for i := range p.sort {
			if i > 0 {
				s.str(" OR ")
			}
			s.str("(")
			for j := 0; j < i; j++ {
				s.str(p.sort[j].f.quoted, " = ")
				s.bind(p.after[j])
				s.str(" AND ")
			}
			cmp := " > "
			if p.sort[i].desc {
				cmp = " < "
			}
			s.str(p.sort[i].f.quoted, cmp)
			s.bind(p.after[i])
			s.str(")")
		}
		s.str(")")
	}
}

var sqlOps = map[Op]string{Eq: "=", Ne: "<>", Lt: "<", Lte: "<=", Gt: ">", Gte: ">="}

// List returns a page of rows selected by q. Filters, sort keys, limit,
// offset and cursor are validated first; any problem is one
// [ErrInvalidQuery] and no statement is run. The id column is the final
// sort key, so pages are stable; nullable sort keys sort NULLs last on both
// dialects.
func (r *Repository[T]) List(ctx context.Context, q Query) (Page[T], error) {
	m := r.m
	p, err := m.plan(q, true)
	if err != nil {
		return Page[T]{}, err
	}
	s := &sqlBuilder{d: m.d}
	s.b.Grow(256)
	s.str("SELECT ", m.cols, " FROM ", m.table)
	m.where(s, p, true)
	s.str(" ORDER BY ")
	for i, k := range p.sort {
		if i > 0 {
			s.str(", ")
		}
		s.str(k.f.quoted)
		if k.desc {
			s.str(" DESC")
		}
		if k.f.nullable {
			s.str(" NULLS LAST")
		}
	}
	s.str(" LIMIT ")
	s.bind(p.limit + 1)
	if p.offset > 0 {
		s.str(" OFFSET ")
		s.bind(p.offset)
	}
	h := r.handle(ctx)
	items := make([]T, 0, p.limit+1)
	if err := sqlx.SelectContext(ctx, h, &items, s.b.String(), s.args...); err != nil {
		return Page[T]{}, m.d.mapError(err, opRead)
	}
	page := Page[T]{Items: items, Limit: p.limit, Offset: p.offset}
	if len(items) > p.limit {
		page.Items = items[:p.limit]
		page.HasMore = true
		if p.cursorable {
			if page.NextCursor, err = m.cursorFor(p, reflect.ValueOf(&page.Items[p.limit-1]).Elem()); err != nil {
				return Page[T]{}, err
			}
		}
	}
	if p.total {
		n, err := r.count(ctx, h, p)
		if err != nil {
			return Page[T]{}, err
		}
		page.Total = &n
	}
	return page, nil
}

// cursorFor signs the sort-key values of the row v.
func (m *model) cursorFor(p *plan, v reflect.Value) (string, error) {
	c, err := m.signer.sign(p, v)
	if err != nil {
		return "", fmt.Errorf("crud: cursor: %w", err)
	}
	return c, nil
}

// Count returns the number of rows matching q.Filters and q.Deleted.
func (r *Repository[T]) Count(ctx context.Context, q Query) (int64, error) {
	p, err := r.m.plan(q, false)
	if err != nil {
		return 0, err
	}
	return r.count(ctx, r.handle(ctx), p)
}

func (r *Repository[T]) count(ctx context.Context, h sqlx.ExtContext, p *plan) (int64, error) {
	s := &sqlBuilder{d: r.m.d}
	s.str("SELECT COUNT(*) FROM ", r.m.table)
	r.m.where(s, p, false)
	var n int64
	if err := h.QueryRowxContext(ctx, s.b.String(), s.args...).Scan(&n); err != nil {
		return 0, r.m.d.mapError(err, opRead)
	}
	return n, nil
}
