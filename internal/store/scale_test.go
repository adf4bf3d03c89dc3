package store_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"reallabor/internal/store/storetest"
)

// TestListsUseIndexesAtScale: with 100,000 applications and 300,000
// tranches, the first page of every list is an index scan (EXPLAIN), not a
// scan of the table (the ledger is one programme row by its key). The timings are in BenchmarkListsAtScale (api).
func TestListsUseIndexesAtScale(t *testing.T) {
	st := storetest.New(t)
	ctx := context.Background()
	start := time.Now()
	storetest.Must(t, st.SeedScale(ctx, 10, 100_000))
	t.Logf("seeded 100,000 applications and 300,000 tranches in %s", time.Since(start).Round(time.Millisecond))
	for _, q := range []struct {
		name, sql string
		args      []any
	}{
		// As the store writes them (first page, limit + 1).
		{"applications by status", `SELECT * FROM applications WHERE status = $1 ORDER BY id LIMIT 51`, []any{"active"}},
		{"applications by programme and status", `SELECT * FROM applications WHERE status = $1 AND programme_id = $2 ORDER BY id LIMIT 51`,
			[]any{"in_review", "scale-p3"}},
		{"applications by programme", `SELECT * FROM applications WHERE programme_id = $1 ORDER BY id LIMIT 51`, []any{"scale-p3"}},
		{"applications of an organisation", `SELECT * FROM applications WHERE id IN (SELECT application_id FROM application_organisations
			WHERE organisation = $1 AND confirmation IN ('', 'submitter', 'confirmed')) ORDER BY id LIMIT 51`, []any{"scale-org-0042"}},
		{"overdue", `SELECT * FROM applications WHERE next_due_at IS NOT NULL AND next_due_at < $1 ORDER BY next_due_at, id LIMIT 51`,
			[]any{time.Now().UTC()}},
		{"overdue of a programme", `SELECT * FROM applications WHERE next_due_at IS NOT NULL AND next_due_at < $1 AND programme_id = $2
			ORDER BY next_due_at, id LIMIT 51`, []any{time.Now().UTC(), "scale-p3"}},
		{"disbursements due", `SELECT * FROM tranches WHERE status = $1 ORDER BY id LIMIT 101`, []any{"due"}},
		{"disbursements due of a programme", `SELECT * FROM tranches WHERE status = $1 AND programme_id = $2 ORDER BY id LIMIT 101`,
			[]any{"due", "scale-p3"}},
	} {
		var plan []string
		storetest.Must(t, st.DB.Raw("EXPLAIN "+q.sql, q.args...).Scan(&plan).Error)
		text := strings.Join(plan, "\n")
		if !strings.Contains(text, "Index") || strings.Contains(text, "Seq Scan on applications") ||
			strings.Contains(text, "Seq Scan on tranches") {
			t.Errorf("%s is not an index scan:\n%s", q.name, text)
		}
	}
	var n int64
	storetest.Must(t, st.DB.Raw("SELECT COUNT(*) FROM tranches").Scan(&n).Error)
	if n != 300_000 {
		t.Errorf("tranches seeded = %d, want 300,000", n)
	}
}
