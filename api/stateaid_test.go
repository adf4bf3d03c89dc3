package api_test

import (
	"bytes"
	"net/http"
	"strings"
	"testing"

	"reallabor/internal/apptest"
)

// TestStateAidRegister: this fund's own de-minimis grants count against a
// company's ceiling. Two applications of one group go to review at once
// (each fits the ceiling alone); the first grant is filed in the register,
// the second would take the partner over its ceiling and is not made; a
// third submission is ineligible at once. The register lists the aid per
// organisation, each company downloads its certificate, and a withdrawal
// before payment takes the aid out of the register again.
func TestStateAidRegister(t *testing.T) {
	f := newRig(t)
	app := f.app
	// Ceiling 18,000 EUR; each grant of 10,000 EUR gives both members 5,000;
	// the partner Buchladen Eck declared 10,000 of prior aid.
	prog := app.CreateProgramme(t, 100_000_000, map[string]any{"de_minimis_ceiling_cents": 1_800_000})
	body := apptest.Proposal(prog, f.owner.Organisation, rigGrantCents)
	first, second := f.submit(t, body), f.submit(t, body)
	f.vote(t, first, f.reviewer)
	f.vote(t, first, f.reviewer2)
	if a := f.vote(t, first, f.reviewer3); a.Status != "approved" {
		t.Fatalf("first application after three approvals is %s, want approved", a.Status)
	}
	f.vote(t, second, f.reviewer)
	f.vote(t, second, f.reviewer2)
	var refused struct {
		Status        string `json:"status"`
		GrantedCents  int64  `json:"granted_cents"`
		Ineligibility []struct{ Field, Message string }
	}
	app.Must(t, http.StatusOK, "POST", "/api/v1/applications/"+second+"/reviews", f.reviewer3,
		reviewBody("approve", 5, "second grant")).JSON(t, &refused)
	if refused.Status != "ineligible" || refused.GrantedCents != 0 || len(refused.Ineligibility) != 1 ||
		refused.Ineligibility[0].Field != "group.members[1].prior_de_minimis_cents" ||
		!strings.Contains(refused.Ineligibility[0].Message, "Buchladen Eck") {
		t.Fatalf("second grant over the partner's ceiling = %+v, want ineligible for group.members[1] (Buchladen Eck), nothing granted", refused)
	}
	record(t, app, second, "state_aid_exceeded")
	var l rigLedger
	app.Must(t, http.StatusOK, "GET", "/api/v1/programmes/"+prog+"/ledger", f.admin, nil).JSON(t, &l)
	if l.ReservedCents != rigGrantCents {
		t.Errorf("reserved %d, want only the first grant's %d", l.ReservedCents, rigGrantCents)
	}

	// A third submission: the register's 5,000 is added to the declared 10,000.
	var third struct {
		Status        string `json:"status"`
		Ineligibility []struct{ Field, Message string }
	}
	app.Must(t, http.StatusCreated, "POST", "/api/v1/applications", f.owner, body).JSON(t, &third)
	if third.Status != "ineligible" || len(third.Ineligibility) != 1 ||
		!strings.Contains(third.Ineligibility[0].Message, "this fund's grants of") {
		t.Errorf("third submission = %+v, want ineligible naming this fund's grants", third)
	}

	// The register, per organisation.
	var report struct {
		CeilingCents  int64 `json:"ceiling_cents"`
		Organisations []struct {
			OrganisationID  string `json:"organisation_id"`
			Name            string `json:"name"`
			PeriodCents     int64  `json:"period_cents"`
			ThreeYearsCents int64  `json:"three_years_cents"`
			Grants          []struct {
				ApplicationID string `json:"application_id"`
				AmountCents   int64  `json:"amount_cents"`
			} `json:"grants"`
		} `json:"organisations"`
	}
	app.Must(t, http.StatusOK, "GET", "/api/v1/state-aid", f.finance, nil).JSON(t, &report)
	byName := map[string]int64{}
	for _, o := range report.Organisations {
		if len(o.Grants) != 1 || o.Grants[0].ApplicationID != first || o.ThreeYearsCents != o.PeriodCents {
			t.Errorf("register of %s = %+v, want the first grant only", o.Name, o)
		}
		byName[o.Name] = o.ThreeYearsCents
	}
	if len(byName) != 2 || byName[f.owner.Organisation] != 500_000 || byName["Buchladen Eck"] != 500_000 {
		t.Errorf("register = %v, want 5,000 EUR for each of %s and Buchladen Eck", byName, f.owner.Organisation)
	}
	app.Must(t, http.StatusOK, "GET", "/api/v1/state-aid?organisation_id=org-buchladen-eck&from=2000-01-01", f.admin, nil).JSON(t, &report)
	if len(report.Organisations) != 1 || report.Organisations[0].Name != "Buchladen Eck" {
		t.Errorf("register of one organisation = %+v, want Buchladen Eck alone", report.Organisations)
	}
	app.Must(t, http.StatusUnprocessableEntity, "GET", "/api/v1/state-aid?from=yesterday", f.admin, nil)
	app.Must(t, http.StatusUnprocessableEntity, "GET", "/api/v1/state-aid?from=2027-01-01&to=2026-01-01", f.admin, nil)

	// Certificates: the applicant its own organisation's, the office any member's.
	cert := app.Must(t, http.StatusOK, "GET", "/api/v1/applications/"+first+"/de-minimis-certificate", f.owner, nil)
	if ct := cert.Header.Get("Content-Type"); ct != "application/pdf" || !bytes.HasPrefix(cert.Body, []byte("%PDF-")) {
		t.Errorf("certificate = %s, %q…, want a PDF", ct, cert.Body[:min(8, len(cert.Body))])
	}
	for _, want := range []string{f.owner.Organisation, "5,000.00", "2023/2831"} {
		if !bytes.Contains(cert.Body, []byte(want)) {
			t.Errorf("certificate lacks %q", want)
		}
	}
	eck := app.Must(t, http.StatusOK, "GET", "/api/v1/applications/"+first+"/de-minimis-certificate?organisation_id=org-buchladen-eck", f.admin, nil)
	if !bytes.Contains(eck.Body, []byte("Buchladen Eck")) {
		t.Errorf("partner's certificate does not name Buchladen Eck")
	}
	app.Must(t, http.StatusUnprocessableEntity, "GET", "/api/v1/applications/"+first+"/de-minimis-certificate", f.finance, nil)
	app.Must(t, http.StatusNotFound, "GET", "/api/v1/applications/"+first+"/de-minimis-certificate?organisation_id=org-buchladen-eck", f.owner, nil)
	app.Must(t, http.StatusNotFound, "GET", "/api/v1/applications/"+second+"/de-minimis-certificate", f.owner, nil)

	// Withdrawn before any payment: no aid was given, the register forgets it,
	// and the group may apply again.
	app.Must(t, http.StatusOK, "POST", "/api/v1/applications/"+first+"/withdrawal", f.owner, map[string]any{"reason": "plans changed"})
	app.Must(t, http.StatusOK, "GET", "/api/v1/state-aid", f.admin, nil).JSON(t, &report)
	if len(report.Organisations) != 0 {
		t.Errorf("register after the withdrawal = %+v, want empty", report.Organisations)
	}
	if a := f.submit(t, body); a == "" {
		t.Errorf("no new application after the withdrawal")
	}
}
