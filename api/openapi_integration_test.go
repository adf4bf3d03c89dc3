package api_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"reallabor/api"
	"reallabor/internal/apptest"
)

// TestOpenAPIIntegration drives the real product (embedded Temporal, real
// PostgreSQL) through a representative set of routes, success and problem
// answers, with every response checked against the OpenAPI document by
// app.Check: the document's schemas are held to what the code really sends.
func TestOpenAPIIntegration(t *testing.T) {
	app := apptest.Start(t)
	app.Check = apptest.OpenAPIChecker(t, api.OpenAPI)
	admin, anon := app.Admin, apptest.User{}

	type tranche struct {
		ID     string `json:"id"`
		Number int    `json:"number"`
		Status string `json:"status"`
	}
	type application struct {
		ID            string    `json:"id"`
		Status        string    `json:"status"`
		Tranches      []tranche `json:"tranches"`
		Ineligibility []struct {
			Field string `json:"field"`
		} `json:"ineligibility"`
	}
	get := func(u apptest.User, path string) apptest.Response {
		t.Helper()
		return app.Must(t, http.StatusOK, "GET", path, u, nil)
	}
	post := func(want int, u apptest.User, path string, body any, headers ...string) application {
		t.Helper()
		var a application
		r := app.Must(t, want, "POST", path, u, body, headers...)
		if want < 300 {
			r.JSON(t, &a)
		}
		return a
	}
	problem := func(want int, method, path string, u apptest.User, body any, headers ...string) {
		t.Helper()
		r := app.Must(t, want, method, path, u, body, headers...)
		if ct := r.Header.Get("Content-Type"); ct != "application/problem+json" {
			t.Errorf("%s %s: Content-Type %q, want application/problem+json", method, path, ct)
		}
	}

	// Public routes.
	get(anon, "/healthz")
	get(anon, "/readyz")
	get(anon, "/metrics")
	get(anon, "/api/v1/openapi.json")

	// Users and programme: every optional rule set, so the document's rule
	// fields are seen.
	applicant := app.CreateUser(t, "Anna Applicant", "applicant", "Cafe Mitte")
	r1 := app.CreateUser(t, "Rita Reviewer", "reviewer", "Stadtwerke")
	r2 := app.CreateUser(t, "Rudi Reviewer", "reviewer", "IHK")
	r3 := app.CreateUser(t, "Rosa Reviewer", "reviewer", "Handwerkskammer")
	fin1 := app.CreateUser(t, "Fritz Finance", "finance", "Stadtkasse")
	fin2 := app.CreateUser(t, "Frieda Finance", "finance", "Stadtkasse")
	get(admin, "/api/v1/users")
	get(applicant, "/api/v1/me")
	prog := app.CreateProgramme(t, 20_000_000, map[string]any{
		"reviewers_required": 2, "de_minimis_ceiling_cents": 30_000_000, "approval_threshold_milli": 3000,
		"max_revision_rounds": 1, "review_deadline_days": 30, "revision_deadline_days": 14,
		"acceptance_deadline_days": 30, "interim_report_after_days": 180, "final_report_after_days": 60,
		"reminder_days": 5,
		"criteria": []map[string]any{{"name": "impact", "weight": 2}, {"name": "feasibility", "weight": 1},
			{"name": "partnership", "weight": 1}},
		"tranche_plan": []map[string]any{{"percent": 40, "trigger": "acceptance"},
			{"percent": 40, "trigger": "interim_report_accepted"}, {"percent": 20, "trigger": "final_report_accepted"}},
	})
	get(applicant, "/api/v1/programmes")
	get(admin, "/api/v1/programmes")
	get(r1, "/api/v1/programmes/"+prog)
	get(fin1, "/api/v1/programmes/"+prog+"/ledger")

	// Submission, and its idempotent replay.
	body := apptest.Proposal(prog, "Cafe Mitte", 1_000_000)
	a := post(http.StatusCreated, applicant, "/api/v1/applications", body, "Idempotency-Key", "openapi-submit-1")
	replay := app.Must(t, http.StatusCreated, "POST", "/api/v1/applications", applicant, body, "Idempotency-Key", "openapi-submit-1")
	if replay.Header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("repeated POST /api/v1/applications: Idempotent-Replayed = %q, want true", replay.Header.Get("Idempotent-Replayed"))
	}
	if a.Status != "in_review" {
		t.Fatalf("submitted application is %s, want in_review", a.Status)
	}
	for _, u := range []apptest.User{applicant, r1, fin1, admin} {
		get(u, "/api/v1/applications/"+a.ID)
	}

	// A second application: revision round, deadline extension, a declared
	// conflict, a content problem from the workflow, withdrawal.
	b := post(http.StatusCreated, applicant, "/api/v1/applications", apptest.Proposal(prog, "Cafe Mitte", 2_000_000))
	problem(http.StatusUnprocessableEntity, "POST", "/api/v1/applications/"+b.ID+"/reviews", r1,
		map[string]any{"recommendation": "approve", "scores": map[string]int{"impact": 9}})
	post(http.StatusOK, r3, "/api/v1/applications/"+b.ID+"/reviews", map[string]any{"conflict_of_interest": true})
	post(http.StatusOK, r1, "/api/v1/applications/"+b.ID+"/reviews",
		map[string]any{"recommendation": "revise", "scores": apptest.Scores(3), "comment": "sharpen the budget"})
	get(r1, "/api/v1/applications/"+b.ID) // its own vote only: the round is undecided
	if st := post(http.StatusOK, r2, "/api/v1/applications/"+b.ID+"/reviews",
		map[string]any{"recommendation": "revise", "scores": apptest.Scores(3)}); st.Status != "revision_requested" {
		t.Fatalf("after two revise votes %s is %s, want revision_requested", b.ID, st.Status)
	}
	get(admin, "/api/v1/applications/"+b.ID)
	revision := apptest.Proposal(prog, "Cafe Mitte", 1_500_000)
	delete(revision, "programme_id")
	if st := post(http.StatusOK, applicant, "/api/v1/applications/"+b.ID+"/revision", revision); st.Status != "in_review" {
		t.Fatalf("after revision %s is %s, want in_review", b.ID, st.Status)
	}
	post(http.StatusOK, admin, "/api/v1/applications/"+b.ID+"/review-deadline", map[string]any{"days": 7})
	if st := post(http.StatusOK, applicant, "/api/v1/applications/"+b.ID+"/withdrawal",
		map[string]any{"reason": "we found another sponsor"}); st.Status != "withdrawn" {
		t.Fatalf("after withdrawal %s is %s, want withdrawn", b.ID, st.Status)
	}
	get(admin, "/api/v1/applications/"+b.ID) // a final application answers from the projection
	problem(http.StatusConflict, "POST", "/api/v1/applications/"+b.ID+"/withdrawal", applicant, nil)

	// An ineligible application (above the maximum grant).
	if st := post(http.StatusCreated, applicant, "/api/v1/applications", apptest.Proposal(prog, "Cafe Mitte", 6_000_000)); st.Status != "ineligible" || len(st.Ineligibility) == 0 {
		t.Errorf("application above the maximum grant = %s with %d reasons, want ineligible with reasons", st.Status, len(st.Ineligibility))
	}

	// Lists, with filters and a cursor.
	var page struct {
		Items      []struct{ ID string } `json:"items"`
		NextCursor string                `json:"next_cursor"`
	}
	get(applicant, "/api/v1/applications?limit=1&programme_id="+url.QueryEscape(prog)).JSON(t, &page)
	if page.NextCursor == "" {
		t.Fatalf("first page of 1 of 3 applications has no next_cursor")
	}
	get(applicant, "/api/v1/applications?limit=1&cursor="+url.QueryEscape(page.NextCursor))
	get(r1, "/api/v1/applications?status=in_review")

	// The first application: decision, agreement, money, report.
	post(http.StatusOK, r1, "/api/v1/applications/"+a.ID+"/reviews",
		map[string]any{"recommendation": "approve", "scores": apptest.Scores(5), "comment": "strong"})
	if st := post(http.StatusOK, r2, "/api/v1/applications/"+a.ID+"/reviews",
		map[string]any{"recommendation": "approve", "scores": apptest.Scores(4)}); st.Status != "approved" {
		t.Fatalf("after two approvals %s is %s, want approved", a.ID, st.Status)
	}
	st := post(http.StatusOK, applicant, "/api/v1/applications/"+a.ID+"/acceptance", nil)
	if st.Status != "active" || len(st.Tranches) == 0 || st.Tranches[0].Status != "due" {
		t.Fatalf("after acceptance %s is %s with tranches %+v, want active with tranche 1 due", a.ID, st.Status, st.Tranches)
	}
	// (A body unlike the first acceptance's: the update id follows from the body when no Idempotency-Key is sent.)
	problem(http.StatusConflict, "POST", "/api/v1/applications/"+a.ID+"/acceptance", applicant, map[string]any{"reason": "again"})
	tr1 := st.Tranches[0].ID
	get(fin1, "/api/v1/disbursements?status=due&programme_id="+url.QueryEscape(prog))
	get(admin, "/api/v1/disbursements?application_id="+url.QueryEscape(a.ID))
	post(http.StatusOK, fin1, "/api/v1/disbursements/"+tr1+"/approval", map[string]any{"comment": "checked"})
	problem(http.StatusNotFound, "GET", "/api/v1/disbursements/export", fin1, nil) // four eyes: not the approver
	get(fin2, "/api/v1/disbursements/export?format=csv&programme_id="+url.QueryEscape(prog))
	problem(http.StatusNotFound, "GET", "/api/v1/disbursements/export", fin2, nil) // already exported
	post(http.StatusOK, fin2, "/api/v1/disbursements/"+tr1+"/payment", map[string]any{"bank_reference": "BANK-0001"})
	post(http.StatusOK, fin1, "/api/v1/disbursements/"+tr1+"/failure", map[string]any{"reason": "returned: account closed"})
	post(http.StatusOK, fin1, "/api/v1/disbursements/"+tr1+"/approval", nil)
	post(http.StatusOK, fin2, "/api/v1/disbursements/"+tr1+"/payment", map[string]any{"bank_reference": "BANK-0002"})
	problem(http.StatusNotFound, "GET", "/api/v1/disbursements/export?format=sepa", fin1, nil)
	get(admin, "/api/v1/programmes/"+prog+"/ledger")

	var rep struct {
		ID string `json:"id"`
	}
	r := app.Must(t, http.StatusCreated, "POST", "/api/v1/applications/"+a.ID+"/reports", applicant,
		map[string]any{"kind": "interim", "narrative": "pick-up points live in 12 shops", "actual_costs_cents": 900_000},
		"Idempotency-Key", "openapi-report-1")
	r.JSON(t, &rep)
	post(http.StatusOK, r1, "/api/v1/applications/"+a.ID+"/reports/"+rep.ID+"/assessment",
		map[string]any{"decision": "accept", "comment": "fine"})
	get(applicant, "/api/v1/applications/"+a.ID+"/history")
	get(admin, "/api/v1/applications/"+a.ID+"/history")
	if st := post(http.StatusOK, admin, "/api/v1/applications/"+a.ID+"/cancellation",
		map[string]any{"reason": "funds misused"}); st.Status != "cancelled" {
		t.Fatalf("after cancellation %s is %s, want cancelled", a.ID, st.Status)
	}
	get(fin1, "/api/v1/applications/"+a.ID)

	// Problems.
	problem(http.StatusUnauthorized, "GET", "/api/v1/me", anon, nil)
	problem(http.StatusUnauthorized, "GET", "/api/v1/me", apptest.User{Token: "rl_unknown"}, nil)
	problem(http.StatusForbidden, "GET", "/api/v1/users", applicant, nil)
	problem(http.StatusForbidden, "POST", "/api/v1/programmes", fin1, map[string]any{"name": "x", "budget_cents": 1})
	problem(http.StatusNotFound, "GET", "/api/v1/applications/no-such-application", admin, nil)
	problem(http.StatusNotFound, "GET", "/api/v1/programmes/no-such-programme", applicant, nil)
	other := app.CreateUser(t, "Otto Other", "applicant", "Fremdfirma")
	problem(http.StatusNotFound, "GET", "/api/v1/applications/"+a.ID, other, nil)
	bad := apptest.Proposal(prog, "Cafe Mitte", 1_000_000)
	bad["title"] = ""
	bad["payee"] = map[string]any{"name": "Cafe", "iban": "DE00 0000 0000 0000 0000 00"}
	problem(http.StatusUnprocessableEntity, "POST", "/api/v1/applications", applicant, bad)
	problem(http.StatusUnprocessableEntity, "POST", "/api/v1/applications", applicant, `{"programme_id": 42}`)
	problem(http.StatusUnprocessableEntity, "GET", "/api/v1/applications?status=bogus", admin, nil)
	problem(http.StatusUnprocessableEntity, "GET", "/api/v1/applications?limit=0", admin, nil)
	problem(http.StatusUnprocessableEntity, "GET", "/api/v1/applications?owing=maybe", admin, nil)
	problem(http.StatusUnprocessableEntity, "GET", "/api/v1/disbursements?status=bogus", fin1, nil)
	problem(http.StatusUnprocessableEntity, "GET", "/api/v1/disbursements/export?format=pdf", fin1, nil)
	problem(http.StatusUnprocessableEntity, "POST", "/api/v1/applications", applicant,
		apptest.Proposal(prog, "Cafe Mitte", 999), "Idempotency-Key", "openapi-submit-1")
	problem(http.StatusBadRequest, "POST", "/api/v1/programmes", admin, `{"name":`)
	problem(http.StatusBadRequest, "POST", "/api/v1/applications/"+a.ID+"/cancellation", admin, nil)
	problem(http.StatusRequestEntityTooLarge, "POST", "/api/v1/programmes", admin,
		`{"name":"`+strings.Repeat("x", 300<<10)+`"}`)
}
