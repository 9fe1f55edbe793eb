package main

import (
	"database/sql"
	"database/sql/driver"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/labstack/echo/v4"

	"github.com/gantry-dev/gantry/server"
)

// errDatabaseUnavailable answers a request whose database could not be
// reached: 503 with Retry-After, so clients and load balancers retry
// instead of reporting a bug.
var errDatabaseUnavailable = server.NewError(http.StatusServiceUnavailable,
	"the database is unavailable; retry shortly").WithType("database_unavailable")

// retryAfterSeconds is the Retry-After of errDatabaseUnavailable.
const retryAfterSeconds = "1"

// databaseUnavailable is middleware that turns a handler's error caused by
// an unreachable database (refused or broken connections, a server shutting
// down or starting up) into errDatabaseUnavailable, instead of the 500 any
// unknown error gets. The cause is kept for the log.
//
// The mapping belongs in crud, where driver errors are translated (a
// crud.ErrUnavailable with status 503); until crud has it, the app does it
// at its edge.
func databaseUnavailable(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		err := next(c)
		if err == nil || !isConnectionError(err) {
			return err
		}
		c.Response().Header().Set("Retry-After", retryAfterSeconds)
		return errDatabaseUnavailable.Wrap(err)
	}
}

// isConnectionError reports whether err says the database could not be
// reached or dropped the connection, as opposed to refusing a statement.
func isConnectionError(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "57P01", "57P02", "57P03": // admin_shutdown, crash_shutdown, cannot_connect_now
			return true
		}
		return strings.HasPrefix(pgErr.Code, "08") // connection_exception
	}
	var connectErr *pgconn.ConnectError
	var netErr net.Error
	return errors.As(err, &connectErr) || errors.As(err, &netErr) ||
		errors.Is(err, driver.ErrBadConn) || errors.Is(err, sql.ErrConnDone) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET)
}
