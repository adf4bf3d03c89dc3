package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"reallabor/internal/store"
	"reallabor/models"
)

// createCallRequest opens a call within a programme: its dates, an
// optional budget share, and the programme rules it overrides.
type createCallRequest struct {
	Title            string      `json:"title" validate:"required,max=200"`
	OpensAt          string      `json:"opens_at" validate:"required"`
	ClosesAt         string      `json:"closes_at" validate:"required"`
	BudgetShareCents int64       `json:"budget_share_cents" validate:"min=0,max=100000000000000"`
	Rules            ruleChanges `json:"rules"`
}

// CallResponse is a call as the API shows it.
type CallResponse struct {
	store.Call
	// Open says whether the call takes applications now.
	Open  bool      `json:"open"`
	Rules RulesView `json:"rules"`
}

// callRules are the programme's rules with the call's overrides.
func callRules(p models.Programme, programme models.Rules, c store.Call) (models.Rules, error) {
	var ch ruleChanges
	if err := json.Unmarshal([]byte(c.RulesJSON), &ch); err != nil {
		return programme, fmt.Errorf("call %s rules: %w", c.ID, err)
	}
	return ch.over(programme, p), nil
}

func (s *Server) callResponse(p models.Programme, c store.Call) (CallResponse, error) {
	rules, err := programmeRules(p)
	if err != nil {
		return CallResponse{}, err
	}
	r, err := callRules(p, rules, c)
	if err != nil {
		return CallResponse{}, err
	}
	return CallResponse{Call: c, Open: c.OpenAt(s.cfg.Now()), Rules: toRulesView(r)}, nil
}

func (s *Server) createCall(c echo.Context) error {
	var req createCallRequest
	if err := bind(c, &req, true); err != nil {
		return err
	}
	ctx := c.Request().Context()
	p, err := s.cfg.Store.Programme(ctx, c.Param("id"))
	if err != nil {
		return err
	}
	opens, closes, fields, err := checkCall(p, req)
	if err != nil {
		return err
	}
	if len(fields) > 0 {
		return invalidFields(fields...)
	}
	raw, _ := json.Marshal(req.Rules)
	id := keyedID(c, "call:"+p.ID)
	if id == "" {
		v7, _ := uuid.NewV7()
		id = v7.String()
	}
	call := store.Call{ID: id, ProgrammeID: p.ID, Title: strings.TrimSpace(req.Title), OpensAt: opens, ClosesAt: closes,
		BudgetShareCents: req.BudgetShareCents, RulesJSON: string(raw), CreatedAt: s.cfg.Now().UTC()}
	if err := s.cfg.Store.CreateCall(ctx, &call); err != nil {
		return err
	}
	resp, err := s.callResponse(p, call)
	if err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderLocation, "/api/v1/programmes/"+p.ID+"/calls/"+call.ID)
	return c.JSON(http.StatusCreated, resp)
}

// checkCall checks a call's title, dates, budget share and rules (a new
// call's, or an edited one's as it would stand).
func checkCall(p models.Programme, req createCallRequest) (opens, closes time.Time, fields []models.FieldError, err error) {
	opens, fe := parseDate("opens_at", req.OpensAt)
	if fe != nil {
		fields = append(fields, *fe)
	}
	closes, fe2 := parseDate("closes_at", req.ClosesAt)
	if fe2 != nil {
		fields = append(fields, *fe2)
	}
	if fe == nil && fe2 == nil && !closes.After(opens) {
		fields = append(fields, models.FieldError{Field: "closes_at", Message: "must be after opens_at"})
	}
	if req.BudgetShareCents > p.BudgetCents {
		fields = append(fields, models.FieldError{Field: "budget_share_cents",
			Message: fmt.Sprintf("must not exceed the programme's budget of %s", models.FormatEuro(p.BudgetCents))})
	}
	progRules, err := programmeRules(p)
	if err != nil {
		return opens, closes, nil, err
	}
	for _, f := range req.Rules.over(progRules, p).Validate() {
		f.Field = "rules." + f.Field
		fields = append(fields, f)
	}
	if title := strings.TrimSpace(req.Title); title == "" {
		fields = append(fields, models.FieldError{Field: "title", Message: "must not be blank"})
	}
	return opens, closes, fields, nil
}

// editCallRequest changes a call; what it leaves out stays. Rules, if
// given, replace the call's overrides.
type editCallRequest struct {
	Title            *string      `json:"title" validate:"omitempty,max=200"`
	OpensAt          *string      `json:"opens_at" validate:"omitempty,max=25"`
	ClosesAt         *string      `json:"closes_at" validate:"omitempty,max=25"`
	BudgetShareCents *int64       `json:"budget_share_cents" validate:"omitempty,min=0,max=100000000000000"`
	Rules            *ruleChanges `json:"rules"`
}

// editCall changes a call that has not ended: applications submitted to it
// afterwards get its new rules; those submitted before keep theirs.
func (s *Server) editCall(c echo.Context) error {
	var req editCallRequest
	if err := bind(c, &req, true); err != nil {
		return err
	}
	ctx := c.Request().Context()
	p, err := s.cfg.Store.Programme(ctx, c.Param("id"))
	if err != nil {
		return err
	}
	call, err := s.cfg.Store.Call(ctx, p.ID, c.Param("call_id"))
	if err != nil {
		return err
	}
	if now := s.cfg.Now(); !now.Before(call.Closes()) {
		return problem(http.StatusConflict, "the call closed at "+call.Closes().UTC().Format(time.RFC3339)+": it can no longer be changed")
	}
	var rules ruleChanges
	if err := json.Unmarshal([]byte(call.RulesJSON), &rules); err != nil {
		return fmt.Errorf("call %s rules: %w", call.ID, err)
	}
	next := createCallRequest{Title: call.Title, OpensAt: call.OpensAt.UTC().Format(time.RFC3339),
		ClosesAt: call.ClosesAt.UTC().Format(time.RFC3339), BudgetShareCents: call.BudgetShareCents, Rules: rules}
	if req.Title != nil {
		next.Title = *req.Title
	}
	if req.OpensAt != nil {
		next.OpensAt = *req.OpensAt
	}
	if req.ClosesAt != nil {
		next.ClosesAt = *req.ClosesAt
	}
	if req.BudgetShareCents != nil {
		next.BudgetShareCents = *req.BudgetShareCents
	}
	if req.Rules != nil {
		next.Rules = *req.Rules
	}
	opens, closes, fields, err := checkCall(p, next)
	if err != nil {
		return err
	}
	if len(fields) > 0 {
		return invalidFields(fields...)
	}
	raw, _ := json.Marshal(next.Rules)
	call.Title, call.OpensAt, call.ClosesAt = strings.TrimSpace(next.Title), opens, closes
	call.BudgetShareCents, call.RulesJSON = next.BudgetShareCents, string(raw)
	if err := s.cfg.Store.SaveCall(ctx, call); err != nil {
		return err
	}
	if req.BudgetShareCents != nil {
		// A larger share (or none) may let applications of the call through.
		promoted, err := s.cfg.Store.PromoteWaiting(ctx, p.ID, s.cfg.Now())
		if err != nil {
			return err
		}
		s.tellPromoted(ctx, promoted)
	}
	resp, err := s.callResponse(p, call)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, resp)
}

func (s *Server) listCalls(c echo.Context) error {
	ctx := c.Request().Context()
	p, err := s.cfg.Store.Programme(ctx, c.Param("id"))
	if err != nil {
		return err
	}
	calls, err := s.cfg.Store.Calls(ctx, p.ID)
	if err != nil {
		return err
	}
	out := []CallResponse{}
	for _, call := range calls {
		r, err := s.callResponse(p, call)
		if err != nil {
			return err
		}
		out = append(out, r)
	}
	return c.JSON(http.StatusOK, map[string]any{"items": out})
}

// closeCall closes a call early: from now on it takes no applications.
func (s *Server) closeCall(c echo.Context) error {
	if err := bind(c, &struct{}{}, false); err != nil {
		return err
	}
	ctx := c.Request().Context()
	p, err := s.cfg.Store.Programme(ctx, c.Param("id"))
	if err != nil {
		return err
	}
	call, err := s.cfg.Store.CloseCall(ctx, p.ID, c.Param("call_id"), s.cfg.Now())
	if err != nil {
		return err
	}
	resp, err := s.callResponse(p, call)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, resp)
}

// submissionCall checks the call an application is submitted to: a
// programme with calls takes applications only through an open one; the
// rules are the programme's with the call's overrides.
func (s *Server) submissionCall(c echo.Context, p models.Programme, callID string, rules models.Rules) (models.Rules, error) {
	ctx, programmeID := c.Request().Context(), p.ID
	if callID == "" {
		has, err := s.cfg.Store.HasCalls(ctx, programmeID)
		if err != nil || !has {
			return rules, err
		}
		return rules, invalidFields(models.FieldError{Field: "call_id", Message: "the programme takes applications through its calls: name one"})
	}
	call, err := s.cfg.Store.Call(ctx, programmeID, callID)
	if errors.Is(err, models.ErrNotFound) {
		return rules, invalidFields(models.FieldError{Field: "call_id", Message: "no such call in this programme"})
	} else if err != nil {
		return rules, err
	}
	now := s.cfg.Now()
	switch {
	case now.Before(call.OpensAt):
		return rules, problem(http.StatusConflict, fmt.Sprintf("the call %q opens at %s and closes at %s",
			call.Title, call.OpensAt.UTC().Format(time.RFC3339), call.Closes().UTC().Format(time.RFC3339)))
	case !now.Before(call.Closes()):
		return rules, problem(http.StatusConflict, fmt.Sprintf("the call %q closed at %s (it opened at %s)",
			call.Title, call.Closes().UTC().Format(time.RFC3339), call.OpensAt.UTC().Format(time.RFC3339)))
	}
	return callRules(p, rules, call)
}
