package workflows

import (
	"time"

	"go.temporal.io/sdk/workflow"

	"reallabor/models"
)

// waitlistCheckEvery is how often a waitlisted application asks the ledger,
// unless its rules say otherwise.
const waitlistCheckEvery = 24 * time.Hour

// waitlistCheck is the interval of the waitlist's own check.
func (a *application) waitlistCheck() time.Duration {
	if a.s.Rules.WaitlistCheck > 0 {
		return a.s.Rules.WaitlistCheck
	}
	return waitlistCheckEvery
}

// alarm is one durable clock of the current stage: at When, Fire runs.
type alarm struct {
	When time.Time
	Fire func(ctx workflow.Context) error
}

// alarms lists the clocks that are still to ring in the current stage.
// Deadlines are absolute times in the state, so they survive continue-as-new.
func (a *application) alarms() []alarm {
	var out []alarm
	r, d := a.s.Rules, a.s.Deadlines
	switch a.s.Status {
	case models.StatusInReview:
		if d.Review != nil && !a.s.Reminders.ReviewReminded {
			out = append(out, alarm{d.Review.Add(-r.ReviewReminder), func(ctx workflow.Context) error {
				a.s.Reminders.ReviewReminded = true
				return a.emit(ctx, "review_reminder", "", system, "reminder sent to the steering board")
			}})
		}
		if d.Review != nil && !a.s.Reminders.ReviewEscalated {
			out = append(out, alarm{*d.Review, func(ctx workflow.Context) error {
				a.s.Reminders.ReviewEscalated = true
				return a.emit(ctx, "review_escalated", "", system, "review deadline passed: escalated to the programme admin")
			}})
		}
	case models.StatusRevisionRequested:
		if d.Revision != nil {
			out = append(out, alarm{*d.Revision, func(ctx workflow.Context) error {
				a.releaseOnEnding(ctx, "revision-deadline")
				return a.transition(ctx, models.StatusRejected, "revision_deadline_passed", system, "no revision before the deadline")
			}})
		}
	case models.StatusWaitlisted:
		if d.WaitlistCheck != nil && a.healWaitlist {
			out = append(out, alarm{*d.WaitlistCheck, func(ctx workflow.Context) error {
				reserved, err := a.reserve(ctx)
				if err != nil {
					return err
				}
				if reserved {
					return a.promoteReserved(ctx)
				}
				a.s.Deadlines.WaitlistCheck = at(a.now(ctx).Add(a.waitlistCheck()))
				a.pend.state = a.writtenChecks
				return nil
			}})
		}
	case models.StatusApproved:
		if d.Acceptance != nil && !a.s.Reminders.AcceptanceReminded {
			out = append(out, alarm{d.Acceptance.Add(-r.AcceptanceReminder), func(ctx workflow.Context) error {
				a.s.Reminders.AcceptanceReminded = true
				return a.emit(ctx, "acceptance_reminder", "", system, "reminder sent to the applicant")
			}})
		}
		if d.Acceptance != nil {
			out = append(out, alarm{*d.Acceptance, func(ctx workflow.Context) error {
				if err := a.release(ctx, "lapse", true, 0); err != nil {
					return err
				}
				a.stopTranches()
				return a.transition(ctx, models.StatusLapsed, "lapsed", system, "agreement not accepted before the deadline")
			}})
		}
	case models.StatusActive:
		out = append(out, a.reportAlarms(models.ReportInterim, d.InterimReport, &a.s.Reminders.InterimReminded, &a.s.Reminders.InterimOverdue)...)
		out = append(out, a.reportAlarms(models.ReportFinal, d.FinalReport, &a.s.Reminders.FinalReminded, &a.s.Reminders.FinalOverdue)...)
	}
	return append(out, a.demandAlarms()...)
}

// clocks are the alarms and, under "caller-writes", the flush of what is
// staged (it marks the flush due; commit writes).
func (a *application) clocks() []alarm {
	out := a.alarms()
	if a.direct && a.flushAt != nil {
		out = append(out, alarm{*a.flushAt, func(workflow.Context) error {
			a.flushDue = true
			return nil
		}})
	}
	return out
}

func (a *application) reportAlarms(kind models.ReportKind, due *time.Time, reminded, overdue *bool) []alarm {
	if due == nil || a.reportStatus(kind) == models.ReportSubmitted || a.reportStatus(kind) == models.ReportAccepted {
		return nil
	}
	var out []alarm
	if !*reminded {
		out = append(out, alarm{due.Add(-a.s.Rules.ReportReminder), func(ctx workflow.Context) error {
			*reminded = true
			return a.emit(ctx, string(kind)+"_report_reminder", "", system, "reminder sent to the applicant")
		}})
	}
	if !*overdue {
		out = append(out, alarm{*due, func(ctx workflow.Context) error {
			*overdue = true
			return a.emit(ctx, string(kind)+"_report_overdue", "", system, "report overdue: next tranche held, admin notified")
		}})
	}
	return out
}

// waitForClockOrChange sleeps on a durable timer until the earliest clock of
// the stage, or until an action changes the state, then rings what is due.
func (a *application) waitForClockOrChange(ctx workflow.Context) error {
	seq := a.s.Seq
	changed := func() bool { return a.s.Seq != seq || a.promoted }
	alarms := a.clocks()
	if a.steady {
		if err := a.waitSteadily(ctx, alarms, changed); err != nil {
			return err
		}
	} else if len(alarms) == 0 {
		if err := workflow.Await(ctx, changed); err != nil {
			return err
		}
	} else {
		next := alarms[0].When
		for _, al := range alarms[1:] {
			if al.When.Before(next) {
				next = al.When
			}
		}
		if wait := next.Sub(workflow.Now(ctx)); wait > 0 {
			// The timer is cancelled once a change wakes the loop, so no
			// stale timer is left on the server for each change.
			if err := a.awaitWithTimeout(ctx, wait, changed); err != nil {
				return err
			}
		}
	}
	if err := a.lock(ctx); err != nil {
		return err
	}
	defer a.mu.Unlock()
	if a.direct && a.due(workflow.Now(ctx)) {
		// What the API staged is written first: a failed clock then puts
		// back only its own changes.
		if err := a.flush(ctx); err != nil {
			if refused(err) {
				a.revert(ctx, err)
			}
			return err
		}
	}
	err := a.ring(ctx)
	if err != nil {
		a.revert(ctx, err)
		return err
	}
	if err = a.commit(ctx); err != nil && (!a.direct || refused(err)) {
		// Under "caller-writes" a database that is away keeps what is
		// staged for the next try; only a refused write puts it back.
		a.revert(ctx, err)
	}
	return err
}

// versionSteadyClock: from version 1 of "steady-clock" on, one timer serves
// the stage's earliest deadline for as long as that deadline stays the
// earliest: an action that leaves it (a vote, a payment) no longer cancels
// and restarts it. A lifecycle starts about a third of the timers it did,
// and Temporal bills each.
const versionSteadyClock = "steady-clock"

// waitSteadily waits for a change or the earliest alarm, keeping the timer
// of a deadline that has not moved.
func (a *application) waitSteadily(ctx workflow.Context, alarms []alarm, changed func() bool) error {
	if len(alarms) == 0 {
		a.stopClock()
		return workflow.Await(ctx, changed)
	}
	next := alarms[0].When
	for _, al := range alarms[1:] {
		if al.When.Before(next) {
			next = al.When
		}
	}
	wait := next.Sub(workflow.Now(ctx))
	if wait <= 0 {
		a.stopClock()
		return nil
	}
	if a.clock == nil || !a.clockAt.Equal(next) {
		a.stopClock()
		tctx, cancel := workflow.WithCancel(ctx)
		a.clock, a.clockAt, a.clockCancel = workflow.NewTimer(tctx, wait), next, cancel
	}
	if err := workflow.Await(ctx, func() bool { return changed() || a.clock.IsReady() }); err != nil {
		return err
	}
	if a.clock.IsReady() {
		a.clock, a.clockCancel = nil, nil // it fired
	}
	return nil
}

// stopClock cancels the running timer, if any.
func (a *application) stopClock() {
	if a.clockCancel != nil {
		a.clockCancel()
	}
	a.clock, a.clockCancel = nil, nil
}

// awaitWithTimeout waits for cond or the time; from "durable-effects" on,
// the timer is cancelled once cond wakes the loop, so no stale timer is left
// on the server for every change.
func (a *application) awaitWithTimeout(ctx workflow.Context, wait time.Duration, cond func() bool) error {
	if !a.durable {
		_, err := workflow.AwaitWithTimeout(ctx, wait, cond)
		return err
	}
	tctx, cancel := workflow.WithCancel(ctx)
	defer cancel()
	_, err := workflow.AwaitWithTimeout(tctx, wait, cond)
	return err
}

// ring runs what is due: a promotion, or the clocks whose time has come.
func (a *application) ring(ctx workflow.Context) error {
	if a.promoted {
		return a.promote(ctx)
	}
	now := workflow.Now(ctx)
	wasFinal := a.s.Status.Final()
	// Recompute under the lock: an action may have moved the stage on.
	for _, al := range a.clocks() {
		if !al.When.After(now) {
			if err := al.Fire(ctx); err != nil {
				return err
			}
			if a.s.Status.Final() && !wasFinal {
				return nil
			}
		}
	}
	return nil
}

// due says a promotion or a clock other than the flush is to run now.
func (a *application) due(now time.Time) bool {
	if a.promoted {
		return true
	}
	for _, al := range a.alarms() {
		if !al.When.After(now) {
			return true
		}
	}
	return false
}
