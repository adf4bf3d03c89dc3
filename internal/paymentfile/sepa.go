package paymentfile

import (
	"encoding/xml"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// The pain.001.001.09 document, restricted to the elements this package
// writes, in schema order (encoding/xml writes fields in declaration order).
type (
	document struct {
		XMLName xml.Name   `xml:"urn:iso:std:iso:20022:tech:xsd:pain.001.001.09 Document"`
		Initn   initiation `xml:"CstmrCdtTrfInitn"`
	}
	initiation struct {
		GrpHdr groupHeader `xml:"GrpHdr"`
		PmtInf paymentInfo `xml:"PmtInf"`
	}
	groupHeader struct {
		MsgID    string `xml:"MsgId"`
		CreDtTm  string `xml:"CreDtTm"`
		NbOfTxs  string `xml:"NbOfTxs"`
		CtrlSum  string `xml:"CtrlSum"`
		InitgPty party  `xml:"InitgPty"`
	}
	paymentInfo struct {
		PmtInfID    string        `xml:"PmtInfId"`
		PmtMtd      string        `xml:"PmtMtd"`
		BtchBookg   bool          `xml:"BtchBookg"`
		NbOfTxs     string        `xml:"NbOfTxs"`
		CtrlSum     string        `xml:"CtrlSum"`
		SvcLvlCd    string        `xml:"PmtTpInf>SvcLvl>Cd"`
		ReqdExctnDt string        `xml:"ReqdExctnDt>Dt"`
		Dbtr        party         `xml:"Dbtr"`
		DbtrAcct    account       `xml:"DbtrAcct"`
		DbtrAgt     agent         `xml:"DbtrAgt"`
		ChrgBr      string        `xml:"ChrgBr"`
		CdtTrfTxInf []transaction `xml:"CdtTrfTxInf"`
	}
	transaction struct {
		EndToEndID string      `xml:"PmtId>EndToEndId"`
		InstdAmt   instdAmt    `xml:"Amt>InstdAmt"`
		CdtrAgt    *agent      `xml:"CdtrAgt,omitempty"`
		Cdtr       party       `xml:"Cdtr"`
		CdtrAcct   account     `xml:"CdtrAcct"`
		RmtInf     *remittance `xml:"RmtInf,omitempty"`
	}
	party struct {
		Nm string `xml:"Nm"`
	}
	account struct {
		IBAN string `xml:"Id>IBAN"`
	}
	// agent holds either a BIC or, for a debtor agent without one, Othr/Id
	// "NOTPROVIDED" (the only alternative the EPC schema allows). A pointer
	// omits Othr: encoding/xml would write the parents of an empty "a>b" leaf.
	agent struct {
		BICFI string `xml:"FinInstnId>BICFI,omitempty"`
		Othr  *other `xml:"FinInstnId>Othr,omitempty"`
	}
	other struct {
		ID string `xml:"Id"`
	}
	instdAmt struct {
		Ccy   string `xml:"Ccy,attr"`
		Value string `xml:",chardata"`
	}
	remittance struct {
		Ustrd string `xml:"Ustrd"`
	}
)

// SEPA returns the batch as a SEPA credit transfer initiation
// (pain.001.001.09, EPC 2023): one payment information block (batch booking
// requested, service level SEPA, charges SLEV) with one transaction per
// payment, in the order given.
//
// Names and remittance texts are reduced to the EPC Latin character set (see
// latin) and shortened to 70 (names) and 140 (remittance) characters. The
// creation time is written in UTC; the execution date is the calendar date of
// ExecutionDate in its own location. A creditor agent is written only when
// the payee has a BIC; a debtor without a BIC gets the agent "NOTPROVIDED".
func SEPA(b Batch) ([]byte, error) {
	doc, err := build(b)
	if err != nil {
		return nil, err
	}
	return encode(doc)
}

// build maps a checked batch to the document.
func build(b Batch) (document, error) {
	b, err := normalise(b)
	if err != nil {
		return document{}, err
	}
	n, sum := strconv.Itoa(len(b.Payments)), ControlSum(b.Payments)
	debtor := party{Nm: latin(b.Debtor.Name, 70)}
	debtorAgent := agent{BICFI: b.Debtor.BIC}
	if debtorAgent.BICFI == "" {
		debtorAgent.Othr = &other{ID: "NOTPROVIDED"}
	}
	txs := make([]transaction, len(b.Payments))
	for i, p := range b.Payments {
		txs[i] = transaction{
			EndToEndID: p.DisbursementID,
			InstdAmt:   instdAmt{Ccy: "EUR", Value: amount(p.AmountCents)},
			Cdtr:       party{Nm: latin(p.PayeeName, 70)},
			CdtrAcct:   account{IBAN: p.PayeeIBAN},
		}
		if p.PayeeBIC != "" {
			txs[i].CdtrAgt = &agent{BICFI: p.PayeeBIC}
		}
		if ref := latin(p.Reference, 140); ref != "" {
			txs[i].RmtInf = &remittance{Ustrd: ref}
		}
	}
	return document{Initn: initiation{
		GrpHdr: groupHeader{
			MsgID:    b.MessageID,
			CreDtTm:  b.CreatedAt.UTC().Format(time.RFC3339),
			NbOfTxs:  n,
			CtrlSum:  sum,
			InitgPty: debtor,
		},
		PmtInf: paymentInfo{
			PmtInfID:    b.MessageID,
			PmtMtd:      "TRF",
			BtchBookg:   true,
			NbOfTxs:     n,
			CtrlSum:     sum,
			SvcLvlCd:    "SEPA",
			ReqdExctnDt: b.ExecutionDate.Format(time.DateOnly),
			Dbtr:        debtor,
			DbtrAcct:    account{IBAN: b.Debtor.IBAN},
			DbtrAgt:     debtorAgent,
			ChrgBr:      "SLEV",
			CdtTrfTxInf: txs,
		},
	}}, nil
}

// encode writes the document as indented XML with an XML declaration.
func encode(doc document) ([]byte, error) {
	out, err := xml.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("paymentfile: encode SEPA XML: %w", err)
	}
	return append([]byte(xml.Header), append(out, '\n')...), nil
}

// epcLatin is the character set of the EPC SEPA guidelines ("Basic Latin").
// The 2023 schema no longer enforces it with patterns, but the guidelines
// still require it and banks reject or garble other characters.
const epcLatin = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/-?:().,'+ "

// transliterations maps characters outside epcLatin to their usual
// replacement; German umlauts and ß follow the German convention.
var transliterations = func() map[rune]string {
	m := map[rune]string{'ä': "ae", 'ö': "oe", 'ü': "ue", 'Ä': "Ae", 'Ö': "Oe", 'Ü': "Ue", 'ß': "ss", 'ẞ': "SS",
		'æ': "ae", 'Æ': "AE", 'œ': "oe", 'Œ': "OE", '&': "+"}
	for from, to := range map[string]string{
		"àáâãåāăą": "a", "ÀÁÂÃÅĀĂĄ": "A", "çćčĉ": "c", "ÇĆČĈ": "C", "ďđ": "d", "ĎĐ": "D",
		"èéêëēėęě": "e", "ÈÉÊËĒĖĘĚ": "E", "ğ": "g", "Ğ": "G", "ìíîïīį": "i", "ÌÍÎÏĪĮİ": "I",
		"łľĺ": "l", "ŁĽĹ": "L", "ñńňņ": "n", "ÑŃŇŅ": "N", "òóôõøōő": "o", "ÒÓÔÕØŌŐ": "O",
		"řŕ": "r", "ŘŔ": "R", "śšşș": "s", "ŚŠŞȘ": "S", "ťţț": "t", "ŤŢȚ": "T",
		"ùúûūůűų": "u", "ÙÚÛŪŮŰŲ": "U", "ýÿ": "y", "ÝŸ": "Y", "źžż": "z", "ŹŽŻ": "Z",
	} {
		for _, r := range from {
			m[r] = to
		}
	}
	return m
}()

// latin reduces s to the EPC Latin character set and at most max characters:
// known letters are transliterated (ä → ae, é → e, & → +; a decomposed umlaut
// such as "a\u0308" too), other combining marks are dropped, runs of white
// space become one space, and any other character becomes '.'. The result is
// trimmed; it is empty if s holds nothing printable.
func latin(s string, max int) string {
	var b strings.Builder
	var prev rune
	for _, r := range s {
		switch t, ok := transliterations[r]; {
		case r < 0x80 && strings.ContainsRune(epcLatin, r):
			b.WriteRune(r)
		case ok:
			b.WriteString(t)
		case r == '\u0308' && strings.ContainsRune("aouAOU", prev):
			b.WriteByte('e')
		case unicode.Is(unicode.Mn, r):
		case unicode.IsSpace(r):
			b.WriteByte(' ')
		default:
			b.WriteByte('.')
		}
		prev = r
	}
	out := strings.Join(strings.Fields(b.String()), " ")
	if len(out) > max { // all ASCII now: bytes are characters
		out = strings.TrimRight(out[:max], " ")
	}
	return out
}
