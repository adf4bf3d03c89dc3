package main

import (
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.temporal.io/sdk/client"

	"reallabor/api"
)

// config is every setting, parsed once from flags with environment fallbacks.
type config struct {
	HTTPAddr          string
	DatabaseURL       string
	TemporalAddress   string
	TemporalNamespace string
	UIAddress         string
	DataDir           string
	AdminToken        string
	SigningKeys       string
	PayloadKeys       string
	CodecAddress      string
	MetricsToken      string
	MetricsAddress    string
	// SMTPURL, MailFrom, PublicURL: notification e-mail.
	SMTPURL, MailFrom, PublicURL string
	// WebhookAllowPrivate lets webhooks reach private addresses.
	WebhookAllowPrivate bool
	// DocumentsURL is the bucket of attached files (gocloud.dev URL; dev:
	// a directory in the data directory); ClamdAddress a ClamAV daemon
	// that scans each upload first; DocumentMaxBytes the largest file.
	// HealthAddress is where the worker serves /healthz, /readyz and
	// /metrics (empty: nowhere).
	HealthAddress string
	DocumentsURL  string
	// TemporalUIURL is where the console links admins to a workflow (TEMPORAL_UI_URL; dev: its own UI).
	TemporalUIURL    string
	ClamdAddress     string
	DocumentMaxBytes int64
	// TemporalCompression is gzip, none or "" (by address).
	TemporalCompression string
	CodecAllowOrigin    string
	// Command is the subcommand the settings are for.
	Command        string
	LogLevel       string
	LogFormat      string
	StartupTimeout time.Duration
	Seed           bool
	RateLimit      float64
	TrustedProxies []*net.IPNet
	// sdkMetrics receives the Temporal SDK's metrics (set by the commands
	// that serve them; nil: none).
	sdkMetrics client.MetricsHandler
}

func envOr(getenv func(string) string, key, def string) string {
	if v := getenv(key); v != "" {
		return v
	}
	return def
}

// parseConfig reads the flags of a subcommand; dev gets embedded defaults.
func parseConfig(cmd string, args []string, getenv func(string) string, stderr io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("reallabor "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	// Each command takes only the flags that mean something to it (its -h
	// lists those); a flag it does not take keeps its setting's value.
	takes := func(cmds ...string) bool { return slices.Contains(cmds, cmd) }
	str := func(p *string, name, value, usage string, cmds ...string) {
		*p = value
		if takes(cmds...) {
			fs.StringVar(p, name, value, usage)
		}
	}
	const (
		dev, serve, worker, migrate, check = "dev", "serve", "worker", "migrate", "check"
	)
	str(&c.HTTPAddr, "http", envOr(getenv, "HTTP_ADDR", ":8080"), "HTTP API listen address (HTTP_ADDR)", dev, serve)
	str(&c.DatabaseURL, "database-url", getenv("DATABASE_URL"), "PostgreSQL URL; in dev, empty means an embedded SQLite file (DATABASE_URL)", dev, serve, worker, migrate, check)
	str(&c.TemporalAddress, "temporal-address", envOr(getenv, "TEMPORAL_ADDRESS", "127.0.0.1:7233"), "Temporal frontend host:port; in dev, where the embedded server listens (TEMPORAL_ADDRESS)", dev, serve, worker, check)
	str(&c.TemporalNamespace, "temporal-namespace", envOr(getenv, "TEMPORAL_NAMESPACE", "default"), "Temporal namespace (TEMPORAL_NAMESPACE)", dev, serve, worker, check)
	str(&c.UIAddress, "ui-address", envOr(getenv, "TEMPORAL_UI_ADDRESS", "127.0.0.1:8233"), "Temporal Web UI address, empty to disable (TEMPORAL_UI_ADDRESS)", dev)
	str(&c.DataDir, "data-dir", envOr(getenv, "REALLABOR_DATA_DIR", ".reallabor"), "directory for the SQLite files, the documents and the demo tokens (REALLABOR_DATA_DIR)", dev)
	str(&c.LogLevel, "log-level", envOr(getenv, "LOG_LEVEL", "info"), "debug, info, warn or error (LOG_LEVEL)", dev, serve, worker, migrate, check)
	str(&c.LogFormat, "log-format", envOr(getenv, "LOG_FORMAT", "text"), "text or json (LOG_FORMAT)", dev, serve, worker, migrate, check)
	var startup, rateLimit, proxies string
	str(&startup, "startup-timeout", envOr(getenv, "STARTUP_TIMEOUT", "60s"), "how long to retry an unreachable database or Temporal (STARTUP_TIMEOUT)", serve, worker, migrate, check)
	str(&rateLimit, "rate-limit", envOr(getenv, "RATE_LIMIT", "20"), "API requests per second per user (bursts of twice that; per client IP five times that); 0 disables (RATE_LIMIT)", dev, serve)
	str(&proxies, "trusted-proxies", envOr(getenv, "TRUSTED_PROXIES", ""), "proxies (CIDRs) whose X-Forwarded-For names the client; empty: none (TRUSTED_PROXIES)", dev, serve)
	seed := cmd == dev
	c.Seed = seed
	if takes(dev) {
		fs.BoolVar(&c.Seed, "seed", seed, "seed a demo programme and users on first start")
	}
	c.AdminToken = getenv("REALLABOR_ADMIN_TOKEN")
	c.SigningKeys = getenv("REALLABOR_SIGNING_KEYS")
	c.PayloadKeys = getenv("REALLABOR_PAYLOAD_KEYS")
	c.MetricsToken = getenv("METRICS_TOKEN")
	c.SMTPURL = getenv("SMTP_URL")
	c.WebhookAllowPrivate = getenv("WEBHOOK_ALLOW_PRIVATE") == "true"
	c.MailFrom = envOr(getenv, "MAIL_FROM", "reallabor@localhost")
	c.PublicURL = envOr(getenv, "PUBLIC_URL", "http://localhost:8080")
	c.DocumentsURL = getenv("DOCUMENTS_URL")
	c.TemporalUIURL = getenv("TEMPORAL_UI_URL")
	c.ClamdAddress = getenv("CLAMD_ADDRESS")
	if v := getenv("DOCUMENT_MAX_BYTES"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1024 || n > 1<<30 {
			return c, fmt.Errorf("DOCUMENT_MAX_BYTES %q: a number of bytes between 1024 and 1073741824", v)
		}
		c.DocumentMaxBytes = n
	}
	c.TemporalCompression = getenv("TEMPORAL_GRPC_COMPRESSION")
	switch c.TemporalCompression {
	case "", "gzip", "none":
	default:
		return c, fmt.Errorf("TEMPORAL_GRPC_COMPRESSION %q: gzip or none", c.TemporalCompression)
	}
	c.Command = cmd
	str(&c.MetricsAddress, "metrics-address", envOr(getenv, "METRICS_ADDR", ""), "serve /metrics on this address only, not next to the API (e.g. 127.0.0.1:9090) (METRICS_ADDR)", dev, serve)
	str(&c.HealthAddress, "health-address", envOr(getenv, "HEALTH_ADDR", ""), "serve /healthz, /readyz and /metrics on this address (e.g. :8081) (HEALTH_ADDR)", worker)
	str(&c.CodecAddress, "codec-address", envOr(getenv, "CODEC_ADDR", ""), "also serve the payload codec endpoint for the Temporal UI here (operators only; e.g. 127.0.0.1:8234) (CODEC_ADDR)", serve)
	str(&c.CodecAllowOrigin, "codec-allow-origin", envOr(getenv, "CODEC_ALLOW_ORIGIN", ""), "the Temporal UI's origin the codec endpoint answers (CODEC_ALLOW_ORIGIN)", serve)
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	d, err := time.ParseDuration(startup)
	if err != nil || d <= 0 {
		return c, fmt.Errorf("STARTUP_TIMEOUT %q is not a positive duration", startup)
	}
	c.StartupTimeout = d
	if c.RateLimit, err = strconv.ParseFloat(rateLimit, 64); err != nil || c.RateLimit < 0 {
		return c, fmt.Errorf("RATE_LIMIT %q is not a non-negative number", rateLimit)
	}
	if c.TrustedProxies, err = api.ParseProxies(proxies); err != nil {
		return c, fmt.Errorf("TRUSTED_PROXIES %q: %w", proxies, err)
	}
	if cmd == "dev" && c.DocumentsURL == "" {
		abs, err := filepath.Abs(filepath.Join(c.DataDir, "documents"))
		if err != nil {
			return c, fmt.Errorf("REALLABOR_DATA_DIR %s: %w", c.DataDir, err)
		}
		c.DocumentsURL = "file://" + filepath.ToSlash(abs) + "?create_dir=1&metadata=skip"
	}
	if (cmd == "dev" || cmd == "check") && c.DatabaseURL == "" {
		c.DatabaseURL = "sqlite:" + filepath.Join(c.DataDir, "reallabor.db")
	}
	if cmd != "dev" && c.DatabaseURL == "" {
		return c, fmt.Errorf("DATABASE_URL is required for %s (a postgres:// URL)", cmd)
	}
	if c.AdminToken != "" && len(c.AdminToken) < 16 {
		return c, fmt.Errorf("REALLABOR_ADMIN_TOKEN must be at least 16 characters")
	}
	return c, nil
}

func (c config) logger(stderr io.Writer) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.LogLevel)); err != nil {
		return nil, fmt.Errorf("LOG_LEVEL %q: want debug, info, warn or error", c.LogLevel)
	}
	opts := &slog.HandlerOptions{Level: level}
	switch strings.ToLower(c.LogFormat) {
	case "json":
		return slog.New(slog.NewJSONHandler(stderr, opts)), nil
	case "text", "":
		return slog.New(slog.NewTextHandler(stderr, opts)), nil
	}
	return nil, fmt.Errorf("LOG_FORMAT %q: want text or json", c.LogFormat)
}
