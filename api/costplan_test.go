package api_test

import (
	"net/http"
	"strings"
	"testing"

	"reallabor/internal/apptest"
)

// TestCostPlanThroughHTTP: an application carries its costs by category;
// eligibility and the funding rate use what the programme's cost rules
// count; the final report gives the actual costs by category, the
// assessment recognises less of one with a reason, and the settlement uses
// the recognised costs, to the cent.
func TestCostPlanThroughHTTP(t *testing.T) {
	app := apptest.Start(t)
	w := newWorld(t, app, 10_000_000, map[string]any{
		"cost_categories": []string{"personnel", "material", "external_services"},
		"cost_share_caps": []map[string]any{{"category": "external_services", "max_percent": 30}},
	})
	var prog struct {
		Rules struct {
			CostCategories []string `json:"cost_categories"`
		} `json:"rules"`
	}
	app.Must(t, 200, "GET", "/api/v1/programmes/"+w.programme, w.applicant, nil).JSON(t, &prog)
	if len(prog.Rules.CostCategories) != 3 {
		t.Fatalf("programme rules = %+v, want three cost categories", prog.Rules)
	}
	withPlan := func(requested, total int64, plan ...map[string]any) map[string]any {
		p := apptest.Proposal(w.programme, "Cafe Mitte", requested)
		p["total_cost_cents"], p["cost_plan"] = total, plan
		return p
	}
	line := func(cat string, cents int64) map[string]any {
		return map[string]any{"category": cat, "description": cat + " of the pick-up points", "amount_cents": cents}
	}
	// Bad input: a plan that does not add up, an unknown category, a control character.
	for _, body := range []map[string]any{
		withPlan(500_000, 2_000_000, line("personnel", 1_000_000)),
		withPlan(500_000, 2_000_000, line("catering", 2_000_000)),
		withPlan(500_000, 2_000_000, map[string]any{"category": "personnel", "description": "a\x00b", "amount_cents": 2_000_000}),
	} {
		r := app.Do(t, "POST", "/api/v1/applications", w.applicant, body)
		if r.Status != http.StatusUnprocessableEntity || !strings.Contains(string(r.Body), "cost_plan") {
			t.Fatalf("bad cost plan = %d: %s", r.Status, r.Body)
		}
	}
	// Travel is not funded and external services count up to 30 %: of
	// 2,000,000 only 1,000,000 + 600,000 count; 900,000 is more than 50 % of it.
	var st appState
	app.Must(t, http.StatusCreated, "POST", "/api/v1/applications", w.applicant, withPlan(900_000, 2_000_000,
		line("personnel", 1_000_000), line("external_services", 800_000), line("travel", 200_000))).JSON(t, &st)
	if st.Status != "ineligible" {
		t.Fatalf("a request above the rate of the eligible costs is %s, want ineligible", st.Status)
	}
	// 800,000 of 1,600,000 eligible: eligible.
	app.Must(t, http.StatusCreated, "POST", "/api/v1/applications", w.applicant, withPlan(800_000, 2_000_000,
		line("personnel", 1_000_000), line("external_services", 800_000), line("travel", 200_000))).JSON(t, &st)
	if st.Status != "in_review" {
		t.Fatalf("status = %s, want in_review", st.Status)
	}
	st = w.vote(t, st.ID, "approve", 5)
	app.Must(t, 200, "POST", "/api/v1/applications/"+st.ID+"/acceptance", w.applicant, nil).JSON(t, &st)
	st = w.pay(t, st, 1) // 320,000
	st = w.report(t, st.ID, "interim", 600_000, w.reviewers[1])
	st = w.pay(t, st, 2) // 320,000: 640,000 paid
	// Final report: personnel 900,000, external services 500,000, travel 100,000.
	costs := []map[string]any{{"category": "personnel", "amount_cents": 900_000}, {"category": "external_services", "amount_cents": 500_000},
		{"category": "travel", "amount_cents": 100_000}}
	app.Must(t, http.StatusUnprocessableEntity, "POST", "/api/v1/applications/"+st.ID+"/reports", w.applicant,
		map[string]any{"kind": "final", "narrative": "done", "actual_costs_cents": 1_400_000, "costs": costs})
	// Under cost rules a final report gives its costs by category.
	app.Must(t, http.StatusUnprocessableEntity, "POST", "/api/v1/applications/"+st.ID+"/reports", w.applicant,
		map[string]any{"kind": "final", "narrative": "done", "actual_costs_cents": 1_500_000})
	var rep struct{ ID string }
	app.Must(t, http.StatusCreated, "POST", "/api/v1/applications/"+st.ID+"/reports", w.applicant,
		map[string]any{"kind": "final", "narrative": "done", "actual_costs_cents": 1_500_000, "costs": costs}).JSON(t, &rep)
	assessment := "/api/v1/applications/" + st.ID + "/reports/" + rep.ID + "/assessment"
	app.Must(t, http.StatusUnprocessableEntity, "POST", assessment, w.reviewers[2], map[string]any{"decision": "accept",
		"recognised": []map[string]any{{"category": "personnel", "amount_cents": 800_000}}}) // no reason
	// Recognised: personnel 800,000 (timesheets missing); external services
	// min(500,000, 30 % of 1,400,000 = 420,000); travel not funded:
	// 1,220,000 eligible, 50 % = 610,000 granted; 640,000 paid: 30,000 back.
	app.Must(t, 200, "POST", assessment, w.reviewers[2], map[string]any{"decision": "accept",
		"recognised": []map[string]any{{"category": "personnel", "amount_cents": 800_000, "reason": "timesheets for May missing"}}}).JSON(t, &st)
	if st.Settlement == nil || st.Settlement.GrantCents != 610_000 || st.Settlement.RepaymentCents != 30_000 || st.Status != "active" {
		t.Fatalf("settlement = %+v (%s), want grant 610000, 30000 owed back", st.Settlement, st.Status)
	}
	var got struct {
		Reports []struct {
			Recognised int64 `json:"recognised_costs_cents"`
		} `json:"reports"`
	}
	app.Must(t, 200, "GET", "/api/v1/applications/"+st.ID, w.applicant, nil).JSON(t, &got)
	if n := len(got.Reports); n == 0 || got.Reports[n-1].Recognised != 1_220_000 {
		t.Fatalf("reports = %+v, want the final one recognised at 1220000", got.Reports)
	}
	app.Must(t, http.StatusCreated, "POST", "/api/v1/applications/"+st.ID+"/repayments", w.finance1,
		map[string]any{"amount_cents": 30_000, "bank_reference": "KP-1"})
	if st = w.state(t, st.ID); st.Status != "closed" {
		t.Fatalf("after the repayment: %s, want closed", st.Status)
	}
	if l := w.ledger(t); l.PaidCents != 610_000 || l.ReservedCents != 0 {
		t.Fatalf("ledger = %+v, want the final grant 610000 paid, nothing reserved", l)
	}
	app.BooksExact(t)
	record(t, app, st.ID, "cost_plan")
}
