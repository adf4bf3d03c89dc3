package api_test

import (
	"net/http"
	"testing"

	"reallabor/internal/apptest"
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
