package api

import (
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"reallabor/internal/store"
	"reallabor/models"
)

// OrganisationAid is one organisation's line of the state-aid report.
type OrganisationAid struct {
	OrganisationID string `json:"organisation_id"`
	Name           string `json:"name"`
	RegisterNumber string `json:"register_number,omitempty"`
	// PeriodCents is the aid granted in the period asked for.
	PeriodCents int64 `json:"period_cents"`
	// ThreeYearsCents is the aid granted in the three years before today:
	// what counts against the de-minimis ceiling now.
	ThreeYearsCents int64            `json:"three_years_cents"`
	Grants          []store.StateAid `json:"grants"`
}

// StateAidReport is the de-minimis aid this fund granted, per organisation.
type StateAidReport struct {
	From          *time.Time        `json:"from,omitempty"`
	To            *time.Time        `json:"to,omitempty"`
	CeilingCents  int64             `json:"ceiling_cents"`
	Organisations []OrganisationAid `json:"organisations"`
}

// stateAidReport lists the state-aid register per organisation (admin,
// finance): every grant in the period (from, to; default all), and what
// counts against each organisation's ceiling today.
func (s *Server) stateAidReport(c echo.Context) error {
	ctx := c.Request().Context()
	f := store.StateAidFilter{OrganisationID: strings.TrimSpace(c.QueryParam("organisation_id"))}
	var fields []models.FieldError
	f.Since, f.Until, fields = period(c)
	if len(f.OrganisationID) > 64 {
		fields = append(fields, models.FieldError{Field: "organisation_id", Message: "must be at most 64 characters"})
	}
	if len(fields) > 0 {
		return invalidFields(fields...)
	}
	entries, err := s.cfg.Store.StateAidEntries(ctx, f)
	if err != nil {
		return err
	}
	report := StateAidReport{CeilingCents: models.DeMinimisCeilingCents, Organisations: []OrganisationAid{}}
	if !f.Since.IsZero() {
		report.From = &f.Since
	}
	if !f.Until.IsZero() {
		report.To = &f.Until
	}
	byOrg := map[string]*OrganisationAid{}
	var ids []string
	for _, e := range entries {
		o := byOrg[e.OrganisationID]
		if o == nil {
			o = &OrganisationAid{OrganisationID: e.OrganisationID, Name: e.OrganisationName}
			byOrg[e.OrganisationID] = o
			ids = append(ids, e.OrganisationID)
		}
		o.PeriodCents += e.AmountCents
		o.Grants = append(o.Grants, e)
	}
	now := s.cfg.Now()
	current, err := s.cfg.Store.FundAid(ctx, ids, now)
	if err != nil {
		return err
	}
	for _, id := range ids {
		o := byOrg[id]
		o.ThreeYearsCents = current[id]
		if org, err := s.cfg.Store.Organisation(ctx, id); err == nil {
			o.Name, o.RegisterNumber = org.Name, org.RegisterNumber
		}
		report.Organisations = append(report.Organisations, *o)
	}
	sort.Slice(report.Organisations, func(i, j int) bool {
		return strings.ToLower(report.Organisations[i].Name) < strings.ToLower(report.Organisations[j].Name)
	})
	return c.JSON(http.StatusOK, report)
}

// deMinimisCertificate is the de-minimis certificate of one grant for one
// organisation of its group, as PDF: the amount and the date the company
// declares when it next applies for de-minimis aid. Admin and finance name
// the organisation; an applicant gets its own organisation's.
func (s *Server) deMinimisCertificate(c echo.Context) error {
	ctx := c.Request().Context()
	rec, err := s.visible(c)
	if err != nil {
		return err
	}
	u := userOf(c)
	orgID := strings.TrimSpace(c.QueryParam("organisation_id"))
	if u.Role == RoleApplicant {
		if orgID != "" && orgID != u.OrganisationID {
			return problem(http.StatusNotFound, "no de-minimis aid of that organisation on this application")
		}
		orgID = u.OrganisationID
	}
	if orgID == "" {
		return invalidFields(models.FieldError{Field: "organisation_id", Message: "is required"})
	}
	entries, err := s.cfg.Store.StateAidEntries(ctx, store.StateAidFilter{ApplicationID: rec.ID, OrganisationID: orgID})
	if err != nil {
		return err
	}
	if len(entries) == 0 {
		return problem(http.StatusNotFound, "no de-minimis aid of that organisation on this application")
	}
	e := entries[0]
	org, err := s.cfg.Store.Organisation(ctx, orgID)
	if err != nil {
		org = models.Organisation{ID: orgID, Name: e.OrganisationName}
	}
	prog, err := s.cfg.Store.Programme(ctx, rec.ProgrammeID)
	if err != nil {
		return err
	}
	pdf, err := certificatePDF(certificate{
		Organisation: org, Entry: e, Programme: prog.Name, Title: rec.Title, IssuedAt: s.cfg.Now(),
	})
	if err != nil {
		return err
	}
	h := c.Response().Header()
	h.Set(echo.HeaderContentDisposition, fmt.Sprintf(`attachment; filename="de-minimis-%s-%s.pdf"`, rec.ID, orgID))
	return c.Blob(http.StatusOK, "application/pdf", pdf)
}

type certificate struct {
	Organisation models.Organisation
	Entry        store.StateAid
	Programme    string
	Title        string
	IssuedAt     time.Time
}

// certificatePDF writes the certificate in German and English, as German
// funding offices issue it (Regulation (EU) 2023/2831, Art. 6).
func certificatePDF(c certificate) ([]byte, error) {
	l := newLetter("De-minimis-Bescheinigung / De-minimis certificate")
	l.line("Unternehmen / Company", c.Organisation.Name)
	if c.Organisation.RegisterNumber != "" {
		l.line("Register", c.Organisation.RegisterNumber)
	}
	l.line("Programm / Programme", c.Programme)
	l.line("Vorhaben / Project", c.Title)
	l.line("Antrag / Application", c.Entry.ApplicationID)
	l.line("Beihilfebetrag / Aid amount", models.FormatEuro(c.Entry.AmountCents))
	l.line("Bewilligt am / Granted on", date(c.Entry.GrantedAt))
	l.line("Ausgestellt am / Issued on", date(c.IssuedAt))
	l.pdf.Ln(6)
	l.para("Die Beihilfe wurde als De-minimis-Beihilfe nach der Verordnung (EU) 2023/2831 der " +
		"Kommission vom 13. Dezember 2023 gewährt. Bewahren Sie diese Bescheinigung zehn Jahre auf und geben Sie " +
		"den Betrag bei jedem weiteren Antrag auf De-minimis-Beihilfe an.")
	l.para("The aid was granted as de-minimis aid under Commission Regulation (EU) 2023/2831 of " +
		"13 December 2023. Keep this certificate for ten years and declare the amount whenever you apply for " +
		"de-minimis aid again.")
	return l.bytes("certificate")
}
