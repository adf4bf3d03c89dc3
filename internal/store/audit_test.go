package store_test

import (
	"context"
	"testing"
	"time"

	"reallabor/internal/store"
	"reallabor/internal/store/storetest"
)

// TestAuditTimesAlikeOnBothDialects: the export writes times as RFC 3339
// UTC whichever database holds them.
func TestAuditTimesAlikeOnBothDialects(t *testing.T) {
	for name, st := range map[string]*store.Store{"postgres": storetest.New(t), "sqlite": storetest.NewSQLite(t)} {
		p := seedProgramme(t, st, 10_000)
		seedApplication(t, st, p.ID, p.ID+"-a", 1)
		var rows [][]string
		storetest.Must(t, st.Audit(context.Background(), "history", p.ID, time.Time{}, time.Now().Add(time.Hour),
			func(r []string) error { rows = append(rows, r); return nil }))
		if len(rows) != 2 {
			t.Fatalf("%s: %d rows, want header and one event", name, len(rows))
		}
		if _, err := time.Parse(time.RFC3339, rows[1][9]); err != nil {
			t.Errorf("%s: time %q is not RFC 3339", name, rows[1][9])
		}
	}
}
