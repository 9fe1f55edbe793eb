package config_test

import (
	"path/filepath"
	"testing"
	"time"

	_ "modernc.org/sqlite" // the "sqlite" driver crud.Open uses

	"github.com/gantry-dev/gantry/crud"
)

func TestDatabaseConfig(t *testing.T) {
	t.Parallel()
	url := "sqlite://" + filepath.Join(t.TempDir(), "app.db")
	s := mustLoad(t, map[string]string{"DATABASE_URL": url, "DATABASE_POOL_SIZE": "2",
		"DATABASE_MAX_OVERFLOW": "3", "DATABASE_POOL_TIMEOUT": "250ms", "DEBUG": "yes"})
	got := s.DatabaseConfig()
	want := crud.DBConfig{URL: url, PoolSize: 2, MaxOverflow: 3, PoolTimeout: 250 * time.Millisecond, PrePing: true, Debug: true}
	if got != want {
		t.Errorf("DatabaseConfig() = %+v; want %+v", got, want)
	}
	db, err := crud.Open(t.Context(), got)
	if err != nil {
		t.Fatalf("crud.Open(DatabaseConfig()) = %v", err)
	}
	defer db.Close()
	if n := db.Stats().MaxOpenConnections; n != 5 {
		t.Errorf("MaxOpenConnections = %d; want DATABASE_POOL_SIZE + DATABASE_MAX_OVERFLOW = 5", n)
	}
	if d := mustLoad(t, nil).DatabaseConfig(); d.PoolSize != 5 || d.MaxOverflow != 10 || d.PoolTimeout != 30*time.Second || d.Debug {
		t.Errorf("default DatabaseConfig() = %+v; want pool 5 + 10, 30s, no debug", d)
	}
}
