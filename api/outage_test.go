package api_test

import (
	"context"
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/worker"

	"reallabor/activities"
	"reallabor/internal/apptest"
	"reallabor/internal/store"
	"reallabor/internal/store/storetest"
	"reallabor/models"
	"reallabor/workflows"
)

// outageOnVote starts the product with the application database made
// unavailable (connections refused, open ones ended) the moment the first
// vote is about to be written, for the given time.
func outageOnVote(t *testing.T, outage, callTimeout time.Duration) *apptest.App {
	var armed atomic.Bool
	armed.Store(true)
	// The first write of a vote, whoever makes it (the API, or the
	// workflow's flush), meets the outage.
	trigger := func(st *store.Store, in models.ApplyInput) {
		for _, e := range in.Events {
			if e.Kind == "review_submitted" && armed.CompareAndSwap(true, false) {
				restore := storetest.Unavailable(t, st)
				t.Logf("database unavailable for %s", outage)
				time.AfterFunc(outage, func() { restore(); t.Log("database back") })
			}
		}
	}
	apply := func(st *store.Store) func(context.Context, models.ApplyInput) (models.ApplyResult, error) {
		return func(ctx context.Context, in models.ApplyInput) (models.ApplyResult, error) {
			trigger(st, in)
			return st.Apply(ctx, in)
		}
	}
	return apptest.StartWith(t, apptest.Options{CallTimeout: callTimeout, Apply: apply, Register: func(st *store.Store, w worker.Worker) {
		l := &activities.Ledger{Store: st}
		w.RegisterActivityWithOptions(l.ReserveBudget, activity.RegisterOptions{Name: workflows.ActivityReserveBudget})
		w.RegisterActivityWithOptions(func(ctx context.Context, in models.ApplyInput) (models.ApplyResult, error) {
			trigger(st, in)
			return l.Apply(ctx, in)
		}, activity.RegisterOptions{Name: workflows.ActivityApply})
	}})
}

// TestDatabaseOutageMidAction: the database goes away while a vote is being
// written. The vote is durable in the workflow; its write is retried until the
// database is back, and the reviewer gets the vote's answer. Afterwards the
// books agree with the workflow.
func TestDatabaseOutageMidAction(t *testing.T) {
	app := outageOnVote(t, 3*time.Second, 0)
	prog := app.CreateProgramme(t, 10_000_000, nil)
	applicant := app.CreateUser(t, "Anna", "applicant", "Cafe Mitte")
	reviewer := app.CreateUser(t, "Rita", "reviewer", "Stadtwerke")
	var st struct{ ID string }
	app.Must(t, http.StatusCreated, "POST", "/api/v1/applications", applicant, apptest.Proposal(prog, "Cafe Mitte", 1_000_000)).JSON(t, &st)
	began := time.Now()
	var after struct {
		Seq   int64 `json:"seq"`
		Votes []struct {
			ReviewerID string `json:"reviewer_id"`
		} `json:"votes"`
	}
	app.Must(t, 200, "POST", "/api/v1/applications/"+st.ID+"/reviews", reviewer,
		map[string]any{"recommendation": "approve", "scores": apptest.Scores(4)}).JSON(t, &after)
	t.Logf("vote answered after %s", time.Since(began).Round(time.Millisecond))
	if len(after.Votes) != 1 || after.Votes[0].ReviewerID != reviewer.ID {
		t.Fatalf("answer to the vote shows votes %+v, want the reviewer's", after.Votes)
	}
	var trail struct {
		Items []struct{ Kind string } `json:"items"`
	}
	app.Must(t, 200, "GET", "/api/v1/applications/"+st.ID+"/history", app.Admin, nil).JSON(t, &trail)
	if n := len(trail.Items); n != int(after.Seq) || trail.Items[n-1].Kind != "review_submitted" {
		t.Fatalf("audit trail after the outage = %+v, want %d events ending with the vote", trail.Items, after.Seq)
	}
	app.BooksExact(t)
}

// TestActionOutlastsTheCall: the database stays away longer than the API
// waits. The reviewer is told the vote is accepted and still running (202,
// where to look); sending the same request again, as told, answers with the
// vote once the database is back; nothing is applied twice.
func TestActionOutlastsTheCall(t *testing.T) {
	app := outageOnVote(t, 4*time.Second, 2*time.Second)
	prog := app.CreateProgramme(t, 10_000_000, nil)
	applicant := app.CreateUser(t, "Anna", "applicant", "Cafe Mitte")
	reviewer := app.CreateUser(t, "Rita", "reviewer", "Stadtwerke")
	var st struct{ ID string }
	app.Must(t, http.StatusCreated, "POST", "/api/v1/applications", applicant, apptest.Proposal(prog, "Cafe Mitte", 1_000_000)).JSON(t, &st)
	vote := map[string]any{"recommendation": "approve", "scores": apptest.Scores(4)}
	path := "/api/v1/applications/" + st.ID + "/reviews"
	r := app.Do(t, "POST", path, reviewer, vote, "Idempotency-Key", "vote-1")
	if r.Status != http.StatusAccepted || r.Header.Get("Location") != "/api/v1/applications/"+st.ID {
		t.Fatalf("vote during a long outage = %d (Location %q): %s, want 202 naming the application", r.Status, r.Header.Get("Location"), r.Body)
	}
	// Retry as told, until the answer is the vote's result.
	deadline := time.Now().Add(30 * time.Second)
	for {
		r = app.Do(t, "POST", path, reviewer, vote, "Idempotency-Key", "vote-1")
		if r.Status == http.StatusOK || time.Now().After(deadline) {
			break
		}
		if r.Status != http.StatusAccepted && r.Status != http.StatusConflict && r.Status != http.StatusServiceUnavailable &&
			r.Status != http.StatusInternalServerError {
			t.Fatalf("retry = %d: %s, want 202, 409 or 503 while the database is away, then 200", r.Status, r.Body)
		}
		if r.Status == http.StatusConflict && r.Header.Get("Retry-After") == "" {
			t.Errorf("409 in progress without Retry-After")
		}
		time.Sleep(500 * time.Millisecond)
	}
	if r.Status != http.StatusOK {
		t.Fatalf("retry after the outage = %d: %s, want 200", r.Status, r.Body)
	}
	var after struct {
		Votes []struct {
			ReviewerID string `json:"reviewer_id"`
		} `json:"votes"`
	}
	r.JSON(t, &after)
	if len(after.Votes) != 1 {
		t.Fatalf("votes after the retried vote = %+v, want exactly one", after.Votes)
	}
	app.BooksExact(t)
}

// TestRefusedWriteIsPutBack: the database refuses the write of the deciding
// vote (as it would content it cannot take). The vote was durable in the
// workflow; the API has it put back: the reviewer gets 422, the application
// is in review with the two earlier votes, nothing is reserved, the books
// agree; the same vote sent again goes through.
func TestRefusedWriteIsPutBack(t *testing.T) {
	var refuse atomic.Bool
	refuse.Store(true)
	app := apptest.StartWith(t, apptest.Options{Apply: func(st *store.Store) func(context.Context, models.ApplyInput) (models.ApplyResult, error) {
		return func(ctx context.Context, in models.ApplyInput) (models.ApplyResult, error) {
			for _, e := range in.Events {
				if e.Kind == "approved" && refuse.CompareAndSwap(true, false) {
					return models.ApplyResult{}, fmt.Errorf("%w: value too long for type character varying (injected)", models.ErrData)
				}
			}
			return st.Apply(ctx, in)
		}
	}})
	prog := app.CreateProgramme(t, 10_000_000, nil)
	applicant := app.CreateUser(t, "Anna", "applicant", "Cafe Mitte")
	var st struct{ ID string }
	app.Must(t, http.StatusCreated, "POST", "/api/v1/applications", applicant, apptest.Proposal(prog, "Cafe Mitte", 1_000_000)).JSON(t, &st)
	vote := map[string]any{"recommendation": "approve", "scores": apptest.Scores(5)}
	path := "/api/v1/applications/" + st.ID + "/reviews"
	var reviewers []apptest.User
	for _, name := range []string{"Rita", "Rolf", "Rosa"} {
		reviewers = append(reviewers, app.CreateUser(t, name, "reviewer", "Stadtwerke "+name))
	}
	app.Must(t, 200, "POST", path, reviewers[0], vote)
	app.Must(t, 200, "POST", path, reviewers[1], vote)
	r := app.Do(t, "POST", path, reviewers[2], vote)
	if r.Status != http.StatusUnprocessableEntity {
		t.Fatalf("deciding vote whose write is refused = %d: %s, want 422", r.Status, r.Body)
	}
	// Past the workflow's own flush: nothing of the vote came back.
	time.Sleep(3 * time.Second)
	var now struct {
		Status string `json:"status"`
		Votes  []any  `json:"votes"`
	}
	app.Must(t, 200, "GET", "/api/v1/applications/"+st.ID, app.Admin, nil).JSON(t, &now)
	if now.Status != "in_review" || len(now.Votes) != 2 {
		t.Fatalf("after the refused vote: %s with %d votes, want in_review with 2", now.Status, len(now.Votes))
	}
	var l struct {
		Reserved int64 `json:"reserved_cents"`
	}
	app.Must(t, 200, "GET", "/api/v1/programmes/"+prog+"/ledger", app.Admin, nil).JSON(t, &l)
	if l.Reserved != 0 {
		t.Fatalf("reserved after the refused vote = %d, want 0 (given back)", l.Reserved)
	}
	app.BooksExact(t)
	app.Must(t, 200, "POST", path, reviewers[2], vote).JSON(t, &now)
	if now.Status != "approved" {
		t.Fatalf("the vote sent again: %s, want approved", now.Status)
	}
	app.BooksExact(t)
	record(t, app, st.ID, "refused_write")
}

// TestRefusedSubmissionLeavesNothing: a submission whose write the database
// refuses (the API's and the workflow's own) is answered 422, leaves no
// application listed and the books exact, and its run ends failed; the
// same request sent again with its key gets the same answer, and the
// proposal sent anew once the database takes it goes through.
func TestRefusedSubmissionLeavesNothing(t *testing.T) {
	var refuse atomic.Bool
	refuse.Store(true)
	var attempts atomic.Int32
	app := apptest.StartWith(t, apptest.Options{Apply: func(st *store.Store) func(context.Context, models.ApplyInput) (models.ApplyResult, error) {
		return func(ctx context.Context, in models.ApplyInput) (models.ApplyResult, error) {
			if len(in.Events) > 0 && in.Events[0].Kind == "submitted" && refuse.Load() {
				attempts.Add(1)
				return models.ApplyResult{}, fmt.Errorf("%w: value too long for type character varying (injected)", models.ErrData)
			}
			return st.Apply(ctx, in)
		}
	}})
	prog := app.CreateProgramme(t, 10_000_000, nil)
	applicant := app.CreateUser(t, "Anna", "applicant", "Cafe Mitte")
	app.CreateUser(t, "Rita", "reviewer", "Stadtwerke")
	proposal := apptest.Proposal(prog, "Cafe Mitte", 1_000_000)
	r := app.Do(t, "POST", "/api/v1/applications", applicant, proposal, "Idempotency-Key", "refused-once")
	if r.Status != http.StatusUnprocessableEntity {
		t.Fatalf("submission whose write is refused = %d: %s, want 422", r.Status, r.Body)
	}
	// Past the workflow's own flush.
	time.Sleep(3 * time.Second)
	var list struct{ Items []any }
	app.Must(t, 200, "GET", "/api/v1/applications", app.Admin, nil).JSON(t, &list)
	if len(list.Items) != 0 {
		t.Fatalf("after the refused submission %d applications are listed, want none", len(list.Items))
	}
	// Its one run has ended failed.
	var runs []string
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		iter, err := app.Temporal.ListWorkflow(context.Background(), &workflowservice.ListWorkflowExecutionsRequest{})
		if err != nil {
			t.Fatal(err)
		}
		runs = runs[:0]
		for _, ex := range iter.Executions {
			runs = append(runs, ex.Status.String())
		}
		if len(runs) == 1 && iter.Executions[0].Status == enums.WORKFLOW_EXECUTION_STATUS_FAILED {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("runs after the refused submission: %v, want one, failed", runs)
		}
	}
	if attempts.Load() == 0 {
		t.Fatal("the refused write was never tried")
	}
	app.BooksExact(t)
	refuse.Store(false)
	// The same request again (its key) gets the same answer.
	if rr := app.Do(t, "POST", "/api/v1/applications", applicant, proposal, "Idempotency-Key", "refused-once"); rr.Status != http.StatusUnprocessableEntity {
		t.Errorf("the refused submission sent again with its key = %d: %s, want its 422", rr.Status, rr.Body)
	}
	var st struct{ Status string }
	app.Must(t, http.StatusCreated, "POST", "/api/v1/applications", applicant, proposal).JSON(t, &st)
	if st.Status != "in_review" {
		t.Fatalf("the proposal sent again: %s, want in_review", st.Status)
	}
	app.BooksExact(t)
	t.Logf("%d refused writes of the first submission", attempts.Load())
}
