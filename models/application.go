package models

import "time"

// Member is one company of an applicant group with the de-minimis aid it
// received in the last three years. ShareBasisPoints, if any member sets it,
// splits the grant between members (sum 10000); otherwise it is split evenly.
type Member struct {
	Name                string `json:"name"`
	PriorDeMinimisCents int64  `json:"prior_de_minimis_cents"`
	ShareBasisPoints    int    `json:"share_basis_points,omitempty"`
	// OrganisationID is the member's entry in the organisation registry
	// (absent in proposals made before the registry: they match by name).
	OrganisationID string `json:"organisation_id,omitempty"`
	// Confirmation is how the member joined: the submitter's organisation is
	// the submitter ("submitter"); a partner is "invited" until one of its applicants
	// answers ("confirmed" or "declined"). Empty before the registry: counts.
	Confirmation Confirmation `json:"confirmation,omitempty"`
	// FundAidCents is the de-minimis aid this fund granted the member in the
	// three years before submission (the state-aid register), looked up by
	// the API, never given by the applicant. Eligibility adds it to the
	// declared prior aid.
	FundAidCents int64 `json:"fund_aid_cents,omitempty"`
}

// Confirmation is a member's answer to its invitation into the group.
type Confirmation string

// How a member stands in the group.
const (
	ConfirmationSubmitter Confirmation = "submitter"
	ConfirmationInvited   Confirmation = "invited"
	ConfirmationConfirmed Confirmation = "confirmed"
	ConfirmationDeclined  Confirmation = "declined"
)

// Counts reports whether the member is part of the group: its users see the
// application and act for it. Invited and declined partners do not count.
func (m Member) Counts() bool {
	switch m.Confirmation {
	case "", ConfirmationSubmitter, ConfirmationConfirmed:
		return true
	}
	return false
}

// Member returns the group's member registered as organisation id.
func (g Group) Member(id string) (Member, int, bool) {
	if id == "" {
		return Member{}, -1, false
	}
	for i, m := range g.Members {
		if m.OrganisationID == id {
			return m, i, true
		}
	}
	return Member{}, -1, false
}

// Registered reports whether the group's members carry registry ids (made
// after the registry), so membership is decided by id.
func (g Group) Registered() bool {
	for _, m := range g.Members {
		if m.OrganisationID != "" {
			return true
		}
	}
	return false
}

// Group is the applicant group: the lead company is Members[0] unless Lead
// names another.
type Group struct {
	Name    string   `json:"name"`
	Lead    string   `json:"lead"`
	Members []Member `json:"members"`
}

// Payee is where the grant is paid.
type Payee struct {
	Name string `json:"name"`
	IBAN string `json:"iban"`
	BIC  string `json:"bic,omitempty"`
}

// Proposal is what an applicant group submits and may revise.
type Proposal struct {
	Title          string    `json:"title"`
	Summary        string    `json:"summary"`
	RequestedCents int64     `json:"requested_cents"`
	TotalCostCents int64     `json:"total_cost_cents"`
	StartDate      time.Time `json:"start_date"`
	EndDate        time.Time `json:"end_date"`
	Group          Group     `json:"group"`
	Payee          Payee     `json:"payee"`
	// CostPlan is the costs by line and category (optional; when given, it
	// adds up to TotalCostCents and the funding rate applies to what the
	// programme's cost rules count of it).
	CostPlan []CostLine `json:"cost_plan,omitempty"`
}

// Organisations returns the names of the group's companies.
func (g Group) Organisations() []string {
	out := make([]string, 0, len(g.Members)+1)
	seen := map[string]bool{}
	add := func(n string) {
		if n != "" && !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	add(g.Lead)
	for _, m := range g.Members {
		add(m.Name)
	}
	return out
}

// Includes reports whether organisation is a company of the group
// (case-insensitive, ignoring surrounding space).
func (g Group) Includes(organisation string) bool {
	o := normaliseOrg(organisation)
	if o == "" {
		return false
	}
	for _, n := range g.Organisations() {
		if normaliseOrg(n) == o {
			return true
		}
	}
	return false
}
