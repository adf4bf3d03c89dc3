-- +goose Up
-- Which approval of which tranche went out in which payment file: a tranche
-- approved once is exported once, so a second export cannot pay it again. A
-- re-approval (after a failed payment) has a new approved_at and is exported anew.
CREATE TABLE payment_exports (
    tranche_id   TEXT NOT NULL REFERENCES tranches(id),
    approved_at  TIMESTAMP WITH TIME ZONE NOT NULL,
    batch_id     TEXT NOT NULL,
    exported_by  TEXT NOT NULL,
    created_at   TIMESTAMP WITH TIME ZONE NOT NULL,
    PRIMARY KEY (tranche_id, approved_at)
);
CREATE INDEX payment_exports_batch ON payment_exports (batch_id);

-- +goose Down
DROP TABLE payment_exports;
