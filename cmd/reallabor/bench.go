package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"text/tabwriter"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"reallabor/internal/devstack"
	"reallabor/internal/telemetry"
	"reallabor/workflows"
)

// The load command: in one invocation, the ceiling of bare Temporal for the
// product's lifecycle shape (a start, then fourteen updates, each with one
// local activity; no HTTP, no database) and the product's full lifecycle
// through its HTTP API against a fresh in-process `dev` (SQLite, and/or
// PostgreSQL from DATABASE_URL), with the same clients and lifecycles; it
// prints lifecycles/s, per-route latency, what one lifecycle costs in SQL
// statements, Temporal calls, billable actions and history events, and the
// ratio to the ceiling.

// bareUpdates is the lifecycle shape: what the product's fourteen actions are.
var bareUpdates = []string{"review", "review", "review", "acceptance", "approve", "pay", "interim-report",
	"assessment", "approve", "pay", "final-report", "assessment", "approve", "pay"}

const bareTaskQueue = "bench-bare"

// bareLifecycle is the engine-only workflow: each update runs one local
// activity; the run ends after the last.
func bareLifecycle(ctx workflow.Context) (int, error) {
	done := 0
	if err := workflow.SetUpdateHandler(ctx, "act", func(ctx workflow.Context, step string) (string, error) {
		lctx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{StartToCloseTimeout: 10 * time.Second})
		var out string
		err := workflow.ExecuteLocalActivity(lctx, bareStep, step).Get(ctx, &out)
		done++
		return out, err
	}); err != nil {
		return 0, err
	}
	err := workflow.Await(ctx, func() bool { return done >= len(bareUpdates) })
	return done, err
}

func bareStep(_ context.Context, step string) (string, error) { return step + " done", nil }

// latencies collects durations by name.
type latencies struct {
	mu sync.Mutex
	by map[string][]time.Duration
}

func (l *latencies) add(name string, d time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.by == nil {
		l.by = map[string][]time.Duration{}
	}
	l.by[name] = append(l.by[name], d)
}

func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(p*float64(len(s))+0.5) - 1
	return s[max(0, min(i, len(s)-1))]
}

// result is one measured run.
type result struct {
	name       string
	round      int
	lifecycles int
	elapsed    time.Duration
	cpu        time.Duration // CPU time of this process during the run
	lat        *latencies
	counts     telemetry.Counts
	events     int
	actions    map[string]int
}

// label is the run's name, with its round when there were several.
func (r result) label(all []result) string {
	for _, o := range all {
		if o.round > 1 {
			return fmt.Sprintf("%s #%d", r.name, r.round)
		}
	}
	return r.name
}

// medians prints, per product run, each round's ratio to that round's
// ceiling and their median: the figure that holds when the machine's
// speed drifts from run to run.
func medians(w io.Writer, results []result) {
	ceilings := map[int]result{}
	for _, r := range results {
		if r.name == "bare temporal" {
			ceilings[r.round] = r
		}
	}
	var names []string
	for _, r := range results {
		if r.name != "bare temporal" && !slices.Contains(names, r.name) {
			names = append(names, r.name)
		}
	}
	fmt.Fprintln(w, "\nby round (ratio to the same round's ceiling):")
	median := func(v []float64) float64 {
		v = slices.Clone(v)
		slices.Sort(v)
		if len(v)%2 == 1 {
			return v[len(v)/2]
		}
		return (v[len(v)/2-1] + v[len(v)/2]) / 2
	}
	var bare []float64
	for _, r := range results {
		if r.name == "bare temporal" {
			bare = append(bare, r.rate())
		}
	}
	if len(bare) > 0 {
		fmt.Fprintf(w, "  %-18s lifecycles/s %s  median %.1f\n", "bare temporal", join(bare, "%.1f"), median(bare))
	}
	for _, name := range names {
		var rates, ratios, cpuRatios []float64
		for _, r := range results {
			if r.name != name {
				continue
			}
			rates = append(rates, r.rate())
			if c, ok := ceilings[r.round]; ok {
				ratios = append(ratios, r.rate()/c.rate())
				if r.cpuPer() > 0 {
					cpuRatios = append(cpuRatios, float64(c.cpuPer())/float64(r.cpuPer()))
				}
			}
		}
		fmt.Fprintf(w, "  %-18s lifecycles/s %s  median %.1f\n", name, join(rates, "%.1f"), median(rates))
		if len(ratios) > 0 {
			fmt.Fprintf(w, "  %-18s ratio %s  median %.2f; CPU ratio median %.2f\n", "", join(ratios, "%.2f"), median(ratios), median(cpuRatios))
		}
	}
}

func join(v []float64, format string) string {
	parts := make([]string, len(v))
	for i, x := range v {
		parts[i] = fmt.Sprintf(format, x)
	}
	return strings.Join(parts, " ")
}

func (r result) rate() float64 { return float64(r.lifecycles) / r.elapsed.Seconds() }

// cpuPer is the CPU time one lifecycle took, all parts of the process
// together.
func (r result) cpuPer() time.Duration { return r.cpu / time.Duration(r.lifecycles) }

func (r result) all(exclude string) []time.Duration {
	var out []time.Duration
	for k, v := range r.lat.by {
		if k != exclude {
			out = append(out, v...)
		}
	}
	return out
}

// progress prints a line per second while a run goes on.
func progress(ctx context.Context, w io.Writer, name string, done *atomic.Int64, total int) func() {
	ctx, cancel := context.WithCancel(ctx)
	start := time.Now()
	go func() {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				n := done.Load()
				fmt.Fprintf(w, "\r  %-22s %4d/%d lifecycles  %5.1f/s", name, n, total, float64(n)/time.Since(start).Seconds())
			}
		}
	}()
	return func() { cancel(); fmt.Fprintln(w) }
}

func (p *program) bench(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("reallabor bench", flag.ContinueOnError)
	fs.SetOutput(p.stderr)
	clients := fs.Int("clients", 8, "concurrent clients")
	n := fs.Int("lifecycles", 160, "lifecycles per run")
	dbs := fs.String("db", "sqlite", "the product's database: sqlite, postgres (DATABASE_URL) or both")
	bare := fs.Bool("bare", true, "measure bare Temporal's ceiling too")
	product := fs.Bool("product", true, "measure the product (false: only the ceiling)")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the product runs here")
	blockProfile := fs.String("blockprofile", "", "write a block profile of the product runs here")
	bareProfile := fs.String("bare-cpuprofile", "", "write a CPU profile of the bare ceiling's run here")
	board := fs.String("board", "per-client", "the product's people: per-client (each client its own 3 reviewers and 2 finance officers) or shared (one board of 3 reviewers and 2 finance officers for all clients)")
	shapes := fs.Bool("sql", false, "also print the product's SQL statements per lifecycle by verb and table")
	rounds := fs.Int("rounds", 1, "measure the ceiling and the product this many times, alternating, and print each round's ratio and their median (this machine's speed drifts between runs)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *rounds < 1 {
		return errors.New("--rounds must be at least 1")
	}
	if *rounds > 1 && (*cpuProfile != "" || *blockProfile != "" || *bareProfile != "") {
		return errors.New("profiles are taken of one round: use --rounds 1")
	}
	if *board != "per-client" && *board != "shared" {
		return fmt.Errorf("--board %q: per-client or shared", *board)
	}
	if *clients < 1 || *n < *clients {
		return errors.New("need clients ≥ 1 and lifecycles ≥ clients")
	}
	var targets []string
	switch *dbs {
	case "sqlite", "postgres":
		targets = []string{*dbs}
	case "both":
		targets = []string{"sqlite", "postgres"}
	default:
		return fmt.Errorf("--db %q: sqlite, postgres or both", *dbs)
	}
	if slices.Contains(targets, "postgres") && !strings.HasPrefix(p.getenv("DATABASE_URL"), "postgres") {
		return errors.New("--db postgres needs DATABASE_URL (an empty database: the run writes to it)")
	}
	if slices.Contains(targets, "postgres") && *rounds > 1 {
		return errors.New("--rounds above 1 runs the product on SQLite only: each PostgreSQL run needs an empty database of its own")
	}
	fmt.Fprintf(p.stdout, "reallabor bench: %d clients, %d lifecycles per run, board %s, %d CPUs, %s\n", *clients, *n, *board,
		runtime.NumCPU(), time.Now().UTC().Format(time.DateOnly))
	var results []result
	for round := 1; round <= *rounds; round++ {
		rs, err := p.benchRound(ctx, benchPlan{clients: *clients, n: *n, bare: *bare, product: *product, targets: targets,
			shared: *board == "shared", cpuProfile: *cpuProfile, blockProfile: *blockProfile, bareProfile: *bareProfile,
			shapes: *shapes})
		if err != nil {
			return err
		}
		for i := range rs {
			rs[i].round = round
		}
		results = append(results, rs...)
	}
	report(p.stdout, results)
	if *rounds > 1 {
		medians(p.stdout, results)
	}
	return nil
}

// benchPlan is what one round measures.
type benchPlan struct {
	clients, n                            int
	bare, product, shared, shapes         bool
	targets                               []string
	cpuProfile, blockProfile, bareProfile string
}

// cpuProfile starts a CPU profile written to path ("" none); stop ends it.
func cpuProfile(path string) (stop func(), err error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}

// benchRound runs the ceiling (if asked), then the product on each target.
func (p *program) benchRound(ctx context.Context, plan benchPlan) ([]result, error) {
	var results []result
	if plan.bare {
		stop, err := cpuProfile(plan.bareProfile)
		if err != nil {
			return nil, err
		}
		r, err := p.benchBare(ctx, plan.clients, plan.n)
		stop()
		if err != nil {
			return nil, fmt.Errorf("bare temporal: %w", err)
		}
		results = append(results, r)
	}
	if plan.shapes {
		telemetry.Breakdown()
	}
	if plan.blockProfile != "" {
		runtime.SetBlockProfileRate(int(time.Millisecond / 10))
	}
	stop, err := cpuProfile(plan.cpuProfile)
	if err != nil {
		return nil, err
	}
	defer stop()
	for _, db := range plan.targets {
		if !plan.product {
			break
		}
		r, err := p.benchProduct(ctx, db, plan.clients, plan.n, plan.shared)
		if err != nil {
			return nil, fmt.Errorf("product on %s: %w", db, err)
		}
		results = append(results, r)
	}
	if plan.blockProfile != "" {
		f, err := os.Create(plan.blockProfile)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		if err := pprof.Lookup("block").WriteTo(f, 0); err != nil {
			return nil, err
		}
	}
	return results, nil
}

func report(w io.Writer, results []result) {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "\nrun\tlifecycles/s\tratio\tCPU/lifecycle\tCPU ratio\taction p50\taction p99\tSQL/lifecycle\tTemporal calls/lifecycle\tactions\thistory events")
	ceilings, ceilingCPUs := map[int]float64{}, map[int]time.Duration{}
	for _, r := range results {
		if r.name == "bare temporal" {
			ceilings[r.round], ceilingCPUs[r.round] = r.rate(), r.cpuPer()
		}
	}
	for _, r := range results {
		ceiling, ceilingCPU := ceilings[r.round], ceilingCPUs[r.round]
		ratio := "-"
		if ceiling > 0 {
			ratio = fmt.Sprintf("%.2f", r.rate()/ceiling)
		}
		acts := r.all("POST /applications") // the fourteen actions
		if r.name == "bare temporal" {
			acts = r.lat.by["update"]
		}
		var calls int64
		for _, v := range r.counts.Calls {
			calls += v
		}
		total := 0
		for _, v := range r.actions {
			total += v
		}
		per := func(v int64) string {
			if r.name == "bare temporal" && v == 0 {
				return "-"
			}
			return fmt.Sprintf("%.1f", float64(v)/float64(r.lifecycles))
		}
		cpuRatio := "-"
		if ceilingCPU > 0 && r.cpuPer() > 0 {
			cpuRatio = fmt.Sprintf("%.2f", float64(ceilingCPU)/float64(r.cpuPer()))
		}
		fmt.Fprintf(tw, "%s\t%.1f\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%d\n", r.label(results), r.rate(), ratio, ms(r.cpuPer()), cpuRatio,
			ms(percentile(acts, 0.5)), ms(percentile(acts, 0.99)), per(r.counts.Statements), per(calls), total, r.events)
	}
	tw.Flush()
	for _, r := range results {
		fmt.Fprintf(w, "\n%s: latency by route (p50 / p99, count)\n", r.label(results))
		names := make([]string, 0, len(r.lat.by))
		for k := range r.lat.by {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, k := range names {
			fmt.Fprintf(w, "  %-48s %8s / %8s  %5d\n", k, ms(percentile(r.lat.by[k], 0.5)), ms(percentile(r.lat.by[k], 0.99)), len(r.lat.by[k]))
		}
		perLifecycle(w, "Temporal calls per lifecycle:", r.counts.Calls, r.lifecycles)
		perLifecycle(w, "SQL statements per lifecycle:", r.counts.Shapes, r.lifecycles)
		if len(r.actions) > 0 {
			fmt.Fprintf(w, "  billable actions of one lifecycle:")
			keys := make([]string, 0, len(r.actions))
			for k := range r.actions {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				fmt.Fprintf(w, " %s %d", k, r.actions[k])
			}
			fmt.Fprintln(w)
		}
	}
}

// perLifecycle prints counts per lifecycle, the most frequent first.
func perLifecycle(w io.Writer, title string, counts map[string]int64, lifecycles int) {
	if len(counts) == 0 {
		return
	}
	keys := slices.Collect(maps.Keys(counts))
	sort.Slice(keys, func(i, j int) bool {
		if counts[keys[i]] != counts[keys[j]] {
			return counts[keys[i]] > counts[keys[j]]
		}
		return keys[i] < keys[j]
	})
	fmt.Fprintf(w, "  %s", title)
	for _, k := range keys {
		fmt.Fprintf(w, " %s %.1f", k, float64(counts[k])/float64(lifecycles))
	}
	fmt.Fprintln(w)
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }

// actionsOf counts a history's events the way Temporal Cloud bills actions
// (approximately): starts, updates, activities (local ones by their
// markers), side effects, timers, signals, continue-as-new.
func actionsOf(h *historypb.History) map[string]int {
	out := map[string]int{}
	for _, e := range h.Events {
		switch e.EventType {
		case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
			out["start"]++
		case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
			out["update"]++
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
			out["activity"]++
		case enumspb.EVENT_TYPE_MARKER_RECORDED:
			switch e.GetMarkerRecordedEventAttributes().GetMarkerName() {
			case "LocalActivity":
				out["local activity"]++
			case "SideEffect", "MutableSideEffect":
				out["side effect"]++
			}
		case enumspb.EVENT_TYPE_TIMER_STARTED:
			out["timer"]++
		case enumspb.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
			out["signal"]++
		case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW:
			out["continue-as-new"]++
		}
	}
	return out
}

func historyOf(ctx context.Context, c client.Client, workflowID string) (*historypb.History, error) {
	iter := c.GetWorkflowHistory(ctx, workflowID, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	h := &historypb.History{}
	for iter.HasNext() {
		ev, err := iter.Next()
		if err != nil {
			return nil, err
		}
		h.Events = append(h.Events, ev)
	}
	return h, nil
}

// runClients runs n lifecycles on c clients; each client runs its share.
// It returns the time they took and the CPU time this process spent
// meanwhile (every part of the run is in it: clients, API, worker, the
// embedded Temporal server and SQLite; not a PostgreSQL server's).
func runClients(ctx context.Context, w io.Writer, name string, c, n int, one func(ctx context.Context, client, i int) error) (time.Duration, time.Duration, error) {
	var done atomic.Int64
	stop := progress(ctx, w, name, &done, n)
	defer stop()
	var next atomic.Int64
	errc := make(chan error, c)
	cpu0 := cpuTime()
	start := time.Now()
	for k := range c {
		go func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					errc <- nil
					return
				}
				if err := one(ctx, k, i); err != nil {
					errc <- fmt.Errorf("lifecycle %d: %w", i, err)
					return
				}
				done.Add(1)
			}
		}()
	}
	var first error
	for range c {
		if err := <-errc; err != nil && first == nil {
			first = err
		}
	}
	return time.Since(start), cpuTime() - cpu0, first
}

// cpuTime is the CPU time (user and system) this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func (p *program) benchBare(ctx context.Context, clients, n int) (result, error) {
	dir, err := os.MkdirTemp("", "reallabor-bench-")
	if err != nil {
		return result{}, err
	}
	defer os.RemoveAll(dir)
	ts, err := devstack.Start(devstack.Options{DatabaseFile: filepath.Join(dir, "temporal.db"), FrontendAddress: "127.0.0.1:0",
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return result{}, err
	}
	defer ts.Stop()
	// Compressed as the product's clients are (on this host: not).
	c, err := client.Dial(client.Options{HostPort: ts.FrontendAddress(), Namespace: ts.Namespace(), Logger: quietSDKLogger(),
		ConnectionOptions: client.ConnectionOptions{GrpcCompression: grpcCompression(config{TemporalAddress: ts.FrontendAddress(),
			TemporalCompression: p.getenv("TEMPORAL_GRPC_COMPRESSION")})}})
	if err != nil {
		return result{}, err
	}
	defer c.Close()
	wk := worker.New(c, bareTaskQueue, worker.Options{})
	wk.RegisterWorkflowWithOptions(bareLifecycle, workflow.RegisterOptions{Name: "BareLifecycle"})
	wk.RegisterActivity(bareStep)
	if err := wk.Start(); err != nil {
		return result{}, err
	}
	defer wk.Stop()
	lat := &latencies{}
	run := randomHex(4)
	elapsed, cpu, err := runClients(ctx, p.stdout, "bare temporal", clients, n, func(ctx context.Context, _, i int) error {
		id := fmt.Sprintf("bare-%s-%d", run, i)
		t := time.Now()
		wr, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: bareTaskQueue}, "BareLifecycle")
		if err != nil {
			return err
		}
		lat.add("start", time.Since(t))
		for _, step := range bareUpdates {
			t := time.Now()
			h, err := c.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{WorkflowID: id, RunID: wr.GetRunID(), UpdateName: "act",
				Args: []any{step}, WaitForStage: client.WorkflowUpdateStageCompleted})
			if err == nil {
				var out string
				err = h.Get(ctx, &out)
			}
			if err != nil {
				return fmt.Errorf("update %s: %w", step, err)
			}
			lat.add("update", time.Since(t))
		}
		var steps int
		return wr.Get(ctx, &steps)
	})
	if err != nil {
		return result{}, err
	}
	r := result{name: "bare temporal", lifecycles: n, elapsed: elapsed, cpu: cpu, lat: lat}
	if h, err := historyOf(ctx, c, fmt.Sprintf("bare-%s-0", run)); err == nil {
		r.events, r.actions = len(h.Events), actionsOf(h)
	}
	return r, nil
}

// benchProduct runs `dev` in this process on a fresh data directory (and
// DATABASE_URL for postgres) and drives whole lifecycles through HTTP.
//
// Each client submits for a company of its own. The board (reviewers who
// vote, finance officers who approve and pay with four eyes) is each
// client's own (8 clients: a board of 24 reviewers and 16 finance officers,
// every one notified of every hand-off) or, shared, one board of 3 and 2.
func (p *program) benchProduct(ctx context.Context, db string, clients, n int, shared bool) (result, error) {
	dir, err := os.MkdirTemp("", "reallabor-bench-")
	if err != nil {
		return result{}, err
	}
	defer os.RemoveAll(dir)
	admin := "rl_bench_" + randomHex(16)
	env := map[string]string{"REALLABOR_ADMIN_TOKEN": admin, "LOG_LEVEL": "error",
		// One address sends every request: the per-address limit would
		// measure itself.
		"RATE_LIMIT": "0"}
	if db == "postgres" {
		env["DATABASE_URL"] = p.getenv("DATABASE_URL")
	}
	if v := p.getenv("TEMPORAL_GRPC_COMPRESSION"); v != "" {
		env["TEMPORAL_GRPC_COMPRESSION"] = v
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ready := make(chan endpoints, 1)
	var logs bytes.Buffer
	dev := &program{stdout: io.Discard, stderr: &syncWriter{w: &logs}, getenv: func(k string) string { return env[k] },
		onReady: func(ep endpoints) { ready <- ep }}
	ended := make(chan error, 1)
	go func() {
		ended <- dev.run(ctx, []string{"dev", "--http=127.0.0.1:0", "--temporal-address=127.0.0.1:0", "--ui-address=",
			"--data-dir=" + dir, "--seed=false"})
	}()
	var ep endpoints
	select {
	case ep = <-ready:
	case err := <-ended:
		return result{}, fmt.Errorf("dev ended: %v\n%s", err, logs.String())
	case <-time.After(3 * time.Minute):
		return result{}, errors.New("dev not ready in 3 minutes")
	}
	hc := &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 4 * clients}}
	d := &driver{base: "http://" + ep.HTTP, hc: hc, lat: &latencies{}}
	var prog struct{ ID string }
	if err := d.call(ctx, "", "POST /programmes", "/api/v1/programmes", admin, map[string]any{"name": "Bench",
		"budget_cents": int64(100_000_000_000_000), "max_grant_cents": 1_000_000, "funding_rate_percent": 50, "reviewers_required": 3,
		"debtor_name": "Stadt", "debtor_iban": "DE89370400440532013000", "debtor_bic": "COBADEFFXXX"}, &prog); err != nil {
		return result{}, err
	}
	crews := make([]crew, clients)
	for k := range crews {
		cr := &crews[k]
		if shared && k > 0 {
			cr.reviewers, cr.fin1, cr.fin2 = crews[0].reviewers, crews[0].fin1, crews[0].fin2
		}
		mk := func(name, role, org string) (string, error) {
			var u struct{ Token string }
			err := d.call(ctx, "", "POST /users", "/api/v1/users", admin, map[string]any{"name": name, "role": role, "organisation": org}, &u)
			return u.Token, err
		}
		var err error
		org := fmt.Sprintf("Firma %d", k)
		if cr.applicant, err = mk("Applicant", "applicant", org); err != nil {
			return result{}, err
		}
		for j := range cr.reviewers {
			if shared && k > 0 {
				break
			}
			if cr.reviewers[j], err = mk("Reviewer", "reviewer", fmt.Sprintf("Kammer %d-%d", k, j)); err != nil {
				return result{}, err
			}
		}
		if !shared || k == 0 {
			if cr.fin1, err = mk("Finance 1", "finance", "Stadtkasse"); err != nil {
				return result{}, err
			}
			if cr.fin2, err = mk("Finance 2", "finance", "Stadtkasse"); err != nil {
				return result{}, err
			}
		}
		cr.org = org
	}
	d.lat = &latencies{}
	before := telemetry.Snapshot()
	var firstID atomic.Value
	elapsed, cpu, err := runClients(ctx, p.stdout, "product ("+db+")", clients, n, func(ctx context.Context, k, i int) error {
		id, err := d.lifecycle(ctx, prog.ID, crews[k])
		if i == 0 {
			firstID.Store(id)
		}
		return err
	})
	if err != nil {
		return result{}, err
	}
	r := result{name: "product (" + db + ")", lifecycles: n, elapsed: elapsed, cpu: cpu, lat: d.lat,
		counts: telemetry.Snapshot().Since(before)}
	if id, ok := firstID.Load().(string); ok {
		if tc, err := client.Dial(client.Options{HostPort: ep.Temporal, Logger: quietSDKLogger()}); err == nil {
			if h, err := historyOf(ctx, tc, workflows.WorkflowID(id)); err == nil {
				r.events, r.actions = len(h.Events), actionsOf(h)
			}
			tc.Close()
		}
	}
	cancel()
	if err := <-ended; err != nil && !errors.Is(err, context.Canceled) {
		return r, fmt.Errorf("dev, stopping after the run: %w", err)
	}
	return r, nil
}

type crew struct {
	org                   string
	applicant, fin1, fin2 string
	reviewers             [3]string
}

type driver struct {
	base string
	hc   *http.Client
	lat  *latencies
}

// call sends one request (POSTs with an Idempotency-Key, as a careful client
// does) and decodes a 2xx answer into out.
func (d *driver) call(ctx context.Context, key, route, path, token string, body, out any) error {
	method, _, _ := strings.Cut(route, " ")
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, d.base+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if method == http.MethodPost {
		if key == "" {
			key = randomHex(12)
		}
		req.Header.Set("Idempotency-Key", key)
	}
	t := time.Now()
	resp, err := d.hc.Do(req)
	if err != nil {
		return fmt.Errorf("%s: %w", route, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	d.lat.add(route, time.Since(t))
	if resp.StatusCode/100 != 2 || resp.StatusCode == http.StatusAccepted {
		return fmt.Errorf("%s %s = %d: %s", method, path, resp.StatusCode, b)
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}

type benchState struct {
	ID       string
	Status   string
	Tranches []struct{ ID string }
}

// lifecycle is the product's happy path: a submission and fourteen actions.
func (d *driver) lifecycle(ctx context.Context, programmeID string, cr crew) (string, error) {
	var st benchState
	body := map[string]any{"programme_id": programmeID, "title": "Click & Collect", "summary": "shared pick-up points",
		"requested_cents": 100_000, "total_cost_cents": 200_000, "start_date": "2027-01-01", "end_date": "2027-12-31",
		"group": map[string]any{"name": "Altstadt", "members": []map[string]any{{"name": cr.org}}},
		"payee": map[string]any{"name": cr.org, "iban": "DE89370400440532013000"}}
	if err := d.call(ctx, "", "POST /applications", "/api/v1/applications", cr.applicant, body, &st); err != nil {
		return "", err
	}
	a := "/api/v1/applications/" + st.ID
	scores := map[string]int{"impact": 5, "feasibility": 5, "partnership": 5}
	for _, r := range cr.reviewers {
		if err := d.call(ctx, "", "POST /applications/:id/reviews", a+"/reviews", r,
			map[string]any{"recommendation": "approve", "scores": scores}, nil); err != nil {
			return st.ID, err
		}
	}
	if err := d.call(ctx, "", "POST /applications/:id/acceptance", a+"/acceptance", cr.applicant, map[string]any{}, &st); err != nil {
		return st.ID, err
	}
	if len(st.Tranches) != 3 {
		return st.ID, fmt.Errorf("accepted with %d tranches, want 3", len(st.Tranches))
	}
	pay := func(i int) error {
		t := "/api/v1/disbursements/" + st.Tranches[i].ID
		if err := d.call(ctx, "", "POST /disbursements/:id/approval", t+"/approval", cr.fin1, map[string]any{}, nil); err != nil {
			return err
		}
		var out struct{ Application struct{ Status string } }
		if err := d.call(ctx, "", "POST /disbursements/:id/payment", t+"/payment", cr.fin2,
			map[string]any{"bank_reference": "B-" + st.Tranches[i].ID}, &out); err != nil {
			return err
		}
		st.Status = out.Application.Status
		return nil
	}
	report := func(kind string) error {
		var rep struct{ ID string }
		if err := d.call(ctx, "", "POST /applications/:id/reports", a+"/reports", cr.applicant,
			map[string]any{"kind": kind, "narrative": "done", "actual_costs_cents": 200_000}, &rep); err != nil {
			return err
		}
		return d.call(ctx, "", "POST /applications/:id/reports/:rid/assessment", a+"/reports/"+rep.ID+"/assessment",
			cr.reviewers[0], map[string]any{"decision": "accept"}, nil)
	}
	for _, step := range []func() error{func() error { return pay(0) }, func() error { return report("interim") },
		func() error { return pay(1) }, func() error { return report("final") }, func() error { return pay(2) }} {
		if err := step(); err != nil {
			return st.ID, err
		}
	}
	if st.Status != "closed" {
		return st.ID, fmt.Errorf("lifecycle ended %s, want closed", st.Status)
	}
	return st.ID, nil
}

func quietSDKLogger() sdklog.Logger {
	return sdklog.NewStructuredLogger(slog.New(slog.DiscardHandler))
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// syncWriter serialises writes to w.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(b []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(b)
}
