package workflows

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"reallabor/internal/authz"
	"reallabor/models"
)

// Temporal is not a trust boundary: anyone who reaches its frontend can start
// workflows, send updates, queries and signals with any actor in them. The
// workflows therefore act only on what the API sealed (internal/authz):
//
//   - every update's validator checks the seal over the workflow id, the
//     update's name and its whole input (actor, role, content), with an
//     expiry; a forged or altered update is rejected before it is in history;
//   - the state query answers only a sealed viewer;
//   - a run checks the seal of its input once, at its start, and records the
//     outcome (a side effect: replays need no key); an unsealed start ends at
//     once, having written nothing; a run continuing as new seals its own
//     input;
//   - a promotion signal is only a hint: the workflow asks the ledger (the
//     reservation is idempotent) before it moves on.
//
// Workers get the keys through Register; the package-level Application runs
// without keys, with the checks off, for unit tests and replays only.

// versionSealed is the workflow version from which starts are checked and
// promotions confirmed by the ledger.
const versionSealed = "sealed-actions"

// sealTTL is how long an update's seal is valid after the API made it.
const sealTTL = 10 * time.Minute

// Viewer is who asks the state query, as the API sealed it.
type Viewer struct {
	Actor models.Actor `json:"actor"`
	Seal  authz.Seal   `json:"seal"`
}

// Sealable is an action's input the API seals: Unsealed is what the seal
// covers, WithSeal the input carrying it.
type Sealable interface {
	Unsealed() any
	WithSeal(authz.Seal) any
	seal() authz.Seal
}

// Seal seals an action on an application for the API; in must be one of the
// inputs of this package (or a Viewer, or an ApplicationInput for a start).
func Seal(keys *authz.Keys, applicationID, action string, in Sealable, now time.Time) (any, error) {
	expires := now.Add(sealTTL)
	if action == actionStart {
		expires = time.Time{} // checked once, at the start, and recorded
	}
	s, err := keys.Seal(WorkflowID(applicationID), action, in.Unsealed(), expires)
	if err != nil {
		return nil, err
	}
	return in.WithSeal(s), nil
}

// actionStart names the start of a run in its seal.
const actionStart = "start"

// Workers run the application workflow with the keys that check seals.
type Workers struct {
	Keys *authz.Keys
}

// Application is the workflow as workers run it: seals checked.
func (w Workers) Application(ctx workflow.Context, in ApplicationInput) (ApplicationResult, error) {
	return run(ctx, in, w.Keys)
}

// Register registers the application workflow under its stable name, with
// the keys that check the API's seals; there is no worker without them.
func Register(r worker.WorkflowRegistry, keys *authz.Keys) error {
	if keys == nil {
		return errors.New("the workflows need the signing keys (REALLABOR_SIGNING_KEYS)")
	}
	r.RegisterWorkflowWithOptions(Workers{Keys: keys}.Application, workflow.RegisterOptions{Name: WorkflowName})
	return nil
}

// WorkflowName is the name the application workflow is registered under.
const WorkflowName = "Application"

func (in ReviewInput) seal() authz.Seal       { return in.Seal }
func (in RevisionInput) seal() authz.Seal     { return in.Seal }
func (in ActionInput) seal() authz.Seal       { return in.Seal }
func (in ExtendInput) seal() authz.Seal       { return in.Seal }
func (in DisbursementInput) seal() authz.Seal { return in.Seal }
func (in ReportInput) seal() authz.Seal       { return in.Seal }
func (in AssessInput) seal() authz.Seal       { return in.Seal }
func (v Viewer) seal() authz.Seal             { return v.Seal }
func (in ApplicationInput) seal() authz.Seal  { return in.Seal }

// Unsealed is the input without its seal: what the seal covers.
func (in ReviewInput) Unsealed() any       { in.Seal = authz.Seal{}; return in }
func (in RevisionInput) Unsealed() any     { in.Seal = authz.Seal{}; return in }
func (in ActionInput) Unsealed() any       { in.Seal = authz.Seal{}; return in }
func (in ExtendInput) Unsealed() any       { in.Seal = authz.Seal{}; return in }
func (in DisbursementInput) Unsealed() any { in.Seal = authz.Seal{}; return in }
func (in ReportInput) Unsealed() any       { in.Seal = authz.Seal{}; return in }
func (in AssessInput) Unsealed() any       { in.Seal = authz.Seal{}; return in }
func (v Viewer) Unsealed() any             { return v.Actor }
func (in ApplicationInput) Unsealed() any  { in.Seal = authz.Seal{}; return in }

// WithSeal is the input carrying s.
func (in ReviewInput) WithSeal(s authz.Seal) any       { in.Seal = s; return in }
func (in RevisionInput) WithSeal(s authz.Seal) any     { in.Seal = s; return in }
func (in ActionInput) WithSeal(s authz.Seal) any       { in.Seal = s; return in }
func (in ExtendInput) WithSeal(s authz.Seal) any       { in.Seal = s; return in }
func (in DisbursementInput) WithSeal(s authz.Seal) any { in.Seal = s; return in }
func (in ReportInput) WithSeal(s authz.Seal) any       { in.Seal = s; return in }
func (in AssessInput) WithSeal(s authz.Seal) any       { in.Seal = s; return in }
func (v Viewer) WithSeal(s authz.Seal) any             { v.Seal = s; return v }
func (in ApplicationInput) WithSeal(s authz.Seal) any  { in.Seal = s; return in }

// partOfGroup decides a reviewer's conflict with the group: from
// "sealed-actions" on by models.OrganisationKey (NFKC, format characters,
// case, umlauts, legal forms, confusable skeletons), so a spelling trick
// cannot make a member's representative impartial; runs before keep the
// matching they started with (their handlers re-check on replay).
//
// A group from the registry on decides by organisation id (named and not
// declined, group.go); a name is only compared for an actor without one.
func (a *application) partOfGroup(actor models.Actor) bool {
	organisation := actor.Organisation
	if a.s.Proposal.Group.Registered() && actor.OrganisationID != "" {
		return a.named(actor)
	}
	if a.sealed {
		return a.s.Proposal.Group.Touches(organisation) || a.s.Proposal.Group.Includes(organisation)
	}
	return a.s.Proposal.Group.Includes(organisation)
}

// checkSeal rejects an update the API did not seal (checks off without keys).
// It runs only in validators (never on replay); the HMAC over the input's JSON
// is deterministic (workflowcheck cannot see through encoding/json).
//
//workflowcheck:ignore
func (a *application) checkSeal(ctx workflow.Context, name string, in Sealable) error {
	if a.keys == nil {
		return nil
	}
	if err := a.keys.Verify(WorkflowID(a.s.ID), name, in.Unsealed(), in.seal(), workflow.Now(ctx)); err != nil {
		return forbiddenf("%v", err)
	}
	return nil
}

// checkViewer answers whether the query's viewer is sealed by the API. A
// query is not part of the history, so the wall clock is what counts.
//
//workflowcheck:ignore
func (a *application) checkViewer(v Viewer) error {
	if a.keys == nil {
		return nil
	}
	return a.keys.Verify(WorkflowID(a.s.ID), QueryState, v.Actor, v.Seal, time.Now())
}

// checkStart checks, once and recorded, that the API (or this workflow,
// continuing as new) sealed the run's input.
func (a *application) checkStart(ctx workflow.Context, in ApplicationInput) error {
	var ok bool
	keys, content := a.keys, json.RawMessage(a.startContent)
	if err := workflow.SideEffect(ctx, func(workflow.Context) any {
		return keys == nil || keys.Verify(WorkflowID(in.ApplicationID), actionStart, content, in.Seal, time.Time{}) == nil
	}).Get(&ok); err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("start of %s: %w", in.ApplicationID, authz.ErrUnsealed)
	}
	return nil
}

// sealedContent is the encoded input a start's seal covers.
//
//workflowcheck:ignore
func sealedContent(in ApplicationInput) []byte {
	b, err := json.Marshal(in.Unsealed())
	if err != nil {
		panic(fmt.Sprintf("encode start: %v", err))
	}
	return b
}

// sealCarry seals the input of the run that continues this one. It is
// computed in place, not as a side effect: nothing may run between the last
// check that no handler runs and the continue-as-new (a side effect would let
// an update in), and the seal is only part of the new run's input, which a
// replay does not compare (a replay without keys makes an empty one).
//
//workflowcheck:ignore
func (a *application) sealCarry(in ApplicationInput) ApplicationInput {
	if a.keys != nil {
		in.Seal, _ = a.keys.Seal(WorkflowID(in.ApplicationID), actionStart, in.Unsealed(), time.Time{})
	}
	return in
}
