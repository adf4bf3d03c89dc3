package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// AuditKinds are the exports for the city's auditors: the applications
// submitted in a period, the ledger journal of a period, the audit trail of
// a period.
var AuditKinds = map[string]struct {
	header []string
	query  string
}{
	"applications": {
		header: []string{"application_id", "title", "status", "group", "lead_organisation", "requested_cents", "granted_cents",
			"paid_cents", "repayment_cents", "submitted_at", "updated_at"},
		query: `SELECT id, title, status, group_name, lead_organisation, requested_cents, granted_cents, paid_cents, repayment_cents,
			created_at, updated_at FROM applications WHERE programme_id = ? AND created_at >= ? AND created_at < ? ORDER BY id`,
	},
	"journal": {
		header: []string{"entry_id", "application_id", "kind", "amount_cents", "at", "actor_id", "reason"},
		query: `SELECT id, application_id, kind, amount_cents, at, actor_id, reason FROM ledger_entries
			WHERE programme_id = ? AND at >= ? AND at < ? ORDER BY at, id`,
	},
	"history": {
		header: []string{"application_id", "seq", "kind", "from_status", "to_status", "actor_id", "actor_name", "actor_role", "detail", "at"},
		query: `SELECT e.application_id, e.seq, e.kind, e.from_status, e.to_status, e.actor_id, e.actor_name, e.actor_role, e.detail, e.at
			FROM events e JOIN applications a ON a.id = e.application_id
			WHERE a.programme_id = ? AND e.at >= ? AND e.at < ? ORDER BY e.at, e.application_id, e.seq`,
	},
}

// Audit streams an export of one programme and period [from, to): its
// header, then each row (row by row, so a large export holds no list).
func (s *Store) Audit(ctx context.Context, kind, programmeID string, from, to time.Time, emit func([]string) error) error {
	k, ok := AuditKinds[kind]
	if !ok {
		return fmt.Errorf("audit export %q: %w", kind, errUnknownKind)
	}
	if err := emit(k.header); err != nil {
		return err
	}
	rows, err := s.DB.WithContext(ctx).Raw(k.query, programmeID, from.UTC(), to.UTC()).Rows()
	if err != nil {
		return fmt.Errorf("audit export %s: %w", kind, err)
	}
	defer rows.Close()
	vals := make([]any, len(k.header))
	for i := range vals {
		vals[i] = new(sql.NullString)
	}
	for rows.Next() {
		if err := rows.Scan(vals...); err != nil {
			return fmt.Errorf("audit export %s: %w", kind, err)
		}
		rec := make([]string, len(vals))
		for i, v := range vals {
			rec[i] = normaliseTime(v.(*sql.NullString).String)
		}
		if err := emit(rec); err != nil {
			return err
		}
	}
	return rows.Err()
}

var errUnknownKind = fmt.Errorf("unknown kind")

// normaliseTime writes the times both databases return in one form
// (RFC 3339, UTC); other values pass unchanged.
func normaliseTime(v string) string {
	if len(v) < 19 || v[4] != '-' || v[7] != '-' || (v[10] != 'T' && v[10] != ' ') {
		return v
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05.999999999-07:00", "2006-01-02 15:04:05.999999999 -0700 MST",
		"2006-01-02 15:04:05.999999999Z07:00", "2006-01-02 15:04:05.999999999"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t.UTC().Format(time.RFC3339)
		}
	}
	return v
}
