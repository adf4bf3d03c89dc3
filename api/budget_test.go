package api_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"reallabor/internal/apptest"
)

// TestBudgetTopUpAndCut: an admin tops a programme's budget up or cuts it,
// never below what is reserved + paid (409 with the figures); each change is
// a journal entry with actor and reason; money added promotes the
// waitlist; a retried change applies once; the books stay exact.
func TestBudgetTopUpAndCut(t *testing.T) {
	app := apptest.Start(t)
	prog := app.CreateProgramme(t, 1_500_000, nil)
	anna := app.CreateUser(t, "Anna", "applicant", "Cafe Mitte")
	var board []apptest.User
	for _, org := range []string{"Stadtwerke", "IHK", "Handwerkskammer"} {
		board = append(board, app.CreateUser(t, "Reviewer", "reviewer", org))
	}
	submitApproved := func(title string) string {
		body := apptest.Proposal(prog, "Cafe Mitte", 1_000_000)
		body["title"] = title
		var st struct{ ID string }
		app.Must(t, http.StatusCreated, "POST", "/api/v1/applications", anna, body).JSON(t, &st)
		for _, r := range board {
			app.Must(t, http.StatusOK, "POST", "/api/v1/applications/"+st.ID+"/reviews", r,
				map[string]any{"recommendation": "approve", "scores": apptest.Scores(5)})
		}
		return st.ID
	}
	first := submitApproved("Erstes")
	second := submitApproved("Zweites")
	status := func(id string) string {
		var st struct{ Status string }
		app.Must(t, http.StatusOK, "GET", "/api/v1/applications/"+id, app.Admin, nil).JSON(t, &st)
		return st.Status
	}
	if status(first) != "approved" || status(second) != "waitlisted" {
		t.Fatalf("before the top-up: %s / %s, want approved / waitlisted", status(first), status(second))
	}
	path := "/api/v1/programmes/" + prog + "/budget"
	resp := app.Do(t, "POST", path, app.Admin, map[string]any{"change_cents": -600_000, "reason": "council cut"})
	if resp.Status != http.StatusConflict || !strings.Contains(string(resp.Body), "900000") {
		t.Errorf("cut below the reserved = %d %s, want 409 naming 900000", resp.Status, resp.Body)
	}
	var l struct {
		BudgetCents   int64 `json:"budget_cents"`
		ReservedCents int64 `json:"reserved_cents"`
	}
	for range 2 { // a retry with the same key applies once
		app.Must(t, http.StatusOK, "POST", path, app.Admin, map[string]any{"change_cents": 600_000, "reason": "council top-up 2027"},
			"Idempotency-Key", "top-up-1").JSON(t, &l)
	}
	app.Must(t, http.StatusOK, "GET", "/api/v1/programmes/"+prog+"/ledger", app.Admin, nil).JSON(t, &l)
	if l.BudgetCents != 2_100_000 {
		t.Errorf("budget after the top-up = %d, want 2,100,000", l.BudgetCents)
	}
	for deadline := time.Now().Add(10 * time.Second); status(second) != "approved" && time.Now().Before(deadline); {
		time.Sleep(100 * time.Millisecond)
	}
	if s := status(second); s != "approved" {
		t.Errorf("waitlisted application after the top-up is %s, want approved (promoted)", s)
	}
	app.Must(t, http.StatusOK, "POST", path, app.Admin, map[string]any{"change_cents": -100_000, "reason": "rounding"})
	journal := string(app.Must(t, http.StatusOK, "GET", "/api/v1/programmes/"+prog+"/audit?kind=journal", app.Admin, nil).Body)
	if !strings.Contains(journal, ",budget,600000,") || !strings.Contains(journal, "council top-up 2027") ||
		!strings.Contains(journal, ",budget,-100000,") || !strings.Contains(journal, app.Admin.ID) ||
		strings.Count(journal, ",budget,") != 2 {
		t.Errorf("journal lacks the two budget changes with actor and reason:\n%s", journal)
	}
	for _, bad := range []map[string]any{{"change_cents": 0, "reason": "x"}, {"change_cents": 100}, {"change_cents": 100, "reason": "  "},
		{"change_cents": "lots", "reason": "x"}, {"change_cents": 100, "reason": "x\x00"}} {
		app.Must(t, http.StatusUnprocessableEntity, "POST", path, app.Admin, bad)
	}
	fin := app.CreateUser(t, "Fritz", "finance", "Stadtkasse")
	app.Must(t, http.StatusForbidden, "POST", path, fin, map[string]any{"change_cents": 100, "reason": "x"})
	app.Must(t, http.StatusNotFound, "POST", "/api/v1/programmes/0190a000-0000-7000-8000-000000000000/budget", app.Admin,
		map[string]any{"change_cents": 100, "reason": "x"})
	app.BooksExact(t)
}
