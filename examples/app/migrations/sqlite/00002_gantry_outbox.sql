-- The transactional outbox of package github.com/gantry-dev/gantry/jobs/outbox.
-- Times are Unix milliseconds, so both dialects share one row layout.

-- +goose Up
CREATE TABLE gantry_outbox (
    seq           INTEGER PRIMARY KEY,
    id            TEXT NOT NULL UNIQUE,
    kind          TEXT NOT NULL,
    payload       TEXT NOT NULL,
    queue         TEXT NOT NULL DEFAULT '',
    max_retry     INTEGER NOT NULL DEFAULT -1,
    timeout_ms    INTEGER NOT NULL DEFAULT 0,
    process_at_ms INTEGER NOT NULL DEFAULT 0,
    unique_key    TEXT NOT NULL DEFAULT '',
    unique_ttl_ms INTEGER NOT NULL DEFAULT 0,
    retention_ms  INTEGER NOT NULL DEFAULT 0,
    owner         TEXT NOT NULL DEFAULT '',
    created_ms    INTEGER NOT NULL,
    attempts      INTEGER NOT NULL DEFAULT 0,
    next_try_ms   INTEGER NOT NULL DEFAULT 0,
    last_error    TEXT NOT NULL DEFAULT ''
);

-- +goose Down
DROP TABLE gantry_outbox;
