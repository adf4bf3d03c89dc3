package api_test

import (
	"bytes"
	"encoding/csv"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"reallabor/internal/apptest"
)

// TestAuditExports: the auditors' CSV of a programme's applications, ledger
// journal and audit trail, per period, for admin and finance; what a
// spreadsheet would run as a formula is defused; bad input is 422, others 403.
func TestAuditExports(t *testing.T) {
	app := apptest.Start(t)
	prog := app.CreateProgramme(t, 50_000_000, nil)
	anna := app.CreateUser(t, "Anna", "applicant", "Cafe Mitte")
	fin1 := app.CreateUser(t, "Fritz", "finance", "Stadtkasse")
	fin2 := app.CreateUser(t, "Frieda", "finance", "Stadtkasse")
	body := apptest.Proposal(prog, "Cafe Mitte", 1_000_000)
	body["title"] = "=HYPERLINK(\"http://evil.test\") Reallabor"
	var st struct {
		ID       string
		Tranches []struct {
			ID          string
			AmountCents int64 `json:"amount_cents"`
		}
	}
	app.Must(t, http.StatusCreated, "POST", "/api/v1/applications", anna, body).JSON(t, &st)
	var reviewer apptest.User
	for _, org := range []string{"Stadtwerke", "IHK", "Handwerkskammer"} {
		reviewer = app.CreateUser(t, "Reviewer", "reviewer", org)
		app.Must(t, http.StatusOK, "POST", "/api/v1/applications/"+st.ID+"/reviews", reviewer,
			map[string]any{"recommendation": "approve", "scores": apptest.Scores(5)})
	}
	app.Must(t, http.StatusOK, "POST", "/api/v1/applications/"+st.ID+"/acceptance", anna, map[string]any{}).JSON(t, &st)
	app.Must(t, http.StatusOK, "POST", "/api/v1/disbursements/"+st.Tranches[0].ID+"/approval", fin1, map[string]any{})
	app.Must(t, http.StatusOK, "POST", "/api/v1/disbursements/"+st.Tranches[0].ID+"/payment", fin2, map[string]any{"bank_reference": "AUDIT-1"})

	read := func(query string, u apptest.User) [][]string {
		t.Helper()
		resp := app.Must(t, http.StatusOK, "GET", "/api/v1/programmes/"+prog+"/audit?"+query, u, nil)
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/csv") {
			t.Errorf("Content-Type %q, want text/csv", ct)
		}
		recs, err := csv.NewReader(strings.NewReader(string(resp.Body))).ReadAll()
		if err != nil {
			t.Fatalf("CSV of %s: %v", query, err)
		}
		return recs
	}
	apps := read("kind=applications", app.Admin)
	if len(apps) != 2 || apps[1][0] != st.ID || apps[1][7] != "400000" || !strings.HasPrefix(apps[1][1], "'=") {
		t.Errorf("applications export = %v, want its one application, 400000 cents paid, the formula defused", apps)
	}
	journal := read("kind=journal", fin1)
	var reserved, paid int64
	for _, r := range journal[1:] {
		switch r[2] {
		case "reserve":
			reserved += atoi(t, r[3])
		case "pay":
			paid += atoi(t, r[3])
		}
	}
	if reserved != 1_000_000 || paid != 400_000 {
		t.Errorf("journal = %v, want 1,000,000 reserved and 400,000 paid", journal)
	}
	hist := read("kind=history&from="+time.Now().UTC().Format("2006-01-02"), fin1)
	kinds := ""
	for _, r := range hist[1:] {
		kinds += r[2] + " "
		if _, err := time.Parse(time.RFC3339, r[9]); err != nil {
			t.Errorf("history time %q is not RFC 3339", r[9])
		}
	}
	for _, k := range []string{"submitted", "approved", "agreement_accepted", "payment_confirmed"} {
		if !strings.Contains(kinds, k) {
			t.Errorf("history export lacks %s: %s", k, kinds)
		}
	}
	tomorrow := time.Now().UTC().AddDate(0, 0, 1).Format("2006-01-02")
	if later := read("kind=history&from="+tomorrow, app.Admin); len(later) != 1 {
		t.Errorf("history from tomorrow = %d rows, want the header only", len(later))
	}
	// The same applications as an Excel workbook: amounts are numbers, the
	// title is text as given (a text cell never runs as a formula).
	wb := app.Must(t, http.StatusOK, "GET", "/api/v1/programmes/"+prog+"/audit?kind=applications&format=xlsx", fin1, nil)
	if ct := wb.Header.Get("Content-Type"); ct != "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" {
		t.Errorf("workbook Content-Type %q", ct)
	}
	book, err := excelize.OpenReader(bytes.NewReader(wb.Body))
	if err != nil {
		t.Fatalf("open the workbook: %v", err)
	}
	rows, err := book.GetRows("applications")
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || !slices.Equal(rows[0], apps[0]) || rows[1][0] != st.ID || rows[1][1] != body["title"] {
		t.Errorf("workbook rows = %v, want the CSV's header and its application titled %q", rows, body["title"])
	}
	// A cell without a type is a number in XLSX; text carries one.
	text := func(typ excelize.CellType) bool {
		return typ == excelize.CellTypeSharedString || typ == excelize.CellTypeInlineString
	}
	if typ, err := book.GetCellType("applications", "H2"); err != nil || text(typ) {
		t.Errorf("paid_cents cell type = %v (%v), want a number", typ, err)
	}
	if typ, err := book.GetCellType("applications", "B2"); err != nil || !text(typ) {
		t.Errorf("title cell type = %v (%v), want text", typ, err)
	}
	if v, _ := book.GetCellValue("applications", "H2"); v != "400000" {
		t.Errorf("paid_cents in the workbook = %q, want 400000", v)
	}
	for _, bad := range []string{"kind=votes", "kind=journal&from=yesterday", "kind=journal&from=2027-01-02&to=2027-01-01",
		"kind=journal&format=pdf"} {
		app.Must(t, http.StatusUnprocessableEntity, "GET", "/api/v1/programmes/"+prog+"/audit?"+bad, app.Admin, nil)
	}
	app.Must(t, http.StatusForbidden, "GET", "/api/v1/programmes/"+prog+"/audit?kind=journal", reviewer, nil)
	app.Must(t, http.StatusForbidden, "GET", "/api/v1/programmes/"+prog+"/audit?kind=journal", anna, nil)
	app.Must(t, http.StatusNotFound, "GET", "/api/v1/programmes/0190a000-0000-7000-8000-000000000000/audit?kind=journal", app.Admin, nil)
}

func atoi(t *testing.T, s string) int64 {
	t.Helper()
	var n int64
	for _, r := range s {
		if r < '0' || r > '9' {
			t.Fatalf("%q is not a number", s)
		}
		n = n*10 + int64(r-'0')
	}
	return n
}
