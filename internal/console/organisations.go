package console

import (
	"net/http"
	"net/url"
	"strings"
	"time"
)

// The organisations page: the registry of companies (an admin registers
// one with its legal form and register number) and, for admins and
// finance, the state-aid register: the de-minimis aid this fund granted
// each company, in the last three years against the ceiling.

type organisation struct {
	ID             string    `json:"id"`
	Name           string    `json:"name"`
	LegalForm      string    `json:"legal_form"`
	RegisterNumber string    `json:"register_number"`
	CreatedAt      time.Time `json:"created_at"`
}

type aidGrant struct {
	ApplicationID string    `json:"application_id"`
	AmountCents   int64     `json:"amount_cents"`
	GrantedAt     time.Time `json:"granted_at"`
}

type organisationAid struct {
	OrganisationID  string     `json:"organisation_id"`
	Name            string     `json:"name"`
	PeriodCents     int64      `json:"period_cents"`
	ThreeYearsCents int64      `json:"three_years_cents"`
	Grants          []aidGrant `json:"grants"`
}

type organisationsPage struct {
	pageData
	Organisations []organisation
	Query         string
	// Aid is the state-aid register (admins and finance; nil for others).
	Aid          []organisationAid
	CeilingCents int64
	ShowAid      bool
}

func (c *Console) organisations(w http.ResponseWriter, r *http.Request, u *user) {
	p := organisationsPage{Query: strings.TrimSpace(r.URL.Query().Get("q"))}
	p.Title = "organisations"
	q := url.Values{"limit": {"200"}}
	if p.Query != "" {
		q.Set("q", p.Query)
	}
	var orgs struct {
		Items []organisation `json:"items"`
	}
	if res := c.call(r, u.token, http.MethodGet, "/api/v1/organisations?"+q.Encode(), "", nil, &orgs); res.err != nil {
		c.fail(w, r, u, res)
		return
	}
	p.Organisations = orgs.Items
	if u.Role == "admin" || u.Role == "finance" {
		var aid struct {
			CeilingCents  int64             `json:"ceiling_cents"`
			Organisations []organisationAid `json:"organisations"`
		}
		if res := c.call(r, u.token, http.MethodGet, "/api/v1/state-aid", "", nil, &aid); res.err != nil {
			c.fail(w, r, u, res)
			return
		}
		p.Aid, p.CeilingCents, p.ShowAid = aid.Organisations, aid.CeilingCents, true
	}
	c.withFlash(w, r, &p.pageData)
	c.renderAny(w, r, http.StatusOK, "organisations", u, &p.pageData, &p)
}

// registerOrganisation enters a company in the registry (admin).
func (c *Console) registerOrganisation(w http.ResponseWriter, r *http.Request, u *user) {
	v := func(k string) string { return strings.TrimSpace(r.PostFormValue(k)) }
	body := map[string]any{"name": v("name"), "legal_form": v("legal_form"), "register_number": v("register_number")}
	res := c.call(r, u.token, http.MethodPost, "/api/v1/organisations", formKey(r), body, nil)
	c.acted(w, r, u, "/console/organisations", res, "done.organisation")
}
