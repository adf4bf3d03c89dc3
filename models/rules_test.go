package models

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"
)

// validRules are DefaultRules with a budget, valid as they stand.
func validRules() Rules {
	r := DefaultRules()
	r.BudgetCents = 1_000_000_00
	return r
}

// fields returns the Field of each error, in order.
func fields(errs []FieldError) []string {
	out := make([]string, len(errs))
	for i, e := range errs {
		out[i] = e.Field
	}
	return out
}

func TestRulesValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(r *Rules)
		want   []string
	}{
		{"valid", func(r *Rules) {}, nil},
		{"one tranche on the final report", func(r *Rules) {
			r.TranchePlan = []TranchePlanItem{{100, TriggerFinalReport}}
		}, nil},
		{"two tranches on the same trigger", func(r *Rules) {
			r.TranchePlan = []TranchePlanItem{{30, TriggerAcceptance}, {30, TriggerAcceptance}, {40, TriggerFinalReport}}
		}, nil},
		{"threshold at the bounds", func(r *Rules) { r.ApprovalThresholdMilli = 5000 }, nil},
		{"max grant equals budget", func(r *Rules) { r.MaxGrantCents = r.BudgetCents }, nil},
		{"no revision rounds", func(r *Rules) { r.MaxRevisionRounds = 0 }, nil},
		{"currency", func(r *Rules) { r.Currency = "USD" }, []string{"currency"}},
		{"no budget", func(r *Rules) { r.BudgetCents = 0 }, []string{"budget_cents"}},
		{"max grant zero", func(r *Rules) { r.MaxGrantCents = 0 }, []string{"max_grant_cents"}},
		{"max grant above budget", func(r *Rules) { r.MaxGrantCents = r.BudgetCents + 1 }, []string{"max_grant_cents"}},
		{"rate zero", func(r *Rules) { r.FundingRatePercent = 0 }, []string{"funding_rate_percent"}},
		{"rate above 100", func(r *Rules) { r.FundingRatePercent = 101 }, []string{"funding_rate_percent"}},
		{"no de-minimis ceiling", func(r *Rules) { r.DeMinimisCeilingCents = 0 }, []string{"de_minimis_ceiling_cents"}},
		{"no reviewers", func(r *Rules) { r.ReviewersRequired = 0 }, []string{"reviewers_required"}},
		{"no criteria", func(r *Rules) { r.Criteria = nil }, []string{"criteria"}},
		{"criterion without name", func(r *Rules) { r.Criteria[1].Name = " " }, []string{"criteria[1].name"}},
		{"duplicate criterion", func(r *Rules) { r.Criteria[2].Name = "impact" }, []string{"criteria[2].name"}},
		{"weight zero", func(r *Rules) { r.Criteria[0].Weight = 0 }, []string{"criteria[0].weight"}},
		{"empty score range", func(r *Rules) { r.ScoreMin = 5 }, []string{"score_max"}},
		{"threshold above max", func(r *Rules) { r.ApprovalThresholdMilli = 5001 }, []string{"approval_threshold_milli"}},
		{"threshold below min", func(r *Rules) { r.ScoreMin = 1; r.ApprovalThresholdMilli = 999 }, []string{"approval_threshold_milli"}},
		{"negative revision rounds", func(r *Rules) { r.MaxRevisionRounds = -1 }, []string{"max_revision_rounds"}},
		{"zero review deadline", func(r *Rules) { r.ReviewDeadline = 0 }, []string{"review_deadline"}},
		{"negative revision deadline", func(r *Rules) { r.RevisionDeadline = -time.Hour }, []string{"revision_deadline"}},
		{"zero reminder", func(r *Rules) { r.AcceptanceReminder = 0 }, []string{"acceptance_reminder"}},
		{"review reminder as long as the deadline", func(r *Rules) { r.ReviewReminder = r.ReviewDeadline }, []string{"review_reminder"}},
		{"acceptance reminder too long", func(r *Rules) { r.AcceptanceReminder = 31 * 24 * time.Hour }, []string{"acceptance_reminder"}},
		{"report reminder longer than the final report period", func(r *Rules) {
			r.ReportReminder = 90 * 24 * time.Hour
		}, []string{"report_reminder"}},
		{"report reminder longer than both report periods", func(r *Rules) {
			r.ReportReminder = 200 * 24 * time.Hour
		}, []string{"report_reminder", "report_reminder"}},
		{"no tranche plan", func(r *Rules) { r.TranchePlan = nil }, []string{"tranche_plan"}},
		{"percentages below 100", func(r *Rules) { r.TranchePlan[0].Percent = 30 }, []string{"tranche_plan"}},
		{"percent zero", func(r *Rules) {
			r.TranchePlan = []TranchePlanItem{{0, TriggerAcceptance}, {100, TriggerFinalReport}}
		}, []string{"tranche_plan[0].percent"}},
		{"percent above 100", func(r *Rules) {
			r.TranchePlan = []TranchePlanItem{{101, TriggerAcceptance}, {-1, TriggerFinalReport}}
		}, []string{"tranche_plan[0].percent", "tranche_plan[1].percent"}},
		{"unknown trigger", func(r *Rules) { r.TranchePlan[1].Trigger = "drawdown" }, []string{"tranche_plan[1].trigger"}},
		{"triggers out of order", func(r *Rules) {
			r.TranchePlan = []TranchePlanItem{{40, TriggerInterimReport}, {40, TriggerAcceptance}, {20, TriggerFinalReport}}
		}, []string{"tranche_plan[1].trigger"}},
		{"last tranche not retained", func(r *Rules) {
			r.TranchePlan = []TranchePlanItem{{60, TriggerAcceptance}, {40, TriggerInterimReport}}
		}, []string{"tranche_plan[1].trigger"}},
		{"final report tranche before another", func(r *Rules) {
			r.TranchePlan = []TranchePlanItem{{60, TriggerFinalReport}, {40, TriggerInterimReport}}
		}, []string{"tranche_plan[1].trigger", "tranche_plan[1].trigger"}},
		{"zero rules", func(r *Rules) { *r = Rules{} }, []string{
			"currency", "budget_cents", "max_grant_cents", "funding_rate_percent", "de_minimis_ceiling_cents",
			"reviewers_required", "criteria", "score_max",
			"review_deadline", "review_reminder", "revision_deadline", "acceptance_deadline", "acceptance_reminder",
			"interim_report_after", "final_report_after", "report_reminder",
			"tranche_plan",
		}},
	}
	for _, tt := range tests {
		r := validRules()
		tt.change(&r)
		got := r.Validate()
		if !slices.Equal(fields(got), tt.want) {
			t.Errorf("%s: Validate() = %+v, want errors on %v", tt.name, got, tt.want)
		}
	}
}

func TestDefaultRulesNeedOnlyABudget(t *testing.T) {
	got := DefaultRules().Validate()
	if want := []string{"budget_cents"}; !slices.Equal(fields(got), want) {
		t.Errorf("DefaultRules().Validate() = %+v, want errors on %v", got, want)
	}
}

func TestValidationError(t *testing.T) {
	tests := []struct {
		err     error
		wantMsg string
	}{
		{ValidationError{}, "invalid"},
		{ValidationError{Errors: []FieldError{{"requested_cents", "must be positive"}}},
			"invalid: requested_cents: must be positive"},
		{&ValidationError{Errors: []FieldError{{"a", "x"}, {"b", "y"}}}, "invalid: a: x; b: y"},
		{fmt.Errorf("submit: %w", ValidationError{Errors: []FieldError{{"a", "x"}}}), "submit: invalid: a: x"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.wantMsg {
			t.Errorf("%#v.Error() = %q, want %q", tt.err, got, tt.wantMsg)
		}
		if !errors.Is(tt.err, ErrInvalid) {
			t.Errorf("errors.Is(%#v, ErrInvalid) = false, want true", tt.err)
		}
		if errors.Is(tt.err, ErrConflict) {
			t.Errorf("errors.Is(%#v, ErrConflict) = true, want false", tt.err)
		}
		var ve ValidationError
		if _, isPtr := tt.err.(*ValidationError); !isPtr && !errors.As(tt.err, &ve) {
			t.Errorf("errors.As(%#v, *ValidationError) = false, want true", tt.err)
		}
	}
}
