package console

import (
	"encoding/csv"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"reallabor/models"
)

// ledger is GET /api/v1/programmes/{id}/ledger.
type ledger struct {
	ProgrammeID    string `json:"programme_id"`
	BudgetCents    int64  `json:"budget_cents"`
	ReservedCents  int64  `json:"reserved_cents"`
	PaidCents      int64  `json:"paid_cents"`
	ReleasedCents  int64  `json:"released_cents"`
	AvailableCents int64  `json:"available_cents"`
}

// point is the fund at one moment of its journal.
type point struct {
	At                                time.Time
	Budget, Reserved, Paid, Available int64
}

// ledgerPage is what the ledger template gets.
type ledgerPage struct {
	pageData
	Programme programme
	Ledger    ledger
	Chart     template.HTML
	Points    []point
}

// programmeLedger: the fund's figures now and over time (budget, reserved,
// paid, available), the chart drawn on the server as SVG from the ledger
// journal (the auditors' export of the API), its last point the ledger's
// figures.
func (c *Console) programmeLedger(w http.ResponseWriter, r *http.Request, u *user) {
	id := r.PathValue("id")
	var p ledgerPage
	p.Title = "ledger"
	if res := c.call(r, u.token, http.MethodGet, "/api/v1/programmes/"+url.PathEscape(id), "", nil, &p.Programme); res.err != nil {
		c.fail(w, r, u, res)
		return
	}
	if res := c.call(r, u.token, http.MethodGet, "/api/v1/programmes/"+url.PathEscape(id)+"/ledger", "", nil, &p.Ledger); res.err != nil {
		c.fail(w, r, u, res)
		return
	}
	raw, res := c.callRaw(r, u.token, http.MethodGet, "/api/v1/programmes/"+url.PathEscape(id)+"/audit?kind=journal&format=csv")
	if res.err != nil {
		c.fail(w, r, u, res)
		return
	}
	pts, err := journalPoints(raw, p.Ledger)
	if err != nil {
		c.fail(w, r, u, result{status: http.StatusInternalServerError, err: err})
		return
	}
	p.Points = pts
	p.Chart = burnDown(pts, c.t(r, u, "budget"), c.t(r, u, "reserved"), c.t(r, u, "paid"), c.t(r, u, "available"))
	c.withFlash(w, r, &p.pageData)
	c.renderAny(w, r, http.StatusOK, "ledger", u, &p.pageData, &p)
}

// journalPoints replays the journal (CSV: entry_id, application_id, kind,
// amount_cents, at, ...) into the fund's figures after each entry. The
// budget before the first entry is today's less the changes journalled.
func journalPoints(csvData []byte, now ledger) ([]point, error) {
	rows, err := csv.NewReader(strings.NewReader(string(csvData))).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("ledger journal: %w", err)
	}
	if len(rows) > 0 {
		rows = rows[1:] // the header
	}
	type entry struct {
		kind   string
		amount int64
		at     time.Time
	}
	var entries []entry
	budget := now.BudgetCents
	for _, row := range rows {
		if len(row) < 5 {
			return nil, fmt.Errorf("ledger journal: a row of %d columns", len(row))
		}
		amount, err := strconv.ParseInt(row[3], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("ledger journal amount %q: %w", row[3], err)
		}
		at, err := time.Parse(time.RFC3339Nano, row[4])
		if err != nil {
			return nil, fmt.Errorf("ledger journal time %q: %w", row[4], err)
		}
		entries = append(entries, entry{row[2], amount, at})
		if row[2] == "budget" {
			budget -= amount
		}
	}
	var out []point
	cur := point{Budget: budget}
	if len(entries) > 0 {
		cur.At = entries[0].at
	}
	cur.Available = cur.Budget
	out = append(out, cur)
	for _, e := range entries {
		switch e.kind {
		case "budget":
			cur.Budget += e.amount
		case "reserve":
			cur.Reserved += e.amount
		case "release":
			cur.Reserved -= e.amount
		case "pay":
			cur.Reserved -= e.amount
			cur.Paid += e.amount
		case "return":
			cur.Reserved += e.amount
			cur.Paid -= e.amount
		case "repayment":
			cur.Paid -= e.amount
		default: // interest: outside the fund's figures
			continue
		}
		cur.At = e.at
		cur.Available = cur.Budget - cur.Reserved - cur.Paid
		out = append(out, cur)
	}
	if last := out[len(out)-1]; last.Reserved != now.ReservedCents || last.Paid != now.PaidCents || last.Budget != now.BudgetCents {
		return nil, fmt.Errorf("ledger journal replayed to budget %d reserved %d paid %d, the ledger says %d, %d, %d: run the reconciliation",
			last.Budget, last.Reserved, last.Paid, now.BudgetCents, now.ReservedCents, now.PaidCents)
	}
	return out, nil
}

// burnDown draws the figures over time as step lines in SVG, with a title,
// a description and a legend for screen readers and print.
func burnDown(pts []point, budgetLabel, reservedLabel, paidLabel, availableLabel string) template.HTML {
	const w, h, left, right, top, bottom = 760.0, 300.0, 120.0, 20.0, 20.0, 40.0
	if len(pts) == 0 {
		return ""
	}
	var maxV int64 = 1
	for _, p := range pts {
		maxV = max(maxV, p.Budget, p.Reserved, p.Paid, p.Available)
	}
	t0, t1 := pts[0].At, pts[len(pts)-1].At
	span := t1.Sub(t0).Seconds()
	x := func(i int) float64 {
		if span <= 0 {
			return left + (w-left-right)*float64(i)/float64(max(len(pts)-1, 1))
		}
		return left + (w-left-right)*pts[i].At.Sub(t0).Seconds()/span
	}
	y := func(v int64) float64 { return top + (h-top-bottom)*(1-float64(v)/float64(maxV)) }
	line := func(get func(point) int64) string {
		var b strings.Builder
		for i, p := range pts {
			if i == 0 {
				fmt.Fprintf(&b, "M%.1f,%.1f", x(i), y(get(p)))
				continue
			}
			fmt.Fprintf(&b, " H%.1f V%.1f", x(i), y(get(p)))
		}
		return b.String()
	}
	esc := template.HTMLEscapeString
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" viewBox="0 0 %.0f %.0f" role="img" aria-labelledby="chart-title chart-desc" xmlns="http://www.w3.org/2000/svg">`, w, h)
	fmt.Fprintf(&b, `<title id="chart-title">%s, %s, %s, %s</title>`, esc(budgetLabel), esc(reservedLabel), esc(paidLabel), esc(availableLabel))
	last := pts[len(pts)-1]
	fmt.Fprintf(&b, `<desc id="chart-desc">%s %s; %s %s; %s %s; %s %s</desc>`, esc(budgetLabel), euro(last.Budget),
		esc(reservedLabel), euro(last.Reserved), esc(paidLabel), euro(last.Paid), esc(availableLabel), euro(last.Available))
	for _, v := range []int64{0, maxV / 2, maxV} {
		fmt.Fprintf(&b, `<line x1="%.0f" x2="%.0f" y1="%.1f" y2="%.1f" stroke="#c8c8c8"/><text x="%.0f" y="%.1f" text-anchor="end" font-size="11" fill="#1a1a1a">%s</text>`,
			left, w-right, y(v), y(v), left-6, y(v)+4, euro(v))
	}
	fmt.Fprintf(&b, `<text x="%.0f" y="%.0f" font-size="11" fill="#1a1a1a">%s</text><text x="%.0f" y="%.0f" font-size="11" text-anchor="end" fill="#1a1a1a">%s</text>`,
		left, h-bottom+18, t0.UTC().Format("2006-01-02"), w-right, h-bottom+18, t1.UTC().Format("2006-01-02"))
	series := []struct {
		label, colour, dash string
		get                 func(point) int64
	}{
		{budgetLabel, "#1a1a1a", "6 3", func(p point) int64 { return p.Budget }},
		{reservedLabel, "#7a4b00", "", func(p point) int64 { return p.Reserved }},
		{paidLabel, "#17643a", "", func(p point) int64 { return p.Paid }},
		{availableLabel, "#0b4f8a", "2 2", func(p point) int64 { return p.Available }},
	}
	for i, s := range series {
		fmt.Fprintf(&b, `<path d="%s" fill="none" stroke="%s" stroke-width="2.5" stroke-dasharray="%s"/>`, line(s.get), s.colour, s.dash)
		lx := left + float64(i)*150
		fmt.Fprintf(&b, `<line x1="%.0f" x2="%.0f" y1="%.0f" y2="%.0f" stroke="%s" stroke-width="2.5" stroke-dasharray="%s"/><text x="%.0f" y="%.0f" font-size="12" fill="#1a1a1a">%s</text>`,
			lx, lx+24, h-8, h-8, s.colour, s.dash, lx+30, h-4, esc(s.label))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) //nolint:gosec // built here from numbers and escaped labels
}

func euro(cents int64) string { return models.FormatEuro(cents) }

// exportPayments makes the next payment file (a POST: it marks the
// tranches it carries as exported) and hands it to the browser.
func (c *Console) exportPayments(w http.ResponseWriter, r *http.Request, u *user) {
	q := url.Values{}
	if f := r.PostFormValue("format"); f == "csv" || f == "sepa" {
		q.Set("format", f)
	}
	if p := strings.TrimSpace(r.PostFormValue("programme_id")); p != "" {
		q.Set("programme_id", p)
	}
	c.download(w, r, u, "/api/v1/disbursements/export?"+q.Encode(), "/console/disbursements?status=approved")
}

// auditExport hands out the auditors' exports of a programme (applications,
// the ledger journal, the audit trail; CSV or XLSX; a period optional).
func (c *Console) auditExport(w http.ResponseWriter, r *http.Request, u *user) {
	id := r.PathValue("id")
	q := url.Values{}
	for _, k := range []string{"kind", "format", "from", "to"} {
		if v := r.URL.Query().Get(k); v != "" {
			q.Set(k, v)
		}
	}
	c.download(w, r, u, "/api/v1/programmes/"+url.PathEscape(id)+"/audit?"+q.Encode(), "/console/programmes/"+url.PathEscape(id)+"/ledger")
}

// downloadBatch hands out an earlier payment file again (same message id).
func (c *Console) downloadBatch(w http.ResponseWriter, r *http.Request, u *user) {
	q := url.Values{"batch": {r.PathValue("batch")}}
	if f := r.URL.Query().Get("format"); f == "csv" || f == "sepa" {
		q.Set("format", f)
	}
	c.download(w, r, u, "/api/v1/disbursements/export?"+q.Encode(), "/console/disbursements?status=paid")
}

// download passes a file the API answers to the browser; a refusal goes
// back to the page back with its reason.
func (c *Console) download(w http.ResponseWriter, r *http.Request, u *user, path, back string) {
	rec := c.exchange(r, u.token, http.MethodGet, path, "", nil)
	if rec.status != http.StatusOK {
		res := rec.result(http.MethodGet, path)
		c.setFlash(w, flash{Error: res.problem.Detail, Fields: res.problem.Errors})
		http.Redirect(w, r, back, http.StatusSeeOther)
		return
	}
	for _, h := range []string{"Content-Type", "Content-Disposition", "Content-Length"} {
		if v := rec.header.Get(h); v != "" {
			w.Header().Set(h, v)
		}
	}
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(rec.body.Bytes())
}
