-- +goose Up
-- Budget changes are journal entries with who made them and why.
ALTER TABLE ledger_entries ADD COLUMN actor_id TEXT NOT NULL DEFAULT '';
ALTER TABLE ledger_entries ADD COLUMN reason TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE ledger_entries DROP COLUMN reason;
ALTER TABLE ledger_entries DROP COLUMN actor_id;
