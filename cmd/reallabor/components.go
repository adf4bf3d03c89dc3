package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"reallabor/internal/authz"
	"reallabor/internal/encryption"

	"github.com/cenkalti/backoff/v4"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/uber-go/tally/v4"
	tallyprom "github.com/uber-go/tally/v4/prometheus"
	"go.temporal.io/sdk/client"
	sdktally "go.temporal.io/sdk/contrib/tally"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"
	"google.golang.org/grpc"

	"reallabor/activities"
	"reallabor/api"
	"reallabor/internal/store"
	"reallabor/internal/telemetry"
	"reallabor/models"
	"reallabor/workflows"
)

// retry runs op with exponential backoff until it succeeds, ctx ends or
// the timeout passes.
func retry(ctx context.Context, timeout time.Duration, log *slog.Logger, what string, op func() error) error {
	b := backoff.NewExponentialBackOff()
	b.InitialInterval = 250 * time.Millisecond
	b.MaxInterval = 5 * time.Second
	b.MaxElapsedTime = timeout
	return backoff.RetryNotify(op, backoff.WithContext(b, ctx), func(err error, next time.Duration) {
		log.Warn(what+" not reachable yet, retrying", "error", err, "retry_in", next.Round(time.Millisecond))
	})
}

// openStore connects to the database (retrying a briefly unreachable one)
// and, if migrate is set, applies pending migrations.
func openStore(ctx context.Context, cfg config, log *slog.Logger, migrate bool) (*store.Store, error) {
	st, err := store.Open(cfg.DatabaseURL)
	if err != nil {
		return nil, err // a malformed setting: no point retrying
	}
	err = retry(ctx, cfg.StartupTimeout, log, "database", func() error {
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		err := st.Ping(pctx)
		if settingWrong(err) {
			return backoff.Permanent(err)
		}
		return err
	})
	if settingWrong(err) {
		st.Close()
		return nil, fmt.Errorf("DATABASE_URL: %w", err)
	}
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("DATABASE_URL: database unreachable after %s: %w", cfg.StartupTimeout, err)
	}
	if migrate {
		n, err := st.Migrate(ctx)
		if err != nil {
			st.Close()
			return nil, err
		}
		if n > 0 {
			log.Info("database migrated", "applied", n)
		}
	}
	return st, nil
}

// dialTemporal connects to Temporal, retrying a briefly unreachable one.
func dialTemporal(ctx context.Context, cfg config, log *slog.Logger) (client.Client, error) {
	codec, err := payloadCodec(cfg)
	if err != nil {
		return nil, err
	}
	var c client.Client
	err = retry(ctx, cfg.StartupTimeout, log, "temporal", func() error {
		dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		var err error
		c, err = client.DialContext(dctx, client.Options{
			HostPort: cfg.TemporalAddress, Namespace: cfg.TemporalNamespace,
			Logger:         sdklog.NewStructuredLogger(log.With("component", "temporal-sdk")),
			DataConverter:  codec.DataConverter(),
			MetricsHandler: cfg.sdkMetrics,
			// Counted per method (telemetry; the load command reports them).
			ConnectionOptions: client.ConnectionOptions{GrpcCompression: grpcCompression(cfg),
				DialOptions: []grpc.DialOption{grpc.WithChainUnaryInterceptor(telemetry.UnaryClientInterceptor())}},
		})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("TEMPORAL_ADDRESS %s: temporal unreachable after %s: %w", cfg.TemporalAddress, cfg.StartupTimeout, err)
	}
	return c, nil
}

// workerStopTimeout bounds how long a stopping worker lets its activities
// finish: an Apply or a delivery takes milliseconds; a mail server that
// does not answer is cut off (and the delivery retried after the restart).
const workerStopTimeout = 5 * time.Second

// newWorker registers the application workflow and its activities.
// A fatal worker error (the namespace is gone, say) is sent on fatal, so the
// process ends instead of running on without polling.
//
// reg, if set, receives reallabor_notifications_total{kind,channel,result}.
//
// Stop waits up to workerStopTimeout for the activities in flight: without
// it Stop returns at once, the caller closes the database, and an activity
// still running fails on the closed pool (to be retried by the next worker,
// but logged as an error while stopping).
func newWorker(cfg config, c client.Client, st *store.Store, keys *authz.Keys, fatal chan<- error, reg prometheus.Registerer) (worker.Worker, error) {
	w := worker.New(c, workflows.TaskQueue, worker.Options{
		WorkerStopTimeout: workerStopTimeout,
		OnFatalError: func(err error) {
			select {
			case fatal <- fmt.Errorf("worker stopped: %w", err):
			default:
			}
		},
	})
	if err := workflows.Register(w, keys); err != nil {
		return nil, err
	}
	mailer, err := newMailer(cfg)
	if err != nil {
		return nil, err
	}
	l := &activities.Ledger{Store: st, Mailer: mailer, PublicURL: cfg.PublicURL,
		Webhooks: activities.WebhookClient(cfg.WebhookAllowPrivate)}
	if reg != nil {
		sent := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "reallabor_notifications_total",
			Help: "Notifications delivered or failed, by event kind and channel (email, webhook)."}, []string{"kind", "channel", "result"})
		if err := reg.Register(sent); err != nil {
			return nil, err
		}
		l.Delivered = func(kind, result string) {
			channel := "email"
			if k, ok := strings.CutPrefix(kind, "webhook:"); ok {
				kind, channel = k, "webhook"
			}
			sent.WithLabelValues(kind, channel, result).Inc()
		}
	}
	l.Register(w)
	return w, nil
}

// newMailer sends notifications over SMTP_URL; without it dev writes them
// as .eml files into its data directory (outboxDir), serve/worker mail
// nothing (the inbox has them).
func newMailer(cfg config) (activities.Mailer, error) {
	if cfg.SMTPURL != "" {
		return activities.NewSMTPMailer(cfg.SMTPURL, cfg.MailFrom)
	}
	if cfg.Command == "dev" {
		return &activities.OutboxMailer{Dir: outboxDir(cfg), From: cfg.MailFrom}, nil
	}
	return nil, nil
}

func outboxDir(cfg config) string { return filepath.Join(cfg.DataDir, "outbox") }

// keySetting is a key list from its setting or, for dev (and check of a
// local dev), from a file in the data directory, made on dev's first start.
func keySetting(cfg config, setting, value, file string, generate func() string) (string, error) {
	if value != "" {
		return value, nil
	}
	if cfg.Command != "dev" && (cfg.Command != "check" || !strings.HasPrefix(cfg.DatabaseURL, "sqlite:")) {
		return "", fmt.Errorf("%s is required for %s: the same list for API and workers (make one with: reallabor keys generate)", setting, cfg.Command)
	}
	path := filepath.Join(cfg.DataDir, file)
	raw, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) && cfg.Command == "dev" {
		raw = []byte(generate())
		if err := os.WriteFile(path, raw, 0o600); err != nil {
			return "", fmt.Errorf("write %s: %w", path, err)
		}
	} else if err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	return strings.TrimSpace(string(raw)), nil
}

// signingKeys are the keys API and workers seal and check actions with
// (REALLABOR_SIGNING_KEYS; dev keeps its own in signing.keys).
func signingKeys(cfg config) (*authz.Keys, error) {
	raw, err := keySetting(cfg, "REALLABOR_SIGNING_KEYS", cfg.SigningKeys, "signing.keys", func() string { return authz.Generate("dev1") })
	if err != nil {
		return nil, err
	}
	k, err := authz.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("REALLABOR_SIGNING_KEYS: %w", err)
	}
	return k, nil
}

// payloadCodec encrypts what the workflows carry in Temporal
// (REALLABOR_PAYLOAD_KEYS; dev keeps its own in payload.keys).
func payloadCodec(cfg config) (*encryption.Codec, error) {
	raw, err := keySetting(cfg, "REALLABOR_PAYLOAD_KEYS", cfg.PayloadKeys, "payload.keys", func() string { return encryption.Generate("dev1") })
	if err != nil {
		return nil, err
	}
	c, err := encryption.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("REALLABOR_PAYLOAD_KEYS: %w", err)
	}
	return c, nil
}

// serveCodec serves the payload codec endpoint until ctx ends.
func serveCodec(ctx context.Context, l net.Listener, codec *encryption.Codec, log *slog.Logger, origins ...string) {
	srv := &http.Server{Handler: codec.Handler(origins...), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) && !errors.Is(err, net.ErrClosed) {
		log.Warn("codec endpoint", "error", err)
	}
}

// bootstrapAdmin is the user REALLABOR_ADMIN_TOKEN signs in as.
const bootstrapAdmin = "bootstrap-admin"

// listen binds the HTTP address, naming the setting if it cannot.
func listen(addr string) (net.Listener, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("HTTP_ADDR %s: cannot listen: %w", addr, err)
	}
	return l, nil
}

// serveHTTP runs the API until ctx ends, then shuts it down gracefully.
func serveHTTP(ctx context.Context, l net.Listener, h http.Handler, log *slog.Logger) error {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 60 * time.Second, IdleTimeout: 120 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(l) }()
	select {
	case err := <-errc:
		return fmt.Errorf("http server: %w", err)
	case <-ctx.Done():
	}
	// Long enough for a request to finish its Temporal call (20 s at most).
	sctx, cancel := context.WithTimeout(context.Background(), 25*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		log.Warn("http shutdown", "error", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// ensureAdminToken makes REALLABOR_ADMIN_TOKEN a working admin credential:
// the bootstrap admin's only token, revoked when the setting is removed or
// changed.
func ensureAdminToken(ctx context.Context, st *store.Store, token string) error {
	now := time.Now().UTC()
	if token == "" {
		// The bootstrap credential works only while its setting is set.
		return st.RevokeTokens(ctx, bootstrapAdmin, "", now)
	}
	hash := api.HashToken(token)
	if u, _, err := st.UserByTokenHash(ctx, hash); err == nil && u.ID == bootstrapAdmin {
		return nil
	} else if err == nil {
		return fmt.Errorf("REALLABOR_ADMIN_TOKEN is the token of user %s; choose another", u.ID)
	} else if !errors.Is(err, models.ErrNotFound) {
		return err
	}
	tok := &models.Token{ID: "tok-" + bootstrapAdmin, UserID: bootstrapAdmin, Name: "REALLABOR_ADMIN_TOKEN", Hash: hash, CreatedAt: now}
	if _, err := st.User(ctx, bootstrapAdmin); err == nil {
		return st.ReplaceTokens(ctx, tok)
	} else if !errors.Is(err, models.ErrNotFound) {
		return err
	}
	if err := st.CreateUser(ctx, &models.User{ID: bootstrapAdmin, Name: "bootstrap admin", Role: models.RoleAdmin,
		CreatedAt: now}); err != nil {
		return err
	}
	return st.SaveToken(ctx, tok)
}

// serveMetrics serves /metrics on METRICS_ADDR, if set, until ctx ends (the
// API's own address then answers 404 for it).
func serveMetrics(ctx context.Context, cfg config, srv *api.Server, log *slog.Logger) error {
	if cfg.MetricsAddress == "" {
		return nil
	}
	ml, err := net.Listen("tcp", cfg.MetricsAddress)
	if err != nil {
		return fmt.Errorf("METRICS_ADDR %s: %w", cfg.MetricsAddress, err)
	}
	go func() {
		if err := serveHTTP(ctx, ml, srv.MetricsHandler(), log); err != nil {
			log.Error("metrics server", "error", err)
		}
	}()
	log.Info("metrics", "address", ml.Addr().String())
	return nil
}

// grpcCompression is how the app's Temporal clients compress gRPC: gzip by
// default towards another host, none towards this one (dev: it cost about a
// tenth of the CPU for nothing, and the payloads are encrypted, so they do
// not compress anyway); TEMPORAL_GRPC_COMPRESSION (gzip or none) decides.
func grpcCompression(cfg config) client.GrpcCompression {
	switch cfg.TemporalCompression {
	case "none":
		return &client.GrpcCompressionNone{}
	case "gzip":
		return &client.GrpcCompressionGzip{}
	}
	if host, _, err := net.SplitHostPort(cfg.TemporalAddress); err == nil {
		if ip := net.ParseIP(host); (ip != nil && ip.IsLoopback()) || host == "localhost" {
			return &client.GrpcCompressionNone{}
		}
	}
	return &client.GrpcCompressionGzip{}
}

// mailWhere says where notification e-mails go.
func mailWhere(cfg config) string {
	if cfg.SMTPURL != "" {
		if u, err := url.Parse(cfg.SMTPURL); err == nil {
			return "SMTP " + u.Host
		}
		return "SMTP"
	}
	return "each one an .eml file in " + outboxDir(cfg) + " (set SMTP_URL to send)"
}

// workerHealth is the worker process's small HTTP surface: /healthz (the
// process runs), /readyz (the database and Temporal answer; 503 naming what
// does not) and /metrics (its own registry: notifications, Go runtime).
func workerHealth(st *store.Store, tc client.Client, reg *prometheus.Registry) http.Handler {
	mux := http.NewServeMux()
	answer := func(w http.ResponseWriter, code int, v any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		_ = json.NewEncoder(w).Encode(v)
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		answer(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
		defer cancel()
		checks := map[string]string{"database": "ok", "temporal": "ok"}
		code := http.StatusOK
		if err := st.Ping(ctx); err != nil {
			checks["database"], code = err.Error(), http.StatusServiceUnavailable
		}
		if _, err := tc.CheckHealth(ctx, &client.CheckHealthRequest{}); err != nil {
			checks["temporal"], code = err.Error(), http.StatusServiceUnavailable
		}
		answer(w, code, checks)
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	return mux
}

// healthcheck asks a readiness URL and succeeds on 200: the container
// healthcheck of the distroless image, which has no curl.
func (p *program) healthcheck(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("reallabor healthcheck", flag.ContinueOnError)
	fs.SetOutput(p.stderr)
	target := fs.String("url", "http://127.0.0.1:8080/readyz", "the URL to ask (the API's /readyz, or a worker's on HEALTH_ADDR)")
	timeout := fs.Duration("timeout", 3*time.Second, "how long to wait for the answer")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, *target, nil)
	if err != nil {
		return fmt.Errorf("healthcheck %s: %w", *target, err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("healthcheck %s: %w", *target, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("healthcheck %s: %d %s", *target, resp.StatusCode, strings.TrimSpace(string(body)))
	}
	fmt.Fprintln(p.stdout, "ok")
	return nil
}

// temporalMetrics is the Temporal SDK's own metrics (workflow and activity
// task latencies, schedule-to-start, sticky cache, polls) as Prometheus
// metrics in reg, through the SDK's tally handler with Prometheus naming.
func temporalMetrics(reg *prometheus.Registry) (client.MetricsHandler, func(), error) {
	reporter := tallyprom.NewReporter(tallyprom.Options{Registerer: reg,
		DefaultTimerType: tallyprom.HistogramTimerType,
		OnRegisterError:  func(err error) {}})
	scope, closer := tally.NewRootScope(tally.ScopeOptions{
		CachedReporter:  reporter,
		Separator:       tallyprom.DefaultSeparator,
		SanitizeOptions: &sdktally.PrometheusSanitizeOptions,
	}, time.Second)
	scope = sdktally.NewPrometheusNamingScope(scope)
	return sdktally.NewMetricsHandler(scope), func() { _ = closer.Close() }, nil
}

// settingWrong says a database answered and refused the setting itself (no
// such database or role, a wrong password): waiting will not mend it, so
// start-up ends at once with the server's word for it.
func settingWrong(err error) bool {
	var pg *pgconn.PgError
	if !errors.As(err, &pg) {
		return false
	}
	switch pg.Code {
	case "3D000", "28000", "28P01": // invalid catalog name, authorization, password
		return true
	}
	return false
}
