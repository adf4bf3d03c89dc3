-- +goose Up
-- Calls within a programme: applications are submitted to an open call.
-- rules holds the programme rules the call overrides (the API's rule fields).
CREATE TABLE calls (
    id                 TEXT PRIMARY KEY,
    programme_id       TEXT NOT NULL REFERENCES programmes (id),
    title              TEXT NOT NULL,
    opens_at           TIMESTAMP WITH TIME ZONE NOT NULL,
    closes_at          TIMESTAMP WITH TIME ZONE NOT NULL,
    closed_at          TIMESTAMP WITH TIME ZONE,
    budget_share_cents BIGINT NOT NULL DEFAULT 0,
    rules              TEXT NOT NULL DEFAULT '{}',
    created_at         TIMESTAMP WITH TIME ZONE NOT NULL
);
CREATE INDEX calls_programme ON calls (programme_id, opens_at);

-- +goose Down
DROP TABLE calls;
