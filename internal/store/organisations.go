package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"reallabor/models"
)

// ErrRegistered reports that an organisation with that register number, or
// of that name without one to tell them apart, is in the registry already.
var ErrRegistered = errors.New("organisation registered already")

// CreateOrganisation files an organisation in the registry. Its key is
// computed here; a register number must be unique, and two organisations of
// the same key need register numbers to tell them apart.
func (s *Store) CreateOrganisation(ctx context.Context, o *models.Organisation) (models.Organisation, error) {
	o.Key = models.OrganisationKey(o.Name)
	o.RegisterNumber = models.NormaliseRegisterNumber(o.RegisterNumber)
	var existing models.Organisation
	err := s.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if o.RegisterNumber != "" {
			if err := tx.First(&existing, "register_number = ?", o.RegisterNumber).Error; err == nil {
				return ErrRegistered
			} else if !errors.Is(err, gorm.ErrRecordNotFound) {
				return err
			}
		}
		var same []models.Organisation
		if err := tx.Where("key = ?", o.Key).Order("created_at, id").Find(&same).Error; err != nil {
			return err
		}
		for _, e := range same {
			if o.RegisterNumber == "" || e.RegisterNumber == "" {
				existing = e
				return ErrRegistered
			}
		}
		return tx.Create(o).Error
	})
	if err != nil {
		return existing, fmt.Errorf("create organisation: %w", classifyDB(err))
	}
	return *o, nil
}

// Organisation returns one organisation of the registry.
func (s *Store) Organisation(ctx context.Context, id string) (models.Organisation, error) {
	var o models.Organisation
	if err := s.DB.WithContext(ctx).First(&o, "id = ?", id).Error; err != nil {
		return o, fmt.Errorf("organisation %s: %w", id, translate(err))
	}
	return o, nil
}

// OrganisationsByKey lists the organisations a name matches (by
// models.OrganisationKey), oldest first.
func (s *Store) OrganisationsByKey(ctx context.Context, name string) ([]models.Organisation, error) {
	var out []models.Organisation
	if err := s.DB.WithContext(ctx).Where("key = ?", models.OrganisationKey(name)).Order("created_at, id").Find(&out).Error; err != nil {
		return nil, fmt.Errorf("organisations by name: %w", err)
	}
	return out, nil
}

// Organisations lists the registry, by name; q, if set, keeps those whose
// matching key contains q's key.
func (s *Store) Organisations(ctx context.Context, q string, limit int) ([]models.Organisation, error) {
	var out []models.Organisation
	db := s.DB.WithContext(ctx).Order("name, id").Limit(limit)
	if k := models.OrganisationKey(q); k != "" {
		db = db.Where("key LIKE ? ESCAPE '\\'", "%"+likeEscaper.Replace(k)+"%")
	}
	if err := db.Find(&out).Error; err != nil {
		return nil, fmt.Errorf("list organisations: %w", err)
	}
	return out, nil
}

var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

// organisationFor finds the organisation a name is filed as, filing it if
// the registry has none (the migration of names into entities).
func organisationFor(tx *gorm.DB, name string, now time.Time) (string, error) {
	name = strings.Join(strings.Fields(name), " ")
	key := models.OrganisationKey(name)
	if key == "" {
		return "", nil
	}
	var o models.Organisation
	err := tx.Where("key = ?", key).Order("created_at, id").First(&o).Error
	if err == nil {
		return o.ID, nil
	}
	if !errors.Is(err, gorm.ErrRecordNotFound) {
		return "", err
	}
	id, _ := uuid.NewV7()
	o = models.Organisation{ID: id.String(), Name: name, Key: key, CreatedAt: now.UTC()}
	if err := tx.Create(&o).Error; err != nil {
		return "", err
	}
	return o.ID, nil
}

// backfillOrganisations turns the organisation names of data written before
// the registry into entities: every user's organisation and every name an
// application's group gave is filed (one entry per matching key) and linked
// by id. It runs after the migrations, is idempotent and does nothing once
// everything is linked.
func (s *Store) backfillOrganisations(ctx context.Context) error {
	now := time.Now()
	return s.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var users []models.User
		if err := tx.Where("organisation_id = '' AND organisation <> ''").Find(&users).Error; err != nil {
			return err
		}
		for _, u := range users {
			id, err := organisationFor(tx, u.Organisation, now)
			if err != nil {
				return fmt.Errorf("organisation of user %s: %w", u.ID, err)
			}
			if err := tx.Model(&models.User{}).Where("id = ?", u.ID).Update("organisation_id", id).Error; err != nil {
				return err
			}
		}
		type row struct{ ApplicationID, Organisation string }
		var rows []row
		if err := tx.Raw(`SELECT application_id, organisation FROM application_organisations
			WHERE organisation NOT IN (SELECT id FROM organisations)`).Scan(&rows).Error; err != nil {
			return err
		}
		for _, r := range rows {
			id, err := organisationFor(tx, r.Organisation, now)
			if err != nil {
				return fmt.Errorf("organisation of application %s: %w", r.ApplicationID, err)
			}
			if err := tx.Exec(`DELETE FROM application_organisations WHERE application_id = ? AND organisation = ?`,
				r.ApplicationID, r.Organisation).Error; err != nil {
				return err
			}
			if id == "" {
				continue
			}
			if err := tx.Exec(`INSERT INTO application_organisations (application_id, organisation, confirmation)
				VALUES (?, ?, '') ON CONFLICT DO NOTHING`, r.ApplicationID, id).Error; err != nil {
				return err
			}
		}
		return nil
	})
}

// Invitation is an application an organisation is invited into (or has
// answered), as its applicants see it before they join.
type Invitation struct {
	ApplicationID    string              `json:"application_id"`
	ProgrammeID      string              `json:"programme_id"`
	Title            string              `json:"title"`
	GroupName        string              `json:"group_name"`
	LeadOrganisation string              `json:"lead_organisation"`
	Status           models.Status       `json:"application_status"`
	Confirmation     models.Confirmation `json:"confirmation"`
}

// Invitations lists the applications organisation id was invited into;
// answered ones too if all.
func (s *Store) Invitations(ctx context.Context, organisationID string, all bool) ([]Invitation, error) {
	states := []string{string(models.ConfirmationInvited)}
	if all {
		states = append(states, string(models.ConfirmationConfirmed), string(models.ConfirmationDeclined))
	}
	var out []Invitation
	err := s.DB.WithContext(ctx).Raw(`SELECT a.id AS application_id, a.programme_id, a.title, a.group_name,
			a.lead_organisation, a.status, o.confirmation
		FROM application_organisations o JOIN applications a ON a.id = o.application_id
		WHERE o.organisation = ? AND o.confirmation IN ? ORDER BY a.created_at DESC, a.id`, organisationID, states).
		Scan(&out).Error
	if err != nil {
		return nil, fmt.Errorf("invitations: %w", err)
	}
	if out == nil {
		out = []Invitation{}
	}
	return out, nil
}

// Invited reports how organisation id stands in application appID's group
// ("" and false if not named in it).
func (s *Store) Invited(ctx context.Context, appID, organisationID string) (models.Confirmation, bool, error) {
	var c []string
	if err := s.DB.WithContext(ctx).Raw(`SELECT confirmation FROM application_organisations
		WHERE application_id = ? AND organisation = ?`, appID, organisationID).Scan(&c).Error; err != nil {
		return "", false, fmt.Errorf("invitation: %w", err)
	}
	if len(c) == 0 {
		return "", false, nil
	}
	return models.Confirmation(c[0]), true, nil
}
