package outbox

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
)

// errNotPgx: the pool's connections are not pgx's, so there is no LISTEN.
var errNotPgx = errors.New("outbox: the PostgreSQL driver is not pgx (github.com/jackc/pgx/v5/stdlib); LISTEN is off, the relay polls")

const maxReconnectBackoff = 30 * time.Second

// listen keeps a LISTEN connection open until ctx ends and sends on wake
// at each notification, and once each time it (re)connects, since rows
// may have been committed while it was down.
func (r *Relay) listen(ctx context.Context, wake chan<- struct{}) {
	delay := r.reconnectMin
	for {
		connected, err := r.listenOnce(ctx, wake)
		if ctx.Err() != nil {
			return
		}
		if errors.Is(err, errNotPgx) {
			r.log.LogAttrs(ctx, slog.LevelWarn, err.Error(), slog.Duration("poll_interval", r.cfg.PollInterval))
			return
		}
		if connected {
			delay = r.reconnectMin
		}
		r.log.LogAttrs(ctx, slog.LevelWarn, "outbox: LISTEN connection lost; polling until it is back",
			slog.Duration("reconnect_in", delay), slog.Duration("poll_interval", r.cfg.PollInterval), slog.Any("error", err))
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		delay = min(delay*2, maxReconnectBackoff)
	}
}

// listenOnce takes a connection from the pool, LISTENs on it and waits for
// notifications until it fails or ctx ends. The connection is then
// discarded, never returned to the pool still listening. connected reports
// whether LISTEN succeeded.
func (r *Relay) listenOnce(ctx context.Context, wake chan<- struct{}) (connected bool, err error) {
	conn, err := r.cfg.DB.Conn(ctx)
	if err != nil {
		return false, fmt.Errorf("outbox: listen: %w", err)
	}
	defer conn.Close()
	err = conn.Raw(func(dc any) error {
		pc, ok := dc.(interface{ Conn() *pgx.Conn })
		if !ok {
			return errNotPgx
		}
		c := pc.Conn()
		if _, err := c.Exec(ctx, "LISTEN "+Channel); err != nil {
			return fmt.Errorf("%w: listen: %w", driver.ErrBadConn, err)
		}
		connected = true
		r.listenPID.Store(c.PgConn().PID())
		defer r.listenPID.Store(0)
		for {
			select {
			case wake <- struct{}{}:
			default:
			}
			if _, err := c.WaitForNotification(ctx); err != nil {
				return fmt.Errorf("%w: wait for notification: %w", driver.ErrBadConn, err)
			}
		}
	})
	return connected, err
}
