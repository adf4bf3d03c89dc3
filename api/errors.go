package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/go-playground/validator/v10"
	"github.com/labstack/echo/v4"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/temporal"

	"reallabor/models"
)

// Problem is an RFC 9457 problem detail.
type Problem struct {
	Type   string              `json:"type"`
	Title  string              `json:"title"`
	Status int                 `json:"status"`
	Detail string              `json:"detail,omitempty"`
	Errors []models.FieldError `json:"errors,omitempty"`
}

func (p *Problem) Error() string { return fmt.Sprintf("%d %s: %s", p.Status, p.Title, p.Detail) }

func problem(status int, detail string, fields ...models.FieldError) *Problem {
	title := http.StatusText(status)
	if status == 499 {
		title = "Client Closed Request"
	}
	return &Problem{Type: "about:blank", Title: title, Status: status, Detail: detail, Errors: fields}
}

func invalidFields(fields ...models.FieldError) *Problem {
	return problem(http.StatusUnprocessableEntity, "the request breaks a content rule", fields...)
}

// handleError is the one place errors become responses; 5xx are logged once
// and say only "internal error".
func (s *Server) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	p := s.toProblem(err)
	if p.Status == 499 {
		s.log.Info("client closed request", "method", c.Request().Method, "path", c.Path())
	} else if p.Status >= 500 {
		if p.Status == http.StatusServiceUnavailable {
			c.Response().Header().Set("Retry-After", "5")
			s.log.Warn("dependency unavailable", "method", c.Request().Method, "path", c.Path(), "error", err)
		} else {
			s.log.Error("request failed", "method", c.Request().Method, "path", c.Path(),
				"request_id", c.Response().Header().Get(echo.HeaderXRequestID), "error", err)
			p = problem(http.StatusInternalServerError, "internal error")
		}
	}
	if p.Type == "" {
		p.Type, p.Title = "about:blank", http.StatusText(p.Status)
	}
	body, _ := json.Marshal(p)
	c.Response().Header().Set(echo.HeaderContentType, "application/problem+json")
	c.Response().WriteHeader(p.Status)
	_, _ = c.Response().Write(body)
}

func (s *Server) toProblem(err error) *Problem {
	var p *Problem
	if errors.As(err, &p) {
		return p
	}
	var he *echo.HTTPError
	if errors.As(err, &he) {
		msg := fmt.Sprint(he.Message)
		if he.Code == http.StatusRequestEntityTooLarge {
			msg = "request body too large"
		}
		return problem(he.Code, msg)
	}
	var ve validator.ValidationErrors
	if errors.As(err, &ve) {
		return invalidFields(fieldErrors(ve)...)
	}
	var mv *models.ValidationError
	if errors.As(err, &mv) {
		return invalidFields(mv.Errors...)
	}
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		switch appErr.Type() {
		case models.CodeConflict:
			return problem(http.StatusConflict, appErr.Message())
		case models.CodeForbidden:
			return problem(http.StatusForbidden, appErr.Message())
		case models.CodeNotFound:
			return problem(http.StatusNotFound, appErr.Message())
		case models.CodeInvalid:
			var fields []models.FieldError
			if appErr.HasDetails() {
				_ = appErr.Details(&fields)
			}
			return invalidFields(fields...)
		case "DataError":
			// The database refused what the action would write; the
			// workflow put its state back as it was.
			return problem(http.StatusUnprocessableEntity, "the action's content was refused by the database; nothing was changed")
		}
	}
	var nf *serviceerror.NotFound
	switch {
	case errors.As(err, &nf):
		return problem(http.StatusNotFound, "not found")
	case errors.Is(err, models.ErrNotFound):
		return problem(http.StatusNotFound, "not found")
	case errors.Is(err, models.ErrConflict):
		return problem(http.StatusConflict, err.Error())
	case errors.Is(err, models.ErrForbidden):
		return problem(http.StatusForbidden, err.Error())
	case errors.Is(err, models.ErrUnauthorized):
		return problem(http.StatusUnauthorized, "missing or unknown bearer token")
	case errors.Is(err, models.ErrInvalid):
		return problem(http.StatusUnprocessableEntity, err.Error())
	case errors.Is(err, models.ErrData):
		return problem(http.StatusUnprocessableEntity, "the content was refused by the database; nothing was changed")
	}
	var unavailable *serviceerror.Unavailable
	var deadline *serviceerror.DeadlineExceeded
	var exhausted *serviceerror.ResourceExhausted
	if errors.As(err, &exhausted) {
		return problem(http.StatusServiceUnavailable, "too many actions on this application at once; retry shortly")
	}
	var canceled *serviceerror.Canceled
	if errors.Is(err, context.Canceled) || errors.As(err, &canceled) {
		// The client went away; nobody reads the answer.
		return problem(499, "client closed request")
	}
	if errors.As(err, &unavailable) || errors.As(err, &deadline) || errors.Is(err, context.DeadlineExceeded) ||
		strings.Contains(err.Error(), "connection refused") {
		return problem(http.StatusServiceUnavailable, "the workflow engine is not reachable; retry shortly")
	}
	return &Problem{Type: "about:blank", Title: "Internal Server Error", Status: http.StatusInternalServerError, Detail: err.Error()}
}

func fieldErrors(ve validator.ValidationErrors) []models.FieldError {
	out := make([]models.FieldError, 0, len(ve))
	for _, fe := range ve {
		ns := fe.Namespace()
		if i := strings.Index(ns, "."); i >= 0 {
			ns = ns[i+1:]
		}
		out = append(out, models.FieldError{Field: jsonPath(ns), Message: validationMessage(fe)})
	}
	return out
}

// jsonPath is a field path as clients know it: embedded request parts
// (proposalDTO inside createApplicationRequest) have no JSON name of their own.
func jsonPath(path string) string {
	return embeddedDTOs.Replace(path)
}

// embeddedDTOs are the request structs embedded in others (their fields
// are the outer object's in JSON): their names leave the paths.
var embeddedDTOs = strings.NewReplacer("proposalDTO.", "", "ruleChanges.", "")

func validationMessage(fe validator.FieldError) string {
	switch fe.Tag() {
	case "required":
		return "is required"
	case "min", "gte":
		return "must be at least " + fe.Param()
	case "max", "lte":
		return "must be at most " + fe.Param()
	case "gt":
		return "must be greater than " + fe.Param()
	case "oneof":
		return "must be one of: " + fe.Param()
	case "email":
		return "must be an email address"
	case "len":
		return "must have length " + fe.Param()
	default:
		return "fails rule " + fe.Tag()
	}
}

func (s *Server) recoverer() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) (err error) {
			defer func() {
				if r := recover(); r != nil {
					s.log.Error("panic in handler", "path", c.Path(), "panic", fmt.Sprint(r), slog.String("method", c.Request().Method))
					err = problem(http.StatusInternalServerError, "internal error")
				}
			}()
			return next(c)
		}
	}
}
