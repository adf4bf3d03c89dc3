package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"reallabor/internal/store/storetest"
)

const adminToken = "test-admin-token-0123456789"

// devProcess is `reallabor dev` running in-process.
type devProcess struct {
	ep     endpoints
	cancel context.CancelFunc
	done   chan error
	out    *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startDev boots the real program (`dev`) on free ports against dbURL.
func startDev(t *testing.T, dataDir, dbURL string) *devProcess {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan endpoints, 1)
	out := &syncBuffer{}
	env := map[string]string{"REALLABOR_ADMIN_TOKEN": adminToken}
	p := &program{stdout: out, stderr: out, getenv: func(k string) string { return env[k] },
		onReady: func(ep endpoints) { ready <- ep }}
	d := &devProcess{cancel: cancel, done: make(chan error, 1), out: out}
	go func() {
		d.done <- p.run(ctx, []string{"dev", "--http=127.0.0.1:0", "--temporal-address=127.0.0.1:0", "--ui-address=",
			"--data-dir=" + dataDir, "--database-url=" + dbURL, "--log-level=warn"})
	}()
	select {
	case d.ep = <-ready:
	case err := <-d.done:
		cancel()
		t.Fatalf("dev exited before ready: %v\n%s", err, out.String())
	case <-time.After(2 * time.Minute):
		cancel()
		t.Fatalf("dev not ready within 2 minutes\n%s", out.String())
	}
	return d
}

// stop shuts dev down as Ctrl-C would and waits for it.
func (d *devProcess) stop(t *testing.T) time.Duration {
	t.Helper()
	start := time.Now()
	before := len(d.out.String())
	d.cancel()
	select {
	case err := <-d.done:
		if err != nil {
			t.Fatalf("dev exited with %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("dev did not stop within 30s")
	}
	// Stopping is not news: no warnings or errors while it stops.
	for _, l := range strings.Split(d.out.String()[before:], "\n") {
		if strings.Contains(l, "level=WARN") || strings.Contains(l, "level=ERROR") {
			t.Errorf("logged while stopping: %s", l)
		}
	}
	return time.Since(start)
}

// call makes an API request and decodes the JSON answer into out.
func call(t *testing.T, base, method, path, token string, body any, out any) int {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, "http://"+base+path, r)
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if out != nil && len(raw) > 0 {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("%s %s: decode %q: %v", method, path, raw, err)
		}
	}
	return resp.StatusCode
}

func TestDevSubmitAndSurviveRestart(t *testing.T) {
	dbURL := storetest.NewPostgresURL(t)
	dataDir := t.TempDir()
	d := startDev(t, dataDir, dbURL)
	base := d.ep.HTTP

	if code := call(t, base, "GET", "/readyz", "", nil, nil); code != http.StatusOK {
		t.Fatalf("GET /readyz = %d, want 200", code)
	}
	var prog struct{ ID string }
	if code := call(t, base, "POST", "/api/v1/programmes", adminToken, map[string]any{
		"name": "Digitale Innenstadt", "budget_cents": 10_000_000, "max_grant_cents": 2_000_000,
		"funding_rate_percent": 50, "reviewers_required": 3}, &prog); code != http.StatusCreated {
		t.Fatalf("POST /programmes = %d, want 201", code)
	}
	var applicant struct{ Token string }
	if code := call(t, base, "POST", "/api/v1/users", adminToken, map[string]any{
		"name": "Anna", "role": "applicant", "organisation": "Cafe Mitte"}, &applicant); code != http.StatusCreated {
		t.Fatalf("POST /users = %d, want 201", code)
	}
	// A board member with an address: dev without SMTP_URL writes the mail
	// of the new application into its outbox.
	if code := call(t, base, "POST", "/api/v1/users", adminToken, map[string]any{
		"name": "Rolf", "role": "reviewer", "organisation": "IHK", "email": "rolf@ihk.test"}, nil); code != http.StatusCreated {
		t.Fatalf("POST /users (reviewer) = %d, want 201", code)
	}
	var app struct {
		ID     string
		Status string
	}
	code := call(t, base, "POST", "/api/v1/applications", applicant.Token, map[string]any{
		"programme_id": prog.ID, "title": "Click & Collect Altstadt", "summary": "shared pick-up points",
		"requested_cents": 1_000_000, "total_cost_cents": 2_500_000, "start_date": "2027-01-01", "end_date": "2027-12-31",
		"group": map[string]any{"name": "Altstadt retailers", "members": []map[string]any{
			{"name": "Cafe Mitte", "prior_de_minimis_cents": 0}, {"name": "Buchladen Eck", "prior_de_minimis_cents": 5_000_000}}},
		"payee": map[string]any{"name": "Cafe Mitte GmbH", "iban": "DE89 3704 0044 0532 0130 00"},
	}, &app)
	if code != http.StatusCreated || app.Status != "in_review" {
		t.Fatalf("POST /applications = %d status %q, want 201 in_review\n%s", code, app.Status, d.out.String())
	}
	var got struct {
		Status string
		Next   []struct{ Action, From string }
	}
	if code := call(t, base, "GET", "/api/v1/applications/"+app.ID, applicant.Token, nil, &got); code != 200 || got.Status != "in_review" {
		t.Fatalf("GET application = %d %q, want 200 in_review", code, got.Status)
	}
	if len(got.Next) == 0 || got.Next[0].Action != "review" {
		t.Errorf("next = %+v, want review by the steering board first", got.Next)
	}
	// (The demo board members seeded at start have addresses too.)
	var rolfs string
	for deadline := time.Now().Add(15 * time.Second); rolfs == "" && time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		eml, _ := filepath.Glob(filepath.Join(dataDir, "outbox", "*.eml"))
		for _, f := range eml {
			if raw, _ := os.ReadFile(f); strings.Contains(string(raw), "To: <rolf@ihk.test>") {
				rolfs = string(raw)
			}
		}
	}
	if !strings.Contains(rolfs, "Neuer Antrag zur Begutachtung") {
		t.Fatalf("no mail to the board member in the outbox, or not the German invitation to review:\n%s", rolfs)
	}
	resp, err := http.Get("http://" + base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(metrics), `reallabor_notifications_total{channel="email",kind="eligibility_passed",result="sent"}`) {
		t.Errorf("metrics lack the mail sent")
	}
	t.Logf("dev stopped in %s", d.stop(t))

	// Restart on the same SQLite file and database: the workflow still runs.
	d = startDev(t, dataDir, dbURL)
	defer d.stop(t)
	base = d.ep.HTTP
	if code := call(t, base, "GET", "/api/v1/applications/"+app.ID, applicant.Token, nil, &got); code != 200 || got.Status != "in_review" {
		t.Fatalf("after restart GET application = %d %q, want 200 in_review", code, got.Status)
	}
	var reviewer struct{ Token string }
	call(t, base, "POST", "/api/v1/users", adminToken, map[string]any{"name": "Rita", "role": "reviewer", "organisation": "Stadtwerke"}, &reviewer)
	var after struct {
		Status string
		Votes  []struct{ Recommendation string }
	}
	code = call(t, base, "POST", "/api/v1/applications/"+app.ID+"/reviews", reviewer.Token, map[string]any{
		"recommendation": "approve", "scores": map[string]int{"impact": 4, "feasibility": 4, "partnership": 5}}, &after)
	if code != http.StatusOK || len(after.Votes) != 1 {
		t.Fatalf("review after restart = %d %+v, want 200 with the reviewer's vote\n%s", code, after, d.out.String())
	}
	if !strings.Contains(d.out.String(), "Reallabor grants is running") {
		t.Errorf("dev banner missing from output")
	}
	fmt.Fprint(io.Discard, d.out.String())
}

// TestDevOnEmbeddedSQLite runs dev on its defaults (no DATABASE_URL: the
// embedded SQLite file) through approval, acceptance and a four-eyes payment,
// and checks the demo seed: the same code and migrations as on PostgreSQL.
func TestDevOnEmbeddedSQLite(t *testing.T) {
	dataDir := t.TempDir()
	d := startDev(t, dataDir, "")
	defer d.stop(t)
	base := d.ep.HTTP
	var progs struct {
		Items []struct {
			ID     string
			Ledger struct {
				Budget int64 `json:"budget_cents"`
			}
		}
	}
	if code := call(t, base, "GET", "/api/v1/programmes", adminToken, nil, &progs); code != 200 || len(progs.Items) != 1 {
		t.Fatalf("GET /programmes = %d with %d programmes, want the seeded demo programme", code, len(progs.Items))
	}
	if !strings.Contains(d.out.String(), "Demo users") {
		t.Fatalf("dev did not print the demo users:\n%s", d.out.String())
	}
	prog := progs.Items[0].ID
	mk := func(name, role, org string) string {
		var u struct{ Token string }
		if code := call(t, base, "POST", "/api/v1/users", adminToken, map[string]any{"name": name, "role": role, "organisation": org}, &u); code != 201 {
			t.Fatalf("create %s = %d", role, code)
		}
		return u.Token
	}
	applicant := mk("Anna", "applicant", "Cafe Mitte")
	reviewers := []string{mk("R1", "reviewer", "Stadtwerke"), mk("R2", "reviewer", "IHK"), mk("R3", "reviewer", "Handwerkskammer")}
	fin1, fin2 := mk("F1", "finance", "Stadtkasse"), mk("F2", "finance", "Stadtkasse")
	var app struct {
		ID       string
		Status   string
		Tranches []struct{ ID string }
	}
	code := call(t, base, "POST", "/api/v1/applications", applicant, map[string]any{
		"programme_id": prog, "title": "Digitale Werkstatt", "requested_cents": 2_000_000, "total_cost_cents": 5_000_000,
		"start_date": "2027-03-01", "end_date": "2027-11-30",
		"group": map[string]any{"name": "Handwerk Nord", "members": []map[string]any{{"name": "Cafe Mitte"}}},
		"payee": map[string]any{"name": "Cafe Mitte GmbH", "iban": "GB82WEST12345698765432"},
	}, &app)
	if code != 201 || app.Status != "in_review" {
		t.Fatalf("submit = %d %s, want 201 in_review", code, app.Status)
	}
	for _, r := range reviewers {
		call(t, base, "POST", "/api/v1/applications/"+app.ID+"/reviews", r,
			map[string]any{"recommendation": "approve", "scores": map[string]int{"impact": 5, "feasibility": 4, "partnership": 4}}, &app)
	}
	if code := call(t, base, "POST", "/api/v1/applications/"+app.ID+"/acceptance", applicant, nil, &app); code != 200 || app.Status != "active" {
		t.Fatalf("accept = %d %s, want 200 active", code, app.Status)
	}
	tr := app.Tranches[0].ID
	if code := call(t, base, "POST", "/api/v1/disbursements/"+tr+"/approval", fin1, nil, nil); code != 200 {
		t.Fatalf("approve disbursement = %d", code)
	}
	if code := call(t, base, "POST", "/api/v1/disbursements/"+tr+"/payment", fin2, map[string]any{"bank_reference": "B-1"}, nil); code != 200 {
		t.Fatalf("pay = %d", code)
	}
	var l struct {
		Reserved  int64 `json:"reserved_cents"`
		Paid      int64 `json:"paid_cents"`
		Available int64 `json:"available_cents"`
	}
	call(t, base, "GET", "/api/v1/programmes/"+prog+"/ledger", fin1, nil, &l)
	if l.Paid != 800_000 || l.Reserved != 1_200_000 || l.Available != 500_000_00-2_000_000 {
		t.Fatalf("ledger on SQLite = %+v, want paid 800000 reserved 1200000", l)
	}
}
