package console

import (
	"net/http"
	"net/url"
	"strings"
	"time"
)

// The admin's webhooks page: the systems subscribed to hand-offs, a new
// subscription (its signing secret shown once, on the page that answers the
// form, as the API shows it once), one ended, and a webhook's delivery log.

type webhook struct {
	ID        string    `json:"id"`
	URL       string    `json:"url"`
	Events    []string  `json:"events"`
	CreatedAt time.Time `json:"created_at"`
	Secret    string    `json:"secret"`
}

type delivery struct {
	ID            string     `json:"id"`
	ApplicationID string     `json:"application_id"`
	Kind          string     `json:"kind"`
	Status        string     `json:"status"`
	Attempts      int        `json:"attempts"`
	LastStatus    int        `json:"last_status"`
	LastError     string     `json:"last_error"`
	CreatedAt     time.Time  `json:"created_at"`
	DeliveredAt   *time.Time `json:"delivered_at"`
}

type webhooksPage struct {
	pageData
	Webhooks   []webhook
	New        *webhook // just made: its secret, once
	Form       map[string]string
	Errors     map[string]string
	Deliveries []delivery
	Shown      *webhook // the webhook whose log is shown
}

func (c *Console) webhooks(w http.ResponseWriter, r *http.Request, u *user) {
	c.drawWebhooks(w, r, u, http.StatusOK, webhooksPage{})
}

func (c *Console) drawWebhooks(w http.ResponseWriter, r *http.Request, u *user, status int, p webhooksPage) {
	var list struct {
		Items []webhook `json:"items"`
	}
	if res := c.call(r, u.token, http.MethodGet, "/api/v1/webhooks", "", nil, &list); res.err != nil {
		c.fail(w, r, u, res)
		return
	}
	p.Title, p.Webhooks = "webhooks", list.Items
	if id := r.PathValue("id"); id != "" {
		for i := range p.Webhooks {
			if p.Webhooks[i].ID == id {
				p.Shown = &p.Webhooks[i]
			}
		}
		if p.Shown == nil {
			c.notFound(w, r, u)
			return
		}
		var log struct {
			Items []delivery `json:"items"`
		}
		if res := c.call(r, u.token, http.MethodGet, "/api/v1/webhooks/"+url.PathEscape(id)+"/deliveries", "", nil, &log); res.err != nil {
			c.fail(w, r, u, res)
			return
		}
		p.Deliveries = log.Items
	}
	if p.Form == nil {
		p.Form = map[string]string{}
	}
	if p.Errors == nil {
		p.Errors = map[string]string{}
	}
	if p.Notice == "" && p.Error == "" {
		c.withFlash(w, r, &p.pageData)
	}
	c.renderAny(w, r, status, "webhooks", u, &p.pageData, &p)
}

// createWebhook subscribes a system; the answer shows its secret once.
func (c *Console) createWebhook(w http.ResponseWriter, r *http.Request, u *user) {
	form := map[string]string{"url": strings.TrimSpace(r.PostFormValue("url")), "events": strings.TrimSpace(r.PostFormValue("events"))}
	var events []string
	for _, e := range strings.FieldsFunc(form["events"], func(r rune) bool { return r == ',' || r == ' ' || r == '\n' }) {
		events = append(events, strings.TrimSpace(e))
	}
	var made webhook
	res := c.call(r, u.token, http.MethodPost, "/api/v1/webhooks", formKey(r), map[string]any{"url": form["url"], "events": events}, &made)
	switch {
	case res.err == nil:
		p := webhooksPage{New: &made}
		p.Notice = c.t(r, u, "done.webhook")
		c.drawWebhooks(w, r, u, http.StatusCreated, p)
	case res.status >= 500:
		c.fail(w, r, u, res)
	default:
		p := webhooksPage{Form: form, Errors: fieldMap(res.problem.Errors)}
		for _, fe := range res.problem.Errors {
			if strings.HasPrefix(fe.Field, "events[") { // one field holds them all
				p.Errors["events"] = fe.Message
			}
		}
		p.Error, p.Fields = res.problem.Detail, res.problem.Errors
		c.drawWebhooks(w, r, u, res.status, p)
	}
}

// endWebhook ends a subscription.
func (c *Console) endWebhook(w http.ResponseWriter, r *http.Request, u *user) {
	res := c.call(r, u.token, http.MethodDelete, "/api/v1/webhooks/"+url.PathEscape(r.PathValue("id")), "", nil, nil)
	c.acted(w, r, u, "/console/webhooks", res, "done.webhook_ended")
}
