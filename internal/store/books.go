package store

import (
	"context"
	"fmt"

	"reallabor/models"
)

// Books is everything the database holds about money and progress, for the
// reconciliation (reallabor check): the programmes' counters, the journal of
// money movements summed per programme and per application, the
// applications' rows, their tranches and the length of their audit trails.
type Books struct {
	Programmes   []models.Programme
	Journal      map[string]JournalSums // by programme id
	AppJournal   map[string]JournalSums // by application id
	Applications []models.ApplicationRecord
	Tranches     map[string][]models.TrancheRecord // by application id
	Events       map[string]EventCount             // by application id
}

// JournalSums are the ledger entries of one programme or application, summed
// by kind.
type JournalSums struct {
	Reserve, Release, Pay, Return, Repayment int64
	// Interest received on repayment demands (outside the fund's counters).
	Interest int64
}

// Reserved is what the journal says is reserved: reservations less what was
// released or paid out of them, plus payments returned.
func (j JournalSums) Reserved() int64 { return j.Reserve - j.Release - j.Pay + j.Return }

// Paid is what the journal says is paid out and not returned or repaid.
func (j JournalSums) Paid() int64 { return j.Pay - j.Return - j.Repayment }

// Released is what the journal says went back to the fund.
func (j JournalSums) Released() int64 { return j.Release + j.Repayment }

// EventCount is the number of audit events of an application and the highest
// sequence among them.
type EventCount struct {
	Count, MaxSeq int64
}

// Books reads the books in one transaction, so they are seen at one moment.
func (s *Store) Books(ctx context.Context) (Books, error) {
	b := Books{Journal: map[string]JournalSums{}, AppJournal: map[string]JournalSums{},
		Tranches: map[string][]models.TrancheRecord{}, Events: map[string]EventCount{}}
	tx := s.DB.WithContext(ctx).Begin()
	if tx.Error != nil {
		return b, fmt.Errorf("read books: %w", tx.Error)
	}
	defer tx.Rollback()
	if err := tx.Order("id").Find(&b.Programmes).Error; err != nil {
		return b, fmt.Errorf("read programmes: %w", err)
	}
	type sum struct {
		Owner, Kind string
		Total       int64
	}
	add := func(m map[string]JournalSums, rows []sum) {
		for _, r := range rows {
			j := m[r.Owner]
			switch r.Kind {
			case EntryReserve:
				j.Reserve += r.Total
			case EntryRelease:
				j.Release += r.Total
			case EntryPay:
				j.Pay += r.Total
			case EntryReturn:
				j.Return += r.Total
			case EntryRepaid:
				j.Repayment += r.Total
			case EntryInterest:
				j.Interest += r.Total
			}
			m[r.Owner] = j
		}
	}
	var rows []sum
	if err := tx.Raw(`SELECT programme_id AS owner, kind, SUM(amount_cents) AS total FROM ledger_entries GROUP BY programme_id, kind`).
		Scan(&rows).Error; err != nil {
		return b, fmt.Errorf("sum journal: %w", err)
	}
	add(b.Journal, rows)
	rows = nil
	if err := tx.Raw(`SELECT application_id AS owner, kind, SUM(amount_cents) AS total FROM ledger_entries GROUP BY application_id, kind`).
		Scan(&rows).Error; err != nil {
		return b, fmt.Errorf("sum journal per application: %w", err)
	}
	add(b.AppJournal, rows)
	if err := tx.Omit("state").Order("id").Find(&b.Applications).Error; err != nil {
		return b, fmt.Errorf("read applications: %w", err)
	}
	var tranches []models.TrancheRecord
	if err := tx.Order("application_id, number").Find(&tranches).Error; err != nil {
		return b, fmt.Errorf("read tranches: %w", err)
	}
	for _, t := range tranches {
		b.Tranches[t.ApplicationID] = append(b.Tranches[t.ApplicationID], t)
	}
	var counts []struct {
		ApplicationID string
		Count, MaxSeq int64
	}
	if err := tx.Raw(`SELECT application_id, COUNT(*) AS count, MAX(seq) AS max_seq FROM events GROUP BY application_id`).
		Scan(&counts).Error; err != nil {
		return b, fmt.Errorf("count events: %w", err)
	}
	for _, c := range counts {
		b.Events[c.ApplicationID] = EventCount{Count: c.Count, MaxSeq: c.MaxSeq}
	}
	return b, nil
}
