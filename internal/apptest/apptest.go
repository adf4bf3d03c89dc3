// Package apptest boots the real product for integration tests: an embedded
// Temporal server, the worker and the HTTP API, against a fresh database on
// the real PostgreSQL. Tests talk to it over HTTP like any client.
package apptest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"

	"reallabor/activities"
	"reallabor/api"
	"reallabor/internal/authz"
	"reallabor/internal/devstack"
	"reallabor/internal/documents"
	"reallabor/internal/encryption"
	"reallabor/internal/store"
	"reallabor/internal/store/storetest"
	"reallabor/models"
	"reallabor/workflows"
)

// App is a running product.
type App struct {
	URL      string
	Store    *store.Store
	Temporal client.Client
	// Keys seal what the API sends the workflows (tests that talk to
	// Temporal directly seal with them, or forge without).
	Keys *authz.Keys
	// Codec encrypts the payloads in Temporal.
	Codec *encryption.Codec
	// Mail holds what the notifications mailed (unless Options.Mailer).
	Mail  *Mailbox
	Admin User
	// Check sees every response; Start sets it to validate the response
	// against the OpenAPI document.
	Check func(t testing.TB, req *http.Request, resp *http.Response, body []byte)
}

// User is a user with its token.
type User struct {
	ID, Name, Role, Organisation, Token string
	OrganisationID                      string `json:"organisation_id"`
}

// Options change what Start boots.
type Options struct {
	// Register, if set, registers the activities instead of the real
	// activities.Ledger (e.g. to inject a failure around it).
	Register func(st *store.Store, w worker.Worker)
	// Apply, if set, makes the API's writes of actions instead of
	// st.Apply (e.g. to inject a failure around them).
	Apply func(st *store.Store) func(context.Context, models.ApplyInput) (models.ApplyResult, error)
	// CallTimeout, if set, bounds the API's Temporal calls (default 20 s).
	CallTimeout time.Duration
	// SuggestContinueAsNewAfter, if set, makes the server suggest
	// continue-as-new at that history length.
	SuggestContinueAsNewAfter int
	// Mailer, if set, sends the notifications' e-mails (default: App.Mail).
	Mailer activities.Mailer
	// Scanner, if set, checks uploads; DocumentMaxBytes caps them.
	Scanner          documents.Scanner
	DocumentMaxBytes int64
}

// Mailbox keeps the mails sent, for tests to read.
type Mailbox struct {
	mu   sync.Mutex
	sent []activities.Mail
}

// Send keeps the mail.
func (m *Mailbox) Send(_ context.Context, mail activities.Mail) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sent = append(m.sent, mail)
	return nil
}

// Sent returns the mails so far.
func (m *Mailbox) Sent() []activities.Mail {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]activities.Mail{}, m.sent...)
}

// Start boots the product; everything stops when the test ends.
func Start(t testing.TB) *App {
	t.Helper()
	return StartWith(t, Options{})
}

// StartWith boots the product with options.
func StartWith(t testing.TB, opts Options) *App {
	t.Helper()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	st := storetest.New(t)
	ts, err := devstack.Start(devstack.Options{FrontendAddress: "127.0.0.1:0", Logger: log, LogLevel: slog.LevelError + 4,
		SuggestContinueAsNewAfter: opts.SuggestContinueAsNewAfter}) // quiet: shutdown is noisy
	if err != nil {
		t.Fatalf("start embedded temporal: %v", err)
	}
	t.Cleanup(ts.Stop)
	// Payloads are encrypted in Temporal, as in production.
	codec, err := encryption.Parse(encryption.Generate("test"))
	if err != nil {
		t.Fatal(err)
	}
	tc, err := client.Dial(client.Options{HostPort: ts.FrontendAddress(), Namespace: ts.Namespace(), DataConverter: codec.DataConverter(),
		Logger: sdklog.NewStructuredLogger(log)})
	if err != nil {
		t.Fatalf("dial temporal: %v", err)
	}
	t.Cleanup(tc.Close)
	w := worker.New(tc, workflows.TaskQueue, worker.Options{})
	keys, err := authz.Parse(authz.Generate("test"))
	if err != nil {
		t.Fatal(err)
	}
	if err := workflows.Register(w, keys); err != nil {
		t.Fatal(err)
	}
	mailbox := &Mailbox{}
	var mailer activities.Mailer = mailbox
	if opts.Mailer != nil {
		mailer = opts.Mailer
	}
	if opts.Register != nil {
		opts.Register(st, w)
	} else {
		// Test receivers listen on this host: private addresses allowed.
		(&activities.Ledger{Store: st, Mailer: mailer, PublicURL: "http://reallabor.test",
			Webhooks: activities.WebhookClient(true)}).Register(w)
	}
	if err := w.Start(); err != nil {
		t.Fatalf("start worker: %v", err)
	}
	t.Cleanup(w.Stop)
	docs, err := documents.Open(context.Background(), "file://"+filepath.ToSlash(t.TempDir())+"?metadata=skip")
	if err != nil {
		t.Fatalf("document bucket: %v", err)
	}
	t.Cleanup(func() { docs.Close() })
	if opts.Scanner != nil {
		docs.Scanner = opts.Scanner
	}
	var apply func(context.Context, models.ApplyInput) (models.ApplyResult, error)
	if opts.Apply != nil {
		apply = opts.Apply(st)
	}
	srv := api.New(api.Config{Store: st, Temporal: tc, Apply: apply, Logger: log, Namespace: ts.Namespace(), CallTimeout: opts.CallTimeout, Keys: keys,
		WebhookAllowPrivate: true, Documents: docs, DocumentMaxBytes: opts.DocumentMaxBytes, Mailer: mailer, PublicURL: "http://reallabor.test"})
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	token, hash := api.NewToken()
	admin := models.User{ID: "admin-1", Name: "Ada Admin", Role: models.RoleAdmin, Organisation: "Stadt", TokenHash: hash,
		CreatedAt: time.Now().UTC()}
	if err := st.CreateUser(context.Background(), &admin); err != nil {
		t.Fatalf("create admin: %v", err)
	}
	// The partner every Proposal names (invited, never confirming unless a
	// test makes it).
	if _, err := st.CreateOrganisation(context.Background(), &models.Organisation{ID: "org-buchladen-eck",
		Name: "Buchladen Eck", LegalForm: "UG (haftungsbeschränkt)", CreatedAt: time.Now().UTC()}); err != nil {
		t.Fatalf("register partner: %v", err)
	}
	return &App{URL: hs.URL, Store: st, Temporal: tc, Keys: keys, Codec: codec, Mail: mailbox,
		Admin: User{ID: admin.ID, Name: admin.Name, Role: "admin", Organisation: "Stadt", Token: token},
		// Every response of every integration test is held to the OpenAPI document.
		Check: OpenAPIChecker(t, api.OpenAPI)}
}

// Multipart is a multipart/form-data body (File makes one).
type Multipart struct {
	ContentType string
	Body        []byte
}

// File is a multipart body with one file (field "file") and form fields.
func File(filename string, data []byte, fields map[string]string) Multipart {
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		_ = w.WriteField(k, fields[k])
	}
	if filename != "" {
		fw, _ := w.CreateFormFile("file", filename)
		_, _ = fw.Write(data)
	}
	_ = w.Close()
	return Multipart{ContentType: w.FormDataContentType(), Body: buf.Bytes()}
}

// Response is an API answer.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into v.
func (r Response) JSON(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decode %s: %v", r.Body, err)
	}
}

// Map decodes the body into a generic map.
func (r Response) Map(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	r.JSON(t, &m)
	return m
}

// Do sends a request; body may be nil, a string/[]byte (sent raw) or a value
// (sent as JSON). headers are name, value pairs.
func (a *App) Do(t testing.TB, method, path string, u User, body any, headers ...string) Response {
	t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = bytes.NewReader([]byte(b))
	case []byte:
		r = bytes.NewReader(b)
	case Multipart:
		r = bytes.NewReader(b.Body)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			t.Fatalf("encode body: %v", err)
		}
		r = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, a.URL+path, r)
	if err != nil {
		t.Fatalf("request: %v", err)
	}
	if m, ok := body.(Multipart); ok {
		req.Header.Set("Content-Type", m.ContentType)
	} else if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if u.Token != "" {
		req.Header.Set("Authorization", "Bearer "+u.Token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if a.Check != nil {
		a.Check(t, req, resp, raw)
	}
	return Response{Status: resp.StatusCode, Header: resp.Header, Body: raw}
}

// Must sends a request and fails the test unless the status is want.
func (a *App) Must(t testing.TB, want int, method, path string, u User, body any, headers ...string) Response {
	t.Helper()
	r := a.Do(t, method, path, u, body, headers...)
	if r.Status != want {
		t.Fatalf("%s %s as %s = %d, want %d: %s", method, path, u.Role, r.Status, want, r.Body)
	}
	return r
}

// CreateUser makes a user through the API as the admin.
func (a *App) CreateUser(t testing.TB, name, role, organisation string) User {
	t.Helper()
	var u User
	a.Must(t, http.StatusCreated, "POST", "/api/v1/users", a.Admin,
		map[string]any{"name": name, "role": role, "organisation": organisation}).JSON(t, &u)
	return u
}

// CreateProgramme makes a programme through the API; extra rules override.
func (a *App) CreateProgramme(t testing.TB, budgetCents int64, extra map[string]any) string {
	t.Helper()
	body := map[string]any{"name": "Digitale Innenstadt", "budget_cents": budgetCents, "max_grant_cents": 5_000_000,
		"funding_rate_percent": 50, "reviewers_required": 3, "debtor_name": "Stadt Musterstadt",
		"debtor_iban": "DE89370400440532013000", "debtor_bic": "COBADEFFXXX"}
	if budgetCents < 5_000_000 {
		body["max_grant_cents"] = budgetCents
	}
	for k, v := range extra {
		body[k] = v
	}
	var p struct{ ID string }
	a.Must(t, http.StatusCreated, "POST", "/api/v1/programmes", a.Admin, body).JSON(t, &p)
	return p.ID
}

// Proposal is a valid application body for the applicant's organisation.
func Proposal(programmeID, organisation string, requestedCents int64) map[string]any {
	return map[string]any{
		"programme_id": programmeID, "title": "Click & Collect Altstadt", "summary": "shared pick-up points for the high street",
		"requested_cents": requestedCents, "total_cost_cents": requestedCents * 2,
		"start_date": "2027-01-01", "end_date": "2027-12-31",
		"group": map[string]any{"name": "Altstadt retailers", "members": []map[string]any{
			{"name": organisation, "prior_de_minimis_cents": 0},
			{"name": "Buchladen Eck", "prior_de_minimis_cents": 1_000_000},
		}},
		"payee": map[string]any{"name": organisation + " GmbH", "iban": "DE89 3704 0044 0532 0130 00"},
	}
}

// Scores is a full, favourable score sheet for the default criteria.
func Scores(v int) map[string]int {
	return map[string]int{"impact": v, "feasibility": v, "partnership": v}
}

// BooksExact runs the reconciliation through the API and fails the test for
// every difference between the books and the workflows.
func (a *App) BooksExact(t testing.TB) {
	t.Helper()
	var rep struct {
		Applications int `json:"applications"`
		Differences  []struct {
			ProgrammeID   string `json:"programme_id"`
			ApplicationID string `json:"application_id"`
			What          string `json:"what"`
			Want          string `json:"want"`
			Got           string `json:"got"`
		} `json:"differences"`
	}
	a.Must(t, http.StatusOK, "GET", "/api/v1/reconciliation?settle=true", a.Admin, nil).JSON(t, &rep)
	for _, d := range rep.Differences {
		t.Errorf("books differ from the workflows: programme %s application %s: %s: workflow %s, database %s",
			d.ProgrammeID, d.ApplicationID, d.What, d.Want, d.Got)
	}
	t.Logf("reconciliation: %d applications, %d differences", rep.Applications, len(rep.Differences))
}
