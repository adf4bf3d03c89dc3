// Package console is the web console of Reallabor grants: server-rendered
// pages (html/template and plain forms, no script of its own) for
// applicants, the steering board, finance and admins, in German and
// English.
//
// It holds no rules of its own. Every page reads, and every form acts,
// through the HTTP API, called in-process with the signed-in user's token:
// the API's checks, access rules, validation and idempotency are the
// console's, and a revoked token or a deactivated user ends the session at
// the next page. A form carries an idempotency key made when the page was
// drawn, so sending it twice (a double click, a reload) acts once.
//
// Sessions are a cookie holding the token, encrypted and signed
// (gorilla/securecookie, keys derived from the signing keys), HttpOnly,
// SameSite=Strict and Secure when the console is served over HTTPS.
// Cross-site form posts are refused by net/http's CrossOriginProtection
// (Sec-Fetch-Site and Origin), on top of the SameSite cookie.
package console

import (
	"bytes"
	"crypto/rand"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gorilla/securecookie"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed assets
var assetFS embed.FS

// Config wires the console to the API it drives.
type Config struct {
	// API is the HTTP API (its /api/v1 routes), called in-process.
	API http.Handler
	// CookieKeys sign and encrypt the session cookie, the current key
	// first (at least one; 32 bytes or more each).
	CookieKeys [][]byte
	// Secure marks the cookies Secure (the console is served over HTTPS).
	Secure bool
	// TemporalUI, if set, is the Temporal Web UI's address for admins'
	// links to a workflow (e.g. http://127.0.0.1:8233).
	TemporalUI string
	// Namespace is the Temporal namespace of the links.
	Namespace string
	// SessionTTL bounds a session (default 12 hours).
	SessionTTL time.Duration
	Logger     *slog.Logger
}

// Console serves the pages.
type Console struct {
	cfg    Config
	codecs []securecookie.Codec
	pages  map[string]*template.Template
	mux    *http.ServeMux
	log    *slog.Logger
}

const (
	sessionCookie = "rl_session"
	flashCookie   = "rl_flash"
	langCookie    = "rl_lang"
)

// New builds the console.
func New(cfg Config) (*Console, error) {
	if cfg.API == nil {
		return nil, errors.New("console: no API")
	}
	if len(cfg.CookieKeys) == 0 {
		return nil, errors.New("console: no cookie keys")
	}
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = 12 * time.Hour
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Namespace == "" {
		cfg.Namespace = "default"
	}
	c := &Console{cfg: cfg, log: cfg.Logger.With("component", "console")}
	for _, k := range cfg.CookieKeys {
		if len(k) < 32 {
			return nil, errors.New("console: a cookie key is shorter than 32 bytes")
		}
		// The first 32 bytes sign, a key made from them encrypts (AES-256).
		enc := sha256Sum(append([]byte("encrypt\x00"), k...))
		sc := securecookie.New(k, enc[:])
		sc.MaxAge(int(cfg.SessionTTL.Seconds()))
		sc.SetSerializer(securecookie.JSONEncoder{})
		c.codecs = append(c.codecs, sc)
	}
	if err := c.parseTemplates(); err != nil {
		return nil, err
	}
	c.routes()
	return c, nil
}

// Handler serves the console's routes: /, /console/... and /api/docs.
// Cross-origin form posts are refused.
func (c *Console) Handler() http.Handler {
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.render(w, r, http.StatusForbidden, "error", nil, pageData{Title: "forbidden",
			Error: "This form was sent from another site and is refused (cross-site request)."})
	}))
	return securityHeaders(cop.Handler(c.mux))
}

func (c *Console) routes() {
	m := http.NewServeMux()
	assets, _ := fs.Sub(assetFS, "assets")
	m.Handle("GET /console/assets/", http.StripPrefix("/console/assets/", cacheFor(time.Hour, http.FileServerFS(assets))))
	m.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/console/", http.StatusSeeOther)
	})
	m.HandleFunc("GET /api/docs", c.apiDocs)
	m.HandleFunc("GET /console/sign-in", c.signInPage)
	m.HandleFunc("POST /console/sign-in", c.signIn)
	m.HandleFunc("POST /console/sign-out", c.signOut)
	m.HandleFunc("POST /console/sign-in/link-request", c.requestLink)
	m.HandleFunc("GET /console/sign-in/link", c.linkPage)
	m.HandleFunc("POST /console/sign-in/link", c.signInWithLink)
	m.HandleFunc("GET /console/language/{lang}", c.setLanguage)
	m.HandleFunc("GET /console/{$}", c.signedIn(c.home))
	m.HandleFunc("GET /console/applications/new", c.signedIn(c.newApplication))
	m.HandleFunc("POST /console/applications", c.signedIn(c.submitApplication))
	m.HandleFunc("GET /console/applications/{id}", c.signedIn(c.application))
	m.HandleFunc("POST /console/applications/{id}/{action}", c.signedIn(c.applicationAction))
	m.HandleFunc("GET /console/applications/{id}/revision", c.signedIn(c.revision))
	m.HandleFunc("GET /console/applications/{id}/documents/{doc}", c.signedIn(c.documentDownload))
	m.HandleFunc("GET /console/applications/{id}/letters/{kind}", c.signedIn(c.letter))
	m.HandleFunc("GET /console/disbursements", c.signedIn(c.disbursements))
	m.HandleFunc("POST /console/disbursements/export", c.signedIn(c.exportPayments))
	m.HandleFunc("GET /console/disbursements/exports/{batch}", c.signedIn(c.downloadBatch))
	m.HandleFunc("GET /console/programmes/{id}/ledger", c.signedIn(c.programmeLedger))
	m.HandleFunc("GET /console/programmes/{id}/audit", c.signedIn(c.auditExport))
	m.HandleFunc("GET /console/programmes/{id}", c.signedIn(c.programmePage))
	m.HandleFunc("GET /console/programmes/new", c.signedIn(c.newProgramme))
	m.HandleFunc("POST /console/programmes", c.signedIn(c.createProgramme))
	m.HandleFunc("GET /console/programmes/{id}/rules", c.signedIn(c.editRules))
	m.HandleFunc("POST /console/programmes/{id}/{action}", c.signedIn(c.programmeAction))
	m.HandleFunc("GET /console/repayments", c.signedIn(c.repayments))
	m.HandleFunc("GET /console/overdue", c.signedIn(c.overdue))
	m.HandleFunc("POST /console/notifications/{id}/read", c.signedIn(c.markRead))
	m.HandleFunc("GET /console/organisations", c.signedIn(c.organisations))
	m.HandleFunc("GET /console/webhooks", c.signedIn(c.webhooks))
	m.HandleFunc("GET /console/webhooks/{id}", c.signedIn(c.webhooks))
	m.HandleFunc("POST /console/webhooks", c.signedIn(c.createWebhook))
	m.HandleFunc("POST /console/webhooks/{id}/end", c.signedIn(c.endWebhook))
	m.HandleFunc("POST /console/organisations", c.signedIn(c.registerOrganisation))
	m.HandleFunc("POST /console/repayments/{id}", c.signedIn(c.recordRepayment))
	m.HandleFunc("GET /console/users", c.signedIn(c.users))
	m.HandleFunc("POST /console/users", c.signedIn(c.createAccount))
	m.HandleFunc("POST /console/users/{id}/{action}", c.signedIn(c.accountAction))
	m.HandleFunc("POST /console/disbursements/{id}/{action}", c.signedIn(c.disbursementAction))
	m.HandleFunc("/console/", func(w http.ResponseWriter, r *http.Request) {
		c.notFound(w, r, nil)
	})
	c.mux = m
}

// session is what the cookie holds.
type session struct {
	Token string    `json:"t"`
	Since time.Time `json:"s"`
}

// user is the signed-in user, as GET /api/v1/me answers.
type user struct {
	ID           string `json:"id"`
	Name         string `json:"name"`
	Role         string `json:"role"`
	Organisation string `json:"organisation"`
	Language     string `json:"language"`
	token        string
}

// signedIn runs h with the session's user; without a session (or with
// one the API no longer accepts) it sends the browser to sign in.
func (c *Console) signedIn(h func(http.ResponseWriter, *http.Request, *user)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var s session
		ck, err := r.Cookie(sessionCookie)
		if err == nil {
			err = securecookie.DecodeMulti(sessionCookie, ck.Value, &s, c.codecs...)
		}
		if err != nil || s.Token == "" {
			c.toSignIn(w, r, "")
			return
		}
		var u user
		res := c.call(r, s.Token, http.MethodGet, "/api/v1/me", "", nil, &u)
		if res.status == http.StatusUnauthorized {
			c.clearSession(w)
			c.toSignIn(w, r, "session_ended")
			return
		}
		if res.err != nil {
			c.fail(w, r, nil, res)
			return
		}
		u.token = s.Token
		h(w, r, &u)
	}
}

func (c *Console) toSignIn(w http.ResponseWriter, r *http.Request, why string) {
	q := url.Values{}
	if r.Method == http.MethodGet && r.URL.Path != "/console/" {
		q.Set("next", r.URL.RequestURI())
	}
	if why != "" {
		q.Set("why", why)
	}
	target := "/console/sign-in"
	if len(q) > 0 {
		target += "?" + q.Encode()
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}

func (c *Console) signInPage(w http.ResponseWriter, r *http.Request) {
	d := pageData{Title: "sign_in", Next: safeNext(r.URL.Query().Get("next"))}
	if why := r.URL.Query().Get("why"); why == "session_ended" {
		d.Error = c.t(r, nil, "session_ended")
	}
	c.render(w, r, http.StatusOK, "signin", nil, d)
}

// signIn checks the token with the API (GET /me) and starts a session.
func (c *Console) signIn(w http.ResponseWriter, r *http.Request) {
	token := strings.TrimSpace(r.PostFormValue("token"))
	next := safeNext(r.PostFormValue("next"))
	d := pageData{Title: "sign_in", Next: next}
	if token == "" {
		d.Error = c.t(r, nil, "token_required")
		c.render(w, r, http.StatusUnprocessableEntity, "signin", nil, d)
		return
	}
	var u user
	res := c.call(r, token, http.MethodGet, "/api/v1/me", "", nil, &u)
	switch {
	case res.status == http.StatusUnauthorized || res.status == http.StatusTooManyRequests:
		d.Error = c.t(r, nil, "token_refused") + " " + res.problem.Detail
		c.render(w, r, res.status, "signin", nil, d)
		return
	case res.err != nil:
		c.fail(w, r, nil, res)
		return
	}
	c.startSession(w, r, token, u, next)
}

// startSession sets the session cookie for the token (the API accepted it
// for u) and goes on to next.
func (c *Console) startSession(w http.ResponseWriter, r *http.Request, token string, u user, next string) {
	v, err := securecookie.EncodeMulti(sessionCookie, session{Token: token, Since: time.Now().UTC()}, c.codecs...)
	if err != nil {
		c.fail(w, r, nil, result{status: http.StatusInternalServerError, err: err})
		return
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: v, Path: "/", HttpOnly: true, Secure: c.cfg.Secure,
		SameSite: http.SameSiteStrictMode, MaxAge: int(c.cfg.SessionTTL.Seconds())})
	if _, err := r.Cookie(langCookie); err != nil && (u.Language == "de" || u.Language == "en") {
		c.setLangCookie(w, u.Language) // the user's, unless this browser chose one
	}
	if next == "" {
		next = "/console/"
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// requestLink asks the API to mail a sign-in link to the address.
func (c *Console) requestLink(w http.ResponseWriter, r *http.Request) {
	d := pageData{Title: "sign_in"}
	res := c.call(r, "", http.MethodPost, "/api/v1/login-links", "", map[string]any{"email": strings.TrimSpace(r.PostFormValue("email"))}, nil)
	status := http.StatusOK
	switch {
	case res.err == nil:
		d.Notice = c.t(r, nil, "link_sent")
	case res.status >= 500 && res.status != http.StatusServiceUnavailable:
		c.fail(w, r, nil, res)
		return
	default:
		status, d.Error, d.Fields = res.status, res.problem.Detail, res.problem.Errors
	}
	c.render(w, r, status, "signin", nil, d)
}

// linkPage is where a mailed link lands: a button signs in (a mail
// scanner that opens the link spends nothing).
func (c *Console) linkPage(w http.ResponseWriter, r *http.Request) {
	tok := r.URL.Query().Get("token")
	if tok == "" || len(tok) > 200 {
		c.render(w, r, http.StatusBadRequest, "signin", nil, pageData{Title: "sign_in", Error: c.t(r, nil, "link_refused")})
		return
	}
	c.render(w, r, http.StatusOK, "signin", nil, pageData{Title: "sign_in", LinkToken: tok})
}

// signInWithLink spends the link for a session.
func (c *Console) signInWithLink(w http.ResponseWriter, r *http.Request) {
	var s struct {
		Token string `json:"token"`
	}
	res := c.call(r, "", http.MethodPost, "/api/v1/login-links/redemption", "", map[string]any{"token": r.PostFormValue("link_token")}, &s)
	if res.err != nil {
		if res.status >= 500 {
			c.fail(w, r, nil, res)
			return
		}
		c.render(w, r, res.status, "signin", nil, pageData{Title: "sign_in", Error: c.t(r, nil, "link_refused") + " " + res.problem.Detail})
		return
	}
	var u user
	if res := c.call(r, s.Token, http.MethodGet, "/api/v1/me", "", nil, &u); res.err != nil {
		c.fail(w, r, nil, res)
		return
	}
	c.startSession(w, r, s.Token, u, "")
}

func (c *Console) signOut(w http.ResponseWriter, r *http.Request) {
	c.clearSession(w)
	http.Redirect(w, r, "/console/sign-in", http.StatusSeeOther)
}

func (c *Console) clearSession(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", HttpOnly: true, Secure: c.cfg.Secure,
		SameSite: http.SameSiteStrictMode, MaxAge: -1})
}

func (c *Console) setLanguage(w http.ResponseWriter, r *http.Request) {
	lang := r.PathValue("lang")
	if lang != "de" && lang != "en" {
		http.NotFound(w, r)
		return
	}
	c.setLangCookie(w, lang)
	back := safeNext(r.URL.Query().Get("back"))
	if back == "" {
		back = "/console/"
	}
	http.Redirect(w, r, back, http.StatusSeeOther)
}

func (c *Console) setLangCookie(w http.ResponseWriter, lang string) {
	http.SetCookie(w, &http.Cookie{Name: langCookie, Value: lang, Path: "/", Secure: c.cfg.Secure,
		SameSite: http.SameSiteLaxMode, MaxAge: 365 * 24 * 3600})
}

// safeNext keeps only a path of this console (no open redirect).
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/console/") || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n") {
		return ""
	}
	return next
}

// result is what an in-process API call answered.
type result struct {
	status  int
	problem problem
	err     error // set for every answer that is not 2xx
}

// problem is the API's application/problem+json.
type problem struct {
	Title  string       `json:"title"`
	Status int          `json:"status"`
	Detail string       `json:"detail"`
	Errors []fieldError `json:"errors"`
}

type fieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// call sends one request to the API as the user with the token (from the
// browser's address, so the API's per-address limits count it) and decodes
// a 2xx answer into out.
func (c *Console) call(r *http.Request, token, method, path, idempotencyKey string, body, out any) result {
	rec := c.exchange(r, token, method, path, idempotencyKey, body)
	res := rec.result(method, path)
	if res.err == nil && out != nil && rec.body.Len() > 0 {
		if err := json.Unmarshal(rec.body.Bytes(), out); err != nil {
			res.status, res.err = http.StatusInternalServerError, fmt.Errorf("%s %s: decode: %w", method, path, err)
		}
	}
	return res
}

// callRaw is call for an answer that is not JSON (a CSV, a file).
func (c *Console) callRaw(r *http.Request, token, method, path string) ([]byte, result) {
	rec := c.exchange(r, token, method, path, "", nil)
	return rec.body.Bytes(), rec.result(method, path)
}

// exchange serves one request of the user's to the API in-process.
func (c *Console) exchange(r *http.Request, token, method, path, idempotencyKey string, body any) *recorder {
	if body == nil {
		return c.exchangeBody(r, token, method, path, idempotencyKey, "", nil)
	}
	raw, err := json.Marshal(body)
	if err != nil {
		return &recorder{header: http.Header{}, status: http.StatusInternalServerError}
	}
	return c.exchangeBody(r, token, method, path, idempotencyKey, "application/json", bytes.NewReader(raw))
}

// exchangeBody is exchange with a body of the given type (none if
// contentType is empty).
func (c *Console) exchangeBody(r *http.Request, token, method, path, idempotencyKey, contentType string, body io.Reader) *recorder {
	rec := &recorder{header: http.Header{}, status: http.StatusOK}
	var rd io.Reader = http.NoBody // as a server's request has, never nil
	if contentType != "" {
		rd = body
	}
	req, err := http.NewRequestWithContext(r.Context(), method, path, rd)
	if err != nil {
		rec.status = http.StatusInternalServerError
		return rec
	}
	req.RemoteAddr = r.RemoteAddr
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "application/json")
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if idempotencyKey != "" {
		req.Header.Set("Idempotency-Key", idempotencyKey)
	}
	if id := r.Header.Get("X-Request-Id"); id != "" {
		req.Header.Set("X-Request-Id", id)
	}
	c.cfg.API.ServeHTTP(rec, req)
	return rec
}

// result reads the API's answer: a refusal as its problem detail.
func (rec *recorder) result(method, path string) result {
	res := result{status: rec.status}
	if rec.status >= 200 && rec.status < 300 {
		return res
	}
	_ = json.Unmarshal(rec.body.Bytes(), &res.problem)
	if res.problem.Detail == "" {
		res.problem.Detail = http.StatusText(rec.status)
	}
	res.err = fmt.Errorf("%s %s: %d %s", method, path, rec.status, res.problem.Detail)
	return res
}

// recorder keeps the API's answer.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
	wrote  bool
}

func (rec *recorder) Header() http.Header { return rec.header }
func (rec *recorder) Write(b []byte) (int, error) {
	rec.wrote = true
	return rec.body.Write(b)
}

func (rec *recorder) WriteHeader(status int) {
	if !rec.wrote {
		rec.status, rec.wrote = status, true
	}
}

// notFound answers a path or form action the console does not have.
func (c *Console) notFound(w http.ResponseWriter, r *http.Request, u *user) {
	c.render(w, r, http.StatusNotFound, "error", u, pageData{Title: "not_found", Error: c.t(r, u, "no_such_page")})
}

// fail renders an API refusal (or a fault) as a page with its status.
func (c *Console) fail(w http.ResponseWriter, r *http.Request, u *user, res result) {
	status := res.status
	if status < 400 {
		status = http.StatusInternalServerError
	}
	msg := res.problem.Detail
	if status >= 500 {
		c.log.Error("console", "path", r.URL.Path, "error", res.err)
		msg = c.t(r, u, "server_error")
	}
	c.render(w, r, status, "error", u, pageData{Title: "error", Error: msg, Fields: res.problem.Errors})
}

// flash is the message a form's redirect carries to the next page.
type flash struct {
	Notice string       `json:"n,omitempty"`
	Error  string       `json:"e,omitempty"`
	Fields []fieldError `json:"f,omitempty"`
}

func (c *Console) setFlash(w http.ResponseWriter, f flash) {
	v, err := securecookie.EncodeMulti(flashCookie, f, c.codecs...)
	if err != nil {
		return
	}
	http.SetCookie(w, &http.Cookie{Name: flashCookie, Value: v, Path: "/console/", HttpOnly: true, Secure: c.cfg.Secure,
		SameSite: http.SameSiteStrictMode, MaxAge: 60})
}

func (c *Console) takeFlash(w http.ResponseWriter, r *http.Request) flash {
	var f flash
	ck, err := r.Cookie(flashCookie)
	if err != nil {
		return f
	}
	http.SetCookie(w, &http.Cookie{Name: flashCookie, Value: "", Path: "/console/", HttpOnly: true, Secure: c.cfg.Secure,
		SameSite: http.SameSiteStrictMode, MaxAge: -1})
	_ = securecookie.DecodeMulti(flashCookie, ck.Value, &f, c.codecs...)
	return f
}

// acted ends a form: back to the page with the outcome.
func (c *Console) acted(w http.ResponseWriter, r *http.Request, u *user, back string, res result, done string) {
	switch {
	case res.err == nil:
		c.setFlash(w, flash{Notice: c.t(r, u, done)})
	case res.status >= 500:
		c.log.Error("console action", "path", r.URL.Path, "error", res.err)
		c.setFlash(w, flash{Error: c.t(r, u, "server_error")})
	default:
		c.setFlash(w, flash{Error: res.problem.Detail, Fields: res.problem.Errors})
	}
	http.Redirect(w, r, back, http.StatusSeeOther)
}

// newKey is a form's idempotency key.
func newKey() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return "console-" + hex.EncodeToString(b)
}

// formKey is the idempotency key a form carries: made when it was drawn,
// so the same form sent twice is one action.
func formKey(r *http.Request) string {
	k := r.PostFormValue("idempotency_key")
	if k == "" || len(k) > 100 || strings.ContainsFunc(k, func(r rune) bool { return r < 0x21 || r > 0x7e }) {
		return newKey()
	}
	return k
}

func securityHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "same-origin")
		hd.Set("X-Frame-Options", "DENY")
		h.ServeHTTP(w, r)
	})
}

func cacheFor(d time.Duration, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", fmt.Sprintf("public, max-age=%d", int(d.Seconds())))
		h.ServeHTTP(w, r)
	})
}
