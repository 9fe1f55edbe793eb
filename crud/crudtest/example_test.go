package crudtest_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/gantry-dev/gantry/crud"
	"github.com/gantry-dev/gantry/crud/crudtest"
)

type user struct {
	ID             int64  `db:"id"`
	Email          string `db:"email"`
	HashedPassword string `db:"hashed_password"`
	Version        int64  `db:"version"`
}

func ExampleNewMemStore() {
	users, err := crudtest.NewMemStore[user](crudtest.MemConfig{
		Config: crud.Config{ReadOnly: []string{"hashed_password"}},
		Unique: [][]string{{"email"}},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()
	u := user{Email: "ann@example.com"}
	fmt.Println(users.Create(ctx, &u), u.ID, u.Version)
	err = users.Create(ctx, &user{Email: "ann@example.com"})
	fmt.Println(errors.Is(err, crud.ErrConflict))
	_, err = users.Update(ctx, u.ID, crud.Patch{Set: map[string]any{"hashed_password": "x"}})
	fmt.Println(errors.Is(err, crud.ErrInvalidPatch))
	// Output:
	// <nil> 1 1
	// true
	// true
}

func ExampleRunStoreTests() {
	// In a _test.go file of a package with a store of its own:
	_ = func(t *testing.T) {
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
	}
	// Output:
}
