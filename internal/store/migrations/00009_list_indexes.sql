-- +goose Up
-- The lists page by id (cursor) under each filter they offer: first pages
-- stay index scans at 100,000 applications and 300,000 tranches.
CREATE INDEX applications_status_id ON applications (status, id);
CREATE INDEX applications_programme_id ON applications (programme_id, id);
CREATE INDEX tranches_status_id ON tranches (status, id);
CREATE INDEX tranches_programme_status_id ON tranches (programme_id, status, id);
-- The totals of a disbursement list (every page) sum from the index alone.
DROP INDEX tranches_status;
CREATE INDEX tranches_status_amount ON tranches (status, programme_id, amount_cents);

-- +goose Down
DROP INDEX tranches_status_amount;
CREATE INDEX tranches_status ON tranches (status, programme_id);
DROP INDEX tranches_programme_status_id;
DROP INDEX tranches_status_id;
DROP INDEX applications_programme_id;
DROP INDEX applications_status_id;
