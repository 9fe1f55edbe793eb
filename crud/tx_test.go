package crud_test

import (
	"context"
	"errors"
	"strconv"
	"testing"

	"github.com/gantry-dev/gantry/crud"
	"github.com/jmoiron/sqlx"
)

func TestInTx(t *testing.T) {
	for _, d := range dialects {
		t.Run(string(d), func(t *testing.T) {
			db := migrated(t, d)
			authors, err := crud.NewRepository[author](db, crud.Config{Table: "authors"})
			if err != nil {
				t.Fatal(err)
			}
			count := func() int64 {
				t.Helper()
				n, err := authors.Count(context.Background(), crud.Query{})
				if err != nil {
					t.Fatal(err)
				}
				return n
			}
			create := func(ctx context.Context, name string) author {
				t.Helper()
				a := author{Name: name}
				if err := authors.Create(ctx, &a); err != nil {
					t.Fatalf("Create(%s) = %v", name, err)
				}
				return a
			}

			t.Run("commit", func(t *testing.T) {
				n0 := count()
				err := crud.InTx(t.Context(), db, func(ctx context.Context, tx *sqlx.Tx) error {
					a := create(ctx, "committed")
					if _, err := authors.Get(ctx, a.ID); err != nil { // joined: sees its own write
						t.Errorf("Get inside the tx = %v", err)
					}
					if d == crud.Postgres { // outside the tx the row is not visible yet
						if ok, _ := authors.Exists(context.Background(), a.ID); ok {
							t.Errorf("uncommitted row visible outside the tx")
						}
					}
					return nil
				})
				if err != nil || count() != n0+1 {
					t.Errorf("InTx = %v, count %d; want committed row", err, count())
				}
			})
			t.Run("rollback on error", func(t *testing.T) {
				n0 := count()
				boom := errors.New("boom")
				err := crud.InTx(t.Context(), db, func(ctx context.Context, tx *sqlx.Tx) error {
					create(ctx, "rolled back")
					return boom
				})
				if !errors.Is(err, boom) || count() != n0 {
					t.Errorf("InTx = %v, count %d; want boom and %d rows", err, count(), n0)
				}
			})
			t.Run("rollback on panic", func(t *testing.T) {
				n0 := count()
				var recovered any
				func() {
					defer func() { recovered = recover() }()
					_ = crud.InTx(t.Context(), db, func(ctx context.Context, tx *sqlx.Tx) error {
						create(ctx, "panicked")
						panic("kaboom")
					})
				}()
				if recovered != "kaboom" || count() != n0 {
					t.Errorf("recovered %v, count %d; want the panic re-raised and %d rows", recovered, count(), n0)
				}
			})
			t.Run("explicit WithTx", func(t *testing.T) {
				n0 := count()
				_ = crud.InTx(t.Context(), db, func(_ context.Context, tx *sqlx.Tx) error {
					a := author{Name: "explicit"}
					if err := authors.WithTx(tx).Create(context.Background(), &a); err != nil {
						t.Fatal(err)
					}
					return errors.New("undo")
				})
				if count() != n0 {
					t.Errorf("WithTx write survived the rollback")
				}
			})
			t.Run("nested joins outer", func(t *testing.T) {
				n0 := count()
				err := crud.InTx(t.Context(), db, func(ctx context.Context, outer *sqlx.Tx) error {
					create(ctx, "outer")
					return crud.InTx(ctx, db, func(ctx context.Context, inner *sqlx.Tx) error {
						if inner != outer {
							t.Errorf("nested InTx began a new transaction")
						}
						create(ctx, "inner")
						return errors.New("inner failed")
					})
				})
				if err == nil || count() != n0 {
					t.Errorf("nested InTx = %v, count %d; want the error and nothing written", err, count())
				}
			})
			t.Run("CreateMany across batches is atomic", func(t *testing.T) {
				n0 := count()
				items := make([]author, 2500)
				for i := range items {
					items[i].Name = "bulk" + strconv.Itoa(i)
				}
				items[2400].Name = items[10].Name // duplicate in the third batch
				err := authors.CreateMany(t.Context(), items)
				if !errors.Is(err, crud.ErrConflict) || count() != n0 {
					t.Errorf("CreateMany(dup in batch 3) = %v, count %d; want ErrConflict and %d", err, count(), n0)
				}
				items[2400].Name = "unique"
				for i := range items {
					items[i].ID = 0
				}
				if err := authors.CreateMany(t.Context(), items); err != nil || count() != n0+2500 {
					t.Fatalf("CreateMany(2500) = %v, count %d", err, count())
				}
				for i := 1; i < len(items); i++ {
					if items[i].ID <= items[i-1].ID {
						t.Fatalf("ids not increasing at %d: %d, %d", i, items[i-1].ID, items[i].ID)
					}
				}
				got, err := authors.Get(t.Context(), items[1500].ID)
				if err != nil || got.Name != items[1500].Name {
					t.Errorf("Get(item 1500) = %+v, %v; want %s", got, err, items[1500].Name)
				}
			})
		})
	}
}
