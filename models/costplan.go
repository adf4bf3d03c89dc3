package models

import (
	"fmt"
	"slices"
)

// Cost categories of a cost plan.
const (
	CostPersonnel        = "personnel"
	CostMaterial         = "material"
	CostExternalServices = "external_services"
	CostTravel           = "travel"
	CostOther            = "other"
)

// CostCategories lists the categories, in the order plans show them.
var CostCategories = []string{CostPersonnel, CostMaterial, CostExternalServices, CostTravel, CostOther}

// CostLine is one line of a cost plan, or of the actual costs a final report
// gives (then by category, without description).
type CostLine struct {
	Category    string `json:"category"`
	Description string `json:"description,omitempty"`
	AmountCents int64  `json:"amount_cents"`
}

// RecognisedCost is what the assessment of a final report recognises of the
// actual costs of one category, with the reason where it is less than
// claimed.
type RecognisedCost struct {
	Category    string `json:"category"`
	AmountCents int64  `json:"amount_cents"`
	Reason      string `json:"reason,omitempty"`
}

// CategoryCap caps one category's share of a plan's total.
type CategoryCap struct {
	Category   string `json:"category"`
	MaxPercent int    `json:"max_percent"`
}

// SumCosts is the total of cost lines.
func SumCosts(lines []CostLine) int64 {
	var n int64
	for _, l := range lines {
		n += l.AmountCents
	}
	return n
}

// ByCategory sums lines per category, in CostCategories order (categories
// without lines left out).
func ByCategory(lines []CostLine) []CostLine {
	var out []CostLine
	for _, c := range CostCategories {
		var n int64
		found := false
		for _, l := range lines {
			if l.Category == c {
				n += l.AmountCents
				found = true
			}
		}
		if found {
			out = append(out, CostLine{Category: c, AmountCents: n})
		}
	}
	return out
}

// EligibleCosts is what of the costs the programme's rules count: only the
// categories it allows (all, if it names none), each at most its cap's share
// of the costs' total (rounded down).
func EligibleCosts(r Rules, lines []CostLine) int64 {
	total := SumCosts(lines)
	var out int64
	for _, c := range ByCategory(lines) {
		if len(r.CostCategories) > 0 && !slices.Contains(r.CostCategories, c.Category) {
			continue
		}
		amount := c.AmountCents
		for _, cp := range r.CostShareCaps {
			if cp.Category == c.Category {
				amount = min(amount, mulDivFloor(total, int64(cp.MaxPercent), 100))
			}
		}
		out += amount
	}
	return out
}

// checkCostPlan adds what makes a cost plan's lines not count: categories
// the programme does not fund, shares above its caps. The application stays
// eligible if the rest covers the request (checkAmounts, on the eligible
// total); these say why less counts.
func checkCostPlan(r Rules, p Proposal, errs *fieldErrors) {
	if len(p.CostPlan) == 0 {
		return
	}
	total := SumCosts(p.CostPlan)
	if total != p.TotalCostCents {
		errs.add("cost_plan", "adds up to %s, not the total cost of %s", FormatEuro(total), FormatEuro(p.TotalCostCents))
	}
	eligible := EligibleCosts(r, p.CostPlan)
	if eligible <= 0 {
		errs.add("cost_plan", "no line is in a category the programme funds (%v)", r.CostCategories)
	}
	if limit := CapAtRate(eligible, r.FundingRatePercent); p.RequestedCents > 0 && eligible > 0 && p.RequestedCents > limit {
		errs.add("requested_cents", "%s exceeds %d %% of the eligible costs of %s (%s)", FormatEuro(p.RequestedCents),
			r.FundingRatePercent, FormatEuro(eligible), FormatEuro(limit))
	}
}

// validateCostRules checks the programme's cost categories and caps.
func (r Rules) validateCostRules(errs *fieldErrors) {
	for i, c := range r.CostCategories {
		if !slices.Contains(CostCategories, c) {
			errs.add(fmt.Sprintf("cost_categories[%d]", i), "is not a cost category (%v)", CostCategories)
		}
	}
	for i, cp := range r.CostShareCaps {
		if !slices.Contains(CostCategories, cp.Category) {
			errs.add(fmt.Sprintf("cost_share_caps[%d].category", i), "is not a cost category (%v)", CostCategories)
		}
		if cp.MaxPercent < 1 || cp.MaxPercent > 100 {
			errs.add(fmt.Sprintf("cost_share_caps[%d].max_percent", i), "must be between 1 and 100")
		}
	}
}

// Recognised is the eligible total of a final report's actual costs as the
// assessment recognised them: each category at what was recognised (what
// was claimed where the assessment says nothing of it), then the programme's
// categories and caps as for the plan.
func Recognised(r Rules, actual []CostLine, recognised []RecognisedCost) int64 {
	lines := make([]CostLine, 0, len(actual))
	for _, a := range ByCategory(actual) {
		for _, rc := range recognised {
			if rc.Category == a.Category {
				a.AmountCents = min(a.AmountCents, rc.AmountCents)
			}
		}
		lines = append(lines, a)
	}
	return EligibleCosts(r, lines)
}
