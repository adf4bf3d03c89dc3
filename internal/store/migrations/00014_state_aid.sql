-- +goose Up
-- The state-aid register: the de-minimis aid this fund granted, per
-- organisation and grant (its share of the grant, the date it was granted).
-- Written with the grant's reservation and kept in step with the
-- application (a withdrawal before payment takes it out, a settlement below
-- the grant lowers it).
CREATE TABLE state_aid (
    application_id    TEXT NOT NULL,
    organisation_id   TEXT NOT NULL,
    programme_id      TEXT NOT NULL,
    organisation_name TEXT NOT NULL,
    amount_cents      BIGINT NOT NULL,
    granted_at        TIMESTAMP WITH TIME ZONE NOT NULL,
    PRIMARY KEY (application_id, organisation_id)
);
CREATE INDEX state_aid_organisation ON state_aid (organisation_id, granted_at);

-- +goose Down
DROP TABLE state_aid;
