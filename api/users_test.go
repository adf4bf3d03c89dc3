package api_test

import (
	"fmt"
	"net/http"
	"sync"
	"testing"

	"reallabor/internal/apptest"
)

// TestUserLifecycle: a deactivated user's token is refused until an admin
// reactivates it; a new token voids the old one, whether the admin gives it
// or the user takes it for itself; the list shows who is active.
func TestUserLifecycle(t *testing.T) {
	app := apptest.Start(t)
	rita := app.CreateUser(t, "Rita", "reviewer", "Stadtwerke")
	app.Must(t, http.StatusOK, "GET", "/api/v1/me", rita, nil)

	var u struct {
		ID     string `json:"id"`
		Active bool   `json:"active"`
		Token  string `json:"token"`
	}
	app.Must(t, http.StatusOK, "POST", "/api/v1/users/"+rita.ID+"/deactivation", app.Admin, map[string]any{}).JSON(t, &u)
	if u.Active {
		t.Fatalf("deactivated user answered active")
	}
	app.Must(t, http.StatusUnauthorized, "GET", "/api/v1/me", rita, nil)
	var list struct {
		Items []struct {
			ID     string `json:"id"`
			Active bool   `json:"active"`
		} `json:"items"`
	}
	app.Must(t, http.StatusOK, "GET", "/api/v1/users", app.Admin, nil).JSON(t, &list)
	for _, it := range list.Items {
		if it.ID == rita.ID && it.Active {
			t.Errorf("the list shows the deactivated user active")
		}
	}
	app.Must(t, http.StatusOK, "POST", "/api/v1/users/"+rita.ID+"/reactivation", app.Admin, map[string]any{})
	app.Must(t, http.StatusOK, "GET", "/api/v1/me", rita, nil)

	// A leaked token: the admin gives a new one; the old one is refused.
	app.Must(t, http.StatusOK, "POST", "/api/v1/users/"+rita.ID+"/token", app.Admin, map[string]any{}).JSON(t, &u)
	if u.Token == "" || u.Token == rita.Token {
		t.Fatalf("new token %q, want a fresh one", u.Token)
	}
	app.Must(t, http.StatusUnauthorized, "GET", "/api/v1/me", rita, nil)
	rita.Token = u.Token
	app.Must(t, http.StatusOK, "GET", "/api/v1/me", rita, nil)

	// The user takes a new token for itself.
	old := rita
	app.Must(t, http.StatusOK, "POST", "/api/v1/me/token", rita, map[string]any{}).JSON(t, &u)
	rita.Token = u.Token
	app.Must(t, http.StatusUnauthorized, "GET", "/api/v1/me", old, nil)
	app.Must(t, http.StatusOK, "GET", "/api/v1/me", rita, nil)
	// An admin cannot lock itself out.
	app.Must(t, http.StatusConflict, "POST", "/api/v1/users/"+app.Admin.ID+"/deactivation", app.Admin, map[string]any{})
}

// TestOpenApplicationsQuota: a programme caps the applications one applicant
// may have open; a retry of a submission made passes; once one ends, another
// may be submitted. Nothing is started for a refused one.
func TestOpenApplicationsQuota(t *testing.T) {
	app := apptest.Start(t)
	prog := app.CreateProgramme(t, 100_000_000, map[string]any{"max_open_applications_per_applicant": 2})
	anna := app.CreateUser(t, "Anna", "applicant", "Cafe Mitte")
	body := apptest.Proposal(prog, "Cafe Mitte", 1_000_000)
	var first struct{ ID string }
	app.Must(t, http.StatusCreated, "POST", "/api/v1/applications", anna, body, "Idempotency-Key", "one").JSON(t, &first)
	app.Must(t, http.StatusCreated, "POST", "/api/v1/applications", anna, body, "Idempotency-Key", "two")
	app.Must(t, http.StatusConflict, "POST", "/api/v1/applications", anna, body, "Idempotency-Key", "three")
	app.Must(t, http.StatusCreated, "POST", "/api/v1/applications", anna, body, "Idempotency-Key", "one") // a retry
	// Another applicant of the same company has its own count.
	bernd := app.CreateUser(t, "Bernd", "applicant", "Cafe Mitte")
	app.Must(t, http.StatusCreated, "POST", "/api/v1/applications", bernd, body)
	app.Must(t, http.StatusOK, "POST", "/api/v1/applications/"+first.ID+"/withdrawal", anna, map[string]any{"reason": "one at a time"})
	app.Must(t, http.StatusCreated, "POST", "/api/v1/applications", anna, body, "Idempotency-Key", "four")
	var list struct {
		Items []struct{ ID string } `json:"items"`
	}
	app.Must(t, http.StatusOK, "GET", "/api/v1/applications?programme_id="+prog, app.Admin, nil).JSON(t, &list)
	if len(list.Items) != 4 {
		t.Errorf("applications = %d, want 4 (the refused one never started)", len(list.Items))
	}
}

// TestQuotaHoldsUnderConcurrentSubmissions: submissions sent at once by one
// applicant cannot all pass the count: exactly the cap is started.
func TestQuotaHoldsUnderConcurrentSubmissions(t *testing.T) {
	app := apptest.Start(t)
	prog := app.CreateProgramme(t, 100_000_000, map[string]any{"max_open_applications_per_applicant": 2})
	clara := app.CreateUser(t, "Clara", "applicant", "Cafe Mitte")
	body := apptest.Proposal(prog, "Cafe Mitte", 1_000_000)
	const n = 10
	codes := make(chan int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes <- app.Do(t, "POST", "/api/v1/applications", clara, body, "Idempotency-Key", fmt.Sprintf("burst-%d", i)).Status
		}()
	}
	wg.Wait()
	close(codes)
	got := map[int]int{}
	for c := range codes {
		got[c]++
	}
	if got[http.StatusCreated] != 2 || got[http.StatusConflict] != n-2 {
		t.Errorf("answers to %d simultaneous submissions = %v, want 2 × 201 and %d × 409", n, got, n-2)
	}
	var list struct {
		Items []struct{ ID string } `json:"items"`
	}
	app.Must(t, http.StatusOK, "GET", "/api/v1/applications?programme_id="+prog, app.Admin, nil).JSON(t, &list)
	if len(list.Items) != 2 {
		t.Errorf("applications started = %d, want 2", len(list.Items))
	}
}
