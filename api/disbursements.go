package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"reallabor/internal/paymentfile"
	"reallabor/internal/store"
	"reallabor/models"
	"reallabor/workflows"
)

// Disbursement is one tranche as finance sees it.
type Disbursement struct {
	ID            string     `json:"id"`
	ApplicationID string     `json:"application_id"`
	ProgrammeID   string     `json:"programme_id"`
	Number        int        `json:"number"`
	Trigger       string     `json:"trigger"`
	AmountCents   int64      `json:"amount_cents"`
	Currency      string     `json:"currency"`
	Status        string     `json:"status"`
	DueAt         *time.Time `json:"due_at,omitempty"`
	ApprovedBy    string     `json:"approved_by,omitempty"`
	ApprovedAt    *time.Time `json:"approved_at,omitempty"`
	PaidBy        string     `json:"paid_by,omitempty"`
	PaidAt        *time.Time `json:"paid_at,omitempty"`
	BankReference string     `json:"bank_reference,omitempty"`
	// ExportBatch is the payment file that carries it (status exported, or
	// paid from that file).
	ExportBatch string `json:"export_batch,omitempty"`
}

func toDisbursement(t models.TrancheRecord) Disbursement {
	utc := func(p *time.Time) *time.Time {
		if p == nil {
			return nil
		}
		v := p.UTC()
		return &v
	}
	return Disbursement{ID: t.ID, ApplicationID: t.ApplicationID, ProgrammeID: t.ProgrammeID, Number: t.Number,
		Trigger: string(t.TriggerKind), AmountCents: t.AmountCents, Currency: t.Currency, Status: string(t.Status),
		DueAt: utc(t.DueAt), ApprovedBy: t.ApprovedBy, ApprovedAt: utc(t.ApprovedAt), PaidBy: t.PaidBy,
		PaidAt: utc(t.PaidAt), BankReference: t.BankReference, ExportBatch: t.ExportBatch}
}

// DisbursementActionResponse answers a finance action: the disbursement as
// it now stands and its application.
type DisbursementActionResponse struct {
	Disbursement Disbursement        `json:"disbursement"`
	Application  ApplicationResponse `json:"application"`
}

// fromTranche is the disbursement view of a tranche of the workflow state.
func fromTranche(applicationID, programmeID string, t models.Tranche) Disbursement {
	return toDisbursement(models.TrancheRecord{ID: t.ID, ApplicationID: applicationID, ProgrammeID: programmeID,
		Number: t.Number, TriggerKind: t.Trigger, AmountCents: t.AmountCents, Currency: t.Currency, Status: t.Status,
		DueAt: t.DueAt, ApprovedBy: t.ApprovedBy, ApprovedAt: t.ApprovedAt, PaidBy: t.PaidBy, PaidAt: t.PaidAt,
		BankReference: t.BankReference, ExportBatch: t.ExportBatch})
}

var disbursementStatuses = map[string]bool{"scheduled": true, "due": true, "approved": true, "exported": true, "paid": true, "failed": true, "cancelled": true}

func (s *Server) listDisbursements(c echo.Context) error {
	f := store.TrancheFilter{Status: c.QueryParam("status"), ProgrammeID: c.QueryParam("programme_id"),
		ApplicationID: c.QueryParam("application_id")}
	if f.Status != "" && !disbursementStatuses[f.Status] {
		return invalidFields(models.FieldError{Field: "status", Message: "must be one of scheduled, due, approved, exported, paid, failed, cancelled"})
	}
	var fields []models.FieldError
	for _, q := range []struct {
		name string
		dst  **time.Time
	}{{"due_from", &f.DueFrom}, {"due_to", &f.DueTo}} {
		if v := c.QueryParam(q.name); v != "" {
			d, fe := parseDate(q.name, v)
			if fe != nil {
				fields = append(fields, *fe)
				continue
			}
			*q.dst = &d
		}
	}
	limit, fe := pageLimit(c, 100, 500)
	if fe != nil {
		fields = append(fields, *fe)
	}
	if len(fields) > 0 {
		return invalidFields(fields...)
	}
	f.After = c.QueryParam("cursor")
	f.Limit = limit + 1
	rows, err := s.cfg.Store.Tranches(c.Request().Context(), f)
	if err != nil {
		return err
	}
	next := ""
	if len(rows) > limit {
		rows = rows[:limit]
		next = rows[len(rows)-1].ID
	}
	items := make([]Disbursement, len(rows))
	for i, r := range rows {
		items[i] = toDisbursement(r)
	}
	// The totals are of everything the filter matches, not of the page.
	f.After, f.Limit = "", 0
	sums, err := s.cfg.Store.TrancheTotals(c.Request().Context(), f)
	if err != nil {
		return err
	}
	totals := map[string]int64{}
	var total, count int64
	for _, t := range sums {
		totals[t.Status] += t.AmountCents
		total += t.AmountCents
		count += t.Count
	}
	return c.JSON(http.StatusOK, map[string]any{"items": items, "next_cursor": next, "count": count, "total_cents": total,
		"totals_by_status_cents": totals})
}

type approvalRequest struct {
	Comment string `json:"comment" validate:"max=2000" text:"multiline"`
}

type paymentRequest struct {
	BankReference string `json:"bank_reference" validate:"required,max=140"`
}

type failureRequest struct {
	Reason string `json:"reason" validate:"required,max=2000" text:"multiline"`
}

// disbursementAction sends a finance action to the tranche's application.
func (s *Server) disbursementAction(c echo.Context, name string, req any, in workflows.DisbursementInput) error {
	t, err := s.cfg.Store.Tranche(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	in.Actor = userOf(c).Actor()
	in.TrancheID = t.ID
	rec, err := s.cfg.Store.Application(c.Request().Context(), t.ApplicationID, store.Scope{})
	if err != nil {
		return err
	}
	st, err := s.act(c, rec, name, req, in)
	if err != nil {
		return err
	}
	for _, tr := range st.Tranches {
		if tr.ID == t.ID {
			return c.JSON(http.StatusOK, DisbursementActionResponse{
				Disbursement: fromTranche(st.ID, st.ProgrammeID, tr), Application: toApplicationResponse(st)})
		}
	}
	return fmt.Errorf("tranche %s missing from application %s", t.ID, t.ApplicationID)
}

func (s *Server) approveDisbursement(c echo.Context) error {
	var req approvalRequest
	if err := bind(c, &req, false); err != nil {
		return err
	}
	return s.disbursementAction(c, workflows.UpdateApproveDisbursement, req, workflows.DisbursementInput{Reason: req.Comment})
}

func (s *Server) confirmPayment(c echo.Context) error {
	var req paymentRequest
	if err := bind(c, &req, true); err != nil {
		return err
	}
	return s.disbursementAction(c, workflows.UpdateConfirmPayment, req, workflows.DisbursementInput{BankReference: req.BankReference})
}

func (s *Server) recordFailure(c echo.Context) error {
	var req failureRequest
	if err := bind(c, &req, true); err != nil {
		return err
	}
	return s.disbursementAction(c, workflows.UpdateRecordFailure, req, workflows.DisbursementInput{Reason: req.Reason})
}

// exportDisbursements writes approved, unpaid disbursements as a SEPA
// credit-transfer file (pain.001.001.09) or CSV, one programme (the debtor
// account) per file. Each export is a batch: the disbursements it carries are
// recorded, so the next export cannot carry (and the bank cannot pay) them
// again; ?batch=<id> downloads an earlier batch again, with the same message id.
func (s *Server) exportDisbursements(c echo.Context) error {
	format := c.QueryParam("format")
	if format == "" {
		format = "sepa"
	}
	if format != "sepa" && format != "csv" {
		return invalidFields(models.FieldError{Field: "format", Message: "must be sepa or csv"})
	}
	ctx := c.Request().Context()
	batchID := c.QueryParam("batch")
	var rows []models.TrancheRecord
	var err error
	fresh := batchID == ""
	resumed := false
	if fresh {
		// A file made but never handed out (the request that made it died)
		// is completed first: its tranches are exported already.
		unlisted, orphans, err := s.cfg.Store.UnlistedExport(ctx, c.QueryParam("programme_id"))
		if err != nil {
			return err
		}
		if unlisted != "" && !approvedAny(orphans, userOf(c).ID) {
			batchID, rows, resumed = unlisted, orphans, true
		}
	}
	if fresh && !resumed {
		if rows, err = s.cfg.Store.ExportCandidates(ctx, c.QueryParam("programme_id"), userOf(c).ID); err != nil {
			return err
		}
		for _, r := range rows[min(1, len(rows)):] {
			if r.ProgrammeID != rows[0].ProgrammeID {
				return invalidFields(models.FieldError{Field: "programme_id", Message: "approved disbursements span several programmes: name one"})
			}
		}
		id, _ := uuid.NewV7()
		batchID = "RL" + shortID(id.String())
	} else if rows, err = s.cfg.Store.ExportBatch(ctx, batchID); err != nil {
		return err
	}
	if len(rows) == 0 {
		if fresh {
			return problem(http.StatusNotFound, "no approved disbursements that have not been exported yet "+
				"(four eyes: those you approved are exported by another finance user)")
		}
		return problem(http.StatusNotFound, "no such export batch")
	}
	prog, err := s.cfg.Store.Programme(ctx, rows[0].ProgrammeID)
	if err != nil {
		return err
	}
	if format == "sepa" && prog.DebtorIBAN == "" {
		return problem(http.StatusConflict, "the programme has no debtor IBAN: set one to export a SEPA file")
	}
	now := s.cfg.Now().UTC()
	// Build and check the file before anything is marked: a file that
	// cannot be made leaves the disbursements exportable.
	file, contentType, ext, err := s.paymentFile(ctx, format, prog, batchID, now, rows)
	if err != nil {
		return err
	}
	if resumed {
		ids := make([]string, len(rows))
		for i, r := range rows {
			ids[i] = r.ID
		}
		if err := s.cfg.Store.ClaimForExport(ctx, ids, batchID, userOf(c).ID, now); err != nil {
			return err
		}
		c.Response().Header().Set("Export-Resumed", "true")
	} else if fresh {
		// Exported is a workflow state: each tranche's workflow marks it
		// (approved, not by this user, not in another file) before the file
		// is handed out; a tranche another action took meanwhile is left out.
		var ids []string
		var marked []models.TrancheRecord
		for _, r := range rows {
			if err := s.markExported(c, r, batchID); err != nil {
				if p := s.toProblem(err); p.Status == http.StatusConflict || p.Status == http.StatusForbidden || p.Status == http.StatusNotFound {
					s.log.Info("tranche left out of the payment file", "tranche", r.ID, "batch", batchID, "reason", p.Detail)
					continue
				}
				return err
			}
			ids = append(ids, r.ID)
			marked = append(marked, r)
		}
		if len(marked) == 0 {
			return problem(http.StatusConflict, "other actions took these disbursements meanwhile: export again")
		}
		if len(marked) < len(rows) {
			if file, contentType, ext, err = s.paymentFile(ctx, format, prog, batchID, now, marked); err != nil {
				return err
			}
		}
		err := s.cfg.Store.ClaimForExport(ctx, ids, batchID, userOf(c).ID, now)
		if errors.Is(err, store.ErrExportRace) {
			return problem(http.StatusConflict, "another export or payment took one of these disbursements meanwhile: export again")
		}
		if err != nil {
			return err
		}
	}
	c.Response().Header().Set("Export-Batch", batchID)
	c.Response().Header().Set(echo.HeaderContentDisposition, `attachment; filename="`+batchID+`.`+ext+`"`)
	return c.Blob(http.StatusOK, contentType, file)
}

// approvedAny says whether user approved one of the tranches (four eyes:
// then another finance user hands out their file).
func approvedAny(rows []models.TrancheRecord, user string) bool {
	for _, r := range rows {
		if r.ApprovedBy == user {
			return true
		}
	}
	return false
}

// markExported has the tranche's workflow mark it as carried by the payment
// file batchID (an update keyed by batch and tranche: a retried export marks
// it once).
func (s *Server) markExported(c echo.Context, r models.TrancheRecord, batchID string) error {
	ctx, cancel := s.callCtx(c)
	defer cancel()
	app, err := s.cfg.Store.Application(ctx, r.ApplicationID, store.Scope{})
	if err != nil {
		return err
	}
	in, err := s.seal(r.ApplicationID, workflows.UpdateMarkExported,
		workflows.DisbursementInput{Actor: userOf(c).Actor(), TrancheID: r.ID, BatchID: batchID, WrittenSeq: app.Seq})
	if err != nil {
		return err
	}
	uid := "export:" + batchID + ":" + r.ID
	h, err := s.cfg.Temporal.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID: workflows.WorkflowID(r.ApplicationID), UpdateID: uid,
		UpdateName: workflows.UpdateMarkExported, WaitForStage: client.WorkflowUpdateStageCompleted,
		Args: []any{in},
	})
	var res workflows.ActionResult
	if err == nil {
		err = h.Get(ctx, &res)
	}
	if err != nil || res.Write == nil {
		return err
	}
	// Written before the file is handed out, as the workflow's own write was.
	if _, err := s.apply(context.WithoutCancel(ctx), *res.Write); err != nil {
		if errors.Is(err, models.ErrData) || errors.Is(err, models.ErrInvalid) {
			_ = s.revertRefused(context.WithoutCancel(ctx), c, r.ApplicationID, uid, res.Write.State.Seq, err)
		}
		return err
	}
	return nil
}

// paymentFile builds and checks the payment file of rows.
func (s *Server) paymentFile(ctx context.Context, format string, prog models.Programme, batchID string, now time.Time,
	rows []models.TrancheRecord) (file []byte, contentType, ext string, err error) {
	batch := paymentfile.Batch{
		MessageID: batchID, CreatedAt: now, ExecutionDate: now,
		Debtor: paymentfile.Debtor{Name: prog.DebtorName, IBAN: prog.DebtorIBAN, BIC: prog.DebtorBIC},
	}
	for _, r := range rows {
		app, err := s.cfg.Store.Application(ctx, r.ApplicationID, store.Scope{})
		if err != nil {
			return nil, "", "", err
		}
		batch.Payments = append(batch.Payments, paymentfile.Payment{
			DisbursementID: endToEndID(r), ApplicationID: r.ApplicationID, ProgrammeID: r.ProgrammeID, Tranche: r.Number,
			PayeeName: app.PayeeName, PayeeIBAN: app.PayeeIBAN, PayeeBIC: app.PayeeBIC, AmountCents: r.AmountCents,
			Currency: r.Currency, Reference: fmt.Sprintf("%s tranche %d %s", prog.Name, r.Number, app.Title),
		})
	}
	contentType, ext = "application/xml", "xml"
	if format == "csv" {
		file, err = paymentfile.CSV(batch)
		contentType, ext = "text/csv; charset=utf-8", "csv"
	} else {
		file, err = paymentfile.SEPA(batch)
	}
	if errors.Is(err, paymentfile.ErrInvalidBatch) {
		return nil, "", "", problem(http.StatusUnprocessableEntity, err.Error())
	}
	return file, contentType, ext, err
}

// endToEndID is the SEPA end-to-end id of a tranche (at most 35
// characters): the application id without dashes and the tranche number. The
// bank reports it back, and it maps back to the tranche one to one.
func endToEndID(t models.TrancheRecord) string {
	return fmt.Sprintf("%s-%d", shortID(t.ApplicationID), t.Number)
}

func shortID(s string) string {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] != '-' {
			out = append(out, s[i])
		}
	}
	if len(out) > 32 {
		out = out[:32]
	}
	return string(out)
}

type repaymentRequest struct {
	AmountCents   int64  `json:"amount_cents" validate:"required,gt=0,max=100000000000"`
	BankReference string `json:"bank_reference" validate:"required,max=140"`
	// ReceivedOn is the payment's value date (YYYY-MM-DD, default today):
	// interest runs up to it.
	ReceivedOn string `json:"received_on" validate:"omitempty,max=10"`
}

// RepaymentResponse is where a repayment demand stands.
type RepaymentResponse struct {
	ApplicationID  string `json:"application_id"`
	RepaymentCents int64  `json:"repayment_cents"`
	RepaidCents    int64  `json:"repaid_cents"`
	// OutstandingCents is what is owed today, interest included.
	OutstandingCents int64 `json:"outstanding_cents"`
	// InterestOwedCents is the interest in it (demands of workflow version
	// "repayment-demands"; earlier ones charge none).
	InterestOwedCents int64                   `json:"interest_owed_cents"`
	Currency          string                  `json:"currency"`
	Demand            *models.RepaymentDemand `json:"repayment_demand,omitempty"`
	Status            models.Status           `json:"status"`
}

// recordRepayment books money a group paid back on a repayment demand; the
// fund can commit it again (waitlisted applications are promoted). The bank
// reference keys it: the same receipt recorded twice counts once. A demand
// the workflow keeps is booked through it (interest first, then principal;
// the application closes when nothing is owed); one from before is booked
// in the ledger alone.
func (s *Server) recordRepayment(c echo.Context) error {
	var req repaymentRequest
	if err := bind(c, &req, true); err != nil {
		return err
	}
	today := s.cfg.Now().UTC().Truncate(24 * time.Hour)
	received := today
	if req.ReceivedOn != "" {
		d, err := time.Parse(time.DateOnly, req.ReceivedOn)
		if err != nil {
			return invalidFields(models.FieldError{Field: "received_on", Message: "must be a date (YYYY-MM-DD)"})
		}
		if d.After(today) {
			return invalidFields(models.FieldError{Field: "received_on", Message: "must not be in the future"})
		}
		received = d
	}
	ctx := c.Request().Context()
	rec, err := s.cfg.Store.Application(ctx, c.Param("id"), store.Scope{})
	if err != nil {
		return err
	}
	st, err := projectedState(rec)
	if err != nil {
		return err
	}
	if st.Demand != nil {
		ref := strings.TrimSpace(req.BankReference)
		st, err := s.act(c, rec, workflows.UpdateRecordRepayment, req, workflows.RepaymentActionInput{
			Actor: userOf(c).Actor(), BankReference: ref, AmountCents: req.AmountCents, ReceivedOn: received,
			DateGiven: req.ReceivedOn != ""})
		if err != nil {
			return respond(c, http.StatusCreated, st, err)
		}
		d := st.Demand
		principal, interest := d.OwedOn(today)
		return c.JSON(http.StatusCreated, RepaymentResponse{ApplicationID: st.ID, RepaymentCents: d.PrincipalCents,
			RepaidCents: d.PrincipalPaidCents, OutstandingCents: principal + interest, InterestOwedCents: interest,
			Currency: "EUR", Demand: d, Status: st.Status})
	}
	_, app, promoted, err := s.cfg.Store.RecordRepayment(ctx, models.RepaymentInput{ApplicationID: c.Param("id"),
		BankReference: strings.TrimSpace(req.BankReference), AmountCents: req.AmountCents, At: s.cfg.Now().UTC()})
	if errors.Is(err, models.ErrInvalid) {
		return invalidFields(models.FieldError{Field: "amount_cents", Message: "exceeds what is outstanding"})
	}
	if err != nil {
		return err
	}
	s.tellPromoted(ctx, promoted)
	return c.JSON(http.StatusCreated, RepaymentResponse{ApplicationID: app.ID, RepaymentCents: app.RepaymentCents,
		RepaidCents: app.RepaidCents, OutstandingCents: app.RepaymentCents - app.RepaidCents, Currency: "EUR", Status: app.Status})
}

// listExports lists the payment files made, newest first, so a file whose
// download was lost can be fetched again with ?batch=.
func (s *Server) listExports(c echo.Context) error {
	items, err := s.cfg.Store.ExportBatches(c.Request().Context(), c.QueryParam("programme_id"))
	if err != nil {
		return err
	}
	if items == nil {
		items = []store.ExportSummary{}
	}
	for i := range items {
		items[i].CreatedAt = items[i].CreatedAt.UTC()
	}
	return c.JSON(http.StatusOK, map[string]any{"items": items})
}

// pageLimit is the limit query parameter (def if absent; 1..max).
func pageLimit(c echo.Context, def, max int) (int, *models.FieldError) {
	l := c.QueryParam("limit")
	if l == "" {
		return def, nil
	}
	n, err := strconv.Atoi(l)
	if err != nil || n < 1 || n > max {
		return 0, &models.FieldError{Field: "limit", Message: fmt.Sprintf("must be between 1 and %d", max)}
	}
	return n, nil
}

// tellPromoted signals applications the ledger promoted from the waitlist
// (money came back to the fund); a lost signal is healed by the waitlisted
// application's own check.
func (s *Server) tellPromoted(ctx context.Context, ids []string) {
	for _, id := range ids {
		if err := s.cfg.Temporal.SignalWorkflow(ctx, workflows.WorkflowID(id), "", workflows.SignalPromoted, models.PromotedSignal{}); err != nil {
			s.log.Warn("could not tell a promoted application", "application", id, "error", err)
		}
	}
}
