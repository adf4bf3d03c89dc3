-- +goose Up
-- One-time sign-in links sent by e-mail: the hash of the link's secret (the
-- secret itself is only in the mail), whose user, until when; used_at once
-- it signed in.
CREATE TABLE login_links (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id),
    created_at TIMESTAMP WITH TIME ZONE NOT NULL,
    expires_at TIMESTAMP WITH TIME ZONE NOT NULL,
    used_at TIMESTAMP WITH TIME ZONE
);
CREATE INDEX login_links_user ON login_links (user_id, created_at);

-- +goose Down
DROP TABLE login_links;
