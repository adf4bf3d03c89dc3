-- +goose Up
-- The payment file that carries a tranche, as its workflow holds it
-- (exported is a workflow state): a file can be fetched again from the
-- tranches even if the export request died before its batch was listed.
ALTER TABLE tranches ADD COLUMN export_batch TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE tranches DROP COLUMN export_batch;
