package console

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"reallabor/models"
)

// pageData is what every template gets.
type pageData struct {
	Title  string // a dictionary key
	User   *user
	Lang   string
	Path   string
	Notice string
	Error  string
	Fields []fieldError
	Next   string // sign-in: where to go after
	// LinkToken is a mailed sign-in link's secret, on the page it lands on.
	LinkToken string
	// The page's own content.
	Apps          []appRow
	Inbox         []notification
	App           *models.ApplicationState
	History       []historyEntry
	Disbursements []disbursement
	Programmes    []programme
	Invitations   []invitation
	Status        string // the list filter
	Statuses      []string
	TemporalLink  string
	Documents     []document
	DocumentKinds []string
	DocumentsOn   bool // the API stores uploads
	// Voted: the reader (a board member) has voted in this round.
	Voted bool
	// CostRows are the cost plan's lines by category as they stand (the
	// amendment form's "now").
	CostRows []costRow
}

type appRow struct {
	ID             string        `json:"id"`
	Title          string        `json:"title"`
	Status         models.Status `json:"status"`
	GroupName      string        `json:"group_name"`
	RequestedCents int64         `json:"requested_cents"`
	GrantedCents   int64         `json:"granted_cents"`
	PaidCents      int64         `json:"paid_cents"`
	UpdatedAt      time.Time     `json:"updated_at"`
}

type invitation struct {
	ApplicationID string `json:"application_id"`
	Title         string `json:"title"`
	GroupName     string `json:"group_name"`
	Lead          string `json:"lead_organisation"`
}

type notification struct {
	ID            string     `json:"id"`
	ApplicationID string     `json:"application_id"`
	Kind          string     `json:"kind"`
	Title         string     `json:"title"`
	Detail        string     `json:"detail"`
	Expected      string     `json:"expected"`
	DueAt         *time.Time `json:"due_at"`
	CreatedAt     time.Time  `json:"created_at"`
	ReadAt        *time.Time `json:"read_at"`
}

type historyEntry struct {
	Kind   string    `json:"kind"`
	From   string    `json:"from"`
	To     string    `json:"to"`
	Actor  string    `json:"actor"`
	Role   string    `json:"role"`
	Detail string    `json:"detail"`
	At     time.Time `json:"at"`
}

type disbursement struct {
	ID            string     `json:"id"`
	ApplicationID string     `json:"application_id"`
	Number        int        `json:"number"`
	AmountCents   int64      `json:"amount_cents"`
	Status        string     `json:"status"`
	DueAt         *time.Time `json:"due_at"`
	ApprovedBy    string     `json:"approved_by"`
	PaidAt        *time.Time `json:"paid_at"`
	BankReference string     `json:"bank_reference"`
	ExportBatch   string     `json:"export_batch"`
}

func (c *Console) parseTemplates() error {
	funcs := template.FuncMap{
		"euro": models.FormatEuro,
		"date": func(t any) string {
			switch v := t.(type) {
			case time.Time:
				if v.IsZero() {
					return ""
				}
				return v.UTC().Format("2006-01-02")
			case *time.Time:
				if v == nil {
					return ""
				}
				return v.UTC().Format("2006-01-02")
			}
			return ""
		},
		"datetime": func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") },
		"key":      newKey,
		"has":      func(role string, u *user) bool { return u != nil && u.Role == role },
		"list":     func(v ...string) []string { return v },
		"minus":    func(a, b int64) int64 { return a - b },
		"kb": func(n int64) string {
			if n < 1024 {
				return fmt.Sprintf("%d B", n)
			}
			return fmt.Sprintf("%d KB", (n+1023)/1024)
		},
	}
	c.pages = map[string]*template.Template{}
	for _, name := range []string{"signin", "home", "application", "disbursements", "error", "apidocs", "submit", "ledger", "users", "repayments", "programme", "overdue", "rules", "organisations", "webhooks"} {
		t := template.New("layout.html").Funcs(funcs).Funcs(template.FuncMap{
			// Replaced per request with the reader's language.
			"t":      func(string) string { return "" },
			"status": func(string) string { return "" },
		})
		t, err := t.ParseFS(templateFS, "templates/layout.html", "templates/"+name+".html")
		if err != nil {
			return fmt.Errorf("console template %s: %w", name, err)
		}
		c.pages[name] = t
	}
	return nil
}

// render draws a page in the reader's language.
func (c *Console) render(w http.ResponseWriter, r *http.Request, status int, name string, u *user, d pageData) {
	c.renderAny(w, r, status, name, u, &d, &d)
}

// renderAny draws a page from data, whose common part is d.
func (c *Console) renderAny(w http.ResponseWriter, r *http.Request, status int, name string, u *user, d *pageData, data any) {
	d.User, d.Lang, d.Path = u, c.lang(r, u), r.URL.RequestURI()
	t, err := c.pages[name].Clone()
	if err == nil {
		t = t.Funcs(template.FuncMap{
			"t":      func(key string) string { return c.translate(d.Lang, key) },
			"status": func(s string) string { return c.translate(d.Lang, "status."+s) },
		})
		var buf strings.Builder
		if err = t.Execute(&buf, data); err == nil {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Header().Set("Cache-Control", "no-store")
			w.WriteHeader(status)
			_, _ = w.Write([]byte(buf.String()))
			return
		}
	}
	c.log.Error("render", "page", name, "error", err)
	http.Error(w, "the page could not be drawn", http.StatusInternalServerError)
}

// home: what is expected of the user, and the applications they see.
func (c *Console) home(w http.ResponseWriter, r *http.Request, u *user) {
	d := pageData{Title: "home"}
	var apps struct {
		Items []appRow `json:"items"`
	}
	if res := c.call(r, u.token, http.MethodGet, "/api/v1/applications", "", nil, &apps); res.err != nil {
		c.fail(w, r, u, res)
		return
	}
	var inbox struct {
		Items []notification `json:"items"`
	}
	if res := c.call(r, u.token, http.MethodGet, "/api/v1/me/notifications?limit=20", "", nil, &inbox); res.err != nil {
		c.fail(w, r, u, res)
		return
	}
	for _, n := range inbox.Items {
		if n.ReadAt == nil {
			d.Inbox = append(d.Inbox, n)
		}
	}
	d.Apps = apps.Items
	if u.Role == string(models.RoleApplicant) {
		var inv struct {
			Items []invitation `json:"items"`
		}
		if res := c.call(r, u.token, http.MethodGet, "/api/v1/invitations", "", nil, &inv); res.err != nil {
			c.fail(w, r, u, res)
			return
		}
		d.Invitations = inv.Items
	}
	if u.Role == string(models.RoleFinance) || u.Role == string(models.RoleAdmin) {
		var progs struct {
			Items []programme `json:"items"`
		}
		if res := c.call(r, u.token, http.MethodGet, "/api/v1/programmes", "", nil, &progs); res.err != nil {
			c.fail(w, r, u, res)
			return
		}
		d.Programmes = progs.Items
	}
	c.withFlash(w, r, &d)
	c.render(w, r, http.StatusOK, "home", u, d)
}

// application: the state, what is next and from whom, the tranches, the
// timeline; the forms of the actions that are the reader's.
func (c *Console) application(w http.ResponseWriter, r *http.Request, u *user) {
	id := r.PathValue("id")
	var app models.ApplicationState
	if res := c.call(r, u.token, http.MethodGet, "/api/v1/applications/"+url.PathEscape(id), "", nil, &app); res.err != nil {
		c.fail(w, r, u, res)
		return
	}
	var hist struct {
		Items []historyEntry `json:"items"`
	}
	if res := c.call(r, u.token, http.MethodGet, "/api/v1/applications/"+url.PathEscape(id)+"/history", "", nil, &hist); res.err != nil {
		c.fail(w, r, u, res)
		return
	}
	d := pageData{Title: "application", App: &app, History: hist.Items, DocumentKinds: documentKinds}
	for _, v := range app.Votes {
		d.Voted = d.Voted || (v.ReviewerID == u.ID && v.Round == app.RevisionRound)
	}
	d.CostRows = costRows(app.Proposal.CostPlan, models.FormatEuro)
	var docs struct {
		Items []document `json:"items"`
	}
	switch res := c.call(r, u.token, http.MethodGet, "/api/v1/applications/"+url.PathEscape(id)+"/documents", "", nil, &docs); {
	case res.err == nil:
		d.Documents, d.DocumentsOn = docs.Items, true
	case res.status != http.StatusServiceUnavailable: // 503: no storage configured, the page says so by its absence
		c.fail(w, r, u, res)
		return
	}
	if u.Role == string(models.RoleAdmin) && c.cfg.TemporalUI != "" {
		d.TemporalLink = strings.TrimRight(c.cfg.TemporalUI, "/") + "/namespaces/" + url.PathEscape(c.cfg.Namespace) +
			"/workflows/application-" + url.PathEscape(app.ID)
	}
	c.withFlash(w, r, &d)
	c.render(w, r, http.StatusOK, "application", u, d)
}

// applicationAction sends one of an application's forms to the API.
func (c *Console) applicationAction(w http.ResponseWriter, r *http.Request, u *user) {
	id := r.PathValue("id")
	back := "/console/applications/" + url.PathEscape(id)
	var (
		path string
		body any
		done string
	)
	switch r.PathValue("action") {
	case "acceptance":
		path, body, done = "/acceptance", map[string]any{}, "done.accepted"
	case "reviews":
		// The programme's criteria, as the form names them (the API checks
		// them against the application's rules).
		_ = r.ParseForm()
		scores := map[string]int{}
		for k, vs := range r.PostForm {
			name, ok := strings.CutPrefix(k, "score_")
			if !ok || len(vs) == 0 {
				continue
			}
			var v int
			if _, err := fmt.Sscan(vs[0], &v); err == nil {
				scores[name] = v
			}
		}
		path, done = "/reviews", "done.reviewed"
		body = map[string]any{"recommendation": r.PostFormValue("recommendation"), "scores": scores,
			"comment": r.PostFormValue("comment")}
		if r.PostFormValue("conflict_of_interest") == "true" {
			body, done = map[string]any{"conflict_of_interest": true}, "done.conflict"
		}
	case "reports":
		c.acted(w, r, u, back, c.reportAction(r, u, id), "done.reported")
		return
	case "invitation":
		accept := r.PostFormValue("accept") == "true"
		done := "done.declined"
		if accept {
			done = "done.joined"
		}
		res := c.call(r, u.token, http.MethodPost, "/api/v1/applications/"+url.PathEscape(id)+"/invitation", formKey(r),
			map[string]any{"accept": accept}, nil)
		c.acted(w, r, u, "/console/", res, done)
		return
	case "assessment":
		c.acted(w, r, u, back, c.assessmentAction(r, u, id), "done.assessed")
		return
	case "revision":
		c.submitRevision(w, r, u, id)
		return
	case "withdrawal":
		path, body, done = "/withdrawal", map[string]any{"reason": r.PostFormValue("reason")}, "done.withdrawn"
	case "cancellation":
		path, body, done = "/cancellation", map[string]any{"reason": r.PostFormValue("reason")}, "done.cancelled"
	case "review-deadline":
		days, err := strconv.Atoi(strings.TrimSpace(r.PostFormValue("days")))
		if err != nil {
			c.acted(w, r, u, back, invalidForm(c.t(r, u, "check_fields"), "days", c.t(r, u, "not_a_number")), "")
			return
		}
		path, body, done = "/review-deadline", map[string]any{"days": days}, "done.extended"
	case "amendments":
		c.acted(w, r, u, back, c.amendmentAction(r, u, id), "done.amendment_requested")
		return
	case "amendment-decision":
		path = "/amendments/" + url.PathEscape(r.PostFormValue("amendment_id")) + "/decision"
		body, done = map[string]any{"decision": r.PostFormValue("decision"), "reason": r.PostFormValue("reason")}, "done.amendment_decided"
	case "drawdowns":
		amount, ok1 := parseEuro(r.PostFormValue("amount"))
		costs, ok2 := parseEuro(r.PostFormValue("costs_incurred"))
		if !ok1 || !ok2 {
			field := "amount_cents"
			if ok1 {
				field = "costs_incurred_cents"
			}
			c.acted(w, r, u, back, invalidForm(c.t(r, u, "check_fields"), field, c.t(r, u, "not_an_amount")), "")
			return
		}
		path, body, done = "/drawdowns", map[string]any{"amount_cents": amount, "costs_incurred_cents": costs}, "done.drawdown_requested"
	case "documents":
		r.Body = http.MaxBytesReader(w, r.Body, maxUpload+1<<20)
		c.acted(w, r, u, back, c.documentAction(r, u, id), "done.uploaded")
		return
	default:
		c.notFound(w, r, u)
		return
	}
	res := c.call(r, u.token, http.MethodPost, "/api/v1/applications/"+url.PathEscape(id)+path, formKey(r), body, nil)
	c.acted(w, r, u, back, res, done)
}

var disbursementStatuses = []string{"due", "approved", "exported", "paid", "failed"}

// disbursements: finance's list of tranches by status, with the four-eyes
// actions.
func (c *Console) disbursements(w http.ResponseWriter, r *http.Request, u *user) {
	status := r.URL.Query().Get("status")
	if status == "" {
		status = "due"
	}
	var list struct {
		Items []disbursement `json:"items"`
	}
	q := url.Values{"status": {status}}
	if res := c.call(r, u.token, http.MethodGet, "/api/v1/disbursements?"+q.Encode(), "", nil, &list); res.err != nil {
		c.fail(w, r, u, res)
		return
	}
	d := pageData{Title: "disbursements", Disbursements: list.Items, Status: status, Statuses: disbursementStatuses}
	c.withFlash(w, r, &d)
	c.render(w, r, http.StatusOK, "disbursements", u, d)
}

// disbursementAction approves a tranche, confirms its payment or records
// its failure (the API keeps the four eyes).
func (c *Console) disbursementAction(w http.ResponseWriter, r *http.Request, u *user) {
	id := r.PathValue("id")
	back := safeNext(r.PostFormValue("back"))
	if back == "" {
		back = "/console/disbursements"
	}
	var (
		body any
		done string
	)
	action := r.PathValue("action")
	switch action {
	case "approval":
		done = "done.approved"
	case "payment":
		body, done = map[string]any{"bank_reference": strings.TrimSpace(r.PostFormValue("bank_reference"))}, "done.paid"
	case "failure":
		body, done = map[string]any{"reason": strings.TrimSpace(r.PostFormValue("reason"))}, "done.failed"
	default:
		c.notFound(w, r, u)
		return
	}
	res := c.call(r, u.token, http.MethodPost, "/api/v1/disbursements/"+url.PathEscape(id)+"/"+action, formKey(r), body, nil)
	c.acted(w, r, u, back, res, done)
}

// apiDocs serves Swagger UI on the OpenAPI document.
func (c *Console) apiDocs(w http.ResponseWriter, r *http.Request) {
	c.render(w, r, http.StatusOK, "apidocs", nil, pageData{Title: "api_docs"})
}

func (c *Console) withFlash(w http.ResponseWriter, r *http.Request, d *pageData) {
	f := c.takeFlash(w, r)
	d.Notice, d.Error, d.Fields = f.Notice, f.Error, f.Fields
}

// lang is the reader's language: the cookie, else the user's, else the
// browser's first choice of de/en, else English.
func (c *Console) lang(r *http.Request, u *user) string {
	if ck, err := r.Cookie(langCookie); err == nil && (ck.Value == "de" || ck.Value == "en") {
		return ck.Value
	}
	if u != nil && (u.Language == "de" || u.Language == "en") {
		return u.Language
	}
	for _, part := range strings.Split(r.Header.Get("Accept-Language"), ",") {
		tag := strings.ToLower(strings.TrimSpace(strings.SplitN(part, ";", 2)[0]))
		if strings.HasPrefix(tag, "de") {
			return "de"
		}
		if strings.HasPrefix(tag, "en") {
			return "en"
		}
	}
	return "en"
}

func (c *Console) t(r *http.Request, u *user, key string) string {
	return c.translate(c.lang(r, u), key)
}

func sha256Sum(b []byte) [32]byte { return sha256.Sum256(b) }

// errInvalid marks a form the console refused before asking the API.
var errInvalid = errors.New("invalid form")
