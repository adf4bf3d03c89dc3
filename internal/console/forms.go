package console

import (
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"reallabor/models"
)

// The applicant's forms that carry more than a button: the submission, the
// reports; and the board's assessment of a report. Each is sent to the API
// as JSON; a refusal draws the form again with what was typed and the API's
// field errors next to their fields.

// costCategories are the cost plan's lines, in the API's names.
var costCategories = []string{"personnel", "material", "external_services", "travel", "other"}

// memberRows is how many members the submission form offers.
const memberRows = 4

// submission is the submission form as typed.
type submission struct {
	ProgrammeID, Title, Summary, Requested, TotalCost, StartDate, EndDate string
	GroupName, PayeeName, PayeeIBAN, PayeeBIC                             string
	Members                                                               []memberRow
	Costs                                                                 []costRow
}

type memberRow struct{ Name, PriorAid string }

type costRow struct{ Category, Description, Amount string }

type programme struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Status string `json:"status"`
}

// formPage is what the submission template gets besides pageData.
type formPage struct {
	pageData
	Form       submission
	Programmes []programme
	Errors     map[string]string // field: message, as the API names fields
	// RevisionOf is the application a revision is for ("" for a new one).
	RevisionOf string
}

func (c *Console) newApplication(w http.ResponseWriter, r *http.Request, u *user) {
	f := submission{}
	if u.Organisation != "" {
		f.Members = append(f.Members, memberRow{Name: u.Organisation})
	}
	c.drawSubmission(w, r, u, http.StatusOK, f, nil, "")
}

func (c *Console) drawSubmission(w http.ResponseWriter, r *http.Request, u *user, status int, f submission, fields []fieldError, msg string) {
	if u.Role != string(models.RoleApplicant) {
		c.render(w, r, http.StatusForbidden, "error", u, pageData{Title: "forbidden", Error: c.t(r, u, "applicants_only")})
		return
	}
	var progs struct {
		Items []programme `json:"items"`
	}
	if res := c.call(r, u.token, http.MethodGet, "/api/v1/programmes", "", nil, &progs); res.err != nil {
		c.fail(w, r, u, res)
		return
	}
	for len(f.Members) < memberRows {
		f.Members = append(f.Members, memberRow{})
	}
	if len(f.Costs) == 0 {
		for _, cat := range costCategories {
			f.Costs = append(f.Costs, costRow{Category: cat})
		}
	}
	p := formPage{pageData: pageData{Title: "new_application", Error: msg, Fields: fields}, Form: f, Programmes: progs.Items,
		Errors: fieldMap(fields)}
	c.renderAny(w, r, status, "submit", u, &p.pageData, &p)
}

// sent ends a form the console draws again on a refusal: done, the notice
// and the page at next; a fault, its page; a refusal, the form again with the
// API's reason and field errors.
func (c *Console) sent(w http.ResponseWriter, r *http.Request, u *user, res result, done string, next func() string,
	redraw func(status int, fields []fieldError, msg string)) {
	switch {
	case res.err == nil:
		c.setFlash(w, flash{Notice: c.t(r, u, done)})
		http.Redirect(w, r, next(), http.StatusSeeOther)
	case res.status >= 500:
		c.fail(w, r, u, res)
	default:
		redraw(res.status, res.problem.Errors, res.problem.Detail)
	}
}

// fieldMap is the field errors by field, for the form's template.
func fieldMap(fields []fieldError) map[string]string {
	out := map[string]string{}
	for _, fe := range fields {
		out[fe.Field] = fe.Message
	}
	return out
}

// readSubmission reads the submission form (or the revision's, which is the
// same form) into what was typed, the API's body and the amounts it could
// not read.
func (c *Console) readSubmission(r *http.Request, u *user) (submission, map[string]any, []fieldError) {
	_ = r.ParseForm()
	v := func(k string) string { return strings.TrimSpace(r.PostFormValue(k)) }
	f := submission{ProgrammeID: v("programme_id"), Title: v("title"), Summary: v("summary"), Requested: v("requested"),
		TotalCost: v("total_cost"), StartDate: v("start_date"), EndDate: v("end_date"), GroupName: v("group_name"),
		PayeeName: v("payee_name"), PayeeIBAN: v("payee_iban"), PayeeBIC: v("payee_bic")}
	var bad []fieldError
	money := func(field, s string) int64 {
		cents, ok := parseEuro(s)
		if !ok && s != "" {
			bad = append(bad, fieldError{Field: field, Message: c.t(r, u, "not_an_amount")})
		}
		return cents
	}
	body := map[string]any{"title": f.Title, "summary": f.Summary,
		"requested_cents": money("requested_cents", f.Requested), "total_cost_cents": money("total_cost_cents", f.TotalCost),
		"start_date": f.StartDate, "end_date": f.EndDate,
		"payee": map[string]any{"name": f.PayeeName, "iban": f.PayeeIBAN, "bic": f.PayeeBIC}}
	var members []map[string]any
	for i := range memberRows {
		m := memberRow{Name: v("member_" + strconv.Itoa(i)), PriorAid: v("member_aid_" + strconv.Itoa(i))}
		f.Members = append(f.Members, m)
		if m.Name == "" {
			continue
		}
		members = append(members, map[string]any{"name": m.Name,
			"prior_de_minimis_cents": money("group.members["+strconv.Itoa(len(members))+"].prior_de_minimis_cents", m.PriorAid)})
	}
	body["group"] = map[string]any{"name": f.GroupName, "members": members}
	var plan []map[string]any
	for _, cat := range costCategories {
		row := costRow{Category: cat, Description: v("cost_desc_" + cat), Amount: v("cost_" + cat)}
		f.Costs = append(f.Costs, row)
		if row.Amount == "" {
			continue
		}
		plan = append(plan, map[string]any{"category": cat, "description": row.Description,
			"amount_cents": money("cost_plan", row.Amount)})
	}
	if len(plan) > 0 {
		body["cost_plan"] = plan
	}
	return f, body, bad
}

// submitApplication sends the form to POST /api/v1/applications.
func (c *Console) submitApplication(w http.ResponseWriter, r *http.Request, u *user) {
	f, body, bad := c.readSubmission(r, u)
	body["programme_id"] = f.ProgrammeID
	if len(bad) > 0 {
		c.drawSubmission(w, r, u, http.StatusUnprocessableEntity, f, bad, c.t(r, u, "check_fields"))
		return
	}
	var created struct {
		ID string `json:"id"`
	}
	res := c.call(r, u.token, http.MethodPost, "/api/v1/applications", formKey(r), body, &created)
	c.sent(w, r, u, res, "done.submitted", func() string { return "/console/applications/" + url.PathEscape(created.ID) },
		func(status int, fields []fieldError, msg string) { c.drawSubmission(w, r, u, status, f, fields, msg) })
}

// reportAction sends an interim or final report.
func (c *Console) reportAction(r *http.Request, u *user, id string) result {
	kind := r.PostFormValue("kind")
	cents, ok := parseEuro(strings.TrimSpace(r.PostFormValue("actual_costs")))
	if !ok {
		return invalidForm(c.t(r, u, "check_fields"), "actual_costs_cents", c.t(r, u, "not_an_amount"))
	}
	body := map[string]any{"kind": kind, "narrative": r.PostFormValue("narrative"), "actual_costs_cents": cents}
	return c.call(r, u.token, http.MethodPost, "/api/v1/applications/"+url.PathEscape(id)+"/reports", formKey(r), body, nil)
}

// assessmentAction accepts a report or asks for changes.
func (c *Console) assessmentAction(r *http.Request, u *user, id string) result {
	report := r.PostFormValue("report_id")
	body := map[string]any{"decision": r.PostFormValue("decision"), "comment": r.PostFormValue("comment")}
	return c.call(r, u.token, http.MethodPost, "/api/v1/applications/"+url.PathEscape(id)+"/reports/"+url.PathEscape(report)+"/assessment",
		formKey(r), body, nil)
}

// grouped is a whole number in groups of three: "20.000", "1,234,567".
var grouped = regexp.MustCompile(`^\d{1,3}(\.\d{3})+$|^\d{1,3}(,\d{3})+$`)

// parseEuro reads an amount in euros as people type it: "20000",
// "20.000,50" (German), "20,000.50" (English), "1234,5". A separator
// followed by one or two digits at the end is the decimal one; the others
// group thousands.
func parseEuro(s string) (int64, bool) {
	s = strings.ReplaceAll(strings.TrimSuffix(strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(s), "€")), "€"), " ", "")
	s = strings.TrimSpace(strings.TrimSuffix(strings.TrimSuffix(s, "EUR"), "€"))
	if s == "" {
		return 0, false
	}
	whole, frac := s, ""
	if i := strings.LastIndexAny(s, ".,"); i >= 0 && len(s)-i-1 <= 2 && len(s)-i-1 >= 1 {
		whole, frac = s[:i], s[i+1:]
	}
	if strings.ContainsAny(whole, ".,") && !grouped.MatchString(whole) {
		return 0, false // "1,2,3": not thousands, not a decimal
	}
	whole = strings.NewReplacer(".", "", ",", "").Replace(whole)
	if whole == "" {
		whole = "0"
	}
	for _, part := range []string{whole, frac} {
		for _, r := range part {
			if r < '0' || r > '9' {
				return 0, false
			}
		}
	}
	if len(whole) > 13 {
		return 0, false
	}
	euros, err := strconv.ParseInt(whole, 10, 64)
	if err != nil {
		return 0, false
	}
	for len(frac) < 2 {
		frac += "0"
	}
	cents, _ := strconv.ParseInt(frac, 10, 64)
	return euros*100 + cents, true
}
