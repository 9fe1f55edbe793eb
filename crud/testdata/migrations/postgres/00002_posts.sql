-- +goose Up
CREATE TABLE posts (
	id BIGSERIAL PRIMARY KEY,
	author_id BIGINT NOT NULL REFERENCES authors (id),
	title TEXT NOT NULL CHECK (title <> ''),
	created_at TIMESTAMPTZ NOT NULL,
	updated_at TIMESTAMPTZ NOT NULL,
	deleted_at TIMESTAMPTZ,
	version BIGINT NOT NULL DEFAULT 1
);
CREATE INDEX posts_author_id ON posts (author_id);

-- +goose Down
DROP TABLE posts;
