-- +goose Up
-- Per-kind preferences: the event kinds a user wants no e-mail for
-- (comma-separated; the inbox still has them).
ALTER TABLE users ADD COLUMN email_muted TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE users DROP COLUMN email_muted;
