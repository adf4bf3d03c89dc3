package store

import (
	"context"
	"fmt"
	"time"
)

// Figures are the business figures the metrics show, read in one
// transaction: applications by programme and status, money by state,
// tranches by status and how many due ones are overdue, clock events
// (reminders, escalations, overdue) by kind, notifications by e-mail status.
type Figures struct {
	Applications  []CountBy // Key: programme id, Sub: status
	Money         []MoneyBy
	Tranches      []CountBy // Key: status
	TranchesLate  int64     // due before now and not paid
	ClockEvents   []CountBy // Key: event kind
	Notifications []CountBy // Key: e-mail status ("" to send)
}

// CountBy is one count of a breakdown.
type CountBy struct {
	Key string `gorm:"column:k"`
	Sub string `gorm:"column:sub"`
	N   int64
}

// MoneyBy is a programme's money by state, in cents.
type MoneyBy struct {
	ProgrammeID                            string
	Budget, Reserved, Paid, Released, Owed int64
}

// clockKinds are the audit events the clocks file.
var clockKinds = []string{"review_reminder", "review_escalated", "acceptance_reminder", "lapsed",
	"interim_report_reminder", "final_report_reminder", "interim_report_overdue", "final_report_overdue",
	"revision_deadline_passed", "repayment_reminder", "repayment_overdue", "repayment_dunning"}

// Figures reads the figures as of now.
func (s *Store) Figures(ctx context.Context, now time.Time) (Figures, error) {
	var f Figures
	tx := s.DB.WithContext(ctx).Begin()
	if tx.Error != nil {
		return f, fmt.Errorf("read figures: %w", tx.Error)
	}
	defer tx.Rollback()
	steps := []struct {
		what string
		run  func() error
	}{
		{"applications", func() error {
			return tx.Raw(`SELECT programme_id AS k, status AS sub, COUNT(*) AS n FROM applications GROUP BY programme_id, status`).Scan(&f.Applications).Error
		}},
		{"money", func() error {
			return tx.Raw(`SELECT p.id AS programme_id, p.budget_cents AS budget, p.reserved_cents AS reserved, p.paid_cents AS paid,
				p.released_cents AS released,
				COALESCE((SELECT SUM(a.repayment_cents - a.repaid_cents) FROM applications a
					WHERE a.programme_id = p.id AND a.repayment_cents > a.repaid_cents), 0) AS owed
				FROM programmes p`).Scan(&f.Money).Error
		}},
		{"tranches", func() error {
			return tx.Raw(`SELECT status AS k, COUNT(*) AS n FROM tranches GROUP BY status`).Scan(&f.Tranches).Error
		}},
		{"late tranches", func() error {
			return tx.Raw(`SELECT COUNT(*) FROM tranches WHERE status = 'due' AND due_at < ?`, now.UTC()).Scan(&f.TranchesLate).Error
		}},
		{"clock events", func() error {
			return tx.Raw(`SELECT kind AS k, COUNT(*) AS n FROM events WHERE kind IN ? GROUP BY kind`, clockKinds).Scan(&f.ClockEvents).Error
		}},
		{"notifications", func() error {
			return tx.Raw(`SELECT email_status AS k, COUNT(*) AS n FROM notifications GROUP BY email_status`).Scan(&f.Notifications).Error
		}},
	}
	for _, st := range steps {
		if err := st.run(); err != nil {
			return f, fmt.Errorf("read figures (%s): %w", st.what, err)
		}
	}
	return f, nil
}
