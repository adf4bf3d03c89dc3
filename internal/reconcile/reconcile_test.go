package reconcile_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"reallabor/internal/apptest"
	"reallabor/internal/reconcile"
)

// TestCheckFindsWhatDiffers: a lifecycle's books agree with its workflow;
// then the database is changed behind the workflow's back, each way the issue
// saw it happen (a phantom payment, a phantom audit event, a tranche shown
// approved that its workflow holds due, counters off the journal), and the
// check names each difference with the application and the amounts.
func TestCheckFindsWhatDiffers(t *testing.T) {
	app := apptest.Start(t)
	prog := app.CreateProgramme(t, 10_000_000, map[string]any{"reviewers_required": 1})
	applicant := app.CreateUser(t, "Anna", "applicant", "Cafe Mitte")
	reviewer := app.CreateUser(t, "Rita", "reviewer", "Stadtwerke")
	var st struct {
		ID       string
		Tranches []struct{ ID string }
	}
	app.Must(t, http.StatusCreated, "POST", "/api/v1/applications", applicant, apptest.Proposal(prog, "Cafe Mitte", 1_000_000)).JSON(t, &st)
	app.Must(t, 200, "POST", "/api/v1/applications/"+st.ID+"/reviews", reviewer, map[string]any{"recommendation": "approve", "scores": apptest.Scores(5)})
	app.Must(t, 200, "POST", "/api/v1/applications/"+st.ID+"/acceptance", applicant, nil).JSON(t, &st)

	check := &reconcile.Checker{Store: app.Store, Temporal: app.Temporal, Keys: app.Keys}
	ctx := context.Background()
	rep, err := check.Check(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Differences) != 0 || rep.Applications != 1 || rep.Programmes != 1 {
		t.Fatalf("check of exact books = %+v, want 1 programme, 1 application, no difference", rep)
	}

	db := app.Store.DB
	for _, q := range []string{
		// A payment the workflow never recorded: journal, counters and row.
		`INSERT INTO ledger_entries (id, programme_id, application_id, kind, amount_cents, at) VALUES ('phantom:pay', '` + prog + `', '` + st.ID + `', 'pay', 400000, now())`,
		`UPDATE programmes SET reserved_cents = reserved_cents - 400000, paid_cents = paid_cents + 400000`,
		`UPDATE applications SET reserved_cents = reserved_cents - 400000, paid_cents = paid_cents + 400000`,
		// A tranche the list shows approved while its workflow holds it due.
		`UPDATE tranches SET status = 'approved' WHERE id = '` + st.Tranches[0].ID + `'`,
		// An audit event one longer than the workflow's.
		`INSERT INTO events (application_id, seq, kind, at) SELECT id, seq + 1, 'review_submitted', now() FROM applications`,
	} {
		if err := db.Exec(q).Error; err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	rep, err = check.Check(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range rep.Differences {
		if d.ProgrammeID != prog {
			t.Errorf("difference %v names programme %s, want %s", d, d.ProgrammeID, prog)
		}
		got = append(got, d.String())
	}
	all := strings.Join(got, "\n")
	for _, want := range []string{
		"application " + st.ID + ": paid_cents: want 0, database has 400000",
		"application " + st.ID + ": reserved_cents: want 1000000, database has 600000",
		"tranche " + st.Tranches[0].ID + " status: want due, database has approved",
		"application " + st.ID + ": audit events: want 5, database has 6",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("check found:\n%s\nwant a line with %q", all, want)
		}
	}
	// The counters moved with the phantom entry, so they agree with the
	// journal; a counter moved alone does not.
	if err := db.Exec(`UPDATE programmes SET released_cents = released_cents + 1`).Error; err != nil {
		t.Fatal(err)
	}
	rep, _ = check.Check(ctx)
	found := false
	for _, d := range rep.Differences {
		if d.ApplicationID == "" && d.What == "released_cents (journal)" && d.Want == "0" && d.Got == "1" {
			found = true
		}
	}
	if !found {
		t.Errorf("check after moving released_cents alone = %v, want the programme's released_cents against its journal", rep.Differences)
	}
}
