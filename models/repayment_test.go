package models

import (
	"testing"
	"time"
)

func TestRepaymentDemandInterestAndPartPayments(t *testing.T) {
	day0 := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	d := NewDemand("settlement", 10_000_00, day0, 0, 500) // 5 % a year
	if want := day0.Add(30 * 24 * time.Hour); !d.DueAt.Equal(want) {
		t.Fatalf("due %v, want %v", d.DueAt, want)
	}
	// Before the due date no interest runs.
	if p, i := d.OwedOn(d.DueAt.Add(-time.Hour)); p != 10_000_00 || i != 0 {
		t.Fatalf("owed before due = %d + %d", p, i)
	}
	// 73 days late: 10,000 × 5 % × 73/365 = 100.00 EUR.
	late := d.DueAt.Add(73 * 24 * time.Hour)
	if _, i := d.OwedOn(late); i != 100_00 {
		t.Fatalf("interest after 73 days = %d, want 10000", i)
	}
	// A part payment settles interest first, then principal.
	p, err := d.Pay(DemandPayment{BankReference: "R1", AmountCents: 5_100_00, ReceivedOn: late})
	if err != nil {
		t.Fatal(err)
	}
	if p.InterestCents != 100_00 || p.PrincipalCents != 5_000_00 || d.Outstanding() != 5_000_00 || d.Status != DemandOpen {
		t.Fatalf("split %+v, outstanding %d, status %s", p, d.Outstanding(), d.Status)
	}
	// From then on interest runs on the 5,000 left: 73 more days = 50.00 EUR.
	later := late.Add(73 * 24 * time.Hour)
	if _, i := d.OwedOn(later); i != 50_00 {
		t.Fatalf("interest on the rest = %d, want 5000", i)
	}
	// More than is owed is refused with what is owed; an earlier date too.
	if errs := d.CheckPayment(5_050_01, later); len(errs) != 1 || errs[0].Field != "amount_cents" {
		t.Fatalf("overpayment: %+v", errs)
	}
	if errs := d.CheckPayment(1, late.Add(-24*time.Hour)); len(errs) != 1 || errs[0].Field != "received_on" {
		t.Fatalf("date before the last payment: %+v", errs)
	}
	if _, err := d.Pay(DemandPayment{BankReference: "R2", AmountCents: 5_050_00, ReceivedOn: later}); err != nil {
		t.Fatal(err)
	}
	if d.Owes() || d.Status != DemandPaid || d.PrincipalPaidCents != 10_000_00 || d.InterestPaidCents != 150_00 {
		t.Fatalf("after the last payment: %+v", d)
	}
}

func TestRepaymentDemandWithoutInterestPaidEarly(t *testing.T) {
	day0 := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	d := NewDemand("cancellation", 333_33, day0, 14*24*time.Hour, 0)
	if _, err := d.Pay(DemandPayment{BankReference: "A", AmountCents: 333_32, ReceivedOn: day0.Add(400 * 24 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if !d.Owes() || d.Outstanding() != 1 {
		t.Fatalf("one cent still owed: %+v", d)
	}
	if _, err := d.Pay(DemandPayment{BankReference: "B", AmountCents: 1, ReceivedOn: day0.Add(401 * 24 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if d.Owes() || d.InterestPaidCents != 0 {
		t.Fatalf("no interest programme: %+v", d)
	}
}

// TestInterestCountsWholeDaysFromTheDueDate: value dates are days; a demand
// falling due in the afternoon owes interest for every day from its date.
func TestInterestCountsWholeDaysFromTheDueDate(t *testing.T) {
	demanded := time.Date(2027, 3, 1, 14, 0, 0, 0, time.UTC)
	d := NewDemand("settlement", 36_500_00, demanded, 30*24*time.Hour, 1000) // 10 %: 10.00 EUR a day
	paidOn := time.Date(2027, 5, 1, 0, 0, 0, 0, time.UTC)                    // 31 Mar → 1 May: 31 days
	if _, i := d.OwedOn(paidOn); i != 310_00 {
		t.Fatalf("interest = %d, want 31000 (31 whole days)", i)
	}
}
