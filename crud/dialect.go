package crud

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/gantry-dev/gantry/crud/internal/row"
)

// Dialect is the SQL dialect a [Repository] speaks. The zero value means
// "detect from the handle's driver name".
type Dialect string

// The supported dialects.
const (
	// Postgres is PostgreSQL through github.com/jackc/pgx/v5/stdlib
	// (driver names "pgx", "pgx/v5" and "postgres").
	Postgres Dialect = "postgres"
	// SQLite is SQLite through modernc.org/sqlite (driver names "sqlite" and
	// "sqlite3"); it needs SQLite 3.35 or later for RETURNING.
	SQLite Dialect = "sqlite"
)

// DialectOf returns the dialect of a database/sql driver name.
func DialectOf(driverName string) (Dialect, error) {
	switch driverName {
	case "pgx", "pgx/v5", "postgres", "postgresql":
		return Postgres, nil
	case "sqlite", "sqlite3":
		return SQLite, nil
	}
	return "", fmt.Errorf("crud: unsupported driver %q (want pgx or sqlite)", driverName)
}

// SQLiteDSN returns a modernc.org/sqlite data source name for the file at
// path with the settings a [Repository] expects: foreign keys enforced, WAL
// journal with synchronous=NORMAL (durable across application crashes; a
// power loss may drop the last commits, never corrupt the file), a 5 s busy
// timeout, transactions that take the write lock when
// they begin (BEGIN IMMEDIATE, so two transactions never deadlock upgrading
// a read lock) and times written as sortable text.
func SQLiteDSN(path string) string {
	q := url.Values{}
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Add("_pragma", "busy_timeout(5000)")
	q.Set("_txlock", "immediate")
	q.Set("_time_format", "sqlite")
	return "file:" + path + "?" + q.Encode()
}

// quoteTable quotes a possibly schema-qualified table name part by part.
func quoteTable(s string) string {
	parts := strings.Split(s, ".")
	for i, p := range parts {
		parts[i] = row.QuoteIdent(p)
	}
	return strings.Join(parts, ".")
}

// placeholder returns the n-th (1-based) bind parameter of d: $n on
// PostgreSQL, ?n on SQLite, so a parameter may be used twice.
func (d Dialect) placeholder(n int) string {
	if d == Postgres {
		return "$" + strconv.Itoa(n)
	}
	return "?" + strconv.Itoa(n)
}

// writePlaceholder appends the n-th bind parameter to b without allocating.
func (d Dialect) writePlaceholder(b *strings.Builder, n int) {
	if d == Postgres {
		b.WriteByte('$')
	} else {
		b.WriteByte('?')
	}
	var buf [20]byte
	b.Write(strconv.AppendInt(buf[:0], int64(n), 10))
}

// sqlStater is implemented by *pgconn.PgError.
type sqlStater interface{ SQLState() string }

// sqliteCoder is implemented by *sqlite.Error (modernc.org/sqlite), whose
// Code is the extended result code.
type sqliteCoder interface{ Code() int }

// Extended SQLite result codes (sqlite3.h).
const (
	sqliteConstraintCheck      = 275
	sqliteConstraintForeignKey = 787
	sqliteConstraintNotNull    = 1299
	sqliteConstraintPrimaryKey = 1555
	sqliteConstraintUnique     = 2067
)

// op says what a statement was doing, to pick the status of a foreign-key
// violation.
type op uint8

const (
	opRead op = iota
	opWrite
	opDelete
)

// mapError turns a driver error into a crud *Error when it is a constraint
// violation or sql.ErrNoRows, and into ErrUnavailable when the database
// could not be reached; other errors are wrapped as they are.
func (d Dialect) mapError(err error, o op) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("crud: %w", err)
	}
	kind := ""
	var ss sqlStater
	var sc sqliteCoder
	switch {
	case errors.As(err, &ss):
		switch ss.SQLState() {
		case "23505":
			kind = "unique"
		case "23503":
			kind = "fk"
		case "23502":
			kind = "notnull"
		case "23514":
			kind = "check"
		}
	case d == SQLite && errors.As(err, &sc):
		switch sc.Code() {
		case sqliteConstraintUnique, sqliteConstraintPrimaryKey:
			kind = "unique"
		case sqliteConstraintForeignKey:
			kind = "fk"
		case sqliteConstraintNotNull:
			kind = "notnull"
		case sqliteConstraintCheck:
			kind = "check"
		}
	}
	switch kind {
	case "unique":
		return newError(ErrConflict, 0, "a row with the same unique value already exists", nil, err)
	case "fk":
		if o == opDelete {
			return newError(ErrForeignKey, http.StatusConflict, "the row is still referenced by other rows", nil, err)
		}
		return newError(ErrForeignKey, http.StatusUnprocessableEntity, "a referenced row does not exist", nil, err)
	case "notnull":
		return newError(ErrInvalidValue, 0, "a required value is missing", nil, err)
	case "check":
		return newError(ErrInvalidValue, 0, "a value is not allowed", nil, err)
	}
	if unreachable(err) {
		return newError(ErrUnavailable, 0, ErrUnavailable.PublicMessage(), nil, err)
	}
	return fmt.Errorf("crud: %w", err)
}

// SQLite primary result codes (sqlite3.h) that mean the database cannot be
// used now rather than that a statement is wrong.
const (
	sqliteBusy     = 5  // locked by another connection past busy_timeout
	sqliteLocked   = 6  // a table is locked
	sqliteCantOpen = 14 // the file cannot be opened
)

// unreachable reports whether err says the database could not be reached
// or dropped the connection, as opposed to refusing a statement: a refused
// or reset connection, a server shutting down or starting up (SQLSTATE
// class 08, 57P01-57P03), a broken pgx connection, a busy SQLite file.
func unreachable(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "57P01", "57P02", "57P03": // admin_shutdown, crash_shutdown, cannot_connect_now
			return true
		}
		return strings.HasPrefix(pgErr.Code, "08") // connection_exception
	}
	var sc sqliteCoder
	if errors.As(err, &sc) {
		switch sc.Code() & 0xff {
		case sqliteBusy, sqliteLocked, sqliteCantOpen:
			return true
		}
		return false
	}
	var connectErr *pgconn.ConnectError
	var netErr net.Error
	return errors.As(err, &connectErr) || errors.As(err, &netErr) ||
		errors.Is(err, driver.ErrBadConn) || errors.Is(err, sql.ErrConnDone) ||
		errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		pgconn.SafeToRetry(err)
}
