package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/gofrs/flock"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"go.temporal.io/sdk/client"

	"reallabor/api"
	"reallabor/internal/authz"
	"reallabor/internal/demo"
	"reallabor/internal/devstack"
	"reallabor/internal/documents"
	"reallabor/internal/reconcile"
	"reallabor/internal/store"
	"reallabor/models"
)

// dev runs the embedded Temporal server and UI, the worker and the API in
// one process, seeding a demo programme on first start.
func (p *program) dev(ctx context.Context, args []string) error {
	started := time.Now()
	cfg, log, err := p.setup("dev", args)
	if err != nil {
		return err
	}
	ready := false
	defer func() { // runs last, after every part has stopped
		if ready {
			log.Info("stopped")
		}
	}()
	if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
		return fmt.Errorf("REALLABOR_DATA_DIR %s: %w", cfg.DataDir, err)
	}
	// One dev per data directory: a second would share the SQLite files
	// and the embedded server's state with the first.
	lock := flock.New(filepath.Join(cfg.DataDir, "dev.lock"))
	locked, err := lock.TryLock()
	if err != nil {
		return fmt.Errorf("REALLABOR_DATA_DIR %s: lock: %w", cfg.DataDir, err)
	}
	if !locked {
		return fmt.Errorf("REALLABOR_DATA_DIR %s is in use by another reallabor dev: stop it, or start this one with --data-dir", cfg.DataDir)
	}
	defer func() { _ = lock.Unlock() }()
	keys, err := signingKeys(cfg)
	if err != nil {
		return err
	}
	codec, err := payloadCodec(cfg)
	if err != nil {
		return err
	}
	l, err := listen(cfg.HTTPAddr)
	if err != nil {
		return err
	}
	defer l.Close()
	// The Web UI shows the encrypted payloads through a codec endpoint on
	// the loopback interface only.
	var codecL net.Listener
	codecURL := ""
	if cfg.UIAddress != "" {
		if codecL, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
			return fmt.Errorf("codec endpoint: %w", err)
		}
		defer codecL.Close()
		codecURL = "http://" + codecL.Addr().String()
	}
	ts, err := devstack.Start(devstack.Options{
		DatabaseFile:    filepath.Join(cfg.DataDir, "temporal.db"),
		FrontendAddress: cfg.TemporalAddress,
		UIAddress:       cfg.UIAddress,
		Namespace:       cfg.TemporalNamespace,
		Logger:          log,
		CodecEndpoint:   codecURL,
	})
	if err != nil {
		return err
	}
	defer ts.Stop()
	if codecL != nil {
		ui := ts.UIURL()
		go serveCodec(ctx, codecL, codec, log, ui, strings.Replace(ui, "127.0.0.1", "localhost", 1))
	}
	cfg.TemporalAddress = ts.FrontendAddress()

	st, err := openStore(ctx, cfg, log, true)
	if err != nil {
		return err
	}
	defer st.Close()
	reg := prometheus.NewRegistry()
	sdkMetrics, closeMetrics, err := temporalMetrics(reg)
	if err != nil {
		return err
	}
	defer closeMetrics()
	cfg.sdkMetrics = sdkMetrics
	tc, err := dialTemporal(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer tc.Close()
	fatal := make(chan error, 1)
	w, err := newWorker(cfg, tc, st, keys, fatal, reg)
	if err != nil {
		return err
	}
	if err := w.Start(); err != nil {
		return fmt.Errorf("start worker: %w", err)
	}
	defer w.Stop()
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	go func() {
		select {
		case err := <-fatal:
			cancel(err)
		case <-ctx.Done():
		}
	}()
	if err := ensureAdminToken(ctx, st, cfg.AdminToken); err != nil {
		return err
	}
	var tokens string
	if cfg.Seed {
		if tokens, err = seed(ctx, st, cfg.DataDir); err != nil {
			return fmt.Errorf("seed demo data: %w", err)
		}
	}
	docs, closeDocs, err := openDocuments(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer closeDocs()
	acfg := apiConfig(cfg, st, tc, log, keys, docs)
	acfg.Registry = reg // the worker counts its notifications there too
	acfg.TemporalUI = ts.UIURL()
	srv := api.New(acfg)
	if err := serveMetrics(ctx, cfg, srv, log); err != nil {
		return err
	}
	ep := endpoints{HTTP: l.Addr().String(), Temporal: ts.FrontendAddress(), UI: ts.UIURL()}
	fmt.Fprintf(p.stdout, `
Reallabor grants is running (ready in %s).

  Console       http://%s/console/   (sign in with a token below; API docs: /api/docs)
  API           http://%s/api/v1   (health: /healthz, /readyz; OpenAPI: /api/v1/openapi.json)
  Temporal      %s   (temporal workflow list --address %s)
  Temporal UI   %s   (payloads are encrypted; the UI decrypts them through %s)
  Data          %s
  Mail          %s

%s
Ctrl-C stops everything.
`, time.Since(started).Round(time.Millisecond), hostPort(ep.HTTP), hostPort(ep.HTTP), ep.Temporal, ep.Temporal, orNone(ep.UI), orNone(codecURL), cfg.DataDir,
		mailWhere(cfg), tokens)
	ready = true
	log.Info("dev ready", "http", ep.HTTP, "temporal", ep.Temporal, "ui", ep.UI, "startup", time.Since(started).Round(time.Millisecond))
	if p.onReady != nil {
		p.onReady(ep)
	}
	if err := serveHTTP(ctx, l, srv.Handler(), log); err != nil {
		return err
	}
	return fatalCause(ctx)
}

// fatalCause is the error that ended ctx, unless it was a plain shutdown.
func fatalCause(ctx context.Context) error {
	if err := context.Cause(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

func hostPort(addr string) string {
	if strings.HasPrefix(addr, "[::]:") {
		return "localhost:" + strings.TrimPrefix(addr, "[::]:")
	}
	if strings.HasPrefix(addr, "0.0.0.0:") {
		return "localhost:" + strings.TrimPrefix(addr, "0.0.0.0:")
	}
	return addr
}

func orNone(s string) string {
	if s == "" {
		return "(disabled)"
	}
	return s
}

// setup parses a subcommand's settings and builds its logger.
func (p *program) setup(cmd string, args []string) (config, *slog.Logger, error) {
	cfg, err := parseConfig(cmd, args, p.getenv, p.stderr)
	if err != nil {
		return cfg, nil, err
	}
	log, err := cfg.logger(p.stderr)
	return cfg, log, err
}

// setupSealed is setup for the commands that talk to the workflows: with
// the keys that seal what is sent to them.
func (p *program) setupSealed(cmd string, args []string) (config, *slog.Logger, *authz.Keys, error) {
	cfg, log, err := p.setup(cmd, args)
	if err != nil {
		return cfg, log, nil, err
	}
	keys, err := signingKeys(cfg)
	if err == nil {
		_, err = payloadCodec(cfg) // refuse to start without it, before waiting on anything
	}
	return cfg, log, keys, err
}

// apiConfig is the API's configuration from the settings.
func apiConfig(cfg config, st *store.Store, tc client.Client, log *slog.Logger, keys *authz.Keys, docs *documents.Store) api.Config {
	// The sign-in links go out as the notifications do (a bad SMTP_URL
	// stops the worker at start; the API then offers no links).
	mailer, err := newMailer(cfg)
	if err != nil {
		log.Warn("no sign-in links by e-mail", "error", err)
		mailer = nil
	}
	return api.Config{Mailer: mailer, PublicURL: cfg.PublicURL, Store: st, Temporal: tc, Logger: log, Namespace: cfg.TemporalNamespace, RateLimit: cfg.RateLimit,
		TrustedProxies: cfg.TrustedProxies, Keys: keys, MetricsToken: cfg.MetricsToken,
		MetricsApart: cfg.MetricsAddress != "", WebhookAllowPrivate: cfg.WebhookAllowPrivate,
		Documents: docs, DocumentMaxBytes: cfg.DocumentMaxBytes,
		SecureCookies: strings.HasPrefix(cfg.PublicURL, "https://"), TemporalUI: cfg.TemporalUIURL}
}

// openDocuments opens the document bucket, if one is configured (serve
// without DOCUMENTS_URL answers uploads with 503 and says so at start).
func openDocuments(ctx context.Context, cfg config, log *slog.Logger) (*documents.Store, func(), error) {
	if cfg.DocumentsURL == "" {
		log.Warn("no DOCUMENTS_URL: document uploads are off")
		return nil, func() {}, nil
	}
	docs, err := documents.Open(ctx, cfg.DocumentsURL)
	if err != nil {
		return nil, nil, fmt.Errorf("DOCUMENTS_URL: %w", err)
	}
	if cfg.ClamdAddress != "" {
		docs.Scanner = documents.Clamd{Address: cfg.ClamdAddress}
	}
	return docs, func() { docs.Close() }, nil
}

// connect opens the database and dials Temporal (both retried for a bounded
// time); closeAll releases both.
func connect(ctx context.Context, cfg config, log *slog.Logger) (*store.Store, client.Client, func(), error) {
	st, err := openStore(ctx, cfg, log, false)
	if err != nil {
		return nil, nil, nil, err
	}
	tc, err := dialTemporal(ctx, cfg, log)
	if err != nil {
		st.Close()
		return nil, nil, nil, err
	}
	return st, tc, func() { tc.Close(); st.Close() }, nil
}

// serve runs the HTTP API against an external Temporal and PostgreSQL.
func (p *program) serve(ctx context.Context, args []string) error {
	cfg, log, keys, err := p.setupSealed("serve", args)
	if err != nil {
		return err
	}
	l, err := listen(cfg.HTTPAddr)
	if err != nil {
		return err
	}
	defer l.Close()
	st, tc, closeAll, err := connect(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer closeAll()
	if err := ensureAdminToken(ctx, st, cfg.AdminToken); err != nil {
		return err
	}
	docs, closeDocs, err := openDocuments(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer closeDocs()
	srv := api.New(apiConfig(cfg, st, tc, log, keys, docs))
	if err := serveMetrics(ctx, cfg, srv, log); err != nil {
		return err
	}
	if cfg.CodecAddress != "" {
		codec, err := payloadCodec(cfg)
		if err != nil {
			return err
		}
		cl, err := net.Listen("tcp", cfg.CodecAddress)
		if err != nil {
			return fmt.Errorf("CODEC_ADDR %s: %w", cfg.CodecAddress, err)
		}
		defer cl.Close()
		go serveCodec(ctx, cl, codec, log, cfg.CodecAllowOrigin)
		log.Info("codec endpoint", "address", cl.Addr().String())
	}
	log.Info("serving", "http", l.Addr().String(), "temporal", cfg.TemporalAddress)
	if p.onReady != nil {
		p.onReady(endpoints{HTTP: l.Addr().String(), Temporal: cfg.TemporalAddress})
	}
	return serveHTTP(ctx, l, srv.Handler(), log)
}

// worker runs the Temporal worker until ctx ends.
func (p *program) worker(ctx context.Context, args []string) error {
	cfg, log, keys, err := p.setupSealed("worker", args)
	if err != nil {
		return err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	sdkMetrics, closeMetrics, err := temporalMetrics(reg)
	if err != nil {
		return err
	}
	defer closeMetrics()
	cfg.sdkMetrics = sdkMetrics
	st, tc, closeAll, err := connect(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer closeAll()
	fatal := make(chan error, 1)
	w, err := newWorker(cfg, tc, st, keys, fatal, reg)
	if err != nil {
		return err
	}
	if cfg.HealthAddress != "" {
		hl, err := net.Listen("tcp", cfg.HealthAddress)
		if err != nil {
			return fmt.Errorf("HEALTH_ADDR %s: %w", cfg.HealthAddress, err)
		}
		go func() {
			if err := serveHTTP(ctx, hl, workerHealth(st, tc, reg), log); err != nil {
				log.Error("health server", "error", err)
			}
		}()
		log.Info("worker health", "address", hl.Addr().String())
	}
	if err := w.Start(); err != nil {
		return fmt.Errorf("start worker: %w", err)
	}
	defer w.Stop()
	log.Info("worker running", "temporal", cfg.TemporalAddress)
	select {
	case <-ctx.Done():
		return nil
	case err := <-fatal:
		return err
	}
}

// migrate applies pending migrations.
func (p *program) migrate(ctx context.Context, args []string) error {
	cfg, log, err := p.setup("migrate", args)
	if err != nil {
		return err
	}
	st, err := openStore(ctx, cfg, log, false)
	if err != nil {
		return err
	}
	defer st.Close()
	n, err := st.Migrate(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(p.stdout, "applied %d migration(s)\n", n)
	return nil
}

// errDifferences: the check found the books and the workflows apart.
var errDifferences = errors.New("the books differ from the workflows")

// check runs the reconciliation and prints every difference.
func (p *program) check(ctx context.Context, args []string) error {
	cfg, log, keys, err := p.setupSealed("check", args)
	if err != nil {
		return err
	}
	st, tc, closeAll, err := connect(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer closeAll()
	rep, err := (&reconcile.Checker{Store: st, Temporal: tc, Keys: keys, Settle: 3 * time.Second}).Check(ctx)
	if err != nil {
		return err
	}
	for _, d := range rep.Differences {
		fmt.Fprintln(p.stdout, d)
	}
	fmt.Fprintf(p.stdout, "checked %d programme(s), %d application(s): %d difference(s)\n",
		rep.Programmes, rep.Applications, len(rep.Differences))
	if len(rep.Differences) > 0 {
		return errDifferences
	}
	return nil
}

// keysGenerate prints a fresh signing key list for REALLABOR_SIGNING_KEYS.
func (p *program) keysGenerate(args []string) error {
	fs := flag.NewFlagSet("reallabor keys generate", flag.ContinueOnError)
	fs.SetOutput(p.stderr)
	id := fs.String("id", "k"+time.Now().UTC().Format("20060102"), "the key's id (name a new one on rotation)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	fmt.Fprintln(p.stdout, authz.Generate(*id))
	return nil
}

// createUser makes a user from the command line and prints its token once.
func (p *program) createUser(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("reallabor users create", flag.ContinueOnError)
	fs.SetOutput(p.stderr)
	role := fs.String("role", "", "admin, applicant, reviewer or finance")
	name := fs.String("name", "", "the person's name")
	org := fs.String("organisation", "", "the company or body the user acts for")
	dbURL := fs.String("database-url", p.getenv("DATABASE_URL"), "database (default: the dev SQLite file)")
	dataDir := fs.String("data-dir", envOr(p.getenv, "REALLABOR_DATA_DIR", ".reallabor"), "dev data directory")
	if err := fs.Parse(args); err != nil {
		return err
	}
	r := models.Role(*role)
	if !r.Valid() {
		return fmt.Errorf("--role must be admin, applicant, reviewer or finance")
	}
	if strings.TrimSpace(*name) == "" {
		return fmt.Errorf("--name is required")
	}
	if (r == models.RoleApplicant || r == models.RoleReviewer) && strings.TrimSpace(*org) == "" {
		return fmt.Errorf("--organisation is required for applicants and reviewers")
	}
	url := *dbURL
	if url == "" {
		url = "sqlite:" + filepath.Join(*dataDir, "reallabor.db")
	}
	st, err := store.Open(url)
	if err != nil {
		return err
	}
	defer st.Close()
	if _, err := st.Migrate(ctx); err != nil {
		return err
	}
	u, token, err := api.NewUser(ctx, st, "", *name, r, "", *org, time.Now())
	if err != nil {
		return err
	}
	out, _ := json.MarshalIndent(map[string]string{"id": u.ID, "name": u.Name, "role": string(u.Role),
		"organisation": u.Organisation, "token": token}, "", "  ")
	fmt.Fprintln(p.stdout, string(out))
	return nil
}

// seed creates a demo programme and one user per role on first start and
// writes their tokens to the data directory (tokens are stored only hashed,
// so the file is how a later start can show them again).
func seed(ctx context.Context, st *store.Store, dataDir string) (string, error) {
	tokensFile := filepath.Join(dataDir, "demo-tokens.txt")
	if b, err := os.ReadFile(tokensFile); err == nil {
		return string(b), nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", err
	}
	d, err := demo.Seed(ctx, st, time.Now())
	if errors.Is(err, demo.ErrNotEmpty) {
		return "Programmes exist already; create users with `reallabor users create --role ... --name ...`.\n", nil
	} else if err != nil {
		return "", err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Demo programme %s (budget 500,000.00 EUR)\nDemo users (export the token as TOKEN and send Authorization: Bearer $TOKEN):\n", d.ProgrammeID)
	for _, u := range d.Users {
		fmt.Fprintf(&b, "  %-9s %-15s %-18s %s\n", u.Role, u.Name, u.Organisation, u.Token)
	}
	if err := os.WriteFile(tokensFile, []byte(b.String()), 0o600); err != nil {
		return "", err
	}
	return b.String(), nil
}

// seedScale fills a PostgreSQL database with applications and tranches for
// measuring the lists (store.SeedScale).
func (p *program) seedScale(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("reallabor seed-scale", flag.ContinueOnError)
	fs.SetOutput(p.stderr)
	apps := fs.Int("applications", 100_000, "applications to write (three tranches each)")
	progs := fs.Int("programmes", 10, "programmes to spread them over")
	if err := fs.Parse(args); err != nil {
		return err
	}
	dsn := p.getenv("DATABASE_URL")
	if !strings.HasPrefix(dsn, "postgres") {
		return errors.New("seed-scale needs DATABASE_URL (PostgreSQL; a database of its own: its rows have no workflows)")
	}
	if *apps < 1 || *progs < 1 {
		return errors.New("--applications and --programmes must be at least 1")
	}
	st, err := store.Open(dsn)
	if err != nil {
		return err
	}
	defer st.Close()
	if _, err := st.Migrate(ctx); err != nil {
		return err
	}
	start := time.Now()
	if err := st.SeedScale(ctx, *progs, *apps); err != nil {
		return err
	}
	fmt.Fprintf(p.stdout, "wrote %d applications and %d tranches over %d programmes in %s\n", *apps, 3**apps, *progs,
		time.Since(start).Round(time.Millisecond))
	return nil
}
