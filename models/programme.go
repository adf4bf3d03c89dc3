package models

import "time"

// Criterion is one scored aspect of a proposal, weighted in the mean.
type Criterion struct {
	Name   string `json:"name"`
	Weight int    `json:"weight"`
}

// Rules are what a programme carries, fixed into each application when it is
// submitted so later changes to the programme never alter a running one.
type Rules struct {
	Currency              string `json:"currency"`
	BudgetCents           int64  `json:"budget_cents"`
	MaxGrantCents         int64  `json:"max_grant_cents"`
	FundingRatePercent    int    `json:"funding_rate_percent"`
	DeMinimisCeilingCents int64  `json:"de_minimis_ceiling_cents"`

	ReviewersRequired int         `json:"reviewers_required"`
	Criteria          []Criterion `json:"criteria"`
	ScoreMin          int         `json:"score_min"`
	ScoreMax          int         `json:"score_max"`
	// ApprovalThresholdMilli is the minimum weighted mean score, in
	// thousandths of a point (3500 = 3.5), so the rule stays integer.
	ApprovalThresholdMilli int `json:"approval_threshold_milli"`
	MaxRevisionRounds      int `json:"max_revision_rounds"`
	// MaxOpenPerApplicant caps the applications one applicant may have open
	// (not yet ended) in the programme at once; 0: no cap.
	MaxOpenPerApplicant int `json:"max_open_per_applicant,omitempty"`

	ReviewDeadline     time.Duration `json:"review_deadline"`
	ReviewReminder     time.Duration `json:"review_reminder"` // before the deadline
	RevisionDeadline   time.Duration `json:"revision_deadline"`
	AcceptanceDeadline time.Duration `json:"acceptance_deadline"`
	AcceptanceReminder time.Duration `json:"acceptance_reminder"`
	InterimReportAfter time.Duration `json:"interim_report_after"` // after activation
	FinalReportAfter   time.Duration `json:"final_report_after"`   // after the project's end date
	ReportReminder     time.Duration `json:"report_reminder"`      // before a report's due date
	// WaitlistCheck is how often a waitlisted application asks the ledger
	// itself (zero: daily). Not set through the API.
	WaitlistCheck time.Duration `json:"waitlist_check,omitempty"`
	// RepaymentDue is how long a group has to pay back money demanded
	// (zero: DefaultRepaymentDue); RepaymentInterestBasisPoints the yearly
	// interest on what is overdue (627 = 6.27 %, e.g. five points above the
	// base rate; zero: none). The reminder comes ReportReminder before.
	RepaymentDue                 time.Duration `json:"repayment_due,omitempty"`
	RepaymentInterestBasisPoints int           `json:"repayment_interest_basis_points,omitempty"`

	// TranchePlan is the percentage of the grant paid at each trigger; the
	// percentages add up to 100.
	TranchePlan []TranchePlanItem `json:"tranche_plan"`
	// CostCategories are the cost categories the programme funds (none
	// named: all); CostShareCaps cap a category's share of a cost plan.
	CostCategories []string      `json:"cost_categories,omitempty"`
	CostShareCaps  []CategoryCap `json:"cost_share_caps,omitempty"`
	// PaymentMode is "tranches" (the plan's fixed tranches; the default) or
	// "drawdown" (the group requests money with its costs incurred; the
	// plan is then one final tranche the requests are carved out of, and
	// RetainedPercent of the grant is kept until the settlement).
	PaymentMode     string `json:"payment_mode,omitempty"`
	RetainedPercent int    `json:"retained_percent,omitempty"`
}

// PaymentModeDrawdown pays on request (Mittelabruf).
const PaymentModeDrawdown = "drawdown"

// DrawdownLimit is the most a drawdown programme pays out before the
// settlement: the grant less the retained share (rounded in the fund's
// favour).
func (r Rules) DrawdownLimit(grant int64) int64 {
	return mulDivFloor(grant, int64(100-r.RetainedPercent), 100)
}

// TranchePlanItem is one planned tranche.
type TranchePlanItem struct {
	Percent int            `json:"percent"`
	Trigger TrancheTrigger `json:"trigger"`
}

// DeMinimisCeilingCents is EUR 300,000 over three years (Regulation (EU) 2023/2831).
const DeMinimisCeilingCents int64 = 300_000_00

// DefaultRules returns the rules a programme gets where it says nothing.
func DefaultRules() Rules {
	day := 24 * time.Hour
	return Rules{
		Currency:              "EUR",
		MaxGrantCents:         50_000_00,
		FundingRatePercent:    50,
		DeMinimisCeilingCents: DeMinimisCeilingCents,
		ReviewersRequired:     3,
		Criteria: []Criterion{
			{Name: "impact", Weight: 2},
			{Name: "feasibility", Weight: 1},
			{Name: "partnership", Weight: 1},
		},
		ScoreMin:               0,
		ScoreMax:               5,
		ApprovalThresholdMilli: 3000,
		MaxRevisionRounds:      2,
		ReviewDeadline:         21 * day,
		ReviewReminder:         3 * day,
		RevisionDeadline:       14 * day,
		AcceptanceDeadline:     30 * day,
		AcceptanceReminder:     7 * day,
		InterimReportAfter:     180 * day,
		FinalReportAfter:       60 * day,
		ReportReminder:         7 * day,
		TranchePlan: []TranchePlanItem{
			{Percent: 40, Trigger: TriggerAcceptance},
			{Percent: 40, Trigger: TriggerInterimReport},
			{Percent: 20, Trigger: TriggerFinalReport},
		},
	}
}
