package api

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"reallabor/models"
)

// A user holds several named tokens (a laptop, a script, the finance
// office's export job), each revocable on its own, with its last use and an
// optional expiry. The secret is shown once, when the token is made.

// touchEvery is how fresh a token's last use is kept: a request writes it
// at most this often, so signing in costs no write per request.
const touchEvery = time.Minute

// tokenRequest: expires_in_days 0 or left out is a token without expiry
// (at most ten years otherwise).
type tokenRequest struct {
	Name          string `json:"name" validate:"required,max=100"`
	ExpiresInDays int    `json:"expires_in_days" validate:"min=0,max=3650"`
}

type tokenResponse struct {
	ID         string     `json:"id"`
	UserID     string     `json:"user_id"`
	Name       string     `json:"name"`
	CreatedAt  time.Time  `json:"created_at"`
	ExpiresAt  *time.Time `json:"expires_at,omitempty"`
	LastUsedAt *time.Time `json:"last_used_at,omitempty"`
	RevokedAt  *time.Time `json:"revoked_at,omitempty"`
	Active     bool       `json:"active"`
	// Token is the secret, only in the answer that made it.
	Token string `json:"token,omitempty"`
}

func (s *Server) toTokenResponse(t models.Token) tokenResponse {
	return tokenResponse{ID: t.ID, UserID: t.UserID, Name: t.Name, CreatedAt: t.CreatedAt, ExpiresAt: t.ExpiresAt,
		LastUsedAt: t.LastUsedAt, RevokedAt: t.RevokedAt, Active: t.Usable(s.cfg.Now())}
}

// toucher remembers when each token's last use was written.
type toucher struct {
	mu      sync.Mutex
	written map[string]time.Time
}

// touch records the token's use, at most once per touchEvery; a failed
// write is only logged (signing in does not depend on it).
func (s *Server) touch(ctx context.Context, tok models.Token, now time.Time) {
	if tok.LastUsedAt != nil && now.Sub(*tok.LastUsedAt) < touchEvery {
		return
	}
	s.touched.mu.Lock()
	if s.touched.written == nil {
		s.touched.written = map[string]time.Time{}
	}
	last, ok := s.touched.written[tok.ID]
	if ok && now.Sub(last) < touchEvery {
		s.touched.mu.Unlock()
		return
	}
	if len(s.touched.written) > 100_000 {
		clear(s.touched.written)
	}
	s.touched.written[tok.ID] = now
	s.touched.mu.Unlock()
	if err := s.cfg.Store.TouchToken(ctx, tok.ID, now.Truncate(time.Second)); err != nil {
		s.log.Warn("record token use", "token", tok.ID, "error", err)
	}
}

// tokenOwner is the user whose tokens the route is about: the caller on
// /me/tokens, the path's user (admin) on /users/{id}/tokens.
func (s *Server) tokenOwner(c echo.Context) (models.User, error) {
	if id := c.Param("id"); id != "" {
		return s.cfg.Store.User(c.Request().Context(), id)
	}
	return userOf(c), nil
}

func (s *Server) listTokens(c echo.Context) error {
	u, err := s.tokenOwner(c)
	if err != nil {
		return err
	}
	toks, err := s.cfg.Store.Tokens(c.Request().Context(), u.ID)
	if err != nil {
		return err
	}
	out := make([]tokenResponse, len(toks))
	for i, t := range toks {
		out[i] = s.toTokenResponse(t)
	}
	return c.JSON(http.StatusOK, map[string]any{"items": out})
}

// createToken issues a new named token to the owner; its other tokens keep
// working. Under an Idempotency-Key a re-driven request gives the same token
// a fresh secret (the first answer never arrived).
func (s *Server) createToken(c echo.Context) error {
	u, err := s.tokenOwner(c)
	if err != nil {
		return err
	}
	var req tokenRequest
	if err := bind(c, &req, true); err != nil {
		return err
	}
	name := strings.TrimSpace(req.Name)
	if name == "" {
		return invalidFields(models.FieldError{Field: "name", Message: "is required"})
	}
	now := s.cfg.Now().UTC().Truncate(time.Second)
	token, hash := NewToken()
	id := keyedID(c, "token")
	if id == "" {
		id = newID()
	}
	t := models.Token{ID: id, UserID: u.ID, Name: name, Hash: hash, CreatedAt: now}
	if req.ExpiresInDays > 0 {
		exp := now.AddDate(0, 0, req.ExpiresInDays)
		t.ExpiresAt = &exp
	}
	if err := s.cfg.Store.SaveToken(c.Request().Context(), &t); err != nil {
		return err
	}
	resp := s.toTokenResponse(t)
	resp.Token = token
	c.Response().Header().Set(echo.HeaderLocation, c.Request().URL.Path+"/"+t.ID)
	return c.JSON(http.StatusCreated, resp)
}

// revokeToken voids one token of the owner (204; revoking a revoked token
// again changes nothing). A caller may revoke the token it signs in with.
func (s *Server) revokeToken(c echo.Context) error {
	u, err := s.tokenOwner(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	if _, err := s.cfg.Store.Token(ctx, u.ID, c.Param("token_id")); err != nil {
		return err
	}
	if err := s.cfg.Store.RevokeTokens(ctx, u.ID, c.Param("token_id"), s.cfg.Now()); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// rotateOwnToken replaces one of the caller's tokens by a new secret with
// the same name and lifetime left; the old secret stops working at once.
func (s *Server) rotateOwnToken(c echo.Context) error {
	ctx := c.Request().Context()
	u := userOf(c)
	old, err := s.cfg.Store.Token(ctx, u.ID, c.Param("token_id"))
	if err != nil {
		return err
	}
	if old.RevokedAt != nil {
		return problem(http.StatusConflict, "this token is revoked; make a new one")
	}
	now := s.cfg.Now().UTC().Truncate(time.Second)
	if !old.Usable(now) {
		return problem(http.StatusConflict, "this token has expired; make a new one")
	}
	token, hash := NewToken()
	id := keyedID(c, "token-rotation")
	if id == "" {
		id = newID()
	}
	t := models.Token{ID: id, UserID: u.ID, Name: old.Name, Hash: hash, CreatedAt: now, ExpiresAt: old.ExpiresAt}
	if err := s.cfg.Store.SaveToken(ctx, &t); err != nil {
		return err
	}
	if err := s.cfg.Store.RevokeTokens(ctx, u.ID, old.ID, now); err != nil {
		return err
	}
	resp := s.toTokenResponse(t)
	resp.Token = token
	return c.JSON(http.StatusOK, resp)
}

func newID() string {
	v7, err := uuid.NewV7()
	if err != nil {
		panic(errors.New("uuid: " + err.Error()))
	}
	return v7.String()
}
