-- +goose Up
-- The workflow's count of writes it put back after the database refused
-- them (workflow version "caller-writes"): a write of an older epoch (an
-- update's result handed out before) is refused.
ALTER TABLE applications ADD COLUMN write_epoch BIGINT NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE applications DROP COLUMN write_epoch;
