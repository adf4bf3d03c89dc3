package models

import (
	"testing"
)

func TestEligibleCostsByCategoryAndCap(t *testing.T) {
	r := DefaultRules()
	r.CostCategories = []string{CostPersonnel, CostMaterial, CostExternalServices}
	r.CostShareCaps = []CategoryCap{{Category: CostExternalServices, MaxPercent: 30}}
	plan := []CostLine{
		{Category: CostPersonnel, Description: "Projektleitung", AmountCents: 40_000_00},
		{Category: CostMaterial, AmountCents: 10_000_00},
		{Category: CostExternalServices, Description: "Web shop", AmountCents: 40_000_00},
		{Category: CostTravel, AmountCents: 10_000_00}, // not funded
	}
	// Total 100,000.00; external services capped at 30 % = 30,000.00;
	// travel not counted: 40,000 + 10,000 + 30,000 = 80,000.00 EUR.
	if got := EligibleCosts(r, plan); got != 80_000_00 {
		t.Fatalf("eligible = %d, want 8000000", got)
	}
	p := Proposal{RequestedCents: 40_000_01, TotalCostCents: 100_000_00, CostPlan: plan}
	var errs fieldErrors
	checkCostPlan(r, p, &errs)
	if len(errs) != 1 || errs[0].Field != "requested_cents" {
		t.Fatalf("a request above 50 %% of the eligible costs: %+v", errs)
	}
	p.RequestedCents = 40_000_00
	errs = nil
	checkCostPlan(r, p, &errs)
	if len(errs) != 0 {
		t.Fatalf("a request at 50 %% of the eligible costs: %+v", errs)
	}
	p.TotalCostCents = 99_999_99
	errs = nil
	checkCostPlan(r, p, &errs)
	if len(errs) != 1 || errs[0].Field != "cost_plan" {
		t.Fatalf("a plan that does not add up: %+v", errs)
	}
	// Recognised: 5,000.00 of personnel not recognised; caps on the new total.
	actual := []CostLine{{Category: CostPersonnel, AmountCents: 40_000_00}, {Category: CostExternalServices, AmountCents: 20_000_00},
		{Category: CostPersonnel, AmountCents: 1_000_00}}
	got := Recognised(r, actual, []RecognisedCost{{Category: CostPersonnel, AmountCents: 36_000_00, Reason: "no timesheets for May"}})
	// personnel 36,000 + external min(20,000, 30 % of 56,000 = 16,800) = 52,800.00
	if got != 52_800_00 {
		t.Fatalf("recognised eligible = %d, want 5280000", got)
	}
	if errs := (Rules{CostCategories: []string{"snacks"}, CostShareCaps: []CategoryCap{{Category: CostTravel, MaxPercent: 0}}}).Validate(); !hasField(errs, "cost_categories[0]") || !hasField(errs, "cost_share_caps[0].max_percent") {
		t.Fatalf("rules with a bad category and cap: %+v", errs)
	}
}

func hasField(errs []FieldError, f string) bool {
	for _, e := range errs {
		if e.Field == f {
			return true
		}
	}
	return false
}

func TestDrawdownRules(t *testing.T) {
	r := DefaultRules()
	r.BudgetCents = 1_000_000_00
	r.PaymentMode = PaymentModeDrawdown
	if errs := r.Validate(); !hasField(errs, "tranche_plan") {
		t.Fatalf("drawdown with the default 40/40/20 plan: %+v", errs)
	}
	r.TranchePlan = []TranchePlanItem{{Percent: 100, Trigger: TriggerFinalReport}}
	r.RetainedPercent = 20
	if errs := r.Validate(); len(errs) != 0 {
		t.Fatalf("drawdown with one final tranche: %+v", errs)
	}
	if got := r.DrawdownLimit(1_000_01); got != 800_00 {
		t.Fatalf("limit of 1,000.01 with 20 %% retained = %d, want 80000 (in the fund's favour)", got)
	}
	r.PaymentMode = "barter"
	if errs := r.Validate(); !hasField(errs, "payment_mode") {
		t.Fatalf("unknown payment mode: %+v", errs)
	}
}
