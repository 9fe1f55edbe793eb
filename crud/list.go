package crud

import (
	"context"
	"fmt"
	"reflect"
	"strings"

	"github.com/jmoiron/sqlx"

	"github.com/gantry-dev/gantry/crud/internal/row"
)

// plan is a validated query: columns resolved, values converted.
type plan struct {
	filters    []planFilter
	sort       []row.Key // id tiebreaker included
	after      []any     // cursor values, one per sort key
	limit      int
	offset     int
	deleted    Deleted
	total      bool
	cursorable bool // every sort key is non-nullable
}

type planFilter struct {
	f     *row.Field
	op    Op
	value any // converted; []any for In; bool for IsNull; string for Contains/Prefix
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
			i, ok := m.si.ByCol[s.Field]
			switch {
			case !ok:
				add(paramSort, "unknown sort field")
				continue
			case !m.si.Fields[i].Sortable():
				add(paramSort, "cannot sort by "+s.Field)
				continue
			}
			if hasDup(p.sort, s.Field) {
				add(paramSort, "repeated sort key")
				continue
			}
			f := &m.si.Fields[i]
			p.sort = append(p.sort, row.Key{F: f, Desc: s.Desc})
			if f == m.id {
				hasID = true
			}
			if f.Nullable {
				p.cursorable = false
			}
		}
		if !hasID {
			p.sort = append(p.sort, row.Key{F: m.id})
		}
		if q.Cursor != "" && len(probs) == 0 {
			if !p.cursorable {
				add(paramCursor, "cursor pagination cannot sort on a nullable field")
			} else {
				after, err := m.signer.Open(q.Cursor, p.sort)
				if err != nil {
					return nil, newError(ErrInvalidQuery, 0, "invalid query parameters",
						[]Problem{{Field: paramCursor, Reason: err.Error()}}, nil)
				}
				p.after = after
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
func (p *plan) signature() string { return string(row.AppendSignature(nil, p.sort)) }

func hasDup(ss []row.Key, col string) bool {
	for _, s := range ss {
		if s.F.Column == col {
			return true
		}
	}
	return false
}

func (m *model) planFilter(f Filter) (planFilter, string) {
	i, ok := m.si.ByCol[f.Field]
	if !ok {
		return planFilter{}, "unknown field"
	}
	fd := &m.si.Fields[i]
	v, reason := fd.FilterValue(string(f.Op), f.Value)
	return planFilter{f: fd, op: f.Op, value: v}, reason
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
			s.str(m.deletedAt.Quoted, " IS NULL")
		case OnlyDeleted:
			next()
			s.str(m.deletedAt.Quoted, " IS NOT NULL")
		}
	} else if p.deleted == OnlyDeleted {
		next()
		s.str("1 = 0")
	}
	for _, f := range p.filters {
		next()
		col := f.f.Quoted
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
				s.str(p.sort[j].F.Quoted, " = ")
				s.bind(p.after[j])
				s.str(" AND ")
			}
			cmp := " > "
			if p.sort[i].Desc {
				cmp = " < "
			}
			s.str(p.sort[i].F.Quoted, cmp)
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
		s.str(k.F.Quoted)
		if k.Desc {
			s.str(" DESC")
		}
		if k.F.Nullable {
			s.str(" NULLS LAST")
		}
	}
	s.str(" LIMIT ")
	s.bind(p.limit + 1)
	if p.offset > 0 {
		s.str(" OFFSET ")
		s.bind(p.offset)
	}
	h, release, err := r.handle(ctx)
	if err != nil {
		return Page[T]{}, err
	}
	defer release()
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
	c, err := m.signer.Sign(p.sort, v)
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
	h, release, err := r.handle(ctx)
	if err != nil {
		return 0, err
	}
	defer release()
	return r.count(ctx, h, p)
}

func (r *Repository[T]) count(ctx context.Context, h runner, p *plan) (int64, error) {
	s := &sqlBuilder{d: r.m.d}
	s.str("SELECT COUNT(*) FROM ", r.m.table)
	r.m.where(s, p, false)
	var n int64
	if err := h.QueryRowxContext(ctx, s.b.String(), s.args...).Scan(&n); err != nil {
		return 0, r.m.d.mapError(err, opRead)
	}
	return n, nil
}
