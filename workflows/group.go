package workflows

import (
	"go.temporal.io/sdk/workflow"

	"reallabor/internal/authz"
	"reallabor/models"
)

// Membership of the applicant group, by organisation id (workflow version
// "organisation-registry" and data from the registry on).
//
// The submitter's organisation is in by submitting. Every other member is invited:
// until one of its applicants accepts, it does not count (it sees only the
// invitation and cannot act for the group), but its reviewers are
// conflicted as if it had joined, so naming a company cannot make a
// reviewer impartial by surprise, nor let a member's reviewer vote while
// its company waits to confirm. A partner that declines is out: its
// reviewers may vote. A partner whose reviewer has voted cannot join.
//
// Groups from before the registry (members without ids) keep matching by
// name: the decisions below depend on the data, so earlier histories replay
// unchanged; the version only gates what a new start does.
const versionRegistry = "organisation-registry"

// InvitationInput is an invited partner's answer.
type InvitationInput struct {
	Seal authz.Seal `json:"seal,omitempty"`
	// WrittenSeq is how far the projection is written, as the API read it
	// (workflow version "caller-writes").
	WrittenSeq int64        `json:"written_seq,omitempty"`
	Actor      models.Actor `json:"actor"`
	Accept     bool         `json:"accept"`
}

func (in InvitationInput) actor() models.Actor       { return in.Actor }
func (in InvitationInput) seal() authz.Seal          { return in.Seal }
func (in InvitationInput) Unsealed() any             { in.Seal = authz.Seal{}; return in }
func (in InvitationInput) WithSeal(s authz.Seal) any { in.Seal = s; return in }

// inviteMembers marks the members of a new application: the submitter's
// organisation is in ("submitter"), the others are invited.
func (a *application) inviteMembers() {
	g := &a.s.Proposal.Group
	if !g.Registered() {
		return
	}
	members := make([]models.Member, len(g.Members))
	for i, m := range g.Members {
		m.Confirmation = models.ConfirmationInvited
		if m.OrganisationID == a.s.SubmittedBy.OrganisationID {
			m.Confirmation = models.ConfirmationSubmitter
		}
		members[i] = m
	}
	g.Members = members
}

// carryConfirmations gives a revised group its members' standing: members
// kept keep theirs (matched by id, or by name for a group from before the
// registry), new ones are invited, the reviser's organisation counts.
func carryConfirmations(old, revised models.Group, reviser models.Actor) models.Group {
	if !revised.Registered() {
		return revised
	}
	members := make([]models.Member, len(revised.Members))
	for i, m := range revised.Members {
		m.Confirmation = models.ConfirmationInvited
		if prev, _, ok := old.Member(m.OrganisationID); ok {
			m.Confirmation = prev.Confirmation
		} else if !old.Registered() && old.Touches(m.Name) {
			m.Confirmation = "" // a member before the registry: it counts
		}
		if m.OrganisationID == reviser.OrganisationID && !m.Counts() {
			m.Confirmation = models.ConfirmationConfirmed
		}
		members[i] = m
	}
	revised.Members = members
	return revised
}

// counts reports whether the actor acts for a member of the group.
func (a *application) counts(actor models.Actor) bool {
	g := a.s.Proposal.Group
	if !g.Registered() {
		return g.Includes(actor.Organisation)
	}
	m, _, ok := g.Member(actor.OrganisationID)
	return ok && m.Counts()
}

// named reports whether the actor's organisation is named in the group and
// has not declined: a reviewer from it is conflicted.
func (a *application) named(actor models.Actor) bool {
	g := a.s.Proposal.Group
	if !g.Registered() || actor.OrganisationID == "" {
		return false
	}
	m, _, ok := g.Member(actor.OrganisationID)
	return ok && m.Confirmation != models.ConfirmationDeclined
}

func (a *application) validateInvitation(in InvitationInput) error {
	if err := requireRole(in.Actor, models.RoleApplicant); err != nil {
		return err
	}
	m, _, ok := a.s.Proposal.Group.Member(in.Actor.OrganisationID)
	if !ok || !a.s.Proposal.Group.Registered() {
		return notFoundf("application %s not found", a.s.ID)
	}
	if a.s.Status.Final() {
		return conflictf("application is %s", a.s.Status)
	}
	switch m.Confirmation {
	case models.ConfirmationInvited:
	case models.ConfirmationSubmitter:
		return conflictf("your organisation submitted this application")
	default:
		return conflictf("your organisation has %s the invitation already", m.Confirmation)
	}
	if in.Accept {
		for _, v := range a.s.Votes {
			if v.OrganisationID == in.Actor.OrganisationID {
				return conflictf("a reviewer of your organisation has voted on this application: it cannot join the group")
			}
		}
	}
	return nil
}

func (a *application) handleInvitation(ctx workflow.Context, in InvitationInput) error {
	g := &a.s.Proposal.Group
	_, i, _ := g.Member(in.Actor.OrganisationID)
	members := append([]models.Member{}, g.Members...)
	kind := "invitation_declined"
	members[i].Confirmation = models.ConfirmationDeclined
	if in.Accept {
		kind = "invitation_accepted"
		members[i].Confirmation = models.ConfirmationConfirmed
	}
	g.Members = members
	return a.emit(ctx, kind, "", in.Actor, members[i].Name)
}

// inviteeView is all an invited (or declining) partner sees of the
// application: what it is asked to join, not the payee or the votes.
func inviteeView(s models.ApplicationState) models.ApplicationState {
	return models.ApplicationState{
		ID: s.ID, ProgrammeID: s.ProgrammeID, Status: s.Status, Seq: s.Seq, SubmittedAt: s.SubmittedAt, UpdatedAt: s.UpdatedAt,
		Proposal: models.Proposal{Title: s.Proposal.Title, Group: s.Proposal.Group, StartDate: s.Proposal.StartDate,
			EndDate: s.Proposal.EndDate, RequestedCents: s.Proposal.RequestedCents},
		Votes: []models.Vote{}, Tranches: []models.Tranche{}, Reports: []models.Report{},
	}
}
