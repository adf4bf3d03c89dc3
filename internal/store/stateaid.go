package store

import (
	"context"
	"fmt"
	"slices"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"reallabor/models"
)

// DeMinimisPeriod is how far back de-minimis aid counts: three years
// (Regulation (EU) 2023/2831, a rolling period).
const DeMinimisPeriod = 3

// StateAid is one entry of the state-aid register: the de-minimis aid a
// grant of this fund gives one organisation.
type StateAid struct {
	ApplicationID    string    `json:"application_id"`
	OrganisationID   string    `json:"organisation_id"`
	ProgrammeID      string    `json:"programme_id"`
	OrganisationName string    `json:"organisation_name"`
	AmountCents      int64     `json:"amount_cents"`
	GrantedAt        time.Time `json:"granted_at"`
}

// TableName is the register's table.
func (StateAid) TableName() string { return "state_aid" }

// aidSince is where the de-minimis period of a grant made at t begins.
func aidSince(t time.Time) time.Time { return t.UTC().AddDate(-DeMinimisPeriod, 0, 0) }

// FundAid sums, per organisation, the aid this fund granted it in the three
// years before at (for eligibility at submission).
func (s *Store) FundAid(ctx context.Context, organisationIDs []string, at time.Time) (map[string]int64, error) {
	out := map[string]int64{}
	if len(organisationIDs) == 0 {
		return out, nil
	}
	var rows []struct {
		OrganisationID string
		Sum            int64
	}
	err := s.DB.WithContext(ctx).Model(&StateAid{}).Select("organisation_id, SUM(amount_cents) AS sum").
		Where("organisation_id IN ? AND granted_at > ?", organisationIDs, aidSince(at)).
		Group("organisation_id").Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("fund aid: %w", err)
	}
	for _, r := range rows {
		out[r.OrganisationID] = r.Sum
	}
	return out, nil
}

// StateAidFilter selects register entries.
type StateAidFilter struct {
	OrganisationID string
	ApplicationID  string
	Since, Until   time.Time
}

// StateAidEntries lists register entries, newest first.
func (s *Store) StateAidEntries(ctx context.Context, f StateAidFilter) ([]StateAid, error) {
	q := s.DB.WithContext(ctx).Model(&StateAid{})
	if f.OrganisationID != "" {
		q = q.Where("organisation_id = ?", f.OrganisationID)
	}
	if f.ApplicationID != "" {
		q = q.Where("application_id = ?", f.ApplicationID)
	}
	if !f.Since.IsZero() {
		q = q.Where("granted_at >= ?", f.Since.UTC())
	}
	if !f.Until.IsZero() {
		q = q.Where("granted_at < ?", f.Until.UTC())
	}
	var out []StateAid
	if err := q.Order("granted_at DESC, application_id, organisation_id").Limit(10000).Find(&out).Error; err != nil {
		return nil, fmt.Errorf("state aid: %w", err)
	}
	return out, nil
}

// lockAid serialises the de-minimis checks of one organisation across
// programmes (PostgreSQL; SQLite transactions are serial already).
func (s *Store) lockAid(tx *gorm.DB, organisationID string) error {
	if s.Dialect != Postgres {
		return nil
	}
	return tx.Exec("SELECT pg_advisory_xact_lock(hashtextextended(?, 0))", "state-aid:"+organisationID).Error
}

// checkStateAid checks a grant's shares against the register under each
// organisation's lock (taken in id order, so two checks cannot deadlock):
// prior aid + this fund's other grants of the period + the share must stay
// within the ceiling.
func (s *Store) checkStateAid(tx *gorm.DB, applicationID string, claim models.StateAidClaim, at time.Time) ([]models.FieldError, error) {
	ids := make([]string, 0, len(claim.Shares))
	for _, sh := range claim.Shares {
		if sh.OrganisationID != "" && !slices.Contains(ids, sh.OrganisationID) {
			ids = append(ids, sh.OrganisationID)
		}
	}
	slices.Sort(ids)
	for _, id := range ids {
		if err := s.lockAid(tx, id); err != nil {
			return nil, fmt.Errorf("lock state aid of %s: %w", id, err)
		}
	}
	var errs []models.FieldError
	for _, sh := range claim.Shares {
		if sh.OrganisationID == "" || sh.AmountCents <= 0 {
			continue
		}
		var granted int64
		err := tx.Model(&StateAid{}).Select("COALESCE(SUM(amount_cents), 0)").
			Where("organisation_id = ? AND application_id <> ? AND granted_at > ?", sh.OrganisationID, applicationID, aidSince(at)).
			Scan(&granted).Error
		if err != nil {
			return nil, fmt.Errorf("state aid of %s: %w", sh.OrganisationID, err)
		}
		if models.AidExceeds(claim.CeilingCents, sh.PriorCents, granted, sh.AmountCents) {
			errs = append(errs, models.FieldError{
				Field: fmt.Sprintf("group.members[%d].prior_de_minimis_cents", sh.Member),
				Message: fmt.Sprintf("%s: prior de-minimis aid %s plus this fund's grants of %s plus share %s exceeds the ceiling of %s (Regulation (EU) 2023/2831)",
					sh.Name, models.FormatEuro(sh.PriorCents), models.FormatEuro(granted), models.FormatEuro(sh.AmountCents),
					models.FormatEuro(claim.CeilingCents)),
			})
		}
	}
	return errs, nil
}

// recordStateAid files a grant's shares in the register (a repeat keeps
// the first date).
func recordStateAid(tx *gorm.DB, programmeID, applicationID string, claim models.StateAidClaim, at time.Time) error {
	for _, sh := range claim.Shares {
		if sh.OrganisationID == "" || sh.AmountCents <= 0 {
			continue
		}
		row := StateAid{ApplicationID: applicationID, OrganisationID: sh.OrganisationID, ProgrammeID: programmeID,
			OrganisationName: sh.Name, AmountCents: sh.AmountCents, GrantedAt: at.UTC()}
		if err := tx.Clauses(clause.OnConflict{
			Columns:   []clause.Column{{Name: "application_id"}, {Name: "organisation_id"}},
			DoUpdates: clause.AssignmentColumns([]string{"amount_cents", "organisation_name"}),
		}).Create(&row).Error; err != nil {
			return fmt.Errorf("state aid of %s: %w", sh.OrganisationID, err)
		}
	}
	return nil
}

// aidBase is the aid an application stands for in its state: the grant
// while it runs, the final grant once settled, what the group keeps when it
// ends early, nothing before approval or after a refusal.
func aidBase(st models.ApplicationState) int64 {
	switch st.Status {
	case models.StatusApproved, models.StatusWaitlisted, models.StatusActive:
		return st.GrantedCents
	case models.StatusClosed:
		if st.Settlement != nil {
			return st.Settlement.GrantCents
		}
		return st.GrantedCents
	case models.StatusWithdrawn, models.StatusCancelled, models.StatusLapsed:
		return max(st.PaidCents-st.RepaymentCents, 0)
	}
	return 0
}

// syncStateAid keeps an application's register entries in step with its
// state when it moves from one status to another: a withdrawal before
// payment takes them out, a settlement below the grant lowers them. Grants
// made before the register are filed at their next move, dated by the
// decision.
func syncStateAid(tx *gorm.DB, st models.ApplicationState, events []models.Event) error {
	moved := false
	for _, e := range events {
		// A status move, or an amendment (partners may have changed).
		moved = moved || e.From != "" || e.Kind == "amendment_approved"
	}
	if !moved {
		return nil
	}
	base := aidBase(st)
	var existing []StateAid
	if err := tx.Where("application_id = ?", st.ID).Find(&existing).Error; err != nil {
		return err
	}
	if base <= 0 {
		if len(existing) == 0 {
			return nil
		}
		return tx.Where("application_id = ?", st.ID).Delete(&StateAid{}).Error
	}
	granted := st.UpdatedAt
	if st.Decision != nil {
		granted = st.Decision.At
	}
	for _, e := range existing {
		granted = e.GrantedAt
	}
	claim := models.GrantAidClaim(base, st.Rules.DeMinimisCeilingCents, st.Proposal.Group.Members, st.FormerMembers)
	for i, sh := range claim.Shares {
		if sh.OrganisationID == "" { // a member named before the registry
			id, err := organisationFor(tx, sh.Name, st.UpdatedAt)
			if err != nil {
				return err
			}
			claim.Shares[i].OrganisationID = id
		}
	}
	if err := tx.Where("application_id = ?", st.ID).Delete(&StateAid{}).Error; err != nil {
		return err
	}
	return recordStateAid(tx, st.ProgrammeID, st.ID, claim, granted)
}

// CheckStateAid checks a grant's new split of de-minimis aid (an amendment
// changing the partners) against the register: the members over the
// ceiling, none if all fit. This grant's own entries do not count.
func (s *Store) CheckStateAid(ctx context.Context, applicationID string, claim models.StateAidClaim, at time.Time) ([]models.FieldError, error) {
	var errs []models.FieldError
	err := s.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var err error
		errs, err = s.checkStateAid(tx, applicationID, claim, at)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("check state aid of %s: %w", applicationID, classifyDB(err))
	}
	return errs, nil
}
