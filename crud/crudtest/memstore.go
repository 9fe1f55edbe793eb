package crudtest

import (
	"cmp"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/gantry-dev/gantry/crud"
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
	fields  []mfield
	byCol   map[string]int
	id      *mfield
	ca, ua  *mfield
	da, ver *mfield
	key     []byte
	max     int
	now     func() time.Time

	mu   sync.Mutex
	rows []T // in insertion order
	seq  int64
}

var _ crud.Store[Fixture] = (*MemStore[Fixture])(nil)

type mfield struct {
	col      string
	index    []int
	base     reflect.Type
	nullable bool
}

// NewMemStore returns an empty store of T, whose columns come from `db`
// tags as for [crud.NewRepository].
func NewMemStore[T any](cfg MemConfig) (*MemStore[T], error) {
	s := &MemStore[T]{cfg: cfg, byCol: map[string]int{}, key: cfg.CursorKey, max: cfg.MaxLimit, now: cfg.Now}
	if err := s.walk(reflect.TypeFor[T](), nil); err != nil {
		return nil, err
	}
	col := func(name, def string) *mfield {
		if name == "-" {
			return nil
		}
		if name == "" {
			name = def
		}
		if i, ok := s.byCol[name]; ok {
			return &s.fields[i]
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
	if len(s.key) == 0 {
		s.key = make([]byte, 32)
		_, _ = rand.Read(s.key)
	}
	return s, nil
}

var timeType = reflect.TypeFor[time.Time]()

func (s *MemStore[T]) walk(t reflect.Type, prefix []int) error {
	if t.Kind() != reflect.Struct {
		return fmt.Errorf("crudtest: %v is not a struct", t)
	}
	for i := range t.NumField() {
		sf := t.Field(i)
		tag, has := sf.Tag.Lookup("db")
		name, _, _ := strings.Cut(tag, ",")
		if name == "-" {
			continue
		}
		idx := append(slices.Clone(prefix), i)
		if sf.Anonymous && !has && sf.Type.Kind() == reflect.Struct && sf.Type != timeType {
			if err := s.walk(sf.Type, idx); err != nil {
				return err
			}
			continue
		}
		if !sf.IsExported() {
			continue
		}
		if name == "" {
			name = strings.ToLower(sf.Name)
		}
		f := mfield{col: name, index: idx, base: sf.Type}
		if sf.Type.Kind() == reflect.Pointer {
			f.base, f.nullable = sf.Type.Elem(), true
		}
		s.byCol[name] = len(s.fields)
		s.fields = append(s.fields, f)
	}
	return nil
}

func (f *mfield) isText() bool { return f.base.Kind() == reflect.String }

func (f *mfield) ordered() bool {
	switch f.base.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64, reflect.String:
		return true
	}
	return f.base == timeType
}

func (f *mfield) sortable() bool { return f.ordered() || f.base.Kind() == reflect.Bool }

// convert turns v into a reflect.Value of the field's base type.
func (f *mfield) convert(v any) (reflect.Value, error) {
	bad := fmt.Errorf("must be a valid %s", f.base)
	if str, ok := v.(string); ok && !utf8.ValidString(str) {
		return reflect.Value{}, errors.New("must be UTF-8 text")
	}
	if raw, ok := v.(json.RawMessage); ok {
		p := reflect.New(f.base)
		if err := json.Unmarshal(raw, p.Interface()); err != nil {
			return reflect.Value{}, bad
		}
		return norm(p.Elem()), nil
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() == reflect.Pointer && !rv.IsNil() && rv.Type().Elem() == f.base {
		rv = rv.Elem()
	}
	if rv.Type() == f.base {
		return norm(rv), nil
	}
	out := reflect.New(f.base).Elem()
	if str, ok := v.(string); ok {
		switch k := f.base.Kind(); {
		case f.base == timeType:
			t, err := time.Parse(time.RFC3339Nano, str)
			if err != nil {
				return reflect.Value{}, bad
			}
			return norm(reflect.ValueOf(t)), nil
		case out.CanInt():
			n, err := strconv.ParseInt(str, 10, 64)
			if err != nil || out.OverflowInt(n) {
				return reflect.Value{}, bad
			}
			out.SetInt(n)
		case out.CanUint():
			n, err := strconv.ParseUint(str, 10, 64)
			if err != nil || out.OverflowUint(n) {
				return reflect.Value{}, bad
			}
			out.SetUint(n)
		case out.CanFloat():
			x, err := strconv.ParseFloat(str, 64)
			if err != nil || math.IsNaN(x) || math.IsInf(x, 0) || out.OverflowFloat(x) {
				return reflect.Value{}, bad
			}
			out.SetFloat(x)
		case k == reflect.Bool:
			switch str {
			case "true", "1":
				out.SetBool(true)
			case "false", "0":
			default:
				return reflect.Value{}, bad
			}
		case k == reflect.String:
			out.SetString(str)
		default:
			tu, ok := out.Addr().Interface().(encoding.TextUnmarshaler)
			if !ok || tu.UnmarshalText([]byte(str)) != nil {
				return reflect.Value{}, bad
			}
		}
		return out, nil
	}
	switch {
	case out.CanInt() && rv.CanInt() && !out.OverflowInt(rv.Int()):
		out.SetInt(rv.Int())
	case out.CanInt() && rv.CanUint() && rv.Uint() < 1<<63 && !out.OverflowInt(int64(rv.Uint())):
		out.SetInt(int64(rv.Uint()))
	case out.CanInt() && rv.CanFloat() && rv.Float() == float64(int64(rv.Float())) && !out.OverflowInt(int64(rv.Float())):
		out.SetInt(int64(rv.Float()))
	case out.CanUint() && rv.CanUint() && !out.OverflowUint(rv.Uint()):
		out.SetUint(rv.Uint())
	case out.CanUint() && rv.CanInt() && rv.Int() >= 0 && !out.OverflowUint(uint64(rv.Int())):
		out.SetUint(uint64(rv.Int()))
	case out.CanFloat() && rv.CanFloat():
		out.SetFloat(rv.Float())
	case out.CanFloat() && rv.CanInt():
		out.SetFloat(float64(rv.Int()))
	case rv.Kind() == f.base.Kind() && rv.Type().ConvertibleTo(f.base) && !out.CanInt() && !out.CanUint() && !out.CanFloat():
		return norm(rv.Convert(f.base)), nil
	default:
		return reflect.Value{}, bad
	}
	return out, nil
}

// fromCursor decodes a cursor value: JSON, or the forms JSON lacks
// (non-finite floats as strings, non-UTF-8 text in base64).
func (f *mfield) fromCursor(raw json.RawMessage) (reflect.Value, error) {
	bad := fmt.Errorf("must be a valid %s", f.base)
	switch {
	case len(raw) > 0 && raw[0] == '"' && (f.base.Kind() == reflect.Float32 || f.base.Kind() == reflect.Float64):
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return reflect.Value{}, bad
		}
		x, err := strconv.ParseFloat(s, 64)
		if err != nil || !(math.IsNaN(x) || math.IsInf(x, 0)) {
			return reflect.Value{}, bad
		}
		return reflect.ValueOf(x).Convert(f.base), nil
	case len(raw) > 0 && raw[0] == '{' && f.base.Kind() == reflect.String:
		var o struct {
			B []byte `json:"b"`
		}
		if json.Unmarshal(raw, &o) != nil || utf8.Valid(o.B) {
			return reflect.Value{}, bad
		}
		return reflect.ValueOf(string(o.B)).Convert(f.base), nil
	}
	return f.convert(raw)
}

func norm(v reflect.Value) reflect.Value {
	if v.Type() == timeType {
		return reflect.ValueOf(v.Interface().(time.Time).UTC().Truncate(time.Microsecond))
	}
	return v
}

// get returns the field of row, and false when it is NULL.
func (f *mfield) get(row reflect.Value) (reflect.Value, bool) {
	v := row.FieldByIndex(f.index)
	if f.nullable {
		if v.IsNil() {
			return reflect.Value{}, false
		}
		return v.Elem(), true
	}
	return v, true
}

func (f *mfield) set(row reflect.Value, v reflect.Value, null bool) {
	fv := row.FieldByIndex(f.index)
	switch {
	case null:
		fv.SetZero()
	case f.nullable:
		p := reflect.New(f.base)
		p.Elem().Set(v)
		fv.Set(p)
	default:
		fv.Set(v)
	}
}

func compare(a, b reflect.Value) int {
	if a.Type() == timeType {
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
	v, err := s.id.convert(id)
	return v, err == nil
}

// find returns the index of the row with the id, or -1.
func (s *MemStore[T]) find(id reflect.Value) int {
	for i := range s.rows {
		v, _ := s.id.get(reflect.ValueOf(&s.rows[i]).Elem())
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
	_, deleted := s.da.get(reflect.ValueOf(&s.rows[i]).Elem())
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
		set := !v.FieldByIndex(s.id.index).IsZero()
		if i == 0 {
			withID = set
		} else if set != withID {
			return crud.ErrInvalidValue.WithProblems(crud.Problem{Field: s.id.col, Reason: "either every item has an id or none has"})
		}
	}
	added := make([]T, len(items))
	seq := s.seq
	for i := range items {
		row := items[i]
		v := reflect.ValueOf(&row).Elem()
		for j := range s.fields {
			f := &s.fields[j]
			if f.base == timeType {
				if x, ok := f.get(v); ok {
					f.set(v, norm(x), false)
				}
			}
		}
		for _, f := range []*mfield{s.ca, s.ua} {
			if f != nil {
				f.set(v, reflect.ValueOf(now), false)
			}
		}
		if s.ver != nil {
			v.FieldByIndex(s.ver.index).SetInt(1)
		}
		if !withID {
			idf := v.FieldByIndex(s.id.index)
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
				return crud.ErrInvalidValue.WithProblems(crud.Problem{Field: s.id.col, Reason: "required"})
			}
		}
		added[i] = row
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
	sets := append([][]string{{s.id.col}}, s.cfg.Unique...)
	for _, set := range sets {
		seen := map[string]bool{}
	row:
		for i := range rows {
			v := reflect.ValueOf(&rows[i]).Elem()
			var key strings.Builder
			for _, c := range set {
				fi, ok := s.byCol[c]
				if !ok {
					return fmt.Errorf("crudtest: unique column %q unknown", c)
				}
				x, ok := s.fields[fi].get(v)
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
	for _, f := range []*mfield{s.id, s.ca, s.ua, s.da, s.ver} {
		if f != nil && f.col == c {
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
		f    *mfield
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
		fi, ok := s.byCol[c]
		if !ok || s.managed(c) {
			probs = append(probs, crud.Problem{Field: c, Reason: "unknown or read-only field"})
			continue
		}
		f := &s.fields[fi]
		v := p.Set[c]
		if raw, ok := v.(json.RawMessage); v == nil || ok && string(raw) == "null" {
			if !f.nullable {
				probs = append(probs, crud.Problem{Field: c, Reason: "cannot be null"})
			}
			changes = append(changes, change{f: f, null: true})
			continue
		}
		cv, err := f.convert(v)
		if err != nil {
			probs = append(probs, crud.Problem{Field: c, Reason: err.Error()})
			continue
		}
		changes = append(changes, change{f: f, v: cv})
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
	row := s.rows[i]
	v := reflect.ValueOf(&row).Elem()
	if p.Version != 0 && v.FieldByIndex(s.ver.index).Int() != p.Version {
		return zero, crud.ErrConflict.WithProblems()
	}
	for _, c := range changes {
		c.f.set(v, c.v, c.null)
	}
	s.touch(v)
	rows := slices.Clone(s.rows)
	rows[i] = row
	if err := s.checkUnique(rows); err != nil {
		return zero, err
	}
	s.rows = rows
	return row, nil
}

// touch bumps updated_at and version.
func (s *MemStore[T]) touch(v reflect.Value) {
	if s.ua != nil {
		s.ua.set(v, reflect.ValueOf(s.nowUTC()), false)
	}
	if s.ver != nil {
		vf := v.FieldByIndex(s.ver.index)
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
	s.da.set(v, reflect.ValueOf(s.nowUTC()), !deleted)
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
	if pl.offset < len(matched) {
		matched = matched[pl.offset:]
	} else {
		matched = matched[:0]
	}
	page := crud.Page[T]{Limit: pl.limit, Offset: pl.offset, Items: []T{}}
	if len(matched) > pl.limit {
		page.HasMore = true
		matched = matched[:pl.limit]
		if pl.cursorable {
			if page.NextCursor, err = s.cursorFor(pl, &matched[pl.limit-1]); err != nil {
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

type mplan struct {
	filters    []mfilter
	sort       []msort
	sig        string
	after      []reflect.Value
	limit      int
	offset     int
	deleted    crud.Deleted
	cursorable bool
}

type mfilter struct {
	f    *mfield
	op   crud.Op
	vals []reflect.Value
	text string
	null bool
}

type msort struct {
	f    *mfield
	desc bool
}

func (s *MemStore[T]) plan(q crud.Query, forList bool) (*mplan, error) {
	pl := &mplan{limit: q.Limit, offset: q.Offset, deleted: q.Deleted, cursorable: true}
	var probs []crud.Problem
	add := func(f, r string) { probs = append(probs, crud.Problem{Field: f, Reason: r}) }
	if q.Deleted > crud.OnlyDeleted {
		add("deleted", "unknown value")
	}
	for _, f := range q.Filters {
		fi, ok := s.byCol[f.Field]
		if !ok {
			add(f.Field, "unknown field")
			continue
		}
		fd := &s.fields[fi]
		mf := mfilter{f: fd, op: f.Op}
		switch f.Op {
		case crud.IsNull:
			b, ok := f.Value.(bool)
			if !ok {
				add(f.Field, "isnull needs true or false")
				continue
			}
			mf.null = b
		case crud.Contains, crud.Prefix:
			str, ok := f.Value.(string)
			if !ok || str == "" || !fd.isText() || !utf8.ValidString(str) {
				add(f.Field, "needs a non-empty UTF-8 text value on a text field")
				continue
			}
			mf.text = strings.ToLower(str)
		case crud.In:
			rv := reflect.ValueOf(f.Value)
			if f.Value == nil || (rv.Kind() != reflect.Slice && rv.Kind() != reflect.Array) || rv.Len() == 0 || rv.Len() > 1000 {
				add(f.Field, "in needs 1 to 1000 values")
				continue
			}
			okAll := true
			for j := range rv.Len() {
				x := rv.Index(j).Interface()
				if x == nil {
					okAll = false
					break
				}
				cv, err := fd.convert(x)
				if err != nil {
					okAll = false
					break
				}
				mf.vals = append(mf.vals, cv)
			}
			if !okAll {
				add(f.Field, "bad in value")
				continue
			}
		case crud.Eq, crud.Ne, crud.Lt, crud.Lte, crud.Gt, crud.Gte:
			if f.Op != crud.Eq && f.Op != crud.Ne && !fd.ordered() {
				add(f.Field, "operator not supported on this field")
				continue
			}
			if f.Value == nil {
				add(f.Field, "value cannot be null")
				continue
			}
			cv, err := fd.convert(f.Value)
			if err != nil {
				add(f.Field, err.Error())
				continue
			}
			mf.vals = []reflect.Value{cv}
		default:
			add(f.Field, "unknown operator")
			continue
		}
		pl.filters = append(pl.filters, mf)
	}
	if forList {
		if pl.limit == 0 {
			pl.limit = min(20, s.max)
		}
		if pl.limit < 1 || pl.limit > s.max {
			add("limit", "out of range")
		}
		if pl.offset < 0 {
			add("offset", "must not be negative")
		}
		if q.Cursor != "" && pl.offset != 0 {
			add("cursor", "cannot be combined with offset")
		}
		hasID := false
		var sigs []string
		for _, k := range q.Sort {
			fi, ok := s.byCol[k.Field]
			if !ok || !s.fields[fi].sortable() {
				add("sort", "unknown sort field")
				continue
			}
			if slices.ContainsFunc(pl.sort, func(m msort) bool { return m.f.col == k.Field }) {
				add("sort", "repeated sort key")
				continue
			}
			f := &s.fields[fi]
			pl.sort = append(pl.sort, msort{f: f, desc: k.Desc})
			sigs = append(sigs, k.String())
			hasID = hasID || f == s.id
			if f.nullable {
				pl.cursorable = false
			}
		}
		if !hasID {
			pl.sort = append(pl.sort, msort{f: s.id})
			sigs = append(sigs, s.id.col)
		}
		pl.sig = strings.Join(sigs, ",")
		if q.Cursor != "" && len(probs) == 0 {
			if !pl.cursorable {
				add("cursor", "cursor pagination cannot sort on a nullable field")
			} else if err := s.openCursor(pl, q.Cursor); err != nil {
				return nil, err
			}
		}
	}
	if len(probs) > 0 {
		return nil, crud.ErrInvalidQuery.WithProblems(probs...)
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

func (f *mfilter) test(row reflect.Value) bool {
	x, present := f.f.get(row)
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
	for _, k := range pl.sort {
		x, okx := k.f.get(va)
		y, oky := k.f.get(vb)
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
			if k.desc {
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
	for i, k := range pl.sort {
		x, _ := k.f.get(va)
		c := compare(x, pl.after[i])
		if k.desc {
			c = -c
		}
		if c != 0 {
			return c
		}
	}
	return 0
}

type cursorBody struct {
	Sort   string            `json:"s"`
	Values []json.RawMessage `json:"v"`
}

func (s *MemStore[T]) cursorFor(pl *mplan, row *T) (string, error) {
	v := reflect.ValueOf(row).Elem()
	cb := cursorBody{Sort: pl.sig}
	for _, k := range pl.sort {
		x, _ := k.f.get(v)
		var b []byte
		var err error
		switch {
		case x.CanFloat() && (math.IsNaN(x.Float()) || math.IsInf(x.Float(), 0)):
			b, err = json.Marshal(strconv.FormatFloat(x.Float(), 'g', -1, 64)) // as crud writes them
		case x.Kind() == reflect.String && !utf8.ValidString(x.String()):
			b, err = json.Marshal(map[string][]byte{"b": []byte(x.String())})
		default:
			b, err = json.Marshal(x.Interface())
		}
		if err != nil {
			return "", err
		}
		cb.Values = append(cb.Values, b)
	}
	body, err := json.Marshal(cb)
	if err != nil {
		return "", err
	}
	mac := hmac.New(sha256.New, s.key)
	mac.Write(body)
	enc := base64.RawURLEncoding
	return enc.EncodeToString(body) + "." + enc.EncodeToString(mac.Sum(nil)), nil
}

func (s *MemStore[T]) openCursor(pl *mplan, c string) error {
	bad := crud.ErrInvalidQuery.WithProblems(crud.Problem{Field: "cursor", Reason: "invalid or tampered cursor"})
	b64, sig64, ok := strings.Cut(c, ".")
	if !ok || len(c) > 2048 {
		return bad
	}
	enc := base64.RawURLEncoding.Strict()
	body, err1 := enc.DecodeString(b64)
	sig, err2 := enc.DecodeString(sig64)
	if err1 != nil || err2 != nil {
		return bad
	}
	mac := hmac.New(sha256.New, s.key)
	mac.Write(body)
	if !hmac.Equal(sig, mac.Sum(nil)) {
		return bad
	}
	var cb cursorBody
	if json.Unmarshal(body, &cb) != nil || len(cb.Values) != len(pl.sort) {
		return bad
	}
	if cb.Sort != pl.sig {
		return crud.ErrInvalidQuery.WithProblems(crud.Problem{Field: "cursor", Reason: "cursor belongs to a different sort"})
	}
	for i, raw := range cb.Values {
		v, err := pl.sort[i].f.fromCursor(raw)
		if err != nil {
			return bad
		}
		pl.after = append(pl.after, v)
	}
	return nil
}
