package workflows

import (
	"strings"

	"go.temporal.io/sdk/workflow"

	"reallabor/models"
)

// openAcceptance starts the clock for the applicant to accept the agreement.
func (a *application) openAcceptance(ctx workflow.Context) {
	a.s.Deadlines.Acceptance = at(a.now(ctx).Add(a.s.Rules.AcceptanceDeadline))
	a.s.Reminders.AcceptanceReminded = false
}

func (a *application) validateAccept(in ActionInput) error {
	if err := a.requireMember(in.Actor); err != nil {
		return err
	}
	if a.s.Status == models.StatusActive {
		return conflictf("the agreement has already been accepted")
	}
	return a.requireStatus(models.StatusApproved)
}

// handleAccept activates the grant: the first tranches fall due and the
// report clocks start.
func (a *application) handleAccept(ctx workflow.Context, in ActionInput) error {
	now := a.now(ctx)
	a.s.Deadlines.Acceptance = nil
	interim := now.Add(a.s.Rules.InterimReportAfter)
	// Version 1: a project that ends before the interim report would be due
	// reports at its midpoint instead, so the interim report never falls due
	// after the final one. Histories recorded before keep the old deadline.
	if a.withinProject(ctx) {
		if end := a.s.Proposal.EndDate; end.After(now) && interim.After(end) {
			interim = now.Add(end.Sub(now) / 2)
		}
	}
	a.s.Deadlines.InterimReport = at(interim)
	final := a.s.Proposal.EndDate.Add(a.s.Rules.FinalReportAfter)
	if !final.After(now) {
		final = now.Add(a.s.Rules.FinalReportAfter)
	}
	a.s.Deadlines.FinalReport = at(final)
	a.trigger(now, models.TriggerAcceptance)
	return a.transition(ctx, models.StatusActive, "agreement_accepted", in.Actor, "")
}

// promote moves a waitlisted application whose grant the ledger has now
// reserved on to approval.
func (a *application) promote(ctx workflow.Context) error {
	a.promoted = false
	if a.s.Status != models.StatusWaitlisted {
		return nil
	}
	if a.sealed {
		// A signal is only a hint (anyone reaching Temporal may send one):
		// the ledger says whether the grant is reserved (idempotent).
		reserved, err := a.reserve(ctx)
		if err != nil {
			return err
		}
		if !reserved {
			a.s.Deadlines.WaitlistCheck = at(a.now(ctx).Add(a.waitlistCheck()))
			return nil
		}
	}
	return a.promoteReserved(ctx)
}

// promoteReserved moves on an application whose reservation the ledger holds.
func (a *application) promoteReserved(ctx workflow.Context) error {
	a.promoted = false
	if a.s.Status != models.StatusWaitlisted {
		return nil
	}
	a.s.Deadlines.WaitlistCheck = nil
	a.openAcceptance(ctx)
	return a.transition(ctx, models.StatusApproved, "promoted_from_waitlist", system, "")
}

// inPayment names a tranche finance has approved but not yet confirmed or
// failed: its money may be on its way to the bank.
func (a *application) inPayment() (models.Tranche, bool) {
	for _, t := range a.s.Tranches {
		if t.Status == models.TrancheApproved || t.Status == models.TrancheExported {
			return t, true
		}
	}
	return models.Tranche{}, false
}

func (a *application) paidAny() bool {
	for _, t := range a.s.Tranches {
		if t.Status == models.TranchePaid {
			return true
		}
	}
	return a.s.PaidCents > 0
}

func (a *application) validateWithdraw(in ActionInput) error {
	if err := a.requireMember(in.Actor); err != nil {
		return err
	}
	if a.s.Status.Final() {
		return conflictf("application is %s", a.s.Status)
	}
	if a.paidAny() {
		return conflictf("money has been paid out; ask the programme admin to cancel instead")
	}
	if t, ok := a.inPayment(); ok {
		return conflictf("tranche %d is approved for payment: finance must confirm or fail it first", t.Number)
	}
	return nil
}

func (a *application) handleWithdraw(ctx workflow.Context, in ActionInput) error {
	// Release first: if it fails, nothing has changed and the action can be retried.
	if err := a.release(ctx, "withdrawal", true, 0); err != nil {
		return err
	}
	a.s.Reason = in.Reason
	a.stopTranches()
	return a.transition(ctx, models.StatusWithdrawn, "withdrawn", in.Actor, in.Reason)
}

func (a *application) validateCancel(in ActionInput) error {
	if err := requireRole(in.Actor, models.RoleAdmin); err != nil {
		return err
	}
	if a.s.Status.Final() {
		return conflictf("application is %s", a.s.Status)
	}
	if a.s.Settlement != nil {
		return conflictf("the grant is settled: the application closes once the money owed is back")
	}
	if strings.TrimSpace(in.Reason) == "" {
		return invalid(models.FieldError{Field: "reason", Message: "is required"})
	}
	if t, ok := a.inPayment(); ok {
		return conflictf("tranche %d is approved for payment: finance must confirm or fail it first", t.Number)
	}
	return nil
}

// handleCancel ends the application for cause: unpaid budget goes back to the
// fund, money paid out is demanded back.
func (a *application) handleCancel(ctx workflow.Context, in ActionInput) error {
	if err := a.release(ctx, "cancellation", true, 0); err != nil {
		return err
	}
	a.s.Reason = in.Reason
	a.stopTranches()
	a.s.RepaymentCents = a.s.PaidCents
	if err := a.transition(ctx, models.StatusCancelled, "cancelled", in.Actor, in.Reason); err != nil {
		return err
	}
	return a.demand(ctx, "cancellation", a.s.PaidCents)
}

// stopTranches cancels every tranche not paid.
func (a *application) stopTranches() {
	for i := range a.s.Tranches {
		if a.s.Tranches[i].Status != models.TranchePaid {
			a.s.Tranches[i].Status = models.TrancheCancelled
		}
	}
}
