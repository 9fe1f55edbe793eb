package crud

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
)

// DBConfig configures the connection pool [Open] returns. Only URL is
// required; every other zero value means the default.
type DBConfig struct {
	// URL names the database: postgres:// or postgresql:// for PostgreSQL
	// (pgx), or sqlite:///abs/path.db, sqlite://rel/path.db, sqlite3:...
	// or file:path.db for SQLite (modernc.org/sqlite; any query options are
	// replaced by those of [SQLiteDSN]; ":memory:" as the path is a private
	// in-memory database on one connection).
	URL string
	// PoolSize is how many connections are kept open while idle (default 5).
	PoolSize int
	// MaxOverflow is how many connections may be opened above PoolSize
	// under load (default 10): at most PoolSize+MaxOverflow are open.
	// Negative means none.
	MaxOverflow int
	// PoolTimeout is how long a statement of a [Repository] (and [InTx])
	// waits for a free connection when all are busy (default 30s); past it
	// the call fails with [ErrUnavailable] and the query never runs.
	// Negative means waiting as long as the ctx allows. It also bounds the
	// ping of PrePing.
	PoolTimeout time.Duration
	// PrePing pings the database in Open, so a wrong URL or a server that
	// is down fails at start-up, not at the first request. (pgx checks a
	// pooled connection idle for more than a second before reusing it,
	// whatever PrePing says.)
	PrePing bool
	// MaxIdleTime closes a connection idle for that long (default 5m);
	// negative means never.
	MaxIdleTime time.Duration
	// Debug logs every statement a Repository runs on the pool to Logger at
	// level Debug: the SQL text and the types of its arguments, never their
	// values (they may be passwords or personal data).
	Debug bool
	// Logger receives the Debug statement log (default slog.Default(), read
	// once in Open).
	Logger *slog.Logger
	// Driver, if set, wraps the database/sql driver before Open builds the
	// pool on it, so every connection of the pool (the app's statements and
	// the repositories' alike) goes through the wrapper: tracing
	// (tracing.SQLDriver: a span per statement) hooks in here. Nil costs
	// nothing.
	Driver DriverWrapper
}

// DriverWrapper wraps the database/sql driver of a pool [Open] opens (see
// [DBConfig].Driver). An interface rather than a func, so DBConfig stays
// comparable.
type DriverWrapper interface {
	WrapDriver(driver.Driver) driver.Driver
}

func (c DBConfig) withDefaults() DBConfig {
	if c.PoolSize <= 0 {
		c.PoolSize = 5
	}
	if c.MaxOverflow == 0 {
		c.MaxOverflow = 10
	} else if c.MaxOverflow < 0 {
		c.MaxOverflow = 0
	}
	if c.PoolTimeout == 0 {
		c.PoolTimeout = 30 * time.Second
	}
	if c.MaxIdleTime == 0 {
		c.MaxIdleTime = 5 * time.Minute
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// DataSource returns the dialect and the driver's data source name for a
// database URL as [DBConfig.URL] describes it; SQLite paths get the
// options of [SQLiteDSN].
func DataSource(url string) (Dialect, string, error) {
	for _, scheme := range []string{"sqlite:", "sqlite3:", "file:"} {
		if rest, ok := strings.CutPrefix(url, scheme); ok {
			path, _, _ := strings.Cut(strings.TrimPrefix(rest, "//"), "?") // our pragmas replace any options
			if path == "" {
				return "", "", errors.New("crud: database URL has no SQLite path")
			}
			return SQLite, SQLiteDSN(path), nil
		}
	}
	if strings.HasPrefix(url, "postgres://") || strings.HasPrefix(url, "postgresql://") {
		return Postgres, url, nil
	}
	return "", "", errors.New("crud: database URL must start with postgres://, postgresql://, sqlite:, sqlite3: or file:")
}

// Open opens a connection pool for cfg.URL, sized and bounded as cfg says,
// and with PrePing pings it. The caller closes the pool (a server lifespan
// hook, or a defer in main). Repositories built on it wait at most
// cfg.PoolTimeout for a connection and log statements when cfg.Debug is
// set. Errors never contain the URL's password.
//
// Open uses the database/sql drivers registered as "pgx" and "sqlite": the
// program imports the ones it needs, as with sql.Open —
//
//	import _ "github.com/jackc/pgx/v5/stdlib" // PostgreSQL
//	import _ "modernc.org/sqlite"             // SQLite
//
// so a service on PostgreSQL does not build SQLite, and the other way round.
func Open(ctx context.Context, cfg DBConfig) (*sqlx.DB, error) {
	cfg = cfg.withDefaults()
	d, dsn, err := DataSource(cfg.URL)
	if err != nil {
		return nil, err
	}
	name := "pgx"
	if d == SQLite {
		name = "sqlite"
	}
	drv, err := registered(name)
	if err != nil {
		return nil, err
	}
	if cfg.Driver != nil {
		drv = cfg.Driver.WrapDriver(drv)
	}
	var inner driver.Connector
	if dc, ok := drv.(driver.DriverContext); ok {
		if inner, err = dc.OpenConnector(dsn); err != nil {
			return nil, fmt.Errorf("crud: open: %w", redactErr(err, cfg.URL))
		}
	} else {
		inner = dsnConnector{d: drv, dsn: dsn}
	}
	p := &poolDriver{Driver: inner.Driver(), wait: max(cfg.PoolTimeout, 0), maxOpen: cfg.PoolSize + cfg.MaxOverflow}
	if cfg.Debug {
		p.log = cfg.Logger.With("component", "crud")
	}
	sdb := sql.OpenDB(&connector{inner: inner, drv: p})
	sdb.SetMaxOpenConns(p.maxOpen)
	sdb.SetMaxIdleConns(cfg.PoolSize)
	if cfg.MaxIdleTime > 0 {
		sdb.SetConnMaxIdleTime(cfg.MaxIdleTime)
	}
	if d == SQLite && strings.Contains(dsn, ":memory:") {
		// Every connection would be a database of its own: keep one, forever.
		p.maxOpen = 1
		sdb.SetMaxOpenConns(1)
		sdb.SetMaxIdleConns(1)
		sdb.SetConnMaxIdleTime(0)
	}
	db := sqlx.NewDb(sdb, name)
	if cfg.PrePing {
		pctx, cancel := ctx, context.CancelFunc(func() {})
		if cfg.PoolTimeout > 0 {
			pctx, cancel = context.WithTimeout(ctx, cfg.PoolTimeout)
		}
		err := db.PingContext(pctx)
		cancel()
		if err != nil {
			_ = db.Close()
			return nil, fmt.Errorf("crud: ping %s database: %w", d, redactErr(err, cfg.URL))
		}
	}
	return db, nil
}

// redactErr hides the password of url in err's text.
func redactErr(err error, url string) error {
	_, rest, ok := strings.Cut(url, "://")
	if !ok {
		return err
	}
	userinfo, _, ok := strings.Cut(rest, "@")
	if !ok {
		return err
	}
	_, pw, ok := strings.Cut(userinfo, ":")
	if !ok || pw == "" || !strings.Contains(err.Error(), pw) {
		return err
	}
	return errors.New(strings.ReplaceAll(err.Error(), pw, "xxxxx"))
}

// poolDriver is the driver.Driver of a pool opened by Open: the real
// driver, plus what repositories built on the pool read from db.Driver().
type poolDriver struct {
	driver.Driver
	wait    time.Duration // PoolTimeout; 0 means the ctx alone bounds the wait
	maxOpen int
	log     *slog.Logger // non-nil when statements are logged
}

// connector hands database/sql the real connections and the poolDriver.
type connector struct {
	inner driver.Connector
	drv   *poolDriver
}

func (c *connector) Connect(ctx context.Context) (driver.Conn, error) { return c.inner.Connect(ctx) }
func (c *connector) Driver() driver.Driver                            { return c.drv }

// dsnConnector opens connections of a driver without a Connector of its own.
type dsnConnector struct {
	d   driver.Driver
	dsn string
}

func (c dsnConnector) Connect(context.Context) (driver.Conn, error) { return c.d.Open(c.dsn) }
func (c dsnConnector) Driver() driver.Driver                        { return c.d }

// runner runs statements: a pool, a connection or a transaction.
type runner interface {
	sqlx.QueryerContext
	sqlx.ExecerContext
}

// poolOf returns the Open settings of db, or nil for a pool opened
// elsewhere.
func poolOf(db *sqlx.DB) *poolDriver {
	p, _ := db.Driver().(*poolDriver)
	return p
}

// acquire returns a connection of db's pool, waiting at most p.wait for a
// free one; release gives it back. Without a wait it returns the pool.
func (p *poolDriver) acquire(ctx context.Context, db *sqlx.DB) (runner, func(), error) {
	if p == nil || p.wait <= 0 {
		return db, func() {}, nil
	}
	wctx, cancel := context.WithTimeout(ctx, p.wait)
	conn, err := db.Connx(wctx)
	cancel()
	if err != nil {
		if ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
			return nil, nil, newError(ErrUnavailable, 0, ErrUnavailable.PublicMessage(), nil,
				fmt.Errorf("no free database connection within %v (all %d busy): %w", p.wait, p.maxOpen, err))
		}
		return nil, nil, Dialect("").mapError(err, opRead)
	}
	return conn, func() { _ = conn.Close() }, nil
}

// logged logs each statement before running it.
type logged struct {
	r   runner
	log *slog.Logger
}

func (l logged) note(ctx context.Context, query string, args []any) {
	types := make([]string, len(args))
	for i, a := range args {
		if a == nil {
			types[i] = "NULL"
		} else {
			types[i] = fmt.Sprintf("%T", a)
		}
	}
	l.log.LogAttrs(ctx, slog.LevelDebug, "sql", slog.String("statement", query), slog.Any("args", types))
}

func (l logged) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	l.note(ctx, query, args)
	return l.r.QueryContext(ctx, query, args...)
}

func (l logged) QueryxContext(ctx context.Context, query string, args ...any) (*sqlx.Rows, error) {
	l.note(ctx, query, args)
	return l.r.QueryxContext(ctx, query, args...)
}

func (l logged) QueryRowxContext(ctx context.Context, query string, args ...any) *sqlx.Row {
	l.note(ctx, query, args)
	return l.r.QueryRowxContext(ctx, query, args...)
}

func (l logged) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	l.note(ctx, query, args)
	return l.r.ExecContext(ctx, query, args...)
}

// driverImports names the package that registers each driver Open uses.
var driverImports = map[string]string{"pgx": "github.com/jackc/pgx/v5/stdlib", "sqlite": "modernc.org/sqlite"}

// registered returns the database/sql driver registered under name, or an
// error saying which package to import.
func registered(name string) (driver.Driver, error) {
	if !slices.Contains(sql.Drivers(), name) {
		return nil, fmt.Errorf("crud: open: no database/sql driver %q is registered; import _ %q", name, driverImports[name])
	}
	db, err := sql.Open(name, "") // connects to nothing: it only looks the driver up
	if err != nil {
		return nil, fmt.Errorf("crud: open: %w", err)
	}
	defer db.Close()
	return db.Driver(), nil
}
