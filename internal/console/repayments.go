package console

import (
	"net/http"
	"net/url"
	"strings"
	"time"
)

// owed is one application with money demanded back, as GET
// /api/v1/applications?owing=true lists it.
type owed struct {
	ID             string `json:"id"`
	Title          string `json:"title"`
	GroupName      string `json:"group_name"`
	Status         string `json:"status"`
	RepaymentCents int64  `json:"repayment_cents"`
	RepaidCents    int64  `json:"repaid_cents"`
}

type repaymentsPage struct {
	pageData
	Owed  []owed
	Today string
}

// repayments: the money owed back (finance and admins see all, a group its
// own, as the API scopes the list), with finance's form that books a
// receipt (the bank reference keys it: the same receipt twice counts once).
func (c *Console) repayments(w http.ResponseWriter, r *http.Request, u *user) {
	var list struct {
		Items []owed `json:"items"`
	}
	if res := c.call(r, u.token, http.MethodGet, "/api/v1/applications?owing=true&limit=200", "", nil, &list); res.err != nil {
		c.fail(w, r, u, res)
		return
	}
	p := repaymentsPage{Owed: list.Items, Today: time.Now().UTC().Format(time.DateOnly)}
	p.Title = "repayments"
	c.withFlash(w, r, &p.pageData)
	c.renderAny(w, r, http.StatusOK, "repayments", u, &p.pageData, &p)
}

// recordRepayment books one receipt.
func (c *Console) recordRepayment(w http.ResponseWriter, r *http.Request, u *user) {
	id := r.PathValue("id")
	cents, ok := parseEuro(r.PostFormValue("amount"))
	if !ok {
		c.acted(w, r, u, "/console/repayments", invalidForm(c.t(r, u, "check_fields"), "amount_cents", c.t(r, u, "not_an_amount")), "")
		return
	}
	body := map[string]any{"amount_cents": cents, "bank_reference": strings.TrimSpace(r.PostFormValue("bank_reference"))}
	if d := strings.TrimSpace(r.PostFormValue("received_on")); d != "" {
		body["received_on"] = d
	}
	res := c.call(r, u.token, http.MethodPost, "/api/v1/applications/"+url.PathEscape(id)+"/repayments", formKey(r), body, nil)
	c.acted(w, r, u, "/console/repayments", res, "done.repaid")
}
