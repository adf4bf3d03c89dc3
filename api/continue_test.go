package api_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"

	"reallabor/internal/apptest"
	"reallabor/workflows"
)

// TestContinueAsNewOnTheServer: a server that suggests continue-as-new after
// 60 history events makes a lifecycle continue in new runs several times;
// driven through HTTP as always, it closes with the books exact, and the
// runs' histories are kept for the replay test.
func TestContinueAsNewOnTheServer(t *testing.T) {
	app := apptest.StartWith(t, apptest.Options{SuggestContinueAsNewAfter: 60})
	w := newWorld(t, app, 10_000_000, nil)
	st := w.submit(t, 1_000_000)
	st = w.vote(t, st.ID, "approve", 5)
	app.Must(t, 200, "POST", "/api/v1/applications/"+st.ID+"/acceptance", w.applicant, nil).JSON(t, &st)
	st = w.pay(t, st, 1)
	st = w.report(t, st.ID, "interim", 2_000_000, w.reviewers[0])
	st = w.pay(t, st, 2)
	st = w.report(t, st.ID, "final", 2_000_000, w.reviewers[0])
	st = w.pay(t, st, 3)
	if st.Status != "closed" || st.PaidCents != 1_000_000 {
		t.Fatalf("lifecycle across runs ended %s with %d paid, want closed with 1000000", st.Status, st.PaidCents)
	}
	app.BooksExact(t)

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	// Visibility (what lists runs) follows the histories a moment later on
	// a loaded machine: asked until the continued runs show.
	var runs *workflowservice.ListWorkflowExecutionsResponse
	continued := 0
	for {
		var err error
		runs, err = app.Temporal.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Query: fmt.Sprintf("WorkflowId = '%s'", workflows.WorkflowID(st.ID)),
		})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range runs.Executions {
			if r.Status == enums.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW {
				continued++
				if continued == 1 {
					recordRun(t, app, st.ID, r.Execution.RunId, "continued_as_new")
				}
			}
		}
		if continued > 0 || ctx.Err() != nil {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if continued == 0 {
		t.Fatalf("runs of %s = %d, none continued as new", st.ID, len(runs.Executions))
	}
	t.Logf("the lifecycle ran in %d runs", len(runs.Executions))
	record(t, app, st.ID, "after_continue_as_new")
}
