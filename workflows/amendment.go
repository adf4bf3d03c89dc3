package workflows

import (
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/workflow"

	"reallabor/internal/authz"
	"reallabor/models"
)

// Amendments: the group applies to change its plan while the grant runs
// (a later end date, another payee account, costs shifted between lines);
// an admin or an impartial board member approves or refuses; an approved
// amendment changes what the later steps use (the final report's deadline
// moves with the end date, the next tranche goes to the new account, the
// settlement uses the new plan). The handlers run only on the new updates,
// so runs without amendments replay as before.
const (
	UpdateRequestAmendment = "request-amendment"
	UpdateDecideAmendment  = "decide-amendment"
)

// AmendmentInput is the group's request.
type AmendmentInput struct {
	Seal authz.Seal `json:"seal,omitempty"`
	// WrittenSeq is how far the projection is written, as the API read it
	// (workflow version "caller-writes").
	WrittenSeq  int64        `json:"written_seq,omitempty"`
	Actor       models.Actor `json:"actor"`
	AmendmentID string       `json:"amendment_id"`
	Reason      string       `json:"reason"`
	// What is to change (at least one).
	EndDate  *time.Time        `json:"end_date,omitempty"`
	Payee    *models.Payee     `json:"payee,omitempty"`
	CostPlan []models.CostLine `json:"cost_plan,omitempty"`
	// Members is the whole group after the change of partners, each named
	// by its registry entry (the API resolved them).
	Members []models.Member `json:"members,omitempty"`
}

// AmendmentDecisionInput approves or refuses a pending amendment.
type AmendmentDecisionInput struct {
	Seal authz.Seal `json:"seal,omitempty"`
	// WrittenSeq is how far the projection is written, as the API read it
	// (workflow version "caller-writes").
	WrittenSeq  int64        `json:"written_seq,omitempty"`
	Actor       models.Actor `json:"actor"`
	AmendmentID string       `json:"amendment_id"`
	Approve     bool         `json:"approve"`
	Reason      string       `json:"reason"`
}

func (in AmendmentInput) actor() models.Actor         { return in.Actor }
func (in AmendmentInput) seal() authz.Seal            { return in.Seal }
func (in AmendmentDecisionInput) actor() models.Actor { return in.Actor }
func (in AmendmentDecisionInput) seal() authz.Seal    { return in.Seal }

// Unsealed is the input without its seal (what the seal covers).
func (in AmendmentInput) Unsealed() any { in.Seal = authz.Seal{}; return in }

// WithSeal is the input carrying s.
func (in AmendmentInput) WithSeal(s authz.Seal) any { in.Seal = s; return in }

// Unsealed is the input without its seal (what the seal covers).
func (in AmendmentDecisionInput) Unsealed() any { in.Seal = authz.Seal{}; return in }

// WithSeal is the input carrying s.
func (in AmendmentDecisionInput) WithSeal(s authz.Seal) any { in.Seal = s; return in }

func (a *application) amendment(id string) *models.Amendment {
	for i := range a.s.Amendments {
		if a.s.Amendments[i].ID == id {
			return &a.s.Amendments[i]
		}
	}
	return nil
}

func (a *application) validateAmendment(in AmendmentInput) error {
	if err := a.requireMember(in.Actor); err != nil {
		return err
	}
	if err := a.requireStatus(models.StatusApproved, models.StatusActive); err != nil {
		return err
	}
	if a.s.Settlement != nil {
		return conflictf("the grant is settled: nothing is left to amend")
	}
	if a.amendment(in.AmendmentID) != nil {
		return conflictf("amendment %s exists already", in.AmendmentID)
	}
	for _, am := range a.s.Amendments {
		if am.Status == models.AmendmentPending {
			return conflictf("amendment %s is still to be decided", am.ID)
		}
	}
	var errs []models.FieldError
	if strings.TrimSpace(in.Reason) == "" {
		errs = append(errs, models.FieldError{Field: "reason", Message: "is required"})
	}
	if in.EndDate == nil && in.Payee == nil && len(in.CostPlan) == 0 && len(in.Members) == 0 {
		errs = append(errs, models.FieldError{Field: "end_date", Message: "name at least one change: end_date, payee, cost_plan or members"})
	}
	if len(in.Members) > 0 {
		errs = append(errs, a.checkMembers(in.Members)...)
	}
	p := a.s.Proposal
	if in.EndDate != nil && !in.EndDate.After(p.StartDate) {
		errs = append(errs, models.FieldError{Field: "end_date", Message: "must be after the start date " + p.StartDate.Format(time.DateOnly)})
	}
	if in.Payee != nil && !models.ValidIBAN(in.Payee.IBAN) {
		errs = append(errs, models.FieldError{Field: "payee.iban", Message: "is not a valid IBAN (checksum)"})
	}
	if len(in.CostPlan) > 0 {
		if got := models.SumCosts(in.CostPlan); got != p.TotalCostCents {
			errs = append(errs, models.FieldError{Field: "cost_plan", Message: fmt.Sprintf("shifts costs between lines: it adds up to %s, not the total cost of %s",
				models.FormatEuro(got), models.FormatEuro(p.TotalCostCents))})
		} else if limit := models.CapAtRate(models.EligibleCosts(a.s.Rules, in.CostPlan), a.s.Rules.FundingRatePercent); limit < a.s.GrantedCents {
			errs = append(errs, models.FieldError{Field: "cost_plan", Message: fmt.Sprintf("the eligible costs would no longer cover the grant of %s (%s at the rate)",
				models.FormatEuro(a.s.GrantedCents), models.FormatEuro(limit))})
		}
	}
	if len(errs) > 0 {
		return invalid(errs...)
	}
	return nil
}

func (a *application) handleAmendment(ctx workflow.Context, in AmendmentInput) error {
	p := a.s.Proposal
	am := models.Amendment{ID: in.AmendmentID, Status: models.AmendmentPending, Reason: in.Reason,
		RequestedBy: in.Actor.UserID, RequestedAt: a.now(ctx), Version: len(a.s.Amendments) + 1}
	if in.EndDate != nil {
		am.EndDate = &models.DateChange{From: p.EndDate, To: in.EndDate.UTC()}
	}
	if in.Payee != nil {
		am.Payee = &models.PayeeChange{From: p.Payee, To: *in.Payee}
	}
	if len(in.CostPlan) > 0 {
		am.CostPlan = &models.CostPlanChange{From: p.CostPlan, To: in.CostPlan}
	}
	if len(in.Members) > 0 {
		// Partners kept keep their standing; those joining are invited.
		to := carryConfirmations(p.Group, models.Group{Name: p.Group.Name, Lead: p.Group.Lead, Members: in.Members}, in.Actor)
		am.Members = &models.MembersChange{From: p.Group.Members, To: to.Members}
	}
	a.s.Amendments = append(a.s.Amendments, am)
	return a.emit(ctx, "amendment_requested", "", in.Actor, in.AmendmentID+": "+am.Summary())
}

func (a *application) validateAmendmentDecision(in AmendmentDecisionInput) error {
	if err := requireRole(in.Actor, models.RoleAdmin, models.RoleReviewer); err != nil {
		return err
	}
	if in.Actor.Role == models.RoleReviewer {
		if a.partOfGroup(in.Actor) {
			return forbiddenf("your organisation %q is part of the applicant group", in.Actor.Organisation)
		}
		for _, c := range a.s.Conflicts {
			if c.ReviewerID == in.Actor.UserID {
				return forbiddenf("you declared a conflict of interest for this application")
			}
		}
	}
	am := a.amendment(in.AmendmentID)
	if am == nil {
		return notFoundf("amendment %s not found", in.AmendmentID)
	}
	if am.Status != models.AmendmentPending {
		return conflictf("amendment %s is %s", am.ID, am.Status)
	}
	if err := a.requireStatus(models.StatusApproved, models.StatusActive); err != nil {
		return err
	}
	if !in.Approve && strings.TrimSpace(in.Reason) == "" {
		return invalid(models.FieldError{Field: "reason", Message: "is required to refuse"})
	}
	if in.Approve && am.Payee != nil {
		if t, ok := a.inPayment(); ok {
			return conflictf("tranche %d is approved for payment to the old account: finance must confirm or fail it first", t.Number)
		}
	}
	return nil
}

// handleAmendmentDecision applies an approved amendment to the plan.
func (a *application) handleAmendmentDecision(ctx workflow.Context, in AmendmentDecisionInput) error {
	am := a.amendment(in.AmendmentID)
	now := a.now(ctx)
	var leavers []models.FormerMember
	if in.Approve && am.Members != nil {
		var err error
		if leavers, err = a.checkPartnerChange(ctx, *am.Members, now); err != nil {
			return err
		}
	}
	am.DecidedBy, am.DecidedAt, am.Decision = in.Actor.UserID, at(now), in.Reason
	if !in.Approve {
		am.Status = models.AmendmentRefused
		return a.emit(ctx, "amendment_refused", "", in.Actor, am.ID+": "+in.Reason)
	}
	am.Status = models.AmendmentApproved
	p := &a.s.Proposal
	if am.EndDate != nil {
		p.EndDate = am.EndDate.To
		if a.s.Deadlines.FinalReport != nil && a.reportStatus(models.ReportFinal) != models.ReportSubmitted {
			final := p.EndDate.Add(a.s.Rules.FinalReportAfter)
			if !final.After(now) {
				final = now.Add(a.s.Rules.FinalReportAfter)
			}
			a.s.Deadlines.FinalReport = at(final)
			a.s.Reminders.FinalReminded, a.s.Reminders.FinalOverdue = false, false
		}
	}
	if am.Payee != nil {
		p.Payee = am.Payee.To
	}
	if am.CostPlan != nil {
		p.CostPlan = am.CostPlan.To
	}
	if am.Members != nil {
		p.Group.Members = am.Members.To
		a.s.FormerMembers = append(append([]models.FormerMember{}, a.s.FormerMembers...), leavers...)
	}
	return a.emit(ctx, "amendment_approved", "", in.Actor, am.ID+": "+am.Summary())
}

// checkMembers checks a new group of partners: registered, the submitter's
// organisation and the lead stay, something changes, the share points add
// up, and no organisation joins whose reviewer has voted.
func (a *application) checkMembers(members []models.Member) []models.FieldError {
	var errs []models.FieldError
	g := a.s.Proposal.Group
	if !g.Registered() {
		return []models.FieldError{{Field: "members", Message: "the group was formed before the organisation registry: its partners cannot change"}}
	}
	change := models.MembersChange{From: g.Members, To: members}
	if len(change.Joining()) == 0 && len(change.Leaving()) == 0 {
		errs = append(errs, models.FieldError{Field: "members", Message: "name the group as it is to be: no partner joins or leaves"})
	}
	for _, m := range change.Leaving() {
		if m.OrganisationID == a.s.SubmittedBy.OrganisationID || m.Name == g.Lead {
			errs = append(errs, models.FieldError{Field: "members", Message: fmt.Sprintf("%s leads or submitted the application: it stays in the group", m.Name)})
		}
	}
	for i, m := range members {
		if m.OrganisationID == "" {
			errs = append(errs, models.FieldError{Field: fmt.Sprintf("members[%d].organisation_id", i), Message: "is required"})
		}
		for _, v := range a.s.Votes {
			if v.OrganisationID != "" && v.OrganisationID == m.OrganisationID {
				if _, _, was := g.Member(m.OrganisationID); !was {
					errs = append(errs, models.FieldError{Field: fmt.Sprintf("members[%d]", i),
						Message: fmt.Sprintf("a reviewer of %s has voted on this application: it cannot join the group", m.Name)})
				}
			}
		}
	}
	return append(errs, models.CheckShares(members)...)
}

// checkPartnerChange computes what the partners leaving keep of the aid
// (their share of what is paid) and checks the new split of the rest
// against the state-aid register; over a ceiling, the approval is refused.
func (a *application) checkPartnerChange(ctx workflow.Context, change models.MembersChange, now time.Time) ([]models.FormerMember, error) {
	paid := models.AidShares(max(a.s.PaidCents-a.s.RepaymentCents, 0), change.From)
	staying := map[string]bool{}
	for _, m := range change.To {
		staying[m.OrganisationID] = true
	}
	var leavers []models.FormerMember
	kept := int64(0)
	for i, m := range change.From {
		if !staying[m.OrganisationID] {
			leavers = append(leavers, models.FormerMember{OrganisationID: m.OrganisationID, Name: m.Name, AidCents: paid[i], LeftAt: now})
			kept += paid[i]
		}
	}
	for _, f := range a.s.FormerMembers {
		kept += f.AidCents
	}
	claim := models.AidClaim(max(a.s.GrantedCents-kept, 0), a.s.Rules.DeMinimisCeilingCents, change.To)
	var over []models.FieldError
	err := workflow.ExecuteActivity(activityCtx(ctx), ActivityCheckStateAid,
		models.StateAidCheckInput{ApplicationID: a.s.ID, Claim: claim, At: now}).Get(ctx, &over)
	if err != nil {
		return nil, fmt.Errorf("check state aid: %w", err)
	}
	for i := range over {
		over[i].Field = strings.Replace(over[i].Field, "group.members", "members", 1)
	}
	if len(over) > 0 {
		return nil, invalid(over...)
	}
	return leavers, nil
}
