-- +goose Up
-- Documents attached to applications (and to their reports): what each is;
-- the bytes live in the document bucket under the document's id.
CREATE TABLE documents (
    id             TEXT PRIMARY KEY,
    application_id TEXT NOT NULL REFERENCES applications (id),
    report_id      TEXT NOT NULL DEFAULT '',
    kind           TEXT NOT NULL,
    filename       TEXT NOT NULL,
    content_type   TEXT NOT NULL,
    size_bytes     BIGINT NOT NULL,
    sha256         TEXT NOT NULL,
    uploaded_by    TEXT NOT NULL,
    uploaded_at    TIMESTAMP WITH TIME ZONE NOT NULL
);
CREATE INDEX documents_application ON documents (application_id, uploaded_at, id);
CREATE UNIQUE INDEX documents_same_file ON documents (application_id, report_id, kind, sha256);

-- +goose Down
DROP TABLE documents;
