package models

import (
	"fmt"
	"strings"
)

// maxProjectYears is the longest a project may run, from start to end date.
const maxProjectYears = 5

// normaliseOrg is the form in which organisation names are compared:
// lower-case, trimmed, inner whitespace collapsed to one space.
func normaliseOrg(s string) string {
	return strings.Join(strings.Fields(strings.ToLower(s)), " ")
}

// CheckEligibility checks a proposal against the rules of its programme and
// returns every broken rule; nil means eligible. The rules are:
//
//   - requested_cents is positive, at most r.MaxGrantCents and at most
//     CapAtRate(total_cost_cents, r.FundingRatePercent);
//   - total_cost_cents is positive;
//   - start_date and end_date are set, start before end, and the project runs
//     at most five years;
//   - the group has at least one member, member names are non-empty and
//     unique (compared as normaliseOrg), and the lead, if set, is a member;
//   - if any member sets share_basis_points, every member sets 1..10000 and
//     they add up to 10000;
//   - every member's prior_de_minimis_cents is not negative, and the prior aid
//     plus this fund's own grants to it (FundAidCents) plus the member's
//     share of the requested grant (MemberShares) does not exceed r.DeMinimisCeilingCents. Where the shares cannot be computed
//     (invalid requested amount or share points) the share counts as zero.
//
// Payee details (IBAN) are input validation, not eligibility, and are not
// checked here.
func CheckEligibility(r Rules, p Proposal) []FieldError {
	var errs fieldErrors
	checkAmounts(r, p, &errs)
	checkCostPlan(r, p, &errs)
	checkDates(p, &errs)
	sharesOK := checkMembers(p.Group, &errs)
	checkDeMinimis(r, p, sharesOK, &errs)
	return errs
}

// checkAmounts checks the requested amount against the maximum grant and the
// funding rate, and the total cost.
func checkAmounts(r Rules, p Proposal, errs *fieldErrors) {
	if p.RequestedCents <= 0 {
		errs.add("requested_cents", "must be positive")
	} else {
		if p.RequestedCents > r.MaxGrantCents {
			errs.add("requested_cents", "%s exceeds the maximum grant of %s",
				FormatEuro(p.RequestedCents), FormatEuro(r.MaxGrantCents))
		}
		if limit := CapAtRate(p.TotalCostCents, r.FundingRatePercent); p.TotalCostCents > 0 && p.RequestedCents > limit {
			errs.add("requested_cents", "%s exceeds %d %% of the total cost of %s (%s)",
				FormatEuro(p.RequestedCents), r.FundingRatePercent, FormatEuro(p.TotalCostCents), FormatEuro(limit))
		}
	}
	if p.TotalCostCents <= 0 {
		errs.add("total_cost_cents", "must be positive")
	}
}

// checkDates requires both dates, start before end, and at most five years.
func checkDates(p Proposal, errs *fieldErrors) {
	if p.StartDate.IsZero() {
		errs.add("start_date", "is required")
	}
	if p.EndDate.IsZero() {
		errs.add("end_date", "is required")
	}
	if p.StartDate.IsZero() || p.EndDate.IsZero() {
		return
	}
	if !p.StartDate.Before(p.EndDate) {
		errs.add("end_date", "must be after start_date")
	} else if p.EndDate.After(p.StartDate.AddDate(maxProjectYears, 0, 0)) {
		errs.add("end_date", "the project may run at most %d years", maxProjectYears)
	}
}

// checkMembers checks the members, the lead and the share points, and
// reports whether the share points are usable for MemberShares.
func checkMembers(g Group, errs *fieldErrors) bool {
	if len(g.Members) == 0 {
		errs.add("group.members", "at least one member is required")
		return false
	}
	first := map[string]int{}
	for i, m := range g.Members {
		n := normaliseOrg(m.Name)
		switch j, dup := first[n]; {
		case n == "":
			errs.add(fmt.Sprintf("group.members[%d].name", i), "is required")
		case dup:
			errs.add(fmt.Sprintf("group.members[%d].name", i), "duplicates group.members[%d].name", j)
		default:
			first[n] = i
		}
	}
	if lead := normaliseOrg(g.Lead); lead != "" {
		if _, ok := first[lead]; !ok {
			errs.add("group.lead", "must be one of the members")
		}
	}
	return checkSharePoints(g.Members, errs)
}

// checkSharePoints requires, if any member sets share points, that every
// member sets 1..10000 and that they add up to 10000. It reports whether the
// share points are valid (or unused).
func checkSharePoints(members []Member, errs *fieldErrors) bool {
	used := false
	for _, m := range members {
		used = used || m.ShareBasisPoints != 0
	}
	if !used {
		return true
	}
	ok, sum := true, 0
	for i, m := range members {
		if m.ShareBasisPoints < 1 || m.ShareBasisPoints > 10000 {
			errs.add(fmt.Sprintf("group.members[%d].share_basis_points", i),
				"must be between 1 and 10000 when any member sets a share")
			ok = false
		}
		sum += m.ShareBasisPoints
	}
	if ok && sum != 10000 {
		errs.add("group.members", "share_basis_points add up to %d, want 10000", sum)
		ok = false
	}
	return ok
}

// checkDeMinimis checks every member's prior de-minimis aid plus its share of
// the requested grant against the ceiling.
func checkDeMinimis(r Rules, p Proposal, sharesOK bool, errs *fieldErrors) {
	members := p.Group.Members
	shares := make([]int64, len(members))
	if sharesOK && p.RequestedCents > 0 {
		shares = MemberShares(p.RequestedCents, members)
	}
	ceiling := r.DeMinimisCeilingCents
	for i, m := range members {
		field := fmt.Sprintf("group.members[%d].prior_de_minimis_cents", i)
		switch {
		case m.PriorDeMinimisCents < 0:
			errs.add(field, "must not be negative")
		case m.FundAidCents > 0 && AidExceeds(ceiling, m.PriorDeMinimisCents, m.FundAidCents, shares[i]):
			errs.add(field, "prior de-minimis aid %s plus this fund's grants of %s plus share %s exceeds the ceiling of %s (Regulation (EU) 2023/2831)",
				FormatEuro(m.PriorDeMinimisCents), FormatEuro(m.FundAidCents), FormatEuro(shares[i]), FormatEuro(ceiling))
		case AidExceeds(ceiling, m.PriorDeMinimisCents, m.FundAidCents, shares[i]):
			errs.add(field, "prior de-minimis aid %s plus share %s exceeds the ceiling of %s (Regulation (EU) 2023/2831)",
				FormatEuro(m.PriorDeMinimisCents), FormatEuro(shares[i]), FormatEuro(ceiling))
		}
	}
}

// AidExceeds reports whether the amounts together exceed the ceiling,
// without overflowing (every amount is non-negative).
func AidExceeds(ceiling int64, amounts ...int64) bool {
	left := ceiling
	for _, a := range amounts {
		if a > left {
			return true
		}
		left -= a
	}
	return false
}

// AidShares splits a grant between the members that take part in it (every
// member but a declined partner), as the state-aid register records it.
// The result is index-aligned with members; a declined partner gets zero.
func AidShares(grantCents int64, members []Member) []int64 {
	var taking []Member
	var at []int
	for i, m := range members {
		if m.Confirmation != ConfirmationDeclined {
			taking = append(taking, m)
			at = append(at, i)
		}
	}
	out := make([]int64, len(members))
	for j, v := range MemberShares(grantCents, taking) {
		out[at[j]] = v
	}
	return out
}

// AidClaim is the de-minimis aid a grant gives each member (AidShares),
// with the prior aid each declared.
func AidClaim(grantCents, ceilingCents int64, members []Member) StateAidClaim {
	shares := AidShares(grantCents, members)
	claim := StateAidClaim{CeilingCents: ceilingCents}
	for i, m := range members {
		claim.Shares = append(claim.Shares, AidShare{Member: i, OrganisationID: m.OrganisationID, Name: m.Name,
			PriorCents: m.PriorDeMinimisCents, AmountCents: shares[i]})
	}
	return claim
}
