package console_test

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"reallabor/internal/apptest"
	"reallabor/internal/console"
	"reallabor/models"
)

// browser is a client with its own cookies: one person's browser.
type browser struct {
	t    *testing.T
	base string
	c    *http.Client
}

func newBrowser(t *testing.T, base string) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, base: base, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse // the tests look at each redirect
	}}}
}

// page is one answer: its status, where it redirects, its HTML.
type page struct {
	status   int
	location string
	body     string
	header   http.Header
}

func (b *browser) do(method, path string, form url.Values, headers ...string) page {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, b.base+path, body)
	if err != nil {
		b.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return page{status: resp.StatusCode, location: resp.Header.Get("Location"), body: string(raw), header: resp.Header}
}

func (b *browser) signIn(token string) page {
	b.t.Helper()
	return b.do("POST", "/console/sign-in", url.Values{"token": {token}})
}

// TestConsoleSessions: a token signs in to a session cookie that scripts
// cannot read and other sites do not send; a bad token is refused with the
// reason; a revoked token ends the session at the next page; sign-out ends
// it; no redirect leaves the console.
func TestConsoleSessions(t *testing.T) {
	app := apptest.Start(t)
	fin := app.CreateUser(t, "Fritz Finance", "finance", "Stadtkasse")

	anon := newBrowser(t, app.URL)
	if p := anon.do("GET", "/", nil); p.status != http.StatusSeeOther || p.location != "/console/" {
		t.Errorf("GET / = %d → %q, want 303 → /console/", p.status, p.location)
	}
	if p := anon.do("GET", "/console/disbursements", nil); p.status != http.StatusSeeOther ||
		!strings.HasPrefix(p.location, "/console/sign-in?next=%2Fconsole%2Fdisbursements") {
		t.Errorf("a page without a session = %d → %q, want 303 to sign in, then back", p.status, p.location)
	}
	if p := anon.signIn("rl_never-issued"); p.status != http.StatusUnauthorized || !strings.Contains(p.body, "does not sign in") {
		t.Errorf("sign-in with a bad token = %d, want 401 saying so:\n%s", p.status, p.body)
	}
	if p := anon.signIn(""); p.status != http.StatusUnprocessableEntity {
		t.Errorf("sign-in without a token = %d, want 422", p.status)
	}

	b := newBrowser(t, app.URL)
	req, _ := http.NewRequest("POST", app.URL+"/console/sign-in", strings.NewReader(url.Values{"token": {fin.Token}, "next": {"https://evil.example/"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := b.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/console/" {
		t.Errorf("sign-in with next=https://evil.example/ → %d %q, want 303 /console/ (no open redirect)", resp.StatusCode, resp.Header.Get("Location"))
	}
	var session *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "rl_session" {
			session = c
		}
	}
	switch {
	case session == nil:
		t.Fatal("no session cookie")
	case !session.HttpOnly || session.SameSite != http.SameSiteStrictMode || session.Path != "/":
		t.Errorf("session cookie = %+v, want HttpOnly, SameSite=Strict, Path=/", session)
	case strings.Contains(session.Value, fin.Token):
		t.Errorf("the session cookie holds the token in the clear")
	}
	if p := b.do("GET", "/console/", nil); p.status != http.StatusOK || !strings.Contains(p.body, "Fritz Finance") {
		t.Fatalf("home after sign-in = %d, want 200 naming the user:\n%s", p.status, p.body)
	}

	// A tampered cookie is no session.
	forged := newBrowser(t, app.URL)
	u, _ := url.Parse(app.URL)
	forged.c.Jar.SetCookies(u, []*http.Cookie{{Name: "rl_session", Value: session.Value[:len(session.Value)-4] + "AAAA", Path: "/"}})
	if p := forged.do("GET", "/console/", nil); p.status != http.StatusSeeOther {
		t.Errorf("a tampered session cookie = %d, want 303 to sign in", p.status)
	}

	// The token revoked (all of the user's): the next page ends the session.
	app.Must(t, 200, "POST", "/api/v1/users/"+fin.ID+"/token", app.Admin, map[string]any{})
	if p := b.do("GET", "/console/", nil); p.status != http.StatusSeeOther || !strings.Contains(p.location, "why=session_ended") {
		t.Errorf("a page after the token was replaced = %d → %q, want 303 to sign in (session ended)", p.status, p.location)
	}

	// Sign-out.
	fin2 := app.CreateUser(t, "Frieda Finance", "finance", "Stadtkasse")
	b2 := newBrowser(t, app.URL)
	b2.signIn(fin2.Token)
	if p := b2.do("POST", "/console/sign-out", url.Values{}); p.status != http.StatusSeeOther {
		t.Errorf("sign-out = %d, want 303", p.status)
	}
	if p := b2.do("GET", "/console/", nil); p.status != http.StatusSeeOther {
		t.Errorf("a page after sign-out = %d, want 303 to sign in", p.status)
	}
}

// TestConsoleRefusesCrossSiteForms: a form posted from another site (as a
// browser marks it, Sec-Fetch-Site or Origin) is refused before it acts.
func TestConsoleRefusesCrossSiteForms(t *testing.T) {
	app := apptest.Start(t)
	rev := app.CreateUser(t, "Rita Reviewer", "reviewer", "Stadtwerke")
	applicant := app.CreateUser(t, "Anna Applicant", "applicant", "Cafe Mitte")
	prog := app.CreateProgramme(t, 10_000_000, nil)
	var st struct{ ID string }
	app.Must(t, 201, "POST", "/api/v1/applications", applicant, apptest.Proposal(prog, "Cafe Mitte", 2_000_000)).JSON(t, &st)

	b := newBrowser(t, app.URL)
	if p := b.signIn(rev.Token); p.status != http.StatusSeeOther {
		t.Fatalf("sign-in = %d", p.status)
	}
	vote := url.Values{"recommendation": {"approve"}, "score_impact": {"5"}, "score_feasibility": {"5"}, "score_partnership": {"5"}}
	for _, h := range [][]string{{"Sec-Fetch-Site", "cross-site"}, {"Origin", "https://evil.example"}} {
		if p := b.do("POST", "/console/applications/"+st.ID+"/reviews", vote, h...); p.status != http.StatusForbidden {
			t.Errorf("a review posted with %s: %s = %d, want 403", h[0], h[1], p.status)
		}
	}
	var got struct {
		Votes []any `json:"votes"`
	}
	app.Must(t, 200, "GET", "/api/v1/applications/"+st.ID, app.Admin, nil).JSON(t, &got)
	if len(got.Votes) != 0 {
		t.Errorf("after the refused forms the application has %d votes, want none", len(got.Votes))
	}
	// The same form from the console's own page counts, once, even sent twice.
	vote.Set("idempotency_key", "console-test-vote-1")
	for range 2 {
		if p := b.do("POST", "/console/applications/"+st.ID+"/reviews", vote, "Sec-Fetch-Site", "same-origin"); p.status != http.StatusSeeOther {
			t.Fatalf("the review from the console = %d, want 303", p.status)
		}
	}
	app.Must(t, 200, "GET", "/api/v1/applications/"+st.ID, app.Admin, nil).JSON(t, &got)
	if len(got.Votes) != 1 {
		t.Errorf("after the form sent twice the application has %d votes, want 1", len(got.Votes))
	}
}

// TestConsolePageAccess: the pages hold to the API's access rules (they
// are drawn from it): who may see which page.
func TestConsolePageAccess(t *testing.T) {
	app := apptest.Start(t)
	owner := app.CreateUser(t, "Anna Applicant", "applicant", "Cafe Mitte")
	other := app.CreateUser(t, "Otto Other", "applicant", "Eisdiele Ost")
	rev := app.CreateUser(t, "Rita Reviewer", "reviewer", "Stadtwerke")
	fin := app.CreateUser(t, "Fritz Finance", "finance", "Stadtkasse")
	prog := app.CreateProgramme(t, 10_000_000, nil)
	var st struct{ ID string }
	app.Must(t, 201, "POST", "/api/v1/applications", owner, apptest.Proposal(prog, "Cafe Mitte", 2_000_000)).JSON(t, &st)

	type cell struct {
		status int
		has    string
	}
	users := []apptest.User{app.Admin, owner, other, rev, fin}
	rows := []struct {
		path  string
		cells []cell // admin, owner, other, reviewer, finance
	}{
		{"/console/", []cell{{200, "Click &amp; Collect"}, {200, "Click &amp; Collect"}, {200, ""}, {200, "Click &amp; Collect"}, {200, ""}}},
		{"/console/applications/" + st.ID, []cell{{200, "Timeline"}, {200, "Timeline"}, {404, ""}, {200, "Your review"}, {200, "Timeline"}}},
		{"/console/applications/no-such-application", []cell{{404, ""}, {404, ""}, {404, ""}, {404, ""}, {404, ""}}},
		{"/console/disbursements", []cell{{200, ""}, {403, ""}, {403, ""}, {403, ""}, {200, ""}}},
		{"/console/disbursements?status=paid", []cell{{200, ""}, {403, ""}, {403, ""}, {403, ""}, {200, ""}}},
		{"/console/repayments", []cell{{200, "Nothing is owed back"}, {200, ""}, {200, ""}, {200, ""}, {200, "Nothing is owed back"}}},
		{"/console/programmes/" + prog, []cell{{200, "Change the budget"}, {403, ""}, {403, ""}, {403, ""}, {200, "Calls"}}},
		{"/console/users", []cell{{200, "New user"}, {403, ""}, {403, ""}, {403, ""}, {403, ""}}},
		{"/console/applications/new", []cell{{403, ""}, {200, "Submit the application"}, {200, "Submit the application"}, {403, ""}, {403, ""}}},
		{"/console/applications/" + st.ID + "/revision", []cell{{403, ""}, {200, "Send the revised proposal"}, {404, ""}, {403, ""}, {403, ""}}},
		// Before a decision there is no letter: back to the page with the API's reason.
		{"/console/applications/" + st.ID + "/letters/decision-letter", []cell{{303, ""}, {303, ""}, {303, ""}, {303, ""}, {303, ""}}},
		{"/console/applications/" + st.ID + "/letters/nonsense", []cell{{404, ""}, {404, ""}, {404, ""}, {404, ""}, {404, ""}}},
		{"/console/applications/" + st.ID + "/documents/no-such-document", []cell{{303, ""}, {303, ""}, {303, ""}, {303, ""}, {303, ""}}},
		{"/console/overdue", []cell{{200, "Nothing is overdue"}, {200, "Nothing is overdue"}, {200, "Nothing is overdue"}, {200, "Nothing is overdue"}, {200, "Nothing is overdue"}}},
		{"/console/overdue?within=30", []cell{{200, "Click &amp; Collect"}, {200, "Click &amp; Collect"}, {200, "Nothing falls due"}, {200, "Click &amp; Collect"}, {200, "Click &amp; Collect"}}},
		{"/console/programmes/new", []cell{{200, "Create the programme"}, {403, ""}, {403, ""}, {403, ""}, {403, ""}}},
		{"/console/programmes/" + prog + "/rules", []cell{{200, "Save the rules"}, {403, ""}, {403, ""}, {403, ""}, {403, ""}}},
		{"/console/organisations", []cell{{200, "Register an organisation"}, {200, "Cafe Mitte"}, {200, "Cafe Mitte"}, {200, "Cafe Mitte"}, {200, "State-aid register"}}},
		{"/console/webhooks", []cell{{200, "Subscribe a system"}, {403, ""}, {403, ""}, {403, ""}, {403, ""}}},
		{"/console/nowhere", []cell{{404, ""}, {404, ""}, {404, ""}, {404, ""}, {404, ""}}},
	}
	for i, u := range users {
		b := newBrowser(t, app.URL)
		b.do("GET", "/console/language/en", nil)
		if p := b.signIn(u.Token); p.status != http.StatusSeeOther {
			t.Fatalf("%s signs in: %d", u.Name, p.status)
		}
		for _, r := range rows {
			want := r.cells[i]
			p := b.do("GET", r.path, nil)
			if p.status != want.status || !strings.Contains(p.body, want.has) {
				t.Errorf("%s (%s) GET %s = %d, want %d with %q", u.Name, u.Role, r.path, p.status, want.status, want.has)
			}
		}
	}
	// A form of another role's is refused by the API and says so; nothing
	// changes.
	b0 := newBrowser(t, app.URL)
	b0.do("GET", "/console/language/en", nil)
	b0.signIn(owner.Token)
	if p := b0.do("POST", "/console/applications/"+st.ID+"/reviews", url.Values{"recommendation": {"approve"}}); p.status != http.StatusSeeOther {
		t.Errorf("an applicant's review form = %d, want 303 back with the refusal", p.status)
	}
	if p := b0.do("GET", "/console/applications/"+st.ID, nil); !strings.Contains(p.body, `class="error"`) {
		t.Errorf("after an applicant's review form the page shows no refusal")
	}
	var votes struct {
		Votes []any `json:"votes"`
	}
	app.Must(t, 200, "GET", "/api/v1/applications/"+st.ID, app.Admin, nil).JSON(t, &votes)
	if len(votes.Votes) != 0 {
		t.Errorf("an applicant's review form left %d votes", len(votes.Votes))
	}
	// The other applicant's home does not list the application.
	b := newBrowser(t, app.URL)
	b.signIn(other.Token)
	if p := b.do("GET", "/console/", nil); strings.Contains(p.body, st.ID) {
		t.Errorf("another group's applicant sees the application on the home page")
	}
}

// TestConsoleWordsInBothLanguages: every word a template asks for is in
// the English and the German dictionary.
func TestConsoleWordsInBothLanguages(t *testing.T) {
	files, err := os.ReadDir("templates")
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`\bt "([a-z_.]+)"`)
	for _, f := range files {
		raw, err := os.ReadFile("templates/" + f.Name())
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range re.FindAllStringSubmatch(string(raw), -1) {
			for _, lang := range []string{"en", "de"} {
				if !console.Has(lang, m[1]) {
					t.Errorf("%s: %q has no %s word", f.Name(), m[1], lang)
				}
			}
		}
	}
	statuses := []string{}
	for _, st := range models.Statuses {
		statuses = append(statuses, string(st))
	}
	for _, st := range []models.TrancheStatus{models.TrancheScheduled, models.TrancheDue, models.TrancheApproved,
		models.TrancheExported, models.TranchePaid, models.TrancheFailed, models.TrancheCancelled} {
		statuses = append(statuses, string(st))
	}
	for _, st := range statuses {
		for _, lang := range []string{"en", "de"} {
			if !console.Has(lang, "status."+st) {
				t.Errorf("status %s has no %s word", st, lang)
			}
		}
	}
}

// TestConsoleLedgerAndPaymentFile: finance sees the fund's figures and its
// chart; the payment file is made by a form (a POST: it marks what it
// carries) and downloads as an attachment; the next one has nothing left to
// carry and says so; an earlier file downloads again.
func TestConsoleLedgerAndPaymentFile(t *testing.T) {
	app := apptest.Start(t)
	applicant := app.CreateUser(t, "Anna Applicant", "applicant", "Cafe Mitte")
	fin1 := app.CreateUser(t, "Fritz Finance", "finance", "Stadtkasse")
	fin2 := app.CreateUser(t, "Frieda Finance", "finance", "Stadtkasse")
	prog := app.CreateProgramme(t, 10_000_000, nil)
	st := activeGrant(t, app, applicant, prog)
	app.Must(t, 200, "POST", "/api/v1/disbursements/"+st.Tranches[0].ID+"/approval", fin1, nil)

	b := newBrowser(t, app.URL)
	b.do("GET", "/console/language/en", nil)
	b.signIn(fin2.Token)
	p := b.do("GET", "/console/programmes/"+prog+"/ledger", nil)
	if p.status != http.StatusOK || !strings.Contains(p.body, "<svg") || !strings.Contains(p.body, "20,000.00 EUR") ||
		!strings.Contains(p.body, "100,000.00 EUR") {
		t.Errorf("ledger page = %d, want 200 with the chart, 20,000.00 EUR reserved and the 100,000.00 EUR budget:\n%s", p.status, p.body)
	}
	// The auditors' exports, through the ledger page's form.
	if p := b.do("GET", "/console/programmes/"+prog+"/audit?kind=journal&format=csv&from=&to=", nil); p.status != http.StatusOK ||
		!strings.Contains(p.body, ",reserve,2000000,") || !strings.HasPrefix(p.header.Get("Content-Disposition"), "attachment") {
		t.Errorf("journal export = %d %q, want the CSV with the reservation as an attachment:\n%s", p.status, p.header.Get("Content-Disposition"), p.body)
	}
	if p := b.do("GET", "/console/programmes/"+prog+"/audit?kind=history&format=xlsx", nil); p.status != http.StatusOK ||
		!strings.Contains(p.header.Get("Content-Type"), "spreadsheet") {
		t.Errorf("history export as XLSX = %d %q, want 200 with a workbook", p.status, p.header.Get("Content-Type"))
	}
	if p := b.do("GET", "/console/programmes/"+prog+"/audit?kind=bogus", nil); p.status != http.StatusSeeOther ||
		!strings.HasSuffix(p.location, "/ledger") {
		t.Errorf("an export of no kind = %d → %q, want 303 back to the ledger with the reason", p.status, p.location)
	}
	if p := b.do("GET", "/console/programmes/"+prog+"/ledger", nil); !strings.Contains(p.body, "applications, journal or history") {
		t.Errorf("the refused export does not say why")
	}
	if p := b.do("GET", "/console/", nil); !strings.Contains(p.body, "/console/programmes/"+prog+"/ledger") {
		t.Errorf("finance's home does not link the programme's ledger")
	}
	// Four eyes: the approver gets no file with its own approval in it.
	b1 := newBrowser(t, app.URL)
	b1.do("GET", "/console/language/en", nil)
	b1.signIn(fin1.Token)
	if p := b1.do("POST", "/console/disbursements/export", url.Values{"format": {"csv"}}); p.status != http.StatusSeeOther {
		t.Errorf("the approver's export = %d, want 303 back with the refusal", p.status)
	}
	if p := b1.do("GET", "/console/disbursements?status=approved", nil); !strings.Contains(p.body, "four eyes") {
		t.Errorf("the approver's refused export does not say why")
	}
	file := b.do("POST", "/console/disbursements/export", url.Values{"format": {"csv"}})
	if file.status != http.StatusOK || !strings.Contains(file.body, "DE89370400440532013000") ||
		!strings.HasPrefix(file.header.Get("Content-Disposition"), "attachment") {
		t.Fatalf("export = %d, want 200 with the tranche to the payee's IBAN:\n%s", file.status, file.body)
	}
	if p := b.do("POST", "/console/disbursements/export", url.Values{"format": {"csv"}}); p.status != http.StatusSeeOther {
		t.Errorf("a second export = %d, want 303: nothing left to carry", p.status)
	}
	var exports struct {
		Items []struct {
			BatchID string `json:"batch_id"`
		} `json:"items"`
	}
	app.Must(t, 200, "GET", "/api/v1/disbursements/exports", fin2, nil).JSON(t, &exports)
	if len(exports.Items) != 1 {
		t.Fatalf("exports = %+v, want one", exports.Items)
	}
	again := b.do("GET", "/console/disbursements/exports/"+exports.Items[0].BatchID+"?format=csv", nil)
	if again.status != http.StatusOK || again.body != file.body {
		t.Errorf("the file downloaded again = %d, differs from the first: %q vs %q", again.status, again.body, file.body)
	}
}

// TestConsoleUsers: an admin files a user and sees its token once; the
// token signs in; deactivated, the user's session ends at the next page;
// reactivated and given a new token, only the new one signs in. Bad input
// comes back next to its field; other roles do not get the page.
func TestConsoleUsers(t *testing.T) {
	app := apptest.Start(t)
	admin := newBrowser(t, app.URL)
	admin.do("GET", "/console/language/en", nil)
	admin.signIn(app.Admin.Token)

	p := admin.do("POST", "/console/users", url.Values{"name": {"Nina Neu"}, "role": {"reviewer"}, "organisation": {"Stadtwerke"},
		"email": {"not-an-address"}, "idempotency_key": {"console-test-user-bad"}})
	if p.status != http.StatusUnprocessableEntity || !strings.Contains(p.body, `id="err-u-email"`) || !strings.Contains(p.body, `value="Nina Neu"`) {
		t.Errorf("a user with a bad e-mail = %d, want 422 with the error at the field and the name kept:\n%s", p.status, p.body)
	}
	p = admin.do("POST", "/console/users", url.Values{"name": {"Nina\u0007Neu"}, "role": {"reviewer"}})
	if p.status != http.StatusUnprocessableEntity {
		t.Errorf("a name with a control character = %d, want 422", p.status)
	}
	p = admin.do("POST", "/console/users", url.Values{"name": {"Nina Neu"}, "role": {"reviewer"}, "organisation": {"Stadtwerke"},
		"idempotency_key": {"console-test-user-1"}})
	token := regexp.MustCompile(`<code class="secret">(rl_[A-Za-z0-9_-]+)</code>`).FindStringSubmatch(p.body)
	if p.status != http.StatusCreated || token == nil {
		t.Fatalf("create user = %d, want 201 showing the token:\n%s", p.status, p.body)
	}
	var list struct {
		Items []struct{ ID, Name string } `json:"items"`
	}
	app.Must(t, 200, "GET", "/api/v1/users", app.Admin, nil).JSON(t, &list)
	id := ""
	for _, u := range list.Items {
		if u.Name == "Nina Neu" {
			id = u.ID
		}
	}
	if id == "" {
		t.Fatal("the user made in the console is not in the API's list")
	}
	nina := newBrowser(t, app.URL)
	if p := nina.signIn(token[1]); p.status != http.StatusSeeOther {
		t.Fatalf("the new user's token signs in: %d", p.status)
	}
	if p := nina.do("GET", "/console/users", nil); p.status != http.StatusForbidden {
		t.Errorf("a reviewer's GET /console/users = %d, want 403", p.status)
	}
	if p := admin.do("POST", "/console/users/"+id+"/deactivation", url.Values{}); p.status != http.StatusSeeOther {
		t.Errorf("deactivate = %d, want 303", p.status)
	}
	if p := nina.do("GET", "/console/", nil); p.status != http.StatusSeeOther || !strings.Contains(p.location, "session_ended") {
		t.Errorf("the deactivated user's next page = %d → %q, want 303 to sign in", p.status, p.location)
	}
	admin.do("POST", "/console/users/"+id+"/reactivation", url.Values{})
	p = admin.do("POST", "/console/users/"+id+"/token", url.Values{})
	fresh := regexp.MustCompile(`<code class="secret">(rl_[A-Za-z0-9_-]+)</code>`).FindStringSubmatch(p.body)
	if p.status != http.StatusOK || fresh == nil || fresh[1] == token[1] {
		t.Fatalf("new token = %d, want 200 showing a new token", p.status)
	}
	if p := newBrowser(t, app.URL).signIn(token[1]); p.status != http.StatusUnauthorized {
		t.Errorf("the replaced token signs in: %d, want 401", p.status)
	}
	if p := newBrowser(t, app.URL).signIn(fresh[1]); p.status != http.StatusSeeOther {
		t.Errorf("the new token does not sign in: %d", p.status)
	}
}

// TestConsoleRepayments: a grant cancelled after a payment owes the money
// back; finance sees it on the repayments page and books receipts there
// (the same bank reference twice counts once) until nothing is owed.
func TestConsoleRepayments(t *testing.T) {
	app := apptest.Start(t)
	applicant := app.CreateUser(t, "Anna Applicant", "applicant", "Cafe Mitte")
	fin1 := app.CreateUser(t, "Fritz Finance", "finance", "Stadtkasse")
	fin2 := app.CreateUser(t, "Frieda Finance", "finance", "Stadtkasse")
	prog := app.CreateProgramme(t, 10_000_000, nil)
	st := activeGrant(t, app, applicant, prog)
	app.Must(t, 200, "POST", "/api/v1/disbursements/"+st.Tranches[0].ID+"/approval", fin1, nil)
	app.Must(t, 200, "POST", "/api/v1/disbursements/"+st.Tranches[0].ID+"/payment", fin2, map[string]any{"bank_reference": "B-1"})
	app.Must(t, 200, "POST", "/api/v1/applications/"+st.ID+"/cancellation", app.Admin, map[string]any{"reason": "the group dissolved"})
	paid := st.Tranches[0].AmountCents

	b := newBrowser(t, app.URL)
	b.do("GET", "/console/language/en", nil)
	b.signIn(fin1.Token)
	p := b.do("GET", "/console/repayments", nil)
	if p.status != http.StatusOK || !strings.Contains(p.body, "/console/repayments/"+st.ID) {
		t.Fatalf("repayments page = %d, want the cancelled application with a form:\n%s", p.status, p.body)
	}
	receipt := url.Values{"amount": {"3.000,00"}, "bank_reference": {"RUECK-1"}, "idempotency_key": {"console-test-rep-1"}}
	for range 2 { // the same form twice
		if p := b.do("POST", "/console/repayments/"+st.ID, receipt); p.status != http.StatusSeeOther {
			t.Fatalf("book a receipt = %d, want 303", p.status)
		}
	}
	// Sent again from a fresh page (another key), the same bank reference is
	// still one receipt.
	receipt.Set("idempotency_key", "console-test-rep-2")
	b.do("POST", "/console/repayments/"+st.ID, receipt)
	var owing struct {
		Items []struct {
			ID             string `json:"id"`
			RepaymentCents int64  `json:"repayment_cents"`
			RepaidCents    int64  `json:"repaid_cents"`
		} `json:"items"`
	}
	app.Must(t, 200, "GET", "/api/v1/applications?owing=true", fin1, nil).JSON(t, &owing)
	if len(owing.Items) != 1 || owing.Items[0].RepaymentCents != paid || owing.Items[0].RepaidCents != 300_000 {
		t.Fatalf("owing after one receipt booked three times = %+v, want %d demanded, 300000 repaid", owing.Items, paid)
	}
	if p := b.do("POST", "/console/repayments/"+st.ID, url.Values{"amount": {"lots"}, "bank_reference": {"X"}}); p.status != http.StatusSeeOther {
		t.Errorf("a receipt that is no amount = %d, want 303 back with the error", p.status)
	}
	if p := b.do("GET", "/console/repayments", nil); !strings.Contains(p.body, "not an amount") {
		t.Errorf("the refused receipt does not say why")
	}
	// The group sees what it owes, without finance's form.
	ab := newBrowser(t, app.URL)
	ab.do("GET", "/console/language/en", nil)
	ab.signIn(applicant.Token)
	if p := ab.do("GET", "/console/repayments", nil); p.status != http.StatusOK || !strings.Contains(p.body, "3,000.00 EUR") ||
		strings.Contains(p.body, `action="/console/repayments/`) {
		t.Errorf("the applicant's repayments page = %d, want its demand (3,000.00 EUR repaid) and no booking form", p.status)
	}
	rest := models.FormatEuro(paid - 300_000)
	b.do("POST", "/console/repayments/"+st.ID, url.Values{"amount": {strings.TrimSuffix(rest, " EUR")}, "bank_reference": {"RUECK-2"}})
	if p := b.do("GET", "/console/repayments", nil); !strings.Contains(p.body, "Nothing is owed back") {
		t.Errorf("after the rest (%s) the page still lists money owed:\n%s", rest, p.body)
	}
	var done struct{ Status string }
	app.Must(t, 200, "GET", "/api/v1/applications/"+st.ID, app.Admin, nil).JSON(t, &done)
	if done.Status != "cancelled" {
		t.Errorf("status after repayment = %s, want cancelled", done.Status)
	}
	app.BooksExact(t)
}

// TestConsoleProgrammes: an admin opens a call and closes it early, tops the
// budget up and is refused a cut below what is committed, each through the
// programme's page; finance reads the page without the forms.
func TestConsoleProgrammes(t *testing.T) {
	app := apptest.Start(t)
	fin := app.CreateUser(t, "Fritz Finance", "finance", "Stadtkasse")
	prog := app.CreateProgramme(t, 10_000_000, nil)
	b := newBrowser(t, app.URL)
	b.do("GET", "/console/language/en", nil)
	b.signIn(app.Admin.Token)
	page := "/console/programmes/" + prog
	if p := b.do("POST", page+"/calls", url.Values{"title": {"Spring call"}, "opens_at": {"2020-01-01"}, "closes_at": {"2999-01-01"},
		"budget_share": {"20.000"}}); p.status != http.StatusSeeOther {
		t.Fatalf("new call = %d", p.status)
	}
	if p := b.do("GET", page, nil); !strings.Contains(p.body, "Spring call") || !strings.Contains(p.body, "20,000.00 EUR") ||
		!strings.Contains(p.body, "The call is created") {
		t.Errorf("the programme page after a new call:\n%s", p.body)
	}
	var calls struct {
		Items []struct {
			ID   string `json:"id"`
			Open bool   `json:"open"`
		} `json:"items"`
	}
	app.Must(t, 200, "GET", "/api/v1/programmes/"+prog+"/calls", app.Admin, nil).JSON(t, &calls)
	if len(calls.Items) != 1 || !calls.Items[0].Open {
		t.Fatalf("calls = %+v, want one open", calls.Items)
	}
	b.do("POST", page+"/closure", url.Values{"call_id": {calls.Items[0].ID}})
	app.Must(t, 200, "GET", "/api/v1/programmes/"+prog+"/calls", app.Admin, nil).JSON(t, &calls)
	if calls.Items[0].Open {
		t.Errorf("the call is still open after closing it early")
	}
	if p := b.do("POST", page+"/calls", url.Values{"title": {"Bad"}, "opens_at": {"2027-02-01"}, "closes_at": {"2027-01-01"}}); p.status != http.StatusSeeOther {
		t.Errorf("a call that closes before it opens = %d, want 303 back with the reason", p.status)
	}
	if p := b.do("GET", page, nil); !strings.Contains(p.body, `class="error"`) {
		t.Errorf("the refused call shows no error")
	}
	b.do("POST", page+"/budget", url.Values{"direction": {"top_up"}, "change": {"50.000,00"}, "reason": {"council decision 14"}})
	b.do("POST", page+"/budget", url.Values{"direction": {"cut"}, "change": {"200.000"}, "reason": {"too much"}})
	var l struct {
		Budget int64 `json:"budget_cents"`
	}
	app.Must(t, 200, "GET", "/api/v1/programmes/"+prog+"/ledger", app.Admin, nil).JSON(t, &l)
	if l.Budget != 15_000_000 {
		t.Errorf("budget after a top-up of 50,000.00 and a cut of 200,000.00 = %d, want 15000000 (the cut below zero refused)", l.Budget)
	}
	fb := newBrowser(t, app.URL)
	fb.do("GET", "/console/language/en", nil)
	fb.signIn(fin.Token)
	if p := fb.do("GET", page, nil); p.status != http.StatusOK || strings.Contains(p.body, page+"/budget") || !strings.Contains(p.body, "Spring call") {
		t.Errorf("finance's programme page = %d, want the calls without the admin's forms", p.status)
	}
}

// grant is an application as the API answers it, with its tranches.
type grant struct {
	ID            string
	Status        string
	RevisionRound int `json:"revision_round"`
	Proposal      struct {
		Title          string
		RequestedCents int64     `json:"requested_cents"`
		EndDate        time.Time `json:"end_date"`
	}
	Tranches []struct {
		ID          string
		Status      string
		AmountCents int64 `json:"amount_cents"`
	}
}

// activeGrant submits the applicant's proposal of 20,000.00 EUR, has three
// impartial board members approve it and the applicant accept: the first
// tranche is due.
func activeGrant(t *testing.T, app *apptest.App, applicant apptest.User, prog string) grant {
	t.Helper()
	var st grant
	app.Must(t, 201, "POST", "/api/v1/applications", applicant, apptest.Proposal(prog, "Cafe Mitte", 2_000_000)).JSON(t, &st)
	for _, org := range []string{"Stadtwerke", "IHK", "Buchhandlung Nord"} {
		rev := app.CreateUser(t, "Reviewer "+org, "reviewer", org)
		app.Must(t, 200, "POST", "/api/v1/applications/"+st.ID+"/reviews", rev,
			map[string]any{"recommendation": "approve", "scores": apptest.Scores(5)})
	}
	app.Must(t, 200, "POST", "/api/v1/applications/"+st.ID+"/acceptance", applicant, nil).JSON(t, &st)
	return st
}

// TestConsoleInvitations: the partner a proposal names sees the invitation
// on its applicant's home page and joins the group there; the API then
// counts it as a member.
func TestConsoleInvitations(t *testing.T) {
	app := apptest.Start(t)
	anna := app.CreateUser(t, "Anna Applicant", "applicant", "Cafe Mitte")
	bernd := app.CreateUser(t, "Bernd Buchladen", "applicant", "Buchladen Eck") // the registered partner
	prog := app.CreateProgramme(t, 10_000_000, nil)
	var st struct{ ID string }
	app.Must(t, 201, "POST", "/api/v1/applications", anna, apptest.Proposal(prog, "Cafe Mitte", 2_000_000)).JSON(t, &st)

	b := newBrowser(t, app.URL)
	b.do("GET", "/console/language/en", nil)
	b.signIn(bernd.Token)
	p := b.do("GET", "/console/", nil)
	if !strings.Contains(p.body, `action="/console/applications/`+st.ID+`/invitation"`) {
		t.Fatalf("the partner's home shows no invitation:\n%s", p.body)
	}
	if p := b.do("POST", "/console/applications/"+st.ID+"/invitation", url.Values{"accept": {"true"}}); p.status != http.StatusSeeOther {
		t.Fatalf("join = %d, want 303", p.status)
	}
	if p := b.do("GET", "/console/", nil); !strings.Contains(p.body, "Your company is a member") ||
		strings.Contains(p.body, `/invitation"`) {
		t.Errorf("after joining the home page should say so and show no invitation")
	}
	var got struct {
		Proposal struct {
			Group struct {
				Members []struct {
					Name         string `json:"name"`
					Confirmation string `json:"confirmation"`
				} `json:"members"`
			} `json:"group"`
		} `json:"proposal"`
	}
	app.Must(t, 200, "GET", "/api/v1/applications/"+st.ID, anna, nil).JSON(t, &got)
	for _, m := range got.Proposal.Group.Members {
		if m.Name == "Buchladen Eck" && m.Confirmation != "confirmed" {
			t.Errorf("Buchladen Eck is %q after joining in the console, want confirmed", m.Confirmation)
		}
	}
	// Answered once, a second answer is the API's 409, shown.
	b.do("POST", "/console/applications/"+st.ID+"/invitation", url.Values{"accept": {"false"}})
	if p := b.do("GET", "/console/", nil); !strings.Contains(p.body, `class="error"`) {
		t.Errorf("a second answer to the invitation shows no refusal")
	}
}
