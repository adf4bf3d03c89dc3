package workflows

import (
	"fmt"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"reallabor/internal/authz"
	"reallabor/models"
)

// The inputs of the updates: one struct each, every one carrying the actor.

// ReviewInput is a steering-board member's vote, or a declared conflict.
type ReviewInput struct {
	Seal authz.Seal `json:"seal,omitempty"`
	// WrittenSeq is how far the projection is written, as the API read it
	// (workflow version "caller-writes").
	WrittenSeq         int64                 `json:"written_seq,omitempty"`
	Actor              models.Actor          `json:"actor"`
	Recommendation     models.Recommendation `json:"recommendation"`
	Scores             map[string]int        `json:"scores"`
	Comment            string                `json:"comment"`
	ConflictOfInterest bool                  `json:"conflict_of_interest"`
}

// RevisionInput is the applicant's revised proposal.
type RevisionInput struct {
	Seal authz.Seal `json:"seal,omitempty"`
	// WrittenSeq is how far the projection is written, as the API read it
	// (workflow version "caller-writes").
	WrittenSeq int64           `json:"written_seq,omitempty"`
	Actor      models.Actor    `json:"actor"`
	Proposal   models.Proposal `json:"proposal"`
}

// ActionInput is an action with an optional reason (accept, withdraw, cancel).
type ActionInput struct {
	Seal authz.Seal `json:"seal,omitempty"`
	// WrittenSeq is how far the projection is written, as the API read it
	// (workflow version "caller-writes").
	WrittenSeq int64        `json:"written_seq,omitempty"`
	Actor      models.Actor `json:"actor"`
	Reason     string       `json:"reason"`
}

// ExtendInput extends the review deadline after an escalation.
type ExtendInput struct {
	Seal authz.Seal `json:"seal,omitempty"`
	// WrittenSeq is how far the projection is written, as the API read it
	// (workflow version "caller-writes").
	WrittenSeq int64        `json:"written_seq,omitempty"`
	Actor      models.Actor `json:"actor"`
	Days       int          `json:"days"`
}

// DisbursementInput acts on one tranche.
type DisbursementInput struct {
	Seal authz.Seal `json:"seal,omitempty"`
	// WrittenSeq is how far the projection is written, as the API read it
	// (workflow version "caller-writes").
	WrittenSeq    int64        `json:"written_seq,omitempty"`
	Actor         models.Actor `json:"actor"`
	TrancheID     string       `json:"tranche_id"`
	BankReference string       `json:"bank_reference"`
	Reason        string       `json:"reason"`
	// BatchID names the payment file (mark-exported).
	BatchID string `json:"batch_id,omitempty"`
}

// ReportInput is an interim or final report.
type ReportInput struct {
	Seal authz.Seal `json:"seal,omitempty"`
	// WrittenSeq is how far the projection is written, as the API read it
	// (workflow version "caller-writes").
	WrittenSeq       int64             `json:"written_seq,omitempty"`
	Actor            models.Actor      `json:"actor"`
	ReportID         string            `json:"report_id"`
	Kind             models.ReportKind `json:"kind"`
	Narrative        string            `json:"narrative"`
	ActualCostsCents int64             `json:"actual_costs_cents"`
	// Costs are the actual costs by category (optional; they add up to
	// ActualCostsCents).
	Costs []models.CostLine `json:"costs,omitempty"`
}

// AssessInput is the assessment of a report.
type AssessInput struct {
	Seal authz.Seal `json:"seal,omitempty"`
	// WrittenSeq is how far the projection is written, as the API read it
	// (workflow version "caller-writes").
	WrittenSeq int64        `json:"written_seq,omitempty"`
	Actor      models.Actor `json:"actor"`
	ReportID   string       `json:"report_id"`
	Decision   string       `json:"decision"` // accept | revise
	Comment    string       `json:"comment"`
	// Recognised is what of a final report's costs by category the
	// assessment recognises, where less than claimed (with the reason).
	Recognised []models.RecognisedCost `json:"recognised,omitempty"`
}

func (in ReviewInput) actor() models.Actor       { return in.Actor }
func (in RevisionInput) actor() models.Actor     { return in.Actor }
func (in ActionInput) actor() models.Actor       { return in.Actor }
func (in ExtendInput) actor() models.Actor       { return in.Actor }
func (in DisbursementInput) actor() models.Actor { return in.Actor }
func (in ReportInput) actor() models.Actor       { return in.Actor }
func (in AssessInput) actor() models.Actor       { return in.Actor }

type actorInput interface {
	actor() models.Actor
	Written
}

// register installs an update whose validator rejects, before anything is
// written to history, what the stage, the role or the person cannot do; the
// handler re-checks under the lock (another action may have come first),
// changes the state and answers with the new state as the actor may see it.
func register[T actorInput](ctx workflow.Context, a *application, name string,
	validate func(T) error, handle func(workflow.Context, T) error) error {
	return workflow.SetUpdateHandlerWithOptions(ctx, name,
		func(ctx workflow.Context, in T) (ActionResult, error) {
			if err := a.lock(ctx); err != nil {
				return ActionResult{}, err
			}
			defer a.mu.Unlock()
			if a.direct {
				a.confirm(in.writtenSeq())
				if !a.unwritten.empty() {
					// An earlier action's write is not known to be made (its
					// caller died, or acts alongside): made first, so what
					// this action hands back, or puts back, is its own.
					if err := a.flush(ctx); err != nil {
						if refused(err) {
							a.revert(ctx, err)
						}
						return ActionResult{}, err
					}
				}
			}
			if err := validate(in); err != nil {
				return ActionResult{}, err
			}
			err := handle(ctx, in)
			if err == nil && !a.direct {
				err = a.commit(ctx)
			}
			if err != nil {
				a.revert(ctx, err)
				return ActionResult{}, err
			}
			if a.direct {
				// The caller writes (effects.go, "caller-writes").
				if w := a.stage(ctx); w != nil {
					return a.handBack(w), nil
				}
			}
			return answer(View(a.s, in.actor())), nil
		},
		// The validator alone checks the seal: it runs only when an update
		// arrives, never on replay, so a rotated key cannot change history.
		workflow.UpdateHandlerOptions{Validator: func(ctx workflow.Context, in T) error {
			if err := a.checkSeal(ctx, name, in); err != nil {
				return err
			}
			return validate(in)
		}},
	)
}

func (a *application) registerUpdates(ctx workflow.Context) error {
	for _, err := range []error{
		register(ctx, a, UpdateSubmitReview, a.validateReview, a.handleReview),
		register(ctx, a, UpdateExtendReview, a.validateExtend, a.handleExtend),
		register(ctx, a, UpdateSubmitRevision, a.validateRevision, a.handleRevision),
		register(ctx, a, UpdateAcceptAgreement, a.validateAccept, a.handleAccept),
		register(ctx, a, UpdateWithdraw, a.validateWithdraw, a.handleWithdraw),
		register(ctx, a, UpdateCancel, a.validateCancel, a.handleCancel),
		register(ctx, a, UpdateApproveDisbursement, a.validateApproveDisbursement, a.handleApproveDisbursement),
		register(ctx, a, UpdateConfirmPayment, a.validateConfirmPayment, a.handleConfirmPayment),
		register(ctx, a, UpdateRecordFailure, a.validateFailure, a.handleFailure),
		register(ctx, a, UpdateMarkExported, a.validateMarkExported, a.handleMarkExported),
		register(ctx, a, UpdateSubmitReport, a.validateReport, a.handleReport),
		register(ctx, a, UpdateAssessReport, a.validateAssess, a.handleAssess),
		register(ctx, a, UpdateAnswerInvitation, a.validateInvitation, a.handleInvitation),
		register(ctx, a, UpdateRecordRepayment, a.validateRepayment, a.handleRepayment),
		register(ctx, a, UpdateRequestAmendment, a.validateAmendment, a.handleAmendment),
		register(ctx, a, UpdateDecideAmendment, a.validateAmendmentDecision, a.handleAmendmentDecision),
		register(ctx, a, UpdateRequestDrawdown, a.validateDrawdown, a.handleDrawdown),
	} {
		if err != nil {
			return err
		}
	}
	return nil
}

// Typed errors the API maps to HTTP statuses.

func conflictf(format string, args ...any) error {
	return temporal.NewApplicationErrorWithOptions(fmt.Sprintf(format, args...), models.CodeConflict,
		temporal.ApplicationErrorOptions{NonRetryable: true})
}

func forbiddenf(format string, args ...any) error {
	return temporal.NewApplicationErrorWithOptions(fmt.Sprintf(format, args...), models.CodeForbidden,
		temporal.ApplicationErrorOptions{NonRetryable: true})
}

func notFoundf(format string, args ...any) error {
	return temporal.NewApplicationErrorWithOptions(fmt.Sprintf(format, args...), models.CodeNotFound,
		temporal.ApplicationErrorOptions{NonRetryable: true})
}

// invalid carries the field-by-field list as the error's details.
func invalid(errs ...models.FieldError) error {
	msg := "invalid content"
	if len(errs) > 0 {
		msg = errs[0].Field + ": " + errs[0].Message
	}
	return temporal.NewApplicationErrorWithOptions(msg, models.CodeInvalid,
		temporal.ApplicationErrorOptions{NonRetryable: true, Details: []any{errs}})
}

func requireRole(actor models.Actor, roles ...models.Role) error {
	for _, r := range roles {
		if actor.Role == r {
			return nil
		}
	}
	return forbiddenf("role %q may not do this", actor.Role)
}

// requireMember checks the applicant acts for a company of the group.
func (a *application) requireMember(actor models.Actor) error {
	if err := requireRole(actor, models.RoleApplicant); err != nil {
		return err
	}
	if !a.counts(actor) {
		return notFoundf("application %s not found", a.s.ID)
	}
	return nil
}

func (a *application) requireStatus(want ...models.Status) error {
	for _, s := range want {
		if a.s.Status == s {
			return nil
		}
	}
	return conflictf("application is %s", a.s.Status)
}
