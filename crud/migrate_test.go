package crud_test

import (
	"errors"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/crud"
	"github.com/gantry-dev/gantry/internal/testenv"
	"github.com/jmoiron/sqlx"
)

type author struct {
	ID        int64     `db:"id"`
	Name      string    `db:"name"`
	CreatedAt time.Time `db:"created_at"`
	UpdatedAt time.Time `db:"updated_at"`
}

type post struct {
	ID        int64      `db:"id"`
	AuthorID  int64      `db:"author_id"`
	Title     string     `db:"title"`
	CreatedAt time.Time  `db:"created_at"`
	UpdatedAt time.Time  `db:"updated_at"`
	DeletedAt *time.Time `db:"deleted_at"`
	Version   int64      `db:"version"`
}

// emptyDB returns an empty database of the dialect.
func emptyDB(tb testing.TB, d crud.Dialect) *sqlx.DB {
	tb.Helper()
	if d == crud.Postgres {
		return testenv.Postgres(tb)
	}
	return openSQLite(tb)
}

// migrated returns a database with the authors and posts tables.
func migrated(tb testing.TB, d crud.Dialect) *sqlx.DB {
	tb.Helper()
	db := emptyDB(tb, d)
	if _, err := crud.Migrate(tb.Context(), db.DB, d, os.DirFS("testdata/migrations"), string(d)); err != nil {
		tb.Fatalf("Migrate: %v", err)
	}
	return db
}

func TestMigrate(t *testing.T) {
	for _, d := range dialects {
		t.Run(string(d), func(t *testing.T) {
			ctx := t.Context()
			db := emptyDB(t, d)
			fsys, dir := os.DirFS("testdata/migrations"), string(d)
			st, err := crud.MigrateStatus(ctx, db.DB, d, fsys, dir)
			if err != nil || len(st) != 2 || st[0].Applied || st[1].Applied {
				t.Fatalf("MigrateStatus(fresh) = %+v, %v; want 2 pending", st, err)
			}
			applied, err := crud.Migrate(ctx, db.DB, d, fsys, dir)
			if want := []string{"00001_authors.sql", "00002_posts.sql"}; err != nil || !slices.Equal(applied, want) {
				t.Fatalf("Migrate = %v, %v; want %v", applied, err, want)
			}
			if applied, err := crud.Migrate(ctx, db.DB, d, fsys, dir); err != nil || len(applied) != 0 {
				t.Errorf("Migrate again = %v, %v; want nothing to do", applied, err)
			}
			st, err = crud.MigrateStatus(ctx, db.DB, d, fsys, dir)
			if err != nil || !st[0].Applied || !st[1].Applied || st[1].Version != 2 || st[1].AppliedAt.IsZero() {
				t.Errorf("MigrateStatus = %+v, %v; want both applied", st, err)
			}
			if _, err := db.Exec("INSERT INTO authors (name, created_at, updated_at) VALUES ('a', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"); err != nil {
				t.Errorf("authors table unusable: %v", err)
			}
			down, err := crud.MigrateDown(ctx, db.DB, d, fsys, dir)
			if err != nil || down != "00002_posts.sql" {
				t.Errorf("MigrateDown = %q, %v; want 00002_posts.sql", down, err)
			}
			if _, err := db.Exec("SELECT 1 FROM posts"); err == nil {
				t.Errorf("posts still exists after MigrateDown")
			}
			if st, _ := crud.MigrateStatus(ctx, db.DB, d, fsys, dir); st[1].Applied {
				t.Errorf("00002 still applied after MigrateDown")
			}
			if _, err := crud.Migrate(ctx, db.DB, d, fsys, "nope"); err == nil {
				t.Errorf("Migrate(missing dir) = nil; want an error")
			}
		})
	}
}

func TestConstraintErrors(t *testing.T) {
	for _, d := range dialects {
		t.Run(string(d), func(t *testing.T) {
			ctx := t.Context()
			db := migrated(t, d)
			authors, err := crud.NewRepository[author](db, crud.Config{Table: "authors"})
			if err != nil {
				t.Fatal(err)
			}
			posts, err := crud.NewRepository[post](db, crud.Config{Table: "posts"})
			if err != nil {
				t.Fatal(err)
			}
			a := author{Name: "ann"}
			if err := authors.Create(ctx, &a); err != nil {
				t.Fatal(err)
			}
			tests := []struct {
				name   string
				err    error
				kind   error
				status int
			}{
				{"unique", authors.Create(ctx, &author{Name: "ann"}), crud.ErrConflict, http.StatusConflict},
				{"missing parent", posts.Create(ctx, &post{AuthorID: a.ID + 100, Title: "t"}), crud.ErrForeignKey, http.StatusUnprocessableEntity},
				{"check", posts.Create(ctx, &post{AuthorID: a.ID, Title: ""}), crud.ErrInvalidValue, http.StatusUnprocessableEntity},
			}
			p := post{AuthorID: a.ID, Title: "ok"}
			if err := posts.Create(ctx, &p); err != nil {
				t.Fatal(err)
			}
			tests = append(tests,
				struct {
					name   string
					err    error
					kind   error
					status int
				}{"still referenced", authors.Delete(ctx, a.ID), crud.ErrForeignKey, http.StatusConflict},
				struct {
					name   string
					err    error
					kind   error
					status int
				}{"update to missing parent", func() error {
					_, err := posts.Update(ctx, p.ID, crud.Patch{Set: map[string]any{"author_id": a.ID + 100}})
					return err
				}(), crud.ErrForeignKey, http.StatusUnprocessableEntity})
			for _, tt := range tests {
				var ce *crud.Error
				if !errors.Is(tt.err, tt.kind) || !errors.As(tt.err, &ce) || ce.HTTPStatus() != tt.status {
					t.Errorf("%s: err = %v; want %v with status %d", tt.name, tt.err, tt.kind, tt.status)
					continue
				}
				if errors.Unwrap(tt.err) == nil {
					t.Errorf("%s: the driver error is not kept as the cause", tt.name)
				}
				if msg := ce.PublicMessage(); slices.ContainsFunc([]string{"INSERT", "DELETE", "UPDATE", "authors", "posts", "fkey", "sqlite"},
					func(s string) bool { return strings.Contains(msg, s) }) {
					t.Errorf("%s: public message %q leaks SQL or schema", tt.name, msg)
				}
			}
		})
	}
}
