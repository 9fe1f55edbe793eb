package crudtest

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gantry-dev/gantry/crud"
	"github.com/gantry-dev/gantry/crud/internal/row"
)

// MemConfig configures a [MemStore]: the repository's [crud.Config] (its
// Table and Dialect are ignored) and the unique column sets the database
// would enforce.
type MemConfig struct {
	crud.Config
	// Unique lists column sets whose values must be unique among all rows,
	// soft-deleted ones included (as a UNIQUE constraint would). Rows with a
	// NULL in the set are exempt. The id is always unique.
	Unique [][]string
}

// MemStore is an in-memory [crud.Store] with the semantics of
// [crud.Repository]: the same validation, errors, soft delete, versions,
// sort order (NULLs last, id tiebreaker) and signed cursors. It passes
// [RunStoreTests]. Use it in handler tests that need no database.
//
// Integer ids are assigned from 1 upwards; string ids left empty get a
// random UUID. Rows are stored as copies, but pointer fields are shared
// with the caller's values. A MemStore is safe for concurrent use; there
// are no transactions.
type MemStore[T any] struct {
	cfg     MemConfig
	info    *row.Info // the column layout crud.Repository uses
	id      *row.Field
	ca, ua  *row.Field
	da, ver *row.Field
	table   row.Table // layout, id, cursors and page bound, checked as crud.Repository checks them
	max     int
	now     func() time.Time

	mu   sync.Mutex
	rows []T // in insertion order
	seq  int64
}

var _ crud.Store[Fixture] = (*MemStore[Fixture])(nil)

// NewMemStore returns an empty store of T, whose columns come from `db`
// tags as for [crud.NewRepository].
func NewMemStore[T any](cfg MemConfig) (*MemStore[T], error) {
	info, err := row.InfoOf(reflect.TypeFor[T]())
	if err != nil {
		return nil, fmt.Errorf("crudtest: %w", err)
	}
	s := &MemStore[T]{cfg: cfg, info: info, max: cfg.MaxLimit, now: cfg.Now}
	col := func(name, def string) *row.Field {
		if name == "-" {
			return nil
		}
		if name == "" {
			name = def
		}
		if i, ok := info.ByCol[name]; ok {
			return &info.Fields[i]
		}
		return nil
	}
	if s.id = col(cfg.IDColumn, "id"); s.id == nil {
		return nil, errors.New("crudtest: no id column")
	}
	s.ca, s.ua = col(cfg.CreatedAtColumn, "created_at"), col(cfg.UpdatedAtColumn, "updated_at")
	s.da, s.ver = col(cfg.DeletedAtColumn, "deleted_at"), col(cfg.VersionColumn, "version")
	if s.max <= 0 {
		s.max = 100
	}
	if s.now == nil {
		s.now = time.Now
	}
	key := cfg.CursorKey
	if len(key) == 0 {
		key = make([]byte, 32)
		_, _ = rand.Read(key)
	}
	s.table = row.Table{Info: info, ID: s.id, Signer: row.NewSigner(key), MaxLimit: s.max}
	return s, nil
}

// get returns the field f of r, and false when it is NULL.
func get(f *row.Field, r reflect.Value) (reflect.Value, bool) {
	v := r.FieldByIndex(f.Index)
	if f.Nullable {
		if v.IsNil() {
			return reflect.Value{}, false
		}
		return v.Elem(), true
	}
	return v, true
}

// set stores v (of f's base type) in the field f of r, or NULL.
func set(f *row.Field, r reflect.Value, v reflect.Value, null bool) {
	fv := r.FieldByIndex(f.Index)
	switch {
	case null:
		fv.SetZero()
	case f.Nullable:
		p := reflect.New(f.Base)
		p.Elem().Set(v)
		fv.Set(p)
	default:
		fv.Set(v)
	}
}

// compare orders two values of one column type as the databases do.
func compare(a, b reflect.Value) int {
	if a.Type() == row.TimeType {
		return a.Interface().(time.Time).Compare(b.Interface().(time.Time))
	}
	switch {
	case a.CanInt():
		return cmp.Compare(a.Int(), b.Int())
	case a.CanUint():
		return cmp.Compare(a.Uint(), b.Uint())
	case a.CanFloat():
		return cmp.Compare(a.Float(), b.Float())
	case a.Kind() == reflect.String:
		return strings.Compare(a.String(), b.String())
	case a.Kind() == reflect.Bool:
		return cmp.Compare(b2i(a.Bool()), b2i(b.Bool()))
	}
	if a.Equal(b) {
		return 0
	}
	return strings.Compare(fmt.Sprint(a.Interface()), fmt.Sprint(b.Interface()))
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func (s *MemStore[T]) idOf(id any) (reflect.Value, bool) {
	if id == nil {
		return reflect.Value{}, false
	}
	v, err := s.id.Convert(id)
	if err != nil {
		return reflect.Value{}, false
	}
	return reflect.ValueOf(v), true
}

// find returns the index of the row with the id, or -1.
func (s *MemStore[T]) find(id reflect.Value) int {
	for i := range s.rows {
		v, _ := get(s.id, reflect.ValueOf(&s.rows[i]).Elem())
		if compare(v, id) == 0 {
			return i
		}
	}
	return -1
}

func (s *MemStore[T]) live(i int) bool {
	if s.da == nil {
		return true
	}
	_, deleted := get(s.da, reflect.ValueOf(&s.rows[i]).Elem())
	return !deleted
}

func (s *MemStore[T]) nowUTC() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

// Get returns the live row with the id, or crud.ErrNotFound.
func (s *MemStore[T]) Get(_ context.Context, id any) (T, error) {
	var zero T
	idv, ok := s.idOf(id)
	if !ok {
		return zero, crud.ErrNotFound
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if i := s.find(idv); i >= 0 && s.live(i) {
		return s.rows[i], nil
	}
	return zero, crud.ErrNotFound
}

// Exists reports whether a live row has the id.
func (s *MemStore[T]) Exists(ctx context.Context, id any) (bool, error) {
	_, err := s.Get(ctx, id)
	if errors.Is(err, crud.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// Create inserts item and fills in its id, timestamps and version.
func (s *MemStore[T]) Create(ctx context.Context, item *T) error {
	items := []T{*item}
	if err := s.CreateMany(ctx, items); err != nil {
		return err
	}
	*item = items[0]
	return nil
}

// CreateMany inserts items, all or none.
func (s *MemStore[T]) CreateMany(_ context.Context, items []T) error {
	if len(items) == 0 {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.nowUTC()
	withID := false
	for i := range items {
		v := reflect.ValueOf(&items[i]).Elem()
		set := !v.FieldByIndex(s.id.Index).IsZero()
		if i == 0 {
			withID = set
		} else if set != withID {
			return crud.ErrInvalidValue.WithProblems(crud.Problem{Field: s.id.Column, Reason: "either every item has an id or none has"})
		}
	}
	added := make([]T, len(items))
	seq := s.seq
	for i := range items {
		item := items[i]
		v := reflect.ValueOf(&item).Elem()
		for j := range s.info.Fields {
			f := &s.info.Fields[j]
			if f.Base == row.TimeType {
				if x, ok := get(f, v); ok {
					set(f, v, reflect.ValueOf(row.Normalize(x.Interface())), false)
				}
			}
		}
		for _, f := range []*row.Field{s.ca, s.ua} {
			if f != nil {
				set(f, v, reflect.ValueOf(now), false)
			}
		}
		if s.ver != nil {
			v.FieldByIndex(s.ver.Index).SetInt(1)
		}
		if !withID {
			idf := v.FieldByIndex(s.id.Index)
			switch {
			case idf.CanInt():
				seq++
				idf.SetInt(seq)
			case idf.CanUint():
				seq++
				idf.SetUint(uint64(seq))
			case idf.Kind() == reflect.String:
				var b [16]byte
				_, _ = rand.Read(b[:])
				b[6], b[8] = b[6]&0x0f|0x40, b[8]&0x3f|0x80
				h := hex.EncodeToString(b[:])
				idf.SetString(h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:])
			default:
				return crud.ErrInvalidValue.WithProblems(crud.Problem{Field: s.id.Column, Reason: "required"})
			}
		}
		added[i] = item
	}
	all := append(slices.Clone(s.rows), added...)
	if err := s.checkUnique(all); err != nil {
		return err
	}
	s.rows, s.seq = all, seq
	copy(items, added)
	return nil
}

// checkUnique returns crud.ErrConflict if two rows share a unique key.
func (s *MemStore[T]) checkUnique(rows []T) error {
	sets := append([][]string{{s.id.Column}}, s.cfg.Unique...)
	for _, set := range sets {
		seen := map[string]bool{}
	row:
		for i := range rows {
			v := reflect.ValueOf(&rows[i]).Elem()
			var key strings.Builder
			for _, c := range set {
				fi, ok := s.info.ByCol[c]
				if !ok {
					return fmt.Errorf("crudtest: unique column %q unknown", c)
				}
				x, ok := get(&s.info.Fields[fi], v)
				if !ok {
					continue row
				}
				fmt.Fprintf(&key, "%v\x00", x.Interface())
			}
			if seen[key.String()] {
				return crud.ErrConflict.WithProblems()
			}
			seen[key.String()] = true
		}
	}
	return nil
}

func (s *MemStore[T]) managed(c string) bool {
	for _, f := range []*row.Field{s.id, s.ca, s.ua, s.da, s.ver} {
		if f != nil && f.Column == c {
			return true
		}
	}
	return slices.Contains(s.cfg.ReadOnly, c)
}

// Update applies p to the live row with the id.
func (s *MemStore[T]) Update(_ context.Context, id any, p crud.Patch) (T, error) {
	var zero T
	var probs []crud.Problem
	type change struct {
		f    *row.Field
		v    reflect.Value
		null bool
	}
	var changes []change
	cols := make([]string, 0, len(p.Set))
	for c := range p.Set {
		cols = append(cols, c)
	}
	slices.Sort(cols)
	for _, c := range cols {
		fi, ok := s.info.ByCol[c]
		if !ok || s.managed(c) {
			probs = append(probs, crud.Problem{Field: c, Reason: "unknown or read-only field"})
			continue
		}
		f := &s.info.Fields[fi]
		v := p.Set[c]
		if raw, ok := v.(json.RawMessage); v == nil || ok && string(raw) == "null" {
			if !f.Nullable {
				probs = append(probs, crud.Problem{Field: c, Reason: "cannot be null"})
			}
			changes = append(changes, change{f: f, null: true})
			continue
		}
		cv, err := f.Convert(v)
		if err != nil {
			probs = append(probs, crud.Problem{Field: c, Reason: err.Error()})
			continue
		}
		changes = append(changes, change{f: f, v: reflect.ValueOf(cv)})
	}
	if p.Version != 0 && s.ver == nil {
		probs = append(probs, crud.Problem{Field: "version", Reason: "this resource has no version"})
	}
	if len(cols) == 0 {
		probs = append(probs, crud.Problem{Field: "body", Reason: "no fields to update"})
	}
	if len(probs) > 0 {
		return zero, crud.ErrInvalidPatch.WithProblems(probs...)
	}
	idv, ok := s.idOf(id)
	if !ok {
		return zero, crud.ErrNotFound
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	i := s.find(idv)
	if i < 0 || !s.live(i) {
		return zero, crud.ErrNotFound
	}
	item := s.rows[i]
	v := reflect.ValueOf(&item).Elem()
	if p.Version != 0 && v.FieldByIndex(s.ver.Index).Int() != p.Version {
		return zero, crud.ErrConflict.WithProblems()
	}
	for _, c := range changes {
		set(c.f, v, c.v, c.null)
	}
	s.touch(v)
	rows := slices.Clone(s.rows)
	rows[i] = item
	if err := s.checkUnique(rows); err != nil {
		return zero, err
	}
	s.rows = rows
	return item, nil
}

// touch bumps updated_at and version.
func (s *MemStore[T]) touch(v reflect.Value) {
	if s.ua != nil {
		set(s.ua, v, reflect.ValueOf(s.nowUTC()), false)
	}
	if s.ver != nil {
		vf := v.FieldByIndex(s.ver.Index)
		vf.SetInt(vf.Int() + 1)
	}
}

// Delete removes the row with the id, live or soft-deleted.
func (s *MemStore[T]) Delete(_ context.Context, id any) error {
	idv, ok := s.idOf(id)
	if !ok {
		return crud.ErrNotFound
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	i := s.find(idv)
	if i < 0 {
		return crud.ErrNotFound
	}
	s.rows = slices.Delete(slices.Clone(s.rows), i, i+1)
	return nil
}

// SoftDelete marks the live row with the id as deleted.
func (s *MemStore[T]) SoftDelete(_ context.Context, id any) error {
	return s.setDeleted(id, true)
}

// Restore brings back the soft-deleted row with the id.
func (s *MemStore[T]) Restore(_ context.Context, id any) error {
	return s.setDeleted(id, false)
}

func (s *MemStore[T]) setDeleted(id any, deleted bool) error {
	if s.da == nil {
		return errors.New("crudtest: no deleted_at column")
	}
	idv, ok := s.idOf(id)
	if !ok {
		return crud.ErrNotFound
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	i := s.find(idv)
	if i < 0 || s.live(i) != deleted {
		return crud.ErrNotFound
	}
	v := reflect.ValueOf(&s.rows[i]).Elem()
	set(s.da, v, reflect.ValueOf(s.nowUTC()), !deleted)
	s.touch(v)
	return nil
}

// List returns a page of rows selected by q.
func (s *MemStore[T]) List(_ context.Context, q crud.Query) (crud.Page[T], error) {
	pl, err := s.plan(q, true)
	if err != nil {
		return crud.Page[T]{}, err
	}
	s.mu.Lock()
	matched := s.match(pl)
	s.mu.Unlock()
	slices.SortStableFunc(matched, func(a, b T) int { return s.cmpRows(pl, &a, &b) })
	total := int64(len(matched))
	if pl.after != nil {
		k := 0
		for k < len(matched) && s.cmpAfter(pl, &matched[k]) <= 0 {
			k++
		}
		matched = matched[k:]
	}
	if pl.page.Offset < len(matched) {
		matched = matched[pl.page.Offset:]
	} else {
		matched = matched[:0]
	}
	page := crud.Page[T]{Limit: pl.page.Limit, Offset: pl.page.Offset, Items: []T{}}
	if len(matched) > pl.page.Limit {
		page.HasMore = true
		matched = matched[:pl.page.Limit]
		if pl.page.Cursorable {
			if page.NextCursor, err = s.cursorFor(pl, &matched[pl.page.Limit-1]); err != nil {
				return crud.Page[T]{}, err
			}
		}
	}
	page.Items = append(page.Items, matched...)
	if q.IncludeTotal {
		page.Total = &total
	}
	return page, nil
}

// Count returns the number of rows matching q.Filters and q.Deleted.
func (s *MemStore[T]) Count(_ context.Context, q crud.Query) (int64, error) {
	pl, err := s.plan(q, false)
	if err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return int64(len(s.match(pl))), nil
}

// mplan is a validated query; the checks of each filter, the sort, the
// page and the cursor are crud's own (package row).
type mplan struct {
	filters []mfilter
	page    row.Page
	after   []reflect.Value
	deleted crud.Deleted
}

type mfilter struct {
	f    *row.Field
	op   crud.Op
	vals []reflect.Value
	text string
	null bool
}

func (s *MemStore[T]) plan(q crud.Query, forList bool) (*mplan, error) {
	pl := &mplan{deleted: q.Deleted}
	var probs []row.Problem
	if q.Deleted > crud.OnlyDeleted {
		probs = append(probs, row.Problem{Field: "deleted", Reason: "unknown value"})
	}
	for _, f := range q.Filters {
		fd, v, reason := s.table.Filter(f.Field, string(f.Op), f.Value)
		if reason != "" {
			probs = append(probs, row.Problem{Field: row.Shown(f.Field), Reason: reason})
			continue
		}
		mf := mfilter{f: fd, op: f.Op}
		switch f.Op {
		case crud.IsNull:
			mf.null = v.(bool)
		case crud.Contains, crud.Prefix:
			mf.text = strings.ToLower(v.(string))
		case crud.In:
			for _, x := range v.([]any) {
				mf.vals = append(mf.vals, reflect.ValueOf(x))
			}
		default:
			mf.vals = []reflect.Value{reflect.ValueOf(v)}
		}
		pl.filters = append(pl.filters, mf)
	}
	if forList {
		pl.page, probs = s.table.Page(len(q.Sort), func(i int) (string, bool) { return q.Sort[i].Field, q.Sort[i].Desc },
			q.Limit, q.Offset, q.Cursor, probs)
		for _, v := range pl.page.After {
			pl.after = append(pl.after, reflect.ValueOf(v))
		}
	}
	if len(probs) > 0 {
		details := make([]crud.Problem, len(probs))
		for i, p := range probs {
			details[i] = crud.Problem(p)
		}
		return nil, crud.ErrInvalidQuery.WithProblems(details...)
	}
	return pl, nil
}

func (s *MemStore[T]) match(pl *mplan) []T {
	var out []T
	for i := range s.rows {
		switch live := s.live(i); {
		case pl.deleted == crud.ExcludeDeleted && !live, pl.deleted == crud.OnlyDeleted && live:
			continue
		}
		v := reflect.ValueOf(&s.rows[i]).Elem()
		ok := true
		for _, f := range pl.filters {
			if !f.test(v) {
				ok = false
				break
			}
		}
		if ok {
			out = append(out, s.rows[i])
		}
	}
	return out
}

func (f *mfilter) test(r reflect.Value) bool {
	x, present := get(f.f, r)
	if f.op == crud.IsNull {
		return present != f.null
	}
	if !present {
		return false // SQL: comparisons with NULL are never true
	}
	switch f.op {
	case crud.Contains:
		return strings.Contains(strings.ToLower(x.String()), f.text)
	case crud.Prefix:
		return strings.HasPrefix(strings.ToLower(x.String()), f.text)
	case crud.In:
		return slices.ContainsFunc(f.vals, func(v reflect.Value) bool { return compare(x, v) == 0 })
	}
	c := compare(x, f.vals[0])
	switch f.op {
	case crud.Eq:
		return c == 0
	case crud.Ne:
		return c != 0
	case crud.Lt:
		return c < 0
	case crud.Lte:
		return c <= 0
	case crud.Gt:
		return c > 0
	}
	return c >= 0
}

// cmpRows orders rows by the plan's keys, NULLs last.
func (s *MemStore[T]) cmpRows(pl *mplan, a, b *T) int {
	va, vb := reflect.ValueOf(a).Elem(), reflect.ValueOf(b).Elem()
	for _, k := range pl.page.Sort {
		x, okx := get(k.F, va)
		y, oky := get(k.F, vb)
		var c int
		switch {
		case !okx && !oky:
			c = 0
		case !okx:
			c = 1
		case !oky:
			c = -1
		default:
			c = compare(x, y)
			if k.Desc {
				c = -c
			}
		}
		if c != 0 {
			return c
		}
	}
	return 0
}

// cmpAfter compares a row with the cursor position.
func (s *MemStore[T]) cmpAfter(pl *mplan, a *T) int {
	va := reflect.ValueOf(a).Elem()
	for i, k := range pl.page.Sort {
		x, _ := get(k.F, va)
		c := compare(x, pl.after[i])
		if k.Desc {
			c = -c
		}
		if c != 0 {
			return c
		}
	}
	return 0
}

// cursorFor signs the position after r, as crud.Repository does.
func (s *MemStore[T]) cursorFor(pl *mplan, r *T) (string, error) {
	c, err := s.table.Signer.Sign(pl.page.Sort, reflect.ValueOf(r).Elem())
	if err != nil {
		return "", fmt.Errorf("crudtest: cursor: %w", err)
	}
	return c, nil
}
