// Package crud is a generic, allow-listed data-access layer over sqlx for
// PostgreSQL and SQLite: get, list with filters, sort and offset or cursor
// pages, create, create-many, update with patches, hard delete, soft delete,
// restore, count and exists, plus transactions and migrations.
//
// It is the Go counterpart of the seed guide's CRUDBase, without its flaws:
// filters and sort keys are allow-listed (no oracle on hashed_password, no
// enumeration of is_superuser), updates set only allow-listed columns (no
// mass assignment), and soft delete has its own deleted_at column instead of
// reusing is_active.
//
// # Repositories
//
// A [Repository] maps a struct to a table through `db:"..."` tags, the way
// sqlx does. The layout is computed once per type and cached; the SQL of the
// fixed statements is generated once per repository. Conventional columns
// are found by name and managed for you; every name is configurable in
// [Config]:
//
//	id          primary key: an integer filled in by the database, or a
//	            string/UUID set by the caller or a column default
//	created_at  set on create            (time.Time)
//	updated_at  set on create and update (time.Time)
//	deleted_at  soft delete              (*time.Time, NULL = live)
//	version     optimistic locking       (integer, 1 on create, +1 per change)
//
// Identifiers are always quoted, every value is bound, and placeholders
// are written per dialect ($1 on PostgreSQL, ?1 on SQLite). The dialect is
// detected from the handle's driver name: "pgx" (github.com/jackc/pgx/v5/stdlib)
// or "sqlite" (modernc.org/sqlite, pure Go, the embedded default; open it
// with [SQLiteDSN]). Both drivers are linked in, for [Open].
//
// Handlers should depend on the small [Store] interface, which
// crudtest.MemStore also implements, on the same engine (the column
// layout, value conversion, filter checks and cursors are shared code), so
// the fake cannot drift from the real thing.
//
// # Opening a pool
//
// [Open] opens a pool from plain options ([DBConfig], which
// config.Settings.DatabaseConfig fills from DATABASE_*): PoolSize
// connections kept idle and MaxOverflow more under load, PoolTimeout as the
// longest a repository's statement waits for a free connection (then
// [ErrUnavailable], 503), a ping on open, SQLite in WAL mode with
// synchronous=NORMAL and a busy timeout, and with Debug every statement of
// a repository logged at level Debug with the types of its arguments, never
// their values. Booleans in filters are the words of the one grammar that
// config and typed routes share: true/false, t/f, yes/no, y/n, on/off, 1/0
// in any case.
//
// # Queries
//
// [ParseQuery] turns a query string into a [Query] under a [QuerySpec] that
// allow-lists each filter field with its operators and value type, and the
// sort fields. It reports every problem at once in one 400 error:
//
//	?author_id=3&published=true
//	?created_at[gte]=2024-01-01T00:00:00Z&title[contains]=go
//	?author_id[in]=1,2,3&note[isnull]=true
//	?sort=-created_at,title&limit=20&offset=40&include_total=true
//	?sort=-created_at&cursor=<Page.NextCursor>
//	?deleted=include|only                  (only with QuerySpec.AllowDeleted)
//
// A limit outside 1..MaxLimit (default 100) or an offset outside
// 0..MaxOffset (default 10,000) is refused with 400, never clamped. The id
// column is always the last sort key, so pages are stable. contains and
// prefix are case-insensitive (ILIKE on PostgreSQL, lower() LIKE on SQLite)
// with %, _ and \ in the user's text escaped.
//
// Cursors ([Page.NextCursor]) hold the last row's sort-key values, signed
// with HMAC-SHA256 under [Config].CursorKey; a tampered cursor, or one from a
// different sort, is a 400. The next page is selected with a keyset
// condition that handles mixed ascending and descending keys, so it stays
// fast at any depth and does not skip or repeat rows when rows are added.
// Sorting on a nullable column is allowed (NULLs last on both dialects) but
// gives no cursor. A cursor is at most 2048 bytes: a page whose last row has
// a very long text sort key gets a cursor that the next request refuses.
//
// Filter values are text as a client writes it: text must be UTF-8, a
// number finite, a time's UTC year 0 to 9999; anything else is a 400, never
// a database error.
//
// # Updates
//
// [ParsePatch] reads a JSON body into a [Patch] that may only set the
// allowed columns: unknown keys, keys in another letter case, duplicated
// keys and non-objects are refused with 422, and JSON null (set NULL) is
// told apart from an absent key (leave alone). The repository refuses, in
// any case, patches that touch the id, managed or [Config].ReadOnly
// columns, and values that do not fit the column's Go type. A refused patch
// writes nothing. With [Patch].Version set, a concurrent change turns into
// [ErrConflict] instead of a lost update.
//
// # Errors
//
// Errors are [*Error] values that match a sentinel with errors.Is
// ([ErrNotFound] 404, [ErrConflict] 409, [ErrForeignKey] 409/422,
// [ErrInvalidQuery] 400, [ErrInvalidPatch] 422, [ErrInvalidValue] 422,
// [ErrUnavailable] 503 when the database cannot be reached);
// [*Error] is apierror.Error, so the sentinels cannot be changed and a
// variant ([Error.WithProblems], [Error.WithMessage]) is a copy that still
// matches its sentinel. Details are [Problem]s. They implement HTTPStatus,
// ErrorType, ErrorDetails and PublicMessage, which the server's error
// handler reads; their public message never contains SQL or
// driver text, while the driver error stays reachable with errors.As for
// logs. Constraint violations are mapped from both drivers: pgx SQLSTATE
// 23505/23503/23502/23514 and SQLite extended codes (UNIQUE, PRIMARY KEY,
// FOREIGN KEY, NOT NULL, CHECK).
//
// # Transactions
//
// [InTx] runs a function in a transaction: commit on nil, rollback on an
// error or a panic (re-raised). The ctx it passes carries the transaction,
// and every repository built on the same *sqlx.DB joins it when given that
// ctx; [Repository.WithTx] binds one explicitly.
//
// # Migrations
//
// [Migrate], [MigrateDown] and [MigrateStatus] run goose SQL migrations
// (typically from an embed.FS) on either dialect.
//
// # What is reused, and why
//
// Scanning rows into structs is sqlx's (github.com/jmoiron/sqlx): it is
// well kept, fast, and the same code path hand-written sqlx uses, so a
// repository costs no more than the SQL it runs. Migrations are
// github.com/pressly/goose/v3 through its Provider API (no goose globals;
// a PostgreSQL advisory lock so that instances starting together migrate
// once). What is written here is what those libraries do not offer: the
// allow-listed query language, signed keyset cursors, patch checking,
// soft delete and version management, and driver-independent error
// mapping.
package crud
