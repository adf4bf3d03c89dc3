-- +goose Up
-- The call an application was submitted to ('' for none): the ledger keeps
-- a call's reservations within its budget share. Rows from before are
-- filled from their state by the store's backfill when it migrates.
ALTER TABLE applications ADD COLUMN call_id TEXT NOT NULL DEFAULT '';
CREATE INDEX applications_call ON applications (call_id) WHERE call_id <> '';

-- +goose Down
DROP INDEX applications_call;
ALTER TABLE applications DROP COLUMN call_id;
