package api_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"reallabor/internal/apptest"
)

// TestCallsWithinAProgramme: once a programme has calls, applications go to
// an open call only (409 before and after it, with its dates; 422 without
// one); a call's rules override the programme's for what is submitted to
// it; a call can be closed early.
func TestCallsWithinAProgramme(t *testing.T) {
	app := apptest.Start(t)
	prog := app.CreateProgramme(t, 100_000_000, nil)
	anna := app.CreateUser(t, "Anna", "applicant", "Cafe Mitte")
	body := func(call string) map[string]any {
		b := apptest.Proposal(prog, "Cafe Mitte", 1_000_000)
		if call != "" {
			b["call_id"] = call
		}
		return b
	}
	type call struct {
		ID       string     `json:"id"`
		Open     bool       `json:"open"`
		ClosesAt time.Time  `json:"closes_at"`
		ClosedAt *time.Time `json:"closed_at"`
		Rules    struct {
			MaxGrantCents int64 `json:"max_grant_cents"`
		} `json:"rules"`
	}
	var st struct {
		ID            string `json:"id"`
		CallID        string `json:"call_id"`
		Status        string
		Ineligibility []struct{ Field, Message string }
	}
	// Without calls, the programme takes applications directly.
	app.Must(t, http.StatusCreated, "POST", "/api/v1/applications", anna, body("")).JSON(t, &st)
	if st.Status != "in_review" {
		t.Fatalf("application to a programme without calls is %s, want in_review", st.Status)
	}

	day := 24 * time.Hour
	now := time.Now().UTC()
	calls := "/api/v1/programmes/" + prog + "/calls"
	var spring, autumn call
	app.Must(t, http.StatusCreated, "POST", calls, app.Admin, map[string]any{"title": "Frühjahr 2027",
		"opens_at": now.Add(-day).Format(time.RFC3339), "closes_at": now.Add(30 * day).Format(time.RFC3339),
		"budget_share_cents": 40_000_000, "rules": map[string]any{"max_grant_cents": 800_000}}).JSON(t, &spring)
	if !spring.Open || spring.Rules.MaxGrantCents != 800_000 {
		t.Errorf("new call = %+v, want open with a maximum grant of 8,000 EUR", spring)
	}
	app.Must(t, http.StatusCreated, "POST", calls, app.Admin, map[string]any{"title": "Herbst 2027",
		"opens_at": now.Add(10 * day).Format(time.DateOnly), "closes_at": now.Add(40 * day).Format(time.DateOnly)}).JSON(t, &autumn)

	// The call's rules apply: 10,000 EUR is over its maximum of 8,000.
	app.Must(t, http.StatusCreated, "POST", "/api/v1/applications", anna, body(spring.ID)).JSON(t, &st)
	if st.Status != "ineligible" || len(st.Ineligibility) == 0 || !strings.Contains(st.Ineligibility[0].Message, "8,000.00") {
		t.Errorf("10,000 EUR to a call capped at 8,000 = %+v, want ineligible naming the call's maximum", st)
	}
	small := body(spring.ID)
	small["requested_cents"] = 700_000
	app.Must(t, http.StatusCreated, "POST", "/api/v1/applications", anna, small).JSON(t, &st)
	if st.Status != "in_review" || st.CallID != spring.ID {
		t.Errorf("7,000 EUR to the open call = %s in call %q, want in_review in %s", st.Status, st.CallID, spring.ID)
	}
	record(t, app, st.ID, "call_submission")
	before := app.Must(t, http.StatusConflict, "POST", "/api/v1/applications", anna, body(autumn.ID))
	if !strings.Contains(string(before.Body), "opens at "+now.Add(10*day).Format(time.DateOnly)) {
		t.Errorf("application before the call opens: %s, want its opening date", before.Body)
	}
	app.Must(t, http.StatusUnprocessableEntity, "POST", "/api/v1/applications", anna, body(""))
	app.Must(t, http.StatusUnprocessableEntity, "POST", "/api/v1/applications", anna, body("call-unknown"))

	// Closed early: no more applications, and it cannot be closed twice.
	var closed call
	app.Must(t, http.StatusOK, "POST", calls+"/"+spring.ID+"/closure", app.Admin, map[string]any{}).JSON(t, &closed)
	if closed.Open || closed.ClosedAt == nil {
		t.Errorf("closed call = %+v, want closed with its date", closed)
	}
	after := app.Must(t, http.StatusConflict, "POST", "/api/v1/applications", anna, small)
	if !strings.Contains(string(after.Body), "closed at") {
		t.Errorf("application after the call closed: %s, want when it closed", after.Body)
	}
	app.Must(t, http.StatusConflict, "POST", calls+"/"+spring.ID+"/closure", app.Admin, map[string]any{})
	app.Must(t, http.StatusNotFound, "POST", calls+"/call-unknown/closure", app.Admin, map[string]any{})

	var list struct{ Items []call }
	app.Must(t, http.StatusOK, "GET", calls, anna, nil).JSON(t, &list)
	if len(list.Items) != 2 || list.Items[0].ID != spring.ID || list.Items[0].Open || list.Items[1].Open {
		t.Errorf("calls = %+v, want spring (closed) then autumn (not yet open)", list.Items)
	}

	// Bad input: nothing stored.
	for _, bad := range []map[string]any{
		{"title": "x", "opens_at": "2027-02-01", "closes_at": "2027-01-01"},
		{"title": "x", "opens_at": "soon", "closes_at": "2027-01-01"},
		{"title": "bad\u0007title", "opens_at": "2027-01-01", "closes_at": "2027-02-01"},
		{"title": "x", "opens_at": "2027-01-01", "closes_at": "2027-02-01", "budget_share_cents": 100_000_001},
		{"title": "x", "opens_at": "2027-01-01", "closes_at": "2027-02-01", "rules": map[string]any{"funding_rate_percent": 101}},
		{"opens_at": "2027-01-01", "closes_at": "2027-02-01"},
	} {
		app.Must(t, http.StatusUnprocessableEntity, "POST", calls, app.Admin, bad)
	}
	app.Must(t, http.StatusOK, "GET", calls, anna, nil).JSON(t, &list)
	if len(list.Items) != 2 {
		t.Errorf("%d calls after bad input, want the 2 made", len(list.Items))
	}
}

// TestEditCall: an admin changes a running call; what is submitted
// afterwards gets its new rules, what was submitted keeps its own; an ended
// call cannot be changed.
func TestEditCall(t *testing.T) {
	app := apptest.Start(t)
	prog := app.CreateProgramme(t, 100_000_000, nil)
	anna := app.CreateUser(t, "Anna", "applicant", "Cafe Mitte")
	now := time.Now().UTC()
	day := 24 * time.Hour
	calls := "/api/v1/programmes/" + prog + "/calls"
	var c struct {
		ID    string `json:"id"`
		Title string `json:"title"`
		Rules struct {
			MaxGrantCents int64 `json:"max_grant_cents"`
		} `json:"rules"`
	}
	app.Must(t, http.StatusCreated, "POST", calls, app.Admin, map[string]any{"title": "Frühjahr",
		"opens_at": now.Add(-day).Format(time.RFC3339), "closes_at": now.Add(30 * day).Format(time.RFC3339)}).JSON(t, &c)
	submit := func() (st struct {
		ID, Status string
		Rules      struct {
			MaxGrantCents int64 `json:"max_grant_cents"`
		} `json:"rules"`
	}) {
		b := apptest.Proposal(prog, "Cafe Mitte", 1_000_000)
		b["call_id"] = c.ID
		app.Must(t, http.StatusCreated, "POST", "/api/v1/applications", anna, b).JSON(t, &st)
		return st
	}
	first := submit()
	edit := calls + "/" + c.ID
	app.Must(t, http.StatusForbidden, "PATCH", edit, anna, map[string]any{"title": "x"})
	for _, body := range []map[string]any{
		{"closes_at": now.Add(-2 * day).Format(time.RFC3339)}, // before it opens
		{"title": "  "},
		{"rules": map[string]any{"funding_rate_percent": 0, "max_grant_cents": -1}},
		{"budget_share_cents": 200_000_000},
		{"title": "a\x00b"},
	} {
		if r := app.Do(t, "PATCH", edit, app.Admin, body); r.Status != http.StatusUnprocessableEntity {
			t.Fatalf("edit %v = %d, want 422: %s", body, r.Status, r.Body)
		}
	}
	app.Must(t, 200, "PATCH", edit, app.Admin, map[string]any{"title": "Frühjahr (verlängert)",
		"closes_at": now.Add(60 * day).Format(time.RFC3339), "rules": map[string]any{"max_grant_cents": 500_000}}).JSON(t, &c)
	if c.Title != "Frühjahr (verlängert)" || c.Rules.MaxGrantCents != 500_000 {
		t.Fatalf("call after the edit = %+v", c)
	}
	if second := submit(); second.Status != "ineligible" || second.Rules.MaxGrantCents != 500_000 {
		t.Fatalf("submitted after the edit: %s with max grant %d, want ineligible under 500000", second.Status, second.Rules.MaxGrantCents)
	}
	var st struct {
		Status string
		Rules  struct {
			MaxGrantCents int64 `json:"max_grant_cents"`
		} `json:"rules"`
	}
	app.Must(t, 200, "GET", "/api/v1/applications/"+first.ID, anna, nil).JSON(t, &st)
	if st.Status != "in_review" || st.Rules.MaxGrantCents == 500_000 {
		t.Fatalf("submitted before the edit: %+v, want its own rules", st)
	}
	app.Must(t, 200, "POST", edit+"/closure", app.Admin, map[string]any{})
	app.Must(t, http.StatusConflict, "PATCH", edit, app.Admin, map[string]any{"title": "later"})
	app.Must(t, http.StatusNotFound, "PATCH", calls+"/no-such-call", app.Admin, map[string]any{"title": "x"})
}

// TestCallBudgetShare: a call's budget share caps what its applications
// hold: one that would pass it waits (waitlisted) although the fund has the
// money; it holds up neither the applications of another call nor the
// programme's own; when an application of the call gives its money back,
// the waiting one is promoted, as when the admin raises the share. The
// books stay exact.
func TestCallBudgetShare(t *testing.T) {
	app := apptest.Start(t)
	w := newWorld(t, app, 10_000_000, nil) // 100,000.00 EUR
	now := time.Now().UTC()
	day := 24 * time.Hour
	calls := "/api/v1/programmes/" + w.programme + "/calls"
	var small, open struct{ ID string }
	app.Must(t, http.StatusCreated, "POST", calls, app.Admin, map[string]any{"title": "Kleine Projekte",
		"opens_at": now.Add(-day).Format(time.RFC3339), "closes_at": now.Add(30 * day).Format(time.RFC3339),
		"budget_share_cents": 3_000_000}).JSON(t, &small)
	app.Must(t, http.StatusCreated, "POST", calls, app.Admin, map[string]any{"title": "Offen",
		"opens_at": now.Add(-day).Format(time.RFC3339), "closes_at": now.Add(30 * day).Format(time.RFC3339)}).JSON(t, &open)
	submit := func(call string) appState {
		t.Helper()
		b := apptest.Proposal(w.programme, "Cafe Mitte", 2_000_000) // a grant of 20,000.00 EUR
		b["call_id"] = call
		var st appState
		app.Must(t, http.StatusCreated, "POST", "/api/v1/applications", w.applicant, b).JSON(t, &st)
		return w.vote(t, st.ID, "approve", 5)
	}
	first := submit(small.ID)
	second := submit(small.ID) // 20,000 + 20,000 > the call's 30,000
	third := submit(open.ID)
	if first.Status != "approved" || second.Status != "waitlisted" || third.Status != "approved" {
		t.Fatalf("statuses = %s, %s, %s; want approved, waitlisted (the call's share), approved (another call)",
			first.Status, second.Status, third.Status)
	}
	var l struct {
		ReservedCents  int64 `json:"reserved_cents"`
		AvailableCents int64 `json:"available_cents"`
	}
	app.Must(t, 200, "GET", "/api/v1/programmes/"+w.programme+"/ledger", app.Admin, nil).JSON(t, &l)
	if l.ReservedCents != 4_000_000 || l.AvailableCents != 6_000_000 {
		t.Errorf("ledger = %+v, want 40,000 reserved and 60,000 available (the waiting one holds nothing)", l)
	}
	// The first gives its money back: the second fits the share now.
	app.Must(t, 200, "POST", "/api/v1/applications/"+first.ID+"/withdrawal", w.applicant, map[string]any{"reason": "other money"})
	waitStatus(t, w, second.ID, "approved")
	app.Must(t, 200, "GET", "/api/v1/programmes/"+w.programme+"/ledger", app.Admin, nil).JSON(t, &l)
	if l.ReservedCents != 4_000_000 {
		t.Errorf("reserved after the promotion = %d, want 4,000,000", l.ReservedCents)
	}
	// A fourth waits for the share; the admin raises it, and it goes through.
	fourth := submit(small.ID)
	if fourth.Status != "waitlisted" {
		t.Fatalf("a fourth past the share is %s, want waitlisted", fourth.Status)
	}
	app.Must(t, 200, "PATCH", calls+"/"+small.ID, app.Admin, map[string]any{"budget_share_cents": 4_000_000})
	waitStatus(t, w, fourth.ID, "approved")
	app.BooksExact(t)
}
