package api_test

import (
	"net/http"
	"testing"

	"reallabor/internal/apptest"
)

// TestProgrammeEdit: an admin changes a programme's rules; applications
// submitted afterwards get them, a running one keeps the rules it started
// with; bad rules are 422 and change nothing.
func TestProgrammeEdit(t *testing.T) {
	app := apptest.Start(t)
	prog := app.CreateProgramme(t, 50_000_000, nil) // max grant 5,000,000
	anna := app.CreateUser(t, "Anna", "applicant", "Cafe Mitte")
	type appView struct {
		ID     string
		Status string
		Rules  struct {
			MaxGrantCents int64 `json:"max_grant_cents"`
		}
	}
	var before appView
	app.Must(t, http.StatusCreated, "POST", "/api/v1/applications", anna, apptest.Proposal(prog, "Cafe Mitte", 3_000_000)).JSON(t, &before)
	var p struct {
		Name  string
		Rules struct {
			MaxGrantCents int64 `json:"max_grant_cents"`
		}
	}
	app.Must(t, http.StatusOK, "PATCH", "/api/v1/programmes/"+prog, app.Admin,
		map[string]any{"name": "Digitale Innenstadt 2027", "max_grant_cents": 2_000_000}).JSON(t, &p)
	if p.Name != "Digitale Innenstadt 2027" || p.Rules.MaxGrantCents != 2_000_000 {
		t.Errorf("edited programme = %+v, want the new name and max grant", p)
	}
	var after appView
	app.Must(t, http.StatusCreated, "POST", "/api/v1/applications", anna, apptest.Proposal(prog, "Cafe Mitte", 3_000_000)).JSON(t, &after)
	if after.Status != "ineligible" {
		t.Errorf("3,000,000 asked after the cap fell to 2,000,000: %s, want ineligible", after.Status)
	}
	var running appView
	app.Must(t, http.StatusOK, "GET", "/api/v1/applications/"+before.ID, anna, nil).JSON(t, &running)
	if running.Status != "in_review" || running.Rules.MaxGrantCents != 5_000_000 {
		t.Errorf("the running application = %s with max grant %d, want in_review keeping 5,000,000", running.Status, running.Rules.MaxGrantCents)
	}
	for _, bad := range []map[string]any{{"funding_rate_percent": 0}, {"funding_rate_percent": 101}, {"name": "  "},
		{"reviewers_required": "three"}, {"name": "x\x00"}} {
		app.Must(t, http.StatusUnprocessableEntity, "PATCH", "/api/v1/programmes/"+prog, app.Admin, bad)
	}
	app.Must(t, http.StatusOK, "GET", "/api/v1/programmes/"+prog, app.Admin, nil).JSON(t, &p)
	if p.Name != "Digitale Innenstadt 2027" || p.Rules.MaxGrantCents != 2_000_000 {
		t.Errorf("after refused edits: %+v, want unchanged", p)
	}
	app.Must(t, http.StatusForbidden, "PATCH", "/api/v1/programmes/"+prog, anna, map[string]any{"name": "mine"})
	app.Must(t, http.StatusNotFound, "PATCH", "/api/v1/programmes/0190a000-0000-7000-8000-000000000000", app.Admin, map[string]any{"name": "x"})
}
