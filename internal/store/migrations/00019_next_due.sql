-- +goose Up
-- The earliest date by which something is expected on an application (the
-- least "by" of its next steps; NULL: nothing has a date): the overdue list
-- reads it through the index. Rows written before this migration are filled
-- from their state by the store's backfill when it migrates.
ALTER TABLE applications ADD COLUMN next_due_at TIMESTAMP WITH TIME ZONE;
CREATE INDEX applications_next_due ON applications (next_due_at, id) WHERE next_due_at IS NOT NULL;

-- +goose Down
DROP INDEX applications_next_due;
ALTER TABLE applications DROP COLUMN next_due_at;
