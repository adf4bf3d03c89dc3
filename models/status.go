package models

// Status is the stage of an application, as drawn in DESIGN.md. The string
// values are the lower_snake_case names the API shows.
type Status string

// The stages of an application's lifecycle.
const (
	StatusSubmitted         Status = "submitted"
	StatusIneligible        Status = "ineligible"
	StatusInReview          Status = "in_review"
	StatusRevisionRequested Status = "revision_requested"
	StatusRejected          Status = "rejected"
	StatusApproved          Status = "approved"
	StatusWaitlisted        Status = "waitlisted"
	StatusActive            Status = "active"
	StatusLapsed            Status = "lapsed"
	StatusClosed            Status = "closed"
	StatusWithdrawn         Status = "withdrawn"
	StatusCancelled         Status = "cancelled"
)

// Statuses lists every stage, in lifecycle order.
var Statuses = []Status{
	StatusSubmitted, StatusIneligible, StatusInReview, StatusRevisionRequested,
	StatusRejected, StatusApproved, StatusWaitlisted, StatusActive, StatusLapsed,
	StatusClosed, StatusWithdrawn, StatusCancelled,
}

// Final reports whether no further transition can leave s.
func (s Status) Final() bool {
	switch s {
	case StatusIneligible, StatusRejected, StatusLapsed, StatusClosed, StatusWithdrawn, StatusCancelled:
		return true
	}
	return false
}

// Valid reports whether s is a known stage.
func (s Status) Valid() bool {
	for _, v := range Statuses {
		if v == s {
			return true
		}
	}
	return false
}

// Role is what a user may do in the product.
type Role string

// The four roles of DESIGN.md.
const (
	RoleAdmin     Role = "admin"
	RoleApplicant Role = "applicant"
	RoleReviewer  Role = "reviewer"
	RoleFinance   Role = "finance"
)

// Valid reports whether r is a known role.
func (r Role) Valid() bool {
	switch r {
	case RoleAdmin, RoleApplicant, RoleReviewer, RoleFinance:
		return true
	}
	return false
}

// Actor is who performs an action: carried into every workflow update so the
// workflow can check the role and the person, and recorded in the audit trail.
type Actor struct {
	UserID       string `json:"user_id"`
	Name         string `json:"name"`
	Role         Role   `json:"role"`
	Organisation string `json:"organisation"`
	// OrganisationID is the registered organisation the user belongs to
	// (absent in actions recorded before the registry).
	OrganisationID string `json:"organisation_id,omitempty"`
}

// TrancheStatus is where one disbursement stands.
type TrancheStatus string

// Disbursement stages: scheduled (trigger not reached), due (finance may
// approve), approved (first pair of eyes), paid (second pair of eyes confirmed
// with a bank reference), failed (returned; goes back to due at once, kept for
// the record in the audit trail), cancelled (never to be paid), exported (in a
// payment file sent to the bank: it can only be marked paid, or returned by
// the bank, never exported again).
const (
	TrancheScheduled TrancheStatus = "scheduled"
	TrancheDue       TrancheStatus = "due"
	TrancheApproved  TrancheStatus = "approved"
	TrancheExported  TrancheStatus = "exported"
	TranchePaid      TrancheStatus = "paid"
	TrancheFailed    TrancheStatus = "failed"
	TrancheCancelled TrancheStatus = "cancelled"
)

// TrancheTrigger says what makes a tranche due.
type TrancheTrigger string

// Tranche triggers, in the order of a lifecycle.
const (
	TriggerAcceptance    TrancheTrigger = "acceptance"
	TriggerInterimReport TrancheTrigger = "interim_report_accepted"
	TriggerFinalReport   TrancheTrigger = "final_report_accepted"
	// TriggerDrawdown: a tranche the group requested (programmes that pay
	// on request), carved out of the final tranche.
	TriggerDrawdown TrancheTrigger = "drawdown"
)

// ReportKind is interim or final.
type ReportKind string

// Report kinds.
const (
	ReportInterim ReportKind = "interim"
	ReportFinal   ReportKind = "final"
)

// ReportStatus is where a report stands.
type ReportStatus string

// Report stages.
const (
	ReportSubmitted        ReportStatus = "submitted"
	ReportAccepted         ReportStatus = "accepted"
	ReportChangesRequested ReportStatus = "changes_requested"
)

// Recommendation is a reviewer's vote.
type Recommendation string

// Votes a reviewer can cast.
const (
	RecommendApprove Recommendation = "approve"
	RecommendReject  Recommendation = "reject"
	RecommendRevise  Recommendation = "revise"
)
