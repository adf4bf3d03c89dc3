// Package workflows holds the deterministic coordination of one application's
// lifecycle, from submission to closure, as drawn in DESIGN.md. It names
// activities and never performs I/O itself.
package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"reallabor/internal/authz"
	"reallabor/models"
)

// TaskQueue is where application workflows and their activities run.
const TaskQueue = "reallabor-applications"

// Names of the workflow's updates, query and signal.
const (
	UpdateSubmitReview        = "submit-review"
	UpdateSubmitRevision      = "submit-revision"
	UpdateAcceptAgreement     = "accept-agreement"
	UpdateWithdraw            = "withdraw"
	UpdateCancel              = "cancel"
	UpdateExtendReview        = "extend-review-deadline"
	UpdateApproveDisbursement = "approve-disbursement"
	UpdateConfirmPayment      = "confirm-payment"
	UpdateRecordFailure       = "record-payment-failure"
	UpdateMarkExported        = "mark-exported"
	UpdateSubmitReport        = "submit-report"
	UpdateAssessReport        = "assess-report"
	UpdateAnswerInvitation    = "answer-invitation"
	// UpdateAwaitSubmission answers once the eligibility check is done; the
	// API sends it with the start (update-with-start), so a submission is
	// answered with in_review or ineligible without polling.
	UpdateAwaitSubmission = "await-submission"

	QueryState     = "state"
	SignalPromoted = "budget-promoted"
)

// Names the activities are registered under; the activities package
// implements them with the contracts in models.
const (
	ActivityProject       = "Project"
	ActivityReserveBudget = "ReserveBudget"
	ActivityReleaseBudget = "ReleaseBudget"
	ActivityRecordPayment = "RecordPayment"
	ActivityApply         = "Apply"
	ActivityDeliver       = "Deliver"
	ActivityCheckStateAid = "CheckStateAid"
)

// WorkflowID is the deterministic id of an application's workflow.
func WorkflowID(applicationID string) string { return "application-" + applicationID }

// ApplicationInput starts (or, with Carry, continues) an application.
type ApplicationInput struct {
	ApplicationID string `json:"application_id"`
	ProgrammeID   string `json:"programme_id"`
	// CallID is the call within the programme the application went to
	// (none in a programme without calls); Rules are the call's then.
	CallID      string          `json:"call_id,omitempty"`
	Rules       models.Rules    `json:"rules"`
	Proposal    models.Proposal `json:"proposal"`
	SubmittedBy models.Actor    `json:"submitted_by"`
	// Carry is the state carried over by continue-as-new.
	Carry *models.ApplicationState `json:"carry,omitempty"`
	// Seal is the API's (or, continuing as new, the workflow's own)
	// authorisation of this start.
	Seal authz.Seal `json:"seal,omitempty"`
}

// ApplicationResult is how an application ended.
type ApplicationResult struct {
	Status         models.Status `json:"status"`
	GrantedCents   int64         `json:"granted_cents"`
	PaidCents      int64         `json:"paid_cents"`
	RepaymentCents int64         `json:"repayment_cents"`
}

type application struct {
	s        models.ApplicationState
	mu       workflow.Mutex
	promoted bool
	// healWaitlist: version 1 of "waitlist-self-heal" — a waitlisted
	// application checks the ledger daily, so a lost promotion signal
	// cannot leave it waiting on a reservation it already holds.
	healWaitlist bool
	// durable: version 1 of "durable-effects" (effects.go).
	durable bool
	// committed is the state as last written; pend what is not written yet;
	// reservedNow says the current action reserved budget.
	committed   snapshot
	pend        pending
	reservedNow bool
	// signalling counts promotion signals still on their way.
	signalling int
	// keys check the API's seals (nil: checks off, tests and replays);
	// sealed: version 1 of "sealed-actions" (authz.go).
	keys         *authz.Keys
	sealed       bool
	startContent []byte
	// registry: version 1 of "organisation-registry" (group.go).
	registry bool
	// steady: version 1 of "steady-clock" (clock.go): the clock's timer
	// lives while its deadline does.
	steady      bool
	clock       workflow.Future
	clockAt     time.Time
	clockCancel workflow.CancelFunc
	// writtenChecks: version 1 of "written-checks" (effects.go).
	writtenChecks bool
	// notifies: version 1 of "notifications" (effects.go): the write's
	// notifications are e-mailed by an activity the run does not wait on.
	notifies bool
	// stateAid: version 1 of "state-aid-register" (review.go): the grant is
	// checked against this fund's register of de-minimis aid when it is made.
	stateAid bool
	// demands: version 1 of "repayment-demands" (repayment.go);
	// interestByDay: version 2, interest counted from the due date's day.
	demands, interestByDay bool
	// direct: version 1 of "caller-writes" (effects.go): the API writes an
	// action's changes; unwritten is the tail not known to be written (its
	// reservation: unwrittenReserved), undelivered the events whose
	// notifications the next flush hands to delivery, at flushAt (or when
	// flushDue).
	direct            bool
	unwritten         pending
	unwrittenReserved bool
	undelivered       []models.Event
	flushAt           *time.Time
	flushDue          bool
	// costPlan: version 1 of "cost-plan" (report.go): a final report's
	// costs by category settle at what the assessment recognised of them,
	// under the programme's cost rules.
	costPlan bool
	// compact: version 1 of "compact-history" (versions); it implies
	// interimWithinProject, version 1 of "interim-report-within-project".
	compact, interimWithinProject bool
	// refusedStart: under "compact-history", the submission's own write
	// was refused and put back (the state written then was the one of
	// startSeq); the run ends.
	refusedStart bool
	startSeq     int64
	// versioned: versions are read (the submission's answer waits for it).
	versioned bool
}

// Application is the workflow of one application, submission to closure,
// without the keys that check the API's seals: for unit tests and replays.
// Workers run Workers.Application (Register).
func Application(ctx workflow.Context, in ApplicationInput) (ApplicationResult, error) {
	return run(ctx, in, nil)
}

func run(ctx workflow.Context, in ApplicationInput, keys *authz.Keys) (ApplicationResult, error) {
	// What the start's seal covers, taken before anything runs: the state
	// shares its slices with the input, and an update may change it early.
	startContent := sealedContent(in)
	a := &application{keys: keys, startContent: startContent}
	if in.Carry != nil {
		a.s = *in.Carry
		a.promoted = a.s.PendingPromotion
		a.s.PendingPromotion = false
	} else {
		a.s = models.ApplicationState{
			ID: in.ApplicationID, ProgrammeID: in.ProgrammeID, CallID: in.CallID, Status: models.StatusSubmitted,
			Proposal: in.Proposal, Rules: in.Rules, SubmittedBy: in.SubmittedBy,
			SubmittedAt: workflow.Now(ctx).UTC(), Votes: []models.Vote{}, Tranches: []models.Tranche{}, Reports: []models.Report{},
		}
	}
	a.committed = take(a.s)
	if err := a.setup(ctx); err != nil {
		return ApplicationResult{}, err
	}
	return a.run(ctx, in)
}

func (a *application) setup(ctx workflow.Context) error {
	a.mu = workflow.NewMutex(ctx)
	if err := workflow.SetQueryHandler(ctx, QueryState, func(v Viewer) (models.ApplicationState, error) {
		if err := a.checkViewer(v); err != nil {
			return models.ApplicationState{}, err
		}
		return View(a.view(), v.Actor), nil
	}); err != nil {
		return err
	}
	promoted := workflow.GetSignalChannel(ctx, SignalPromoted)
	workflow.Go(ctx, func(ctx workflow.Context) {
		for {
			var sig models.PromotedSignal
			promoted.Receive(ctx, &sig)
			a.promoted = true
		}
	})
	// Not under the lock: it waits for submit, which holds it.
	if err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateAwaitSubmission, func(ctx workflow.Context, in ActionInput) (ActionResult, error) {
		// Sent with the start, it runs as soon as it is registered: what
		// this run is (its versions) is known a moment later.
		if err := workflow.Await(ctx, func() bool { return a.versioned }); err != nil {
			return ActionResult{}, err
		}
		if a.compact {
			// The submission's writes go back to the API, as an action's
			// do (the flush makes them if it does not).
			if err := workflow.Await(ctx, func() bool { return a.s.Status != models.StatusSubmitted || a.refusedStart }); err != nil {
				return ActionResult{}, err
			}
			if w := a.tail(); w != nil {
				return ActionResult{Write: w}, nil
			}
			return answer(View(a.s, in.Actor)), nil
		}
		if err := workflow.Await(ctx, func() bool { return a.written().Status != models.StatusSubmitted }); err != nil {
			return ActionResult{}, err
		}
		return answer(View(a.written(), in.Actor)), nil
	}, workflow.UpdateHandlerOptions{Validator: func(ctx workflow.Context, in ActionInput) error {
		return a.checkSeal(ctx, UpdateAwaitSubmission, in)
	}}); err != nil {
		return err
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateRevertUnwritten, a.revertUnwritten,
		workflow.UpdateHandlerOptions{Validator: func(ctx workflow.Context, in RevertInput) error {
			return a.checkSeal(ctx, UpdateRevertUnwritten, in)
		}}); err != nil {
		return err
	}
	return a.registerUpdates(ctx)
}

func (a *application) run(ctx workflow.Context, in ApplicationInput) (ApplicationResult, error) {
	if err := a.versions(ctx, in); err != nil {
		return ApplicationResult{}, err
	}
	if a.registry && in.Carry == nil && a.s.Status == models.StatusSubmitted {
		a.inviteMembers()
	}
	if a.healWaitlist && a.s.Status == models.StatusWaitlisted && a.s.Deadlines.WaitlistCheck == nil {
		// Waitlisted by an older version and continued as new: start checking.
		a.s.Deadlines.WaitlistCheck = at(a.now(ctx).Add(a.waitlistCheck()))
	}
	if a.s.Status == models.StatusSubmitted {
		if err := a.lock(ctx); err != nil {
			return ApplicationResult{}, err
		}
		err := a.submit(ctx)
		if err == nil && a.compact {
			a.stage(ctx) // handed back by await-submission
			a.startSeq = a.s.Seq
		} else if err == nil {
			err = a.commit(ctx)
		}
		a.mu.Unlock()
		if err != nil {
			return ApplicationResult{}, err
		}
	}
	for {
		// A demand still owed keeps a cancelled application's run going.
		for !a.s.Status.Final() || a.owes() {
			if a.refusedStart {
				// Nothing of it is written, nor will be: the run fails, as
				// one whose submission's own write was refused did before.
				if err := a.quiet(ctx); err != nil {
					return ApplicationResult{}, err
				}
				return ApplicationResult{}, fmt.Errorf("submission of %s: its write was refused", a.s.ID)
			}
			if workflow.GetInfo(ctx).GetContinueAsNewSuggested() {
				if err := a.quiet(ctx); err != nil {
					return ApplicationResult{}, err
				}
				if a.direct {
					settled, err := a.settleStaged(ctx)
					if err != nil {
						return ApplicationResult{}, err
					}
					if !settled {
						continue
					}
				}
				carry := a.s
				if a.durable {
					carry.PendingPromotion = a.promoted
				}
				next := ApplicationInput{ApplicationID: a.s.ID, ProgrammeID: a.s.ProgrammeID, Carry: &carry}
				// Sealed whenever the worker has keys, whatever version this run
				// is: the next run checks its start (a run from before
				// "sealed-actions" continues into one that does).
				next = a.sealCarry(next)
				return ApplicationResult{}, workflow.NewContinueAsNewError(ctx, WorkflowName, next)
			}
			if err := a.waitForClockOrChange(ctx); err != nil {
				if temporal.IsCanceledError(err) {
					return ApplicationResult{}, err
				}
				if a.refusedStart {
					continue // the submission's write was refused: the run ends
				}
				// A clock's work failed (the database stayed down longer than its
				// retries): the application must not fail for it. Try again later.
				workflow.GetLogger(ctx).Error("clock action failed, retrying in an hour", "error", err)
				if err := workflow.Sleep(ctx, time.Hour); err != nil {
					return ApplicationResult{}, err
				}
			}
		}
		if err := a.quiet(ctx); err != nil {
			return ApplicationResult{}, err
		}
		if !a.direct {
			break
		}
		// Written and delivered before the run ends; a refused write that
		// put the ending back keeps it going.
		settled, err := a.settleStaged(ctx)
		if err != nil {
			return ApplicationResult{}, err
		}
		if settled && a.s.Status.Final() && !a.owes() {
			break
		}
	}
	return ApplicationResult{Status: a.s.Status, GrantedCents: a.s.GrantedCents, PaidCents: a.s.PaidCents,
		RepaymentCents: a.s.RepaymentCents}, nil
}

// versionCompact (1): one version marker stands for every change before it
// (all on), where each took a marker and a search-attribute upsert of its
// own, at the start of every run and at acceptance; and an action whose
// result hands back its writes leaves the (empty) state out of it. Runs
// started before take their markers one by one, as recorded.
const versionCompact = "compact-history"

// versions reads which changes this run has (and checks the start's seal
// where it must).
func (a *application) versions(ctx workflow.Context, in ApplicationInput) error {
	defer func() { a.versioned = true }()
	if workflow.GetVersion(ctx, versionCompact, workflow.DefaultVersion, 1) >= 1 {
		a.compact = true
		a.healWaitlist, a.durable, a.sealed, a.registry, a.steady = true, true, true, true, true
		a.writtenChecks, a.notifies, a.stateAid, a.demands, a.interestByDay = true, true, true, true, true
		a.costPlan, a.direct, a.interimWithinProject = true, true, true
		return a.checkStart(ctx, in)
	}
	a.healWaitlist = workflow.GetVersion(ctx, "waitlist-self-heal", workflow.DefaultVersion, 1) >= 1
	a.durable = workflow.GetVersion(ctx, versionDurableEffects, workflow.DefaultVersion, 1) >= 1
	a.sealed = workflow.GetVersion(ctx, versionSealed, workflow.DefaultVersion, 1) >= 1
	if a.sealed {
		if err := a.checkStart(ctx, in); err != nil {
			return err
		}
	}
	a.registry = workflow.GetVersion(ctx, versionRegistry, workflow.DefaultVersion, 1) >= 1
	a.steady = workflow.GetVersion(ctx, versionSteadyClock, workflow.DefaultVersion, 1) >= 1
	a.writtenChecks = workflow.GetVersion(ctx, versionWrittenChecks, workflow.DefaultVersion, 1) >= 1
	a.notifies = workflow.GetVersion(ctx, versionNotifications, workflow.DefaultVersion, 1) >= 1
	a.stateAid = workflow.GetVersion(ctx, versionStateAid, workflow.DefaultVersion, 1) >= 1
	demands := workflow.GetVersion(ctx, versionRepaymentDemands, workflow.DefaultVersion, 2)
	a.demands, a.interestByDay = demands >= 1, demands >= 2
	a.costPlan = workflow.GetVersion(ctx, versionCostPlan, workflow.DefaultVersion, 1) >= 1
	a.direct = a.durable && workflow.GetVersion(ctx, versionCallerWrites, workflow.DefaultVersion, 1) >= 1
	return nil
}

// withinProject says whether this run has version 1 of
// "interim-report-within-project" (asked when the agreement is accepted).
func (a *application) withinProject(ctx workflow.Context) bool {
	return a.interimWithinProject ||
		workflow.GetVersion(ctx, "interim-report-within-project", workflow.DefaultVersion, 1) >= 1
}

// submit runs the eligibility check of a new application.
func (a *application) submit(ctx workflow.Context) error {
	if err := a.emit(ctx, "submitted", "", a.s.SubmittedBy, a.s.Proposal.Title); err != nil {
		return err
	}
	if errs := models.CheckEligibility(a.s.Rules, a.s.Proposal); len(errs) > 0 {
		a.s.Ineligibility = errs
		return a.transition(ctx, models.StatusIneligible, "eligibility_failed", system, errs[0].Message)
	}
	return a.openReview(ctx, "eligibility_passed", system, "")
}

// system is the actor of what the workflow does by itself (timers, rules).
var system = models.Actor{UserID: "system", Name: "system"}

// lock serialises every change of state between update handlers and timers.
func (a *application) lock(ctx workflow.Context) error { return a.mu.Lock(ctx) }

// transition moves the application to another stage and records it.
func (a *application) transition(ctx workflow.Context, to models.Status, kind string, actor models.Actor, detail string) error {
	from := a.s.Status
	a.s.Status = to
	if to.Final() {
		a.s.Deadlines = models.Deadlines{}
	}
	return a.emit(ctx, kind, from, actor, detail)
}

// emit records an event: the sequence moves on and the projection writes the
// event and the state after it, before the action's caller gets an answer.
func (a *application) emit(ctx workflow.Context, kind string, from models.Status, actor models.Actor, detail string) error {
	a.s.Seq++
	now := workflow.Now(ctx).UTC()
	a.s.UpdatedAt = now
	a.s.Next = NextSteps(a.s)
	ev := models.Event{Seq: a.s.Seq, Kind: kind, From: from, To: a.s.Status, Actor: actor, Detail: detail, At: now}
	if a.durable {
		a.pend.events = append(a.pend.events, ev)
		return nil
	}
	err := workflow.ExecuteLocalActivity(localCtx(ctx), ActivityProject, models.ProjectInput{State: a.s, Event: ev}).Get(ctx, nil)
	if err != nil {
		return fmt.Errorf("project %s: %w", kind, err)
	}
	return nil
}

func localCtx(ctx workflow.Context) workflow.Context {
	// A database that is down must delay the application, never fail it:
	// attempts are short, retries go on for a day (the SDK turns long
	// backoffs into durable timers).
	return workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		StartToCloseTimeout:    15 * time.Second,
		ScheduleToCloseTimeout: 24 * time.Hour,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:        200 * time.Millisecond,
			BackoffCoefficient:     2,
			MaximumInterval:        time.Minute,
			NonRetryableErrorTypes: []string{"InvalidInput"},
		},
	})
}

func (a *application) now(ctx workflow.Context) time.Time { return workflow.Now(ctx).UTC() }

func at(t time.Time) *time.Time { return &t }

// reserve asks the ledger for the grant; waitlists it if the fund can't cover it.
func (a *application) reserve(ctx workflow.Context) (bool, error) {
	res, err := a.reserveChecked(ctx, nil)
	return res.Reserved, err
}

// reserveChecked is reserve with the grant's de-minimis shares checked
// against the state-aid register first (claim set): the result's StateAid
// lists the members over the ceiling, and then nothing is reserved.
func (a *application) reserveChecked(ctx workflow.Context, claim *models.StateAidClaim) (models.ReserveResult, error) {
	var res models.ReserveResult
	in := models.ReserveInput{
		ProgrammeID: a.s.ProgrammeID, ApplicationID: a.s.ID, AmountCents: a.s.GrantedCents, At: a.now(ctx),
		StateAid: claim,
	}
	if a.durable {
		err := workflow.ExecuteActivity(activityCtx(ctx), ActivityReserveBudget, in).Get(ctx, &res)
		if err == nil && res.Reserved {
			a.reservedNow = true
		}
		return res, err
	}
	err := workflow.ExecuteLocalActivity(localCtx(ctx), ActivityReserveBudget, in).Get(ctx, &res)
	return res, err
}

// releaseOnEnding gives back whatever the application may hold when it is
// rejected: nothing, unless a reservation was made that the workflow never
// learnt of (possible only under the local activities before
// "durable-effects"; kept as a guard that costs one ledger call).
func (a *application) releaseOnEnding(ctx workflow.Context, key string) {
	if a.durable {
		_ = a.release(ctx, key, true, 0)
	}
}

// release gives back unpaid reservation (all, or amount) and promotes
// waitlisted applications, telling each of them.
func (a *application) release(ctx workflow.Context, key string, all bool, amount int64) error {
	in := models.ReleaseInput{
		ProgrammeID: a.s.ProgrammeID, ApplicationID: a.s.ID, Key: key, All: all, AmountCents: amount, At: a.now(ctx),
	}
	if a.durable {
		a.pend.releases = append(a.pend.releases, in)
		return nil
	}
	var res models.ReleaseResult
	err := workflow.ExecuteLocalActivity(localCtx(ctx), ActivityReleaseBudget, in).Get(ctx, &res)
	if err != nil {
		return fmt.Errorf("release budget: %w", err)
	}
	for _, id := range res.Promoted {
		f := workflow.SignalExternalWorkflow(ctx, WorkflowID(id), "", SignalPromoted, models.PromotedSignal{})
		if err := f.Get(ctx, nil); err != nil {
			workflow.GetLogger(ctx).Warn("could not tell promoted application", "application", id, "error", err)
		}
	}
	return nil
}
