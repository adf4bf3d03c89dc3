package models

import "time"

// ApplicationState is the whole of where one application stands: the
// workflow's state, the answer of its query and the snapshot the projection
// keeps in the database.
type ApplicationState struct {
	ID          string `json:"id"`
	ProgrammeID string `json:"programme_id"`
	// CallID is the call the application was submitted to, if any.
	CallID        string       `json:"call_id,omitempty"`
	Status        Status       `json:"status"`
	Proposal      Proposal     `json:"proposal"`
	Rules         Rules        `json:"rules"`
	SubmittedBy   Actor        `json:"submitted_by"`
	SubmittedAt   time.Time    `json:"submitted_at"`
	Ineligibility []FieldError `json:"ineligibility,omitempty"`

	RevisionRound int         `json:"revision_round"`
	Votes         []Vote      `json:"votes"`
	Conflicts     []Conflict  `json:"conflicts,omitempty"`
	Decision      *DecisionAt `json:"decision,omitempty"`

	GrantedCents   int64       `json:"granted_cents"`
	PaidCents      int64       `json:"paid_cents"`
	RepaymentCents int64       `json:"repayment_cents"`
	Settlement     *Settlement `json:"settlement,omitempty"`
	// Demand is the money demanded back, while and after it is owed.
	Demand   *RepaymentDemand `json:"repayment_demand,omitempty"`
	Tranches []Tranche        `json:"tranches"`
	Reports  []Report         `json:"reports"`
	// Amendments are the changes of plan applied for, oldest first.
	Amendments []Amendment `json:"amendments,omitempty"`

	Deadlines Deadlines `json:"deadlines"`
	Reminders Reminders `json:"reminders"`
	Reason    string    `json:"reason,omitempty"`
	Next      []Next    `json:"next"`
	Seq       int64     `json:"seq"`
	UpdatedAt time.Time `json:"updated_at"`
	// WriteEpoch counts the writes the workflow put back after the database
	// refused them (workflow version "caller-writes"): a write handed out
	// before (an update's cached result, re-driven) is older and refused.
	WriteEpoch int64 `json:"write_epoch,omitempty"`
	// PendingPromotion: the ledger has promoted this waitlisted application
	// and its signal arrived, but the workflow has not moved on yet. Carried
	// over continue-as-new so the promotion is never dropped.
	PendingPromotion bool `json:"pending_promotion,omitempty"`
	// FormerMembers are partners that left the group by amendment, each
	// with the de-minimis aid it keeps (its share of what was paid while it
	// was a member).
	FormerMembers []FormerMember `json:"former_members,omitempty"`
}

// Conflict is a reviewer's declared conflict of interest.
type Conflict struct {
	ReviewerID     string    `json:"reviewer_id"`
	Organisation   string    `json:"organisation"`
	OrganisationID string    `json:"organisation_id,omitempty"`
	At             time.Time `json:"at"`
}

// DecisionAt is the review decision of one round.
type DecisionAt struct {
	Decision  Decision  `json:"decision"`
	MeanMilli int       `json:"mean_score_milli"`
	Round     int       `json:"round"`
	At        time.Time `json:"at"`
}

// Deadlines are the clocks currently running; nil means not running.
type Deadlines struct {
	Review        *time.Time `json:"review,omitempty"`
	Revision      *time.Time `json:"revision,omitempty"`
	Acceptance    *time.Time `json:"acceptance,omitempty"`
	InterimReport *time.Time `json:"interim_report,omitempty"`
	FinalReport   *time.Time `json:"final_report,omitempty"`
	// WaitlistCheck is when a waitlisted application next asks the ledger
	// whether its grant has been reserved (in case a promotion signal was lost).
	WaitlistCheck *time.Time `json:"waitlist_check,omitempty"`
}

// Reminders records which reminders and escalations went out, so a timer never
// fires twice (also across continue-as-new).
type Reminders struct {
	ReviewReminded     bool `json:"review_reminded"`
	ReviewEscalated    bool `json:"review_escalated"`
	AcceptanceReminded bool `json:"acceptance_reminded"`
	InterimReminded    bool `json:"interim_reminded"`
	InterimOverdue     bool `json:"interim_overdue"`
	FinalReminded      bool `json:"final_reminded"`
	FinalOverdue       bool `json:"final_overdue"`
}

// Tranche is one planned disbursement of the grant.
type Tranche struct {
	ID            string         `json:"id"`
	Number        int            `json:"number"`
	Trigger       TrancheTrigger `json:"trigger"`
	Percent       int            `json:"percent"`
	AmountCents   int64          `json:"amount_cents"`
	Currency      string         `json:"currency"`
	Status        TrancheStatus  `json:"status"`
	DueAt         *time.Time     `json:"due_at,omitempty"`
	ApprovedBy    string         `json:"approved_by,omitempty"`
	ApprovedAt    *time.Time     `json:"approved_at,omitempty"`
	PaidBy        string         `json:"paid_by,omitempty"`
	PaidAt        *time.Time     `json:"paid_at,omitempty"`
	BankReference string         `json:"bank_reference,omitempty"`
	// CostsIncurredCents and RequestedBy: a drawdown's costs incurred so far
	// as the group stated them, and who requested it.
	CostsIncurredCents int64  `json:"costs_incurred_cents,omitempty"`
	RequestedBy        string `json:"requested_by,omitempty"`
	// ExportBatch is the payment file that carries the tranche (exported by
	// ExportedBy, never its approver); kept once paid, cleared when the bank
	// returns it.
	ExportBatch string     `json:"export_batch,omitempty"`
	ExportedBy  string     `json:"exported_by,omitempty"`
	ExportedAt  *time.Time `json:"exported_at,omitempty"`
	// Attempts counts payments made (a returned payment may be paid again);
	// it keys the ledger entries so each payment is applied exactly once.
	Attempts int `json:"attempts"`
	Failures int `json:"failures"`
}

// Report is an interim or final report of an active grant.
type Report struct {
	ID               string       `json:"id"`
	Kind             ReportKind   `json:"kind"`
	Status           ReportStatus `json:"status"`
	Narrative        string       `json:"narrative"`
	ActualCostsCents int64        `json:"actual_costs_cents"`
	// Costs are the actual costs by category (a final report against a
	// cost plan); Recognised what the assessment recognised of them, and
	// RecognisedCostsCents the eligible total the settlement used.
	Costs                []CostLine       `json:"costs,omitempty"`
	Recognised           []RecognisedCost `json:"recognised,omitempty"`
	RecognisedCostsCents int64            `json:"recognised_costs_cents,omitempty"`
	SubmittedBy          string           `json:"submitted_by"`
	SubmittedAt          time.Time        `json:"submitted_at"`
	AssessedBy           string           `json:"assessed_by,omitempty"`
	AssessedAt           *time.Time       `json:"assessed_at,omitempty"`
	Comment              string           `json:"comment,omitempty"`
}

// Next is what is expected next, from whom, by when.
type Next struct {
	Action string     `json:"action"`
	From   Role       `json:"from"`
	By     *time.Time `json:"by,omitempty"`
	// Yours marks what is expected of the viewer (set when read, not stored).
	Yours bool `json:"yours,omitempty"`
}

// NextDue is the earliest date by which one of the next steps is expected
// (nil if none has a date).
func (s ApplicationState) NextDue() *time.Time {
	var due *time.Time
	for _, n := range s.Next {
		if n.By != nil && (due == nil || n.By.Before(*due)) {
			t := n.By.UTC()
			due = &t
		}
	}
	return due
}

// Overdue is what of the next steps is expected before t.
func (s ApplicationState) Overdue(t time.Time) []Next {
	var out []Next
	for _, n := range s.Next {
		if n.By != nil && n.By.Before(t) {
			out = append(out, n)
		}
	}
	return out
}

// Event is one transition or action in the audit trail.
type Event struct {
	Seq    int64     `json:"seq"`
	Kind   string    `json:"kind"`
	From   Status    `json:"from,omitempty"`
	To     Status    `json:"to,omitempty"`
	Actor  Actor     `json:"actor"`
	Detail string    `json:"detail,omitempty"`
	At     time.Time `json:"at"`
}

// The contracts of the activities the workflow drives. One input and one
// result struct each, so fields can be added without breaking histories.

// ProjectInput writes one event and the state after it.
type ProjectInput struct {
	State ApplicationState `json:"state"`
	Event Event            `json:"event"`
}

// ApplyInput is everything one action (or one clock) changed, written in one
// database transaction after the workflow has made the action durable: the
// budget releases and payments it moves, its audit events, and the
// application's state after them. Keyed by what it carries (events by
// sequence, releases by key, payments by tranche and attempt), so applying it
// twice changes nothing the second time.
type ApplyInput struct {
	State    ApplicationState `json:"state"`
	Events   []Event          `json:"events"`
	Releases []ReleaseInput   `json:"releases,omitempty"`
	Payments []PaymentInput   `json:"payments,omitempty"`
	// Repayments are payments received on a repayment demand.
	Repayments []RepaymentInput `json:"repayments,omitempty"`
}

// ApplyResult names the waitlisted applications the releases promoted, oldest
// first; their reservations are already made.
type ApplyResult struct {
	Promoted []string `json:"promoted,omitempty"`
	// Notifications are the ids of the notifications the write filed that
	// are still to be e-mailed (workflow version "notifications" sends them).
	Notifications []string `json:"notifications,omitempty"`
	// Webhooks are the webhook deliveries it filed that are still to send.
	Webhooks []string `json:"webhooks,omitempty"`
}

// DeliverInput names the notifications to e-mail.
type DeliverInput struct {
	Notifications []string `json:"notifications"`
	Webhooks      []string `json:"webhooks,omitempty"`
}

// StateAidCheckInput asks the state-aid register whether a grant's new
// split of aid fits every member's ceiling (an amendment changing partners).
type StateAidCheckInput struct {
	ApplicationID string        `json:"application_id"`
	Claim         StateAidClaim `json:"claim"`
	At            time.Time     `json:"at"`
}

// ReserveInput reserves the grant in the programme ledger, or waitlists it.
type ReserveInput struct {
	ProgrammeID   string    `json:"programme_id"`
	ApplicationID string    `json:"application_id"`
	AmountCents   int64     `json:"amount_cents"`
	At            time.Time `json:"at"`
	// StateAid, when set (workflow version "state-aid-register"), is checked
	// against the state-aid register before anything is reserved, and
	// recorded in it with the reservation or the waitlist entry.
	StateAid *StateAidClaim `json:"state_aid,omitempty"`
}

// StateAidClaim is the de-minimis aid a grant gives each member.
type StateAidClaim struct {
	CeilingCents int64      `json:"ceiling_cents"`
	Shares       []AidShare `json:"shares"`
}

// AidShare is one member's part of a grant, with the prior aid it declared.
type AidShare struct {
	// Member is the member's index in the group (for the error's field).
	Member         int    `json:"member"`
	OrganisationID string `json:"organisation_id"`
	Name           string `json:"name"`
	PriorCents     int64  `json:"prior_cents"`
	AmountCents    int64  `json:"amount_cents"`
}

// ReserveResult says whether the fund covered the grant.
type ReserveResult struct {
	Reserved bool `json:"reserved"`
	// StateAid lists the members whose de-minimis ceiling the grant would
	// break, counting what this fund granted them meanwhile; nothing was
	// reserved or waitlisted.
	StateAid []FieldError `json:"state_aid,omitempty"`
}

// ReleaseInput releases an application's reservation: all that remains
// reserved (All) or AmountCents of it, and leaves the waitlist. Key makes it
// idempotent.
type ReleaseInput struct {
	ProgrammeID   string    `json:"programme_id"`
	ApplicationID string    `json:"application_id"`
	Key           string    `json:"key"`
	All           bool      `json:"all"`
	AmountCents   int64     `json:"amount_cents"`
	At            time.Time `json:"at"`
}

// ReleaseResult names the waitlisted applications promoted by the release,
// oldest first; their reservations are already made.
type ReleaseResult struct {
	ReleasedCents int64    `json:"released_cents"`
	Promoted      []string `json:"promoted"`
}

// PaymentInput records a paid (or, with Reverse, a returned) tranche.
type PaymentInput struct {
	ProgrammeID   string    `json:"programme_id"`
	ApplicationID string    `json:"application_id"`
	TrancheID     string    `json:"tranche_id"`
	Attempt       int       `json:"attempt"`
	AmountCents   int64     `json:"amount_cents"`
	Reverse       bool      `json:"reverse"`
	At            time.Time `json:"at"`
}

// PaymentResult says whether this call applied the payment (false: it had
// been applied before, nothing changed).
type PaymentResult struct {
	Applied bool `json:"applied"`
}

// PromotedSignal tells a waitlisted application its grant is now reserved.
type PromotedSignal struct {
	AmountCents int64 `json:"amount_cents"`
}

// RepaymentInput records money a group paid back on a repayment demand.
type RepaymentInput struct {
	ApplicationID string    `json:"application_id"`
	BankReference string    `json:"bank_reference"`
	AmountCents   int64     `json:"amount_cents"`
	At            time.Time `json:"at"`
	// ProgrammeID and InterestCents are set by the workflow's demands
	// (version "repayment-demands"): AmountCents is then the principal
	// repaid, InterestCents the interest in the same payment.
	ProgrammeID   string `json:"programme_id,omitempty"`
	InterestCents int64  `json:"interest_cents,omitempty"`
}
