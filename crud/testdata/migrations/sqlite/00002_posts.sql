-- +goose Up
CREATE TABLE posts (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	author_id INTEGER NOT NULL REFERENCES authors (id),
	title TEXT NOT NULL CHECK (title <> ''),
	created_at TIMESTAMP NOT NULL,
	updated_at TIMESTAMP NOT NULL,
	deleted_at TIMESTAMP,
	version INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX posts_author_id ON posts (author_id);

-- +goose Down
DROP TABLE posts;
