package store_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"reallabor/internal/store"
	"reallabor/internal/store/storetest"
)

// hotQueries are what every write that hands off or reserves asks, as the
// store sends them (the dialect's placeholders differ).
func hotQueries(pg bool) []struct {
	name, sql string
	args      []any
} {
	p := func(n int) string {
		if pg {
			return "$" + string(rune('0'+n))
		}
		return "?"
	}
	return []struct {
		name, sql string
		args      []any
	}{
		{"earlier reservations of an application", `SELECT count(*) FROM ledger_entries WHERE application_id = ` + p(1) +
			` AND (id = ` + p(2) + ` OR id LIKE ` + p(3) + `)`, []any{"app-00042", "app-00042:reserve", "app-00042:reserve:%"}},
		{"the board", `SELECT id, organisation, organisation_id, email, email_muted FROM users WHERE deactivated_at IS NULL AND role = ` +
			p(1) + ` ORDER BY id`, []any{"reviewer"}},
		{"a group's applicants", `SELECT id FROM users WHERE deactivated_at IS NULL AND role = ` + p(1) +
			` AND organisation_id <> '' AND organisation_id IN (` + p(2) + `)`, []any{"applicant", "org-00042"}},
	}
}

// TestHotPathLookupsUseIndexes: with 20,000 people and 40,000 journal
// entries, the lookups every write makes find their rows by an index, not
// by reading the table (on SQLite, whose planner needs no statistics, and on
// PostgreSQL after ANALYZE).
func TestHotPathLookupsUseIndexes(t *testing.T) {
	for _, tc := range []struct {
		name string
		open func(testing.TB) *store.Store
	}{{"sqlite", storetest.NewSQLite}, {"postgres", storetest.New}} {
		t.Run(tc.name, func(t *testing.T) {
			st := tc.open(t)
			pg := tc.name == "postgres"
			ctx := context.Background()
			now := time.Now().UTC()
			storetest.Must(t, st.DB.Exec(`INSERT INTO programmes (id, name, currency, rules, budget_cents, status, created_at)
				VALUES ('p', 'p', 'EUR', '{}', 1, 'open', ?)`, now).Error)
			series := `WITH RECURSIVE s(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM s WHERE g < %d) `
			if pg {
				series = `WITH s(g) AS (SELECT generate_series(1, %d)) `
			}
			fill := func(n, sql string) {
				storetest.Must(t, st.DB.WithContext(ctx).Exec(strings.Replace(series, "%d", n, 1)+sql, now).Error)
			}
			fill("20000", `INSERT INTO users (id, name, role, organisation, organisation_id, token_hash, created_at)
				SELECT 'u-' || g, 'n', CASE WHEN g % 100 = 0 THEN 'reviewer' ELSE 'applicant' END, 'o', 'org-' || substr('0000' || (g % 5000), -5),
				'h-' || g, ? FROM s`)
			fill("40000", `INSERT INTO ledger_entries (id, programme_id, application_id, kind, amount_cents, at)
				SELECT 'app-' || substr('0000' || (g % 10000), -5) || ':e' || g, 'p', 'app-' || substr('0000' || (g % 10000), -5), 'paid', 1, ? FROM s`)
			storetest.Must(t, st.DB.Exec("ANALYZE").Error)
			for _, q := range hotQueries(pg) {
				explain := "EXPLAIN QUERY PLAN "
				if pg {
					explain = "EXPLAIN "
				}
				rows, err := st.DB.Raw(explain+q.sql, q.args...).Rows()
				storetest.Must(t, err)
				var plan []string
				cols, _ := rows.Columns()
				for rows.Next() {
					vals := make([]any, len(cols))
					ptrs := make([]any, len(cols))
					for i := range vals {
						ptrs[i] = &vals[i]
					}
					storetest.Must(t, rows.Scan(ptrs...))
					for _, v := range vals {
						if s, ok := v.(string); ok {
							plan = append(plan, s)
						}
					}
				}
				storetest.Must(t, rows.Close())
				text := strings.Join(plan, "\n")
				if strings.Contains(text, "Seq Scan") || strings.Contains(text, "SCAN users") || strings.Contains(text, "SCAN ledger_entries") ||
					!strings.Contains(strings.ToLower(text), "index") {
					t.Errorf("%s reads the table:\n%s", q.name, text)
				}
			}
		})
	}
}
