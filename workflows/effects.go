package workflows

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"reallabor/internal/authz"
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

// snapshot is a state as it was when taken, kept encoded: most runs never
// look at their last written state again (a revert does, and readers under
// the versions before "caller-writes"), so it is decoded only when asked
// for. Taking one after every write was a JSON round trip of the whole
// state; now it is half of one.
type snapshot struct {
	raw []byte
	seq int64
	// view: decoded once for readers, who do not change it.
	view *models.ApplicationState
}

// take snapshots s through encoding/json, as Temporal's own data converter
// encodes it: map keys are written sorted, so the snapshot (and every state
// decoded from it, a deep copy) is deterministic (workflowcheck cannot see
// that through reflection).
//
//workflowcheck:ignore
func take(s models.ApplicationState) snapshot {
	b, err := json.Marshal(s)
	if err != nil {
		panic(fmt.Sprintf("encode state: %v", err))
	}
	return snapshot{raw: b, seq: s.Seq}
}

// state decodes a copy of its own. (A run takes its first snapshot before
// anything can ask.)
//
//workflowcheck:ignore
func (p snapshot) state() models.ApplicationState {
	var out models.ApplicationState
	if err := json.Unmarshal(p.raw, &out); err != nil {
		panic(fmt.Sprintf("decode state: %v", err))
	}
	return out
}

// read is the snapshot's state for readers, decoded once.
func (p *snapshot) read() models.ApplicationState {
	if p.view == nil {
		st := p.state()
		p.view = &st
	}
	return *p.view
}

// view is the state readers see: the last one written.
func (a *application) view() models.ApplicationState {
	if a.direct {
		// The state in Temporal's history: what the caller is writing, or
		// the flush will.
		return a.s
	}
	return a.written()
}

// written is the state as last known written (under "durable-effects").
func (a *application) written() models.ApplicationState {
	if a.durable {
		return a.committed.read()
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
	if a.direct {
		// The workflow's own change (a clock, a promotion, the submission),
		// or the flush timer: written now, with the tail.
		changed := !a.pend.empty()
		a.stage(ctx)
		if changed || a.flushDue {
			return a.flush(ctx)
		}
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
	a.committed = take(a.s)
	return nil
}

// revert puts the state back to the last one written, after an action whose
// writes failed; a reservation the action made is given back.
func (a *application) revert(ctx workflow.Context, cause error) {
	if !a.durable {
		return
	}
	workflow.GetLogger(ctx).Error("action not written, state restored", "error", cause)
	if a.compact && a.committed.seq == 0 && a.s.Seq == a.startSeq {
		// The submission itself (handed back, never written): nothing was
		// written or reserved; the run ends (refusedStart).
		a.s = a.committed.state()
		a.pend, a.reservedNow = pending{}, false
		a.unwritten, a.unwrittenReserved, a.undelivered, a.flushAt = pending{}, false, nil, nil
		a.refusedStart = true
		return
	}
	reserved := a.reservedNow || a.unwrittenReserved
	handedOut := a.direct && !a.unwritten.empty()
	a.s = a.committed.state()
	a.pend = pending{}
	a.reservedNow = false
	if a.direct {
		a.unwritten, a.unwrittenReserved = pending{}, false
		kept := a.undelivered[:0]
		for _, e := range a.undelivered {
			if e.Seq <= a.s.Seq {
				kept = append(kept, e)
			}
		}
		a.undelivered = kept
		if handedOut {
			// The writes handed out for what is put back are refused from
			// now on (an update's result re-driven): written at once.
			a.s.WriteEpoch++
			committed := a.committed.state()
			committed.WriteEpoch = a.s.WriteEpoch
			a.committed = take(committed)
		}
	}
	if !reserved && !handedOut {
		return
	}
	in := models.ApplyInput{State: a.s}
	if reserved {
		in.Releases = []models.ReleaseInput{{
			ProgrammeID: a.s.ProgrammeID, ApplicationID: a.s.ID, Key: fmt.Sprintf("revert-%d", a.s.Seq+1), All: true, At: a.now(ctx),
		}}
		if handedOut {
			in.Releases[0].Key = fmt.Sprintf("revert-%d-%d", a.s.Seq+1, a.s.WriteEpoch)
		}
	}
	var res models.ApplyResult
	err := workflow.ExecuteActivity(activityCtx(ctx), ActivityApply, in).Get(ctx, &res)
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

// Version "caller-writes" (1): an action the API sends is answered by the
// workflow task that accepts it, with no activity on its way. The update's
// result carries the action's writes (ApplyResult's input, the same one
// transaction as before) and the API writes them itself, after Temporal has
// made the update durable: the completed update is in the history before
// the API sees its result, so an action lost with a crash still leaves no
// write behind. What makes an accepted action reach the database anyway:
//
//   - the writes carried are everything not yet known to be written (the
//     "unwritten" tail), so the next action's write heals one a crashed API
//     never made; the API says with each action how far the projection is
//     written (WrittenSeq), and the tail shrinks to what is not;
//   - a retried request re-drives the same update id and gets the same
//     result from Temporal, which the API writes (idempotent by what it
//     carries, as ever);
//   - a durable timer flushes: flushAfter after the first action not
//     flushed, the workflow writes the tail itself (the Apply activity) and
//     hands the notifications filed since to delivery; it flushes before it
//     ends or continues as new, too.
//
// A write the database refuses (the API's, or the flush's) puts the state
// back to the last one written and gives back a reservation the actions
// made (the revert-unwritten update, or the flush's own revert); a database
// that is away delays the flush, never reverts it. Clocks, promotions and
// the submission write through the Apply activity as under
// "durable-effects" (with the tail). docs/crash-safety.md has the reasoning.
const versionCallerWrites = "caller-writes"

// flushAfter is how long after an action the workflow writes it itself and
// delivers its notifications, unless it ended or flushed before.
const flushAfter = 2 * time.Second

// ActionResult is what an action answers: under "caller-writes" the writes
// for the API to make (Write; the state the caller sees is the one in it),
// before that the state as the caller may see it (embedded, so results of
// either version decode into this type).
//
// Under "compact-history" a result with writes leaves the state out (it is
// the one in Write); before, it carried an empty one beside them.
type ActionResult struct {
	*models.ApplicationState
	Write *models.ApplyInput `json:"write,omitempty"`
}

// State is the state the result answers with: the one written, or else the
// one carried (the zero state if neither).
func (r ActionResult) State() models.ApplicationState {
	if r.ApplicationState != nil {
		return *r.ApplicationState
	}
	return models.ApplicationState{}
}

// answer is an action's result: the state as the actor may see it.
func answer(s models.ApplicationState) ActionResult { return ActionResult{ApplicationState: &s} }

// handBack is an action's result that hands its writes back to the caller.
func (a *application) handBack(w *models.ApplyInput) ActionResult {
	if a.compact {
		return ActionResult{Write: w}
	}
	// As recorded before "compact-history": an empty state beside them.
	return ActionResult{ApplicationState: &models.ApplicationState{}, Write: w}
}

// UpdateRevertUnwritten puts back an action whose write the database
// refused (the API sends it).
const UpdateRevertUnwritten = "revert-unwritten"

// RevertInput names the action whose write was refused (its sequence) and
// how far the projection is written now.
type RevertInput struct {
	Seal       authz.Seal   `json:"seal,omitempty"`
	Actor      models.Actor `json:"actor"`
	Seq        int64        `json:"seq"`
	WrittenSeq int64        `json:"written_seq"`
	Reason     string       `json:"reason"`
}

func (in RevertInput) seal() authz.Seal { return in.Seal }

// Unsealed is the input without its seal (what the seal covers).
func (in RevertInput) Unsealed() any { in.Seal = authz.Seal{}; return in }

// WithSeal is the input carrying s.
func (in RevertInput) WithSeal(s authz.Seal) any { in.Seal = s; return in }

// stage moves what the action changed into the unwritten tail and returns
// the writes for the caller to make (nil: nothing to write).
func (a *application) stage(ctx workflow.Context) *models.ApplyInput {
	p := a.pend
	a.unwritten.events = append(a.unwritten.events, p.events...)
	a.unwritten.releases = append(a.unwritten.releases, p.releases...)
	a.unwritten.payments = append(a.unwritten.payments, p.payments...)
	a.unwritten.repayments = append(a.unwritten.repayments, p.repayments...)
	a.unwritten.state = a.unwritten.state || p.state
	a.undelivered = append(a.undelivered, p.events...)
	a.unwrittenReserved = a.unwrittenReserved || a.reservedNow
	a.pend, a.reservedNow = pending{}, false
	if a.unwritten.empty() {
		return nil
	}
	if a.flushAt == nil {
		a.flushAt = at(a.now(ctx).Add(flushAfter))
	}
	return a.tail()
}

// tail is the writes not known to be made, for a caller to make (nil:
// none).
func (a *application) tail() *models.ApplyInput {
	if a.unwritten.empty() {
		return nil
	}
	return &models.ApplyInput{State: a.s, Events: a.unwritten.events, Releases: a.unwritten.releases,
		Payments: a.unwritten.payments, Repayments: a.unwritten.repayments}
}

// confirm takes note that the projection is written up to seq: a tail
// that far is in the database.
func (a *application) confirm(seq int64) {
	if a.unwritten.empty() || seq < a.s.Seq {
		return
	}
	a.unwritten, a.unwrittenReserved = pending{}, false
	a.committed = take(a.s)
}

// flush writes the tail (the Apply activity) and hands the notifications
// filed since the last flush to delivery.
func (a *application) flush(ctx workflow.Context) error {
	a.flushDue = false
	if a.unwritten.empty() && len(a.undelivered) == 0 {
		a.flushAt = nil
		return nil
	}
	var res models.ApplyResult
	err := workflow.ExecuteActivity(activityCtx(ctx), ActivityApply, models.ApplyInput{
		State: a.s, Events: a.undelivered, Releases: a.unwritten.releases, Payments: a.unwritten.payments,
		Repayments: a.unwritten.repayments,
	}).Get(ctx, &res)
	if err != nil {
		return fmt.Errorf("write changes: %w", err)
	}
	a.tellPromoted(ctx, res.Promoted)
	a.deliver(ctx, res.Notifications, res.Webhooks)
	a.unwritten, a.unwrittenReserved, a.undelivered, a.flushAt = pending{}, false, nil, nil
	a.committed = take(a.s)
	return nil
}

// refused says the database refused a write's content (no retry mends it),
// as opposed to being away.
func refused(err error) bool {
	var appErr *temporal.ApplicationError
	return errors.As(err, &appErr) && (appErr.Type() == "DataError" || appErr.Type() == "InvalidInput")
}

// settleStaged writes and delivers what is staged before the run ends or
// continues as new; it returns false if a refused write put the state back.
// Once it returns true nothing is staged and no handler runs.
func (a *application) settleStaged(ctx workflow.Context) (bool, error) {
	for {
		if err := a.quiet(ctx); err != nil {
			return false, err
		}
		if a.unwritten.empty() && len(a.undelivered) == 0 {
			return true, nil
		}
		if err := a.lock(ctx); err != nil {
			return false, err
		}
		err := a.flush(ctx)
		if err != nil && refused(err) {
			a.revert(ctx, err)
		}
		a.mu.Unlock()
		switch {
		case err == nil:
			continue
		case refused(err):
			return false, nil
		}
		workflow.GetLogger(ctx).Error("flush failed, retrying in an hour", "error", err)
		if err := workflow.Sleep(ctx, time.Hour); err != nil {
			return false, err
		}
	}
}

// revertUnwritten is the revert-unwritten update's handler: the write of
// the latest action was refused, put it (and the tail) back.
func (a *application) revertUnwritten(ctx workflow.Context, in RevertInput) (ActionResult, error) {
	if err := a.lock(ctx); err != nil {
		return ActionResult{}, err
	}
	defer a.mu.Unlock()
	if !a.direct {
		return ActionResult{}, conflictf("this application writes its own actions")
	}
	a.confirm(in.WrittenSeq)
	if a.s.Seq == in.Seq && !a.unwritten.empty() {
		a.revert(ctx, errors.New(in.Reason))
	}
	return answer(View(a.s, in.Actor)), nil
}
