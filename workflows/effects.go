package workflows

import (
	"encoding/json"
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"reallabor/models"
)

// Version "durable-effects" (1): what an action changes outside the workflow
// (budget releases, payments, audit events, the projection) is collected
// while the action runs and written by one regular activity, which Temporal
// dispatches only after the workflow task that accepted the action is in the
// history. An action lost with a crashed process therefore leaves no trace in
// the database; an action that is in the history is written, retried until it
// is. The budget reservation, whose answer the action needs, is a regular
// activity too, for the same reason. A write the database refuses puts the
// state back as it was and gives back a reservation made meanwhile.
// docs/crash-safety.md has the reasoning. Histories recorded before keep the
// local activities they ran.
const versionDurableEffects = "durable-effects"

// pending is what the current action has changed and not yet written.
type pending struct {
	events   []models.Event
	releases []models.ReleaseInput
	payments []models.PaymentInput
	// repayments: payments received on the repayment demand.
	repayments []models.RepaymentInput
	// state: the state changed without an event (a rescheduled check).
	state bool
}

func (p pending) empty() bool {
	return len(p.events) == 0 && len(p.releases) == 0 && len(p.payments) == 0 && len(p.repayments) == 0 && !p.state
}

// versionWrittenChecks: from version 1 of "written-checks" on, a waitlist
// check that only reschedules itself writes the state too, so the
// projection shows the workflow's next check (the API reads from it).
const versionWrittenChecks = "written-checks"

// activityCtx runs the writes of an action: short attempts, retried for a day
// (a database that is down delays an application, never fails it), never for
// content the database refuses.
func activityCtx(ctx workflow.Context) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout:    10 * time.Second,
		ScheduleToCloseTimeout: 24 * time.Hour,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:        200 * time.Millisecond,
			BackoffCoefficient:     2,
			MaximumInterval:        30 * time.Second,
			NonRetryableErrorTypes: []string{"InvalidInput", "DataError"},
		},
	})
}

// clone is a deep copy of a state (its slices and pointers included),
// through encoding/json as Temporal's own data converter encodes it: map keys
// are written sorted, so the copy is deterministic (workflowcheck cannot see
// that through reflection).
//
//workflowcheck:ignore
func clone(s models.ApplicationState) models.ApplicationState {
	b, err := json.Marshal(s)
	if err != nil {
		panic(fmt.Sprintf("encode state: %v", err))
	}
	var out models.ApplicationState
	if err := json.Unmarshal(b, &out); err != nil {
		panic(fmt.Sprintf("decode state: %v", err))
	}
	return out
}

// view is the state readers see: the last one written.
func (a *application) view() models.ApplicationState {
	if a.durable {
		return a.committed
	}
	return a.s
}

// commit writes what the action changed, in one transaction, and makes the
// state the one readers see. Applications the releases promoted are told
// without holding up the action's answer.
func (a *application) commit(ctx workflow.Context) error {
	if !a.durable {
		return nil
	}
	if !a.pend.empty() {
		var res models.ApplyResult
		err := workflow.ExecuteActivity(activityCtx(ctx), ActivityApply, models.ApplyInput{
			State: a.s, Events: a.pend.events, Releases: a.pend.releases, Payments: a.pend.payments,
			Repayments: a.pend.repayments,
		}).Get(ctx, &res)
		if err != nil {
			return fmt.Errorf("write changes: %w", err)
		}
		a.tellPromoted(ctx, res.Promoted)
		a.deliver(ctx, res.Notifications, res.Webhooks)
	}
	a.pend = pending{}
	a.reservedNow = false
	a.committed = clone(a.s)
	return nil
}

// revert puts the state back to the last one written, after an action whose
// writes failed; a reservation the action made is given back.
func (a *application) revert(ctx workflow.Context, cause error) {
	if !a.durable {
		return
	}
	workflow.GetLogger(ctx).Error("action not written, state restored", "error", cause)
	reserved := a.reservedNow
	a.s = clone(a.committed)
	a.pend = pending{}
	a.reservedNow = false
	if !reserved {
		return
	}
	var res models.ApplyResult
	err := workflow.ExecuteActivity(activityCtx(ctx), ActivityApply, models.ApplyInput{
		State: a.s, Releases: []models.ReleaseInput{{
			ProgrammeID: a.s.ProgrammeID, ApplicationID: a.s.ID, Key: fmt.Sprintf("revert-%d", a.s.Seq+1), All: true, At: a.now(ctx),
		}},
	}).Get(ctx, &res)
	if err != nil {
		workflow.GetLogger(ctx).Error("could not give back the reservation of an action not written", "error", err)
		return
	}
	a.tellPromoted(ctx, res.Promoted)
}

// tellPromoted signals the applications a release promoted, in the
// background: the signals are commands of this workflow, so they are sent
// even if the process dies now; the run does not end before they are.
func (a *application) tellPromoted(ctx workflow.Context, ids []string) {
	if len(ids) == 0 {
		return
	}
	a.signalling++
	workflow.Go(ctx, func(ctx workflow.Context) {
		defer func() { a.signalling-- }()
		futures := make([]workflow.Future, len(ids))
		for i, id := range ids {
			futures[i] = workflow.SignalExternalWorkflow(ctx, WorkflowID(id), "", SignalPromoted, models.PromotedSignal{})
		}
		for i, f := range futures {
			if err := f.Get(ctx, nil); err != nil {
				workflow.GetLogger(ctx).Warn("could not tell promoted application", "application", ids[i], "error", err)
			}
		}
	})
}

// versionNotifications: from version 1 of "notifications" on, the
// notifications an action's write filed are e-mailed by a regular activity
// (retried with backoff for about a day, then dead letters) that runs
// beside the workflow: no action waits for it.
const versionNotifications = "notifications"

// deliver e-mails notifications in the background.
func (a *application) deliver(ctx workflow.Context, ids, hooks []string) {
	if !a.notifies || len(ids)+len(hooks) == 0 {
		return
	}
	a.signalling++
	workflow.Go(ctx, func(ctx workflow.Context) {
		defer func() { a.signalling-- }()
		actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
			StartToCloseTimeout: time.Minute,
			RetryPolicy: &temporal.RetryPolicy{InitialInterval: 10 * time.Second, BackoffCoefficient: 2,
				MaximumInterval: time.Hour, MaximumAttempts: deliverAttempts},
		})
		if err := workflow.ExecuteActivity(actx, ActivityDeliver, models.DeliverInput{Notifications: ids, Webhooks: hooks}).Get(ctx, nil); err != nil {
			workflow.GetLogger(ctx).Error("notifications not delivered", "error", err)
		}
	})
}

// deliverAttempts matches activities.DeliverAttempts (the last attempt
// records dead letters).
const deliverAttempts = 30

// quiet waits until no handler runs and no signal is still on its way.
func (a *application) quiet(ctx workflow.Context) error {
	return workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) && a.signalling == 0 })
}
