// Package activities holds the adapters the application workflow drives: the
// projection of its state into the database and the budget ledger. Each is
// idempotent, so a retried activity never applies twice.
package activities

import (
	"context"
	"errors"
	"net/http"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"

	"reallabor/internal/store"
	"reallabor/models"
	"reallabor/workflows"
)

// Ledger writes the projection and moves budget. Its fields carry its
// dependencies.
type Ledger struct {
	Store *store.Store
	// Mailer sends the notifications' e-mails (nil: none are mailed; the
	// inbox has them all); PublicURL starts the links in them.
	Mailer    Mailer
	PublicURL string
	// Delivered, if set, counts each mail by kind and result (metrics).
	Delivered func(kind, result string)
	// Webhooks sends the webhook deliveries (nil: WebhookClient(false)).
	Webhooks *http.Client
}

// Register registers the activities under the names the workflow uses.
func (l *Ledger) Register(w worker.ActivityRegistry) {
	w.RegisterActivityWithOptions(l.Project, activity.RegisterOptions{Name: workflows.ActivityProject})
	w.RegisterActivityWithOptions(l.ReserveBudget, activity.RegisterOptions{Name: workflows.ActivityReserveBudget})
	w.RegisterActivityWithOptions(l.ReleaseBudget, activity.RegisterOptions{Name: workflows.ActivityReleaseBudget})
	w.RegisterActivityWithOptions(l.RecordPayment, activity.RegisterOptions{Name: workflows.ActivityRecordPayment})
	w.RegisterActivityWithOptions(l.Apply, activity.RegisterOptions{Name: workflows.ActivityApply})
	w.RegisterActivityWithOptions(l.Deliver, activity.RegisterOptions{Name: workflows.ActivityDeliver})
	w.RegisterActivityWithOptions(l.CheckStateAid, activity.RegisterOptions{Name: workflows.ActivityCheckStateAid})
}

// Apply writes what one action changed (money, audit events, state) in one
// transaction, after the workflow has made the action durable.
func (l *Ledger) Apply(ctx context.Context, in models.ApplyInput) (models.ApplyResult, error) {
	out, err := l.Store.Apply(ctx, in)
	if err == nil && len(in.Payments) > 0 {
		for _, p := range in.Payments {
			activity.GetLogger(ctx).Info("payment recorded", "tranche", p.TrancheID, "attempt", p.Attempt,
				"amount_cents", p.AmountCents, "reverse", p.Reverse)
		}
	}
	return out, classify(err)
}

// CheckStateAid checks a new split of a grant's aid against the register.
func (l *Ledger) CheckStateAid(ctx context.Context, in models.StateAidCheckInput) ([]models.FieldError, error) {
	out, err := l.Store.CheckStateAid(ctx, in.ApplicationID, in.Claim, in.At)
	return out, classify(err)
}

// Project writes an event and the application's state after it.
func (l *Ledger) Project(ctx context.Context, in models.ProjectInput) error {
	return classify(l.Store.Project(ctx, in))
}

// ReserveBudget reserves the grant or waitlists the application.
func (l *Ledger) ReserveBudget(ctx context.Context, in models.ReserveInput) (models.ReserveResult, error) {
	out, err := l.Store.Reserve(ctx, in)
	return out, classify(err)
}

// ReleaseBudget releases a reservation and promotes waitlisted applications.
func (l *Ledger) ReleaseBudget(ctx context.Context, in models.ReleaseInput) (models.ReleaseResult, error) {
	out, err := l.Store.Release(ctx, in)
	return out, classify(err)
}

// RecordPayment records a paid or returned tranche once.
func (l *Ledger) RecordPayment(ctx context.Context, in models.PaymentInput) (models.PaymentResult, error) {
	out, err := l.Store.RecordPayment(ctx, in)
	if err == nil {
		activity.GetLogger(ctx).Info("payment recorded", "tranche", in.TrancheID, "attempt", in.Attempt,
			"amount_cents", in.AmountCents, "reverse", in.Reverse, "applied", out.Applied)
	}
	return out, classify(err)
}

// classify marks errors that retrying cannot fix as non-retryable.
func classify(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, models.ErrInvalid) || errors.Is(err, models.ErrNotFound) {
		return temporal.NewNonRetryableApplicationError(err.Error(), "InvalidInput", err)
	}
	if errors.Is(err, models.ErrData) {
		return temporal.NewNonRetryableApplicationError(err.Error(), "DataError", err)
	}
	return err
}
