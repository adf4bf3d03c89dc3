package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// SeedScale fills a PostgreSQL database with applications and their three
// tranches each, spread over programmes and stages, straight in SQL (no
// workflows): for measuring the lists at scale (`reallabor seed-scale`, the
// list benchmark). The rows have no workflow behind them, so `reallabor
// check` reports each: seed a database of its own.
func (s *Store) SeedScale(ctx context.Context, programmes, applications int) error {
	if s.Dialect != Postgres {
		return errors.New("seed-scale needs PostgreSQL")
	}
	stmts := []string{
		`INSERT INTO programmes (id, name, rules, budget_cents, created_at)
		 SELECT 'scale-p' || g, 'Scale ' || g, '{}', 100000000000000, now() FROM generate_series(1, {programmes}) g
		 ON CONFLICT DO NOTHING`,
		// In review and approved ones expect a step by a date within a month
		// either side of today (half are overdue), as the overdue list reads.
		`INSERT INTO applications (id, programme_id, title, status, requested_cents, group_name, lead_organisation,
		     payee_name, payee_iban, submitted_by, created_at, updated_at, next_due_at, state)
		 SELECT d.id, 'scale-p' || (d.g % {programmes} + 1), 'Reallabor ' || d.g, d.status, 100000,
		     'Gruppe ' || d.g, 'Firma ' || (d.g % 5000), 'Firma ' || (d.g % 5000), 'DE89370400440532013000', 'scale-user',
		     now() - (d.g || ' seconds')::interval, now(), d.due,
		     CASE WHEN d.due IS NULL THEN '{}' ELSE json_build_object('id', d.id, 'status', d.status, 'next', json_build_array(
		         json_build_object('action', CASE d.status WHEN 'in_review' THEN 'review' ELSE 'accept_agreement' END,
		             'from', CASE d.status WHEN 'in_review' THEN 'reviewer' ELSE 'applicant' END, 'by', d.due)))::text END
		 FROM (SELECT g, 'scale-a-' || lpad(g::text, 8, '0') AS id,
		         (ARRAY['in_review','approved','active','active','closed','rejected','withdrawn'])[g % 7 + 1] AS status,
		         CASE WHEN g % 7 < 2 THEN date_trunc('second', now()) + ((g % 61) - 30) * interval '1 day' END AS due
		       FROM generate_series(1, {applications}) g) d ON CONFLICT DO NOTHING`,
		`INSERT INTO tranches (id, application_id, programme_id, number, trigger_kind, amount_cents, status, due_at, seq, updated_at)
		 SELECT a.id || '-' || n, a.id, a.programme_id, n, 'acceptance', 33333,
		     (ARRAY['scheduled','due','approved','paid','cancelled'])[(hashtext(a.id) & 255 + n) % 5 + 1],
		     now() + (n || ' months')::interval, 0, now()
		 FROM applications a CROSS JOIN generate_series(1, 3) n WHERE a.id LIKE 'scale-a-%' ON CONFLICT DO NOTHING`,
		`INSERT INTO application_organisations (application_id, organisation, confirmation)
		 SELECT id, 'scale-org-' || right(id, 4), 'submitter' FROM applications WHERE id LIKE 'scale-a-%' ON CONFLICT DO NOTHING`,
		`VACUUM ANALYZE`, // as autovacuum would: index-only scans need the visibility map
	}
	for _, q := range stmts {
		q = strings.NewReplacer("{programmes}", strconv.Itoa(programmes), "{applications}", strconv.Itoa(applications)).Replace(q)
		if err := s.DB.WithContext(ctx).Exec(q).Error; err != nil {
			return fmt.Errorf("seed scale: %w", err)
		}
	}
	return nil
}
