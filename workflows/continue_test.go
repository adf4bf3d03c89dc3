package workflows_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"reallabor/models"
	"reallabor/workflows"
)

// projections records what the workflow projects; release, if set, answers
// the releases the workflow writes with its changes.
type projections struct {
	kinds   []string
	release func(models.ReleaseInput) (models.ReleaseResult, error)
}

func (p *projections) register(env *testsuite.TestWorkflowEnvironment) {
	env.RegisterActivityWithOptions(func(_ context.Context, in models.ProjectInput) error {
		p.kinds = append(p.kinds, in.Event.Kind)
		return nil
	}, activity.RegisterOptions{Name: workflows.ActivityProject})
	env.RegisterActivityWithOptions(func(_ context.Context, in models.ApplyInput) (models.ApplyResult, error) {
		for _, r := range in.Releases {
			if p.release != nil {
				if _, err := p.release(r); err != nil {
					return models.ApplyResult{}, err
				}
			}
		}
		for _, e := range in.Events {
			p.kinds = append(p.kinds, e.Kind)
		}
		return models.ApplyResult{}, nil
	}, activity.RegisterOptions{Name: workflows.ActivityApply})
}

func carryInput() workflows.ApplicationInput {
	rules := models.DefaultRules()
	rules.BudgetCents = 10_000_000
	return workflows.ApplicationInput{
		ApplicationID: "app-1", ProgrammeID: "prog-1", Rules: rules,
		SubmittedBy: models.Actor{UserID: "u-app", Role: models.RoleApplicant, Organisation: "Cafe Mitte"},
		Proposal: models.Proposal{Title: "t", RequestedCents: 100_000, TotalCostCents: 300_000,
			StartDate: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC), EndDate: time.Date(2027, 12, 31, 0, 0, 0, 0, time.UTC),
			Group: models.Group{Name: "g", Members: []models.Member{{Name: "Cafe Mitte"}}},
			Payee: models.Payee{Name: "Cafe", IBAN: "DE89370400440532013000"}},
	}
}

// TestContinueAsNewCarriesState: when Temporal suggests continue-as-new the
// workflow continues with its whole state, and the new run picks up where the
// old one stood (no second submission, the sequence goes on).
func TestContinueAsNewCarriesState(t *testing.T) {
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	var p projections
	p.register(env)
	env.RegisterWorkflowWithOptions(workflows.Application, workflow.RegisterOptions{Name: "Application"})
	env.SetContinueAsNewSuggested(true)
	env.ExecuteWorkflow(workflows.Application, carryInput())
	var can *workflow.ContinueAsNewError
	if err := env.GetWorkflowError(); !errors.As(err, &can) {
		t.Fatalf("workflow ended with %v, want continue-as-new", err)
	}
	var next workflows.ApplicationInput
	if err := converter.GetDefaultDataConverter().FromPayloads(can.Input, &next); err != nil {
		t.Fatalf("decode continue-as-new input: %v", err)
	}
	if next.Carry == nil || next.Carry.Status != models.StatusInReview || next.Carry.Seq != 2 {
		t.Fatalf("carried state = %+v, want in_review at seq 2", next.Carry)
	}

	env2 := suite.NewTestWorkflowEnvironment()
	var p2 projections
	p2.register(env2)
	env2.RegisterWorkflowWithOptions(workflows.Application, workflow.RegisterOptions{Name: "Application"})
	env2.RegisterDelayedCallback(func() {
		env2.UpdateWorkflow(workflows.UpdateWithdraw, "w1", &testsuite.TestUpdateCallback{
			OnReject:   func(err error) { t.Errorf("withdraw rejected: %v", err) },
			OnAccept:   func() {},
			OnComplete: func(any, error) {},
		}, workflows.ActionInput{Actor: next.Carry.SubmittedBy})
	}, time.Hour)
	env2.RegisterActivityWithOptions(func(_ context.Context, in models.ReleaseInput) (models.ReleaseResult, error) {
		return models.ReleaseResult{}, nil
	}, activity.RegisterOptions{Name: workflows.ActivityReleaseBudget})
	env2.ExecuteWorkflow(workflows.Application, next)
	var res workflows.ApplicationResult
	if err := env2.GetWorkflowResult(&res); err != nil || res.Status != models.StatusWithdrawn {
		t.Fatalf("continued run ended %v %+v, want withdrawn", err, res)
	}
	if len(p2.kinds) != 1 || p2.kinds[0] != "withdrawn" {
		t.Fatalf("continued run projected %v, want only [withdrawn] (no second submission)", p2.kinds)
	}
}
