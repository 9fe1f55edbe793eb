package crud_test

import (
	"path/filepath"
	"testing"

	"github.com/gantry-dev/gantry/crud"
	"github.com/gantry-dev/gantry/crud/crudtest"
	"github.com/gantry-dev/gantry/internal/testenv"
	"github.com/jmoiron/sqlx"
	_ "modernc.org/sqlite"
)

// openSQLite returns a pool on a fresh SQLite file in t.TempDir().
func openSQLite(tb testing.TB) *sqlx.DB {
	tb.Helper()
	db, err := sqlx.Open("sqlite", crud.SQLiteDSN(filepath.Join(tb.TempDir(), "test.db")))
	if err != nil {
		tb.Fatalf("open sqlite: %v", err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

// fixtureDB returns a database of the dialect with the fixtures table.
func fixtureDB(tb testing.TB, d crud.Dialect) *sqlx.DB {
	tb.Helper()
	var db *sqlx.DB
	if d == crud.Postgres {
		db = testenv.Postgres(tb)
	} else {
		db = openSQLite(tb)
	}
	if _, err := db.Exec(crudtest.FixtureSchema(d)); err != nil {
		tb.Fatalf("create fixtures: %v", err)
	}
	return db
}

func fixtureRepo(tb testing.TB, db *sqlx.DB) *crud.Repository[crudtest.Fixture] {
	tb.Helper()
	r, err := crud.NewRepository[crudtest.Fixture](db, crudtest.FixtureConfig())
	if err != nil {
		tb.Fatalf("NewRepository: %v", err)
	}
	return r
}

var (
	_ crud.Store[crudtest.Fixture] = (*crud.Repository[crudtest.Fixture])(nil)
	_ crud.Store[crudtest.Fixture] = (*crudtest.MemStore[crudtest.Fixture])(nil)
)

var dialects = []crud.Dialect{crud.Postgres, crud.SQLite}

func TestStoreConformance(t *testing.T) {
	for _, d := range dialects {
		t.Run(string(d), func(t *testing.T) {
			crudtest.RunStoreTests(t, func(t *testing.T) crud.Store[crudtest.Fixture] {
				return fixtureRepo(t, fixtureDB(t, d))
			})
		})
	}
	t.Run("memory", func(t *testing.T) {
		crudtest.RunStoreTests(t, func(t *testing.T) crud.Store[crudtest.Fixture] {
			s, err := crudtest.NewMemStore[crudtest.Fixture](crudtest.MemConfig{
				Config: crudtest.FixtureConfig(),
				Unique: [][]string{{"slug"}},
			})
			if err != nil {
				t.Fatal(err)
			}
			return s
		})
	})
}
