package models

import (
	"strconv"
	"strings"
	"time"
)

// AmendmentStatus is where an amendment stands.
type AmendmentStatus string

// The stages of an amendment.
const (
	AmendmentPending  AmendmentStatus = "pending"
	AmendmentApproved AmendmentStatus = "approved"
	AmendmentRefused  AmendmentStatus = "refused"
)

// Amendment is a change of the plan the group applied for while the grant
// runs: each keeps what was before and what is asked, so the history shows
// every version of the plan. Version counts the amendments applied for.
type Amendment struct {
	ID          string          `json:"id"`
	Version     int             `json:"version"`
	Status      AmendmentStatus `json:"status"`
	Reason      string          `json:"reason"`
	EndDate     *DateChange     `json:"end_date,omitempty"`
	Payee       *PayeeChange    `json:"payee,omitempty"`
	CostPlan    *CostPlanChange `json:"cost_plan,omitempty"`
	Members     *MembersChange  `json:"members,omitempty"`
	RequestedBy string          `json:"requested_by"`
	RequestedAt time.Time       `json:"requested_at"`
	DecidedBy   string          `json:"decided_by,omitempty"`
	DecidedAt   *time.Time      `json:"decided_at,omitempty"`
	// Decision is the reason given with the decision.
	Decision string `json:"decision,omitempty"`
}

// DateChange moves a date.
type DateChange struct {
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
}

// PayeeChange names another account.
type PayeeChange struct {
	From Payee `json:"from"`
	To   Payee `json:"to"`
}

// CostPlanChange shifts costs between the plan's lines.
type CostPlanChange struct {
	From []CostLine `json:"from"`
	To   []CostLine `json:"to"`
}

// Summary says in a line what the amendment changes.
func (a Amendment) Summary() string {
	var parts []string
	if a.EndDate != nil {
		parts = append(parts, "end date "+a.EndDate.From.Format(time.DateOnly)+" → "+a.EndDate.To.Format(time.DateOnly))
	}
	if a.Payee != nil {
		parts = append(parts, "payee "+a.Payee.To.Name+" "+MaskIBAN(a.Payee.To.IBAN))
	}
	if a.CostPlan != nil {
		parts = append(parts, "cost plan of "+FormatEuro(SumCosts(a.CostPlan.To))+" in "+strconv.Itoa(len(a.CostPlan.To))+" lines")
	}
	if a.Members != nil {
		joining, leaving := a.Members.Joining(), a.Members.Leaving()
		if len(joining) > 0 {
			parts = append(parts, "joining "+names(joining))
		}
		if len(leaving) > 0 {
			parts = append(parts, "leaving "+names(leaving))
		}
	}
	return strings.Join(parts, "; ")
}

// MembersChange changes the group's partners: To is the whole group after
// it (partners joining are invited and confirm as any invitation).
type MembersChange struct {
	From []Member `json:"from"`
	To   []Member `json:"to"`
}

// Joining are the members of To not in From; Leaving those of From not in To
// (by organisation id).
func (c MembersChange) Joining() []Member { return missing(c.To, c.From) }

// Leaving are the members of From not in To.
func (c MembersChange) Leaving() []Member { return missing(c.From, c.To) }

func missing(in, from []Member) []Member {
	var out []Member
	for _, m := range in {
		found := false
		for _, o := range from {
			found = found || o.OrganisationID == m.OrganisationID
		}
		if !found {
			out = append(out, m)
		}
	}
	return out
}

func names(ms []Member) string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.Name
	}
	return strings.Join(out, ", ")
}

// FormerMember is a partner that left the group by amendment.
type FormerMember struct {
	OrganisationID string    `json:"organisation_id"`
	Name           string    `json:"name"`
	AidCents       int64     `json:"aid_cents"`
	LeftAt         time.Time `json:"left_at"`
}

// CheckShares checks the share points of a group's members as a proposal's
// are checked (fields named members[i]).
func CheckShares(members []Member) []FieldError {
	var errs fieldErrors
	checkSharePoints(members, &errs)
	for i := range errs {
		errs[i].Field = strings.Replace(errs[i].Field, "group.members", "members", 1)
	}
	return errs
}

// GrantAidClaim is the de-minimis aid a grant of base cents stands for,
// per organisation: former members keep what they were given, the members
// share the rest.
func GrantAidClaim(base, ceiling int64, members []Member, former []FormerMember) StateAidClaim {
	kept := int64(0)
	for _, f := range former {
		kept += f.AidCents
	}
	kept = min(kept, base)
	claim := AidClaim(base-kept, ceiling, members)
	left := kept
	for _, f := range former {
		amount := min(f.AidCents, left)
		left -= amount
		claim.Shares = append(claim.Shares, AidShare{Member: -1, OrganisationID: f.OrganisationID, Name: f.Name, AmountCents: amount})
	}
	return claim
}

// MaskIBAN shows an IBAN's country and last four characters only.
func MaskIBAN(iban string) string {
	if len(iban) < 8 {
		return "****"
	}
	return iban[:2] + strings.Repeat("*", len(iban)-6) + iban[len(iban)-4:]
}
