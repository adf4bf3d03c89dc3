package workflows_test

import (
	"context"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"reallabor/models"
	"reallabor/workflows"
)

// TestInterimReportWithinShortProject: a project that ends before the
// programme's interim report would fall due reports at its midpoint (the
// behaviour behind version 1 of "interim-report-within-project").
func TestInterimReportWithinShortProject(t *testing.T) {
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	start := time.Date(2027, 1, 4, 9, 0, 0, 0, time.UTC)
	env.SetStartTime(start)
	var p projections
	p.register(env)
	env.RegisterActivityWithOptions(func(_ context.Context, in models.ReserveInput) (models.ReserveResult, error) {
		return models.ReserveResult{Reserved: true}, nil
	}, activity.RegisterOptions{Name: workflows.ActivityReserveBudget})
	env.RegisterWorkflowWithOptions(workflows.Application, workflow.RegisterOptions{Name: workflows.WorkflowName})

	in := carryInput()
	in.Rules.ReviewersRequired = 1
	in.Rules.InterimReportAfter = 180 * 24 * time.Hour
	in.Proposal.StartDate = start
	in.Proposal.EndDate = start.Add(100 * 24 * time.Hour) // ends long before day 180

	reviewer := models.Actor{UserID: "r1", Role: models.RoleReviewer, Organisation: "Stadtwerke"}
	var active models.ApplicationState
	update := func(name string, arg any, out *models.ApplicationState) {
		env.UpdateWorkflow(name, name, &testsuite.TestUpdateCallback{
			OnAccept: func() {},
			OnReject: func(err error) { t.Errorf("%s rejected: %v", name, err) },
			OnComplete: func(v any, err error) {
				if err != nil {
					t.Errorf("%s failed: %v", name, err)
				} else if out != nil {
					r := v.(workflows.ActionResult)
					*out = r.State()
					if r.Write != nil {
						*out = r.Write.State
					}
				}
			},
		}, arg)
	}
	env.RegisterDelayedCallback(func() {
		update(workflows.UpdateSubmitReview, workflows.ReviewInput{Actor: reviewer, Recommendation: models.RecommendApprove,
			Scores: map[string]int{"impact": 5, "feasibility": 5, "partnership": 5}}, nil)
	}, time.Hour)
	env.RegisterDelayedCallback(func() {
		update(workflows.UpdateAcceptAgreement, workflows.ActionInput{Actor: in.SubmittedBy}, &active)
	}, 2*time.Hour)
	env.RegisterDelayedCallback(func() {
		update(workflows.UpdateCancel, workflows.ActionInput{Actor: models.Actor{UserID: "a", Role: models.RoleAdmin}, Reason: "end of test"}, nil)
	}, 3*time.Hour)
	env.RegisterActivityWithOptions(func(_ context.Context, in models.ReleaseInput) (models.ReleaseResult, error) {
		return models.ReleaseResult{}, nil
	}, activity.RegisterOptions{Name: workflows.ActivityReleaseBudget})
	env.ExecuteWorkflow(workflows.Application, in)

	if active.Status != models.StatusActive || active.Deadlines.InterimReport == nil {
		t.Fatalf("after acceptance: status %s, interim deadline %v; want active with a deadline", active.Status, active.Deadlines.InterimReport)
	}
	accepted := start.Add(2 * time.Hour)
	want := accepted.Add(in.Proposal.EndDate.Sub(accepted) / 2)
	if got := *active.Deadlines.InterimReport; !got.Equal(want) {
		t.Errorf("interim report due %s, want the project's midpoint %s", got, want)
	}
	if !active.Deadlines.InterimReport.Before(*active.Deadlines.FinalReport) {
		t.Errorf("interim report due %s is not before the final report %s", active.Deadlines.InterimReport, active.Deadlines.FinalReport)
	}
}

// TestClockFailureDoesNotFailTheApplication: the release at the acceptance
// deadline fails for good once (the database stayed down past its retries);
// the workflow tries again an hour later and lapses, rather than failing
// with the budget still reserved.
func TestClockFailureDoesNotFailTheApplication(t *testing.T) {
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	var p projections
	p.register(env)
	env.RegisterActivityWithOptions(func(_ context.Context, in models.ReserveInput) (models.ReserveResult, error) {
		return models.ReserveResult{Reserved: true}, nil
	}, activity.RegisterOptions{Name: workflows.ActivityReserveBudget})
	releases := 0
	p.release = func(in models.ReleaseInput) (models.ReleaseResult, error) {
		releases++
		if releases == 1 {
			return models.ReleaseResult{}, temporal.NewNonRetryableApplicationError("database unreachable", "Unavailable", nil)
		}
		return models.ReleaseResult{ReleasedCents: 100_000}, nil
	}
	env.RegisterWorkflowWithOptions(workflows.Application, workflow.RegisterOptions{Name: workflows.WorkflowName})
	in := carryInput()
	in.Rules.ReviewersRequired = 1
	env.RegisterDelayedCallback(func() {
		env.UpdateWorkflow(workflows.UpdateSubmitReview, "vote", &testsuite.TestUpdateCallback{
			OnAccept: func() {}, OnReject: func(err error) { t.Errorf("vote rejected: %v", err) }, OnComplete: func(any, error) {},
		}, workflows.ReviewInput{Actor: models.Actor{UserID: "r1", Role: models.RoleReviewer, Organisation: "Stadtwerke"},
			Recommendation: models.RecommendApprove, Scores: map[string]int{"impact": 5, "feasibility": 5, "partnership": 5}})
	}, time.Hour)
	env.ExecuteWorkflow(workflows.Application, in)
	var res workflows.ApplicationResult
	if err := env.GetWorkflowResult(&res); err != nil || res.Status != models.StatusLapsed {
		t.Fatalf("workflow ended %v %+v, want lapsed", err, res)
	}
	if releases != 2 {
		t.Errorf("release tried %d times, want 2 (failed, then again an hour later)", releases)
	}
}
