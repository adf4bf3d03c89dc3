package api_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"reallabor/activities"
	"reallabor/api"
	"reallabor/internal/apptest"
	"reallabor/internal/store/storetest"
)

// TestWebhooksSignedAndOnce: a webhook receives each subscribed hand-off,
// signed per Standard Webhooks (verified with the reference library); a
// receiver that fails twice gets the event once, under one webhook-id; the
// delivery log shows the attempts; the secret is shown only at creation.
func TestWebhooksSignedAndOnce(t *testing.T) {
	var (
		mu       sync.Mutex
		failures = 2
		got      = map[string][]string{} // webhook-id -> bodies accepted
		secret   string
		badSig   int
	)
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		wh, err := standardwebhooks.NewWebhook(secret)
		if err != nil || wh.Verify(body, r.Header) != nil {
			badSig++
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		if strings.Contains(string(body), "eligibility_passed") && failures > 0 {
			failures--
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		got[r.Header.Get("webhook-id")] = append(got[r.Header.Get("webhook-id")], string(body))
	}))
	defer recv.Close()

	app := apptest.Start(t)
	var hook struct {
		ID, Secret string
		Events     []string
	}
	mu.Lock()
	app.Must(t, http.StatusCreated, "POST", "/api/v1/webhooks", app.Admin,
		map[string]any{"url": recv.URL + "/erp", "events": []string{"eligibility_passed", "approved"}}).JSON(t, &hook)
	secret = hook.Secret
	mu.Unlock()
	if !strings.HasPrefix(hook.Secret, "whsec_") {
		t.Fatalf("secret %q, want a whsec_ secret", hook.Secret)
	}
	var list struct{ Items []map[string]any }
	app.Must(t, http.StatusOK, "GET", "/api/v1/webhooks", app.Admin, nil).JSON(t, &list)
	if len(list.Items) != 1 || list.Items[0]["secret"] != nil {
		t.Errorf("webhook list = %v, want one without its secret", list.Items)
	}

	prog := app.CreateProgramme(t, 50_000_000, nil)
	anna := app.CreateUser(t, "Anna", "applicant", "Cafe Mitte")
	var st struct{ ID string }
	app.Must(t, http.StatusCreated, "POST", "/api/v1/applications", anna, apptest.Proposal(prog, "Cafe Mitte", 1_000_000)).JSON(t, &st)
	for _, org := range []string{"Stadtwerke", "IHK", "Handwerkskammer"} {
		r := app.CreateUser(t, "Reviewer", "reviewer", org)
		app.Must(t, http.StatusOK, "POST", "/api/v1/applications/"+st.ID+"/reviews", r,
			map[string]any{"recommendation": "approve", "scores": apptest.Scores(5)})
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n >= 2 || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 2 || badSig != 0 {
		t.Fatalf("receiver got %d events (%d with a bad signature), want eligibility_passed and approved, signed", len(got), badSig)
	}
	kinds := ""
	for _, bodies := range got {
		if len(bodies) != 1 {
			t.Errorf("an event arrived %d times, want once", len(bodies))
		}
		kinds += bodies[0]
		if !strings.Contains(bodies[0], st.ID) || strings.Contains(bodies[0], "DE89") {
			t.Errorf("delivery %s: want the application's id and no IBAN", bodies[0])
		}
	}
	if !strings.Contains(kinds, `"application.eligibility_passed"`) || !strings.Contains(kinds, `"application.approved"`) {
		t.Errorf("events delivered: %s", kinds)
	}
	var log struct {
		Items []struct {
			Kind, Status string
			Attempts     int
		}
	}
	app.Must(t, http.StatusOK, "GET", "/api/v1/webhooks/"+hook.ID+"/deliveries", app.Admin, nil).JSON(t, &log)
	for _, d := range log.Items {
		want := 1
		if d.Kind == "eligibility_passed" {
			want = 3
		}
		if d.Status != "delivered" || d.Attempts != want {
			t.Errorf("delivery log %+v, want delivered after %d attempts", d, want)
		}
	}
	app.Must(t, http.StatusNoContent, "DELETE", "/api/v1/webhooks/"+hook.ID, app.Admin, nil)
	app.Must(t, http.StatusNotFound, "DELETE", "/api/v1/webhooks/"+hook.ID, app.Admin, nil)
}

// TestWebhookSSRFRefused: a webhook cannot point at this host, its
// networks, link-local or cloud-metadata addresses, other schemes or user
// info (422, nothing filed); and a name that resolves to such an address is
// refused when dialled.
func TestWebhookSSRFRefused(t *testing.T) {
	st := storetest.New(t)
	srv := api.New(api.Config{Store: st, Temporal: downTemporal{}, Keys: testKeys(t)})
	admin, _ := api.NewToken()
	mustAdmin(t, st, admin)
	for _, u := range []string{"http://127.0.0.1/hook", "http://localhost:8080/hook", "http://10.1.2.3/", "http://192.168.0.10/",
		"http://169.254.169.254/latest/meta-data", "http://[::1]/", "http://[fe80::1]/", "http://0.0.0.0/", "ftp://erp.example.com/",
		"http://user:pw@erp.example.com/", "http://2130706433/", "not a url"} {
		rec := do(srv, "POST", "/api/v1/webhooks", admin, `{"url":"`+u+`","events":["*"]}`)
		if rec.Code != http.StatusUnprocessableEntity {
			t.Errorf("webhook to %s = %d, want 422: %s", u, rec.Code, rec.Body)
		}
	}
	if rec := do(srv, "POST", "/api/v1/webhooks", admin, `{"url":"https://erp.example.com/hook","events":["nonsense"]}`); rec.Code != http.StatusUnprocessableEntity {
		t.Errorf("unknown event kind = %d, want 422", rec.Code)
	}
	if rec := do(srv, "GET", "/api/v1/webhooks", admin, ""); !strings.Contains(rec.Body.String(), `"items":[]`) {
		t.Errorf("refused webhooks were filed: %s", rec.Body)
	}
	if rec := do(srv, "POST", "/api/v1/webhooks", admin, `{"url":"https://erp.example.com/hook","events":["approved"]}`); rec.Code != http.StatusCreated {
		t.Errorf("public webhook = %d, want 201: %s", rec.Code, rec.Body)
	}
	recv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer recv.Close()
	_, err := activities.WebhookClient(false).Post(strings.Replace(recv.URL, "127.0.0.1", "localhost", 1), "application/json", nil)
	if !errors.Is(err, activities.ErrPrivateAddress) {
		t.Errorf("dialling a name of this host = %v, want ErrPrivateAddress", err)
	}
}
