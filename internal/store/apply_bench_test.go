package store_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"reallabor/internal/store"
	"reallabor/internal/store/storetest"
	"reallabor/models"
)

// BenchmarkApplyLifecycle measures what the database does for one whole
// lifecycle, without Temporal or HTTP: the writes the happy path's recorded
// history hands back (the submission, fourteen actions, the budget
// reservation and the final flush), each time for an application of its
// own, with a board as `reallabor bench` has by default (8 clients with
// 3 reviewers and 2 finance officers each: 24 and 16, every one notified) and
// one board of 3 and 2. One op is one lifecycle; its CPU is the store's share
// of the load command's, which varies far less than that end-to-end figure.
//
//	go test -run '^$' -bench ApplyLifecycle -benchmem ./internal/store/
func BenchmarkApplyLifecycle(b *testing.B) {
	ops, first := lifecycleWrites(b)
	appID, programmeID := first.State.ID, first.State.ProgrammeID
	for _, db := range []string{"sqlite", "postgres"} {
		for _, board := range []struct {
			name               string
			reviewers, finance int
		}{{"board-24", 24, 16}, {"board-3", 3, 2}} {
			b.Run(db+"/"+board.name, func(b *testing.B) {
				st := storetest.NewSQLite(b)
				if db == "postgres" {
					st = storetest.New(b)
				}
				seedLifecycle(b, st, programmeID, board.reviewers, board.finance)
				ctx := context.Background()
				// Each lifecycle's writes decoded beforehand, for an
				// application of its own.
				// The group's companies are new each time too (one company's
				// grants would reach its state-aid ceiling), with an
				// applicant each.
				runs := make([][]write, b.N)
				for i := range runs {
					suffix := fmt.Sprintf("-%d-%d", time.Now().UnixNano(), i)
					rename := []string{appID, appID[:8] + suffix}
					for _, m := range first.State.Proposal.Group.Members {
						rename = append(rename, m.OrganisationID, m.OrganisationID+suffix)
						storetest.Must(b, st.CreateUser(ctx, &models.User{ID: "applicant-" + m.OrganisationID + suffix,
							Name: "applicant", Role: models.RoleApplicant, Organisation: m.Name, OrganisationID: m.OrganisationID + suffix,
							Email: "applicant@example.org", TokenHash: "token-" + m.OrganisationID + suffix, CreatedAt: time.Now().UTC()}))
					}
					runs[i] = decodeWrites(b, ops, strings.NewReplacer(rename...))
				}
				b.ReportAllocs()
				b.ResetTimer()
				cpu := cpuTime()
				for i := range b.N {
					for _, w := range runs[i] {
						if err := w.do(ctx, st); err != nil {
							b.Fatalf("lifecycle %d: %v", i, err)
						}
					}
				}
				b.StopTimer()
				// Wall time includes waiting for the disk (SQLite syncs at
				// each commit) and for PostgreSQL; this is the process's CPU.
				b.ReportMetric(float64(cpuTime()-cpu)/float64(b.N)/1e6, "cpu-ms/op")
				last := runs[b.N-1][len(runs[b.N-1])-1].apply.State.ID
				rec, err := st.Application(ctx, last, store.Scope{})
				storetest.Must(b, err)
				if rec.Status != models.StatusClosed {
					b.Fatalf("the last lifecycle's application is %s, want closed", rec.Status)
				}
			})
		}
	}
}

// cpuTime is the process's user and system time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// recordedOp is one write of the recorded history, as JSON.
type recordedOp struct {
	reserve bool
	raw     string
}

type write struct {
	reserve *models.ReserveInput
	apply   *models.ApplyInput
}

func (w write) do(ctx context.Context, st *store.Store) error {
	if w.reserve != nil {
		_, err := st.Reserve(ctx, *w.reserve)
		return err
	}
	_, err := st.Apply(ctx, *w.apply)
	return err
}

// lifecycleWrites reads the happy path's history (workflows/testdata): the
// writes handed back with the updates' results, and the activities'.
func lifecycleWrites(tb testing.TB) (ops []recordedOp, first models.ApplyInput) {
	raw, err := os.ReadFile("../../workflows/testdata/happy_path.json")
	storetest.Must(tb, err)
	var h struct {
		Events []map[string]json.RawMessage `json:"events"`
	}
	storetest.Must(tb, json.Unmarshal(raw, &h))
	type payloads struct {
		Payloads []struct {
			Data string `json:"data"`
		} `json:"payloads"`
	}
	payload := func(p payloads) []byte {
		if len(p.Payloads) == 0 {
			tb.Fatal("an event without its payload")
		}
		b, err := base64.StdEncoding.DecodeString(p.Payloads[0].Data)
		storetest.Must(tb, err)
		return b
	}
	for _, e := range h.Events {
		if a, ok := e["workflowExecutionUpdateCompletedEventAttributes"]; ok {
			var attrs struct {
				Outcome struct {
					Success payloads `json:"success"`
				} `json:"outcome"`
			}
			storetest.Must(tb, json.Unmarshal(a, &attrs))
			var res struct {
				Write json.RawMessage `json:"write"`
			}
			storetest.Must(tb, json.Unmarshal(payload(attrs.Outcome.Success), &res))
			if len(res.Write) > 0 && string(res.Write) != "null" {
				ops = append(ops, recordedOp{raw: string(res.Write)})
			}
		}
		if a, ok := e["activityTaskScheduledEventAttributes"]; ok {
			var attrs struct {
				ActivityType struct {
					Name string `json:"name"`
				} `json:"activityType"`
				Input payloads `json:"input"`
			}
			storetest.Must(tb, json.Unmarshal(a, &attrs))
			switch attrs.ActivityType.Name {
			case "ReserveBudget":
				ops = append(ops, recordedOp{reserve: true, raw: string(payload(attrs.Input))})
			case "Apply":
				ops = append(ops, recordedOp{raw: string(payload(attrs.Input))})
			}
		}
	}
	if len(ops) < 15 {
		tb.Fatalf("the happy path's history holds %d writes, want the submission's, fourteen actions' and more", len(ops))
	}
	storetest.Must(tb, json.Unmarshal([]byte(ops[0].raw), &first))
	return ops, first
}

// decodeWrites is the recorded writes with the recorded ids renamed.
func decodeWrites(tb testing.TB, ops []recordedOp, rename *strings.Replacer) []write {
	out := make([]write, len(ops))
	for i, op := range ops {
		raw := []byte(rename.Replace(op.raw))
		if op.reserve {
			out[i].reserve = new(models.ReserveInput)
			storetest.Must(tb, json.Unmarshal(raw, out[i].reserve))
			continue
		}
		out[i].apply = new(models.ApplyInput)
		storetest.Must(tb, json.Unmarshal(raw, out[i].apply))
	}
	return out
}

// seedLifecycle files the recorded programme (a budget no run exhausts) and
// the board and an admin, whom its hand-offs reach.
func seedLifecycle(tb testing.TB, st *store.Store, programmeID string, reviewers, finance int) {
	ctx := context.Background()
	rules := models.DefaultRules()
	rules.BudgetCents = 1 << 50
	raw, err := json.Marshal(rules)
	storetest.Must(tb, err)
	storetest.Must(tb, st.CreateProgramme(ctx, &models.Programme{ID: programmeID, Name: "bench", Currency: "EUR",
		RulesJSON: string(raw), BudgetCents: rules.BudgetCents, Status: "open", CreatedAt: time.Now().UTC()}))
	add := func(role models.Role, n int, org string) {
		for i := range n {
			storetest.Must(tb, st.CreateUser(ctx, &models.User{ID: fmt.Sprintf("%s-%d", role, i), Name: string(role),
				Role: role, Organisation: fmt.Sprintf("%s %d", org, i), Email: fmt.Sprintf("%s%d@example.org", role, i),
				TokenHash: fmt.Sprintf("%s-%d-token", role, i), CreatedAt: time.Now().UTC()}))
		}
	}
	add(models.RoleReviewer, reviewers, "Kammer")
	add(models.RoleFinance, finance, "Stadtkasse")
	add(models.RoleAdmin, 1, "Stadt")
}
