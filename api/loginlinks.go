package api

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"reallabor/activities"
	"reallabor/internal/store"
	"reallabor/models"
)

// One-time sign-in links, the console's way in without pasting a token: a
// person asks for a link to the e-mail address their account has; the mail
// carries a secret that signs in once, within LoginLinkTTL, and gives a
// token for one console session. Neither request needs a token; both are
// limited per address, and the answer to a request is the same whether the
// address is known or not (nobody learns who has an account).

// LoginLinkTTL is how long a link works.
const LoginLinkTTL = 15 * time.Minute

// LoginSessionTTL is how long the token a link gives lasts.
const LoginSessionTTL = 12 * time.Hour

// linksPerUser bounds the links one account is sent in ten minutes.
const linksPerUser = 3

type loginLinkRequest struct {
	Email string `json:"email" validate:"required,max=254,email"`
}

type redeemLinkRequest struct {
	Token string `json:"token" validate:"required,max=200"`
}

// LoginLinkSession is what a link signs in to: a token for the session.
type LoginLinkSession struct {
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expires_at"`
	UserID    string    `json:"user_id"`
	Name      string    `json:"name"`
	Role      string    `json:"role"`
}

func (s *Server) linkLimit(c echo.Context) error {
	if s.limits != nil && !s.limits.failedAuth.allow(c.RealIP()) {
		return tooMany(c, ": too many sign-in links from this address")
	}
	return nil
}

// requestLoginLink mails a link to each active user with the address (202
// either way).
func (s *Server) requestLoginLink(c echo.Context) error {
	if s.cfg.Mailer == nil {
		return problem(http.StatusServiceUnavailable, "sign-in links need e-mail (SMTP_URL), which is not configured")
	}
	if err := s.linkLimit(c); err != nil {
		return err
	}
	var req loginLinkRequest
	if err := bind(c, &req, true); err != nil {
		return err
	}
	ctx := c.Request().Context()
	users, err := s.cfg.Store.ActiveUsersByEmail(ctx, req.Email)
	if err != nil {
		return err
	}
	now := s.cfg.Now().UTC()
	for _, u := range users {
		n, err := s.cfg.Store.RecentLoginLinks(ctx, u.ID, now.Add(-10*time.Minute))
		if err != nil {
			return err
		}
		if n >= linksPerUser {
			continue // the same answer: the mails already sent still work
		}
		secret, _ := NewToken()
		secret = "link_" + strings.TrimPrefix(secret, "rl_") // not a bearer token: it signs in through the link only
		hash := HashToken(secret)
		if err := s.cfg.Store.CreateLoginLink(ctx, store.LoginLink{ID: hash, UserID: u.ID, CreatedAt: now, ExpiresAt: now.Add(LoginLinkTTL)}); err != nil {
			return err
		}
		link := strings.TrimRight(s.cfg.PublicURL, "/") + "/console/sign-in/link?token=" + url.QueryEscape(secret)
		m := loginMail(u, link)
		m.MessageID = "login-" + hash[:24] // names the mail (dev's outbox file) without its secret
		if err := s.cfg.Mailer.Send(ctx, m); err != nil {
			s.log.Warn("could not mail a sign-in link", "user", u.ID, "error", err)
		}
	}
	return c.JSON(http.StatusAccepted, map[string]string{
		"detail": "If an active account has this address, a sign-in link is on its way. It works once, within 15 minutes."})
}

// redeemLoginLink spends a link for a session token (401 for a link that is
// unknown, used or expired, alike).
func (s *Server) redeemLoginLink(c echo.Context) error {
	ip := c.RealIP()
	if s.limits != nil && s.limits.failedAuth.exhausted(ip) {
		return tooMany(c, ": too many failed sign-ins from this address")
	}
	var req redeemLinkRequest
	if err := bind(c, &req, true); err != nil {
		return err
	}
	ctx := c.Request().Context()
	now := s.cfg.Now().UTC()
	userID, err := s.cfg.Store.UseLoginLink(ctx, HashToken(strings.TrimSpace(req.Token)), now)
	if errors.Is(err, models.ErrNotFound) {
		s.failedAuth(ip)
		return problem(http.StatusUnauthorized, "this sign-in link is unknown, used or expired: ask for a new one")
	}
	if err != nil {
		return err
	}
	u, err := s.cfg.Store.User(ctx, userID)
	if err != nil {
		return err
	}
	if u.DeactivatedAt != nil {
		s.failedAuth(ip)
		return problem(http.StatusUnauthorized, "this user is deactivated")
	}
	token, hash := NewToken()
	exp := now.Truncate(time.Second).Add(LoginSessionTTL)
	t := models.Token{ID: newID(), UserID: u.ID, Name: "sign-in link " + now.Format("2006-01-02 15:04"), Hash: hash,
		CreatedAt: now.Truncate(time.Second), ExpiresAt: &exp}
	if err := s.cfg.Store.SaveToken(ctx, &t); err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, LoginLinkSession{Token: token, ExpiresAt: exp, UserID: u.ID, Name: u.Name, Role: string(u.Role)})
}

// loginMail is the link's mail, in the user's language.
func loginMail(u models.User, link string) activities.Mail {
	if u.Language == "en" {
		return activities.Mail{To: u.Email, Subject: "Your sign-in link to Reallabor grants",
			Text: "Hello " + u.Name + ",\n\nsign in to the console with this link (it works once, within 15 minutes):\n\n" + link +
				"\n\nIf you did not ask for it, ignore this mail: nobody can sign in without it.\n"}
	}
	return activities.Mail{To: u.Email, Subject: "Ihr Anmeldelink für Reallabor-Förderung",
		Text: "Guten Tag " + u.Name + ",\n\nmit diesem Link melden Sie sich an der Konsole an (einmal, innerhalb von 15 Minuten):\n\n" + link +
			"\n\nHaben Sie ihn nicht angefordert, ignorieren Sie diese Mail: ohne den Link meldet sich niemand an.\n"}
}
