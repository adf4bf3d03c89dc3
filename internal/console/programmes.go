package console

import (
	"net/http"
	"net/url"
	"strings"
	"time"
)

// The admin's programme page: its calls (a new one, one closed early) and
// budget changes (a top-up or a cut, never below what is committed, with
// the reason in the journal). Finance reads it.

type call struct {
	ID               string     `json:"id"`
	Title            string     `json:"title"`
	OpensAt          time.Time  `json:"opens_at"`
	ClosesAt         time.Time  `json:"closes_at"`
	ClosedAt         *time.Time `json:"closed_at"`
	BudgetShareCents int64      `json:"budget_share_cents"`
	Open             bool       `json:"open"`
}

type programmePage struct {
	pageData
	Programme programme
	Ledger    ledger
	Calls     []call
}

func (c *Console) programmePage(w http.ResponseWriter, r *http.Request, u *user) {
	id := url.PathEscape(r.PathValue("id"))
	var p programmePage
	p.Title = "programme_page"
	if res := c.call(r, u.token, http.MethodGet, "/api/v1/programmes/"+id, "", nil, &p.Programme); res.err != nil {
		c.fail(w, r, u, res)
		return
	}
	if res := c.call(r, u.token, http.MethodGet, "/api/v1/programmes/"+id+"/ledger", "", nil, &p.Ledger); res.err != nil {
		c.fail(w, r, u, res)
		return
	}
	var calls struct {
		Items []call `json:"items"`
	}
	if res := c.call(r, u.token, http.MethodGet, "/api/v1/programmes/"+id+"/calls", "", nil, &calls); res.err != nil {
		c.fail(w, r, u, res)
		return
	}
	p.Calls = calls.Items
	c.withFlash(w, r, &p.pageData)
	c.renderAny(w, r, http.StatusOK, "programme", u, &p.pageData, &p)
}

// programmeAction: a new call, a call closed early, a budget change.
func (c *Console) programmeAction(w http.ResponseWriter, r *http.Request, u *user) {
	id := url.PathEscape(r.PathValue("id"))
	back := "/console/programmes/" + id
	v := func(k string) string { return strings.TrimSpace(r.PostFormValue(k)) }
	switch r.PathValue("action") {
	case "rules":
		c.changeRules(w, r, u, r.PathValue("id"))
	case "calls":
		body := map[string]any{"title": v("title"), "opens_at": v("opens_at"), "closes_at": v("closes_at")}
		if s := v("budget_share"); s != "" {
			cents, ok := parseEuro(s)
			if !ok {
				c.acted(w, r, u, back, invalidForm(c.t(r, u, "check_fields"), "budget_share_cents", c.t(r, u, "not_an_amount")), "")
				return
			}
			body["budget_share_cents"] = cents
		}
		c.acted(w, r, u, back, c.call(r, u.token, http.MethodPost, "/api/v1/programmes/"+id+"/calls", formKey(r), body, nil), "done.call")
	case "closure":
		res := c.call(r, u.token, http.MethodPost, "/api/v1/programmes/"+id+"/calls/"+url.PathEscape(v("call_id"))+"/closure",
			formKey(r), map[string]any{}, nil)
		c.acted(w, r, u, back, res, "done.call_closed")
	case "budget":
		cents, ok := parseEuro(strings.TrimPrefix(v("change"), "-"))
		if !ok {
			c.acted(w, r, u, back, invalidForm(c.t(r, u, "check_fields"), "change_cents", c.t(r, u, "not_an_amount")), "")
			return
		}
		if v("direction") == "cut" {
			cents = -cents
		}
		body := map[string]any{"change_cents": cents, "reason": v("reason")}
		c.acted(w, r, u, back, c.call(r, u.token, http.MethodPost, "/api/v1/programmes/"+id+"/budget", formKey(r), body, nil), "done.budget")
	default:
		c.notFound(w, r, u)
	}
}

// invalidForm is a form the console refuses before asking the API.
func invalidForm(detail, field, msg string) result {
	return result{status: http.StatusUnprocessableEntity, err: errInvalid,
		problem: problem{Detail: detail, Errors: []fieldError{{Field: field, Message: msg}}}}
}
