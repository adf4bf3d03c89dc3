package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"reallabor/models"
)

// CreateProgramme inserts a programme.
func (s *Store) CreateProgramme(ctx context.Context, p *models.Programme) error {
	if err := s.DB.WithContext(ctx).Create(p).Error; err != nil {
		return fmt.Errorf("create programme: %w", err)
	}
	return nil
}

// Programme returns one programme.
func (s *Store) Programme(ctx context.Context, id string) (models.Programme, error) {
	return s.Ledger(ctx, id)
}

// Programmes lists programmes, newest first.
func (s *Store) Programmes(ctx context.Context) ([]models.Programme, error) {
	var out []models.Programme
	if err := s.DB.WithContext(ctx).Order("created_at DESC, id").Find(&out).Error; err != nil {
		return nil, fmt.Errorf("list programmes: %w", err)
	}
	return out, nil
}

// CreateUser inserts a user and, if u.TokenHash is set, its first token
// (named "default"), in one transaction.
func (s *Store) CreateUser(ctx context.Context, u *models.User) error {
	hash := u.TokenHash
	err := s.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		u.TokenHash = "user:" + u.ID
		if err := tx.Create(u).Error; err != nil {
			return err
		}
		if hash == "" {
			return nil
		}
		return tx.Create(&models.Token{ID: "tok-" + u.ID, UserID: u.ID, Name: "default", Hash: hash, CreatedAt: u.CreatedAt}).Error
	})
	if err != nil {
		return fmt.Errorf("create user: %w", classifyDB(err))
	}
	return nil
}

// UserByTokenHash finds the user a token belongs to and the token; a
// revoked token is not found, an expired one is (the caller says so).
func (s *Store) UserByTokenHash(ctx context.Context, hash string) (models.User, models.Token, error) {
	// One round trip: the token and its user together.
	var r struct {
		models.User
		TokenID         string
		TokenName       string
		TokenCreatedAt  time.Time
		TokenExpiresAt  *time.Time
		TokenLastUsedAt *time.Time
	}
	res := s.DB.WithContext(ctx).Raw(`SELECT users.*, tokens.id AS token_id, tokens.name AS token_name,
		tokens.created_at AS token_created_at, tokens.expires_at AS token_expires_at, tokens.last_used_at AS token_last_used_at
		FROM tokens JOIN users ON users.id = tokens.user_id
		WHERE tokens.hash = ? AND tokens.revoked_at IS NULL`, hash).Scan(&r)
	if res.Error != nil {
		return models.User{}, models.Token{}, fmt.Errorf("token: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		return models.User{}, models.Token{}, fmt.Errorf("token: %w", models.ErrNotFound)
	}
	tok := models.Token{ID: r.TokenID, UserID: r.User.ID, Name: r.TokenName, Hash: hash, CreatedAt: r.TokenCreatedAt,
		ExpiresAt: r.TokenExpiresAt, LastUsedAt: r.TokenLastUsedAt}
	return r.User, tok, nil
}

// Tokens lists a user's tokens, revoked ones too, oldest first.
func (s *Store) Tokens(ctx context.Context, userID string) ([]models.Token, error) {
	var out []models.Token
	if err := s.DB.WithContext(ctx).Where("user_id = ?", userID).Order("created_at, id").Find(&out).Error; err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	return out, nil
}

// Token returns one of a user's tokens.
func (s *Store) Token(ctx context.Context, userID, id string) (models.Token, error) {
	var t models.Token
	if err := s.DB.WithContext(ctx).First(&t, "id = ? AND user_id = ?", id, userID).Error; err != nil {
		return t, fmt.Errorf("token %s: %w", id, translate(err))
	}
	return t, nil
}

// SaveToken inserts a token or replaces it by id (a re-driven create under
// the same Idempotency-Key gives the same token a fresh secret).
func (s *Store) SaveToken(ctx context.Context, t *models.Token) error {
	if err := s.DB.WithContext(ctx).Save(t).Error; err != nil {
		return fmt.Errorf("save token: %w", classifyDB(err))
	}
	return nil
}

// RevokeTokens revokes one token of the user (id), or every one (id "");
// revoking twice keeps the first time.
func (s *Store) RevokeTokens(ctx context.Context, userID, id string, at time.Time) error {
	q := s.DB.WithContext(ctx).Model(&models.Token{}).Where("user_id = ? AND revoked_at IS NULL", userID)
	if id != "" {
		q = q.Where("id = ?", id)
	}
	if err := q.Update("revoked_at", at.UTC()).Error; err != nil {
		return fmt.Errorf("revoke tokens of %s: %w", userID, err)
	}
	return nil
}

// ReplaceTokens revokes every token of the user and files t, in one
// transaction: a lost or leaked credential is started over.
func (s *Store) ReplaceTokens(ctx context.Context, t *models.Token) error {
	err := s.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Model(&models.Token{}).Where("user_id = ? AND revoked_at IS NULL", t.UserID).
			Update("revoked_at", t.CreatedAt.UTC()).Error; err != nil {
			return err
		}
		return tx.Save(t).Error
	})
	if err != nil {
		return fmt.Errorf("replace tokens of %s: %w", t.UserID, classifyDB(err))
	}
	return nil
}

// TouchToken records a token's use at (kept to the minute by the caller).
func (s *Store) TouchToken(ctx context.Context, id string, at time.Time) error {
	if err := s.DB.WithContext(ctx).Model(&models.Token{}).Where("id = ?", id).Update("last_used_at", at.UTC()).Error; err != nil {
		return fmt.Errorf("touch token %s: %w", id, err)
	}
	return nil
}

// Users lists users.
//
// A page: ids after after (the cursor), at most limit (0: all).
func (s *Store) Users(ctx context.Context, after string, limit int) ([]models.User, error) {
	var out []models.User
	q := s.DB.WithContext(ctx).Order("id")
	if after != "" {
		q = q.Where("id > ?", after)
	}
	if limit > 0 {
		q = q.Limit(limit)
	}
	if err := q.Find(&out).Error; err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	return out, nil
}

// Scope limits what a caller may see: a restricted scope sees only the
// applications of groups its organisation belongs to (none without one).
// Invited and declined partners are not part of the group: they see only
// their invitation (Invitations).
type Scope struct {
	Restricted     bool
	OrganisationID string
}

func (sc Scope) apply(q *gorm.DB, idColumn string) *gorm.DB {
	if !sc.Restricted {
		return q
	}
	return q.Where(idColumn+` IN (SELECT application_id FROM application_organisations
		WHERE organisation = ? AND confirmation IN ('', 'submitter', 'confirmed'))`, sc.OrganisationID)
}

// Application returns one application row, if the scope may see it.
func (s *Store) Application(ctx context.Context, id string, sc Scope) (models.ApplicationRecord, error) {
	var a models.ApplicationRecord
	q := sc.apply(s.DB.WithContext(ctx).Where("id = ?", id), "id")
	if err := q.First(&a).Error; err != nil {
		return a, fmt.Errorf("application %s: %w", id, translate(err))
	}
	return a, nil
}

// ApplicationFilter narrows a list of applications.
type ApplicationFilter struct {
	Status      string
	ProgrammeID string
	// Owing: only those with money demanded back and not yet repaid.
	Owing bool
	After string // cursor: the last id of the previous page
	Limit int
}

// Applications lists applications in id order (ids are time-ordered UUIDv7,
// so this is submission order), one page at a time.
func (s *Store) Applications(ctx context.Context, f ApplicationFilter, sc Scope) ([]models.ApplicationRecord, error) {
	q := sc.apply(s.DB.WithContext(ctx).Model(&models.ApplicationRecord{}), "id")
	if f.Status != "" {
		q = q.Where("status = ?", f.Status)
	}
	if f.ProgrammeID != "" {
		q = q.Where("programme_id = ?", f.ProgrammeID)
	}
	if f.Owing {
		q = q.Where("repayment_cents > repaid_cents")
	}
	if f.After != "" {
		q = q.Where("id > ?", f.After)
	}
	var out []models.ApplicationRecord
	if err := q.Order("id").Limit(f.Limit).Find(&out).Error; err != nil {
		return nil, fmt.Errorf("list applications: %w", err)
	}
	return out, nil
}

// Events returns an application's audit trail in order.
func (s *Store) Events(ctx context.Context, applicationID string) ([]models.EventRecord, error) {
	var out []models.EventRecord
	if err := s.DB.WithContext(ctx).Where("application_id = ?", applicationID).Order("seq").Find(&out).Error; err != nil {
		return nil, fmt.Errorf("events of %s: %w", applicationID, err)
	}
	return out, nil
}

// TrancheFilter narrows a list of disbursements.
type TrancheFilter struct {
	Status        string
	ProgrammeID   string
	ApplicationID string
	DueFrom       *time.Time // due at or after
	DueTo         *time.Time // due before
	// After is the cursor (the last id of the previous page); Limit the page
	// size (0: all).
	After string
	Limit int
}

func (f TrancheFilter) apply(q *gorm.DB) *gorm.DB {
	if f.Status != "" {
		q = q.Where("status = ?", f.Status)
	}
	if f.ProgrammeID != "" {
		q = q.Where("programme_id = ?", f.ProgrammeID)
	}
	if f.ApplicationID != "" {
		q = q.Where("application_id = ?", f.ApplicationID)
	}
	if f.DueFrom != nil {
		q = q.Where("due_at >= ?", *f.DueFrom)
	}
	if f.DueTo != nil {
		q = q.Where("due_at < ?", *f.DueTo)
	}
	return q
}

// TrancheTotal is the count and sum of the tranches of one status.
type TrancheTotal struct {
	Status      string
	Count       int64
	AmountCents int64
}

// TrancheTotals sums the tranches a filter matches (every page), by status.
func (s *Store) TrancheTotals(ctx context.Context, f TrancheFilter) ([]TrancheTotal, error) {
	var out []TrancheTotal
	q := f.apply(s.DB.WithContext(ctx).Model(&models.TrancheRecord{}))
	if err := q.Select("status, COUNT(*) AS count, COALESCE(SUM(amount_cents), 0) AS amount_cents").Group("status").
		Scan(&out).Error; err != nil {
		return nil, fmt.Errorf("disbursement totals: %w", err)
	}
	return out, nil
}

// Tranches lists disbursements.
func (s *Store) Tranches(ctx context.Context, f TrancheFilter) ([]models.TrancheRecord, error) {
	q := f.apply(s.DB.WithContext(ctx).Model(&models.TrancheRecord{}))
	if f.After != "" {
		q = q.Where("id > ?", f.After)
	}
	if f.Limit > 0 {
		q = q.Limit(f.Limit)
	}
	var out []models.TrancheRecord
	if err := q.Order("id").Find(&out).Error; err != nil {
		return nil, fmt.Errorf("list disbursements: %w", err)
	}
	return out, nil
}

// Tranche returns one disbursement.
func (s *Store) Tranche(ctx context.Context, id string) (models.TrancheRecord, error) {
	var t models.TrancheRecord
	if err := s.DB.WithContext(ctx).First(&t, "id = ?", id).Error; err != nil {
		return t, fmt.Errorf("disbursement %s: %w", id, translate(err))
	}
	return t, nil
}

// IdempotencyRecord is a remembered response to a POST with an Idempotency-Key.
type IdempotencyRecord struct {
	UserID      string `gorm:"primaryKey"`
	Key         string `gorm:"primaryKey"`
	RequestHash string
	StatusCode  int
	Response    string
	ContentType string
	Location    string
	CreatedAt   time.Time
	// LeaseUntil is how long an unfinished claim holds the key unless its
	// request renews it (RenewIdempotencyKey).
	LeaseUntil *time.Time
}

// TableName is the table of IdempotencyRecord.
func (IdempotencyRecord) TableName() string { return "idempotency_keys" }

// ClaimLease is how long a claim holds its key without being renewed; the
// request that holds it renews it every ClaimLease/3.
const ClaimLease = 6 * time.Second

// legacyClaim is how long a claim made before leases existed holds its key.
const legacyClaim = 2 * time.Minute

// ClaimIdempotencyKey claims a key for a request. It returns the stored record
// and found=true if the key was used before (StatusCode 0: still in flight).
// A claim of the same request whose lease ran out (its process died) is taken
// over: the caller runs the request again, which is safe because what it
// drives is keyed by the same Idempotency-Key (Temporal update ids,
// application, user and programme ids).
func (s *Store) ClaimIdempotencyKey(ctx context.Context, userID, key, hash string) (IdempotencyRecord, bool, error) {
	// Microseconds: the claim is later matched by its time on every database.
	now := time.Now().UTC().Truncate(time.Microsecond)
	lease := now.Add(ClaimLease)
	rec := IdempotencyRecord{UserID: userID, Key: key, RequestHash: hash, CreatedAt: now, LeaseUntil: &lease}
	res := s.DB.WithContext(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(&rec)
	if res.Error != nil {
		return rec, false, fmt.Errorf("claim idempotency key: %w", res.Error)
	}
	if res.RowsAffected == 1 {
		return rec, false, nil
	}
	var old IdempotencyRecord
	if err := s.DB.WithContext(ctx).First(&old, "user_id = ? AND key = ?", userID, key).Error; err != nil {
		return old, false, fmt.Errorf("read idempotency key: %w", err)
	}
	stale := old.LeaseUntil != nil && old.LeaseUntil.Before(now) ||
		old.LeaseUntil == nil && now.Sub(old.CreatedAt) > legacyClaim
	if old.StatusCode == 0 && old.RequestHash == hash && stale {
		res := s.DB.WithContext(ctx).Model(&IdempotencyRecord{}).
			Where("user_id = ? AND key = ? AND status_code = 0 AND created_at = ?", userID, key, old.CreatedAt).
			Updates(map[string]any{"created_at": now, "lease_until": lease})
		if res.Error != nil {
			return old, false, fmt.Errorf("take over idempotency key: %w", res.Error)
		}
		if res.RowsAffected == 1 {
			return rec, false, nil
		}
		return s.ClaimIdempotencyKey(ctx, userID, key, hash)
	}
	return old, true, nil
}

// RenewIdempotencyKey extends the lease of a claim still held by the request
// that made it (claimedAt is the claim's time).
func (s *Store) RenewIdempotencyKey(ctx context.Context, userID, key string, claimedAt time.Time) error {
	lease := time.Now().UTC().Add(ClaimLease)
	return s.DB.WithContext(ctx).Model(&IdempotencyRecord{}).
		Where("user_id = ? AND key = ? AND created_at = ? AND status_code = 0", userID, key, claimedAt).
		Update("lease_until", lease).Error
}

// CompleteIdempotencyKey stores the response for a claimed key (only if the
// claim is still this request's: rec.CreatedAt is the claim's time).
func (s *Store) CompleteIdempotencyKey(ctx context.Context, rec IdempotencyRecord) error {
	return s.DB.WithContext(ctx).Model(&IdempotencyRecord{}).
		Where("user_id = ? AND key = ? AND created_at = ? AND status_code = 0", rec.UserID, rec.Key, rec.CreatedAt).
		Updates(map[string]any{"status_code": rec.StatusCode, "response": rec.Response,
			"content_type": rec.ContentType, "location": rec.Location}).Error
}

// ReleaseIdempotencyKey forgets a claimed key whose request failed, so the
// client may retry with it.
func (s *Store) ReleaseIdempotencyKey(ctx context.Context, userID, key string, claimedAt time.Time) error {
	return s.DB.WithContext(ctx).Where("user_id = ? AND key = ? AND status_code = 0 AND created_at = ?", userID, key, claimedAt).
		Delete(&IdempotencyRecord{}).Error
}

// SaveUser updates a user (tokens are not part of it).
func (s *Store) SaveUser(ctx context.Context, u *models.User) error {
	if err := s.DB.WithContext(ctx).Omit("token_hash", "created_at").Save(u).Error; err != nil {
		return fmt.Errorf("save user: %w", err)
	}
	return nil
}

// User returns one user.
func (s *Store) User(ctx context.Context, id string) (models.User, error) {
	var u models.User
	if err := s.DB.WithContext(ctx).First(&u, "id = ?", id).Error; err != nil {
		return u, fmt.Errorf("user %s: %w", id, translate(err))
	}
	return u, nil
}

// ExportCandidates lists the approved tranches no payment file has carried
// yet, optionally of one programme.
//
// Tranches exporter approved are left out (four eyes: another finance user
// makes the file); the workflow refuses them too.
func (s *Store) ExportCandidates(ctx context.Context, programmeID, exporter string) ([]models.TrancheRecord, error) {
	q := s.DB.WithContext(ctx).Model(&models.TrancheRecord{}).Where("status = ? AND approved_at IS NOT NULL", models.TrancheApproved).
		Where("approved_by <> ?", exporter).
		Where("NOT EXISTS (SELECT 1 FROM payment_exports e WHERE e.tranche_id = tranches.id AND e.approved_at = tranches.approved_at)")
	if programmeID != "" {
		q = q.Where("programme_id = ?", programmeID)
	}
	var out []models.TrancheRecord
	if err := q.Order("programme_id, application_id, number").Find(&out).Error; err != nil {
		return nil, fmt.Errorf("export candidates: %w", err)
	}
	return out, nil
}

// ClaimForExport lists the given tranches' current approvals under batchID
// in the export history, all or none, once their workflows hold them as
// exported in that batch (the projection says so); if one is not, nothing is
// recorded and ErrExportRace returned.
func (s *Store) ClaimForExport(ctx context.Context, trancheIDs []string, batchID, userID string, at time.Time) error {
	err := s.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		for _, id := range trancheIDs {
			res := tx.Exec(`INSERT INTO payment_exports (tranche_id, approved_at, batch_id, exported_by, created_at)
				SELECT id, approved_at, ?, ?, ? FROM tranches WHERE id = ? AND export_batch = ? AND approved_at IS NOT NULL
				ON CONFLICT DO NOTHING`, batchID, userID, at, id, batchID)
			if res.Error != nil {
				return res.Error
			}
			if res.RowsAffected != 1 {
				return fmt.Errorf("tranche %s: %w", id, ErrExportRace)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("claim disbursements for export: %w", err)
	}
	return nil
}

// ExportBatch returns the tranches an earlier payment file carried.
func (s *Store) ExportBatch(ctx context.Context, batchID string) ([]models.TrancheRecord, error) {
	var out []models.TrancheRecord
	err := s.DB.WithContext(ctx).Model(&models.TrancheRecord{}).
		Where("export_batch = ? OR id IN (SELECT tranche_id FROM payment_exports WHERE batch_id = ?)", batchID, batchID).
		Order("programme_id, application_id, number").Find(&out).Error
	if err != nil {
		return nil, fmt.Errorf("export batch %s: %w", batchID, err)
	}
	return out, nil
}

// OpenApplications counts the applications a user submitted to a programme
// that have not ended.
func (s *Store) OpenApplications(ctx context.Context, programmeID, userID string) (int64, error) {
	var final []string
	for _, st := range models.Statuses {
		if st.Final() {
			final = append(final, string(st))
		}
	}
	var n int64
	if err := s.DB.WithContext(ctx).Model(&models.ApplicationRecord{}).
		Where("programme_id = ? AND submitted_by = ? AND status NOT IN ?", programmeID, userID, final).Count(&n).Error; err != nil {
		return 0, fmt.Errorf("count open applications: %w", err)
	}
	return n, nil
}

// UnlistedExport finds a payment file that was made (its tranches are
// exported in their workflows under its batch id) but never handed out: the
// export request died before it recorded the batch. It returns the batch's
// id and tranches, or "" when there is none. An export completes it before it
// makes a new one, so no exported tranche is left without its file.
func (s *Store) UnlistedExport(ctx context.Context, programmeID string) (string, []models.TrancheRecord, error) {
	q := s.DB.WithContext(ctx).Model(&models.TrancheRecord{}).Where("status = ? AND export_batch <> ''", models.TrancheExported).
		Where("NOT EXISTS (SELECT 1 FROM payment_exports e WHERE e.tranche_id = tranches.id AND e.batch_id = tranches.export_batch)")
	if programmeID != "" {
		q = q.Where("programme_id = ?", programmeID)
	}
	var first models.TrancheRecord
	if err := q.Order("export_batch").Limit(1).Find(&first).Error; err != nil {
		return "", nil, fmt.Errorf("unlisted exports: %w", err)
	}
	if first.ID == "" {
		return "", nil, nil
	}
	var rows []models.TrancheRecord
	if err := s.DB.WithContext(ctx).Where("status = ? AND export_batch = ?", models.TrancheExported, first.ExportBatch).
		Order("programme_id, application_id, number").Find(&rows).Error; err != nil {
		return "", nil, fmt.Errorf("unlisted export %s: %w", first.ExportBatch, err)
	}
	return first.ExportBatch, rows, nil
}

// ErrExportRace says another export (or a payment) took a tranche meanwhile.
var ErrExportRace = errors.New("claimed by a concurrent export")

// ExportSummary is one payment file as finance sees it in the list.
type ExportSummary struct {
	BatchID     string    `json:"batch_id"`
	ProgrammeID string    `json:"programme_id"`
	ExportedBy  string    `json:"exported_by"`
	CreatedAt   time.Time `json:"created_at"`
	Count       int       `json:"count"`
	TotalCents  int64     `json:"total_cents"`
}

// ExportBatches lists the payment files made, newest first.
func (s *Store) ExportBatches(ctx context.Context, programmeID string) ([]ExportSummary, error) {
	q := s.DB.WithContext(ctx).Table("payment_exports e").Joins("JOIN tranches t ON t.id = e.tranche_id").
		// One batch has one time, one exporter and one programme: grouping by
		// them keeps the columns' types (SQLite parses times by column type).
		Select("e.batch_id, t.programme_id, e.exported_by, e.created_at, COUNT(*) AS count, SUM(t.amount_cents) AS total_cents").
		Group("e.batch_id, t.programme_id, e.exported_by, e.created_at")
	if programmeID != "" {
		q = q.Where("t.programme_id = ?", programmeID)
	}
	var out []ExportSummary
	if err := q.Order("e.created_at DESC, e.batch_id").Scan(&out).Error; err != nil {
		return nil, fmt.Errorf("list export batches: %w", err)
	}
	return out, nil
}

// EditProgramme sets a programme's name and rules (applications submitted
// afterwards get them).
func (s *Store) EditProgramme(ctx context.Context, id, name, rulesJSON string) error {
	res := s.DB.WithContext(ctx).Model(&models.Programme{}).Where("id = ?", id).
		Updates(map[string]any{"name": name, "rules": rulesJSON})
	if res.Error != nil {
		return fmt.Errorf("edit programme %s: %w", id, classifyDB(res.Error))
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("programme %s: %w", id, models.ErrNotFound)
	}
	return nil
}
