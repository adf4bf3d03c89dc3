-- +goose Up
-- Every hand-off reaches a person: an inbox row per recipient, written with
-- the event; e-mail delivery marks each one sent (or failed, the dead letter).
ALTER TABLE users ADD COLUMN email TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN language TEXT NOT NULL DEFAULT 'de';
CREATE TABLE notifications (
    id              TEXT PRIMARY KEY,
    user_id         TEXT NOT NULL REFERENCES users(id),
    application_id  TEXT NOT NULL,
    event_seq       BIGINT NOT NULL,
    kind            TEXT NOT NULL,
    title           TEXT NOT NULL,
    detail          TEXT NOT NULL DEFAULT '',
    expected        TEXT NOT NULL DEFAULT '',
    due_at          TIMESTAMP WITH TIME ZONE,
    created_at      TIMESTAMP WITH TIME ZONE NOT NULL,
    read_at         TIMESTAMP WITH TIME ZONE,
    email_status    TEXT NOT NULL DEFAULT '',
    email_error     TEXT NOT NULL DEFAULT '',
    emailed_at      TIMESTAMP WITH TIME ZONE,
    UNIQUE (application_id, event_seq, user_id)
);
CREATE INDEX notifications_inbox ON notifications (user_id, read_at, created_at);

-- +goose Down
DROP TABLE notifications;
ALTER TABLE users DROP COLUMN language;
ALTER TABLE users DROP COLUMN email;
