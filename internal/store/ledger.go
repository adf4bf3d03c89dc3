package store

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"reallabor/models"
)

// Ledger entry kinds.
const (
	EntryReserve = "reserve"
	EntryRelease = "release"
	EntryPay     = "pay"
	EntryReturn  = "return"
	EntryRepaid  = "repayment"
	// EntryInterest is interest received on a repayment demand: journalled,
	// outside the fund's counters.
	EntryInterest = "interest"
)

type ledgerEntry struct {
	ID            string `gorm:"primaryKey"`
	ProgrammeID   string
	ApplicationID string
	Kind          string
	AmountCents   int64
	At            time.Time
	// ActorID and Reason: who changed the budget, and why.
	ActorID, Reason string
}

func (ledgerEntry) TableName() string { return "ledger_entries" }

// EntryBudget is a change of a programme's budget (the amount signed).
const EntryBudget = "budget"

// ErrBelowCommitted refuses a budget cut that would leave less than is reserved + paid.
var ErrBelowCommitted = fmt.Errorf("the budget would fall below what is reserved and paid: %w", models.ErrConflict)

// ChangeBudget tops a programme's budget up or cuts it (never below what
// is reserved + paid), as a journal entry with actor and reason, keyed by
// key (the same change twice applies once). Money freed promotes waitlisted
// applications, whose ids it returns for the caller to tell them.
func (s *Store) ChangeBudget(ctx context.Context, programmeID, key string, deltaCents int64, actorID, reason string,
	at time.Time) (models.Programme, []string, bool, error) {
	var (
		p        models.Programme
		promoted []string
		applied  bool
	)
	err := s.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := s.lockProgramme(tx, programmeID); err != nil {
			return err
		}
		if err := tx.First(&p, "id = ?", programmeID).Error; err != nil {
			return translate(err)
		}
		fresh, err := insertEntry(tx, ledgerEntry{ID: "budget:" + programmeID + ":" + key, ProgrammeID: programmeID,
			Kind: EntryBudget, AmountCents: deltaCents, At: at.UTC(), ActorID: actorID, Reason: reason})
		if err != nil || !fresh {
			return err
		}
		if p.BudgetCents+deltaCents < p.ReservedCents+p.PaidCents || p.BudgetCents+deltaCents <= 0 {
			return ErrBelowCommitted
		}
		if err := tx.Exec("UPDATE programmes SET budget_cents = budget_cents + ? WHERE id = ?", deltaCents, programmeID).Error; err != nil {
			return err
		}
		applied = true
		if deltaCents > 0 {
			if promoted, err = s.promote(tx, programmeID, at); err != nil {
				return err
			}
		}
		return tx.First(&p, "id = ?", programmeID).Error
	})
	if err != nil {
		return p, nil, false, fmt.Errorf("change budget of %s: %w", programmeID, classifyDB(err))
	}
	return p, promoted, applied, nil
}

type waitlistEntry struct {
	ApplicationID string `gorm:"primaryKey"`
	ProgrammeID   string
	AmountCents   int64
	Since         time.Time
}

func (waitlistEntry) TableName() string { return "waitlist" }

// lockProgramme serialises ledger transactions of one programme. On
// PostgreSQL it takes the row lock (FOR NO KEY UPDATE: it does not block the
// foreign-key checks of inserts that reference the programme); SQLite transactions are already
// serialised (BEGIN IMMEDIATE, one connection).
func (s *Store) lockProgramme(tx *gorm.DB, programmeID string) error {
	if s.Dialect != Postgres {
		return nil
	}
	var id string
	err := tx.Raw("SELECT id FROM programmes WHERE id = ? FOR NO KEY UPDATE", programmeID).Scan(&id).Error
	if err != nil {
		return fmt.Errorf("lock programme %s: %w", programmeID, err)
	}
	if id == "" {
		return fmt.Errorf("programme %s: %w", programmeID, models.ErrNotFound)
	}
	return nil
}

// insertEntry records a ledger entry; it reports false when the entry (and so
// the movement of money it stands for) exists already.
func insertEntry(tx *gorm.DB, e ledgerEntry) (bool, error) {
	res := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&e)
	if res.Error != nil {
		return false, fmt.Errorf("ledger entry %s: %w", e.ID, res.Error)
	}
	return res.RowsAffected == 1, nil
}

// reserveIfCovered is the one conditional update that keeps the fund from
// being over-committed: it adds amount to reserved only if what is left covers it.
func reserveIfCovered(tx *gorm.DB, programmeID string, amount int64) (bool, error) {
	res := tx.Exec(`UPDATE programmes SET reserved_cents = reserved_cents + ?
		WHERE id = ? AND budget_cents - reserved_cents - paid_cents >= ?`, amount, programmeID, amount)
	if res.Error != nil {
		return false, fmt.Errorf("reserve on %s: %w", programmeID, res.Error)
	}
	return res.RowsAffected == 1, nil
}

// Reserve reserves in.AmountCents for the application, or puts it on the
// programme's waitlist when the fund cannot cover it or others wait already
// (first come, first served). Repeating it returns the first outcome.
func (s *Store) Reserve(ctx context.Context, in models.ReserveInput) (models.ReserveResult, error) {
	if in.AmountCents <= 0 {
		return models.ReserveResult{}, fmt.Errorf("reserve %d cents: %w", in.AmountCents, models.ErrInvalid)
	}
	var out models.ReserveResult
	err := s.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := s.lockProgramme(tx, in.ProgrammeID); err != nil {
			return err
		}
		n, err := reservations(tx, in.ApplicationID)
		if err != nil {
			return err
		}
		if n > 0 {
			// Reserved before: still held (a retried reservation), unless
			// it was given back since (an action put back after its write
			// was refused), when the grant is reserved anew.
			var held []int64
			if err := tx.Raw(`SELECT reserved_cents + paid_cents FROM applications WHERE id = ?`, in.ApplicationID).Scan(&held).Error; err != nil {
				return err
			}
			if len(held) == 0 || held[0] > 0 {
				out.Reserved = true
				return nil
			}
		}
		if in.StateAid != nil {
			errs, err := s.checkStateAid(tx, in.ApplicationID, *in.StateAid, in.At)
			if err != nil || len(errs) > 0 {
				out.StateAid = errs
				return err
			}
			if err := recordStateAid(tx, in.ProgrammeID, in.ApplicationID, *in.StateAid, in.At); err != nil {
				return err
			}
		}
		// On the waitlist, then promoted at once if the queue's rules let it
		// through: nobody who waits for the programme's money is overtaken,
		// and its call's share is kept.
		if err := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&waitlistEntry{
			ApplicationID: in.ApplicationID, ProgrammeID: in.ProgrammeID, AmountCents: in.AmountCents, Since: in.At,
		}).Error; err != nil {
			return err
		}
		promoted, err := s.promoteOnly(tx, in.ProgrammeID, in.At, in.ApplicationID)
		out.Reserved = len(promoted) > 0
		return err
	})
	if err != nil {
		return models.ReserveResult{}, fmt.Errorf("reserve budget for %s: %w", in.ApplicationID, classifyDB(err))
	}
	return out, nil
}

// reservations counts the reservations an application was ever given.
func reservations(tx *gorm.DB, applicationID string) (int64, error) {
	var n int64
	// By the application first (an index): the LIKE alone read the whole
	// journal (SQLite's LIKE ignores case, PostgreSQL's collation is not C).
	err := tx.Model(&ledgerEntry{}).Where("application_id = ? AND (id = ? OR id LIKE ?)",
		applicationID, applicationID+":reserve", applicationID+":reserve:%").Count(&n).Error
	return n, err
}

func (s *Store) applyReservation(tx *gorm.DB, programmeID, applicationID string, amount int64, at time.Time) error {
	n, err := reservations(tx, applicationID)
	if err != nil {
		return err
	}
	id := applicationID + ":reserve"
	if n > 0 {
		id = fmt.Sprintf("%s:reserve:%d", applicationID, n+1)
	}
	if _, err := insertEntry(tx, ledgerEntry{ID: id, ProgrammeID: programmeID,
		ApplicationID: applicationID, Kind: EntryReserve, AmountCents: amount, At: at}); err != nil {
		return err
	}
	return tx.Exec(`UPDATE applications SET reserved_cents = reserved_cents + ?, granted_cents = ? WHERE id = ?`,
		amount, amount, applicationID).Error
}

// Release gives back an application's reservation (all of what remains, or
// in.AmountCents of it), takes it off the waitlist, and then promotes waiting
// applications of the programme, oldest first, while the fund covers them.
func (s *Store) Release(ctx context.Context, in models.ReleaseInput) (models.ReleaseResult, error) {
	var out models.ReleaseResult
	err := s.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := s.lockProgramme(tx, in.ProgrammeID); err != nil {
			return err
		}
		var err error
		out, err = s.release(tx, in)
		return err
	})
	if err != nil {
		return models.ReleaseResult{}, fmt.Errorf("release budget of %s: %w", in.ApplicationID, classifyDB(err))
	}
	return out, nil
}

// release is Release inside a transaction that holds the programme's lock.
func (s *Store) release(tx *gorm.DB, in models.ReleaseInput) (models.ReleaseResult, error) {
	var out models.ReleaseResult
	if err := tx.Where("application_id = ?", in.ApplicationID).Delete(&waitlistEntry{}).Error; err != nil {
		return out, err
	}
	var reserved int64
	if err := tx.Raw("SELECT reserved_cents FROM applications WHERE id = ?", in.ApplicationID).Scan(&reserved).Error; err != nil {
		return out, err
	}
	amount := in.AmountCents
	if in.All || amount > reserved {
		amount = reserved
	}
	if amount > 0 {
		fresh, err := insertEntry(tx, ledgerEntry{ID: in.ApplicationID + ":release:" + in.Key, ProgrammeID: in.ProgrammeID,
			ApplicationID: in.ApplicationID, Kind: EntryRelease, AmountCents: amount, At: in.At})
		if err != nil {
			return out, err
		}
		if fresh {
			if err := tx.Exec(`UPDATE programmes SET reserved_cents = reserved_cents - ?, released_cents = released_cents + ? WHERE id = ?`,
				amount, amount, in.ProgrammeID).Error; err != nil {
				return out, err
			}
			if err := tx.Exec(`UPDATE applications SET reserved_cents = reserved_cents - ? WHERE id = ?`, amount, in.ApplicationID).Error; err != nil {
				return out, err
			}
			out.ReleasedCents = amount
		}
	}
	promoted, err := s.promote(tx, in.ProgrammeID, in.At)
	out.Promoted = promoted
	return out, err
}

// promote reserves for waitlisted applications in order of arrival and stops
// at the first the fund cannot cover, so nobody is overtaken. An
// application whose call's budget share cannot take it waits for its call
// (a release or repayment within the call) and holds up only the later
// applications of the same call: the share is a cap on the call, not a
// shortage of the fund's money.
func (s *Store) promote(tx *gorm.DB, programmeID string, at time.Time) ([]string, error) {
	return s.promoteOnly(tx, programmeID, at, "")
}

// promoteOnly is promote; with only set, it reserves for that application
// alone (if its turn has come), leaving the others as they wait.
func (s *Store) promoteOnly(tx *gorm.DB, programmeID string, at time.Time, only string) ([]string, error) {
	var waiting []waitlistEntry
	if err := tx.Where("programme_id = ?", programmeID).Order("since, application_id").Find(&waiting).Error; err != nil {
		return nil, err
	}
	var promoted []string
	full := map[string]bool{} // calls whose share holds their queue
	for _, w := range waiting {
		call, fits, err := callRoom(tx, w.ApplicationID, w.AmountCents)
		if err != nil {
			return nil, err
		}
		if full[call] {
			continue
		}
		if !fits {
			full[call] = true
			continue
		}
		if only != "" && w.ApplicationID != only {
			break // one before only waits for the fund's money: so does only (first come, first served)
		}
		ok, err := reserveIfCovered(tx, programmeID, w.AmountCents)
		if err != nil {
			return nil, err
		}
		if !ok {
			break
		}
		if err := s.applyReservation(tx, programmeID, w.ApplicationID, w.AmountCents, at); err != nil {
			return nil, err
		}
		if err := tx.Where("application_id = ?", w.ApplicationID).Delete(&waitlistEntry{}).Error; err != nil {
			return nil, err
		}
		promoted = append(promoted, w.ApplicationID)
	}
	return promoted, nil
}

// PromoteWaiting reserves for the programme's waitlisted applications that
// fit now (after a call's budget share was raised, say), in their order;
// it returns their ids for the caller to tell them.
func (s *Store) PromoteWaiting(ctx context.Context, programmeID string, at time.Time) ([]string, error) {
	var promoted []string
	err := s.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := s.lockProgramme(tx, programmeID); err != nil {
			return err
		}
		var err error
		promoted, err = s.promote(tx, programmeID, at)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("promote waiting of %s: %w", programmeID, classifyDB(err))
	}
	return promoted, nil
}

// callRoom says whether amount fits the budget share of the application's
// call: what the call's applications hold reserved or were paid (less what
// came back) and amount, at most the share. An application of no call, or
// of a call without a share, always fits.
func callRoom(tx *gorm.DB, applicationID string, amount int64) (string, bool, error) {
	var c struct {
		CallID           string
		BudgetShareCents int64
	}
	if err := tx.Raw(`SELECT a.call_id, COALESCE(c.budget_share_cents, 0) AS budget_share_cents
		FROM applications a LEFT JOIN calls c ON c.id = a.call_id WHERE a.id = ?`, applicationID).Scan(&c).Error; err != nil {
		return "", false, fmt.Errorf("call of %s: %w", applicationID, err)
	}
	if c.CallID == "" || c.BudgetShareCents <= 0 {
		return c.CallID, true, nil
	}
	var committed int64
	if err := tx.Raw(`SELECT COALESCE(SUM(reserved_cents + paid_cents - repaid_cents), 0) FROM applications WHERE call_id = ?`,
		c.CallID).Scan(&committed).Error; err != nil {
		return "", false, fmt.Errorf("committed of call %s: %w", c.CallID, err)
	}
	return c.CallID, committed+amount <= c.BudgetShareCents, nil
}

// RecordPayment moves a tranche's amount from reserved to paid (or back, for
// a returned payment). It is keyed by tranche and attempt: a retried call
// changes nothing and reports Applied false.
func (s *Store) RecordPayment(ctx context.Context, in models.PaymentInput) (models.PaymentResult, error) {
	if in.AmountCents <= 0 {
		return models.PaymentResult{}, fmt.Errorf("payment of %d cents: %w", in.AmountCents, models.ErrInvalid)
	}
	var out models.PaymentResult
	err := s.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := s.lockProgramme(tx, in.ProgrammeID); err != nil {
			return err
		}
		var err error
		out.Applied, err = recordPayment(tx, in)
		return err
	})
	if err != nil {
		return models.PaymentResult{}, fmt.Errorf("record payment of %s: %w", in.TrancheID, classifyDB(err))
	}
	return out, nil
}

// recordPayment is RecordPayment inside a transaction that holds the
// programme's lock; it reports whether it applied the payment.
func recordPayment(tx *gorm.DB, in models.PaymentInput) (bool, error) {
	if in.AmountCents <= 0 {
		return false, fmt.Errorf("payment of %d cents: %w", in.AmountCents, models.ErrInvalid)
	}
	kind, sign := EntryPay, int64(1)
	if in.Reverse {
		kind, sign = EntryReturn, -1
	}
	fresh, err := insertEntry(tx, ledgerEntry{ID: in.TrancheID + ":" + kind + ":" + strconv.Itoa(in.Attempt),
		ProgrammeID: in.ProgrammeID, ApplicationID: in.ApplicationID, Kind: kind, AmountCents: in.AmountCents, At: in.At})
	if err != nil || !fresh {
		return false, err
	}
	d := sign * in.AmountCents
	if err := tx.Exec(`UPDATE programmes SET reserved_cents = reserved_cents - ?, paid_cents = paid_cents + ? WHERE id = ?`,
		d, d, in.ProgrammeID).Error; err != nil {
		return false, err
	}
	if err := tx.Exec(`UPDATE applications SET reserved_cents = reserved_cents - ?, paid_cents = paid_cents + ? WHERE id = ?`,
		d, d, in.ApplicationID).Error; err != nil {
		return false, err
	}
	return true, nil
}

// Ledger returns a programme's budget ledger.
func (s *Store) Ledger(ctx context.Context, programmeID string) (models.Programme, error) {
	var p models.Programme
	if err := s.DB.WithContext(ctx).First(&p, "id = ?", programmeID).Error; err != nil {
		return p, fmt.Errorf("programme %s: %w", programmeID, translate(err))
	}
	return p, nil
}

// bookRepayment books a payment received on a repayment demand, under the
// programme's lock: the principal leaves "paid" and counts as released (the
// fund can commit it again, waitlisted applications are promoted); interest
// is journalled for the city's books and moves no counter of the fund.
// Keyed by the bank reference: a second booking of it books nothing.
func (s *Store) bookRepayment(tx *gorm.DB, in models.RepaymentInput) (bool, []string, error) {
	id := in.ApplicationID + ":repayment:" + in.BankReference
	var n int64
	if err := tx.Model(&ledgerEntry{}).Where("id = ?", id).Count(&n).Error; err != nil {
		return false, nil, err
	}
	if n > 0 {
		return false, nil, nil
	}
	if _, err := insertEntry(tx, ledgerEntry{ID: id, ProgrammeID: in.ProgrammeID, ApplicationID: in.ApplicationID,
		Kind: EntryRepaid, AmountCents: in.AmountCents, At: in.At}); err != nil {
		return false, nil, err
	}
	if in.InterestCents > 0 {
		if _, err := insertEntry(tx, ledgerEntry{ID: in.ApplicationID + ":interest:" + in.BankReference, ProgrammeID: in.ProgrammeID,
			ApplicationID: in.ApplicationID, Kind: EntryInterest, AmountCents: in.InterestCents, At: in.At}); err != nil {
			return false, nil, err
		}
	}
	if in.AmountCents == 0 {
		return true, nil, nil
	}
	if err := tx.Exec(`UPDATE programmes SET paid_cents = paid_cents - ?, released_cents = released_cents + ? WHERE id = ?`,
		in.AmountCents, in.AmountCents, in.ProgrammeID).Error; err != nil {
		return false, nil, err
	}
	if err := tx.Exec(`UPDATE applications SET repaid_cents = repaid_cents + ? WHERE id = ?`, in.AmountCents, in.ApplicationID).Error; err != nil {
		return false, nil, err
	}
	promoted, err := s.promote(tx, in.ProgrammeID, in.At)
	return true, promoted, err
}

// ErrNoRepaymentDue says the application owes nothing (more).
var ErrNoRepaymentDue = fmt.Errorf("no repayment outstanding: %w", models.ErrConflict)

// RecordRepayment books money paid back on a repayment demand: it leaves
// "paid" and counts as released, so the fund can commit it again. Keyed by
// the bank reference: recording the same receipt twice books it once
// (applied false). An amount above what is outstanding is ErrInvalid.
//
// Money back in the fund promotes waitlisted applications, as a release does;
// their ids are returned (oldest first) for the caller to tell them.
func (s *Store) RecordRepayment(ctx context.Context, in models.RepaymentInput) (bool, models.ApplicationRecord, []string, error) {
	var app models.ApplicationRecord
	var promoted []string
	applied := false
	err := s.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.First(&app, "id = ?", in.ApplicationID).Error; err != nil {
			return translate(err)
		}
		if err := s.lockProgramme(tx, app.ProgrammeID); err != nil {
			return err
		}
		if err := tx.First(&app, "id = ?", in.ApplicationID).Error; err != nil { // re-read under the lock
			return translate(err)
		}
		id := in.ApplicationID + ":repayment:" + in.BankReference
		var n int64
		if err := tx.Model(&ledgerEntry{}).Where("id = ?", id).Count(&n).Error; err != nil {
			return err
		}
		if n > 0 {
			return nil // booked before
		}
		outstanding := app.RepaymentCents - app.RepaidCents
		if outstanding <= 0 {
			return ErrNoRepaymentDue
		}
		if in.AmountCents <= 0 || in.AmountCents > outstanding {
			return fmt.Errorf("amount_cents %d: %w: %s outstanding", in.AmountCents, models.ErrInvalid, models.FormatEuro(outstanding))
		}
		in.ProgrammeID = app.ProgrammeID
		booked, p, err := s.bookRepayment(tx, in)
		if err != nil {
			return err
		}
		app.RepaidCents += in.AmountCents
		applied, promoted = booked, p
		return nil
	})
	if err != nil {
		return false, app, nil, fmt.Errorf("record repayment for %s: %w", in.ApplicationID, err)
	}
	return applied, app, promoted, nil
}
