package api_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"strings"
	"testing"

	"reallabor/internal/apptest"
	"reallabor/internal/documents"
)

// refuseMarked is a virus scanner that finds the EICAR marker.
type refuseMarked struct{}

func (refuseMarked) Scan(_ context.Context, data []byte) error {
	if bytes.Contains(data, []byte("EICAR-STANDARD-ANTIVIRUS-TEST-FILE")) {
		return errors.Join(documents.ErrInfected, errors.New("Eicar-Test-Signature"))
	}
	return nil
}

// TestDocumentsOnAnApplication: the group attaches files to its application
// and its reports; whoever may see the application may list and download
// them, nobody else; the type is the content's, the size is capped, a
// scanner may refuse; the same file twice is stored once.
func TestDocumentsOnAnApplication(t *testing.T) {
	app := apptest.StartWith(t, apptest.Options{Scanner: refuseMarked{}, DocumentMaxBytes: 64 << 10})
	w := newWorld(t, app, 10_000_000, nil)
	st := w.submit(t, 1_000_000)
	docs := "/api/v1/applications/" + st.ID + "/documents"
	pdf := []byte("%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n")

	type doc struct {
		ID          string `json:"id"`
		Kind        string `json:"kind"`
		Filename    string `json:"filename"`
		ContentType string `json:"content_type"`
		SizeBytes   int64  `json:"size_bytes"`
		SHA256      string `json:"sha256"`
		UploadedBy  string `json:"uploaded_by"`
	}
	var first doc
	app.Must(t, http.StatusCreated, "POST", docs, w.applicant,
		apptest.File("Antrag Altstadt.pdf", pdf, map[string]string{"kind": "proposal"})).JSON(t, &first)
	sum := sha256.Sum256(pdf)
	if first.ContentType != "application/pdf" || first.SizeBytes != int64(len(pdf)) || first.SHA256 != hex.EncodeToString(sum[:]) ||
		first.Filename != "Antrag Altstadt.pdf" || first.UploadedBy != w.applicant.ID || first.Kind != "proposal" {
		t.Fatalf("stored %+v", first)
	}
	// The same file again: the first document, not a second.
	var again doc
	app.Must(t, http.StatusOK, "POST", docs, w.applicant,
		apptest.File("copy.pdf", pdf, map[string]string{"kind": "proposal"})).JSON(t, &again)
	if again.ID != first.ID {
		t.Fatalf("the same file twice made %s and %s", first.ID, again.ID)
	}

	// Bad input: nothing stored.
	exe := append([]byte("MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff"), make([]byte, 64)...)
	html := []byte("<!DOCTYPE html><html><body><script>alert(1)</script></body></html>")
	eicar := []byte(`X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*`)
	for _, tt := range []struct {
		name  string
		body  any
		want  int
		field string
	}{
		{"no kind", apptest.File("a.pdf", pdf, nil), 422, "kind"},
		{"unknown kind", apptest.File("a.pdf", pdf, map[string]string{"kind": "selfie"}), 422, "kind"},
		{"no file", apptest.File("", nil, map[string]string{"kind": "receipt"}), 422, "file"},
		{"JSON instead of a form", map[string]any{"kind": "receipt"}, 422, "file"},
		{"empty file", apptest.File("a.pdf", nil, map[string]string{"kind": "receipt"}), 422, "file"},
		{"control character in the name", apptest.File("a\x01b.pdf", pdf, map[string]string{"kind": "receipt"}), 422, "file"},
		{"unknown report", apptest.File("a.pdf", pdf, map[string]string{"kind": "report", "report_id": "rep-none"}), 422, "report_id"},
		{"an executable called .pdf", apptest.File("rechnung.pdf", exe, map[string]string{"kind": "receipt"}), 415, ""},
		{"HTML", apptest.File("beleg.txt", html, map[string]string{"kind": "receipt"}), 415, ""},
		{"the scanner refuses", apptest.File("beleg.txt", eicar, map[string]string{"kind": "receipt"}), 422, "file"},
		{"larger than allowed", apptest.File("big.txt", bytes.Repeat([]byte("a"), 80<<10), map[string]string{"kind": "receipt"}), 422, "file"},
		{"a body far larger", apptest.File("big.txt", bytes.Repeat([]byte("a"), 200<<10), map[string]string{"kind": "receipt"}), 413, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := app.Do(t, "POST", docs, w.applicant, tt.body)
			if r.Status != tt.want {
				t.Fatalf("status %d, want %d: %s", r.Status, tt.want, r.Body)
			}
			if tt.field != "" && !strings.Contains(string(r.Body), `"field":"`+tt.field+`"`) {
				t.Fatalf("no error on %s: %s", tt.field, r.Body)
			}
		})
	}
	var list struct{ Items []doc }
	app.Must(t, 200, "GET", docs, w.applicant, nil).JSON(t, &list)
	if len(list.Items) != 1 || list.Items[0].ID != first.ID {
		t.Fatalf("documents after the refusals = %+v, want only the first", list.Items)
	}

	// Who may see the application may download; nobody else learns of it.
	for _, u := range []apptest.User{w.applicant, w.reviewers[0], w.finance1, app.Admin} {
		r := app.Must(t, 200, "GET", docs+"/"+first.ID, u, nil)
		if !bytes.Equal(r.Body, pdf) || r.Header.Get("Content-Type") != "application/pdf" ||
			!strings.HasPrefix(r.Header.Get("Content-Disposition"), "attachment") || r.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Fatalf("download as %s: %d bytes, headers %v", u.Role, len(r.Body), r.Header)
		}
	}
	app.Must(t, 404, "GET", docs, w.other, nil)
	app.Must(t, 404, "GET", docs+"/"+first.ID, w.other, nil)
	app.Must(t, 404, "POST", docs, w.other, apptest.File("x.pdf", pdf, map[string]string{"kind": "other"}))
	app.Must(t, 403, "POST", docs, w.reviewers[0], apptest.File("x.pdf", pdf, map[string]string{"kind": "other"}))
	app.Must(t, 404, "GET", docs+"/doc-unknown", w.applicant, nil)

	// An annex to a report names the report; the admin may attach too.
	st = w.vote(t, st.ID, "approve", 5)
	app.Must(t, 200, "POST", "/api/v1/applications/"+st.ID+"/acceptance", w.applicant, nil).JSON(t, &st)
	st = w.pay(t, st, 1)
	var rep struct{ ID string }
	app.Must(t, http.StatusCreated, "POST", "/api/v1/applications/"+st.ID+"/reports", w.applicant,
		map[string]any{"kind": "interim", "narrative": "first half", "actual_costs_cents": 500_000}).JSON(t, &rep)
	var annex doc
	app.Must(t, http.StatusCreated, "POST", docs, w.applicant,
		apptest.File("belege.csv", []byte("datum,betrag\n2027-01-05,120.00\n2027-02-11,89.90\n"),
			map[string]string{"kind": "receipt", "report_id": rep.ID})).JSON(t, &annex)
	if annex.ContentType != "text/csv" {
		t.Fatalf("CSV stored as %s", annex.ContentType)
	}
	app.Must(t, http.StatusCreated, "POST", docs, app.Admin,
		apptest.File("vermerk.txt", []byte("Prüfvermerk: Belege vollständig.\n"), map[string]string{"kind": "other"}))

	// Once the application has ended, nothing more is attached.
	app.Must(t, 200, "POST", "/api/v1/applications/"+st.ID+"/cancellation", app.Admin, map[string]any{"reason": "test ends"})
	var rp struct {
		Outstanding int64 `json:"outstanding_cents"`
	}
	app.Must(t, http.StatusCreated, "POST", "/api/v1/applications/"+st.ID+"/repayments", w.finance1,
		map[string]any{"amount_cents": 400_000, "bank_reference": "DOC-BACK"}).JSON(t, &rp)
	app.Must(t, http.StatusConflict, "POST", docs, w.applicant,
		apptest.File("late.txt", []byte("too late\n"), map[string]string{"kind": "other"}))
	app.Must(t, 200, "GET", docs, w.applicant, nil).JSON(t, &list)
	if len(list.Items) != 3 {
		t.Fatalf("documents at the end = %d, want 3", len(list.Items))
	}
	app.BooksExact(t)
}
