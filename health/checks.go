package health

import (
	"context"
	"fmt"

	"github.com/redis/go-redis/v9"
)

// Pinger is anything with PingContext: *sql.DB, *sqlx.DB (which embeds
// *sql.DB) and *sql.Conn.
type Pinger interface {
	PingContext(ctx context.Context) error
}

// SQL returns a Checker that pings db with PingContext. With the pgx and
// most other drivers a ping is a round trip on a pooled connection, opening
// one if none is idle, so it fails when the server is unreachable.
func SQL(db Pinger) Checker {
	return CheckerFunc(func(ctx context.Context) error {
		if err := db.PingContext(ctx); err != nil {
			return fmt.Errorf("health: sql ping: %w", err)
		}
		return nil
	})
}

// Redis returns a Checker that sends PING through rdb (a *redis.Client,
// *redis.ClusterClient, *redis.Ring or failover client). For a cluster or
// ring the PING reaches one node. go-redis retries a failed dial (5 times,
// 100ms apart, by default), so with a short timeout an unreachable server
// shows as [ErrTimeout] rather than "connection refused"; both fail the check.
func Redis(rdb redis.UniversalClient) Checker {
	return CheckerFunc(func(ctx context.Context) error {
		if err := rdb.Ping(ctx).Err(); err != nil {
			return fmt.Errorf("health: redis ping: %w", err)
		}
		return nil
	})
}
