package activities_test

import (
	"context"
	"errors"
	"net/http"
	"sync/atomic"
	"testing"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/worker"

	"reallabor/activities"
	"reallabor/internal/apptest"
	"reallabor/internal/store"
	"reallabor/models"
	"reallabor/workflows"
)

// TestRetriedPaymentPaysOnce: the write of the payment action commits, then
// its answer is lost (the call fails as a dropped connection would). The
// write is made again (by the API, which tries again, and by the workflow's
// own flush); the ledger applies the payment exactly once.
func TestRetriedPaymentPaysOnce(t *testing.T) {
	var calls atomic.Int32
	lossy := func(write func(context.Context, models.ApplyInput) (models.ApplyResult, error)) func(context.Context, models.ApplyInput) (models.ApplyResult, error) {
		return func(ctx context.Context, in models.ApplyInput) (models.ApplyResult, error) {
			res, err := write(ctx, in)
			if err != nil || len(in.Payments) == 0 {
				return res, err
			}
			if calls.Add(1) == 1 {
				return res, errors.New("connection reset by peer (after commit)")
			}
			return res, nil
		}
	}
	app := apptest.StartWith(t, apptest.Options{
		Apply: func(st *store.Store) func(context.Context, models.ApplyInput) (models.ApplyResult, error) {
			return lossy(st.Apply)
		},
		Register: func(st *store.Store, w worker.Worker) {
			l := &activities.Ledger{Store: st}
			w.RegisterActivityWithOptions(l.ReserveBudget, activity.RegisterOptions{Name: workflows.ActivityReserveBudget})
			w.RegisterActivityWithOptions(lossy(l.Apply), activity.RegisterOptions{Name: workflows.ActivityApply})
		}})
	prog := app.CreateProgramme(t, 10_000_000, map[string]any{"reviewers_required": 1})
	applicant := app.CreateUser(t, "Anna", "applicant", "Cafe Mitte")
	reviewer := app.CreateUser(t, "Rita", "reviewer", "Stadtwerke")
	fin1 := app.CreateUser(t, "Fritz", "finance", "Stadtkasse")
	fin2 := app.CreateUser(t, "Frieda", "finance", "Stadtkasse")
	var st models.ApplicationState
	app.Must(t, http.StatusCreated, "POST", "/api/v1/applications", applicant, apptest.Proposal(prog, "Cafe Mitte", 1_000_000)).JSON(t, &st)
	app.Must(t, 200, "POST", "/api/v1/applications/"+st.ID+"/reviews", reviewer,
		map[string]any{"recommendation": "approve", "scores": apptest.Scores(5)})
	app.Must(t, 200, "POST", "/api/v1/applications/"+st.ID+"/acceptance", applicant, nil).JSON(t, &st)
	tr := st.Tranches[0]
	app.Must(t, 200, "POST", "/api/v1/disbursements/"+tr.ID+"/approval", fin1, nil)
	app.Must(t, 200, "POST", "/api/v1/disbursements/"+tr.ID+"/payment", fin2, map[string]any{"bank_reference": "B-1"})

	if c := calls.Load(); c < 2 {
		t.Fatalf("payment write ran %d times, want a retry (≥ 2 runs)", c)
	}
	var l struct {
		Paid     int64 `json:"paid_cents"`
		Reserved int64 `json:"reserved_cents"`
	}
	app.Must(t, 200, "GET", "/api/v1/programmes/"+prog+"/ledger", fin1, nil).JSON(t, &l)
	if l.Paid != tr.AmountCents || l.Reserved != 1_000_000-tr.AmountCents {
		t.Fatalf("ledger paid=%d reserved=%d, want %d paid once", l.Paid, l.Reserved, tr.AmountCents)
	}
}
