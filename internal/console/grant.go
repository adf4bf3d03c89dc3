package console

import (
	"bytes"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"
	"time"

	"reallabor/models"
)

// The application's forms beyond the main path: the revision a board asked
// for, withdrawal and cancellation, a longer review, amendments and their
// decision, drawdowns, documents, and the letters the API writes. Each is
// one API call as the signed-in user; the console only reads the form.

// document is one attached file, as GET .../documents lists it.
type document struct {
	ID          string    `json:"id"`
	ReportID    string    `json:"report_id"`
	AmendmentID string    `json:"amendment_id"`
	Kind        string    `json:"kind"`
	Filename    string    `json:"filename"`
	ContentType string    `json:"content_type"`
	SizeBytes   int64     `json:"size_bytes"`
	UploadedBy  string    `json:"uploaded_by"`
	UploadedAt  time.Time `json:"uploaded_at"`
}

// documentKinds are the kinds the upload form offers (the API's).
var documentKinds = []string{"proposal", "agreement", "receipt", "report", "amendment", "other"}

// maxUpload bounds what the console reads of an upload before the API
// judges it (the API's own limit is the one users meet).
const maxUpload = 64 << 20

// revision draws the submission form filled with the proposal as it stands,
// to send back revised.
func (c *Console) revision(w http.ResponseWriter, r *http.Request, u *user) {
	id := r.PathValue("id")
	var app models.ApplicationState
	if res := c.call(r, u.token, http.MethodGet, "/api/v1/applications/"+url.PathEscape(id), "", nil, &app); res.err != nil {
		c.fail(w, r, u, res)
		return
	}
	c.drawRevision(w, r, u, http.StatusOK, app.ID, typedProposal(app.Proposal), nil, "")
}

// typedProposal is a proposal as its form shows it.
func typedProposal(p models.Proposal) submission {
	f := submission{Title: p.Title, Summary: p.Summary, Requested: euroInput(p.RequestedCents),
		TotalCost: euroInput(p.TotalCostCents), StartDate: dateInput(p.StartDate), EndDate: dateInput(p.EndDate),
		GroupName: p.Group.Name, PayeeName: p.Payee.Name, PayeeIBAN: p.Payee.IBAN, PayeeBIC: p.Payee.BIC}
	for _, m := range p.Group.Members {
		aid := ""
		if m.PriorDeMinimisCents > 0 {
			aid = euroInput(m.PriorDeMinimisCents)
		}
		f.Members = append(f.Members, memberRow{Name: m.Name, PriorAid: aid})
	}
	f.Costs = costRows(p.CostPlan, euroInput)
	return f
}

// costRows are a cost plan's lines, one per category in the form's order,
// each amount written by amount (for a field, or to be read).
func costRows(plan []models.CostLine, amount func(int64) string) []costRow {
	var rows []costRow
	for _, cat := range costCategories {
		row := costRow{Category: cat}
		for _, l := range plan {
			if string(l.Category) == cat {
				row.Description, row.Amount = l.Description, amount(l.AmountCents)
			}
		}
		rows = append(rows, row)
	}
	return rows
}

// euroInput writes cents as a form field holds them: "20000" or "20000.50".
func euroInput(cents int64) string {
	if cents%100 == 0 {
		return strconv.FormatInt(cents/100, 10)
	}
	return fmt.Sprintf("%d.%02d", cents/100, cents%100)
}

func dateInput(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.DateOnly)
}

func (c *Console) drawRevision(w http.ResponseWriter, r *http.Request, u *user, status int, id string, f submission, fields []fieldError, msg string) {
	if u.Role != string(models.RoleApplicant) {
		c.render(w, r, http.StatusForbidden, "error", u, pageData{Title: "forbidden", Error: c.t(r, u, "applicants_only")})
		return
	}
	for len(f.Members) < memberRows {
		f.Members = append(f.Members, memberRow{})
	}
	p := formPage{pageData: pageData{Title: "revise_application", Error: msg, Fields: fields}, Form: f,
		Errors: fieldMap(fields), RevisionOf: id}
	c.renderAny(w, r, status, "submit", u, &p.pageData, &p)
}

// submitRevision sends the revised proposal; a refusal draws the form again
// with what was typed and the field errors.
func (c *Console) submitRevision(w http.ResponseWriter, r *http.Request, u *user, id string) {
	f, body, bad := c.readSubmission(r, u)
	if len(bad) > 0 {
		c.drawRevision(w, r, u, http.StatusUnprocessableEntity, id, f, bad, c.t(r, u, "check_fields"))
		return
	}
	res := c.call(r, u.token, http.MethodPost, "/api/v1/applications/"+url.PathEscape(id)+"/revision", formKey(r), body, nil)
	c.sent(w, r, u, res, "done.revised", func() string { return "/console/applications/" + url.PathEscape(id) },
		func(status int, fields []fieldError, msg string) { c.drawRevision(w, r, u, status, id, f, fields, msg) })
}

// amendmentAction applies for a change of plan: a later end date, another
// account for the payments, costs shifted between the plan's lines (the
// lines typed are the new plan; the API checks it adds up to the total).
func (c *Console) amendmentAction(r *http.Request, u *user, id string) result {
	v := func(k string) string { return strings.TrimSpace(r.PostFormValue(k)) }
	body := map[string]any{"reason": r.PostFormValue("reason")}
	if d := v("end_date"); d != "" {
		body["end_date"] = d
	}
	if v("payee_iban") != "" || v("payee_name") != "" {
		body["payee"] = map[string]any{"name": v("payee_name"), "iban": v("payee_iban"), "bic": v("payee_bic")}
	}
	var plan []map[string]any
	for _, cat := range costCategories {
		s := v("cost_" + cat)
		if s == "" {
			continue
		}
		cents, ok := parseEuro(s)
		if !ok {
			return invalidForm(c.t(r, u, "check_fields"), "cost_plan", c.t(r, u, "not_an_amount"))
		}
		plan = append(plan, map[string]any{"category": cat, "description": v("cost_desc_" + cat), "amount_cents": cents})
	}
	if len(plan) > 0 {
		body["cost_plan"] = plan
	}
	return c.call(r, u.token, http.MethodPost, "/api/v1/applications/"+url.PathEscape(id)+"/amendments", formKey(r), body, nil)
}

// documentAction sends one file to the API as the multipart upload it
// takes.
func (c *Console) documentAction(r *http.Request, u *user, id string) result {
	file, hdr, err := r.FormFile("file")
	if err != nil {
		return invalidForm(c.t(r, u, "check_fields"), "file", c.t(r, u, "choose_file"))
	}
	defer file.Close()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, k := range []string{"kind", "report_id", "amendment_id"} {
		if v := r.PostFormValue(k); v != "" {
			_ = mw.WriteField(k, v)
		}
	}
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", multipart.FileContentDisposition("file", hdr.Filename))
	h.Set("Content-Type", "application/octet-stream") // the API reads the type from the content
	part, _ := mw.CreatePart(h)
	if _, err := io.Copy(part, io.LimitReader(file, maxUpload)); err != nil {
		return invalidForm(c.t(r, u, "upload_failed"), "file", err.Error())
	}
	_ = mw.Close()
	rec := c.exchangeBody(r, u.token, http.MethodPost, "/api/v1/applications/"+url.PathEscape(id)+"/documents", formKey(r),
		mw.FormDataContentType(), &buf)
	return rec.result(http.MethodPost, "/api/v1/applications/"+id+"/documents")
}

// documentDownload hands out an attached file.
func (c *Console) documentDownload(w http.ResponseWriter, r *http.Request, u *user) {
	id := r.PathValue("id")
	c.download(w, r, u, "/api/v1/applications/"+url.PathEscape(id)+"/documents/"+url.PathEscape(r.PathValue("doc")),
		"/console/applications/"+url.PathEscape(id))
}

// letters are the PDFs the API writes for an application.
var letters = map[string]bool{"decision-letter": true, "agreement": true, "de-minimis-certificate": true}

// letter hands out the decision letter, the grant agreement or the
// de-minimis certificate.
func (c *Console) letter(w http.ResponseWriter, r *http.Request, u *user) {
	id, kind := r.PathValue("id"), r.PathValue("kind")
	if !letters[kind] {
		c.notFound(w, r, u)
		return
	}
	c.download(w, r, u, "/api/v1/applications/"+url.PathEscape(id)+"/"+kind, "/console/applications/"+url.PathEscape(id))
}
