package crud

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/jmoiron/sqlx"

	"github.com/gantry-dev/gantry/crud/internal/row"
)

// Store is the small interface that handlers consume: [Repository]
// implements it on PostgreSQL and SQLite, and crudtest.MemStore in memory,
// with the same semantics (crudtest.RunStoreTests checks both).
//
// Ids are the primary-key value: an int64 (or any integer), a string, or a
// value of the id field's type such as uuid.UUID; strings are parsed into
// the id field's type. An id that cannot be one of the table's ids yields
// [ErrNotFound].
type Store[T any] interface {
	// Get returns the live row with the id, or ErrNotFound (also for a
	// soft-deleted row).
	Get(ctx context.Context, id any) (T, error)
	// List returns a page of rows; see [Query]. Invalid queries fail with
	// ErrInvalidQuery before reaching the database.
	List(ctx context.Context, q Query) (Page[T], error)
	// Count returns the number of rows matching q's Filters and Deleted;
	// the rest of q is ignored.
	Count(ctx context.Context, q Query) (int64, error)
	// Exists reports whether a live row has the id.
	Exists(ctx context.Context, id any) (bool, error)
	// Create inserts item and fills in its id (when zero), created_at,
	// updated_at and version. A unique violation is ErrConflict.
	Create(ctx context.Context, item *T) error
	// CreateMany inserts items, all or none, filling them in as Create
	// does, with one statement per batch of rows.
	CreateMany(ctx context.Context, items []T) error
	// Update applies p to the live row with the id and returns the row as
	// stored. It refuses (ErrInvalidPatch, nothing written) unknown,
	// id, managed and read-only columns and values of the wrong type; a
	// stale p.Version is ErrConflict.
	Update(ctx context.Context, id any, p Patch) (T, error)
	// Delete removes the row with the id for good (live or soft-deleted).
	Delete(ctx context.Context, id any) error
	// SoftDelete marks the live row with the id as deleted.
	SoftDelete(ctx context.Context, id any) error
	// Restore brings back the soft-deleted row with the id.
	Restore(ctx context.Context, id any) error
}

// Config configures a [Repository]. Only Table is required; every other
// zero value means the default.
type Config struct {
	// Table is the table name, optionally schema-qualified ("app.posts").
	// Each part is quoted in SQL, so spell it as created.
	Table string
	// Dialect is detected from the handle's driver name when empty.
	Dialect Dialect
	// IDColumn is the primary key (default "id"): an integer filled in by
	// the database, or any other type (string, UUID) filled in by the
	// caller or by a column default.
	IDColumn string
	// CreatedAtColumn and UpdatedAtColumn are managed timestamps (defaults
	// "created_at", "updated_at"), set by the repository in UTC with
	// microsecond precision. A column the struct does not have is simply
	// not managed; "-" turns management off.
	CreatedAtColumn string
	UpdatedAtColumn string
	// DeletedAtColumn is the nullable soft-delete timestamp (default
	// "deleted_at"; the struct field must be a pointer such as *time.Time).
	// Without it SoftDelete and Restore fail and every row is live.
	DeletedAtColumn string
	// VersionColumn is the optimistic-locking counter (default "version"),
	// 1 on create and incremented by every update.
	VersionColumn string
	// ReadOnly lists further columns that Update never writes, whatever a
	// patch says (for example "is_superuser", "hashed_password" on a users
	// table whose admin endpoints use a separate repository or SQL).
	ReadOnly []string
	// CursorKey signs list cursors (HMAC-SHA256). Empty means a random key
	// per repository: cursors then stop working after a restart and across
	// instances, so set it in production (32 random bytes).
	CursorKey []byte
	// MaxLimit is the largest Query.Limit accepted (default 100).
	MaxLimit int
	// Now returns the current time (default time.Now).
	Now func() time.Time
}

// Repository is a table of rows of type T over sqlx, on PostgreSQL or
// SQLite. T is a struct whose fields map to columns by `db:"..."` tags (as
// sqlx maps them); the layout is computed once per type and cached.
//
// A Repository is safe for concurrent use. It never closes the handle it was
// given. It joins the transaction carried by the ctx of an [InTx] on the
// same *sqlx.DB, or the one given to [Repository.WithTx].
type Repository[T any] struct {
	db   *sqlx.DB
	ext  sqlx.ExtContext // set by WithTx
	pool *poolDriver     // Open's settings of db; nil for a pool opened elsewhere
	m    *model
}

// model is the compiled, immutable description of a repository's table.
type model struct {
	d         Dialect
	table     string // quoted
	si        *row.Info
	id        *row.Field
	createdAt *row.Field
	updatedAt *row.Field
	deletedAt *row.Field
	version   *row.Field
	readOnly  map[string]bool
	rows      row.Table // layout, id, cursor signer and page bound, for plans
	maxLimit  int
	now       func() time.Time

	cols       string    // quoted, comma-separated, in field order
	insertNoID []int     // field positions inserted when the id is zero
	insertAll  []int     // field positions inserted when the id is set
	getSQL     string    // live row by id
	existsSQL  string    // live row by id
	deleteSQL  string    // hard delete
	softSQL    string    // soft delete
	restoreSQL string    // restore
	insertSQL  [2]string // [0] without id, [1] with id
	manySQL    sync.Map  // batch statement by "rows/withID"
	maxParams  int
}

// NewRepository returns a repository of T for cfg.Table on db. It fails if
// T is not a struct, has no id column or maps a column twice, if a managed
// column has the wrong Go type, or if the dialect cannot be detected. It
// does not touch the database.
func NewRepository[T any](db *sqlx.DB, cfg Config) (*Repository[T], error) {
	if db == nil {
		return nil, errors.New("crud: nil db")
	}
	m, err := newModel(reflect.TypeFor[T](), db.DriverName(), cfg)
	if err != nil {
		return nil, err
	}
	return &Repository[T]{db: db, pool: poolOf(db), m: m}, nil
}

// WithTx returns a copy of r that runs every statement on tx (a *sqlx.Tx,
// usually the one [InTx] passes). The copy must not be used after the
// transaction ends.
func (r *Repository[T]) WithTx(tx sqlx.ExtContext) *Repository[T] {
	return &Repository[T]{db: r.db, ext: tx, pool: r.pool, m: r.m}
}

// Dialect returns the repository's SQL dialect.
func (r *Repository[T]) Dialect() Dialect { return r.m.d }

func newModel(t reflect.Type, driverName string, cfg Config) (*model, error) {
	if cfg.Table == "" {
		return nil, errors.New("crud: Config.Table is required")
	}
	d := cfg.Dialect
	if d == "" {
		var err error
		if d, err = DialectOf(driverName); err != nil {
			return nil, err
		}
	} else if d != Postgres && d != SQLite {
		return nil, fmt.Errorf("crud: unknown dialect %q", d)
	}
	si, err := row.InfoOf(t)
	if err != nil {
		return nil, err
	}
	m := &model{d: d, table: quoteTable(cfg.Table), si: si, readOnly: map[string]bool{},
		maxLimit: cfg.MaxLimit, now: cfg.Now}
	if m.maxLimit <= 0 {
		m.maxLimit = 100
	}
	if m.now == nil {
		m.now = time.Now
	}
	key := cfg.CursorKey
	if len(key) == 0 {
		key = make([]byte, 32)
		_, _ = rand.Read(key)
	}
	signer := row.NewSigner(key)
	col := func(name, def string) *row.Field {
		if name == "-" {
			return nil
		}
		if name == "" {
			name = def
		}
		if i, ok := si.ByCol[name]; ok {
			return &si.Fields[i]
		}
		return nil
	}
	idName := cfg.IDColumn
	if idName == "" {
		idName = "id"
	}
	if m.id = col(idName, "id"); m.id == nil {
		return nil, fmt.Errorf("crud: %v has no id column %q", t, idName)
	}
	m.createdAt = col(cfg.CreatedAtColumn, "created_at")
	m.updatedAt = col(cfg.UpdatedAtColumn, "updated_at")
	m.deletedAt = col(cfg.DeletedAtColumn, "deleted_at")
	m.version = col(cfg.VersionColumn, "version")
	for _, f := range []*row.Field{m.createdAt, m.updatedAt, m.deletedAt} {
		if f != nil && f.Kind != row.KindTime {
			return nil, fmt.Errorf("crud: column %q must be a time.Time or *time.Time", f.Column)
		}
	}
	if m.deletedAt != nil && !m.deletedAt.Nullable {
		return nil, fmt.Errorf("crud: column %q must be nullable (*time.Time)", m.deletedAt.Column)
	}
	if m.version != nil && m.version.Kind != row.KindInt {
		return nil, fmt.Errorf("crud: column %q must be an integer", m.version.Column)
	}
	for _, c := range cfg.ReadOnly {
		m.readOnly[c] = true
	}
	m.maxParams = 32766
	if d == Postgres {
		m.maxParams = 65535
	}
	m.rows = row.Table{Info: si, ID: m.id, Signer: signer, MaxLimit: m.maxLimit}
	m.compileStatements()
	return m, nil
}

func (m *model) compileStatements() {
	q := row.QuoteIdent
	names := make([]string, len(m.si.Fields))
	for i, f := range m.si.Fields {
		names[i] = q(f.Column)
		if f.Column != m.id.Column {
			m.insertNoID = append(m.insertNoID, i)
		}
		m.insertAll = append(m.insertAll, i)
	}
	m.cols = strings.Join(names, ", ")
	idc := q(m.id.Column)
	live := ""
	if m.deletedAt != nil {
		live = " AND " + q(m.deletedAt.Column) + " IS NULL"
	}
	p := m.d.placeholder
	m.getSQL = "SELECT " + m.cols + " FROM " + m.table + " WHERE " + idc + " = " + p(1) + live
	m.existsSQL = "SELECT 1 FROM " + m.table + " WHERE " + idc + " = " + p(1) + live
	m.deleteSQL = "DELETE FROM " + m.table + " WHERE " + idc + " = " + p(1)
	if m.deletedAt != nil {
		set := func(val string) string {
			s := q(m.deletedAt.Column) + " = " + val
			if m.updatedAt != nil {
				s += ", " + q(m.updatedAt.Column) + " = " + p(1)
			}
			if m.version != nil {
				s += ", " + q(m.version.Column) + " = " + q(m.version.Column) + " + 1"
			}
			return s
		}
		m.softSQL = "UPDATE " + m.table + " SET " + set(p(1)) + " WHERE " + idc + " = " + p(2) + live
		idAt := p(2)
		if m.updatedAt == nil {
			idAt = p(1) // restore then binds the id only
		}
		m.restoreSQL = "UPDATE " + m.table + " SET " + set("NULL") + " WHERE " + idc + " = " + idAt +
			" AND " + q(m.deletedAt.Column) + " IS NOT NULL"
	}
	m.insertSQL[0] = m.insertStatement(m.insertNoID, 1, true)
	m.insertSQL[1] = m.insertStatement(m.insertAll, 1, false)
}

// insertStatement returns INSERT ... VALUES (...) x rows [RETURNING id].
func (m *model) insertStatement(fields []int, rows int, returning bool) string {
	var b strings.Builder
	b.WriteString("INSERT INTO ")
	b.WriteString(m.table)
	b.WriteString(" (")
	for i, fi := range fields {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(row.QuoteIdent(m.si.Fields[fi].Column))
	}
	b.WriteString(") VALUES ")
	n := 0
	for r := range rows {
		if r > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('(')
		for i := range fields {
			if i > 0 {
				b.WriteString(", ")
			}
			n++
			b.WriteString(m.d.placeholder(n))
		}
		b.WriteByte(')')
	}
	if returning {
		b.WriteString(" RETURNING ")
		b.WriteString(row.QuoteIdent(m.id.Column))
	}
	return b.String()
}

// inTx reports whether statements run in a transaction: WithTx's or the
// ctx's InTx on r's pool.
func (r *Repository[T]) inTx(ctx context.Context) bool {
	if r.ext != nil {
		return true
	}
	st, ok := ctx.Value(txKey{}).(*txState)
	return ok && st.db == r.db
}

// handle returns the statement runner (WithTx's, ctx's InTx, or the pool:
// on a pool from Open a connection taken within its PoolTimeout) and the
// function that releases it. On a pool from Open with Debug, the runner
// logs each statement.
func (r *Repository[T]) handle(ctx context.Context) (runner, func(), error) {
	var h runner
	release := func() {}
	if r.ext != nil {
		h = r.ext
	} else if st, ok := ctx.Value(txKey{}).(*txState); ok && st.db == r.db {
		h = st.tx
	} else {
		var err error
		if h, release, err = r.pool.acquire(ctx, r.db); err != nil {
			return nil, nil, err
		}
	}
	if r.pool != nil && r.pool.log != nil {
		h = logged{r: h, log: r.pool.log}
	}
	return h, release, nil
}

// idValue converts an id argument; ok is false when it cannot be an id.
func (m *model) idValue(id any) (any, bool) {
	if id == nil {
		return nil, false
	}
	if s, ok := id.(string); ok && !utf8.ValidString(s) {
		return nil, false // no row has it; PostgreSQL would answer with an error
	}
	if reflect.TypeOf(id) == m.id.Base {
		return id, true
	}
	v, err := m.id.Convert(id)
	return v, err == nil
}

func (m *model) nowUTC() time.Time { return m.now().UTC().Truncate(time.Microsecond) }

// Get returns the live row with the id, or [ErrNotFound].
func (r *Repository[T]) Get(ctx context.Context, id any) (T, error) {
	var out T
	idv, ok := r.m.idValue(id)
	if !ok {
		return out, ErrNotFound
	}
	h, release, err := r.handle(ctx)
	if err != nil {
		return out, err
	}
	defer release()
	if err := sqlx.GetContext(ctx, h, &out, r.m.getSQL, idv); err != nil {
		return out, r.m.d.mapError(err, opRead)
	}
	return out, nil
}

// Exists reports whether a live row has the id.
func (r *Repository[T]) Exists(ctx context.Context, id any) (bool, error) {
	idv, ok := r.m.idValue(id)
	if !ok {
		return false, nil
	}
	return r.exists(ctx, r.m.existsSQL, idv)
}

func (r *Repository[T]) exists(ctx context.Context, query string, idv any) (bool, error) {
	h, release, err := r.handle(ctx)
	if err != nil {
		return false, err
	}
	defer release()
	return r.existsOn(ctx, h, query, idv)
}

// existsOn is exists on a runner already held.
func (r *Repository[T]) existsOn(ctx context.Context, h runner, query string, idv any) (bool, error) {
	var one int
	if err := h.QueryRowxContext(ctx, query, idv).Scan(&one); err != nil {
		if err = r.m.d.mapError(err, opRead); errors.Is(err, ErrNotFound) {
			return false, nil
		}
		return false, err
	}
	return true, nil
}

// prepareCreate sets the managed fields of v and returns whether its id is
// set.
func (m *model) prepareCreate(v reflect.Value, now time.Time) bool {
	for _, f := range []*row.Field{m.createdAt, m.updatedAt} {
		if f != nil {
			setTime(v.FieldByIndex(f.Index), now)
		}
	}
	if m.version != nil {
		v.FieldByIndex(m.version.Index).SetInt(1)
	}
	return !v.FieldByIndex(m.id.Index).IsZero()
}

func setTime(fv reflect.Value, t time.Time) {
	if fv.Kind() == reflect.Pointer {
		p := new(time.Time)
		*p = t
		fv.Set(reflect.ValueOf(p))
		return
	}
	*fv.Addr().Interface().(*time.Time) = t
}

// appendArgs appends the bound values of v's fields, normalizing times to
// UTC and microseconds in place.
func (m *model) appendArgs(args []any, v reflect.Value, fields []int) []any {
	for _, fi := range fields {
		f := &m.si.Fields[fi]
		fv := v.FieldByIndex(f.Index)
		if f.Kind == row.KindTime && f.Base == row.TimeType {
			var tp *time.Time
			if f.Nullable {
				tp = fv.Interface().(*time.Time)
			} else {
				tp = fv.Addr().Interface().(*time.Time)
			}
			if tp == nil {
				args = append(args, nil)
				continue
			}
			*tp = tp.UTC().Truncate(time.Microsecond)
			args = append(args, *tp)
			continue
		}
		args = append(args, boxField(fv))
	}
	return args
}

// boxField returns the value of an addressable field as an any. The common
// kinds go through the compiler's conversions, which allocate less than
// reflect.Value.Interface (no allocation for small integers and booleans).
func boxField(fv reflect.Value) any {
	switch p := fv.Addr().Interface().(type) {
	case *int64:
		return *p
	case *int:
		return *p
	case *int32:
		return *p
	case *bool:
		return *p
	case *string:
		return *p
	case *float64:
		return *p
	}
	return fv.Interface()
}

// Create inserts item, filling in its id (when zero: generated by the
// database, so integer keys or keys with a column default), created_at,
// updated_at and version. A unique violation is [ErrConflict]; a missing
// referenced row is [ErrForeignKey].
func (r *Repository[T]) Create(ctx context.Context, item *T) error {
	m := r.m
	v := reflect.ValueOf(item).Elem()
	h, release, err := r.handle(ctx)
	if err != nil {
		return err
	}
	defer release()
	if m.prepareCreate(v, m.nowUTC()) {
		args := m.appendArgs(make([]any, 0, len(m.insertAll)), v, m.insertAll)
		_, err := h.ExecContext(ctx, m.insertSQL[1], args...)
		return m.d.mapError(err, opWrite)
	}
	args := m.appendArgs(make([]any, 0, len(m.insertNoID)), v, m.insertNoID)
	idf := v.FieldByIndex(m.id.Index)
	if err := h.QueryRowxContext(ctx, m.insertSQL[0], args...).Scan(idf.Addr().Interface()); err != nil {
		return m.d.mapError(err, opWrite)
	}
	return nil
}

// maxBatchRows bounds the rows of one CreateMany statement.
const maxBatchRows = 1000

// CreateMany inserts items in one transaction (joining the current one if
// any) with one INSERT per batch of up to 1,000 rows, and fills them in as
// Create does. Either every item has its id set or none has; integer ids
// left zero are taken from the database in insertion order.
func (r *Repository[T]) CreateMany(ctx context.Context, items []T) error {
	if len(items) == 0 {
		return nil
	}
	m := r.m
	now := m.nowUTC()
	withID := false
	for i := range items {
		set := m.prepareCreate(reflect.ValueOf(&items[i]).Elem(), now)
		if i == 0 {
			withID = set
		} else if set != withID {
			return newError(ErrInvalidValue, 0, "either every item has an id or none has", nil, nil)
		}
	}
	if !withID && m.id.Kind != row.KindInt && m.id.Kind != row.KindUint {
		return newError(ErrInvalidValue, 0, "items need ids: the id column is not an integer", nil, nil)
	}
	fields := m.insertNoID
	if withID {
		fields = m.insertAll
	}
	per := min(maxBatchRows, m.maxParams/len(fields))
	run := func(ctx context.Context, h runner) error {
		for start := 0; start < len(items); start += per {
			batch := items[start:min(start+per, len(items))]
			if err := r.insertBatch(ctx, h, batch, fields, withID); err != nil {
				return err
			}
		}
		return nil
	}
	if len(items) > per && !r.inTx(ctx) {
		return InTx(ctx, r.db, func(ctx context.Context, _ *sqlx.Tx) error {
			h, release, err := r.handle(ctx) // the tx, logged on a Debug pool
			if err != nil {
				return err
			}
			defer release()
			return run(ctx, h)
		})
	}
	h, release, err := r.handle(ctx)
	if err != nil {
		return err
	}
	defer release()
	return run(ctx, h)
}

func (r *Repository[T]) insertBatch(ctx context.Context, h runner, batch []T, fields []int, withID bool) error {
	m := r.m
	key := strconv.Itoa(len(batch)) + "/" + strconv.FormatBool(withID)
	q, ok := m.manySQL.Load(key)
	if !ok {
		q, _ = m.manySQL.LoadOrStore(key, m.insertStatement(fields, len(batch), !withID))
	}
	args := make([]any, 0, len(batch)*len(fields))
	for i := range batch {
		args = m.appendArgs(args, reflect.ValueOf(&batch[i]).Elem(), fields)
	}
	if withID {
		_, err := h.ExecContext(ctx, q.(string), args...)
		return m.d.mapError(err, opWrite)
	}
	rows, err := h.QueryContext(ctx, q.(string), args...)
	if err != nil {
		return m.d.mapError(err, opWrite)
	}
	defer rows.Close()
	ids := make([]int64, 0, len(batch))
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return m.d.mapError(err, opWrite)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return m.d.mapError(err, opWrite)
	}
	if len(ids) != len(batch) {
		return fmt.Errorf("crud: insert returned %d ids for %d rows", len(ids), len(batch))
	}
	slices.Sort(ids) // ids grow in VALUES order; RETURNING order is not promised
	for i := range batch {
		fv := reflect.ValueOf(&batch[i]).Elem().FieldByIndex(m.id.Index)
		if m.id.Kind == row.KindUint {
			fv.SetUint(uint64(ids[i]))
		} else {
			fv.SetInt(ids[i])
		}
	}
	return nil
}

// patchProblems validates p against the model and returns the columns (in
// a stable order) with their converted values.
func (m *model) checkPatch(p Patch) ([]string, []any, error) {
	var probs []Problem
	cols := make([]string, 0, len(p.Set))
	for c := range p.Set {
		cols = append(cols, c)
	}
	sort.Strings(cols)
	vals := make([]any, len(cols))
	for i, c := range cols {
		shown := c
		if len(shown) > maxParamName {
			shown = shown[:maxParamName] + "…"
		}
		fi, ok := m.si.ByCol[c]
		if !ok || m.readOnly[c] || m.managed(c) {
			probs = append(probs, Problem{Field: shown, Reason: "unknown or read-only field"})
			continue
		}
		f := &m.si.Fields[fi]
		v := p.Set[c]
		if v == nil || isJSONNull(v) {
			if !f.Nullable {
				probs = append(probs, Problem{Field: shown, Reason: "cannot be null"})
			}
			continue
		}
		cv, err := f.Convert(v)
		if err != nil {
			probs = append(probs, Problem{Field: shown, Reason: err.Error()})
			continue
		}
		vals[i] = cv
	}
	if p.Version != 0 && m.version == nil {
		probs = append(probs, Problem{Field: "version", Reason: "this resource has no version"})
	}
	if len(cols) == 0 {
		probs = append(probs, Problem{Field: "body", Reason: "no fields to update"})
	}
	if len(probs) > 0 {
		return nil, nil, newError(ErrInvalidPatch, 0, "invalid patch", probs, nil)
	}
	return cols, vals, nil
}

func isJSONNull(v any) bool {
	raw, ok := v.(json.RawMessage)
	return ok && string(raw) == "null"
}

// managed reports whether c is the id or a column the repository manages.
func (m *model) managed(c string) bool {
	for _, f := range []*row.Field{m.id, m.createdAt, m.updatedAt, m.deletedAt, m.version} {
		if f != nil && f.Column == c {
			return true
		}
	}
	return false
}

// Update applies p to the live row with the id and returns the row as now
// stored. Refused patches ([ErrInvalidPatch]) write nothing. With p.Version
// set, a row at another version is [ErrConflict]; a missing row is
// [ErrNotFound].
func (r *Repository[T]) Update(ctx context.Context, id any, p Patch) (T, error) {
	var out T
	m := r.m
	cols, vals, err := m.checkPatch(p)
	if err != nil {
		return out, err
	}
	idv, ok := m.idValue(id)
	if !ok {
		return out, ErrNotFound
	}
	var b strings.Builder
	args := make([]any, 0, len(cols)+4)
	bind := func(v any) string {
		args = append(args, v)
		return m.d.placeholder(len(args))
	}
	b.WriteString("UPDATE ")
	b.WriteString(m.table)
	b.WriteString(" SET ")
	for i, c := range cols {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(row.QuoteIdent(c))
		b.WriteString(" = ")
		b.WriteString(bind(vals[i]))
	}
	if m.updatedAt != nil {
		b.WriteString(", " + row.QuoteIdent(m.updatedAt.Column) + " = " + bind(m.nowUTC()))
	}
	if m.version != nil {
		vc := row.QuoteIdent(m.version.Column)
		b.WriteString(", " + vc + " = " + vc + " + 1")
	}
	b.WriteString(" WHERE " + row.QuoteIdent(m.id.Column) + " = " + bind(idv))
	if m.deletedAt != nil {
		b.WriteString(" AND " + row.QuoteIdent(m.deletedAt.Column) + " IS NULL")
	}
	if p.Version != 0 {
		b.WriteString(" AND " + row.QuoteIdent(m.version.Column) + " = " + bind(p.Version))
	}
	b.WriteString(" RETURNING " + m.cols)
	h, release, err := r.handle(ctx)
	if err != nil {
		return out, err
	}
	defer release()
	err = h.QueryRowxContext(ctx, b.String(), args...).StructScan(&out)
	if err == nil {
		return out, nil
	}
	err = m.d.mapError(err, opWrite)
	if errors.Is(err, ErrNotFound) && p.Version != 0 {
		live, xerr := r.existsOn(ctx, h, m.existsSQL, idv)
		if xerr != nil {
			return out, xerr
		}
		if live {
			return out, newError(ErrConflict, 0, "the row was changed by someone else; reload it and retry", nil, nil)
		}
	}
	return out, err
}

// Delete removes the row with the id for good, live or soft-deleted. A row
// still referenced by others is [ErrForeignKey] (409).
func (r *Repository[T]) Delete(ctx context.Context, id any) error {
	idv, ok := r.m.idValue(id)
	if !ok {
		return ErrNotFound
	}
	return r.execOne(ctx, r.m.deleteSQL, opDelete, idv)
}

// SoftDelete sets deleted_at on the live row with the id (and bumps
// updated_at and version). The row disappears from Get, List, Count and
// Exists unless a query asks for deleted rows.
func (r *Repository[T]) SoftDelete(ctx context.Context, id any) error {
	if r.m.deletedAt == nil {
		return errors.New("crud: table has no deleted_at column")
	}
	idv, ok := r.m.idValue(id)
	if !ok {
		return ErrNotFound
	}
	return r.execOne(ctx, r.m.softSQL, opWrite, r.m.nowUTC(), idv)
}

// Restore clears deleted_at on the soft-deleted row with the id; a row that
// is not soft-deleted is [ErrNotFound].
func (r *Repository[T]) Restore(ctx context.Context, id any) error {
	if r.m.deletedAt == nil {
		return errors.New("crud: table has no deleted_at column")
	}
	idv, ok := r.m.idValue(id)
	if !ok {
		return ErrNotFound
	}
	if r.m.updatedAt == nil {
		return r.execOne(ctx, r.m.restoreSQL, opWrite, idv)
	}
	return r.execOne(ctx, r.m.restoreSQL, opWrite, r.m.nowUTC(), idv)
}

func (r *Repository[T]) execOne(ctx context.Context, query string, o op, args ...any) error {
	h, release, err := r.handle(ctx)
	if err != nil {
		return err
	}
	defer release()
	res, err := h.ExecContext(ctx, query, args...)
	if err != nil {
		return r.m.d.mapError(err, o)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("crud: %w", err)
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}
