package console

import "testing"

// TestParseEuro: amounts as people type them, in German and English, to
// the cent; anything else is refused, never guessed.
func TestParseEuro(t *testing.T) {
	for _, tt := range []struct {
		in    string
		cents int64
		ok    bool
	}{
		{"20000", 2_000_000, true},
		{"20.000,00", 2_000_000, true},
		{"20,000.00", 2_000_000, true},
		{"20.000", 2_000_000, true},
		{"1234,5", 123_450, true},
		{"0,01", 1, true},
		{"€ 1.500,25", 150_025, true},
		{"1 500,25 EUR", 150_025, true},
		{"", 0, false},
		{"12a", 0, false},
		{"-5", 0, false},
		{"1,2,3", 0, false},
		{"1.234.567,89", 123_456_789, true},
		{"12.34.56", 0, false},
		{"99999999999999", 0, false},
	} {
		got, ok := parseEuro(tt.in)
		if ok != tt.ok || (ok && got != tt.cents) {
			t.Errorf("parseEuro(%q) = %d, %v; want %d, %v", tt.in, got, ok, tt.cents, tt.ok)
		}
	}
}

// TestJournalPoints: the journal replayed gives the fund after each entry,
// its last point the ledger's figures; a journal that does not add up to
// the ledger is an error, never a wrong chart.
func TestJournalPoints(t *testing.T) {
	csv := "entry_id,application_id,kind,amount_cents,at,actor_id,reason\n" +
		"b1,,budget,100000,2027-01-01T09:00:00Z,u,top-up\n" +
		"r1,a,reserve,50000,2027-01-02T09:00:00Z,,\n" +
		"p1,a,pay,20000,2027-01-03T09:00:00Z,,\n" +
		"x1,a,return,20000,2027-01-04T09:00:00Z,,\n" +
		"p2,a,pay,20000,2027-01-05T09:00:00Z,,\n" +
		"l1,a,release,10000,2027-01-06T09:00:00Z,,\n" +
		"i1,a,interest,77,2027-01-07T09:00:00Z,,\n" +
		"m1,a,repayment,5000,2027-01-08T09:00:00Z,,\n"
	now := ledger{BudgetCents: 600_000, ReservedCents: 20_000, PaidCents: 15_000, ReleasedCents: 15_000, AvailableCents: 565_000}
	pts, err := journalPoints([]byte(csv), now)
	if err != nil {
		t.Fatal(err)
	}
	if len(pts) != 8 { // the start and seven entries (interest moves nothing)
		t.Fatalf("%d points, want 8: %+v", len(pts), pts)
	}
	if first := pts[0]; first.Budget != 500_000 || first.Available != 500_000 {
		t.Errorf("first point %+v, want the budget before the top-up (500000) all available", first)
	}
	if p := pts[3]; p.Reserved != 30_000 || p.Paid != 20_000 || p.Available != 550_000 {
		t.Errorf("after the first payment %+v, want reserved 30000 paid 20000 available 550000", p)
	}
	if last := pts[len(pts)-1]; last.Budget != 600_000 || last.Reserved != 20_000 || last.Paid != 15_000 || last.Available != 565_000 {
		t.Errorf("last point %+v, want the ledger's figures", last)
	}
	now.PaidCents++
	if _, err := journalPoints([]byte(csv), now); err == nil {
		t.Errorf("a journal one cent off the ledger was drawn")
	}
}
