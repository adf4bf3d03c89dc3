package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/workflow"

	"reallabor/models"
)

// openReview starts (or restarts, after a revision) a review round.
func (a *application) openReview(ctx workflow.Context, kind string, actor models.Actor, detail string) error {
	a.s.Deadlines.Revision = nil
	a.s.Deadlines.Review = at(a.now(ctx).Add(a.s.Rules.ReviewDeadline))
	a.s.Reminders.ReviewReminded = false
	a.s.Reminders.ReviewEscalated = false
	return a.transition(ctx, models.StatusInReview, kind, actor, detail)
}

// roundVotes are the votes of the current review round.
func (a *application) roundVotes() []models.Vote {
	var out []models.Vote
	for _, v := range a.s.Votes {
		if v.Round == a.s.RevisionRound {
			out = append(out, v)
		}
	}
	return out
}

func (a *application) validateReview(in ReviewInput) error {
	if err := requireRole(in.Actor, models.RoleReviewer); err != nil {
		return err
	}
	if err := a.requireStatus(models.StatusInReview); err != nil {
		return err
	}
	if a.partOfGroup(in.Actor) {
		return forbiddenf("your organisation %q is part of the applicant group", in.Actor.Organisation)
	}
	for _, c := range a.s.Conflicts {
		if c.ReviewerID == in.Actor.UserID {
			return forbiddenf("you declared a conflict of interest for this application")
		}
	}
	for _, v := range a.roundVotes() {
		if v.ReviewerID == in.Actor.UserID {
			return conflictf("you have already reviewed this round")
		}
	}
	if in.ConflictOfInterest {
		return nil
	}
	var errs []models.FieldError
	switch in.Recommendation {
	case models.RecommendApprove, models.RecommendReject, models.RecommendRevise:
	default:
		errs = append(errs, models.FieldError{Field: "recommendation", Message: "must be approve, reject or revise"})
	}
	errs = append(errs, a.s.Rules.ValidateScores(in.Scores)...)
	if len(errs) > 0 {
		return invalid(errs...)
	}
	return nil
}

func (a *application) handleReview(ctx workflow.Context, in ReviewInput) error {
	now := a.now(ctx)
	if in.ConflictOfInterest {
		a.s.Conflicts = append(a.s.Conflicts, models.Conflict{ReviewerID: in.Actor.UserID, Organisation: in.Actor.Organisation,
			OrganisationID: in.Actor.OrganisationID, At: now})
		return a.emit(ctx, "conflict_declared", "", in.Actor, "")
	}
	a.s.Votes = append(a.s.Votes, models.Vote{
		ReviewerID: in.Actor.UserID, ReviewerName: in.Actor.Name, Organisation: in.Actor.Organisation,
		OrganisationID: in.Actor.OrganisationID,
		Recommendation: in.Recommendation, Scores: in.Scores, Comment: in.Comment, Round: a.s.RevisionRound, At: now,
	})
	if err := a.emit(ctx, "review_submitted", "", in.Actor, string(in.Recommendation)); err != nil {
		return err
	}
	if len(a.roundVotes()) < a.s.Rules.ReviewersRequired {
		return nil
	}
	return a.decide(ctx)
}

// decide takes the review decision once the quorum has voted.
func (a *application) decide(ctx workflow.Context) error {
	votes := a.roundVotes()
	d := a.s.Rules.Decide(votes, a.s.RevisionRound)
	mean := a.s.Rules.WeightedMeanMilli(votes)
	a.s.Decision = &models.DecisionAt{Decision: d, MeanMilli: mean, Round: a.s.RevisionRound, At: a.now(ctx)}
	a.s.Deadlines.Review = nil
	detail := fmt.Sprintf("weighted mean %d.%03d", mean/1000, mean%1000)
	switch d {
	case models.DecisionRevise:
		a.s.RevisionRound++
		a.s.Deadlines.Revision = at(a.now(ctx).Add(a.s.Rules.RevisionDeadline))
		return a.transition(ctx, models.StatusRevisionRequested, "revision_requested", system, detail)
	case models.DecisionApprove:
		return a.approve(ctx, detail)
	default:
		a.releaseOnEnding(ctx, "rejected")
		return a.transition(ctx, models.StatusRejected, "rejected", system, detail)
	}
}

// approve reserves the grant and plans its tranches; if the fund can't cover
// it, the application waits on the waitlist.
func (a *application) approve(ctx workflow.Context, detail string) error {
	a.s.GrantedCents = a.s.Proposal.RequestedCents
	amounts := models.SplitTranches(a.s.GrantedCents, a.s.Rules.TranchePlan)
	a.s.Tranches = make([]models.Tranche, len(amounts))
	for i, amt := range amounts {
		p := a.s.Rules.TranchePlan[i]
		a.s.Tranches[i] = models.Tranche{
			ID: fmt.Sprintf("%s-%d", a.s.ID, i+1), Number: i + 1, Trigger: p.Trigger, Percent: p.Percent,
			AmountCents: amt, Currency: a.s.Rules.Currency, Status: models.TrancheScheduled,
		}
	}
	var claim *models.StateAidClaim
	if a.stateAid {
		claim = a.aidClaim()
	}
	res, err := a.reserveChecked(ctx, claim)
	if err != nil {
		return err
	}
	if len(res.StateAid) > 0 {
		// This fund granted a member more meanwhile (another application
		// approved since this one was submitted): the grant would break the
		// member's de-minimis ceiling, so it cannot be made.
		a.s.GrantedCents = 0
		a.s.Tranches = []models.Tranche{}
		a.s.Ineligibility = res.StateAid
		return a.transition(ctx, models.StatusIneligible, "state_aid_exceeded", system, res.StateAid[0].Message)
	}
	if !res.Reserved {
		if a.healWaitlist {
			a.s.Deadlines.WaitlistCheck = at(a.now(ctx).Add(a.waitlistCheck()))
		}
		return a.transition(ctx, models.StatusWaitlisted, "waitlisted", system, detail)
	}
	a.openAcceptance(ctx)
	return a.transition(ctx, models.StatusApproved, "approved", system, detail)
}

// versionStateAid: from version 1 of "state-aid-register" on, a grant is
// checked against the state-aid register when it is made (ReserveInput.StateAid)
// and filed in it; a grant that would break a member's ceiling ends the
// application as ineligible.
const versionStateAid = "state-aid-register"

// aidClaim is what the grant gives each member as de-minimis aid.
func (a *application) aidClaim() *models.StateAidClaim {
	claim := models.AidClaim(a.s.GrantedCents, a.s.Rules.DeMinimisCeilingCents, a.s.Proposal.Group.Members)
	return &claim
}

func (a *application) validateExtend(in ExtendInput) error {
	if err := requireRole(in.Actor, models.RoleAdmin); err != nil {
		return err
	}
	if err := a.requireStatus(models.StatusInReview); err != nil {
		return err
	}
	if in.Days < 1 || in.Days > 365 {
		return invalid(models.FieldError{Field: "days", Message: "must be between 1 and 365"})
	}
	return nil
}

func (a *application) handleExtend(ctx workflow.Context, in ExtendInput) error {
	a.s.Deadlines.Review = at(a.now(ctx).Add(time.Duration(in.Days) * 24 * time.Hour))
	a.s.Reminders.ReviewReminded = false
	a.s.Reminders.ReviewEscalated = false
	return a.emit(ctx, "review_deadline_extended", "", in.Actor, fmt.Sprintf("%d days", in.Days))
}

func (a *application) validateRevision(in RevisionInput) error {
	if err := a.requireMember(in.Actor); err != nil {
		return err
	}
	if err := a.requireStatus(models.StatusRevisionRequested); err != nil {
		return err
	}
	if errs := models.CheckEligibility(a.s.Rules, in.Proposal); len(errs) > 0 {
		return invalid(errs...)
	}
	if !models.ValidIBAN(in.Proposal.Payee.IBAN) {
		return invalid(models.FieldError{Field: "payee.iban", Message: "is not a valid IBAN"})
	}
	return nil
}

func (a *application) handleRevision(ctx workflow.Context, in RevisionInput) error {
	old := a.s.Proposal.Group
	a.s.Proposal = in.Proposal
	a.s.Proposal.Group = carryConfirmations(old, in.Proposal.Group, in.Actor)
	return a.openReview(ctx, "revised", in.Actor, fmt.Sprintf("round %d", a.s.RevisionRound))
}
