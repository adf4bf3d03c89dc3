package console_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"reallabor/internal/apptest"
	"reallabor/internal/demo"
)

// chromium finds the browser: Debian's chromium (.ci/run installs it). In
// CI a missing browser fails the test; elsewhere it is skipped with the
// command that installs it.
func chromium(t *testing.T) string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("no chromium: .ci/run installs it (apt-get install chromium)")
	}
	t.Skip("no chromium on this machine: apt-get install chromium")
	return ""
}

// screenshots is where the browser tests leave their pictures (for a
// reviewer to look at; not committed): CONSOLE_SCREENSHOTS, else a
// directory under the system's temporary one.
func screenshots(t *testing.T) string {
	dir := os.Getenv("CONSOLE_SCREENSHOTS")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "reallabor-console-screenshots")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestConsoleLifecycleInABrowser: in a real headless Chromium, through the
// pages alone, each of dev's demo users signed in with the token dev prints
// for them, one application goes
// from submission to closed: the applicant submits the form (a bad IBAN is
// refused next to its field first), three board members vote through the
// scoring form, the applicant accepts the agreement, reports twice and a
// board member accepts each report, and for each of the three tranches one
// finance officer approves and another confirms the payment (the approver's
// own attempt is refused). The books are exact afterwards; each main page leaves a
// screenshot and passes axe-core's WCAG 2.1 A and AA checks.
func TestConsoleLifecycleInABrowser(t *testing.T) {
	exe := chromium(t)
	app := apptest.Start(t)
	// dev's demo: its programme and the users whose tokens it prints.
	d, err := demo.Seed(context.Background(), app.Store, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	person := func(name string) apptest.User {
		u, ok := d.Named(name)
		if !ok {
			t.Fatalf("no demo user %s", name)
		}
		return apptest.User{ID: u.ID, Name: u.Name, Role: string(u.Role), Organisation: u.Organisation, Token: u.Token}
	}
	applicant := person("Anna Applicant")
	reviewers := []apptest.User{person("Rita Reviewer"), person("Rolf Reviewer"), person("Rosa Reviewer")}
	fin1, fin2, admin := person("Fritz Finance"), person("Frieda Finance"), person("Ada Admin")
	prog := d.ProgrammeID
	var st struct{ ID string }
	appPage := ""
	shots := screenshots(t)

	alloc, cancel := chromedp.NewExecAllocator(context.Background(), append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.WindowSize(1280, 1000))...)
	defer cancel()

	// as runs the steps in a fresh browser of the user's (its own cookies).
	as := func(u apptest.User, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		ctx, cancel := chromedp.NewContext(alloc)
		defer cancel()
		if err := chromedp.Do(ctx); err != nil { // starts the browser (no timeout on this first call)
			t.Fatalf("start chromium: %v", err)
		}
		ctx, stop := context.WithTimeout(ctx, 60*time.Second)
		defer stop()
		signIn := []chromedp.Action[chromedp.Void]{
			chromedp.Navigate(app.URL + "/console/language/en"),
			chromedp.Navigate(app.URL + "/console/sign-in"),
			chromedp.WaitVisible(chromedp.ID(`token`)),
			chromedp.SendKeys(chromedp.ID(`token`), u.Token),
			chromedp.Click(chromedp.CSS(`form[action="/console/sign-in"] button`)),
			chromedp.WaitVisible(chromedp.CSS(`.who`)), // on the signed-in page, not the sign-in page
		}
		if err := chromedp.Do(ctx, append(signIn, steps...)...); err != nil {
			t.Fatalf("%s (%s) in the browser: %v", u.Name, u.Role, err)
		}
	}
	notice := func(want string) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			text, err := chromedp.Text(chromedp.CSS(`.notice`))(ctx, tg)
			if err != nil {
				page, _ := chromedp.Text(chromedp.CSS(`main`))(ctx, tg)
				t.Errorf("no notice %q; the page says: %s", want, page)
				return err
			}
			if !strings.Contains(text, want) {
				t.Errorf("notice = %q, want %q", text, want)
			}
			return nil
		})
	}
	axeJS, err := os.ReadFile("testdata/axe.min.js")
	if err != nil {
		t.Fatal(err)
	}
	// accessible runs axe-core (WCAG 2.1 A and AA) on the page and fails the
	// test for each violation it finds.
	accessible := func(name string) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			if _, err := chromedp.Evaluate[bool](string(axeJS)+"; true")(ctx, tg); err != nil {
				return fmt.Errorf("load axe-core: %w", err)
			}
			out, err := chromedp.Evaluate[string](`axe.run(document, {runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}})
				.then(r => JSON.stringify(r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
					targets: v.nodes.slice(0, 3).map(n => n.target.join(" "))}))))`, chromedp.EvalAwaitPromise)(ctx, tg)
			if err != nil {
				return fmt.Errorf("axe-core: %w", err)
			}
			var violations []struct {
				ID, Impact, Help string
				Targets          []string
			}
			if err := json.Unmarshal([]byte(out), &violations); err != nil {
				return fmt.Errorf("axe-core result %q: %w", out, err)
			}
			for _, v := range violations {
				t.Errorf("%s: accessibility: %s (%s, %s) at %v", name, v.Help, v.ID, v.Impact, v.Targets)
			}
			return nil
		})
	}
	shot := func(name string) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			png, err := chromedp.FullScreenshot(100)(ctx, tg) // quality 100: a PNG
			if err != nil {
				return err
			}
			path := filepath.Join(shots, name+".png")
			t.Logf("screenshot %s", path)
			if err := os.WriteFile(path, png, 0o644); err != nil {
				return err
			}
			if name == "api-docs" { // Swagger UI's own page: not ours to check
				return nil
			}
			_, err = accessible(name)(ctx, tg)
			return err
		})
	}

	// The sign-in page, before anyone signs in.
	func() {
		ctx, cancel := chromedp.NewContext(alloc)
		defer cancel()
		if err := chromedp.Do(ctx, chromedp.Navigate(app.URL+"/console/language/de"), chromedp.Navigate(app.URL+"/console/sign-in"),
			chromedp.WaitVisible(chromedp.ID("token")), shot("sign-in-de")); err != nil {
			t.Fatalf("sign-in page: %v", err)
		}
	}()
	// The applicant submits through the form: first with a bad IBAN (the
	// API's field error shows next to the field, what was typed stays),
	// then corrected.
	as(applicant,
		chromedp.Navigate(app.URL+"/console/applications/new"),
		chromedp.WaitVisible(chromedp.ID("title")),
		chromedp.SendKeys(chromedp.ID("title"), "Click & Collect Altstadt"),
		chromedp.SendKeys(chromedp.ID("summary"), "Shared pick-up points for the high street."),
		chromedp.SendKeys(chromedp.ID("requested"), "20.000,00"),
		chromedp.SendKeys(chromedp.ID("total_cost"), "40000"),
		chromedp.SetValue(chromedp.ID("start_date"), "2027-01-01"),
		chromedp.SetValue(chromedp.ID("end_date"), "2027-12-31"),
		chromedp.SendKeys(chromedp.ID("group_name"), "Altstadt retailers"),
		chromedp.SendKeys(chromedp.ID("member_1"), "Buchladen Eck"),
		chromedp.SendKeys(chromedp.ID("member_aid_1"), "10.000"),
		chromedp.SendKeys(chromedp.ID("payee_name"), "Cafe Mitte GmbH"),
		chromedp.SendKeys(chromedp.ID("payee_iban"), "DE00 0000 0000 0000 0000 00"),
		chromedp.Click(chromedp.CSS(`form[action="/console/applications"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.ID("err-payee_iban")),
		shot("applicant-submission-refused"),
		chromedp.SetValue(chromedp.ID("payee_iban"), "DE89 3704 0044 0532 0130 00"),
		chromedp.Click(chromedp.CSS(`form[action="/console/applications"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`.notice`)),
		notice("Your application is submitted"),
	)
	var mine struct {
		Items []struct {
			ID             string `json:"id"`
			Title          string `json:"title"`
			RequestedCents int64  `json:"requested_cents"`
		} `json:"items"`
	}
	app.Must(t, http.StatusOK, "GET", "/api/v1/applications", applicant, nil).JSON(t, &mine)
	if len(mine.Items) != 1 || mine.Items[0].Title != "Click & Collect Altstadt" || mine.Items[0].RequestedCents != 2_000_000 {
		t.Fatalf("after the form the applicant has %+v, want one application of 20,000.00 EUR", mine.Items)
	}
	st.ID = mine.Items[0].ID
	appPage = app.URL + "/console/applications/" + st.ID

	for i, r := range reviewers {
		steps := []chromedp.Action[chromedp.Void]{
			chromedp.Navigate(appPage),
			chromedp.WaitVisible(chromedp.CSS(`form#vote-form`)),
		}
		if i == 0 {
			steps = append(steps, shot("reviewer-application"))
		}
		steps = append(steps,
			chromedp.Click(chromedp.CSS(`input[name=recommendation][value=approve]`)),
			chromedp.SendKeys(chromedp.ID(`score_impact`), "5"),
			chromedp.SendKeys(chromedp.ID(`score_feasibility`), "4"),
			chromedp.SendKeys(chromedp.ID(`score_partnership`), "4"),
			chromedp.SendKeys(chromedp.ID(`comment`), "Good plan for the high street."),
			chromedp.Click(chromedp.CSS(`form#vote-form button[type=submit]`)),
			chromedp.WaitVisible(chromedp.CSS(`.notice`)),
			notice("Your review is recorded"),
		)
		as(r, steps...)
	}
	as(applicant,
		shot("applicant-home"),
		chromedp.Navigate(appPage),
		chromedp.WaitVisible(chromedp.CSS(`form[action$="/acceptance"]`)),
		shot("applicant-application"),
		chromedp.Click(chromedp.CSS(`form[action$="/acceptance"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`.notice`)),
		notice("You accepted the grant agreement"),
	)
	// pay approves the due tranche (one officer) and confirms its payment
	// (another).
	pay := func(ref string, first bool) {
		t.Helper()
		steps := []chromedp.Action[chromedp.Void]{
			chromedp.Navigate(app.URL + "/console/disbursements"),
			chromedp.WaitVisible(chromedp.CSS(`form[action$="/approval"]`)),
		}
		if first {
			steps = append(steps, shot("finance-disbursements-due"))
		}
		as(fin1, append(steps,
			chromedp.Click(chromedp.CSS(`form[action$="/approval"] button`)),
			chromedp.WaitVisible(chromedp.CSS(`.notice`)),
			notice("approved for payment"),
		)...)
		if first { // the approver cannot also pay (four eyes): the API's refusal shows
			as(fin1,
				chromedp.Navigate(app.URL+"/console/disbursements?status=approved"),
				chromedp.WaitVisible(chromedp.CSS(`form[action$="/payment"]`)),
				chromedp.SendKeys(chromedp.CSS(`input[name=bank_reference]`), "SELF-PAY"),
				chromedp.Click(chromedp.CSS(`form[action$="/payment"] button`)),
				chromedp.WaitVisible(chromedp.CSS(`.error`)),
			)
		}
		as(fin2,
			chromedp.Navigate(app.URL+"/console/disbursements?status=approved"),
			chromedp.WaitVisible(chromedp.CSS(`form[action$="/payment"]`)),
			chromedp.SendKeys(chromedp.CSS(`input[name=bank_reference]`), ref),
			chromedp.Click(chromedp.CSS(`form[action$="/payment"] button`)),
			chromedp.WaitVisible(chromedp.CSS(`.notice`)),
			notice("payment is confirmed"),
		)
	}
	// report has the applicant report and the first board member accept it.
	report := func(kind, costs string) {
		t.Helper()
		as(applicant,
			chromedp.Navigate(appPage),
			chromedp.WaitVisible(chromedp.ID("narrative-"+kind)),
			chromedp.SendKeys(chromedp.ID("narrative-"+kind), "Pick-up points run in six shops; 1,200 parcels so far."),
			chromedp.SendKeys(chromedp.ID("actual_costs-"+kind), costs),
			chromedp.Click(chromedp.CSS(`form[action$="/reports"] button[type=submit]`)),
			chromedp.WaitVisible(chromedp.CSS(`.notice`)),
			notice("Your report is submitted"),
		)
		as(reviewers[0],
			chromedp.Navigate(appPage),
			chromedp.WaitVisible(chromedp.CSS(`form[action$="/assessment"]`)),
			chromedp.Click(chromedp.CSS(`form[action$="/assessment"] input[value=accept]`)),
			chromedp.Click(chromedp.CSS(`form[action$="/assessment"] button[type=submit]`)),
			chromedp.WaitVisible(chromedp.CSS(`.notice`)),
			notice("Your assessment is recorded"),
		)
	}
	pay("BANK-2027-0001", true)
	report("interim", "16.000,00")
	pay("BANK-2027-0002", false)
	report("final", "40.000,00")
	pay("BANK-2027-0003", false)
	as(fin2,
		chromedp.Navigate(appPage),
		chromedp.WaitVisible(chromedp.ID(`timeline`)),
		shot("finance-application-closed"),
		chromedp.Navigate(app.URL+"/console/"),
		chromedp.Click(chromedp.CSS(`a[href$="/ledger"]`)),
		chromedp.WaitVisible(chromedp.CSS(`svg.chart`)),
		shot("finance-ledger"),
	)
	as(admin,
		shot("admin-home"),
		chromedp.Navigate(app.URL+"/console/users"),
		chromedp.WaitVisible(chromedp.CSS(`form[action="/console/users"]`)),
		shot("admin-users"),
		chromedp.Navigate(app.URL+"/console/programmes/new"),
		chromedp.WaitVisible(chromedp.CSS(`form[action="/console/programmes"]`)),
		shot("admin-new-programme"),
		chromedp.Navigate(app.URL+"/console/organisations"),
		chromedp.WaitVisible(chromedp.ID(`aid`)),
		shot("admin-organisations"),
		chromedp.Navigate(app.URL+"/console/overdue?within=30"),
		chromedp.WaitVisible(chromedp.CSS(`nav.filters`)),
		shot("admin-overdue"),
		chromedp.Navigate(app.URL+"/console/webhooks"),
		chromedp.WaitVisible(chromedp.CSS(`form[action="/console/webhooks"]`)),
		shot("admin-webhooks"),
		chromedp.Navigate(app.URL+"/api/docs"),
		chromedp.WaitVisible(chromedp.CSS(`.swagger-ui .info`)),
		shot("api-docs"),
	)

	var got struct {
		Status   string `json:"status"`
		Tranches []struct {
			Status        string `json:"status"`
			PaidBy        string `json:"paid_by"`
			BankReference string `json:"bank_reference"`
		} `json:"tranches"`
	}
	app.Must(t, http.StatusOK, "GET", "/api/v1/applications/"+st.ID, app.Admin, nil).JSON(t, &got)
	if got.Status != "closed" || len(got.Tranches) != 3 {
		t.Fatalf("after the pages: %+v, want closed with three tranches", got)
	}
	for i, tr := range got.Tranches {
		if want := fmt.Sprintf("BANK-2027-%04d", i+1); tr.Status != "paid" || tr.PaidBy != fin2.ID || tr.BankReference != want {
			t.Errorf("tranche %d = %+v, want paid by %s as %s", i+1, tr, fin2.ID, want)
		}
	}
	var l struct {
		Paid     int64 `json:"paid_cents"`
		Reserved int64 `json:"reserved_cents"`
	}
	app.Must(t, http.StatusOK, "GET", "/api/v1/programmes/"+prog+"/ledger", fin1, nil).JSON(t, &l)
	if l.Paid != 2_000_000 || l.Reserved != 0 {
		t.Errorf("ledger after closing = paid %d reserved %d, want 2000000 and 0", l.Paid, l.Reserved)
	}
	app.BooksExact(t)
}
