package workflows

import (
	"strconv"
	"strings"

	"go.temporal.io/sdk/workflow"

	"reallabor/models"
)

// versionCostPlan: from version 1 of "cost-plan" on, a final report with
// costs by category is settled on what the assessment recognised of them,
// with the programme's cost categories and caps applied (before, on the
// actual costs' total).
const versionCostPlan = "cost-plan"

func (a *application) report(id string) *models.Report {
	for i := range a.s.Reports {
		if a.s.Reports[i].ID == id {
			return &a.s.Reports[i]
		}
	}
	return nil
}

// reportStatus is the status of the latest report of a kind ("" if none).
func (a *application) reportStatus(kind models.ReportKind) models.ReportStatus {
	var st models.ReportStatus
	for _, r := range a.s.Reports {
		if r.Kind == kind {
			st = r.Status
		}
	}
	return st
}

func (a *application) hasTrigger(tr models.TrancheTrigger) bool {
	for _, p := range a.s.Rules.TranchePlan {
		if p.Trigger == tr {
			return true
		}
	}
	return false
}

func (a *application) validateReport(in ReportInput) error {
	if err := a.requireMember(in.Actor); err != nil {
		return err
	}
	if err := a.requireStatus(models.StatusActive); err != nil {
		return err
	}
	var errs []models.FieldError
	if in.Kind != models.ReportInterim && in.Kind != models.ReportFinal {
		errs = append(errs, models.FieldError{Field: "kind", Message: "must be interim or final"})
	}
	if strings.TrimSpace(in.Narrative) == "" {
		errs = append(errs, models.FieldError{Field: "narrative", Message: "is required"})
	}
	if in.ActualCostsCents < 0 {
		errs = append(errs, models.FieldError{Field: "actual_costs_cents", Message: "must not be negative"})
	}
	if in.ReportID == "" {
		errs = append(errs, models.FieldError{Field: "report_id", Message: "is required"})
	}
	r := a.s.Rules
	if a.costPlan && in.Kind == models.ReportFinal && len(in.Costs) == 0 &&
		(len(a.s.Proposal.CostPlan) > 0 || len(r.CostCategories) > 0 || len(r.CostShareCaps) > 0) {
		errs = append(errs, models.FieldError{Field: "costs", Message: "are required by category: the programme's cost rules apply to the final report"})
	}
	if len(in.Costs) > 0 && models.SumCosts(in.Costs) != in.ActualCostsCents {
		errs = append(errs, models.FieldError{Field: "costs", Message: "add up to " + models.FormatEuro(models.SumCosts(in.Costs)) +
			", not the actual costs of " + models.FormatEuro(in.ActualCostsCents)})
	}
	if len(errs) > 0 {
		return invalid(errs...)
	}
	if a.report(in.ReportID) != nil {
		return conflictf("report %s exists already", in.ReportID)
	}
	switch st := a.reportStatus(in.Kind); st {
	case models.ReportSubmitted:
		return conflictf("the %s report is awaiting assessment", in.Kind)
	case models.ReportAccepted:
		return conflictf("the %s report has been accepted already", in.Kind)
	}
	if in.Kind == models.ReportFinal && a.hasTrigger(models.TriggerInterimReport) && a.reportStatus(models.ReportInterim) != models.ReportAccepted {
		return conflictf("the interim report must be accepted before the final report")
	}
	return nil
}

func (a *application) handleReport(ctx workflow.Context, in ReportInput) error {
	a.s.Reports = append(a.s.Reports, models.Report{
		ID: in.ReportID, Kind: in.Kind, Status: models.ReportSubmitted, Narrative: in.Narrative,
		ActualCostsCents: in.ActualCostsCents, Costs: in.Costs, SubmittedBy: in.Actor.UserID, SubmittedAt: a.now(ctx),
	})
	return a.emit(ctx, string(in.Kind)+"_report_submitted", "", in.Actor, in.ReportID)
}

func (a *application) validateAssess(in AssessInput) error {
	if err := requireRole(in.Actor, models.RoleReviewer, models.RoleAdmin); err != nil {
		return err
	}
	if in.Actor.Role == models.RoleReviewer && a.partOfGroup(in.Actor) {
		return forbiddenf("your organisation %q is part of the applicant group", in.Actor.Organisation)
	}
	if in.Actor.Role == models.RoleReviewer {
		for _, c := range a.s.Conflicts {
			if c.ReviewerID == in.Actor.UserID {
				return forbiddenf("you declared a conflict of interest for this application")
			}
		}
	}
	r := a.report(in.ReportID)
	if r == nil {
		return notFoundf("report %s not found", in.ReportID)
	}
	if err := a.requireStatus(models.StatusActive); err != nil {
		return err
	}
	if r.Status != models.ReportSubmitted {
		return conflictf("report %s is %s", r.ID, r.Status)
	}
	if in.Decision != "accept" && in.Decision != "revise" {
		return invalid(models.FieldError{Field: "decision", Message: "must be accept or revise"})
	}
	if len(in.Recognised) > 0 {
		if errs := recognitionErrors(r, in); len(errs) > 0 {
			return invalid(errs...)
		}
	}
	if in.Decision == "accept" && r.Kind == models.ReportFinal {
		for _, t := range a.s.Tranches {
			if t.Trigger != models.TriggerFinalReport && t.Status != models.TranchePaid && t.Status != models.TrancheCancelled {
				return conflictf("tranche %d is %s: pay it before settling the final report", t.Number, t.Status)
			}
		}
	}
	return nil
}

func (a *application) handleAssess(ctx workflow.Context, in AssessInput) error {
	r := a.report(in.ReportID)
	now := a.now(ctx)
	r.AssessedBy, r.AssessedAt, r.Comment = in.Actor.UserID, at(now), in.Comment
	if in.Decision == "revise" {
		r.Status = models.ReportChangesRequested
		return a.emit(ctx, string(r.Kind)+"_report_changes_requested", "", in.Actor, r.ID)
	}
	if r.Kind == models.ReportFinal {
		return a.settle(ctx, in.Actor, r, in.Recognised)
	}
	r.Status = models.ReportAccepted
	a.s.Deadlines.InterimReport = nil
	a.trigger(now, models.TriggerInterimReport)
	return a.emit(ctx, "interim_report_accepted", "", in.Actor, r.ID)
}

// recognitionErrors says what is wrong with what an assessment recognises:
// only on accepting a final report with costs by category, each category
// once and of the report, at most what was claimed, with a reason where less.
func recognitionErrors(r *models.Report, in AssessInput) []models.FieldError {
	if in.Decision != "accept" || r.Kind != models.ReportFinal || len(r.Costs) == 0 {
		return []models.FieldError{{Field: "recognised", Message: "applies only to accepting a final report with costs by category"}}
	}
	claimed := models.ByCategory(r.Costs)
	var errs []models.FieldError
	seen := map[string]bool{}
	for i, rc := range in.Recognised {
		f := func(sub string) string { return "recognised[" + strconv.Itoa(i) + "]" + sub }
		var c *models.CostLine
		for j := range claimed {
			if claimed[j].Category == rc.Category {
				c = &claimed[j]
			}
		}
		switch {
		case c == nil:
			errs = append(errs, models.FieldError{Field: f(".category"), Message: "names no category of the report's costs"})
			continue
		case seen[rc.Category]:
			errs = append(errs, models.FieldError{Field: f(".category"), Message: "is named twice"})
			continue
		}
		seen[rc.Category] = true
		if rc.AmountCents < 0 || rc.AmountCents > c.AmountCents {
			errs = append(errs, models.FieldError{Field: f(".amount_cents"), Message: "must be between 0 and the " +
				models.FormatEuro(c.AmountCents) + " claimed"})
		} else if rc.AmountCents < c.AmountCents && strings.TrimSpace(rc.Reason) == "" {
			errs = append(errs, models.FieldError{Field: f(".reason"), Message: "is required where less is recognised than claimed"})
		}
	}
	return errs
}

// settle recomputes the grant from the accepted actual costs: the retained
// final tranche is reduced (or a repayment demanded) and the part of the
// reservation that will never be paid goes back to the fund.
func (a *application) settle(ctx workflow.Context, actor models.Actor, r *models.Report, recognised []models.RecognisedCost) error {
	costs := r.ActualCostsCents
	if a.costPlan && len(r.Costs) > 0 {
		// The programme's cost rules apply to what the assessment recognised.
		r.Recognised = recognised
		r.RecognisedCostsCents = models.Recognised(a.s.Rules, r.Costs, recognised)
		costs = r.RecognisedCostsCents
	}
	s := models.Settle(a.s.GrantedCents, a.s.PaidCents, costs, a.s.Rules.FundingRatePercent)
	// Release first (idempotent by key): if it fails, nothing has changed and
	// the assessment can be retried.
	if s.ReleasedCents > 0 {
		if err := a.release(ctx, "settlement", false, s.ReleasedCents); err != nil {
			return err
		}
	}
	r.Status = models.ReportAccepted
	a.s.Settlement = &s
	a.s.RepaymentCents = s.RepaymentCents
	a.s.Deadlines.FinalReport = nil
	a.s.Deadlines.InterimReport = nil
	remaining := s.FinalTrancheCents
	for i := range a.s.Tranches {
		t := &a.s.Tranches[i]
		if t.Trigger == models.TriggerFinalReport && t.Status == models.TrancheScheduled {
			t.AmountCents = remaining
			remaining = 0
		}
	}
	a.trigger(a.now(ctx), models.TriggerFinalReport)
	if err := a.emit(ctx, "final_report_accepted", "", actor, r.ID); err != nil {
		return err
	}
	if err := a.demand(ctx, "settlement", s.RepaymentCents); err != nil {
		return err
	}
	return a.closeIfSettled(ctx)
}
