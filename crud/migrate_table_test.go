package crud_test

import (
	"testing"
	"testing/fstest"

	"github.com/gantry-dev/gantry/crud"
)

// Two migration sets numbered on their own (a service's and a library's)
// run side by side on one database, each with its own version table; a
// second run applies nothing, and MigrateStatus and MigrateDown keep to
// their table.
func TestMigrateVersionTable(t *testing.T) {
	for _, d := range []crud.Dialect{crud.SQLite, crud.Postgres} {
		t.Run(string(d), func(t *testing.T) {
			db := emptyDB(t, d)
			ctx := t.Context()
			app := fstest.MapFS{"00001_app.sql": {Data: []byte("-- +goose Up\nCREATE TABLE vt_app (id INTEGER);\n-- +goose Down\nDROP TABLE vt_app;\n")}}
			lib := fstest.MapFS{"00001_lib.sql": {Data: []byte("-- +goose Up\nCREATE TABLE vt_lib (id INTEGER);\n-- +goose Down\nDROP TABLE vt_lib;\n")}}
			if got, err := crud.Migrate(ctx, db.DB, d, app, "."); err != nil || len(got) != 1 {
				t.Fatalf("app set: %v, %v", got, err)
			}
			if got, err := crud.Migrate(ctx, db.DB, d, lib, ".", crud.VersionTable("vt_lib_version")); err != nil || len(got) != 1 || got[0] != "00001_lib.sql" {
				t.Fatalf("library set, its own table: %v, %v; want 00001_lib.sql applied despite the app's 00001", got, err)
			}
			if got, err := crud.Migrate(ctx, db.DB, d, lib, ".", crud.VersionTable("vt_lib_version")); err != nil || len(got) != 0 {
				t.Fatalf("library set again: %v, %v; want nothing", got, err)
			}
			st, err := crud.MigrateStatus(ctx, db.DB, d, lib, ".", crud.VersionTable("vt_lib_version"))
			if err != nil || len(st) != 1 || !st[0].Applied {
				t.Fatalf("status = %+v, %v", st, err)
			}
			if name, err := crud.MigrateDown(ctx, db.DB, d, lib, ".", crud.VersionTable("vt_lib_version")); err != nil || name != "00001_lib.sql" {
				t.Fatalf("down = %q, %v", name, err)
			}
			var n int
			if err := db.GetContext(ctx, &n, "SELECT COUNT(*) FROM vt_app"); err != nil {
				t.Errorf("the app's table after the library's down: %v", err)
			}
		})
	}
}
