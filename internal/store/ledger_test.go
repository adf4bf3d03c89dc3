package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"reallabor/internal/store"
	"reallabor/internal/store/storetest"
	"reallabor/models"
)

// dialects runs a test on PostgreSQL and on SQLite: the same code and the
// same migrations must behave the same on both.
func dialects(t *testing.T, fn func(t *testing.T, st *store.Store)) {
	t.Run("postgres", func(t *testing.T) { fn(t, storetest.New(t)) })
	t.Run("sqlite", func(t *testing.T) { fn(t, storetest.NewSQLite(t)) })
}

func seedProgramme(t *testing.T, st *store.Store, budget int64) models.Programme {
	t.Helper()
	rules := models.DefaultRules()
	rules.BudgetCents = budget
	raw, _ := json.Marshal(rules)
	p := models.Programme{ID: fmt.Sprintf("prog-%d", time.Now().UnixNano()), Name: "test", Currency: "EUR",
		RulesJSON: string(raw), BudgetCents: budget, Status: "open", CreatedAt: time.Now().UTC()}
	storetest.Must(t, st.CreateProgramme(context.Background(), &p))
	return p
}

func seedApplication(t *testing.T, st *store.Store, programmeID, id string, seq int64) {
	t.Helper()
	now := time.Now().UTC()
	in := models.ProjectInput{
		State: models.ApplicationState{ID: id, ProgrammeID: programmeID, Status: models.StatusInReview, Seq: seq,
			SubmittedAt: now, UpdatedAt: now,
			Proposal: models.Proposal{Title: "t " + id, RequestedCents: 100, Group: models.Group{Name: "g",
				Members: []models.Member{{Name: "Cafe Mitte"}}}, Payee: models.Payee{Name: "p", IBAN: "DE89370400440532013000"}}},
		Event: models.Event{Seq: seq, Kind: "submitted", At: now},
	}
	storetest.Must(t, st.Project(context.Background(), in))
}

func ledger(t *testing.T, st *store.Store, id string) models.Programme {
	t.Helper()
	p, err := st.Ledger(context.Background(), id)
	storetest.Must(t, err)
	if p.ReservedCents < 0 || p.PaidCents < 0 || p.ReservedCents+p.PaidCents > p.BudgetCents {
		t.Fatalf("ledger inconsistent: %+v", p)
	}
	return p
}

func TestLedgerReserveWaitlistPromote(t *testing.T) {
	dialects(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		p := seedProgramme(t, st, 1000)
		for _, id := range []string{"a", "b", "c"} {
			seedApplication(t, st, p.ID, p.ID+id, 1)
		}
		t0 := time.Now().UTC()
		r, err := st.Reserve(ctx, models.ReserveInput{ProgrammeID: p.ID, ApplicationID: p.ID + "a", AmountCents: 600, At: t0})
		storetest.Must(t, err)
		if !r.Reserved {
			t.Fatalf("Reserve(a, 600) of 1000 = waitlisted, want reserved")
		}
		// A retry of the same reservation changes nothing.
		r, err = st.Reserve(ctx, models.ReserveInput{ProgrammeID: p.ID, ApplicationID: p.ID + "a", AmountCents: 600, At: t0})
		storetest.Must(t, err)
		if got := ledger(t, st, p.ID).ReservedCents; !r.Reserved || got != 600 {
			t.Fatalf("repeated Reserve(a): reserved=%v ledger reserved=%d, want true and 600", r.Reserved, got)
		}
		r, _ = st.Reserve(ctx, models.ReserveInput{ProgrammeID: p.ID, ApplicationID: p.ID + "b", AmountCents: 500, At: t0.Add(time.Second)})
		if r.Reserved {
			t.Fatalf("Reserve(b, 500) with 400 left = reserved, want waitlisted")
		}
		// c fits (300 ≤ 400) but b waits first: c must not overtake it.
		r, _ = st.Reserve(ctx, models.ReserveInput{ProgrammeID: p.ID, ApplicationID: p.ID + "c", AmountCents: 300, At: t0.Add(2 * time.Second)})
		if r.Reserved {
			t.Fatalf("Reserve(c, 300) while b waits = reserved, want waitlisted (first come, first served)")
		}
		rel, err := st.Release(ctx, models.ReleaseInput{ProgrammeID: p.ID, ApplicationID: p.ID + "a", Key: "withdrawal", All: true, At: t0})
		storetest.Must(t, err)
		if rel.ReleasedCents != 600 || len(rel.Promoted) != 2 || rel.Promoted[0] != p.ID+"b" || rel.Promoted[1] != p.ID+"c" {
			t.Fatalf("Release(a) = %+v, want 600 released and [b c] promoted in order", rel)
		}
		l := ledger(t, st, p.ID)
		if l.ReservedCents != 800 || l.ReleasedCents != 600 || l.AvailableCents() != 200 {
			t.Fatalf("ledger after promotion = reserved %d released %d available %d, want 800/600/200",
				l.ReservedCents, l.ReleasedCents, l.AvailableCents())
		}
		// Releasing again under the same key is a no-op.
		rel, err = st.Release(ctx, models.ReleaseInput{ProgrammeID: p.ID, ApplicationID: p.ID + "a", Key: "withdrawal", All: true, At: t0})
		storetest.Must(t, err)
		if rel.ReleasedCents != 0 || ledger(t, st, p.ID).ReleasedCents != 600 {
			t.Fatalf("repeated Release(a) released %d, want 0", rel.ReleasedCents)
		}
	})
}

func TestLedgerPaymentIsIdempotent(t *testing.T) {
	dialects(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		p := seedProgramme(t, st, 1000)
		app := p.ID + "x"
		seedApplication(t, st, p.ID, app, 1)
		_, err := st.Reserve(ctx, models.ReserveInput{ProgrammeID: p.ID, ApplicationID: app, AmountCents: 1000, At: time.Now()})
		storetest.Must(t, err)
		pay := models.PaymentInput{ProgrammeID: p.ID, ApplicationID: app, TrancheID: app + "-1", Attempt: 1, AmountCents: 400, At: time.Now()}
		for i, want := range []bool{true, false, false} {
			res, err := st.RecordPayment(ctx, pay)
			storetest.Must(t, err)
			if res.Applied != want {
				t.Errorf("RecordPayment call %d: applied=%v, want %v", i+1, res.Applied, want)
			}
		}
		l := ledger(t, st, p.ID)
		if l.PaidCents != 400 || l.ReservedCents != 600 {
			t.Fatalf("after one payment paid=%d reserved=%d, want 400/600", l.PaidCents, l.ReservedCents)
		}
		// A returned payment goes back to reserved; paying it again is attempt 2.
		ret := pay
		ret.Reverse = true
		_, err = st.RecordPayment(ctx, ret)
		storetest.Must(t, err)
		pay.Attempt = 2
		_, err = st.RecordPayment(ctx, pay)
		storetest.Must(t, err)
		l = ledger(t, st, p.ID)
		if l.PaidCents != 400 || l.ReservedCents != 600 {
			t.Fatalf("after return and repayment paid=%d reserved=%d, want 400/600", l.PaidCents, l.ReservedCents)
		}
	})
}

func TestProjectionKeepsNewestState(t *testing.T) {
	dialects(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		p := seedProgramme(t, st, 1000)
		app := p.ID + "y"
		seedApplication(t, st, p.ID, app, 2)
		seedApplication(t, st, p.ID, app, 1) // an older event arriving late
		rec, err := st.Application(ctx, app, store.Scope{})
		storetest.Must(t, err)
		if rec.Seq != 2 {
			t.Fatalf("application seq = %d after a late older event, want 2", rec.Seq)
		}
		evs, err := st.Events(ctx, app)
		storetest.Must(t, err)
		if len(evs) != 2 {
			t.Fatalf("events = %d, want 2 (one per sequence)", len(evs))
		}
		if _, err := st.Application(ctx, app, store.Scope{Restricted: true, OrganisationID: "someone else"}); err == nil {
			t.Fatalf("Application visible to another organisation, want not found")
		}
		if _, err := st.Application(ctx, app, store.Scope{Restricted: true}); err == nil {
			t.Fatalf("Application visible to a restricted caller without organisation, want not found")
		}
		// The name the group gave is filed in the registry; its entry sees it.
		orgs, err := st.OrganisationsByKey(ctx, "  CAFE mitte ")
		storetest.Must(t, err)
		if len(orgs) != 1 {
			t.Fatalf("registry entries for the group's name = %d, want 1", len(orgs))
		}
		if _, err := st.Application(ctx, app, store.Scope{Restricted: true, OrganisationID: orgs[0].ID}); err != nil {
			t.Fatalf("Application not visible to its group member: %v", err)
		}
	})
}

func TestExportClaimsEachApprovalOnce(t *testing.T) {
	dialects(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		p := seedProgramme(t, st, 1000)
		app := p.ID + "e"
		approvedAt := time.Date(2027, 2, 1, 10, 0, 0, 123456000, time.UTC)
		project := func(seq int64, status models.TrancheStatus, approved *time.Time, batch ...string) {
			now := time.Now().UTC()
			storetest.Must(t, st.Project(ctx, models.ProjectInput{
				State: models.ApplicationState{ID: app, ProgrammeID: p.ID, Status: models.StatusActive, Seq: seq, SubmittedAt: now, UpdatedAt: now,
					Proposal: models.Proposal{Title: "t", Group: models.Group{Name: "g", Members: []models.Member{{Name: "m"}}}},
					Tranches: []models.Tranche{{ID: app + "-1", Number: 1, AmountCents: 400, Currency: "EUR", Status: status, ApprovedAt: approved,
						ApprovedBy: "approver", ExportBatch: strings.Join(batch, "")}}},
				Event: models.Event{Seq: seq, Kind: "k", At: now},
			}))
		}
		project(1, models.TrancheApproved, &approvedAt)
		// The approver is never offered its own approvals.
		if mine, err := st.ExportCandidates(ctx, p.ID, "approver"); err != nil || len(mine) != 0 {
			t.Fatalf("candidates for the approver = %d (%v), want none", len(mine), err)
		}
		seq, current := int64(1), &approvedAt
		claim := func(batch string) ([]models.TrancheRecord, error) {
			rows, err := st.ExportCandidates(ctx, p.ID, "fin")
			storetest.Must(t, err)
			ids := []string{}
			for _, r := range rows {
				ids = append(ids, r.ID)
				seq++ // the workflow marks it exported in the batch
				project(seq, models.TrancheExported, current, batch)
			}
			return rows, st.ClaimForExport(ctx, ids, batch, "fin", time.Now())
		}
		first, err := claim("B1")
		storetest.Must(t, err)
		if len(first) != 1 {
			t.Fatalf("first export claimed %d tranches, want 1", len(first))
		}
		again, err := claim("B2")
		storetest.Must(t, err)
		if len(again) != 0 {
			t.Fatalf("second export found %d tranches, want none (already exported)", len(again))
		}
		// Two exports that both saw the tranche: the second records nothing.
		if err := st.ClaimForExport(ctx, []string{app + "-1"}, "B2", "fin", time.Now()); !errors.Is(err, store.ErrExportRace) {
			t.Fatalf("claiming an exported tranche again = %v, want ErrExportRace", err)
		}
		list, err := st.ExportBatches(ctx, p.ID)
		storetest.Must(t, err)
		if len(list) != 1 || list[0].BatchID != "B1" || list[0].Count != 1 || list[0].TotalCents != 400 || list[0].CreatedAt.IsZero() {
			t.Fatalf("ExportBatches = %+v, want batch B1 of one 400-cent tranche", list)
		}
		batch, err := st.ExportBatch(ctx, "B1")
		storetest.Must(t, err)
		if len(batch) != 1 || batch[0].ID != app+"-1" {
			t.Fatalf("batch B1 = %+v, want the one tranche", batch)
		}
		if b2, _ := st.ExportBatch(ctx, "B2"); len(b2) != 0 {
			t.Fatalf("failed claim left batch B2 with %d tranches, want none", len(b2))
		}
		// The payment failed and finance approved it again: a new approval, a new export.
		reapproved := approvedAt.Add(48 * time.Hour)
		seq++
		current = &reapproved
		project(seq, models.TrancheApproved, current)
		third, err := claim("B3")
		storetest.Must(t, err)
		if len(third) != 1 {
			t.Fatalf("export after re-approval claimed %d tranches, want 1", len(third))
		}
	})
}

func TestLedgerUnderConcurrency(t *testing.T) {
	st := storetest.New(t)
	ctx := context.Background()
	const grant, n, fits = 1_000, 60, 10
	p := seedProgramme(t, st, fits*grant)
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("%s-c%02d", p.ID, i)
		seedApplication(t, st, p.ID, ids[i], 1)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 2*n)
	reserved := make([]bool, n)
	for i, id := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := st.Reserve(ctx, models.ReserveInput{ProgrammeID: p.ID, ApplicationID: id, AmountCents: grant, At: time.Now().UTC()})
			reserved[i] = r.Reserved
			errs <- err
		}()
	}
	wg.Wait()
	held := 0
	for _, r := range reserved {
		if r {
			held++
		}
	}
	if held != fits {
		t.Fatalf("%d of %d reservations held, want exactly %d", held, n, fits)
	}
	// Half of the holders withdraw at once; each release promotes from the waitlist.
	promoted := make(chan []string, n)
	released := 0
	for i, id := range ids {
		if !reserved[i] || released == fits/2 {
			continue
		}
		released++
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := st.Release(ctx, models.ReleaseInput{ProgrammeID: p.ID, ApplicationID: id, Key: "withdrawal", All: true, At: time.Now().UTC()})
			promoted <- res.Promoted
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	close(promoted)
	for err := range errs {
		if err != nil {
			t.Fatalf("ledger call failed: %v", err)
		}
	}
	total := 0
	for ps := range promoted {
		total += len(ps)
	}
	l := ledger(t, st, p.ID)
	if total != fits/2 || l.ReservedCents != fits*grant || l.ReleasedCents != fits/2*grant || l.AvailableCents() != 0 {
		t.Fatalf("after %d releases: %d promoted, ledger reserved %d released %d available %d; want %d promoted and the fund full",
			fits/2, total, l.ReservedCents, l.ReleasedCents, l.AvailableCents(), fits/2)
	}
	var sum int64
	storetest.Must(t, st.DB.Raw("SELECT COALESCE(SUM(reserved_cents), 0) FROM applications WHERE programme_id = ?", p.ID).Scan(&sum).Error)
	if sum != l.ReservedCents {
		t.Fatalf("applications hold %d cents reserved, the programme %d", sum, l.ReservedCents)
	}
}

func TestRepaymentIsBookedOnceAndPromotes(t *testing.T) {
	dialects(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		p := seedProgramme(t, st, 1000)
		owing, waiting := p.ID+"-owing", p.ID+"-waiting"
		seedApplication(t, st, p.ID, owing, 1)
		seedApplication(t, st, p.ID, waiting, 1)
		now := time.Now().UTC()
		_, err := st.Reserve(ctx, models.ReserveInput{ProgrammeID: p.ID, ApplicationID: owing, AmountCents: 1000, At: now})
		storetest.Must(t, err)
		_, err = st.RecordPayment(ctx, models.PaymentInput{ProgrammeID: p.ID, ApplicationID: owing, TrancheID: owing + "-1", Attempt: 1, AmountCents: 1000, At: now})
		storetest.Must(t, err)
		if r, _ := st.Reserve(ctx, models.ReserveInput{ProgrammeID: p.ID, ApplicationID: waiting, AmountCents: 300, At: now}); r.Reserved {
			t.Fatalf("fund of 1000 fully paid out reserved 300 more")
		}
		// The owing application was cancelled: its 1000 paid are demanded back.
		storetest.Must(t, st.DB.Exec("UPDATE applications SET repayment_cents = 1000 WHERE id = ?", owing).Error)
		in := models.RepaymentInput{ApplicationID: owing, BankReference: "R-1", AmountCents: 400, At: now}
		applied, rec, promoted, err := st.RecordRepayment(ctx, in)
		storetest.Must(t, err)
		if !applied || rec.RepaidCents != 400 || len(promoted) != 1 || promoted[0] != waiting {
			t.Fatalf("RecordRepayment(400) = applied %v, repaid %d, promoted %v; want applied, 400, [waiting]", applied, rec.RepaidCents, promoted)
		}
		applied, rec, _, err = st.RecordRepayment(ctx, in)
		storetest.Must(t, err)
		if applied || rec.RepaidCents != 400 {
			t.Fatalf("same receipt again = applied %v, repaid %d; want not applied, 400", applied, rec.RepaidCents)
		}
		if _, _, _, err := st.RecordRepayment(ctx, models.RepaymentInput{ApplicationID: owing, BankReference: "R-2", AmountCents: 601, At: now}); !errors.Is(err, models.ErrInvalid) {
			t.Fatalf("repaying more than outstanding = %v, want ErrInvalid", err)
		}
		l := ledger(t, st, p.ID)
		if l.PaidCents != 600 || l.ReservedCents != 300 || l.ReleasedCents != 400 {
			t.Fatalf("ledger = paid %d reserved %d released %d, want 600/300/400", l.PaidCents, l.ReservedCents, l.ReleasedCents)
		}
	})
}
