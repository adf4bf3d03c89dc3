-- +goose Up
-- The fingerprint of the organisations last written for an application
-- (application_organisations): a write whose group is unchanged skips them.
-- '' (every row before this migration) means not known: the next write
-- writes them.
ALTER TABLE applications ADD COLUMN group_hash TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE applications DROP COLUMN group_hash;
