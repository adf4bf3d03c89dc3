package api_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"reallabor/internal/apptest"
)

type overdueList struct {
	Items []struct {
		ID     string    `json:"id"`
		Status string    `json:"status"`
		DueAt  time.Time `json:"due_at"`
		Steps  []struct {
			Action string     `json:"action"`
			From   string     `json:"from"`
			By     *time.Time `json:"by"`
			Yours  bool       `json:"yours"`
		} `json:"steps"`
	} `json:"items"`
	NextCursor string `json:"next_cursor"`
}

// TestOverdue: the list of what is expected before a day names each
// application with its steps, from whom and by when, the earliest first;
// nothing is overdue the day the applications come in; an applicant sees
// only its group's; a step done leaves the list; pages follow the cursor;
// bad parameters are refused by name.
func TestOverdue(t *testing.T) {
	app := apptest.Start(t)
	w := newWorld(t, app, 10_000_000, map[string]any{"review_deadline_days": 7, "acceptance_deadline_days": 10})
	day := func(d int) string { return time.Now().UTC().AddDate(0, 0, d).Format(time.DateOnly) }
	list := func(u apptest.User, q url.Values) overdueList {
		t.Helper()
		var l overdueList
		app.Must(t, 200, "GET", "/api/v1/overdue?"+q.Encode(), u, nil).JSON(t, &l)
		return l
	}

	inReview := w.submit(t, 1_000_000)
	approved := w.submit(t, 1_000_000)
	w.vote(t, approved.ID, "approve", 5)
	var others appState
	app.Must(t, http.StatusCreated, "POST", "/api/v1/applications", w.other, apptest.Proposal(w.programme, "Fremdfirma", 1_000_000)).JSON(t, &others)

	if l := list(app.Admin, nil); len(l.Items) != 0 {
		t.Fatalf("overdue on the day of submission = %+v, want nothing", l.Items)
	}
	// Within eight days the two reviews fall due (7 days), the acceptance not (10).
	l := list(w.reviewers[0], url.Values{"due_before": {day(8)}})
	if len(l.Items) != 2 {
		t.Fatalf("due within 8 days = %+v, want the two applications in review", l.Items)
	}
	for _, it := range l.Items {
		if it.ID == approved.ID || len(it.Steps) != 1 || it.Steps[0].Action != "review" || it.Steps[0].From != "reviewer" ||
			!it.Steps[0].Yours || it.Steps[0].By == nil || !it.Steps[0].By.Equal(it.DueAt) {
			t.Errorf("item %+v, want a review, the reviewer's, by its due date", it)
		}
	}
	if !l.Items[0].DueAt.Before(l.Items[1].DueAt) && !l.Items[0].DueAt.Equal(l.Items[1].DueAt) {
		t.Errorf("the list is not the earliest first: %v, %v", l.Items[0].DueAt, l.Items[1].DueAt)
	}
	// Within eleven days, the acceptance too; the applicant sees its own two only.
	l = list(w.applicant, url.Values{"due_before": {day(11)}})
	got := map[string]string{}
	for _, it := range l.Items {
		got[it.ID] = it.Steps[0].Action
		if it.Steps[0].Yours != (it.Steps[0].From == "applicant") {
			t.Errorf("step %+v: yours is not the applicant's", it.Steps[0])
		}
	}
	if len(got) != 2 || got[inReview.ID] != "review" || got[approved.ID] != "accept_agreement" {
		t.Errorf("the applicant's list within 11 days = %v, want its review and its acceptance, not the other group's", got)
	}
	// Pages of one.
	first := list(app.Admin, url.Values{"due_before": {day(11)}, "limit": {"1"}})
	if len(first.Items) != 1 || first.NextCursor == "" {
		t.Fatalf("first page = %+v", first)
	}
	seen := map[string]bool{first.Items[0].ID: true}
	for cur := first.NextCursor; cur != ""; {
		p := list(app.Admin, url.Values{"due_before": {day(11)}, "limit": {"1"}, "cursor": {cur}})
		for _, it := range p.Items {
			if seen[it.ID] {
				t.Fatalf("page repeats %s", it.ID)
			}
			seen[it.ID] = true
		}
		cur = p.NextCursor
	}
	if len(seen) != 3 {
		t.Errorf("the pages list %d applications, want 3", len(seen))
	}
	// The programme filter.
	if l := list(app.Admin, url.Values{"due_before": {day(11)}, "programme_id": {"prog-none"}}); len(l.Items) != 0 {
		t.Errorf("another programme's list = %+v, want none", l.Items)
	}
	// Accepted, the application's next date is the interim report's, months away.
	app.Must(t, 200, "POST", "/api/v1/applications/"+approved.ID+"/acceptance", w.applicant, nil)
	for _, it := range list(app.Admin, url.Values{"due_before": {day(11)}}).Items {
		if it.ID == approved.ID {
			t.Errorf("the accepted application is still listed: %+v", it)
		}
	}
	for q, field := range map[string]string{"due_before=soon": "due_before", "limit=0": "limit", "limit=201": "limit", "cursor=nonsense": "cursor"} {
		r := app.Do(t, "GET", "/api/v1/overdue?"+q, app.Admin, nil)
		if r.Status != http.StatusUnprocessableEntity || !strings.Contains(string(r.Body), `"field":"`+field+`"`) {
			t.Errorf("GET /overdue?%s = %d %s, want 422 naming %s", q, r.Status, r.Body, field)
		}
	}
}
