package workflows

import (
	"fmt"

	"go.temporal.io/sdk/workflow"

	"reallabor/internal/authz"
	"reallabor/models"
)

// Drawdowns (Mittelabruf): in a programme that pays on request, the grant
// is one final tranche; the group requests money with its costs incurred so
// far, and each request becomes a tranche of its own, carved out of the
// final one, that finance approves and pays with four eyes like any other.
// What is paid and requested stays within the funding rate of the costs
// incurred and below the grant less the retained share, which waits for the
// settlement. The handlers run only on the new update, so runs of tranche
// programmes replay as before.

// UpdateRequestDrawdown is the group's request for money.
const UpdateRequestDrawdown = "request-drawdown"

// DrawdownInput is the group's request for money.
type DrawdownInput struct {
	Seal authz.Seal `json:"seal,omitempty"`
	// WrittenSeq is how far the projection is written, as the API read it
	// (workflow version "caller-writes").
	WrittenSeq         int64        `json:"written_seq,omitempty"`
	Actor              models.Actor `json:"actor"`
	AmountCents        int64        `json:"amount_cents"`
	CostsIncurredCents int64        `json:"costs_incurred_cents"`
}

func (in DrawdownInput) actor() models.Actor { return in.Actor }
func (in DrawdownInput) seal() authz.Seal    { return in.Seal }

// Unsealed is the input without its seal (what the seal covers).
func (in DrawdownInput) Unsealed() any { in.Seal = authz.Seal{}; return in }

// WithSeal is the input carrying s.
func (in DrawdownInput) WithSeal(s authz.Seal) any { in.Seal = s; return in }

// pool is the final tranche the drawdowns are carved out of.
func (a *application) pool() *models.Tranche {
	for i := range a.s.Tranches {
		if t := &a.s.Tranches[i]; t.Trigger == models.TriggerFinalReport && t.Status == models.TrancheScheduled {
			return t
		}
	}
	return nil
}

// drawn is what is paid or requested and not yet paid.
func (a *application) drawn() int64 {
	var n int64
	for _, t := range a.s.Tranches {
		switch t.Status {
		case models.TranchePaid, models.TrancheDue, models.TrancheApproved, models.TrancheExported:
			n += t.AmountCents
		}
	}
	return n
}

func (a *application) validateDrawdown(in DrawdownInput) error {
	if err := a.requireMember(in.Actor); err != nil {
		return err
	}
	if a.s.Rules.PaymentMode != models.PaymentModeDrawdown {
		return conflictf("the programme pays in fixed tranches, not on request")
	}
	if err := a.requireStatus(models.StatusActive); err != nil {
		return err
	}
	if a.s.Settlement != nil || a.pool() == nil {
		return conflictf("the grant is settled: the rest is paid with the settlement")
	}
	for _, t := range a.s.Tranches {
		if t.Trigger == models.TriggerDrawdown && (t.Status == models.TrancheDue || t.Status == models.TrancheApproved || t.Status == models.TrancheExported) {
			return conflictf("drawdown %d is still to be paid", t.Number)
		}
	}
	var errs []models.FieldError
	if in.AmountCents <= 0 {
		errs = append(errs, models.FieldError{Field: "amount_cents", Message: "must be positive"})
	}
	if in.CostsIncurredCents <= 0 {
		errs = append(errs, models.FieldError{Field: "costs_incurred_cents", Message: "must be positive"})
	}
	if len(errs) > 0 {
		return invalid(errs...)
	}
	r, drawn := a.s.Rules, a.drawn()
	if rate := models.CapAtRate(in.CostsIncurredCents, r.FundingRatePercent); drawn+in.AmountCents > rate {
		errs = append(errs, models.FieldError{Field: "amount_cents", Message: fmt.Sprintf(
			"with %s drawn already, exceeds %d %% of the costs incurred (%s): at most %s now",
			models.FormatEuro(drawn), r.FundingRatePercent, models.FormatEuro(rate), models.FormatEuro(max(rate-drawn, 0)))})
	}
	if limit := r.DrawdownLimit(a.s.GrantedCents); drawn+in.AmountCents > limit {
		errs = append(errs, models.FieldError{Field: "amount_cents", Message: fmt.Sprintf(
			"with %s drawn already, exceeds the grant less the %d %% retained until the settlement (%s): at most %s now",
			models.FormatEuro(drawn), r.RetainedPercent, models.FormatEuro(limit), models.FormatEuro(max(limit-drawn, 0)))})
	}
	if len(errs) > 0 {
		return invalid(errs...)
	}
	return nil
}

func (a *application) handleDrawdown(ctx workflow.Context, in DrawdownInput) error {
	pool := a.pool()
	pool.AmountCents -= in.AmountCents
	now := a.now(ctx)
	n := len(a.s.Tranches) + 1
	a.s.Tranches = append(a.s.Tranches, models.Tranche{
		ID: fmt.Sprintf("%s-%d", a.s.ID, n), Number: n, Trigger: models.TriggerDrawdown,
		Percent: int(in.AmountCents * 100 / max(a.s.GrantedCents, 1)), AmountCents: in.AmountCents,
		Currency: a.s.Rules.Currency, Status: models.TrancheDue, DueAt: at(now),
		CostsIncurredCents: in.CostsIncurredCents, RequestedBy: in.Actor.UserID,
	})
	return a.emit(ctx, "drawdown_requested", "", in.Actor, fmt.Sprintf("%s-%d: %s on costs incurred of %s",
		a.s.ID, n, models.FormatEuro(in.AmountCents), models.FormatEuro(in.CostsIncurredCents)))
}
