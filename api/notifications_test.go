package api_test

import (
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"reallabor/activities"
	"reallabor/internal/apptest"
)

// smtpSink is a real SMTP server in the test process that keeps what
// arrives.
type smtpSink struct {
	mu   sync.Mutex
	msgs []sunkMail
}

type sunkMail struct {
	to   []string
	data string
}

func (s *smtpSink) NewSession(*smtp.Conn) (smtp.Session, error) { return &sinkSession{sink: s}, nil }

type sinkSession struct {
	sink *smtpSink
	to   []string
}

func (s *sinkSession) Reset()                                    { s.to = nil }
func (s *sinkSession) Logout() error                             { return nil }
func (s *sinkSession) Mail(string, *smtp.MailOptions) error      { return nil }
func (s *sinkSession) Rcpt(to string, _ *smtp.RcptOptions) error { s.to = append(s.to, to); return nil }
func (s *sinkSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.sink.mu.Lock()
	defer s.sink.mu.Unlock()
	s.sink.msgs = append(s.sink.msgs, sunkMail{to: s.to, data: string(b)})
	return nil
}

// to lists, per address, the subjects that arrived.
func (s *smtpSink) subjects() map[string][]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string][]string{}
	for _, m := range s.msgs {
		subject := ""
		for _, l := range strings.Split(m.data, "\r\n") {
			if strings.HasPrefix(l, "Subject: ") {
				subject = strings.TrimPrefix(l, "Subject: ")
			}
		}
		for _, to := range m.to {
			out[to] = append(out[to], subject)
		}
	}
	return out
}

func startSMTP(t *testing.T) (*smtpSink, string) {
	t.Helper()
	sink := &smtpSink{}
	srv := smtp.NewServer(sink)
	srv.Domain = "localhost"
	srv.AllowInsecureAuth = true
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { srv.Close() })
	return sink, "smtp+insecure://" + l.Addr().String()
}

// TestHandOffsReachPeople: through HTTP, with the mails going over SMTP to a
// real server in this process: every hand-off of a lifecycle mails the
// people it is for, and only them (a reviewer of the group's company gets
// no invitation to review; finance no review mail); each lands once; the
// inbox shows them, unread first, and nobody reads another's.
func TestHandOffsReachPeople(t *testing.T) {
	sink, url := startSMTP(t)
	mailer, err := activities.NewSMTPMailer(url, "grants@musterstadt.test")
	if err != nil {
		t.Fatal(err)
	}
	app := apptest.StartWith(t, apptest.Options{Mailer: mailer})
	prog := app.CreateProgramme(t, 50_000_000, nil)
	mk := func(name, role, org, email string) apptest.User {
		var u apptest.User
		app.Must(t, http.StatusCreated, "POST", "/api/v1/users", app.Admin,
			map[string]any{"name": name, "role": role, "organisation": org, "email": email, "language": "en"}).JSON(t, &u)
		return u
	}
	anna := mk("Anna", "applicant", "Cafe Mitte", "anna@cafe.test")
	var board []apptest.User
	for i, org := range []string{"Stadtwerke", "IHK", "Handwerkskammer"} {
		board = append(board, mk("Reviewer", "reviewer", org, []string{"r1@board.test", "r2@board.test", "r3@board.test"}[i]))
	}
	conflicted := mk("Rolf", "reviewer", "Cafe Mitte GmbH", "rolf@cafe.test")
	fin1 := mk("Fritz", "finance", "Stadtkasse", "fritz@kasse.test")
	fin2 := mk("Frieda", "finance", "Stadtkasse", "frieda@kasse.test")

	var st struct {
		ID       string
		Tranches []struct{ ID string }
	}
	body := apptest.Proposal(prog, "Cafe Mitte", 1_000_000)
	app.Must(t, http.StatusCreated, "POST", "/api/v1/applications", anna, body).JSON(t, &st)
	for _, r := range board {
		app.Must(t, http.StatusOK, "POST", "/api/v1/applications/"+st.ID+"/reviews", r,
			map[string]any{"recommendation": "approve", "scores": apptest.Scores(5)})
	}
	app.Must(t, http.StatusOK, "POST", "/api/v1/applications/"+st.ID+"/acceptance", anna, map[string]any{}).JSON(t, &st)
	app.Must(t, http.StatusOK, "POST", "/api/v1/disbursements/"+st.Tranches[0].ID+"/approval", fin1, map[string]any{})
	app.Must(t, http.StatusOK, "POST", "/api/v1/disbursements/"+st.Tranches[0].ID+"/payment", fin2,
		map[string]any{"bank_reference": "NOTIFY-1"})

	want := map[string][]string{
		"r1@board.test":     {"New application to review"},
		"r2@board.test":     {"New application to review"},
		"r3@board.test":     {"New application to review"},
		"anna@cafe.test":    {"Application approved", "Tranche paid"},
		"fritz@kasse.test":  {"Agreement accepted: first tranche due"},
		"frieda@kasse.test": {"Agreement accepted: first tranche due", "Tranche approved for payment"},
	}
	var got map[string][]string
	deadline := time.Now().Add(20 * time.Second)
	for {
		got = sink.subjects()
		complete := true
		for addr, kinds := range want {
			if len(got[addr]) < len(kinds) {
				complete = false
			}
		}
		if complete || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond) // nothing more should come
	got = sink.subjects()
	for addr, kinds := range want {
		if len(got[addr]) != len(kinds) {
			t.Errorf("%s got %q, want one mail each of %q", addr, got[addr], kinds)
			continue
		}
		for _, k := range kinds {
			found := false
			for _, s := range got[addr] {
				found = found || strings.HasPrefix(s, "[Reallabor] "+k+": ")
			}
			if !found {
				t.Errorf("%s got %q, lacks %q", addr, got[addr], k)
			}
		}
	}
	if n := len(got["rolf@cafe.test"]); n != 0 {
		t.Errorf("the reviewer of the group's company got %d mails (%q), want none", n, got["rolf@cafe.test"])
	}

	// The inbox: Anna's two, unread; the conflicted reviewer's none.
	type inbox struct {
		Items []struct {
			ID            string     `json:"id"`
			Kind          string     `json:"kind"`
			ApplicationID string     `json:"application_id"`
			ReadAt        *time.Time `json:"read_at"`
		}
		Unread int `json:"unread"`
	}
	var in inbox
	app.Must(t, http.StatusOK, "GET", "/api/v1/me/notifications", anna, nil).JSON(t, &in)
	if len(in.Items) != 2 || in.Unread != 2 || in.Items[0].ApplicationID != st.ID {
		t.Fatalf("Anna's inbox = %+v, want her two notifications of the application, unread", in)
	}
	app.Must(t, http.StatusNotFound, "POST", "/api/v1/me/notifications/"+in.Items[0].ID+"/read", conflicted, map[string]any{})
	app.Must(t, http.StatusOK, "POST", "/api/v1/me/notifications/"+in.Items[1].ID+"/read", anna, map[string]any{})
	app.Must(t, http.StatusOK, "GET", "/api/v1/me/notifications", anna, nil).JSON(t, &in)
	if in.Unread != 1 || in.Items[0].ReadAt != nil || in.Items[1].ReadAt == nil {
		t.Errorf("after reading one: %+v, want one unread, listed first", in)
	}
	app.Must(t, http.StatusOK, "GET", "/api/v1/me/notifications", conflicted, nil).JSON(t, &in)
	if len(in.Items) != 0 {
		t.Errorf("the conflicted reviewer's inbox = %+v, want empty", in.Items)
	}
	var page inbox
	app.Must(t, http.StatusOK, "GET", "/api/v1/me/notifications?limit=1", anna, nil).JSON(t, &page)
	if len(page.Items) != 1 {
		t.Errorf("a page of one = %d items", len(page.Items))
	}
	for _, bad := range []string{"?limit=0", "?cursor=-1", "?cursor=x"} {
		if r := app.Do(t, "GET", "/api/v1/me/notifications"+bad, anna, nil); r.Status/100 != 4 {
			t.Errorf("GET /me/notifications%s = %d, want 4xx", bad, r.Status)
		}
	}
	// Anna changes her address; a bad one is refused.
	app.Must(t, http.StatusOK, "PATCH", "/api/v1/me", anna, map[string]any{"email": "anna@new.test", "language": "de"})
	app.Must(t, http.StatusOK, "PATCH", "/api/v1/me", anna, map[string]any{"email_muted": []string{"payment_confirmed"}})
	for _, bad := range []map[string]any{{"email": "not an address"}, {"language": "fr"}, {"email": "a@b.test\r\nBcc: x@y.test"},
		{"email_muted": []string{"everything"}}, {"email_muted": "payment_confirmed"}} {
		if r := app.Do(t, "PATCH", "/api/v1/me", anna, bad); r.Status != http.StatusUnprocessableEntity {
			t.Errorf("PATCH /me %v = %d, want 422", bad, r.Status)
		}
	}
	record(t, app, st.ID, "notifications")
	var me struct {
		Email, Language string
		Muted           []string `json:"email_muted"`
	}
	app.Must(t, http.StatusOK, "GET", "/api/v1/me", anna, nil).JSON(t, &me)
	if me.Email != "anna@new.test" || me.Language != "de" || len(me.Muted) != 1 {
		t.Errorf("after the refused changes: %+v, want anna@new.test, de", me)
	}
}
