package api

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/go-pdf/fpdf"
	"github.com/labstack/echo/v4"

	"reallabor/models"
)

// letter is a one-column A4 document in the core fonts, German and English,
// uncompressed so the office's tools can search it.
type letter struct {
	pdf *fpdf.Fpdf
	tr  func(string) string
}

func newLetter(title string) *letter {
	pdf := fpdf.New("P", "mm", "A4", "")
	pdf.SetTitle(title, true)
	pdf.SetCreator("Reallabor grants", true)
	pdf.SetCompression(false)
	l := &letter{pdf: pdf, tr: pdf.UnicodeTranslatorFromDescriptor("")} // UTF-8 to cp1252
	pdf.AddPage()
	pdf.SetFont("Helvetica", "B", 16)
	pdf.MultiCell(0, 8, l.tr(title), "", "L", false)
	pdf.Ln(4)
	return l
}

// line is a label and its value.
func (l *letter) line(label, value string) {
	l.pdf.SetFont("Helvetica", "B", 11)
	l.pdf.CellFormat(60, 7, l.tr(label), "", 0, "L", false, 0, "")
	l.pdf.SetFont("Helvetica", "", 11)
	l.pdf.MultiCell(0, 7, l.tr(value), "", "L", false)
}

// heading starts a section.
func (l *letter) heading(text string) {
	l.pdf.Ln(3)
	l.pdf.SetFont("Helvetica", "B", 12)
	l.pdf.MultiCell(0, 7, l.tr(text), "", "L", false)
}

// para is running text.
func (l *letter) para(text string) {
	l.pdf.SetFont("Helvetica", "", 10)
	l.pdf.MultiCell(0, 5.5, l.tr(text), "", "L", false)
	l.pdf.Ln(1.5)
}

func (l *letter) bytes(what string) ([]byte, error) {
	var buf bytes.Buffer
	if err := l.pdf.Output(&buf); err != nil {
		return nil, fmt.Errorf("%s PDF: %w", what, err)
	}
	return buf.Bytes(), nil
}

func date(t time.Time) string { return t.UTC().Format("02.01.2006") }

// letterSubject is what a letter is about: the application as the projection
// holds it, with its programme.
type letterSubject struct {
	st        models.ApplicationState
	programme models.Programme
	issued    time.Time
}

func (s *Server) letterSubject(c echo.Context) (letterSubject, error) {
	rec, err := s.visible(c)
	if err != nil {
		return letterSubject{}, err
	}
	st, err := projectedState(rec)
	if err != nil {
		return letterSubject{}, err
	}
	prog, err := s.cfg.Store.Programme(c.Request().Context(), rec.ProgrammeID)
	if err != nil {
		return letterSubject{}, err
	}
	return letterSubject{st: st, programme: prog, issued: s.cfg.Now()}, nil
}

func (ls letterSubject) header(l *letter) {
	p := ls.st.Proposal
	l.line("Programm / Programme", ls.programme.Name)
	l.line("Vorhaben / Project", p.Title)
	l.line("Antrag / Application", ls.st.ID)
	l.line("Verbund / Group", p.Group.Name+" ("+strings.Join(p.Group.Organisations(), ", ")+")")
	l.line("Eingereicht / Submitted", date(ls.st.SubmittedAt))
	l.line("Datum / Date", date(ls.issued))
}

func sendPDF(c echo.Context, name string, pdf []byte) error {
	c.Response().Header().Set(echo.HeaderContentDisposition, fmt.Sprintf(`attachment; filename="%s"`, name))
	return c.Blob(http.StatusOK, "application/pdf", pdf)
}

// decisionLetter is the notice of the decision on an application (PDF):
// the grant with its amount, rate and payment plan; or the refusal with its
// reasons (the board's mean score against the threshold, or the rules the
// proposal broke). 409 before there is a decision.
func (s *Server) decisionLetter(c echo.Context) error {
	ls, err := s.letterSubject(c)
	if err != nil {
		return err
	}
	st, r := ls.st, ls.st.Rules
	var decided bool
	l := newLetter("Bescheid / Decision")
	ls.header(l)
	switch {
	case st.Status == models.StatusIneligible:
		decided = true
		l.heading("Nicht förderfähig / Not eligible")
		l.para("Der Antrag erfüllt die Fördervoraussetzungen des Programms nicht. / The application does not meet the programme's conditions:")
		for _, fe := range st.Ineligibility {
			l.para("- " + fe.Field + ": " + fe.Message)
		}
	case st.Decision != nil && st.Decision.Decision == models.DecisionReject:
		decided = true
		l.heading("Ablehnung / Refusal")
		l.para(fmt.Sprintf("Der Lenkungskreis hat den Antrag in Runde %d mit durchschnittlich %s Punkten bewertet (Schwelle %s) und abgelehnt. / "+
			"The steering board scored the application %s on average in round %d (threshold %s) and refused it.",
			st.Decision.Round+1, milli(st.Decision.MeanMilli), milli(r.ApprovalThresholdMilli),
			milli(st.Decision.MeanMilli), st.Decision.Round+1, milli(r.ApprovalThresholdMilli)))
	case st.GrantedCents > 0 || st.Status == models.StatusWaitlisted:
		decided = true
		if st.Status == models.StatusWaitlisted {
			l.heading("Bewilligt, auf der Warteliste / Approved, waitlisted")
			l.para("Die Mittel des Programms sind derzeit gebunden; der Antrag rückt in der Reihenfolge der Bewilligung nach. / " +
				"The programme's funds are committed at present; the application moves up in the order of approval.")
		} else {
			l.heading("Bewilligung / Grant")
		}
		grant := st.GrantedCents
		if grant == 0 {
			grant = st.Proposal.RequestedCents
		}
		l.line("Zuwendung / Grant", models.FormatEuro(grant))
		l.line("Förderquote / Funding rate", fmt.Sprintf("%d %% der zuwendungsfähigen Ausgaben / of eligible costs (%s)",
			r.FundingRatePercent, models.FormatEuro(st.Proposal.TotalCostCents)))
		l.line("Zeitraum / Period", date(st.Proposal.StartDate)+" – "+date(st.Proposal.EndDate))
		for _, t := range st.Tranches {
			l.line(fmt.Sprintf("Rate / Tranche %d", t.Number), fmt.Sprintf("%s (%d %%, %s)", models.FormatEuro(t.AmountCents), t.Percent, triggerText(t.Trigger)))
		}
		if st.Deadlines.Acceptance != nil {
			l.para("Bitte nehmen Sie den Zuwendungsvertrag bis zum " + date(*st.Deadlines.Acceptance) + " an; danach verfällt die Bewilligung. / " +
				"Please accept the grant agreement by " + date(*st.Deadlines.Acceptance) + "; the grant lapses after that.")
		}
		if st.Decision != nil {
			l.para(fmt.Sprintf("Bewertung des Lenkungskreises / Steering board's score: %s (Schwelle / threshold %s).",
				milli(st.Decision.MeanMilli), milli(r.ApprovalThresholdMilli)))
		}
	}
	if !decided {
		return problem(http.StatusConflict, "no decision yet: the application is "+string(st.Status))
	}
	pdf, err := l.bytes("decision letter")
	if err != nil {
		return err
	}
	return sendPDF(c, "bescheid-"+st.ID+".pdf", pdf)
}

// grantAgreement is the agreement between the fund and the group (PDF): the
// parties, the grant, the payment plan, the duties to report, and what is
// owed back when less is spent or the grant is cancelled. 409 until a grant
// is made.
func (s *Server) grantAgreement(c echo.Context) error {
	ls, err := s.letterSubject(c)
	if err != nil {
		return err
	}
	st, r := ls.st, ls.st.Rules
	if st.GrantedCents == 0 || len(st.Tranches) == 0 {
		return problem(http.StatusConflict, "no grant made: the application is "+string(st.Status))
	}
	l := newLetter("Zuwendungsvertrag / Grant agreement")
	ls.header(l)
	funder := ls.programme.DebtorName
	if funder == "" {
		funder = ls.programme.Name
	}
	l.heading("§ 1 Parteien / Parties")
	l.para("Zuwendungsgeber / Funder: " + funder)
	p := st.Proposal
	l.para("Zuwendungsempfänger / Recipient: " + p.Group.Name + ", vertreten durch / represented by " + p.Group.Lead +
		"; Mitglieder / members: " + strings.Join(p.Group.Organisations(), ", "))
	l.heading("§ 2 Zuwendung / Grant")
	l.para(fmt.Sprintf("Für das Vorhaben \"%s\" (%s – %s) wird eine Zuwendung von höchstens %s gewährt, %d %% der zuwendungsfähigen "+
		"Ausgaben von %s, als De-minimis-Beihilfe nach Verordnung (EU) 2023/2831. / A grant of at most %s is made for the project, "+
		"%d %% of the eligible costs of %s, as de-minimis aid under Regulation (EU) 2023/2831.",
		p.Title, date(p.StartDate), date(p.EndDate), models.FormatEuro(st.GrantedCents), r.FundingRatePercent,
		models.FormatEuro(p.TotalCostCents), models.FormatEuro(st.GrantedCents), r.FundingRatePercent, models.FormatEuro(p.TotalCostCents)))
	l.heading("§ 3 Auszahlung / Payment")
	l.para("Auf das Konto / To the account: " + p.Payee.Name + ", IBAN " + p.Payee.IBAN)
	for _, t := range st.Tranches {
		l.line(fmt.Sprintf("Rate / Tranche %d", t.Number), fmt.Sprintf("%s (%d %%, %s)", models.FormatEuro(t.AmountCents), t.Percent, triggerText(t.Trigger)))
	}
	l.para("Jede Zahlung wird von zwei Personen der Finanzabteilung freigegeben und ausgeführt. / Every payment is approved and made by two people of finance.")
	l.heading("§ 4 Berichte / Reports")
	l.para(fmt.Sprintf("Ein Zwischenbericht ist %d Tage nach Vertragsannahme fällig, der Abschlussbericht mit den tatsächlichen Ausgaben %d Tage "+
		"nach Projektende. / An interim report is due %d days after acceptance, the final report with the actual costs %d days after the project's end.",
		days2(r.InterimReportAfter), days2(r.FinalReportAfter), days2(r.InterimReportAfter), days2(r.FinalReportAfter)))
	l.heading("§ 5 Abrechnung und Rückforderung / Settlement and repayment")
	interest := "Zinsen werden nicht erhoben. / No interest is charged."
	if r.RepaymentInterestBasisPoints > 0 {
		interest = fmt.Sprintf("Nach Fälligkeit werden %s %% Zinsen jährlich auf den offenen Betrag erhoben. / After the due date, "+
			"interest of %s %% a year runs on the amount outstanding.", bp(r.RepaymentInterestBasisPoints), bp(r.RepaymentInterestBasisPoints))
	}
	l.para(fmt.Sprintf("Die Zuwendung wird nach dem Abschlussbericht auf %d %% der anerkannten Ausgaben festgesetzt; zu viel Gezahltes ist "+
		"binnen %d Tagen zurückzuzahlen, ebenso alles Gezahlte bei Widerruf. / The grant is set at %d %% of the recognised costs after the "+
		"final report; what was paid beyond it is due back within %d days, as is everything paid if the grant is revoked. ",
		r.FundingRatePercent, days2(repaymentDue(r)), r.FundingRatePercent, days2(repaymentDue(r))) + interest)
	l.heading("§ 6 Annahme / Acceptance")
	if accepted, ok := s.acceptance(c, st.ID); ok {
		l.para("Angenommen am / Accepted on " + date(accepted.At) + " durch / by " + accepted.ActorName + ".")
	} else if st.Deadlines.Acceptance != nil {
		l.para("Anzunehmen bis / To be accepted by " + date(*st.Deadlines.Acceptance) + " (POST /applications/" + st.ID + "/acceptance).")
	}
	pdf, err := l.bytes("grant agreement")
	if err != nil {
		return err
	}
	return sendPDF(c, "zuwendungsvertrag-"+st.ID+".pdf", pdf)
}

// acceptance is the audit event of the agreement's acceptance, if any.
func (s *Server) acceptance(c echo.Context, id string) (models.EventRecord, bool) {
	events, err := s.cfg.Store.Events(c.Request().Context(), id)
	if err != nil {
		return models.EventRecord{}, false
	}
	for _, e := range events {
		if e.Kind == "agreement_accepted" {
			return e, true
		}
	}
	return models.EventRecord{}, false
}

func triggerText(t models.TrancheTrigger) string {
	switch t {
	case models.TriggerAcceptance:
		return "bei Vertragsannahme / on acceptance"
	case models.TriggerInterimReport:
		return "nach angenommenem Zwischenbericht / after the interim report is accepted"
	case models.TriggerFinalReport:
		return "nach Abrechnung des Abschlussberichts / after the final report's settlement"
	}
	return string(t)
}

func milli(v int) string { return fmt.Sprintf("%d.%03d", v/1000, v%1000) }

func bp(v int) string { return fmt.Sprintf("%d.%02d", v/100, v%100) }

func days2(d time.Duration) int { return int(d / (24 * time.Hour)) }
