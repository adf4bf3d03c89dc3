package models

import (
	"fmt"
	"time"
)

// DemandStatus is where a repayment demand stands.
type DemandStatus string

// The stages of a repayment demand: open until its due date, overdue after
// it, paid once neither principal nor interest is owed.
const (
	DemandOpen    DemandStatus = "open"
	DemandOverdue DemandStatus = "overdue"
	DemandPaid    DemandStatus = "paid"
)

// DefaultRepaymentDue is how long a group has to pay back, where the
// programme's rules say nothing.
const DefaultRepaymentDue = 30 * 24 * time.Hour

// DunningEvery is how often an overdue demand is chased again.
const DunningEvery = 30 * 24 * time.Hour

// RepaymentDemand is money a group owes the fund back: the part of a settled
// grant paid out beyond the final grant, or what was paid before a
// cancellation. Interest (if the programme charges it) runs on the principal
// outstanding from the due date, day by day; a payment settles interest
// first, then principal (§ 367 BGB).
type RepaymentDemand struct {
	// Reason is "settlement" or "cancellation".
	Reason         string    `json:"reason"`
	PrincipalCents int64     `json:"principal_cents"`
	DemandedAt     time.Time `json:"demanded_at"`
	DueAt          time.Time `json:"due_at"`
	// InterestBasisPoints is the yearly rate on principal overdue (627 =
	// 6.27 %); zero charges none.
	InterestBasisPoints int   `json:"interest_basis_points"`
	PrincipalPaidCents  int64 `json:"principal_paid_cents"`
	InterestPaidCents   int64 `json:"interest_paid_cents"`
	// InterestAccruedCents is interest counted up to InterestFrom and not
	// paid yet; from InterestFrom on, more runs on what is outstanding.
	InterestAccruedCents int64           `json:"interest_accrued_cents"`
	InterestFrom         time.Time       `json:"interest_from"`
	Payments             []DemandPayment `json:"payments"`
	Status               DemandStatus    `json:"status"`
	Reminded             bool            `json:"reminded"`
	// NextDunning is when an overdue demand is chased next.
	NextDunning *time.Time `json:"next_dunning,omitempty"`
	Dunnings    int        `json:"dunnings"`
}

// DemandPayment is one payment received on a demand, split as it was booked.
type DemandPayment struct {
	BankReference  string    `json:"bank_reference"`
	AmountCents    int64     `json:"amount_cents"`
	InterestCents  int64     `json:"interest_cents"`
	PrincipalCents int64     `json:"principal_cents"`
	ReceivedOn     time.Time `json:"received_on"`
	RecordedBy     string    `json:"recorded_by"`
	RecordedAt     time.Time `json:"recorded_at"`
}

// NewDemand demands principal back, due after due (the default where zero).
func NewDemand(reason string, principal int64, now time.Time, due time.Duration, interestBP int) *RepaymentDemand {
	if due <= 0 {
		due = DefaultRepaymentDue
	}
	d := &RepaymentDemand{Reason: reason, PrincipalCents: principal, DemandedAt: now, DueAt: now.Add(due),
		InterestBasisPoints: interestBP, Payments: []DemandPayment{}, Status: DemandOpen}
	// Interest runs by whole days from the due date (value dates are days).
	d.InterestFrom = day(d.DueAt)
	return d
}

// Outstanding is the principal not yet paid back.
func (d *RepaymentDemand) Outstanding() int64 { return d.PrincipalCents - d.PrincipalPaidCents }

// InterestOn is the interest owed on day at (accrued and unpaid, plus what
// ran since InterestFrom on the principal outstanding): whole days elapsed,
// rate × days / 365, rounded down.
func (d *RepaymentDemand) InterestOn(at time.Time) int64 {
	out := d.InterestAccruedCents
	if d.InterestBasisPoints <= 0 || !at.After(d.InterestFrom) {
		return out
	}
	days := int64(at.Sub(d.InterestFrom) / (24 * time.Hour))
	return out + mulDivFloor(d.Outstanding(), int64(d.InterestBasisPoints)*days, 10_000*365)
}

// OwedOn is principal and interest owed on day at.
func (d *RepaymentDemand) OwedOn(at time.Time) (principal, interest int64) {
	return d.Outstanding(), d.InterestOn(at)
}

// Payment finds a payment by its bank reference.
func (d *RepaymentDemand) Payment(ref string) (DemandPayment, bool) {
	for _, p := range d.Payments {
		if p.BankReference == ref {
			return p, true
		}
	}
	return DemandPayment{}, false
}

// CheckPayment says what is wrong with booking amount received on day on,
// as field errors: nothing owed, a date before the demand or an earlier
// payment, more than is owed then.
func (d *RepaymentDemand) CheckPayment(amount int64, on time.Time) []FieldError {
	var errs fieldErrors
	if on.Before(day(d.DemandedAt)) {
		errs.add("received_on", "is before the demand (%s)", d.DemandedAt.Format(time.DateOnly))
	}
	if n := len(d.Payments); n > 0 && on.Before(d.Payments[n-1].ReceivedOn) {
		errs.add("received_on", "is before the last payment booked (%s)", d.Payments[n-1].ReceivedOn.Format(time.DateOnly))
	}
	principal, interest := d.OwedOn(on)
	if amount > principal+interest {
		errs.add("amount_cents", "exceeds what is owed on %s: %s (principal %s, interest %s)", on.Format(time.DateOnly),
			FormatEuro(principal+interest), FormatEuro(principal), FormatEuro(interest))
	}
	return errs
}

// Pay books a payment received on p.ReceivedOn (checked by CheckPayment):
// interest first, then principal; it returns the payment as split. The
// demand is paid once nothing is owed.
func (d *RepaymentDemand) Pay(p DemandPayment) (DemandPayment, error) {
	if errs := d.CheckPayment(p.AmountCents, p.ReceivedOn); len(errs) > 0 {
		return p, ValidationError{Errors: errs}
	}
	interest := d.InterestOn(p.ReceivedOn)
	p.InterestCents = min(p.AmountCents, interest)
	p.PrincipalCents = p.AmountCents - p.InterestCents
	d.InterestAccruedCents = interest - p.InterestCents
	if p.ReceivedOn.After(d.InterestFrom) {
		d.InterestFrom = p.ReceivedOn
	}
	d.InterestPaidCents += p.InterestCents
	d.PrincipalPaidCents += p.PrincipalCents
	d.Payments = append(d.Payments, p)
	if d.Outstanding() == 0 && d.InterestAccruedCents == 0 {
		d.Status, d.NextDunning = DemandPaid, nil
	}
	return p, nil
}

// Owes reports whether anything is still owed on the demand.
func (d *RepaymentDemand) Owes() bool { return d != nil && d.Status != DemandPaid }

// String says in one line what is owed by when.
func (d *RepaymentDemand) String() string {
	return fmt.Sprintf("%s owed back by %s (%s)", FormatEuro(d.Outstanding()), d.DueAt.Format(time.DateOnly), d.Reason)
}

func day(t time.Time) time.Time {
	y, m, dd := t.UTC().Date()
	return time.Date(y, m, dd, 0, 0, 0, 0, time.UTC)
}
