package crud_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/gantry-dev/gantry/crud"
	"github.com/gantry-dev/gantry/crud/crudtest"
	"github.com/gantry-dev/gantry/internal/testenv"
)

// openURL returns a URL crud.Open takes for a fresh database of dialect d.
func openURL(t *testing.T, d crud.Dialect) string {
	t.Helper()
	if d == crud.Postgres {
		return testenv.PostgresDSN(t)
	}
	return "sqlite://" + filepath.Join(t.TempDir(), "open.db")
}

func openDB(t *testing.T, cfg crud.DBConfig) *sqlx.DB {
	t.Helper()
	db, err := crud.Open(t.Context(), cfg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Exec(crudtest.FixtureSchema(dialectOf(t, db))); err != nil {
		t.Fatalf("create fixtures: %v", err)
	}
	return db
}

func dialectOf(t *testing.T, db *sqlx.DB) crud.Dialect {
	t.Helper()
	d, err := crud.DialectOf(db.DriverName())
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestOpenPool(t *testing.T) {
	t.Parallel()
	for _, d := range []crud.Dialect{crud.Postgres, crud.SQLite} {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			db := openDB(t, crud.DBConfig{URL: openURL(t, d), PoolSize: 3, MaxOverflow: 4, PrePing: true})
			if got := db.Stats().MaxOpenConnections; got != 7 {
				t.Errorf("MaxOpenConnections = %d; want PoolSize+MaxOverflow = 7", got)
			}
			repo := fixtureRepo(t, db)
			f := crudtest.Fixture{Slug: "a", Title: "a"}
			if err := repo.Create(t.Context(), &f); err != nil {
				t.Fatalf("Create: %v", err)
			}
			if got, err := repo.Get(t.Context(), f.ID); err != nil || got.Slug != "a" {
				t.Errorf("Get = %+v, %v", got, err)
			}
		})
	}
}

func TestOpenSQLitePragmas(t *testing.T) {
	t.Parallel()
	db := openDB(t, crud.DBConfig{URL: openURL(t, crud.SQLite), PoolSize: 2})
	// Every connection of the pool has them, not only the first.
	ctx := t.Context()
	var conns []*sqlx.Conn
	for range 2 {
		c, err := db.Connx(ctx)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	for i, c := range conns {
		for pragma, want := range map[string]string{"journal_mode": "wal", "synchronous": "1", "busy_timeout": "5000", "foreign_keys": "1"} {
			var got string
			if err := c.QueryRowxContext(ctx, "PRAGMA "+pragma).Scan(&got); err != nil || got != want {
				t.Errorf("connection %d: PRAGMA %s = %q, %v; want %q", i, pragma, got, err, want)
			}
		}
		c.Close()
	}
}

func TestOpenRefuses(t *testing.T) {
	t.Parallel()
	for _, url := range []string{"", "mysql://u@h/db", "sqlite://", "redis://h"} {
		if db, err := crud.Open(t.Context(), crud.DBConfig{URL: url}); err == nil {
			db.Close()
			t.Errorf("Open(%q) = nil error; want one", url)
		}
	}
	// PrePing: a server that is not there fails Open, without the password.
	_, err := crud.Open(t.Context(), crud.DBConfig{URL: "postgres://u:s3cret-pw@127.0.0.1:7421/db?connect_timeout=2", PrePing: true, PoolTimeout: 3 * time.Second})
	if err == nil || strings.Contains(err.Error(), "s3cret-pw") {
		t.Errorf("Open(down server) = %v; want an error without the password", err)
	}
}

// TestUnavailable: a repository whose database cannot be reached returns
// ErrUnavailable, answered 503.
func TestUnavailable(t *testing.T) {
	t.Parallel()
	db, err := crud.Open(t.Context(), crud.DBConfig{URL: "postgres://u@127.0.0.1:7422/db?connect_timeout=2", PoolTimeout: 3 * time.Second})
	if err != nil {
		t.Fatalf("Open without PrePing: %v", err)
	}
	defer db.Close()
	repo := fixtureRepo(t, db)
	_, err = repo.Get(t.Context(), 1)
	wantUnavailable(t, "Get on a closed port", err)
	_, err = repo.List(t.Context(), crud.Query{})
	wantUnavailable(t, "List on a closed port", err)
	err = crud.InTx(t.Context(), db, func(context.Context, *sqlx.Tx) error { return nil })
	wantUnavailable(t, "InTx on a closed port", err)
}

func wantUnavailable(t *testing.T, what string, err error) {
	t.Helper()
	var ce *crud.Error
	if !errors.Is(err, crud.ErrUnavailable) || !errors.As(err, &ce) || ce.HTTPStatus() != http.StatusServiceUnavailable {
		t.Errorf("%s = %v; want crud.ErrUnavailable (503)", what, err)
	}
}

// TestPoolTimeout exhausts a real pool: a statement that waits longer than
// PoolTimeout for a connection fails with ErrUnavailable (503) after about
// PoolTimeout, and runs once a connection is free.
func TestPoolTimeout(t *testing.T) {
	t.Parallel()
	for _, d := range []crud.Dialect{crud.Postgres, crud.SQLite} {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			const wait = 300 * time.Millisecond
			db := openDB(t, crud.DBConfig{URL: openURL(t, d), PoolSize: 1, MaxOverflow: 1, PoolTimeout: wait})
			repo := fixtureRepo(t, db)
			var held []*sqlx.Conn
			for range 2 { // every connection of the pool
				c, err := db.Connx(t.Context())
				if err != nil {
					t.Fatal(err)
				}
				held = append(held, c)
			}
			// A burst of callers: every one gives up after the pool timeout.
			var wg sync.WaitGroup
			errs := make([]error, 8)
			took := make([]time.Duration, 8)
			for i := range errs {
				wg.Go(func() {
					began := time.Now()
					_, errs[i] = repo.List(t.Context(), crud.Query{})
					took[i] = time.Since(began)
				})
			}
			wg.Wait()
			for i, err := range errs {
				wantUnavailable(t, "List on an exhausted pool", err)
				if err != nil && !strings.Contains(err.Error(), "no free database connection within 300ms") {
					t.Errorf("error = %q; want it to say the pool was exhausted", err)
				}
				if took[i] < wait || took[i] > wait+2*time.Second {
					t.Errorf("List gave up after %v; want about %v", took[i], wait)
				}
			}
			held[0].Close()
			if _, err := repo.List(t.Context(), crud.Query{}); err != nil {
				t.Errorf("List with a free connection = %v", err)
			}
			held[1].Close()
		})
	}
}

// TestDebugLog: with Debug, each statement is logged with its SQL and the
// types of its arguments, never their values.
func TestDebugLog(t *testing.T) {
	t.Parallel()
	for _, d := range []crud.Dialect{crud.Postgres, crud.SQLite} {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			var mu sync.Mutex
			var buf bytes.Buffer
			log := slog.New(slog.NewJSONHandler(&lockedWriter{mu: &mu, w: &buf}, &slog.HandlerOptions{Level: slog.LevelDebug}))
			db := openDB(t, crud.DBConfig{URL: openURL(t, d), Debug: true, Logger: log})
			repo := fixtureRepo(t, db)
			const secret = "hunter2-do-not-log"
			f := crudtest.Fixture{Slug: "s", Title: "t", HashedPassword: secret}
			if err := repo.Create(t.Context(), &f); err != nil {
				t.Fatal(err)
			}
			mu.Lock()
			out := buf.String()
			mu.Unlock()
			if strings.Contains(out, secret) {
				t.Fatalf("log holds an argument's value: %s", out)
			}
			var line struct {
				Level, Msg, Statement, Component string
				Args                             []string
			}
			found := false
			for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
				if err := json.Unmarshal([]byte(l), &line); err != nil {
					t.Fatalf("log line %q: %v", l, err)
				}
				if strings.HasPrefix(line.Statement, "INSERT INTO \"fixtures\"") {
					found = true
					if line.Level != "DEBUG" || line.Msg != "sql" || line.Component != "crud" || !strings.Contains(strings.Join(line.Args, ","), "string") {
						t.Errorf("log line = %s; want level DEBUG, msg sql, component crud, argument types", l)
					}
				}
			}
			if !found {
				t.Errorf("no INSERT logged: %s", out)
			}
			// Without Debug, nothing is logged.
			buf.Reset()
			quiet := openDB(t, crud.DBConfig{URL: openURL(t, d), Logger: log})
			if err := fixtureRepo(t, quiet).Create(t.Context(), &crudtest.Fixture{Slug: "q", Title: "q"}); err != nil {
				t.Fatal(err)
			}
			mu.Lock()
			defer mu.Unlock()
			if buf.Len() != 0 {
				t.Errorf("without Debug the log got %s", buf.String())
			}
		})
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// TestSQLiteBusy: a SQLite file locked by another writer past the busy
// timeout is ErrUnavailable (503), not a 500.
func TestSQLiteBusy(t *testing.T) {
	t.Parallel()
	url := openURL(t, crud.SQLite)
	db := openDB(t, crud.DBConfig{URL: url})
	other, err := crud.Open(t.Context(), crud.DBConfig{URL: url})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	tx, err := other.BeginTxx(t.Context(), nil) // BEGIN IMMEDIATE: takes the write lock
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if _, err := tx.Exec(`INSERT INTO fixtures (slug, title, author_id, published, score, hashed_password, is_superuser, created_at, updated_at, version)
		VALUES ('l', 'l', 1, false, 0, '', false, '2024-01-01', '2024-01-01', 1)`); err != nil {
		t.Fatal(err)
	}
	err = fixtureRepo(t, db).Create(t.Context(), &crudtest.Fixture{Slug: "w", Title: "w"})
	wantUnavailable(t, "Create while another connection holds the write lock", err)
}
