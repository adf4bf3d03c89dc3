package models

import (
	"slices"
	"testing"
	"time"
)

func TestNormaliseOrg(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Bäckerei Schmidt GmbH", "bäckerei schmidt gmbh"},
		{"  Bäckerei \t Schmidt\n GmbH ", "bäckerei schmidt gmbh"},
		{"", ""},
		{"   ", ""},
	}
	for _, tt := range tests {
		if got := normaliseOrg(tt.in); got != tt.want {
			t.Errorf("normaliseOrg(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// validProposal asks for 30,000 EUR of 60,000 EUR cost, shared evenly by two
// companies; it is eligible under validRules.
func validProposal() Proposal {
	start := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	return Proposal{
		Title:          "Click & collect for the inner city",
		RequestedCents: 30_000_00,
		TotalCostCents: 60_000_00,
		StartDate:      start,
		EndDate:        start.AddDate(1, 0, 0),
		Group: Group{
			Name: "Altstadt retailers",
			Lead: "Buchhandlung Meier",
			Members: []Member{
				{Name: "Buchhandlung Meier", PriorDeMinimisCents: 0},
				{Name: "Bäckerei Schmidt", PriorDeMinimisCents: 100_000_00},
			},
		},
		Payee: Payee{Name: "Buchhandlung Meier", IBAN: "DE89370400440532013000"},
	}
}

func TestCheckEligibility(t *testing.T) {
	tests := []struct {
		name   string
		change func(p *Proposal)
		want   []string
	}{
		{"eligible", func(p *Proposal) {}, nil},
		{"exactly at the funding rate and the maximum", func(p *Proposal) {
			p.RequestedCents, p.TotalCostCents = 50_000_00, 100_000_00
		}, nil},
		{"exactly five years", func(p *Proposal) { p.EndDate = p.StartDate.AddDate(5, 0, 0) }, nil},
		{"no lead: first member leads", func(p *Proposal) { p.Group.Lead = "" }, nil},
		{"lead spelt differently", func(p *Proposal) { p.Group.Lead = "  buchhandlung   MEIER " }, nil},
		{"prior aid plus share exactly at the ceiling", func(p *Proposal) {
			p.Group.Members[1].PriorDeMinimisCents = 285_000_00
		}, nil},
		{"shares by basis points", func(p *Proposal) {
			p.Group.Members[0].ShareBasisPoints = 7000
			p.Group.Members[1].ShareBasisPoints = 3000
			p.Group.Members[1].PriorDeMinimisCents = 291_000_00 // + 9,000.00 share
		}, nil},
		{"nothing requested", func(p *Proposal) { p.RequestedCents = 0 }, []string{"requested_cents"}},
		{"negative request", func(p *Proposal) { p.RequestedCents = -1 }, []string{"requested_cents"}},
		{"above the maximum grant", func(p *Proposal) {
			p.RequestedCents, p.TotalCostCents = 50_000_01, 200_000_00
		}, []string{"requested_cents"}},
		{"above the funding rate by a cent", func(p *Proposal) { p.TotalCostCents = 59_999_99 }, []string{"requested_cents"}},
		{"above both limits", func(p *Proposal) {
			p.RequestedCents, p.TotalCostCents = 60_000_00, 60_000_00
			p.Group.Members[1].PriorDeMinimisCents = 0
		}, []string{"requested_cents", "requested_cents"}},
		{"no cost", func(p *Proposal) { p.TotalCostCents = 0 }, []string{"total_cost_cents"}},
		{"no dates", func(p *Proposal) { p.StartDate, p.EndDate = time.Time{}, time.Time{} }, []string{"start_date", "end_date"}},
		{"ends when it starts", func(p *Proposal) { p.EndDate = p.StartDate }, []string{"end_date"}},
		{"ends before it starts", func(p *Proposal) { p.EndDate = p.StartDate.AddDate(0, 0, -1) }, []string{"end_date"}},
		{"longer than five years", func(p *Proposal) { p.EndDate = p.StartDate.AddDate(5, 0, 1) }, []string{"end_date"}},
		{"no members", func(p *Proposal) { p.Group.Members = nil; p.Group.Lead = "" }, []string{"group.members"}},
		{"member without name", func(p *Proposal) { p.Group.Members[1].Name = "  " }, []string{"group.members[1].name"}},
		{"duplicate member", func(p *Proposal) { p.Group.Members[1].Name = "buchhandlung  meier" }, []string{"group.members[1].name"}},
		{"lead not a member", func(p *Proposal) { p.Group.Lead = "Someone Else" }, []string{"group.lead"}},
		{"share points on one member only", func(p *Proposal) {
			p.Group.Members[0].ShareBasisPoints = 10000
		}, []string{"group.members[1].share_basis_points"}},
		{"share points not adding up", func(p *Proposal) {
			p.Group.Members[0].ShareBasisPoints = 5000
			p.Group.Members[1].ShareBasisPoints = 4000
		}, []string{"group.members"}},
		{"negative share points", func(p *Proposal) {
			p.Group.Members[0].ShareBasisPoints = 10001
			p.Group.Members[1].ShareBasisPoints = -1
		}, []string{"group.members[0].share_basis_points", "group.members[1].share_basis_points"}},
		{"negative prior aid", func(p *Proposal) { p.Group.Members[0].PriorDeMinimisCents = -1 }, []string{"group.members[0].prior_de_minimis_cents"}},
		{"prior aid plus share a cent above the ceiling", func(p *Proposal) {
			p.Group.Members[1].PriorDeMinimisCents = 285_000_01
		}, []string{"group.members[1].prior_de_minimis_cents"}},
		{"basis points move the share over the ceiling", func(p *Proposal) {
			p.Group.Members[0].ShareBasisPoints = 3000
			p.Group.Members[1].ShareBasisPoints = 7000 // 21,000.00 share
			p.Group.Members[1].PriorDeMinimisCents = 280_000_00
		}, []string{"group.members[1].prior_de_minimis_cents"}},
		{"prior aid alone above the ceiling", func(p *Proposal) {
			p.RequestedCents = 0
			p.Group.Members[0].PriorDeMinimisCents = 300_000_01
		}, []string{"requested_cents", "group.members[0].prior_de_minimis_cents"}},
	}
	for _, tt := range tests {
		p := validProposal()
		tt.change(&p)
		got := CheckEligibility(validRules(), p)
		if !slices.Equal(fields(got), tt.want) {
			t.Errorf("%s: CheckEligibility() = %+v, want errors on %v", tt.name, got, tt.want)
		}
	}
}

func TestCheckEligibilityMessages(t *testing.T) {
	tests := []struct {
		name   string
		change func(p *Proposal)
		want   []FieldError
	}{
		{"de-minimis ceiling", func(p *Proposal) { p.Group.Members[1].PriorDeMinimisCents = 290_000_00 }, []FieldError{{
			Field:   "group.members[1].prior_de_minimis_cents",
			Message: "prior de-minimis aid 290,000.00 EUR plus share 15,000.00 EUR exceeds the ceiling of 300,000.00 EUR (Regulation (EU) 2023/2831)",
		}}},
		{"funding rate", func(p *Proposal) { p.TotalCostCents = 50_000_00 }, []FieldError{{
			Field:   "requested_cents",
			Message: "30,000.00 EUR exceeds 50 % of the total cost of 50,000.00 EUR (25,000.00 EUR)",
		}}},
		{"maximum grant", func(p *Proposal) { p.RequestedCents, p.TotalCostCents = 50_000_01, 200_000_00 }, []FieldError{{
			Field:   "requested_cents",
			Message: "50,000.01 EUR exceeds the maximum grant of 50,000.00 EUR",
		}}},
	}
	for _, tt := range tests {
		p := validProposal()
		tt.change(&p)
		if got := CheckEligibility(validRules(), p); !slices.Equal(got, tt.want) {
			t.Errorf("%s: CheckEligibility() = %+v, want %+v", tt.name, got, tt.want)
		}
	}
}

// TestGrantAidClaim: a partner that left keeps what it was given; the
// members share the rest of the grant, to the cent; a grant that came down
// below what former members keep gives the members nothing.
func TestGrantAidClaim(t *testing.T) {
	members := []Member{{Name: "Cafe Mitte", OrganisationID: "o-1"}, {Name: "Reparaturcafe", OrganisationID: "o-2"}}
	former := []FormerMember{{Name: "Buchladen Eck", OrganisationID: "o-3", AidCents: 200_001}}
	claim := GrantAidClaim(1_000_000, 30_000_000, members, former)
	got := map[string]int64{}
	var sum int64
	for _, sh := range claim.Shares {
		got[sh.OrganisationID] += sh.AmountCents
		sum += sh.AmountCents
	}
	if sum != 1_000_000 || got["o-3"] != 200_001 || got["o-1"]+got["o-2"] != 799_999 || got["o-1"] < got["o-2"] || got["o-1"]-got["o-2"] > 1 {
		t.Errorf("shares = %v (sum %d), want the former member's 200,001 and the rest split to the cent", got, sum)
	}
	claim = GrantAidClaim(150_000, 30_000_000, members, former)
	got = map[string]int64{}
	for _, sh := range claim.Shares {
		got[sh.OrganisationID] += sh.AmountCents
	}
	if got["o-3"] != 150_000 || got["o-1"] != 0 || got["o-2"] != 0 {
		t.Errorf("shares of a grant below what is kept = %v, want all 150,000 to the former member", got)
	}
}
