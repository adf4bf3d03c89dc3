// Package api is the HTTP API of Reallabor grants (Echo, JSON under /api/v1):
// it binds and validates requests, checks role and ownership, starts and
// drives application workflows, and reads lists from the store.
package api

import (
	"context"
	"crypto/subtle"
	"log/slog"
	"net"
	"net/http"
	"reflect"
	"strings"
	"time"

	"go.temporal.io/api/workflowservice/v1"

	"reallabor/activities"
	"reallabor/internal/authz"
	"reallabor/internal/console"
	"reallabor/internal/documents"

	"github.com/go-playground/validator/v10"
	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"reallabor/internal/store"
	"reallabor/models"
)

// Workflows is the part of the Temporal client the API uses: declared here,
// where it is consumed, so tests can see what the API needs of Temporal.
type Workflows interface {
	ExecuteWorkflow(ctx context.Context, options client.StartWorkflowOptions, workflow any, args ...any) (client.WorkflowRun, error)
	UpdateWorkflow(ctx context.Context, options client.UpdateWorkflowOptions) (client.WorkflowUpdateHandle, error)
	NewWithStartWorkflowOperation(options client.StartWorkflowOptions, workflow any, args ...any) client.WithStartWorkflowOperation
	UpdateWithStartWorkflow(ctx context.Context, options client.UpdateWithStartWorkflowOptions) (client.WorkflowUpdateHandle, error)
	QueryWorkflow(ctx context.Context, workflowID string, runID string, queryType string, args ...any) (converter.EncodedValue, error)
	CheckHealth(ctx context.Context, request *client.CheckHealthRequest) (*client.CheckHealthResponse, error)
	SignalWorkflow(ctx context.Context, workflowID string, runID string, signalName string, arg any) error
	// WorkflowService asks how far an update got (accepted or not).
	WorkflowService() workflowservice.WorkflowServiceClient
}

// Config wires the API to its dependencies.
type Config struct {
	Store     *store.Store
	Temporal  Workflows
	Logger    *slog.Logger
	Now       func() time.Time
	Namespace string
	// Keys seal every action and query the API sends to the workflows
	// (shared with the workers; REALLABOR_SIGNING_KEYS).
	Keys *authz.Keys
	// CallTimeout bounds every Temporal call a handler makes.
	CallTimeout time.Duration
	// Apply, if set, makes the writes of an action instead of Store.Apply
	// (tests put a failure around it).
	Apply func(context.Context, models.ApplyInput) (models.ApplyResult, error)
	// Mailer sends the one-time sign-in links (nil: none are offered);
	// PublicURL is the address they point at.
	Mailer    activities.Mailer
	PublicURL string
	// BodyLimit caps request bodies, e.g. "1M".
	BodyLimit string
	// Registry receives the HTTP metrics; nil uses a fresh registry.
	Registry *prometheus.Registry
	// RateLimit is the sustained requests per second one user may make,
	// with bursts of twice that (a client IP five times that before
	// authentication; failed authentications ten per IP, then one every six
	// seconds); 0 disables the limits.
	RateLimit float64
	// MetricsToken, if set, is the bearer token /metrics asks for.
	MetricsToken string
	// MetricsApart serves /metrics only on MetricsHandler (its own address,
	// METRICS_ADDR), not next to the API.
	MetricsApart bool
	// WebhookAllowPrivate lets webhooks point at private addresses.
	WebhookAllowPrivate bool
	// Documents is the bucket of attached files (nil: uploads and downloads
	// answer 503); DocumentMaxBytes the largest file (default 20 MiB).
	Documents        *documents.Store
	DocumentMaxBytes int64
	// TrustedProxies are the proxies whose X-Forwarded-For names the client;
	// without them the connection's address does.
	TrustedProxies []*net.IPNet
	// SecureCookies marks the console's cookies Secure (PUBLIC_URL is
	// https); TemporalUI is where admins' workflow links point ("" none).
	SecureCookies bool
	TemporalUI    string
}

// Server is the HTTP API.
type Server struct {
	touched toucher
	limits  *limits
	cfg     Config
	log     *slog.Logger
	echo    *echo.Echo
}

// New builds the API with every route.
func New(cfg Config) *Server {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Namespace == "" {
		cfg.Namespace = "default"
	}
	if cfg.CallTimeout == 0 {
		cfg.CallTimeout = 20 * time.Second
	}
	if cfg.BodyLimit == "" {
		cfg.BodyLimit = "256K"
	}
	if cfg.DocumentMaxBytes <= 0 {
		cfg.DocumentMaxBytes = documents.DefaultMaxBytes
	}
	if cfg.Registry == nil {
		cfg.Registry = prometheus.NewRegistry()
		cfg.Registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	s := &Server{cfg: cfg, log: cfg.Logger.With("component", "api")}
	if cfg.Store != nil {
		// Business figures at each scrape (a registry shared with another
		// Server in the same process already has them).
		_ = cfg.Registry.Register(newFigures(cfg.Store, cfg.Now, s.log.Warn))
	}
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.Validator = newValidator()
	e.HTTPErrorHandler = s.handleError
	e.Use(middleware.RequestID())
	e.Use(s.recoverer())
	e.Use(metrics(cfg.Registry))
	e.Use(middleware.RequestLoggerWithConfig(middleware.RequestLoggerConfig{
		// HandleError: the error handler writes the answer first, so the
		// line logs the status the client got (a 404, 409, 422), not 200.
		HandleError: true,
		LogMethod:   true, LogURIPath: true, LogStatus: true, LogLatency: true, LogRequestID: true,
		LogValuesFunc: func(c echo.Context, v middleware.RequestLoggerValues) error {
			s.log.LogAttrs(c.Request().Context(), slog.LevelInfo, "request", slog.String("method", v.Method),
				slog.String("path", v.URIPath), slog.Int("status", v.Status), slog.Duration("latency", v.Latency),
				slog.String("request_id", v.RequestID))
			return nil
		},
	}))
	// Uploads have their own, larger limit; every body is capped before
	// any middleware reads it.
	e.Use(bodyLimits(cfg.BodyLimit, cfg.DocumentMaxBytes))
	e.IPExtractor = ipExtractor(cfg.TrustedProxies)
	if cfg.RateLimit > 0 {
		s.limits = newLimits(cfg.RateLimit)
		e.Use(s.ipLimit)
	}
	s.echo = e
	s.routes(cfg.Registry)
	s.mountConsole()
	return s
}

// mountConsole serves the web console (/, /console/..., /api/docs) next to
// the API it drives in-process; without signing keys (some unit tests)
// there is none.
func (s *Server) mountConsole() {
	if s.cfg.Keys == nil {
		return
	}
	con, err := console.New(console.Config{API: s.echo, CookieKeys: s.cfg.Keys.Derive("console session"),
		Secure: s.cfg.SecureCookies, TemporalUI: s.cfg.TemporalUI, Namespace: s.cfg.Namespace, Logger: s.cfg.Logger})
	if err != nil {
		panic(err) // the embedded templates do not parse: a build that must not ship
	}
	h := echo.WrapHandler(con.Handler())
	s.echo.GET("/", h)
	s.echo.GET("/api/docs", h)
	s.echo.Any("/console/*", h)
}

// Handler is the http.Handler of the API.
func (s *Server) Handler() http.Handler { return s.echo }

// Echo exposes the router (tests walk its routes).
func (s *Server) Echo() *echo.Echo { return s.echo }

func (s *Server) routes(reg *prometheus.Registry) {
	e := s.echo
	e.GET("/healthz", s.healthz)
	e.GET("/readyz", s.readyz)
	if !s.cfg.MetricsApart {
		e.GET("/metrics", s.metricsEndpoint(), s.metricsAccess)
	}
	e.GET("/api/v1/openapi.json", s.openapi)
	e.POST("/api/v1/login-links", s.requestLoginLink)
	e.POST("/api/v1/login-links/redemption", s.redeemLoginLink)

	v1 := e.Group("/api/v1", s.authenticate, cleanParams, s.idempotent)
	v1.POST("/users", s.createUser, role(RoleAdmin))
	v1.GET("/users", s.listUsers, role(RoleAdmin))
	v1.GET("/users/:id", s.getUser, role(RoleAdmin))
	v1.POST("/users/:id/deactivation", s.setActive(false), role(RoleAdmin))
	v1.POST("/users/:id/reactivation", s.setActive(true), role(RoleAdmin))
	v1.POST("/users/:id/token", s.rotateToken, role(RoleAdmin))
	v1.GET("/me", s.me)
	v1.PATCH("/me", s.updateMe)
	v1.GET("/me/notifications", s.inbox)
	v1.POST("/me/notifications/:id/read", s.readNotification)
	v1.POST("/me/token", s.rotateToken)
	v1.GET("/me/tokens", s.listTokens)
	v1.POST("/me/tokens", s.createToken)
	v1.DELETE("/me/tokens/:token_id", s.revokeToken)
	v1.POST("/me/tokens/:token_id/rotation", s.rotateOwnToken)
	v1.GET("/users/:id/tokens", s.listTokens, role(RoleAdmin))
	v1.POST("/users/:id/tokens", s.createToken, role(RoleAdmin))
	v1.DELETE("/users/:id/tokens/:token_id", s.revokeToken, role(RoleAdmin))

	v1.POST("/organisations", s.createOrganisation, role(RoleAdmin))
	v1.GET("/organisations", s.listOrganisations)
	v1.GET("/organisations/:id", s.getOrganisation)
	v1.GET("/invitations", s.listInvitations, role(RoleApplicant))

	v1.POST("/programmes", s.createProgramme, role(RoleAdmin))
	v1.GET("/programmes", s.listProgrammes)
	v1.GET("/programmes/:id", s.getProgramme)
	v1.PATCH("/programmes/:id", s.editProgramme, role(RoleAdmin))
	v1.GET("/programmes/:id/ledger", s.getLedger, role(RoleAdmin, RoleFinance))
	v1.POST("/programmes/:id/budget", s.changeBudget, role(RoleAdmin))
	v1.GET("/programmes/:id/audit", s.auditExport, role(RoleAdmin, RoleFinance))
	v1.POST("/programmes/:id/calls", s.createCall, role(RoleAdmin))
	v1.GET("/programmes/:id/calls", s.listCalls)
	v1.PATCH("/programmes/:id/calls/:call_id", s.editCall, role(RoleAdmin))
	v1.POST("/programmes/:id/calls/:call_id/closure", s.closeCall, role(RoleAdmin))

	v1.POST("/applications", s.createApplication, role(RoleApplicant))
	v1.GET("/applications", s.listApplications)
	v1.GET("/applications/:id", s.getApplication)
	v1.GET("/applications/:id/history", s.getHistory)
	v1.POST("/applications/:id/reviews", s.submitReview, role(RoleReviewer))
	v1.POST("/applications/:id/revision", s.submitRevision, role(RoleApplicant))
	v1.POST("/applications/:id/acceptance", s.acceptAgreement, role(RoleApplicant))
	v1.POST("/applications/:id/withdrawal", s.withdraw, role(RoleApplicant))
	v1.POST("/applications/:id/invitation", s.answerInvitation, role(RoleApplicant))
	v1.POST("/applications/:id/cancellation", s.cancel, role(RoleAdmin))
	v1.POST("/applications/:id/review-deadline", s.extendReview, role(RoleAdmin))
	v1.POST("/applications/:id/reports", s.submitReport, role(RoleApplicant))
	v1.POST("/applications/:id/repayments", s.recordRepayment, role(RoleFinance))
	v1.GET("/applications/:id/reports/:report_id", s.getReport)
	v1.POST("/applications/:id/amendments", s.requestAmendment, role(RoleApplicant))
	v1.POST("/applications/:id/amendments/:amendment_id/decision", s.decideAmendment, role(RoleAdmin, RoleReviewer))
	v1.POST("/applications/:id/drawdowns", s.requestDrawdown, role(RoleApplicant))
	v1.POST("/applications/:id/documents", s.uploadDocument, role(RoleApplicant, RoleAdmin))
	v1.GET("/applications/:id/documents", s.listDocuments)
	v1.GET("/applications/:id/documents/:doc_id", s.getDocument)
	v1.GET("/applications/:id/decision-letter", s.decisionLetter)
	v1.GET("/applications/:id/agreement", s.grantAgreement)
	v1.GET("/applications/:id/de-minimis-certificate", s.deMinimisCertificate, role(RoleAdmin, RoleFinance, RoleApplicant))
	v1.POST("/applications/:id/reports/:report_id/assessment", s.assessReport, role(RoleReviewer, RoleAdmin))

	v1.GET("/reconciliation", s.reconciliation, role(RoleAdmin, RoleFinance))
	v1.GET("/state-aid", s.stateAidReport, role(RoleAdmin, RoleFinance))

	v1.POST("/webhooks", s.createWebhook, role(RoleAdmin))
	v1.GET("/webhooks", s.listWebhooks, role(RoleAdmin))
	v1.DELETE("/webhooks/:id", s.deleteWebhook, role(RoleAdmin))
	v1.GET("/webhooks/:id/deliveries", s.listDeliveries, role(RoleAdmin))

	v1.GET("/disbursements", s.listDisbursements, role(RoleFinance, RoleAdmin))
	v1.GET("/overdue", s.listOverdue)
	v1.GET("/disbursements/export", s.exportDisbursements, role(RoleFinance))
	v1.GET("/disbursements/exports", s.listExports, role(RoleFinance, RoleAdmin))
	v1.POST("/disbursements/:id/approval", s.approveDisbursement, role(RoleFinance))
	v1.POST("/disbursements/:id/payment", s.confirmPayment, role(RoleFinance))
	v1.POST("/disbursements/:id/failure", s.recordFailure, role(RoleFinance))
}

func (s *Server) healthz(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
}

// readyz checks the database and Temporal answer.
func (s *Server) readyz(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), 3*time.Second)
	defer cancel()
	checks := map[string]string{"database": "ok", "temporal": "ok"}
	ready := true
	// The reasons go to the log; callers (unauthenticated) learn only what is down.
	if err := s.cfg.Store.Ping(ctx); err != nil {
		checks["database"], ready = "unreachable", false
		s.log.Warn("readiness: database unreachable", "error", err)
	}
	if _, err := s.cfg.Temporal.CheckHealth(ctx, &client.CheckHealthRequest{}); err != nil {
		checks["temporal"], ready = "unreachable", false
		s.log.Warn("readiness: temporal unreachable", "error", err)
	}
	if !ready {
		c.Response().Header().Set("Retry-After", "5")
		return c.JSON(http.StatusServiceUnavailable, map[string]any{"status": "unavailable", "checks": checks})
	}
	return c.JSON(http.StatusOK, map[string]any{"status": "ready", "checks": checks})
}

func (s *Server) metricsEndpoint() echo.HandlerFunc {
	return echo.WrapHandler(promhttp.HandlerFor(s.cfg.Registry, promhttp.HandlerOpts{}))
}

// MetricsHandler serves GET /metrics alone (with the metrics token, if
// set), for an address of its own that only the monitoring reaches.
func (s *Server) MetricsHandler() http.Handler {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = s.handleError
	e.GET("/metrics", s.metricsEndpoint(), s.metricsAccess)
	return e
}

// metricsAccess asks for the metrics token, when one is set (METRICS_TOKEN).
func (s *Server) metricsAccess(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if s.cfg.MetricsToken == "" {
			return next(c)
		}
		token, _ := bearerToken(c)
		if subtle.ConstantTimeCompare([]byte(token), []byte(s.cfg.MetricsToken)) != 1 {
			c.Response().Header().Set("WWW-Authenticate", `Bearer realm="metrics"`)
			return problem(http.StatusUnauthorized, "the metrics need their bearer token")
		}
		return next(c)
	}
}

// ipLimit caps each client IP before authentication; health checks and
// metrics are never limited.
func (s *Server) ipLimit(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if strings.HasPrefix(c.Request().URL.Path, "/api/") && !s.limits.perIP.allow(c.RealIP()) {
			return tooMany(c, " from this address")
		}
		return next(c)
	}
}

// validate wraps go-playground/validator; messages use JSON field names.
type validate struct{ v *validator.Validate }

func newValidator() *validate {
	v := validator.New(validator.WithRequiredStructEnabled())
	v.RegisterTagNameFunc(func(f reflect.StructField) string {
		name := strings.SplitN(f.Tag.Get("json"), ",", 2)[0]
		if name == "-" {
			return ""
		}
		return name
	})
	return &validate{v: v}
}

func (v *validate) Validate(i any) error { return v.v.Struct(i) }
