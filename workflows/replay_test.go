package workflows_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"reallabor/workflows"
)

// Complete lifecycles recorded by every code version, and the paths recorded
// since "durable-effects" (clocks, side paths, export and return).
var (
	everyVersion = []string{"cancellation", "happy_path", "rejection", "revision_loop", "settlement_repayment", "waitlist_promotion", "withdrawal"}
	sinceDurable = []string{"clocks_extension_lapse", "revision_deadline", "conflict_failure_return_report_revision_cancellation",
		"export_return", "waitlist_check", "continued_as_new", "after_continue_as_new"}
	sinceRegistry      = []string{"invitation_accepted", "invitation_declined"}
	sinceNotifications = []string{"notifications"}
	sinceStateAid      = []string{"state_aid_exceeded", "call_submission"}
	sinceRepayment     = []string{"repayment_overdue"}
	sinceCostPlan      = []string{"cost_plan", "amendments", "drawdowns"}
	sinceCallerWrites  = []string{"refused_write", "partner_change"}
)

// TestReplayRecordedLifecycles replays the recorded histories against the
// current workflow code: a change to running logic that is not guarded by
// workflow.GetVersion fails here. Replay alone compares only the kinds of
// commands, so it also recomputes what the workflow hands its activities
// (every write: state, audit events, money moved, reservations) and what it
// ends with, and compares them with what the history recorded: a change to a
// money rule in models that would change an amount in a running application
// fails here too. Record them anew with
// `go test ./api/ -run 'TestLifecycle|TestExportIsAWorkflowState|TestClocksAndSidePaths|TestContinueAsNewOnTheServer|TestInvitations|TestHandOffsReachPeople|TestStateAidRegister|TestCallsWithinAProgramme|TestCostPlanThroughHTTP|TestAmendments|TestDrawdowns|TestRefusedWriteIsPutBack|TestPartnerChangeByAmendment' -record-histories`.
func TestReplayRecordedLifecycles(t *testing.T) {
	// testdata/*.json are recorded by the current code; testdata/v0/ by the
	// code before "interim-report-within-project", testdata/v1/ before
	// "waitlist-self-heal", testdata/v2/ before "durable-effects",
	// testdata/v3/ before "sealed-actions", testdata/v4/ before
	// "organisation-registry", testdata/v5/ before "steady-clock", testdata/v6/
	// before "written-checks", testdata/v7/ before "notifications",
	// testdata/v8/ before "state-aid-register", testdata/v9/ before
	// "repayment-demands", testdata/v10/ before "cost-plan", testdata/v11/ before version 2 of
	// "repayment-demands", testdata/v12/ before "caller-writes", testdata/v13/
	// before "compact-history": running workflows of every version must
	// replay.
	durable := append(append([]string{}, everyVersion...), sinceDurable...)
	registry := append(append([]string{}, durable...), sinceRegistry...)
	notifications := append(append([]string{}, registry...), sinceNotifications...)
	stateAid := append(append([]string{}, notifications...), sinceStateAid...)
	repayment := append(append([]string{}, stateAid...), sinceRepayment...)
	costPlan := append(append([]string{}, repayment...), sinceCostPlan...)
	callerWrites := append(append([]string{}, costPlan...), sinceCallerWrites...)
	var files []string
	for _, d := range []struct {
		dir  string
		want []string
	}{
		{"testdata", callerWrites},
		{"v0", everyVersion}, {"v1", everyVersion}, {"v2", everyVersion},
		{"v3", durable}, {"v4", durable},
		{"v5", registry}, {"v6", registry}, {"v7", registry},
		{"v8", notifications}, {"v9", stateAid}, {"v10", repayment}, {"v11", costPlan}, {"v12", costPlan},
		{"v13", callerWrites},
	} {
		dir, want := d.dir, d.want
		if dir != "testdata" {
			dir = filepath.Join("testdata", dir)
		}
		found, err := filepath.Glob(filepath.Join(dir, "*.json"))
		if err != nil {
			t.Fatal(err)
		}
		have := map[string]bool{}
		for _, f := range found {
			have[filepath.Base(f[:len(f)-len(".json")])] = true
		}
		for _, name := range want {
			if !have[name] {
				t.Errorf("%s/%s.json missing: every lifecycle and path must be recorded", dir, name)
			}
		}
		files = append(files, found...)
	}
	for _, f := range files {
		t.Run(f, func(t *testing.T) {
			hist, err := client.HistoryFromJSON(mustOpen(t, f), client.HistoryJSONOptions{})
			if err != nil {
				t.Fatalf("read %s: %v", f, err)
			}
			for _, msg := range replayAndRecompute(hist) {
				t.Error(msg)
			}
		})
	}
}

// TestRecomputeCatchesAChangedAmount: the recomputation notices when what the
// code computes differs from what a history recorded (here the history is
// changed instead of the code: a payment of one cent more).
func TestRecomputeCatchesAChangedAmount(t *testing.T) {
	hist, err := client.HistoryFromJSON(mustOpen(t, filepath.Join("testdata", "happy_path.json")), client.HistoryJSONOptions{})
	if err != nil {
		t.Fatal(err)
	}
	changed := false
	for _, ev := range hist.Events {
		// A payment is in an Apply activity's input, or (under
		// "caller-writes") in the writes an action's result hands back.
		var p *commonpb.Payload
		var in, write map[string]any
		if a := ev.GetActivityTaskScheduledEventAttributes(); a != nil && a.ActivityType.GetName() == workflows.ActivityApply {
			p = a.Input.Payloads[0]
		} else if u := ev.GetWorkflowExecutionUpdateCompletedEventAttributes(); u != nil && u.GetOutcome().GetSuccess() != nil {
			p = u.GetOutcome().GetSuccess().Payloads[0]
		}
		if p == nil || changed {
			continue
		}
		if err := json.Unmarshal(p.Data, &in); err != nil {
			t.Fatal(err)
		}
		write = in
		if w, ok := in["write"].(map[string]any); ok {
			write = w
		}
		if pays, ok := write["payments"].([]any); ok && len(pays) > 0 {
			pay := pays[0].(map[string]any)
			pay["amount_cents"] = pay["amount_cents"].(float64) + 1
			p.Data, _ = json.Marshal(in)
			changed = true
		}
	}
	if !changed {
		t.Fatal("happy_path.json has no payment to change")
	}
	msgs := replayAndRecompute(hist)
	if len(msgs) == 0 || !strings.Contains(strings.Join(msgs, "\n"), "amount_cents") {
		t.Fatalf("recompute of a history with a changed payment = %q, want a difference naming amount_cents", msgs)
	}
}

// replayAndRecompute replays hist and lists every way the current code
// disagrees with it.
func replayAndRecompute(hist *historypb.History) []string {
	rec := &recorder{}
	r, err := worker.NewWorkflowReplayerWithOptions(worker.WorkflowReplayerOptions{Interceptors: []interceptor.WorkerInterceptor{rec}})
	if err != nil {
		return []string{err.Error()}
	}
	r.RegisterWorkflowWithOptions(workflows.Application, workflow.RegisterOptions{Name: "Application"})
	if err := r.ReplayWorkflowHistory(nil, hist); err != nil {
		return []string{"replay: " + err.Error()}
	}
	var out []string
	dc := converter.GetDefaultDataConverter()
	i := 0
	for _, ev := range hist.Events {
		switch ev.EventType {
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
			a := ev.GetActivityTaskScheduledEventAttributes()
			if i >= len(rec.calls) {
				out = append(out, fmt.Sprintf("event %d: %s recorded, not called on replay", ev.EventId, a.ActivityType.GetName()))
				continue
			}
			c := rec.calls[i]
			i++
			if c.err != nil {
				out = append(out, c.err.Error())
				continue
			}
			if msg := samePayloads(a.Input, c.args); msg != "" {
				out = append(out, fmt.Sprintf("event %d (%s): the code now computes other input: %s", ev.EventId, a.ActivityType.GetName(), msg))
			}
		case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED:
			// Under "caller-writes" an action's writes are in its result.
			u := ev.GetWorkflowExecutionUpdateCompletedEventAttributes()
			want := u.GetOutcome().GetSuccess()
			if want == nil || !bytes.Contains(want.GetPayloads()[0].GetData(), []byte(`"write":`)) {
				continue
			}
			got, ok := rec.updates[u.GetMeta().GetUpdateId()]
			if !ok {
				out = append(out, fmt.Sprintf("event %d: update %s completed, not answered on replay", ev.EventId, u.GetMeta().GetUpdateId()))
				continue
			}
			if msg := samePayloads(want, got); msg != "" {
				out = append(out, fmt.Sprintf("event %d (update %s): the code now hands other writes back: %s", ev.EventId, u.GetMeta().GetUpdateId(), msg))
			}
		case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED:
			if !rec.done {
				continue
			}
			got, err := dc.ToPayloads(rec.result)
			if err != nil {
				out = append(out, err.Error())
				continue
			}
			if msg := samePayloads(ev.GetWorkflowExecutionCompletedEventAttributes().Result, got); msg != "" {
				out = append(out, "result: the code now ends otherwise: "+msg)
			}
		}
	}
	return out
}

// samePayloads compares two encoded argument lists as JSON values; it says
// where they differ, or "".
func samePayloads(want, got *commonpb.Payloads) string {
	w, g := want.GetPayloads(), got.GetPayloads()
	if len(w) != len(g) {
		return fmt.Sprintf("%d arguments recorded, %d now", len(w), len(g))
	}
	for k := range w {
		if bytes.Equal(w[k].Data, g[k].Data) {
			continue
		}
		var wv, gv any
		_ = json.Unmarshal(w[k].Data, &wv)
		_ = json.Unmarshal(g[k].Data, &gv)
		if d := jsonDiff("", wv, gv); d != "" {
			return d
		}
	}
	return ""
}

func jsonDiff(path string, w, g any) string {
	switch wv := w.(type) {
	case map[string]any:
		gv, ok := g.(map[string]any)
		if !ok {
			return fmt.Sprintf("%s: recorded %v, now %v", path, w, g)
		}
		for k := range wv {
			if d := jsonDiff(path+"."+k, wv[k], gv[k]); d != "" {
				return d
			}
		}
		for k := range gv {
			if _, ok := wv[k]; !ok {
				return fmt.Sprintf("%s.%s: not recorded, now %v", path, k, gv[k])
			}
		}
		return ""
	case []any:
		gv, ok := g.([]any)
		if !ok || len(gv) != len(wv) {
			return fmt.Sprintf("%s: recorded %v, now %v", path, w, g)
		}
		for k := range wv {
			if d := jsonDiff(fmt.Sprintf("%s[%d]", path, k), wv[k], gv[k]); d != "" {
				return d
			}
		}
		return ""
	}
	if fmt.Sprint(w) != fmt.Sprint(g) {
		return fmt.Sprintf("%s: recorded %v, now %v", path, w, g)
	}
	return ""
}

// recorder sees, during replay, every activity the workflow schedules and
// what it returns.
type recorder struct {
	interceptor.WorkerInterceptorBase
	calls  []call
	result any
	done   bool
	// updates: each update's result, encoded, by update id.
	updates map[string]*commonpb.Payloads
}

// call is an activity as scheduled; its arguments are encoded at once (the
// workflow goes on changing the state they share slices with).
type call struct {
	name string
	args *commonpb.Payloads
	err  error
}

func (r *recorder) InterceptWorkflow(ctx workflow.Context, next interceptor.WorkflowInboundInterceptor) interceptor.WorkflowInboundInterceptor {
	i := &inbound{root: r}
	i.Next = next
	return i
}

type inbound struct {
	interceptor.WorkflowInboundInterceptorBase
	root *recorder
}

func (i *inbound) Init(next interceptor.WorkflowOutboundInterceptor) error {
	o := &outbound{root: i.root}
	o.Next = next
	return i.Next.Init(o)
}

func (i *inbound) ExecuteUpdate(ctx workflow.Context, in *interceptor.UpdateInput) (any, error) {
	res, err := i.Next.ExecuteUpdate(ctx, in)
	if err == nil {
		if p, perr := converter.GetDefaultDataConverter().ToPayloads(res); perr == nil {
			if i.root.updates == nil {
				i.root.updates = map[string]*commonpb.Payloads{}
			}
			i.root.updates[workflow.GetCurrentUpdateInfo(ctx).ID] = p
		}
	}
	return res, err
}

func (i *inbound) ExecuteWorkflow(ctx workflow.Context, in *interceptor.ExecuteWorkflowInput) (any, error) {
	res, err := i.Next.ExecuteWorkflow(ctx, in)
	if err == nil {
		i.root.result, i.root.done = res, true
	}
	return res, err
}

type outbound struct {
	interceptor.WorkflowOutboundInterceptorBase
	root *recorder
}

func (o *outbound) ExecuteActivity(ctx workflow.Context, activityType string, args ...any) workflow.Future {
	p, err := converter.GetDefaultDataConverter().ToPayloads(args...)
	o.root.calls = append(o.root.calls, call{name: activityType, args: p, err: err})
	return o.Next.ExecuteActivity(ctx, activityType, args...)
}
