package api_test

import (
	"fmt"
	"strings"
	"testing"

	"reallabor/internal/apptest"
)

// TestBusinessMetrics: /metrics speaks the business: applications by
// programme and status, money by state, tranches by status.
func TestBusinessMetrics(t *testing.T) {
	app := apptest.Start(t)
	w := newWorld(t, app, 10_000_000, nil)
	st := w.submit(t, 1_000_000)
	w.submit(t, 500_000)
	st = w.vote(t, st.ID, "approve", 5)
	app.Must(t, 200, "POST", "/api/v1/applications/"+st.ID+"/acceptance", w.applicant, nil).JSON(t, &st)
	w.pay(t, st, 1)
	body := string(app.Must(t, 200, "GET", "/metrics", app.Admin, nil).Body)
	p := w.programme
	for _, want := range []string{
		"reallabor_figures_up 1",
		fmt.Sprintf(`reallabor_applications{programme="%s",status="active"} 1`, p),
		fmt.Sprintf(`reallabor_applications{programme="%s",status="in_review"} 1`, p),
		fmt.Sprintf(`reallabor_money_cents{programme="%s",state="budget"} 1e+07`, p),
		fmt.Sprintf(`reallabor_money_cents{programme="%s",state="paid"} 400000`, p),
		fmt.Sprintf(`reallabor_money_cents{programme="%s",state="reserved"} 600000`, p),
		fmt.Sprintf(`reallabor_money_cents{programme="%s",state="owed"} 0`, p),
		`reallabor_tranches{status="paid"} 1`,
		`reallabor_tranches{status="scheduled"} 2`,
		"reallabor_tranches_overdue 0",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s:\n%s", want, grepLines(body, "reallabor_"))
		}
	}
}
