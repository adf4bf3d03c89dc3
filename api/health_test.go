package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"go.temporal.io/api/workflowservice/v1"

	"reallabor/internal/authz"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"reallabor/api"
	"reallabor/internal/store/storetest"
)

// downTemporal is a fake of the API's Workflows port whose every call fails
// as an unreachable Temporal frontend does.
type downTemporal struct{}

var errDown = serviceerror.NewUnavailable("connection refused")

func (downTemporal) ExecuteWorkflow(context.Context, client.StartWorkflowOptions, any, ...any) (client.WorkflowRun, error) {
	return nil, errDown
}
func (downTemporal) WorkflowService() workflowservice.WorkflowServiceClient { return nil }
func (downTemporal) UpdateWorkflow(context.Context, client.UpdateWorkflowOptions) (client.WorkflowUpdateHandle, error) {
	return nil, errDown
}
func (downTemporal) QueryWorkflow(context.Context, string, string, string, ...any) (converter.EncodedValue, error) {
	return nil, errDown
}
func (downTemporal) NewWithStartWorkflowOperation(client.StartWorkflowOptions, any, ...any) client.WithStartWorkflowOperation {
	return nil
}
func (downTemporal) UpdateWithStartWorkflow(context.Context, client.UpdateWithStartWorkflowOptions) (client.WorkflowUpdateHandle, error) {
	return nil, errDown
}
func (downTemporal) SignalWorkflow(context.Context, string, string, string, any) error {
	return errDown
}
func (downTemporal) CheckHealth(context.Context, *client.CheckHealthRequest) (*client.CheckHealthResponse, error) {
	return nil, errors.New("dial tcp 127.0.0.1:7233: connect: connection refused")
}

func TestReadyzNamesWhatIsDown(t *testing.T) {
	srv := api.New(api.Config{Store: storetest.New(t), Temporal: downTemporal{}, Keys: testKeys(t)})
	rec := httptest.NewRecorder()
	srv.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
	if rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("GET /readyz with Temporal down = %d, want 503", rec.Code)
	}
	var body struct {
		Checks map[string]string `json:"checks"`
	}
	_ = json.Unmarshal(rec.Body.Bytes(), &body)
	if body.Checks["database"] != "ok" || !strings.Contains(body.Checks["temporal"], "unreachable") {
		t.Fatalf("checks = %v, want database ok and temporal unreachable", body.Checks)
	}
	rec = httptest.NewRecorder()
	srv.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/healthz", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /healthz = %d, want 200 (the process is up)", rec.Code)
	}
}

func TestTemporalDownIs503WithRetryAfter(t *testing.T) {
	st := storetest.New(t)
	srv := api.New(api.Config{Store: st, Temporal: downTemporal{}, Keys: testKeys(t)})
	token, _ := api.NewToken()
	mustAdmin(t, st, token)
	body := `{"name":"P","budget_cents":1000000,"max_grant_cents":500000}`
	rec := do(srv, "POST", "/api/v1/programmes", token, body)
	if rec.Code != http.StatusCreated {
		t.Fatalf("create programme = %d: %s", rec.Code, rec.Body)
	}
	var p struct{ ID string }
	_ = json.Unmarshal(rec.Body.Bytes(), &p)
	applicant := mustUser(t, st, "applicant", "Cafe Mitte")
	raw, _ := json.Marshal(map[string]any{
		"programme_id": p.ID, "title": "T", "requested_cents": 100000, "total_cost_cents": 300000,
		"start_date": "2027-01-01", "end_date": "2027-06-30",
		"group": map[string]any{"name": "G", "members": []map[string]any{{"name": "Cafe Mitte"}}},
		"payee": map[string]any{"name": "Cafe", "iban": "DE89370400440532013000"},
	})
	rec = do(srv, "POST", "/api/v1/applications", applicant, string(raw))
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") == "" {
		t.Fatalf("submit with Temporal down = %d (Retry-After %q), want 503 with Retry-After: %s",
			rec.Code, rec.Header().Get("Retry-After"), rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("content type = %q, want application/problem+json", ct)
	}
}

func TestRateLimitAnswers429(t *testing.T) {
	st := storetest.New(t)
	srv := api.New(api.Config{Store: st, Temporal: downTemporal{}, Keys: testKeys(t), RateLimit: 1})
	token := mustUser(t, st, "finance", "Stadtkasse")
	codes := map[int]int{}
	var limited *httptest.ResponseRecorder
	for range 6 {
		rec := do(srv, "GET", "/api/v1/me", token, "")
		codes[rec.Code]++
		if rec.Code == http.StatusTooManyRequests {
			limited = rec
		}
	}
	if codes[http.StatusOK] != 2 || codes[http.StatusTooManyRequests] != 4 {
		t.Fatalf("6 quick calls at 1/s (burst 2) answered %v, want 2×200 and 4×429", codes)
	}
	if limited.Header().Get("Retry-After") == "" || limited.Header().Get("Content-Type") != "application/problem+json" {
		t.Errorf("429 headers = %v, want Retry-After and problem+json", limited.Header())
	}
	// Another caller is not affected, and health checks are never limited.
	if rec := do(srv, "GET", "/api/v1/me", mustUser(t, st, "admin", ""), ""); rec.Code != http.StatusOK {
		t.Errorf("another caller = %d, want 200", rec.Code)
	}
	for range 5 {
		rec := httptest.NewRecorder()
		srv.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/healthz", nil))
		if rec.Code != http.StatusOK {
			t.Fatalf("GET /healthz = %d, want 200 (never limited)", rec.Code)
		}
	}
}

func testKeys(t testing.TB) *authz.Keys {
	t.Helper()
	k, err := authz.Parse(authz.Generate("test"))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestLimitsPerIdentity: the ways around the rate limit the review found are
// closed. Spellings of one token are one user; random unknown tokens run out
// of failed authentications (429, no more token lookups); a made-up
// X-Forwarded-For does not make a new client unless it comes from a trusted
// proxy; lower-case "bearer" is accepted.
func TestLimitsPerIdentity(t *testing.T) {
	st := storetest.New(t)
	srv := api.New(api.Config{Store: st, Temporal: downTemporal{}, Keys: testKeys(t), RateLimit: 1})
	token := mustUser(t, st, "finance", "Stadtkasse")
	send := func(auth string, xff string) int {
		req := httptest.NewRequest("GET", "/api/v1/me", nil)
		req.Header.Set("Authorization", auth)
		if xff != "" {
			req.Header.Set("X-Forwarded-For", xff)
		}
		rec := httptest.NewRecorder()
		srv.Handler().ServeHTTP(rec, req)
		return rec.Code
	}
	codes := map[int]int{}
	for _, auth := range []string{"Bearer " + token, "bearer " + token, "Bearer  " + token + " ", "BEARER " + token} {
		codes[send(auth, "")]++
	}
	if codes[http.StatusOK] != 2 || codes[http.StatusTooManyRequests] != 2 {
		t.Errorf("four spellings of one token at 1/s (burst 2) = %v, want 2×200 then 429: one user", codes)
	}

	srv = api.New(api.Config{Store: st, Temporal: downTemporal{}, Keys: testKeys(t), RateLimit: 100})
	codes = map[int]int{}
	for i := range 15 {
		codes[send(fmt.Sprintf("Bearer rl_random_%d", i), fmt.Sprintf("203.0.113.%d", i))]++
	}
	if codes[http.StatusUnauthorized] != 10 || codes[http.StatusTooManyRequests] != 5 {
		t.Errorf("15 random tokens with made-up X-Forwarded-For = %v, want 10×401 then 429 (one address)", codes)
	}

	// Behind a trusted proxy, the forwarded address is the client.
	proxies, err := api.ParseProxies("192.0.2.0/24")
	if err != nil {
		t.Fatal(err)
	}
	srv = api.New(api.Config{Store: st, Temporal: downTemporal{}, Keys: testKeys(t), RateLimit: 100, TrustedProxies: proxies})
	codes = map[int]int{}
	for i := range 15 {
		codes[send("Bearer rl_random", fmt.Sprintf("203.0.113.%d", i%2))]++
	}
	if codes[http.StatusUnauthorized] != 15 {
		t.Errorf("15 failures from two clients behind a trusted proxy = %v, want 15×401 (each client has its own 10)", codes)
	}
}

// TestMetricsLabelsBounded: a made-up HTTP method does not make a series.
func TestMetricsLabelsBounded(t *testing.T) {
	srv := api.New(api.Config{Store: storetest.New(t), Temporal: downTemporal{}, Keys: testKeys(t)})
	for _, m := range []string{"FROB", "XYZZY", "GET"} {
		srv.Handler().ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(m, "/healthz", nil))
	}
	rec := httptest.NewRecorder()
	srv.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body := rec.Body.String()
	if strings.Contains(body, "FROB") || strings.Contains(body, "XYZZY") || !strings.Contains(body, `method="OTHER"`) {
		t.Errorf("metrics name made-up methods or lack OTHER:\n%s", grepLines(body, "reallabor_http_requests_total"))
	}
}

func grepLines(s, substr string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestMetricsToken: with a metrics token set, /metrics asks for it.
func TestMetricsToken(t *testing.T) {
	srv := api.New(api.Config{Store: storetest.New(t), Temporal: downTemporal{}, Keys: testKeys(t), MetricsToken: "metrics-secret-0123"})
	for auth, want := range map[string]int{"": 401, "Bearer wrong": 401, "Bearer metrics-secret-0123": 200, "bearer metrics-secret-0123": 200} {
		req := httptest.NewRequest("GET", "/metrics", nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		rec := httptest.NewRecorder()
		srv.Handler().ServeHTTP(rec, req)
		if rec.Code != want {
			t.Errorf("GET /metrics with %q = %d, want %d", auth, rec.Code, want)
		}
	}
}

// TestMetricsApart: with /metrics on an address of its own, the API's
// address answers 404 for it and the metrics handler serves the counts of
// the API's requests (with its token, if set).
func TestMetricsApart(t *testing.T) {
	srv := api.New(api.Config{Store: storetest.New(t), Temporal: downTemporal{}, Keys: testKeys(t),
		MetricsApart: true, MetricsToken: "metrics-secret-0123"})
	rec := httptest.NewRecorder()
	srv.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != http.StatusNotFound {
		t.Errorf("GET /metrics on the API's address = %d, want 404", rec.Code)
	}
	srv.Handler().ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/healthz", nil))
	for auth, want := range map[string]int{"": 401, "Bearer metrics-secret-0123": 200} {
		req := httptest.NewRequest("GET", "/metrics", nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		rec := httptest.NewRecorder()
		srv.MetricsHandler().ServeHTTP(rec, req)
		if rec.Code != want {
			t.Errorf("metrics address GET /metrics with %q = %d, want %d", auth, rec.Code, want)
		}
		if want == 200 && !strings.Contains(rec.Body.String(), `route="/healthz"`) {
			t.Errorf("metrics lack the API's requests: %s", grepLines(rec.Body.String(), "reallabor_http_requests_total"))
		}
	}
	rec = httptest.NewRecorder()
	srv.MetricsHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/api/v1/me", nil))
	if rec.Code != http.StatusNotFound {
		t.Errorf("the metrics address serves the API: GET /api/v1/me = %d, want 404", rec.Code)
	}
}
