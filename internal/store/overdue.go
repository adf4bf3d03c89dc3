package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"

	"reallabor/models"
)

// OverdueFilter narrows the list of applications with something expected
// before a date.
type OverdueFilter struct {
	Before      time.Time // a next step is expected before this
	ProgrammeID string
	// After is the cursor: the previous page's last row.
	After *OverdueCursor
	Limit int
}

// OverdueCursor is where a page of the overdue list ends.
type OverdueCursor struct {
	DueAt time.Time
	ID    string
}

// String writes the cursor as the API hands it out.
func (c OverdueCursor) String() string { return c.DueAt.UTC().Format(time.RFC3339Nano) + "_" + c.ID }

// ParseOverdueCursor reads a cursor String wrote.
func ParseOverdueCursor(s string) (OverdueCursor, bool) {
	at, id, ok := strings.Cut(s, "_")
	if !ok || id == "" {
		return OverdueCursor{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, at)
	if err != nil {
		return OverdueCursor{}, false
	}
	return OverdueCursor{DueAt: t, ID: id}, true
}

// Overdue lists the applications the scope sees whose earliest next step is
// expected before f.Before, the longest overdue first, through the
// next_due_at index. An application whose steps have no date is not listed.
func (s *Store) Overdue(ctx context.Context, f OverdueFilter, sc Scope) ([]models.ApplicationRecord, error) {
	q := sc.apply(s.DB.WithContext(ctx).Model(&models.ApplicationRecord{}), "id").
		Where("next_due_at IS NOT NULL AND next_due_at < ?", f.Before.UTC())
	if f.ProgrammeID != "" {
		q = q.Where("programme_id = ?", f.ProgrammeID)
	}
	if c := f.After; c != nil {
		q = q.Where("(next_due_at > ? OR (next_due_at = ? AND id > ?))", c.DueAt.UTC(), c.DueAt.UTC(), c.ID)
	}
	var out []models.ApplicationRecord
	if err := q.Order("next_due_at, id").Limit(f.Limit).Find(&out).Error; err != nil {
		return nil, fmt.Errorf("list overdue applications: %w", err)
	}
	return out, nil
}

// backfillNextDue fills next_due_at of the rows written before the column
// existed, from their state. It finds nothing once they are filled: a row
// the projection writes carries it, and a state without a dated step holds
// no "by" (an ended application owing money keeps its dated "repay").
func (s *Store) backfillNextDue(ctx context.Context) error {
	return s.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var rows []models.ApplicationRecord
		if err := tx.Select("id", "state").Where(`next_due_at IS NULL AND state LIKE ?`, `%"by":%`).
			Find(&rows).Error; err != nil {
			return err
		}
		for _, r := range rows {
			var st models.ApplicationState
			if err := json.Unmarshal([]byte(r.State), &st); err != nil {
				return fmt.Errorf("state of %s: %w", r.ID, err)
			}
			if due := st.NextDue(); due != nil {
				if err := tx.Model(&models.ApplicationRecord{}).Where("id = ?", r.ID).Update("next_due_at", *due).Error; err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// backfillCalls fills call_id of the rows written before the column existed
// (a row the projection writes carries it; the call never changes).
func (s *Store) backfillCalls(ctx context.Context) error {
	return s.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var rows []models.ApplicationRecord
		if err := tx.Select("id", "state").Where(`call_id = '' AND state LIKE ?`, `%"call_id":"%`).Find(&rows).Error; err != nil {
			return err
		}
		for _, r := range rows {
			var st models.ApplicationState
			if err := json.Unmarshal([]byte(r.State), &st); err != nil {
				return fmt.Errorf("state of %s: %w", r.ID, err)
			}
			if st.CallID != "" {
				if err := tx.Model(&models.ApplicationRecord{}).Where("id = ?", r.ID).Update("call_id", st.CallID).Error; err != nil {
					return err
				}
			}
		}
		return nil
	})
}
