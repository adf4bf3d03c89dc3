package models

import (
	"fmt"
	"math"
	"math/big"
	"strconv"
)

// mulDivFloor returns floor(a × b / c) for c > 0, computed exactly (no
// intermediate overflow) and saturated at the int64 bounds.
func mulDivFloor(a, b, c int64) int64 {
	n := new(big.Int).Mul(big.NewInt(a), big.NewInt(b))
	// For a positive divisor, Euclidean division (big.Int.Div) is floor division.
	n.Div(n, big.NewInt(c))
	switch {
	case n.IsInt64():
		return n.Int64()
	case n.Sign() > 0:
		return math.MaxInt64
	default:
		return math.MinInt64
	}
}

// floorDiv returns floor(a / b) for b > 0.
func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}

// CapAtRate returns the largest grant the funding rate allows for a cost:
// floor(costCents × ratePercent / 100). Rounding is always down (towards
// minus infinity), in the fund's favour: 1.99 EUR at 50 % gives 0.99 EUR.
// The product is computed exactly, so any int64 amount is safe; a result
// beyond the int64 range (only possible with a rate above 100) saturates.
func CapAtRate(costCents int64, ratePercent int) int64 {
	return mulDivFloor(costCents, int64(ratePercent), 100)
}

// MemberShares splits a grant between the members of a group; the result has
// one entry per member and always adds up to grantCents (nil for no members).
//
// If any member has ShareBasisPoints > 0, the grant is split by basis points:
// each member gets floor(grant × its points / sum of points) (the sum is 10000
// when the shares are valid; negative points count as 0), and the cents left
// over are handed out one by one from the first member with points on.
// Otherwise the grant is split evenly: each member gets floor(grant / n) and
// the cents left over go one by one to the first members, the first being the
// lead.
func MemberShares(grantCents int64, members []Member) []int64 {
	if len(members) == 0 {
		return nil
	}
	points := make([]int64, len(members))
	var total int64
	for i, m := range members {
		if m.ShareBasisPoints > 0 {
			points[i] = int64(m.ShareBasisPoints)
			total += points[i]
		}
	}
	if total == 0 {
		for i := range points {
			points[i] = 1
		}
		total = int64(len(points))
	}
	return splitByWeight(grantCents, points, total)
}

// splitByWeight gives each entry floor(amount × weight / total) and hands the
// remaining cents out one by one, in order, to the entries with a positive
// weight. The remainder is always smaller than the number of such entries.
func splitByWeight(amount int64, weights []int64, total int64) []int64 {
	out := make([]int64, len(weights))
	left := amount
	for i, w := range weights {
		out[i] = mulDivFloor(amount, w, total)
		left -= out[i]
	}
	for i := 0; left > 0 && i < len(out); i++ {
		if weights[i] > 0 {
			out[i]++
			left--
		}
	}
	return out
}

// SplitTranches returns the amount of each tranche of the plan: every tranche
// but the last is floor(grant × percent / 100); the last, the retained
// tranche, gets the grant minus the others, so it absorbs the rounding and the
// amounts always add up to grantCents (nil for an empty plan).
func SplitTranches(grantCents int64, plan []TranchePlanItem) []int64 {
	if len(plan) == 0 {
		return nil
	}
	out := make([]int64, len(plan))
	last := len(plan) - 1
	rest := grantCents
	for i, t := range plan[:last] {
		out[i] = mulDivFloor(grantCents, int64(t.Percent), 100)
		rest -= out[i]
	}
	out[last] = rest
	return out
}

// Settlement is the outcome of the final settlement of a grant.
type Settlement struct {
	// GrantCents is the final grant: the approved amount, capped by the
	// funding rate applied to the accepted actual costs.
	GrantCents int64 `json:"grant_cents"`
	// FinalTrancheCents is what is still to be paid (the reduced retained
	// tranche); zero if too much was paid already.
	FinalTrancheCents int64 `json:"final_tranche_cents"`
	// RepaymentCents is what the group must pay back; zero if anything is
	// still to be paid.
	RepaymentCents int64 `json:"repayment_cents"`
	// ReleasedCents is the part of the reservation that is never paid out and
	// goes back to the programme budget.
	ReleasedCents int64 `json:"released_cents"`
}

// Settle computes the final settlement of a grant:
//
//	grant     = min(approved, CapAtRate(actual costs, rate)), never negative
//	remaining = grant − paid
//	remaining >= 0: final tranche = remaining, repayment = 0
//	remaining <  0: final tranche = 0, repayment = −remaining
//	released  = approved − max(grant, paid), never negative
//
// Released is what of the reservation (the approved amount) is neither paid
// in the final tranche nor already paid; money that is repaid is not
// counted as released.
func Settle(approvedCents, paidCents, acceptedActualCostsCents int64, ratePercent int) Settlement {
	grant := max(min(approvedCents, CapAtRate(acceptedActualCostsCents, ratePercent)), 0)
	s := Settlement{GrantCents: grant}
	if remaining := grant - paidCents; remaining >= 0 {
		s.FinalTrancheCents = remaining
	} else {
		s.RepaymentCents = -remaining
	}
	s.ReleasedCents = max(approvedCents-max(grant, paidCents), 0)
	return s
}

// FormatEuro formats cents as euros with thousands separators and two
// decimals: 123456 → "1,234.56 EUR", -5 → "-0.05 EUR".
func FormatEuro(cents int64) string {
	sign := ""
	abs := uint64(cents)
	if cents < 0 {
		sign = "-"
		abs = -abs // two's complement: also right for math.MinInt64
	}
	euros := strconv.FormatUint(abs/100, 10)
	grouped := make([]byte, 0, len(euros)+len(euros)/3)
	for i := range len(euros) {
		if i > 0 && (len(euros)-i)%3 == 0 {
			grouped = append(grouped, ',')
		}
		grouped = append(grouped, euros[i])
	}
	return fmt.Sprintf("%s%s.%02d EUR", sign, grouped, abs%100)
}
