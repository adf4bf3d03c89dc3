-- +goose Up
-- A deactivated user signs in no more (its token is refused) until an admin
-- reactivates it; what it did stays in the audit trail under its id.
ALTER TABLE users ADD COLUMN deactivated_at TIMESTAMP WITH TIME ZONE;

-- +goose Down
ALTER TABLE users DROP COLUMN deactivated_at;
