package store

import (
	"context"
	"fmt"
	"time"

	"reallabor/models"
)

// Call is one call for applications within a programme.
type Call struct {
	ID               string     `gorm:"primaryKey" json:"id"`
	ProgrammeID      string     `json:"programme_id"`
	Title            string     `json:"title"`
	OpensAt          time.Time  `json:"opens_at"`
	ClosesAt         time.Time  `json:"closes_at"`
	ClosedAt         *time.Time `json:"closed_at,omitempty"`
	BudgetShareCents int64      `json:"budget_share_cents,omitempty"`
	// RulesJSON is what the call overrides of the programme's rules.
	RulesJSON string    `gorm:"column:rules" json:"-"`
	CreatedAt time.Time `json:"created_at"`
}

// TableName is the calls' table.
func (Call) TableName() string { return "calls" }

// Closes is when the call stops taking applications: its end, or earlier
// if it was closed early.
func (c Call) Closes() time.Time {
	if c.ClosedAt != nil && c.ClosedAt.Before(c.ClosesAt) {
		return *c.ClosedAt
	}
	return c.ClosesAt
}

// OpenAt reports whether the call takes applications at t.
func (c Call) OpenAt(t time.Time) bool { return !t.Before(c.OpensAt) && t.Before(c.Closes()) }

// CreateCall stores a call (a repeat with the same id finds the first).
func (s *Store) CreateCall(ctx context.Context, c *Call) error {
	if old, err := s.Call(ctx, c.ProgrammeID, c.ID); err == nil {
		*c = old
		return nil
	}
	if err := s.DB.WithContext(ctx).Create(c).Error; err != nil {
		return fmt.Errorf("create call: %w", classifyDB(err))
	}
	return nil
}

// SaveCall stores a call's changed title, dates, budget share and rules.
func (s *Store) SaveCall(ctx context.Context, c Call) error {
	res := s.DB.WithContext(ctx).Model(&Call{}).Where("programme_id = ? AND id = ?", c.ProgrammeID, c.ID).
		Updates(map[string]any{"title": c.Title, "opens_at": c.OpensAt.UTC(), "closes_at": c.ClosesAt.UTC(),
			"budget_share_cents": c.BudgetShareCents, "rules": c.RulesJSON})
	if res.Error != nil {
		return fmt.Errorf("save call %s: %w", c.ID, classifyDB(res.Error))
	}
	return nil
}

// Call is one call of a programme.
func (s *Store) Call(ctx context.Context, programmeID, id string) (Call, error) {
	var c Call
	if err := s.DB.WithContext(ctx).Where("programme_id = ? AND id = ?", programmeID, id).First(&c).Error; err != nil {
		return c, fmt.Errorf("call %s: %w", id, translate(err))
	}
	return c, nil
}

// Calls lists a programme's calls, by opening date.
func (s *Store) Calls(ctx context.Context, programmeID string) ([]Call, error) {
	var out []Call
	if err := s.DB.WithContext(ctx).Where("programme_id = ?", programmeID).Order("opens_at, id").Limit(1000).
		Find(&out).Error; err != nil {
		return nil, fmt.Errorf("calls of %s: %w", programmeID, err)
	}
	return out, nil
}

// HasCalls reports whether a programme takes applications through calls.
func (s *Store) HasCalls(ctx context.Context, programmeID string) (bool, error) {
	var n int64
	if err := s.DB.WithContext(ctx).Model(&Call{}).Where("programme_id = ?", programmeID).Limit(1).Count(&n).Error; err != nil {
		return false, fmt.Errorf("calls of %s: %w", programmeID, err)
	}
	return n > 0, nil
}

// CloseCall closes a call early, at t; a call closed or ended already is a
// conflict.
func (s *Store) CloseCall(ctx context.Context, programmeID, id string, t time.Time) (Call, error) {
	res := s.DB.WithContext(ctx).Model(&Call{}).
		Where("programme_id = ? AND id = ? AND closed_at IS NULL AND closes_at > ?", programmeID, id, t.UTC()).
		Update("closed_at", t.UTC())
	if res.Error != nil {
		return Call{}, fmt.Errorf("close call %s: %w", id, classifyDB(res.Error))
	}
	c, err := s.Call(ctx, programmeID, id)
	if err != nil {
		return c, err
	}
	if res.RowsAffected == 0 {
		return c, fmt.Errorf("the call closed at %s: %w", c.Closes().Format(time.RFC3339), models.ErrConflict)
	}
	return c, nil
}
