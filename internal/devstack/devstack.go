// Package devstack runs an embedded Temporal server (the server library, the
// way the Temporal CLI's dev server does) with its Web UI in the current
// process, persisted in a SQLite file, for `reallabor dev` and for tests.
package devstack

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	uiserver "github.com/temporalio/ui-server/v2/server"
	uiconfig "github.com/temporalio/ui-server/v2/server/config"
	uiserveroptions "github.com/temporalio/ui-server/v2/server/server_options"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/server/common/cluster"
	"go.temporal.io/server/common/config"
	"go.temporal.io/server/common/dynamicconfig"
	"go.temporal.io/server/common/log"
	"go.temporal.io/server/common/log/tag"
	"go.temporal.io/server/common/membership/static"
	sqliteplugin "go.temporal.io/server/common/persistence/sql/sqlplugin/sqlite"
	"go.temporal.io/server/common/primitives"
	sqliteschema "go.temporal.io/server/schema/sqlite"
	"go.temporal.io/server/temporal"
)

// Options configure the embedded server. Zero values get dev defaults.
type Options struct {
	// DatabaseFile is the SQLite file; created with its schema if missing.
	// Empty means an in-memory database (nothing survives a restart).
	DatabaseFile string
	// FrontendAddress is host:port of the gRPC frontend, e.g. 127.0.0.1:7233.
	// Port 0 picks a free port.
	FrontendAddress string
	// UIAddress is host:port of the Web UI; empty disables the UI.
	UIAddress string
	// Namespace is registered at start (default "default").
	Namespace string
	// SearchAttributes are registered on the namespace at start.
	SearchAttributes map[string]enumspb.IndexedValueType
	Logger           *slog.Logger
	// LogLevel filters the server's own (chatty) logs; default warn.
	LogLevel slog.Level
	// CodecEndpoint, if set, is the payload codec endpoint the Web UI
	// decodes payloads with (they are encrypted in Temporal).
	CodecEndpoint string
	// SuggestContinueAsNewAfter, if set, is the history length at which the
	// server suggests continue-as-new (tests; Temporal's default is 4,096).
	SuggestContinueAsNewAfter int
}

// Server is a running embedded Temporal server.
type Server struct {
	server       temporal.Server
	ui           *uiserver.Server
	frontendAddr string
	uiAddr       string
	namespace    string
	// stopping silences the server's warnings and errors once Stop is
	// called: dropped connections and cancelled pollers are what stopping
	// is, not news.
	stopping *atomic.Bool
}

// FrontendAddress is where SDK clients and the temporal CLI connect.
func (s *Server) FrontendAddress() string { return s.frontendAddr }

// UIURL is the Web UI's address, or "" without a UI.
func (s *Server) UIURL() string {
	if s.uiAddr == "" {
		return ""
	}
	return "http://" + s.uiAddr
}

// Namespace is the registered namespace.
func (s *Server) Namespace() string { return s.namespace }

// Start builds and starts the server; it returns once the frontend accepts calls.
func Start(opts Options) (*Server, error) {
	// The server's other ports (membership, HTTP API) are picked free, then
	// bound: another process can take one in between. Picked ports are
	// picked again.
	for attempt := 1; ; attempt++ {
		s, err := startRecovered(opts)
		if err == nil || attempt == 4 || !strings.Contains(err.Error(), "address already in use") {
			return s, err
		}
		if _, port, perr := splitHostPort(opts.FrontendAddress); perr != nil || (port != 0 && opts.FrontendAddress != "") {
			return s, err
		}
	}
}

// startRecovered is start; the server library panics (instead of failing)
// when a listener it was to get could not be bound, which is reported as
// the port being in use.
func startRecovered(opts Options) (s *Server, err error) {
	defer func() {
		if r := recover(); r != nil {
			s, err = nil, fmt.Errorf("temporal server start panicked (a port taken meanwhile: address already in use?): %v", r)
		}
	}()
	return start(opts)
}

func start(opts Options) (*Server, error) {
	if opts.Namespace == "" {
		opts.Namespace = "default"
	}
	if opts.FrontendAddress == "" {
		opts.FrontendAddress = "127.0.0.1:7233"
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.LogLevel == 0 {
		opts.LogLevel = slog.LevelWarn
	}
	host, port, err := splitHostPort(opts.FrontendAddress)
	if err != nil {
		return nil, fmt.Errorf("temporal frontend address %q: %w", opts.FrontendAddress, err)
	}
	if port == 0 {
		if port, err = freePort(host); err != nil {
			return nil, err
		}
	} else if err := checkPortFree(host, port); err != nil {
		return nil, fmt.Errorf("temporal frontend address %s:%d is in use: %w", host, port, err)
	}
	s := &Server{frontendAddr: net.JoinHostPort(host, strconv.Itoa(port)), namespace: opts.Namespace}

	if opts.UIAddress != "" {
		uiHost, uiPort, err := splitHostPort(opts.UIAddress)
		if err != nil {
			return nil, fmt.Errorf("temporal UI address %q: %w", opts.UIAddress, err)
		}
		if uiPort == 0 {
			if uiPort, err = freePort(uiHost); err != nil {
				return nil, err
			}
		} else if err := checkPortFree(uiHost, uiPort); err != nil {
			return nil, fmt.Errorf("temporal UI address %s:%d is in use: %w", uiHost, uiPort, err)
		}
		s.uiAddr = net.JoinHostPort(uiHost, strconv.Itoa(uiPort))
		s.ui = uiserver.NewServer(uiserveroptions.WithConfigProvider(&uiconfig.Config{
			Host:                uiHost,
			Port:                uiPort,
			TemporalGRPCAddress: s.frontendAddr,
			EnableUI:            true,
			CORS:                uiconfig.CORS{CookieInsecure: true},
			HideLogs:            true,
			DefaultNamespace:    opts.Namespace,
			Codec:               uiconfig.Codec{Endpoint: opts.CodecEndpoint},
			DisableNewsFetch:    true,
		}))
	}

	conf, err := buildConfig(opts, host, port)
	if err != nil {
		return nil, err
	}
	s.stopping = &atomic.Bool{}
	logger := slogLogger{log: opts.Logger.With("component", "temporal"), level: opts.LogLevel, stopping: s.stopping}
	hosts := map[primitives.ServiceName]static.Hosts{}
	for _, svc := range []primitives.ServiceName{primitives.FrontendService, primitives.MatchingService, primitives.HistoryService, primitives.WorkerService} {
		hosts[svc] = static.SingleLocalHost(net.JoinHostPort(host, strconv.Itoa(conf.Services[string(svc)].RPC.GRPCPort)))
	}
	dyn := dynamicconfig.StaticClient{
		dynamicconfig.HistoryCacheHostLevelMaxSize.Key():                 8096,
		dynamicconfig.FrontendMaxNamespaceVisibilityRPSPerInstance.Key(): 100,
		// Updates are how people act; let many wait on one workflow at once.
		dynamicconfig.WorkflowExecutionMaxInFlightUpdates.Key(): 50,
		// An action's writes are a regular activity (durable-effects): the
		// server hands it back with the workflow task's completion, saving a
		// matching round trip. Production clusters should set it too.
		dynamicconfig.EnableActivityEagerExecution.Key(): true,
		// One partition per task queue, as Temporal's own dev server runs: a
		// task meets a waiting poller at once instead of being forwarded
		// between partitions (tens of milliseconds per activity otherwise).
		dynamicconfig.MatchingNumTaskqueueReadPartitions.Key():  1,
		dynamicconfig.MatchingNumTaskqueueWritePartitions.Key(): 1,
		// The history shard's queues read new tasks at most 20 times a second
		// by default: past the burst every activity, timer and workflow task
		// the server creates waits ~50 ms to be dispatched. One shard here,
		// so let it read as often as tasks come.
		dynamicconfig.TransferProcessorMaxPollRPS.Key():   10000,
		dynamicconfig.TimerProcessorMaxPollRPS.Key():      10000,
		dynamicconfig.VisibilityProcessorMaxPollRPS.Key(): 10000,
		dynamicconfig.OutboundProcessorMaxPollRPS.Key():   10000,
	}
	if opts.SuggestContinueAsNewAfter > 0 {
		dyn[dynamicconfig.HistoryCountSuggestContinueAsNew.Key()] = opts.SuggestContinueAsNewAfter
	}
	srv, err := temporal.NewServer(
		temporal.WithConfig(conf),
		temporal.ForServices(temporal.DefaultServices),
		temporal.WithStaticHosts(hosts),
		temporal.WithLogger(logger),
		temporal.WithDynamicConfigClient(dyn),
	)
	if err != nil {
		return nil, fmt.Errorf("build temporal server: %w", err)
	}
	if err := srv.Start(); err != nil {
		return nil, fmt.Errorf("start temporal server: %w", err)
	}
	s.server = srv
	if s.ui != nil {
		go func() {
			if err := s.ui.Start(); err != nil && !errors.Is(err, http.ErrServerClosed) {
				opts.Logger.Error("temporal UI stopped", "error", err)
			}
		}()
	}
	return s, nil
}

// Stop shuts the UI and the server down.
func (s *Server) Stop() {
	if s.stopping != nil {
		s.stopping.Store(true)
	}
	if s.ui != nil {
		s.ui.Stop()
	}
	if s.server != nil {
		_ = s.server.Stop()
	}
}

func buildConfig(opts Options, host string, port int) (*config.Config, error) {
	var conf config.Config
	conf.Global.Membership.MaxJoinDuration = 30 * time.Second
	conf.Global.Membership.BroadcastAddress = host
	conf.Persistence.DefaultStore = "sqlite-default"
	conf.Persistence.VisibilityStore = "sqlite-default"
	conf.Persistence.NumHistoryShards = 1
	sqlConf, err := buildSQLConfig(opts)
	if err != nil {
		return nil, err
	}
	conf.Persistence.DataStores = map[string]config.DataStore{"sqlite-default": {SQL: sqlConf}}
	httpPort, err := freePort(host)
	if err != nil {
		return nil, err
	}
	const clusterName = "active"
	conf.ClusterMetadata = &cluster.Config{
		EnableGlobalNamespace:    false,
		FailoverVersionIncrement: 10,
		MasterClusterName:        clusterName,
		CurrentClusterName:       clusterName,
		ClusterInformation: map[string]cluster.ClusterInformation{
			clusterName: {
				Enabled:                true,
				InitialFailoverVersion: 1,
				RPCAddress:             net.JoinHostPort(host, strconv.Itoa(port)),
				HTTPAddress:            net.JoinHostPort(host, strconv.Itoa(httpPort)),
				ClusterID:              "reallabor-dev",
			},
		},
	}
	conf.DCRedirectionPolicy.Policy = "noop"
	conf.Services = map[string]config.Service{}
	for _, name := range []string{"frontend", "history", "matching", "worker"} {
		var svc config.Service
		svc.RPC.BindOnIP = host
		if name == "frontend" {
			svc.RPC.GRPCPort = port
			svc.RPC.HTTPPort = httpPort
		} else if svc.RPC.GRPCPort, err = freePort(host); err != nil {
			return nil, err
		}
		conf.Services[name] = svc
	}
	conf.Archival.History.State = "disabled"
	conf.Archival.Visibility.State = "disabled"
	conf.NamespaceDefaults.Archival.History.State = "disabled"
	conf.NamespaceDefaults.Archival.Visibility.State = "disabled"
	conf.PublicClient.HostPort = net.JoinHostPort(host, strconv.Itoa(port))
	return &conf, nil
}

func buildSQLConfig(opts Options) (*config.SQL, error) {
	conf := config.SQL{PluginName: sqliteplugin.PluginName}
	if opts.DatabaseFile == "" {
		conf.ConnectAttributes = map[string]string{"mode": "memory", "cache": "shared"}
		conf.DatabaseName = fmt.Sprintf("reallabor-%d", time.Now().UnixNano())
	} else {
		// WAL with synchronous=NORMAL: a crashed process loses nothing
		// committed (only a power cut can lose the last transactions). One
		// connection: with four, writers meet SQLITE_BUSY and sleep in the
		// busy handler with the CPU idle (bare ceiling 14 lifecycles/s with
		// four, 30-35 with one; `reallabor bench`, docs/measurements.md).
		conf.ConnectAttributes = map[string]string{"mode": "rwc", "journal_mode": "wal", "synchronous": "normal",
			"busy_timeout": "10000"}
		conf.MaxConns, conf.MaxIdleConns = 1, 1
		conf.DatabaseName = opts.DatabaseFile
		if _, err := os.Stat(opts.DatabaseFile); errors.Is(err, os.ErrNotExist) {
			if err := os.MkdirAll(filepath.Dir(opts.DatabaseFile), 0o755); err != nil {
				return nil, fmt.Errorf("create data directory: %w", err)
			}
			if err := sqliteschema.SetupSchema(&conf); err != nil {
				return nil, fmt.Errorf("set up temporal schema in %s: %w", opts.DatabaseFile, err)
			}
		}
	}
	ns, err := sqliteschema.NewNamespaceConfig("active", opts.Namespace, false, opts.SearchAttributes)
	if err != nil {
		return nil, fmt.Errorf("namespace config: %w", err)
	}
	if err := sqliteschema.CreateNamespaces(&conf, ns); err != nil {
		return nil, fmt.Errorf("register namespace %s: %w", opts.Namespace, err)
	}
	return &conf, nil
}

func splitHostPort(addr string) (string, int, error) {
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, err
	}
	if host == "" {
		host = "127.0.0.1"
	}
	port, err := strconv.Atoi(p)
	if err != nil || port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("bad port %q", p)
	}
	return host, port, nil
}

// handedOut are the ports freePort has given out in this process.
var handedOut sync.Map

func checkPortFree(host string, port int) error {
	l, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		return err
	}
	return l.Close()
}

// freePort finds a port nothing listens on, picked at random below the
// kernel's ephemeral range (32768 and up on Linux), where outgoing
// connections and other ":0" listeners take theirs. Between picking a port
// and the server binding it another process may take it (the server then
// fails in a goroutine of its own, beyond recovery): so each process picks
// from its own slice of the range, chosen by its process id, and never
// hands out one port twice. Test packages run at the same time then meet
// only if their ids fall in one slice, and even then rarely on one port.
func freePort(host string) (int, error) {
	const first, slices, width = 20000, 8, 1500
	base := first + os.Getpid()%slices*width
	for range 200 {
		port := base + rand.IntN(width)
		if _, taken := handedOut.LoadOrStore(port, true); taken {
			continue
		}
		if checkPortFree(host, port) == nil {
			return port, nil
		}
	}
	l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return 0, fmt.Errorf("find a free port on %s: %w", host, err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// slogLogger adapts slog to the server's logger interface.
type slogLogger struct {
	log      *slog.Logger
	level    slog.Level
	stopping *atomic.Bool
}

var _ log.Logger = slogLogger{}

func (s slogLogger) Debug(msg string, tags ...tag.Tag)  { s.emit(slog.LevelDebug, msg, tags) }
func (s slogLogger) Info(msg string, tags ...tag.Tag)   { s.emit(slog.LevelInfo, msg, tags) }
func (s slogLogger) Warn(msg string, tags ...tag.Tag)   { s.emit(slog.LevelWarn, msg, tags) }
func (s slogLogger) Error(msg string, tags ...tag.Tag)  { s.emit(slog.LevelError, msg, tags) }
func (s slogLogger) DPanic(msg string, tags ...tag.Tag) { s.emit(slog.LevelError, msg, tags) }
func (s slogLogger) Panic(msg string, tags ...tag.Tag)  { s.emit(slog.LevelError, msg, tags) }
func (s slogLogger) Fatal(msg string, tags ...tag.Tag)  { s.emit(slog.LevelError, msg, tags) }

func (s slogLogger) emit(level slog.Level, msg string, tags []tag.Tag) {
	if level < s.level || !s.log.Enabled(context.Background(), level) {
		return
	}
	if s.stopping != nil && s.stopping.Load() && level <= slog.LevelError {
		return
	}
	attrs := make([]slog.Attr, len(tags))
	for i, t := range tags {
		attrs[i] = slog.Any(t.Key(), t.Value())
		// Pollers cancelled by a shutdown are not errors worth anyone's time.
		if level > slog.LevelInfo && strings.Contains(fmt.Sprint(t.Value()), context.Canceled.Error()) {
			return
		}
	}
	s.log.LogAttrs(context.Background(), level, msg, attrs...)
}
