package api_test

import (
	"net/http"
	"strings"
	"testing"

	"reallabor/internal/apptest"
)

// TestDrawdowns: a programme that pays on request; the group draws money
// with its costs incurred, within the rate and below the retained share;
// finance pays each request with four eyes; the settlement pays the rest.
func TestDrawdowns(t *testing.T) {
	app := apptest.Start(t)
	w := newWorld(t, app, 10_000_000, map[string]any{"payment_mode": "drawdown"})
	var prog struct {
		Rules struct {
			PaymentMode     string `json:"payment_mode"`
			RetainedPercent int    `json:"retained_percent"`
		} `json:"rules"`
	}
	app.Must(t, 200, "GET", "/api/v1/programmes/"+w.programme, w.applicant, nil).JSON(t, &prog)
	if prog.Rules.PaymentMode != "drawdown" || prog.Rules.RetainedPercent != 20 {
		t.Fatalf("rules = %+v, want drawdown with 20 %% retained", prog.Rules)
	}
	st := w.submit(t, 1_000_000) // total cost 2,000,000
	st = w.vote(t, st.ID, "approve", 5)
	app.Must(t, 200, "POST", "/api/v1/applications/"+st.ID+"/acceptance", w.applicant, nil).JSON(t, &st)
	if len(st.Tranches) != 1 || st.Tranches[0].Status != "scheduled" || st.Tranches[0].AmountCents != 1_000_000 {
		t.Fatalf("tranches after acceptance = %+v, want the one final tranche, nothing due", st.Tranches)
	}
	draw := func(amount, costs int64) apptest.Response {
		return app.Do(t, "POST", "/api/v1/applications/"+st.ID+"/drawdowns", w.applicant,
			map[string]any{"amount_cents": amount, "costs_incurred_cents": costs})
	}
	if r := draw(500_000, 800_000); r.Status != http.StatusUnprocessableEntity || !strings.Contains(string(r.Body), "at most 4,000.00 EUR now") {
		t.Fatalf("more than the rate of the costs incurred = %d: %s", r.Status, r.Body)
	}
	if r := draw(400_000, 800_000); r.Status != http.StatusCreated {
		t.Fatalf("drawdown = %d: %s", r.Status, r.Body)
	} else {
		r.JSON(t, &st)
	}
	if r := draw(1, 2_000_000); r.Status != http.StatusConflict {
		t.Fatalf("a second request while one is unpaid = %d", r.Status)
	}
	if d := st.Tranches[1]; d.Status != "due" || d.AmountCents != 400_000 || st.Tranches[0].AmountCents != 600_000 {
		t.Fatalf("tranches after the request = %+v", st.Tranches)
	}
	st = w.pay(t, st, 2) // four eyes, as any tranche
	// 400,000 drawn; the limit before settlement is 800,000 (20 % retained).
	if r := draw(500_000, 2_000_000); r.Status != http.StatusUnprocessableEntity || !strings.Contains(string(r.Body), "retained") {
		t.Fatalf("above the retained share = %d: %s", r.Status, r.Body)
	}
	if r := draw(400_000, 1_800_000); r.Status != http.StatusCreated {
		t.Fatalf("second drawdown = %d: %s", r.Status, r.Body)
	} else {
		r.JSON(t, &st)
	}
	st = w.pay(t, st, 3)
	if l := w.ledger(t); l.PaidCents != 800_000 || l.ReservedCents != 200_000 {
		t.Fatalf("ledger after two drawdowns = %+v, want 800000 paid, 200000 reserved", l)
	}
	// The final report: 2,000,000 spent, the grant stands; the 200,000
	// retained are paid with the settlement.
	st = w.report(t, st.ID, "final", 2_000_000, w.reviewers[1])
	if st.Tranches[0].Status != "due" || st.Tranches[0].AmountCents != 200_000 {
		t.Fatalf("final tranche after settlement = %+v", st.Tranches[0])
	}
	st = w.pay(t, st, 1)
	if st.Status != "closed" {
		t.Fatalf("status = %s, want closed", st.Status)
	}
	if l := w.ledger(t); l.PaidCents != 1_000_000 || l.ReservedCents != 0 {
		t.Fatalf("ledger at the end = %+v", l)
	}
	app.BooksExact(t)
	record(t, app, st.ID, "drawdowns")
}
