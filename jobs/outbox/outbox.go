package outbox

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/gantry-dev/gantry/jobs"
)

// Table is the outbox table's name, and Channel the PostgreSQL channel
// its insert trigger notifies. Both are fixed: isolate several outboxes in
// one database with schemas (search_path).
const (
	Table   = "gantry_outbox"
	Channel = "gantry_outbox"
)

// VersionTable is the goose version table of the outbox's migrations.
const VersionTable = "gantry_outbox_db_version"

// migrationFS holds the goose migrations of the outbox table.
//
//go:embed migrations
var migrationFS embed.FS

// Migrations returns the goose migrations that create the outbox table on
// dialect ("postgres" or "sqlite", the values of crud.Dialect): an fs.FS
// and the directory in it, as crud.Migrate takes them, with the set's own
// version table ([VersionTable]) so it runs beside the service's own
// migrations, each numbered on its own:
//
//	fsys, dir, err := outbox.Migrations(string(crud.Postgres))
//	_, err = crud.Migrate(ctx, db.DB, crud.Postgres, fsys, dir, crud.VersionTable(outbox.VersionTable))
func Migrations(dialect string) (fsys fs.FS, dir string, err error) {
	switch dialect {
	case "postgres", "sqlite":
		return migrationFS, "migrations/" + dialect, nil
	}
	return nil, "", fmt.Errorf("outbox: unknown dialect %q (want postgres or sqlite)", dialect)
}

// Tx is the transaction EnqueueTx writes in: a *sqlx.Tx satisfies it. The
// dialect is told by DriverName: "pgx" (or "pgx/v5", "postgres",
// "postgresql") for PostgreSQL, "sqlite" (or "sqlite3") for SQLite.
type Tx interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	DriverName() string
}

type dialect int

const (
	postgres dialect = iota + 1
	sqlite
)

func dialectOf(driverName string) (dialect, error) {
	switch driverName {
	case "pgx", "pgx/v5", "postgres", "postgresql":
		return postgres, nil
	case "sqlite", "sqlite3":
		return sqlite, nil
	}
	return 0, fmt.Errorf("outbox: unsupported driver %q (want pgx or sqlite)", driverName)
}

// placeholders writes n rows of k placeholders each: ($1,…,$k),(…) on
// PostgreSQL, (?,…) on SQLite.
func placeholders(b *strings.Builder, d dialect, rows, k int) {
	n := 0
	for r := range rows {
		if r > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('(')
		for c := range k {
			if c > 0 {
				b.WriteByte(',')
			}
			n++
			if d == postgres {
				fmt.Fprintf(b, "$%d", n)
			} else {
				b.WriteByte('?')
			}
		}
		b.WriteByte(')')
	}
}

const insertColumns = "id, kind, payload, queue, max_retry, timeout_ms, process_at_ms, unique_key, unique_ttl_ms, retention_ms, owner, created_ms"

// insertChunk bounds the rows of one INSERT (12 parameters each).
const insertChunk = 500

// EnqueueTx records a job with args in the outbox table inside tx and
// returns the id the job will have. Nothing is enqueued now: if tx rolls
// back there is no job; once it commits, a [Relay] enqueues the job on its
// [jobs.Client] with that id and deletes the row.
//
// The kind's [jobs.KindDefaults] and opts are resolved now, as
// [jobs.Client.Enqueue] would: a [jobs.Delay] becomes an absolute run time
// counted from this call, and the queue, max retry and retention left unset
// take the relaying client's routes and defaults. A [jobs.JobID] option
// names the job (and the row): a second row with the same id fails the
// insert, so the caller's transaction sees the duplicate. Without it the id
// is a fresh UUIDv7, which no id the jobs package makes can equal. A
// [jobs.Unique] key is checked when the relay enqueues, and a job it
// refuses is dropped then (as Enqueue would have refused it).
//
// EnqueueTx returns an error, and inserts nothing, for nil args, an invalid
// kind, args that do not marshal, an invalid JobID, or a Unique key without
// a positive ttl.
func EnqueueTx(ctx context.Context, tx Tx, args jobs.Args, opts ...jobs.Option) (id string, err error) {
	ids, err := EnqueueManyTx(ctx, tx, []jobs.Args{args}, opts...)
	if err != nil {
		return "", err
	}
	return ids[0], nil
}

// EnqueueManyTx is [EnqueueTx] for many jobs with the same options, in one
// INSERT per 500 jobs; the ids line up with args. A [jobs.JobID] option
// with more than one args is refused: ids must differ.
func EnqueueManyTx(ctx context.Context, tx Tx, args []jobs.Args, opts ...jobs.Option) (ids []string, err error) {
	if tx == nil {
		return nil, errors.New("outbox: enqueue: nil tx")
	}
	d, err := dialectOf(tx.DriverName())
	if err != nil {
		return nil, err
	}
	if len(args) == 0 {
		return nil, nil
	}
	now := time.Now()
	rows := make([][]any, len(args))
	ids = make([]string, len(args))
	for i, a := range args {
		r, err := newRow(a, now, opts)
		if err != nil {
			return nil, err
		}
		if i > 0 && r[0] == rows[0][0] {
			return nil, fmt.Errorf("outbox: enqueue many: JobID %q given to %d jobs", r[0], len(args))
		}
		rows[i], ids[i] = r, r[0].(string)
	}
	for start := 0; start < len(rows); start += insertChunk {
		chunk := rows[start:min(start+insertChunk, len(rows))]
		var b strings.Builder
		b.WriteString("INSERT INTO " + Table + " (" + insertColumns + ") VALUES ")
		placeholders(&b, d, len(chunk), len(chunk[0]))
		vals := make([]any, 0, len(chunk)*len(chunk[0]))
		for _, r := range chunk {
			vals = append(vals, r...)
		}
		if _, err := tx.ExecContext(ctx, b.String(), vals...); err != nil {
			return nil, fmt.Errorf("outbox: insert into %s: %w", Table, err)
		}
	}
	if d == sqlite {
		// The relays of this process may look now: their claim takes the
		// write lock, so it waits for this transaction and sees its rows
		// if it commits. A rollback leaves them nothing to find.
		local.fire()
	}
	return ids, nil
}

// newRow resolves args and opts into the values of insertColumns.
func newRow(args jobs.Args, now time.Time, opts []jobs.Option) ([]any, error) {
	if args == nil {
		return nil, errors.New("outbox: enqueue nil args")
	}
	if err := jobs.Check(args, opts...); err != nil { // what the relay's enqueue would refuse
		return nil, fmt.Errorf("outbox: %w", err)
	}
	kind := args.Kind()
	payload, err := json.Marshal(args)
	if err != nil {
		return nil, fmt.Errorf("outbox: marshal %s: %w", kind, err)
	}
	o := jobs.OptionsFor(args, opts...)
	id := o.ID
	if id == "" {
		id = uuid.Must(uuid.NewV7()).String()
	}
	var processAt int64
	switch {
	case !o.ProcessAt.IsZero():
		processAt = o.ProcessAt.UnixMilli()
	case o.Delay > 0:
		processAt = now.Add(o.Delay).UnixMilli()
	}
	maxRetry := int64(o.MaxRetry)
	if maxRetry < 0 {
		maxRetry = -1
	}
	return []any{id, kind, string(payload), o.Queue, maxRetry, o.Timeout.Milliseconds(), processAt,
		o.UniqueKey, o.UniqueTTL.Milliseconds(), o.Retention.Milliseconds(), o.Owner, now.UnixMilli()}, nil
}

// rawArgs replays a stored job: its kind from the row, its JSON the stored
// payload as is.
type rawArgs struct {
	kind    string
	payload json.RawMessage
}

func (a rawArgs) Kind() string                 { return a.kind }
func (a rawArgs) MarshalJSON() ([]byte, error) { return a.payload, nil }

// signal wakes every waiter at once: wait returns a channel closed by the
// next fire.
type signal struct {
	mu sync.Mutex
	ch chan struct{}
}

func newSignal() *signal { return &signal{ch: make(chan struct{})} }

func (s *signal) wait() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ch
}

func (s *signal) fire() {
	s.mu.Lock()
	defer s.mu.Unlock()
	close(s.ch)
	s.ch = make(chan struct{})
}

// local is the process-wide wake-up of SQLite relays (see EnqueueManyTx).
// It is the package's one piece of state: a hint that carries no data,
// whose only effect is an early pass of a relay (PostgreSQL relays use
// LISTEN instead). EnqueueTx has no other way to reach the relays of its
// process, since a transaction does not know its pool.
var local = newSignal()
