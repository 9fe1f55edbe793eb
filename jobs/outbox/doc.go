// Package outbox enqueues jobs inside a database transaction (the
// transactional outbox): [EnqueueTx] records the job in the outbox table
// in the caller's sqlx transaction, so a rollback leaves no job and a
// commit always leads to one; a [Relay] moves committed rows into the
// queue of a [jobs.Client] (Redis or memory backend) and deletes them.
// PostgreSQL (pgx) and SQLite (modernc.org/sqlite) are supported.
//
//	err := crud.InTx(ctx, db, func(ctx context.Context, tx *sqlx.Tx) error {
//		if err := users.Create(ctx, &u); err != nil {
//			return err
//		}
//		_, err := outbox.EnqueueTx(ctx, tx, SendEmail{To: u.Email}, jobs.Owner(u.ID))
//		return err
//	})
//
// # The table
//
// [Migrations] gives the goose migration of the table (gantry_outbox) for
// each dialect, to run with crud.Migrate beside the service's own
// migrations, under its own version table (crud.VersionTable(VersionTable)). A row holds the job's future id, its kind, its JSON
// payload and the options [jobs.OptionsFor] resolved at EnqueueTx: queue
// (empty: the relaying client's routes apply), max retry (-1: the client's
// default), timeout, run time ([jobs.Delay] made absolute), unique key and
// ttl, retention and owner, with its creation time, in Unix milliseconds.
//
// # Relaying
//
// Each pass of [Relay.Run] is one transaction: claim up to Batch rows,
// enqueue each with its row's id as [jobs.JobID], delete them, commit. On
// PostgreSQL the claim is SELECT … FOR UPDATE SKIP LOCKED, so any number of
// relays (in the worker and scheduler roles of several processes) share the
// rows without relaying one twice; on SQLite a pass holds the write lock,
// so passes take turns.
//
// A relay that dies between its enqueues and its delete leaves the rows in
// place, and the next pass enqueues them again: the jobs are then refused
// with [jobs.ErrDuplicate] because their ids exist, which the relay counts
// as done. No job is stored twice, as long as the row is relayed again
// within the job's retention (default 1 h), the time its id stays known.
// Delivery of the job itself stays at-least-once, as for every job.
//
// # Latency
//
// On PostgreSQL an insert trigger calls pg_notify('gantry_outbox'), which
// PostgreSQL delivers only when the transaction commits; the relay LISTENs
// on one connection of its pool, so a commit is relayed within
// milliseconds (bench/outbox: p99 well under 50 ms). Polling
// (PollInterval, default 1 s) is the fallback: when the LISTEN connection
// breaks, the relay polls and reconnects with a back-off. On SQLite,
// EnqueueTx wakes the relays of its own process; their claim waits for the
// enqueuing transaction's write lock, then sees its rows if it committed.
// Rows committed by other processes are found by polling (default 100 ms).
//
// # Rows that cannot be enqueued
//
// A pass stops at the first row the client refuses (the backend is down,
// or a row written by hand holds an invalid payload): the rows before it
// are deleted, and that row's attempts and last_error are updated and it
// is set aside for PollInterval (at least 1 s) doubled per attempt, at most
// 5 minutes, so it never blocks the rows after it. Such rows are never
// dropped: a committed job is not lost silently. They stay in the table,
// logged at each attempt, for an operator to repair or delete. A job
// refused by its [jobs.Unique] key at relay time is dropped, as Enqueue
// would have refused it, and logged.
//
// # With the memory backend
//
// With SQLite and [jobs.NewMemoryBackend] (the embedded defaults) the same
// guarantee holds in one process: a rolled-back registration sends nothing,
// a committed one is relayed at once through the in-process wake-up.
//
// # Global state
//
// That in-process wake-up is the package's one package-level variable: a
// signal that carries no data and only makes a SQLite relay pass early. A
// transaction cannot name its pool, so EnqueueTx has no other way to reach
// the relays.
package outbox
