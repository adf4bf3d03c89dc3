// Package reconcile compares the books the database keeps with the truth the
// application workflows hold: the programmes' counters, the journal of money
// movements, the projection (applications, tranches, audit trail) and each
// workflow's state. `reallabor check` and GET /api/v1/reconciliation run it.
package reconcile

import (
	"context"
	"fmt"
	"time"

	"go.temporal.io/sdk/converter"

	"reallabor/internal/authz"
	"reallabor/internal/store"
	"reallabor/models"
	"reallabor/workflows"
)

// Querier is the part of the Temporal client the check needs: reading each
// application's workflow state.
type Querier interface {
	QueryWorkflow(ctx context.Context, workflowID string, runID string, queryType string, args ...any) (converter.EncodedValue, error)
}

// Difference is one thing the books and the workflows disagree on.
type Difference struct {
	ProgrammeID   string `json:"programme_id"`
	ApplicationID string `json:"application_id,omitempty"`
	What          string `json:"what"`
	// Want is what the truth says (the workflow, or the journal for the
	// counters); Got what the database shows.
	Want string `json:"want"`
	Got  string `json:"got"`
}

func (d Difference) String() string {
	app := d.ApplicationID
	if app == "" {
		app = "-"
	}
	return fmt.Sprintf("programme %s application %s: %s: want %s, database has %s", d.ProgrammeID, app, d.What, d.Want, d.Got)
}

// Report is the outcome of a check.
type Report struct {
	Programmes   int          `json:"programmes"`
	Applications int          `json:"applications"`
	Differences  []Difference `json:"differences"`
}

// Checker runs the comparison.
type Checker struct {
	Store    *store.Store
	Temporal Querier
	// Keys seal the check's queries (the workflows answer only sealed ones).
	Keys *authz.Keys
	// Settle is how long to wait before looking again at what differed: an
	// action in flight (written, not yet answered; a promotion signal on its
	// way) is not a difference. Zero checks once.
	Settle time.Duration
}

var admin = models.Actor{UserID: "reconciliation", Name: "reconciliation", Role: models.RoleAdmin}

// Check compares everything and reports what differs in two looks Settle
// apart (only what differs both times counts).
func (c *Checker) Check(ctx context.Context) (Report, error) {
	first, err := c.once(ctx)
	if err != nil || len(first.Differences) == 0 || c.Settle == 0 {
		return first, err
	}
	select {
	case <-ctx.Done():
		return first, ctx.Err()
	case <-time.After(c.Settle):
	}
	second, err := c.once(ctx)
	if err != nil {
		return second, err
	}
	seen := map[Difference]bool{}
	for _, d := range first.Differences {
		seen[d] = true
	}
	out := second
	out.Differences = []Difference{}
	for _, d := range second.Differences {
		if seen[d] {
			out.Differences = append(out.Differences, d)
		}
	}
	return out, nil
}

func (c *Checker) once(ctx context.Context) (Report, error) {
	b, err := c.Store.Books(ctx)
	if err != nil {
		return Report{}, err
	}
	r := Report{Programmes: len(b.Programmes), Applications: len(b.Applications), Differences: []Difference{}}
	diff := func(prog, app, what string, want, got any) {
		if fmt.Sprint(want) != fmt.Sprint(got) {
			r.Differences = append(r.Differences, Difference{ProgrammeID: prog, ApplicationID: app, What: what,
				Want: fmt.Sprint(want), Got: fmt.Sprint(got)})
		}
	}
	// The counters against the journal, and against the applications.
	type sums struct{ reserved, paid int64 }
	perProg := map[string]sums{}
	for _, a := range b.Applications {
		s := perProg[a.ProgrammeID]
		s.reserved += a.ReservedCents
		s.paid += a.PaidCents - a.RepaidCents
		perProg[a.ProgrammeID] = s
	}
	for _, p := range b.Programmes {
		j := b.Journal[p.ID]
		diff(p.ID, "", "reserved_cents (journal)", j.Reserved(), p.ReservedCents)
		diff(p.ID, "", "paid_cents (journal)", j.Paid(), p.PaidCents)
		diff(p.ID, "", "released_cents (journal)", j.Released(), p.ReleasedCents)
		diff(p.ID, "", "reserved_cents (sum of applications)", perProg[p.ID].reserved, p.ReservedCents)
		diff(p.ID, "", "paid_cents (sum of applications)", perProg[p.ID].paid, p.PaidCents)
		if p.ReservedCents+p.PaidCents > p.BudgetCents {
			diff(p.ID, "", "committed (reserved + paid) within the budget", fmt.Sprintf("at most %d", p.BudgetCents), p.ReservedCents+p.PaidCents)
		}
	}
	// Each application against its journal and its workflow.
	for _, a := range b.Applications {
		j := b.AppJournal[a.ID]
		diff(a.ProgrammeID, a.ID, "reserved_cents (journal)", j.Reserved(), a.ReservedCents)
		diff(a.ProgrammeID, a.ID, "paid_cents (journal)", j.Pay-j.Return, a.PaidCents)
		viewer, err := workflows.Seal(c.Keys, a.ID, workflows.QueryState, workflows.Viewer{Actor: admin}, time.Now())
		if err != nil {
			return r, err
		}
		v, err := c.Temporal.QueryWorkflow(ctx, workflows.WorkflowID(a.ID), "", workflows.QueryState, viewer)
		if err != nil {
			diff(a.ProgrammeID, a.ID, "workflow", "a workflow to ask", "none answering: "+err.Error())
			continue
		}
		var st models.ApplicationState
		if err := v.Get(&st); err != nil {
			return r, fmt.Errorf("decode state of %s: %w", a.ID, err)
		}
		reserved, paid := Holds(st)
		diff(a.ProgrammeID, a.ID, "reserved_cents", reserved, a.ReservedCents)
		diff(a.ProgrammeID, a.ID, "paid_cents", paid, a.PaidCents)
		if d := st.Demand; d != nil {
			diff(a.ProgrammeID, a.ID, "repaid_cents", d.PrincipalPaidCents, a.RepaidCents)
			diff(a.ProgrammeID, a.ID, "repaid_cents (journal)", d.PrincipalPaidCents, j.Repayment)
			diff(a.ProgrammeID, a.ID, "interest received (journal)", d.InterestPaidCents, j.Interest)
		}
		diff(a.ProgrammeID, a.ID, "status", st.Status, a.Status)
		diff(a.ProgrammeID, a.ID, "seq", st.Seq, a.Seq)
		ev := b.Events[a.ID]
		diff(a.ProgrammeID, a.ID, "audit events", st.Seq, ev.Count)
		diff(a.ProgrammeID, a.ID, "last audit event", st.Seq, ev.MaxSeq)
		rows := map[string]models.TrancheRecord{}
		for _, t := range b.Tranches[a.ID] {
			rows[t.ID] = t
		}
		for _, t := range st.Tranches {
			row, ok := rows[t.ID]
			if !ok {
				diff(a.ProgrammeID, a.ID, "tranche "+t.ID, t.Status, "no row")
				continue
			}
			delete(rows, t.ID)
			diff(a.ProgrammeID, a.ID, "tranche "+t.ID+" status", t.Status, row.Status)
			diff(a.ProgrammeID, a.ID, "tranche "+t.ID+" amount_cents", t.AmountCents, row.AmountCents)
			diff(a.ProgrammeID, a.ID, "tranche "+t.ID+" bank_reference", t.BankReference, row.BankReference)
		}
		for id, row := range rows {
			diff(a.ProgrammeID, a.ID, "tranche "+id, "none", row.Status)
		}
	}
	return r, nil
}

// Holds is the money a workflow's state says its application holds in the
// ledger: reserved is what is granted and not yet paid (its tranches still
// to pay) while the grant runs; paid is what went out and did not come back.
func Holds(st models.ApplicationState) (reserved, paid int64) {
	for _, t := range st.Tranches {
		switch t.Status {
		case models.TranchePaid:
			paid += t.AmountCents
		case models.TrancheScheduled, models.TrancheDue, models.TrancheApproved, models.TrancheExported:
			if st.Status == models.StatusApproved || st.Status == models.StatusActive {
				reserved += t.AmountCents
			}
		}
	}
	return reserved, paid
}
