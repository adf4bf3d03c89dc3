package api_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"reallabor/internal/apptest"
	"reallabor/models"
	"reallabor/workflows"
)

// TestForgedActionsRefused talks to Temporal directly, as anyone who reaches
// its frontend could (SDK client, no API): made-up reviewers' votes, a vote
// whose seal was made for another vote, a query posing as admin, a start of
// an application nobody submitted, a wait-for-submission posing as admin.
// Each is refused and nothing is written; the same vote sealed as the API
// seals it goes through.
func TestForgedActionsRefused(t *testing.T) {
	app := apptest.Start(t)
	w := newWorld(t, app, 10_000_000, nil)
	st := w.submit(t, 1_000_000)
	wf := workflows.WorkflowID(st.ID)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	update := func(id, name string, arg any) error {
		h, err := app.Temporal.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{WorkflowID: wf, UpdateID: id, UpdateName: name,
			Args: []any{arg}, WaitForStage: client.WorkflowUpdateStageCompleted})
		if err == nil {
			err = h.Get(ctx, nil)
		}
		return err
	}
	refused := func(what string, err error) {
		t.Helper()
		var appErr *temporal.ApplicationError
		if !errors.As(err, &appErr) || appErr.Type() != models.CodeForbidden {
			t.Errorf("%s = %v, want refused (Forbidden)", what, err)
		}
	}
	fake := models.Actor{UserID: "u-fake-1", Name: "Made Up", Role: models.RoleReviewer, Organisation: "Nobody GmbH"}
	vote := workflows.ReviewInput{Actor: fake, Recommendation: models.RecommendApprove, Scores: apptest.Scores(5)}
	refused("unsealed vote of a made-up reviewer", update("forged-1", workflows.UpdateSubmitReview, vote))

	// A seal the API made for a real reviewer's vote, carried over to another.
	real := workflows.ReviewInput{Actor: models.Actor{UserID: w.reviewers[0].ID, Name: w.reviewers[0].Name, Role: models.RoleReviewer,
		Organisation: w.reviewers[0].Organisation}, Recommendation: models.RecommendReject, Scores: apptest.Scores(1)}
	sealed, err := workflows.Seal(app.Keys, st.ID, workflows.UpdateSubmitReview, real, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	moved := vote
	moved.Seal = sealed.(workflows.ReviewInput).Seal
	refused("a vote carrying another vote's seal", update("forged-2", workflows.UpdateSubmitReview, moved))
	higher := sealed.(workflows.ReviewInput)
	higher.Scores = apptest.Scores(5)
	higher.Recommendation = models.RecommendApprove
	refused("a sealed vote with its scores changed", update("forged-3", workflows.UpdateSubmitReview, higher))
	other, err := workflows.Seal(app.Keys, st.ID+"x", workflows.UpdateSubmitReview, real, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	refused("a vote sealed for another application", update("forged-4", workflows.UpdateSubmitReview, other))
	refused("wait-for-submission posing as admin", update("forged-5", workflows.UpdateAwaitSubmission,
		workflows.ActionInput{Actor: models.Actor{UserID: "u-x", Role: models.RoleAdmin}}))
	refused("an unsealed put-back of the last action", update("forged-6", workflows.UpdateRevertUnwritten,
		workflows.RevertInput{Actor: models.Actor{UserID: "u-x", Role: models.RoleAdmin}, Seq: 2, Reason: "forged"}))

	// A query posing as admin, in either shape.
	for _, viewer := range []any{workflows.Viewer{Actor: models.Actor{UserID: "u-x", Role: models.RoleAdmin}}, models.Actor{UserID: "u-x", Role: models.RoleAdmin}} {
		if _, err := app.Temporal.QueryWorkflow(ctx, wf, "", workflows.QueryState, viewer); err == nil {
			t.Errorf("query as an unsealed admin (%T) answered, want refused", viewer)
		}
	}
	after := w.stateAs(t, st.ID, app.Admin)
	if after.Status != "in_review" {
		t.Fatalf("after the forged actions the application is %s, want in_review", after.Status)
	}
	var votes struct {
		Votes []struct {
			ReviewerID string `json:"reviewer_id"`
		} `json:"votes"`
	}
	app.Must(t, 200, "GET", "/api/v1/applications/"+st.ID, app.Admin, nil).JSON(t, &votes)
	if len(votes.Votes) != 0 {
		t.Fatalf("votes after the forged actions = %+v, want none", votes.Votes)
	}

	// The real reviewer's vote, sealed as the API seals it, goes through.
	if err := update("sealed-1", workflows.UpdateSubmitReview, sealed); err != nil {
		t.Fatalf("sealed vote = %v, want accepted", err)
	}

	// A start nobody submitted through the API ends at once, writing nothing.
	forgedID := st.ID[:len(st.ID)-4] + "beef"
	in := workflows.ApplicationInput{ApplicationID: forgedID, ProgrammeID: w.programme, Rules: models.DefaultRules(),
		SubmittedBy: models.Actor{UserID: w.applicant.ID, Role: models.RoleApplicant, Organisation: "Cafe Mitte"},
		Proposal:    models.Proposal{Title: "forged", RequestedCents: 1, TotalCostCents: 2}}
	run, err := app.Temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: workflows.WorkflowID(forgedID), TaskQueue: workflows.TaskQueue},
		workflows.WorkflowName, in)
	if err != nil {
		t.Fatal(err)
	}
	if err := run.Get(ctx, nil); err == nil {
		t.Fatalf("an unsealed start ran to its end, want it refused")
	}
	if r := app.Do(t, "GET", "/api/v1/applications/"+forgedID, app.Admin, nil); r.Status != 404 {
		t.Fatalf("GET the forged application = %d, want 404 (nothing written)", r.Status)
	}
	app.BooksExact(t)
}
