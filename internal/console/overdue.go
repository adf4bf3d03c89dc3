package console

import (
	"net/http"
	"net/url"
	"time"

	"reallabor/models"
)

// overdueItem is one application with steps expected before a day, as GET
// /api/v1/overdue lists it.
type overdueItem struct {
	ID        string        `json:"id"`
	Title     string        `json:"title"`
	Status    string        `json:"status"`
	GroupName string        `json:"group_name"`
	DueAt     time.Time     `json:"due_at"`
	Steps     []models.Next `json:"steps"`
}

type overduePage struct {
	pageData
	Items []overdueItem
	// Window is the filter: "" for overdue now, "7" or "30" for what falls
	// due within that many days.
	Window  string
	Windows []string
	More    string // the next page's cursor
	Now     time.Time
}

// overdue: what is late (escalated reviews, revisions, acceptances and
// reports not in, money owed back past its date) or falls due soon, the
// longest overdue first, each with who is to act.
func (c *Console) overdue(w http.ResponseWriter, r *http.Request, u *user) {
	p := overduePage{Windows: []string{"", "7", "30"}, Now: time.Now().UTC()}
	q := url.Values{"limit": {"100"}}
	switch win := r.URL.Query().Get("within"); win {
	case "7", "30":
		p.Window = win
		days := 7
		if win == "30" {
			days = 30
		}
		q.Set("due_before", p.Now.AddDate(0, 0, days+1).Format(time.DateOnly))
	}
	if cur := r.URL.Query().Get("cursor"); cur != "" {
		q.Set("cursor", cur)
	}
	var list struct {
		Items      []overdueItem `json:"items"`
		NextCursor string        `json:"next_cursor"`
	}
	if res := c.call(r, u.token, http.MethodGet, "/api/v1/overdue?"+q.Encode(), "", nil, &list); res.err != nil {
		c.fail(w, r, u, res)
		return
	}
	p.Items, p.More, p.Title = list.Items, list.NextCursor, "overdue"
	c.withFlash(w, r, &p.pageData)
	c.renderAny(w, r, http.StatusOK, "overdue", u, &p.pageData, &p)
}

// markRead takes an item off the home page's inbox (it stays in the API's
// list of notifications, read).
func (c *Console) markRead(w http.ResponseWriter, r *http.Request, u *user) {
	res := c.call(r, u.token, http.MethodPost, "/api/v1/me/notifications/"+url.PathEscape(r.PathValue("id"))+"/read", "", nil, nil)
	c.acted(w, r, u, "/console/", res, "done.read")
}
