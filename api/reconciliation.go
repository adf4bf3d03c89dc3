package api

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"reallabor/internal/reconcile"
)

// reconciliation compares the books with the workflows (as `reallabor
// check` does) and lists every difference; an empty list means the ledger,
// the journal, the disbursement list and the audit trail all agree with what
// every application's workflow holds.
func (s *Server) reconciliation(c echo.Context) error {
	settle := time.Duration(0)
	if c.QueryParam("settle") == "true" {
		settle = 3 * time.Second
	}
	rep, err := (&reconcile.Checker{Store: s.cfg.Store, Temporal: s.cfg.Temporal, Keys: s.cfg.Keys, Settle: settle}).Check(c.Request().Context())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, rep)
}
