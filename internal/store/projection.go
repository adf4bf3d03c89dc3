package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"reallabor/models"
)

// NormaliseOrganisation is the form organisations are matched in.
func NormaliseOrganisation(s string) string {
	return strings.ToLower(strings.Join(strings.Fields(s), " "))
}

// Project writes one workflow event and the application's state after it.
func (s *Store) Project(ctx context.Context, in models.ProjectInput) error {
	err := s.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		_, err := project(tx, in.State, []models.Event{in.Event})
		return err
	})
	if err != nil {
		return fmt.Errorf("project %s #%d: %w", in.State.ID, in.Event.Seq, classifyDB(err))
	}
	return nil
}

// Apply writes what one action changed in one transaction: the payments and
// releases it moves (under the programme's lock), its audit events and the
// state after them. It is idempotent: a repeated Apply changes nothing.
func (s *Store) Apply(ctx context.Context, in models.ApplyInput) (models.ApplyResult, error) {
	var out models.ApplyResult
	err := s.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		// A write handed out before the workflow put it back is older than
		// the row ("caller-writes"): none of it is made.
		var row []struct {
			Seq, WriteEpoch int64
			State           string
		}
		if err := tx.Model(&models.ApplicationRecord{}).Select("seq", "write_epoch", "state").Where("id = ?", in.State.ID).
			Find(&row).Error; err != nil {
			return err
		}
		if len(row) == 1 && row[0].WriteEpoch > in.State.WriteEpoch {
			return fmt.Errorf("%w: application %s #%d of write epoch %d was put back (now %d)", models.ErrStale,
				in.State.ID, in.State.Seq, in.State.WriteEpoch, row[0].WriteEpoch)
		}
		if len(row) == 1 && row[0].WriteEpoch == in.State.WriteEpoch && len(in.Releases) == 0 && madeAlready(row[0].Seq, row[0].State, in.State) {
			// Made already (the API's write, then the workflow's flush): a
			// write carries everything since the last one known made, in one
			// transaction, so the row at this state holds all of it. What
			// is left is to list what its events still have to send.
			// (Releases are made again: what they promoted is their answer.)
			var err error
			if out.Notifications, err = unsent(tx, in.State.ID, in.Events); err != nil {
				return err
			}
			out.Webhooks, err = undelivered(tx, in.State.ID, in.Events)
			return err
		}
		if len(in.Payments) > 0 || len(in.Releases) > 0 || len(in.Repayments) > 0 {
			if err := s.lockProgramme(tx, in.State.ProgrammeID); err != nil {
				return err
			}
		}
		for _, p := range in.Payments {
			if _, err := recordPayment(tx, p); err != nil {
				return fmt.Errorf("payment of %s: %w", p.TrancheID, err)
			}
		}
		for _, r := range in.Releases {
			res, err := s.release(tx, r)
			if err != nil {
				return fmt.Errorf("release %s: %w", r.Key, err)
			}
			out.Promoted = append(out.Promoted, res.Promoted...)
		}
		for _, r := range in.Repayments {
			_, promoted, err := s.bookRepayment(tx, r)
			if err != nil {
				return fmt.Errorf("repayment %s: %w", r.BankReference, err)
			}
			out.Promoted = append(out.Promoted, promoted...)
		}
		ids, err := project(tx, in.State, in.Events)
		if err != nil {
			return err
		}
		out.Notifications = ids
		out.Webhooks, err = fileDeliveries(tx, in.State, in.Events)
		return err
	})
	if err != nil {
		return models.ApplyResult{}, fmt.Errorf("apply %s #%d: %w", in.State.ID, in.State.Seq, classifyDB(err))
	}
	return out, nil
}

// madeAlready says whether a row at seq with the encoded state holds the
// state st: a later sequence, or this one with the same state (a state
// can change without an event, keeping its sequence: a rescheduled check).
func madeAlready(seq int64, state string, st models.ApplicationState) bool {
	if seq != st.Seq {
		return seq > st.Seq
	}
	b, err := json.Marshal(st)
	return err == nil && string(b) == state
}

// project writes events and the application's state after them: the audit
// events keyed by sequence (a later write of the same sequence replaces an
// earlier one: the workflow's is the one that counts), the application row
// and its tranches (never moving back in sequence).
func project(tx *gorm.DB, st models.ApplicationState, events []models.Event) ([]string, error) {
	stateJSON, err := json.Marshal(st)
	if err != nil {
		return nil, fmt.Errorf("encode state: %w", err)
	}
	app := models.ApplicationRecord{
		ID: st.ID, ProgrammeID: st.ProgrammeID, CallID: st.CallID, Title: st.Proposal.Title, Status: st.Status,
		RequestedCents: st.Proposal.RequestedCents, GroupName: st.Proposal.Group.Name,
		LeadOrganisation: leadOf(st.Proposal.Group), PayeeName: st.Proposal.Payee.Name,
		PayeeIBAN: st.Proposal.Payee.IBAN, PayeeBIC: st.Proposal.Payee.BIC,
		SubmittedBy: st.SubmittedBy.UserID, NextDueAt: st.NextDue(), Seq: st.Seq, WriteEpoch: st.WriteEpoch, State: string(stateJSON),
		RepaymentCents: st.RepaymentCents, CreatedAt: st.SubmittedAt, UpdatedAt: st.UpdatedAt,
	}
	// Money columns (reserved, paid, granted) belong to the ledger
	// transactions and are never overwritten here.
	res := tx.Clauses(clause.OnConflict{
		Columns: []clause.Column{{Name: "id"}},
		DoUpdates: clause.AssignmentColumns([]string{"title", "status", "requested_cents", "group_name",
			"lead_organisation", "payee_name", "payee_iban", "payee_bic", "next_due_at", "seq", "write_epoch", "state", "repayment_cents", "updated_at"}),
		Where: clause.Where{Exprs: []clause.Expression{clause.Expr{SQL: "applications.seq <= excluded.seq"}}},
	}).Omit("reserved_cents", "paid_cents", "granted_cents", "repaid_cents").Create(&app)
	if res.Error != nil {
		return nil, fmt.Errorf("upsert application: %w", res.Error)
	}
	if res.RowsAffected > 0 { // else a later state is written already
		if err := projectGroup(tx, st); err != nil {
			return nil, fmt.Errorf("application organisations: %w", err)
		}
		if err := syncStateAid(tx, st, events); err != nil {
			return nil, fmt.Errorf("state aid: %w", err)
		}
	}
	if len(st.Tranches) > 0 {
		rows := make([]models.TrancheRecord, len(st.Tranches))
		for i, t := range st.Tranches {
			rows[i] = models.TrancheRecord{
				ID: t.ID, ApplicationID: st.ID, ProgrammeID: st.ProgrammeID, Number: t.Number, TriggerKind: t.Trigger,
				AmountCents: t.AmountCents, Currency: t.Currency, Status: t.Status, DueAt: t.DueAt,
				ApprovedBy: t.ApprovedBy, ApprovedAt: t.ApprovedAt, PaidBy: t.PaidBy, PaidAt: t.PaidAt,
				BankReference: t.BankReference, ExportBatch: t.ExportBatch, Seq: st.Seq, UpdatedAt: st.UpdatedAt,
			}
		}
		// All of them in one statement; a row changes only if the tranche
		// did (its seq and updated_at are those of its last change): most
		// actions change none, and an unchanged row rewritten is pages in
		// SQLite's log. A write older than the row's last change changes
		// nothing; one between that and the latest carries the same content.
		if err := tx.Clauses(clause.OnConflict{
			Columns:   []clause.Column{{Name: "id"}},
			DoUpdates: clause.AssignmentColumns(trancheColumns),
			Where:     clause.Where{Exprs: []clause.Expression{clause.Expr{SQL: trancheChanged}}},
		}).Create(&rows).Error; err != nil {
			return nil, fmt.Errorf("upsert tranches: %w", err)
		}
	}
	if len(events) > 0 {
		rows := make([]models.EventRecord, len(events))
		for i, e := range events {
			rows[i] = models.EventRecord{
				ApplicationID: st.ID, Seq: e.Seq, Kind: e.Kind, FromStatus: string(e.From),
				ToStatus: string(e.To), ActorID: e.Actor.UserID, ActorName: e.Actor.Name,
				ActorRole: string(e.Actor.Role), Detail: e.Detail, At: e.At,
			}
		}
		if err := tx.Clauses(clause.OnConflict{
			Columns:   []clause.Column{{Name: "application_id"}, {Name: "seq"}},
			DoUpdates: clause.AssignmentColumns([]string{"kind", "from_status", "to_status", "actor_id", "actor_name", "actor_role", "detail", "at"}),
		}).Create(&rows).Error; err != nil {
			return nil, fmt.Errorf("audit events: %w", err)
		}
	}
	// The hand-offs of these events, to the people they are for.
	return notify(tx, st, events)
}

// trancheContent is what an action can change of a tranche.
var trancheContent = []string{"amount_cents", "status", "due_at", "approved_by", "approved_at", "paid_by", "paid_at",
	"bank_reference", "export_batch"}

// trancheColumns are what an upsert of a changed tranche sets.
var trancheColumns = append(slices.Clone(trancheContent), "seq", "updated_at")

// trancheChanged: the write is not older than the row and changes it.
var trancheChanged = func() string {
	var diff []string
	for _, c := range trancheContent {
		diff = append(diff, "tranches."+c+" IS DISTINCT FROM excluded."+c)
	}
	return "tranches.seq <= excluded.seq AND (" + strings.Join(diff, " OR ") + ")"
}()

// projectGroup writes which organisations see the application and how
// each stands: registered members by id; names from before the registry are
// looked up in it (filed if missing). A revision may drop a company from the
// group: it loses access.
func projectGroup(tx *gorm.DB, st models.ApplicationState) error {
	type entry struct {
		id   string
		conf models.Confirmation
	}
	var entries []entry
	seen := map[string]bool{}
	add := func(id string, c models.Confirmation) {
		if id != "" && !seen[id] {
			seen[id] = true
			entries = append(entries, entry{id, c})
		}
	}
	g := st.Proposal.Group
	for _, m := range g.Members {
		id := m.OrganisationID
		if id == "" {
			var err error
			if id, err = organisationFor(tx, m.Name, st.UpdatedAt); err != nil {
				return err
			}
		}
		add(id, m.Confirmation)
	}
	if !g.Registered() && g.Lead != "" {
		id, err := organisationFor(tx, g.Lead, st.UpdatedAt)
		if err != nil {
			return err
		}
		add(id, "")
	}
	ids := []string{""}
	h := sha256.New()
	for _, e := range entries {
		ids = append(ids, e.id)
		fmt.Fprintf(h, "%s\x00%s\x00", e.id, e.conf)
	}
	// Unchanged since the last write: nothing to do (most actions do not
	// touch the group).
	sum := hex.EncodeToString(h.Sum(nil))
	changed := tx.Exec("UPDATE applications SET group_hash = ? WHERE id = ? AND group_hash <> ?", sum, st.ID, sum)
	if changed.Error != nil {
		return changed.Error
	}
	if changed.RowsAffected == 0 {
		return nil
	}
	if err := tx.Exec("DELETE FROM application_organisations WHERE application_id = ? AND organisation NOT IN ?",
		st.ID, ids).Error; err != nil {
		return err
	}
	if len(entries) == 0 {
		return nil
	}
	var (
		values []string
		args   []any
	)
	for _, e := range entries {
		values = append(values, "(?, ?, ?)")
		args = append(args, st.ID, e.id, string(e.conf))
	}
	return tx.Exec(`INSERT INTO application_organisations (application_id, organisation, confirmation) VALUES `+
		strings.Join(values, ", ")+` ON CONFLICT (application_id, organisation) DO UPDATE SET confirmation = excluded.confirmation`,
		args...).Error
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
