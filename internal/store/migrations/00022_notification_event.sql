-- +goose Up
-- A write of an application's events finds what it filed for them
-- (workflow version "caller-writes": the API writes an action, the
-- workflow's flush hands what is still to mail to delivery).
CREATE INDEX notifications_event ON notifications (application_id, event_seq);

-- +goose Down
DROP INDEX notifications_event;
