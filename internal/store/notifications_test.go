package store_test

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"testing"
	"time"

	"reallabor/internal/store"
	"reallabor/internal/store/storetest"
	"reallabor/models"
)

// TestNotificationRecipients: each hand-off kind reaches exactly the people
// it is for (every reminder, escalation and decision included): reviewers
// who may vote, not the one of a named company, not the one who declared a
// conflict, not a deactivated one; reminders only those who have not voted;
// the group's applicants, not an invited partner's; finance but not the
// approver for a tranche to pay. A repeated write notifies nobody twice.
func TestNotificationRecipients(t *testing.T) {
	st := storetest.New(t)
	ctx := context.Background()
	now := time.Now().UTC()
	orgs := map[string]string{}
	for _, name := range []string{"Cafe Mitte", "Buchladen Eck", "Stadtwerke", "IHK", "Handwerkskammer", "Stadtkasse"} {
		o, err := st.CreateOrganisation(ctx, &models.Organisation{ID: "org-" + name, Name: name, CreatedAt: now})
		storetest.Must(t, err)
		orgs[name] = o.ID
	}
	gone := now
	for _, u := range []models.User{
		{ID: "anna", Role: models.RoleApplicant, OrganisationID: orgs["Cafe Mitte"], Email: "anna@x.test",
			EmailMuted: "payment_confirmed"}, // wants no mail of payments (the inbox has them)
		{ID: "bernd", Role: models.RoleApplicant, OrganisationID: orgs["Buchladen Eck"]}, // invited partner
		{ID: "rita", Role: models.RoleReviewer, OrganisationID: orgs["Stadtwerke"]},
		{ID: "ida", Role: models.RoleReviewer, OrganisationID: orgs["IHK"]},               // voted this round
		{ID: "hanna", Role: models.RoleReviewer, OrganisationID: orgs["Handwerkskammer"]}, // declared a conflict
		{ID: "eck", Role: models.RoleReviewer, OrganisationID: orgs["Buchladen Eck"]},     // of a named company
		{ID: "old", Role: models.RoleReviewer, OrganisationID: orgs["Stadtwerke"], DeactivatedAt: &gone},
		{ID: "ada", Role: models.RoleAdmin},
		{ID: "fritz", Role: models.RoleFinance, OrganisationID: orgs["Stadtkasse"]},
		{ID: "frieda", Role: models.RoleFinance, OrganisationID: orgs["Stadtkasse"]},
	} {
		u.Name, u.CreatedAt = u.ID, now
		storetest.Must(t, st.CreateUser(ctx, &u))
	}
	p := seedProgramme(t, st, 1_000_000)
	state := models.ApplicationState{ID: "app-n", ProgrammeID: p.ID, Status: models.StatusInReview, SubmittedAt: now, UpdatedAt: now,
		Proposal: models.Proposal{Title: "Click & Collect", Group: models.Group{Name: "g", Lead: "Cafe Mitte", Members: []models.Member{
			{Name: "Cafe Mitte", OrganisationID: orgs["Cafe Mitte"], Confirmation: models.ConfirmationSubmitter},
			{Name: "Buchladen Eck", OrganisationID: orgs["Buchladen Eck"], Confirmation: models.ConfirmationInvited}}},
			Payee: models.Payee{Name: "p", IBAN: "DE89370400440532013000"}},
		Votes:     []models.Vote{{ReviewerID: "ida", Round: 0, Recommendation: models.RecommendRevise, Comment: "costs unclear"}},
		Conflicts: []models.Conflict{{ReviewerID: "hanna"}},
	}
	group, board, pending, admins, finance := []string{"anna"}, []string{"ida", "rita"}, []string{"rita"}, []string{"ada"},
		[]string{"frieda", "fritz"}
	cases := map[string][]string{
		"eligibility_passed": board, "revised": board, "review_reminder": pending, "review_deadline_extended": pending,
		"review_escalated": admins, "revision_requested": group, "approved": group, "rejected": group, "waitlisted": group,
		"acceptance_reminder": group, "lapsed": {"ada", "anna"}, "agreement_accepted": finance,
		"disbursement_approved": {"frieda"}, "payment_confirmed": group, "payment_failed": finance,
		"interim_report_reminder": group, "final_report_overdue": {"ada", "anna"}, "interim_report_submitted": board,
		"final_report_accepted": {"anna", "frieda", "fritz"}, "withdrawn": admins, "cancelled": group,
		"review_submitted": nil, "submitted": nil,
	}
	kinds := make([]string, 0, len(cases))
	for k := range cases {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	for i, kind := range kinds {
		state.Seq = int64(i + 1)
		ev := models.Event{Seq: state.Seq, Kind: kind, Actor: models.Actor{UserID: "fritz", Role: models.RoleFinance}, At: now}
		var res models.ApplyResult
		for range 2 { // a repeated write
			var err error
			res, err = st.Apply(ctx, models.ApplyInput{State: state, Events: []models.Event{ev}})
			storetest.Must(t, err)
		}
		var got []string
		storetest.Must(t, st.DB.Model(&store.Notification{}).Where("application_id = ? AND event_seq = ?", state.ID, state.Seq).
			Order("user_id").Pluck("user_id", &got).Error)
		want := slices.Clone(cases[kind])
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("%s notified %v, want %v", kind, got, want)
		}
		mailed := slices.Contains(want, "anna") && kind != "payment_confirmed"
		if (len(res.Notifications) == 1) != mailed {
			t.Errorf("%s: %d notifications to mail, want Anna's only (the one with an address), unless she muted the kind", kind, len(res.Notifications))
		}
	}
	var reasons string
	storetest.Must(t, st.DB.Model(&store.Notification{}).Where("kind = 'revision_requested'").Pluck("detail", &reasons).Error)
	if reasons != "The board's reasons: costs unclear" {
		t.Errorf("revision request says %q, want the board's reasons", reasons)
	}
}

// TestALargeBoardIsNotifiedOnce: a board of 300 reviewers (more than one
// statement's worth of rows) is told of a proposal to review, each member
// once, with the mails to send listed; the same write made again (the
// workflow's flush after the API's) lists those still to send.
func TestALargeBoardIsNotifiedOnce(t *testing.T) {
	st := storetest.New(t)
	ctx := context.Background()
	now := time.Now().UTC()
	const board = 300
	for i := range board {
		u := models.User{ID: fmt.Sprintf("r%03d", i), Name: "reviewer", Role: models.RoleReviewer, Email: fmt.Sprintf("r%03d@x.test", i),
			Organisation: "Kammer", CreatedAt: now}
		storetest.Must(t, st.CreateUser(ctx, &u))
	}
	p := seedProgramme(t, st, 1_000_000)
	state := models.ApplicationState{ID: "app-board", ProgrammeID: p.ID, Status: models.StatusInReview, Seq: 1, SubmittedAt: now,
		UpdatedAt: now, Proposal: models.Proposal{Title: "Click & Collect", Group: models.Group{Name: "g", Lead: "Cafe Mitte",
			Members: []models.Member{{Name: "Cafe Mitte"}}}, Payee: models.Payee{Name: "p", IBAN: "DE89370400440532013000"}}}
	ev := models.Event{Seq: 1, Kind: "eligibility_passed", Actor: models.Actor{UserID: "system"}, At: now}
	res, err := st.Apply(ctx, models.ApplyInput{State: state, Events: []models.Event{ev}})
	storetest.Must(t, err)
	if len(res.Notifications) != board {
		t.Fatalf("%d notifications to mail, want %d", len(res.Notifications), board)
	}
	storetest.Must(t, st.MarkEmailed(ctx, res.Notifications[0], "sent", "", now))
	again, err := st.Apply(ctx, models.ApplyInput{State: state, Events: []models.Event{ev}})
	storetest.Must(t, err)
	if len(again.Notifications) != board-1 || slices.Contains(again.Notifications, res.Notifications[0]) {
		t.Errorf("written again: %d notifications to mail, want the %d not sent yet", len(again.Notifications), board-1)
	}
	var users []string
	storetest.Must(t, st.DB.Model(&store.Notification{}).Where("application_id = ?", state.ID).Order("user_id").
		Pluck("user_id", &users).Error)
	if len(users) != board || users[0] != "r000" || users[board-1] != fmt.Sprintf("r%03d", board-1) || len(slices.Compact(users)) != board {
		t.Errorf("%d notifications filed, want one for each of the %d reviewers", len(users), board)
	}
}
