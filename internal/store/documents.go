package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"

	"reallabor/models"
)

// Document is one file attached to an application (or one of its reports).
type Document struct {
	ID            string    `gorm:"primaryKey" json:"id"`
	ApplicationID string    `json:"application_id"`
	ReportID      string    `json:"report_id,omitempty"`
	AmendmentID   string    `json:"amendment_id,omitempty"`
	Kind          string    `json:"kind"`
	Filename      string    `json:"filename"`
	ContentType   string    `json:"content_type"`
	SizeBytes     int64     `json:"size_bytes"`
	SHA256        string    `gorm:"column:sha256" json:"sha256"`
	UploadedBy    string    `json:"uploaded_by"`
	UploadedAt    time.Time `json:"uploaded_at"`
}

// DocumentKinds are the kinds of document an application carries.
var DocumentKinds = []string{"proposal", "agreement", "receipt", "report", "amendment", "other"}

// SameDocument finds the document with the same content, kind and report on
// the application (an upload sent twice is stored once).
func (s *Store) SameDocument(ctx context.Context, d Document) (Document, bool, error) {
	var out Document
	err := s.DB.WithContext(ctx).Where("application_id = ? AND report_id = ? AND amendment_id = ? AND kind = ? AND sha256 = ?",
		d.ApplicationID, d.ReportID, d.AmendmentID, d.Kind, d.SHA256).First(&out).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return out, false, nil
	}
	if err != nil {
		return out, false, fmt.Errorf("find document: %w", err)
	}
	return out, true, nil
}

// AddDocument records a document whose bytes are stored.
func (s *Store) AddDocument(ctx context.Context, d Document) error {
	if err := s.DB.WithContext(ctx).Create(&d).Error; err != nil {
		return fmt.Errorf("record document %s: %w", d.ID, translate(err))
	}
	return nil
}

// Documents lists an application's documents, oldest first.
func (s *Store) Documents(ctx context.Context, applicationID string) ([]Document, error) {
	out := []Document{}
	if err := s.DB.WithContext(ctx).Where("application_id = ?", applicationID).
		Order("uploaded_at, id").Find(&out).Error; err != nil {
		return nil, fmt.Errorf("list documents of %s: %w", applicationID, err)
	}
	return out, nil
}

// Document is one document of an application.
func (s *Store) Document(ctx context.Context, applicationID, id string) (Document, error) {
	var d Document
	err := s.DB.WithContext(ctx).Where("application_id = ? AND id = ?", applicationID, id).First(&d).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return d, fmt.Errorf("document %s: %w", id, models.ErrNotFound)
	}
	if err != nil {
		return d, fmt.Errorf("document %s: %w", id, err)
	}
	return d, nil
}
