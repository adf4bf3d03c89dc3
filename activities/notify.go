package activities

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"text/template"
	"time"

	"github.com/wneessen/go-mail"
	"go.temporal.io/sdk/activity"

	"reallabor/internal/store"
	"reallabor/models"
)

// Mail is one e-mail to one person.
type Mail struct {
	To, Subject, Text, HTML string
	// MessageID is the notification's: a mail sent twice (a crash between
	// sending and recording it) carries the same id, so mail clients show it
	// once.
	MessageID string
}

// Mailer sends mail. ErrPermanent in an error says retrying cannot help
// (a refused address).
type Mailer interface {
	Send(ctx context.Context, m Mail) error
}

// ErrPermanent marks a delivery that no retry can mend.
var ErrPermanent = errors.New("permanent delivery failure")

// DeliverAttempts is how often a delivery is tried (backoff 10 s doubling
// to an hour: about a day) before its notifications are dead letters.
const DeliverAttempts = 30

// Deliver e-mails the notifications given, skipping those already sent (a
// retried delivery mails nobody twice). A refused address fails its own
// notification at once; other errors are retried; after the last attempt
// what is left is recorded failed (the dead letter) and the delivery ends.
func (l *Ledger) Deliver(ctx context.Context, in models.DeliverInput) error {
	ns, users, err := l.Store.ToEmail(ctx, in.Notifications)
	if err != nil {
		return err
	}
	last := activity.GetInfo(ctx).Attempt >= DeliverAttempts
	retry := l.deliverWebhooks(ctx, in.Webhooks, last)
	for _, n := range ns {
		u := users[n.UserID]
		if u.Email == "" || l.Mailer == nil {
			if err := l.Store.MarkEmailed(ctx, n.ID, "none", "", time.Now()); err != nil {
				return err
			}
			continue
		}
		err := l.Mailer.Send(ctx, render(n, u, l.PublicURL))
		switch {
		case err == nil:
			if err := l.Store.MarkEmailed(ctx, n.ID, "sent", "", time.Now()); err != nil {
				return err
			}
			l.count(n.Kind, "sent")
		case errors.Is(err, ErrPermanent) || last:
			activity.GetLogger(ctx).Warn("notification not delivered", "notification", n.ID, "error", err)
			if err := l.Store.MarkEmailed(ctx, n.ID, "failed", err.Error(), time.Now()); err != nil {
				return err
			}
			l.count(n.Kind, "failed")
		default:
			retry = errors.Join(retry, err)
		}
	}
	return retry
}

func (l *Ledger) count(kind, result string) {
	if l.Delivered != nil {
		l.Delivered(kind, result)
	}
}

// htmlTemplate is the HTML alternative of the same mail (html/template
// escapes every value).
var htmlTemplate = htmltemplate.Must(htmltemplate.New("mail").Parse(`<!DOCTYPE html>
<html lang="{{.Lang}}"><body style="font-family: sans-serif">
<p>{{.Greeting}}</p>
<p><strong>{{.What}}</strong>: {{.Title}}</p>
{{if .Detail}}<p>{{.Detail}}</p>{{end}}
{{if .Expected}}<p>{{.ExpectedLabel}}: {{.Expected}}{{if .Due}} ({{.ByLabel}} {{.Due}}){{end}}</p>{{end}}
<p><a href="{{.Link}}">{{.Link}}</a></p>
<p style="color: #666">Reallabor grants</p>
</body></html>
`))

var mailTemplate = template.Must(template.New("mail").Parse(`{{.Greeting}}

{{.What}}: {{.Title}}
{{if .Detail}}
{{.Detail}}
{{end}}{{if .Expected}}
{{.ExpectedLabel}}: {{.Expected}}{{if .Due}} ({{.ByLabel}} {{.Due}}){{end}}
{{end}}
{{.Link}}

-- 
Reallabor grants
`))

// render writes a notification as a mail in the user's language (German
// unless it chose English).
func render(n store.Notification, u models.User, publicURL string) Mail {
	lang := "de"
	if u.Language == "en" {
		lang = "en"
	}
	what := kindText(n.Kind, lang)
	data := map[string]string{"Lang": lang, "Title": n.Title, "Detail": n.Detail, "Expected": n.Expected, "What": what,
		"Link": strings.TrimRight(publicURL, "/") + "/api/v1/applications/" + n.ApplicationID}
	if lang == "de" {
		data["Greeting"], data["ExpectedLabel"], data["ByLabel"] = "Guten Tag "+u.Name+",", "Erwartet", "bis"
	} else {
		data["Greeting"], data["ExpectedLabel"], data["ByLabel"] = "Hello "+u.Name+",", "Expected", "by"
	}
	if n.DueAt != nil {
		data["Due"] = n.DueAt.UTC().Format("2006-01-02")
	}
	var b, h bytes.Buffer
	_ = mailTemplate.Execute(&b, data)
	_ = htmlTemplate.Execute(&h, data)
	return Mail{To: u.Email, Subject: "[Reallabor] " + what + ": " + n.Title, Text: b.String(), HTML: h.String(), MessageID: n.ID}
}

// kindTexts names each notified event in German and English.
var kindTexts = map[string][2]string{
	"eligibility_passed":               {"Neuer Antrag zur Begutachtung", "New application to review"},
	"revised":                          {"Überarbeiteter Antrag zur Begutachtung", "Revised application to review"},
	"review_reminder":                  {"Erinnerung: Votum ausstehend", "Reminder: your vote is due"},
	"review_escalated":                 {"Begutachtungsfrist verstrichen", "Review deadline passed"},
	"review_deadline_extended":         {"Begutachtungsfrist verlängert", "Review deadline extended"},
	"eligibility_failed":               {"Antrag nicht förderfähig", "Application not eligible"},
	"revision_requested":               {"Überarbeitung erbeten", "Revision requested"},
	"revision_deadline_passed":         {"Überarbeitungsfrist verstrichen: abgelehnt", "Revision deadline passed: rejected"},
	"approved":                         {"Antrag bewilligt", "Application approved"},
	"promoted_from_waitlist":           {"Von der Warteliste nachgerückt: bewilligt", "Promoted from the waitlist: approved"},
	"waitlisted":                       {"Antrag auf der Warteliste", "Application waitlisted"},
	"rejected":                         {"Antrag abgelehnt", "Application rejected"},
	"acceptance_reminder":              {"Erinnerung: Zuwendungsvertrag annehmen", "Reminder: accept the grant agreement"},
	"lapsed":                           {"Bewilligung verfallen", "Grant lapsed"},
	"agreement_accepted":               {"Vertrag angenommen: erste Rate fällig", "Agreement accepted: first tranche due"},
	"disbursement_approved":            {"Rate zur Zahlung freigegeben", "Tranche approved for payment"},
	"payment_confirmed":                {"Rate ausgezahlt", "Tranche paid"},
	"payment_failed":                   {"Zahlung fehlgeschlagen", "Payment failed"},
	"payment_returned":                 {"Zahlung von der Bank zurückgegeben", "Payment returned by the bank"},
	"interim_report_reminder":          {"Erinnerung: Zwischenbericht", "Reminder: interim report"},
	"final_report_reminder":            {"Erinnerung: Abschlussbericht", "Reminder: final report"},
	"interim_report_overdue":           {"Zwischenbericht überfällig", "Interim report overdue"},
	"final_report_overdue":             {"Abschlussbericht überfällig", "Final report overdue"},
	"interim_report_submitted":         {"Zwischenbericht zur Prüfung", "Interim report to assess"},
	"final_report_submitted":           {"Abschlussbericht zur Prüfung", "Final report to assess"},
	"interim_report_changes_requested": {"Zwischenbericht: Änderungen erbeten", "Interim report: changes requested"},
	"final_report_changes_requested":   {"Abschlussbericht: Änderungen erbeten", "Final report: changes requested"},
	"interim_report_accepted":          {"Zwischenbericht angenommen", "Interim report accepted"},
	"final_report_accepted":            {"Abschlussbericht angenommen: Abrechnung", "Final report accepted: settlement"},
	"withdrawn":                        {"Antrag zurückgezogen", "Application withdrawn"},
	"cancelled":                        {"Antrag storniert", "Application cancelled"},
	"drawdown_requested":               {"Mittelabruf", "Drawdown requested"},
	"amendment_requested":              {"Änderungsantrag", "Amendment requested"},
	"amendment_approved":               {"Änderung genehmigt", "Amendment approved"},
	"amendment_refused":                {"Änderung abgelehnt", "Amendment refused"},
	"repayment_demanded":               {"Rückforderung", "Repayment demanded"},
	"repayment_reminder":               {"Erinnerung: Rückzahlung fällig", "Reminder: repayment due"},
	"repayment_overdue":                {"Rückzahlung überfällig", "Repayment overdue"},
	"repayment_dunning":                {"Mahnung: Rückzahlung überfällig", "Dunning: repayment overdue"},
	"repayment_received":               {"Rückzahlung eingegangen", "Repayment received"},
	"repayment_settled":                {"Rückforderung beglichen", "Repayment settled"},
	"closed":                           {"Vorhaben abgeschlossen", "Project closed"},
}

func kindText(kind, lang string) string {
	t, ok := kindTexts[kind]
	if !ok {
		return kind
	}
	if lang == "en" {
		return t[1]
	}
	return t[0]
}

// SMTPMailer sends over SMTP (STARTTLS when offered, required unless the
// URL says smtp+insecure) with github.com/wneessen/go-mail.
type SMTPMailer struct {
	Client *mail.Client
	From   string
}

// NewSMTPMailer connects per SMTP_URL: smtp://user:pass@host:587 (STARTTLS
// required) or smtp+insecure://host:port (no TLS: a relay on this host, tests).
func NewSMTPMailer(rawURL, from string) (*SMTPMailer, error) {
	u, err := parseSMTPURL(rawURL)
	if err != nil {
		return nil, err
	}
	opts := []mail.Option{mail.WithPort(u.port), mail.WithTimeout(20 * time.Second)}
	if u.insecure {
		opts = append(opts, mail.WithTLSPolicy(mail.NoTLS))
	} else {
		opts = append(opts, mail.WithTLSPolicy(mail.TLSMandatory))
	}
	if u.user != "" {
		opts = append(opts, mail.WithSMTPAuth(mail.SMTPAuthAutoDiscover), mail.WithUsername(u.user), mail.WithPassword(u.pass))
	}
	c, err := mail.NewClient(u.host, opts...)
	if err != nil {
		return nil, fmt.Errorf("SMTP_URL: %w", err)
	}
	return &SMTPMailer{Client: c, From: from}, nil
}

// Send sends one mail; a 5xx answer is ErrPermanent.
func (s *SMTPMailer) Send(ctx context.Context, m Mail) error {
	msg, err := message(s.From, m)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrPermanent, err)
	}
	if err := s.Client.DialAndSendWithContext(ctx, msg); err != nil {
		var se *mail.SendError
		if errors.As(err, &se) && !se.IsTemp() {
			return fmt.Errorf("%w: %v", ErrPermanent, err)
		}
		return err
	}
	return nil
}

func message(from string, m Mail) (*mail.Msg, error) {
	msg := mail.NewMsg()
	if err := msg.From(from); err != nil {
		return nil, err
	}
	if err := msg.To(m.To); err != nil {
		return nil, err
	}
	msg.Subject(m.Subject)
	msg.SetMessageIDWithValue(m.MessageID + "@reallabor")
	msg.SetBodyString(mail.TypeTextPlain, m.Text)
	if m.HTML != "" {
		msg.AddAlternativeString(mail.TypeTextHTML, m.HTML)
	}
	return msg, nil
}

// OutboxMailer writes each mail as an .eml file into Dir: dev without
// SMTP_URL, so the mails can be opened and read.
type OutboxMailer struct {
	Dir  string
	From string
	mu   sync.Mutex
}

// Send writes the mail (a repeated send overwrites the same file).
func (o *OutboxMailer) Send(_ context.Context, m Mail) error {
	msg, err := message(o.From, m)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrPermanent, err)
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if err := os.MkdirAll(o.Dir, 0o755); err != nil {
		return err
	}
	return msg.WriteToFile(filepath.Join(o.Dir, m.MessageID+".eml"))
}

type smtpURL struct {
	host, user, pass string
	port             int
	insecure         bool
}

func parseSMTPURL(raw string) (smtpURL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return smtpURL{}, fmt.Errorf("SMTP_URL: %w", err)
	}
	out := smtpURL{host: u.Hostname(), port: 587}
	switch u.Scheme {
	case "smtp":
	case "smtp+insecure":
		out.insecure = true
	default:
		return out, fmt.Errorf("SMTP_URL must be smtp://user:pass@host:port or smtp+insecure://host:port (got scheme %q)", u.Scheme)
	}
	if out.host == "" {
		return out, errors.New("SMTP_URL names no host")
	}
	if p := u.Port(); p != "" {
		if out.port, err = strconv.Atoi(p); err != nil {
			return out, fmt.Errorf("SMTP_URL port %q: %w", p, err)
		}
	}
	if u.User != nil {
		out.user = u.User.Username()
		out.pass, _ = u.User.Password()
	}
	return out, nil
}
