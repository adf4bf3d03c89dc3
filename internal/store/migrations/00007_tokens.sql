-- +goose Up
-- A user may hold several tokens, each with a name, its last use and an
-- optional expiry; each can be revoked on its own. Existing tokens move here
-- (named "default"); users.token_hash stays as a unique placeholder
-- ('user:' || id) because SQLite cannot drop a UNIQUE column in place.
CREATE TABLE tokens (
    id            TEXT PRIMARY KEY,
    user_id       TEXT NOT NULL REFERENCES users(id),
    name          TEXT NOT NULL,
    hash          TEXT NOT NULL UNIQUE,
    created_at    TIMESTAMP WITH TIME ZONE NOT NULL,
    expires_at    TIMESTAMP WITH TIME ZONE,
    last_used_at  TIMESTAMP WITH TIME ZONE,
    revoked_at    TIMESTAMP WITH TIME ZONE
);
CREATE INDEX tokens_user ON tokens (user_id, created_at);
INSERT INTO tokens (id, user_id, name, hash, created_at)
    SELECT 'tok-' || id, id, 'default', token_hash, created_at FROM users WHERE token_hash NOT LIKE 'revoked:%';
UPDATE users SET token_hash = 'user:' || id;

-- +goose Down
UPDATE users SET token_hash = COALESCE((SELECT t.hash FROM tokens t WHERE t.user_id = users.id AND t.revoked_at IS NULL
    ORDER BY t.created_at DESC LIMIT 1), 'revoked:' || id);
DROP TABLE tokens;
