package workflows

import (
	"strings"
	"time"

	"go.temporal.io/sdk/workflow"

	"reallabor/internal/authz"
	"reallabor/models"
)

// versionRepaymentDemands: from version 1 of "repayment-demands" on, money
// demanded back (a settlement below what was paid, a cancellation after
// payment) is a demand the workflow keeps: a due date, a reminder before it,
// overdue and chased every 30 days after it, interest per the programme,
// part payments booked through the workflow (UpdateRecordRepayment). The
// application closes, and a cancelled one's run ends, only when nothing is
// owed. Earlier runs closed at once and finance booked repayments in the
// database alone. Version 2 counts interest from the due date's day (value
// dates are days): version 1 lost a day on the first stretch.
const versionRepaymentDemands = "repayment-demands"

// UpdateRecordRepayment books money received on a repayment demand.
const UpdateRecordRepayment = "record-repayment"

// RepaymentActionInput is a payment received on the demand.
type RepaymentActionInput struct {
	Seal authz.Seal `json:"seal,omitempty"`
	// WrittenSeq is how far the projection is written, as the API read it
	// (workflow version "caller-writes").
	WrittenSeq    int64        `json:"written_seq,omitempty"`
	Actor         models.Actor `json:"actor"`
	BankReference string       `json:"bank_reference"`
	AmountCents   int64        `json:"amount_cents"`
	// ReceivedOn is the value date of the payment (midnight UTC): interest
	// runs up to it. DateGiven says the caller named it (else it is the
	// day of the request, and a retry on another day is the same receipt).
	ReceivedOn time.Time `json:"received_on"`
	DateGiven  bool      `json:"date_given,omitempty"`
}

func (in RepaymentActionInput) actor() models.Actor { return in.Actor }
func (in RepaymentActionInput) seal() authz.Seal    { return in.Seal }

// Unsealed is the input without its seal (what the seal covers).
func (in RepaymentActionInput) Unsealed() any { in.Seal = authz.Seal{}; return in }

// WithSeal is the input carrying s.
func (in RepaymentActionInput) WithSeal(s authz.Seal) any { in.Seal = s; return in }

// demand asks principal back (from "repayment-demands" on; before, the
// amount stayed a figure on the application).
func (a *application) demand(ctx workflow.Context, reason string, principal int64) error {
	if !a.demands || principal <= 0 {
		return nil
	}
	r := a.s.Rules
	a.s.Demand = models.NewDemand(reason, principal, a.now(ctx), r.RepaymentDue, r.RepaymentInterestBasisPoints)
	if !a.interestByDay {
		// Version 1 counted interest from the due date's time of day: a
		// day less on the first stretch. Its runs keep their figures.
		a.s.Demand.InterestFrom = a.s.Demand.DueAt
	}
	return a.emit(ctx, "repayment_demanded", "", system, a.s.Demand.String())
}

// owes reports whether money demanded back is still owed.
func (a *application) owes() bool { return a.s.Demand.Owes() }

func (a *application) validateRepayment(in RepaymentActionInput) error {
	if err := requireRole(in.Actor, models.RoleFinance); err != nil {
		return err
	}
	d := a.s.Demand
	if d == nil {
		return conflictf("no repayment demanded")
	}
	if p, ok := d.Payment(in.BankReference); ok {
		if p.AmountCents != in.AmountCents || (in.DateGiven && !p.ReceivedOn.Equal(in.ReceivedOn)) {
			return conflictf("bank reference %s is booked already with %s received on %s", in.BankReference,
				models.FormatEuro(p.AmountCents), p.ReceivedOn.Format(time.DateOnly))
		}
		return nil // the same receipt again: booked once
	}
	if !d.Owes() {
		return conflictf("nothing is owed: the repayment demanded is paid")
	}
	if strings.TrimSpace(in.BankReference) == "" {
		return invalid(models.FieldError{Field: "bank_reference", Message: "is required"})
	}
	if in.AmountCents <= 0 {
		return invalid(models.FieldError{Field: "amount_cents", Message: "must be positive"})
	}
	if errs := d.CheckPayment(in.AmountCents, in.ReceivedOn); len(errs) > 0 {
		return invalid(errs...)
	}
	return nil
}

// handleRepayment books the payment: interest first, then principal; the
// principal goes back to the fund. Once nothing is owed the application
// closes (if its grant is settled otherwise).
func (a *application) handleRepayment(ctx workflow.Context, in RepaymentActionInput) error {
	d := a.s.Demand
	if _, ok := d.Payment(in.BankReference); ok {
		return nil
	}
	now := a.now(ctx)
	p, err := d.Pay(models.DemandPayment{BankReference: in.BankReference, AmountCents: in.AmountCents,
		ReceivedOn: in.ReceivedOn, RecordedBy: in.Actor.UserID, RecordedAt: now})
	if err != nil {
		return invalid(models.FieldError{Field: "amount_cents", Message: err.Error()})
	}
	a.pend.repayments = append(a.pend.repayments, models.RepaymentInput{
		ProgrammeID: a.s.ProgrammeID, ApplicationID: a.s.ID, BankReference: in.BankReference,
		AmountCents: p.PrincipalCents, InterestCents: p.InterestCents, At: now,
	})
	detail := in.BankReference + ": " + models.FormatEuro(p.AmountCents) + " (principal " + models.FormatEuro(p.PrincipalCents) +
		", interest " + models.FormatEuro(p.InterestCents) + ")"
	if err := a.emit(ctx, "repayment_received", "", in.Actor, detail); err != nil {
		return err
	}
	if d.Owes() {
		return nil
	}
	if err := a.emit(ctx, "repayment_settled", "", system, "nothing is owed"); err != nil {
		return err
	}
	return a.closeIfSettled(ctx)
}

// demandAlarms are the clocks of a demand: the reminder before the due date,
// overdue at it, chased every DunningEvery after.
func (a *application) demandAlarms() []alarm {
	d := a.s.Demand
	if !d.Owes() {
		return nil
	}
	var out []alarm
	if !d.Reminded && d.Status == models.DemandOpen {
		out = append(out, alarm{d.DueAt.Add(-a.s.Rules.ReportReminder), func(ctx workflow.Context) error {
			d.Reminded = true
			return a.emit(ctx, "repayment_reminder", "", system, d.String())
		}})
	}
	if d.Status == models.DemandOpen {
		out = append(out, alarm{d.DueAt, func(ctx workflow.Context) error {
			d.Status, d.Reminded = models.DemandOverdue, true
			d.NextDunning = at(d.DueAt.Add(models.DunningEvery))
			return a.emit(ctx, "repayment_overdue", "", system, d.String())
		}})
	}
	if d.Status == models.DemandOverdue && d.NextDunning != nil {
		out = append(out, alarm{*d.NextDunning, func(ctx workflow.Context) error {
			d.Dunnings++
			d.NextDunning = at(d.NextDunning.Add(models.DunningEvery))
			p, i := d.OwedOn(a.now(ctx))
			return a.emit(ctx, "repayment_dunning", "", system, models.FormatEuro(p+i)+" overdue since "+d.DueAt.Format(time.DateOnly)+
				" (principal "+models.FormatEuro(p)+", interest "+models.FormatEuro(i)+")")
		}})
	}
	return out
}
