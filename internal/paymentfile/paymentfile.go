// Package paymentfile writes payment files for approved disbursements: SEPA
// credit transfer (pain.001.001.09) and CSV.
//
// Both writers check the payments the same way first (see ErrInvalidBatch), so
// the two files of one batch always describe the same payments. The SEPA file
// follows the EPC SEPA Credit Transfer customer-to-PSP implementation
// guidelines (EPC132-08, 2023); its schema is in testdata.
package paymentfile

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"math/big"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Debtor is the paying programme account.
type Debtor struct{ Name, IBAN, BIC string }

// Payment is one approved disbursement to pay.
type Payment struct {
	DisbursementID string // unique end-to-end id, <= 35 chars
	ApplicationID  string
	ProgrammeID    string
	Tranche        int // 1-based
	PayeeName      string
	PayeeIBAN      string
	PayeeBIC       string // optional
	AmountCents    int64  // > 0
	Currency       string // "EUR"
	Reference      string // remittance information (unstructured, <= 140 chars, truncated if longer)
}

// Batch is one payment file: the payments of one debtor account.
type Batch struct {
	MessageID     string    // <= 35 chars
	CreatedAt     time.Time // UTC
	Debtor        Debtor
	ExecutionDate time.Time // requested execution date (date only)
	Payments      []Payment
}

// ErrInvalidBatch is wrapped by every error SEPA and CSV return for a batch
// they refuse to write; test for it with errors.Is.
var ErrInvalidBatch = errors.New("paymentfile: invalid batch")

// maxAmountCents is the largest single SEPA credit transfer, 999999999.99 EUR.
const maxAmountCents = 99_999_999_999

var (
	ibanPattern = regexp.MustCompile(`^[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}$`)
	bicPattern  = regexp.MustCompile(`^[A-Z0-9]{4}[A-Z]{2}[A-Z0-9]{2}([A-Z0-9]{3})?$`)
)

// ControlSum returns the sum of the payments' amounts in units with two
// decimals, e.g. "1234.56", computed exactly on the cents (no floats, no
// overflow).
func ControlSum(payments []Payment) string {
	sum := new(big.Int)
	for _, p := range payments {
		sum.Add(sum, big.NewInt(p.AmountCents))
	}
	return formatCents(sum)
}

// formatCents formats an amount in cents as units with two decimals.
func formatCents(c *big.Int) string {
	sign := ""
	if c.Sign() < 0 {
		sign = "-"
	}
	units, cents := new(big.Int).QuoRem(new(big.Int).Abs(c), big.NewInt(100), new(big.Int))
	return fmt.Sprintf("%s%s.%02d", sign, units, cents.Int64())
}

// amount formats one amount in cents as units with two decimals.
func amount(cents int64) string { return formatCents(big.NewInt(cents)) }

// CSV returns the batch's payments as CSV (encoding/csv, comma-separated, one
// header row, one row per payment). It checks the payments as SEPA does, but
// not the message id, times or debtor, which the CSV does not hold. IBANs are in electronic form (no spaces, upper
// case); names and references are kept as given, in UTF-8 and not shortened.
// A text cell starting with =, +, -, @, tab or carriage return gets a leading
// apostrophe, so a spreadsheet shows it rather than evaluating it.
func CSV(b Batch) ([]byte, error) {
	payments, err := normalisePayments(b.Payments)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	_ = w.Write([]string{"disbursement_id", "application_id", "programme_id", "tranche", "payee_name",
		"payee_iban", "amount_cents", "amount", "currency", "reference"})
	for _, p := range payments {
		_ = w.Write([]string{cell(p.DisbursementID), cell(p.ApplicationID), cell(p.ProgrammeID),
			strconv.Itoa(p.Tranche), cell(p.PayeeName), p.PayeeIBAN, strconv.FormatInt(p.AmountCents, 10),
			amount(p.AmountCents), p.Currency, cell(p.Reference)})
	}
	w.Flush() // errors of Write are sticky and reported by Error
	if err := w.Error(); err != nil {
		return nil, fmt.Errorf("paymentfile: write CSV: %w", err)
	}
	return buf.Bytes(), nil
}

// cell neutralises spreadsheet formulas in a text cell (CSV injection).
func cell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// invalid returns an error wrapping ErrInvalidBatch.
func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidBatch, fmt.Sprintf(format, args...))
}

// normalise checks the batch and returns a copy with IBANs and BICs in
// electronic form.
func normalise(b Batch) (Batch, error) {
	var err error
	if b.Payments, err = normalisePayments(b.Payments); err != nil {
		return Batch{}, err
	}
	if err := checkID(b.MessageID); err != nil {
		return Batch{}, invalid("message id: %v", err)
	}
	if b.CreatedAt.IsZero() || b.ExecutionDate.IsZero() {
		return Batch{}, invalid("creation time and execution date are required")
	}
	if latin(b.Debtor.Name, 70) == "" {
		return Batch{}, invalid("debtor name is missing")
	}
	if b.Debtor.IBAN, err = normaliseIBAN(b.Debtor.IBAN); err != nil {
		return Batch{}, invalid("debtor: %v", err)
	}
	if b.Debtor.BIC, err = normaliseBIC(b.Debtor.BIC); err != nil {
		return Batch{}, invalid("debtor: %v", err)
	}
	return b, nil
}

// normalisePayments checks the payments and returns a copy with IBANs and
// BICs in electronic form. Errors name the payment by position and id.
func normalisePayments(payments []Payment) ([]Payment, error) {
	if len(payments) == 0 {
		return nil, invalid("no payments")
	}
	out := make([]Payment, len(payments))
	seen := make(map[string]bool, len(payments))
	for i, p := range payments {
		fail := func(format string, args ...any) ([]Payment, error) {
			return nil, invalid("payment %d (%q): %s", i+1, p.DisbursementID, fmt.Sprintf(format, args...))
		}
		var err error
		if err := checkID(p.DisbursementID); err != nil {
			return fail("disbursement id: %v", err)
		}
		if seen[p.DisbursementID] {
			return fail("disbursement id appears twice")
		}
		seen[p.DisbursementID] = true
		if p.Currency != "EUR" {
			return fail("currency %q is not EUR", p.Currency)
		}
		if p.AmountCents <= 0 || p.AmountCents > maxAmountCents {
			return fail("amount %d cents is not between 0.01 and 999999999.99", p.AmountCents)
		}
		if latin(p.PayeeName, 70) == "" {
			return fail("payee name is missing")
		}
		if p.PayeeIBAN, err = normaliseIBAN(p.PayeeIBAN); err != nil {
			return fail("payee %v", err)
		}
		if p.PayeeBIC, err = normaliseBIC(p.PayeeBIC); err != nil {
			return fail("payee %v", err)
		}
		out[i] = p
	}
	return out, nil
}

// checkID checks an identifier (message or end-to-end id) against the EPC
// rules: 1 to 35 characters of the EPC Latin set, not starting or ending
// with '/' and without "//". Identifiers are never altered, so that
// reconciliation finds them unchanged.
func checkID(id string) error {
	switch {
	case id == "":
		return errors.New("missing")
	case len(id) > 35:
		return fmt.Errorf("%q is longer than 35 characters", id)
	case strings.IndexFunc(id, func(r rune) bool { return !strings.ContainsRune(epcLatin, r) }) >= 0:
		return fmt.Errorf("%q has characters outside the EPC Latin set", id)
	case strings.HasPrefix(id, "/") || strings.HasSuffix(id, "/") || strings.Contains(id, "//"):
		return fmt.Errorf("%q starts or ends with '/' or contains \"//\"", id)
	}
	return nil
}

// normaliseIBAN returns the IBAN without spaces, upper-cased, after checking
// its form (15 to 34 characters) and ISO 7064 MOD 97-10 check digits (02 to
// 98); country-specific lengths are not checked.
func normaliseIBAN(s string) (string, error) {
	s = strings.ToUpper(strings.Join(strings.Fields(s), ""))
	if s == "" {
		return "", errors.New("IBAN is missing")
	}
	if !ibanPattern.MatchString(s) {
		return "", fmt.Errorf("IBAN %q is malformed", s)
	}
	rem := 0
	for _, c := range s[4:] + s[:4] {
		if c <= '9' {
			rem = (rem*10 + int(c-'0')) % 97
		} else {
			rem = (rem*100 + int(c-'A') + 10) % 97
		}
	}
	if cd := s[2:4]; rem != 1 || cd == "00" || cd == "01" || cd == "99" {
		return "", fmt.Errorf("IBAN %q has wrong check digits", s)
	}
	return s, nil
}

// normaliseBIC returns the BIC without spaces, upper-cased, after checking
// its form; an empty BIC stays empty (it is optional).
func normaliseBIC(s string) (string, error) {
	s = strings.ToUpper(strings.Join(strings.Fields(s), ""))
	if s != "" && !bicPattern.MatchString(s) {
		return "", fmt.Errorf("BIC %q is malformed", s)
	}
	return s, nil
}
