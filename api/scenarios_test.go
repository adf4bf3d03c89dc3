package api_test

import (
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"reallabor/internal/apptest"
)

// TestLifecycleScenarios runs the other complete lifecycles (each recorded
// for the replay test with -record-histories).
func TestLifecycleScenarios(t *testing.T) {
	app := apptest.Start(t)

	t.Run("rejection", func(t *testing.T) {
		w := newWorld(t, app, 10_000_000, nil)
		st := w.submit(t, 500_000)
		st = w.vote(t, st.ID, "reject", 1)
		if st.Status != "rejected" {
			t.Fatalf("status = %s, want rejected", st.Status)
		}
		if l := w.ledger(t); l.ReservedCents != 0 {
			t.Fatalf("a rejection reserved %d cents", l.ReservedCents)
		}
		app.Must(t, http.StatusConflict, "POST", "/api/v1/applications/"+st.ID+"/acceptance", w.applicant, nil)
		record(t, app, st.ID, "rejection")
	})

	t.Run("revision loop", func(t *testing.T) {
		w := newWorld(t, app, 10_000_000, nil)
		st := w.submit(t, 500_000)
		st = w.vote(t, st.ID, "revise", 3)
		if st.Status != "revision_requested" {
			t.Fatalf("status = %s, want revision_requested", st.Status)
		}
		revised := apptest.Proposal(w.programme, "Cafe Mitte", 400_000)
		delete(revised, "programme_id")
		revised["title"] = "Click & Collect Altstadt (revised)"
		app.Must(t, 200, "POST", "/api/v1/applications/"+st.ID+"/revision", w.applicant, revised).JSON(t, &st)
		if st.Status != "in_review" {
			t.Fatalf("after revision status = %s, want in_review", st.Status)
		}
		// Round two: the same reviewers may vote again.
		st = w.vote(t, st.ID, "approve", 4)
		if st.Status != "approved" || st.GrantedCents != 400_000 {
			t.Fatalf("after round two status=%s granted=%d, want approved 400000", st.Status, st.GrantedCents)
		}
		app.Must(t, 200, "POST", "/api/v1/applications/"+st.ID+"/withdrawal", w.applicant, map[string]any{"reason": "found other funding"})
		record(t, app, st.ID, "revision_loop")
	})

	t.Run("waitlist promotion", func(t *testing.T) {
		w := newWorld(t, app, 1_000_000, nil)
		first := w.submit(t, 800_000)
		second := w.submit(t, 500_000)
		first = w.vote(t, first.ID, "approve", 5)
		second = w.vote(t, second.ID, "approve", 5)
		if first.Status != "approved" || second.Status != "waitlisted" {
			t.Fatalf("statuses = %s/%s, want approved/waitlisted", first.Status, second.Status)
		}
		app.Must(t, 200, "POST", "/api/v1/applications/"+first.ID+"/withdrawal", w.applicant, map[string]any{"reason": "x"})
		second = waitStatus(t, w, second.ID, "approved")
		if l := w.ledger(t); l.ReservedCents != 500_000 || l.ReleasedCents != 800_000 {
			t.Fatalf("ledger after promotion = %+v, want reserved 500000 released 800000", l)
		}
		app.Must(t, 200, "POST", "/api/v1/applications/"+second.ID+"/acceptance", w.applicant, nil)
		app.Must(t, 200, "POST", "/api/v1/applications/"+second.ID+"/cancellation", app.Admin, map[string]any{"reason": "test ends"})
		record(t, app, second.ID, "waitlist_promotion")
		record(t, app, first.ID, "withdrawal")
	})

	t.Run("cancellation after payment", func(t *testing.T) {
		w := newWorld(t, app, 10_000_000, nil)
		st := w.submit(t, 1_000_000)
		st = w.vote(t, st.ID, "approve", 5)
		app.Must(t, 200, "POST", "/api/v1/applications/"+st.ID+"/acceptance", w.applicant, nil).JSON(t, &st)
		st = w.pay(t, st, 1)
		// Withdrawal is only possible before the first payment.
		app.Must(t, http.StatusConflict, "POST", "/api/v1/applications/"+st.ID+"/withdrawal", w.applicant, nil)
		app.Must(t, http.StatusUnprocessableEntity, "POST", "/api/v1/applications/"+st.ID+"/cancellation", app.Admin, map[string]any{})
		app.Must(t, 200, "POST", "/api/v1/applications/"+st.ID+"/cancellation", app.Admin,
			map[string]any{"reason": "project abandoned"}).JSON(t, &st)
		if st.Status != "cancelled" || st.RepaymentCents != 400_000 {
			t.Fatalf("after cancel status=%s repayment=%d, want cancelled 400000", st.Status, st.RepaymentCents)
		}
		if l := w.ledger(t); l.ReservedCents != 0 || l.PaidCents != 400_000 || l.ReleasedCents != 600_000 {
			t.Fatalf("ledger after cancellation = %+v, want reserved 0 paid 400000 released 600000", l)
		}
		// The money paid is demanded back; it stays cancelled, owing, until
		// finance books the transfer.
		var owing struct {
			Demand *struct {
				Reason    string `json:"reason"`
				Principal int64  `json:"principal_cents"`
				Status    string `json:"status"`
			} `json:"repayment_demand"`
			Next []struct {
				Action string `json:"action"`
				Yours  bool   `json:"yours"`
			} `json:"next"`
		}
		app.Must(t, 200, "GET", "/api/v1/applications/"+st.ID, w.applicant, nil).JSON(t, &owing)
		if d := owing.Demand; d == nil || d.Reason != "cancellation" || d.Principal != 400_000 || d.Status != "open" ||
			len(owing.Next) == 0 || owing.Next[0].Action != "repay" || !owing.Next[0].Yours {
			t.Fatalf("after cancellation the group sees demand %+v, next %+v; want 400000 owed and theirs to repay", d, owing.Next)
		}
		var rep struct {
			Outstanding int64  `json:"outstanding_cents"`
			Status      string `json:"status"`
		}
		app.Must(t, http.StatusCreated, "POST", "/api/v1/applications/"+st.ID+"/repayments", w.finance1,
			map[string]any{"amount_cents": 400_000, "bank_reference": "STORNO-1", "received_on": time.Now().UTC().Format(time.DateOnly)}).JSON(t, &rep)
		if rep.Outstanding != 0 || rep.Status != "cancelled" {
			t.Fatalf("after the repayment: %+v, want nothing outstanding, still cancelled", rep)
		}
		if l := w.ledger(t); l.PaidCents != 0 || l.ReleasedCents != 1_000_000 {
			t.Fatalf("ledger after the repayment = %+v, want paid 0 released 1000000", l)
		}
		record(t, app, st.ID, "cancellation")
	})

	t.Run("settlement with repayment", func(t *testing.T) {
		w := newWorld(t, app, 10_000_000, nil)
		st := w.submit(t, 1_000_000)
		st = w.vote(t, st.ID, "approve", 5)
		app.Must(t, 200, "POST", "/api/v1/applications/"+st.ID+"/acceptance", w.applicant, nil).JSON(t, &st)
		st = w.pay(t, st, 1)
		st = w.report(t, st.ID, "interim", 500_000, w.reviewers[1])
		st = w.pay(t, st, 2)
		// Eligible costs 1,200,001 at 50 %: grant 600,000 (rounded down); 800,000 paid.
		st = w.report(t, st.ID, "final", 1_200_001, w.reviewers[2])
		// Not closed while money is owed.
		if st.Status != "active" || st.Settlement == nil || st.Settlement.GrantCents != 600_000 || st.RepaymentCents != 200_000 {
			t.Fatalf("status=%s settlement=%+v repayment=%d, want active (owing), grant 600000, repayment 200000",
				st.Status, st.Settlement, st.RepaymentCents)
		}
		if st.Tranches[2].Status != "cancelled" {
			t.Errorf("tranche 3 = %s, want cancelled (nothing left to pay)", st.Tranches[2].Status)
		}
		if l := w.ledger(t); l.ReservedCents != 0 || l.PaidCents != 800_000 || l.ReleasedCents != 200_000 {
			t.Fatalf("ledger after settlement = %+v, want reserved 0 paid 800000 released 200000", l)
		}
		// The group pays the 2,000.00 EUR back in two transfers; finance books them.
		var rep struct {
			Repaid      int64  `json:"repaid_cents"`
			Outstanding int64  `json:"outstanding_cents"`
			Status      string `json:"status"`
		}
		pay := func(amount int64, ref string) apptest.Response {
			return app.Do(t, "POST", "/api/v1/applications/"+st.ID+"/repayments", w.finance1,
				map[string]any{"amount_cents": amount, "bank_reference": ref})
		}
		if r := pay(250_000, "RUECK-1"); r.Status != http.StatusUnprocessableEntity {
			t.Fatalf("repayment above what is owed = %d, want 422", r.Status)
		}
		pay(150_000, "RUECK-1").JSON(t, &rep)
		pay(150_000, "RUECK-1").JSON(t, &rep) // the same receipt twice counts once
		if rep.Repaid != 150_000 || rep.Outstanding != 50_000 {
			t.Fatalf("after one receipt booked twice: repaid %d outstanding %d, want 150000 and 50000", rep.Repaid, rep.Outstanding)
		}
		if rep.Status != "active" {
			t.Fatalf("status with 500.00 EUR still owed = %s, want active", rep.Status)
		}
		if r := app.Do(t, "POST", "/api/v1/applications/"+st.ID+"/repayments", w.finance1,
			map[string]any{"amount_cents": 150_000, "bank_reference": "RUECK-1", "received_on": "2020-01-01"}); r.Status != http.StatusConflict {
			t.Fatalf("a booked reference with another date = %d, want 409", r.Status)
		}
		if r := app.Do(t, "POST", "/api/v1/applications/"+st.ID+"/repayments", w.finance1,
			map[string]any{"amount_cents": 1, "bank_reference": "RUECK-9", "received_on": "2999-01-01"}); r.Status != http.StatusUnprocessableEntity {
			t.Fatalf("a value date in the future = %d, want 422", r.Status)
		}
		pay(50_000, "RUECK-2").JSON(t, &rep)
		if rep.Status != "closed" || rep.Outstanding != 0 {
			t.Fatalf("after the last transfer: %+v, want closed with nothing owed", rep)
		}
		if r := pay(1, "RUECK-3"); r.Status != http.StatusConflict {
			t.Fatalf("repayment when nothing is owed = %d, want 409", r.Status)
		}
		if l := w.ledger(t); l.PaidCents != 600_000 || l.ReleasedCents != 400_000 || l.AvailableCents != 10_000_000-600_000 {
			t.Fatalf("ledger after the repayment = %+v, want paid 600000 (the final grant) released 400000", l)
		}
		var got struct {
			Repaid int64 `json:"repaid_cents"`
		}
		app.Must(t, 200, "GET", "/api/v1/applications/"+st.ID, w.applicant, nil).JSON(t, &got)
		if got.Repaid != 200_000 {
			t.Fatalf("application shows repaid %d, want 200000", got.Repaid)
		}
		record(t, app, st.ID, "settlement_repayment")
	})
	app.BooksExact(t)
}

// TestConcurrentApprovals approves 50 applications at once against a fund
// that covers 10: exactly 10 are reserved, 40 waitlisted, the ledger is
// exact; one withdrawal promotes the oldest waiting application.
func TestConcurrentApprovals(t *testing.T) {
	app := apptest.Start(t)
	const grant = 100_000
	w := newWorld(t, app, 10*grant, map[string]any{"reviewers_required": 1})
	ids := make([]string, 50)
	for i := range ids {
		ids[i] = w.submit(t, grant).ID
	}
	var wg sync.WaitGroup
	statuses := make([]string, len(ids))
	for i, id := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := app.Do(t, "POST", "/api/v1/applications/"+id+"/reviews", w.reviewers[i%3],
				map[string]any{"recommendation": "approve", "scores": apptest.Scores(5)})
			var st appState
			if r.Status == 200 {
				r.JSON(t, &st)
			} else {
				t.Errorf("review of %s = %d: %s", id, r.Status, r.Body)
			}
			statuses[i] = st.Status
		}()
	}
	wg.Wait()
	count := map[string]int{}
	for _, s := range statuses {
		count[s]++
	}
	if count["approved"] != 10 || count["waitlisted"] != 40 {
		t.Fatalf("statuses = %v, want 10 approved and 40 waitlisted", count)
	}
	if l := w.ledger(t); l.ReservedCents != 10*grant || l.AvailableCents != 0 {
		t.Fatalf("ledger = %+v, want exactly 10 grants reserved and nothing available", l)
	}
	var approved, firstWaiting string
	var waiting struct {
		Items []struct{ ID string } `json:"items"`
	}
	app.Must(t, 200, "GET", "/api/v1/applications?status=waitlisted&limit=200", app.Admin, nil).JSON(t, &waiting)
	if len(waiting.Items) != 40 {
		t.Fatalf("listed %d waitlisted, want 40", len(waiting.Items))
	}
	for i, s := range statuses {
		if s == "approved" && approved == "" {
			approved = ids[i]
		}
	}
	// The oldest on the waitlist is the one that was waitlisted first; the
	// list is in submission order, so find it from the audit trail instead.
	firstWaiting = oldestWaitlisted(t, w, waiting.Items)
	app.Must(t, 200, "POST", "/api/v1/applications/"+approved+"/withdrawal", w.applicant, nil)
	waitStatus(t, w, firstWaiting, "approved")
	if l := w.ledger(t); l.ReservedCents != 10*grant || l.ReleasedCents != grant {
		t.Fatalf("ledger after promotion = %+v, want 10 grants reserved, one released", l)
	}
	app.BooksExact(t)
}

// oldestWaitlisted is the head of the programme's waitlist, as the ledger
// orders it (time of waitlisting, then id).
func oldestWaitlisted(t *testing.T, w *world, items []struct{ ID string }) string {
	t.Helper()
	var id string
	if err := w.app.Store.DB.Raw("SELECT application_id FROM waitlist WHERE programme_id = ? ORDER BY since, application_id LIMIT 1",
		w.programme).Scan(&id).Error; err != nil || id == "" {
		t.Fatalf("head of waitlist: %q %v", id, err)
	}
	found := false
	for _, it := range items {
		found = found || it.ID == id
	}
	if !found {
		t.Fatalf("head of waitlist %s is not listed as waitlisted", id)
	}
	return id
}

// waitStatus polls the application until it reaches status (promotion is a
// signal, so it lands shortly after the releasing action answers).
func waitStatus(t *testing.T, w *world, id, status string) appState {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		st := w.stateAs(t, id, w.app.Admin)
		if st.Status == status {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("application %s is %s, want %s", id, st.Status, status)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestUserTokenShownOnce: a replayed POST /users answers without the token,
// and no token is kept in the clear for the replay.
func TestUserTokenShownOnce(t *testing.T) {
	app := apptest.Start(t)
	body := map[string]any{"name": "Rita", "role": "reviewer", "organisation": "Stadtwerke"}
	var first, replay struct {
		ID    string `json:"id"`
		Token string `json:"token"`
	}
	app.Must(t, http.StatusCreated, "POST", "/api/v1/users", app.Admin, body, "Idempotency-Key", "rita-1").JSON(t, &first)
	app.Must(t, http.StatusCreated, "POST", "/api/v1/users", app.Admin, body, "Idempotency-Key", "rita-1").JSON(t, &replay)
	if first.Token == "" || replay.ID != first.ID || replay.Token != "" {
		t.Fatalf("first = %+v, replay = %+v; want one user, the token only in the first answer", first, replay)
	}
	var stored int64
	if err := app.Store.DB.Raw("SELECT count(*) FROM idempotency_keys WHERE response LIKE ?", "%"+first.Token+"%").Scan(&stored).Error; err != nil || stored != 0 {
		t.Fatalf("token found in %d stored responses (%v), want none", stored, err)
	}
	app.Must(t, http.StatusOK, "GET", "/api/v1/me", apptest.User{Token: first.Token}, nil)
}

// TestFailedExportLosesNothing: a payment file that cannot be made (here: the
// programme has no debtor account) records nothing, so the disbursement is
// still there for the next export.
func TestFailedExportLosesNothing(t *testing.T) {
	app := apptest.Start(t)
	w := newWorld(t, app, 10_000_000, map[string]any{"debtor_iban": "", "reviewers_required": 1})
	st := w.submit(t, 500_000)
	app.Must(t, 200, "POST", "/api/v1/applications/"+st.ID+"/reviews", w.reviewers[0],
		map[string]any{"recommendation": "approve", "scores": apptest.Scores(5)})
	app.Must(t, 200, "POST", "/api/v1/applications/"+st.ID+"/acceptance", w.applicant, nil).JSON(t, &st)
	app.Must(t, 200, "POST", "/api/v1/disbursements/"+st.Tranches[0].ID+"/approval", w.finance1, nil)
	q := "/api/v1/disbursements/export?programme_id=" + w.programme
	app.Must(t, http.StatusConflict, "GET", q+"&format=sepa", w.finance2, nil)
	r := app.Must(t, 200, "GET", q+"&format=csv", w.finance2, nil)
	if !strings.Contains(string(r.Body), ",200000,") {
		t.Fatalf("CSV after the failed SEPA export misses the disbursement:\n%s", r.Body)
	}
	app.Must(t, http.StatusNotFound, "GET", q+"&format=csv", w.finance2, nil)
	// The batch is listed, so a lost download can be fetched again.
	var exports struct {
		Items []struct {
			BatchID string `json:"batch_id"`
			Count   int    `json:"count"`
			Total   int64  `json:"total_cents"`
		} `json:"items"`
	}
	app.Must(t, 200, "GET", "/api/v1/disbursements/exports?programme_id="+w.programme, w.finance1, nil).JSON(t, &exports)
	if len(exports.Items) != 1 || exports.Items[0].BatchID != r.Header.Get("Export-Batch") ||
		exports.Items[0].Count != 1 || exports.Items[0].Total != 200_000 {
		t.Fatalf("exports = %+v, want the one batch %s of 1 disbursement, 200000 cents", exports.Items, r.Header.Get("Export-Batch"))
	}
	app.Must(t, 200, "GET", q+"&format=csv&batch="+exports.Items[0].BatchID, w.finance1, nil)
}
