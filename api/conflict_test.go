package api_test

import (
	"net/http"
	"testing"

	"reallabor/internal/apptest"
)

// TestConflictByOrganisationSpelling: representatives of a member company
// cannot vote by spelling their company otherwise (zero-width space, soft
// hyphen, a Cyrillic letter, a legal-form suffix, umlauts written out, case);
// an impartial board member can.
func TestConflictByOrganisationSpelling(t *testing.T) {
	app := apptest.Start(t)
	prog := app.CreateProgramme(t, 10_000_000, nil)
	applicant := app.CreateUser(t, "Anna", "applicant", "Cafe Mitte")
	var schmidt struct{ ID string }
	app.Must(t, http.StatusCreated, "POST", "/api/v1/organisations", app.Admin,
		map[string]any{"name": "Bäckerei Schmidt", "legal_form": "e. K.", "register_number": "HRA 4711, Amtsgericht Musterstadt"}).JSON(t, &schmidt)
	// The registry holds one entry per company: a look-alike name is refused,
	// and so is the same register number.
	for _, dup := range []map[string]any{
		{"name": "Bäcke\u200brei Schmidt"},
		{"name": "Baeckerei Schmidt GmbH"},
		{"name": "Schmidts Backstube", "register_number": "hra  4711, amtsgericht musterstadt"},
	} {
		app.Must(t, http.StatusConflict, "POST", "/api/v1/organisations", app.Admin, dup)
	}
	body := apptest.Proposal(prog, "Cafe Mitte", 1_000_000)
	body["group"] = map[string]any{"name": "Altstadt", "members": []map[string]any{
		{"name": "Cafe Mitte", "prior_de_minimis_cents": 0}, {"name": "Bäckerei Schmidt", "prior_de_minimis_cents": 0}}}
	var st struct{ ID string }
	app.Must(t, http.StatusCreated, "POST", "/api/v1/applications", applicant, body).JSON(t, &st)
	vote := map[string]any{"recommendation": "approve", "scores": apptest.Scores(5)}
	for _, org := range []string{
		"Bäcke\u200brei Schmidt",  // zero-width space
		"Bäcke\u00adrei Schmidt",  // soft hyphen
		"C\u0430fe Mitte",         // Cyrillic а
		"Cafe Mitte GmbH",         // legal form
		"BAECKEREI SCHMIDT e. K.", // umlaut written out, case, legal form
	} {
		// Linked to the registry's entry by the name's key, so by id.
		r := app.CreateUser(t, "Rep of "+org, "reviewer", org)
		app.Must(t, http.StatusForbidden, "POST", "/api/v1/applications/"+st.ID+"/reviews", r, vote)
	}
	impartial := app.CreateUser(t, "Rita", "reviewer", "Stadtwerke")
	app.Must(t, http.StatusOK, "POST", "/api/v1/applications/"+st.ID+"/reviews", impartial, vote)
}
