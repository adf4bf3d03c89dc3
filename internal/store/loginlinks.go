package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"reallabor/models"
)

// LoginLink is a one-time sign-in link: ID is the hash of its secret.
type LoginLink struct {
	ID        string `gorm:"primaryKey"`
	UserID    string
	CreatedAt time.Time
	ExpiresAt time.Time
	UsedAt    *time.Time
}

// TableName is the links' table.
func (LoginLink) TableName() string { return "login_links" }

// ActiveUsersByEmail are the active users with that e-mail address (case
// does not count).
func (s *Store) ActiveUsersByEmail(ctx context.Context, email string) ([]models.User, error) {
	var out []models.User
	if err := s.DB.WithContext(ctx).Where("LOWER(email) = ? AND deactivated_at IS NULL", strings.ToLower(strings.TrimSpace(email))).
		Order("id").Find(&out).Error; err != nil {
		return nil, fmt.Errorf("users by e-mail: %w", err)
	}
	return out, nil
}

// RecentLoginLinks counts the user's links made since t (a throttle).
func (s *Store) RecentLoginLinks(ctx context.Context, userID string, since time.Time) (int64, error) {
	var n int64
	err := s.DB.WithContext(ctx).Model(&LoginLink{}).Where("user_id = ? AND created_at > ?", userID, since.UTC()).Count(&n).Error
	return n, err
}

// CreateLoginLink stores a link.
func (s *Store) CreateLoginLink(ctx context.Context, l LoginLink) error {
	l.CreatedAt, l.ExpiresAt = l.CreatedAt.UTC(), l.ExpiresAt.UTC()
	if err := s.DB.WithContext(ctx).Create(&l).Error; err != nil {
		return fmt.Errorf("create login link: %w", err)
	}
	return nil
}

// UseLoginLink spends the link with that hash at now and returns its
// user: once only, before it expires (models.ErrNotFound otherwise, for an
// unknown, used or expired link alike).
func (s *Store) UseLoginLink(ctx context.Context, hash string, now time.Time) (string, error) {
	var l LoginLink
	res := s.DB.WithContext(ctx).Model(&LoginLink{}).Where("id = ? AND used_at IS NULL AND expires_at > ?", hash, now.UTC()).
		Update("used_at", now.UTC())
	if res.Error != nil {
		return "", fmt.Errorf("use login link: %w", res.Error)
	}
	if res.RowsAffected != 1 {
		return "", fmt.Errorf("login link: %w", models.ErrNotFound)
	}
	if err := s.DB.WithContext(ctx).First(&l, "id = ?", hash).Error; err != nil {
		return "", fmt.Errorf("login link: %w", err)
	}
	return l.UserID, nil
}
