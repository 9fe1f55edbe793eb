package crud_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/crud"
	"github.com/gantry-dev/gantry/crud/crudtest"
	"github.com/google/uuid"
)

type session struct {
	ID        uuid.UUID `db:"id"`
	Name      string    `db:"name"`
	CreatedAt time.Time `db:"created_at"`
}

func TestUUIDKeys(t *testing.T) {
	ddl := map[crud.Dialect]string{
		crud.Postgres: `CREATE TABLE sessions (id UUID PRIMARY KEY DEFAULT gen_random_uuid(), name TEXT NOT NULL, created_at TIMESTAMPTZ NOT NULL)`,
		crud.SQLite:   `CREATE TABLE sessions (id TEXT NOT NULL PRIMARY KEY, name TEXT NOT NULL, created_at TIMESTAMP NOT NULL)`,
	}
	stores := map[string]func(t *testing.T) crud.Store[session]{
		"memory": func(t *testing.T) crud.Store[session] {
			s, err := crudtest.NewMemStore[session](crudtest.MemConfig{})
			if err != nil {
				t.Fatal(err)
			}
			return s
		},
	}
	for _, d := range dialects {
		stores[string(d)] = func(t *testing.T) crud.Store[session] {
			db := emptyDB(t, d)
			if _, err := db.Exec(ddl[d]); err != nil {
				t.Fatal(err)
			}
			r, err := crud.NewRepository[session](db, crud.Config{Table: "sessions"})
			if err != nil {
				t.Fatal(err)
			}
			return r
		}
	}
	for name, newStore := range stores {
		t.Run(name, func(t *testing.T) {
			ctx := t.Context()
			s := newStore(t)
			var made []uuid.UUID
			for i := range 5 {
				x := session{ID: uuid.New(), Name: string(rune('a' + i))}
				if err := s.Create(ctx, &x); err != nil {
					t.Fatalf("Create = %v", err)
				}
				made = append(made, x.ID)
			}
			got, err := s.Get(ctx, made[2])
			if err != nil || got.Name != "c" {
				t.Errorf("Get(uuid) = %+v, %v", got, err)
			}
			if got, err := s.Get(ctx, made[3].String()); err != nil || got.Name != "d" {
				t.Errorf("Get(string) = %+v, %v", got, err)
			}
			if _, err := s.Get(ctx, "not-a-uuid"); !errors.Is(err, crud.ErrNotFound) {
				t.Errorf("Get(not-a-uuid) = %v; want ErrNotFound", err)
			}
			if err := s.Create(ctx, &session{ID: made[0], Name: "dup"}); !errors.Is(err, crud.ErrConflict) {
				t.Errorf("Create(duplicate id) = %v; want ErrConflict", err)
			}
			// Pages of 2 by id (the tiebreaker) with cursors.
			slices.SortFunc(made, func(a, b uuid.UUID) int { return strings.Compare(a.String(), b.String()) })
			var seen []uuid.UUID
			q := crud.Query{Limit: 2}
			for range 5 {
				p, err := s.List(ctx, q)
				if err != nil {
					t.Fatal(err)
				}
				for _, it := range p.Items {
					seen = append(seen, it.ID)
				}
				if p.NextCursor == "" {
					break
				}
				q.Cursor = p.NextCursor
			}
			if !slices.Equal(seen, made) {
				t.Errorf("cursor pages = %v; want %v", seen, made)
			}
		})
	}
	t.Run("postgres default id", func(t *testing.T) {
		db := emptyDB(t, crud.Postgres)
		if _, err := db.Exec(ddl[crud.Postgres]); err != nil {
			t.Fatal(err)
		}
		r, _ := crud.NewRepository[session](db, crud.Config{Table: "sessions"})
		x := session{Name: "generated"}
		if err := r.Create(t.Context(), &x); err != nil || x.ID == uuid.Nil {
			t.Errorf("Create(no id) = %v, id %v; want an id from the column default", err, x.ID)
		}
	})
}
