package outbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/gantry-dev/gantry/jobs"
)

// RelayConfig configures a [Relay]. DB and Client are required; every other
// zero value means the default.
type RelayConfig struct {
	// DB is the database of the outbox table (PostgreSQL through pgx, or
	// SQLite); the Relay never closes it. On PostgreSQL the Relay holds one
	// of its connections for LISTEN while it runs.
	DB *sqlx.DB
	// Client enqueues the relayed jobs: its routes and defaults fill in
	// what EnqueueTx left unset. A *jobs.Client on a Redis or memory
	// backend.
	Client jobs.Enqueuer
	// Batch is the most rows one pass moves (default 100). A full batch is
	// followed by another pass at once.
	Batch int
	// PollInterval is how often the table is read when nothing wakes the
	// Relay: default 1 s on PostgreSQL (where NOTIFY wakes it at each
	// commit, so polling is only the fallback while LISTEN is down) and
	// 100 ms on SQLite (where EnqueueTx wakes the relays of its own
	// process, and polling finds the rows other processes commit).
	PollInterval time.Duration
	// PollOnly turns LISTEN off on PostgreSQL: the Relay only polls. For
	// connections through a pooler that cannot keep a session's LISTEN
	// (PgBouncer in transaction mode).
	PollOnly bool
	// Logger receives failed passes, rows that could not be enqueued and
	// the state of the LISTEN connection. Default slog.Default(), read once
	// in NewRelay.
	Logger *slog.Logger
	// OnRelayed, if set, is called after each pass that moved rows, once
	// its transaction committed, with the ids of the jobs now in the queue
	// (those enqueued, and those found already enqueued) and the creation
	// time of the oldest: for metrics and benchmarks. It runs on the
	// Relay's goroutine and must not block.
	OnRelayed func(ids []string, oldest time.Time)
}

// Relay moves committed outbox rows into the job queue. Any number of
// relays may run at once, in one process or many: on PostgreSQL each pass
// claims its rows with SELECT … FOR UPDATE SKIP LOCKED; on SQLite each pass
// holds the database's write lock, so passes run one at a time.
type Relay struct {
	cfg RelayConfig
	d   dialect
	log *slog.Logger

	claimSQL string

	// Test hooks (export_test.go).
	afterEnqueue func() error // called between the enqueues and the delete; an error aborts the pass
	reconnectMin time.Duration
	listenPID    atomic.Uint32 // backend pid of the LISTEN connection, 0 while down
	duplicates   atomic.Int64  // rows found already enqueued
}

const (
	defaultBatch   = 100
	passTimeout    = 30 * time.Second // bounds one pass, also when Run's ctx ends mid-pass
	maxRowBackoff  = 5 * time.Minute
	maxPassBackoff = 30 * time.Second
	maxErrorText   = 1000
)

// NewRelay returns a Relay, or an error if cfg is invalid. Call Run.
func NewRelay(cfg RelayConfig) (*Relay, error) {
	if cfg.DB == nil || cfg.Client == nil {
		return nil, errors.New("outbox: invalid relay config: DB and Client are required")
	}
	d, err := dialectOf(cfg.DB.DriverName())
	if err != nil {
		return nil, err
	}
	if cfg.Batch <= 0 {
		cfg.Batch = defaultBatch
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = time.Second
		if d == sqlite {
			cfg.PollInterval = 100 * time.Millisecond
		}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	r := &Relay{cfg: cfg, d: d, log: cfg.Logger.With("component", "outbox"), reconnectMin: 100 * time.Millisecond}
	r.claimSQL = "SELECT seq, id, kind, payload, queue, max_retry, timeout_ms, process_at_ms, unique_key, unique_ttl_ms, retention_ms, owner, created_ms, attempts" +
		" FROM " + Table + " WHERE next_try_ms <= ? ORDER BY seq LIMIT ?"
	if d == postgres {
		r.claimSQL = strings.Replace(strings.Replace(r.claimSQL, "?", "$1", 1), "?", "$2", 1) + " FOR UPDATE SKIP LOCKED"
	}
	return r, nil
}

// Run relays until ctx ends, then returns nil (after the pass in flight,
// which is bounded by 30 s). A failing database or backend does not stop
// it: the pass is retried with a back-off from PollInterval to 30 s.
//
// A pass runs at start, at each wake-up (PostgreSQL: a NOTIFY from a
// committed insert; SQLite: an EnqueueTx of this process), every
// PollInterval otherwise, and again at once after a full batch. On
// PostgreSQL a connection of DB is held for LISTEN (through pgx's
// *pgx.Conn, reached with database/sql's Conn.Raw); when it breaks, the
// Relay polls and reconnects with a back-off from 100 ms to 30 s, and
// passes once more on reconnecting.
func (r *Relay) Run(ctx context.Context) error {
	wake := make(chan struct{}, 1)
	var wg sync.WaitGroup
	defer wg.Wait()
	if r.d == postgres && !r.cfg.PollOnly {
		lctx, cancel := context.WithCancel(ctx)
		defer cancel() // before wg.Wait
		wg.Go(func() { r.listen(lctx, wake) })
	}
	timer := time.NewTimer(0)
	defer timer.Stop()
	failures := 0
	for {
		var inProcess <-chan struct{}
		if r.d == sqlite {
			inProcess = local.wait()
		}
		select {
		case <-ctx.Done():
			return nil
		case <-timer.C:
		case <-wake:
		case <-inProcess:
		}
		n, err := r.pass(ctx)
		next := r.cfg.PollInterval
		switch {
		case err != nil:
			failures++
			next = min(r.cfg.PollInterval<<min(failures, 16), maxPassBackoff)
			r.log.LogAttrs(ctx, slog.LevelError, "outbox: relay pass failed", slog.Int("relayed", n),
				slog.Duration("retry_in", next), slog.Any("error", err))
		case n >= r.cfg.Batch:
			failures = 0
			next = 0
		default:
			failures = 0
		}
		if ctx.Err() != nil {
			return nil
		}
		timer.Reset(next)
	}
}

// row is one outbox row.
type row struct {
	Seq         int64  `db:"seq"`
	ID          string `db:"id"`
	Kind        string `db:"kind"`
	Payload     string `db:"payload"`
	Queue       string `db:"queue"`
	MaxRetry    int    `db:"max_retry"`
	TimeoutMs   int64  `db:"timeout_ms"`
	ProcessAtMs int64  `db:"process_at_ms"`
	UniqueKey   string `db:"unique_key"`
	UniqueTTLMs int64  `db:"unique_ttl_ms"`
	RetentionMs int64  `db:"retention_ms"`
	Owner       string `db:"owner"`
	CreatedMs   int64  `db:"created_ms"`
	Attempts    int    `db:"attempts"`
}

// itemsEnqueuer is implemented by *jobs.Client: a batch of jobs with their
// own options in one round trip.
type itemsEnqueuer interface {
	EnqueueItems(ctx context.Context, items []jobs.Item) ([]*jobs.JobInfo, error)
}

// options rebuilds the enqueue options EnqueueTx resolved.
func (w *row) options() []jobs.Option {
	opts := []jobs.Option{jobs.JobID(w.ID)}
	if w.Queue != "" {
		opts = append(opts, jobs.Queue(w.Queue))
	}
	if w.MaxRetry >= 0 {
		opts = append(opts, jobs.MaxRetry(w.MaxRetry))
	}
	if w.TimeoutMs > 0 {
		opts = append(opts, jobs.Timeout(time.Duration(w.TimeoutMs)*time.Millisecond))
	}
	if w.ProcessAtMs > 0 {
		opts = append(opts, jobs.ProcessAt(time.UnixMilli(w.ProcessAtMs)))
	}
	if w.UniqueKey != "" {
		opts = append(opts, jobs.Unique(w.UniqueKey, time.Duration(w.UniqueTTLMs)*time.Millisecond))
	}
	if w.RetentionMs > 0 {
		opts = append(opts, jobs.Retention(time.Duration(w.RetentionMs)*time.Millisecond))
	}
	if w.Owner != "" {
		opts = append(opts, jobs.Owner(w.Owner))
	}
	return opts
}

// pass moves one batch in one transaction: claim the rows, enqueue each
// with its own id as JobID (ErrDuplicate: a previous pass enqueued it and
// died before its delete), delete them, commit. It stops at the first row
// that fails: that row's attempt is counted and it is set aside with a
// back-off, the rows before it are deleted, the rest wait for the next
// pass. It returns the rows moved, and an error if any step failed.
func (r *Relay) pass(ctx context.Context) (int, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), passTimeout)
	defer cancel()
	tx, err := r.cfg.DB.BeginTxx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("outbox: begin: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	if r.d == sqlite {
		// Take the write lock before reading, whatever the DSN's _txlock:
		// passes then run one at a time and never fail to upgrade a read
		// lock under a concurrent writer.
		if _, err := tx.ExecContext(ctx, "UPDATE "+Table+" SET attempts = attempts WHERE seq < 0"); err != nil {
			return 0, fmt.Errorf("outbox: lock: %w", err)
		}
	}
	now := time.Now()
	var rows []row
	if err := tx.SelectContext(ctx, &rows, r.claimSQL, now.UnixMilli(), r.cfg.Batch); err != nil {
		return 0, fmt.Errorf("outbox: claim: %w", err)
	}
	if len(rows) == 0 {
		return 0, nil
	}
	done := make([]*row, 0, len(rows))
	var failed *row
	var failure error
	duplicate := func(w *row) {
		r.duplicates.Add(1)
		if w.UniqueKey != "" {
			r.log.LogAttrs(ctx, slog.LevelInfo, "outbox: job refused as a duplicate, row dropped",
				slog.String("id", w.ID), slog.String("kind", w.Kind), slog.String("unique_key", w.UniqueKey))
		}
	}
	// One round trip for the whole batch when the client can (the usual
	// case); if that fails, row by row, so a bad row is found and set
	// aside while the rows before it go.
	batched := false
	if ie, ok := r.cfg.Client.(itemsEnqueuer); ok && len(rows) > 1 {
		items := make([]jobs.Item, len(rows))
		for i := range rows {
			w := &rows[i]
			items[i] = jobs.Item{Args: rawArgs{kind: w.Kind, payload: []byte(w.Payload)}, Options: w.options()}
		}
		if infos, err := ie.EnqueueItems(ctx, items); err == nil {
			batched = true
			for i := range rows {
				if infos[i] == nil {
					duplicate(&rows[i])
				}
				done = append(done, &rows[i])
			}
		}
	}
	for i := range rows {
		if batched {
			break
		}
		w := &rows[i]
		_, err := r.cfg.Client.Enqueue(ctx, rawArgs{kind: w.Kind, payload: []byte(w.Payload)}, w.options()...)
		switch {
		case err == nil:
		case errors.Is(err, jobs.ErrDuplicate):
			duplicate(w)
		default:
			failed, failure = w, err
		}
		if failed != nil {
			break
		}
		done = append(done, w)
	}
	if r.afterEnqueue != nil {
		if err := r.afterEnqueue(); err != nil {
			return 0, err
		}
	}
	if len(done) > 0 {
		var b strings.Builder
		b.WriteString("DELETE FROM " + Table + " WHERE seq IN ")
		placeholders(&b, r.d, 1, len(done))
		seqs := make([]any, len(done))
		for i, w := range done {
			seqs[i] = w.Seq
		}
		if _, err := tx.ExecContext(ctx, b.String(), seqs...); err != nil {
			return 0, fmt.Errorf("outbox: delete: %w", err)
		}
	}
	if failed != nil {
		wait := min(max(r.cfg.PollInterval, time.Second)<<min(failed.Attempts, 16), maxRowBackoff)
		msg := failure.Error()
		if len(msg) > maxErrorText {
			msg = msg[:maxErrorText]
		}
		q := "UPDATE " + Table + " SET attempts = attempts + 1, last_error = ?, next_try_ms = ? WHERE seq = ?"
		if r.d == postgres {
			q = "UPDATE " + Table + " SET attempts = attempts + 1, last_error = $1, next_try_ms = $2 WHERE seq = $3"
		}
		if _, err := tx.ExecContext(ctx, q, msg, now.Add(wait).UnixMilli(), failed.Seq); err != nil {
			return 0, errors.Join(failure, fmt.Errorf("outbox: set row aside: %w", err))
		}
		r.log.LogAttrs(ctx, slog.LevelWarn, "outbox: row not enqueued; set aside", slog.String("id", failed.ID),
			slog.String("kind", failed.Kind), slog.Int("attempts", failed.Attempts+1), slog.Duration("retry_in", wait),
			slog.Any("error", failure))
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("outbox: commit: %w", err)
	}
	if len(done) > 0 && r.cfg.OnRelayed != nil {
		ids := make([]string, len(done))
		oldest := done[0].CreatedMs
		for i, w := range done {
			ids[i] = w.ID
			oldest = min(oldest, w.CreatedMs)
		}
		r.cfg.OnRelayed(ids, time.UnixMilli(oldest))
	}
	if failed != nil {
		return len(done), fmt.Errorf("outbox: enqueue %s %s: %w", failed.Kind, failed.ID, failure)
	}
	return len(done), nil
}
