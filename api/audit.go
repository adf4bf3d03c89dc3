package api

import (
	"encoding/csv"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"reallabor/internal/store"
	"reallabor/models"
)

// auditExport streams one programme's applications, ledger journal or
// audit trail of a period as CSV for the city's auditors (admin, finance).
// A cell that a spreadsheet would run as a formula is prefixed with ' .
func (s *Server) auditExport(c echo.Context) error {
	ctx := c.Request().Context()
	prog, err := s.cfg.Store.Programme(ctx, c.Param("id"))
	if err != nil {
		return err
	}
	kind := c.QueryParam("kind")
	if _, ok := store.AuditKinds[kind]; !ok {
		return invalidFields(models.FieldError{Field: "kind", Message: "must be applications, journal or history"})
	}
	from, to := time.Time{}, time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)
	var fields []models.FieldError
	for _, q := range []struct {
		name string
		dst  *time.Time
	}{{"from", &from}, {"to", &to}} {
		if v := c.QueryParam(q.name); v != "" {
			d, fe := parseDate(q.name, v)
			if fe != nil {
				fields = append(fields, *fe)
				continue
			}
			*q.dst = d
		}
	}
	if len(fields) == 0 && !to.After(from) {
		fields = append(fields, models.FieldError{Field: "to", Message: "must be after from"})
	}
	if len(fields) > 0 {
		return invalidFields(fields...)
	}
	h := c.Response().Header()
	h.Set(echo.HeaderContentType, "text/csv; charset=utf-8")
	h.Set(echo.HeaderContentDisposition, `attachment; filename="`+prog.ID+"-"+kind+`.csv"`)
	c.Response().WriteHeader(http.StatusOK)
	w := csv.NewWriter(c.Response())
	err = s.cfg.Store.Audit(ctx, kind, prog.ID, from, to, func(rec []string) error {
		for i, v := range rec {
			rec[i] = defuse(v)
		}
		return w.Write(rec)
	})
	w.Flush()
	if err != nil {
		// The status is sent: the cut-off file says it is incomplete.
		s.log.Error("audit export broke off", "programme", prog.ID, "kind", kind, "error", err)
		_, _ = c.Response().Write([]byte("# export incomplete: the server failed\n"))
	}
	return nil
}

// defuse keeps a spreadsheet from running a cell as a formula (OWASP CSV
// injection).
func defuse(v string) string {
	if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
		if _, err := time.Parse(time.RFC3339, v); err != nil && !isNumber(v) {
			return "'" + v
		}
	}
	return v
}

func isNumber(v string) bool {
	v = strings.TrimPrefix(v, "-")
	if v == "" {
		return false
	}
	for _, r := range v {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}
