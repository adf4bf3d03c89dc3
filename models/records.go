package models

import "time"

// The rows the database holds: a projection of the workflows plus the
// programme ledger and users. GORM maps them by these tags; the schema itself
// comes from versioned migrations.

// Programme is a funding programme with its budget ledger.
type Programme struct {
	ID            string    `gorm:"primaryKey" json:"id"`
	Name          string    `json:"name"`
	Currency      string    `json:"currency"`
	RulesJSON     string    `gorm:"column:rules" json:"-"`
	BudgetCents   int64     `json:"budget_cents"`
	ReservedCents int64     `json:"reserved_cents"`
	PaidCents     int64     `json:"paid_cents"`
	ReleasedCents int64     `json:"released_cents"`
	DebtorName    string    `json:"debtor_name"`
	DebtorIBAN    string    `gorm:"column:debtor_iban" json:"debtor_iban"`
	DebtorBIC     string    `gorm:"column:debtor_bic" json:"debtor_bic"`
	Status        string    `json:"status"`
	CreatedAt     time.Time `json:"created_at"`
}

// AvailableCents is what the fund can still commit.
func (p Programme) AvailableCents() int64 { return p.BudgetCents - p.ReservedCents - p.PaidCents }

// User is a person with one role, acting for one organisation.
type User struct {
	ID           string `gorm:"primaryKey" json:"id"`
	Name         string `json:"name"`
	Role         Role   `json:"role"`
	Organisation string `json:"organisation"`
	// OrganisationID links the user to the registry (Organisation is its name).
	OrganisationID string `json:"organisation_id,omitempty"`
	// Email is where notifications are mailed ("" none); Language de or en.
	Email    string `json:"email,omitempty"`
	Language string `json:"language,omitempty"`
	// EmailMuted lists (comma-separated) the event kinds it wants no mail for.
	EmailMuted string `json:"-"`
	// TokenHash is the hash of the token a new user starts with (store.CreateUser
	// files it in tokens); the users.token_hash column itself only holds a
	// placeholder since tokens have their own table.
	TokenHash string    `json:"-"`
	CreatedAt time.Time `json:"created_at"`
	// DeactivatedAt: the user may not sign in (nil: active).
	DeactivatedAt *time.Time `json:"deactivated_at,omitempty"`
}

// Token is one of a user's bearer tokens: stored as a hash, named by its
// owner, with its last use (to the minute) and an optional expiry.
type Token struct {
	ID         string     `gorm:"primaryKey" json:"id"`
	UserID     string     `json:"user_id"`
	Name       string     `json:"name"`
	Hash       string     `json:"-"`
	CreatedAt  time.Time  `json:"created_at"`
	ExpiresAt  *time.Time `json:"expires_at,omitempty"`
	LastUsedAt *time.Time `json:"last_used_at,omitempty"`
	RevokedAt  *time.Time `json:"revoked_at,omitempty"`
}

// Usable reports whether the token still signs in at now.
func (t Token) Usable(now time.Time) bool {
	return t.RevokedAt == nil && (t.ExpiresAt == nil || now.Before(*t.ExpiresAt))
}

// Actor returns the user as the actor of an action.
func (u User) Actor() Actor {
	return Actor{UserID: u.ID, Name: u.Name, Role: u.Role, Organisation: u.Organisation, OrganisationID: u.OrganisationID}
}

// ApplicationRecord is the listed projection of one application workflow.
type ApplicationRecord struct {
	ID               string `gorm:"primaryKey"`
	ProgrammeID      string
	CallID           string // the call applied to ("" for none)
	Title            string
	Status           Status
	RequestedCents   int64
	GrantedCents     int64
	ReservedCents    int64
	PaidCents        int64
	RepaymentCents   int64 // demanded back
	RepaidCents      int64 // received back
	GroupName        string
	LeadOrganisation string
	PayeeName        string
	PayeeIBAN        string `gorm:"column:payee_iban"`
	PayeeBIC         string `gorm:"column:payee_bic"`
	SubmittedBy      string
	// NextDueAt is the earliest date by which a next step is expected (nil:
	// none has one): the overdue list's key.
	NextDueAt *time.Time
	Seq       int64
	// WriteEpoch is the state's (writes of an older epoch are refused).
	WriteEpoch int64
	State      string // the workflow's last state view, JSON
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// TableName is the table of ApplicationRecord.
func (ApplicationRecord) TableName() string { return "applications" }

// TrancheRecord is one disbursement row.
type TrancheRecord struct {
	ID            string `gorm:"primaryKey"`
	ApplicationID string
	ProgrammeID   string
	Number        int
	TriggerKind   TrancheTrigger
	AmountCents   int64
	Currency      string
	Status        TrancheStatus
	DueAt         *time.Time
	ApprovedBy    string
	ApprovedAt    *time.Time
	PaidBy        string
	PaidAt        *time.Time
	BankReference string
	ExportBatch   string
	Seq           int64
	UpdatedAt     time.Time
}

// TableName is the table of TrancheRecord.
func (TrancheRecord) TableName() string { return "tranches" }

// EventRecord is one entry of an application's audit trail.
type EventRecord struct {
	ApplicationID string `gorm:"primaryKey"`
	Seq           int64  `gorm:"primaryKey"`
	Kind          string
	FromStatus    string
	ToStatus      string
	ActorID       string
	ActorName     string
	ActorRole     string
	Detail        string
	At            time.Time
}

// TableName is the table of EventRecord.
func (EventRecord) TableName() string { return "events" }
