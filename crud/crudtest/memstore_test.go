package crudtest_test

import (
	"testing"

	"github.com/gantry-dev/gantry/crud"
	"github.com/gantry-dev/gantry/crud/crudtest"
)

func TestMemStore(t *testing.T) {
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
