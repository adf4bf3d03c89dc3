package console

import (
	"net/http"
	"net/url"
	"strings"
)

// The admin's users page: who may sign in, in which role; a new user, a
// user deactivated or reactivated, a lost token replaced. A token made here
// is shown once, on the page that answers the form (never put in a cookie
// or a redirect), as the API shows it once.

type account struct {
	ID           string `json:"id"`
	Name         string `json:"name"`
	Role         string `json:"role"`
	Organisation string `json:"organisation"`
	Email        string `json:"email"`
	Active       bool   `json:"active"`
	Token        string `json:"token"`
}

type usersPage struct {
	pageData
	Users    []account
	Cursor   string // the next page's cursor
	NewToken *account
	Errors   map[string]string
	Form     map[string]string
}

func (c *Console) users(w http.ResponseWriter, r *http.Request, u *user) {
	c.drawUsers(w, r, u, http.StatusOK, usersPage{})
}

func (c *Console) drawUsers(w http.ResponseWriter, r *http.Request, u *user, status int, p usersPage) {
	q := url.Values{"limit": {"100"}}
	if cur := r.URL.Query().Get("cursor"); cur != "" {
		q.Set("cursor", cur)
	}
	var list struct {
		Items      []account `json:"items"`
		NextCursor string    `json:"next_cursor"`
	}
	if res := c.call(r, u.token, http.MethodGet, "/api/v1/users?"+q.Encode(), "", nil, &list); res.err != nil {
		c.fail(w, r, u, res)
		return
	}
	p.Title, p.Users, p.Cursor = "users", list.Items, list.NextCursor
	if p.Errors == nil {
		p.Errors = map[string]string{}
	}
	if p.Form == nil {
		p.Form = map[string]string{}
	}
	if p.Notice == "" && p.Error == "" {
		c.withFlash(w, r, &p.pageData)
	}
	c.renderAny(w, r, status, "users", u, &p.pageData, &p)
}

// createAccount files a new user; the answer shows its first token once.
func (c *Console) createAccount(w http.ResponseWriter, r *http.Request, u *user) {
	form := map[string]string{}
	for _, k := range []string{"name", "role", "organisation", "email", "language"} {
		form[k] = strings.TrimSpace(r.PostFormValue(k))
	}
	body := map[string]any{"name": form["name"], "role": form["role"], "organisation": form["organisation"]}
	if form["email"] != "" {
		body["email"] = form["email"]
	}
	if form["language"] != "" {
		body["language"] = form["language"]
	}
	var made account
	res := c.call(r, u.token, http.MethodPost, "/api/v1/users", formKey(r), body, &made)
	switch {
	case res.err == nil:
		c.drawUsers(w, r, u, http.StatusCreated, usersPage{pageData: pageData{Notice: c.t(r, u, "done.user_created")}, NewToken: &made})
	case res.status >= 500:
		c.fail(w, r, u, res)
	default:
		p := usersPage{pageData: pageData{Error: res.problem.Detail, Fields: res.problem.Errors}, Form: form, Errors: map[string]string{}}
		for _, fe := range res.problem.Errors {
			p.Errors[fe.Field] = fe.Message
		}
		c.drawUsers(w, r, u, res.status, p)
	}
}

// accountAction deactivates, reactivates or gives a user a new token.
func (c *Console) accountAction(w http.ResponseWriter, r *http.Request, u *user) {
	id := r.PathValue("id")
	path := "/api/v1/users/" + url.PathEscape(id) + "/"
	switch r.PathValue("action") {
	case "deactivation", "reactivation":
		res := c.call(r, u.token, http.MethodPost, path+r.PathValue("action"), formKey(r), map[string]any{}, nil)
		c.acted(w, r, u, "/console/users", res, "done."+r.PathValue("action"))
	case "token":
		var made account
		res := c.call(r, u.token, http.MethodPost, path+"token", formKey(r), map[string]any{}, &made)
		if res.err != nil {
			c.acted(w, r, u, "/console/users", res, "")
			return
		}
		c.drawUsers(w, r, u, http.StatusOK, usersPage{pageData: pageData{Notice: c.t(r, u, "done.token")}, NewToken: &made})
	default:
		c.notFound(w, r, u)
	}
}
