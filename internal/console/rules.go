package console

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"reallabor/models"
)

// The admin's programme form: a new programme with its rules, or the rules
// of one changed (for applications submitted afterwards; running ones keep
// theirs, as the API says). A field left empty keeps the default or the
// current rule; the API judges every value.

// rulesView is what of a programme's rules the form shows (the API's
// names).
type rulesView struct {
	MaxGrantCents          int64              `json:"max_grant_cents"`
	FundingRatePercent     int                `json:"funding_rate_percent"`
	ReviewersRequired      int                `json:"reviewers_required"`
	Criteria               []models.Criterion `json:"criteria"`
	ApprovalThresholdMilli int                `json:"approval_threshold_milli"`
	ReviewDeadlineDays     int                `json:"review_deadline_days"`
	RevisionDeadlineDays   int                `json:"revision_deadline_days"`
	AcceptanceDeadlineDays int                `json:"acceptance_deadline_days"`
	InterimReportAfterDays int                `json:"interim_report_after_days"`
	FinalReportAfterDays   int                `json:"final_report_after_days"`
	RepaymentDueDays       int                `json:"repayment_due_days"`
	RepaymentInterestBP    int                `json:"repayment_interest_basis_points"`
	TranchePlan            []struct {
		Percent int    `json:"percent"`
		Trigger string `json:"trigger"`
	} `json:"tranche_plan"`
	PaymentMode     string `json:"payment_mode"`
	RetainedPercent int    `json:"retained_percent"`
}

// rulesForm is the form as typed.
type rulesForm struct {
	Name, Budget, MaxGrant, FundingRate, Reviewers, Threshold string
	ReviewDays, RevisionDays, AcceptanceDays, InterimAfter    string
	FinalAfter, RepaymentDays, InterestBP, PaymentMode        string
	Retained, DebtorName, DebtorIBAN, DebtorBIC               string
	Criteria                                                  []criterionRow
	Tranches                                                  []trancheRow
}

type criterionRow struct{ Name, Weight string }

type trancheRow struct{ Percent, Trigger string }

const (
	criterionRows = 5
	trancheRows   = 4
)

// trancheTriggers are what a tranche of the plan waits for.
var trancheTriggers = []string{"acceptance", "interim_report_accepted", "final_report_accepted"}

type rulesPage struct {
	pageData
	Form     rulesForm
	Errors   map[string]string
	Edit     string // the programme changed ("" for a new one)
	Triggers []string
}

// newProgramme draws the empty form (the defaults are the API's).
func (c *Console) newProgramme(w http.ResponseWriter, r *http.Request, u *user) {
	f := rulesForm{Criteria: []criterionRow{{"impact", "2"}, {"feasibility", "1"}, {"partnership", "1"}},
		Tranches: []trancheRow{{"40", "acceptance"}, {"40", "interim_report_accepted"}, {"20", "final_report_accepted"}}}
	c.drawRules(w, r, u, http.StatusOK, "", f, nil, "")
}

// editRules draws the form filled with the programme's rules.
func (c *Console) editRules(w http.ResponseWriter, r *http.Request, u *user) {
	id := r.PathValue("id")
	var p struct {
		Name  string    `json:"name"`
		Rules rulesView `json:"rules"`
	}
	if res := c.call(r, u.token, http.MethodGet, "/api/v1/programmes/"+url.PathEscape(id), "", nil, &p); res.err != nil {
		c.fail(w, r, u, res)
		return
	}
	n := func(v int) string { return strconv.Itoa(v) }
	rv := p.Rules
	f := rulesForm{Name: p.Name, MaxGrant: euroInput(rv.MaxGrantCents), FundingRate: n(rv.FundingRatePercent),
		Reviewers: n(rv.ReviewersRequired), Threshold: strconv.FormatFloat(float64(rv.ApprovalThresholdMilli)/1000, 'f', -1, 64),
		ReviewDays: n(rv.ReviewDeadlineDays), RevisionDays: n(rv.RevisionDeadlineDays), AcceptanceDays: n(rv.AcceptanceDeadlineDays),
		InterimAfter: n(rv.InterimReportAfterDays), FinalAfter: n(rv.FinalReportAfterDays), RepaymentDays: n(rv.RepaymentDueDays),
		InterestBP: n(rv.RepaymentInterestBP), PaymentMode: rv.PaymentMode, Retained: n(rv.RetainedPercent)}
	for _, cr := range rv.Criteria {
		f.Criteria = append(f.Criteria, criterionRow{cr.Name, n(cr.Weight)})
	}
	for _, t := range rv.TranchePlan {
		f.Tranches = append(f.Tranches, trancheRow{n(t.Percent), t.Trigger})
	}
	c.drawRules(w, r, u, http.StatusOK, id, f, nil, "")
}

func (c *Console) drawRules(w http.ResponseWriter, r *http.Request, u *user, status int, id string, f rulesForm, fields []fieldError, msg string) {
	if u.Role != string(models.RoleAdmin) {
		c.render(w, r, http.StatusForbidden, "error", u, pageData{Title: "forbidden", Error: c.t(r, u, "admins_only")})
		return
	}
	for len(f.Criteria) < criterionRows {
		f.Criteria = append(f.Criteria, criterionRow{})
	}
	for len(f.Tranches) < trancheRows {
		f.Tranches = append(f.Tranches, trancheRow{})
	}
	title := "new_programme"
	if id != "" {
		title = "edit_rules"
	}
	p := rulesPage{pageData: pageData{Title: title, Error: msg, Fields: fields}, Form: f, Errors: fieldMap(fields),
		Edit: id, Triggers: trancheTriggers}
	c.renderAny(w, r, status, "rules", u, &p.pageData, &p)
}

// readRules reads the form into what was typed, the API's body and what
// the console could not read (an amount, a number).
func (c *Console) readRules(r *http.Request, u *user) (rulesForm, map[string]any, []fieldError) {
	_ = r.ParseForm()
	v := func(k string) string { return strings.TrimSpace(r.PostFormValue(k)) }
	f := rulesForm{Name: v("name"), Budget: v("budget"), MaxGrant: v("max_grant"), FundingRate: v("funding_rate"),
		Reviewers: v("reviewers"), Threshold: v("threshold"), ReviewDays: v("review_days"), RevisionDays: v("revision_days"),
		AcceptanceDays: v("acceptance_days"), InterimAfter: v("interim_after"), FinalAfter: v("final_after"),
		RepaymentDays: v("repayment_days"), InterestBP: v("interest_bp"), PaymentMode: v("payment_mode"), Retained: v("retained"),
		DebtorName: v("debtor_name"), DebtorIBAN: v("debtor_iban"), DebtorBIC: v("debtor_bic")}
	body := map[string]any{}
	var bad []fieldError
	money := func(field, s string) {
		if s == "" {
			return
		}
		if cents, ok := parseEuro(s); ok {
			body[field] = cents
		} else {
			bad = append(bad, fieldError{Field: field, Message: c.t(r, u, "not_an_amount")})
		}
	}
	atoi := func(field, s string) (int, bool) {
		n, err := strconv.Atoi(s)
		if err != nil {
			bad = append(bad, fieldError{Field: field, Message: c.t(r, u, "not_a_number")})
		}
		return n, err == nil
	}
	number := func(field, s string) {
		if s == "" {
			return
		}
		if n, ok := atoi(field, s); ok {
			body[field] = n
		}
	}
	if f.Name != "" {
		body["name"] = f.Name
	}
	money("budget_cents", f.Budget)
	money("max_grant_cents", f.MaxGrant)
	number("funding_rate_percent", f.FundingRate)
	number("reviewers_required", f.Reviewers)
	if f.Threshold != "" {
		// A mean score, e.g. "3.5" or "3,5", in thousandths.
		if x, err := strconv.ParseFloat(strings.Replace(f.Threshold, ",", ".", 1), 64); err == nil && x >= 0 && x < 1000 {
			body["approval_threshold_milli"] = int(x*1000 + 0.5)
		} else {
			bad = append(bad, fieldError{Field: "approval_threshold_milli", Message: c.t(r, u, "not_a_score")})
		}
	}
	number("review_deadline_days", f.ReviewDays)
	number("revision_deadline_days", f.RevisionDays)
	number("acceptance_deadline_days", f.AcceptanceDays)
	number("interim_report_after_days", f.InterimAfter)
	number("final_report_after_days", f.FinalAfter)
	number("repayment_due_days", f.RepaymentDays)
	number("repayment_interest_basis_points", f.InterestBP)
	if f.PaymentMode != "" {
		body["payment_mode"] = f.PaymentMode
	}
	number("retained_percent", f.Retained)
	for k, s := range map[string]string{"debtor_name": f.DebtorName, "debtor_iban": f.DebtorIBAN, "debtor_bic": f.DebtorBIC} {
		if s != "" {
			body[k] = s
		}
	}
	var criteria []map[string]any
	for i := range criterionRows {
		row := criterionRow{Name: v("criterion_" + strconv.Itoa(i)), Weight: v("weight_" + strconv.Itoa(i))}
		f.Criteria = append(f.Criteria, row)
		if row.Name == "" {
			continue
		}
		weight := 1
		if row.Weight != "" {
			weight, _ = atoi("criteria["+strconv.Itoa(len(criteria))+"].weight", row.Weight)
		}
		criteria = append(criteria, map[string]any{"name": row.Name, "weight": weight})
	}
	if len(criteria) > 0 {
		body["criteria"] = criteria
	}
	var plan []map[string]any
	for i := range trancheRows {
		row := trancheRow{Percent: v("tranche_percent_" + strconv.Itoa(i)), Trigger: v("tranche_trigger_" + strconv.Itoa(i))}
		f.Tranches = append(f.Tranches, row)
		if row.Percent == "" {
			continue
		}
		n, _ := atoi("tranche_plan["+strconv.Itoa(len(plan))+"].percent", row.Percent)
		plan = append(plan, map[string]any{"percent": n, "trigger": row.Trigger})
	}
	if len(plan) > 0 {
		body["tranche_plan"] = plan
	}
	return f, body, bad
}

// createProgramme sends the new programme; it opens on its page.
func (c *Console) createProgramme(w http.ResponseWriter, r *http.Request, u *user) {
	f, body, bad := c.readRules(r, u)
	if len(bad) > 0 {
		c.drawRules(w, r, u, http.StatusUnprocessableEntity, "", f, bad, c.t(r, u, "check_fields"))
		return
	}
	var created struct {
		ID string `json:"id"`
	}
	res := c.call(r, u.token, http.MethodPost, "/api/v1/programmes", formKey(r), body, &created)
	c.sent(w, r, u, res, "done.programme", func() string { return "/console/programmes/" + url.PathEscape(created.ID) },
		func(status int, fields []fieldError, msg string) { c.drawRules(w, r, u, status, "", f, fields, msg) })
}

// changeRules sends the changed rules (PATCH); the budget is not among
// them (it changes with a reason, on the programme's page).
func (c *Console) changeRules(w http.ResponseWriter, r *http.Request, u *user, id string) {
	f, body, bad := c.readRules(r, u)
	delete(body, "budget_cents")
	for _, k := range []string{"debtor_name", "debtor_iban", "debtor_bic"} {
		delete(body, k)
	}
	if len(bad) > 0 {
		c.drawRules(w, r, u, http.StatusUnprocessableEntity, id, f, bad, c.t(r, u, "check_fields"))
		return
	}
	res := c.call(r, u.token, http.MethodPatch, "/api/v1/programmes/"+url.PathEscape(id), formKey(r), body, nil)
	c.sent(w, r, u, res, "done.rules", func() string { return "/console/programmes/" + url.PathEscape(id) },
		func(status int, fields []fieldError, msg string) { c.drawRules(w, r, u, status, id, f, fields, msg) })
}
