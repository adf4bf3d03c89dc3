package paymentfile

import (
	"bytes"
	"encoding/csv"
	"encoding/xml"
	"errors"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// schema is the EPC SEPA Credit Transfer schema, copied from
// the EPC publication so the test needs nothing outside the repository.
const schema = "testdata/pain.001.001.09-EPC-SCT-2023.xsd"

// longReference is longer than the 140 characters of RmtInf/Ustrd.
var longReference = strings.Repeat("Verwendungszweck Reallabor ", 8)

// testBatch returns a fresh batch of three payments: a payee with umlauts,
// ß and '&' in the name, one with an over-long reference and no BIC, and one
// without a reference.
func testBatch() Batch {
	return Batch{
		MessageID:     "RL0190C3F2A67B7D8E9F",
		CreatedAt:     time.Date(2025, 3, 14, 9, 26, 53, 589_000_000, time.UTC),
		Debtor:        Debtor{Name: "Reallabor Förderprogramm Süd", IBAN: "DE02120300000000202051", BIC: "BYLADEM1001"},
		ExecutionDate: time.Date(2025, 3, 17, 0, 0, 0, 0, time.UTC),
		Payments: []Payment{
			{DisbursementID: "RL-0001-1", ApplicationID: "app-1", ProgrammeID: "prog-1", Tranche: 1,
				PayeeName: "Jürgen Müller-Weiß & Söhne GmbH", PayeeIBAN: "de89 3704 0044 0532 0130 00", PayeeBIC: "COBADEFFXXX",
				AmountCents: 123456, Currency: "EUR", Reference: "Tranche 1 Projekt Grünfläche"},
			{DisbursementID: "RL-0002-1", ApplicationID: "app-2", ProgrammeID: "prog-1", Tranche: 1,
				PayeeName: "Stadtteilverein Nord e.V.", PayeeIBAN: "AT611904300234573201",
				AmountCents: 1, Currency: "EUR", Reference: longReference},
			{DisbursementID: "RL-0003-2", ApplicationID: "app-3", ProgrammeID: "prog-1", Tranche: 2,
				PayeeName: "Association Café Crème", PayeeIBAN: "FR1420041010050500013M02606",
				AmountCents: 99, Currency: "EUR"},
		},
	}
}

func TestControlSum(t *testing.T) {
	tests := []struct {
		name  string
		cents []int64
		want  string
	}{
		{"no payments", nil, "0.00"},
		{"one cent", []int64{1}, "0.01"},
		{"99 cents", []int64{99}, "0.99"},
		{"100 cents", []int64{100}, "1.00"},
		{"123456789 cents", []int64{123456789}, "1234567.89"},
		{"cents carry into units", []int64{1, 99}, "1.00"},
		{"mixed", []int64{123456, 1, 99}, "1235.56"},
		{"beyond int64 without overflow", []int64{math.MaxInt64, math.MaxInt64}, "184467440737095516.14"},
		{"negative", []int64{-150}, "-1.50"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ps []Payment
			for _, c := range tt.cents {
				ps = append(ps, Payment{AmountCents: c})
			}
			if got := ControlSum(ps); got != tt.want {
				t.Errorf("ControlSum(%v cents) = %q, want %q", tt.cents, got, tt.want)
			}
		})
	}
}

func TestLatin(t *testing.T) {
	tests := []struct {
		in   string
		max  int
		want string
	}{
		{"Jürgen Müller", 70, "Juergen Mueller"},
		{"ÄÖÜ äöü Straße", 70, "AeOeUe aeoeue Strasse"},
		{"Smith & Co", 70, "Smith + Co"},
		{"Café Crème, Łódź", 70, "Cafe Creme, Lodz"},
		{"Mu\u0308ller (decomposed), Zoe\u0308", 70, "Mueller (decomposed), Zoe"},
		{"Ref: 12/2025 - ok? 'yes' +1", 70, "Ref: 12/2025 - ok? 'yes' +1"},
		{"50% off_now @ \"x\" 李", 70, "50. off.now . .x. ."},
		{"  many \t spaces\nand\u00a0lines  ", 70, "many spaces and lines"},
		{strings.Repeat("ä", 40), 70, strings.Repeat("ae", 35)},
		{"abc def", 4, "abc"},
		{" \t\n", 70, ""},
	}
	for _, tt := range tests {
		if got := latin(tt.in, tt.max); got != tt.want {
			t.Errorf("latin(%q, %d) = %q, want %q", tt.in, tt.max, got, tt.want)
		}
	}
}

// parsedDoc reads back what the tests check, independently of the writer's
// structs.
type parsedDoc struct {
	GrpHdr struct {
		MsgID    string `xml:"MsgId"`
		CreDtTm  string `xml:"CreDtTm"`
		NbOfTxs  string `xml:"NbOfTxs"`
		CtrlSum  string `xml:"CtrlSum"`
		InitgPty string `xml:"InitgPty>Nm"`
	} `xml:"CstmrCdtTrfInitn>GrpHdr"`
	PmtInf struct {
		NbOfTxs  string `xml:"NbOfTxs"`
		CtrlSum  string `xml:"CtrlSum"`
		ExecDate string `xml:"ReqdExctnDt>Dt"`
		DbtrIBAN string `xml:"DbtrAcct>Id>IBAN"`
		DbtrBIC  string `xml:"DbtrAgt>FinInstnId>BICFI"`
		Txs      []struct {
			EndToEndID string `xml:"PmtId>EndToEndId"`
			Amt        struct {
				Ccy   string `xml:"Ccy,attr"`
				Value string `xml:",chardata"`
			} `xml:"Amt>InstdAmt"`
			CdtrAgt *struct {
				BIC string `xml:"FinInstnId>BICFI"`
			} `xml:"CdtrAgt"`
			Name   string  `xml:"Cdtr>Nm"`
			IBAN   string  `xml:"CdtrAcct>Id>IBAN"`
			RmtInf *string `xml:"RmtInf>Ustrd"`
		} `xml:"CdtTrfTxInf"`
	} `xml:"CstmrCdtTrfInitn>PmtInf"`
}

func TestSEPAContent(t *testing.T) {
	b := testBatch()
	out, err := SEPA(b)
	if err != nil {
		t.Fatalf("SEPA: %v", err)
	}
	if i := bytes.IndexFunc(out, func(r rune) bool { return r > 0x7f }); i >= 0 {
		t.Errorf("SEPA output has a non-ASCII character at byte %d: %q", i, out[max(0, i-20):min(len(out), i+20)])
	}
	var doc parsedDoc
	if err := xml.Unmarshal(out, &doc); err != nil {
		t.Fatalf("parse SEPA output: %v\n%s", err, out)
	}
	const wantSum = "1235.56" // 1234.56 + 0.01 + 0.99
	if got := ControlSum(b.Payments); got != wantSum {
		t.Fatalf("ControlSum = %q, want %q", got, wantSum)
	}
	for _, c := range []struct{ field, got, want string }{
		{"GrpHdr/MsgId", doc.GrpHdr.MsgID, b.MessageID},
		{"GrpHdr/CreDtTm", doc.GrpHdr.CreDtTm, "2025-03-14T09:26:53Z"},
		{"GrpHdr/NbOfTxs", doc.GrpHdr.NbOfTxs, "3"},
		{"GrpHdr/CtrlSum", doc.GrpHdr.CtrlSum, wantSum},
		{"GrpHdr/InitgPty/Nm", doc.GrpHdr.InitgPty, "Reallabor Foerderprogramm Sued"},
		{"PmtInf/NbOfTxs", doc.PmtInf.NbOfTxs, "3"},
		{"PmtInf/CtrlSum", doc.PmtInf.CtrlSum, wantSum},
		{"PmtInf/ReqdExctnDt/Dt", doc.PmtInf.ExecDate, "2025-03-17"},
		{"PmtInf/DbtrAcct IBAN", doc.PmtInf.DbtrIBAN, b.Debtor.IBAN},
		{"PmtInf/DbtrAgt BIC", doc.PmtInf.DbtrBIC, b.Debtor.BIC},
	} {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.field, c.got, c.want)
		}
	}
	if len(doc.PmtInf.Txs) != len(b.Payments) {
		t.Fatalf("got %d CdtTrfTxInf, want %d", len(doc.PmtInf.Txs), len(b.Payments))
	}
	want := []struct{ iban, amount, name, bic, ustrd string }{
		{"DE89370400440532013000", "1234.56", "Juergen Mueller-Weiss + Soehne GmbH", "COBADEFFXXX", "Tranche 1 Projekt Gruenflaeche"},
		{"AT611904300234573201", "0.01", "Stadtteilverein Nord e.V.", "", strings.TrimSpace(longReference[:140])},
		{"FR1420041010050500013M02606", "0.99", "Association Cafe Creme", "", ""},
	}
	for i, tx := range doc.PmtInf.Txs {
		w, p := want[i], b.Payments[i]
		if tx.EndToEndID != p.DisbursementID {
			t.Errorf("tx %d: EndToEndId = %q, want %q", i, tx.EndToEndID, p.DisbursementID)
		}
		if tx.IBAN != w.iban {
			t.Errorf("tx %d: CdtrAcct IBAN = %q, want %q (from %q)", i, tx.IBAN, w.iban, p.PayeeIBAN)
		}
		if tx.Amt.Value != w.amount || tx.Amt.Ccy != "EUR" {
			t.Errorf("tx %d: InstdAmt = %s %s, want EUR %s (%d cents)", i, tx.Amt.Ccy, tx.Amt.Value, w.amount, p.AmountCents)
		}
		if tx.Name != w.name {
			t.Errorf("tx %d: Cdtr/Nm = %q, want %q", i, tx.Name, w.name)
		}
		switch {
		case w.bic == "" && tx.CdtrAgt != nil:
			t.Errorf("tx %d: CdtrAgt present (%q) for a payee without BIC", i, tx.CdtrAgt.BIC)
		case w.bic != "" && (tx.CdtrAgt == nil || tx.CdtrAgt.BIC != w.bic):
			t.Errorf("tx %d: CdtrAgt = %+v, want BIC %q", i, tx.CdtrAgt, w.bic)
		}
		switch {
		case w.ustrd == "" && tx.RmtInf != nil:
			t.Errorf("tx %d: RmtInf/Ustrd = %q, want no RmtInf for an empty reference", i, *tx.RmtInf)
		case w.ustrd != "" && (tx.RmtInf == nil || *tx.RmtInf != w.ustrd):
			t.Errorf("tx %d: RmtInf/Ustrd = %v, want %q", i, tx.RmtInf, w.ustrd)
		}
		if tx.RmtInf != nil && len(*tx.RmtInf) > 140 {
			t.Errorf("tx %d: RmtInf/Ustrd has %d characters, max 140", i, len(*tx.RmtInf))
		}
	}
}

// xmllint validates doc against the EPC schema and returns xmllint's output
// and exit error. Without xmllint the test fails when CI is set, else skips.
func xmllint(t *testing.T, doc []byte) (string, error) {
	t.Helper()
	bin, err := exec.LookPath("xmllint")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("xmllint is not on PATH, so the SEPA file cannot be checked against the EPC schema: install libxml2-utils in CI")
		}
		t.Skip("xmllint is not on PATH: install libxml2-utils (apt-get install libxml2-utils) to validate SEPA files against the EPC schema")
	}
	file := filepath.Join(t.TempDir(), "pain.001.xml")
	if err := os.WriteFile(file, doc, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "--noout", "--schema", schema, file).CombinedOutput()
	return string(out), err
}

func TestSEPASchema(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*Batch)
	}{
		{"three payments, debtor with BIC", func(*Batch) {}},
		{"debtor without BIC (NOTPROVIDED)", func(b *Batch) { b.Debtor.BIC = "" }},
		{"single payment at the maximum amount", func(b *Batch) {
			b.Payments = b.Payments[:1]
			b.Payments[0].AmountCents = maxAmountCents
		}},
		{"70-character name and 140-character reference", func(b *Batch) {
			b.Payments[0].PayeeName = strings.Repeat("Müller ", 20)
			b.Payments[0].Reference = strings.Repeat("ß", 100)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := testBatch()
			tt.modify(&b)
			doc, err := SEPA(b)
			if err != nil {
				t.Fatalf("SEPA: %v", err)
			}
			if out, err := xmllint(t, doc); err != nil {
				t.Errorf("xmllint rejects the SEPA file: %v\n%s\n%s", err, out, doc)
			}
		})
	}
}

// TestSchemaRejectsBrokenDocuments shows the schema check is real: documents
// SEPA would never write, built by bypassing its checks, fail xmllint.
func TestSchemaRejectsBrokenDocuments(t *testing.T) {
	tests := []struct {
		name    string
		corrupt func(*document)
		want    string // in xmllint's complaint
	}{
		{"malformed IBAN", func(d *document) { d.Initn.PmtInf.CdtTrfTxInf[0].CdtrAcct.IBAN = "DE89-3704-0044" }, "IBAN"},
		{"amount with three decimals", func(d *document) { d.Initn.PmtInf.CdtTrfTxInf[1].InstdAmt.Value = "0.001" }, "InstdAmt"},
		{"name over 70 characters", func(d *document) { d.Initn.PmtInf.CdtTrfTxInf[2].Cdtr.Nm = strings.Repeat("x", 71) }, "Nm"},
		{"missing end-to-end id", func(d *document) { d.Initn.PmtInf.CdtTrfTxInf[0].EndToEndID = "" }, "EndToEndId"},
		{"lower-case debtor BIC", func(d *document) { d.Initn.PmtInf.DbtrAgt.BICFI = "byladem1001" }, "BICFI"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc, err := build(testBatch())
			if err != nil {
				t.Fatalf("build: %v", err)
			}
			tt.corrupt(&doc)
			out, err := encode(doc)
			if err != nil {
				t.Fatalf("encode: %v", err)
			}
			msg, err := xmllint(t, out)
			if err == nil {
				t.Fatalf("xmllint accepted a document with a %s:\n%s", tt.name, out)
			}
			if !strings.Contains(msg, tt.want) {
				t.Errorf("xmllint failed (%v) but its output does not mention %q:\n%s", err, tt.want, msg)
			}
		})
	}
}

func TestCSVRoundTrip(t *testing.T) {
	b := testBatch()
	b.Payments[2].Reference = "=HYPERLINK(\"http://evil\")" // formula from an applicant
	out, err := CSV(b)
	if err != nil {
		t.Fatalf("CSV: %v", err)
	}
	rows, err := csv.NewReader(bytes.NewReader(out)).ReadAll()
	if err != nil {
		t.Fatalf("read CSV back: %v\n%s", err, out)
	}
	want := [][]string{
		{"disbursement_id", "application_id", "programme_id", "tranche", "payee_name", "payee_iban", "amount_cents", "amount", "currency", "reference"},
		{"RL-0001-1", "app-1", "prog-1", "1", "Jürgen Müller-Weiß & Söhne GmbH", "DE89370400440532013000", "123456", "1234.56", "EUR", "Tranche 1 Projekt Grünfläche"},
		{"RL-0002-1", "app-2", "prog-1", "1", "Stadtteilverein Nord e.V.", "AT611904300234573201", "1", "0.01", "EUR", longReference},
		{"RL-0003-2", "app-3", "prog-1", "2", "Association Café Crème", "FR1420041010050500013M02606", "99", "0.99", "EUR", "'=HYPERLINK(\"http://evil\")"},
	}
	if len(rows) != len(want) {
		t.Fatalf("got %d CSV rows, want %d (header + %d payments):\n%s", len(rows), len(want), len(b.Payments), out)
	}
	for i := range want {
		if strings.Join(rows[i], "|") != strings.Join(want[i], "|") {
			t.Errorf("CSV row %d:\n got %q\nwant %q", i, rows[i], want[i])
		}
	}
	var cents int64
	for _, r := range rows[1:] {
		c, err := strconv.ParseInt(r[6], 10, 64)
		if err != nil {
			t.Fatalf("amount_cents %q: %v", r[6], err)
		}
		cents += c
	}
	if got := amount(cents); got != ControlSum(b.Payments) {
		t.Errorf("sum of amount_cents = %s, want the control sum %s", got, ControlSum(b.Payments))
	}
}

func TestErrors(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*Batch)
		want   string // in the error message
	}{
		{"empty batch", func(b *Batch) { b.Payments = nil }, "no payments"},
		{"non-EUR currency", func(b *Batch) { b.Payments[1].Currency = "USD" }, `payment 2 ("RL-0002-1"): currency "USD" is not EUR`},
		{"missing currency", func(b *Batch) { b.Payments[0].Currency = "" }, `currency "" is not EUR`},
		{"zero amount", func(b *Batch) { b.Payments[0].AmountCents = 0 }, "amount 0 cents"},
		{"negative amount", func(b *Batch) { b.Payments[2].AmountCents = -100 }, "amount -100 cents"},
		{"amount above the SEPA maximum", func(b *Batch) { b.Payments[0].AmountCents = maxAmountCents + 1 }, "999999999.99"},
		{"missing payee IBAN", func(b *Batch) { b.Payments[1].PayeeIBAN = " " }, "payee IBAN is missing"},
		{"payee IBAN with wrong check digits", func(b *Batch) { b.Payments[0].PayeeIBAN = "DE88370400440532013000" }, "wrong check digits"},
		{"malformed payee IBAN", func(b *Batch) { b.Payments[0].PayeeIBAN = "DE89-3704" }, "malformed"},
		{"malformed payee BIC", func(b *Batch) { b.Payments[0].PayeeBIC = "COBA" }, `BIC "COBA" is malformed`},
		{"missing payee name", func(b *Batch) { b.Payments[2].PayeeName = "" }, "payee name is missing"},
		{"end-to-end id over 35 characters", func(b *Batch) {
			b.Payments[0].DisbursementID = "0190c3f2-a67b-7d8e-9f00-112233445566-1" // application UUID + tranche
		}, "longer than 35"},
		{"end-to-end id with a character outside the EPC set", func(b *Batch) { b.Payments[0].DisbursementID = "RL_0001" }, "EPC Latin"},
		{"duplicate disbursement", func(b *Batch) { b.Payments[2].DisbursementID = b.Payments[0].DisbursementID }, "appears twice"},
	}
	// headerTests break fields of the SEPA header or debtor, which the CSV
	// does not hold: CSV must still succeed.
	headerTests := []struct {
		name   string
		modify func(*Batch)
		want   string
	}{
		{"missing debtor IBAN", func(b *Batch) { b.Debtor.IBAN = "" }, "debtor: IBAN is missing"},
		{"missing debtor name", func(b *Batch) { b.Debtor.Name = "  " }, "debtor name is missing"},
		{"missing message id", func(b *Batch) { b.MessageID = "" }, "message id: missing"},
		{"missing creation time", func(b *Batch) { b.CreatedAt = time.Time{} }, "creation time"},
	}
	sepaOnly := map[string]bool{}
	for _, tt := range headerTests {
		tests = append(tests, tt)
		sepaOnly[tt.name] = true
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := testBatch()
			tt.modify(&b)
			for _, w := range []struct {
				name  string
				write func(Batch) ([]byte, error)
			}{{"SEPA", SEPA}, {"CSV", CSV}} {
				out, err := w.write(b)
				if sepaOnly[tt.name] && w.name == "CSV" {
					if err != nil {
						t.Errorf("CSV error = %q, want none: the CSV holds no header or debtor fields", err)
					}
					continue
				}
				if err == nil {
					t.Fatalf("%s accepted the batch, want an error containing %q; wrote:\n%s", w.name, tt.want, out)
				}
				if !errors.Is(err, ErrInvalidBatch) || !strings.Contains(err.Error(), tt.want) {
					t.Errorf("%s error = %q, want ErrInvalidBatch containing %q", w.name, err, tt.want)
				}
			}
		})
	}
}
