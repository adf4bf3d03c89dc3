package workflows

import (
	"time"

	"reallabor/models"
)

// View is the state as viewer may see it: reviewers see only their own vote
// until the round is decided; applicants and finance never see individual
// votes or conflicts; admins see everything.
func View(s models.ApplicationState, viewer models.Actor) models.ApplicationState {
	if viewer.Role == models.RoleApplicant && s.Proposal.Group.Registered() {
		if m, _, ok := s.Proposal.Group.Member(viewer.OrganisationID); !ok || !m.Counts() {
			return inviteeView(s)
		}
	}
	out := s
	out.Next = NextFor(s, viewer)
	out.Votes = nil
	out.Conflicts = nil
	switch viewer.Role {
	case models.RoleAdmin:
		out.Votes = append([]models.Vote{}, s.Votes...)
		out.Conflicts = append([]models.Conflict{}, s.Conflicts...)
	case models.RoleReviewer:
		for _, v := range s.Votes {
			decided := s.Decision != nil && s.Decision.Round >= v.Round
			if decided || v.ReviewerID == viewer.UserID {
				out.Votes = append(out.Votes, v)
			}
		}
	}
	if out.Votes == nil {
		out.Votes = []models.Vote{}
	}
	if viewer.Role == models.RoleFinance {
		out.Proposal.Summary = ""
	}
	return out
}

// NextSteps says what is expected next, from whom, by when.
func NextSteps(s models.ApplicationState) []models.Next {
	d := s.Deadlines
	var out []models.Next
	add := func(action string, from models.Role, by *time.Time) {
		out = append(out, models.Next{Action: action, From: from, By: by})
	}
	switch s.Status {
	case models.StatusInReview:
		add("review", models.RoleReviewer, d.Review)
		if s.Reminders.ReviewEscalated {
			add("extend_review_deadline", models.RoleAdmin, nil)
		}
	case models.StatusRevisionRequested:
		add("submit_revision", models.RoleApplicant, d.Revision)
	case models.StatusApproved:
		add("accept_agreement", models.RoleApplicant, d.Acceptance)
	case models.StatusWaitlisted:
		add("wait_for_budget", models.RoleAdmin, nil)
	case models.StatusActive:
		for _, t := range s.Tranches {
			switch t.Status {
			case models.TrancheDue:
				add("approve_disbursement", models.RoleFinance, nil)
			case models.TrancheApproved, models.TrancheExported:
				add("confirm_payment", models.RoleFinance, nil)
			}
		}
		for _, r := range s.Reports {
			if r.Status == models.ReportSubmitted {
				add("assess_"+string(r.Kind)+"_report", models.RoleReviewer, nil)
			}
		}
		if s.Rules.PaymentMode == models.PaymentModeDrawdown && s.Settlement == nil {
			add("request_drawdown", models.RoleApplicant, nil)
		}
		if d.InterimReport != nil && !reportIn(s, models.ReportInterim) {
			add("submit_interim_report", models.RoleApplicant, d.InterimReport)
		} else if d.FinalReport != nil && !reportIn(s, models.ReportFinal) && s.Settlement == nil && finalReportOpen(s) {
			add("submit_final_report", models.RoleApplicant, d.FinalReport)
		}
	}
	for _, am := range s.Amendments {
		if am.Status == models.AmendmentPending {
			add("decide_amendment", models.RoleAdmin, nil)
		}
	}
	if dm := s.Demand; dm.Owes() {
		due := dm.DueAt
		add("repay", models.RoleApplicant, &due)
		add("record_repayment", models.RoleFinance, nil)
	}
	if out == nil {
		out = []models.Next{}
	}
	return out
}

func reportIn(s models.ApplicationState, kind models.ReportKind) bool {
	for _, r := range s.Reports {
		if r.Kind == kind && (r.Status == models.ReportSubmitted || r.Status == models.ReportAccepted) {
			return true
		}
	}
	return false
}

// finalReportOpen says, as the report validator does, whether the final
// report may be submitted: where the plan pays a tranche on the interim
// report, only once the interim report is accepted.
func finalReportOpen(s models.ApplicationState) bool {
	for _, p := range s.Rules.TranchePlan {
		if p.Trigger == models.TriggerInterimReport {
			var last models.ReportStatus
			for _, r := range s.Reports {
				if r.Kind == models.ReportInterim {
					last = r.Status
				}
			}
			return last == models.ReportAccepted
		}
	}
	return true
}

// NextFor is what is expected next as the viewer reads it: its own steps
// first and marked, then what others are to do, each by when. It also lists
// a final report that fell overdue while the interim one is still out (the
// recorded list, NextSteps, names only the interim one; it stays as it was
// written, so earlier histories recompute alike).
func NextFor(s models.ApplicationState, viewer models.Actor) []models.Next {
	steps := append([]models.Next{}, NextSteps(s)...)
	d := s.Deadlines
	if s.Status == models.StatusActive && d.InterimReport != nil && !reportIn(s, models.ReportInterim) &&
		d.FinalReport != nil && !reportIn(s, models.ReportFinal) && s.Settlement == nil && s.Reminders.FinalOverdue {
		steps = append(steps, models.Next{Action: "submit_final_report", From: models.RoleApplicant, By: d.FinalReport})
	}
	var mine, others []models.Next
	for _, n := range steps {
		if n.From == viewer.Role && viewer.Role != "" {
			n.Yours = true
			mine = append(mine, n)
		} else {
			others = append(others, n)
		}
	}
	return append(append([]models.Next{}, mine...), others...)
}
