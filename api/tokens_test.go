package api_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"reallabor/internal/apptest"
	"reallabor/models"
)

type tokenView struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	Active     bool       `json:"active"`
	Token      string     `json:"token"`
	LastUsedAt *time.Time `json:"last_used_at"`
	ExpiresAt  *time.Time `json:"expires_at"`
	RevokedAt  *time.Time `json:"revoked_at"`
}

// listTokens returns the tokens listed at path by name (the newest of a
// name wins).
func listTokens(t *testing.T, app *apptest.App, path string, u apptest.User) map[string]tokenView {
	t.Helper()
	var list struct {
		Items []tokenView `json:"items"`
	}
	app.Must(t, http.StatusOK, "GET", path, u, nil).JSON(t, &list)
	out := map[string]tokenView{}
	for _, it := range list.Items {
		if it.Token != "" {
			t.Errorf("the token list shows the secret of %q", it.Name)
		}
		out[it.Name] = it
	}
	return out
}

// TestNamedTokens: a user holds several named tokens; each shows its last
// use and optional expiry, can be revoked or rotated on its own, and an
// expired one is refused. An admin can list, issue and revoke any user's.
func TestNamedTokens(t *testing.T) {
	app := apptest.Start(t)
	fiona := app.CreateUser(t, "Fiona", "finance", "Stadtkasse")
	ctx := context.Background()

	var laptop, script tokenView
	app.Must(t, http.StatusCreated, "POST", "/api/v1/me/tokens", fiona, map[string]any{"name": "laptop"}).JSON(t, &laptop)
	app.Must(t, http.StatusCreated, "POST", "/api/v1/me/tokens", fiona,
		map[string]any{"name": "export job", "expires_in_days": 30}).JSON(t, &script)
	if laptop.Token == "" || script.Token == "" || laptop.Token == script.Token || !laptop.Active {
		t.Fatalf("new tokens = %+v / %+v, want two fresh active secrets", laptop, script)
	}
	if script.ExpiresAt == nil || time.Until(*script.ExpiresAt) < 29*24*time.Hour || laptop.ExpiresAt != nil {
		t.Errorf("expiries = %v / %v, want 30 days for the export job and none for the laptop", script.ExpiresAt, laptop.ExpiresAt)
	}
	asLaptop, asScript := fiona, fiona
	asLaptop.Token, asScript.Token = laptop.Token, script.Token
	for _, u := range []apptest.User{fiona, asLaptop, asScript} {
		app.Must(t, http.StatusOK, "GET", "/api/v1/me", u, nil)
	}
	toks := listTokens(t, app, "/api/v1/me/tokens", fiona)
	if len(toks) != 3 {
		t.Fatalf("tokens listed = %v, want default, laptop and export job", toks)
	}
	if toks["laptop"].LastUsedAt == nil || toks["default"].LastUsedAt == nil {
		t.Errorf("last use not shown after signing in: %+v", toks)
	}

	// Revoking one leaves the others working; revoking it again is fine.
	app.Must(t, http.StatusNoContent, "DELETE", "/api/v1/me/tokens/"+laptop.ID, fiona, nil)
	app.Must(t, http.StatusNoContent, "DELETE", "/api/v1/me/tokens/"+laptop.ID, fiona, nil)
	app.Must(t, http.StatusUnauthorized, "GET", "/api/v1/me", asLaptop, nil)
	app.Must(t, http.StatusOK, "GET", "/api/v1/me", asScript, nil)
	if got := listTokens(t, app, "/api/v1/me/tokens", fiona)["laptop"]; got.Active || got.RevokedAt == nil {
		t.Errorf("revoked token listed as %+v, want inactive with revoked_at", got)
	}

	// Rotating keeps name and expiry, voids the old secret at once.
	var rotated tokenView
	app.Must(t, http.StatusOK, "POST", "/api/v1/me/tokens/"+script.ID+"/rotation", fiona, map[string]any{}).JSON(t, &rotated)
	if rotated.Token == "" || rotated.Name != "export job" || rotated.ExpiresAt == nil || !rotated.ExpiresAt.Equal(*script.ExpiresAt) {
		t.Errorf("rotated token = %+v, want a new secret named export job with the same expiry", rotated)
	}
	app.Must(t, http.StatusUnauthorized, "GET", "/api/v1/me", asScript, nil)
	asScript.Token = rotated.Token
	app.Must(t, http.StatusOK, "GET", "/api/v1/me", asScript, nil)
	app.Must(t, http.StatusConflict, "POST", "/api/v1/me/tokens/"+laptop.ID+"/rotation", fiona, map[string]any{})

	// An expired token is refused, and says so.
	past := time.Now().Add(-time.Minute)
	if err := app.Store.DB.WithContext(ctx).Model(&models.Token{}).Where("id = ?", rotated.ID).
		Update("expires_at", past).Error; err != nil {
		t.Fatal(err)
	}
	resp := app.Do(t, "GET", "/api/v1/me", asScript, nil)
	if resp.Status != http.StatusUnauthorized || !strings.Contains(string(resp.Body), "expired") {
		t.Errorf("expired token = %d %s, want 401 saying it expired", resp.Status, resp.Body)
	}

	// Someone else's token is not found, not revoked.
	rita := app.CreateUser(t, "Rita", "reviewer", "Stadtwerke")
	app.Must(t, http.StatusNotFound, "DELETE", "/api/v1/me/tokens/"+script.ID, rita, nil)
	app.Must(t, http.StatusNotFound, "POST", "/api/v1/me/tokens/"+script.ID+"/rotation", rita, map[string]any{})

	// The admin sees Fiona's tokens (no secrets), issues one and revokes it.
	var all struct{ Items []tokenView }
	app.Must(t, http.StatusOK, "GET", "/api/v1/users/"+fiona.ID+"/tokens", app.Admin, nil).JSON(t, &all)
	if len(all.Items) != 4 {
		t.Errorf("admin's view of the tokens = %d, want 4 (default, laptop, export job before and after rotation)", len(all.Items))
	}
	var issued tokenView
	app.Must(t, http.StatusCreated, "POST", "/api/v1/users/"+fiona.ID+"/tokens", app.Admin, map[string]any{"name": "handed over"}).JSON(t, &issued)
	asIssued := fiona
	asIssued.Token = issued.Token
	app.Must(t, http.StatusOK, "GET", "/api/v1/me", asIssued, nil)
	app.Must(t, http.StatusNoContent, "DELETE", "/api/v1/users/"+fiona.ID+"/tokens/"+issued.ID, app.Admin, nil)
	app.Must(t, http.StatusUnauthorized, "GET", "/api/v1/me", asIssued, nil)
	app.Must(t, http.StatusOK, "GET", "/api/v1/me", fiona, nil)

	// Starting over (POST /users/{id}/token) voids every token.
	var fresh struct{ Token string }
	app.Must(t, http.StatusOK, "POST", "/api/v1/users/"+fiona.ID+"/token", app.Admin, map[string]any{}).JSON(t, &fresh)
	app.Must(t, http.StatusUnauthorized, "GET", "/api/v1/me", fiona, nil)
	fiona.Token = fresh.Token
	app.Must(t, http.StatusOK, "GET", "/api/v1/me", fiona, nil)
}

// TestTokenBadInput: a name is required, short and clean; the lifetime is
// bounded; unknown ids are 404.
func TestTokenBadInput(t *testing.T) {
	app := apptest.Start(t)
	u := app.CreateUser(t, "Fiona", "finance", "Stadtkasse")
	for _, body := range []map[string]any{
		{},
		{"name": "   "},
		{"name": strings.Repeat("x", 101)},
		{"name": "bad\x00name"},
		{"name": "laptop", "expires_in_days": -1},
		{"name": "laptop", "expires_in_days": 3651},
		{"name": "laptop", "expires_in_days": "soon"},
	} {
		resp := app.Do(t, "POST", "/api/v1/me/tokens", u, body)
		if resp.Status != http.StatusUnprocessableEntity {
			t.Errorf("POST /me/tokens %v = %d %s, want 422", body, resp.Status, resp.Body)
		}
	}
	app.Must(t, http.StatusNotFound, "DELETE", "/api/v1/me/tokens/tok-unknown", u, nil)
	app.Must(t, http.StatusNotFound, "GET", "/api/v1/users/0190a000-0000-7000-8000-000000000000/tokens", app.Admin, nil)
	app.Must(t, http.StatusBadRequest, "DELETE", "/api/v1/me/tokens/bad%00id", u, nil)
	if got := listTokens(t, app, "/api/v1/me/tokens", u); len(got) != 1 {
		t.Errorf("tokens after refused requests = %v, want only the first", got)
	}
}
