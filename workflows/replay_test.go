package workflows_test

import (
	"path/filepath"
	"testing"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"reallabor/workflows"
)

// TestReplayRecordedLifecycles replays the recorded histories of complete
// lifecycles against the current workflow code: a change to running logic
// that is not guarded by workflow.GetVersion fails here. Record them anew with
// `go test ./api/ -run 'TestLifecycle' -record-histories`.
func TestReplayRecordedLifecycles(t *testing.T) {
	// testdata/*.json are recorded by the current code; testdata/v0/ by the
	// code before "interim-report-within-project", testdata/v1/ before
	// "waitlist-self-heal", testdata/v2/ before "durable-effects": running
	// workflows of every version must replay.
	var files []string
	for _, dir := range []string{"testdata", filepath.Join("testdata", "v0"), filepath.Join("testdata", "v1"), filepath.Join("testdata", "v2")} {
		found, err := filepath.Glob(filepath.Join(dir, "*.json"))
		if err != nil {
			t.Fatal(err)
		}
		have := map[string]bool{}
		for _, f := range found {
			have[filepath.Base(f[:len(f)-len(".json")])] = true
		}
		for _, name := range []string{"cancellation", "happy_path", "rejection", "revision_loop", "settlement_repayment", "waitlist_promotion", "withdrawal"} {
			if !have[name] {
				t.Errorf("%s/%s.json missing: every complete lifecycle must be recorded", dir, name)
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
			r := worker.NewWorkflowReplayer()
			r.RegisterWorkflowWithOptions(workflows.Application, workflow.RegisterOptions{Name: "Application"})
			if err := r.ReplayWorkflowHistory(nil, hist); err != nil {
				t.Fatalf("replay %s: %v", f, err)
			}
		})
	}
}
