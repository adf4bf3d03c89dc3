package console_test

import (
	"bytes"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"reallabor/internal/apptest"
	"reallabor/models"
)

// signedIn is a browser signed in with the token, reading English.
func signedIn(t *testing.T, base, token string) *browser {
	t.Helper()
	b := newBrowser(t, base)
	b.do("GET", "/console/language/en", nil)
	if p := b.signIn(token); p.status != http.StatusSeeOther {
		t.Fatalf("sign in: %d", p.status)
	}
	return b
}

// upload sends the document form as a browser does (multipart).
func (b *browser) upload(path string, fields map[string]string, filename string, data []byte) page {
	b.t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, v := range fields {
		_ = mw.WriteField(k, v)
	}
	if filename != "" {
		fw, _ := mw.CreateFormFile("file", filename)
		_, _ = fw.Write(data)
	}
	_ = mw.Close()
	req, _ := http.NewRequest("POST", b.base+path, &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return page{status: resp.StatusCode, location: resp.Header.Get("Location"), body: string(raw), header: resp.Header}
}

// TestConsoleRevision: the board asks for a revision; the applicant finds
// the proposal as it stands in the form, changes it, and a refused amount
// comes back inline with what was typed; the revised proposal goes to the
// board.
func TestConsoleRevision(t *testing.T) {
	app := apptest.Start(t)
	applicant := app.CreateUser(t, "Anna Applicant", "applicant", "Cafe Mitte")
	prog := app.CreateProgramme(t, 10_000_000, nil)
	var st grant
	app.Must(t, 201, "POST", "/api/v1/applications", applicant, apptest.Proposal(prog, "Cafe Mitte", 2_000_000)).JSON(t, &st)
	for _, org := range []string{"Stadtwerke", "IHK", "Buchhandlung Nord"} {
		rev := app.CreateUser(t, "Reviewer "+org, "reviewer", org)
		app.Must(t, 200, "POST", "/api/v1/applications/"+st.ID+"/reviews", rev,
			map[string]any{"recommendation": "revise", "scores": apptest.Scores(3)})
	}
	b := signedIn(t, app.URL, applicant.Token)
	if p := b.do("GET", "/console/applications/"+st.ID, nil); !strings.Contains(p.body, "/console/applications/"+st.ID+"/revision") {
		t.Fatalf("the application asking for a revision has no link to revise it:\n%s", p.body)
	}
	p := b.do("GET", "/console/applications/"+st.ID+"/revision", nil)
	for _, want := range []string{`value="Click &amp; Collect Altstadt"`, `value="20000"`, `value="Buchladen Eck"`, `value="10000"`, `value="2027-12-31"`} {
		if !strings.Contains(p.body, want) {
			t.Errorf("the revision form lacks %s (the proposal as it stands)", want)
		}
	}
	form := url.Values{"title": {"Click & Collect Altstadt, sharper"}, "summary": {"six shops, milestones per quarter"},
		"requested": {"18.000"}, "total_cost": {"lots"}, "start_date": {"2027-01-01"}, "end_date": {"2027-12-31"},
		"group_name": {"Altstadt retailers"}, "member_0": {"Cafe Mitte"}, "member_1": {"Buchladen Eck"}, "member_aid_1": {"10.000"},
		"payee_name": {"Cafe Mitte GmbH"}, "payee_iban": {"DE89 3704 0044 0532 0130 00"}, "idempotency_key": {"console-test-revision"}}
	if p := b.do("POST", "/console/applications/"+st.ID+"/revision", form); p.status != http.StatusUnprocessableEntity ||
		!strings.Contains(p.body, "not an amount") || !strings.Contains(p.body, `value="Click &amp; Collect Altstadt, sharper"`) {
		t.Fatalf("a revision with a bad amount = %d, want 422 with the error and the form as typed:\n%s", p.status, p.body)
	}
	form.Set("total_cost", "36.000")
	if p := b.do("POST", "/console/applications/"+st.ID+"/revision", form); p.status != http.StatusSeeOther {
		t.Fatalf("revision = %d, want 303:\n%s", p.status, p.body)
	}
	var now grant
	app.Must(t, 200, "GET", "/api/v1/applications/"+st.ID, applicant, nil).JSON(t, &now)
	if now.Status != "in_review" || now.Proposal.Title != "Click & Collect Altstadt, sharper" || now.Proposal.RequestedCents != 1_800_000 {
		t.Errorf("after the revision: %s %q %d, want in_review with the new title and 1,800,000 cents", now.Status, now.Proposal.Title,
			now.Proposal.RequestedCents)
	}
	// Sent again (a reload), the same form is the same revision, not a second.
	if p := b.do("POST", "/console/applications/"+st.ID+"/revision", form); p.status != http.StatusSeeOther {
		t.Errorf("the same revision again = %d, want 303 (idempotent)", p.status)
	}
	app.Must(t, 200, "GET", "/api/v1/applications/"+st.ID, applicant, nil).JSON(t, &now)
	if now.RevisionRound != 1 {
		t.Errorf("revision round after the form sent twice = %d, want 1", now.RevisionRound)
	}
	// A reviewer has no revision form.
	rev := newBrowser(t, app.URL)
	rev.signIn(app.CreateUser(t, "Rita Reviewer", "reviewer", "Stadtwerke Süd").Token)
	if p := rev.do("GET", "/console/applications/"+st.ID+"/revision", nil); p.status != http.StatusForbidden {
		t.Errorf("a reviewer's revision page = %d, want 403", p.status)
	}
}

// TestConsoleGrantForms: documents attached and read back, the letters,
// an amendment applied for and approved by the programme's admin, a drawdown, and the
// end of an application by its group or for cause, each through the pages.
func TestConsoleGrantForms(t *testing.T) {
	app := apptest.Start(t)
	applicant := app.CreateUser(t, "Anna Applicant", "applicant", "Cafe Mitte")
	prog := app.CreateProgramme(t, 10_000_000, nil)
	st := activeGrant(t, app, applicant, prog)
	page := "/console/applications/" + st.ID
	b := signedIn(t, app.URL, applicant.Token)

	// Documents.
	pdf := []byte("%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n")
	key := map[string]string{"kind": "agreement", "idempotency_key": "console-test-doc"}
	if p := b.upload(page+"/documents", key, "signed agreement.pdf", pdf); p.status != http.StatusSeeOther {
		t.Fatalf("upload = %d:\n%s", p.status, p.body)
	}
	p := b.do("GET", page, nil)
	if !strings.Contains(p.body, "The document is attached") || !strings.Contains(p.body, "signed agreement.pdf") {
		t.Fatalf("the page after the upload does not list the file:\n%s", p.body)
	}
	var docs struct {
		Items []struct{ ID string } `json:"items"`
	}
	app.Must(t, 200, "GET", "/api/v1/applications/"+st.ID+"/documents", applicant, nil).JSON(t, &docs)
	if len(docs.Items) != 1 {
		t.Fatalf("documents = %+v, want the one uploaded", docs.Items)
	}
	if d := b.do("GET", page+"/documents/"+docs.Items[0].ID, nil); d.status != 200 || d.body != string(pdf) ||
		d.header.Get("Content-Type") != "application/pdf" {
		t.Errorf("download = %d %q, want the same bytes as application/pdf", d.status, d.header.Get("Content-Type"))
	}
	if p := b.upload(page+"/documents", map[string]string{"kind": "agreement"}, "", nil); p.status != http.StatusSeeOther {
		t.Errorf("an upload without a file = %d, want 303 back with the error", p.status)
	} else if p := b.do("GET", page, nil); !strings.Contains(p.body, "choose a file") {
		t.Errorf("the upload without a file does not say why")
	}
	if p := b.upload(page+"/documents", map[string]string{"kind": "love letter"}, "x.pdf", pdf); p.status != http.StatusSeeOther {
		t.Errorf("an upload of an unknown kind = %d", p.status)
	} else if p := b.do("GET", page, nil); !strings.Contains(p.body, "must be one of") {
		t.Errorf("the upload of an unknown kind does not say the API's reason")
	}
	for _, l := range []string{"agreement", "decision-letter", "de-minimis-certificate"} {
		if d := b.do("GET", page+"/letters/"+l, nil); d.status != 200 || !strings.HasPrefix(d.body, "%PDF") {
			t.Errorf("letter %s = %d %q, want a PDF", l, d.status, d.header.Get("Content-Type"))
		}
	}
	if d := b.do("GET", page+"/letters/love-letter", nil); d.status != http.StatusNotFound {
		t.Errorf("an unknown letter = %d, want 404", d.status)
	}
	// A stranger's browser gets neither the file nor the letters.
	other := newBrowser(t, app.URL)
	other.signIn(app.CreateUser(t, "Otto Other", "applicant", "Bäckerei Süd").Token)
	if d := other.do("GET", page+"/documents/"+docs.Items[0].ID, nil); d.status == 200 {
		t.Errorf("another group's applicant downloaded the document")
	}
	if d := other.do("GET", page+"/letters/agreement", nil); d.status == 200 {
		t.Errorf("another group's applicant downloaded the agreement")
	}

	// An amendment: a later end, decided by a board member.
	if p := b.do("POST", page+"/amendments", url.Values{"reason": {"the lockers arrive late"}, "end_date": {"2028-03-31"},
		"idempotency_key": {"console-test-amend"}}); p.status != http.StatusSeeOther {
		t.Fatalf("amendment = %d", p.status)
	}
	if p := b.do("GET", page, nil); !strings.Contains(p.body, "The amendment is applied for") || !strings.Contains(p.body, "2027-12-31 → 2028-03-31") {
		t.Fatalf("the page does not show the amendment applied for:\n%s", p.body)
	}
	board := signedIn(t, app.URL, app.Admin.Token) // the programme's administration decides, as next says
	var now grant
	app.Must(t, 200, "GET", "/api/v1/applications/"+st.ID, applicant, nil).JSON(t, &now)
	var amendments struct {
		Amendments []struct{ ID, Status string } `json:"amendments"`
	}
	app.Must(t, 200, "GET", "/api/v1/applications/"+st.ID, applicant, nil).JSON(t, &amendments)
	if len(amendments.Amendments) != 1 {
		t.Fatalf("amendments = %+v", amendments.Amendments)
	}
	if p := board.do("GET", page, nil); !strings.Contains(p.body, `action="`+page+`/amendment-decision"`) {
		t.Fatalf("the admin's page has no decision form for the pending amendment:\n%s", p.body)
	}
	if p := board.do("POST", page+"/amendment-decision", url.Values{"amendment_id": {amendments.Amendments[0].ID},
		"decision": {"approve"}, "reason": {"the supplier's delay"}}); p.status != http.StatusSeeOther {
		t.Fatalf("decision = %d", p.status)
	}
	app.Must(t, 200, "GET", "/api/v1/applications/"+st.ID, applicant, nil).JSON(t, &now)
	if got := now.Proposal.EndDate.Format("2006-01-02"); got != "2028-03-31" {
		t.Errorf("end date after the approved amendment = %s, want 2028-03-31", got)
	}
	if p := b.do("GET", page, nil); !strings.Contains(p.body, "approved") || !strings.Contains(p.body, "the supplier&#39;s delay") {
		t.Errorf("the applicant's page does not show the decision")
	}

	// A drawdown in a programme that pays on request.
	dprog := app.CreateProgramme(t, 10_000_000, map[string]any{"payment_mode": "drawdown"})
	dst := activeGrant(t, app, applicant, dprog)
	dpage := "/console/applications/" + dst.ID
	if p := b.do("GET", dpage, nil); !strings.Contains(p.body, `action="`+dpage+`/drawdowns"`) {
		t.Fatalf("a drawdown grant's page has no drawdown form:\n%s", p.body)
	}
	if p := b.do("POST", dpage+"/drawdowns", url.Values{"amount": {"some"}, "costs_incurred": {"8.000"}}); p.status != http.StatusSeeOther {
		t.Errorf("a drawdown without an amount = %d", p.status)
	} else if p := b.do("GET", dpage, nil); !strings.Contains(p.body, "not an amount") {
		t.Errorf("the drawdown without an amount does not say why")
	}
	if p := b.do("POST", dpage+"/drawdowns", url.Values{"amount": {"4.000"}, "costs_incurred": {"8.000"},
		"idempotency_key": {"console-test-draw"}}); p.status != http.StatusSeeOther {
		t.Fatalf("drawdown = %d", p.status)
	}
	app.Must(t, 200, "GET", "/api/v1/applications/"+dst.ID, applicant, nil).JSON(t, &now)
	if len(now.Tranches) != 2 || now.Tranches[1].AmountCents != 400_000 || now.Tranches[1].Status != "due" {
		t.Errorf("tranches after a drawdown of 4,000.00 EUR = %+v, want one due of 400000 cents", now.Tranches)
	}

	// The end: the group withdraws an application nothing was paid on; the
	// admin cancels the other for cause.
	var fresh grant
	app.Must(t, 201, "POST", "/api/v1/applications", applicant, apptest.Proposal(prog, "Cafe Mitte", 1_000_000)).JSON(t, &fresh)
	if p := b.do("POST", "/console/applications/"+fresh.ID+"/withdrawal", url.Values{"reason": {"other money found"}}); p.status != http.StatusSeeOther {
		t.Fatalf("withdrawal = %d", p.status)
	}
	adm := signedIn(t, app.URL, app.Admin.Token)
	if p := adm.do("POST", dpage+"/cancellation", url.Values{"reason": {""}}); p.status != http.StatusSeeOther {
		t.Errorf("a cancellation without a reason = %d", p.status)
	} else if p := adm.do("GET", dpage, nil); !strings.Contains(p.body, "reason") || !strings.Contains(p.body, "class=\"error") {
		t.Errorf("the cancellation without a reason does not say why")
	}
	if p := adm.do("POST", dpage+"/cancellation", url.Values{"reason": {"the group dissolved"}}); p.status != http.StatusSeeOther {
		t.Fatalf("cancellation = %d", p.status)
	}
	for id, want := range map[string]string{fresh.ID: "withdrawn", dst.ID: "cancelled"} {
		app.Must(t, 200, "GET", "/api/v1/applications/"+id, applicant, nil).JSON(t, &now)
		if now.Status != want {
			t.Errorf("%s: status %s, want %s", id, now.Status, want)
		}
	}
	app.BooksExact(t)
}

// TestConsoleNewProgrammeAndRules: an admin creates a programme with its
// criteria, tranche plan and deadlines through the form (a refused value
// comes back inline with what was typed), finds the rules in the edit form,
// and changes them; the API holds what the forms said. Others get no form.
func TestConsoleNewProgrammeAndRules(t *testing.T) {
	app := apptest.Start(t)
	b := signedIn(t, app.URL, app.Admin.Token)
	if p := b.do("GET", "/console/", nil); !strings.Contains(p.body, `href="/console/programmes/new"`) {
		t.Fatalf("the admin's home has no link to a new programme")
	}
	form := url.Values{"name": {"Digitale Innenstadt 2027"}, "budget": {"500.000"}, "max_grant": {"50.000"}, "funding_rate": {"60"},
		"reviewers": {"2"}, "threshold": {"3,5"}, "criterion_0": {"impact"}, "weight_0": {"3"}, "criterion_1": {"feasibility"},
		"tranche_percent_0": {"50"}, "tranche_trigger_0": {"acceptance"}, "tranche_percent_1": {"60"}, "tranche_trigger_1": {"final_report_accepted"},
		"review_days": {"10"}, "payment_mode": {"tranches"}, "debtor_name": {"Stadt Musterstadt"}, "debtor_iban": {"DE89370400440532013000"},
		"idempotency_key": {"console-test-programme"}}
	// 50 + 60 %: the API refuses the plan, the form comes back as typed.
	if p := b.do("POST", "/console/programmes", form); p.status != http.StatusUnprocessableEntity || !strings.Contains(p.body, "tranche_plan") && !strings.Contains(p.body, "100") ||
		!strings.Contains(p.body, `value="Digitale Innenstadt 2027"`) {
		t.Fatalf("a plan of 110 %% = %d, want 422 with the reason and the form as typed:\n%s", p.status, p.body)
	}
	form.Set("tranche_percent_1", "50")
	form.Set("idempotency_key", "console-test-programme-2")
	p := b.do("POST", "/console/programmes", form)
	if p.status != http.StatusSeeOther || !strings.HasPrefix(p.location, "/console/programmes/") {
		t.Fatalf("new programme = %d → %q:\n%s", p.status, p.location, p.body)
	}
	id := strings.TrimPrefix(p.location, "/console/programmes/")
	type rulesView struct {
		Name  string
		Rules struct {
			BudgetCents            int64 `json:"budget_cents"`
			MaxGrantCents          int64 `json:"max_grant_cents"`
			FundingRatePercent     int   `json:"funding_rate_percent"`
			ReviewersRequired      int   `json:"reviewers_required"`
			ApprovalThresholdMilli int   `json:"approval_threshold_milli"`
			ReviewDeadlineDays     int   `json:"review_deadline_days"`
			Criteria               []struct {
				Name   string
				Weight int
			}
			TranchePlan []struct {
				Percent int
				Trigger string
			} `json:"tranche_plan"`
		}
	}
	var got rulesView
	app.Must(t, 200, "GET", "/api/v1/programmes/"+id, app.Admin, nil).JSON(t, &got)
	r := got.Rules
	if got.Name != "Digitale Innenstadt 2027" || r.BudgetCents != 50_000_000 || r.MaxGrantCents != 5_000_000 || r.FundingRatePercent != 60 ||
		r.ReviewersRequired != 2 || r.ApprovalThresholdMilli != 3500 || r.ReviewDeadlineDays != 10 || len(r.Criteria) != 2 ||
		r.Criteria[0].Weight != 3 || r.Criteria[1].Weight != 1 || len(r.TranchePlan) != 2 || r.TranchePlan[1].Trigger != "final_report_accepted" {
		t.Fatalf("the programme as created = %+v", got)
	}
	// The edit form shows the rules; a change keeps what it does not name.
	p = b.do("GET", "/console/programmes/"+id+"/rules", nil)
	for _, want := range []string{`value="50000"`, `value="60"`, `value="3.5"`, `value="impact"`, `value="10"`} {
		if !strings.Contains(p.body, want) {
			t.Errorf("the rules form lacks %s", want)
		}
	}
	if p := b.do("POST", "/console/programmes/"+id+"/rules", url.Values{"review_days": {"two weeks"}}); p.status != http.StatusUnprocessableEntity ||
		!strings.Contains(p.body, "not a whole number") {
		t.Errorf("rules with days in words = %d, want 422 saying so", p.status)
	}
	if p := b.do("POST", "/console/programmes/"+id+"/rules", url.Values{"review_days": {"14"}, "funding_rate": {"50"}}); p.status != http.StatusSeeOther {
		t.Fatalf("change the rules = %d:\n%s", p.status, p.body)
	}
	app.Must(t, 200, "GET", "/api/v1/programmes/"+id, app.Admin, nil).JSON(t, &got)
	if got.Rules.ReviewDeadlineDays != 14 || got.Rules.FundingRatePercent != 50 || got.Rules.MaxGrantCents != 5_000_000 || len(got.Rules.Criteria) != 2 {
		t.Errorf("rules after the change = %+v, want 14 days, 50 %%, the rest kept", got.Rules)
	}
	fin := newBrowser(t, app.URL)
	fin.signIn(app.CreateUser(t, "Fritz Finance", "finance", "Stadtkasse").Token)
	for _, path := range []string{"/console/programmes/new", "/console/programmes/" + id + "/rules"} {
		if p := fin.do("GET", path, nil); p.status != http.StatusForbidden {
			t.Errorf("finance GET %s = %d, want 403", path, p.status)
		}
	}
	if p := fin.do("POST", "/console/programmes", form); p.status != http.StatusForbidden {
		t.Errorf("finance's new programme = %d, want 403", p.status)
	}
}

// TestConsoleOrganisations: an admin registers a company (the same register
// number twice is refused, with the API's reason); the registry is searched
// by name; after a grant, the state-aid register shows each member's share
// and what is left under the ceiling, to admins and finance only.
func TestConsoleOrganisations(t *testing.T) {
	app := apptest.Start(t)
	applicant := app.CreateUser(t, "Anna Applicant", "applicant", "Cafe Mitte")
	prog := app.CreateProgramme(t, 10_000_000, nil)
	activeGrant(t, app, applicant, prog)
	b := signedIn(t, app.URL, app.Admin.Token)
	reg := url.Values{"name": {"Bäckerei Süd"}, "legal_form": {"GmbH"}, "register_number": {"HRB 4711"}, "idempotency_key": {"console-test-org"}}
	if p := b.do("POST", "/console/organisations", reg); p.status != http.StatusSeeOther {
		t.Fatalf("register = %d", p.status)
	}
	if p := b.do("GET", "/console/organisations", nil); !strings.Contains(p.body, "The organisation is registered") || !strings.Contains(p.body, "HRB 4711") {
		t.Fatalf("the registry does not list the new company:\n%s", p.body)
	}
	reg.Set("name", "Bäckerei Nord")
	reg.Set("idempotency_key", "console-test-org-2")
	b.do("POST", "/console/organisations", reg)
	if p := b.do("GET", "/console/organisations", nil); !strings.Contains(p.body, `class="error"`) || strings.Contains(p.body, "Bäckerei Nord") {
		t.Errorf("a second company with the same register number is not refused on the page")
	}
	if p := b.do("GET", "/console/organisations?q=B%C3%A4ckerei", nil); !strings.Contains(p.body, "Bäckerei Süd") || strings.Contains(p.body, "<tr><td>Cafe Mitte</td><td></td>") {
		t.Errorf("the search for Bäckerei does not list just it:\n%s", p.body)
	}
	// The grant of 20,000.00 EUR: Cafe Mitte's and Buchladen Eck's shares.
	var aid struct {
		Organisations []struct {
			Name            string `json:"name"`
			ThreeYearsCents int64  `json:"three_years_cents"`
		} `json:"organisations"`
	}
	app.Must(t, 200, "GET", "/api/v1/state-aid", app.Admin, nil).JSON(t, &aid)
	if len(aid.Organisations) == 0 {
		t.Fatal("no aid in the register after a grant")
	}
	p := b.do("GET", "/console/organisations", nil)
	for _, o := range aid.Organisations {
		if !strings.Contains(p.body, "<td>"+o.Name+"</td><td class=\"num\">"+models.FormatEuro(o.ThreeYearsCents)) {
			t.Errorf("the register on the page lacks %s with %s", o.Name, models.FormatEuro(o.ThreeYearsCents))
		}
	}
	fin := signedIn(t, app.URL, app.CreateUser(t, "Fritz Finance", "finance", "Stadtkasse").Token)
	if p := fin.do("GET", "/console/organisations", nil); !strings.Contains(p.body, "State-aid register") || strings.Contains(p.body, `action="/console/organisations"`+` class="card"`) {
		t.Errorf("finance's page: want the register, no form")
	}
	ab := signedIn(t, app.URL, applicant.Token)
	if p := ab.do("GET", "/console/organisations", nil); p.status != 200 || strings.Contains(p.body, "State-aid register") {
		t.Errorf("an applicant's organisations page = %d, want the registry without the aid register", p.status)
	}
	if p := ab.do("POST", "/console/organisations", url.Values{"name": {"Mine GmbH"}}); p.status != http.StatusSeeOther {
		t.Errorf("an applicant's registration = %d, want 303 back with the refusal", p.status)
	}
	var orgs struct{ Items []struct{ Name string } }
	app.Must(t, 200, "GET", "/api/v1/organisations?q=Mine", app.Admin, nil).JSON(t, &orgs)
	if len(orgs.Items) != 0 {
		t.Errorf("an applicant registered an organisation through the console")
	}
}

// TestConsoleBoardConflictAndVote: a board member close to the group
// declares a conflict of interest on the page instead of voting (the admin
// then sees it, and a vote of the same member is refused); another votes
// and then finds the vote taken, not the form again.
func TestConsoleBoardConflictAndVote(t *testing.T) {
	app := apptest.Start(t)
	applicant := app.CreateUser(t, "Anna Applicant", "applicant", "Cafe Mitte")
	prog := app.CreateProgramme(t, 10_000_000, nil)
	rita := app.CreateUser(t, "Rita Reviewer", "reviewer", "Stadtwerke")
	rosa := app.CreateUser(t, "Rosa Reviewer", "reviewer", "IHK") // the board as the application comes in: told of it
	var st grant
	app.Must(t, 201, "POST", "/api/v1/applications", applicant, apptest.Proposal(prog, "Cafe Mitte", 2_000_000)).JSON(t, &st)
	appPage := "/console/applications/" + st.ID
	near := signedIn(t, app.URL, rita.Token)
	if p := near.do("GET", appPage, nil); !strings.Contains(p.body, `id="conflict-form"`) || !strings.Contains(p.body, `id="vote-form"`) {
		t.Fatalf("a board member's page lacks the vote or the conflict form")
	}
	if p := near.do("POST", appPage+"/reviews", url.Values{"conflict_of_interest": {"true"}}); p.status != http.StatusSeeOther {
		t.Fatalf("declare a conflict = %d", p.status)
	}
	if p := near.do("GET", appPage, nil); !strings.Contains(p.body, "Your conflict of interest is recorded") {
		t.Errorf("no notice after the conflict")
	}
	var seen struct {
		Votes     []any `json:"votes"`
		Conflicts []any `json:"conflicts"`
	}
	app.Must(t, 200, "GET", "/api/v1/applications/"+st.ID, app.Admin, nil).JSON(t, &seen)
	if len(seen.Conflicts) != 1 || len(seen.Votes) != 0 {
		t.Fatalf("after the conflict: %d conflicts, %d votes; want 1 and 0", len(seen.Conflicts), len(seen.Votes))
	}
	vote := url.Values{"recommendation": {"approve"}, "score_impact": {"5"}, "score_feasibility": {"5"}, "score_partnership": {"5"}}
	near.do("POST", appPage+"/reviews", vote)
	if p := near.do("GET", appPage, nil); !strings.Contains(p.body, `class="error"`) {
		t.Errorf("the conflicted member's vote is not refused on the page")
	}
	other := signedIn(t, app.URL, rosa.Token)
	if p := other.do("POST", appPage+"/reviews", vote); p.status != http.StatusSeeOther {
		t.Fatalf("vote = %d", p.status)
	}
	if p := other.do("GET", appPage, nil); !strings.Contains(p.body, "You have voted in this round") || strings.Contains(p.body, `id="vote-form"`) {
		t.Errorf("after the vote the page offers the form again")
	}
	app.Must(t, 200, "GET", "/api/v1/applications/"+st.ID, app.Admin, nil).JSON(t, &seen)
	if len(seen.Votes) != 1 {
		t.Errorf("votes = %d, want the one", len(seen.Votes))
	}
	// Voted, the board member takes the request to vote off the home page.
	re := regexp.MustCompile(`action="(/console/notifications/[^"]+/read)"`)
	var home page
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if home = other.do("GET", "/console/", nil); re.MatchString(home.body) {
			break
		}
	}
	m := re.FindStringSubmatch(home.body)
	if m == nil {
		t.Fatalf("the board member's home lists nothing to take off:\n%s", home.body)
	}
	if p := other.do("POST", m[1], nil); p.status != http.StatusSeeOther {
		t.Fatalf("take off = %d", p.status)
	}
	if p := other.do("GET", "/console/", nil); strings.Contains(p.body, m[1]) || !strings.Contains(p.body, "Taken off your list") {
		t.Errorf("the item is still on the home page")
	}
}

// TestConsoleSignInByLink: a person without a token asks for a link on the
// sign-in page; the mail's link lands on a page whose button signs in (a
// scanner opening the link spends nothing); the same link twice is
// refused with the reason.
func TestConsoleSignInByLink(t *testing.T) {
	app := apptest.Start(t)
	app.Must(t, http.StatusCreated, "POST", "/api/v1/users", app.Admin, map[string]any{"name": "Fritz Finance", "role": "finance",
		"organisation": "Stadtkasse", "email": "fritz@stadt.test", "language": "en"})
	b := newBrowser(t, app.URL)
	b.do("GET", "/console/language/en", nil)
	if p := b.do("GET", "/console/sign-in", nil); !strings.Contains(p.body, `action="/console/sign-in/link-request"`) {
		t.Fatalf("the sign-in page offers no link by e-mail")
	}
	if p := b.do("POST", "/console/sign-in/link-request", url.Values{"email": {"fritz@stadt.test"}}); p.status != http.StatusOK ||
		!strings.Contains(p.body, "a sign-in link is on its way") {
		t.Fatalf("ask for a link = %d:\n%s", p.status, p.body)
	}
	if p := b.do("POST", "/console/sign-in/link-request", url.Values{"email": {"not an address"}}); p.status != http.StatusUnprocessableEntity {
		t.Errorf("a link to no address = %d, want 422", p.status)
	}
	var link string
	for _, m := range app.Mail.Sent() {
		if m.To == "fritz@stadt.test" {
			_, rest, ok := strings.Cut(m.Text, "http://reallabor.test")
			if ok {
				link = strings.Fields(rest)[0]
			}
		}
	}
	if !strings.HasPrefix(link, "/console/sign-in/link?token=") {
		t.Fatalf("no link in the mail: %q", link)
	}
	p := b.do("GET", link, nil)
	if p.status != http.StatusOK || !strings.Contains(p.body, `name="link_token"`) {
		t.Fatalf("the link's page = %d, want the button:\n%s", p.status, p.body)
	}
	u, _ := url.Parse(link)
	form := url.Values{"link_token": {u.Query().Get("token")}}
	if p := b.do("POST", "/console/sign-in/link", form); p.status != http.StatusSeeOther || p.location != "/console/" {
		t.Fatalf("sign in with the link = %d → %q:\n%s", p.status, p.location, p.body)
	}
	if p := b.do("GET", "/console/disbursements", nil); p.status != http.StatusOK || !strings.Contains(p.body, "Fritz Finance") {
		t.Errorf("after the link the session is not Fritz's: %d", p.status)
	}
	other := newBrowser(t, app.URL)
	other.do("GET", "/console/language/en", nil)
	if p := other.do("POST", "/console/sign-in/link", form); p.status != http.StatusUnauthorized || !strings.Contains(p.body, "used or expired") {
		t.Errorf("the same link again = %d, want 401 saying why:\n%s", p.status, p.body)
	}
}

// TestConsoleAmendCostPlan: a group shifts costs between the plan's lines
// through the amendment form (a plan that no longer adds up to the total is
// refused with the API's reason, an amount in words by the console); the
// approved amendment is the plan the application then carries.
func TestConsoleAmendCostPlan(t *testing.T) {
	app := apptest.Start(t)
	applicant := app.CreateUser(t, "Anna Applicant", "applicant", "Cafe Mitte")
	prog := app.CreateProgramme(t, 10_000_000, nil)
	body := apptest.Proposal(prog, "Cafe Mitte", 2_000_000) // total cost 40,000.00 EUR
	body["cost_plan"] = []map[string]any{{"category": "personnel", "description": "staff", "amount_cents": 2_500_000},
		{"category": "material", "description": "lockers", "amount_cents": 1_500_000}}
	var st grant
	app.Must(t, 201, "POST", "/api/v1/applications", applicant, body).JSON(t, &st)
	for _, org := range []string{"Stadtwerke", "IHK", "Buchhandlung Nord"} {
		app.Must(t, 200, "POST", "/api/v1/applications/"+st.ID+"/reviews", app.CreateUser(t, "Reviewer "+org, "reviewer", org),
			map[string]any{"recommendation": "approve", "scores": apptest.Scores(5)})
	}
	app.Must(t, 200, "POST", "/api/v1/applications/"+st.ID+"/acceptance", applicant, nil)
	page := "/console/applications/" + st.ID
	b := signedIn(t, app.URL, applicant.Token)
	if p := b.do("GET", page, nil); !strings.Contains(p.body, `name="cost_material"`) || !strings.Contains(p.body, "15,000.00 EUR") {
		t.Fatalf("the amendment form has no cost lines with the plan as it stands:\n%s", p.body)
	}
	for _, c := range []struct{ material, want string }{{"lots", "not an amount"}, {"10.000", "adds up to"}} {
		b.do("POST", page+"/amendments", url.Values{"reason": {"lockers cost more"}, "cost_personnel": {"20.000"}, "cost_material": {c.material}})
		if p := b.do("GET", page, nil); !strings.Contains(p.body, c.want) {
			t.Errorf("material %q: the page does not say %q", c.material, c.want)
		}
	}
	if p := b.do("POST", page+"/amendments", url.Values{"reason": {"lockers cost more"}, "cost_personnel": {"20.000"},
		"cost_desc_personnel": {"staff"}, "cost_material": {"20.000"}, "cost_desc_material": {"lockers"}}); p.status != http.StatusSeeOther {
		t.Fatalf("amendment = %d", p.status)
	}
	var now struct {
		Amendments []struct{ ID string } `json:"amendments"`
		Proposal   struct {
			CostPlan []struct {
				Category    string `json:"category"`
				AmountCents int64  `json:"amount_cents"`
			} `json:"cost_plan"`
		} `json:"proposal"`
	}
	app.Must(t, 200, "GET", "/api/v1/applications/"+st.ID, applicant, nil).JSON(t, &now)
	if len(now.Amendments) != 1 {
		t.Fatalf("amendments = %+v, want the one (the refused forms made none)", now.Amendments)
	}
	app.Must(t, 200, "POST", "/api/v1/applications/"+st.ID+"/amendments/"+now.Amendments[0].ID+"/decision", app.Admin,
		map[string]any{"decision": "approve"})
	app.Must(t, 200, "GET", "/api/v1/applications/"+st.ID, applicant, nil).JSON(t, &now)
	got := map[string]int64{}
	for _, l := range now.Proposal.CostPlan {
		got[l.Category] = l.AmountCents
	}
	if len(got) != 2 || got["personnel"] != 2_000_000 || got["material"] != 2_000_000 {
		t.Errorf("cost plan after the amendment = %v, want 20,000.00 EUR each", got)
	}
}

// TestConsoleWebhooks: an admin subscribes a system (its signing secret
// shown once, on the answering page; a bad address refused next to its
// field), reads the delivery log as hand-offs go out, and ends the
// subscription; nobody else has the page.
func TestConsoleWebhooks(t *testing.T) {
	app := apptest.Start(t)
	got := make(chan struct{}, 100)
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- struct{}{}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer recv.Close()
	b := signedIn(t, app.URL, app.Admin.Token)
	if p := b.do("POST", "/console/webhooks", url.Values{"url": {"ftp://example.org/hook"}, "events": {"*"}}); p.status != http.StatusUnprocessableEntity ||
		!strings.Contains(p.body, `id="err-wh_url"`) || !strings.Contains(p.body, `value="ftp://example.org/hook"`) {
		t.Fatalf("a bad address = %d, want 422 next to the field with what was typed:\n%s", p.status, p.body)
	}
	if p := b.do("POST", "/console/webhooks", url.Values{"url": {recv.URL}, "events": {"approved, love"}}); p.status != http.StatusUnprocessableEntity ||
		!strings.Contains(p.body, "is not an event kind") {
		t.Errorf("an unknown event kind = %d, want 422 saying so", p.status)
	}
	p := b.do("POST", "/console/webhooks", url.Values{"url": {recv.URL + "/hook"}, "events": {"eligibility_passed"},
		"idempotency_key": {"console-test-webhook"}})
	if p.status != http.StatusCreated || !strings.Contains(p.body, "whsec_") {
		t.Fatalf("subscribe = %d, want 201 with the secret:\n%s", p.status, p.body)
	}
	if p := b.do("GET", "/console/webhooks", nil); strings.Contains(p.body, "whsec_") || !strings.Contains(p.body, recv.URL+"/hook") {
		t.Errorf("the list shows the secret again, or not the webhook")
	}
	var hooks struct{ Items []struct{ ID string } }
	app.Must(t, 200, "GET", "/api/v1/webhooks", app.Admin, nil).JSON(t, &hooks)
	if len(hooks.Items) != 1 {
		t.Fatalf("webhooks = %+v", hooks.Items)
	}
	applicant := app.CreateUser(t, "Anna Applicant", "applicant", "Cafe Mitte")
	app.Must(t, 201, "POST", "/api/v1/applications", applicant, apptest.Proposal(app.CreateProgramme(t, 10_000_000, nil), "Cafe Mitte", 1_000_000))
	select {
	case <-got:
	case <-time.After(15 * time.Second):
		t.Fatal("no delivery reached the receiver")
	}
	logPage := "/console/webhooks/" + hooks.Items[0].ID
	var lp page
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if lp = b.do("GET", logPage, nil); strings.Contains(lp.body, "<td>delivered</td>") {
			break
		}
	}
	if !strings.Contains(lp.body, "<td>eligibility_passed</td>") || !strings.Contains(lp.body, "<td>delivered</td>") {
		t.Errorf("the delivery log does not show the submission delivered:\n%s", lp.body)
	}
	if p := b.do("GET", "/console/webhooks/no-such-hook", nil); p.status != http.StatusNotFound {
		t.Errorf("an unknown webhook's log = %d, want 404", p.status)
	}
	fin := signedIn(t, app.URL, app.CreateUser(t, "Fritz Finance", "finance", "Stadtkasse").Token)
	if p := fin.do("GET", "/console/webhooks", nil); p.status != http.StatusForbidden {
		t.Errorf("finance's webhooks page = %d, want 403", p.status)
	}
	if p := b.do("POST", "/console/webhooks/"+hooks.Items[0].ID+"/end", nil); p.status != http.StatusSeeOther {
		t.Fatalf("end = %d", p.status)
	}
	if p := b.do("GET", "/console/webhooks", nil); !strings.Contains(p.body, "The subscription is ended") || strings.Contains(p.body, recv.URL+"/hook") {
		t.Errorf("the ended webhook is still listed")
	}
}
