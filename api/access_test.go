package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"go.temporal.io/api/workflowservice/v1"

	"reallabor/api"
	"reallabor/internal/apptest"
)

// rigGrantCents is what the test applications ask for; the default tranche plan
// pays 40 % of it on acceptance.
const rigGrantCents int64 = 1_000_000

// rig is one running product with the people the tests act as.
type rig struct {
	app  *apptest.App
	prog string

	admin     apptest.User
	owner     apptest.User // applicant of "Cafe Mitte", in the group of every test application
	other     apptest.User // applicant of "Fremdfirma", in no test application's group
	reviewer  apptest.User // "Stadtwerke"
	reviewer2 apptest.User // "Handwerkskammer"
	reviewer3 apptest.User // "IHK Musterstadt"
	finance   apptest.User
	finance2  apptest.User
}

func newRig(t *testing.T) *rig {
	t.Helper()
	app := apptest.Start(t)
	f := &rig{app: app, admin: app.Admin}
	f.owner = app.CreateUser(t, "Olga Owner", "applicant", "Cafe Mitte")
	f.other = app.CreateUser(t, "Otto Other", "applicant", "Fremdfirma")
	f.reviewer = app.CreateUser(t, "Rita Reviewer", "reviewer", "Stadtwerke")
	f.reviewer2 = app.CreateUser(t, "Rudi Reviewer", "reviewer", "Handwerkskammer")
	f.reviewer3 = app.CreateUser(t, "Rosa Reviewer", "reviewer", "IHK Musterstadt")
	f.finance = app.CreateUser(t, "Fiona Finance", "finance", "Stadtkasse")
	f.finance2 = app.CreateUser(t, "Frank Finance", "finance", "Stadtkasse")
	f.prog = app.CreateProgramme(t, 100_000_000, nil)
	return f
}

// proposal is a valid application of the owner's group.
func (f *rig) proposal() map[string]any {
	return apptest.Proposal(f.prog, f.owner.Organisation, rigGrantCents)
}

// rigApp is the part of an application the tests look at.
type rigApp struct {
	ID     string `json:"id"`
	Status string `json:"status"`
	Seq    int64  `json:"seq"`
	Votes  []struct {
		ReviewerID string `json:"reviewer_id"`
		Round      int    `json:"round"`
	} `json:"votes"`
}

// submit posts an application as the owner and returns its id (in review).
func (f *rig) submit(t *testing.T, body map[string]any) string {
	t.Helper()
	var a rigApp
	f.app.Must(t, http.StatusCreated, "POST", "/api/v1/applications", f.owner, body).JSON(t, &a)
	if a.ID == "" || a.Status != "in_review" {
		t.Fatalf("POST /api/v1/applications = id %q status %q, want an id and in_review", a.ID, a.Status)
	}
	return a.ID
}

func reviewBody(rec string, score int, comment string) map[string]any {
	return map[string]any{"recommendation": rec, "scores": apptest.Scores(score), "comment": comment}
}

// vote posts one reviewer's approving vote.
func (f *rig) vote(t *testing.T, id string, r apptest.User) rigApp {
	t.Helper()
	var a rigApp
	f.app.Must(t, http.StatusOK, "POST", "/api/v1/applications/"+id+"/reviews", r, reviewBody("approve", 5, "setup vote")).JSON(t, &a)
	return a
}

// activate takes an application in review through approval and acceptance:
// tranche 1 is then due.
func (f *rig) activate(t *testing.T, id string) {
	t.Helper()
	f.vote(t, id, f.reviewer)
	f.vote(t, id, f.reviewer2)
	if a := f.vote(t, id, f.reviewer3); a.Status != "approved" {
		t.Fatalf("after three approving votes %s is %s, want approved", id, a.Status)
	}
	var a rigApp
	f.app.Must(t, http.StatusOK, "POST", "/api/v1/applications/"+id+"/acceptance", f.owner, map[string]any{}).JSON(t, &a)
	if a.Status != "active" {
		t.Fatalf("after acceptance %s is %s, want active", id, a.Status)
	}
}

// rigDisbursement is one row of GET /api/v1/disbursements.
type rigDisbursement struct {
	ID            string `json:"id"`
	ApplicationID string `json:"application_id"`
	ProgrammeID   string `json:"programme_id"`
	Number        int    `json:"number"`
	AmountCents   int64  `json:"amount_cents"`
	Status        string `json:"status"`
	ApprovedBy    string `json:"approved_by"`
	BankReference string `json:"bank_reference"`
}

func (f *rig) disbursements(t *testing.T, query string) []rigDisbursement {
	t.Helper()
	var out struct {
		Items []rigDisbursement `json:"items"`
	}
	f.app.Must(t, http.StatusOK, "GET", "/api/v1/disbursements?"+query, f.admin, nil).JSON(t, &out)
	return out.Items
}

// tranche is tranche n of an application, as finance lists it.
func (f *rig) tranche(t *testing.T, appID string, n int) rigDisbursement {
	t.Helper()
	for _, d := range f.disbursements(t, "application_id="+appID) {
		if d.Number == n {
			return d
		}
	}
	t.Fatalf("GET /api/v1/disbursements?application_id=%s has no tranche %d", appID, n)
	return rigDisbursement{}
}

func (f *rig) approve(t *testing.T, trancheID string, by apptest.User) {
	t.Helper()
	f.app.Must(t, http.StatusOK, "POST", "/api/v1/disbursements/"+trancheID+"/approval", by, map[string]any{})
}

func (f *rig) pay(t *testing.T, trancheID string, by apptest.User, ref string) {
	t.Helper()
	f.app.Must(t, http.StatusOK, "POST", "/api/v1/disbursements/"+trancheID+"/payment", by, map[string]any{"bank_reference": ref})
}

// rigLedger is a programme's budget ledger.
type rigLedger struct {
	BudgetCents    int64 `json:"budget_cents"`
	ReservedCents  int64 `json:"reserved_cents"`
	PaidCents      int64 `json:"paid_cents"`
	ReleasedCents  int64 `json:"released_cents"`
	AvailableCents int64 `json:"available_cents"`
}

func (f *rig) ledger(t *testing.T) rigLedger {
	t.Helper()
	var l rigLedger
	f.app.Must(t, http.StatusOK, "GET", "/api/v1/programmes/"+f.prog+"/ledger", f.admin, nil).JSON(t, &l)
	return l
}

// state is an application as the admin sees it.
func (f *rig) state(t *testing.T, id string) rigApp {
	t.Helper()
	var a rigApp
	f.app.Must(t, http.StatusOK, "GET", "/api/v1/applications/"+id, f.admin, nil).JSON(t, &a)
	return a
}

// applicationIDs lists every application the admin sees.
func (f *rig) applicationIDs(t *testing.T) []string {
	t.Helper()
	return rigListIDs(t, f.app, f.admin)
}

func rigListIDs(t *testing.T, app *apptest.App, u apptest.User) []string {
	t.Helper()
	var ids []string
	cursor := ""
	for {
		var page struct {
			Items []struct {
				ID string `json:"id"`
			} `json:"items"`
			Next string `json:"next_cursor"`
		}
		app.Must(t, http.StatusOK, "GET", "/api/v1/applications?limit=200&cursor="+cursor, u, nil).JSON(t, &page)
		for _, it := range page.Items {
			ids = append(ids, it.ID)
		}
		if page.Next == "" {
			return ids
		}
		cursor = page.Next
	}
}

// workflowCount counts the Application workflows the engine knows of.
func (f *rig) workflowCount(t *testing.T) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	n := 0
	var token []byte
	for {
		resp, err := f.app.Temporal.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Query: "WorkflowType = 'Application'", NextPageToken: token, PageSize: 1000})
		if err != nil {
			t.Fatalf("list workflows: %v", err)
		}
		n += len(resp.Executions)
		if token = resp.NextPageToken; len(token) == 0 {
			return n
		}
	}
}

// awaitWorkflowCount waits (visibility lags the engine) until the count of
// Application workflows is want, then makes sure it stays there a moment.
func (f *rig) awaitWorkflowCount(t *testing.T, want int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	got := f.workflowCount(t)
	for got < want && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
		got = f.workflowCount(t)
	}
	if got == want {
		time.Sleep(700 * time.Millisecond)
		got = f.workflowCount(t)
	}
	if got != want {
		t.Errorf("Application workflows = %d, want %d", got, want)
	}
}

// checkProblemJSON asserts an error answer is an RFC 9457 problem.
func checkProblemJSON(t *testing.T, what string, r apptest.Response) {
	t.Helper()
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") {
		t.Errorf("%s: Content-Type = %q, want application/problem+json", what, ct)
	}
	var p struct {
		Type   *string `json:"type"`
		Title  *string `json:"title"`
		Status *int    `json:"status"`
	}
	if err := json.Unmarshal(r.Body, &p); err != nil {
		t.Errorf("%s: body is not a JSON problem: %v: %s", what, err, r.Body)
		return
	}
	if p.Type == nil || *p.Type == "" || p.Title == nil || *p.Title == "" || p.Status == nil {
		t.Errorf("%s: problem lacks type, title or status: %s", what, r.Body)
		return
	}
	if *p.Status != r.Status {
		t.Errorf("%s: problem status = %d, HTTP status %d", what, *p.Status, r.Status)
	}
}

// cells are the expected statuses of one row, by caller.
type cells struct {
	admin, owner, other, reviewer, finance, anon, bad int
}

type accessRow struct {
	route string // the router's "METHOD /pattern" the row exercises ("" for none)
	note  string
	path  string
	body  any
	want  cells
}

// TestAccessMatrix calls every route as every role, as an applicant of
// another group, without a token and with an unknown token.
func TestAccessMatrix(t *testing.T) {
	f := newRig(t)
	app := f.app

	// appReview: in review, voted on by reviewer and reviewer2 (quorum 3).
	appReview := f.submit(t, f.proposal())
	f.vote(t, appReview, f.reviewer)
	f.vote(t, appReview, f.reviewer2)
	// appVote: in review, no votes: the matrix reviewer votes on it.
	appVote := f.submit(t, f.proposal())
	// appWithdraw: in review: the owner withdraws it.
	appWithdraw := f.submit(t, f.proposal())
	// appCancel: in review: the admin cancels it.
	appCancel := f.submit(t, f.proposal())
	// appActive: active, tranche 1 due.
	appActive := f.submit(t, f.proposal())
	f.activate(t, appActive)
	activeT1 := f.tranche(t, appActive, 1)
	if activeT1.Status != "due" {
		t.Fatalf("tranche 1 of an active application is %s, want due", activeT1.Status)
	}
	// appApproved: active, tranche 1 approved by finance2 (finance may pay it).
	appApproved := f.submit(t, f.proposal())
	f.activate(t, appApproved)
	approvedT1 := f.tranche(t, appApproved, 1)
	f.approve(t, approvedT1.ID, f.finance2)
	// appPaid: active, tranche 1 paid, interim report submitted.
	// target: the user the admin deactivates, reactivates, gives a new token.
	target := app.CreateUser(t, "Tina Target", "reviewer", "Stadtbibliothek")
	appPaid := f.submit(t, f.proposal())
	f.activate(t, appPaid)
	paidT1 := f.tranche(t, appPaid, 1)
	f.approve(t, paidT1.ID, f.finance2)
	f.pay(t, paidT1.ID, f.finance, "SETUP-PAID-1")
	var rep struct {
		ID string `json:"id"`
	}
	app.Must(t, http.StatusCreated, "POST", "/api/v1/applications/"+appPaid+"/reports", f.owner,
		map[string]any{"kind": "interim", "narrative": "half way", "actual_costs_cents": 900_000}).JSON(t, &rep)
	if rep.ID == "" {
		t.Fatalf("POST reports answered no report id")
	}

	t.Run("votes before the decision", func(t *testing.T) {
		votesOf := func(u apptest.User, id string) []string {
			t.Helper()
			var a rigApp
			app.Must(t, http.StatusOK, "GET", "/api/v1/applications/"+id, u, nil).JSON(t, &a)
			var out []string
			for _, v := range a.Votes {
				out = append(out, v.ReviewerID)
			}
			return out
		}
		if got := votesOf(f.reviewer, appReview); !slices.Equal(got, []string{f.reviewer.ID}) {
			t.Errorf("reviewer's GET of an undecided application shows votes of %v, want only its own (%s)", got, f.reviewer.ID)
		}
		if got := votesOf(f.reviewer2, appReview); !slices.Equal(got, []string{f.reviewer2.ID}) {
			t.Errorf("reviewer2's GET of an undecided application shows votes of %v, want only its own (%s)", got, f.reviewer2.ID)
		}
		if got := votesOf(f.reviewer3, appReview); len(got) != 0 {
			t.Errorf("GET by a reviewer who has not voted shows votes of %v, want none", got)
		}
		if got := votesOf(f.finance, appReview); len(got) != 0 {
			t.Errorf("finance's GET shows votes of %v, want none", got)
		}
		if got := votesOf(f.finance, appActive); len(got) != 0 {
			t.Errorf("finance's GET of a decided application shows votes of %v, want none", got)
		}
		if got := votesOf(f.owner, appReview); len(got) != 0 {
			t.Errorf("applicant's GET shows votes of %v, want none", got)
		}
		if got := votesOf(f.admin, appReview); len(got) != 2 {
			t.Errorf("admin's GET shows votes of %v, want both", got)
		}
		if got := votesOf(f.reviewer, appActive); len(got) != 3 {
			t.Errorf("reviewer's GET of a decided application shows votes of %v, want all three", got)
		}
		var h struct {
			Items []struct {
				Kind   string `json:"kind"`
				Actor  string `json:"actor"`
				Detail string `json:"detail"`
			} `json:"items"`
		}
		for _, u := range []apptest.User{f.owner, f.finance} {
			app.Must(t, http.StatusOK, "GET", "/api/v1/applications/"+appReview+"/history", u, nil).JSON(t, &h)
			for _, e := range h.Items {
				if e.Kind == "review_submitted" && (e.Actor == f.reviewer.Name || e.Actor == f.reviewer2.Name || e.Detail != "") {
					t.Errorf("history as %s shows a review by %q (%q), want it anonymised", u.Role, e.Actor, e.Detail)
				}
			}
		}
	})

	t.Run("lists are scoped", func(t *testing.T) {
		mine := rigListIDs(t, app, f.owner)
		for _, id := range []string{appReview, appActive, appPaid} {
			if !slices.Contains(mine, id) {
				t.Errorf("owner's GET /api/v1/applications lacks its application %s", id)
			}
		}
		if theirs := rigListIDs(t, app, f.other); len(theirs) != 0 {
			t.Errorf("other applicant's GET /api/v1/applications lists %v, want none", theirs)
		}
	})

	const (
		v1  = "/api/v1"
		unk = "0190a000-0000-7000-8000-000000000000" // a well-formed id that exists nowhere
	)
	// callProg takes applications through calls (f.prog takes them directly).
	callProg := app.CreateProgramme(t, 10_000_000, nil)
	calls := v1 + "/programmes/" + callProg + "/calls"
	var openCall struct{ ID string }
	app.Must(t, http.StatusCreated, "POST", calls, app.Admin, map[string]any{"title": "matrix call",
		"opens_at": "2020-01-01", "closes_at": "2999-01-01"}).JSON(t, &openCall)
	newCall := map[string]any{"title": "matrix", "opens_at": "2027-01-01", "closes_at": "2027-02-01"}
	a := func(id string) string { return v1 + "/applications/" + id }
	d := func(id string) string { return v1 + "/disbursements/" + id }
	revision := f.proposal()
	delete(revision, "programme_id")
	revision["title"] = "Click & Collect Altstadt, revised"
	report := func(narrative string) map[string]any {
		return map[string]any{"kind": "interim", "narrative": narrative, "actual_costs_cents": 500_000}
	}

	matrixPDF := []byte("%PDF-1.4\n% matrix\n%%EOF\n")
	var matrixDoc struct{ ID string }
	app.Must(t, http.StatusCreated, "POST", a(appActive)+"/documents", f.owner,
		apptest.File("plan.pdf", matrixPDF, map[string]string{"kind": "proposal"})).JSON(t, &matrixDoc)

	// Bodies of POSTs differ from those of the setup: a request without
	// Idempotency-Key that repeats an earlier one may be answered as a retry,
	// and a row should test the stage, not retry handling (TestIdempotency).
	//
	// Columns: admin, owner (applicant of the group), other (applicant of
	// another group), reviewer, finance, no token, unknown token.
	// Cells run in the order: no token, unknown token, other, owner, finance,
	// reviewer, admin; rows run top to bottom, so a row may rely on the
	// actions of the rows above it.
	rows := []accessRow{
		{"GET /healthz", "", "/healthz", nil, cells{200, 200, 200, 200, 200, 200, 200}},
		// The way in without a token: the same answer for every caller (a token sent along changes nothing).
		{"POST /api/v1/login-links", "", "/api/v1/login-links", map[string]any{"email": "nobody@nowhere.test"}, cells{202, 202, 202, 202, 202, 202, 202}},
		{"POST /api/v1/login-links/redemption", "never sent", "/api/v1/login-links/redemption", map[string]any{"token": "link_never"},
			cells{401, 401, 401, 401, 401, 401, 401}},
		{"GET /readyz", "", "/readyz", nil, cells{200, 200, 200, 200, 200, 200, 200}},
		{"GET /metrics", "", "/metrics", nil, cells{200, 200, 200, 200, 200, 200, 200}},
		{"GET /api/v1/openapi.json", "", v1 + "/openapi.json", nil, cells{200, 200, 200, 200, 200, 200, 200}},
		{"", "unknown route", v1 + "/nonexistent", nil, cells{404, 404, 404, 404, 404, 401, 401}},

		{"GET /api/v1/me", "", v1 + "/me", nil, cells{200, 200, 200, 200, 200, 401, 401}},
		{"GET /api/v1/users", "", v1 + "/users", nil, cells{200, 403, 403, 403, 403, 401, 401}},
		{"GET /api/v1/users/:id", "", v1 + "/users/" + f.owner.ID, nil, cells{200, 403, 403, 403, 403, 401, 401}},
		{"GET /api/v1/users/:id", "unknown", v1 + "/users/" + unk, nil, cells{404, 403, 403, 403, 403, 401, 401}},
		{"POST /api/v1/users", "", v1 + "/users", map[string]any{"name": "Nina Neu", "role": "reviewer", "organisation": "Neu AG"},
			cells{201, 403, 403, 403, 403, 401, 401}},

		{"POST /api/v1/organisations", "", v1 + "/organisations", map[string]any{"name": "Matrix Handel GmbH"},
			cells{201, 403, 403, 403, 403, 401, 401}},
		{"GET /api/v1/organisations", "", v1 + "/organisations?q=buchladen", nil, cells{200, 200, 200, 200, 200, 401, 401}},
		{"GET /api/v1/organisations/:id", "", v1 + "/organisations/org-buchladen-eck", nil, cells{200, 200, 200, 200, 200, 401, 401}},
		{"GET /api/v1/organisations/:id", "unknown", v1 + "/organisations/" + unk, nil, cells{404, 404, 404, 404, 404, 401, 401}},
		// Invitations are an applicant's: the owner's organisation submitted
		// (it has none open), the other's was never named (TestInvitations
		// has the invited partner's own rows).
		{"GET /api/v1/invitations", "", v1 + "/invitations", nil, cells{403, 200, 200, 403, 403, 401, 401}},
		{"POST /api/v1/applications/:id/invitation", "in review", a(appReview) + "/invitation", map[string]any{"accept": true},
			cells{403, 409, 404, 403, 403, 401, 401}},
		{"POST /api/v1/applications/:id/invitation", "unknown", a(unk) + "/invitation", map[string]any{"accept": true},
			cells{403, 404, 404, 403, 403, 401, 401}},

		{"POST /api/v1/programmes", "", v1 + "/programmes", map[string]any{"name": "Zweites Programm", "budget_cents": 10_000_000},
			cells{201, 403, 403, 403, 403, 401, 401}},
		{"GET /api/v1/programmes", "", v1 + "/programmes", nil, cells{200, 200, 200, 200, 200, 401, 401}},
		{"GET /api/v1/programmes/:id", "", v1 + "/programmes/" + f.prog, nil, cells{200, 200, 200, 200, 200, 401, 401}},
		{"GET /api/v1/programmes/:id", "unknown", v1 + "/programmes/" + unk, nil, cells{404, 404, 404, 404, 404, 401, 401}},
		{"GET /api/v1/programmes/:id/ledger", "", v1 + "/programmes/" + f.prog + "/ledger", nil, cells{200, 403, 403, 403, 200, 401, 401}},
		{"PATCH /api/v1/programmes/:id", "", v1 + "/programmes/" + f.prog, map[string]any{"review_deadline_days": 30},
			cells{200, 403, 403, 403, 403, 401, 401}},
		{"POST /api/v1/programmes/:id/budget", "", v1 + "/programmes/" + f.prog + "/budget", map[string]any{"change_cents": 1000, "reason": "matrix"},
			cells{200, 403, 403, 403, 403, 401, 401}},
		{"GET /api/v1/programmes/:id/audit", "", v1 + "/programmes/" + f.prog + "/audit?kind=journal", nil, cells{200, 403, 403, 403, 200, 401, 401}},
		{"POST /api/v1/programmes/:id/calls", "", calls, newCall, cells{201, 403, 403, 403, 403, 401, 401}},
		{"POST /api/v1/programmes/:id/calls", "unknown programme", v1 + "/programmes/" + unk + "/calls", newCall,
			cells{404, 403, 403, 403, 403, 401, 401}},
		{"GET /api/v1/programmes/:id/calls", "", calls, nil, cells{200, 200, 200, 200, 200, 401, 401}},
		{"GET /api/v1/programmes/:id/calls", "unknown programme", v1 + "/programmes/" + unk + "/calls", nil,
			cells{404, 404, 404, 404, 404, 401, 401}},
		{"PATCH /api/v1/programmes/:id/calls/:call_id", "unknown call", calls + "/" + unk, map[string]any{"title": "x"},
			cells{404, 403, 403, 403, 403, 401, 401}},
		{"PATCH /api/v1/programmes/:id/calls/:call_id", "open", calls + "/" + openCall.ID, map[string]any{"title": "matrix call, renamed"},
			cells{200, 403, 403, 403, 403, 401, 401}},
		{"POST /api/v1/programmes/:id/calls/:call_id/closure", "unknown call", calls + "/" + unk + "/closure", map[string]any{},
			cells{404, 403, 403, 403, 403, 401, 401}},
		{"POST /api/v1/programmes/:id/calls/:call_id/closure", "open", calls + "/" + openCall.ID + "/closure", map[string]any{},
			cells{200, 403, 403, 403, 403, 401, 401}},

		// The other applicant may apply, but not in the name of another group.
		{"POST /api/v1/applications", "", v1 + "/applications", f.proposal(), cells{403, 201, 422, 403, 403, 401, 401}},
		{"GET /api/v1/applications", "", v1 + "/applications", nil, cells{200, 200, 200, 200, 200, 401, 401}},
		{"GET /api/v1/applications/:id", "", a(appActive), nil, cells{200, 200, 404, 200, 200, 401, 401}},
		{"GET /api/v1/applications/:id", "in review", a(appReview), nil, cells{200, 200, 404, 200, 200, 401, 401}},
		{"GET /api/v1/applications/:id", "unknown", a(unk), nil, cells{404, 404, 404, 404, 404, 401, 401}},
		{"GET /api/v1/applications/:id/history", "", a(appActive) + "/history", nil, cells{200, 200, 404, 200, 200, 401, 401}},
		{"GET /api/v1/applications/:id/history", "unknown", a(unk) + "/history", nil, cells{404, 404, 404, 404, 404, 401, 401}},

		{"POST /api/v1/applications/:id/reviews", "first vote", a(appVote) + "/reviews", reviewBody("approve", 4, "matrix"),
			cells{403, 403, 403, 200, 403, 401, 401}},
		{"POST /api/v1/applications/:id/reviews", "voted already", a(appReview) + "/reviews", reviewBody("reject", 1, "matrix"),
			cells{403, 403, 403, 409, 403, 401, 401}},
		{"POST /api/v1/applications/:id/reviews", "active", a(appActive) + "/reviews", reviewBody("approve", 4, "matrix"),
			cells{403, 403, 403, 409, 403, 401, 401}},
		{"POST /api/v1/applications/:id/reviews", "unknown", a(unk) + "/reviews", reviewBody("approve", 4, "matrix"),
			cells{403, 403, 403, 404, 403, 401, 401}},

		{"POST /api/v1/applications/:id/revision", "active", a(appActive) + "/revision", revision,
			cells{403, 409, 404, 403, 403, 401, 401}},
		{"POST /api/v1/applications/:id/acceptance", "active", a(appActive) + "/acceptance", map[string]any{"reason": "matrix"},
			cells{403, 409, 404, 403, 403, 401, 401}},
		{"POST /api/v1/applications/:id/withdrawal", "money paid", a(appPaid) + "/withdrawal", map[string]any{"reason": "changed our minds"},
			cells{403, 409, 404, 403, 403, 401, 401}},
		{"POST /api/v1/applications/:id/withdrawal", "in review", a(appWithdraw) + "/withdrawal", map[string]any{"reason": "changed our minds"},
			cells{403, 200, 404, 403, 403, 401, 401}},
		{"POST /api/v1/applications/:id/cancellation", "in review", a(appCancel) + "/cancellation", map[string]any{"reason": "fraud suspected"},
			cells{200, 403, 403, 403, 403, 401, 401}},
		{"POST /api/v1/applications/:id/cancellation", "cancelled", a(appCancel) + "/cancellation", map[string]any{"reason": "once more"},
			cells{409, 403, 403, 403, 403, 401, 401}},
		{"POST /api/v1/applications/:id/cancellation", "withdrawn", a(appWithdraw) + "/cancellation", map[string]any{"reason": "too late"},
			cells{409, 403, 403, 403, 403, 401, 401}},
		{"GET /api/v1/disbursements/exports", "", v1 + "/disbursements/exports", nil, cells{200, 403, 403, 403, 200, 401, 401}},
		{"POST /api/v1/webhooks", "", v1 + "/webhooks", map[string]any{"url": "https://erp.example.com/hook", "events": []string{"*"}},
			cells{201, 403, 403, 403, 403, 401, 401}},
		{"GET /api/v1/webhooks", "", v1 + "/webhooks", nil, cells{200, 403, 403, 403, 403, 401, 401}},
		{"GET /api/v1/webhooks/:id/deliveries", "unknown", v1 + "/webhooks/" + unk + "/deliveries", nil,
			cells{404, 403, 403, 403, 403, 401, 401}},
		{"DELETE /api/v1/webhooks/:id", "unknown", v1 + "/webhooks/" + unk, nil, cells{404, 403, 403, 403, 403, 401, 401}},
		{"GET /api/v1/reconciliation", "", v1 + "/reconciliation", nil, cells{200, 403, 403, 403, 200, 401, 401}},
		{"GET /api/v1/state-aid", "", v1 + "/state-aid", nil, cells{200, 403, 403, 403, 200, 401, 401}},
		{"GET /api/v1/applications/:id/decision-letter", "active", a(appActive) + "/decision-letter", nil,
			cells{200, 200, 404, 200, 200, 401, 401}},
		{"GET /api/v1/applications/:id/decision-letter", "in review", a(appReview) + "/decision-letter", nil,
			cells{409, 409, 404, 409, 409, 401, 401}},
		{"GET /api/v1/applications/:id/agreement", "active", a(appActive) + "/agreement", nil,
			cells{200, 200, 404, 200, 200, 401, 401}},
		{"GET /api/v1/applications/:id/agreement", "unknown", a(unk) + "/agreement", nil,
			cells{404, 404, 404, 404, 404, 401, 401}},
		{"GET /api/v1/applications/:id/de-minimis-certificate", "own organisation", a(appActive) + "/de-minimis-certificate", nil,
			cells{422, 200, 404, 403, 422, 401, 401}},
		{"GET /api/v1/applications/:id/de-minimis-certificate", "partner", a(appActive) + "/de-minimis-certificate?organisation_id=org-buchladen-eck", nil,
			cells{200, 404, 404, 403, 200, 401, 401}},
		{"GET /api/v1/applications/:id/de-minimis-certificate", "unknown", a(unk) + "/de-minimis-certificate", nil,
			cells{404, 404, 404, 403, 404, 401, 401}},
		{"POST /api/v1/applications/:id/repayments", "nothing owed", a(appPaid) + "/repayments",
			map[string]any{"amount_cents": 100, "bank_reference": "MATRIX-REPAY"}, cells{403, 403, 403, 403, 409, 401, 401}},
		{"POST /api/v1/applications/:id/repayments", "unknown", a(unk) + "/repayments",
			map[string]any{"amount_cents": 100, "bank_reference": "MATRIX-REPAY"}, cells{403, 403, 403, 403, 404, 401, 401}},
		{"POST /api/v1/applications/:id/amendments", "active", a(appActive) + "/amendments",
			map[string]any{"reason": "the shop fit-out is late", "end_date": "2028-06-30"}, cells{403, 201, 404, 403, 403, 401, 401}},
		{"POST /api/v1/applications/:id/amendments", "in review", a(appReview) + "/amendments",
			map[string]any{"reason": "later", "end_date": "2028-06-30"}, cells{403, 409, 404, 403, 403, 401, 401}},
		{"POST /api/v1/applications/:id/amendments/:amendment_id/decision", "unknown", a(appActive) + "/amendments/amd-unknown/decision",
			map[string]any{"decision": "approve"}, cells{404, 403, 403, 404, 403, 401, 401}},
		{"POST /api/v1/applications/:id/drawdowns", "tranche programme", a(appActive) + "/drawdowns",
			map[string]any{"amount_cents": 1000, "costs_incurred_cents": 5000}, cells{403, 409, 404, 403, 403, 401, 401}},
		// The admin's upload of the owner's file finds the owner's document.
		{"POST /api/v1/applications/:id/documents", "active", a(appActive) + "/documents",
			apptest.File("budget.pdf", []byte("%PDF-1.4\n% budget\n%%EOF\n"), map[string]string{"kind": "other"}),
			cells{200, 201, 404, 403, 403, 401, 401}},
		{"POST /api/v1/applications/:id/documents", "unknown", a(unk) + "/documents",
			apptest.File("budget.pdf", matrixPDF, map[string]string{"kind": "other"}), cells{404, 404, 404, 403, 403, 401, 401}},
		{"GET /api/v1/applications/:id/documents", "", a(appActive) + "/documents", nil, cells{200, 200, 404, 200, 200, 401, 401}},
		{"GET /api/v1/applications/:id/documents/:doc_id", "", a(appActive) + "/documents/" + matrixDoc.ID, nil,
			cells{200, 200, 404, 200, 200, 401, 401}},
		{"GET /api/v1/applications/:id/documents/:doc_id", "unknown", a(appActive) + "/documents/doc-unknown", nil,
			cells{404, 404, 404, 404, 404, 401, 401}},
		{"POST /api/v1/applications/:id/review-deadline", "in review", a(appReview) + "/review-deadline", map[string]any{"days": 7},
			cells{200, 403, 403, 403, 403, 401, 401}},
		{"POST /api/v1/applications/:id/review-deadline", "active", a(appActive) + "/review-deadline", map[string]any{"days": 7},
			cells{409, 403, 403, 403, 403, 401, 401}},

		{"POST /api/v1/applications/:id/reports", "in review", a(appReview) + "/reports", report("too early"),
			cells{403, 409, 404, 403, 403, 401, 401}},
		{"POST /api/v1/applications/:id/reports", "active", a(appActive) + "/reports", report("first half"),
			cells{403, 201, 404, 403, 403, 401, 401}},
		{"POST /api/v1/applications/:id/reports", "awaiting assessment", a(appActive) + "/reports", report("first half, again"),
			cells{403, 409, 404, 403, 403, 401, 401}},
		{"GET /api/v1/applications/:id/reports/:report_id", "", a(appPaid) + "/reports/" + rep.ID, nil,
			cells{200, 200, 404, 200, 200, 401, 401}},
		{"GET /api/v1/applications/:id/reports/:report_id", "unknown report", a(appPaid) + "/reports/rep-unknown", nil,
			cells{404, 404, 404, 404, 404, 401, 401}},
		{"GET /api/v1/applications/:id/reports/:report_id", "unknown application", a(unk) + "/reports/" + rep.ID, nil,
			cells{404, 404, 404, 404, 404, 401, 401}},
		// The reviewer accepts first; the admin then finds it accepted.
		{"POST /api/v1/applications/:id/reports/:report_id/assessment", "submitted",
			a(appPaid) + "/reports/" + rep.ID + "/assessment", map[string]any{"decision": "accept", "comment": "fine"},
			cells{409, 403, 403, 200, 403, 401, 401}},
		{"POST /api/v1/applications/:id/reports/:report_id/assessment", "unknown report",
			a(appPaid) + "/reports/rep-unknown/assessment", map[string]any{"decision": "accept"},
			cells{404, 403, 403, 404, 403, 401, 401}},
		{"POST /api/v1/applications/:id/reports/:report_id/assessment", "unknown application",
			a(unk) + "/reports/" + rep.ID + "/assessment", map[string]any{"decision": "accept"},
			cells{404, 403, 403, 404, 403, 401, 401}},

		{"GET /api/v1/disbursements", "", v1 + "/disbursements", nil, cells{200, 403, 403, 403, 200, 401, 401}},
		// Everyone may ask; an applicant sees its group's only (the body is checked in TestOverdue).
		{"GET /api/v1/overdue", "", v1 + "/overdue?due_before=2999-01-01", nil, cells{200, 200, 200, 200, 200, 401, 401}},
		{"GET /api/v1/overdue", "bad date", v1 + "/overdue?due_before=soon", nil, cells{422, 422, 422, 422, 422, 401, 401}},
		{"GET /api/v1/disbursements/export", "", v1 + "/disbursements/export?format=csv", nil, cells{403, 403, 403, 403, 200, 401, 401}},
		{"POST /api/v1/disbursements/:id/approval", "due", d(activeT1.ID) + "/approval", map[string]any{},
			cells{403, 403, 403, 403, 200, 401, 401}},
		{"POST /api/v1/disbursements/:id/approval", "approved", d(activeT1.ID) + "/approval", map[string]any{"comment": "again"},
			cells{403, 403, 403, 403, 409, 401, 401}},
		{"POST /api/v1/disbursements/:id/approval", "unknown", d(unk+"-1") + "/approval", map[string]any{},
			cells{403, 403, 403, 403, 404, 401, 401}},
		// finance approved activeT1 itself: four eyes forbid it to pay it.
		{"POST /api/v1/disbursements/:id/payment", "own approval", d(activeT1.ID) + "/payment", map[string]any{"bank_reference": "MATRIX-1"},
			cells{403, 403, 403, 403, 403, 401, 401}},
		{"POST /api/v1/disbursements/:id/payment", "approved by finance2", d(approvedT1.ID) + "/payment", map[string]any{"bank_reference": "MATRIX-2"},
			cells{403, 403, 403, 403, 200, 401, 401}},
		{"POST /api/v1/disbursements/:id/payment", "paid", d(approvedT1.ID) + "/payment", map[string]any{"bank_reference": "MATRIX-3"},
			cells{403, 403, 403, 403, 409, 401, 401}},
		{"POST /api/v1/disbursements/:id/failure", "approved", d(activeT1.ID) + "/failure", map[string]any{"reason": "account closed"},
			cells{403, 403, 403, 403, 200, 401, 401}},
		{"POST /api/v1/disbursements/:id/failure", "due", d(activeT1.ID) + "/failure", map[string]any{"reason": "account closed, again"},
			cells{403, 403, 403, 403, 409, 401, 401}},

		{"POST /api/v1/users/:id/deactivation", "", v1 + "/users/" + target.ID + "/deactivation", map[string]any{},
			cells{200, 403, 403, 403, 403, 401, 401}},
		{"POST /api/v1/users/:id/deactivation", "self", v1 + "/users/" + f.admin.ID + "/deactivation", map[string]any{},
			cells{409, 403, 403, 403, 403, 401, 401}},
		{"POST /api/v1/users/:id/deactivation", "unknown", v1 + "/users/" + unk + "/deactivation", map[string]any{},
			cells{404, 403, 403, 403, 403, 401, 401}},
		{"POST /api/v1/users/:id/reactivation", "", v1 + "/users/" + target.ID + "/reactivation", map[string]any{},
			cells{200, 403, 403, 403, 403, 401, 401}},
		{"POST /api/v1/users/:id/token", "", v1 + "/users/" + target.ID + "/token", map[string]any{},
			cells{200, 403, 403, 403, 403, 401, 401}},
		{"PATCH /api/v1/me", "", v1 + "/me", map[string]any{"language": "de"}, cells{200, 200, 200, 200, 200, 401, 401}},
		{"GET /api/v1/me/notifications", "", v1 + "/me/notifications", nil, cells{200, 200, 200, 200, 200, 401, 401}},
		// Nobody reads a notification not its own (TestHandOffsReachPeople).
		{"POST /api/v1/me/notifications/:id/read", "unknown", v1 + "/me/notifications/ntf-unknown/read", map[string]any{},
			cells{404, 404, 404, 404, 404, 401, 401}},
		{"GET /api/v1/me/tokens", "", v1 + "/me/tokens", nil, cells{200, 200, 200, 200, 200, 401, 401}},
		{"POST /api/v1/me/tokens", "", v1 + "/me/tokens", map[string]any{"name": "matrix"}, cells{201, 201, 201, 201, 201, 401, 401}},
		{"DELETE /api/v1/me/tokens/:token_id", "unknown", v1 + "/me/tokens/" + unk, nil, cells{404, 404, 404, 404, 404, 401, 401}},
		{"POST /api/v1/me/tokens/:token_id/rotation", "unknown", v1 + "/me/tokens/" + unk + "/rotation", map[string]any{},
			cells{404, 404, 404, 404, 404, 401, 401}},
		{"GET /api/v1/users/:id/tokens", "", v1 + "/users/" + target.ID + "/tokens", nil, cells{200, 403, 403, 403, 403, 401, 401}},
		{"POST /api/v1/users/:id/tokens", "", v1 + "/users/" + target.ID + "/tokens", map[string]any{"name": "matrix"},
			cells{201, 403, 403, 403, 403, 401, 401}},
		{"DELETE /api/v1/users/:id/tokens/:token_id", "unknown", v1 + "/users/" + target.ID + "/tokens/" + unk, nil,
			cells{404, 403, 403, 403, 403, 401, 401}},
		// Last: every caller gets a new token (the matrix carries it on).
		{"POST /api/v1/me/token", "", v1 + "/me/token", map[string]any{}, cells{200, 200, 200, 200, 200, 401, 401}},
	}

	t.Run("every route is in the table", func(t *testing.T) {
		covered := map[string]bool{}
		for _, r := range rows {
			covered[r.route] = true
		}
		for _, r := range api.New(api.Config{}).Echo().Routes() {
			switch r.Method {
			case http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
			default:
				continue // the group's catch-all not-found routes
			}
			if key := r.Method + " " + r.Path; !covered[key] {
				t.Errorf("route %s has no row in the access matrix", key)
			}
		}
	})

	anon := apptest.User{Role: "anonymous"}
	bad := apptest.User{Role: "bad-token", Token: "rl_this-token-was-never-issued"}
	for i, r := range rows {
		name := fmt.Sprintf("%02d %s %s", i, r.route, r.note)
		if r.route == "" {
			name = fmt.Sprintf("%02d %s", i, r.note)
		}
		t.Run(name, func(t *testing.T) {
			method := "GET"
			if r.body != nil {
				method = "POST"
			}
			if m, _, ok := strings.Cut(r.route, " "); ok {
				method = m
			}
			callers := []struct {
				name string
				u    *apptest.User
				want int
			}{
				{"no token", &anon, r.want.anon},
				{"unknown token", &bad, r.want.bad},
				{"other applicant", &f.other, r.want.other},
				{"owner applicant", &f.owner, r.want.owner},
				{"finance", &f.finance, r.want.finance},
				{"reviewer", &f.reviewer, r.want.reviewer},
				{"admin", &f.admin, r.want.admin},
			}
			for _, c := range callers {
				resp := app.Do(t, method, r.path, *c.u, r.body)
				if r.route == "POST /api/v1/me/token" && resp.Status == http.StatusOK {
					var fresh struct{ Token string }
					resp.JSON(t, &fresh)
					c.u.Token = fresh.Token
				}
				if resp.Status != c.want {
					t.Errorf("%s %s as %s = %d, want %d: %s", method, r.path, c.name, resp.Status, c.want, rigClip(resp.Body))
				}
				if resp.Status >= 400 {
					checkProblemJSON(t, fmt.Sprintf("%s %s as %s", method, r.path, c.name), resp)
				}
			}
		})
	}

	t.Run("state after the matrix", func(t *testing.T) {
		if st := f.state(t, appWithdraw).Status; st != "withdrawn" {
			t.Errorf("application withdrawn by its owner is %s, want withdrawn", st)
		}
		if st := f.state(t, appCancel).Status; st != "cancelled" {
			t.Errorf("application cancelled by the admin is %s, want cancelled", st)
		}
		if got := f.tranche(t, appApproved, 1); got.Status != "paid" || got.BankReference != "MATRIX-2" {
			t.Errorf("tranche paid in the matrix is %s (ref %q), want paid with MATRIX-2", got.Status, got.BankReference)
		}
		if got := f.tranche(t, appActive, 1); got.Status != "due" {
			t.Errorf("tranche whose payment failed is %s, want due", got.Status)
		}
		if votes := f.state(t, appVote).Votes; len(votes) != 1 || votes[0].ReviewerID != f.reviewer.ID {
			t.Errorf("votes on the application the reviewer voted on = %v, want only the reviewer's", votes)
		}
		if votes := f.state(t, appReview).Votes; len(votes) != 2 {
			t.Errorf("votes on the application the reviewer had voted on already = %d, want 2", len(votes))
		}
	})
}

// rigClip shortens a body for a failure message.
func rigClip(b []byte) string {
	if len(b) > 300 {
		return string(b[:300]) + "…"
	}
	return string(b)
}
