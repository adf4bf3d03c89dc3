-- +goose Up
-- A claimed Idempotency-Key is held by its request while that request's
-- process renews the lease; a claim whose lease ran out (the process died)
-- is taken over by the next retry within seconds.
ALTER TABLE idempotency_keys ADD COLUMN lease_until TIMESTAMP WITH TIME ZONE;

-- +goose Down
ALTER TABLE idempotency_keys DROP COLUMN lease_until;
