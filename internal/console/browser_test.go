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

// TestConsoleLifecycleInABrowser: in a real headless Chromium, three board
// members vote through the scoring form, the applicant accepts the grant
// agreement, one finance officer approves the first tranche and another
// confirms its payment, each signed in with their own token, through the
// pages alone. The books are exact afterwards; each main page leaves a
// screenshot and passes axe-core's WCAG 2.1 A and AA checks.
func TestConsoleLifecycleInABrowser(t *testing.T) {
	exe := chromium(t)
	app := apptest.Start(t)
	applicant := app.CreateUser(t, "Anna Applicant", "applicant", "Cafe Mitte")
	reviewers := []apptest.User{
		app.CreateUser(t, "Rita Reviewer", "reviewer", "Stadtwerke"),
		app.CreateUser(t, "Rolf Reviewer", "reviewer", "Buchhandlung Nord"),
		app.CreateUser(t, "Rosa Reviewer", "reviewer", "IHK"),
	}
	fin1 := app.CreateUser(t, "Fritz Finance", "finance", "Stadtkasse")
	fin2 := app.CreateUser(t, "Frieda Finance", "finance", "Stadtkasse")
	prog := app.CreateProgramme(t, 10_000_000, nil)
	var st struct{ ID string }
	app.Must(t, http.StatusCreated, "POST", "/api/v1/applications", applicant, apptest.Proposal(prog, "Cafe Mitte", 2_000_000)).JSON(t, &st)
	appPage := app.URL + "/console/applications/" + st.ID
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
	for i, r := range reviewers {
		steps := []chromedp.Action[chromedp.Void]{
			chromedp.Navigate(appPage),
			chromedp.WaitVisible(chromedp.CSS(`form[action$="/reviews"]`)),
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
			chromedp.Click(chromedp.CSS(`form[action$="/reviews"] button[type=submit]`)),
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
	as(fin1,
		chromedp.Navigate(app.URL+"/console/disbursements"),
		chromedp.WaitVisible(chromedp.CSS(`form[action$="/approval"]`)),
		shot("finance-disbursements-due"),
		chromedp.Click(chromedp.CSS(`form[action$="/approval"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`.notice`)),
		notice("approved for payment"),
	)
	// The approver cannot also pay (four eyes): the API's refusal shows.
	as(fin1,
		chromedp.Navigate(app.URL+"/console/disbursements?status=approved"),
		chromedp.WaitVisible(chromedp.CSS(`form[action$="/payment"]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name=bank_reference]`), "SELF-PAY"),
		chromedp.Click(chromedp.CSS(`form[action$="/payment"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`.error`)),
	)
	as(fin2,
		chromedp.Navigate(app.URL+"/console/disbursements?status=approved"),
		chromedp.WaitVisible(chromedp.CSS(`form[action$="/payment"]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name=bank_reference]`), "BANK-2027-0001"),
		chromedp.Click(chromedp.CSS(`form[action$="/payment"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`.notice`)),
		notice("payment is confirmed"),
		chromedp.Navigate(appPage),
		chromedp.WaitVisible(chromedp.ID(`timeline`)),
		shot("finance-application-paid"),
	)
	as(app.Admin,
		shot("admin-home"),
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
	if got.Status != "active" || len(got.Tranches) == 0 || got.Tranches[0].Status != "paid" ||
		got.Tranches[0].PaidBy != fin2.ID || got.Tranches[0].BankReference != "BANK-2027-0001" {
		t.Errorf("after the pages: %+v, want active with tranche 1 paid by %s as BANK-2027-0001", got, fin2.ID)
	}
	app.BooksExact(t)
}
