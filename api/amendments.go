package api

import (
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"reallabor/models"
	"reallabor/workflows"
)

type amendmentRequest struct {
	Reason   string        `json:"reason" validate:"required,max=2000" text:"multiline"`
	EndDate  string        `json:"end_date" validate:"max=25"`
	Payee    *payeeDTO     `json:"payee"`
	CostPlan []costLineDTO `json:"cost_plan" validate:"omitempty,max=50,dive"`
	// Members is the group as it is to be (partners joining or leaving).
	Members []memberDTO `json:"members" validate:"omitempty,max=50,dive"`
}

type amendmentDecisionRequest struct {
	Decision string `json:"decision" validate:"required,oneof=approve refuse"`
	Reason   string `json:"reason" validate:"max=2000" text:"multiline"`
}

// AmendmentResponse answers a requested amendment with its id and the
// application.
type AmendmentResponse struct {
	ID          string              `json:"id"`
	Application ApplicationResponse `json:"application"`
}

// requestAmendment applies to change the plan of a running grant: a later
// end date, another payee account, costs shifted between the plan's lines.
func (s *Server) requestAmendment(c echo.Context) error {
	var req amendmentRequest
	if err := bind(c, &req, true); err != nil {
		return err
	}
	in := workflows.AmendmentInput{Actor: userOf(c).Actor(), Reason: strings.TrimSpace(req.Reason)}
	var fields []models.FieldError
	if req.EndDate != "" {
		d, fe := parseDate("end_date", req.EndDate)
		if fe != nil {
			fields = append(fields, *fe)
		} else {
			in.EndDate = &d
		}
	}
	if req.Payee != nil {
		if !models.ValidIBAN(req.Payee.IBAN) {
			fields = append(fields, models.FieldError{Field: "payee.iban", Message: "is not a valid IBAN (checksum)"})
		}
		in.Payee = &models.Payee{Name: strings.TrimSpace(req.Payee.Name), IBAN: models.NormaliseIBAN(req.Payee.IBAN),
			BIC: strings.ToUpper(strings.TrimSpace(req.Payee.BIC))}
	}
	for _, l := range req.CostPlan {
		in.CostPlan = append(in.CostPlan, models.CostLine{Category: l.Category, Description: strings.TrimSpace(l.Description), AmountCents: l.AmountCents})
	}
	if in.EndDate == nil && in.Payee == nil && len(in.CostPlan) == 0 && len(req.Members) == 0 && len(fields) == 0 {
		fields = append(fields, models.FieldError{Field: "end_date", Message: "name at least one change: end_date, payee, cost_plan or members"})
	}
	if len(fields) > 0 {
		return invalidFields(fields...)
	}
	rec, err := s.visible(c)
	if err != nil {
		return err
	}
	if len(req.Members) > 0 {
		members, more, err := s.resolvedMembers(c, req.Members)
		if err != nil {
			return err
		}
		if len(more) > 0 {
			return invalidFields(more...)
		}
		in.Members = members
	}
	in.AmendmentID = derivedID("amd-", c, workflows.UpdateRequestAmendment, rec, req)
	st, err := s.act(c, rec, workflows.UpdateRequestAmendment, req, in)
	if err != nil {
		return respond(c, http.StatusCreated, st, err)
	}
	return c.JSON(http.StatusCreated, AmendmentResponse{ID: in.AmendmentID, Application: toApplicationResponse(st)})
}

// decideAmendment approves or refuses a pending amendment (an admin, or a
// board member of no organisation of the group and without a conflict).
func (s *Server) decideAmendment(c echo.Context) error {
	var req amendmentDecisionRequest
	if err := bind(c, &req, true); err != nil {
		return err
	}
	rec, err := s.visible(c)
	if err != nil {
		return err
	}
	st, err := s.act(c, rec, workflows.UpdateDecideAmendment, req, workflows.AmendmentDecisionInput{Actor: userOf(c).Actor(),
		AmendmentID: c.Param("amendment_id"), Approve: req.Decision == "approve", Reason: strings.TrimSpace(req.Reason)})
	return respond(c, http.StatusOK, st, err)
}

type drawdownRequest struct {
	AmountCents        int64 `json:"amount_cents" validate:"required,gt=0,max=100000000000"`
	CostsIncurredCents int64 `json:"costs_incurred_cents" validate:"required,gt=0,max=1000000000000"`
}

// requestDrawdown asks for money in a programme that pays on request: the
// request becomes a tranche finance approves and pays with four eyes.
func (s *Server) requestDrawdown(c echo.Context) error {
	var req drawdownRequest
	if err := bind(c, &req, true); err != nil {
		return err
	}
	rec, err := s.visible(c)
	if err != nil {
		return err
	}
	st, err := s.act(c, rec, workflows.UpdateRequestDrawdown, req, workflows.DrawdownInput{Actor: userOf(c).Actor(),
		AmountCents: req.AmountCents, CostsIncurredCents: req.CostsIncurredCents})
	return respond(c, http.StatusCreated, st, err)
}

// resolvedMembers names each member of a new group by its registry entry
// (as a proposal's are), with the aid this fund granted it.
func (s *Server) resolvedMembers(c echo.Context, dtos []memberDTO) ([]models.Member, []models.FieldError, error) {
	p := models.Proposal{}
	ids := make([]string, len(dtos))
	for i, m := range dtos {
		p.Group.Members = append(p.Group.Members, models.Member{Name: strings.TrimSpace(m.Name),
			PriorDeMinimisCents: m.PriorDeMinimisCents, ShareBasisPoints: m.ShareBasisPoints})
		ids[i] = strings.TrimSpace(m.OrganisationID)
	}
	ctx := c.Request().Context()
	fields, err := s.resolveGroup(ctx, &p, ids, userOf(c))
	if err != nil || len(fields) > 0 {
		for i := range fields {
			fields[i].Field = strings.Replace(fields[i].Field, "group.members", "members", 1)
		}
		return nil, fields, err
	}
	return p.Group.Members, nil, s.addFundAid(ctx, &p)
}
