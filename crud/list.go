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

// plan validates q against the model with the checks crudtest.MemStore
// shares (package row); every problem is reported at once as an
// ErrInvalidQuery. forList also checks sort, limit, offset and cursor.
func (m *model) plan(q Query, forList bool) (*plan, error) {
	p := &plan{deleted: q.Deleted, total: q.IncludeTotal, offset: q.Offset, limit: q.Limit}
	var probs []row.Problem
	if q.Deleted > OnlyDeleted {
		probs = append(probs, row.Problem{Field: paramDeleted, Reason: "unknown value"})
	}
	for _, f := range q.Filters {
		fd, v, reason := m.rows.Filter(f.Field, string(f.Op), f.Value)
		if reason != "" {
			probs = append(probs, row.Problem{Field: row.Shown(f.Field), Reason: reason})
			continue
		}
		p.filters = append(p.filters, planFilter{f: fd, op: f.Op, value: v})
	}
	if forList {
		var pg row.Page
		pg, probs = m.rows.Page(len(q.Sort), func(i int) (string, bool) { return q.Sort[i].Field, q.Sort[i].Desc },
			q.Limit, q.Offset, q.Cursor, probs)
		p.sort, p.after, p.limit, p.offset, p.cursorable = pg.Sort, pg.After, pg.Limit, pg.Offset, pg.Cursorable
	}
	if len(probs) > 0 {
		details := make([]Problem, len(probs))
		for i, pr := range probs {
			details[i] = Problem(pr)
		}
		return nil, newError(ErrInvalidQuery, 0, "invalid query parameters", details, nil)
	}
	return p, nil
}

// signature is the sort as written in a query string, id tiebreaker
// included: the part of a query a cursor is bound to.
func (p *plan) signature() string { return string(row.AppendSignature(nil, p.sort)) }

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
	c, err := m.rows.Signer.Sign(p.sort, v)
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
