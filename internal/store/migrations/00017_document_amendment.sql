-- +goose Up
-- A document may be attached to an amendment (the evidence for a change of plan).
ALTER TABLE documents ADD COLUMN amendment_id TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE documents DROP COLUMN amendment_id;
