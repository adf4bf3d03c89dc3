package workflows

import (
	"strings"
	"time"

	"go.temporal.io/sdk/workflow"

	"reallabor/models"
)

// trigger makes the scheduled tranches of a trigger due.
func (a *application) trigger(now time.Time, tr models.TrancheTrigger) {
	for i := range a.s.Tranches {
		t := &a.s.Tranches[i]
		if t.Trigger == tr && t.Status == models.TrancheScheduled {
			if t.AmountCents == 0 {
				t.Status = models.TrancheCancelled
				continue
			}
			t.Status = models.TrancheDue
			t.DueAt = at(now)
		}
	}
}

func (a *application) tranche(id string) (*models.Tranche, error) {
	for i := range a.s.Tranches {
		if a.s.Tranches[i].ID == id {
			return &a.s.Tranches[i], nil
		}
	}
	return nil, notFoundf("disbursement %s not found", id)
}

func (a *application) validateDisbursement(in DisbursementInput, want ...models.TrancheStatus) (*models.Tranche, error) {
	if err := requireRole(in.Actor, models.RoleFinance); err != nil {
		return nil, err
	}
	t, err := a.tranche(in.TrancheID)
	if err != nil {
		return nil, err
	}
	if err := a.requireStatus(models.StatusActive); err != nil {
		return nil, err
	}
	for _, s := range want {
		if t.Status == s {
			return t, nil
		}
	}
	return nil, conflictf("disbursement %s is %s", t.ID, t.Status)
}

func (a *application) validateApproveDisbursement(in DisbursementInput) error {
	_, err := a.validateDisbursement(in, models.TrancheDue)
	return err
}

func (a *application) handleApproveDisbursement(ctx workflow.Context, in DisbursementInput) error {
	t, _ := a.tranche(in.TrancheID)
	t.Status = models.TrancheApproved
	t.ApprovedBy = in.Actor.UserID
	t.ApprovedAt = at(a.now(ctx))
	return a.emit(ctx, "disbursement_approved", "", in.Actor, strings.TrimSpace(t.ID+" "+in.Reason))
}

// validateMarkExported: a payment file may carry an approved tranche once,
// and only if someone other than its approver makes the file (four eyes
// before the money leaves).
func (a *application) validateMarkExported(in DisbursementInput) error {
	t, err := a.validateDisbursement(in, models.TrancheApproved)
	if err != nil {
		return err
	}
	if t.ApprovedBy == in.Actor.UserID {
		return forbiddenf("four eyes: the payment file must be made by a finance user other than the approver")
	}
	if strings.TrimSpace(in.BatchID) == "" {
		return invalid(models.FieldError{Field: "batch_id", Message: "is required"})
	}
	return nil
}

func (a *application) handleMarkExported(ctx workflow.Context, in DisbursementInput) error {
	t, _ := a.tranche(in.TrancheID)
	t.Status = models.TrancheExported
	t.ExportBatch, t.ExportedBy, t.ExportedAt = in.BatchID, in.Actor.UserID, at(a.now(ctx))
	return a.emit(ctx, "disbursement_exported", "", in.Actor, t.ID+" "+in.BatchID)
}

func (a *application) validateConfirmPayment(in DisbursementInput) error {
	t, err := a.validateDisbursement(in, models.TrancheApproved, models.TrancheExported)
	if err != nil {
		return err
	}
	if t.ApprovedBy == in.Actor.UserID {
		return forbiddenf("four eyes: the payment must be confirmed by a finance user other than the approver")
	}
	ref := strings.TrimSpace(in.BankReference)
	if ref == "" || len(ref) > 140 {
		return invalid(models.FieldError{Field: "bank_reference", Message: "is required (at most 140 characters)"})
	}
	return nil
}

// handleConfirmPayment records the payment in the ledger, keyed by tranche and
// attempt, so a retried activity can never pay twice.
func (a *application) handleConfirmPayment(ctx workflow.Context, in DisbursementInput) error {
	t, _ := a.tranche(in.TrancheID)
	// The attempt number keys the ledger entry; it is only counted once the
	// ledger has the payment, so a failed call retried books the same entry.
	attempt := t.Attempts + 1
	if err := a.pay(ctx, models.PaymentInput{
		ProgrammeID: a.s.ProgrammeID, ApplicationID: a.s.ID, TrancheID: t.ID, Attempt: attempt,
		AmountCents: t.AmountCents, At: a.now(ctx),
	}); err != nil {
		return err
	}
	t.Attempts = attempt
	t.Status = models.TranchePaid
	t.PaidBy = in.Actor.UserID
	t.PaidAt = at(a.now(ctx))
	t.BankReference = strings.TrimSpace(in.BankReference)
	a.s.PaidCents += t.AmountCents
	if err := a.emit(ctx, "payment_confirmed", "", in.Actor, t.ID+" "+t.BankReference); err != nil {
		return err
	}
	return a.closeIfSettled(ctx)
}

func (a *application) validateFailure(in DisbursementInput) error {
	t, err := a.validateDisbursement(in, models.TrancheApproved, models.TrancheExported, models.TranchePaid)
	if err != nil {
		return err
	}
	if t.Status == models.TrancheExported && t.ExportedBy == in.Actor.UserID {
		return forbiddenf("four eyes: a payment the bank returned from file %s must be recorded by a finance user other than its exporter", t.ExportBatch)
	}
	if t.Status == models.TranchePaid && a.s.Settlement != nil {
		return conflictf("the grant is settled on what was paid: a returned payment is booked as a repayment")
	}
	if len(strings.TrimSpace(in.Reason)) == 0 {
		return invalid(models.FieldError{Field: "reason", Message: "is required"})
	}
	return nil
}

// handleFailure puts a failed or returned payment back to due (a tranche in a
// payment file the bank returned may then be approved and exported anew); a
// returned payment's amount goes back from paid to reserved.
func (a *application) handleFailure(ctx workflow.Context, in DisbursementInput) error {
	t, _ := a.tranche(in.TrancheID)
	kind, detail := "payment_failed", t.ID+": "+in.Reason
	if t.Status == models.TrancheExported {
		kind, detail = "payment_returned", t.ID+" ("+t.ExportBatch+"): "+in.Reason
	}
	if t.Status == models.TranchePaid {
		if err := a.pay(ctx, models.PaymentInput{
			ProgrammeID: a.s.ProgrammeID, ApplicationID: a.s.ID, TrancheID: t.ID, Attempt: t.Attempts,
			AmountCents: t.AmountCents, Reverse: true, At: a.now(ctx),
		}); err != nil {
			return err
		}
		a.s.PaidCents -= t.AmountCents
	}
	t.Failures++
	t.Status = models.TrancheDue
	t.ApprovedBy, t.ApprovedAt, t.PaidBy, t.PaidAt, t.BankReference = "", nil, "", nil, ""
	t.ExportBatch, t.ExportedBy, t.ExportedAt = "", "", nil
	return a.emit(ctx, kind, "", in.Actor, detail)
}

// pay books a payment (or, Reverse, its return) in the ledger, keyed by
// tranche and attempt: with the action's other writes once it is durable.
func (a *application) pay(ctx workflow.Context, in models.PaymentInput) error {
	if a.durable {
		a.pend.payments = append(a.pend.payments, in)
		return nil
	}
	var res models.PaymentResult
	return workflow.ExecuteLocalActivity(localCtx(ctx), ActivityRecordPayment, in).Get(ctx, &res)
}

// closeIfSettled closes the application once the final report is accepted
// and every tranche is paid or cancelled.
func (a *application) closeIfSettled(ctx workflow.Context) error {
	if a.s.Settlement == nil || a.s.Status != models.StatusActive || a.owes() {
		return nil
	}
	for _, t := range a.s.Tranches {
		if t.Status != models.TranchePaid && t.Status != models.TrancheCancelled {
			return nil
		}
	}
	return a.transition(ctx, models.StatusClosed, "closed", system, "")
}
