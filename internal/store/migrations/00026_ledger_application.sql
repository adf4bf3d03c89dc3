-- +goose Up
-- A reservation counts the application's earlier ones (their ids start
-- with its own): a LIKE, which neither database answers from the primary
-- key's index here, so each reservation read the whole journal.
CREATE INDEX ledger_entries_application ON ledger_entries (application_id);

-- +goose Down
DROP INDEX ledger_entries_application;
