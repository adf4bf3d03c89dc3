package workflows

import (
	"strings"

	"go.temporal.io/sdk/workflow"

	"reallabor/models"
)

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
		ActualCostsCents: in.ActualCostsCents, SubmittedBy: in.Actor.UserID, SubmittedAt: a.now(ctx),
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
		return a.settle(ctx, in.Actor, r)
	}
	r.Status = models.ReportAccepted
	a.s.Deadlines.InterimReport = nil
	a.trigger(now, models.TriggerInterimReport)
	return a.emit(ctx, "interim_report_accepted", "", in.Actor, r.ID)
}

// settle recomputes the grant from the accepted actual costs: the retained
// final tranche is reduced (or a repayment demanded) and the part of the
// reservation that will never be paid goes back to the fund.
func (a *application) settle(ctx workflow.Context, actor models.Actor, r *models.Report) error {
	s := models.Settle(a.s.GrantedCents, a.s.PaidCents, r.ActualCostsCents, a.s.Rules.FundingRatePercent)
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
