package crud_test

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/gantry-dev/gantry/crud"
	"github.com/gantry-dev/gantry/crud/crudtest"
	"github.com/jmoiron/sqlx"
	_ "modernc.org/sqlite" // the "sqlite" driver
)

// Post is a row of the posts table.
type Post struct {
	ID        int64      `db:"id" json:"id"`
	AuthorID  int64      `db:"author_id" json:"author_id"`
	Title     string     `db:"title" json:"title"`
	CreatedAt time.Time  `db:"created_at" json:"created_at"`
	UpdatedAt time.Time  `db:"updated_at" json:"updated_at"`
	DeletedAt *time.Time `db:"deleted_at" json:"-"`
	Version   int64      `db:"version" json:"version"`
}

const postsDDL = `CREATE TABLE posts (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	author_id INTEGER NOT NULL,
	title TEXT NOT NULL,
	created_at TIMESTAMP NOT NULL,
	updated_at TIMESTAMP NOT NULL,
	deleted_at TIMESTAMP,
	version INTEGER NOT NULL DEFAULT 1
)`

// openExampleDB opens a SQLite database in a temporary directory; cleanup
// closes and removes it.
func openExampleDB(ddl ...string) (db *sqlx.DB, cleanup func(), err error) {
	dir, err := os.MkdirTemp("", "crud-example")
	if err != nil {
		return nil, nil, err
	}
	db, err = sqlx.Open("sqlite", crud.SQLiteDSN(filepath.Join(dir, "app.db")))
	if err != nil {
		os.RemoveAll(dir)
		return nil, nil, err
	}
	for _, stmt := range ddl {
		if _, err := db.Exec(stmt); err != nil {
			db.Close()
			os.RemoveAll(dir)
			return nil, nil, err
		}
	}
	return db, func() { db.Close(); os.RemoveAll(dir) }, nil
}

func ExampleRepository() {
	ctx := context.Background()
	db, cleanup, err := openExampleDB(postsDDL)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer cleanup()

	posts, err := crud.NewRepository[Post](db, crud.Config{Table: "posts", CursorKey: []byte("32 random bytes in production")})
	if err != nil {
		fmt.Println(err)
		return
	}
	for i, title := range []string{"Go generics", "SQL injection, avoided", "Keyset pagination"} {
		p := Post{AuthorID: int64(i%2 + 1), Title: title}
		if err := posts.Create(ctx, &p); err != nil {
			fmt.Println(err)
			return
		}
	}
	p, _ := posts.Get(ctx, 2)
	fmt.Printf("got %d %q version %d\n", p.ID, p.Title, p.Version)

	p, err = posts.Update(ctx, 2, crud.Patch{Set: map[string]any{"title": "SQL injection, refused"}, Version: 1})
	fmt.Printf("updated %q version %d, %v\n", p.Title, p.Version, err)
	_, err = posts.Update(ctx, 2, crud.Patch{Set: map[string]any{"title": "stale"}, Version: 1})
	fmt.Println("stale update:", errors.Is(err, crud.ErrConflict))

	_ = posts.SoftDelete(ctx, 1)
	_, err = posts.Get(ctx, 1)
	fmt.Println("soft-deleted:", errors.Is(err, crud.ErrNotFound))

	page, _ := posts.List(ctx, crud.Query{Sort: []crud.Sort{{Field: "title"}}, Limit: 1, IncludeTotal: true})
	fmt.Println("first page:", page.Items[0].Title, "of", *page.Total, "more:", page.HasMore)
	page, _ = posts.List(ctx, crud.Query{Sort: []crud.Sort{{Field: "title"}}, Limit: 1, Cursor: page.NextCursor})
	fmt.Println("next page:", page.Items[0].Title, "more:", page.HasMore)

	n, _ := posts.Count(ctx, crud.Query{Deleted: crud.WithDeleted})
	fmt.Println("with deleted:", n)
	// Output:
	// got 2 "SQL injection, avoided" version 1
	// updated "SQL injection, refused" version 2, <nil>
	// stale update: true
	// soft-deleted: true
	// first page: Keyset pagination of 2 more: true
	// next page: SQL injection, refused more: false
	// with deleted: 3
}

func ExampleParseQuery() {
	spec := crud.QuerySpec{
		Filters: map[string]crud.FilterSpec{
			"author_id":  {Type: crud.Int, Ops: []crud.Op{crud.Eq, crud.In}},
			"created_at": {Type: crud.Time, Ops: []crud.Op{crud.Gte, crud.Lt}},
			"title":      {Type: crud.String, Ops: []crud.Op{crud.Contains}},
		},
		Sort:        []string{"created_at", "title"},
		DefaultSort: "-created_at",
	}
	v, _ := url.ParseQuery("author_id[in]=1,2&created_at[gte]=2024-01-01T00:00:00Z&sort=-created_at,title&limit=50")
	q, err := crud.ParseQuery(v, spec)
	fmt.Println(err)
	for _, f := range q.Filters {
		fmt.Printf("%s %s %v\n", f.Field, f.Op, f.Value)
	}
	fmt.Println(q.Sort, q.Limit)

	v, _ = url.ParseQuery("sort=hashed_password&is_superuser=true&limit=1000000000")
	_, err = crud.ParseQuery(v, spec)
	fmt.Println(errors.Is(err, crud.ErrInvalidQuery), err.(*crud.Error).HTTPStatus())
	for _, p := range crud.Problems(err) {
		fmt.Printf("%s: %s\n", p.Field, p.Reason)
	}
	// Output:
	// <nil>
	// author_id in [1 2]
	// created_at gte 2024-01-01 00:00:00 +0000 UTC
	// [-created_at title] 50
	// true 400
	// is_superuser: unknown parameter or field not filterable
	// limit: must be an integer from 1 to 100
	// sort: cannot sort by hashed_password; sortable: id, created_at, title
}

func ExampleParsePatch() {
	_, err := crud.ParsePatch([]byte(`{"title":"new","is_superuser":true,"Title":"x"}`), "title", "body")
	for _, p := range crud.Problems(err) {
		fmt.Printf("%s: %s\n", p.Field, p.Reason)
	}
	p, _ := crud.ParsePatch([]byte(`{"title":"new","body":null}`), "title", "body")
	_, hasTitle := p.Set["title"]
	body, hasBody := p.Set["body"]
	fmt.Println(hasTitle, hasBody, body == nil)
	// Output:
	// Title: unknown or read-only field
	// is_superuser: unknown or read-only field
	// true true true
}

func ExampleInTx() {
	ctx := context.Background()
	db, cleanup, err := openExampleDB(postsDDL)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer cleanup()
	posts, _ := crud.NewRepository[Post](db, crud.Config{Table: "posts"})

	// Both posts or neither: the repository joins the transaction carried
	// by ctx.
	err = crud.InTx(ctx, db, func(ctx context.Context, tx *sqlx.Tx) error {
		for _, title := range []string{"part 1", "part 2"} {
			if err := posts.Create(ctx, &Post{AuthorID: 1, Title: title}); err != nil {
				return err
			}
		}
		return nil
	})
	fmt.Println("committed:", err)

	err = crud.InTx(ctx, db, func(ctx context.Context, tx *sqlx.Tx) error {
		if err := posts.Create(ctx, &Post{AuthorID: 1, Title: "part 3"}); err != nil {
			return err
		}
		return errors.New("changed my mind")
	})
	n, _ := posts.Count(ctx, crud.Query{})
	fmt.Println("rolled back:", err, "- posts:", n)
	// Output:
	// committed: <nil>
	// rolled back: changed my mind - posts: 2
}

func ExampleMigrate() {
	// Typically: //go:embed migrations/*.sql, then Migrate(ctx, db.DB, crud.Postgres, migrationsFS, "migrations").
	db, cleanup, err := openExampleDB()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer cleanup()
	applied, err := crud.Migrate(context.Background(), db.DB, crud.SQLite, os.DirFS("testdata/migrations"), "sqlite")
	fmt.Println(applied, err)
	// Output:
	// [00001_authors.sql 00002_posts.sql] <nil>
}

func Example_memStore() {
	// Handler tests can use the in-memory store: same Store interface, same
	// semantics, no database.
	var store crud.Store[Post]
	mem, err := crudtest.NewMemStore[Post](crudtest.MemConfig{})
	if err != nil {
		fmt.Println(err)
		return
	}
	store = mem
	ctx := context.Background()
	_ = store.Create(ctx, &Post{AuthorID: 1, Title: "hello"})
	p, err := store.Get(ctx, 1)
	fmt.Println(p.Title, p.Version, err)
	_, err = store.Get(ctx, 2)
	fmt.Println(errors.Is(err, crud.ErrNotFound))
	// Output:
	// hello 1 <nil>
	// true
}

// ExampleOpen opens a pool from plain options, as
// config.Settings.DatabaseConfig returns them, and runs a repository on it.
func ExampleOpen() {
	ctx := context.Background()
	db, err := crud.Open(ctx, crud.DBConfig{
		URL:         "sqlite://:memory:", // or postgres://user@host:5432/app
		PoolSize:    5,                   // connections kept idle
		MaxOverflow: 10,                  // more under load: at most 15 open
		PoolTimeout: 30 * time.Second,    // then crud.ErrUnavailable (503)
		PrePing:     true,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer db.Close()
	db.MustExec(postsDDL)
	posts, err := crud.NewRepository[Post](db, crud.Config{Table: "posts"})
	if err != nil {
		fmt.Println(err)
		return
	}
	p := Post{AuthorID: 1, Title: "Hello"}
	if err := posts.Create(ctx, &p); err != nil {
		fmt.Println(err)
		return
	}
	n, _ := posts.Count(ctx, crud.Query{})
	fmt.Println(p.ID, n, db.Stats().MaxOpenConnections) // an in-memory SQLite database lives on one connection
	// Output: 1 1 1
}
