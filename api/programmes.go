package api

import (
	"context"
	"errors"

	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"reallabor/internal/store"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"reallabor/models"
)

type criterionDTO struct {
	Name   string `json:"name" validate:"required,max=100"`
	Weight int    `json:"weight" validate:"min=1,max=100"`
}

type trancheDTO struct {
	Percent int    `json:"percent" validate:"min=1,max=100"`
	Trigger string `json:"trigger" validate:"required,oneof=acceptance interim_report_accepted final_report_accepted"`
}

// createProgrammeRequest carries the rules; what is left out gets defaults.
type createProgrammeRequest struct {
	Name        string `json:"name" validate:"required,max=200"`
	BudgetCents int64  `json:"budget_cents" validate:"required,gt=0,max=100000000000000"`
	ruleChanges
	DebtorName string `json:"debtor_name" validate:"max=70"`
	DebtorIBAN string `json:"debtor_iban" validate:"max=42"`
	DebtorBIC  string `json:"debtor_bic" validate:"max=11"`
}

// ruleChanges are the rules a request sets; what it leaves out stays (the
// defaults for a new programme, the current rules for an edit).
type ruleChanges struct {
	MaxGrantCents          *int64         `json:"max_grant_cents" validate:"omitempty,gt=0"`
	FundingRatePercent     *int           `json:"funding_rate_percent" validate:"omitempty,min=1,max=100"`
	ReviewersRequired      *int           `json:"reviewers_required" validate:"omitempty,min=1,max=50"`
	DeMinimisCeilingCents  *int64         `json:"de_minimis_ceiling_cents" validate:"omitempty,gt=0"`
	Criteria               []criterionDTO `json:"criteria" validate:"omitempty,max=20,dive"`
	ApprovalThresholdMilli *int           `json:"approval_threshold_milli" validate:"omitempty,min=0"`
	MaxRevisionRounds      *int           `json:"max_revision_rounds" validate:"omitempty,min=0,max=10"`
	MaxOpenPerApplicant    *int           `json:"max_open_applications_per_applicant" validate:"omitempty,min=1,max=1000"`
	ReviewDeadlineDays     *int           `json:"review_deadline_days" validate:"omitempty,min=1,max=365"`
	RevisionDeadlineDays   *int           `json:"revision_deadline_days" validate:"omitempty,min=1,max=365"`
	AcceptanceDeadlineDays *int           `json:"acceptance_deadline_days" validate:"omitempty,min=1,max=365"`
	InterimReportAfterDays *int           `json:"interim_report_after_days" validate:"omitempty,min=1,max=1825"`
	FinalReportAfterDays   *int           `json:"final_report_after_days" validate:"omitempty,min=1,max=365"`
	ReminderDays           *int           `json:"reminder_days" validate:"omitempty,min=1,max=60"`
	TranchePlan            []trancheDTO   `json:"tranche_plan" validate:"omitempty,max=10,dive"`
	RepaymentDueDays       *int           `json:"repayment_due_days" validate:"omitempty,min=1,max=365"`
	RepaymentInterestBP    *int           `json:"repayment_interest_basis_points" validate:"omitempty,min=0,max=2000"`
	CostCategories         []string       `json:"cost_categories" validate:"omitempty,max=5,dive,oneof=personnel material external_services travel other"`
	CostShareCaps          []capDTO       `json:"cost_share_caps" validate:"omitempty,max=5,dive"`
	PaymentMode            *string        `json:"payment_mode" validate:"omitempty,oneof=tranches drawdown"`
	RetainedPercent        *int           `json:"retained_percent" validate:"omitempty,min=0,max=50"`
}

type capDTO struct {
	Category   string `json:"category" validate:"required,oneof=personnel material external_services travel other"`
	MaxPercent int    `json:"max_percent" validate:"min=1,max=100"`
}

// programmeRules are the rules a programme stores.
func programmeRules(p models.Programme) (models.Rules, error) {
	var rules models.Rules
	if err := json.Unmarshal([]byte(p.RulesJSON), &rules); err != nil {
		return rules, fmt.Errorf("programme %s rules: %w", p.ID, err)
	}
	return rules, nil
}

// over is rules with the changes made, the budget kept the programme's
// (set through the ledger, never by a rule change).
func (r ruleChanges) over(rules models.Rules, p models.Programme) models.Rules {
	out := r.applyTo(rules)
	out.BudgetCents = p.BudgetCents
	return out
}

func days(n int) time.Duration { return time.Duration(n) * 24 * time.Hour }

// paymentMode is how the programme pays ("tranches" where it says nothing).
func paymentMode(r models.Rules) string {
	if r.PaymentMode == "" {
		return "tranches"
	}
	return r.PaymentMode
}

// repaymentDue is the time a group has to pay back (the default where the
// rules say nothing).
func repaymentDue(r models.Rules) time.Duration {
	if r.RepaymentDue > 0 {
		return r.RepaymentDue
	}
	return models.DefaultRepaymentDue
}

// rules turns the request into programme rules over the defaults.
func (r createProgrammeRequest) rules() models.Rules {
	out := models.DefaultRules()
	out.BudgetCents = r.BudgetCents
	out = r.applyTo(out)
	if out.MaxGrantCents > out.BudgetCents && r.MaxGrantCents == nil {
		out.MaxGrantCents = out.BudgetCents
	}
	return out
}

// applyTo sets the changed rules on out.
func (r ruleChanges) applyTo(out models.Rules) models.Rules {
	if r.MaxGrantCents != nil {
		out.MaxGrantCents = *r.MaxGrantCents
	}
	if r.MaxOpenPerApplicant != nil {
		out.MaxOpenPerApplicant = *r.MaxOpenPerApplicant
	}
	setInt := func(dst *int, v *int) {
		if v != nil {
			*dst = *v
		}
	}
	setInt(&out.FundingRatePercent, r.FundingRatePercent)
	setInt(&out.ReviewersRequired, r.ReviewersRequired)
	setInt(&out.ApprovalThresholdMilli, r.ApprovalThresholdMilli)
	setInt(&out.MaxRevisionRounds, r.MaxRevisionRounds)
	if r.DeMinimisCeilingCents != nil {
		out.DeMinimisCeilingCents = *r.DeMinimisCeilingCents
	}
	if len(r.Criteria) > 0 {
		out.Criteria = nil
		for _, c := range r.Criteria {
			out.Criteria = append(out.Criteria, models.Criterion{Name: c.Name, Weight: c.Weight})
		}
	}
	setDays := func(dst *time.Duration, v *int) {
		if v != nil {
			*dst = days(*v)
		}
	}
	setDays(&out.ReviewDeadline, r.ReviewDeadlineDays)
	setDays(&out.RevisionDeadline, r.RevisionDeadlineDays)
	setDays(&out.AcceptanceDeadline, r.AcceptanceDeadlineDays)
	setDays(&out.InterimReportAfter, r.InterimReportAfterDays)
	setDays(&out.FinalReportAfter, r.FinalReportAfterDays)
	setDays(&out.RepaymentDue, r.RepaymentDueDays)
	setInt(&out.RepaymentInterestBasisPoints, r.RepaymentInterestBP)
	if len(r.CostCategories) > 0 {
		out.CostCategories = append([]string{}, r.CostCategories...)
	}
	if r.PaymentMode != nil {
		out.PaymentMode = *r.PaymentMode
		if out.PaymentMode == models.PaymentModeDrawdown {
			// Paid on request: one final tranche the requests are carved
			// out of, a fifth retained unless the request says otherwise.
			if len(r.TranchePlan) == 0 {
				out.TranchePlan = []models.TranchePlanItem{{Percent: 100, Trigger: models.TriggerFinalReport}}
			}
			if r.RetainedPercent == nil && out.RetainedPercent == 0 {
				out.RetainedPercent = 20
			}
		}
	}
	setInt(&out.RetainedPercent, r.RetainedPercent)
	if len(r.CostShareCaps) > 0 {
		out.CostShareCaps = nil
		for _, c := range r.CostShareCaps {
			out.CostShareCaps = append(out.CostShareCaps, models.CategoryCap{Category: c.Category, MaxPercent: c.MaxPercent})
		}
	}
	if r.ReminderDays != nil {
		d := days(*r.ReminderDays)
		out.ReviewReminder, out.AcceptanceReminder, out.ReportReminder = d, d, d
	}
	if len(r.TranchePlan) > 0 {
		out.TranchePlan = nil
		for _, t := range r.TranchePlan {
			out.TranchePlan = append(out.TranchePlan, models.TranchePlanItem{Percent: t.Percent, Trigger: models.TrancheTrigger(t.Trigger)})
		}
	}
	return out
}

// RulesView is how the API shows programme rules: durations in whole days,
// as they are set.
type RulesView struct {
	Currency               string                   `json:"currency"`
	BudgetCents            int64                    `json:"budget_cents"`
	MaxGrantCents          int64                    `json:"max_grant_cents"`
	FundingRatePercent     int                      `json:"funding_rate_percent"`
	DeMinimisCeilingCents  int64                    `json:"de_minimis_ceiling_cents"`
	ReviewersRequired      int                      `json:"reviewers_required"`
	Criteria               []models.Criterion       `json:"criteria"`
	ScoreMin               int                      `json:"score_min"`
	ScoreMax               int                      `json:"score_max"`
	ApprovalThresholdMilli int                      `json:"approval_threshold_milli"`
	MaxRevisionRounds      int                      `json:"max_revision_rounds"`
	ReviewDeadlineDays     int                      `json:"review_deadline_days"`
	ReviewReminderDays     int                      `json:"review_reminder_days"`
	RevisionDeadlineDays   int                      `json:"revision_deadline_days"`
	AcceptanceDeadlineDays int                      `json:"acceptance_deadline_days"`
	AcceptanceReminderDays int                      `json:"acceptance_reminder_days"`
	InterimReportAfterDays int                      `json:"interim_report_after_days"`
	FinalReportAfterDays   int                      `json:"final_report_after_days"`
	ReportReminderDays     int                      `json:"report_reminder_days"`
	TranchePlan            []models.TranchePlanItem `json:"tranche_plan"`
	MaxOpenPerApplicant    int                      `json:"max_open_applications_per_applicant,omitempty"`
	RepaymentDueDays       int                      `json:"repayment_due_days"`
	// RepaymentInterestBasisPoints is the yearly interest on repayments
	// overdue (627 = 6.27 %); 0: none.
	RepaymentInterestBasisPoints int `json:"repayment_interest_basis_points"`
	// CostCategories the programme funds (absent: all); CostShareCaps cap a
	// category's share of a cost plan.
	CostCategories []string             `json:"cost_categories,omitempty"`
	CostShareCaps  []models.CategoryCap `json:"cost_share_caps,omitempty"`
	// PaymentMode: tranches, or drawdown (paid on request, RetainedPercent
	// kept until the settlement).
	PaymentMode     string `json:"payment_mode"`
	RetainedPercent int    `json:"retained_percent,omitempty"`
}

func toRulesView(r models.Rules) RulesView {
	d := func(v time.Duration) int { return int(v / (24 * time.Hour)) }
	return RulesView{Currency: r.Currency, BudgetCents: r.BudgetCents, MaxGrantCents: r.MaxGrantCents,
		FundingRatePercent: r.FundingRatePercent, DeMinimisCeilingCents: r.DeMinimisCeilingCents,
		ReviewersRequired: r.ReviewersRequired, Criteria: r.Criteria, ScoreMin: r.ScoreMin, ScoreMax: r.ScoreMax,
		ApprovalThresholdMilli: r.ApprovalThresholdMilli, MaxRevisionRounds: r.MaxRevisionRounds,
		ReviewDeadlineDays: d(r.ReviewDeadline), ReviewReminderDays: d(r.ReviewReminder),
		RevisionDeadlineDays: d(r.RevisionDeadline), AcceptanceDeadlineDays: d(r.AcceptanceDeadline),
		AcceptanceReminderDays: d(r.AcceptanceReminder), InterimReportAfterDays: d(r.InterimReportAfter),
		FinalReportAfterDays: d(r.FinalReportAfter), ReportReminderDays: d(r.ReportReminder), TranchePlan: r.TranchePlan,
		MaxOpenPerApplicant: r.MaxOpenPerApplicant, RepaymentDueDays: d(repaymentDue(r)),
		RepaymentInterestBasisPoints: r.RepaymentInterestBasisPoints, CostCategories: r.CostCategories, CostShareCaps: r.CostShareCaps,
		PaymentMode: paymentMode(r), RetainedPercent: r.RetainedPercent}
}

// ProgrammeResponse is a programme with its rules and ledger.
type ProgrammeResponse struct {
	ID       string    `json:"id"`
	Name     string    `json:"name"`
	Status   string    `json:"status"`
	Currency string    `json:"currency"`
	Rules    RulesView `json:"rules"`
	// Ledger is shown to admins and finance only.
	Ledger    *Ledger   `json:"ledger,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

// Ledger is a programme's budget, to the cent.
type Ledger struct {
	ProgrammeID    string `json:"programme_id"`
	Currency       string `json:"currency"`
	BudgetCents    int64  `json:"budget_cents"`
	ReservedCents  int64  `json:"reserved_cents"`
	PaidCents      int64  `json:"paid_cents"`
	ReleasedCents  int64  `json:"released_cents"`
	AvailableCents int64  `json:"available_cents"`
}

func toLedger(p models.Programme) Ledger {
	return Ledger{ProgrammeID: p.ID, Currency: p.Currency, BudgetCents: p.BudgetCents, ReservedCents: p.ReservedCents,
		PaidCents: p.PaidCents, ReleasedCents: p.ReleasedCents, AvailableCents: p.AvailableCents()}
}

func toProgrammeResponse(p models.Programme) ProgrammeResponse {
	var rules models.Rules
	_ = json.Unmarshal([]byte(p.RulesJSON), &rules)
	l := toLedger(p)
	return ProgrammeResponse{ID: p.ID, Name: p.Name, Status: p.Status, Currency: p.Currency, Rules: toRulesView(rules),
		Ledger: &l, CreatedAt: p.CreatedAt.UTC()}
}

func (s *Server) createProgramme(c echo.Context) error {
	var req createProgrammeRequest
	if err := bind(c, &req, true); err != nil {
		return err
	}
	rules := req.rules()
	fields := rules.Validate()
	if req.DebtorIBAN != "" && !models.ValidIBAN(req.DebtorIBAN) {
		fields = append(fields, models.FieldError{Field: "debtor_iban", Message: "is not a valid IBAN"})
	}
	if len(fields) > 0 {
		return invalidFields(fields...)
	}
	p, err := NewProgramme(c.Request().Context(), s.cfg.Store, keyedID(c, "programme"), strings.TrimSpace(req.Name), rules,
		models.Payee{Name: req.DebtorName, IBAN: req.DebtorIBAN, BIC: req.DebtorBIC}, s.cfg.Now())
	if err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderLocation, "/api/v1/programmes/"+p.ID)
	return c.JSON(http.StatusCreated, toProgrammeResponse(p))
}

// NewProgramme stores a programme with validated rules, paying from the
// debtor account (its name defaults to the programme's); the API and the
// dev seed both create programmes through it. id is "" for a new id, or one
// derived from an Idempotency-Key: a request whose first attempt died after
// the programme was stored finds it rather than making a second.
func NewProgramme(ctx context.Context, st *store.Store, id, name string, rules models.Rules, debtor models.Payee, now time.Time) (models.Programme, error) {
	raw, _ := json.Marshal(rules)
	if id == "" {
		v7, _ := uuid.NewV7()
		id = v7.String()
	} else if old, err := st.Programme(ctx, id); err == nil {
		return old, nil
	} else if !errors.Is(err, models.ErrNotFound) {
		return old, err
	}
	if debtor.Name == "" {
		debtor.Name = name
	}
	p := models.Programme{ID: id, Name: name, Currency: rules.Currency, RulesJSON: string(raw),
		BudgetCents: rules.BudgetCents, DebtorName: debtor.Name, DebtorIBAN: models.NormaliseIBAN(debtor.IBAN),
		DebtorBIC: strings.ToUpper(strings.TrimSpace(debtor.BIC)), Status: "open", CreatedAt: now.UTC()}
	return p, st.CreateProgramme(ctx, &p)
}

func (s *Server) listProgrammes(c echo.Context) error {
	ps, err := s.cfg.Store.Programmes(c.Request().Context())
	if err != nil {
		return err
	}
	out := make([]ProgrammeResponse, len(ps))
	for i, p := range ps {
		out[i] = toProgrammeResponse(p)
		if !canSeeMoney(userOf(c)) {
			out[i].Ledger = nil
		}
	}
	return c.JSON(http.StatusOK, map[string]any{"items": out})
}

func canSeeMoney(u models.User) bool { return u.Role == RoleAdmin || u.Role == RoleFinance }

func (s *Server) getProgramme(c echo.Context) error {
	p, err := s.cfg.Store.Programme(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	out := toProgrammeResponse(p)
	if !canSeeMoney(userOf(c)) {
		out.Ledger = nil
	}
	return c.JSON(http.StatusOK, out)
}

func (s *Server) getLedger(c echo.Context) error {
	p, err := s.cfg.Store.Ledger(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toLedger(p))
}

type budgetRequest struct {
	ChangeCents int64  `json:"change_cents" validate:"required,min=-100000000000000,max=100000000000000"`
	Reason      string `json:"reason" validate:"required,max=2000" text:"multiline"`
}

// changeBudget tops the programme's budget up or cuts it (admin), never
// below what is reserved + paid; a journal entry with actor and reason.
// Money added promotes waitlisted applications. A retry under the same
// Idempotency-Key applies once (without one, each request is a change).
func (s *Server) changeBudget(c echo.Context) error {
	var req budgetRequest
	if err := bind(c, &req, true); err != nil {
		return err
	}
	if strings.TrimSpace(req.Reason) == "" {
		return invalidFields(models.FieldError{Field: "reason", Message: "is required"})
	}
	key := keyedID(c, "budget")
	if key == "" {
		key = newID()
	}
	ctx := c.Request().Context()
	p, promoted, _, err := s.cfg.Store.ChangeBudget(ctx, c.Param("id"), key, req.ChangeCents, userOf(c).ID,
		strings.TrimSpace(req.Reason), s.cfg.Now())
	if errors.Is(err, store.ErrBelowCommitted) {
		l, lerr := s.cfg.Store.Ledger(ctx, c.Param("id"))
		if lerr != nil {
			return lerr
		}
		return problem(http.StatusConflict, fmt.Sprintf("the budget would be %d cents, below the %d reserved and paid",
			l.BudgetCents+req.ChangeCents, l.ReservedCents+l.PaidCents))
	}
	if err != nil {
		return err
	}
	s.tellPromoted(ctx, promoted)
	return c.JSON(http.StatusOK, toLedger(p))
}

type editProgrammeRequest struct {
	Name *string `json:"name" validate:"omitempty,max=200"`
	ruleChanges
}

// editProgramme changes a programme's name or rules (admin). New rules
// apply to applications submitted afterwards; running ones keep the rules
// they started with (each workflow carries its own). The budget changes
// through POST /programmes/{id}/budget.
func (s *Server) editProgramme(c echo.Context) error {
	var req editProgrammeRequest
	if err := bind(c, &req, true); err != nil {
		return err
	}
	ctx := c.Request().Context()
	p, err := s.cfg.Store.Programme(ctx, c.Param("id"))
	if err != nil {
		return err
	}
	rules, err := programmeRules(p)
	if err != nil {
		return err
	}
	rules = req.ruleChanges.over(rules, p)
	fields := rules.Validate()
	name := p.Name
	if req.Name != nil {
		if name = strings.TrimSpace(*req.Name); name == "" {
			fields = append(fields, models.FieldError{Field: "name", Message: "must not be blank"})
		}
	}
	if len(fields) > 0 {
		return invalidFields(fields...)
	}
	raw, _ := json.Marshal(rules)
	if err := s.cfg.Store.EditProgramme(ctx, p.ID, name, string(raw)); err != nil {
		return err
	}
	p.Name, p.RulesJSON = name, string(raw)
	return c.JSON(http.StatusOK, toProgrammeResponse(p))
}
