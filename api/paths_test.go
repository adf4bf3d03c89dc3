package api_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/client"

	"reallabor/internal/apptest"
	"reallabor/models"
	"reallabor/workflows"
)

// startFast starts an application's workflow with the programme's rules
// changed (deadlines of seconds), as the API would start it, and waits until
// it is in review. The paths below run on the real server with real timers.
func startFast(t *testing.T, w *world, change func(r *models.Rules), programme ...string) string {
	t.Helper()
	rules := models.DefaultRules()
	rules.BudgetCents = 10_000_000
	change(&rules)
	v7, _ := uuid.NewV7()
	id := v7.String()
	begin := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	prog := w.programme
	if len(programme) > 0 {
		prog = programme[0]
	}
	in := workflows.ApplicationInput{ApplicationID: id, ProgrammeID: prog, Rules: rules,
		SubmittedBy: models.Actor{UserID: w.applicant.ID, Name: w.applicant.Name, Role: models.RoleApplicant, Organisation: w.applicant.Organisation},
		Proposal: models.Proposal{Title: "Fast clocks", Summary: "timers on the real server", RequestedCents: 1_000_000,
			TotalCostCents: 2_500_000, StartDate: begin, EndDate: begin.AddDate(1, 0, 0),
			Group: models.Group{Name: "Altstadt", Lead: "Cafe Mitte", Members: []models.Member{{Name: "Cafe Mitte"}}},
			Payee: models.Payee{Name: "Cafe Mitte GmbH", IBAN: "DE89370400440532013000"}}}
	sealed, err := workflows.Seal(w.app.Keys, id, "start", in, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := w.app.Temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: workflows.WorkflowID(id), TaskQueue: workflows.TaskQueue},
		workflows.WorkflowName, sealed); err != nil {
		t.Fatalf("start %s: %v", id, err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if r := w.app.Do(t, "GET", "/api/v1/applications/"+id, w.app.Admin, nil); r.Status == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("application %s not readable within 10 s", id)
		}
	}
	waitStatus(t, w, id, "in_review")
	return id
}

// waitEvent waits until the application's audit trail has an event of kind.
func waitEvent(t *testing.T, w *world, id, kind string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		var trail struct {
			Items []struct{ Kind string } `json:"items"`
		}
		w.app.Must(t, 200, "GET", "/api/v1/applications/"+id+"/history", w.app.Admin, nil).JSON(t, &trail)
		for _, e := range trail.Items {
			if e.Kind == kind {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("application %s: no %s event within 20 s", id, kind)
}

// TestClocksAndSidePaths runs, on the real server with deadlines of seconds,
// every clock of the lifecycle and the side paths: review reminder and
// escalation, an admin's extension, acceptance reminder and lapse, the
// revision deadline, report reminder and overdue, a declared conflict, a
// failed payment, a report sent back for changes, a payment returned from a
// payment file, a cancellation after payment. Each ends with the books exact;
// with -record-histories each history is kept for the replay test.
func TestClocksAndSidePaths(t *testing.T) {
	app := apptest.Start(t)
	w := newWorld(t, app, 100_000_000, nil)
	vote := func(id string, r apptest.User, rec string) {
		t.Helper()
		app.Must(t, 200, "POST", "/api/v1/applications/"+id+"/reviews", r,
			map[string]any{"recommendation": rec, "scores": apptest.Scores(5)})
	}
	report := func(id, kind string) string {
		t.Helper()
		var rep struct{ ID string }
		app.Must(t, http.StatusCreated, "POST", "/api/v1/applications/"+id+"/reports", w.applicant,
			map[string]any{"kind": kind, "narrative": kind + " report", "actual_costs_cents": 2_000_000}).JSON(t, &rep)
		return rep.ID
	}

	t.Run("review clocks, extension, acceptance clocks, lapse", func(t *testing.T) {
		id := startFast(t, w, func(r *models.Rules) {
			r.ReviewDeadline, r.ReviewReminder = 3*time.Second, 2*time.Second
			r.AcceptanceDeadline, r.AcceptanceReminder = 3*time.Second, 2*time.Second
		})
		waitEvent(t, w, id, "review_reminder")
		waitEvent(t, w, id, "review_escalated")
		app.Must(t, 200, "POST", "/api/v1/applications/"+id+"/review-deadline", app.Admin, map[string]any{"days": 7})
		for _, r := range w.reviewers {
			vote(id, r, "approve")
		}
		waitEvent(t, w, id, "acceptance_reminder")
		st := waitStatus(t, w, id, "lapsed")
		if st.GrantedCents != 1_000_000 {
			t.Errorf("lapsed grant = %d, want 1000000 granted (then released)", st.GrantedCents)
		}
		app.BooksExact(t)
		record(t, app, id, "clocks_extension_lapse")
	})

	t.Run("revision deadline", func(t *testing.T) {
		id := startFast(t, w, func(r *models.Rules) { r.RevisionDeadline = 2 * time.Second })
		for _, r := range w.reviewers {
			vote(id, r, "revise")
		}
		waitEvent(t, w, id, "revision_deadline_passed")
		waitStatus(t, w, id, "rejected")
		app.BooksExact(t)
		record(t, app, id, "revision_deadline")
	})

	t.Run("repayment demand: reminder, overdue, paid back", func(t *testing.T) {
		id := startFast(t, w, func(r *models.Rules) {
			r.RepaymentDue, r.ReportReminder = 3*time.Second, 2*time.Second
			r.RepaymentInterestBasisPoints = 500
		})
		for _, r := range w.reviewers {
			vote(id, r, "approve")
		}
		var st appState
		app.Must(t, 200, "POST", "/api/v1/applications/"+id+"/acceptance", w.applicant, nil).JSON(t, &st)
		st = w.pay(t, st, 1)
		app.Must(t, 200, "POST", "/api/v1/applications/"+id+"/cancellation", app.Admin, map[string]any{"reason": "no project"})
		waitEvent(t, w, id, "repayment_reminder")
		waitEvent(t, w, id, "repayment_overdue")
		var owing struct {
			Status string `json:"status"`
			Demand struct {
				Status    string `json:"status"`
				Principal int64  `json:"principal_cents"`
			} `json:"repayment_demand"`
		}
		app.Must(t, 200, "GET", "/api/v1/applications/"+id, w.finance1, nil).JSON(t, &owing)
		if owing.Status != "cancelled" || owing.Demand.Status != "overdue" || owing.Demand.Principal != 400_000 {
			t.Fatalf("after the due date: %+v, want cancelled with 400000 overdue", owing)
		}
		// Overdue for seconds, not a whole day: no interest yet.
		var rep struct {
			Outstanding int64 `json:"outstanding_cents"`
			Interest    int64 `json:"interest_owed_cents"`
		}
		app.Must(t, http.StatusCreated, "POST", "/api/v1/applications/"+id+"/repayments", w.finance2,
			map[string]any{"amount_cents": 100_000, "bank_reference": "RZ-1"}).JSON(t, &rep)
		if rep.Outstanding != 300_000 || rep.Interest != 0 {
			t.Fatalf("after a part payment: %+v, want 300000 outstanding, no interest", rep)
		}
		app.Must(t, http.StatusCreated, "POST", "/api/v1/applications/"+id+"/repayments", w.finance2,
			map[string]any{"amount_cents": 300_000, "bank_reference": "RZ-2"})
		waitEvent(t, w, id, "repayment_settled")
		app.BooksExact(t)
		record(t, app, id, "repayment_overdue")
	})

	t.Run("waitlist's own check", func(t *testing.T) {
		small := app.CreateProgramme(t, 500_000, nil)
		id := startFast(t, w, func(r *models.Rules) { r.WaitlistCheck = time.Second }, small)
		for _, r := range w.reviewers {
			vote(id, r, "approve")
		}
		waitStatus(t, w, id, "waitlisted")
		// The check rings and asks the ledger (still not covered) twice.
		time.Sleep(2500 * time.Millisecond)
		var st struct {
			Deadlines struct {
				WaitlistCheck *time.Time `json:"waitlist_check"`
			} `json:"deadlines"`
			Status string `json:"status"`
		}
		app.Must(t, 200, "GET", "/api/v1/applications/"+id, app.Admin, nil).JSON(t, &st)
		if st.Status != "waitlisted" || st.Deadlines.WaitlistCheck == nil || !st.Deadlines.WaitlistCheck.After(time.Now()) || time.Until(*st.Deadlines.WaitlistCheck) > 2*time.Second {
			t.Fatalf("after its checks: %+v, want still waitlisted with the next check rescheduled (in the future, within a second)", st)
		}
		app.Must(t, 200, "POST", "/api/v1/applications/"+id+"/withdrawal", w.applicant, map[string]any{"reason": "cannot wait"})
		app.BooksExact(t)
		record(t, app, id, "waitlist_check")
	})

	t.Run("conflict, failed payment, report changes, return from a file, report clocks, cancellation after payment", func(t *testing.T) {
		id := startFast(t, w, func(r *models.Rules) {
			r.ReviewersRequired = 2
			r.InterimReportAfter, r.ReportReminder = 4*time.Second, 2*time.Second
		})
		app.Must(t, 200, "POST", "/api/v1/applications/"+id+"/reviews", w.reviewers[2], map[string]any{"conflict_of_interest": true})
		vote(id, w.reviewers[0], "approve")
		vote(id, w.reviewers[1], "approve")
		var st appState
		app.Must(t, 200, "POST", "/api/v1/applications/"+id+"/acceptance", w.applicant, nil).JSON(t, &st)
		t1 := st.Tranches[0].ID
		app.Must(t, 200, "POST", "/api/v1/disbursements/"+t1+"/approval", w.finance1, nil)
		app.Must(t, 200, "POST", "/api/v1/disbursements/"+t1+"/failure", w.finance1, map[string]any{"reason": "wrong amount"})
		app.Must(t, 200, "POST", "/api/v1/disbursements/"+t1+"/approval", w.finance1, nil)
		app.Must(t, 200, "GET", "/api/v1/disbursements/export?format=csv&programme_id="+w.programme, w.finance2, nil)
		app.Must(t, 200, "POST", "/api/v1/disbursements/"+t1+"/failure", w.finance1, map[string]any{"reason": "AC04 account closed"})
		app.Must(t, 200, "POST", "/api/v1/disbursements/"+t1+"/approval", w.finance1, nil)
		app.Must(t, 200, "POST", "/api/v1/disbursements/"+t1+"/payment", w.finance2, map[string]any{"bank_reference": "BANK-FAST-1"})
		waitEvent(t, w, id, "interim_report_reminder")
		waitEvent(t, w, id, "interim_report_overdue")
		rep := report(id, "interim")
		app.Must(t, 200, "POST", "/api/v1/applications/"+id+"/reports/"+rep+"/assessment", w.reviewers[0],
			map[string]any{"decision": "revise", "comment": "costs per line, please"})
		rep = report(id, "interim")
		app.Must(t, 200, "POST", "/api/v1/applications/"+id+"/reports/"+rep+"/assessment", w.reviewers[0],
			map[string]any{"decision": "accept"})
		app.Must(t, 200, "POST", "/api/v1/applications/"+id+"/cancellation", app.Admin, map[string]any{"reason": "fraud suspected"}).JSON(t, &st)
		if st.Status != "cancelled" || st.RepaymentCents != st.PaidCents || st.PaidCents == 0 {
			t.Fatalf("after cancellation %+v, want cancelled with what was paid demanded back", st)
		}
		app.BooksExact(t)
		record(t, app, id, "conflict_failure_return_report_revision_cancellation")
	})
}
