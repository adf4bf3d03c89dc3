package api_test

import (
	"bytes"
	"net/http"
	"strings"
	"testing"

	"reallabor/internal/apptest"
)

// pdfText is what a PDF of ours says: the letters are uncompressed and in
// the core fonts, so their text is in the file as written (cp1252).
func pdfText(t *testing.T, r apptest.Response) string {
	t.Helper()
	if r.Header.Get("Content-Type") != "application/pdf" || !bytes.HasPrefix(r.Body, []byte("%PDF-")) {
		t.Fatalf("not a PDF: %s %q", r.Header.Get("Content-Type"), rigClip(r.Body))
	}
	return string(r.Body)
}

// TestDecisionLetterAndAgreement: the decision letter and the grant
// agreement are generated from the application as it stands.
func TestDecisionLetterAndAgreement(t *testing.T) {
	app := apptest.Start(t)
	w := newWorld(t, app, 10_000_000, map[string]any{"repayment_interest_basis_points": 627, "repayment_due_days": 21})
	st := w.submit(t, 1_000_000)
	a := "/api/v1/applications/" + st.ID
	app.Must(t, http.StatusConflict, "GET", a+"/decision-letter", w.applicant, nil)
	app.Must(t, http.StatusConflict, "GET", a+"/agreement", w.applicant, nil)
	st = w.vote(t, st.ID, "approve", 5)

	letter := pdfText(t, app.Must(t, 200, "GET", a+"/decision-letter", w.applicant, nil))
	for _, want := range []string{"Bewilligung / Grant", "10,000.00 EUR", "4,000.00 EUR", st.ID, "Click & Collect"} {
		if !strings.Contains(letter, want) {
			t.Errorf("decision letter lacks %q", want)
		}
	}
	agreement := pdfText(t, app.Must(t, 200, "GET", a+"/agreement", w.applicant, nil))
	for _, want := range []string{"Zuwendungsvertrag / Grant agreement", "10,000.00 EUR", "DE89370400440532013000",
		"6.27 %", "binnen 21 Tagen", "Anzunehmen bis"} {
		if !strings.Contains(agreement, want) {
			t.Errorf("agreement lacks %q", want)
		}
	}
	app.Must(t, 200, "POST", a+"/acceptance", w.applicant, nil)
	agreement = pdfText(t, app.Must(t, 200, "GET", a+"/agreement", w.finance1, nil))
	if !strings.Contains(agreement, "Angenommen am / Accepted on") || !strings.Contains(agreement, w.applicant.Name) {
		t.Errorf("agreement after acceptance does not say who accepted it")
	}
	app.Must(t, 404, "GET", a+"/agreement", w.other, nil)

	// A refusal says why.
	rejected := w.submit(t, 500_000)
	w.vote(t, rejected.ID, "reject", 1)
	refusal := pdfText(t, app.Must(t, 200, "GET", "/api/v1/applications/"+rejected.ID+"/decision-letter", w.applicant, nil))
	if !strings.Contains(refusal, "Ablehnung / Refusal") || !strings.Contains(refusal, "1.000") {
		t.Errorf("refusal letter does not give the decision and the score")
	}
	app.Must(t, http.StatusConflict, "GET", "/api/v1/applications/"+rejected.ID+"/agreement", w.applicant, nil)
}
