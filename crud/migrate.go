package crud

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

// MigrationStatus is the state of one migration file.
type MigrationStatus struct {
	Version   int64
	Name      string // file name, e.g. "00001_posts.sql"
	Applied   bool
	AppliedAt time.Time // zero when not applied
}

// newProvider builds a goose provider without goose's global state: no
// global dialect, no globally registered Go migrations, no logging. On
// PostgreSQL it takes a session advisory lock, so instances starting
// together apply each migration once.
func newProvider(db *sql.DB, d Dialect, fsys fs.FS, dir string, mopts []MigrateOption) (*goose.Provider, error) {
	var mo migrateOptions
	for _, o := range mopts {
		if o != nil {
			o(&mo)
		}
	}
	if db == nil {
		return nil, errors.New("crud: migrate: nil db")
	}
	sub, err := fs.Sub(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("crud: migrate: %w", err)
	}
	opts := []goose.ProviderOption{
		goose.WithDisableGlobalRegistry(true),
		goose.WithSlog(slog.New(slog.DiscardHandler)),
	}
	if mo.table != "" {
		opts = append(opts, goose.WithTableName(mo.table))
	}
	var gd goose.Dialect
	switch d {
	case Postgres:
		gd = goose.DialectPostgres
		locker, err := lock.NewPostgresSessionLocker()
		if err != nil {
			return nil, fmt.Errorf("crud: migrate: %w", err)
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	case SQLite:
		gd = goose.DialectSQLite3
	default:
		return nil, fmt.Errorf("crud: migrate: unknown dialect %q", d)
	}
	p, err := goose.NewProvider(gd, db, sub, opts...)
	if err != nil {
		return nil, fmt.Errorf("crud: migrate: %w", err)
	}
	return p, nil
}

// MigrateOption is an option of [Migrate], [MigrateDown] and
// [MigrateStatus].
type MigrateOption func(*migrateOptions)

type migrateOptions struct{ table string }

// VersionTable keeps the applied versions in table instead of
// goose_db_version: a library's own migration set (jobs/outbox's) then runs
// beside the service's, each numbered on its own. Use the same table in
// every call about that set.
func VersionTable(table string) MigrateOption {
	return func(o *migrateOptions) { o.table = table }
}

// Migrate applies every pending SQL migration found in dir of fsys (goose
// files such as 00001_create_posts.sql with -- +goose Up / Down sections,
// usually an embed.FS) and returns the names of the files applied, in
// order (on failure, those applied before it). It uses pressly/goose v3's Provider API; the version table is
// goose_db_version unless [VersionTable] names another. It does not close db.
func Migrate(ctx context.Context, db *sql.DB, d Dialect, fsys fs.FS, dir string, opts ...MigrateOption) ([]string, error) {
	p, err := newProvider(db, d, fsys, dir, opts)
	if err != nil {
		return nil, err
	}
	res, err := p.Up(ctx)
	var pe *goose.PartialError
	if errors.As(err, &pe) {
		res = pe.Applied
	}
	names := make([]string, 0, len(res))
	for _, r := range res {
		if r.Error == nil {
			names = append(names, filepath.Base(r.Source.Path))
		}
	}
	if err != nil {
		return names, fmt.Errorf("crud: migrate up: %w", err)
	}
	return names, nil
}

// MigrateDown rolls back the latest applied migration and returns its file
// name. With nothing to roll back it returns an error wrapping
// goose.ErrNoNextVersion.
func MigrateDown(ctx context.Context, db *sql.DB, d Dialect, fsys fs.FS, dir string, opts ...MigrateOption) (string, error) {
	p, err := newProvider(db, d, fsys, dir, opts)
	if err != nil {
		return "", err
	}
	res, err := p.Down(ctx)
	if err != nil {
		return "", fmt.Errorf("crud: migrate down: %w", err)
	}
	return filepath.Base(res.Source.Path), nil
}

// MigrateStatus lists every migration file in dir with whether it is
// applied, in version order.
func MigrateStatus(ctx context.Context, db *sql.DB, d Dialect, fsys fs.FS, dir string, opts ...MigrateOption) ([]MigrationStatus, error) {
	p, err := newProvider(db, d, fsys, dir, opts)
	if err != nil {
		return nil, err
	}
	st, err := p.Status(ctx)
	if err != nil {
		return nil, fmt.Errorf("crud: migrate status: %w", err)
	}
	out := make([]MigrationStatus, len(st))
	for i, s := range st {
		out[i] = MigrationStatus{
			Version:   s.Source.Version,
			Name:      filepath.Base(s.Source.Path),
			Applied:   s.State == goose.StateApplied,
			AppliedAt: s.AppliedAt,
		}
	}
	return out, nil
}
