package api_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"reallabor/internal/apptest"
)

// TestAmendments: the group applies to move the end date and pay to another
// account; a board member of the group may not decide, an admin approves;
// the final report's deadline moves and the next tranche's payment file
// names the new account. A second amendment is refused with a reason; the
// history keeps both versions.
func TestAmendments(t *testing.T) {
	app := apptest.Start(t)
	w := newWorld(t, app, 10_000_000, nil)
	st := w.firstPaid(t, 1_000_000)
	a := "/api/v1/applications/" + st.ID
	type amendment struct {
		ID      string `json:"id"`
		Version int    `json:"version"`
		Status  string `json:"status"`
		EndDate *struct {
			From, To time.Time
		} `json:"end_date"`
	}
	var before struct {
		Deadlines struct {
			FinalReport time.Time `json:"final_report"`
		} `json:"deadlines"`
	}
	app.Must(t, 200, "GET", a, w.applicant, nil).JSON(t, &before)

	// Bad input: nothing to change, a bad IBAN, a plan that changes the total.
	for _, body := range []map[string]any{
		{"reason": "nothing"},
		{"reason": "new bank", "payee": map[string]any{"name": "Cafe Mitte GmbH", "iban": "DE00370400440532013000"}},
		{"reason": "shift", "cost_plan": []map[string]any{{"category": "personnel", "amount_cents": 1}}},
		{"reason": "before the start", "end_date": "2026-01-01"},
		{"reason": "x\x07", "end_date": "2028-06-30"},
	} {
		if r := app.Do(t, "POST", a+"/amendments", w.applicant, body); r.Status != http.StatusUnprocessableEntity {
			t.Fatalf("amendment %v = %d, want 422: %s", body, r.Status, r.Body)
		}
	}
	var resp struct {
		ID string `json:"id"`
	}
	app.Must(t, http.StatusCreated, "POST", a+"/amendments", w.applicant, map[string]any{"reason": "shop fit-out late; new bank",
		"end_date": "2028-06-30", "payee": map[string]any{"name": "Cafe Mitte GmbH", "iban": "DE02120300000000202051"}}).JSON(t, &resp)
	// The evidence goes with the amendment.
	var evidence struct {
		AmendmentID string `json:"amendment_id"`
	}
	app.Must(t, http.StatusCreated, "POST", a+"/documents", w.applicant, apptest.File("bank.pdf", []byte("%PDF-1.4\n% bank letter\n%%EOF\n"),
		map[string]string{"kind": "amendment", "amendment_id": resp.ID})).JSON(t, &evidence)
	if evidence.AmendmentID != resp.ID {
		t.Fatalf("document for the amendment names %q", evidence.AmendmentID)
	}
	app.Must(t, http.StatusUnprocessableEntity, "POST", a+"/documents", w.applicant, apptest.File("bank.pdf", []byte("%PDF-1.4\n%%EOF\n"),
		map[string]string{"kind": "amendment", "amendment_id": "amd-none"}))
	// One at a time.
	app.Must(t, http.StatusConflict, "POST", a+"/amendments", w.applicant, map[string]any{"reason": "more", "end_date": "2028-09-30"})
	decision := a + "/amendments/" + resp.ID + "/decision"
	insider := app.CreateUser(t, "Ina Insider", "reviewer", "Cafe Mitte")
	app.Must(t, http.StatusForbidden, "POST", decision, insider, map[string]any{"decision": "approve"})
	app.Must(t, http.StatusUnprocessableEntity, "POST", decision, app.Admin, map[string]any{"decision": "refuse"}) // no reason
	var after struct {
		Proposal struct {
			EndDate string `json:"end_date"`
			Payee   struct {
				IBAN string `json:"iban"`
			} `json:"payee"`
		} `json:"proposal"`
		Deadlines struct {
			FinalReport time.Time `json:"final_report"`
		} `json:"deadlines"`
		Amendments []amendment `json:"amendments"`
	}
	app.Must(t, 200, "POST", decision, app.Admin, map[string]any{"decision": "approve", "reason": "fine"}).JSON(t, &after)
	if !strings.HasPrefix(after.Proposal.EndDate, "2028-06-30") || after.Proposal.Payee.IBAN != "DE02120300000000202051" {
		t.Fatalf("proposal after the amendment: %+v", after.Proposal)
	}
	if want := time.Date(2028, 6, 30, 0, 0, 0, 0, time.UTC).Add(60 * 24 * time.Hour); !after.Deadlines.FinalReport.Equal(want) {
		t.Fatalf("final report due %v (was %v), want %v", after.Deadlines.FinalReport, before.Deadlines.FinalReport, want)
	}
	app.Must(t, http.StatusConflict, "POST", decision, app.Admin, map[string]any{"decision": "approve"})

	// The next tranche goes to the new account.
	st = w.report(t, st.ID, "interim", 500_000, w.reviewers[1])
	tr := st.Tranches[1]
	app.Must(t, 200, "POST", "/api/v1/disbursements/"+tr.ID+"/approval", w.finance1, nil)
	file := app.Must(t, 200, "GET", "/api/v1/disbursements/export?format=csv&programme_id="+w.programme, w.finance2, nil)
	if !strings.Contains(string(file.Body), "DE02120300000000202051") || strings.Contains(string(file.Body), "DE89370400440532013000") {
		t.Fatalf("payment file after the amendment:\n%s", file.Body)
	}
	finance3 := app.CreateUser(t, "Fiona Finance", "finance", "Stadtkasse") // neither approver nor exporter
	app.Must(t, 200, "POST", "/api/v1/disbursements/"+tr.ID+"/payment", finance3, map[string]any{"bank_reference": "AMD-2"})

	// A second amendment, refused with a reason; both versions stay.
	app.Must(t, http.StatusCreated, "POST", a+"/amendments", w.applicant, map[string]any{"reason": "even later", "end_date": "2029-06-30"}).JSON(t, &resp)
	// The same evidence may go with another amendment.
	app.Must(t, http.StatusCreated, "POST", a+"/documents", w.applicant, apptest.File("bank.pdf", []byte("%PDF-1.4\n% bank letter\n%%EOF\n"),
		map[string]string{"kind": "amendment", "amendment_id": resp.ID}))
	app.Must(t, 200, "POST", a+"/amendments/"+resp.ID+"/decision", w.reviewers[0], map[string]any{"decision": "refuse", "reason": "no cause given"}).JSON(t, &after)
	if len(after.Amendments) != 2 || after.Amendments[0].Status != "approved" || after.Amendments[1].Status != "refused" ||
		after.Amendments[1].Version != 2 || !strings.HasPrefix(after.Proposal.EndDate, "2028-06-30") {
		t.Fatalf("amendments = %+v, end %s", after.Amendments, after.Proposal.EndDate)
	}
	var hist struct {
		Items []struct{ Kind string } `json:"items"`
	}
	app.Must(t, 200, "GET", a+"/history", w.applicant, nil).JSON(t, &hist)
	var kinds []string
	for _, e := range hist.Items {
		if strings.HasPrefix(e.Kind, "amendment_") {
			kinds = append(kinds, e.Kind)
		}
	}
	if strings.Join(kinds, ",") != "amendment_requested,amendment_approved,amendment_requested,amendment_refused" {
		t.Fatalf("history of amendments = %v", kinds)
	}
	app.Must(t, 200, "POST", a+"/cancellation", app.Admin, map[string]any{"reason": "test ends"})
	app.Must(t, http.StatusCreated, "POST", a+"/repayments", w.finance1, map[string]any{"amount_cents": 800_000, "bank_reference": "AMD-BACK"})
	app.BooksExact(t)
	record(t, app, st.ID, "amendments")
}
