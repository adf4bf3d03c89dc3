package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"reallabor/models"
)

// NormaliseOrganisation is the form organisations are matched in.
func NormaliseOrganisation(s string) string {
	return strings.ToLower(strings.Join(strings.Fields(s), " "))
}

// Project writes one workflow event and the application's state after it:
// the audit event (once, keyed by sequence), the application row and its
// tranches (only ever moving forward in sequence).
func (s *Store) Project(ctx context.Context, in models.ProjectInput) error {
	st := in.State
	stateJSON, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("encode state: %w", err)
	}
	err = s.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		app := models.ApplicationRecord{
			ID: st.ID, ProgrammeID: st.ProgrammeID, Title: st.Proposal.Title, Status: st.Status,
			RequestedCents: st.Proposal.RequestedCents, GroupName: st.Proposal.Group.Name,
			LeadOrganisation: leadOf(st.Proposal.Group), PayeeName: st.Proposal.Payee.Name,
			PayeeIBAN: st.Proposal.Payee.IBAN, PayeeBIC: st.Proposal.Payee.BIC,
			SubmittedBy: st.SubmittedBy.UserID, Seq: st.Seq, State: string(stateJSON),
			RepaymentCents: st.RepaymentCents, CreatedAt: st.SubmittedAt, UpdatedAt: st.UpdatedAt,
		}
		// Money columns (reserved, paid, granted) belong to the ledger
		// transactions and are never overwritten here.
		res := tx.Clauses(clause.OnConflict{
			Columns: []clause.Column{{Name: "id"}},
			DoUpdates: clause.AssignmentColumns([]string{"title", "status", "requested_cents", "group_name",
				"lead_organisation", "payee_name", "payee_iban", "payee_bic", "seq", "state", "repayment_cents", "updated_at"}),
			Where: clause.Where{Exprs: []clause.Expression{clause.Expr{SQL: "applications.seq < excluded.seq"}}},
		}).Omit("reserved_cents", "paid_cents", "granted_cents", "repaid_cents").Create(&app)
		if res.Error != nil {
			return fmt.Errorf("upsert application: %w", res.Error)
		}
		// A revision may drop a company from the group: it loses access.
		orgs := []string{}
		for _, org := range st.Proposal.Group.Organisations() {
			orgs = append(orgs, NormaliseOrganisation(org))
		}
		if err := tx.Exec("DELETE FROM application_organisations WHERE application_id = ? AND organisation NOT IN ?",
			st.ID, append(orgs, "")).Error; err != nil {
			return fmt.Errorf("application organisations: %w", err)
		}
		for _, org := range st.Proposal.Group.Organisations() {
			if err := tx.Exec(
				"INSERT INTO application_organisations (application_id, organisation) VALUES (?, ?) ON CONFLICT DO NOTHING",
				st.ID, NormaliseOrganisation(org)).Error; err != nil {
				return fmt.Errorf("application organisations: %w", err)
			}
		}
		for _, t := range st.Tranches {
			row := models.TrancheRecord{
				ID: t.ID, ApplicationID: st.ID, ProgrammeID: st.ProgrammeID, Number: t.Number, TriggerKind: t.Trigger,
				AmountCents: t.AmountCents, Currency: t.Currency, Status: t.Status, DueAt: t.DueAt,
				ApprovedBy: t.ApprovedBy, ApprovedAt: t.ApprovedAt, PaidBy: t.PaidBy, PaidAt: t.PaidAt,
				BankReference: t.BankReference, Seq: st.Seq, UpdatedAt: st.UpdatedAt,
			}
			if err := tx.Clauses(clause.OnConflict{
				Columns: []clause.Column{{Name: "id"}},
				DoUpdates: clause.AssignmentColumns([]string{"amount_cents", "status", "due_at", "approved_by", "approved_at",
					"paid_by", "paid_at", "bank_reference", "seq", "updated_at"}),
				Where: clause.Where{Exprs: []clause.Expression{clause.Expr{SQL: "tranches.seq < excluded.seq"}}},
			}).Create(&row).Error; err != nil {
				return fmt.Errorf("upsert tranche %s: %w", t.ID, err)
			}
		}
		ev := models.EventRecord{
			ApplicationID: st.ID, Seq: in.Event.Seq, Kind: in.Event.Kind, FromStatus: string(in.Event.From),
			ToStatus: string(in.Event.To), ActorID: in.Event.Actor.UserID, ActorName: in.Event.Actor.Name,
			ActorRole: string(in.Event.Actor.Role), Detail: in.Event.Detail, At: in.Event.At,
		}
		if err := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&ev).Error; err != nil {
			return fmt.Errorf("audit event: %w", err)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("project %s #%d: %w", st.ID, in.Event.Seq, err)
	}
	return nil
}

func leadOf(g models.Group) string {
	if g.Lead != "" {
		return g.Lead
	}
	if len(g.Members) > 0 {
		return g.Members[0].Name
	}
	return ""
}
