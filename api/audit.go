package api

import (
	"bytes"
	"encoding/csv"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/xuri/excelize/v2"

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
	from, to, fields := period(c)
	if to.IsZero() {
		to = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	if len(fields) > 0 {
		return invalidFields(fields...)
	}
	switch c.QueryParam("format") {
	case "", "csv":
	case "xlsx":
		return s.auditWorkbook(c, prog.ID, kind, from, to)
	default:
		return invalidFields(models.FieldError{Field: "format", Message: "must be csv or xlsx"})
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

// period reads a period's from (inclusive) and to (exclusive) from the
// query, each a date or RFC 3339 time; an absent one is zero.
func period(c echo.Context) (from, to time.Time, fields []models.FieldError) {
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
	if len(fields) == 0 && !from.IsZero() && !to.IsZero() && !to.After(from) {
		fields = append(fields, models.FieldError{Field: "to", Message: "must be after from"})
	}
	return from, to, fields
}

// xlsxType is the media type of an Excel workbook.
const xlsxType = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

// auditWorkbook is the audit export as one Excel sheet: amounts as numbers,
// everything else as text (a text cell is never run as a formula). Built in
// full before it is sent, so a failed export is an error, never a cut-off
// file.
func (s *Server) auditWorkbook(c echo.Context, programmeID, kind string, from, to time.Time) error {
	book := excelize.NewFile()
	defer book.Close()
	sheet := book.GetSheetName(0)
	if err := book.SetSheetName(sheet, kind); err != nil {
		return err
	}
	sw, err := book.NewStreamWriter(kind)
	if err != nil {
		return err
	}
	row := 0
	var amounts []bool // the columns of amounts (named *_cents)
	err = s.cfg.Store.Audit(c.Request().Context(), kind, programmeID, from, to, func(rec []string) error {
		row++
		cells := make([]any, len(rec))
		for i, v := range rec {
			if row == 1 {
				amounts = append(amounts, strings.HasSuffix(v, "_cents"))
			}
			cells[i] = v
			if row > 1 && i < len(amounts) && amounts[i] && isNumber(v) {
				if n, err := strconv.ParseInt(v, 10, 64); err == nil {
					cells[i] = n
				}
			}
		}
		cell, err := excelize.CoordinatesToCellName(1, row)
		if err != nil {
			return err
		}
		return sw.SetRow(cell, cells)
	})
	if err != nil {
		return err
	}
	if err := sw.Flush(); err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := book.Write(&buf); err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderContentDisposition, `attachment; filename="`+programmeID+"-"+kind+`.xlsx"`)
	return c.Blob(http.StatusOK, xlsxType, buf.Bytes())
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
