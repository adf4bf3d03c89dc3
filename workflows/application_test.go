package workflows_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"reallabor/models"
	"reallabor/workflows"
)

// start is when every test application is submitted (the test clock's zero).
var start = time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)

const day = 24 * time.Hour

// The grant of the test proposal: 30,000.01 EUR of 60,000.02 EUR cost at the
// default 50 %, so 40 % of it does not divide evenly and the retained last
// tranche takes the remainder.
const (
	requested = 30_000_01
	totalCost = 60_000_02
	tranche1  = 12_000_00
	tranche2  = 12_000_00
	tranche3  = 6_000_01
	fund      = 1_000_000_00

	appID  = "app-1"
	progID = "prog-1"
	t1, t2 = appID + "-1", appID + "-2"
	t3     = appID + "-3"
)

var (
	applicant = models.Actor{UserID: "u-anna", Name: "Anna Meier", Role: models.RoleApplicant, Organisation: "Buchhandlung Meier"}
	partner   = models.Actor{UserID: "u-bernd", Name: "Bernd Schmidt", Role: models.RoleApplicant, Organisation: "Bäckerei Schmidt"}
	outsider  = models.Actor{UserID: "u-olga", Name: "Olga Fremd", Role: models.RoleApplicant, Organisation: "Fremdfirma GmbH"}
	reviewer1 = models.Actor{UserID: "u-r1", Name: "Rita Rat", Role: models.RoleReviewer, Organisation: "Stadt Musterstadt"}
	reviewer2 = models.Actor{UserID: "u-r2", Name: "Robert Roth", Role: models.RoleReviewer, Organisation: "IHK Musterstadt"}
	reviewer3 = models.Actor{UserID: "u-r3", Name: "Rosa Reh", Role: models.RoleReviewer, Organisation: "Handwerkskammer"}
	reviewer4 = models.Actor{UserID: "u-r4", Name: "Rolf Rabe", Role: models.RoleReviewer, Organisation: "Einzelhandelsverband"}
	// insider is a reviewer from a company of the group, spelt differently.
	insider  = models.Actor{UserID: "u-r5", Name: "Ingo Innen", Role: models.RoleReviewer, Organisation: "  bäckerei   SCHMIDT "}
	finance1 = models.Actor{UserID: "u-f1", Name: "Frieda Geld", Role: models.RoleFinance, Organisation: "Stadtkasse"}
	finance2 = models.Actor{UserID: "u-f2", Name: "Fritz Kasse", Role: models.RoleFinance, Organisation: "Stadtkasse"}
	admin    = models.Actor{UserID: "u-admin", Name: "Ada Admin", Role: models.RoleAdmin, Organisation: "Stadt Musterstadt"}
)

func testRules() models.Rules {
	r := models.DefaultRules()
	r.BudgetCents = fund
	return r
}

func testProposal() models.Proposal {
	begin := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	return models.Proposal{
		Title:          "Click & collect for the inner city",
		Summary:        "Five retailers of one high street share a pick-up point.",
		RequestedCents: requested,
		TotalCostCents: totalCost,
		StartDate:      begin,
		EndDate:        begin.AddDate(1, 0, 0),
		Group: models.Group{
			Name: "Altstadt retailers",
			Lead: "Buchhandlung Meier",
			Members: []models.Member{
				{Name: "Buchhandlung Meier"},
				{Name: "Bäckerei Schmidt", PriorDeMinimisCents: 100_000_00},
			},
		},
		Payee: models.Payee{Name: "Buchhandlung Meier", IBAN: "DE89370400440532013000"},
	}
}

// finalReportDue is when the final report of testProposal is due: 60 days
// after the project's end.
var finalReportDue = testProposal().EndDate.Add(60 * day)

// fakeLedger is the programme's budget ledger and the projection: it
// reserves while the fund lasts, moves reserved money to paid, and records
// every call the workflow makes.
type fakeLedger struct {
	mu        sync.Mutex
	available int64 // what the fund can still commit
	reserved  int64
	paid      int64
	promote   []string // what the next release promotes
	projected []models.ProjectInput
	reserves  []models.ReserveInput
	releases  []models.ReleaseInput
	payments  []models.PaymentInput
	// repayments booked (principal in AmountCents, interest apart).
	repayments []models.RepaymentInput
	// failApply, if set, decides whether an Apply is refused (as a
	// database refusing its content would) before anything is booked.
	failApply func(models.ApplyInput) bool
	// stateAid, if set, answers a grant's state-aid claim as the register
	// would (members over the ceiling).
	stateAid func(models.StateAidClaim) []models.FieldError
	// applied: what Apply booked, by key (a write made twice, by the API and
	// by the workflow's flush, books once, as the store does).
	applied map[string]bool
	// told: the applications the API's writes promoted (it signals them).
	told []string
}

// Project keeps a copy of what it is given, as a database would: local
// activities get the workflow's values, not a serialised copy.
func (l *fakeLedger) Project(_ context.Context, in models.ProjectInput) error {
	b, err := json.Marshal(in)
	if err != nil {
		return err
	}
	var snapshot models.ProjectInput
	if err := json.Unmarshal(b, &snapshot); err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.projected = append(l.projected, snapshot)
	return nil
}

func (l *fakeLedger) ReserveBudget(_ context.Context, in models.ReserveInput) (models.ReserveResult, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.reserves = append(l.reserves, in)
	if in.StateAid != nil && l.stateAid != nil {
		if errs := l.stateAid(*in.StateAid); len(errs) > 0 {
			return models.ReserveResult{StateAid: errs}, nil
		}
	}
	if in.AmountCents > l.available {
		return models.ReserveResult{Reserved: false}, nil
	}
	l.available -= in.AmountCents
	l.reserved += in.AmountCents
	return models.ReserveResult{Reserved: true}, nil
}

func (l *fakeLedger) ReleaseBudget(_ context.Context, in models.ReleaseInput) (models.ReleaseResult, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.releases = append(l.releases, in)
	amount := in.AmountCents
	if in.All {
		amount = l.reserved
	}
	l.reserved -= amount
	l.available += amount
	res := models.ReleaseResult{ReleasedCents: amount, Promoted: l.promote}
	l.promote = nil
	return res, nil
}

func (l *fakeLedger) RecordPayment(_ context.Context, in models.PaymentInput) (models.PaymentResult, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.payments = append(l.payments, in)
	if in.Reverse {
		l.paid -= in.AmountCents
		l.reserved += in.AmountCents
	} else {
		l.paid += in.AmountCents
		l.reserved -= in.AmountCents
	}
	return models.PaymentResult{Applied: true}, nil
}

// Apply is what the workflow writes, from "durable-effects" on, after an
// action is durable: it books the payments and releases as the single calls
// did and keeps each event with the state after the action.
func (l *fakeLedger) Apply(ctx context.Context, in models.ApplyInput) (models.ApplyResult, error) {
	var out models.ApplyResult
	if l.failApply != nil && l.failApply(in) {
		return out, temporal.NewNonRetryableApplicationError("refused by the database", "DataError", nil)
	}
	for _, p := range in.Payments {
		if l.once(fmt.Sprintf("payment %+v", p)) {
			continue
		}
		if _, err := l.RecordPayment(ctx, p); err != nil {
			return out, err
		}
	}
	for _, r := range in.Releases {
		if l.once("release " + r.Key) {
			continue
		}
		res, err := l.ReleaseBudget(ctx, r)
		if err != nil {
			return out, err
		}
		out.Promoted = append(out.Promoted, res.Promoted...)
	}
	for _, r := range in.Repayments {
		if l.once(fmt.Sprintf("repayment %+v", r)) {
			continue
		}
		l.mu.Lock()
		l.repayments = append(l.repayments, r)
		l.paid -= r.AmountCents
		l.available += r.AmountCents
		l.mu.Unlock()
	}
	for _, e := range in.Events {
		if l.replace(in.State, e) {
			continue
		}
		if err := l.Project(ctx, models.ProjectInput{State: in.State, Event: e}); err != nil {
			return out, err
		}
	}
	return out, nil
}

// once says key was booked before, and books it.
func (l *fakeLedger) once(key string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.applied == nil {
		l.applied = map[string]bool{}
	}
	if l.applied[key] {
		return true
	}
	l.applied[key] = true
	return false
}

// replace writes an event of a sequence already projected over it (with
// the later state), as the store does; it says whether there was one.
func (l *fakeLedger) replace(st models.ApplicationState, e models.Event) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i, p := range l.projected {
		if p.Event.Seq == e.Seq {
			if st.Seq >= p.State.Seq {
				l.projected[i].State = st
			}
			l.projected[i].Event = e
			return true
		}
	}
	return false
}

// writtenSeq is how far the projection is written.
func (l *fakeLedger) writtenSeq() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	var seq int64
	for _, p := range l.projected {
		seq = max(seq, p.State.Seq)
	}
	return seq
}

func (l *fakeLedger) events() []models.Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]models.Event, len(l.projected))
	for i, p := range l.projected {
		out[i] = p.Event
	}
	return out
}

func (l *fakeLedger) kinds() []string {
	var out []string
	for _, e := range l.events() {
		out = append(out, e.Kind)
	}
	return out
}

// last is the state of the latest projection.
func (l *fakeLedger) last() models.ApplicationState {
	l.mu.Lock()
	defer l.mu.Unlock()
	var st models.ApplicationState
	for _, p := range l.projected {
		if p.State.Seq >= st.Seq {
			st = p.State
		}
	}
	return st
}

// harness runs one application workflow in the test environment. Steps are
// delayed callbacks on the workflow clock, one hour apart unless said
// otherwise, so time skipping runs a lifecycle of months in milliseconds.
type harness struct {
	t      *testing.T
	env    *testsuite.TestWorkflowEnvironment
	ledger *fakeLedger
	in     workflows.ApplicationInput

	offset   time.Duration // of the last scheduled step, from start
	steps    int           // scheduled
	ran      int           // run
	sent     int           // updates sent
	answered int           // updates answered (completed or rejected)
}

func newHarness(t *testing.T, change ...func(in *workflows.ApplicationInput, l *fakeLedger)) *harness {
	t.Helper()
	var suite testsuite.WorkflowTestSuite
	suite.SetLogger(log.NewStructuredLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))))
	env := suite.NewTestWorkflowEnvironment()
	env.SetStartTime(start)
	l := &fakeLedger{available: fund}
	env.RegisterActivityWithOptions(l.Project, activity.RegisterOptions{Name: workflows.ActivityProject})
	env.RegisterActivityWithOptions(l.ReserveBudget, activity.RegisterOptions{Name: workflows.ActivityReserveBudget})
	env.RegisterActivityWithOptions(l.ReleaseBudget, activity.RegisterOptions{Name: workflows.ActivityReleaseBudget})
	env.RegisterActivityWithOptions(l.RecordPayment, activity.RegisterOptions{Name: workflows.ActivityRecordPayment})
	env.RegisterActivityWithOptions(l.Apply, activity.RegisterOptions{Name: workflows.ActivityApply})
	in := workflows.ApplicationInput{
		ApplicationID: appID, ProgrammeID: progID, Rules: testRules(), Proposal: testProposal(), SubmittedBy: applicant,
	}
	for _, c := range change {
		c(&in, l)
	}
	return &harness{t: t, env: env, ledger: l, in: in}
}

// written is in saying how far l's projection is written, as the API says.
func written(in any, l *fakeLedger) any {
	if w, ok := in.(workflows.Written); ok {
		return w.WithWrittenSeq(l.writtenSeq())
	}
	return in
}

// answer does with an update's result what the API does: it makes the
// writes the result carries ("caller-writes") and returns the state as the
// actor of in sees it.
func (l *fakeLedger) answer(res any, in any) (models.ApplicationState, error) {
	r, ok := res.(workflows.ActionResult)
	if !ok {
		return models.ApplicationState{}, fmt.Errorf("answered %T, want workflows.ActionResult", res)
	}
	if r.Write == nil {
		return r.State(), nil
	}
	out, err := l.Apply(context.Background(), *r.Write)
	if err != nil {
		return models.ApplicationState{}, err
	}
	l.mu.Lock()
	l.told = append(l.told, out.Promoted...)
	l.mu.Unlock()
	actor, _ := reflect.ValueOf(in).FieldByName("Actor").Interface().(models.Actor)
	return workflows.View(r.Write.State, actor), nil
}

// step schedules f an hour after the previous step and returns when it runs.
func (h *harness) step(f func()) time.Time { return h.stepAfter(time.Hour, f) }

// stepAfter schedules f d after the previous step and returns when it runs.
func (h *harness) stepAfter(d time.Duration, f func()) time.Time {
	h.offset += d
	h.steps++
	h.env.RegisterDelayedCallback(func() { h.ran++; f() }, h.offset)
	return start.Add(h.offset)
}

// wait moves the time of the next step on by d.
func (h *harness) wait(d time.Duration) { h.offset += d }

// ok sends an update that must be accepted and complete without error; each
// check looks at the state the update answers with.
func (h *harness) ok(name string, in any, check ...func(st models.ApplicationState)) time.Time {
	h.sent++
	id := fmt.Sprintf("%s-%d", name, h.sent)
	return h.step(func() {
		in := written(in, h.ledger)
		h.env.UpdateWorkflow(name, id, &testsuite.TestUpdateCallback{
			OnAccept: func() {},
			OnReject: func(err error) {
				h.answered++
				h.t.Errorf("update %s (%+v) rejected: %v", id, in, err)
			},
			OnComplete: func(res any, err error) {
				h.answered++
				if err != nil {
					h.t.Errorf("update %s (%+v) failed: %v", id, in, err)
					return
				}
				st, err := h.ledger.answer(res, in)
				if err != nil {
					h.t.Errorf("update %s: %v", id, err)
					return
				}
				for _, c := range check {
					c(st)
				}
			},
		}, in)
	})
}

// reject sends an update that the validator must reject with an
// ApplicationError of type code (and, for models.CodeInvalid, exactly the
// listed fields); a minute later it checks that nothing changed.
func (h *harness) reject(name string, in any, code string, fields ...string) {
	h.sent++
	id := fmt.Sprintf("%s-%d", name, h.sent)
	var before models.ApplicationState
	var events int
	h.step(func() {
		before = h.state(admin)
		events = len(h.ledger.events())
		h.env.UpdateWorkflow(name, id, &testsuite.TestUpdateCallback{
			OnAccept: func() { h.t.Errorf("update %s (%+v) accepted, want rejected with %s", id, in, code) },
			OnReject: func(err error) {
				h.answered++
				checkAppError(h.t, err, code, fields)
			},
			OnComplete: func(any, error) {},
		}, in)
	})
	h.stepAfter(time.Minute, func() {
		assert.Equal(h.t, before, h.state(admin), "state after the rejected update %s", id)
		if n := len(h.ledger.events()); n != events {
			h.t.Errorf("events after the rejected update %s = %d, want %d (unchanged)", id, n, events)
		}
	})
}

// checkAppError checks err is an ApplicationError of type code, carrying, for
// models.CodeInvalid, the field-by-field list with exactly fields.
func checkAppError(t *testing.T, err error, code string, fields []string) {
	t.Helper()
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) {
		t.Errorf("rejection = %T %v, want *temporal.ApplicationError", err, err)
		return
	}
	if appErr.Type() != code {
		t.Errorf("rejection type = %q (%v), want %q", appErr.Type(), appErr, code)
	}
	if code != models.CodeInvalid {
		return
	}
	var list []models.FieldError
	if err := appErr.Details(&list); err != nil {
		t.Errorf("rejection details: %v, want []models.FieldError", err)
		return
	}
	got := make([]string, len(list))
	for i, fe := range list {
		got[i] = fe.Field
	}
	if !slices.Equal(got, fields) {
		t.Errorf("rejected fields = %v (%+v), want %v", got, list, fields)
	}
}

// state queries the state as viewer sees it.
func (h *harness) state(viewer models.Actor) models.ApplicationState {
	h.t.Helper()
	v, err := h.env.QueryWorkflow(workflows.QueryState, workflows.Viewer{Actor: viewer})
	if err != nil {
		h.t.Errorf("query %s as %s: %v", workflows.QueryState, viewer.Role, err)
		return models.ApplicationState{}
	}
	var st models.ApplicationState
	if err := v.Get(&st); err != nil {
		h.t.Errorf("decode %s: %v", workflows.QueryState, err)
	}
	return st
}

// inspect schedules a step that looks at the state as admin sees it.
func (h *harness) inspect(check func(st models.ApplicationState)) time.Time {
	return h.step(func() { check(h.state(admin)) })
}

// runToEnd runs the workflow, which must complete, and returns its result.
func (h *harness) runToEnd() workflows.ApplicationResult {
	h.t.Helper()
	h.env.ExecuteWorkflow(workflows.Application, h.in)
	require.True(h.t, h.env.IsWorkflowCompleted(), "workflow completed")
	require.NoError(h.t, h.env.GetWorkflowError())
	var res workflows.ApplicationResult
	require.NoError(h.t, h.env.GetWorkflowResult(&res))
	h.checkRun()
	return res
}

// runAndStop runs the workflow, which must still be running after the last
// step, and then cancels it.
func (h *harness) runAndStop() {
	h.t.Helper()
	h.stepAfter(time.Minute, h.env.CancelWorkflow)
	h.env.ExecuteWorkflow(workflows.Application, h.in)
	require.True(h.t, h.env.IsWorkflowCompleted(), "workflow completed")
	var canceled *temporal.CanceledError
	if err := h.env.GetWorkflowError(); !errors.As(err, &canceled) {
		h.t.Errorf("workflow error = %v, want it still running until cancelled (last status %s)", err, h.ledger.last().Status)
	}
	h.checkRun()
}

// checkRun checks every step ran, every update was answered and the audit
// trail is coherent: sequence 1, 2, 3, ..., each event's state at its
// sequence and status, transitions from the status before them.
func (h *harness) checkRun() {
	h.t.Helper()
	if h.ran != h.steps {
		h.t.Errorf("steps run = %d, want %d (the workflow ended early)", h.ran, h.steps)
	}
	if h.answered != h.sent {
		h.t.Errorf("updates answered = %d, want %d", h.answered, h.sent)
	}
	h.ledger.mu.Lock()
	defer h.ledger.mu.Unlock()
	prev := models.Status("")
	for i, p := range h.ledger.projected {
		e := p.Event
		// The events of one action are written with the state after the
		// action: that state is at the last event's sequence and status.
		lastOfWrite := i == len(h.ledger.projected)-1 || h.ledger.projected[i+1].State.Seq != p.State.Seq
		if e.Seq != int64(i+1) || p.State.Seq < e.Seq || lastOfWrite && p.State.Seq != e.Seq {
			h.t.Errorf("event %d (%s): seq = %d, state seq = %d, want %d", i, e.Kind, e.Seq, p.State.Seq, i+1)
		}
		if lastOfWrite && p.State.Status != e.To {
			h.t.Errorf("event %d (%s): state status = %s, event to = %s", e.Seq, e.Kind, p.State.Status, e.To)
		}
		switch {
		case i == 0:
			if e.Kind != "submitted" || e.From != "" || e.To != models.StatusSubmitted {
				h.t.Errorf("first event = %s %q→%q, want submitted \"\"→submitted", e.Kind, e.From, e.To)
			}
		case e.From == "":
			if e.To != prev {
				h.t.Errorf("event %d (%s) changes status %s→%s without saying so", e.Seq, e.Kind, prev, e.To)
			}
		case e.From != prev || e.From == e.To:
			h.t.Errorf("event %d (%s) = %s→%s, but the status before was %s", e.Seq, e.Kind, e.From, e.To, prev)
		}
		if lastOfWrite && p.State.UpdatedAt != e.At {
			h.t.Errorf("event %d (%s): state updated_at = %s, event at = %s", e.Seq, e.Kind, p.State.UpdatedAt, e.At)
		}
		prev = e.To
	}
}

// wantKinds checks the kinds of the events, in order.
func (h *harness) wantKinds(want ...string) {
	h.t.Helper()
	if got := h.ledger.kinds(); !slices.Equal(got, want) {
		h.t.Errorf("event kinds =\n  %v\nwant\n  %v", got, want)
	}
}

// event returns the only event of kind.
func (h *harness) event(kind string) models.Event {
	h.t.Helper()
	var found []models.Event
	for _, e := range h.ledger.events() {
		if e.Kind == kind {
			found = append(found, e)
		}
	}
	if len(found) != 1 {
		h.t.Errorf("events of kind %s = %d, want 1", kind, len(found))
		return models.Event{}
	}
	return found[0]
}

// wantEvent checks the only event of kind: its transition, actor and time.
func (h *harness) wantEvent(kind string, from, to models.Status, actor models.Actor, at time.Time) {
	h.t.Helper()
	e := h.event(kind)
	if e.From != from || e.To != to {
		h.t.Errorf("event %s = %q→%q, want %q→%q", kind, e.From, e.To, from, to)
	}
	if e.Actor != actor {
		h.t.Errorf("event %s actor = %+v, want %+v", kind, e.Actor, actor)
	}
	if !e.At.Equal(at) {
		h.t.Errorf("event %s at = %s, want %s", kind, e.At, at)
	}
}

var system = models.Actor{UserID: "system", Name: "system"}

// scores gives every criterion of the default rules the same score.
func scores(s int) map[string]int {
	return map[string]int{"impact": s, "feasibility": s, "partnership": s}
}

func (h *harness) vote(r models.Actor, rec models.Recommendation) time.Time {
	return h.ok(workflows.UpdateSubmitReview, workflows.ReviewInput{
		Actor: r, Recommendation: rec, Scores: scores(4), Comment: "seen by " + r.Name,
	})
}

// voteAll has reviewers 1 to 3 vote rec and returns when the last voted.
func (h *harness) voteAll(rec models.Recommendation) time.Time {
	h.vote(reviewer1, rec)
	h.vote(reviewer2, rec)
	return h.vote(reviewer3, rec)
}

func (h *harness) accept() time.Time {
	return h.ok(workflows.UpdateAcceptAgreement, workflows.ActionInput{Actor: applicant})
}

// pay approves a tranche (finance1) and confirms its payment (finance2), and
// returns when it was paid.
func (h *harness) pay(tranche string) time.Time {
	h.ok(workflows.UpdateApproveDisbursement, workflows.DisbursementInput{Actor: finance1, TrancheID: tranche})
	return h.ok(workflows.UpdateConfirmPayment, workflows.DisbursementInput{Actor: finance2, TrancheID: tranche, BankReference: "REF-" + tranche})
}

func (h *harness) submitReport(kind models.ReportKind, id string, actualCosts int64) time.Time {
	return h.ok(workflows.UpdateSubmitReport, workflows.ReportInput{
		Actor: partner, ReportID: id, Kind: kind, Narrative: "what we did", ActualCostsCents: actualCosts,
	})
}

func (h *harness) assess(id, decision string) time.Time {
	return h.ok(workflows.UpdateAssessReport, workflows.AssessInput{Actor: reviewer1, ReportID: id, Decision: decision})
}

// toActive approves and accepts the application, pays tranche 1 and, with
// interim, gets the interim report accepted and tranche 2 paid.
func (h *harness) toActive(payFirst, interim bool) {
	h.voteAll(models.RecommendApprove)
	h.accept()
	if payFirst {
		h.pay(t1)
	}
	if interim {
		h.submitReport(models.ReportInterim, "interim-1", 30_000_00)
		h.assess("interim-1", "accept")
		h.pay(t2)
	}
}

func wantTranches(t *testing.T, got []models.Tranche, want ...models.Tranche) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("tranches = %+v, want %d", got, len(want))
		return
	}
	for i, w := range want {
		g := got[i]
		if g.ID != w.ID || g.Number != i+1 || g.AmountCents != w.AmountCents || g.Status != w.Status || g.Attempts != w.Attempts || g.Failures != w.Failures {
			t.Errorf("tranche %d = {id %s number %d amount %d status %s attempts %d failures %d}, want {id %s number %d amount %d status %s attempts %d failures %d}",
				i+1, g.ID, g.Number, g.AmountCents, g.Status, g.Attempts, g.Failures, w.ID, i+1, w.AmountCents, w.Status, w.Attempts, w.Failures)
		}
	}
}

// tr is a tranche as wantTranches compares it; paid tranches were paid once.
func tr(id string, amount int64, status models.TrancheStatus) models.Tranche {
	attempts := 0
	if status == models.TranchePaid {
		attempts = 1
	}
	return models.Tranche{ID: id, AmountCents: amount, Status: status, Attempts: attempts}
}

func wantTime(t *testing.T, what string, got *time.Time, want time.Time) {
	t.Helper()
	switch {
	case got == nil:
		t.Errorf("%s = nil, want %s", what, want)
	case !got.Equal(want):
		t.Errorf("%s = %s, want %s", what, got, want)
	}
}

func TestEligibility(t *testing.T) {
	tests := []struct {
		name       string
		change     func(p *models.Proposal)
		wantFields []string // nil: eligible
	}{
		{"eligible", func(p *models.Proposal) {}, nil},
		{"de-minimis ceiling exceeded", func(p *models.Proposal) {
			p.Group.Members[1].PriorDeMinimisCents = 290_000_00 // + 15,000.00 share > 300,000.00
		}, []string{"group.members[1].prior_de_minimis_cents"}},
		{"requested above rate × cost", func(p *models.Proposal) {
			p.TotalCostCents = 50_000_00 // 50 % = 25,000.00 < 30,000.01
		}, []string{"requested_cents"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, func(in *workflows.ApplicationInput, _ *fakeLedger) { tt.change(&in.Proposal) })
			if tt.wantFields == nil {
				h.runAndStop()
				h.wantKinds("submitted", "eligibility_passed")
				h.wantEvent("submitted", "", models.StatusSubmitted, applicant, start)
				h.wantEvent("eligibility_passed", models.StatusSubmitted, models.StatusInReview, system, start)
				st := h.ledger.last()
				wantTime(t, "review deadline", st.Deadlines.Review, start.Add(21*day))
				if st.Ineligibility != nil {
					t.Errorf("ineligibility = %+v, want none", st.Ineligibility)
				}
				return
			}
			res := h.runToEnd()
			if want := (workflows.ApplicationResult{Status: models.StatusIneligible}); res != want {
				t.Errorf("result = %+v, want %+v", res, want)
			}
			h.wantKinds("submitted", "eligibility_failed")
			h.wantEvent("eligibility_failed", models.StatusSubmitted, models.StatusIneligible, system, start)
			st := h.ledger.last()
			var got []string
			for _, fe := range st.Ineligibility {
				got = append(got, fe.Field)
			}
			if !slices.Equal(got, tt.wantFields) {
				t.Errorf("ineligibility = %+v, want fields %v", st.Ineligibility, tt.wantFields)
			}
			if st.Deadlines != (models.Deadlines{}) {
				t.Errorf("deadlines = %+v, want none running", st.Deadlines)
			}
			if len(h.ledger.reserves)+len(h.ledger.releases)+len(h.ledger.payments) != 0 {
				t.Errorf("ledger calls = %d reserve, %d release, %d payment, want none",
					len(h.ledger.reserves), len(h.ledger.releases), len(h.ledger.payments))
			}
		})
	}
}

func TestReviewDecision(t *testing.T) {
	tests := []struct {
		name      string
		votes     []models.Recommendation
		score     int
		want      models.Status
		wantKind  string
		wantFinal bool
	}{
		{"three approve", []models.Recommendation{"approve", "approve", "approve"}, 4, models.StatusApproved, "approved", false},
		{"approve majority", []models.Recommendation{"approve", "reject", "approve"}, 4, models.StatusApproved, "approved", false},
		{"approve majority, mean below threshold", []models.Recommendation{"approve", "approve", "approve"}, 2, models.StatusRejected, "rejected", true},
		{"three reject", []models.Recommendation{"reject", "reject", "reject"}, 4, models.StatusRejected, "rejected", true},
		{"reject majority", []models.Recommendation{"approve", "reject", "reject"}, 4, models.StatusRejected, "rejected", true},
		{"revise majority", []models.Recommendation{"revise", "approve", "revise"}, 4, models.StatusRevisionRequested, "revision_requested", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			var decided time.Time
			for i, r := range []models.Actor{reviewer1, reviewer2, reviewer3} {
				decided = h.ok(workflows.UpdateSubmitReview, workflows.ReviewInput{
					Actor: r, Recommendation: tt.votes[i], Scores: scores(tt.score),
				}, func(st models.ApplicationState) {
					if i < 2 && st.Status != models.StatusInReview {
						t.Errorf("status after vote %d = %s, want %s", i+1, st.Status, models.StatusInReview)
					}
				})
			}
			if tt.wantFinal {
				res := h.runToEnd()
				if want := (workflows.ApplicationResult{Status: tt.want}); res != want {
					t.Errorf("result = %+v, want %+v", res, want)
				}
			} else {
				h.runAndStop()
			}
			h.wantKinds("submitted", "eligibility_passed", "review_submitted", "review_submitted", "review_submitted", tt.wantKind)
			h.wantEvent(tt.wantKind, models.StatusInReview, tt.want, system, decided)
			st := h.ledger.last()
			if st.Decision == nil || st.Decision.Round != 0 || st.Decision.MeanMilli != tt.score*1000 || !st.Decision.At.Equal(decided) {
				t.Errorf("decision = %+v, want round 0, mean %d at %s", st.Decision, tt.score*1000, decided)
			}
			if st.Deadlines.Review != nil {
				t.Errorf("review deadline = %s, want stopped", st.Deadlines.Review)
			}
			switch tt.want {
			case models.StatusApproved:
				want := []models.ReserveInput{{ProgrammeID: progID, ApplicationID: appID, AmountCents: requested, At: decided,
					StateAid: testClaim()}}
				assert.Equal(t, want, h.ledger.reserves, "ReserveBudget calls")
				if st.GrantedCents != requested {
					t.Errorf("granted = %d, want %d", st.GrantedCents, requested)
				}
				wantTranches(t, st.Tranches,
					tr(t1, tranche1, models.TrancheScheduled), tr(t2, tranche2, models.TrancheScheduled), tr(t3, tranche3, models.TrancheScheduled))
				wantTime(t, "acceptance deadline", st.Deadlines.Acceptance, decided.Add(30*day))
			case models.StatusRevisionRequested:
				if st.RevisionRound != 1 {
					t.Errorf("revision round = %d, want 1", st.RevisionRound)
				}
				wantTime(t, "revision deadline", st.Deadlines.Revision, decided.Add(14*day))
				fallthrough
			default:
				if len(h.ledger.reserves) != 0 {
					t.Errorf("ReserveBudget calls = %+v, want none", h.ledger.reserves)
				}
			}
		})
	}
}

func TestWaitlistThenPromotion(t *testing.T) {
	h := newHarness(t, func(_ *workflows.ApplicationInput, l *fakeLedger) { l.available = requested - 1 })
	decided := h.voteAll(models.RecommendApprove)
	h.inspect(func(st models.ApplicationState) {
		if st.Status != models.StatusWaitlisted {
			t.Errorf("status = %s, want %s", st.Status, models.StatusWaitlisted)
		}
		if st.Deadlines.Acceptance != nil {
			t.Errorf("acceptance deadline = %s, want none while waitlisted", st.Deadlines.Acceptance)
		}
	})
	// Another application releases budget; the ledger reserves this grant and
	// tells the workflow.
	// (Within a day: before the waitlist's own daily check asks the ledger.)
	promoted := h.stepAfter(12*time.Hour, func() {
		h.ledger.mu.Lock()
		h.ledger.available = fund // released elsewhere: the ledger covers the grant now
		h.ledger.mu.Unlock()
		h.env.SignalWorkflow(workflows.SignalPromoted, models.PromotedSignal{AmountCents: requested})
	})
	h.inspect(func(st models.ApplicationState) {
		if st.Status != models.StatusApproved {
			t.Errorf("status after promotion = %s, want %s", st.Status, models.StatusApproved)
		}
		wantTime(t, "acceptance deadline", st.Deadlines.Acceptance, promoted.Add(30*day))
	})
	h.accept()
	h.runAndStop()

	h.wantKinds("submitted", "eligibility_passed", "review_submitted", "review_submitted", "review_submitted",
		"waitlisted", "promoted_from_waitlist", "agreement_accepted")
	h.wantEvent("waitlisted", models.StatusInReview, models.StatusWaitlisted, system, decided)
	h.wantEvent("promoted_from_waitlist", models.StatusWaitlisted, models.StatusApproved, system, promoted)
	want := []models.ReserveInput{{ProgrammeID: progID, ApplicationID: appID, AmountCents: requested, At: decided, StateAid: testClaim()},
		{ProgrammeID: progID, ApplicationID: appID, AmountCents: requested, At: promoted}}
	assert.Equal(t, want, h.ledger.reserves, "ReserveBudget calls: at the decision, and on promotion to confirm it with the ledger")
	if got := h.ledger.last().Status; got != models.StatusActive {
		t.Errorf("status = %s, want %s", got, models.StatusActive)
	}
}

// TestWaitlistHealsLostPromotion: the ledger reserved the grant but the
// promotion signal never arrived; the daily check finds the reservation and
// the application moves on to approval.
func TestWaitlistHealsLostPromotion(t *testing.T) {
	h := newHarness(t, func(_ *workflows.ApplicationInput, l *fakeLedger) { l.available = requested - 1 })
	decided := h.voteAll(models.RecommendApprove)
	h.stepAfter(36*time.Hour, func() {
		h.ledger.mu.Lock()
		h.ledger.available = fund // budget released elsewhere; no signal sent
		h.ledger.mu.Unlock()
	})
	h.stepAfter(24*time.Hour, func() {})
	h.inspect(func(st models.ApplicationState) {
		if st.Status != models.StatusApproved {
			t.Errorf("status two days after the release = %s, want %s", st.Status, models.StatusApproved)
		}
	})
	h.runAndStop()
	h.wantEvent("promoted_from_waitlist", models.StatusWaitlisted, models.StatusApproved, system, decided.Add(48*time.Hour))
	want := []models.ReserveInput{
		{ProgrammeID: progID, ApplicationID: appID, AmountCents: requested, At: decided, StateAid: testClaim()},
		{ProgrammeID: progID, ApplicationID: appID, AmountCents: requested, At: decided.Add(24 * time.Hour)},
		{ProgrammeID: progID, ApplicationID: appID, AmountCents: requested, At: decided.Add(48 * time.Hour)},
	}
	assert.Equal(t, want, h.ledger.reserves, "ReserveBudget calls: at the decision, then daily until reserved")
}

func TestRevisionRoundTrip(t *testing.T) {
	h := newHarness(t)
	h.voteAll(models.RecommendRevise)
	revised := testProposal()
	revised.Title = "Click & collect for the inner city, with a cargo bike"
	revisedAt := h.ok(workflows.UpdateSubmitRevision, workflows.RevisionInput{Actor: partner, Proposal: revised},
		func(st models.ApplicationState) {
			if st.Status != models.StatusInReview || st.RevisionRound != 1 {
				t.Errorf("after revision: status %s round %d, want %s round 1", st.Status, st.RevisionRound, models.StatusInReview)
			}
		})
	// The same reviewers vote again in the new round.
	decided := h.voteAll(models.RecommendApprove)
	h.runAndStop()

	h.wantKinds("submitted", "eligibility_passed",
		"review_submitted", "review_submitted", "review_submitted", "revision_requested",
		"revised", "review_submitted", "review_submitted", "review_submitted", "approved")
	h.wantEvent("revised", models.StatusRevisionRequested, models.StatusInReview, partner, revisedAt)
	h.wantEvent("approved", models.StatusInReview, models.StatusApproved, system, decided)
	st := h.ledger.last()
	if st.Proposal.Title != revised.Title {
		t.Errorf("title = %q, want the revised %q", st.Proposal.Title, revised.Title)
	}
	if st.Decision == nil || st.Decision.Round != 1 || st.Decision.Decision != models.DecisionApprove {
		t.Errorf("decision = %+v, want approve in round 1", st.Decision)
	}
	if len(st.Votes) != 6 {
		t.Errorf("votes = %d, want 6 (3 per round)", len(st.Votes))
	}
	if st.Deadlines.Revision != nil {
		t.Errorf("revision deadline = %s, want stopped", st.Deadlines.Revision)
	}
}

func TestMaxRevisionRounds(t *testing.T) {
	h := newHarness(t) // at most 2 revisions
	for range 2 {
		h.voteAll(models.RecommendRevise)
		h.ok(workflows.UpdateSubmitRevision, workflows.RevisionInput{Actor: applicant, Proposal: testProposal()})
	}
	decided := h.voteAll(models.RecommendRevise)
	res := h.runToEnd()
	if want := (workflows.ApplicationResult{Status: models.StatusRejected}); res != want {
		t.Errorf("result = %+v, want %+v", res, want)
	}
	var kinds []string
	for _, k := range h.ledger.kinds() {
		if k != "review_submitted" {
			kinds = append(kinds, k)
		}
	}
	want := []string{"submitted", "eligibility_passed", "revision_requested", "revised", "revision_requested", "revised", "rejected"}
	if !slices.Equal(kinds, want) {
		t.Errorf("event kinds without votes = %v, want %v", kinds, want)
	}
	h.wantEvent("rejected", models.StatusInReview, models.StatusRejected, system, decided)
	if st := h.ledger.last(); st.RevisionRound != 2 || st.Decision == nil || st.Decision.Round != 2 {
		t.Errorf("revision round = %d, decision = %+v, want round 2 rejected", st.RevisionRound, st.Decision)
	}
}

func TestRevisionDeadlineRejects(t *testing.T) {
	h := newHarness(t)
	decided := h.voteAll(models.RecommendRevise)
	res := h.runToEnd()
	if want := (workflows.ApplicationResult{Status: models.StatusRejected}); res != want {
		t.Errorf("result = %+v, want %+v", res, want)
	}
	h.wantEvent("revision_deadline_passed", models.StatusRevisionRequested, models.StatusRejected, system, decided.Add(14*day))
	if d := h.ledger.last().Deadlines; d != (models.Deadlines{}) {
		t.Errorf("deadlines = %+v, want none running", d)
	}
}

func TestReviewReminderEscalationAndExtension(t *testing.T) {
	h := newHarness(t)
	h.wait(21 * day) // the next step runs an hour after the escalation
	h.inspect(func(st models.ApplicationState) {
		if !st.Reminders.ReviewReminded || !st.Reminders.ReviewEscalated {
			t.Errorf("reminders = %+v, want review reminded and escalated", st.Reminders)
		}
		if !slices.ContainsFunc(st.Next, func(n models.Next) bool {
			return n.Action == "extend_review_deadline" && n.From == models.RoleAdmin
		}) {
			t.Errorf("next = %+v, want extend_review_deadline by admin", st.Next)
		}
	})
	extended := h.ok(workflows.UpdateExtendReview, workflows.ExtendInput{Actor: admin, Days: 7}, func(st models.ApplicationState) {
		if st.Reminders.ReviewReminded || st.Reminders.ReviewEscalated {
			t.Errorf("reminders after extension = %+v, want reset", st.Reminders)
		}
	})
	h.wait(7 * day)
	h.runAndStop()

	h.wantKinds("submitted", "eligibility_passed", "review_reminder", "review_escalated", "review_deadline_extended",
		"review_reminder", "review_escalated")
	var reminders, escalations []time.Time
	for _, e := range h.ledger.events() {
		switch e.Kind {
		case "review_reminder":
			reminders = append(reminders, e.At)
		case "review_escalated":
			escalations = append(escalations, e.At)
		}
		if e.Kind != "submitted" && e.Kind != "eligibility_passed" && e.To != models.StatusInReview {
			t.Errorf("event %s to = %s, want %s (timers do not move the stage)", e.Kind, e.To, models.StatusInReview)
		}
	}
	newDeadline := extended.Add(7 * day)
	wantReminders := []time.Time{start.Add(18 * day), newDeadline.Add(-3 * day)}
	wantEscalations := []time.Time{start.Add(21 * day), newDeadline}
	if !slices.EqualFunc(reminders, wantReminders, time.Time.Equal) {
		t.Errorf("review reminders at %v, want %v", reminders, wantReminders)
	}
	if !slices.EqualFunc(escalations, wantEscalations, time.Time.Equal) {
		t.Errorf("review escalations at %v, want %v", escalations, wantEscalations)
	}
	e := h.event("review_deadline_extended")
	if e.Actor != admin || !e.At.Equal(extended) {
		t.Errorf("extension event = %+v, want by admin at %s", e, extended)
	}
}

func TestAcceptanceActivates(t *testing.T) {
	h := newHarness(t)
	h.voteAll(models.RecommendApprove)
	accepted := h.ok(workflows.UpdateAcceptAgreement, workflows.ActionInput{Actor: partner}, func(st models.ApplicationState) {
		if st.Status != models.StatusActive {
			t.Errorf("status = %s, want %s", st.Status, models.StatusActive)
		}
		if len(st.Votes) != 0 || len(st.Conflicts) != 0 {
			t.Errorf("answer to the applicant shows %d votes and %d conflicts, want none", len(st.Votes), len(st.Conflicts))
		}
	})
	h.runAndStop()

	h.wantEvent("agreement_accepted", models.StatusApproved, models.StatusActive, partner, accepted)
	st := h.ledger.last()
	wantTranches(t, st.Tranches,
		tr(t1, tranche1, models.TrancheDue), tr(t2, tranche2, models.TrancheScheduled), tr(t3, tranche3, models.TrancheScheduled))
	if sum := st.Tranches[0].AmountCents + st.Tranches[1].AmountCents + st.Tranches[2].AmountCents; sum != requested {
		t.Errorf("tranches add up to %d, want the grant %d", sum, requested)
	}
	wantTime(t, "tranche 1 due at", st.Tranches[0].DueAt, accepted)
	if st.Deadlines.Acceptance != nil {
		t.Errorf("acceptance deadline = %s, want stopped", st.Deadlines.Acceptance)
	}
	wantTime(t, "interim report deadline", st.Deadlines.InterimReport, accepted.Add(180*day))
	wantTime(t, "final report deadline", st.Deadlines.FinalReport, finalReportDue)
	if len(h.ledger.payments) != 0 {
		t.Errorf("RecordPayment calls = %+v, want none before finance confirms", h.ledger.payments)
	}
}

func TestAcceptanceReminderAndLapse(t *testing.T) {
	h := newHarness(t)
	decided := h.voteAll(models.RecommendApprove)
	res := h.runToEnd()
	if want := (workflows.ApplicationResult{Status: models.StatusLapsed, GrantedCents: requested}); res != want {
		t.Errorf("result = %+v, want %+v", res, want)
	}
	h.wantKinds("submitted", "eligibility_passed", "review_submitted", "review_submitted", "review_submitted",
		"approved", "acceptance_reminder", "lapsed")
	h.wantEvent("acceptance_reminder", "", models.StatusApproved, system, decided.Add(23*day))
	lapsed := decided.Add(30 * day)
	h.wantEvent("lapsed", models.StatusApproved, models.StatusLapsed, system, lapsed)
	want := []models.ReleaseInput{{ProgrammeID: progID, ApplicationID: appID, Key: "lapse", All: true, At: lapsed}}
	assert.Equal(t, want, h.ledger.releases, "ReleaseBudget calls")
	st := h.ledger.last()
	wantTranches(t, st.Tranches,
		tr(t1, tranche1, models.TrancheCancelled), tr(t2, tranche2, models.TrancheCancelled), tr(t3, tranche3, models.TrancheCancelled))
	if h.ledger.reserved != 0 || h.ledger.available != fund {
		t.Errorf("ledger reserved %d available %d, want 0 and %d", h.ledger.reserved, h.ledger.available, fund)
	}
}

// TestFullLifecycleWithSettlement pays tranches 1 and 2, accepts a final
// report whose actual costs are below plan and pays the reduced tranche 3.
func TestFullLifecycleWithSettlement(t *testing.T) {
	h := newHarness(t)
	h.voteAll(models.RecommendApprove)
	h.accept()
	approved := h.ok(workflows.UpdateApproveDisbursement, workflows.DisbursementInput{Actor: finance1, TrancheID: t1},
		func(st models.ApplicationState) {
			if got := st.Tranches[0]; got.Status != models.TrancheApproved || got.ApprovedBy != finance1.UserID {
				t.Errorf("tranche 1 = %s approved by %q, want approved by %s", got.Status, got.ApprovedBy, finance1.UserID)
			}
		})
	paid1 := h.ok(workflows.UpdateConfirmPayment, workflows.DisbursementInput{Actor: finance2, TrancheID: t1, BankReference: "  SEPA-0001 "},
		func(st models.ApplicationState) {
			got := st.Tranches[0]
			if got.Status != models.TranchePaid || got.PaidBy != finance2.UserID || got.BankReference != "SEPA-0001" || got.Attempts != 1 {
				t.Errorf("tranche 1 = %+v, want paid by %s, reference SEPA-0001, attempt 1", got, finance2.UserID)
			}
			if st.PaidCents != tranche1 {
				t.Errorf("paid = %d, want %d", st.PaidCents, tranche1)
			}
		})
	h.submitReport(models.ReportInterim, "interim-1", 30_000_00)
	interimAccepted := h.assess("interim-1", "accept")
	h.inspect(func(st models.ApplicationState) {
		wantTranches(t, st.Tranches,
			tr(t1, tranche1, models.TranchePaid), tr(t2, tranche2, models.TrancheDue), tr(t3, tranche3, models.TrancheScheduled))
		if st.Deadlines.InterimReport != nil {
			t.Errorf("interim report deadline = %s, want stopped", st.Deadlines.InterimReport)
		}
	})
	paid2 := h.pay(t2)
	// Actual costs 54,000.00 EUR: the grant becomes 27,000.00 EUR.
	h.submitReport(models.ReportFinal, "final-1", 54_000_00)
	settled := h.assess("final-1", "accept")
	wantSettlement := models.Settlement{GrantCents: 27_000_00, FinalTrancheCents: 3_000_00, RepaymentCents: 0, ReleasedCents: 3_000_01}
	h.inspect(func(st models.ApplicationState) {
		if st.Settlement == nil || *st.Settlement != wantSettlement {
			t.Errorf("settlement = %+v, want %+v", st.Settlement, wantSettlement)
		}
		wantTranches(t, st.Tranches,
			tr(t1, tranche1, models.TranchePaid), tr(t2, tranche2, models.TranchePaid), tr(t3, 3_000_00, models.TrancheDue))
		if st.Status != models.StatusActive {
			t.Errorf("status before tranche 3 is paid = %s, want %s", st.Status, models.StatusActive)
		}
	})
	paid3 := h.pay(t3)
	res := h.runToEnd()

	if want := (workflows.ApplicationResult{Status: models.StatusClosed, GrantedCents: requested, PaidCents: 27_000_00}); res != want {
		t.Errorf("result = %+v, want %+v", res, want)
	}
	h.wantKinds("submitted", "eligibility_passed", "review_submitted", "review_submitted", "review_submitted", "approved",
		"agreement_accepted",
		"disbursement_approved", "payment_confirmed",
		"interim_report_submitted", "interim_report_accepted",
		"disbursement_approved", "payment_confirmed",
		"final_report_submitted", "final_report_accepted",
		"disbursement_approved", "payment_confirmed", "closed")
	h.wantEvent("closed", models.StatusActive, models.StatusClosed, system, paid3)
	wantPayments := []models.PaymentInput{
		{ProgrammeID: progID, ApplicationID: appID, TrancheID: t1, Attempt: 1, AmountCents: tranche1, At: paid1},
		{ProgrammeID: progID, ApplicationID: appID, TrancheID: t2, Attempt: 1, AmountCents: tranche2, At: paid2},
		{ProgrammeID: progID, ApplicationID: appID, TrancheID: t3, Attempt: 1, AmountCents: 3_000_00, At: paid3},
	}
	assert.Equal(t, wantPayments, h.ledger.payments, "RecordPayment calls")
	wantReleases := []models.ReleaseInput{{ProgrammeID: progID, ApplicationID: appID, Key: "settlement", AmountCents: 3_000_01, At: settled}}
	assert.Equal(t, wantReleases, h.ledger.releases, "ReleaseBudget calls")
	if h.ledger.reserved != 0 || h.ledger.paid != 27_000_00 {
		t.Errorf("ledger reserved %d paid %d, want 0 and %d", h.ledger.reserved, h.ledger.paid, 27_000_00)
	}
	st := h.ledger.last()
	if st.Deadlines != (models.Deadlines{}) {
		t.Errorf("deadlines = %+v, want none running", st.Deadlines)
	}
	wantTime(t, "tranche 1 approved at", st.Tranches[0].ApprovedAt, approved)
	wantTime(t, "tranche 2 due at", st.Tranches[1].DueAt, interimAccepted)
	wantTime(t, "tranche 3 due at", st.Tranches[2].DueAt, settled)
	for _, r := range st.Reports {
		if r.Status != models.ReportAccepted || r.AssessedBy != reviewer1.UserID {
			t.Errorf("report %s = %s assessed by %q, want accepted by %s", r.ID, r.Status, r.AssessedBy, reviewer1.UserID)
		}
	}
}

func TestPaymentFailureAndRetry(t *testing.T) {
	h := newHarness(t)
	h.toActive(false, false)
	// A payment stopped before it went out: back to due, nothing to reverse.
	h.ok(workflows.UpdateApproveDisbursement, workflows.DisbursementInput{Actor: finance1, TrancheID: t1})
	h.ok(workflows.UpdateRecordFailure, workflows.DisbursementInput{Actor: finance1, TrancheID: t1, Reason: "wrong BIC"},
		func(st models.ApplicationState) {
			wantTranches(t, st.Tranches[:1], models.Tranche{ID: t1, AmountCents: tranche1, Status: models.TrancheDue, Failures: 1})
		})
	paid1 := h.pay(t1)
	// The bank returns the payment: the ledger reverses attempt 1.
	returned := h.ok(workflows.UpdateRecordFailure, workflows.DisbursementInput{Actor: finance2, TrancheID: t1, Reason: "account closed"},
		func(st models.ApplicationState) {
			got := st.Tranches[0]
			wantTranches(t, st.Tranches[:1], models.Tranche{ID: t1, AmountCents: tranche1, Status: models.TrancheDue, Attempts: 1, Failures: 2})
			if got.ApprovedBy != "" || got.PaidBy != "" || got.BankReference != "" || got.PaidAt != nil {
				t.Errorf("returned tranche keeps approval or payment: %+v", got)
			}
			if st.PaidCents != 0 {
				t.Errorf("paid after the return = %d, want 0", st.PaidCents)
			}
		})
	// Paid again, the eyes the other way round.
	h.ok(workflows.UpdateApproveDisbursement, workflows.DisbursementInput{Actor: finance2, TrancheID: t1})
	paid2 := h.ok(workflows.UpdateConfirmPayment, workflows.DisbursementInput{Actor: finance1, TrancheID: t1, BankReference: "SEPA-0002"},
		func(st models.ApplicationState) {
			wantTranches(t, st.Tranches[:1], models.Tranche{ID: t1, AmountCents: tranche1, Status: models.TranchePaid, Attempts: 2, Failures: 2})
			if st.PaidCents != tranche1 {
				t.Errorf("paid = %d, want %d", st.PaidCents, tranche1)
			}
		})
	h.runAndStop()

	want := []models.PaymentInput{
		{ProgrammeID: progID, ApplicationID: appID, TrancheID: t1, Attempt: 1, AmountCents: tranche1, At: paid1},
		{ProgrammeID: progID, ApplicationID: appID, TrancheID: t1, Attempt: 1, AmountCents: tranche1, Reverse: true, At: returned},
		{ProgrammeID: progID, ApplicationID: appID, TrancheID: t1, Attempt: 2, AmountCents: tranche1, At: paid2},
	}
	assert.Equal(t, want, h.ledger.payments, "RecordPayment calls")
	if h.ledger.paid != tranche1 {
		t.Errorf("ledger paid = %d, want %d", h.ledger.paid, tranche1)
	}
	var failures int
	for _, e := range h.ledger.events() {
		if e.Kind == "payment_failed" {
			failures++
			if e.To != models.StatusActive || e.From != "" {
				t.Errorf("payment_failed = %q→%q, want no change of stage", e.From, e.To)
			}
		}
	}
	if failures != 2 {
		t.Errorf("payment_failed events = %d, want 2", failures)
	}
}

func TestSettlementWithRepayment(t *testing.T) {
	h := newHarness(t)
	h.toActive(true, true)
	// Actual costs 40,000.00 EUR: the grant becomes 20,000.00 EUR, but
	// 24,000.00 EUR have been paid.
	h.submitReport(models.ReportFinal, "final-1", 40_000_00)
	settled := h.assess("final-1", "accept")
	// Still active while money is owed: the demand is due in 30 days.
	h.inspect(func(st models.ApplicationState) {
		d := st.Demand
		if st.Status != models.StatusActive || d == nil || d.PrincipalCents != 4_000_00 || d.Status != models.DemandOpen ||
			!d.DueAt.Equal(settled.Add(30*day)) || d.Reason != "settlement" {
			t.Errorf("after settlement: status %s demand %+v, want active and 4,000.00 EUR due in 30 days", st.Status, d)
		}
		if !slices.ContainsFunc(st.Next, func(n models.Next) bool { return n.Action == "repay" && n.From == models.RoleApplicant }) {
			t.Errorf("next = %+v, want the group to repay", st.Next)
		}
	})
	// Paid back in two parts, before the due date (no interest).
	h.reject(workflows.UpdateRecordRepayment, workflows.RepaymentActionInput{Actor: finance1, BankReference: "BACK-0",
		AmountCents: 4_000_01, ReceivedOn: settled}, models.CodeInvalid, "amount_cents")
	h.reject(workflows.UpdateRecordRepayment, workflows.RepaymentActionInput{Actor: applicant, BankReference: "BACK-0",
		AmountCents: 1, ReceivedOn: settled}, models.CodeForbidden)
	first := h.ok(workflows.UpdateRecordRepayment, workflows.RepaymentActionInput{Actor: finance1, BankReference: "BACK-1",
		AmountCents: 1_500_00, ReceivedOn: settled.Add(day)}, func(st models.ApplicationState) {
		if st.Status != models.StatusActive || st.Demand.Outstanding() != 2_500_00 {
			t.Errorf("after a part payment: %s, outstanding %d", st.Status, st.Demand.Outstanding())
		}
	})
	// The same receipt again is booked once (also retried another day
	// without naming the date); with another amount it is refused.
	h.ok(workflows.UpdateRecordRepayment, workflows.RepaymentActionInput{Actor: finance2, BankReference: "BACK-1",
		AmountCents: 1_500_00, ReceivedOn: settled.Add(day), DateGiven: true})
	h.ok(workflows.UpdateRecordRepayment, workflows.RepaymentActionInput{Actor: finance2, BankReference: "BACK-1",
		AmountCents: 1_500_00, ReceivedOn: settled.Add(2 * day)})
	// Settled: no cancellation (it would demand everything anew), no bank
	// return of a tranche the settlement counted as paid.
	h.reject(workflows.UpdateCancel, workflows.ActionInput{Actor: admin, Reason: "after the fact"}, models.CodeConflict)
	h.reject(workflows.UpdateRecordFailure, workflows.DisbursementInput{Actor: finance1, TrancheID: t1, Reason: "returned"}, models.CodeConflict)
	h.reject(workflows.UpdateRecordRepayment, workflows.RepaymentActionInput{Actor: finance2, BankReference: "BACK-1",
		AmountCents: 1_400_00, ReceivedOn: settled.Add(day)}, models.CodeConflict)
	h.reject(workflows.UpdateRecordRepayment, workflows.RepaymentActionInput{Actor: finance2, BankReference: "BACK-1",
		AmountCents: 1_500_00, ReceivedOn: settled.Add(3 * day), DateGiven: true}, models.CodeConflict)
	repaid := h.ok(workflows.UpdateRecordRepayment, workflows.RepaymentActionInput{Actor: finance2, BankReference: "BACK-2",
		AmountCents: 2_500_00, ReceivedOn: settled.Add(2 * day)})
	res := h.runToEnd()

	want := workflows.ApplicationResult{Status: models.StatusClosed, GrantedCents: requested, PaidCents: 24_000_00, RepaymentCents: 4_000_00}
	if res != want {
		t.Errorf("result = %+v, want %+v", res, want)
	}
	st := h.ledger.last()
	wantSettlement := models.Settlement{GrantCents: 20_000_00, FinalTrancheCents: 0, RepaymentCents: 4_000_00, ReleasedCents: 6_000_01}
	if st.Settlement == nil || *st.Settlement != wantSettlement {
		t.Errorf("settlement = %+v, want %+v", st.Settlement, wantSettlement)
	}
	if st.RepaymentCents != 4_000_00 {
		t.Errorf("repayment = %d, want %d", st.RepaymentCents, 4_000_00)
	}
	wantTranches(t, st.Tranches,
		tr(t1, tranche1, models.TranchePaid), tr(t2, tranche2, models.TranchePaid), tr(t3, 0, models.TrancheCancelled))
	kinds := h.ledger.kinds()
	if tail := kinds[len(kinds)-7:]; !slices.Equal(tail, []string{"final_report_submitted", "final_report_accepted",
		"repayment_demanded", "repayment_received", "repayment_received", "repayment_settled", "closed"}) {
		t.Errorf("last events = %v, want final report submitted, accepted, repayment demanded, received twice, settled, closed", tail)
	}
	h.wantEvent("closed", models.StatusActive, models.StatusClosed, system, repaid)
	wantRepayments := []models.RepaymentInput{
		{ProgrammeID: progID, ApplicationID: appID, BankReference: "BACK-1", AmountCents: 1_500_00, At: first},
		{ProgrammeID: progID, ApplicationID: appID, BankReference: "BACK-2", AmountCents: 2_500_00, At: repaid},
	}
	assert.Equal(t, wantRepayments, h.ledger.repayments, "repayments booked")
	if h.ledger.paid != 20_000_00 {
		t.Errorf("ledger paid = %d, want the final grant 20,000.00 EUR", h.ledger.paid)
	}
	wantReleases := []models.ReleaseInput{{ProgrammeID: progID, ApplicationID: appID, Key: "settlement", AmountCents: 6_000_01, At: settled}}
	assert.Equal(t, wantReleases, h.ledger.releases, "ReleaseBudget calls")
	if len(h.ledger.payments) != 2 {
		t.Errorf("RecordPayment calls = %d, want 2 (tranche 3 is never paid)", len(h.ledger.payments))
	}
	if h.ledger.reserved != 0 {
		t.Errorf("ledger reserved = %d, want 0", h.ledger.reserved)
	}
}

// TestRepaymentOverdueWithInterest: a demand not paid by its due date is
// reminded before it, overdue at it and dunned every 30 days after it;
// interest runs from the due date on what is outstanding, and a payment
// settles interest first. The application closes once nothing is owed.
func TestRepaymentOverdueWithInterest(t *testing.T) {
	h := newHarness(t, func(in *workflows.ApplicationInput, _ *fakeLedger) {
		in.Rules.RepaymentDue = 14 * day
		in.Rules.RepaymentInterestBasisPoints = 500
	})
	h.toActive(true, true)
	h.submitReport(models.ReportFinal, "final-1", 40_000_00) // 4,000.00 EUR to pay back
	settled := h.assess("final-1", "accept")
	due := settled.Add(14 * day)
	h.wait(14*day + 73*day)
	// 73 days late: 4,000.00 × 5 % × 73/365 = 40.00 EUR interest.
	late := due.Add(73 * day)
	h.reject(workflows.UpdateRecordRepayment, workflows.RepaymentActionInput{Actor: finance1, BankReference: "BACK-1",
		AmountCents: 4_040_01, ReceivedOn: late}, models.CodeInvalid, "amount_cents")
	first := h.ok(workflows.UpdateRecordRepayment, workflows.RepaymentActionInput{Actor: finance1, BankReference: "BACK-1",
		AmountCents: 2_040_00, ReceivedOn: late}, func(st models.ApplicationState) {
		d := st.Demand
		if d.Status != models.DemandOverdue || d.InterestPaidCents != 40_00 || d.Outstanding() != 2_000_00 || d.Dunnings != 2 {
			t.Errorf("after the first payment: %+v", d)
		}
	})
	// Another 73 days: 20.00 EUR on the 2,000.00 EUR left.
	h.wait(73 * day)
	later := late.Add(73 * day)
	h.reject(workflows.UpdateRecordRepayment, workflows.RepaymentActionInput{Actor: finance1, BankReference: "BACK-2",
		AmountCents: 1, ReceivedOn: late.Add(-day)}, models.CodeInvalid, "received_on")
	last := h.ok(workflows.UpdateRecordRepayment, workflows.RepaymentActionInput{Actor: finance2, BankReference: "BACK-2",
		AmountCents: 2_020_00, ReceivedOn: later})
	res := h.runToEnd()

	if res.Status != models.StatusClosed {
		t.Errorf("status = %s, want closed", res.Status)
	}
	want := []models.RepaymentInput{
		{ProgrammeID: progID, ApplicationID: appID, BankReference: "BACK-1", AmountCents: 2_000_00, InterestCents: 40_00, At: first},
		{ProgrammeID: progID, ApplicationID: appID, BankReference: "BACK-2", AmountCents: 2_000_00, InterestCents: 20_00, At: last},
	}
	assert.Equal(t, want, h.ledger.repayments, "repayments booked")
	h.wantEvent("repayment_reminder", "", models.StatusActive, system, due.Add(-testRules().ReportReminder))
	h.wantEvent("repayment_overdue", "", models.StatusActive, system, due)
	var dunned []time.Time
	for _, e := range h.ledger.events() {
		if e.Kind == "repayment_dunning" {
			dunned = append(dunned, e.At)
		}
	}
	if wantDun := []time.Time{due.Add(30 * day), due.Add(60 * day), due.Add(90 * day), due.Add(120 * day)}; !slices.EqualFunc(dunned, wantDun, time.Time.Equal) {
		t.Errorf("dunned at %v, want %v", dunned, wantDun)
	}
	h.wantEvent("closed", models.StatusActive, models.StatusClosed, system, last)
}

func TestWithdrawBeforePayment(t *testing.T) {
	tests := []struct {
		name        string
		available   int64
		stage       func(h *harness)
		from        models.Status
		granted     int64
		wantTranche models.TrancheStatus // of tranche 1; "" for no tranches
	}{
		{"in review", fund, func(h *harness) { h.vote(reviewer1, models.RecommendApprove) }, models.StatusInReview, 0, ""},
		{"revision requested", fund, func(h *harness) { h.voteAll(models.RecommendRevise) }, models.StatusRevisionRequested, 0, ""},
		{"waitlisted", requested - 1, func(h *harness) { h.voteAll(models.RecommendApprove) }, models.StatusWaitlisted, requested, models.TrancheCancelled},
		{"approved", fund, func(h *harness) { h.voteAll(models.RecommendApprove) }, models.StatusApproved, requested, models.TrancheCancelled},
		{"active, payment returned", fund, func(h *harness) {
			h.toActive(true, false)
			h.ok(workflows.UpdateRecordFailure, workflows.DisbursementInput{Actor: finance1, TrancheID: t1, Reason: "returned"})
		}, models.StatusActive, requested, models.TrancheCancelled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, func(_ *workflows.ApplicationInput, l *fakeLedger) { l.available = tt.available })
			tt.stage(h)
			withdrawn := h.ok(workflows.UpdateWithdraw, workflows.ActionInput{Actor: partner, Reason: "partner left"})
			res := h.runToEnd()

			if want := (workflows.ApplicationResult{Status: models.StatusWithdrawn, GrantedCents: tt.granted}); res != want {
				t.Errorf("result = %+v, want %+v", res, want)
			}
			h.wantEvent("withdrawn", tt.from, models.StatusWithdrawn, partner, withdrawn)
			want := []models.ReleaseInput{{ProgrammeID: progID, ApplicationID: appID, Key: "withdrawal", All: true, At: withdrawn}}
			assert.Equal(t, want, h.ledger.releases, "ReleaseBudget calls")
			st := h.ledger.last()
			if st.Reason != "partner left" || st.Deadlines != (models.Deadlines{}) {
				t.Errorf("reason %q deadlines %+v, want the reason and no deadline running", st.Reason, st.Deadlines)
			}
			for _, tranche := range st.Tranches {
				if tranche.Status != tt.wantTranche {
					t.Errorf("tranche %d = %s, want %s", tranche.Number, tranche.Status, tt.wantTranche)
				}
			}
			if tt.wantTranche == "" && len(st.Tranches) != 0 {
				t.Errorf("tranches = %+v, want none", st.Tranches)
			}
			if h.ledger.reserved != 0 || h.ledger.available != tt.available {
				t.Errorf("ledger reserved %d available %d, want 0 and %d", h.ledger.reserved, h.ledger.available, tt.available)
			}
		})
	}
}

// TestReleasePromotesWaitlisted: the budget a withdrawal releases goes to a
// waitlisted application; the write of the withdrawal (the API's, under
// "caller-writes") learns which, to tell it, and the workflow's own flush
// of the same release promotes nobody twice.
func TestReleasePromotesWaitlisted(t *testing.T) {
	h := newHarness(t, func(_ *workflows.ApplicationInput, l *fakeLedger) { l.promote = []string{"app-2"} })
	h.voteAll(models.RecommendApprove)
	h.ok(workflows.UpdateWithdraw, workflows.ActionInput{Actor: applicant})
	res := h.runToEnd()
	if res.Status != models.StatusWithdrawn {
		t.Errorf("status = %s, want %s", res.Status, models.StatusWithdrawn)
	}
	if want := []string{"app-2"}; !slices.Equal(h.ledger.told, want) {
		t.Errorf("applications the write promoted = %v, want %v", h.ledger.told, want)
	}
	if n := len(h.ledger.releases); n != 1 {
		t.Errorf("releases booked = %d, want 1 (the API's write and the flush book it once)", n)
	}
}

func TestCancelByAdmin(t *testing.T) {
	tests := []struct {
		name  string
		stage func(h *harness)
		from  models.Status
		want  workflows.ApplicationResult
		// tranches after the cancellation
		tranches []models.Tranche
		// after the cancellation, before the run ends
		after func(h *harness, cancelled time.Time)
	}{
		{"in review", func(h *harness) {}, models.StatusInReview,
			workflows.ApplicationResult{Status: models.StatusCancelled}, nil, nil},
		{"active with tranche 1 paid", func(h *harness) { h.toActive(true, false) }, models.StatusActive,
			workflows.ApplicationResult{Status: models.StatusCancelled, GrantedCents: requested, PaidCents: tranche1, RepaymentCents: tranche1},
			[]models.Tranche{tr(t1, tranche1, models.TranchePaid), tr(t2, tranche2, models.TrancheCancelled), tr(t3, tranche3, models.TrancheCancelled)},
			// The run goes on, cancelled, until the money paid is back.
			func(h *harness, cancelled time.Time) {
				h.inspect(func(st models.ApplicationState) {
					if st.Status != models.StatusCancelled || st.Demand == nil || st.Demand.PrincipalCents != tranche1 || st.Demand.Reason != "cancellation" {
						t.Errorf("after cancellation: %s demand %+v", st.Status, st.Demand)
					}
				})
				h.reject(workflows.UpdateWithdraw, workflows.ActionInput{Actor: applicant}, models.CodeConflict)
				h.ok(workflows.UpdateRecordRepayment, workflows.RepaymentActionInput{Actor: finance1, BankReference: "BACK",
					AmountCents: tranche1, ReceivedOn: cancelled})
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			tt.stage(h)
			cancelled := h.ok(workflows.UpdateCancel, workflows.ActionInput{Actor: admin, Reason: "funds misused"})
			if tt.after != nil {
				tt.after(h, cancelled)
			}
			res := h.runToEnd()
			if res != tt.want {
				t.Errorf("result = %+v, want %+v", res, tt.want)
			}
			h.wantEvent("cancelled", tt.from, models.StatusCancelled, admin, cancelled)
			st := h.ledger.last()
			if st.RepaymentCents != tt.want.RepaymentCents || st.Reason != "funds misused" {
				t.Errorf("repayment %d reason %q, want %d and the reason", st.RepaymentCents, st.Reason, tt.want.RepaymentCents)
			}
			if tt.tranches != nil {
				wantTranches(t, st.Tranches, tt.tranches...)
			}
			want := []models.ReleaseInput{{ProgrammeID: progID, ApplicationID: appID, Key: "cancellation", All: true, At: cancelled}}
			assert.Equal(t, want, h.ledger.releases, "ReleaseBudget calls")
			if h.ledger.reserved != 0 || h.ledger.paid != 0 {
				t.Errorf("ledger reserved %d paid %d, want 0 and 0 (paid back)", h.ledger.reserved, h.ledger.paid)
			}
		})
	}
}

func TestReportReminders(t *testing.T) {
	const (
		interimReminder = "interim_report_reminder"
		interimOverdue  = "interim_report_overdue"
		finalReminder   = "final_report_reminder"
		finalOverdue    = "final_report_overdue"
	)
	tests := []struct {
		name string
		// after acceptance, before the interim reminder
		act  func(h *harness)
		want []string
	}{
		{"no interim report", func(h *harness) {}, []string{interimReminder, interimOverdue, finalReminder, finalOverdue}},
		{"interim report submitted", func(h *harness) {
			h.submitReport(models.ReportInterim, "interim-1", 30_000_00)
		}, []string{finalReminder, finalOverdue}},
		{"interim report sent back for changes", func(h *harness) {
			h.submitReport(models.ReportInterim, "interim-1", 30_000_00)
			h.assess("interim-1", "revise")
		}, []string{interimReminder, interimOverdue, finalReminder, finalOverdue}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			h.voteAll(models.RecommendApprove)
			accepted := h.accept()
			h.wait(100 * day)
			tt.act(h)
			h.wait(finalReportDue.Sub(start.Add(h.offset)))
			h.runAndStop()

			wantAt := map[string]time.Time{
				interimReminder: accepted.Add(173 * day),
				interimOverdue:  accepted.Add(180 * day),
				finalReminder:   finalReportDue.Add(-7 * day),
				finalOverdue:    finalReportDue,
			}
			var got []string
			for _, e := range h.ledger.events() {
				when, isTimer := wantAt[e.Kind]
				if !isTimer {
					continue
				}
				got = append(got, e.Kind)
				if !e.At.Equal(when) || e.Actor != system || e.To != models.StatusActive || e.From != "" {
					t.Errorf("%s at %s by %s %q→%q, want at %s by system, stage active", e.Kind, e.At, e.Actor.UserID, e.From, e.To, when)
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("report timers = %v, want %v", got, tt.want)
			}
			st := h.ledger.last()
			if st.Status != models.StatusActive {
				t.Errorf("status = %s, want %s (an overdue report does not end the grant)", st.Status, models.StatusActive)
			}
		})
	}
}

func TestQueryRedaction(t *testing.T) {
	h := newHarness(t)
	h.ok(workflows.UpdateSubmitReview, workflows.ReviewInput{Actor: reviewer4, ConflictOfInterest: true})
	h.vote(reviewer1, models.RecommendApprove)
	h.vote(reviewer2, models.RecommendApprove)
	voters := func(st models.ApplicationState) []string {
		var out []string
		for _, v := range st.Votes {
			out = append(out, v.ReviewerID)
		}
		return out
	}
	check := func(when string, want map[models.Actor][]string, wantConflicts map[models.Actor]int) {
		h.step(func() {
			for _, viewer := range []models.Actor{reviewer1, reviewer2, reviewer3, reviewer4, applicant, finance1, admin} {
				st := h.state(viewer)
				if got := voters(st); !slices.Equal(got, want[viewer]) {
					t.Errorf("%s: %s %s sees votes of %v, want %v", when, viewer.Role, viewer.UserID, got, want[viewer])
				}
				if st.Votes == nil {
					t.Errorf("%s: %s %s sees votes null, want a list", when, viewer.Role, viewer.UserID)
				}
				if got := len(st.Conflicts); got != wantConflicts[viewer] {
					t.Errorf("%s: %s %s sees %d conflicts, want %d", when, viewer.Role, viewer.UserID, got, wantConflicts[viewer])
				}
				wantSummary := testProposal().Summary
				if viewer.Role == models.RoleFinance {
					wantSummary = ""
				}
				if st.Proposal.Summary != wantSummary {
					t.Errorf("%s: %s sees summary %q, want %q", when, viewer.Role, st.Proposal.Summary, wantSummary)
				}
			}
		})
	}
	r1, r2, r3 := reviewer1.UserID, reviewer2.UserID, reviewer3.UserID
	check("before the decision", map[models.Actor][]string{
		reviewer1: {r1}, reviewer2: {r2}, admin: {r1, r2},
	}, map[models.Actor]int{admin: 1})
	h.vote(reviewer3, models.RecommendApprove)
	all := []string{r1, r2, r3}
	check("after the decision", map[models.Actor][]string{
		reviewer1: all, reviewer2: all, reviewer3: all, reviewer4: all, admin: all,
	}, map[models.Actor]int{admin: 1})
	h.runAndStop()
	if got := len(h.ledger.last().Votes); got != 3 {
		t.Errorf("projected votes = %d, want all 3 (the projection is not redacted)", got)
	}
}

func TestValidatorRejections(t *testing.T) {
	inReview := func(h *harness) {}
	voted := func(h *harness) { h.vote(reviewer1, models.RecommendApprove) }
	conflicted := func(h *harness) {
		h.ok(workflows.UpdateSubmitReview, workflows.ReviewInput{Actor: reviewer4, ConflictOfInterest: true})
	}
	revision := func(h *harness) { h.voteAll(models.RecommendRevise) }
	approved := func(h *harness) { h.voteAll(models.RecommendApprove) }
	active := func(h *harness) { h.toActive(false, false) }
	t1Approved := func(h *harness) {
		active(h)
		h.ok(workflows.UpdateApproveDisbursement, workflows.DisbursementInput{Actor: finance1, TrancheID: t1})
	}
	t1Paid := func(h *harness) { h.toActive(true, false) }
	interimIn := func(h *harness) {
		t1Paid(h)
		h.submitReport(models.ReportInterim, "interim-1", 30_000_00)
	}
	finalIn := func(h *harness) {
		interimIn(h)
		h.assess("interim-1", "accept")
		h.submitReport(models.ReportFinal, "final-1", 60_000_00)
	}

	vote := func(a models.Actor) workflows.ReviewInput {
		return workflows.ReviewInput{Actor: a, Recommendation: models.RecommendApprove, Scores: scores(4)}
	}
	ineligible := testProposal()
	ineligible.TotalCostCents = 50_000_00
	badIBAN := testProposal()
	badIBAN.Payee.IBAN = "DE00370400440532013000"
	disburse := func(a models.Actor, id string) workflows.DisbursementInput {
		return workflows.DisbursementInput{Actor: a, TrancheID: id, BankReference: "SEPA-1"}
	}
	report := func(a models.Actor, kind models.ReportKind, narrative string) workflows.ReportInput {
		return workflows.ReportInput{Actor: a, ReportID: "r-" + string(kind), Kind: kind, Narrative: narrative, ActualCostsCents: 1}
	}
	assess := func(a models.Actor, id string) workflows.AssessInput {
		return workflows.AssessInput{Actor: a, ReportID: id, Decision: "accept"}
	}

	tests := []struct {
		name   string
		stage  func(h *harness)
		update string
		in     any
		code   string
		fields []string
	}{
		// review
		{"vote by an applicant", inReview, workflows.UpdateSubmitReview, vote(applicant), models.CodeForbidden, nil},
		{"vote by finance", inReview, workflows.UpdateSubmitReview, vote(finance1), models.CodeForbidden, nil},
		{"vote by an admin", inReview, workflows.UpdateSubmitReview, vote(admin), models.CodeForbidden, nil},
		{"vote by a reviewer of a company in the group", inReview, workflows.UpdateSubmitReview, vote(insider), models.CodeForbidden, nil},
		{"vote after declaring a conflict", conflicted, workflows.UpdateSubmitReview, vote(reviewer4), models.CodeForbidden, nil},
		{"conflict declared twice", conflicted, workflows.UpdateSubmitReview,
			workflows.ReviewInput{Actor: reviewer4, ConflictOfInterest: true}, models.CodeForbidden, nil},
		{"second vote by the same reviewer", voted, workflows.UpdateSubmitReview, vote(reviewer1), models.CodeConflict, nil},
		{"bad scores", inReview, workflows.UpdateSubmitReview, workflows.ReviewInput{
			Actor: reviewer1, Recommendation: models.RecommendApprove,
			Scores: map[string]int{"impact": 6, "partnership": 3, "originality": 4},
		}, models.CodeInvalid, []string{"scores.impact", "scores.feasibility", "scores.originality"}},
		{"no recommendation", inReview, workflows.UpdateSubmitReview,
			workflows.ReviewInput{Actor: reviewer1, Scores: scores(3)}, models.CodeInvalid, []string{"recommendation"}},
		{"vote after the decision", approved, workflows.UpdateSubmitReview, vote(reviewer4), models.CodeConflict, nil},
		{"extension by a reviewer", inReview, workflows.UpdateExtendReview,
			workflows.ExtendInput{Actor: reviewer1, Days: 7}, models.CodeForbidden, nil},
		{"extension by no days", inReview, workflows.UpdateExtendReview,
			workflows.ExtendInput{Actor: admin, Days: 0}, models.CodeInvalid, []string{"days"}},
		{"extension after the decision", approved, workflows.UpdateExtendReview,
			workflows.ExtendInput{Actor: admin, Days: 7}, models.CodeConflict, nil},
		// revision
		{"revision while in review", inReview, workflows.UpdateSubmitRevision,
			workflows.RevisionInput{Actor: applicant, Proposal: testProposal()}, models.CodeConflict, nil},
		{"revision by a company outside the group", revision, workflows.UpdateSubmitRevision,
			workflows.RevisionInput{Actor: outsider, Proposal: testProposal()}, models.CodeNotFound, nil},
		{"revision by a reviewer", revision, workflows.UpdateSubmitRevision,
			workflows.RevisionInput{Actor: reviewer1, Proposal: testProposal()}, models.CodeForbidden, nil},
		{"ineligible revision", revision, workflows.UpdateSubmitRevision,
			workflows.RevisionInput{Actor: applicant, Proposal: ineligible}, models.CodeInvalid, []string{"requested_cents"}},
		{"revision with a bad IBAN", revision, workflows.UpdateSubmitRevision,
			workflows.RevisionInput{Actor: applicant, Proposal: badIBAN}, models.CodeInvalid, []string{"payee.iban"}},
		// agreement
		{"acceptance before the decision", inReview, workflows.UpdateAcceptAgreement,
			workflows.ActionInput{Actor: applicant}, models.CodeConflict, nil},
		{"acceptance twice", active, workflows.UpdateAcceptAgreement,
			workflows.ActionInput{Actor: applicant}, models.CodeConflict, nil},
		{"acceptance by a non-member applicant", approved, workflows.UpdateAcceptAgreement,
			workflows.ActionInput{Actor: outsider}, models.CodeNotFound, nil},
		{"acceptance by a reviewer", approved, workflows.UpdateAcceptAgreement,
			workflows.ActionInput{Actor: reviewer1}, models.CodeForbidden, nil},
		// disbursement
		{"disbursement before acceptance", approved, workflows.UpdateApproveDisbursement,
			disburse(finance1, t1), models.CodeConflict, nil},
		{"disbursement approved by an applicant", active, workflows.UpdateApproveDisbursement,
			disburse(applicant, t1), models.CodeForbidden, nil},
		{"approval of a tranche not yet due", active, workflows.UpdateApproveDisbursement,
			disburse(finance1, t2), models.CodeConflict, nil},
		{"payment of a tranche not yet approved", active, workflows.UpdateConfirmPayment,
			disburse(finance2, t1), models.CodeConflict, nil},
		{"payment of a scheduled tranche", active, workflows.UpdateConfirmPayment,
			disburse(finance2, t3), models.CodeConflict, nil},
		{"payment of an unknown tranche", active, workflows.UpdateConfirmPayment,
			disburse(finance2, appID+"-9"), models.CodeNotFound, nil},
		{"payment confirmed by the approver", t1Approved, workflows.UpdateConfirmPayment,
			disburse(finance1, t1), models.CodeForbidden, nil},
		{"payment without a bank reference", t1Approved, workflows.UpdateConfirmPayment,
			workflows.DisbursementInput{Actor: finance2, TrancheID: t1, BankReference: "  "}, models.CodeInvalid, []string{"bank_reference"}},
		{"payment confirmed twice", t1Paid, workflows.UpdateConfirmPayment,
			disburse(finance1, t1), models.CodeConflict, nil},
		{"payment failure without a reason", t1Paid, workflows.UpdateRecordFailure,
			workflows.DisbursementInput{Actor: finance1, TrancheID: t1}, models.CodeInvalid, []string{"reason"}},
		{"payment failure of a due tranche", active, workflows.UpdateRecordFailure,
			workflows.DisbursementInput{Actor: finance1, TrancheID: t1, Reason: "returned"}, models.CodeConflict, nil},
		// withdrawal and cancellation
		{"withdrawal after a payment", t1Paid, workflows.UpdateWithdraw,
			workflows.ActionInput{Actor: applicant}, models.CodeConflict, nil},
		{"withdrawal while a payment is on its way", t1Approved, workflows.UpdateWithdraw,
			workflows.ActionInput{Actor: applicant}, models.CodeConflict, nil},
		{"cancel while a payment is on its way", t1Approved, workflows.UpdateCancel,
			workflows.ActionInput{Actor: admin, Reason: "project abandoned"}, models.CodeConflict, nil},
		{"withdrawal by a non-member", inReview, workflows.UpdateWithdraw,
			workflows.ActionInput{Actor: outsider}, models.CodeNotFound, nil},
		{"withdrawal by an admin", inReview, workflows.UpdateWithdraw,
			workflows.ActionInput{Actor: admin}, models.CodeForbidden, nil},
		{"cancel without a reason", t1Paid, workflows.UpdateCancel,
			workflows.ActionInput{Actor: admin}, models.CodeInvalid, []string{"reason"}},
		{"cancel by an applicant", inReview, workflows.UpdateCancel,
			workflows.ActionInput{Actor: applicant, Reason: "changed our minds"}, models.CodeForbidden, nil},
		// reports
		{"report before activation", approved, workflows.UpdateSubmitReport,
			report(applicant, models.ReportInterim, "done"), models.CodeConflict, nil},
		{"report by a non-member", active, workflows.UpdateSubmitReport,
			report(outsider, models.ReportInterim, "done"), models.CodeNotFound, nil},
		{"report without narrative", active, workflows.UpdateSubmitReport,
			report(applicant, models.ReportInterim, " "), models.CodeInvalid, []string{"narrative"}},
		{"report of an unknown kind", active, workflows.UpdateSubmitReport,
			report(applicant, "monthly", "done"), models.CodeInvalid, []string{"kind"}},
		{"final report before the interim report", active, workflows.UpdateSubmitReport,
			report(applicant, models.ReportFinal, "done"), models.CodeConflict, nil},
		{"final report before the interim is accepted", interimIn, workflows.UpdateSubmitReport,
			report(applicant, models.ReportFinal, "done"), models.CodeConflict, nil},
		{"second interim report awaiting assessment", interimIn, workflows.UpdateSubmitReport,
			report(applicant, models.ReportInterim, "again"), models.CodeConflict, nil},
		{"report id used before", interimIn, workflows.UpdateSubmitReport, workflows.ReportInput{
			Actor: applicant, ReportID: "interim-1", Kind: models.ReportFinal, Narrative: "done",
		}, models.CodeConflict, nil},
		{"assessment by an applicant", interimIn, workflows.UpdateAssessReport,
			assess(applicant, "interim-1"), models.CodeForbidden, nil},
		{"assessment by a reviewer of a company in the group", interimIn, workflows.UpdateAssessReport,
			assess(insider, "interim-1"), models.CodeForbidden, nil},
		{"assessment of an unknown report", interimIn, workflows.UpdateAssessReport,
			assess(reviewer1, "interim-9"), models.CodeNotFound, nil},
		{"assessment without a decision", interimIn, workflows.UpdateAssessReport,
			workflows.AssessInput{Actor: reviewer1, ReportID: "interim-1"}, models.CodeInvalid, []string{"decision"}},
		{"final report accepted with tranche 2 unpaid", finalIn, workflows.UpdateAssessReport,
			assess(admin, "final-1"), models.CodeConflict, nil},
		{"assessment by a reviewer who declared a conflict", func(h *harness) {
			conflicted(h)
			interimIn(h)
		}, workflows.UpdateAssessReport, assess(reviewer4, "interim-1"), models.CodeForbidden, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			tt.stage(h)
			h.reject(tt.update, tt.in, tt.code, tt.fields...)
			h.runAndStop()
		})
	}
}

func TestNextSteps(t *testing.T) {
	type next struct {
		action string
		from   models.Role
		by     time.Time // zero: no date
	}
	format := func(ns []next) string {
		var out []string
		for _, n := range ns {
			s := n.action + " by " + string(n.from)
			if !n.by.IsZero() {
				s += " before " + n.by.Format(time.RFC3339)
			}
			out = append(out, s)
		}
		return fmt.Sprintf("%q", out)
	}
	tests := []struct {
		name  string
		stage func(h *harness) time.Time // returns the time of the deadline set by the stage, if any
		want  func(deadline time.Time) []next
	}{
		{"in review", func(h *harness) time.Time { return start.Add(21 * day) }, func(d time.Time) []next {
			return []next{{"review", models.RoleReviewer, d}}
		}},
		{"revision requested", func(h *harness) time.Time { return h.voteAll(models.RecommendRevise).Add(14 * day) }, func(d time.Time) []next {
			return []next{{"submit_revision", models.RoleApplicant, d}}
		}},
		{"approved", func(h *harness) time.Time { return h.voteAll(models.RecommendApprove).Add(30 * day) }, func(d time.Time) []next {
			return []next{{"accept_agreement", models.RoleApplicant, d}}
		}},
		{"active, tranche 1 due", func(h *harness) time.Time {
			h.voteAll(models.RecommendApprove)
			return h.accept().Add(180 * day)
		}, func(d time.Time) []next {
			return []next{{"approve_disbursement", models.RoleFinance, time.Time{}}, {"submit_interim_report", models.RoleApplicant, d}}
		}},
		{"active, tranche 1 approved", func(h *harness) time.Time {
			h.voteAll(models.RecommendApprove)
			d := h.accept().Add(180 * day)
			h.ok(workflows.UpdateApproveDisbursement, workflows.DisbursementInput{Actor: finance1, TrancheID: t1})
			return d
		}, func(d time.Time) []next {
			return []next{{"confirm_payment", models.RoleFinance, time.Time{}}, {"submit_interim_report", models.RoleApplicant, d}}
		}},
		{"active, interim report awaiting assessment", func(h *harness) time.Time {
			h.toActive(true, false)
			h.submitReport(models.ReportInterim, "interim-1", 1)
			return time.Time{}
		}, func(time.Time) []next {
			// Not the final report: it cannot be submitted before the interim one is accepted.
			return []next{{"assess_interim_report", models.RoleReviewer, time.Time{}}}
		}},
		{"active, interim report accepted", func(h *harness) time.Time {
			h.toActive(true, true)
			return finalReportDue
		}, func(d time.Time) []next {
			return []next{{"submit_final_report", models.RoleApplicant, d}}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			deadline := tt.stage(h)
			h.inspect(func(st models.ApplicationState) {
				var got []next
				for _, n := range st.Next {
					var by time.Time
					if n.By != nil {
						by = *n.By
					}
					got = append(got, next{n.Action, n.From, by})
				}
				if want := tt.want(deadline); !slices.EqualFunc(got, want, func(a, b next) bool {
					return a.action == b.action && a.from == b.from && a.by.Equal(b.by)
				}) {
					t.Errorf("next = %s, want %s", format(got), format(want))
				}
			})
			h.runAndStop()
		})
	}
}

// TestRefusedWriteChangesNothing: the deciding vote's write is refused (a
// data error, not retried). The voter gets the error, the workflow's state is
// as before the vote (two votes, in review), the reservation the vote made is
// given back; the same vote sent again goes through.
func TestRefusedWriteChangesNothing(t *testing.T) {
	refusing := true
	h := newHarness(t, func(_ *workflows.ApplicationInput, l *fakeLedger) {
		l.failApply = func(in models.ApplyInput) bool {
			for _, e := range in.Events {
				if e.Kind == "approved" && refusing {
					return true
				}
			}
			return false
		}
	})
	h.vote(reviewer1, models.RecommendApprove)
	h.vote(reviewer2, models.RecommendApprove)
	var before models.ApplicationState
	h.inspect(func(st models.ApplicationState) { before = st })
	// The vote is durable; the API's write of it is refused.
	var seq int64
	h.sent++
	h.step(func() {
		in := written(workflows.ReviewInput{Actor: reviewer3, Recommendation: models.RecommendApprove, Scores: scores(5)}, h.ledger)
		h.env.UpdateWorkflow(workflows.UpdateSubmitReview, "refused-vote", &testsuite.TestUpdateCallback{
			OnAccept: func() {},
			OnReject: func(err error) { h.answered++; t.Errorf("vote rejected by the validator: %v", err) },
			OnComplete: func(res any, err error) {
				h.answered++
				if err != nil {
					t.Errorf("vote failed: %v, want its writes handed back", err)
					return
				}
				_, werr := h.ledger.answer(res, in)
				var appErr *temporal.ApplicationError
				if !errors.As(werr, &appErr) || appErr.Type() != "DataError" {
					t.Errorf("write of the refused vote = %v, want the DataError", werr)
				}
				if r, ok := res.(workflows.ActionResult); ok && r.Write != nil {
					seq = r.Write.State.Seq
				}
			},
		}, in)
	})
	// The API has the workflow put it back, before the workflow's own flush.
	h.sent++
	h.stepAfter(time.Second, func() {
		h.env.UpdateWorkflow(workflows.UpdateRevertUnwritten, "revert-refused-vote", &testsuite.TestUpdateCallback{
			OnAccept: func() {},
			OnReject: func(err error) { h.answered++; t.Errorf("revert rejected: %v", err) },
			OnComplete: func(_ any, err error) {
				h.answered++
				if err != nil {
					t.Errorf("revert failed: %v", err)
				}
			},
		}, workflows.RevertInput{Actor: reviewer3, Seq: seq, WrittenSeq: h.ledger.writtenSeq(), Reason: "refused by the database"})
	})
	h.inspect(func(models.ApplicationState) { refusing = false })
	h.inspect(func(st models.ApplicationState) {
		if st.Status != models.StatusInReview || len(st.Votes) != 2 || st.Seq != before.Seq {
			t.Errorf("after the refused vote: %s, %d votes, seq %d; want in_review, 2 votes, seq %d as before", st.Status, len(st.Votes), st.Seq, before.Seq)
		}
		if h.ledger.reserved != 0 {
			t.Errorf("reserved after the refused vote = %d, want 0 (given back)", h.ledger.reserved)
		}
	})
	h.vote(reviewer3, models.RecommendApprove)
	h.inspect(func(st models.ApplicationState) {
		if st.Status != models.StatusApproved || h.ledger.reserved != requested {
			t.Errorf("after the vote sent again: %s, reserved %d; want approved, %d", st.Status, h.ledger.reserved, requested)
		}
	})
	h.runAndStop()
	var reverted bool
	for _, r := range h.ledger.releases {
		if strings.HasPrefix(r.Key, "revert-") && r.All {
			reverted = true
		}
	}
	if !reverted {
		t.Errorf("releases = %+v, want the refused action's reservation given back", h.ledger.releases)
	}
}

// TestPromotionSignalIsOnlyAHint: a promotion signal the ledger does not back
// (anyone reaching Temporal could send one) leaves the application on the
// waitlist, its next check planned.
func TestPromotionSignalIsOnlyAHint(t *testing.T) {
	h := newHarness(t, func(_ *workflows.ApplicationInput, l *fakeLedger) { l.available = requested - 1 })
	h.voteAll(models.RecommendApprove)
	signalled := h.stepAfter(12*time.Hour, func() {
		h.env.SignalWorkflow(workflows.SignalPromoted, models.PromotedSignal{AmountCents: requested})
	})
	h.inspect(func(st models.ApplicationState) {
		if st.Status != models.StatusWaitlisted {
			t.Errorf("status after an unbacked promotion signal = %s, want waitlisted", st.Status)
		}
		wantTime(t, "next waitlist check", st.Deadlines.WaitlistCheck, signalled.Add(24*time.Hour))
	})
	h.runAndStop()
	if h.ledger.reserved != 0 {
		t.Errorf("reserved = %d, want 0", h.ledger.reserved)
	}
}

// testClaim is the state-aid claim of approving testProposal: the grant
// split evenly between its two members, with the prior aid they declared.
func testClaim() *models.StateAidClaim {
	return &models.StateAidClaim{CeilingCents: models.DeMinimisCeilingCents, Shares: []models.AidShare{
		{Member: 0, Name: "Buchhandlung Meier", PriorCents: 0, AmountCents: 15_000_01},
		{Member: 1, Name: "Bäckerei Schmidt", PriorCents: 100_000_00, AmountCents: 15_000_00},
	}}
}

// TestGrantOverTheStateAidCeilingIsNotMade: the board approves, but the
// register says another grant of this fund took the member over its
// de-minimis ceiling meanwhile: the application ends ineligible, with the
// register's reason, and nothing is reserved or planned.
func TestGrantOverTheStateAidCeilingIsNotMade(t *testing.T) {
	over := models.FieldError{Field: "group.members[1].prior_de_minimis_cents",
		Message: "Bäckerei Schmidt: prior de-minimis aid … exceeds the ceiling"}
	h := newHarness(t, func(_ *workflows.ApplicationInput, l *fakeLedger) {
		l.stateAid = func(c models.StateAidClaim) []models.FieldError {
			if c.Shares[1].PriorCents+c.Shares[1].AmountCents+190_000_00 > c.CeilingCents {
				return []models.FieldError{over}
			}
			return nil
		}
	})
	decided := h.voteAll(models.RecommendApprove)
	if res := h.runToEnd(); res != (workflows.ApplicationResult{Status: models.StatusIneligible}) {
		t.Errorf("result = %+v, want ineligible with nothing granted", res)
	}
	h.wantKinds("submitted", "eligibility_passed", "review_submitted", "review_submitted", "review_submitted", "state_aid_exceeded")
	h.wantEvent("state_aid_exceeded", models.StatusInReview, models.StatusIneligible, system, decided)
	st := h.ledger.last()
	if st.GrantedCents != 0 || len(st.Tranches) != 0 {
		t.Errorf("granted %d with %d tranches, want nothing granted", st.GrantedCents, len(st.Tranches))
	}
	if len(st.Ineligibility) != 1 || st.Ineligibility[0] != over {
		t.Errorf("ineligibility = %+v, want the register's %+v", st.Ineligibility, over)
	}
	if h.ledger.reserved != 0 {
		t.Errorf("reserved %d, want 0", h.ledger.reserved)
	}
	assert.Equal(t, []models.ReserveInput{{ProgrammeID: progID, ApplicationID: appID, AmountCents: requested, At: decided,
		StateAid: testClaim()}}, h.ledger.reserves, "ReserveBudget calls")
}

// TestSettlementOnRecognisedCosts: a final report gives its costs by
// category; the assessment recognises less of one, with a reason; the
// settlement uses what was recognised.
func TestSettlementOnRecognisedCosts(t *testing.T) {
	h := newHarness(t, func(in *workflows.ApplicationInput, _ *fakeLedger) {
		in.Proposal.CostPlan = []models.CostLine{
			{Category: models.CostPersonnel, AmountCents: 30_000_02}, {Category: models.CostMaterial, AmountCents: 20_000_00},
			{Category: models.CostTravel, AmountCents: 10_000_00}}
	})
	h.toActive(true, true)
	costs := []models.CostLine{{Category: models.CostPersonnel, AmountCents: 30_000_00}, {Category: models.CostMaterial, AmountCents: 10_000_00}}
	h.reject(workflows.UpdateSubmitReport, workflows.ReportInput{Actor: partner, ReportID: "final-0", Kind: models.ReportFinal,
		Narrative: "done", ActualCostsCents: 40_000_01, Costs: costs}, models.CodeInvalid, "costs")
	h.ok(workflows.UpdateSubmitReport, workflows.ReportInput{Actor: partner, ReportID: "final-1", Kind: models.ReportFinal,
		Narrative: "done", ActualCostsCents: 40_000_00, Costs: costs})
	assess := func(rc ...models.RecognisedCost) workflows.AssessInput {
		return workflows.AssessInput{Actor: reviewer1, ReportID: "final-1", Decision: "accept", Recognised: rc}
	}
	h.reject(workflows.UpdateAssessReport, assess(models.RecognisedCost{Category: models.CostMaterial, AmountCents: 6_000_00}),
		models.CodeInvalid, "recognised[0].reason")
	h.reject(workflows.UpdateAssessReport, assess(models.RecognisedCost{Category: models.CostMaterial, AmountCents: 10_000_01, Reason: "x"}),
		models.CodeInvalid, "recognised[0].amount_cents")
	h.reject(workflows.UpdateAssessReport, assess(models.RecognisedCost{Category: models.CostTravel, AmountCents: 0, Reason: "x"}),
		models.CodeInvalid, "recognised[0].category")
	h.ok(workflows.UpdateAssessReport, assess(models.RecognisedCost{Category: models.CostMaterial, AmountCents: 6_000_00, Reason: "invoice missing"}),
		func(st models.ApplicationState) {
			r := st.Reports[len(st.Reports)-1]
			if r.RecognisedCostsCents != 36_000_00 || len(r.Recognised) != 1 || r.Recognised[0].Reason != "invoice missing" {
				t.Errorf("report after assessment: %+v", r)
			}
			// 50 % of 36,000.00 = 18,000.00 granted; 24,000.00 paid: 6,000.00 back.
			want := models.Settlement{GrantCents: 18_000_00, FinalTrancheCents: 0, RepaymentCents: 6_000_00, ReleasedCents: 6_000_01}
			if st.Settlement == nil || *st.Settlement != want {
				t.Errorf("settlement = %+v, want %+v", st.Settlement, want)
			}
			if st.Demand == nil || st.Demand.PrincipalCents != 6_000_00 {
				t.Errorf("demand = %+v, want 6,000.00 EUR", st.Demand)
			}
		})
	h.runAndStop()
}

// TestPayeeAmendmentWaitsForPaymentInFlight: another account cannot be
// approved while a tranche is approved for payment to the old one.
func TestPayeeAmendmentWaitsForPaymentInFlight(t *testing.T) {
	h := newHarness(t)
	h.toActive(false, false)
	h.ok(workflows.UpdateApproveDisbursement, workflows.DisbursementInput{Actor: finance1, TrancheID: t1})
	payee := models.Payee{Name: "Buchhandlung Meier", IBAN: "DE02120300000000202051"}
	h.ok(workflows.UpdateRequestAmendment, workflows.AmendmentInput{Actor: partner, AmendmentID: "amd-1", Reason: "new bank", Payee: &payee})
	h.reject(workflows.UpdateDecideAmendment, workflows.AmendmentDecisionInput{Actor: admin, AmendmentID: "amd-1", Approve: true}, models.CodeConflict)
	h.ok(workflows.UpdateConfirmPayment, workflows.DisbursementInput{Actor: finance2, TrancheID: t1, BankReference: "REF-1"})
	h.ok(workflows.UpdateDecideAmendment, workflows.AmendmentDecisionInput{Actor: admin, AmendmentID: "amd-1", Approve: true},
		func(st models.ApplicationState) {
			if st.Proposal.Payee.IBAN != payee.IBAN || st.Amendments[0].Payee.From.IBAN != "DE89370400440532013000" {
				t.Errorf("after approval: payee %+v, amendment %+v", st.Proposal.Payee, st.Amendments[0])
			}
		})
	h.reject(workflows.UpdateRequestAmendment, workflows.AmendmentInput{Actor: outsider, AmendmentID: "amd-2", Reason: "x", Payee: &payee}, models.CodeNotFound)
	h.runAndStop()
}

// TestSubmissionHandsBackItsWrites: the update sent with the start is
// answered at once with the submission's writes for the API to make (in
// review, or ineligible), as an action's are; the workflow's own flush
// writes them too, a moment later, in case the API could not.
func TestSubmissionHandsBackItsWrites(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(*workflows.ApplicationInput, *fakeLedger)
		want   []string
	}{
		{"in review", func(*workflows.ApplicationInput, *fakeLedger) {}, []string{"submitted", "eligibility_passed"}},
		{"ineligible", func(in *workflows.ApplicationInput, _ *fakeLedger) { in.Proposal.TotalCostCents = 50_000_00 },
			[]string{"submitted", "eligibility_failed"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, tc.change)
			var got *models.ApplyInput
			var answeredAt time.Time
			h.env.RegisterDelayedCallback(func() {
				h.env.UpdateWorkflow(workflows.UpdateAwaitSubmission, "submission", &testsuite.TestUpdateCallback{
					OnAccept: func() {},
					OnReject: func(err error) { t.Errorf("rejected: %v", err) },
					OnComplete: func(v any, err error) {
						if err != nil {
							t.Errorf("await-submission failed: %v", err)
							return
						}
						got, answeredAt = v.(workflows.ActionResult).Write, h.env.Now()
					},
				}, workflows.ActionInput{Actor: applicant})
			}, 0)
			h.stepAfter(time.Hour, h.env.CancelWorkflow)
			h.env.ExecuteWorkflow(workflows.Application, h.in)
			if got == nil {
				t.Fatal("the submission was not answered with its writes")
			}
			if d := answeredAt.Sub(start); d > time.Second {
				t.Errorf("answered %v after the start, want at once", d)
			}
			var kinds []string
			for _, e := range got.Events {
				kinds = append(kinds, e.Kind)
			}
			if !slices.Equal(kinds, tc.want) || got.State.Seq != 2 {
				t.Errorf("handed back %v at seq %d, want %v at 2", kinds, got.State.Seq, tc.want)
			}
			// Written by the flush as well (nobody confirmed the API's write).
			h.wantKinds(tc.want...)
		})
	}
}

// TestRefusedSubmissionEndsTheRun: a submission whose writes nobody made
// (the API could not) and whose write the workflow's flush finds refused
// ends its run failed at once, with nothing written.
func TestRefusedSubmissionEndsTheRun(t *testing.T) {
	h := newHarness(t, func(_ *workflows.ApplicationInput, l *fakeLedger) {
		l.failApply = func(in models.ApplyInput) bool { return len(in.Events) > 0 && in.Events[0].Kind == "submitted" }
	})
	h.env.ExecuteWorkflow(workflows.Application, h.in)
	err := h.env.GetWorkflowError()
	if err == nil || !strings.Contains(err.Error(), "its write was refused") {
		t.Fatalf("run ended with %v, want it failed for the refused submission", err)
	}
	if d := h.env.Now().Sub(start); d > time.Minute {
		t.Errorf("failed %v after the start, want right after the flush", d)
	}
	if n := len(h.ledger.events()); n != 0 {
		t.Errorf("%d events written, want none", n)
	}
}
