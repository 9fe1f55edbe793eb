package outbox

import (
	"context"
	"time"
)

// Pass runs one relay pass.
func Pass(ctx context.Context, r *Relay) (int, error) { return r.pass(ctx) }

// SetFault makes every pass call f between its enqueues and its delete;
// an error from f aborts the pass there, as a crash would.
func SetFault(r *Relay, f func() error) { r.afterEnqueue = f }

// SetReconnectDelay sets the first wait before the LISTEN connection is
// opened again.
func SetReconnectDelay(r *Relay, d time.Duration) { r.reconnectMin = d }

// ListenPID returns the backend pid of the LISTEN connection, 0 while down.
func ListenPID(r *Relay) uint32 { return r.listenPID.Load() }

// Duplicates returns how many rows the relay found already enqueued.
func Duplicates(r *Relay) int64 { return r.duplicates.Load() }
