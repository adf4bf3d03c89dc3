package api

import (
	"context"
	"fmt"
	"slices"
	"time"
	"unicode/utf8"

	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"

	"reallabor/internal/store"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"reallabor/models"
)

// Role names, as the API uses them.
const (
	RoleAdmin     = models.RoleAdmin
	RoleApplicant = models.RoleApplicant
	RoleReviewer  = models.RoleReviewer
	RoleFinance   = models.RoleFinance
)

const userKey = "user"

// NewToken returns a random bearer token and the hash stored for it.
func NewToken() (token, hash string) {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	token = "rl_" + base64.RawURLEncoding.EncodeToString(b)
	return token, HashToken(token)
}

// HashToken is how tokens are stored: never in the clear.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// authenticate resolves the bearer token to a user.
func (s *Server) authenticate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		ip := c.RealIP()
		if s.limits != nil && s.limits.failedAuth.exhausted(ip) {
			return tooMany(c, ": too many failed authentications from this address")
		}
		token, ok := bearerToken(c)
		if !ok {
			s.failedAuth(ip)
			c.Response().Header().Set("WWW-Authenticate", `Bearer realm="reallabor"`)
			return problem(http.StatusUnauthorized, "missing bearer token")
		}
		u, tok, err := s.cfg.Store.UserByTokenHash(c.Request().Context(), HashToken(token))
		if errors.Is(err, models.ErrNotFound) {
			s.failedAuth(ip)
			c.Response().Header().Set("WWW-Authenticate", `Bearer realm="reallabor", error="invalid_token"`)
			return problem(http.StatusUnauthorized, "unknown bearer token")
		}
		if err != nil {
			return err
		}
		if u.DeactivatedAt != nil {
			s.failedAuth(ip)
			c.Response().Header().Set("WWW-Authenticate", `Bearer realm="reallabor", error="invalid_token"`)
			return problem(http.StatusUnauthorized, "this user is deactivated")
		}
		now := s.cfg.Now()
		if !tok.Usable(now) {
			s.failedAuth(ip)
			c.Response().Header().Set("WWW-Authenticate", `Bearer realm="reallabor", error="invalid_token"`)
			return problem(http.StatusUnauthorized, "this token expired at "+tok.ExpiresAt.UTC().Format(time.RFC3339))
		}
		s.touch(c.Request().Context(), tok, now)
		if s.limits != nil && !s.limits.perUser.allow(u.ID) {
			return tooMany(c, "")
		}
		c.Set(userKey, u)
		return next(c)
	}
}

// bearerToken is the request's bearer token; the scheme is case-insensitive
// (RFC 9110: "Bearer", "bearer") and surrounding spaces do not count.
func bearerToken(c echo.Context) (string, bool) {
	scheme, token, _ := strings.Cut(strings.TrimSpace(c.Request().Header.Get(echo.HeaderAuthorization)), " ")
	token = strings.TrimSpace(token)
	return token, strings.EqualFold(scheme, "Bearer") && token != ""
}

// failedAuth spends one of the address's failed authentications.
func (s *Server) failedAuth(ip string) {
	if s.limits != nil {
		s.limits.failedAuth.allow(ip)
	}
}

func userOf(c echo.Context) models.User {
	u, _ := c.Get(userKey).(models.User)
	return u
}

// role lets only the given roles through (403 otherwise).
func role(roles ...models.Role) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			u := userOf(c)
			for _, r := range roles {
				if u.Role == r {
					return next(c)
				}
			}
			return problem(http.StatusForbidden, "your role may not do this")
		}
	}
}

// bind decodes a JSON body: malformed JSON is 400, a wrongly typed field 422.
func bind(c echo.Context, dst any, required bool) error {
	body, err := io.ReadAll(c.Request().Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return problem(http.StatusRequestEntityTooLarge, "request body too large")
		}
		return echo.NewHTTPError(http.StatusRequestEntityTooLarge, "request body too large")
	}
	if len(strings.TrimSpace(string(body))) == 0 {
		if required {
			return problem(http.StatusBadRequest, "a JSON request body is required")
		}
		return nil
	}
	if err := json.Unmarshal(body, dst); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			field := jsonPath(te.Field)
			if field == "" {
				field = "(body)"
			}
			return invalidFields(models.FieldError{Field: field, Message: "must be a " + te.Type.String()})
		}
		var syn *json.SyntaxError
		if errors.As(err, &syn) || errors.Is(err, io.ErrUnexpectedEOF) {
			return problem(http.StatusBadRequest, "malformed JSON: "+err.Error())
		}
		return invalidFields(models.FieldError{Field: "(body)", Message: err.Error()})
	}
	if fields := checkText(dst, !utf8.Valid(body)); len(fields) > 0 {
		return invalidFields(fields...)
	}
	return c.Validate(dst)
}

type createUserRequest struct {
	Name         string `json:"name" validate:"required,max=200"`
	Role         string `json:"role" validate:"required,oneof=admin applicant reviewer finance"`
	Organisation string `json:"organisation" validate:"max=200"`
	// OrganisationID links the user to a registered organisation; a name
	// alone is linked to its one matching entry, or filed as a new one.
	OrganisationID string `json:"organisation_id" validate:"max=64"`
	// Email receives the user's notifications; Language is de (default) or en.
	Email    string `json:"email" validate:"omitempty,max=254,email"`
	Language string `json:"language" validate:"omitempty,oneof=de en"`
}

type userResponse struct {
	ID             string   `json:"id"`
	Name           string   `json:"name"`
	Role           string   `json:"role"`
	Organisation   string   `json:"organisation"`
	OrganisationID string   `json:"organisation_id,omitempty"`
	Email          string   `json:"email,omitempty"`
	Language       string   `json:"language"`
	EmailMuted     []string `json:"email_muted"`
	Active         bool     `json:"active"`
	Token          string   `json:"token,omitempty"`
}

func toUserResponse(u models.User) userResponse {
	return userResponse{ID: u.ID, Name: u.Name, Role: string(u.Role), Organisation: u.Organisation,
		OrganisationID: u.OrganisationID, Email: u.Email, Language: languageOf(u),
		EmailMuted: mutedOf(u), Active: u.DeactivatedAt == nil}
}

// setActive deactivates or reactivates a user (admin). An admin cannot
// deactivate itself, so the programme never loses its last way in by mistake.
func (s *Server) setActive(active bool) echo.HandlerFunc {
	return func(c echo.Context) error {
		ctx := c.Request().Context()
		u, err := s.cfg.Store.User(ctx, c.Param("id"))
		if err != nil {
			return err
		}
		if !active && u.ID == userOf(c).ID {
			return problem(http.StatusConflict, "you cannot deactivate yourself")
		}
		var at *time.Time
		if !active {
			now := s.cfg.Now().UTC()
			at = &now
			if u.DeactivatedAt != nil {
				at = u.DeactivatedAt // deactivating twice keeps the first time
			}
		}
		u.DeactivatedAt = at
		if err := s.cfg.Store.SaveUser(ctx, &u); err != nil {
			return err
		}
		return c.JSON(http.StatusOK, toUserResponse(u))
	}
}

// rotateToken starts a user's credentials over: every token of the user is
// revoked and one new one (shown once) is issued: an admin for any user (a
// lost or leaked token), or a user for itself.
func (s *Server) rotateToken(c echo.Context) error {
	ctx := c.Request().Context()
	id := c.Param("id")
	if id == "" {
		id = userOf(c).ID
	}
	u, err := s.cfg.Store.User(ctx, id)
	if err != nil {
		return err
	}
	token, hash := NewToken()
	if err := s.cfg.Store.ReplaceTokens(ctx, &models.Token{ID: newID(), UserID: u.ID, Name: "default", Hash: hash,
		CreatedAt: s.cfg.Now().UTC()}); err != nil {
		return err
	}
	resp := toUserResponse(u)
	resp.Token = token
	return c.JSON(http.StatusOK, resp)
}

func (s *Server) createUser(c echo.Context) error {
	var req createUserRequest
	if err := bind(c, &req, true); err != nil {
		return err
	}
	if (req.Role == "applicant" || req.Role == "reviewer") && strings.TrimSpace(req.Organisation) == "" && req.OrganisationID == "" {
		return invalidFields(models.FieldError{Field: "organisation", Message: "is required for applicants and reviewers"})
	}
	u, token, err := NewUser(c.Request().Context(), s.cfg.Store, keyedID(c, "user"), req.Name, models.Role(req.Role),
		strings.TrimSpace(req.OrganisationID), req.Organisation, s.cfg.Now())
	if err != nil {
		return err
	}
	if req.Email != "" || req.Language != "" {
		u.Email, u.Language = strings.TrimSpace(req.Email), req.Language
		if err := s.cfg.Store.SaveUser(c.Request().Context(), &u); err != nil {
			return err
		}
	}
	resp := toUserResponse(u)
	resp.Token = token
	c.Response().Header().Set(echo.HeaderLocation, "/api/v1/users/"+u.ID)
	return c.JSON(http.StatusCreated, resp)
}

// NewUser makes a user with a fresh token (shown once, stored hashed); the
// API and the CLI both create users through it. id is "" for a new id, or
// one derived from an Idempotency-Key: a request whose first attempt died
// after the user was stored then finds that user and gives it a fresh token
// (the first one never reached the caller), rather than making a second.
//
// The organisation is orgID (registered) or a name: one matching registry
// entry is linked, none is filed as a new entry.
func NewUser(ctx context.Context, st *store.Store, id, name string, r models.Role, orgID, orgName string, now time.Time) (models.User, string, error) {
	token, hash := NewToken()
	if id == "" {
		v7, _ := uuid.NewV7()
		id = v7.String()
	} else if old, err := st.User(ctx, id); err == nil {
		if err := st.ReplaceTokens(ctx, &models.Token{ID: "tok-" + old.ID, UserID: old.ID, Name: "default", Hash: hash,
			CreatedAt: now.UTC()}); err != nil {
			return old, "", err
		}
		return old, token, nil
	} else if !errors.Is(err, models.ErrNotFound) {
		return old, "", err
	}
	org, fe, err := organisationOf(ctx, st, orgID, orgName, func() models.Organisation {
		return models.Organisation{ID: newID(), CreatedAt: now.UTC()}
	})
	if err != nil {
		return models.User{}, "", err
	}
	if fe != nil {
		return models.User{}, "", invalidFields(*fe)
	}
	u := models.User{ID: id, Name: strings.TrimSpace(name), Role: r, Organisation: org.Name, OrganisationID: org.ID,
		TokenHash: hash, CreatedAt: now.UTC()}
	if err := st.CreateUser(ctx, &u); err != nil {
		return u, "", err
	}
	return u, token, nil
}

func (s *Server) listUsers(c echo.Context) error {
	limit, fe := pageLimit(c, 100, 500)
	if fe != nil {
		return invalidFields(*fe)
	}
	users, err := s.cfg.Store.Users(c.Request().Context(), c.QueryParam("cursor"), limit+1)
	if err != nil {
		return err
	}
	next := ""
	if len(users) > limit {
		users = users[:limit]
		next = users[len(users)-1].ID
	}
	out := make([]userResponse, len(users))
	for i, u := range users {
		out[i] = toUserResponse(u)
	}
	return c.JSON(http.StatusOK, map[string]any{"items": out, "next_cursor": next})
}

func (s *Server) me(c echo.Context) error {
	return c.JSON(http.StatusOK, toUserResponse(userOf(c)))
}

func (s *Server) getUser(c echo.Context) error {
	u, err := s.cfg.Store.User(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toUserResponse(u))
}

func languageOf(u models.User) string {
	if u.Language == "en" {
		return "en"
	}
	return "de"
}

// meRequest changes how the caller is reached.
type meRequest struct {
	Email    *string `json:"email" validate:"omitempty,max=254"`
	Language *string `json:"language" validate:"omitempty,oneof=de en"`
	// EmailMuted are the event kinds to send no mail for (the inbox keeps them).
	EmailMuted *[]string `json:"email_muted" validate:"omitempty,max=100,dive,max=100"`
}

func mutedOf(u models.User) []string {
	if u.EmailMuted == "" {
		return []string{}
	}
	return strings.Split(u.EmailMuted, ",")
}

// updateMe sets the caller's e-mail address ("" for none) and language.
func (s *Server) updateMe(c echo.Context) error {
	var req meRequest
	if err := bind(c, &req, true); err != nil {
		return err
	}
	u := userOf(c)
	if req.Email != nil {
		e := strings.TrimSpace(*req.Email)
		if e != "" {
			if err := c.Validate(struct {
				Email string `json:"email" validate:"email"`
			}{e}); err != nil {
				return err
			}
		}
		u.Email = e
	}
	if req.Language != nil {
		u.Language = *req.Language
	}
	if req.EmailMuted != nil {
		known := store.NotifiedKinds()
		for i, k := range *req.EmailMuted {
			if !slices.Contains(known, k) {
				return invalidFields(models.FieldError{Field: fmt.Sprintf("email_muted[%d]", i), Message: "is not a notified event kind"})
			}
		}
		u.EmailMuted = strings.Join(*req.EmailMuted, ",")
	}
	if err := s.cfg.Store.SaveUser(c.Request().Context(), &u); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toUserResponse(u))
}

// inbox lists the caller's notifications, unread first (cursor: the
// position after the page).
func (s *Server) inbox(c echo.Context) error {
	limit, fe := pageLimit(c, 50, 200)
	if fe != nil {
		return invalidFields(*fe)
	}
	offset := 0
	if cur := c.QueryParam("cursor"); cur != "" {
		n, err := strconv.Atoi(cur)
		if err != nil || n < 0 {
			return problem(http.StatusBadRequest, "cursor must be the next_cursor of a previous page")
		}
		offset = n
	}
	items, unread, err := s.cfg.Store.Inbox(c.Request().Context(), userOf(c).ID, offset, limit+1)
	if err != nil {
		return err
	}
	next := ""
	if len(items) > limit {
		items = items[:limit]
		next = strconv.Itoa(offset + limit)
	}
	if items == nil {
		items = []store.Notification{}
	}
	return c.JSON(http.StatusOK, map[string]any{"items": items, "unread": unread, "next_cursor": next})
}

func (s *Server) readNotification(c echo.Context) error {
	n, err := s.cfg.Store.MarkRead(c.Request().Context(), userOf(c).ID, c.Param("id"), s.cfg.Now())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, n)
}
