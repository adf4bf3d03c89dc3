package api_test

import (
	"net/http"
	"strings"
	"testing"

	"reallabor/internal/apptest"
)

type groupView struct {
	ID       string `json:"id"`
	Status   string `json:"status"`
	Proposal struct {
		Group struct {
			Members []struct {
				Name           string `json:"name"`
				OrganisationID string `json:"organisation_id"`
				Confirmation   string `json:"confirmation"`
			} `json:"members"`
		} `json:"group"`
		Payee struct {
			IBAN string `json:"iban"`
		} `json:"payee"`
	} `json:"proposal"`
}

func (g groupView) confirmation(name string) string {
	for _, m := range g.Proposal.Group.Members {
		if m.Name == name {
			return m.Confirmation
		}
	}
	return "(not named)"
}

type invitationList struct {
	Items []struct {
		ApplicationID string `json:"application_id"`
		Title         string `json:"title"`
		Confirmation  string `json:"confirmation"`
	} `json:"items"`
}

// TestInvitations: a partner named in a group joins only by confirming.
// Until then its applicants see nothing but the invitation (no application,
// history, payee; no action for the group) and its reviewers may not vote;
// once it accepts it is a member. A partner that declines is out: its
// reviewer may vote, so naming a reviewer's company does not pick the jury.
func TestInvitations(t *testing.T) {
	app := apptest.Start(t)
	prog := app.CreateProgramme(t, 50_000_000, nil)
	anna := app.CreateUser(t, "Anna", "applicant", "Cafe Mitte")
	bernd := app.CreateUser(t, "Bernd", "applicant", "Buchladen Eck") // linked to the registered entry
	rolf := app.CreateUser(t, "Rolf", "reviewer", "Buchladen Eck UG (haftungsbeschränkt)")
	other := app.CreateUser(t, "Otto", "applicant", "Fremdfirma")
	vote := map[string]any{"recommendation": "approve", "scores": apptest.Scores(5)}

	var a groupView
	app.Must(t, http.StatusCreated, "POST", "/api/v1/applications", anna, apptest.Proposal(prog, "Cafe Mitte", 1_000_000)).JSON(t, &a)
	if got := a.confirmation("Cafe Mitte"); got != "submitter" {
		t.Errorf("submitter's organisation stands %q, want submitter", got)
	}
	if got := a.confirmation("Buchladen Eck"); got != "invited" {
		t.Errorf("partner stands %q, want invited", got)
	}
	path := "/api/v1/applications/" + a.ID

	revision := apptest.Proposal(prog, "Buchladen Eck", 1_000_000)
	delete(revision, "programme_id")

	// Invited: only the invitation (the rows of the access matrix for an
	// invited partner: every application route is 404 to it).
	var inv invitationList
	app.Must(t, http.StatusOK, "GET", "/api/v1/invitations", bernd, nil).JSON(t, &inv)
	if len(inv.Items) != 1 || inv.Items[0].ApplicationID != a.ID || inv.Items[0].Confirmation != "invited" ||
		inv.Items[0].Title != "Click & Collect Altstadt" {
		t.Fatalf("partner's invitations = %+v, want this application, invited", inv.Items)
	}
	resp := app.Do(t, "GET", "/api/v1/invitations", bernd, nil)
	if strings.Contains(string(resp.Body), "DE89") {
		t.Errorf("the invitation shows the payee's IBAN: %s", resp.Body)
	}
	for _, call := range []struct {
		method, path string
		body         any
	}{
		{"GET", path, nil},
		{"GET", path + "/history", nil},
		{"POST", path + "/withdrawal", map[string]any{"reason": "not ours"}},
		{"POST", path + "/reports", map[string]any{"kind": "interim", "narrative": "x", "actual_costs_cents": 1}},
		{"POST", path + "/revision", revision},
		{"POST", path + "/acceptance", map[string]any{"reason": "we take it"}},
		{"GET", path + "/reports/rep-1", nil},
	} {
		app.Must(t, http.StatusNotFound, call.method, call.path, bernd, call.body)
	}
	if ids := rigListIDs(t, app, bernd); len(ids) != 0 {
		t.Errorf("invited partner's list = %v, want none", ids)
	}
	// Its reviewer is conflicted already; an unrelated applicant is not invited.
	app.Must(t, http.StatusForbidden, "POST", path+"/reviews", rolf, vote)
	app.Must(t, http.StatusNotFound, "POST", path+"/invitation", other, map[string]any{"accept": true})
	app.Must(t, http.StatusConflict, "POST", path+"/invitation", anna, map[string]any{"accept": true})
	app.Must(t, http.StatusUnprocessableEntity, "POST", path+"/invitation", bernd, map[string]any{})
	app.Must(t, http.StatusUnprocessableEntity, "POST", path+"/invitation", bernd, map[string]any{"accept": "yes"})

	// Accepted: a member.
	var ans struct{ Confirmation string }
	app.Must(t, http.StatusOK, "POST", path+"/invitation", bernd, map[string]any{"accept": true}).JSON(t, &ans)
	if ans.Confirmation != "confirmed" {
		t.Fatalf("answer = %q, want confirmed", ans.Confirmation)
	}
	var seen groupView
	app.Must(t, http.StatusOK, "GET", path, bernd, nil).JSON(t, &seen)
	if seen.Proposal.Payee.IBAN == "" || seen.confirmation("Buchladen Eck") != "confirmed" {
		t.Errorf("member's view = %+v, want the whole application with Buchladen Eck confirmed", seen)
	}
	app.Must(t, http.StatusConflict, "POST", path+"/invitation", bernd, map[string]any{"accept": false})
	app.Must(t, http.StatusForbidden, "POST", path+"/reviews", rolf, vote)
	app.Must(t, http.StatusOK, "GET", "/api/v1/invitations", bernd, nil).JSON(t, &inv)
	if len(inv.Items) != 0 {
		t.Errorf("open invitations after accepting = %+v, want none", inv.Items)
	}
	app.Must(t, http.StatusOK, "GET", "/api/v1/invitations?all=true", bernd, nil).JSON(t, &inv)
	if len(inv.Items) != 1 || inv.Items[0].Confirmation != "confirmed" {
		t.Errorf("answered invitations = %+v, want the one confirmed", inv.Items)
	}

	// Naming a reviewer's company: the company declines, its reviewer votes.
	rita := app.CreateUser(t, "Rita", "reviewer", "Stadtwerke")
	sven := app.CreateUser(t, "Sven", "applicant", "Stadtwerke")
	body := apptest.Proposal(prog, "Cafe Mitte", 1_000_000)
	body["title"] = "Lieferdienst Altstadt"
	body["group"] = map[string]any{"name": "Altstadt", "members": []map[string]any{
		{"name": "Cafe Mitte"}, {"organisation_id": sven.OrganisationID}}}
	var b groupView
	app.Must(t, http.StatusCreated, "POST", "/api/v1/applications", anna, body).JSON(t, &b)
	app.Must(t, http.StatusForbidden, "POST", "/api/v1/applications/"+b.ID+"/reviews", rita, vote)
	app.Must(t, http.StatusOK, "POST", "/api/v1/applications/"+b.ID+"/invitation", sven, map[string]any{"accept": false}).JSON(t, &ans)
	if ans.Confirmation != "declined" {
		t.Fatalf("answer = %q, want declined", ans.Confirmation)
	}
	app.Must(t, http.StatusOK, "POST", "/api/v1/applications/"+b.ID+"/reviews", rita, vote)
	app.Must(t, http.StatusNotFound, "GET", "/api/v1/applications/"+b.ID, sven, nil)
	app.Must(t, http.StatusConflict, "POST", "/api/v1/applications/"+b.ID+"/invitation", sven, map[string]any{"accept": true})

	// The history records the answers.
	var hist struct{ Items []struct{ Kind string } }
	app.Must(t, http.StatusOK, "GET", "/api/v1/applications/"+b.ID+"/history", anna, nil).JSON(t, &hist)
	found := false
	for _, e := range hist.Items {
		found = found || e.Kind == "invitation_declined"
	}
	if !found {
		t.Errorf("history %+v lacks invitation_declined", hist.Items)
	}
	app.BooksExact(t)
	record(t, app, a.ID, "invitation_accepted")
	record(t, app, b.ID, "invitation_declined")
}

// TestGroupNamesRegisteredOrganisations: a member is a registry entry, by id
// or by a name matching exactly one; an unknown or ambiguous one is 422 and
// starts nothing.
func TestGroupNamesRegisteredOrganisations(t *testing.T) {
	app := apptest.Start(t)
	prog := app.CreateProgramme(t, 50_000_000, nil)
	anna := app.CreateUser(t, "Anna", "applicant", "Cafe Mitte")
	for _, reg := range []string{"HRB 1, AG Musterstadt", "HRB 2, AG Musterstadt"} {
		app.Must(t, http.StatusCreated, "POST", "/api/v1/organisations", app.Admin,
			map[string]any{"name": "Schmidt Handel GmbH", "register_number": reg})
	}
	cases := []struct {
		name    string
		members []map[string]any
		field   string
	}{
		{"unregistered", []map[string]any{{"name": "Cafe Mitte"}, {"name": "Niemand & Co"}}, "group.members[1].name"},
		{"ambiguous", []map[string]any{{"name": "Cafe Mitte"}, {"name": "Schmidt Handel"}}, "group.members[1].name"},
		{"unknown id", []map[string]any{{"name": "Cafe Mitte"}, {"organisation_id": "0190a000-0000-7000-8000-000000000000"}},
			"group.members[1].organisation_id"},
		{"twice", []map[string]any{{"name": "Cafe Mitte"}, {"name": "CAFE MITTE GmbH"}}, "group.members[1]"},
		{"not own", []map[string]any{{"name": "Buchladen Eck"}}, "group.members"},
		{"neither", []map[string]any{{"name": "Cafe Mitte"}, {"prior_de_minimis_cents": 0}}, "group.members[1].organisation_id"},
	}
	for _, c := range cases {
		body := apptest.Proposal(prog, "Cafe Mitte", 1_000_000)
		body["group"] = map[string]any{"name": "G", "members": c.members}
		resp := app.Do(t, "POST", "/api/v1/applications", anna, body)
		if resp.Status != http.StatusUnprocessableEntity || !strings.Contains(string(resp.Body), `"field":"`+c.field+`"`) {
			t.Errorf("%s: %d %s, want 422 naming %s", c.name, resp.Status, resp.Body, c.field)
		}
	}
	if ids := rigListIDs(t, app, app.Admin); len(ids) != 0 {
		t.Errorf("applications after refused submissions = %v, want none", ids)
	}
	// The registry answers a search by the matching key.
	var list struct {
		Items []struct{ Name, RegisterNumber string }
	}
	app.Must(t, http.StatusOK, "GET", "/api/v1/organisations?q=schmidt%20handel", anna, nil).JSON(t, &list)
	if len(list.Items) != 2 {
		t.Errorf("search for schmidt handel = %+v, want both entries", list.Items)
	}
	for _, bad := range []map[string]any{{}, {"name": "  "}, {"name": "--"}, {"name": "A\x01B"}, {"name": strings.Repeat("x", 201)},
		{"name": "X", "register_number": strings.Repeat("1", 101)}} {
		if resp := app.Do(t, "POST", "/api/v1/organisations", app.Admin, bad); resp.Status != http.StatusUnprocessableEntity {
			t.Errorf("POST /organisations %v = %d, want 422", bad, resp.Status)
		}
	}
	app.Must(t, http.StatusBadRequest, "GET", "/api/v1/organisations?limit=0", anna, nil)
	app.Must(t, http.StatusBadRequest, "GET", "/api/v1/invitations?all=maybe", anna, nil)
}
