package api

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	updatepb "go.temporal.io/api/update/v1"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"reallabor/internal/store"
	"reallabor/models"
	"reallabor/workflows"
)

type memberDTO struct {
	// OrganisationID names the member by its registry entry; a name that
	// matches exactly one entry does too.
	OrganisationID      string `json:"organisation_id" validate:"required_without=Name,max=64"`
	Name                string `json:"name" validate:"required_without=OrganisationID,max=200"`
	PriorDeMinimisCents int64  `json:"prior_de_minimis_cents" validate:"min=0,max=100000000000"`
	ShareBasisPoints    int    `json:"share_basis_points" validate:"min=0,max=10000"`
}

type groupDTO struct {
	Name    string      `json:"name" validate:"required,max=200"`
	Lead    string      `json:"lead" validate:"max=200"`
	Members []memberDTO `json:"members" validate:"required,min=1,max=50,dive"`
}

type payeeDTO struct {
	Name string `json:"name" validate:"required,max=70"`
	IBAN string `json:"iban" validate:"required,max=42"`
	BIC  string `json:"bic" validate:"max=11"`
}

// proposalDTO is what an applicant submits or revises.
type proposalDTO struct {
	Title          string   `json:"title" validate:"required,max=200"`
	Summary        string   `json:"summary" validate:"max=10000" text:"multiline"`
	RequestedCents int64    `json:"requested_cents" validate:"required,gt=0,max=100000000000"`
	TotalCostCents int64    `json:"total_cost_cents" validate:"required,gt=0,max=1000000000000"`
	StartDate      string   `json:"start_date" validate:"required"`
	EndDate        string   `json:"end_date" validate:"required"`
	Group          groupDTO `json:"group"`
	Payee          payeeDTO `json:"payee"`
	// CostPlan is optional; when given it adds up to total_cost_cents.
	CostPlan []costLineDTO `json:"cost_plan" validate:"omitempty,max=50,dive"`
}

type costLineDTO struct {
	Category    string `json:"category" validate:"required,oneof=personnel material external_services travel other"`
	Description string `json:"description" validate:"max=500"`
	AmountCents int64  `json:"amount_cents" validate:"min=0,max=1000000000000"`
}

type costDTO struct {
	Category    string `json:"category" validate:"required,oneof=personnel material external_services travel other"`
	AmountCents int64  `json:"amount_cents" validate:"min=0,max=1000000000000"`
}

type recognisedDTO struct {
	Category    string `json:"category" validate:"required,oneof=personnel material external_services travel other"`
	AmountCents int64  `json:"amount_cents" validate:"min=0,max=1000000000000"`
	Reason      string `json:"reason" validate:"max=2000" text:"multiline"`
}

func recognisedOf(in []recognisedDTO) []models.RecognisedCost {
	var out []models.RecognisedCost
	for _, r := range in {
		out = append(out, models.RecognisedCost{Category: r.Category, AmountCents: r.AmountCents, Reason: strings.TrimSpace(r.Reason)})
	}
	return out
}

type createApplicationRequest struct {
	ProgrammeID string `json:"programme_id" validate:"required,max=64"`
	// CallID is the call applied to; required in a programme with calls.
	CallID string `json:"call_id" validate:"max=64"`
	proposalDTO
}

func parseDate(field, v string) (time.Time, *models.FieldError) {
	for _, layout := range []string{time.DateOnly, time.RFC3339} {
		if t, err := time.Parse(layout, v); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, &models.FieldError{Field: field, Message: "must be a date (YYYY-MM-DD) or RFC 3339 time"}
}

// proposal converts the DTO, checking what no workflow should ever see.
func (d proposalDTO) proposal(u models.User) (models.Proposal, []models.FieldError) {
	var fields []models.FieldError
	start, fe := parseDate("start_date", d.StartDate)
	if fe != nil {
		fields = append(fields, *fe)
	}
	end, fe := parseDate("end_date", d.EndDate)
	if fe != nil {
		fields = append(fields, *fe)
	}
	if fe == nil && !end.After(start) {
		fields = append(fields, models.FieldError{Field: "end_date", Message: "must be after start_date"})
	}
	if !models.ValidIBAN(d.Payee.IBAN) {
		fields = append(fields, models.FieldError{Field: "payee.iban", Message: "is not a valid IBAN (checksum)"})
	}
	if d.RequestedCents > d.TotalCostCents {
		fields = append(fields, models.FieldError{Field: "requested_cents", Message: "must not exceed total_cost_cents"})
	}
	var plan []models.CostLine
	for _, l := range d.CostPlan {
		plan = append(plan, models.CostLine{Category: l.Category, Description: strings.TrimSpace(l.Description), AmountCents: l.AmountCents})
	}
	if len(plan) > 0 && models.SumCosts(plan) != d.TotalCostCents {
		fields = append(fields, models.FieldError{Field: "cost_plan", Message: "adds up to " + models.FormatEuro(models.SumCosts(plan)) +
			", not total_cost_cents (" + models.FormatEuro(d.TotalCostCents) + ")"})
	}
	p := models.Proposal{
		Title: strings.TrimSpace(d.Title), Summary: d.Summary, RequestedCents: d.RequestedCents,
		TotalCostCents: d.TotalCostCents, StartDate: start, EndDate: end,
		Group: models.Group{Name: strings.TrimSpace(d.Group.Name), Lead: strings.TrimSpace(d.Group.Lead)},
		Payee: models.Payee{Name: strings.TrimSpace(d.Payee.Name), IBAN: models.NormaliseIBAN(d.Payee.IBAN),
			BIC: strings.ToUpper(strings.TrimSpace(d.Payee.BIC))},
		CostPlan: plan,
	}
	for _, m := range d.Group.Members {
		p.Group.Members = append(p.Group.Members, models.Member{Name: strings.TrimSpace(m.Name),
			PriorDeMinimisCents: m.PriorDeMinimisCents, ShareBasisPoints: m.ShareBasisPoints})
	}
	if p.Group.Lead == "" && len(p.Group.Members) > 0 {
		p.Group.Lead = p.Group.Members[0].Name
	}
	return p, fields
}

// resolved converts the DTO and names every member by its registry entry.
func (s *Server) resolved(ctx context.Context, d proposalDTO, u models.User) (models.Proposal, []models.FieldError, error) {
	p, fields := d.proposal(u)
	ids := make([]string, len(d.Group.Members))
	for i, m := range d.Group.Members {
		ids[i] = strings.TrimSpace(m.OrganisationID)
	}
	more, err := s.resolveGroup(ctx, &p, ids, u)
	if err != nil {
		return p, nil, err
	}
	return p, append(fields, more...), s.addFundAid(ctx, &p)
}

// addFundAid gives each member the de-minimis aid this fund granted it in
// the last three years (the state-aid register), which eligibility adds to
// what the group declared.
func (s *Server) addFundAid(ctx context.Context, p *models.Proposal) error {
	var ids []string
	for _, m := range p.Group.Members {
		if m.OrganisationID != "" {
			ids = append(ids, m.OrganisationID)
		}
	}
	aid, err := s.cfg.Store.FundAid(ctx, ids, s.cfg.Now())
	if err != nil {
		return err
	}
	for i := range p.Group.Members {
		p.Group.Members[i].FundAidCents = aid[p.Group.Members[i].OrganisationID]
	}
	return nil
}

func (s *Server) callCtx(c echo.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(c.Request().Context(), s.cfg.CallTimeout)
}

func (s *Server) createApplication(c echo.Context) error {
	var req createApplicationRequest
	if err := bind(c, &req, true); err != nil {
		return err
	}
	u := userOf(c)
	proposal, fields, err := s.resolved(c.Request().Context(), req.proposalDTO, u)
	if err != nil {
		return err
	}
	prog, err := s.cfg.Store.Programme(c.Request().Context(), req.ProgrammeID)
	if errors.Is(err, models.ErrNotFound) {
		fields = append(fields, models.FieldError{Field: "programme_id", Message: "no such programme"})
	} else if err != nil {
		return err
	} else if prog.Status != "open" {
		fields = append(fields, models.FieldError{Field: "programme_id", Message: "the programme is not open for applications"})
	}
	if len(fields) > 0 {
		return invalidFields(fields...)
	}
	rules, err := programmeRules(prog)
	if err != nil {
		return err
	}
	callID := strings.TrimSpace(req.CallID)
	if rules, err = s.submissionCall(c, prog, callID, rules); err != nil {
		return err
	}
	id := applicationID(c)
	if rules.MaxOpenPerApplicant <= 0 {
		return s.startApplication(c, id, prog.ID, callID, rules, proposal)
	}
	// Count and start under one lock per applicant and programme, so
	// submissions sent at once cannot all pass the count: the count sees
	// each earlier one, which is written before its start call returns.
	return s.cfg.Store.Serialise(c.Request().Context(), "quota:"+prog.ID+":"+u.ID, func() error {
		if err := s.withinQuota(c, rules, prog.ID, id); err != nil {
			return err
		}
		return s.startApplication(c, id, prog.ID, callID, rules, proposal)
	})
}

// startApplication starts the application's workflow and answers with the
// outcome of its eligibility check.
func (s *Server) startApplication(c echo.Context, id, programmeID, callID string, rules models.Rules, proposal models.Proposal) error {
	u := userOf(c)
	ctx, cancel := s.callCtx(c)
	defer cancel()
	// Start and first answer in one call (update-with-start): the workflow is
	// started (or, for a retried request, found) and answers once its
	// eligibility check is done.
	input, err := s.seal(id, "start", workflows.ApplicationInput{
		ApplicationID: id, ProgrammeID: programmeID, CallID: callID, Rules: rules, Proposal: proposal, SubmittedBy: u.Actor(),
	})
	if err != nil {
		return err
	}
	await, err := s.seal(id, workflows.UpdateAwaitSubmission, workflows.ActionInput{Actor: u.Actor()})
	if err != nil {
		return err
	}
	start := s.cfg.Temporal.NewWithStartWorkflowOperation(client.StartWorkflowOptions{
		ID:                       workflows.WorkflowID(id),
		TaskQueue:                workflows.TaskQueue,
		WorkflowIDReusePolicy:    enums.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		WorkflowIDConflictPolicy: enums.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
	}, workflows.WorkflowName, input)
	h, err := s.cfg.Temporal.UpdateWithStartWorkflow(ctx, client.UpdateWithStartWorkflowOptions{
		StartWorkflowOperation: start,
		UpdateOptions: client.UpdateWorkflowOptions{UpdateID: "submission", UpdateName: workflows.UpdateAwaitSubmission,
			Args: []any{await}, WaitForStage: client.WorkflowUpdateStageCompleted},
	})
	var res workflows.ActionResult
	if err == nil {
		err = h.Get(ctx, &res)
	}
	if err != nil {
		if s.stillRunning(c, id, "submission", err) {
			return errStillRunning
		}
		return err
	}
	c.Response().Header().Set(echo.HeaderLocation, "/api/v1/applications/"+id)
	if res.Write != nil {
		// The submission's writes, handed back as an action's are
		// ("compact-history").
		st, err := s.write(c, id, "submission", *res.Write)
		return respond(c, http.StatusCreated, st, err)
	}
	return c.JSON(http.StatusCreated, toApplicationResponse(res.State()))
}

// keyedID is "" without an Idempotency-Key, else an id derived from the
// caller, the kind of thing and the key, so a retry of a request whose first
// attempt died finds what that attempt created.
func keyedID(c echo.Context, kind string) string {
	key := c.Request().Header.Get(idempotencyHeader)
	if key == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(kind + "\x00" + userOf(c).ID + "\x00" + key))
	id, _ := uuid.FromBytes(sum[:16])
	return uuid.NewSHA1(id, nil).String()
}

// withinQuota refuses a submission over the programme's cap of open
// applications per applicant (a retry of a submission already made passes).
func (s *Server) withinQuota(c echo.Context, rules models.Rules, programmeID, id string) error {
	ctx := c.Request().Context()
	if _, err := s.cfg.Store.Application(ctx, id, store.Scope{}); err == nil {
		return nil
	}
	n, err := s.cfg.Store.OpenApplications(ctx, programmeID, userOf(c).ID)
	if err != nil {
		return err
	}
	if n >= int64(rules.MaxOpenPerApplicant) {
		return problem(http.StatusConflict, fmt.Sprintf("you have %d open applications in this programme, the most it allows", n))
	}
	return nil
}

// applicationID is a new time-ordered id, or, with an Idempotency-Key, one
// derived from it so a retried start finds the same workflow.
func applicationID(c echo.Context) string {
	if key := c.Request().Header.Get(idempotencyHeader); key != "" {
		sum := sha256.Sum256([]byte(userOf(c).ID + "\x00" + key))
		id, _ := uuid.FromBytes(sum[:16])
		return uuid.NewSHA1(id, nil).String()
	}
	id, _ := uuid.NewV7()
	return id.String()
}

// seal seals an action for the application's workflow: the workflow acts
// only on what the API authorised (internal/authz).
func (s *Server) seal(applicationID, action string, in workflows.Sealable) (any, error) {
	if s.cfg.Keys == nil {
		return nil, errors.New("the API has no signing keys (REALLABOR_SIGNING_KEYS)")
	}
	return workflows.Seal(s.cfg.Keys, applicationID, action, in, s.cfg.Now())
}

// scope is what the user may see: applicants only their group's applications.
func scope(u models.User) store.Scope {
	if u.Role == RoleApplicant {
		return store.Scope{Restricted: true, OrganisationID: u.OrganisationID}
	}
	return store.Scope{}
}

// ApplicationResponse is an application as the API shows it: the workflow's
// state, with the rules shown as for programmes.
type ApplicationResponse struct {
	models.ApplicationState
	Rules RulesView `json:"rules"`
	// RepaidCents is what the group has paid back on a repayment demand
	// (shown when the application is read).
	RepaidCents int64 `json:"repaid_cents,omitempty"`
}

func toApplicationResponse(st models.ApplicationState) ApplicationResponse {
	if st.Votes == nil {
		st.Votes = []models.Vote{}
	}
	if st.Tranches == nil {
		st.Tranches = []models.Tranche{}
	}
	if st.Reports == nil {
		st.Reports = []models.Report{}
	}
	if st.Next == nil {
		st.Next = []models.Next{}
	}
	return ApplicationResponse{ApplicationState: st, Rules: toRulesView(st.Rules)}
}

// ApplicationSummary is one row of a list.
type ApplicationSummary struct {
	ID             string        `json:"id"`
	ProgrammeID    string        `json:"programme_id"`
	Title          string        `json:"title"`
	Status         models.Status `json:"status"`
	GroupName      string        `json:"group_name"`
	Lead           string        `json:"lead_organisation"`
	RequestedCents int64         `json:"requested_cents"`
	GrantedCents   int64         `json:"granted_cents"`
	PaidCents      int64         `json:"paid_cents"`
	// RepaymentCents is what was demanded back, RepaidCents what came back
	// of it (the principal; interest is paid first).
	RepaymentCents int64     `json:"repayment_cents"`
	RepaidCents    int64     `json:"repaid_cents"`
	Currency       string    `json:"currency"`
	SubmittedAt    time.Time `json:"submitted_at"`
	UpdatedAt      time.Time `json:"updated_at"`
}

func (s *Server) listApplications(c echo.Context) error {
	u := userOf(c)
	f := store.ApplicationFilter{Status: c.QueryParam("status"), ProgrammeID: c.QueryParam("programme_id"),
		After: c.QueryParam("cursor"), Limit: 50}
	if f.Status != "" && !models.Status(f.Status).Valid() {
		return invalidFields(models.FieldError{Field: "status", Message: "unknown status"})
	}
	if l := c.QueryParam("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 200 {
			return invalidFields(models.FieldError{Field: "limit", Message: "must be between 1 and 200"})
		}
		f.Limit = n
	}
	switch c.QueryParam("owing") {
	case "", "false":
	case "true":
		f.Owing = true
	default:
		return invalidFields(models.FieldError{Field: "owing", Message: "must be true or false"})
	}
	rows, err := s.cfg.Store.Applications(c.Request().Context(), store.ApplicationFilter{
		Status: f.Status, ProgrammeID: f.ProgrammeID, Owing: f.Owing, After: f.After, Limit: f.Limit + 1}, scope(u))
	if err != nil {
		return err
	}
	next := ""
	if len(rows) > f.Limit {
		rows = rows[:f.Limit]
		next = rows[len(rows)-1].ID
	}
	items := make([]ApplicationSummary, len(rows))
	for i, r := range rows {
		items[i] = ApplicationSummary{ID: r.ID, ProgrammeID: r.ProgrammeID, Title: r.Title, Status: r.Status,
			GroupName: r.GroupName, Lead: r.LeadOrganisation, RequestedCents: r.RequestedCents, GrantedCents: r.GrantedCents,
			PaidCents: r.PaidCents, RepaymentCents: r.RepaymentCents, RepaidCents: r.RepaidCents, Currency: "EUR",
			SubmittedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC()}
	}
	return c.JSON(http.StatusOK, map[string]any{"items": items, "next_cursor": next})
}

// derivedID names what an update creates (a report, an amendment) from the
// update's id, so a retried request names the same thing and the workflow
// answers it once.
func derivedID(prefix string, c echo.Context, update string, rec models.ApplicationRecord, req any) string {
	sum := sha256.Sum256([]byte(updateID(c, update, rec.Seq, rec.WriteEpoch, req)))
	return prefix + hex.EncodeToString(sum[:10])
}

// projectedState is the workflow state the projection row holds (what the
// workflow last committed).
func projectedState(rec models.ApplicationRecord) (models.ApplicationState, error) {
	var st models.ApplicationState
	if err := json.Unmarshal([]byte(rec.State), &st); err != nil {
		return st, fmt.Errorf("decode projected state of %s: %w", rec.ID, err)
	}
	return st, nil
}

// visible loads the application row if the user may see it (404 otherwise).
func (s *Server) visible(c echo.Context) (models.ApplicationRecord, error) {
	return s.cfg.Store.Application(c.Request().Context(), c.Param("id"), scope(userOf(c)))
}

// getApplication answers from the projection: it holds the state the
// workflow last committed (durable-effects writes it before an action
// answers, and the workflow's own query shows that same committed state), so
// a read costs one row and no call to Temporal.
func (s *Server) getApplication(c echo.Context) error {
	rec, err := s.visible(c)
	if err != nil {
		return err
	}
	st, err := projectedState(rec)
	if err != nil {
		return err
	}
	resp := toApplicationResponse(workflows.View(st, userOf(c).Actor()))
	resp.RepaidCents = rec.RepaidCents
	return c.JSON(http.StatusOK, resp)
}

// HistoryEntry is one line of the audit trail.
type HistoryEntry struct {
	Seq    int64     `json:"seq"`
	Kind   string    `json:"kind"`
	From   string    `json:"from,omitempty"`
	To     string    `json:"to,omitempty"`
	Actor  string    `json:"actor"`
	Role   string    `json:"actor_role,omitempty"`
	Detail string    `json:"detail,omitempty"`
	At     time.Time `json:"at"`
}

func (s *Server) getHistory(c echo.Context) error {
	rec, err := s.visible(c)
	if err != nil {
		return err
	}
	evs, err := s.cfg.Store.Events(c.Request().Context(), rec.ID)
	if err != nil {
		return err
	}
	u := userOf(c)
	out := make([]HistoryEntry, 0, len(evs))
	for _, e := range evs {
		h := HistoryEntry{Seq: e.Seq, Kind: e.Kind, From: e.FromStatus, To: e.ToStatus, Actor: e.ActorName,
			Role: e.ActorRole, Detail: e.Detail, At: e.At.UTC()}
		// Who reviewed and how is for admins; a reviewer sees its own entries
		// (the live state shows the others' votes once the round is decided).
		if (e.Kind == "review_submitted" || e.Kind == "conflict_declared") && u.Role != RoleAdmin && e.ActorID != u.ID {
			h.Actor, h.Detail = "steering board", ""
		}
		out = append(out, h)
	}
	return c.JSON(http.StatusOK, map[string]any{"items": out})
}

// updateID is deterministic: from the Idempotency-Key if given, else from the
// user, the route, the body and the application's state version (seq), so a
// retried request never acts twice, while the same request made again after
// the application has moved on (re-approving a returned payment, say) acts.
func updateID(c echo.Context, name string, seq, epoch int64, body any) string {
	u := userOf(c)
	if key := c.Request().Header.Get(idempotencyHeader); key != "" {
		return name + ":" + u.ID + ":" + key
	}
	raw, _ := json.Marshal(body)
	prefix := fmt.Sprintf("%s\x00%s\x00%d\x00", u.ID, c.Request().URL.Path, seq)
	if epoch > 0 {
		// After a refused write was put back, the same request is new.
		prefix += fmt.Sprintf("%d\x00", epoch)
	}
	sum := sha256.Sum256(append([]byte(prefix), raw...))
	return name + ":" + hex.EncodeToString(sum[:12])
}

// act sends an update to the application's workflow and returns the
// application's new state. idSource (the request DTO) keys the update id.
func (s *Server) act(c echo.Context, rec models.ApplicationRecord, name string, idSource, arg any) (models.ApplicationState, error) {
	appID := rec.ID
	ctx, cancel := s.callCtx(c)
	defer cancel()
	uid := updateID(c, name, rec.Seq, rec.WriteEpoch, idSource)
	in, ok := arg.(workflows.Written)
	if !ok {
		return models.ApplicationState{}, fmt.Errorf("update %s: %T cannot be sealed", name, arg)
	}
	// How far the projection is written, as read with the row: the
	// workflow no longer carries what is in it.
	sealed, err := s.seal(appID, name, in.WithWrittenSeq(rec.Seq))
	if err != nil {
		return models.ApplicationState{}, err
	}
	h, err := s.cfg.Temporal.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID: workflows.WorkflowID(appID), UpdateID: uid, UpdateName: name,
		Args: []any{sealed}, WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	var res workflows.ActionResult
	if err == nil {
		err = h.Get(ctx, &res)
	}
	st := res.State()
	if err == nil && res.Write != nil {
		return s.write(c, appID, uid, *res.Write)
	}
	if err != nil {
		if s.stillRunning(c, appID, uid, err) {
			return st, errStillRunning
		}
		var nf *serviceerror.NotFound
		if errors.As(err, &nf) {
			// The workflow has ended: the stage no longer allows the action.
			if rec, rerr := s.cfg.Store.Application(c.Request().Context(), appID, store.Scope{}); rerr == nil {
				return st, problem(http.StatusConflict, "application is "+string(rec.Status))
			}
		}
		return st, err
	}
	return st, nil
}

// write makes an action's writes, which the workflow handed back once the
// action was durable in its history ("caller-writes"), and answers with the
// state as the caller may see it. Written here or not, the action stands:
// a database that is away leaves it to the workflow, which writes it itself
// shortly (202 until then); a write the database refuses has the workflow
// put the action back (422), so nothing of it remains anywhere.
func (s *Server) write(c echo.Context, appID, uid string, w models.ApplyInput) (models.ApplicationState, error) {
	// Finished even if the caller has gone: the next one would do it anyway.
	ctx := context.WithoutCancel(c.Request().Context())
	out, err := s.apply(ctx, w)
	if err == nil {
		s.tellPromoted(ctx, out.Promoted)
		return workflows.View(w.State, userOf(c).Actor()), nil
	}
	if errors.Is(err, models.ErrData) || errors.Is(err, models.ErrInvalid) {
		s.log.Error("action's write refused, putting it back", "application", appID, "update", uid, "error", err)
		if rerr := s.revertRefused(ctx, c, appID, uid, w.State.Seq, err); rerr != nil {
			// The workflow's own flush meets the same refusal and puts it back.
			s.log.Error("revert of a refused write", "application", appID, "error", rerr)
		}
		return models.ApplicationState{}, problem(http.StatusUnprocessableEntity,
			"the action's content was refused by the database; nothing was changed")
	}
	if errors.Is(err, models.ErrStale) {
		return models.ApplicationState{}, problem(http.StatusConflict,
			"this action was put back after the database refused its write; send it again")
	}
	s.log.Warn("action's write failed; the workflow writes it", "application", appID, "update", uid, "error", err)
	s.accepted(c, appID)
	return models.ApplicationState{}, errStillRunning
}

// apply writes w, trying again while the database is away, for as long as
// the API waits on a call.
func (s *Server) apply(ctx context.Context, w models.ApplyInput) (models.ApplyResult, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.CallTimeout)
	defer cancel()
	write := s.cfg.Apply
	if write == nil {
		write = s.cfg.Store.Apply
	}
	wait := 100 * time.Millisecond
	for {
		out, err := write(ctx, w)
		if err == nil || errors.Is(err, models.ErrData) || errors.Is(err, models.ErrInvalid) || errors.Is(err, models.ErrStale) {
			return out, err
		}
		select {
		case <-ctx.Done():
			return out, err
		case <-time.After(wait):
		}
		wait = min(2*wait, 2*time.Second)
	}
}

// revertRefused has the workflow put back the action of seq.
func (s *Server) revertRefused(ctx context.Context, c echo.Context, appID, uid string, seq int64, cause error) error {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.CallTimeout)
	defer cancel()
	var written int64
	if rec, err := s.cfg.Store.Application(ctx, appID, store.Scope{}); err == nil {
		written = rec.Seq
	}
	in, err := s.seal(appID, workflows.UpdateRevertUnwritten, workflows.RevertInput{
		Actor: userOf(c).Actor(), Seq: seq, WrittenSeq: written, Reason: cause.Error()})
	if err != nil {
		return err
	}
	h, err := s.cfg.Temporal.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID: workflows.WorkflowID(appID), UpdateID: uid + ":revert", UpdateName: workflows.UpdateRevertUnwritten,
		Args: []any{in}, WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err == nil {
		err = h.Get(ctx, nil)
	}
	return err
}

// errStillRunning: the action was accepted (it is in the workflow's
// history and will be carried out) but not finished within the call's time,
// e.g. while the database is briefly unreachable. The response is already
// written (202).
var errStillRunning = errors.New("accepted, still running")

// stillRunning answers 202 if err is the call's timeout and the update was
// nevertheless accepted: asked again by its id, Temporal says so at once
// without running it twice. The answer says where to see the outcome; the
// same request sent again (same Idempotency-Key, or the same body) answers
// with the result once it is there.
func (s *Server) stillRunning(c echo.Context, appID, updateID string, err error) bool {
	var deadline *serviceerror.DeadlineExceeded
	if !errors.Is(err, context.DeadlineExceeded) && !errors.As(err, &deadline) {
		return false
	}
	ctx, cancel := context.WithTimeout(c.Request().Context(), 5*time.Second)
	defer cancel()
	res, perr := s.cfg.Temporal.WorkflowService().PollWorkflowExecutionUpdate(ctx, &workflowservice.PollWorkflowExecutionUpdateRequest{
		Namespace:  s.cfg.Namespace,
		UpdateRef:  &updatepb.UpdateRef{WorkflowExecution: &commonpb.WorkflowExecution{WorkflowId: workflows.WorkflowID(appID)}, UpdateId: updateID},
		WaitPolicy: &updatepb.WaitPolicy{LifecycleStage: enums.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ACCEPTED},
	})
	if perr != nil || res.GetStage() < enums.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ACCEPTED {
		return false
	}
	s.accepted(c, appID)
	return true
}

// accepted answers 202: the action stands and is still being carried out.
func (s *Server) accepted(c echo.Context, appID string) {
	loc := "/api/v1/applications/" + appID
	c.Response().Header().Set(echo.HeaderLocation, loc)
	c.Response().Header().Set("Retry-After", "2")
	_ = c.JSON(http.StatusAccepted, map[string]any{
		"status":      "accepted",
		"detail":      "the action is accepted and still being carried out; GET " + loc + " shows the outcome, or send the same request again",
		"application": loc,
	})
}

// respond answers an action with the application's new state.
func respond(c echo.Context, status int, st models.ApplicationState, err error) error {
	if errors.Is(err, errStillRunning) {
		return nil
	}
	if err != nil {
		return err
	}
	return c.JSON(status, toApplicationResponse(st))
}

type reviewRequest struct {
	Recommendation     string         `json:"recommendation" validate:"required_without=ConflictOfInterest,omitempty,oneof=approve reject revise"`
	Scores             map[string]int `json:"scores" validate:"max=20"`
	Comment            string         `json:"comment" validate:"max=10000" text:"multiline"`
	ConflictOfInterest bool           `json:"conflict_of_interest"`
}

func (s *Server) submitReview(c echo.Context) error {
	var req reviewRequest
	if err := bind(c, &req, true); err != nil {
		return err
	}
	rec, err := s.visible(c)
	if err != nil {
		return err
	}
	st, err := s.act(c, rec, workflows.UpdateSubmitReview, req, workflows.ReviewInput{
		Actor: userOf(c).Actor(), Recommendation: models.Recommendation(req.Recommendation), Scores: req.Scores,
		Comment: req.Comment, ConflictOfInterest: req.ConflictOfInterest,
	})
	return respond(c, http.StatusOK, st, err)
}

func (s *Server) submitRevision(c echo.Context) error {
	var req proposalDTO
	if err := bind(c, &req, true); err != nil {
		return err
	}
	rec, err := s.visible(c)
	if err != nil {
		return err
	}
	p, fields, err := s.resolved(c.Request().Context(), req, userOf(c))
	if err != nil {
		return err
	}
	if len(fields) > 0 {
		return invalidFields(fields...)
	}
	st, err := s.act(c, rec, workflows.UpdateSubmitRevision, req, workflows.RevisionInput{Actor: userOf(c).Actor(), Proposal: p})
	return respond(c, http.StatusOK, st, err)
}

type reasonRequest struct {
	Reason string `json:"reason" validate:"max=2000" text:"multiline"`
}

func (s *Server) simpleAction(name string, requireReason bool) echo.HandlerFunc {
	return func(c echo.Context) error {
		var req reasonRequest
		if err := bind(c, &req, requireReason); err != nil {
			return err
		}
		if requireReason && strings.TrimSpace(req.Reason) == "" {
			return invalidFields(models.FieldError{Field: "reason", Message: "is required"})
		}
		rec, err := s.visible(c)
		if err != nil {
			return err
		}
		st, err := s.act(c, rec, name, req, workflows.ActionInput{Actor: userOf(c).Actor(), Reason: strings.TrimSpace(req.Reason)})
		return respond(c, http.StatusOK, st, err)
	}
}

func (s *Server) acceptAgreement(c echo.Context) error {
	return s.simpleAction(workflows.UpdateAcceptAgreement, false)(c)
}

func (s *Server) withdraw(c echo.Context) error {
	return s.simpleAction(workflows.UpdateWithdraw, false)(c)
}

func (s *Server) cancel(c echo.Context) error { return s.simpleAction(workflows.UpdateCancel, true)(c) }

type extendRequest struct {
	Days int `json:"days" validate:"required,min=1,max=365"`
}

func (s *Server) extendReview(c echo.Context) error {
	var req extendRequest
	if err := bind(c, &req, true); err != nil {
		return err
	}
	rec, err := s.visible(c)
	if err != nil {
		return err
	}
	st, err := s.act(c, rec, workflows.UpdateExtendReview, req, workflows.ExtendInput{Actor: userOf(c).Actor(), Days: req.Days})
	return respond(c, http.StatusOK, st, err)
}

type reportRequest struct {
	Kind             string `json:"kind" validate:"required,oneof=interim final"`
	Narrative        string `json:"narrative" validate:"required,max=50000" text:"multiline"`
	ActualCostsCents *int64 `json:"actual_costs_cents" validate:"required,min=0,max=1000000000000"`
	// Costs are the actual costs by category (a final report against a cost
	// plan); they add up to actual_costs_cents.
	Costs []costDTO `json:"costs" validate:"omitempty,max=5,dive"`
}

func (s *Server) submitReport(c echo.Context) error {
	var req reportRequest
	if err := bind(c, &req, true); err != nil {
		return err
	}
	rec, err := s.visible(c)
	if err != nil {
		return err
	}
	// The report id follows from the update id: a retried request names the
	// same report and the workflow answers it once.
	reportID := derivedID("rep-", c, workflows.UpdateSubmitReport, rec, req)
	var costs []models.CostLine
	for _, l := range req.Costs {
		costs = append(costs, models.CostLine{Category: l.Category, AmountCents: l.AmountCents})
	}
	if len(costs) > 0 && models.SumCosts(costs) != *req.ActualCostsCents {
		return invalidFields(models.FieldError{Field: "costs", Message: "add up to " + models.FormatEuro(models.SumCosts(costs)) +
			", not actual_costs_cents (" + models.FormatEuro(*req.ActualCostsCents) + ")"})
	}
	st, err := s.act(c, rec, workflows.UpdateSubmitReport, req, workflows.ReportInput{Actor: userOf(c).Actor(),
		ReportID: reportID, Kind: models.ReportKind(req.Kind), Narrative: req.Narrative, ActualCostsCents: *req.ActualCostsCents,
		Costs: costs})
	if err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderLocation, "/api/v1/applications/"+rec.ID+"/reports/"+reportID)
	return c.JSON(http.StatusCreated, ReportResponse{ID: reportID, Kind: req.Kind, Status: string(models.ReportSubmitted),
		Application: toApplicationResponse(st)})
}

// ReportResponse answers a submitted report with its id and the application.
type ReportResponse struct {
	ID          string              `json:"id"`
	Kind        string              `json:"kind"`
	Status      string              `json:"status"`
	Application ApplicationResponse `json:"application"`
}

type assessmentRequest struct {
	Decision string `json:"decision" validate:"required,oneof=accept revise"`
	Comment  string `json:"comment" validate:"max=10000" text:"multiline"`
	// Recognised: of a final report's costs by category, what is
	// recognised where less than claimed, with the reason.
	Recognised []recognisedDTO `json:"recognised" validate:"omitempty,max=5,dive"`
}

func (s *Server) assessReport(c echo.Context) error {
	var req assessmentRequest
	if err := bind(c, &req, true); err != nil {
		return err
	}
	rec, err := s.visible(c)
	if err != nil {
		return err
	}
	st, err := s.act(c, rec, workflows.UpdateAssessReport, req, workflows.AssessInput{Actor: userOf(c).Actor(),
		ReportID: c.Param("report_id"), Decision: req.Decision, Comment: req.Comment, Recognised: recognisedOf(req.Recognised)})
	return respond(c, http.StatusOK, st, err)
}

// getReport answers one report of an application.
func (s *Server) getReport(c echo.Context) error {
	rec, err := s.visible(c)
	if err != nil {
		return err
	}
	st, err := projectedState(rec)
	if err != nil {
		return err
	}
	for _, r := range st.Reports {
		if r.ID == c.Param("report_id") {
			return c.JSON(http.StatusOK, r)
		}
	}
	return problem(http.StatusNotFound, "no such report")
}
