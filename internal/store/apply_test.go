package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"testing"
	"time"

	"reallabor/internal/store"
	"reallabor/internal/store/storetest"
	"reallabor/models"
)

// TestApplyIsAllOrNothing: an action's write that the database refuses (a NUL
// in a text, which PostgreSQL cannot store) is reported as models.ErrData
// (not to be retried) and leaves nothing of the action behind: its release
// is not booked, its event not written, the row not moved on.
func TestApplyIsAllOrNothing(t *testing.T) {
	st := storetest.New(t)
	ctx := context.Background()
	p := seedProgramme(t, st, 10_000)
	id := p.ID + "-a"
	seedApplication(t, st, p.ID, id, 1)
	if _, err := st.Reserve(ctx, models.ReserveInput{ProgrammeID: p.ID, ApplicationID: id, AmountCents: 1_000, At: time.Now()}); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	state := models.ApplicationState{ID: id, ProgrammeID: p.ID, Status: models.StatusWithdrawn, Seq: 2, SubmittedAt: now, UpdatedAt: now,
		Reason: "changed our minds", Proposal: models.Proposal{Title: "t\x00", Group: models.Group{Name: "g", Members: []models.Member{{Name: "Cafe Mitte"}}}}}
	in := models.ApplyInput{State: state,
		Events:   []models.Event{{Seq: 2, Kind: "withdrawn", From: models.StatusInReview, To: models.StatusWithdrawn, At: now}},
		Releases: []models.ReleaseInput{{ProgrammeID: p.ID, ApplicationID: id, Key: "withdrawal", All: true, At: now}}}
	if _, err := st.Apply(ctx, in); !errors.Is(err, models.ErrData) {
		t.Fatalf("Apply with a NUL in the title = %v, want models.ErrData", err)
	}
	l, err := st.Ledger(ctx, p.ID)
	storetest.Must(t, err)
	if l.ReservedCents != 1_000 || l.ReleasedCents != 0 {
		t.Errorf("ledger after the refused write = reserved %d released %d, want 1000 and 0 (nothing released)", l.ReservedCents, l.ReleasedCents)
	}
	app, err := st.Application(ctx, id, store.Scope{})
	storetest.Must(t, err)
	if app.Seq != 1 || app.Status != models.StatusInReview {
		t.Errorf("application after the refused write = seq %d %s, want seq 1 in_review", app.Seq, app.Status)
	}
	// The same write with clean content goes through, once.
	in.State.Proposal.Title = "t"
	for range 2 {
		if _, err := st.Apply(ctx, in); err != nil {
			t.Fatalf("Apply: %v", err)
		}
	}
	l, _ = st.Ledger(ctx, p.ID)
	if l.ReservedCents != 0 || l.ReleasedCents != 1_000 {
		t.Errorf("ledger after the write applied twice = reserved %d released %d, want 0 and 1000 (released once)", l.ReservedCents, l.ReleasedCents)
	}
}

// TestApplyKeepsTheGroupInStep: the organisations that see an application
// follow its group from write to write, also now that a write whose group
// is unchanged skips them: a confirmation counts, a company dropped by a
// revision loses access, an earlier state written late changes nothing.
func TestApplyKeepsTheGroupInStep(t *testing.T) {
	st := storetest.New(t)
	ctx := context.Background()
	p := seedProgramme(t, st, 10_000)
	id := p.ID + "-g"
	now := time.Now().UTC()
	state := func(seq int64, members ...models.Member) models.ApplyInput {
		return models.ApplyInput{State: models.ApplicationState{ID: id, ProgrammeID: p.ID, Status: models.StatusInReview, Seq: seq,
			SubmittedAt: now, UpdatedAt: now, Proposal: models.Proposal{Title: "t", Group: models.Group{Name: "g", Members: members}}},
			Events: []models.Event{{Seq: seq, Kind: "note", At: now}}}
	}
	seen := func() map[string]string {
		var rows []struct{ Organisation, Confirmation string }
		storetest.Must(t, st.DB.Raw("SELECT organisation, confirmation FROM application_organisations WHERE application_id = ?", id).Scan(&rows).Error)
		out := map[string]string{}
		for _, r := range rows {
			out[r.Organisation] = r.Confirmation
		}
		return out
	}
	a := models.Member{Name: "Cafe Mitte", OrganisationID: "org-a", Confirmation: models.ConfirmationSubmitter}
	b := models.Member{Name: "Buchladen", OrganisationID: "org-b", Confirmation: models.ConfirmationInvited}
	steps := []struct {
		in   models.ApplyInput
		want map[string]string
	}{
		{state(1, a, b), map[string]string{"org-a": "submitter", "org-b": "invited"}},
		{state(2, a, b), map[string]string{"org-a": "submitter", "org-b": "invited"}},
		{state(3, a, models.Member{Name: b.Name, OrganisationID: b.OrganisationID, Confirmation: models.ConfirmationConfirmed}),
			map[string]string{"org-a": "submitter", "org-b": "confirmed"}},
		{state(4, a), map[string]string{"org-a": "submitter"}},
		{state(2, a, b), map[string]string{"org-a": "submitter"}}, // late: seq 4 is written
		{state(5, a, b), map[string]string{"org-a": "submitter", "org-b": "invited"}},
	}
	for i, s := range steps {
		if _, err := st.Apply(ctx, s.in); err != nil {
			t.Fatalf("step %d: Apply: %v", i, err)
		}
		if got := seen(); !maps.Equal(got, s.want) {
			t.Errorf("step %d (seq %d): organisations = %v, want %v", i, s.in.State.Seq, got, s.want)
		}
	}
}

// TestApplyWritesAStateChangedWithoutAnEvent: a state that changed without
// an event keeps its sequence (a waitlist check rescheduled): written after
// the state before it at that sequence, it is the one the row holds; the
// same write made again changes nothing.
func TestApplyWritesAStateChangedWithoutAnEvent(t *testing.T) {
	st := storetest.New(t)
	ctx := context.Background()
	p := seedProgramme(t, st, 10_000)
	id := p.ID + "-w"
	now := time.Now().UTC().Truncate(time.Second)
	state := models.ApplicationState{ID: id, ProgrammeID: p.ID, Status: models.StatusWaitlisted, Seq: 2, SubmittedAt: now, UpdatedAt: now,
		Proposal: models.Proposal{Title: "t", Group: models.Group{Name: "g", Members: []models.Member{{Name: "Cafe Mitte"}}}}}
	first, next := now.Add(time.Hour), now.Add(2*time.Hour)
	state.Deadlines.WaitlistCheck = &first
	in := models.ApplyInput{State: state, Events: []models.Event{{Seq: 2, Kind: "waitlisted", To: models.StatusWaitlisted, At: now}}}
	_, err := st.Apply(ctx, in)
	storetest.Must(t, err)
	later := state
	later.Deadlines.WaitlistCheck = &next
	for range 2 {
		_, err = st.Apply(ctx, models.ApplyInput{State: later})
		storetest.Must(t, err)
	}
	rec, err := st.Application(ctx, id, store.Scope{})
	storetest.Must(t, err)
	var got models.ApplicationState
	storetest.Must(t, json.Unmarshal([]byte(rec.State), &got))
	if got.Deadlines.WaitlistCheck == nil || !got.Deadlines.WaitlistCheck.Equal(next) {
		t.Errorf("next check written = %v, want %v (the state without an event)", got.Deadlines.WaitlistCheck, next)
	}
}

// TestApplyRewritesOnlyTranchesThatChanged: a write changes a tranche's row
// only if the tranche changed (the row's seq is that of its last change);
// what a tranche is, on both databases, follows the latest state, and an
// earlier state written late changes nothing.
func TestApplyRewritesOnlyTranchesThatChanged(t *testing.T) {
	dialects(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		p := seedProgramme(t, st, 10_000)
		id := p.ID + "-t"
		now := time.Now().UTC().Truncate(time.Second)
		due := now.Add(24 * time.Hour)
		tranche := func(n int, status models.TrancheStatus, approvedBy string) models.Tranche {
			return models.Tranche{ID: fmt.Sprintf("%s-%d", id, n), Number: n, Trigger: "acceptance", AmountCents: 500, Currency: "EUR",
				Status: status, DueAt: &due, ApprovedBy: approvedBy}
		}
		write := func(seq int64, ts ...models.Tranche) {
			t.Helper()
			_, err := st.Apply(ctx, models.ApplyInput{State: models.ApplicationState{ID: id, ProgrammeID: p.ID, Status: models.StatusActive,
				Seq: seq, SubmittedAt: now, UpdatedAt: now.Add(time.Duration(seq) * time.Minute), Tranches: ts,
				Proposal: models.Proposal{Title: "t", Group: models.Group{Name: "g", Members: []models.Member{{Name: "Cafe Mitte"}}}}},
				Events: []models.Event{{Seq: seq, Kind: "note", At: now}}})
			storetest.Must(t, err)
		}
		row := func(n int) models.TrancheRecord {
			t.Helper()
			r, err := st.Tranche(ctx, fmt.Sprintf("%s-%d", id, n))
			storetest.Must(t, err)
			return r
		}
		write(2, tranche(1, models.TrancheDue, ""), tranche(2, models.TrancheScheduled, ""))
		write(3, tranche(1, models.TrancheDue, ""), tranche(2, models.TrancheScheduled, "")) // nothing changed
		if r := row(1); r.Seq != 2 || r.Status != models.TrancheDue {
			t.Errorf("tranche 1 after an unchanged write: seq %d %s, want seq 2 due", r.Seq, r.Status)
		}
		write(4, tranche(1, models.TrancheApproved, "fin-1"), tranche(2, models.TrancheScheduled, ""))
		if r := row(1); r.Seq != 4 || r.Status != models.TrancheApproved || r.ApprovedBy != "fin-1" {
			t.Errorf("tranche 1 after its approval: seq %d %s by %q, want seq 4 approved by fin-1", r.Seq, r.Status, r.ApprovedBy)
		}
		if r := row(2); r.Seq != 2 {
			t.Errorf("tranche 2, unchanged since seq 2, has seq %d", r.Seq)
		}
		write(3, tranche(1, models.TrancheDue, ""), tranche(2, models.TrancheScheduled, "")) // late
		if r := row(1); r.Status != models.TrancheApproved {
			t.Errorf("tranche 1 after an earlier state written late: %s, want approved", r.Status)
		}
	})
}
