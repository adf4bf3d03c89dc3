package main

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestBenchRuns: the load command runs both measurements in one invocation
// and prints the table (tiny numbers: this checks that it works, not how
// fast; the figures are in docs/measurements.md).
func TestBenchRuns(t *testing.T) {
	var out syncBuffer
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	p := &program{stdout: &out, stderr: &out, getenv: func(string) string { return "" }}
	if err := p.run(ctx, []string{"bench", "--clients=2", "--lifecycles=2", "--db=sqlite"}); err != nil {
		t.Fatalf("bench: %v\n%s", err, out.String())
	}
	for _, want := range []string{"bare temporal", "product (sqlite)", "ratio", "CPU/lifecycle", "CPU ratio", "POST /disbursements/:id/payment",
		"UpdateWorkflowExecution", "billable actions of one lifecycle"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("bench output lacks %q:\n%s", want, out.String())
		}
	}
}

// TestBenchRefusesAnUnknownBoard: --board is per-client or shared.
func TestBenchRefusesAnUnknownBoard(t *testing.T) {
	var out syncBuffer
	p := &program{stdout: &out, stderr: &out, getenv: func(string) string { return "" }}
	err := p.run(context.Background(), []string{"bench", "--board=everyone"})
	if err == nil || !strings.Contains(err.Error(), "per-client or shared") {
		t.Fatalf("bench --board=everyone: %v, want a clear refusal", err)
	}
}

// TestBenchRounds: --rounds alternates the ceiling and the product and
// prints each round's ratio to its own ceiling, and their median; what it
// cannot measure that way it refuses before starting anything.
func TestBenchRounds(t *testing.T) {
	for _, args := range [][]string{{"--rounds=0"}, {"--rounds=2", "--cpuprofile=x"},
		{"--rounds=2", "--db=postgres"}} {
		var out syncBuffer
		p := &program{stdout: &out, stderr: &out, getenv: func(k string) string {
			if k == "DATABASE_URL" {
				return "postgres://nowhere/empty"
			}
			return ""
		}}
		if err := p.run(context.Background(), append([]string{"bench"}, args...)); err == nil {
			t.Errorf("bench %v ran, want a refusal", args)
		}
	}
	var out syncBuffer
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	p := &program{stdout: &out, stderr: &out, getenv: func(string) string { return "" }}
	if err := p.run(ctx, []string{"bench", "--clients=1", "--lifecycles=1", "--rounds=2"}); err != nil {
		t.Fatalf("bench: %v\n%s", err, out.String())
	}
	for _, want := range []string{"bare temporal #2", "product (sqlite) #2", "by round (ratio to the same round's ceiling):", "median"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("bench --rounds=2 output lacks %q:\n%s", want, out.String())
		}
	}
}
