package api

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"reallabor/internal/store"
)

// figures is a Prometheus collector of the business figures: read from the
// database at each scrape (bounded by a timeout), so they are right after
// any restart and the same from every API process.
type figures struct {
	st  *store.Store
	now func() time.Time
	log func(msg string, args ...any)

	applications, money, tranches, late, clocks, notifications, up *prometheus.Desc
}

func newFigures(st *store.Store, now func() time.Time, log func(string, ...any)) *figures {
	return &figures{st: st, now: now, log: log,
		applications: prometheus.NewDesc("reallabor_applications", "Applications by programme and status.", []string{"programme", "status"}, nil),
		money: prometheus.NewDesc("reallabor_money_cents", "A programme's money by state: budget, reserved, paid (net of returns and repayments), "+
			"released, owed (demanded back and not yet repaid), in euro cents.", []string{"programme", "state"}, nil),
		tranches:      prometheus.NewDesc("reallabor_tranches", "Tranches by status.", []string{"status"}, nil),
		late:          prometheus.NewDesc("reallabor_tranches_overdue", "Tranches due whose due date has passed, not paid.", nil, nil),
		clocks:        prometheus.NewDesc("reallabor_clock_events", "Reminders, escalations and overdue events the workflows filed, by kind.", []string{"kind"}, nil),
		notifications: prometheus.NewDesc("reallabor_notifications", "Notifications by e-mail status (pending, sent, failed, none, muted).", []string{"email_status"}, nil),
		up:            prometheus.NewDesc("reallabor_figures_up", "1 if the business figures could be read at this scrape.", nil, nil),
	}
}

// Describe sends the descriptions of the figures.
func (f *figures) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{f.applications, f.money, f.tranches, f.late, f.clocks, f.notifications, f.up} {
		ch <- d
	}
}

// Collect reads the figures and sends them.
func (f *figures) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	fig, err := f.st.Figures(ctx, f.now())
	if err != nil {
		f.log("business figures not read", "error", err)
		ch <- prometheus.MustNewConstMetric(f.up, prometheus.GaugeValue, 0)
		return
	}
	ch <- prometheus.MustNewConstMetric(f.up, prometheus.GaugeValue, 1)
	for _, c := range fig.Applications {
		ch <- prometheus.MustNewConstMetric(f.applications, prometheus.GaugeValue, float64(c.N), c.Key, c.Sub)
	}
	for _, m := range fig.Money {
		for state, v := range map[string]int64{"budget": m.Budget, "reserved": m.Reserved, "paid": m.Paid, "released": m.Released, "owed": m.Owed} {
			ch <- prometheus.MustNewConstMetric(f.money, prometheus.GaugeValue, float64(v), m.ProgrammeID, state)
		}
	}
	for _, c := range fig.Tranches {
		ch <- prometheus.MustNewConstMetric(f.tranches, prometheus.GaugeValue, float64(c.N), c.Key)
	}
	ch <- prometheus.MustNewConstMetric(f.late, prometheus.GaugeValue, float64(fig.TranchesLate))
	for _, c := range fig.ClockEvents {
		ch <- prometheus.MustNewConstMetric(f.clocks, prometheus.GaugeValue, float64(c.N), c.Key)
	}
	for _, c := range fig.Notifications {
		status := c.Key
		if status == "" {
			status = "pending"
		}
		ch <- prometheus.MustNewConstMetric(f.notifications, prometheus.GaugeValue, float64(c.N), status)
	}
}
