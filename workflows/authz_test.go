package workflows_test

import (
	"errors"
	"testing"
	"time"

	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"reallabor/internal/authz"
	"reallabor/models"
	"reallabor/workflows"
)

// TestSealsOnTheWorker: a worker with keys runs only sealed starts, updates
// and queries: an unsealed vote and a vote whose seal has expired are
// rejected by the validator (nothing in history), a freshly sealed one is
// accepted; an unsealed query is refused.
func TestSealsOnTheWorker(t *testing.T) {
	keys, err := authz.Parse(authz.Generate("k1"))
	if err != nil {
		t.Fatal(err)
	}
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	env.SetStartTime(start)
	l := &fakeLedger{available: fund}
	env.RegisterActivityWithOptions(l.Apply, activityOptions(workflows.ActivityApply))
	env.RegisterActivityWithOptions(l.ReserveBudget, activityOptions(workflows.ActivityReserveBudget))
	env.RegisterWorkflowWithOptions(workflows.Workers{Keys: keys}.Application, workflow.RegisterOptions{Name: workflows.WorkflowName})
	in := workflows.ApplicationInput{ApplicationID: appID, ProgrammeID: progID, Rules: testRules(), Proposal: testProposal(), SubmittedBy: applicant}
	sealedStart, err := workflows.Seal(keys, appID, "start", in, start)
	if err != nil {
		t.Fatal(err)
	}
	vote := func(r models.Actor) workflows.ReviewInput {
		return workflows.ReviewInput{Actor: r, Recommendation: models.RecommendApprove, Scores: scores(4)}
	}
	early, _ := workflows.Seal(keys, appID, workflows.UpdateSubmitReview, vote(reviewer1), start)
	outcome := map[string]string{}
	send := func(id string, arg any) {
		env.UpdateWorkflow(workflows.UpdateSubmitReview, id, &testsuite.TestUpdateCallback{
			OnAccept:   func() { outcome[id] = "accepted" },
			OnReject:   func(err error) { outcome[id] = "rejected: " + err.Error() },
			OnComplete: func(any, error) {},
		}, arg)
	}
	env.RegisterDelayedCallback(func() {
		send("unsealed", vote(reviewer2))
		if _, err := env.QueryWorkflow(workflows.QueryState, workflows.Viewer{Actor: admin}); err == nil {
			t.Errorf("unsealed query answered, want refused")
		}
	}, time.Minute)
	env.RegisterDelayedCallback(func() { send("expired", early) }, 11*time.Minute)
	env.RegisterDelayedCallback(func() {
		fresh, _ := workflows.Seal(keys, appID, workflows.UpdateSubmitReview, vote(reviewer1), env.Now())
		send("fresh", fresh)
	}, 12*time.Minute)
	env.RegisterDelayedCallback(func() { env.CancelWorkflow() }, time.Hour)
	env.ExecuteWorkflow(workflows.WorkflowName, sealedStart)

	for id, want := range map[string]string{"unsealed": "rejected", "expired": "rejected", "fresh": "accepted"} {
		if got := outcome[id]; len(got) < len(want) || got[:len(want)] != want {
			t.Errorf("vote %s: %q, want %s", id, got, want)
		}
	}
	if n := len(l.events()); n != 3 {
		t.Errorf("events written = %d (%v), want 3: submitted, eligibility_passed, one vote", n, l.kinds())
	}
}

// TestUnsealedStartWritesNothing: a start the API did not seal ends at once.
func TestUnsealedStartWritesNothing(t *testing.T) {
	keys, _ := authz.Parse(authz.Generate("k1"))
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	l := &fakeLedger{available: fund}
	env.RegisterActivityWithOptions(l.Apply, activityOptions(workflows.ActivityApply))
	env.RegisterWorkflowWithOptions(workflows.Workers{Keys: keys}.Application, workflow.RegisterOptions{Name: workflows.WorkflowName})
	env.ExecuteWorkflow(workflows.WorkflowName, workflows.ApplicationInput{ApplicationID: appID, ProgrammeID: progID,
		Rules: testRules(), Proposal: testProposal(), SubmittedBy: applicant})
	if err := env.GetWorkflowError(); err == nil {
		t.Fatalf("unsealed start completed, want it refused")
	}
	if n := len(l.events()); n != 0 {
		t.Errorf("events written = %d, want none", n)
	}
}

// TestOldRunContinuesIntoSealedOne: a run from before "sealed-actions"
// continuing as new on a worker with keys seals its carry, so the new run's
// start check passes.
func TestOldRunContinuesIntoSealedOne(t *testing.T) {
	keys, _ := authz.Parse(authz.Generate("k1"))
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	var p projections
	p.register(env)
	env.RegisterWorkflowWithOptions(workflows.Workers{Keys: keys}.Application, workflow.RegisterOptions{Name: workflows.WorkflowName})
	// A run of the code before both "compact-history" and "sealed-actions".
	env.OnGetVersion("compact-history", workflow.DefaultVersion, 1).Return(workflow.DefaultVersion)
	env.OnGetVersion("sealed-actions", workflow.DefaultVersion, 1).Return(workflow.DefaultVersion)
	env.SetContinueAsNewSuggested(true)
	env.ExecuteWorkflow(workflows.WorkflowName, carryInput()) // unsealed, as an old run's input is
	var can *workflow.ContinueAsNewError
	if err := env.GetWorkflowError(); !errors.As(err, &can) {
		t.Fatalf("workflow ended with %v, want continue-as-new", err)
	}
	var next workflows.ApplicationInput
	if err := converter.GetDefaultDataConverter().FromPayloads(can.Input, &next); err != nil {
		t.Fatal(err)
	}
	if err := keys.Verify(workflows.WorkflowID(next.ApplicationID), "start", next.Unsealed(), next.Seal, time.Time{}); err != nil {
		t.Fatalf("carry of an old run: %v, want it sealed", err)
	}
}
