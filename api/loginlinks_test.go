package api_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"reallabor/internal/apptest"
)

var linkRe = regexp.MustCompile(`http://reallabor\.test/console/sign-in/link\?token=(\S+)`)

// linksTo are the sign-in links mailed to the address so far.
func linksTo(t *testing.T, app *apptest.App, email string) []string {
	t.Helper()
	var out []string
	for _, m := range app.Mail.Sent() {
		if m.To != email {
			continue
		}
		if g := linkRe.FindStringSubmatch(m.Text); g != nil {
			tok, err := url.QueryUnescape(g[1])
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, tok)
		}
	}
	return out
}

// TestLoginLinks: a person asks for a sign-in link to their address and
// gets it by mail; it signs in once (a token for the session, good for
// GET /me), not twice, not after it expired; an unknown or deactivated
// address gets the same answer and no mail; a fourth link within ten
// minutes is not sent; bad input is refused by name.
func TestLoginLinks(t *testing.T) {
	app := apptest.Start(t)
	var anna struct{ ID string }
	app.Must(t, http.StatusCreated, "POST", "/api/v1/users", app.Admin, map[string]any{"name": "Anna Applicant", "role": "applicant",
		"organisation": "Cafe Mitte", "email": "anna@cafe-mitte.test", "language": "en"}).JSON(t, &anna)
	ask := func(email string) apptest.Response {
		return app.Do(t, "POST", "/api/v1/login-links", apptest.User{}, map[string]any{"email": email})
	}
	redeem := func(token string) apptest.Response {
		return app.Do(t, "POST", "/api/v1/login-links/redemption", apptest.User{}, map[string]any{"token": token})
	}
	known, unknown := ask("Anna@Cafe-Mitte.test"), ask("nobody@nowhere.test")
	if known.Status != http.StatusAccepted || unknown.Status != http.StatusAccepted || string(known.Body) != string(unknown.Body) {
		t.Fatalf("known address = %d %s, unknown = %d %s; want the same 202", known.Status, known.Body, unknown.Status, unknown.Body)
	}
	links := linksTo(t, app, "anna@cafe-mitte.test")
	if len(links) != 1 {
		t.Fatalf("links mailed = %d, want 1", len(links))
	}
	for _, m := range app.Mail.Sent() {
		if m.To == "nobody@nowhere.test" {
			t.Errorf("a mail went to an unknown address")
		}
		if m.MessageID == "" || strings.Contains(m.Text, m.MessageID) {
			t.Errorf("the link's mail has message id %q: want one, and not the link's secret", m.MessageID)
		}
	}
	r := redeem(links[0])
	if r.Status != http.StatusCreated {
		t.Fatalf("redeem = %d %s", r.Status, r.Body)
	}
	var session struct {
		Token, Role string
		UserID      string `json:"user_id"`
	}
	r.JSON(t, &session)
	var me struct{ ID string }
	app.Must(t, 200, "GET", "/api/v1/me", apptest.User{Token: session.Token}, nil).JSON(t, &me)
	if me.ID != anna.ID || session.Role != "applicant" {
		t.Errorf("the link's session is %+v / %s, want Anna the applicant", session, me.ID)
	}
	if r := redeem(links[0]); r.Status != http.StatusUnauthorized {
		t.Errorf("the same link again = %d, want 401", r.Status)
	}
	// Expired.
	ask("anna@cafe-mitte.test")
	links = linksTo(t, app, "anna@cafe-mitte.test")
	if err := app.Store.DB.Exec("UPDATE login_links SET expires_at = created_at WHERE used_at IS NULL").Error; err != nil {
		t.Fatal(err)
	}
	if r := redeem(links[len(links)-1]); r.Status != http.StatusUnauthorized || !strings.Contains(string(r.Body), "expired") {
		t.Errorf("an expired link = %d %s, want 401", r.Status, r.Body)
	}
	// The third link in ten minutes is sent, a fourth not.
	ask("anna@cafe-mitte.test")
	ask("anna@cafe-mitte.test")
	if n := len(linksTo(t, app, "anna@cafe-mitte.test")); n != 3 {
		t.Errorf("links after four asks in ten minutes = %d, want 3", n)
	}
	// Deactivated: the same answer, no mail.
	var bob struct{ ID string }
	app.Must(t, http.StatusCreated, "POST", "/api/v1/users", app.Admin, map[string]any{"name": "Bob", "role": "finance",
		"organisation": "Stadtkasse", "email": "bob@stadt.test"}).JSON(t, &bob)
	app.Must(t, 200, "POST", "/api/v1/users/"+bob.ID+"/deactivation", app.Admin, map[string]any{})
	if r := ask("bob@stadt.test"); r.Status != http.StatusAccepted || len(linksTo(t, app, "bob@stadt.test")) != 0 {
		t.Errorf("a deactivated user's address = %d with %d links, want 202 and none", r.Status, len(linksTo(t, app, "bob@stadt.test")))
	}
	for _, c := range []struct {
		path string
		body any
		want int
	}{
		{"/api/v1/login-links", map[string]any{"email": "not an address"}, http.StatusUnprocessableEntity},
		{"/api/v1/login-links", map[string]any{"email": "anna@cafe-mitte.test\x00"}, http.StatusUnprocessableEntity},
		{"/api/v1/login-links", map[string]any{}, http.StatusUnprocessableEntity},
		{"/api/v1/login-links", nil, http.StatusBadRequest},
		{"/api/v1/login-links/redemption", map[string]any{"token": ""}, http.StatusUnprocessableEntity},
		{"/api/v1/login-links/redemption", map[string]any{"token": strings.Repeat("x", 201)}, http.StatusUnprocessableEntity},
		{"/api/v1/login-links/redemption", map[string]any{"token": "link_never-sent"}, http.StatusUnauthorized},
	} {
		if r := app.Do(t, "POST", c.path, apptest.User{}, c.body); r.Status != c.want {
			t.Errorf("POST %s %v = %d %s, want %d", c.path, c.body, r.Status, r.Body, c.want)
		}
	}
}
