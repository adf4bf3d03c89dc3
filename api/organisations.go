package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"reallabor/internal/store"
	"reallabor/models"
	"reallabor/workflows"
)

// The organisation registry: companies, associations and public bodies as
// entities. An admin files them (name, legal form, register number); users
// belong to one by id; a group names its members by id (or by a name that
// matches exactly one entry); conflicts of interest are decided by id.

type organisationRequest struct {
	Name           string `json:"name" validate:"required,max=200"`
	LegalForm      string `json:"legal_form" validate:"max=50"`
	RegisterNumber string `json:"register_number" validate:"max=100"`
}

func (s *Server) createOrganisation(c echo.Context) error {
	var req organisationRequest
	if err := bind(c, &req, true); err != nil {
		return err
	}
	name := strings.Join(strings.Fields(req.Name), " ")
	if models.OrganisationKey(name) == "" {
		return invalidFields(models.FieldError{Field: "name", Message: "must contain letters or digits"})
	}
	id := keyedID(c, "organisation")
	if id == "" {
		id = newID()
	} else if o, err := s.cfg.Store.Organisation(c.Request().Context(), id); err == nil {
		return c.JSON(http.StatusCreated, o) // a re-driven create finds the first
	}
	o, err := s.cfg.Store.CreateOrganisation(c.Request().Context(), &models.Organisation{ID: id, Name: name,
		LegalForm: strings.TrimSpace(req.LegalForm), RegisterNumber: req.RegisterNumber, CreatedAt: s.cfg.Now().UTC()})
	if errors.Is(err, store.ErrRegistered) {
		return problem(http.StatusConflict, fmt.Sprintf("organisation %s (%q) is registered already with that name or "+
			"register number; give a register number to tell two of one name apart", o.ID, o.Name))
	}
	if err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderLocation, "/api/v1/organisations/"+o.ID)
	return c.JSON(http.StatusCreated, o)
}

func (s *Server) listOrganisations(c echo.Context) error {
	limit := 100
	if v := c.QueryParam("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 500 {
			return problem(http.StatusBadRequest, "limit must be a number from 1 to 500")
		}
		limit = n
	}
	q := c.QueryParam("q")
	if len(q) > 200 {
		return problem(http.StatusBadRequest, "q is longer than 200 characters")
	}
	out, err := s.cfg.Store.Organisations(c.Request().Context(), q, limit)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"items": out})
}

func (s *Server) getOrganisation(c echo.Context) error {
	o, err := s.cfg.Store.Organisation(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, o)
}

// organisationOf resolves a user's organisation for its creation: by id
// (must exist), or by name (one matching entry is linked, none is filed,
// several must be told apart by id).
// blank makes the entry a new name is filed as (its id and time).
func organisationOf(ctx context.Context, st *store.Store, id, name string, blank func() models.Organisation) (models.Organisation, *models.FieldError, error) {
	if id != "" {
		o, err := st.Organisation(ctx, id)
		if errors.Is(err, models.ErrNotFound) {
			return o, &models.FieldError{Field: "organisation_id", Message: "is not a registered organisation"}, nil
		}
		return o, nil, err
	}
	name = strings.Join(strings.Fields(name), " ")
	if name == "" {
		return models.Organisation{}, nil, nil
	}
	found, err := st.OrganisationsByKey(ctx, name)
	if err != nil {
		return models.Organisation{}, nil, err
	}
	switch len(found) {
	case 0:
		o := blank()
		o.Name = name
		o, err := st.CreateOrganisation(ctx, &o)
		if errors.Is(err, store.ErrRegistered) {
			return o, nil, nil // filed meanwhile by someone else
		}
		return o, nil, err
	case 1:
		return found[0], nil, nil
	}
	return models.Organisation{}, &models.FieldError{Field: "organisation",
		Message: fmt.Sprintf("matches %d registered organisations; give organisation_id", len(found))}, nil
}

// resolveGroup names every member of a proposal by its registry entry: by
// organisation_id, or by a name that matches exactly one entry. The
// submitter's own organisation must be a member; nobody is named twice.
func (s *Server) resolveGroup(ctx context.Context, p *models.Proposal, ids []string, u models.User) ([]models.FieldError, error) {
	var fields []models.FieldError
	seen := map[string]int{}
	lead := -1
	for i := range p.Group.Members {
		m := &p.Group.Members[i]
		field := fmt.Sprintf("group.members[%d]", i)
		var o models.Organisation
		if ids[i] != "" {
			var err error
			o, err = s.cfg.Store.Organisation(ctx, ids[i])
			if errors.Is(err, models.ErrNotFound) {
				fields = append(fields, models.FieldError{Field: field + ".organisation_id", Message: "is not a registered organisation"})
				continue
			} else if err != nil {
				return nil, err
			}
		} else {
			found, err := s.cfg.Store.OrganisationsByKey(ctx, m.Name)
			if err != nil {
				return nil, err
			}
			switch len(found) {
			case 0:
				fields = append(fields, models.FieldError{Field: field + ".name",
					Message: fmt.Sprintf("%q is not a registered organisation (GET /api/v1/organisations; an admin registers it)", m.Name)})
				continue
			case 1:
				o = found[0]
			default:
				fields = append(fields, models.FieldError{Field: field + ".name",
					Message: fmt.Sprintf("%q matches %d registered organisations; give organisation_id", m.Name, len(found))})
				continue
			}
		}
		if j, dup := seen[o.ID]; dup {
			fields = append(fields, models.FieldError{Field: field,
				Message: fmt.Sprintf("names %q, as group.members[%d] does", o.Name, j)})
			continue
		}
		seen[o.ID] = i
		if p.Group.Lead != "" && (models.OrganisationKey(p.Group.Lead) == o.Key || p.Group.Lead == o.ID) {
			lead = i
		}
		m.Name, m.OrganisationID = o.Name, o.ID
	}
	if len(fields) > 0 {
		return fields, nil
	}
	if _, ok := seen[u.OrganisationID]; !ok || u.OrganisationID == "" {
		fields = append(fields, models.FieldError{Field: "group.members",
			Message: fmt.Sprintf("must include your organisation %q", u.Organisation)})
	}
	switch {
	case p.Group.Lead == "":
		p.Group.Lead = p.Group.Members[0].Name
	case lead < 0:
		fields = append(fields, models.FieldError{Field: "group.lead", Message: "must name a member of the group"})
	default:
		p.Group.Lead = p.Group.Members[lead].Name
	}
	return fields, nil
}

func (s *Server) listInvitations(c echo.Context) error {
	u := userOf(c)
	all, err := boolParam(c, "all")
	if err != nil {
		return err
	}
	out := []store.Invitation{}
	if u.OrganisationID != "" {
		if out, err = s.cfg.Store.Invitations(c.Request().Context(), u.OrganisationID, all); err != nil {
			return err
		}
	}
	return c.JSON(http.StatusOK, map[string]any{"items": out})
}

func boolParam(c echo.Context, name string) (bool, error) {
	switch c.QueryParam(name) {
	case "", "false":
		return false, nil
	case "true":
		return true, nil
	}
	return false, problem(http.StatusBadRequest, name+" must be true or false")
}

type invitationRequest struct {
	Accept *bool `json:"accept" validate:"required"`
}

type invitationResponse struct {
	ApplicationID  string              `json:"application_id"`
	OrganisationID string              `json:"organisation_id"`
	Confirmation   models.Confirmation `json:"confirmation"`
}

// answerInvitation: an applicant of an invited organisation accepts (its
// organisation joins the group and sees the application) or declines.
func (s *Server) answerInvitation(c echo.Context) error {
	var req invitationRequest
	if err := bind(c, &req, true); err != nil {
		return err
	}
	u := userOf(c)
	ctx := c.Request().Context()
	rec, err := s.cfg.Store.Application(ctx, c.Param("id"), store.Scope{})
	if err != nil {
		return err
	}
	if _, named, err := s.cfg.Store.Invited(ctx, rec.ID, u.OrganisationID); err != nil {
		return err
	} else if !named || u.OrganisationID == "" {
		return problem(http.StatusNotFound, "application "+rec.ID+" not found")
	}
	st, err := s.act(c, rec, workflows.UpdateAnswerInvitation, req, workflows.InvitationInput{Actor: u.Actor(), Accept: *req.Accept})
	if errors.Is(err, errStillRunning) {
		return nil
	}
	if err != nil {
		return err
	}
	resp := invitationResponse{ApplicationID: rec.ID, OrganisationID: u.OrganisationID}
	if m, _, ok := st.Proposal.Group.Member(u.OrganisationID); ok {
		resp.Confirmation = m.Confirmation
	}
	return c.JSON(http.StatusOK, resp)
}
