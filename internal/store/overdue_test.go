package store_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"reallabor/internal/store"
	"reallabor/internal/store/storetest"
	"reallabor/models"
)

// TestOverdueOnBothDatabases: the projection keeps each application's
// earliest dated step; the overdue list reads it, the earliest first, in
// pages that neither repeat nor skip (also among equal dates), on
// PostgreSQL and SQLite; rows from before the column are filled from their
// state when the store migrates.
func TestOverdueOnBothDatabases(t *testing.T) {
	for name, open := range map[string]func(testing.TB) *store.Store{"postgres": storetest.New, "sqlite": storetest.NewSQLite} {
		t.Run(name, func(t *testing.T) {
			st := open(t)
			ctx := context.Background()
			p := seedProgramme(t, st, 10_000)
			base := time.Date(2027, 3, 1, 9, 0, 0, 0, time.UTC)
			write := func(id string, next ...models.Next) {
				t.Helper()
				s := models.ApplicationState{ID: id, ProgrammeID: p.ID, Status: models.StatusInReview, Seq: 1, Next: next,
					SubmittedAt: base, UpdatedAt: base, Proposal: models.Proposal{Title: id, Group: models.Group{Name: "g"}}}
				if _, err := st.Apply(ctx, models.ApplyInput{State: s, Events: []models.Event{{Seq: 1, Kind: "submitted", At: base}}}); err != nil {
					t.Fatalf("Apply %s: %v", id, err)
				}
			}
			at := func(days int) *time.Time { d := base.AddDate(0, 0, days); return &d }
			write("a-late", models.Next{Action: "review", From: models.RoleReviewer, By: at(1)})
			write("b-later", models.Next{Action: "accept_agreement", From: models.RoleApplicant, By: at(5)},
				models.Next{Action: "repay", From: models.RoleApplicant, By: at(3)})
			write("c-same", models.Next{Action: "review", From: models.RoleReviewer, By: at(3)})
			write("d-undated", models.Next{Action: "approve_disbursement", From: models.RoleFinance})
			write("e-future", models.Next{Action: "review", From: models.RoleReviewer, By: at(30)})

			ids := func(before time.Time, limit int) []string {
				var out []string
				var after *store.OverdueCursor
				for range 10 {
					rows, err := st.Overdue(ctx, store.OverdueFilter{Before: before, After: after, Limit: limit}, store.Scope{})
					if err != nil {
						t.Fatal(err)
					}
					for _, r := range rows {
						out = append(out, r.ID)
					}
					if len(rows) < limit {
						return out
					}
					last := rows[len(rows)-1]
					c, ok := store.ParseOverdueCursor(store.OverdueCursor{DueAt: *last.NextDueAt, ID: last.ID}.String())
					if !ok {
						t.Fatal("the cursor does not read back")
					}
					after = &c
				}
				return out
			}
			want := []string{"a-late", "b-later", "c-same"}
			for _, limit := range []int{1, 2, 50} {
				if got := ids(*at(10), limit); !slices.Equal(got, want) {
					t.Errorf("overdue before day 10, pages of %d = %v, want %v", limit, got, want)
				}
			}
			if got := ids(*at(2), 50); !slices.Equal(got, []string{"a-late"}) {
				t.Errorf("overdue before day 2 = %v, want [a-late]", got)
			}
			// A row from before the column: filled at the next migration.
			storetest.Must(t, st.DB.Exec("UPDATE applications SET next_due_at = NULL").Error)
			if got := ids(*at(10), 50); len(got) != 0 {
				t.Fatalf("with the column emptied the list = %v", got)
			}
			if _, err := st.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			if got := ids(*at(10), 50); !slices.Equal(got, want) {
				t.Errorf("after the backfill = %v, want %v", got, want)
			}
		})
	}
}
