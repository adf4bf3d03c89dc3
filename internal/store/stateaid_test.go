package store_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"reallabor/internal/store"
	"reallabor/internal/store/storetest"
	"reallabor/models"
)

// TestStateAidIsGrantedOnceWithinTheCeiling: grants of several programmes
// to one company, made at once, each within the de-minimis ceiling alone but
// not together: exactly one is made and filed in the register, the others
// are refused naming the member; a repeat of the one made stands, and its
// withdrawal before payment takes the aid out again.
func TestStateAidIsGrantedOnceWithinTheCeiling(t *testing.T) {
	dialects(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		at := time.Now().UTC()
		org := fmt.Sprintf("org-%d", at.UnixNano())
		claim := models.StateAidClaim{CeilingCents: 100_00, Shares: []models.AidShare{
			{Member: 0, OrganisationID: org, Name: "Cafe Mitte", PriorCents: 30_00, AmountCents: 60_00}}}
		const n = 16
		ids := make([]string, n)
		progs := make([]string, n)
		for i := range n {
			progs[i] = seedProgramme(t, st, 1_000_00).ID
			ids[i] = fmt.Sprintf("app-aid-%d-%d", at.UnixNano(), i)
			seedApplication(t, st, progs[i], ids[i], 1)
		}
		results := make([]models.ReserveResult, n)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				res, err := st.Reserve(ctx, models.ReserveInput{ProgrammeID: progs[i], ApplicationID: ids[i],
					AmountCents: 60_00, At: at, StateAid: &claim})
				storetest.Must(t, err)
				results[i] = res
			}()
		}
		close(start)
		wg.Wait()
		made := -1
		for i, r := range results {
			switch {
			case r.Reserved && made == -1:
				made = i
			case r.Reserved:
				t.Fatalf("grants %d and %d both made: the company's aid exceeds its ceiling", made, i)
			case len(r.StateAid) != 1 || r.StateAid[0].Field != "group.members[0].prior_de_minimis_cents":
				t.Errorf("refused grant %d answered %+v, want the member's ceiling named", i, r)
			}
			if !r.Reserved && ledger(t, st, progs[i]).ReservedCents != 0 {
				t.Errorf("refused grant %d reserved budget", i)
			}
		}
		if made == -1 {
			t.Fatalf("no grant made: %+v", results)
		}
		entries, err := st.StateAidEntries(ctx, store.StateAidFilter{OrganisationID: org})
		storetest.Must(t, err)
		if len(entries) != 1 || entries[0].ApplicationID != ids[made] || entries[0].AmountCents != 60_00 {
			t.Fatalf("register = %+v, want the one grant made, 60.00", entries)
		}
		again, err := st.Reserve(ctx, models.ReserveInput{ProgrammeID: progs[made], ApplicationID: ids[made],
			AmountCents: 60_00, At: at, StateAid: &claim})
		storetest.Must(t, err)
		if !again.Reserved {
			t.Errorf("repeated reservation of the grant made = %+v, want it to stand", again)
		}

		// Withdrawn before payment: the state written says nothing was kept.
		now := time.Now().UTC()
		withdrawn := models.ApplicationState{ID: ids[made], ProgrammeID: progs[made], Status: models.StatusWithdrawn,
			Seq: 2, SubmittedAt: now, UpdatedAt: now, GrantedCents: 60_00,
			Proposal: models.Proposal{Title: "t", RequestedCents: 60_00, Group: models.Group{Name: "g",
				Members: []models.Member{{Name: "Cafe Mitte", OrganisationID: org}}}, Payee: models.Payee{Name: "p", IBAN: "DE89370400440532013000"}}}
		storetest.Must(t, st.Project(ctx, models.ProjectInput{State: withdrawn,
			Event: models.Event{Seq: 2, Kind: "withdrawn", From: models.StatusApproved, To: models.StatusWithdrawn, At: now}}))
		entries, err = st.StateAidEntries(ctx, store.StateAidFilter{OrganisationID: org})
		storetest.Must(t, err)
		if len(entries) != 0 {
			t.Errorf("register after a withdrawal before payment = %+v, want empty", entries)
		}
		sums, err := st.FundAid(ctx, []string{org}, now)
		storetest.Must(t, err)
		if sums[org] != 0 {
			t.Errorf("fund aid after the withdrawal = %d, want 0", sums[org])
		}
	})
}
