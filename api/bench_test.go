package api_test

import (
	"context"
	"net/http"
	"slices"
	"testing"
	"time"

	"reallabor/api"
	"reallabor/internal/apptest"
	"reallabor/internal/store/storetest"
	"reallabor/models"
)

// BenchmarkAPI measures, on the embedded Temporal server and the real
// PostgreSQL, what one submission (workflow start, eligibility, two
// projections), one action (an Update that projects before it answers), and
// one read of the live state (a Query) cost through HTTP. The query is the
// baseline: it touches the workflow but writes nothing.
//
//	go test ./api/ -run '^$' -bench BenchmarkAPI -benchtime 200x
func BenchmarkAPI(b *testing.B) {
	app := apptest.Start(b)
	prog := app.CreateProgramme(b, 1_000_000_000_00, map[string]any{"max_grant_cents": 1_000_000, "reviewers_required": 50})
	applicant := app.CreateUser(b, "Anna", "applicant", "Cafe Mitte")
	body := apptest.Proposal(prog, "Cafe Mitte", 100_000)
	var first struct{ ID string }
	app.Must(b, http.StatusCreated, "POST", "/api/v1/applications", applicant, body).JSON(b, &first)

	b.Run("query", func(b *testing.B) {
		for b.Loop() {
			app.Must(b, 200, "GET", "/api/v1/applications/"+first.ID, applicant, nil)
		}
	})
	b.Run("submit", func(b *testing.B) {
		for b.Loop() {
			app.Must(b, http.StatusCreated, "POST", "/api/v1/applications", applicant, body)
		}
	})
	b.Run("review-update", func(b *testing.B) {
		// Each vote is one Update on its own application (a reviewer votes once).
		ids := make([]string, b.N)
		for i := range ids {
			var st struct{ ID string }
			app.Must(b, http.StatusCreated, "POST", "/api/v1/applications", applicant, body).JSON(b, &st)
			ids[i] = st.ID
		}
		reviewer := app.CreateUser(b, "Rita", "reviewer", "Stadtwerke")
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			app.Must(b, 200, "POST", "/api/v1/applications/"+ids[i]+"/reviews", reviewer,
				map[string]any{"recommendation": "approve", "scores": apptest.Scores(4)})
		}
	})
}

// BenchmarkLifecycle measures one whole grant through HTTP, one client: a
// submission and fourteen actions (three votes, acceptance, three tranches
// approved and paid with four eyes, interim and final report each with its
// assessment), ending closed. Per action = the lifecycle's time / 15.
//
//	go test ./api/ -run '^$' -bench BenchmarkLifecycle -benchtime 30x
func BenchmarkLifecycle(b *testing.B) {
	app := apptest.Start(b)
	prog := app.CreateProgramme(b, 1_000_000_000_00, nil)
	applicant := app.CreateUser(b, "Anna", "applicant", "Cafe Mitte")
	var board []apptest.User
	for _, org := range []string{"Stadtwerke", "IHK", "Handwerkskammer"} {
		board = append(board, app.CreateUser(b, "Reviewer "+org, "reviewer", org))
	}
	fin1 := app.CreateUser(b, "Fritz", "finance", "Stadtkasse")
	fin2 := app.CreateUser(b, "Frieda", "finance", "Stadtkasse")
	body := apptest.Proposal(prog, "Cafe Mitte", 100_000)
	type state struct {
		ID       string
		Status   string
		Tranches []struct{ ID string }
	}
	pay := func(st state, i int) {
		app.Must(b, 200, "POST", "/api/v1/disbursements/"+st.Tranches[i].ID+"/approval", fin1, nil)
		app.Must(b, 200, "POST", "/api/v1/disbursements/"+st.Tranches[i].ID+"/payment", fin2,
			map[string]any{"bank_reference": "B-" + st.Tranches[i].ID})
	}
	report := func(st state, kind string) {
		var rep struct{ ID string }
		app.Must(b, http.StatusCreated, "POST", "/api/v1/applications/"+st.ID+"/reports", applicant,
			map[string]any{"kind": kind, "narrative": "done", "actual_costs_cents": 200_000}).JSON(b, &rep)
		app.Must(b, 200, "POST", "/api/v1/applications/"+st.ID+"/reports/"+rep.ID+"/assessment", board[0],
			map[string]any{"decision": "accept"})
	}
	for b.Loop() {
		var st state
		app.Must(b, http.StatusCreated, "POST", "/api/v1/applications", applicant, body).JSON(b, &st)
		for _, r := range board {
			app.Must(b, 200, "POST", "/api/v1/applications/"+st.ID+"/reviews", r,
				map[string]any{"recommendation": "approve", "scores": apptest.Scores(5)})
		}
		app.Must(b, 200, "POST", "/api/v1/applications/"+st.ID+"/acceptance", applicant, nil).JSON(b, &st)
		pay(st, 0)
		report(st, "interim")
		pay(st, 1)
		report(st, "final")
		pay(st, 2)
		app.Must(b, 200, "GET", "/api/v1/applications/"+st.ID, applicant, nil).JSON(b, &st)
		if st.Status != "closed" {
			b.Fatalf("lifecycle ended %s, want closed", st.Status)
		}
	}
}

// BenchmarkListsAtScale measures the first page of the lists with 100,000
// applications and 300,000 tranches in PostgreSQL (seeded in SQL, no
// workflows), through the HTTP handler: p50 and p99 per list.
//
//	go test ./api/ -run '^$' -bench BenchmarkListsAtScale -benchtime 200x
func BenchmarkListsAtScale(b *testing.B) {
	st := storetest.New(b)
	ctx := context.Background()
	if err := st.SeedScale(ctx, 10, 100_000); err != nil {
		b.Fatal(err)
	}
	srv := api.New(api.Config{Store: st, Temporal: downTemporal{}, Keys: testKeys(b)})
	admin, _ := api.NewToken()
	mustAdmin(b, st, admin)
	finance := mustUser(b, st, "finance", "Stadtkasse")
	applicant, hash := api.NewToken()
	u := models.User{ID: "scale-applicant", Name: "A", Role: models.RoleApplicant, Organisation: "Scale",
		OrganisationID: "scale-org-0042", TokenHash: hash, CreatedAt: time.Now()}
	if err := st.CreateUser(ctx, &u); err != nil {
		b.Fatal(err)
	}
	for _, q := range []struct{ name, token, path string }{
		{"applications-by-status", admin, "/api/v1/applications?status=active"},
		{"applications-by-programme-status", admin, "/api/v1/applications?programme_id=scale-p3&status=in_review"},
		{"applications-of-an-applicant", applicant, "/api/v1/applications"},
		{"disbursements-due", finance, "/api/v1/disbursements?status=due"},
		{"disbursements-due-of-a-programme", finance, "/api/v1/disbursements?status=due&programme_id=scale-p3"},
		{"ledger", finance, "/api/v1/programmes/scale-p3/ledger"},
		{"overdue", admin, "/api/v1/overdue"},
		{"overdue-of-a-programme", admin, "/api/v1/overdue?programme_id=scale-p3"},
	} {
		b.Run(q.name, func(b *testing.B) {
			var ds []time.Duration
			for b.Loop() {
				t := time.Now()
				rec := do(srv, "GET", q.path, q.token, "")
				ds = append(ds, time.Since(t))
				if rec.Code != http.StatusOK {
					b.Fatalf("GET %s = %d: %s", q.path, rec.Code, rec.Body)
				}
			}
			slices.Sort(ds)
			b.ReportMetric(float64(ds[len(ds)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(ds[len(ds)*99/100].Microseconds())/1000, "p99-ms")
		})
	}
}
