package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"reallabor/internal/authz"
	"reallabor/internal/devstack"
	"reallabor/internal/encryption"
	"reallabor/internal/store/storetest"
)

// TestServeAndWorkerScaleOut runs the production shape: migrate, then an API
// process (`serve`) and two worker processes (`worker`) against one Temporal
// cluster and one PostgreSQL; an application submitted to the API is worked
// by the workers.
func TestServeAndWorkerScaleOut(t *testing.T) {
	ts, err := devstack.Start(devstack.Options{FrontendAddress: "127.0.0.1:0"})
	if err != nil {
		t.Fatalf("start temporal: %v", err)
	}
	defer ts.Stop()
	env := map[string]string{
		"DATABASE_URL":          storetest.NewPostgresURL(t),
		"TEMPORAL_ADDRESS":      ts.FrontendAddress(),
		"REALLABOR_ADMIN_TOKEN": adminToken,
		"LOG_LEVEL":             "warn",
		// API and workers share the keys that seal actions.
		"REALLABOR_SIGNING_KEYS": authz.Generate("k1"),
		"REALLABOR_PAYLOAD_KEYS": encryption.Generate("p1"),
		// The metrics on an address of their own.
		"METRICS_ADDR": freeAddress(t),
	}
	getenv := func(k string) string { return env[k] }
	var out syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := (&program{stdout: &out, stderr: &out, getenv: getenv}).run(ctx, []string{"migrate"}); err != nil {
		t.Fatalf("migrate: %v\n%s", err, out.String())
	}
	done := make(chan error, 3)
	health := freeAddress(t) // the first worker's /healthz, /readyz, /metrics
	for i := range 2 {
		args := []string{"worker"}
		if i == 0 {
			args = append(args, "--health-address="+health)
		}
		go func() { done <- (&program{stdout: &out, stderr: &out, getenv: getenv}).run(ctx, args) }()
	}
	ready := make(chan endpoints, 1)
	api := &program{stdout: &out, stderr: &out, getenv: getenv, onReady: func(ep endpoints) { ready <- ep }}
	go func() { done <- api.run(ctx, []string{"serve", "--http=127.0.0.1:0"}) }()
	var base string
	select {
	case ep := <-ready:
		base = ep.HTTP
	case err := <-done:
		t.Fatalf("a process ended early: %v\n%s", err, out.String())
	case <-time.After(time.Minute):
		t.Fatalf("serve not ready\n%s", out.String())
	}
	var prog struct{ ID string }
	if code := call(t, base, "POST", "/api/v1/programmes", adminToken, map[string]any{"name": "P", "budget_cents": 10_000_000,
		"max_grant_cents": 1_000_000}, &prog); code != http.StatusCreated {
		t.Fatalf("create programme = %d", code)
	}
	var applicant struct{ Token string }
	call(t, base, "POST", "/api/v1/users", adminToken, map[string]any{"name": "A", "role": "applicant", "organisation": "Cafe Mitte"}, &applicant)
	var app struct{ ID, Status string }
	code := call(t, base, "POST", "/api/v1/applications", applicant.Token, map[string]any{
		"programme_id": prog.ID, "title": "T", "requested_cents": 500_000, "total_cost_cents": 1_500_000,
		"start_date": "2027-01-01", "end_date": "2027-06-30",
		"group": map[string]any{"name": "G", "members": []map[string]any{{"name": "Cafe Mitte"}}},
		"payee": map[string]any{"name": "Cafe", "iban": "DE89370400440532013000"},
	}, &app)
	if code != http.StatusCreated || app.Status != "in_review" {
		t.Fatalf("submit through serve = %d %q, want 201 in_review (worked by a worker process)\n%s", code, app.Status, out.String())
	}
	if code := call(t, base, "GET", "/readyz", "", nil, nil); code != http.StatusOK {
		t.Fatalf("serve /readyz = %d, want 200", code)
	}
	if code := call(t, base, "GET", "/metrics", "", nil, nil); code != http.StatusNotFound {
		t.Errorf("GET /metrics on the API's address = %d, want 404 (METRICS_ADDR is set)", code)
	}
	resp, err := http.Get("http://" + env["METRICS_ADDR"] + "/metrics")
	if err != nil {
		t.Fatalf("metrics address: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `route="/api/v1/applications"`) {
		t.Errorf("GET /metrics on METRICS_ADDR = %d, want 200 counting the API's requests", resp.StatusCode)
	}
	// The worker's own port, and the healthcheck command the images use.
	for path, want := range map[string]string{"/healthz": `"ok"`, "/readyz": `"temporal":"ok"`, "/metrics": "go_goroutines"} {
		resp, err := http.Get("http://" + health + path)
		if err != nil {
			t.Fatalf("worker %s: %v", path, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), want) {
			t.Errorf("worker %s = %d %s, want 200 with %s", path, resp.StatusCode, body, want)
		}
	}
	// The SDK's own metrics (reported every second) on the same port.
	sdk := ""
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		resp, err := http.Get("http://" + health + "/metrics")
		if err != nil {
			t.Fatalf("worker /metrics: %v", err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if sdk = string(body); strings.Contains(sdk, "temporal_worker_start") {
			break
		}
	}
	if !strings.Contains(sdk, "temporal_worker_start") {
		t.Errorf("worker /metrics has no Temporal SDK metrics:\n%s", grepTemporal(sdk))
	}
	if os.Getenv("SHOW_SDK_METRICS") != "" {
		t.Log(grepTemporal(sdk))
	}
	var hc syncBuffer
	if err := (&program{stdout: &hc, stderr: &hc, getenv: getenv}).run(ctx, []string{"healthcheck", "--url=http://" + health + "/readyz"}); err != nil {
		t.Errorf("healthcheck of the worker: %v", err)
	}
	if err := (&program{stdout: &hc, stderr: &hc, getenv: getenv}).run(ctx, []string{"healthcheck", "--url=http://" + freeAddress(t) + "/readyz"}); err == nil {
		t.Errorf("healthcheck of nothing listening succeeded")
	}
	cancel()
	for range 3 {
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("process exited with %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("processes did not stop")
		}
	}
}

// freeAddress is a loopback address nothing listens on (at the moment).
func freeAddress(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func grepTemporal(body string) string {
	var out []string
	for _, l := range strings.Split(body, "\n") {
		if strings.HasPrefix(l, "temporal_") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
