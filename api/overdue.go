package api

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"reallabor/internal/store"
	"reallabor/models"
)

// OverdueItem is one application with steps expected before the date asked
// for: which, from whom, by when.
type OverdueItem struct {
	ID          string        `json:"id"`
	ProgrammeID string        `json:"programme_id"`
	Title       string        `json:"title"`
	Status      models.Status `json:"status"`
	GroupName   string        `json:"group_name"`
	// DueAt is the earliest of the steps' dates.
	DueAt time.Time     `json:"due_at"`
	Steps []models.Next `json:"steps"`
}

// listOverdue lists what is expected before a date (now unless due_before
// names a day: "what falls due this week"), the longest overdue first: a
// review past its deadline, a revision or acceptance not in, a report not
// submitted, money owed back. An applicant sees its group's, everyone else
// every application, as the list of applications.
func (s *Server) listOverdue(c echo.Context) error {
	f := store.OverdueFilter{Before: s.cfg.Now(), ProgrammeID: c.QueryParam("programme_id")}
	var fields []models.FieldError
	if v := c.QueryParam("due_before"); v != "" {
		d, fe := parseDate("due_before", v)
		if fe != nil {
			fields = append(fields, *fe)
		} else {
			f.Before = d
		}
	}
	limit, fe := pageLimit(c, 50, 200)
	if fe != nil {
		fields = append(fields, *fe)
	}
	if v := c.QueryParam("cursor"); v != "" {
		cur, ok := store.ParseOverdueCursor(v)
		if !ok {
			fields = append(fields, models.FieldError{Field: "cursor", Message: "is not a cursor this list handed out"})
		}
		f.After = &cur
	}
	if len(fields) > 0 {
		return invalidFields(fields...)
	}
	f.Limit = limit + 1
	u := userOf(c)
	rows, err := s.cfg.Store.Overdue(c.Request().Context(), f, scope(u))
	if err != nil {
		return err
	}
	next := ""
	if len(rows) > limit {
		rows = rows[:limit]
		last := rows[len(rows)-1]
		next = store.OverdueCursor{DueAt: *last.NextDueAt, ID: last.ID}.String()
	}
	items := make([]OverdueItem, 0, len(rows))
	for _, r := range rows {
		st, err := projectedState(r)
		if err != nil {
			return err
		}
		steps := st.Overdue(f.Before)
		due := r.NextDueAt.UTC()
		for i := range steps {
			steps[i].Yours = steps[i].From == u.Role
			if i == 0 || steps[i].By.Before(due) {
				due = steps[i].By.UTC() // the state's date, finer than the column's
			}
		}
		items = append(items, OverdueItem{ID: r.ID, ProgrammeID: r.ProgrammeID, Title: r.Title, Status: r.Status,
			GroupName: r.GroupName, DueAt: due, Steps: steps})
	}
	return c.JSON(http.StatusOK, map[string]any{"items": items, "next_cursor": next})
}
