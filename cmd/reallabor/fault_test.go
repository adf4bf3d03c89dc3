package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"reallabor/internal/authz"
	"reallabor/internal/encryption"
	"reallabor/internal/store/storetest"
)

// TestMain lets the test binary run the real program as a child process
// (REALLABOR_CHILD=1), so the fault test can SIGKILL it.
func TestMain(m *testing.M) {
	if os.Getenv("REALLABOR_CHILD") == "1" {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		p := &program{stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv, onReady: func(ep endpoints) {
			fmt.Printf("READY %s %s\n", ep.HTTP, ep.Temporal)
		}}
		if err := p.run(ctx, strings.Split(os.Getenv("REALLABOR_CHILD_ARGS"), "\x1f")); err != nil {
			fmt.Fprintln(os.Stderr, "child:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// child is `reallabor dev` running as a child process of the test.
type child struct {
	cmd      *exec.Cmd
	http     string
	temporal string
}

func startChild(t *testing.T, logf *os.File, args ...string) *child {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "REALLABOR_CHILD=1", "REALLABOR_CHILD_ARGS="+strings.Join(args, "\x1f"),
		"REALLABOR_ADMIN_TOKEN="+adminToken, "RATE_LIMIT=0")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = logf
	if err := cmd.Start(); err != nil {
		t.Fatalf("start child: %v", err)
	}
	ready := make(chan [2]string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			line := sc.Text()
			fmt.Fprintln(logf, line)
			if f := strings.Fields(line); len(f) == 3 && f[0] == "READY" {
				ready <- [2]string{f[1], f[2]}
			}
		}
	}()
	select {
	case ep := <-ready:
		return &child{cmd: cmd, http: ep[0], temporal: ep[1]}
	case <-time.After(2 * time.Minute):
		_ = cmd.Process.Kill()
		t.Fatalf("child not ready within 2 minutes (log: %s)", logf.Name())
	}
	return nil
}

func (c *child) kill() {
	_ = c.cmd.Process.Signal(syscall.SIGKILL)
	_ = c.cmd.Wait()
}

// faultClient drives lifecycles through HTTP against whatever process is up.
type faultClient struct {
	base    *atomic.Value // host:port of the API
	http    *http.Client
	tokens  map[string]string
	retries atomic.Int64
	mu      sync.Mutex
	waits   []time.Duration // from an action's first failure to its success
}

func (f *faultClient) waited(d time.Duration) {
	f.mu.Lock()
	f.waits = append(f.waits, d)
	f.mu.Unlock()
}

type faultState struct {
	ID     string `json:"id"`
	Status string `json:"status"`
	Seq    int64  `json:"seq"`
	Votes  []struct {
		ReviewerID string `json:"reviewer_id"`
	}
	Tranches []struct {
		ID     string `json:"id"`
		Status string `json:"status"`
	} `json:"tranches"`
	Reports []struct {
		ID     string `json:"id"`
		Kind   string `json:"kind"`
		Status string `json:"status"`
	} `json:"reports"`
}

// do sends one request; err is a transport failure (the process is down).
func (f *faultClient) do(method, path, who, key string, body any, out any) (int, http.Header, error) {
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, "http://"+f.base.Load().(string)+path, r)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+f.tokens[who])
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	resp, err := f.http.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode < 300 {
		_ = json.Unmarshal(raw, out)
	}
	return resp.StatusCode, resp.Header, nil
}

// state reads an application as the admin, waiting out restarts.
func (f *faultClient) state(id string) (faultState, error) {
	var st faultState
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		code, _, err := f.do("GET", "/api/v1/applications/"+id, "admin", "", nil, &st)
		if err == nil && code == http.StatusOK {
			return st, nil
		}
		time.Sleep(200 * time.Millisecond)
	}
	return st, fmt.Errorf("application %s unreadable for 2 minutes", id)
}

// next is the action a lifecycle needs next, from the application's state.
func next(st faultState, reviewers []string) (who, path string, body any, done bool) {
	a := "/api/v1/applications/" + st.ID
	switch st.Status {
	case "closed":
		return "", "", nil, true
	case "in_review":
		voted := map[string]bool{}
		for _, v := range st.Votes {
			voted[v.ReviewerID] = true
		}
		for _, r := range reviewers {
			if !voted[r] {
				return r, a + "/reviews", map[string]any{"recommendation": "approve",
					"scores": map[string]int{"impact": 5, "feasibility": 4, "partnership": 4}}, false
			}
		}
	case "approved":
		return "applicant", a + "/acceptance", nil, false
	case "active":
		for _, t := range st.Tranches {
			switch t.Status {
			case "due":
				return "finance1", "/api/v1/disbursements/" + t.ID + "/approval", nil, false
			case "approved":
				return "finance2", "/api/v1/disbursements/" + t.ID + "/payment", map[string]any{"bank_reference": "REF-" + t.ID}, false
			}
		}
		for _, kind := range []string{"interim", "final"} {
			var status, id string
			for _, r := range st.Reports {
				if r.Kind == kind {
					status, id = r.Status, r.ID
				}
			}
			switch status {
			case "", "changes_requested":
				return "applicant", a + "/reports", map[string]any{"kind": kind, "narrative": kind + " report", "actual_costs_cents": 2_000_000}, false
			case "submitted":
				return "r1", a + "/reports/" + id + "/assessment", map[string]any{"decision": "accept"}, false
			}
		}
	}
	return "", "", nil, false // waiting (e.g. for a clock)
}

// lifecycle drives one application to closed. A retrying client sends a
// failed action again with the same Idempotency-Key until it goes through; a
// client that gives up abandons the lifecycle at the first failed action.
func (f *faultClient) lifecycleAs(n int, programme string, retry bool, reviewers []string) (id string, closed bool, err error) {
	var st faultState
	// Every lifecycle is Cafe Mitte's: its 40 grants of 5,000 EUR stay within
	// its de-minimis ceiling (the state-aid register counts this fund's grants).
	submit := map[string]any{
		"programme_id": programme, "title": fmt.Sprintf("Reallabor %d", n), "summary": "fault test",
		"requested_cents": 500_000, "total_cost_cents": 1_250_000, "start_date": "2027-01-01", "end_date": "2027-12-31",
		"group": map[string]any{"name": "Altstadt", "members": []map[string]any{{"name": "Cafe Mitte", "prior_de_minimis_cents": 0}}},
		"payee": map[string]any{"name": "Cafe Mitte GmbH", "iban": "DE89370400440532013000"},
	}
	key := fmt.Sprintf("lc-%d-submit", n)
	var failed time.Time
	for attempt := 0; ; attempt++ {
		code, _, err := f.do("POST", "/api/v1/applications", "applicant", key, submit, &st)
		if err == nil && code == http.StatusCreated {
			if !failed.IsZero() {
				f.waited(time.Since(failed))
			}
			break
		}
		if failed.IsZero() {
			failed = time.Now()
		}
		if !retry {
			return "", false, nil
		}
		if err == nil && code < 500 && code != http.StatusConflict && code != http.StatusAccepted {
			return "", false, fmt.Errorf("submit %d: %d", n, code)
		}
		if attempt > 600 {
			return "", false, fmt.Errorf("submit %d never went through", n)
		}
		f.retries.Add(1)
		time.Sleep(200 * time.Millisecond)
	}
	id = st.ID
	failed = time.Time{}
	for step := 0; step < 2000; step++ {
		if st, err = f.state(id); err != nil {
			return id, false, err
		}
		who, path, body, done := next(st, reviewers)
		if done {
			return id, true, nil
		}
		if path == "" {
			time.Sleep(100 * time.Millisecond)
			continue
		}
		key := fmt.Sprintf("lc-%d-%d-%s", n, st.Seq, who)
		code, _, err := f.do("POST", path, who, key, body, nil)
		if err == nil && code < 300 && code != http.StatusAccepted {
			if !failed.IsZero() {
				f.waited(time.Since(failed))
				failed = time.Time{}
			}
			continue
		}
		if !retry {
			return id, false, nil
		}
		if failed.IsZero() {
			failed = time.Now()
		}
		f.retries.Add(1)
		if err == nil && code < 500 && code != http.StatusConflict && code != http.StatusAccepted && code != http.StatusNotFound {
			return id, false, fmt.Errorf("lifecycle %d: POST %s as %s = %d", n, path, who, code)
		}
		time.Sleep(200 * time.Millisecond)
	}
	return id, false, fmt.Errorf("lifecycle %d did not close", n)
}

// TestFaultsKeepTheBooksExact: concurrent lifecycles run through HTTP while
// `reallabor dev` (embedded Temporal, worker and API) is SIGKILLed and
// restarted on the same data several times. Half the clients retry a failed
// action with the same Idempotency-Key, half give the lifecycle up. Afterwards
// every retried lifecycle is closed and `reallabor check` finds the books
// (ledger, journal, disbursements, audit trail) equal to the workflows.
func TestFaultsKeepTheBooksExact(t *testing.T) {
	const lifecycles, clients, kills = 40, 8, 4
	dbURL := storetest.NewPostgresURL(t)
	dataDir := t.TempDir()
	logf, err := os.Create(filepath.Join(t.TempDir(), "dev.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	keys, payloadKeys := authz.Generate("k1"), encryption.Generate("p1")
	t.Setenv("REALLABOR_SIGNING_KEYS", keys) // the child's, and check's
	t.Setenv("REALLABOR_PAYLOAD_KEYS", payloadKeys)
	args := []string{"dev", "--http=127.0.0.1:0", "--temporal-address=127.0.0.1:0", "--ui-address=",
		"--data-dir=" + dataDir, "--database-url=" + dbURL, "--log-level=error", "--seed=false"}
	proc := startChild(t, logf, args...)
	defer func() { proc.kill() }()
	var base atomic.Value
	base.Store(proc.http)
	f := &faultClient{base: &base, http: &http.Client{Timeout: 30 * time.Second}, tokens: map[string]string{"admin": adminToken}}

	var prog struct{ ID string }
	if code, _, err := f.do("POST", "/api/v1/programmes", "admin", "", map[string]any{"name": "Fault fund",
		"budget_cents": 100_000_000_00, "max_grant_cents": 2_000_000, "funding_rate_percent": 50, "reviewers_required": 3}, &prog); err != nil || code != 201 {
		t.Fatalf("create programme: %d %v", code, err)
	}
	for _, u := range []struct{ who, role, org string }{{"applicant", "applicant", "Cafe Mitte"},
		{"r1", "reviewer", "Stadtwerke"}, {"r2", "reviewer", "IHK"}, {"r3", "reviewer", "Handwerkskammer"},
		{"finance1", "finance", "Stadtkasse"}, {"finance2", "finance", "Stadtkasse"}} {
		var out struct{ ID, Token string }
		if code, _, err := f.do("POST", "/api/v1/users", "admin", "", map[string]any{"name": u.who, "role": u.role, "organisation": u.org}, &out); err != nil || code != 201 {
			t.Fatalf("create %s: %d %v", u.who, code, err)
		}
		f.tokens[u.who] = out.Token
	}
	// The reviewers' ids are what votes carry.
	ids := map[string]string{}
	var users struct {
		Items []struct{ ID, Name string } `json:"items"`
	}
	f.do("GET", "/api/v1/users", "admin", "", nil, &users)
	for _, u := range users.Items {
		ids[u.Name] = u.ID
	}
	for _, r := range []string{"r1", "r2", "r3"} {
		f.tokens[ids[r]] = f.tokens[r]
	}
	reviewerIDs := []string{ids["r1"], ids["r2"], ids["r3"]}

	var (
		mu                         sync.Mutex
		retried, closed, abandoned int
		failures                   []string
		wg                         sync.WaitGroup
		remaining                  atomic.Int64
	)
	remaining.Store(lifecycles)
	began := time.Now()
	for c := 0; c < clients; c++ {
		retry := c%2 == 0
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := c; n < lifecycles; n += clients {
				if !retry && n >= clients {
					time.Sleep(500 * time.Millisecond) // who gave up comes back later
				}
				_, ok, err := f.lifecycleAs(n, prog.ID, retry, reviewerIDs)
				mu.Lock()
				switch {
				case err != nil:
					failures = append(failures, err.Error())
				case ok:
					closed++
				default:
					abandoned++
				}
				if retry {
					retried++
					if !ok && err == nil {
						failures = append(failures, fmt.Sprintf("lifecycle %d (retrying client) ended open", n))
					}
				}
				mu.Unlock()
				remaining.Add(-1)
			}
		}()
	}
	// Kill the whole product now and then while the clients work.
	stop := make(chan struct{})
	killed := make(chan int)
	go func() {
		k := 0
		defer func() { killed <- k }()
		for k < kills && remaining.Load() > lifecycles/4 {
			select {
			case <-stop:
				return
			case <-time.After(1500 * time.Millisecond):
			}
			proc.kill()
			k++
			proc = startChild(t, logf, args...)
			base.Store(proc.http)
			t.Logf("kill %d: restarted after %s", k, time.Since(began).Round(100*time.Millisecond))
		}
	}()
	wg.Wait()
	close(stop)
	k := <-killed
	t.Logf("%d lifecycles (%d by retrying clients): %d closed, %d abandoned, %d kills, %d retried requests, %s",
		lifecycles, retried, closed, abandoned, k, f.retries.Load(), time.Since(began).Round(100*time.Millisecond))
	slices.Sort(f.waits)
	if n := len(f.waits); n > 0 {
		t.Logf("retried actions: %d; from first failure to success: median %s, max %s", n,
			f.waits[n/2].Round(10*time.Millisecond), f.waits[n-1].Round(10*time.Millisecond))
	}
	for _, msg := range failures {
		t.Error(msg)
	}
	if k < 2 {
		t.Errorf("only %d kills happened while the lifecycles ran; the test proves little", k)
	}

	// The books converge on the workflows once the system is up again:
	// actions accepted before a kill finish as their timeouts let them.
	var out bytes.Buffer
	deadline := time.Now().Add(90 * time.Second)
	for {
		out.Reset()
		p := &program{stdout: &out, stderr: &out, getenv: func(k string) string {
			switch k {
			case "REALLABOR_SIGNING_KEYS":
				return keys
			case "REALLABOR_PAYLOAD_KEYS":
				return payloadKeys
			}
			return ""
		}}
		err := p.run(context.Background(), []string{"check", "--database-url=" + dbURL, "--temporal-address=" + proc.temporal, "--log-level=error"})
		if err == nil {
			t.Logf("check after %s: %s", time.Since(began).Round(100*time.Millisecond), strings.TrimSpace(out.String()))
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("reallabor check still finds differences 90 s after the last kill: %v\n%s", err, out.String())
		}
		time.Sleep(2 * time.Second)
	}
}
