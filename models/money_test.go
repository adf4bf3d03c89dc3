package models

import (
	"math"
	"slices"
	"testing"
)

func TestCapAtRate(t *testing.T) {
	tests := []struct {
		cost int64
		rate int
		want int64
	}{
		{100_000, 50, 50_000},
		{199, 50, 99},         // 0.995 EUR rounds down
		{100_001, 33, 33_000}, // 33,000.33 cents rounds down
		{1, 99, 0},
		{0, 50, 0},
		{12_345, 0, 0},
		{12_345, 100, 12_345},
		{1_000_000_000_000_000, 100, 1_000_000_000_000_000},
		{1_000_000_000_000_099, 33, 330_000_000_000_032},
		{math.MaxInt64, 100, math.MaxInt64},    // naive cost*rate overflows
		{math.MaxInt64, 50, math.MaxInt64 / 2}, // floor(…807 / 2)
		{math.MaxInt64, 200, math.MaxInt64},    // saturates
		{math.MinInt64, 200, math.MinInt64},
		{-199, 50, -100}, // always down
	}
	for _, tt := range tests {
		if got := CapAtRate(tt.cost, tt.rate); got != tt.want {
			t.Errorf("CapAtRate(%d, %d) = %d, want %d", tt.cost, tt.rate, got, tt.want)
		}
	}
}

func members(points ...int) []Member {
	out := make([]Member, len(points))
	for i, p := range points {
		out[i] = Member{Name: string(rune('A' + i)), ShareBasisPoints: p}
	}
	return out
}

func TestMemberShares(t *testing.T) {
	tests := []struct {
		name    string
		grant   int64
		members []Member
		want    []int64
	}{
		{"even, remainder to the lead first", 100, members(0, 0, 0), []int64{34, 33, 33}},
		{"even, two cents left", 10, members(0, 0, 0, 0), []int64{3, 3, 2, 2}},
		{"even, exact", 9, members(0, 0, 0), []int64{3, 3, 3}},
		{"even, zero grant", 0, members(0, 0), []int64{0, 0}},
		{"single member", 12_345, members(0), []int64{12_345}},
		{"basis points, exact", 1_000, members(5000, 3000, 2000), []int64{500, 300, 200}},
		{"basis points, remainder from the first", 101, members(3333, 3333, 3334), []int64{34, 34, 33}},
		{"basis points, one cent", 1, members(5000, 5000), []int64{1, 0}},
		{"basis points, huge grant", 1_000_000_000_000_000_000, members(5000, 5000), []int64{500_000_000_000_000_000, 500_000_000_000_000_000}},
		{"basis points relative to their sum", 100, members(1, 1), []int64{50, 50}},
		{"member without points gets nothing", 100, members(10000, 0), []int64{100, 0}},
		{"negative grant still adds up", -10, members(0, 0, 0), []int64{-3, -3, -4}},
		{"no members", 100, nil, nil},
	}
	for _, tt := range tests {
		if got := MemberShares(tt.grant, tt.members); !slices.Equal(got, tt.want) {
			t.Errorf("%s: MemberShares(%d, %+v) = %v, want %v", tt.name, tt.grant, tt.members, got, tt.want)
		}
	}
}

func TestMemberSharesAddUp(t *testing.T) {
	groups := [][]Member{
		members(0), members(0, 0), members(0, 0, 0, 0, 0, 0, 0),
		members(3333, 3333, 3334), members(1, 9999), members(2500, 2500, 2500, 2500), members(7000, 2000, 1000),
	}
	for _, g := range groups {
		for grant := int64(0); grant <= 1_003; grant++ {
			shares := MemberShares(grant, g)
			var sum int64
			for _, s := range shares {
				sum += s
			}
			if len(shares) != len(g) || sum != grant {
				t.Fatalf("MemberShares(%d, %+v) = %v: %d shares adding up to %d, want %d adding up to %d",
					grant, g, shares, len(shares), sum, len(g), grant)
			}
		}
	}
}

func TestSplitTranches(t *testing.T) {
	plan := func(percents ...int) []TranchePlanItem {
		out := make([]TranchePlanItem, len(percents))
		for i, p := range percents {
			out[i] = TranchePlanItem{Percent: p, Trigger: TriggerAcceptance}
		}
		out[len(out)-1].Trigger = TriggerFinalReport
		return out
	}
	tests := []struct {
		grant int64
		plan  []TranchePlanItem
		want  []int64
	}{
		{5_000_000, plan(40, 40, 20), []int64{2_000_000, 2_000_000, 1_000_000}},
		{1_001, plan(40, 40, 20), []int64{400, 400, 201}},
		{100, plan(33, 33, 34), []int64{33, 33, 34}},
		{101, plan(33, 33, 34), []int64{33, 33, 35}},
		{99_999, plan(30, 30, 30, 10), []int64{29_999, 29_999, 29_999, 10_002}},
		{1, plan(33, 67), []int64{0, 1}},
		{777, plan(100), []int64{777}},
		{0, plan(40, 40, 20), []int64{0, 0, 0}},
		{1_000_000_000_000_000_000, plan(50, 50), []int64{500_000_000_000_000_000, 500_000_000_000_000_000}},
		{100, nil, nil},
	}
	for _, tt := range tests {
		if got := SplitTranches(tt.grant, tt.plan); !slices.Equal(got, tt.want) {
			t.Errorf("SplitTranches(%d, %+v) = %v, want %v", tt.grant, tt.plan, got, tt.want)
		}
	}
}

func TestSettle(t *testing.T) {
	tests := []struct {
		name                   string
		approved, paid, actual int64
		rate                   int
		want                   Settlement
	}{
		{"costs as planned", 5_000_000, 4_000_000, 10_000_000, 50,
			Settlement{GrantCents: 5_000_000, FinalTrancheCents: 1_000_000}},
		{"overspent: capped at approved", 5_000_000, 4_000_000, 20_000_000, 50,
			Settlement{GrantCents: 5_000_000, FinalTrancheCents: 1_000_000}},
		{"underspent: final tranche reduced", 5_000_000, 4_000_000, 9_000_000, 50,
			Settlement{GrantCents: 4_500_000, FinalTrancheCents: 500_000, ReleasedCents: 500_000}},
		{"underspent: repayment", 5_000_000, 4_000_000, 6_000_000, 50,
			Settlement{GrantCents: 3_000_000, RepaymentCents: 1_000_000, ReleasedCents: 1_000_000}},
		{"no accepted costs: everything repaid", 5_000_000, 4_000_000, 0, 50,
			Settlement{GrantCents: 0, RepaymentCents: 4_000_000, ReleasedCents: 1_000_000}},
		{"paid exactly the grant", 1_000, 1_000, 2_000, 50,
			Settlement{GrantCents: 1_000}},
		{"rounding down at 33 %, odd cents", 50_000, 20_000, 100_001, 33,
			Settlement{GrantCents: 33_000, FinalTrancheCents: 13_000, ReleasedCents: 17_000}},
		{"rounding 99.99 cents down", 1_000, 40, 303, 33,
			Settlement{GrantCents: 99, FinalTrancheCents: 59, ReleasedCents: 901}},
		{"one cent of costs at 33 %", 100, 0, 1, 33,
			Settlement{GrantCents: 0, ReleasedCents: 100}},
		{"nothing paid yet", 3_000_000, 0, 10_000_000, 40,
			Settlement{GrantCents: 3_000_000, FinalTrancheCents: 3_000_000}},
		{"large amounts", 1_000_000_000_000_000, 0, 1_000_000_000_000_000, 100,
			Settlement{GrantCents: 1_000_000_000_000_000, FinalTrancheCents: 1_000_000_000_000_000}},
	}
	for _, tt := range tests {
		got := Settle(tt.approved, tt.paid, tt.actual, tt.rate)
		if got != tt.want {
			t.Errorf("%s: Settle(%d, %d, %d, %d) = %+v, want %+v", tt.name, tt.approved, tt.paid, tt.actual, tt.rate, got, tt.want)
		}
		// The reservation is accounted for exactly: paid + final tranche + released = approved,
		// and the grant is what stays with the group: paid + final tranche − repayment.
		if total := tt.paid + got.FinalTrancheCents + got.ReleasedCents; total != tt.approved {
			t.Errorf("%s: Settle(%d, %d, %d, %d) = %+v accounts for %d of the reservation, want %d", tt.name, tt.approved, tt.paid, tt.actual, tt.rate, got, total, tt.approved)
		}
		if kept := tt.paid + got.FinalTrancheCents - got.RepaymentCents; kept != got.GrantCents {
			t.Errorf("%s: Settle(%d, %d, %d, %d) = %+v leaves the group %d, want the grant %d", tt.name, tt.approved, tt.paid, tt.actual, tt.rate, got, kept, got.GrantCents)
		}
	}
}

func TestFormatEuro(t *testing.T) {
	tests := []struct {
		cents int64
		want  string
	}{
		{0, "0.00 EUR"},
		{5, "0.05 EUR"},
		{-5, "-0.05 EUR"},
		{99_999, "999.99 EUR"},
		{100_000, "1,000.00 EUR"},
		{123_456, "1,234.56 EUR"},
		{-123_456, "-1,234.56 EUR"},
		{30_000_000, "300,000.00 EUR"},
		{10_000_000_000, "100,000,000.00 EUR"},
		{math.MinInt64, "-92,233,720,368,547,758.08 EUR"},
	}
	for _, tt := range tests {
		if got := FormatEuro(tt.cents); got != tt.want {
			t.Errorf("FormatEuro(%d) = %q, want %q", tt.cents, got, tt.want)
		}
	}
}
