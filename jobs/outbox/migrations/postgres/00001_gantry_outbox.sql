-- The transactional outbox of package github.com/gantry-dev/gantry/jobs/outbox.
-- Times are Unix milliseconds, so both dialects share one row layout.

-- +goose Up
CREATE TABLE gantry_outbox (
    seq           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id            TEXT NOT NULL UNIQUE,
    kind          TEXT NOT NULL,
    payload       TEXT NOT NULL,
    queue         TEXT NOT NULL DEFAULT '',
    max_retry     INTEGER NOT NULL DEFAULT -1,
    timeout_ms    BIGINT NOT NULL DEFAULT 0,
    process_at_ms BIGINT NOT NULL DEFAULT 0,
    unique_key    TEXT NOT NULL DEFAULT '',
    unique_ttl_ms BIGINT NOT NULL DEFAULT 0,
    retention_ms  BIGINT NOT NULL DEFAULT 0,
    owner         TEXT NOT NULL DEFAULT '',
    created_ms    BIGINT NOT NULL,
    attempts      INTEGER NOT NULL DEFAULT 0,
    next_try_ms   BIGINT NOT NULL DEFAULT 0,
    last_error    TEXT NOT NULL DEFAULT ''
);

-- Wake the relays when a transaction that inserted rows commits: NOTIFY is
-- delivered on commit only, and once per transaction.
-- +goose StatementBegin
CREATE FUNCTION gantry_outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('gantry_outbox', '');
    RETURN NULL;
END;
$$;
-- +goose StatementEnd

CREATE TRIGGER gantry_outbox_notify AFTER INSERT ON gantry_outbox
    FOR EACH STATEMENT EXECUTE FUNCTION gantry_outbox_notify();

-- +goose Down
DROP TABLE gantry_outbox;
DROP FUNCTION gantry_outbox_notify();
