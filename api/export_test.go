package api_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"reallabor/models"
	"reallabor/workflows"
)

// TestExportIsAWorkflowState: a tranche in a payment file is exported in its
// workflow. It can then only be paid (bank reference) or returned by the bank
// (recorded by a finance user other than the exporter); it is never carried by
// a second file unless the first one was returned; withdrawal and
// cancellation wait; the approver cannot make the file (four eyes before the
// money leaves).
func TestExportIsAWorkflowState(t *testing.T) {
	f := newRig(t)
	app := f.app
	id := f.submit(t, f.proposal())
	f.activate(t, id)
	t1 := f.tranche(t, id, 1)
	f.approve(t, t1.ID, f.finance)
	export := "/api/v1/disbursements/export?format=csv&programme_id=" + f.prog

	app.Must(t, http.StatusNotFound, "GET", export, f.finance, nil) // the approver
	r := app.Must(t, http.StatusOK, "GET", export, f.finance2, nil)
	b1 := r.Header.Get("Export-Batch")
	if strings.Count(string(r.Body), "\n") != 2 {
		t.Fatalf("file %s = %q, want a header and the one tranche", b1, r.Body)
	}
	if got := f.tranche(t, id, 1); got.Status != "exported" {
		t.Fatalf("tranche after export = %s, want exported (in the list as in the workflow)", got.Status)
	}
	var view struct {
		Tranches []struct {
			Status      string `json:"status"`
			ExportBatch string `json:"export_batch"`
		} `json:"tranches"`
	}
	app.Must(t, 200, "GET", "/api/v1/applications/"+id, f.admin, nil).JSON(t, &view)
	if view.Tranches[0].Status != "exported" || view.Tranches[0].ExportBatch != b1 {
		t.Fatalf("workflow holds tranche 1 as %+v, want exported in %s", view.Tranches[0], b1)
	}
	// Nothing carries it again; no other action takes it meanwhile.
	app.Must(t, http.StatusNotFound, "GET", export, f.finance2, nil)
	app.Must(t, http.StatusNotFound, "GET", export, f.finance, nil)
	app.Must(t, http.StatusForbidden, "POST", "/api/v1/disbursements/"+t1.ID+"/failure", f.finance2, map[string]any{"reason": "returned"})
	app.Must(t, http.StatusConflict, "POST", "/api/v1/disbursements/"+t1.ID+"/approval", f.finance, nil)
	app.Must(t, http.StatusConflict, "POST", "/api/v1/applications/"+id+"/withdrawal", f.owner, map[string]any{"reason": "x"})
	app.Must(t, http.StatusConflict, "POST", "/api/v1/applications/"+id+"/cancellation", f.admin, map[string]any{"reason": "x"})

	// The bank returns it (account closed): a second finance user records it.
	app.Must(t, http.StatusOK, "POST", "/api/v1/disbursements/"+t1.ID+"/failure", f.finance, map[string]any{"reason": "AC04 account closed"})
	if got := f.tranche(t, id, 1); got.Status != "due" {
		t.Fatalf("tranche after the return = %s, want due", got.Status)
	}
	var trail struct {
		Items []struct{ Kind, Detail string } `json:"items"`
	}
	app.Must(t, 200, "GET", "/api/v1/applications/"+id+"/history", f.admin, nil).JSON(t, &trail)
	last := trail.Items[len(trail.Items)-1]
	if last.Kind != "payment_returned" || !strings.Contains(last.Detail, b1) || !strings.Contains(last.Detail, "AC04") {
		t.Fatalf("last event = %+v, want payment_returned naming %s and the bank's reason", last, b1)
	}
	// Approved anew, it goes into a second file; the first still lists it.
	f.approve(t, t1.ID, f.finance)
	r = app.Must(t, http.StatusOK, "GET", export, f.finance2, nil)
	b2 := r.Header.Get("Export-Batch")
	if b2 == b1 || b2 == "" {
		t.Fatalf("second file batch %q, want a new one (first %s)", b2, b1)
	}
	again := app.Must(t, http.StatusOK, "GET", export+"&batch="+b1, f.finance, nil)
	if strings.Count(string(again.Body), "\n") < 2 {
		t.Errorf("first file fetched again lost its line:\n%s", again.Body)
	}
	// Paid from the second file, with the bank's reference.
	f.pay(t, t1.ID, f.finance2, "BANK-B2-1")
	if got := f.tranche(t, id, 1); got.Status != "paid" {
		t.Fatalf("tranche after payment = %s, want paid", got.Status)
	}
	app.Must(t, http.StatusNotFound, "GET", export, f.finance2, nil)
	app.BooksExact(t)
	record(t, app, id, "export_return")
}

// TestInterruptedExportIsCompleted: an export request died after the
// workflows had marked its tranches exported and before it handed out the
// file. The next export (by a finance user other than the approver) hands out
// that file, lists it, and only then do new files follow.
func TestInterruptedExportIsCompleted(t *testing.T) {
	f := newRig(t)
	app := f.app
	id := f.submit(t, f.proposal())
	f.activate(t, id)
	t1 := f.tranche(t, id, 1)
	f.approve(t, t1.ID, f.finance)
	// What the dead request left: the workflow holds the tranche exported.
	in, err := workflows.Seal(app.Keys, id, workflows.UpdateMarkExported, workflows.DisbursementInput{
		Actor:     models.Actor{UserID: f.finance2.ID, Name: f.finance2.Name, Role: models.RoleFinance, Organisation: f.finance2.Organisation},
		TrancheID: t1.ID, BatchID: "RLINTERRUPTED"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	h, err := app.Temporal.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{WorkflowID: workflows.WorkflowID(id), UpdateID: "export:RLINTERRUPTED:" + t1.ID,
		UpdateName: workflows.UpdateMarkExported, Args: []any{in}, WaitForStage: client.WorkflowUpdateStageCompleted})
	if err == nil {
		err = h.Get(ctx, nil)
	}
	if err != nil {
		t.Fatal(err)
	}
	// The dead request never wrote what the workflow did; the workflow
	// writes it itself within seconds ("caller-writes").
	for wait := time.Now().Add(15 * time.Second); f.tranche(t, id, 1).Status != "exported"; {
		if time.Now().After(wait) {
			t.Fatalf("tranche marked exported by the workflow is %s in the database after 15 s", f.tranche(t, id, 1).Status)
		}
		time.Sleep(100 * time.Millisecond)
	}
	export := "/api/v1/disbursements/export?format=csv&programme_id=" + f.prog
	app.Must(t, http.StatusNotFound, "GET", export, f.finance, nil) // the approver is not handed the file
	r := app.Must(t, http.StatusOK, "GET", export, f.finance2, nil)
	if r.Header.Get("Export-Batch") != "RLINTERRUPTED" || r.Header.Get("Export-Resumed") != "true" || strings.Count(string(r.Body), "\n") != 2 {
		t.Fatalf("export after the interrupted one = batch %q resumed %q:\n%s; want the interrupted file with its tranche",
			r.Header.Get("Export-Batch"), r.Header.Get("Export-Resumed"), r.Body)
	}
	var list struct {
		Items []struct {
			BatchID string `json:"batch_id"`
		} `json:"items"`
	}
	app.Must(t, http.StatusOK, "GET", "/api/v1/disbursements/exports", f.finance, nil).JSON(t, &list)
	if len(list.Items) != 1 || list.Items[0].BatchID != "RLINTERRUPTED" {
		t.Fatalf("exports listed = %+v, want the completed RLINTERRUPTED", list.Items)
	}
	app.Must(t, http.StatusNotFound, "GET", export, f.finance2, nil)
	app.BooksExact(t)
}
