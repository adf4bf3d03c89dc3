// Command reallabor is the one binary of Reallabor grants: `dev` runs the
// whole product in one process on embedded defaults; `serve`, `worker` and
// `migrate` run the production shape against PostgreSQL and a Temporal
// cluster; `users create` makes a user and prints its token.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	p := &program{stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv}
	if err := p.run(ctx, os.Args[1:]); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "reallabor:", err)
		}
		os.Exit(1)
	}
}

// endpoints are where a started program listens.
type endpoints struct {
	HTTP     string // host:port of the API
	Temporal string // host:port of the Temporal frontend
	UI       string // URL of the Temporal Web UI ("" if none)
}

// program is the composition root; tests run it in-process.
type program struct {
	stdout, stderr io.Writer
	getenv         func(string) string
	// onReady, if set, is called once the API accepts requests.
	onReady func(endpoints)
}

const usage = `usage: reallabor <command> [flags]

commands:
  dev            everything in one process on embedded defaults (Temporal, its UI, worker, API)
  serve          the HTTP API, against TEMPORAL_ADDRESS and DATABASE_URL
  worker         the Temporal worker, against TEMPORAL_ADDRESS and DATABASE_URL
  migrate        apply database migrations to DATABASE_URL
  users create   create a user and print its token (--role, --name, --organisation)
  keys generate  print a new key (id:base64key, 32 bytes) for REALLABOR_SIGNING_KEYS or,
                 a different one, REALLABOR_PAYLOAD_KEYS; on rotation put the new one
                 first: new,old
  check          compare the books (ledger, journal, projection, audit trail) with every
                 application's workflow; print each difference, exit 1 if any (without
                 DATABASE_URL: the data of a local dev)
  seed-scale     fill DATABASE_URL (PostgreSQL, a database of its own) with applications and
                 tranches in SQL, no workflows, to measure the lists at scale (--applications)
  healthcheck    ask a /readyz URL (--url), exit 0 on 200: the containers' healthcheck
  version        the module version and the commit it was built from
  bench          the load command: bare Temporal's ceiling for the lifecycle's shape and
                 the product's whole lifecycle through HTTP on a fresh in-process dev
                 (--db sqlite|postgres|both, postgres on DATABASE_URL; --clients, --lifecycles)

run "reallabor <command> -h" for its flags`

// run runs a command; asked for its help (-h), it prints it and succeeds.
func (p *program) run(ctx context.Context, args []string) error {
	err := p.command(ctx, args)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	return err
}

func (p *program) command(ctx context.Context, args []string) error {
	if len(args) == 0 {
		fmt.Fprintln(p.stderr, usage)
		return errors.New("no command given")
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "dev":
		return p.dev(ctx, rest)
	case "serve":
		return p.serve(ctx, rest)
	case "worker":
		return p.worker(ctx, rest)
	case "migrate":
		return p.migrate(ctx, rest)
	case "users":
		if len(rest) == 0 || rest[0] != "create" {
			return errors.New(`usage: reallabor users create --role <admin|applicant|reviewer|finance> --name <name> [--organisation <org>]`)
		}
		return p.createUser(ctx, rest[1:])
	case "check":
		return p.check(ctx, rest)
	case "bench":
		return p.bench(ctx, rest)
	case "seed-scale":
		return p.seedScale(ctx, rest)
	case "keys":
		if len(rest) == 0 || rest[0] != "generate" {
			return errors.New("usage: reallabor keys generate [--id <id>]")
		}
		return p.keysGenerate(rest[1:])
	case "help", "-h", "--help":
		fmt.Fprintln(p.stdout, usage)
		return nil
	case "healthcheck":
		return p.healthcheck(ctx, rest)
	case "version", "--version", "-version":
		fmt.Fprintln(p.stdout, version())
		return nil
	}
	fmt.Fprintln(p.stderr, usage)
	return fmt.Errorf("unknown command %q", cmd)
}

// commit is the VCS commit, set by the image build (-ldflags "-X
// main.commit=..."), where the sources come without their .git.
var commit string

// version is the module's version and the VCS commit the binary was built
// from (as the Go toolchain records them), e.g.
// "reallabor (devel) commit 1a2b3c4 2026-12-02T15:00:00Z modified".
func version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "reallabor (no build information)"
	}
	out := "reallabor " + bi.Main.Version
	settings := map[string]string{"vcs.revision": commit}
	for _, s := range bi.Settings {
		settings[s.Key] = s.Value
	}
	if rev := settings["vcs.revision"]; rev != "" {
		out += " commit " + rev[:min(12, len(rev))]
		if t := settings["vcs.time"]; t != "" {
			out += " " + t
		}
		if settings["vcs.modified"] == "true" {
			out += " modified"
		}
	}
	return out + " (" + bi.GoVersion + ")"
}
