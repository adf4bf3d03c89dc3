-- +goose Up
-- A document may be attached to an amendment (the evidence for a change of
-- plan); the same file may go with several amendments.
ALTER TABLE documents ADD COLUMN amendment_id TEXT NOT NULL DEFAULT '';
DROP INDEX documents_same_file;
CREATE UNIQUE INDEX documents_same_file ON documents (application_id, report_id, amendment_id, kind, sha256);

-- +goose Down
DROP INDEX documents_same_file;
CREATE UNIQUE INDEX documents_same_file ON documents (application_id, report_id, kind, sha256);
ALTER TABLE documents DROP COLUMN amendment_id;
