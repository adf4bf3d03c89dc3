package store_test

import (
	"context"
	"testing"
	"time"

	"reallabor/internal/store"
	"reallabor/internal/store/storetest"
	"reallabor/models"
)

// TestDataFromBeforeTheRegistryIsMigrated: users and application groups
// written when organisations were names become entities, one registry
// entry per matching key, linked by id; access follows the ids; tokens move
// to their own table and still sign in. On both dialects.
func TestDataFromBeforeTheRegistryIsMigrated(t *testing.T) {
	for _, sqlite := range []bool{false, true} {
		name := "postgres"
		if sqlite {
			name = "sqlite"
		}
		t.Run(name, func(t *testing.T) {
			st := storetest.Unmigrated(t, sqlite)
			ctx := context.Background()
			storetest.Must(t, st.MigrateTo(ctx, 6))
			now := time.Now().UTC()
			db := st.DB.WithContext(ctx)
			for _, u := range []struct{ id, org, hash string }{
				{"u-anna", "Cafe Mitte", "hash-anna"},
				{"u-bea", "  CAFE MITTE GmbH ", "hash-bea"},
				{"u-rita", "Stadtwerke", "hash-rita"},
				{"u-ada", "", "hash-ada"},
			} {
				storetest.Must(t, db.Exec(`INSERT INTO users (id, name, role, organisation, token_hash, created_at)
					VALUES (?, ?, 'applicant', ?, ?, ?)`, u.id, u.id, u.org, u.hash, now).Error)
			}
			storetest.Must(t, db.Exec(`INSERT INTO programmes (id, name, rules, budget_cents, created_at)
				VALUES ('p1', 'P', '{}', 1000, ?)`, now).Error)
			storetest.Must(t, db.Exec(`INSERT INTO applications (id, programme_id, title, status, requested_cents, group_name,
				lead_organisation, payee_name, payee_iban, submitted_by, created_at, updated_at)
				VALUES ('a1', 'p1', 'T', 'in_review', 100, 'G', 'Cafe Mitte', 'p', 'DE89370400440532013000', 'u-anna', ?, ?)`, now, now).Error)
			for _, org := range []string{"cafe mitte", "buchladen eck"} {
				storetest.Must(t, db.Exec(`INSERT INTO application_organisations (application_id, organisation) VALUES ('a1', ?)`, org).Error)
			}

			_, err := st.Migrate(ctx)
			storetest.Must(t, err)
			_, err = st.Migrate(ctx) // again: nothing changes
			storetest.Must(t, err)

			cafe, err := st.OrganisationsByKey(ctx, "Cafe Mitte")
			storetest.Must(t, err)
			eck, err := st.OrganisationsByKey(ctx, "Buchladen Eck")
			storetest.Must(t, err)
			if len(cafe) != 1 || len(eck) != 1 {
				t.Fatalf("registry entries: Cafe Mitte %d, Buchladen Eck %d, want one each", len(cafe), len(eck))
			}
			var all []models.Organisation
			storetest.Must(t, db.Find(&all).Error)
			if len(all) != 3 {
				t.Errorf("registry holds %d entries, want 3 (Cafe Mitte, Stadtwerke, Buchladen Eck)", len(all))
			}
			for id, want := range map[string]string{"u-anna": cafe[0].ID, "u-bea": cafe[0].ID, "u-ada": ""} {
				u, err := st.User(ctx, id)
				storetest.Must(t, err)
				if u.OrganisationID != want {
					t.Errorf("user %s linked to %q, want %q", id, u.OrganisationID, want)
				}
			}
			for _, org := range []string{cafe[0].ID, eck[0].ID} {
				if _, err := st.Application(ctx, "a1", store.Scope{Restricted: true, OrganisationID: org}); err != nil {
					t.Errorf("application not visible to its member %s after the migration: %v", org, err)
				}
			}
			rita, err := st.User(ctx, "u-rita")
			storetest.Must(t, err)
			if _, err := st.Application(ctx, "a1", store.Scope{Restricted: true, OrganisationID: rita.OrganisationID}); err == nil {
				t.Errorf("application visible to an organisation outside its group")
			}
			u, tok, err := st.UserByTokenHash(ctx, "hash-bea")
			if err != nil || u.ID != "u-bea" || tok.Name != "default" {
				t.Errorf("token after the migration: user %q token %q, %v; want u-bea's default token", u.ID, tok.Name, err)
			}
		})
	}
}
