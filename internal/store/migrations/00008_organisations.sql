-- +goose Up
-- Organisations are entities: users belong to one by id, an application's
-- group names its members by id, and a partner joins by confirming its
-- invitation. Existing names are filed in the registry by the application
-- after this migration (store.backfillOrganisations: it needs the Unicode
-- matching key, which SQL cannot compute).
CREATE TABLE organisations (
    id               TEXT PRIMARY KEY,
    name             TEXT NOT NULL,
    legal_form       TEXT NOT NULL DEFAULT '',
    register_number  TEXT NOT NULL DEFAULT '',
    key              TEXT NOT NULL,
    created_at       TIMESTAMP WITH TIME ZONE NOT NULL
);
CREATE INDEX organisations_key ON organisations (key);
CREATE UNIQUE INDEX organisations_register_number ON organisations (register_number) WHERE register_number <> '';
ALTER TABLE users ADD COLUMN organisation_id TEXT NOT NULL DEFAULT '';
-- submitter, confirmed or '' (before the registry) see the application;
-- invited and declined partners see only their invitation.
ALTER TABLE application_organisations ADD COLUMN confirmation TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE application_organisations DROP COLUMN confirmation;
ALTER TABLE users DROP COLUMN organisation_id;
DROP TABLE organisations;
