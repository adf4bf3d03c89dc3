package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"gorm.io/gorm"

	"reallabor/models"
)

// Every hand-off reaches a person: an event that asks someone to act, or
// tells them of a decision, files one notification per recipient, in the
// transaction that writes the event (so each recipient gets it exactly once,
// whatever is retried). The inbox shows them; e-mail delivery
// (activities.Notifier) reads them and marks each sent.

// handOff is who an event of a kind is for, and what it expects of them.
type handOff struct {
	to       []audience
	expected string
	due      func(models.ApplicationState) *time.Time
}

type audience int

const (
	toGroup     audience = iota // applicants of the group's counting members
	toReviewers                 // reviewers who may vote (not named in the group, no declared conflict)
	toPending                   // those of toReviewers who have not voted this round
	toAdmins
	toFinance
	toFinanceButActor // finance users other than the one who acted (four eyes)
)

func reviewDue(s models.ApplicationState) *time.Time     { return s.Deadlines.Review }
func acceptanceDue(s models.ApplicationState) *time.Time { return s.Deadlines.Acceptance }
func revisionDue(s models.ApplicationState) *time.Time   { return s.Deadlines.Revision }
func interimDue(s models.ApplicationState) *time.Time    { return s.Deadlines.InterimReport }
func finalDue(s models.ApplicationState) *time.Time      { return s.Deadlines.FinalReport }
func repaymentDue(s models.ApplicationState) *time.Time {
	if s.Demand == nil {
		return nil
	}
	return &s.Demand.DueAt
}

// handOffs lists every event kind that notifies, and whom.
var handOffs = map[string]handOff{
	"eligibility_passed":               {to: []audience{toReviewers}, expected: "review and vote", due: reviewDue},
	"revised":                          {to: []audience{toReviewers}, expected: "review the revised proposal and vote", due: reviewDue},
	"review_reminder":                  {to: []audience{toPending}, expected: "vote before the review deadline", due: reviewDue},
	"review_escalated":                 {to: []audience{toAdmins}, expected: "the review deadline passed: extend it or chase the board"},
	"review_deadline_extended":         {to: []audience{toPending}, expected: "vote before the new review deadline", due: reviewDue},
	"eligibility_failed":               {to: []audience{toGroup}},
	"revision_requested":               {to: []audience{toGroup}, expected: "revise the proposal", due: revisionDue},
	"revision_deadline_passed":         {to: []audience{toGroup}},
	"approved":                         {to: []audience{toGroup}, expected: "accept the grant agreement", due: acceptanceDue},
	"promoted_from_waitlist":           {to: []audience{toGroup}, expected: "accept the grant agreement", due: acceptanceDue},
	"waitlisted":                       {to: []audience{toGroup}},
	"rejected":                         {to: []audience{toGroup}},
	"acceptance_reminder":              {to: []audience{toGroup}, expected: "accept the grant agreement", due: acceptanceDue},
	"lapsed":                           {to: []audience{toGroup, toAdmins}},
	"agreement_accepted":               {to: []audience{toFinance}, expected: "approve the first tranche for payment"},
	"disbursement_approved":            {to: []audience{toFinanceButActor}, expected: "pay the approved tranche or put it in a payment file"},
	"payment_confirmed":                {to: []audience{toGroup}},
	"payment_failed":                   {to: []audience{toFinance}, expected: "check the payee and approve the tranche again"},
	"payment_returned":                 {to: []audience{toFinance}, expected: "check the payee and approve the tranche again"},
	"interim_report_reminder":          {to: []audience{toGroup}, expected: "submit the interim report", due: interimDue},
	"final_report_reminder":            {to: []audience{toGroup}, expected: "submit the final report", due: finalDue},
	"interim_report_overdue":           {to: []audience{toGroup, toAdmins}, expected: "submit the interim report (overdue)"},
	"final_report_overdue":             {to: []audience{toGroup, toAdmins}, expected: "submit the final report (overdue)"},
	"interim_report_submitted":         {to: []audience{toReviewers}, expected: "assess the interim report"},
	"final_report_submitted":           {to: []audience{toReviewers}, expected: "assess the final report"},
	"interim_report_changes_requested": {to: []audience{toGroup}, expected: "revise the interim report"},
	"final_report_changes_requested":   {to: []audience{toGroup}, expected: "revise the final report"},
	"interim_report_accepted":          {to: []audience{toGroup, toFinance}, expected: "finance: approve the next tranche"},
	"final_report_accepted":            {to: []audience{toGroup, toFinance}, expected: "finance: approve the last tranche, or book the repayment demanded"},
	"withdrawn":                        {to: []audience{toAdmins}},
	"cancelled":                        {to: []audience{toGroup}},
	"closed":                           {to: []audience{toGroup}},
	"drawdown_requested":               {to: []audience{toFinance}, expected: "check the drawdown against the costs incurred and approve it for payment"},
	"amendment_requested":              {to: []audience{toAdmins}, expected: "approve or refuse the amendment"},
	"amendment_approved":               {to: []audience{toGroup, toFinance}},
	"amendment_refused":                {to: []audience{toGroup}},
	"repayment_demanded":               {to: []audience{toGroup, toFinance}, expected: "pay back the amount demanded", due: repaymentDue},
	"repayment_reminder":               {to: []audience{toGroup}, expected: "pay back the amount demanded", due: repaymentDue},
	"repayment_overdue":                {to: []audience{toGroup, toFinance, toAdmins}, expected: "pay back the amount demanded (overdue; interest may run)"},
	"repayment_dunning":                {to: []audience{toGroup, toFinance}, expected: "pay back the amount demanded (overdue; interest may run)"},
	"repayment_received":               {to: []audience{toGroup, toFinance}},
	"repayment_settled":                {to: []audience{toGroup, toFinance}},
}

// NotifiedKinds lists the event kinds that notify (docs and tests).
func NotifiedKinds() []string {
	out := make([]string, 0, len(handOffs))
	for k := range handOffs {
		out = append(out, k)
	}
	return out
}

// Notification is one hand-off to one person.
type Notification struct {
	ID            string     `gorm:"primaryKey" json:"id"`
	UserID        string     `json:"-"`
	ApplicationID string     `json:"application_id"`
	EventSeq      int64      `json:"event_seq"`
	Kind          string     `json:"kind"`
	Title         string     `json:"title"`
	Detail        string     `json:"detail,omitempty"`
	Expected      string     `json:"expected,omitempty"`
	DueAt         *time.Time `json:"due_at,omitempty"`
	CreatedAt     time.Time  `json:"created_at"`
	ReadAt        *time.Time `json:"read_at,omitempty"`
	// EmailStatus: "" to send, "sent", "failed" (after the last try, with
	// EmailError), "none" (the user has no address), "muted" (the user wants
	// no mail of this kind).
	EmailStatus string     `json:"-"`
	EmailError  string     `json:"-"`
	EmailedAt   *time.Time `json:"-"`
}

// notify files the notifications of events: one per recipient, keyed by
// application, event and user (a repeated write files none twice), in a
// few statements. It returns the ids to be e-mailed for these events: those of
// recipients with an address who want the mail (after a retried write too;
// the mailer skips any already sent).
func notify(tx *gorm.DB, st models.ApplicationState, events []models.Event) ([]string, error) {
	var rows []Notification
	byRole := map[models.Role][]models.User{} // the recipients looked up once per write
	for _, e := range events {
		h, ok := handOffs[e.Kind]
		if !ok {
			continue
		}
		users, err := audienceOf(tx, st, e, h.to, byRole)
		if err != nil {
			return nil, err
		}
		var due *time.Time
		if h.due != nil {
			due = h.due(st)
		}
		for _, u := range users {
			status := ""
			if u.Email == "" {
				status = "none"
			} else if slices.Contains(strings.Split(u.EmailMuted, ","), e.Kind) {
				status = "muted"
			}
			n := Notification{ID: notificationID(st.ID, e.Seq, u.ID), UserID: u.ID, ApplicationID: st.ID, EventSeq: e.Seq,
				Kind: e.Kind, Title: st.Proposal.Title, Detail: detailFor(st, e), Expected: h.expected, DueAt: due,
				CreatedAt: e.At, EmailStatus: status}
			rows = append(rows, n)
		}
	}
	if len(rows) == 0 {
		return nil, nil
	}
	// In chunks of a power of two rows (at most 256): a statement's text
	// depends on its number of rows, and these few texts stay prepared,
	// where one statement of any length was parsed anew each time.
	var filed int64
	for rest := rows; len(rest) > 0; {
		k := chunk(len(rest))
		n, err := fileNotifications(tx, rest[:k])
		if err != nil {
			return nil, fmt.Errorf("notifications: %w", err)
		}
		filed += n
		rest = rest[k:]
	}
	var ids []string
	if filed == int64(len(rows)) {
		// All of them filed now: those to mail are these.
		for _, n := range rows {
			if n.EmailStatus == "" {
				ids = append(ids, n.ID)
			}
		}
		slices.Sort(ids)
		return ids, nil
	}
	// What is filed for these events and not yet mailed: a later write of
	// the same events (the workflow's flush after the API's write) finds
	// the recipients as filed then, not as the state names them now.
	return unsent(tx, st.ID, events)
}

// notificationInserts are the statements that file 1, 2, 4 … 256
// notifications, by their number.
var notificationInserts sync.Map

// fileNotifications files new notifications, none twice (a repeated write
// files nothing), in one statement written out rather than built by GORM
// from each row's fields: filing is most of what a hand-off costs, and
// GORM's reflection was a quarter of that.
func fileNotifications(tx *gorm.DB, rows []Notification) (int64, error) {
	q, ok := notificationInserts.Load(len(rows))
	if !ok {
		row := "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
		q = "INSERT INTO notifications (id, user_id, application_id, event_seq, kind, title, detail, expected, due_at, created_at, email_status) VALUES " +
			strings.TrimSuffix(strings.Repeat(row+", ", len(rows)), ", ") + " ON CONFLICT DO NOTHING"
		notificationInserts.Store(len(rows), q)
	}
	args := make([]any, 0, 11*len(rows))
	for _, n := range rows {
		args = append(args, n.ID, n.UserID, n.ApplicationID, n.EventSeq, n.Kind, n.Title, n.Detail, n.Expected, n.DueAt,
			n.CreatedAt, n.EmailStatus)
	}
	res := tx.Exec(q.(string), args...)
	return res.RowsAffected, res.Error
}

// unsent lists the notifications filed for events that are still to be
// mailed.
func unsent(tx *gorm.DB, appID string, events []models.Event) ([]string, error) {
	seqs := handOffSeqs(events)
	if len(seqs) == 0 {
		return nil, nil
	}
	var ids []string
	err := tx.Model(&Notification{}).Where("application_id = ? AND event_seq IN ? AND email_status = ''", appID, seqs).
		Order("id").Pluck("id", &ids).Error
	return ids, err
}

// handOffSeqs are the sequences of the events that are hand-offs.
func handOffSeqs(events []models.Event) []int64 {
	var seqs []int64
	for _, e := range events {
		if _, ok := handOffs[e.Kind]; ok {
			seqs = append(seqs, e.Seq)
		}
	}
	return seqs
}

// chunk is the largest power of two up to n and 256.
func chunk(n int) int {
	k := 1
	for k*2 <= n && k < 256 {
		k *= 2
	}
	return k
}

// notificationID names one event's notification for one recipient: the
// same for a repeated write, and in the order the events happen (an
// application's id is a UUIDv7, its events numbered), so an event's rows
// go into the index of ids side by side. With a hash alone each row went
// to a page of its own, and each page into SQLite's log at the commit:
// a quarter of the store's CPU per lifecycle was writing them. (Rows filed
// before carry the hash alone; the unique key on application, event and
// user keeps a repeated write from filing any twice either way.)
func notificationID(appID string, seq int64, userID string) string {
	return fmt.Sprintf("ntf-%s-%d-%s", appID, seq, eventKey(appID, seq, userID)[:16])
}

// eventKey keys what one event of an application files for one recipient
// (a user's notification, a webhook's delivery): a repeated write finds it.
func eventKey(appID string, seq int64, recipient string) string {
	sum := sha256.Sum256([]byte(fmt.Sprintf("%s\x00%d\x00%s", appID, seq, recipient)))
	return hex.EncodeToString(sum[:12])
}

// detailFor is what the notification says beyond the event: for a revision
// request the board's reasons (the comments of the round's votes), which
// the applicant sees nowhere else.
func detailFor(st models.ApplicationState, e models.Event) string {
	if e.Kind != "revision_requested" {
		return e.Detail
	}
	var reasons []string
	for _, v := range st.Votes {
		if v.Round == st.RevisionRound && v.Recommendation == models.RecommendRevise && strings.TrimSpace(v.Comment) != "" {
			reasons = append(reasons, strings.TrimSpace(v.Comment))
		}
	}
	if len(reasons) == 0 {
		return e.Detail
	}
	return "The board's reasons: " + strings.Join(reasons, " | ")
}

// audienceOf resolves the recipients of an event: active users only.
// byRole holds the active users of a role once looked up (the group's are
// looked up each time: they depend on the application).
func audienceOf(tx *gorm.DB, st models.ApplicationState, e models.Event, to []audience, byRole map[models.Role][]models.User) ([]models.User, error) {
	seen := map[string]bool{}
	var out []models.User
	add := func(us []models.User) {
		for _, u := range us {
			if !seen[u.ID] {
				seen[u.ID] = true
				out = append(out, u)
			}
		}
	}
	// Only what the hand-off needs of each (its address, what it mutes, its
	// company for the conflict rule): a board's rows are read at every write.
	active := func() *gorm.DB {
		return tx.Model(&models.User{}).Select("id", "organisation", "organisation_id", "email", "email_muted").
			Where("deactivated_at IS NULL").Order("id")
	}
	ofRole := func(r models.Role) ([]models.User, error) {
		if us, ok := byRole[r]; ok {
			return us, nil
		}
		var us []models.User
		if err := active().Where("role = ?", r).Find(&us).Error; err != nil {
			return nil, err
		}
		byRole[r] = us
		return us, nil
	}
	for _, a := range to {
		var us []models.User
		var err error
		switch a {
		case toGroup:
			err = active().Where("role = ? AND organisation_id <> '' AND organisation_id IN (?)", models.RoleApplicant,
				tx.Table("application_organisations").Select("organisation").
					Where("application_id = ? AND confirmation IN ('', 'submitter', 'confirmed')", st.ID)).Find(&us).Error
		case toReviewers, toPending:
			us, err = ofRole(models.RoleReviewer)
			us = impartial(st, us, a == toPending)
		case toAdmins:
			us, err = ofRole(models.RoleAdmin)
		case toFinance, toFinanceButActor:
			us, err = ofRole(models.RoleFinance)
			if a == toFinanceButActor {
				us = slices.DeleteFunc(slices.Clone(us), func(u models.User) bool { return u.ID == e.Actor.UserID })
			}
		}
		if err != nil {
			return nil, fmt.Errorf("recipients of %s: %w", e.Kind, err)
		}
		add(us)
	}
	return out, nil
}

// impartial keeps the reviewers who may vote on the application: none of an
// organisation named in the group (and not declined), none who declared a
// conflict; pending: only those who have not voted this round.
func impartial(st models.ApplicationState, reviewers []models.User, pending bool) []models.User {
	g := st.Proposal.Group
	var out []models.User
	for _, u := range reviewers {
		if g.Registered() {
			if m, _, ok := g.Member(u.OrganisationID); ok && m.Confirmation != models.ConfirmationDeclined {
				continue
			}
		} else if g.Touches(u.Organisation) || g.Includes(u.Organisation) {
			continue
		}
		skip := false
		for _, c := range st.Conflicts {
			skip = skip || c.ReviewerID == u.ID
		}
		if pending {
			for _, v := range st.Votes {
				skip = skip || (v.ReviewerID == u.ID && v.Round == st.RevisionRound)
			}
		}
		if !skip {
			out = append(out, u)
		}
	}
	return out
}

// Inbox lists a user's notifications: unread first, then newest first,
// paged by offset cursor (the position in that order).
func (s *Store) Inbox(ctx context.Context, userID string, offset, limit int) ([]Notification, int64, error) {
	var out []Notification
	var unread int64
	db := s.DB.WithContext(ctx).Model(&Notification{}).Where("user_id = ?", userID)
	if err := db.Session(&gorm.Session{}).Where("read_at IS NULL").Count(&unread).Error; err != nil {
		return nil, 0, fmt.Errorf("inbox: %w", err)
	}
	if err := db.Order("CASE WHEN read_at IS NULL THEN 0 ELSE 1 END, created_at DESC, id DESC").
		Offset(offset).Limit(limit).Find(&out).Error; err != nil {
		return nil, 0, fmt.Errorf("inbox: %w", err)
	}
	return out, unread, nil
}

// MarkRead marks one of the user's notifications read (a notification of
// another user is not found).
func (s *Store) MarkRead(ctx context.Context, userID, id string, at time.Time) (Notification, error) {
	var n Notification
	if err := s.DB.WithContext(ctx).First(&n, "id = ? AND user_id = ?", id, userID).Error; err != nil {
		return n, fmt.Errorf("notification %s: %w", id, translate(err))
	}
	if n.ReadAt == nil {
		at = at.UTC()
		n.ReadAt = &at
		if err := s.DB.WithContext(ctx).Model(&Notification{}).Where("id = ?", id).Update("read_at", at).Error; err != nil {
			return n, err
		}
	}
	return n, nil
}

// ToEmail loads notifications still to be e-mailed, with their users.
func (s *Store) ToEmail(ctx context.Context, ids []string) ([]Notification, map[string]models.User, error) {
	var ns []Notification
	if err := s.DB.WithContext(ctx).Where("id IN ? AND email_status = ''", ids).Order("id").Find(&ns).Error; err != nil {
		return nil, nil, err
	}
	users := map[string]models.User{}
	if len(ns) == 0 {
		return ns, users, nil
	}
	var uids []string
	for _, n := range ns {
		uids = append(uids, n.UserID)
	}
	var us []models.User
	if err := s.DB.WithContext(ctx).Where("id IN ?", uids).Find(&us).Error; err != nil {
		return nil, nil, err
	}
	for _, u := range us {
		users[u.ID] = u
	}
	for _, n := range ns {
		if _, ok := users[n.UserID]; !ok {
			return nil, nil, fmt.Errorf("user %s of notification %s: %w", n.UserID, n.ID, models.ErrNotFound)
		}
	}
	return ns, users, nil
}

// MarkEmailed records a notification's e-mail: "sent", or "failed" with
// why (the dead letter after the last try).
func (s *Store) MarkEmailed(ctx context.Context, id, status, why string, at time.Time) error {
	return s.DB.WithContext(ctx).Model(&Notification{}).Where("id = ? AND email_status = ''", id).
		Updates(map[string]any{"email_status": status, "email_error": why, "emailed_at": at.UTC()}).Error
}
