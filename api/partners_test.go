package api_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"reallabor/internal/apptest"
)

// TestPartnerChangeByAmendment: after the first tranche is paid, the group
// applies to swap a partner. Bad groups are refused; a joining partner over
// its de-minimis ceiling has the approval refused with nothing changed; the
// swap approved, the partner leaving keeps in the state-aid register its
// share of what was paid (2,000 EUR of 4,000), the rest of the 10,000 EUR
// grant is split anew between the lead and the partner joining, which is
// invited and accepts. The books agree throughout.
func TestPartnerChangeByAmendment(t *testing.T) {
	app := apptest.Start(t)
	w := newWorld(t, app, 10_000_000, nil)
	st := w.firstPaid(t, 1_000_000)
	a := "/api/v1/applications/" + st.ID
	joining := app.CreateUser(t, "Rosi Reparatur", "applicant", "Reparaturcafe")
	lead := map[string]any{"organisation_id": w.applicant.OrganisationID}
	partner := map[string]any{"organisation_id": joining.OrganisationID}

	// Bad input: without the applicant's own organisation, no change at
	// all, an organisation not registered, a reviewer's organisation that
	// voted, control characters, share points that do not add up.
	for _, members := range [][]map[string]any{
		{partner},
		{lead, {"organisation_id": "org-buchladen-eck"}},
		{lead, {"organisation_id": "no-such-org"}},
		{lead, {"organisation_id": w.reviewers[0].OrganisationID}},
		{lead, {"name": "Repa\x07raturcafe"}},
		{{"organisation_id": w.applicant.OrganisationID, "share_basis_points": 5000}, {"organisation_id": joining.OrganisationID, "share_basis_points": 4000}},
	} {
		if r := app.Do(t, "POST", a+"/amendments", w.applicant, map[string]any{"reason": "partner swap", "members": members}); r.Status != http.StatusUnprocessableEntity {
			t.Fatalf("amendment with members %v = %d, want 422: %s", members, r.Status, r.Body)
		}
	}
	// Only a member of the group applies.
	app.Must(t, http.StatusNotFound, "POST", a+"/amendments", joining, map[string]any{"reason": "let me in", "members": []map[string]any{lead, partner}})

	// A partner joining over its ceiling: the approval is refused, nothing changes.
	var am struct {
		ID string `json:"id"`
	}
	app.Must(t, http.StatusCreated, "POST", a+"/amendments", w.applicant, map[string]any{"reason": "Buchladen Eck gives up its shop",
		"members": []map[string]any{lead, {"organisation_id": joining.OrganisationID, "prior_de_minimis_cents": 29_800_000}}}).JSON(t, &am)
	r := app.Do(t, "POST", a+"/amendments/"+am.ID+"/decision", app.Admin, map[string]any{"decision": "approve"})
	if r.Status != http.StatusUnprocessableEntity || !strings.Contains(string(r.Body), "members[1]") {
		t.Fatalf("approval of a partner over its ceiling = %d: %s, want 422 naming members[1]", r.Status, r.Body)
	}
	type member struct {
		Name           string `json:"name"`
		OrganisationID string `json:"organisation_id"`
		Confirmation   string `json:"confirmation"`
	}
	var now struct {
		Proposal struct {
			Group struct {
				Members []member `json:"members"`
			} `json:"group"`
		} `json:"proposal"`
		Amendments []struct {
			ID, Status string
		} `json:"amendments"`
		FormerMembers []struct {
			Name     string `json:"name"`
			AidCents int64  `json:"aid_cents"`
		} `json:"former_members"`
	}
	app.Must(t, 200, "GET", a, app.Admin, nil).JSON(t, &now)
	if len(now.Proposal.Group.Members) != 2 || now.Proposal.Group.Members[1].Name != "Buchladen Eck" || len(now.FormerMembers) != 0 ||
		now.Amendments[len(now.Amendments)-1].Status != "pending" {
		t.Fatalf("after the refused approval: %+v, want the group as it was and the amendment pending", now)
	}
	app.Must(t, 200, "POST", a+"/amendments/"+am.ID+"/decision", app.Admin, map[string]any{"decision": "refuse", "reason": "over the de-minimis ceiling"})
	app.BooksExact(t)

	// The swap, approved.
	app.Must(t, http.StatusCreated, "POST", a+"/amendments", w.applicant, map[string]any{"reason": "Buchladen Eck gives up its shop",
		"members": []map[string]any{lead, partner}}).JSON(t, &am)
	app.Must(t, 200, "POST", a+"/amendments/"+am.ID+"/decision", app.Admin, map[string]any{"decision": "approve"})
	app.Must(t, 200, "GET", a, app.Admin, nil).JSON(t, &now)
	got := now.Proposal.Group.Members
	if len(got) != 2 || got[0].Confirmation != "submitter" || got[1].OrganisationID != joining.OrganisationID || got[1].Confirmation != "invited" {
		t.Fatalf("group after the swap = %+v, want the lead and the joining partner invited", got)
	}
	if len(now.FormerMembers) != 1 || now.FormerMembers[0].Name != "Buchladen Eck" || now.FormerMembers[0].AidCents != 200_000 {
		t.Fatalf("former members = %+v, want Buchladen Eck keeping 2,000.00 EUR (half of the 4,000 paid)", now.FormerMembers)
	}
	// The partner joining sees its invitation and accepts.
	var inv invitationList
	app.Must(t, 200, "GET", "/api/v1/invitations", joining, nil).JSON(t, &inv)
	if !slices.ContainsFunc(inv.Items, func(i struct {
		ApplicationID string `json:"application_id"`
		Title         string `json:"title"`
		Confirmation  string `json:"confirmation"`
	}) bool {
		return i.ApplicationID == st.ID
	}) {
		t.Fatalf("invitations of the joining partner = %+v, want this application", inv.Items)
	}
	app.Must(t, 200, "POST", a+"/invitation", joining, map[string]any{"accept": true})

	// The register: the lead and the joining partner share the 8,000 EUR
	// left; the partner that left keeps 2,000.
	var report struct {
		Organisations []struct {
			Name            string `json:"name"`
			ThreeYearsCents int64  `json:"three_years_cents"`
		} `json:"organisations"`
	}
	app.Must(t, http.StatusOK, "GET", "/api/v1/state-aid", app.Admin, nil).JSON(t, &report)
	byName := map[string]int64{}
	for _, o := range report.Organisations {
		byName[o.Name] = o.ThreeYearsCents
	}
	want := map[string]int64{"Cafe Mitte": 400_000, "Reparaturcafe": 400_000, "Buchladen Eck": 200_000}
	for name, cents := range want {
		if byName[name] != cents {
			t.Errorf("register of %s = %d, want %d (register %v)", name, byName[name], cents, byName)
		}
	}
	app.BooksExact(t)
	record(t, app, st.ID, "partner_change")
}
