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
	return strings.Join(parts, "; ")
}

// MaskIBAN shows an IBAN's country and last four characters only.
func MaskIBAN(iban string) string {
	if len(iban) < 8 {
		return "****"
	}
	return iban[:2] + strings.Repeat("*", len(iban)-6) + iban[len(iban)-4:]
}
