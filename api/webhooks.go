package api

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"reallabor/activities"
	"reallabor/internal/store"
	"reallabor/models"
)

type webhookRequest struct {
	URL    string   `json:"url" validate:"required,max=2000"`
	Events []string `json:"events" validate:"required,min=1,max=100,dive,max=100"`
}

type webhookResponse struct {
	ID        string    `json:"id"`
	URL       string    `json:"url"`
	Events    []string  `json:"events"`
	CreatedAt time.Time `json:"created_at"`
	// Secret signs the deliveries (whsec_…, Standard Webhooks): shown once.
	Secret string `json:"secret,omitempty"`
}

func toWebhookResponse(w store.Webhook) webhookResponse {
	return webhookResponse{ID: w.ID, URL: w.URL, Events: w.Kinds(), CreatedAt: w.CreatedAt}
}

// checkWebhookURL refuses what a webhook may not call: other schemes, user
// info, and (unless allowed) addresses of this host, its networks or
// link-local ones. Names are checked again when dialled (activities).
func checkWebhookURL(raw string, allowPrivate bool) *models.FieldError {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Hostname() == "" {
		return &models.FieldError{Field: "url", Message: "must be an http or https URL"}
	}
	if u.User != nil {
		return &models.FieldError{Field: "url", Message: "must not carry user information"}
	}
	if allowPrivate {
		return nil
	}
	host := strings.ToLower(u.Hostname())
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return &models.FieldError{Field: "url", Message: "must not point at this host (WEBHOOK_ALLOW_PRIVATE allows it)"}
	}
	if ip, err := netip.ParseAddr(host); err == nil && activities.PrivateAddress(ip) {
		return &models.FieldError{Field: "url", Message: "must not point at a loopback, private or link-local address (WEBHOOK_ALLOW_PRIVATE allows it)"}
	}
	if ip := net.ParseIP(host); ip == nil && strings.Trim(host, "0123456789.") == "" {
		return &models.FieldError{Field: "url", Message: "is not a valid host"}
	}
	return nil
}

func (s *Server) createWebhook(c echo.Context) error {
	var req webhookRequest
	if err := bind(c, &req, true); err != nil {
		return err
	}
	if fe := checkWebhookURL(strings.TrimSpace(req.URL), s.cfg.WebhookAllowPrivate); fe != nil {
		return invalidFields(*fe)
	}
	known := store.NotifiedKinds()
	for i, e := range req.Events {
		if e != "*" && !slices.Contains(known, e) {
			return invalidFields(models.FieldError{Field: "events[" + strconv.Itoa(i) + "]", Message: "is not an event kind that is handed off (or *)"})
		}
	}
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	id := keyedID(c, "webhook")
	if id == "" {
		id = newID()
	}
	w := store.Webhook{ID: id, URL: strings.TrimSpace(req.URL), Events: strings.Join(req.Events, ","),
		Secret: "whsec_" + base64.StdEncoding.EncodeToString(key), CreatedAt: s.cfg.Now().UTC()}
	if err := s.cfg.Store.CreateWebhook(c.Request().Context(), &w); err != nil {
		if errors.Is(err, models.ErrData) {
			return problem(http.StatusConflict, "this webhook exists already")
		}
		return err
	}
	resp := toWebhookResponse(w)
	resp.Secret = w.Secret
	c.Response().Header().Set(echo.HeaderLocation, "/api/v1/webhooks/"+w.ID)
	return c.JSON(http.StatusCreated, resp)
}

func (s *Server) listWebhooks(c echo.Context) error {
	hooks, err := s.cfg.Store.Webhooks(c.Request().Context())
	if err != nil {
		return err
	}
	out := make([]webhookResponse, len(hooks))
	for i, h := range hooks {
		out[i] = toWebhookResponse(h)
	}
	return c.JSON(http.StatusOK, map[string]any{"items": out})
}

func (s *Server) deleteWebhook(c echo.Context) error {
	if err := s.cfg.Store.DeleteWebhook(c.Request().Context(), c.Param("id"), s.cfg.Now()); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func (s *Server) listDeliveries(c echo.Context) error {
	if _, err := s.cfg.Store.Webhook(c.Request().Context(), c.Param("id")); err != nil {
		return err
	}
	limit, fe := pageLimit(c, 100, 500)
	if fe != nil {
		return invalidFields(*fe)
	}
	ds, err := s.cfg.Store.Deliveries(c.Request().Context(), c.Param("id"), limit)
	if err != nil {
		return err
	}
	if ds == nil {
		ds = []store.WebhookDelivery{}
	}
	return c.JSON(http.StatusOK, map[string]any{"items": ds})
}
