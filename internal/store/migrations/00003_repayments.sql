-- +goose Up
-- Money a group paid back on a repayment demand (settlement below what was
-- paid, or cancellation). Each receipt is a ledger entry keyed by its bank
-- reference.
ALTER TABLE applications ADD COLUMN repaid_cents BIGINT NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE applications DROP COLUMN repaid_cents;
