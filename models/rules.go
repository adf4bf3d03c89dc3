package models

import (
	"fmt"
	"strings"
	"time"
)

// FieldError is one broken rule, named by the JSON path of the field it
// concerns, e.g. "requested_cents", "group.members[1].prior_de_minimis_cents"
// or "scores.impact".
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// ValidationError carries every broken rule of one piece of content. It
// matches ErrInvalid under errors.Is, so the API answers it with 422 and the
// field-by-field list.
type ValidationError struct {
	Errors []FieldError `json:"errors"`
}

// Error lists the broken rules as "invalid: field: message; field: message".
func (e ValidationError) Error() string {
	if len(e.Errors) == 0 {
		return ErrInvalid.Error()
	}
	parts := make([]string, len(e.Errors))
	for i, fe := range e.Errors {
		parts[i] = fe.Field + ": " + fe.Message
	}
	return ErrInvalid.Error() + ": " + strings.Join(parts, "; ")
}

// Is reports whether target is ErrInvalid.
func (e ValidationError) Is(target error) bool {
	return target == ErrInvalid
}

// fieldErrors collects FieldErrors in the order the rules are checked.
type fieldErrors []FieldError

// add appends one FieldError with a formatted message.
func (fe *fieldErrors) add(field, format string, args ...any) {
	*fe = append(*fe, FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
}

// Validate checks that the rules are coherent enough to run a programme on
// and returns every broken rule; nil means valid. Besides the listed rules
// (money, review, deadlines, tranche plan) it requires a positive de-minimis
// ceiling, since a zero ceiling would make every application ineligible.
func (r Rules) Validate() []FieldError {
	var errs fieldErrors
	r.validateMoney(&errs)
	r.validateReview(&errs)
	r.validateDeadlines(&errs)
	r.validateTranchePlan(&errs)
	r.validateCostRules(&errs)
	switch r.PaymentMode {
	case "", "tranches":
	case PaymentModeDrawdown:
		if len(r.TranchePlan) != 1 || r.TranchePlan[0].Trigger != TriggerFinalReport {
			errs.add("tranche_plan", "a drawdown programme has one final tranche the requests are carved out of")
		}
		if r.RetainedPercent < 0 || r.RetainedPercent > 50 {
			errs.add("retained_percent", "must be between 0 and 50")
		}
	default:
		errs.add("payment_mode", "must be tranches or drawdown")
	}
	return errs
}

// validateMoney checks currency, budget, maximum grant, funding rate and the
// de-minimis ceiling.
func (r Rules) validateMoney(errs *fieldErrors) {
	if r.Currency != "EUR" {
		errs.add("currency", `must be "EUR"`)
	}
	if r.BudgetCents <= 0 {
		errs.add("budget_cents", "must be positive")
	}
	switch {
	case r.MaxGrantCents <= 0:
		errs.add("max_grant_cents", "must be positive")
	case r.BudgetCents > 0 && r.MaxGrantCents > r.BudgetCents:
		errs.add("max_grant_cents", "must not exceed budget_cents (%s)", FormatEuro(r.BudgetCents))
	}
	if r.FundingRatePercent < 1 || r.FundingRatePercent > 100 {
		errs.add("funding_rate_percent", "must be between 1 and 100")
	}
	if r.DeMinimisCeilingCents <= 0 {
		errs.add("de_minimis_ceiling_cents", "must be positive")
	}
}

// validateReview checks the review policy: reviewers, criteria, score range,
// approval threshold and revision rounds.
func (r Rules) validateReview(errs *fieldErrors) {
	if r.ReviewersRequired < 1 {
		errs.add("reviewers_required", "must be at least 1")
	}
	validateCriteria(r.Criteria, errs)
	if r.ScoreMin >= r.ScoreMax {
		errs.add("score_max", "must be greater than score_min (%d)", r.ScoreMin)
	} else if lo, hi := r.ScoreMin*1000, r.ScoreMax*1000; r.ApprovalThresholdMilli < lo || r.ApprovalThresholdMilli > hi {
		errs.add("approval_threshold_milli", "must be between %d and %d (score_min and score_max in thousandths)", lo, hi)
	}
	if r.MaxRevisionRounds < 0 {
		errs.add("max_revision_rounds", "must not be negative")
	}
}

// validateCriteria requires at least one criterion, non-empty unique names
// and weights of at least 1.
func validateCriteria(criteria []Criterion, errs *fieldErrors) {
	if len(criteria) == 0 {
		errs.add("criteria", "at least one criterion is required")
	}
	first := map[string]int{}
	for i, c := range criteria {
		switch j, dup := first[c.Name]; {
		case strings.TrimSpace(c.Name) == "":
			errs.add(fmt.Sprintf("criteria[%d].name", i), "is required")
		case dup:
			errs.add(fmt.Sprintf("criteria[%d].name", i), "duplicates criteria[%d].name", j)
		default:
			first[c.Name] = i
		}
		if c.Weight < 1 {
			errs.add(fmt.Sprintf("criteria[%d].weight", i), "must be at least 1")
		}
	}
}

// validateDeadlines requires every duration to be positive and every reminder
// to be shorter than the period it reminds of. The report reminder must be
// shorter than both report periods.
func (r Rules) validateDeadlines(errs *fieldErrors) {
	durations := []struct {
		field string
		d     time.Duration
	}{
		{"review_deadline", r.ReviewDeadline},
		{"review_reminder", r.ReviewReminder},
		{"revision_deadline", r.RevisionDeadline},
		{"acceptance_deadline", r.AcceptanceDeadline},
		{"acceptance_reminder", r.AcceptanceReminder},
		{"interim_report_after", r.InterimReportAfter},
		{"final_report_after", r.FinalReportAfter},
		{"report_reminder", r.ReportReminder},
	}
	for _, d := range durations {
		if d.d <= 0 {
			errs.add(d.field, "must be positive")
		}
	}
	reminders := []struct {
		field, deadlineField string
		reminder, deadline   time.Duration
	}{
		{"review_reminder", "review_deadline", r.ReviewReminder, r.ReviewDeadline},
		{"acceptance_reminder", "acceptance_deadline", r.AcceptanceReminder, r.AcceptanceDeadline},
		{"report_reminder", "interim_report_after", r.ReportReminder, r.InterimReportAfter},
		{"report_reminder", "final_report_after", r.ReportReminder, r.FinalReportAfter},
	}
	for _, m := range reminders {
		if m.reminder > 0 && m.deadline > 0 && m.reminder >= m.deadline {
			errs.add(m.field, "must be shorter than %s (%s)", m.deadlineField, m.deadline)
		}
	}
}

// triggerOrder returns the position of t in a lifecycle and whether t is a
// known trigger.
func triggerOrder(t TrancheTrigger) (int, bool) {
	switch t {
	case TriggerAcceptance:
		return 0, true
	case TriggerInterimReport:
		return 1, true
	case TriggerFinalReport:
		return 2, true
	}
	return 0, false
}

// validateTranchePlan requires a non-empty plan of percentages 1..100 adding
// up to exactly 100, with known triggers in lifecycle order, the last being
// the retained tranche paid on the accepted final report.
func (r Rules) validateTranchePlan(errs *fieldErrors) {
	plan := r.TranchePlan
	if len(plan) == 0 {
		errs.add("tranche_plan", "at least one tranche is required")
		return
	}
	sum, prev, prevIndex := 0, -1, -1
	for i, t := range plan {
		if t.Percent < 1 || t.Percent > 100 {
			errs.add(fmt.Sprintf("tranche_plan[%d].percent", i), "must be between 1 and 100")
		}
		sum += t.Percent
		order, ok := triggerOrder(t.Trigger)
		switch {
		case !ok:
			errs.add(fmt.Sprintf("tranche_plan[%d].trigger", i), "must be one of %s, %s, %s",
				TriggerAcceptance, TriggerInterimReport, TriggerFinalReport)
		case order < prev:
			errs.add(fmt.Sprintf("tranche_plan[%d].trigger", i), "must not come before tranche_plan[%d].trigger (%s)",
				prevIndex, plan[prevIndex].Trigger)
		default:
			prev, prevIndex = order, i
		}
	}
	if sum != 100 {
		errs.add("tranche_plan", "percentages add up to %d, want 100", sum)
	}
	last := len(plan) - 1
	if _, ok := triggerOrder(plan[last].Trigger); ok && plan[last].Trigger != TriggerFinalReport {
		errs.add(fmt.Sprintf("tranche_plan[%d].trigger", last), "the last tranche must be %s (the retained tranche)", TriggerFinalReport)
	}
}
