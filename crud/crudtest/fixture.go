package crudtest

import (
	"time"

	"github.com/gantry-dev/gantry/crud"
)

// Fixture is the row type of the conformance suite [RunStoreTests]. Its
// table has every feature a store must handle: an integer id, a unique
// slug, typed and nullable columns, managed timestamps, soft delete, a
// version, and sensitive columns (hashed_password, is_superuser) that must
// never be filterable or writable through a patch.
type Fixture struct {
	ID             int64      `db:"id" json:"id"`
	Slug           string     `db:"slug" json:"slug"`
	Title          string     `db:"title" json:"title"`
	AuthorID       int64      `db:"author_id" json:"author_id"`
	Published      bool       `db:"published" json:"published"`
	Score          float64    `db:"score" json:"score"`
	Note           *string    `db:"note" json:"note"`
	PublishedAt    *time.Time `db:"published_at" json:"published_at"`
	HashedPassword string     `db:"hashed_password" json:"-"`
	IsSuperuser    bool       `db:"is_superuser" json:"-"`
	CreatedAt      time.Time  `db:"created_at" json:"created_at"`
	UpdatedAt      time.Time  `db:"updated_at" json:"updated_at"`
	DeletedAt      *time.Time `db:"deleted_at" json:"deleted_at,omitempty"`
	Version        int64      `db:"version" json:"version"`
}

// FixtureTable is the table name the suite's stores use.
const FixtureTable = "fixtures"

// FixtureConfig is the repository configuration for [Fixture]: the
// sensitive columns are read-only.
func FixtureConfig() crud.Config {
	return crud.Config{
		Table:     FixtureTable,
		ReadOnly:  []string{"hashed_password", "is_superuser"},
		CursorKey: []byte("crudtest fixture cursor key, not a secret"),
	}
}

// FixtureWritable returns the columns a patch may set in the suite.
func FixtureWritable() []string {
	return []string{"slug", "title", "author_id", "published", "score", "note", "published_at"}
}

// FixtureSpec is the query spec of the suite: hashed_password and
// is_superuser are neither filterable nor sortable.
func FixtureSpec() crud.QuerySpec {
	return crud.QuerySpec{
		Filters: map[string]crud.FilterSpec{
			"author_id":    {Type: crud.Int, Ops: []crud.Op{crud.Eq, crud.Ne, crud.In}},
			"published":    {Type: crud.Bool},
			"score":        {Type: crud.Float, Ops: []crud.Op{crud.Eq, crud.Lt, crud.Lte, crud.Gt, crud.Gte}},
			"title":        {Type: crud.String, Ops: []crud.Op{crud.Eq, crud.Contains, crud.Prefix}},
			"note":         {Type: crud.String, Ops: []crud.Op{crud.IsNull}},
			"published_at": {Type: crud.Time, Ops: []crud.Op{crud.Gte, crud.Lt, crud.IsNull}},
			"created_at":   {Type: crud.Time, Ops: []crud.Op{crud.Gte, crud.Lt}},
		},
		Sort:         []string{"title", "score", "author_id", "created_at", "published_at"},
		AllowDeleted: true,
	}
}

// FixtureSchema returns the CREATE TABLE statement of the fixtures table
// for a dialect.
func FixtureSchema(d crud.Dialect) string {
	if d == crud.Postgres {
		return `CREATE TABLE fixtures (
	id BIGSERIAL PRIMARY KEY,
	slug TEXT NOT NULL UNIQUE,
	title TEXT NOT NULL,
	author_id BIGINT NOT NULL,
	published BOOLEAN NOT NULL DEFAULT false,
	score DOUBLE PRECISION NOT NULL DEFAULT 0,
	note TEXT,
	published_at TIMESTAMPTZ,
	hashed_password TEXT NOT NULL DEFAULT '',
	is_superuser BOOLEAN NOT NULL DEFAULT false,
	created_at TIMESTAMPTZ NOT NULL,
	updated_at TIMESTAMPTZ NOT NULL,
	deleted_at TIMESTAMPTZ,
	version BIGINT NOT NULL DEFAULT 1
)`
	}
	return `CREATE TABLE fixtures (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	slug TEXT NOT NULL UNIQUE,
	title TEXT NOT NULL,
	author_id INTEGER NOT NULL,
	published BOOLEAN NOT NULL DEFAULT 0,
	score REAL NOT NULL DEFAULT 0,
	note TEXT,
	published_at TIMESTAMP,
	hashed_password TEXT NOT NULL DEFAULT '',
	is_superuser BOOLEAN NOT NULL DEFAULT 0,
	created_at TIMESTAMP NOT NULL,
	updated_at TIMESTAMP NOT NULL,
	deleted_at TIMESTAMP,
	version INTEGER NOT NULL DEFAULT 1
)`
}
